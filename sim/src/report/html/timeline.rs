//! The timeline picture: a lane per cluster and kind, a column per step (column 0 is the start, the
//! last column the end-of-script checks), bands for modes, arrows for activations and
//! update-primary, markers for everything else. Every marker links to its step's table row.

use super::esc;
use crate::report::timeline::{Frame, LaneState, Mark, Timeline};
use crate::report::Report;
use replication_core::{Kind, Mode};
use std::fmt::Write as _;

const LEFT: f64 = 150.0;
const COL: f64 = 34.0;
const TOP: f64 = 30.0;
const LANE: f64 = 22.0;
const LANE_GAP: f64 = 4.0;
const CLUSTER_GAP: f64 = 10.0;

/// The legend printed under the picture: the same shapes and patterns (black-and-white print tells
/// modes apart by pattern and label as well as by colour).
pub(super) const LEGEND: &str = r##"<p class="legend">
<span><svg width="22" height="12"><rect width="22" height="12" fill="#24527a"/></svg> primary</span>
<span><svg width="22" height="12"><rect width="22" height="12" fill="url(#secondary)" stroke="#24527a"/></svg> secondary</span>
<span><svg width="22" height="12"><rect width="22" height="12" fill="url(#bootstrapping)" stroke="#7a5a00"/></svg> bootstrapping</span>
<span><svg width="22" height="12"><line x1="0" x2="22" y1="6" y2="6" stroke="#888"/></svg> disabled</span>
<span><svg width="22" height="12"><rect width="22" height="12" fill="url(#crashed)" stroke="#555" stroke-dasharray="3 2"/></svg> crashed</span>
<span><svg width="12" height="16"><line x1="6" x2="6" y1="0" y2="15" stroke="#000" stroke-width="1.6" marker-end="url(#arrow)"/></svg> activation accepted (arrow from its primary)</span>
<span><svg width="12" height="16"><line x1="6" x2="6" y1="0" y2="15" stroke="#000" stroke-width="1.6" stroke-dasharray="4 2" marker-end="url(#arrow)"/></svg> update-primary accepted</span>
<span><svg width="14" height="12"><path d="M7 1 l6 10 h-12 z" fill="#000"/></svg> promoted</span>
<span><svg width="14" height="12"><path d="M7 11 l6 -10 h-12 z" fill="#fff" stroke="#000" stroke-width="1.5"/></svg> demoted</span>
<span><svg width="14" height="14"><circle cx="7" cy="7" r="6" fill="#fff" stroke="#000"/><text x="7" y="10.5" font-size="10" font-weight="bold" text-anchor="middle">!</text></svg> activation refused</span>
<span><svg width="14" height="14"><path d="M2 2 l10 10 m0 -10 l-10 10" stroke="#a40e0e" stroke-width="3"/></svg> storage wiped</span>
<span><svg width="16" height="14"><path d="M8 0 l7 13 h-14 z" fill="#f2b400" stroke="#000"/><text x="8" y="12" font-size="9" font-weight="bold" text-anchor="middle">!</text></svg> hazard (two primaries)</span>
<span><svg width="16" height="16"><circle cx="8" cy="8" r="7" fill="#a40e0e" stroke="#000"/><text x="8" y="11" font-size="9" font-weight="bold" fill="#fff" text-anchor="middle">U</text></svg> write lost, by cause: W wiped-by-enable, U unreplicated-at-promotion, D diverged-primary, F filtered</span>
<span><svg width="14" height="14"><rect width="13" height="13" fill="#000"/><text x="6.5" y="10.5" font-size="10" font-weight="bold" fill="#fff" text-anchor="middle">!</text></svg> invariant broken</span>
<span><svg width="14" height="14"><rect x="0.5" y="0.5" width="13" height="13" fill="#fff" stroke="#a40e0e" stroke-width="2"/><path d="M3.5 3.5 l7 7 m0 -7 l-7 7" stroke="#000" stroke-width="2"/></svg> expectation failed</span>
</p>
"##;

/// Where lanes sit: the y of each lane's top, and of the findings lane.
struct Layout {
    lane_y: Vec<f64>,
    findings_y: f64,
    height: f64,
    /// Columns: 0 (start) to `end` (after the script) inclusive.
    end: usize,
}

impl Layout {
    fn of(t: &Timeline, end: usize) -> Layout {
        let mut y = TOP;
        let mut lane_y = vec![];
        for (i, lane) in t.lanes.iter().enumerate() {
            if i > 0 && t.lanes[i - 1].cluster != lane.cluster {
                y += CLUSTER_GAP;
            }
            lane_y.push(y);
            y += LANE + LANE_GAP;
        }
        let findings_y = y + CLUSTER_GAP;
        Layout {
            lane_y,
            findings_y,
            height: findings_y + LANE + 12.0,
            end,
        }
    }

