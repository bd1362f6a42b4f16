//! The topology as a graph: clusters as nodes, replication links (by kind and status) as edges, built
//! from one frame of a run's timeline and rendered to Graphviz DOT (the HTML page draws the same
//! graph).

use crate::report::timeline::{Frame, Timeline};
use crate::world::World;
use petgraph::graph::DiGraph;
use replication_core::{Kind, Mode};

/// One cluster: its name, each kind's mode, running or crashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The cluster.
    pub name: String,
    /// Each kind's mode, in [`Kind::ALL`] order.
    pub modes: Vec<(Kind, Mode)>,
    /// Running (false: crashed).
    pub up: bool,
}

impl Node {
    /// True when replication of every kind is disabled (drawn grey).
    pub fn disabled(&self) -> bool {
        self.modes.iter().all(|(_, m)| *m == Mode::Disabled)
    }
}

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

/// For a secondary of `kind`, the cluster whose address it would connect to first.
pub fn following(world: &World, cluster: &str, kind: Kind) -> Option<String> {
    let c = world.cluster(cluster)?;
    if c.mode(kind) != Mode::Secondary {
        return None;
    }
    let s = c.inspect(kind);
    let addr = s
        .secondary()?
        .known_primary_cluster_addrs()
        .first()?
        .clone();
    world.resolve(&addr).map(str::to_string)
}

/// The graph at `frame` of `timeline`: every cluster (disabled ones included), and an edge from each
/// primary to each secondary that follows it.
pub fn graph(timeline: &Timeline, frame: &Frame) -> DiGraph<Node, Link> {
    let mut g = DiGraph::new();
    let mut index = std::collections::BTreeMap::new();
    for (lane, state) in timeline.lanes.iter().zip(&frame.lanes) {
        let i = *index.entry(lane.cluster.clone()).or_insert_with(|| {
            g.add_node(Node {
                name: lane.cluster.clone(),
                modes: vec![],
                up: state.up,
            })
        });
        g[i].modes.push((lane.kind, state.mode));
    }
    for (lane, state) in timeline.lanes.iter().zip(&frame.lanes) {
        let (Some(primary), Some(&to)) = (&state.follows, index.get(&lane.cluster)) else {
            continue;
        };
        if let Some(&from) = index.get(primary) {
            let link = Link {
                kind: lane.kind,
                state: state.state.unwrap_or_default().to_string(),
                connected: state.connected,
            };
            g.add_edge(from, to, link);
        }
    }
    g
}

/// The final topology of a run in DOT, titled `title`: nodes labelled with each kind's mode (grey
/// when replication is disabled, dotted when crashed), edges primary -> secondary labelled with the
/// kind and the secondary's state (dashed when disconnected).
pub fn to_dot(timeline: &Timeline, title: &str) -> String {
    let Some(frame) = timeline.last() else {
        return String::new();
    };
    let g = graph(timeline, frame);
    let mut s = format!(
        "digraph replication {{\n  label=\"{}\";\n  labelloc=t;\n  rankdir=LR;\n  node [shape=box];\n",
        dot_escape(title)
    );
    for n in g.node_weights() {
        let mut label = dot_escape(&n.name);
        for (kind, mode) in &n.modes {
            if *mode != Mode::Disabled {
                label.push_str(&format!("\\n{} {}", kind.label(), mode));
            }
        }
        if !n.up {
            label.push_str("\\n(crashed)");
        }
        let style = match (n.disabled(), n.up) {
            (true, true) => ", color=grey, fontcolor=grey",
            (true, false) => ", color=grey, fontcolor=grey, style=dotted",
            (false, false) => ", style=dotted",
            (false, true) => "",
        };
        s.push_str(&format!(
            "  \"{}\" [label=\"{label}\"{style}];\n",
            dot_escape(&n.name)
        ));
    }
    for e in g.edge_indices() {
        if let Some((a, b)) = g.edge_endpoints(e) {
            let w = &g[e];
            s.push_str(&format!(
                "  \"{}\" -> \"{}\" [label=\"{} {}\"{}{}];\n",
                dot_escape(&g[a].name),
                dot_escape(&g[b].name),
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

/// `s` inside a DOT double-quoted string.
fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
