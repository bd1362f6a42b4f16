//! The topology as a graph: clusters as nodes, replication links (by kind and status) as edges,
//! rendered to Graphviz DOT.

use crate::world::World;
use petgraph::graph::DiGraph;
use replication_core::{Kind, Mode};
use std::collections::BTreeMap;

/// One replication link: a secondary following a primary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Kind.
    pub kind: Kind,
    /// Secondary state (`stream-wals`, ...).
    pub state: String,
    /// Connected right now.
    pub connected: bool,
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}{}",
            self.kind.label(),
            self.state,
            if self.connected {
                ""
            } else {
                " (disconnected)"
            }
        )
    }
}

/// Builds the graph: an edge from each primary to each secondary that follows it.
pub fn graph(world: &World) -> DiGraph<String, Link> {
    let mut g = DiGraph::new();
    let mut idx = BTreeMap::new();
    for (name, n) in &world.nodes {
        let mut label = name.clone();
        for k in Kind::ALL {
            let m = n.cluster.mode(k);
            if m != Mode::Disabled {
                label.push_str(&format!("\\n{} {}", k.label(), m));
            }
        }
        if !n.up {
            label.push_str("\\n(crashed)");
        }
        idx.insert(name.clone(), g.add_node(label));
    }
    for (name, n) in &world.nodes {
        for kind in Kind::ALL {
            if n.cluster.mode(kind) != Mode::Secondary {
                continue;
            }
            let Some(s) = n.cluster.inspect(kind).secondary() else {
                continue;
            };
            let Some(p) = s
                .known_primary_cluster_addrs()
                .first()
                .and_then(|a| world.resolve(a))
            else {
                continue;
            };
            let link = Link {
                kind,
                state: n
                    .cluster
                    .secondary_state(kind)
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                connected: n.cluster.is_connected(kind),
            };
            g.add_edge(idx[p], idx[name], link);
        }
    }
    g
}

/// The topology in DOT: nodes labelled with each kind's mode, edges primary -> secondary labelled with
/// the kind and the secondary's state (dashed when disconnected).
pub fn to_dot(world: &World) -> String {
    let g = graph(world);
    let mut s = String::from("digraph replication {\n  rankdir=LR;\n  node [shape=box];\n");
    for n in g.node_indices() {
        let label = &g[n];
        let name = label.split("\\n").next().unwrap_or_default();
        s.push_str(&format!("  \"{name}\" [label=\"{label}\"];\n"));
    }
    for e in g.edge_indices() {
        if let Some((a, b)) = g.edge_endpoints(e) {
            let name = |i: petgraph::graph::NodeIndex| {
                g[i].split("\\n").next().unwrap_or_default().to_string()
            };
            let w = &g[e];
            s.push_str(&format!(
                "  \"{}\" -> \"{}\" [label=\"{} {}\"{}{}];\n",
                name(a),
                name(b),
                w.kind.label(),
                w.state,
                if w.kind == Kind::Dr {
                    ", color=firebrick"
                } else {
                    ", color=steelblue"
                },
                if w.connected { "" } else { ", style=dashed" }
            ));
        }
    }
    s.push_str("}\n");
    s
}