    fn width(&self) -> f64 {
        LEFT + (self.end as f64 + 1.0) * COL + 10.0
    }

    /// Left edge of column `step`.
    fn x(step: usize) -> f64 {
        LEFT + step as f64 * COL
    }

    /// Centre of column `step`.
    fn cx(step: usize) -> f64 {
        Self::x(step) + COL / 2.0
    }
}

/// The picture of `report`'s run.
pub(super) fn svg(report: &Report) -> String {
    let t = &report.timeline;
    let end = report.timeline.last_step + 1;
    let l = Layout::of(t, end);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-picture\" role=\"img\" aria-label=\"timeline of {}\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">",
        esc(&report.name),
        w = l.width(),
        h = l.height
    );
    s.push_str(DEFS);
    axis(&mut s, &l);
    for (i, lane) in t.lanes.iter().enumerate() {
        let y = l.lane_y[i];
        let _ = writeln!(
            s,
            "<text x=\"{:.0}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{} &#183; {}</text>",
            LEFT - 6.0,
            y + LANE * 0.72,
            esc(&lane.cluster),
            lane.kind.label()
        );
        bands(&mut s, t, i, y, &lane_name(&lane.cluster, lane.kind));
        role_changes(&mut s, t, i, y, &lane_name(&lane.cluster, lane.kind));
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.0}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" font-style=\"italic\">findings</text>\n<line x1=\"{LEFT}\" x2=\"{:.0}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\" stroke-dasharray=\"2 3\"/>",
        LEFT - 6.0,
        l.findings_y + LANE * 0.72,
        Layout::x(l.end + 1),
        l.findings_y + LANE / 2.0,
        l.findings_y + LANE / 2.0
    );
    marks(&mut s, t, &l);
    s.push_str("</svg>\n");
    s
}

fn lane_name(cluster: &str, kind: Kind) -> String {
    format!("{cluster} {}", kind.as_str())
}

/// Step numbers along the top, and a faint line per column.
fn axis(s: &mut String, l: &Layout) {
    let every = if l.end > 60 { 5 } else { 1 };
    let bottom = l.findings_y + LANE;
    for step in 0..=l.end {
        let label = if step == 0 {
            "start".to_string()
        } else if step == l.end {
            "end".to_string()
        } else if step % every == 0 {
            step.to_string()
        } else {
            continue;
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.0}\" font-size=\"10\" text-anchor=\"middle\">{label}</text>",
            Layout::cx(step),
            TOP - 8.0
        );
    }
    for step in 0..=l.end + 1 {
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.0}\" y2=\"{bottom:.0}\" stroke=\"#e4e4e4\"/>",
            TOP - 4.0,
            x = Layout::x(step)
        );
    }
}

/// What a band shows: the mode, and whether the cluster was up.
fn look(state: &LaneState) -> (Mode, bool) {
    (state.mode, state.up)
}

/// Consecutive spans of lane `i` with the same mode (and up or crashed) as one band.
fn bands(s: &mut String, t: &Timeline, i: usize, y: f64, lane: &str) {
    let spans: Vec<(&Frame, usize)> = t.spans().collect();
    let mut start = 0;
    while start < spans.len() {
        let here = look(&spans[start].0.lanes[i]);
        let mut stop = start;
        while stop + 1 < spans.len() && look(&spans[stop + 1].0.lanes[i]) == here {
            stop += 1;
        }
        band(s, spans[start].0.step, spans[stop].1, here, y, lane);
        start = stop + 1;
    }
}

