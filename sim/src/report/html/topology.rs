//! The final topology picture: the graph `crate::topology::graph` builds (the one the DOT output
//! draws), clusters on a circle, an arrow from each primary to each secondary following it.

use super::esc;
use crate::report::Report;
use crate::topology::{graph, Node};
use replication_core::{Kind, Mode};
use std::fmt::Write as _;

const BOX_W: f64 = 150.0;
const LINE: f64 = 14.0;

fn box_height(n: &Node) -> f64 {
    let lines = 1
        + n.modes.iter().filter(|(_, m)| *m != Mode::Disabled).count()
        + usize::from(!n.up)
        + usize::from(n.disabled());
    10.0 + lines as f64 * LINE
}

/// The picture of `report`'s final topology.
pub(super) fn svg(report: &Report) -> String {
    let Some(frame) = report.timeline.last() else {
        return String::new();
    };
    let g = graph(&report.timeline, frame);
    let n = g.node_count().max(1);
    let radius = if n == 1 {
        0.0
    } else {
        (70.0 * n as f64 / std::f64::consts::PI).max(110.0)
    };
    let (w, h) = (2.0 * radius + BOX_W + 80.0, 2.0 * radius + 110.0);
    let centre = |i: usize| {
        let a = -std::f64::consts::FRAC_PI_2 + i as f64 * std::f64::consts::TAU / n as f64;
        (w / 2.0 + radius * a.cos(), h / 2.0 + radius * a.sin())
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"topology-picture\" role=\"img\" aria-label=\"final topology of {}\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">\n<defs><marker id=\"topology-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0 0 L10 5 L0 10 z\" fill=\"#000\"/></marker></defs>\n",
        esc(&report.name)
    );
    for e in g.edge_indices() {
        let Some((a, b)) = g.edge_endpoints(e) else {
            continue;
        };
        let link = &g[e];
        let (p, q) = (centre(a.index()), centre(b.index()));
        // Both kinds may link the same pair: each kind keeps to its own side of the centre line.
        let side = if link.kind == Kind::Dr { -7.0 } else { 7.0 };
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (nx, ny) = (-dy / len * side, dx / len * side);
        let start = border(p, (dx, dy), box_height(&g[a]));
        let stop = border(q, (-dx, -dy), box_height(&g[b]));
        let (x1, y1, x2, y2) = (start.0 + nx, start.1 + ny, stop.0 + nx, stop.1 + ny);
        let colour = if link.kind == Kind::Dr {
            "#a40e0e"
        } else {
            "#24527a"
        };
        let dash = match (link.kind, link.connected) {
            (_, false) => " stroke-dasharray=\"2 4\"",
            (Kind::Performance, true) => " stroke-dasharray=\"8 3\"",
            (Kind::Dr, true) => "",
        };
        let label = link.to_string();
        let _ = writeln!(
            s,
            "<g class=\"link\" data-from=\"{}\" data-to=\"{}\" data-kind=\"{}\" data-state=\"{}\" data-connected=\"{}\"><title>{} -> {}: {}</title><line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{colour}\" stroke-width=\"2\"{dash} marker-end=\"url(#topology-arrow)\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\" paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\">{}</text></g>",
            esc(&g[a].name),
            esc(&g[b].name),
            link.kind.as_str(),
            esc(&link.state),
            link.connected,
            esc(&g[a].name),
            esc(&g[b].name),
            esc(&label),
            (x1 + x2) / 2.0 + nx,
            (y1 + y2) / 2.0 + ny,
            esc(&label)
        );
    }
    for i in g.node_indices() {
        let node = &g[i];
        let (cx, cy) = centre(i.index());
        let bh = box_height(node);
        let (x, y) = (cx - BOX_W / 2.0, cy - bh / 2.0);
        let grey = node.disabled();
        let ink = if grey { "#888" } else { "#000" };
        let _ = write!(
            s,
            "<g class=\"cluster\" data-cluster=\"{}\" data-disabled=\"{grey}\" data-up=\"{}\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{BOX_W}\" height=\"{bh:.1}\" fill=\"#fff\" stroke=\"{ink}\" stroke-width=\"1.5\"{}/>",
            esc(&node.name),
            node.up,
            if node.up { "" } else { " stroke-dasharray=\"4 3\"" }
        );
        let mut lines = vec![(node.name.clone(), true)];
        for (kind, mode) in &node.modes {
            if *mode != Mode::Disabled {
                lines.push((format!("{} {mode}", kind.label()), false));
            }
        }
        if grey {
            lines.push(("replication disabled".into(), false));
        }
        if !node.up {
            lines.push(("(crashed)".into(), false));
        }
        for (k, (text, bold)) in lines.iter().enumerate() {
            let _ = write!(
                s,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"{ink}\"{}>{}</text>",
                y + 15.0 + k as f64 * LINE,
                if *bold { " font-weight=\"bold\"" } else { "" },
                esc(text)
            );
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg>\n");
    s
}

/// Where a line leaving the centre `c` of a box in direction `d` crosses the box's border.
fn border(c: (f64, f64), d: (f64, f64), box_h: f64) -> (f64, f64) {
    let (hw, hh) = (BOX_W / 2.0 + 2.0, box_h / 2.0 + 2.0);
    let tx = if d.0.abs() > 1e-9 {
        hw / d.0.abs()
    } else {
        f64::INFINITY
    };
    let ty = if d.1.abs() > 1e-9 {
        hh / d.1.abs()
    } else {
        f64::INFINITY
    };
    let t = tx.min(ty).min(1.0);
    (c.0 + d.0 * t, c.1 + d.1 * t)
}
