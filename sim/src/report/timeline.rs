//! What a run looked like over time: every cluster's role of each kind after every step (a
//! [`Frame`]), and what happened at each step ([`Mark`]s: activations, wipes, losses, hazards, broken
//! invariants, failed expectations). The HTML page draws its picture from this, and the final frame
//! is the topology (`crate::topology`).

use crate::world::World;
use replication_core::{Kind, Mode};
use serde::Serialize;

/// One lane of the picture: one cluster's role of one kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Lane {
    /// The cluster.
    pub cluster: String,
    /// The kind.
    pub kind: Kind,
}

/// A lane's state after a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct LaneState {
    /// The mode the cluster reports for the kind.
    pub mode: Mode,
    /// Running (false: crashed).
    pub up: bool,
    /// For a secondary, the cluster whose address it would connect to first.
    pub follows: Option<String>,
    /// For a secondary, its state (`stream-wals`, ...).
    pub state: Option<&'static str>,
    /// For a secondary, whether its link to the primary is up.
    pub connected: bool,
}

/// Every lane's state from one step on (step 0: the start, before the first step), until the next
/// frame's step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Frame {
    /// The step.
    pub step: usize,
    /// One state per lane, in [`Timeline::lanes`] order.
    pub lanes: Vec<LaneState>,
}

/// Something that happened at a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "mark", rename_all = "kebab-case")]
pub enum Mark {
    /// An activation (`secondary/enable`) or update-primary was accepted.
    Activation {
        /// The secondary.
        cluster: String,
        /// The kind.
        kind: Kind,
        /// True for update-primary.
        update: bool,
        /// The primary it follows now, when known.
        primary: Option<String>,
    },
    /// An activation or update-primary was refused.
    Refused {
        /// The secondary.
        cluster: String,
        /// The kind.
        kind: Kind,
        /// True for update-primary.
        update: bool,
        /// Why.
        reason: String,
    },
    /// A cluster's storage was wiped by an accepted activation.
    Wipe {
        /// The cluster.
        cluster: String,
        /// The kind whose activation wiped it.
        kind: Kind,
        /// Entries removed.
        entries: usize,
    },
    /// An acknowledged write was lost.
    Loss {
        /// Path.
        path: String,
        /// Value.
        value: String,
        /// The documented cause.
        cause: String,
    },
    /// A hazard (two live primaries of one set).
    Hazard {
        /// The hazard kind.
        hazard: String,
        /// The replication kind.
        kind: Kind,
        /// The primaries.
        clusters: Vec<String>,
    },
    /// An invariant broke.
    Violation {
        /// The rule.
        rule: String,
        /// What happened.
        text: String,
    },
    /// An expectation failed.
    Failed {
        /// What the scenario expected.
        expected: String,
        /// What happened.
        actual: String,
    },
}

impl Mark {
    /// The cluster and kind whose lane the mark sits on; `None` for the findings lane.
    pub fn lane(&self) -> Option<(&str, Kind)> {
        match self {
            Mark::Activation { cluster, kind, .. }
            | Mark::Refused { cluster, kind, .. }
            | Mark::Wipe { cluster, kind, .. } => Some((cluster, *kind)),
            Mark::Loss { .. }
            | Mark::Hazard { .. }
            | Mark::Violation { .. }
            | Mark::Failed { .. } => None,
        }
    }