fn band(s: &mut String, from: usize, to: usize, (mode, up): (Mode, bool), y: f64, lane: &str) {
    let x = Layout::x(from);
    let w = Layout::x(to + 1) - x;
    let mode_name = mode.as_str();
    let _ = write!(
        s,
        "<g class=\"band\" data-lane=\"{}\" data-mode=\"{mode_name}\" data-up=\"{up}\" data-from=\"{from}\" data-to=\"{to}\"><title>{} {mode_name}{} (steps {from} to {to})</title>",
        esc(lane),
        esc(lane),
        if up { "" } else { ", crashed" }
    );
    let (fill, stroke, text_fill) = match mode {
        Mode::Primary => ("#24527a", "#24527a", "#fff"),
        Mode::Secondary => ("url(#secondary)", "#24527a", "#000"),
        Mode::Bootstrapping => ("url(#bootstrapping)", "#7a5a00", "#000"),
        Mode::Disabled => ("none", "none", "#666"),
    };
    if mode == Mode::Disabled {
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{m:.1}\" y2=\"{m:.1}\" stroke=\"#888\"/>",
            x + w,
            m = y + LANE / 2.0
        );
    } else {
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{LANE}\" fill=\"{fill}\" stroke=\"{stroke}\"/>"
        );
    }
    if !up {
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{LANE}\" fill=\"url(#crashed)\" stroke=\"#555\" stroke-dasharray=\"3 2\"/>"
        );
    }
    let label = match (mode, up) {
        (_, false) => "crashed",
        (Mode::Disabled, true) => "",
        (m, true) => m.as_str(),
    };
    // The label starts past the band's first column, where the step's markers sit, when it fits.
    let text_w = label.len() as f64 * 6.5 + 6.0;
    let skip = if w >= COL + text_w { COL } else { 0.0 };
    if !label.is_empty() && w >= skip + text_w {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{}\"{}>{label}</text>",
            x + skip + 4.0,
            y + LANE * 0.7,
            if up { text_fill } else { "#000" },
            if mode == Mode::Secondary || !up {
                " paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\""
            } else {
                ""
            }
        );
    }
    s.push_str("</g>\n");
}

/// Promotions (to primary from secondary or bootstrapping) and demotions (primary to secondary),
/// read off consecutive frames.
fn role_changes(s: &mut String, t: &Timeline, i: usize, y: f64, lane: &str) {
    for pair in t.frames.windows(2) {
        let (before, after) = (&pair[0].lanes[i], &pair[1].lanes[i]);
        let step = pair[1].step;
        let (what, mark, shape) = match (before.mode, after.mode) {
            (Mode::Secondary | Mode::Bootstrapping, Mode::Primary) => (
                format!("{lane} promoted to primary"),
                "promote",
                format!(
                    "<path d=\"M{cx:.1} {:.1} l6 10 h-12 z\" fill=\"#000\" stroke=\"#fff\"/>",
                    y + 2.0,
                    cx = Layout::cx(step)
                ),
            ),
            (Mode::Primary, Mode::Secondary) => (
                format!("{lane} demoted to secondary"),
                "demote",
                format!(
                    "<path d=\"M{cx:.1} {:.1} l6 -10 h-12 z\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\"/>",
                    y + LANE - 2.0,
                    cx = Layout::cx(step)
                ),
            ),
            _ => continue,
        };
        marker(s, step, mark, lane, &what, &shape);
    }
}

/// One marker: a link to its step's row, a tooltip, and the data the page's script shows.
fn marker(s: &mut String, step: usize, mark: &str, lane: &str, what: &str, shape: &str) {
    let what = format!("step {step}: {what}");
    let _ = writeln!(
        s,
        "<a href=\"#step-{step}\"><g class=\"mark\" data-step=\"{step}\" data-mark=\"{mark}\" data-lane=\"{}\" data-what=\"{}\"><title>{}</title>{shape}</g></a>",
        esc(lane),
        esc(&what),
        esc(&what)
    );
}

/// Every mark of the run, at its step, on its lane (or the findings lane); marks sharing a place
/// are set side by side.
fn marks(s: &mut String, t: &Timeline, l: &Layout) {
    let mut taken: std::collections::BTreeMap<(usize, Option<usize>), usize> = Default::default();
    let mut place = |step: usize, lane: Option<usize>| {
        let n = taken.entry((step, lane)).or_insert(0);
        *n += 1;
        let y = lane.map_or(l.findings_y, |i| l.lane_y[i]);
        (
            Layout::cx(step.min(l.end)) + (*n as f64 - 1.0) * 13.0 - 6.0,
            y,
        )
    };
    for m in &t.marks {
        let step = m.step.min(l.end);
        let what = m.mark.describe();
        match &m.mark {
            Mark::Activation {
                cluster,
                kind,
                update,
                primary,
            } => {
                let Some(to) = t.lane_of(cluster, *kind) else {
                    continue;
                };
                let from = primary.as_ref().and_then(|p| t.lane_of(p, *kind));
                let cx = Layout::cx(step);
                let to_y = l.lane_y[to];
                let (y1, y2) = match from {
                    Some(f) if l.lane_y[f] < to_y => (l.lane_y[f] + LANE, to_y),
                    Some(f) => (l.lane_y[f], to_y + LANE),
                    None => (to_y - 10.0, to_y),
                };
                let shape = format!(
                    "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{y1:.1}\" y2=\"{y2:.1}\" stroke=\"#000\" stroke-width=\"1.6\"{} marker-end=\"url(#arrow)\"/><line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{y1:.1}\" y2=\"{y2:.1}\" stroke=\"transparent\" stroke-width=\"8\"/>",
                    if *update { " stroke-dasharray=\"4 2\"" } else { "" }
                );
                let mark = if *update {
                    "update-primary"
                } else {
                    "activation"
                };
                marker(s, step, mark, &lane_name(cluster, *kind), &what, &shape);
            }
            Mark::Refused { cluster, kind, .. } | Mark::Wipe { cluster, kind, .. } => {
                let lane = t.lane_of(cluster, *kind);
                let (x, y) = place(step, lane);
                let cy = y + LANE / 2.0;
                let (mark, shape) = if let Mark::Wipe { .. } = m.mark {
                    (
                        "wipe",
                        format!(
                            "<path d=\"M{:.1} {:.1} l10 10 m0 -10 l-10 10\" stroke=\"#a40e0e\" stroke-width=\"3\"/><path d=\"M{:.1} {:.1} l10 10 m0 -10 l-10 10\" stroke=\"#000\" stroke-width=\"1\"/>",
                            x - 5.0,
                            cy - 5.0,
                            x - 5.0,
                            cy - 5.0
                        ),
                    )
                } else {
                    (
                        "refused",
                        format!(
                            "<circle cx=\"{x:.1}\" cy=\"{cy:.1}\" r=\"6\" fill=\"#fff\" stroke=\"#000\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" font-weight=\"bold\" text-anchor=\"middle\">!</text>",
                            cy + 3.5
                        ),
                    )
                };
                marker(s, step, mark, &lane_name(cluster, *kind), &what, &shape);
            }
            Mark::Hazard { kind, clusters, .. } => {
                for c in clusters {
                    let lane = t.lane_of(c, *kind);
                    let (x, y) = place(step, lane);
                    let shape = format!(
                        "<path d=\"M{x:.1} {:.1} l7 13 h-14 z\" fill=\"#f2b400\" stroke=\"#000\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"9\" font-weight=\"bold\" text-anchor=\"middle\">!</text>",
                        y + 2.0,
                        y + 13.0
                    );
                    marker(s, step, "hazard", &lane_name(c, *kind), &what, &shape);
                }
            }
            Mark::Loss { cause, .. } => {
                let (x, y) = place(step, None);
                let letter = cause.chars().next().unwrap_or('?').to_ascii_uppercase();
                let shape = format!(
                    "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"7\" fill=\"#a40e0e\" stroke=\"#000\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"9\" font-weight=\"bold\" fill=\"#fff\" text-anchor=\"middle\">{letter}</text>",
                    y + LANE / 2.0,
                    y + LANE / 2.0 + 3.0
                );
                marker(s, step, "loss", "findings", &what, &shape);
            }
            Mark::Violation { .. } => {
                let (x, y) = place(step, None);
                let shape = format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"13\" height=\"13\" fill=\"#000\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" font-weight=\"bold\" fill=\"#fff\" text-anchor=\"middle\">!</text>",
                    x - 6.5,
                    y + 2.5,
                    y + 12.5
                );
                marker(s, step, "violation", "findings", &what, &shape);
            }
            Mark::Failed { .. } => {
                let (x, y) = place(step, None);
                let shape = format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"13\" height=\"13\" fill=\"#fff\" stroke=\"#a40e0e\" stroke-width=\"2\"/><path d=\"M{:.1} {:.1} l7 7 m0 -7 l-7 7\" stroke=\"#000\" stroke-width=\"2\"/>",
                    x - 6.5,
                    y + 2.5,
                    x - 3.5,
                    y + 5.5
                );
                marker(s, step, "failed-expectation", "findings", &what, &shape);
            }
        }
    }
}

/// Patterns and the arrowhead.
const DEFS: &str = r##"<defs>
<pattern id="secondary" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#d6e6f5"/><line x1="0" y1="0" x2="0" y2="6" stroke="#24527a" stroke-width="2"/></pattern>
<pattern id="bootstrapping" width="5" height="5" patternUnits="userSpaceOnUse"><rect width="5" height="5" fill="#fbefc4"/><circle cx="2.5" cy="2.5" r="1" fill="#7a5a00"/></pattern>
<pattern id="crashed" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#bbb" fill-opacity="0.6"/><path d="M0 0 L6 6 M6 0 L0 6" stroke="#333" stroke-width="0.8"/></pattern>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#000"/></marker>
</defs>
"##;