    /// One line saying what happened.
    pub fn describe(&self) -> String {
        let what = |update: &bool| {
            if *update {
                "update-primary"
            } else {
                "activation"
            }
        };
        match self {
            Mark::Activation {
                cluster,
                kind,
                update,
                primary,
            } => format!(
                "{cluster} {kind} {} accepted{}",
                what(update),
                primary
                    .as_ref()
                    .map(|p| format!(": follows {p}"))
                    .unwrap_or_default()
            ),
            Mark::Refused {
                cluster,
                kind,
                update,
                reason,
            } => format!("{cluster} {kind} {} refused: {reason}", what(update)),
            Mark::Wipe {
                cluster,
                kind,
                entries,
            } => format!(
                "{cluster} wiped by its {kind} activation ({entries} {})",
                if *entries == 1 { "entry" } else { "entries" }
            ),
            Mark::Loss { path, value, cause } => format!("lost {path}={value:?} ({cause})"),
            Mark::Hazard {
                hazard,
                kind,
                clusters,
            } => format!("hazard {hazard} ({kind}: {})", clusters.join(", ")),
            Mark::Violation { rule, text } => format!("invariant {rule} broken: {text}"),
            Mark::Failed { expected, actual } => format!("expected {expected}; got {actual}"),
        }
    }
}

/// A mark and the step it happened at (one past the last step: after the script, the convergence
/// check).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Marked {
    /// The step.
    pub step: usize,
    /// What happened.
    pub mark: Mark,
}

/// The whole run over time. Frames are kept only where some lane changed, so a long run costs what
/// changed in it, not its length.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Timeline {
    /// Every cluster and kind, clusters in name order.
    pub lanes: Vec<Lane>,
    /// The start, then a frame at each step that changed a lane (in step order).
    pub frames: Vec<Frame>,
    /// The last step recorded.
    pub last_step: usize,
    /// What happened, in step order.
    pub marks: Vec<Marked>,
}

impl Timeline {
    /// A timeline whose first frame is `world` now.
    pub fn start(world: &World) -> Timeline {
        let lanes = world
            .nodes
            .keys()
            .flat_map(|c| {
                Kind::ALL.map(|kind| Lane {
                    cluster: c.clone(),
                    kind,
                })
            })
            .collect();
        let mut t = Timeline {
            lanes,
            frames: vec![],
            last_step: 0,
            marks: vec![],
        };
        t.frame(0, world);
        t
    }

    /// Records every lane's state after `step` (a new frame only when a lane changed).
    pub fn frame(&mut self, step: usize, world: &World) {
        let lanes: Vec<LaneState> = self
            .lanes
            .iter()
            .map(|lane| lane_state(world, &lane.cluster, lane.kind))
            .collect();
        self.last_step = step;
        if self.frames.last().is_some_and(|f| f.lanes == lanes) {
            return;
        }
        self.frames.push(Frame { step, lanes });
    }

    /// Each frame with the last step it holds for (the step before the next frame, or the last
    /// step).
    pub fn spans(&self) -> impl Iterator<Item = (&Frame, usize)> {
        self.frames.iter().enumerate().map(|(i, f)| {
            let to = self
                .frames
                .get(i + 1)
                .map_or(self.last_step, |next| next.step - 1);
            (f, to)
        })
    }

    /// Records what happened at `step`.
    pub fn mark(&mut self, step: usize, mark: Mark) {
        self.marks.push(Marked { step, mark });
    }

    /// The lanes after the last step.
    pub fn last(&self) -> Option<&Frame> {
        self.frames.last()
    }

    /// The index of `cluster`'s `kind` lane.
    pub fn lane_of(&self, cluster: &str, kind: Kind) -> Option<usize> {
        self.lanes
            .iter()
            .position(|l| l.cluster == cluster && l.kind == kind)
    }
}

/// `cluster`'s `kind` role in `world` now.
fn lane_state(world: &World, cluster: &str, kind: Kind) -> LaneState {
    let Some(node) = world.nodes.get(cluster) else {
        return LaneState {
            mode: Mode::Disabled,
            up: false,
            follows: None,
            state: None,
            connected: false,
        };
    };
    let c = &node.cluster();
    LaneState {
        mode: c.mode(kind),
        up: node.up,
        follows: crate::topology::following(world, cluster, kind),
        state: c.secondary_state(kind).map(|s| s.as_str()),
        connected: c.is_connected(kind),
    }
}
