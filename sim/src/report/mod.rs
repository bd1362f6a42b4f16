//! The run report: one line per step, then the final status of each cluster and kind, losses by
//! cause, hazards and invariants. Text for people (`text.rs`), JSON (`--json`) for machines, an HTML
//! page with a timeline picture (`html/`), and the final topology in DOT (`crate::topology`).

pub mod html;
mod text;
pub mod timeline;

use crate::oracle::losses::Loss;
use crate::oracle::{Hazard, Violation};
use crate::world::NetStats;
use replication_core::Kind;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use timeline::Timeline;

/// One step's line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct StepLine {
    /// Step number.
    pub step: usize,
    /// The verb.
    pub verb: String,
    /// What it acted on.
    pub target: String,
    /// What came back.
    pub outcome: String,
    /// What changed: modes, wipes, losses, hazards, violations.
    pub changes: Vec<String>,
    /// The step's note.
    pub note: Option<String>,
}

/// A failed expectation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Failure {
    /// Step number.
    pub step: usize,
    /// What the scenario expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
}

/// Final status of one cluster and kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ClusterLine {
    /// Cluster.
    pub cluster: String,
    /// Running or crashed.
    pub up: bool,
    /// Kind.
    pub kind: Kind,
    /// Mode.
    pub mode: String,
    /// State.
    pub state: String,
    /// Replication set.
    pub cluster_id: String,
    /// Last WAL index.
    pub last_wal: u64,
    /// Merkle root of the kind.
    pub merkle_root: String,
    /// Stored entries (mount entries included).
    pub keys: usize,
}

/// Everything a run found out.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Report {
    /// Scenario name.
    pub name: String,
    /// File it came from.
    pub file: Option<String>,
    /// The scenario's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seed.
    pub seed: u64,
    /// Step lines (empty when the run kept only their digest).
    pub steps: Vec<StepLine>,
    /// The digest (FNV-1a) of every step's line, kept or not.
    #[serde(skip)]
    pub lines_digest: u64,
    /// Final status lines.
    pub clusters: Vec<ClusterLine>,
    /// Every loss.
    pub losses: Vec<Loss>,
    /// Losses by cause.
    pub by_cause: BTreeMap<String, u64>,
    /// Writes whose outcome was never learned.
    pub unknown_writes: usize,
    /// Hazards.
    pub hazards: Vec<Hazard>,
    /// Broken invariants.
    pub violations: Vec<Violation>,
    /// Why convergence was not checked, if it was not.
    pub convergence: Option<String>,
    /// Failed expectations.
    pub failures: Vec<Failure>,
    /// Expectations checked.
    pub expectations: usize,
    /// Network counters.
    #[serde(skip)]
    pub net: NetStats,
    /// The run over time: every lane at every step where one changed, and what happened where (drawn by the HTML
    /// page; not part of the JSON report).
    #[serde(skip)]
    pub timeline: Timeline,
}

impl Report {
    /// True when every expectation held and no invariant was violated.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.violations.is_empty()
    }

    /// 0 when passed, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.passed() {
            0
        } else {
            1
        }
    }

    /// The final topology in Graphviz DOT, titled with the scenario's name.
    pub fn dot(&self) -> String {
        crate::topology::to_dot(&self.timeline, &self.name)
    }

    /// The machine-readable report (`docs/report-schema.json` is its schema): the fields above,
    /// `passed`, and a `text` for each violation.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("passed".into(), json!(self.passed()));
            if let Some(Value::Array(vs)) = o.get_mut("violations") {
                for (json, v) in vs.iter_mut().zip(&self.violations) {
                    if let Some(json) = json.as_object_mut() {
                        json.insert("text".into(), json!(v.describe()));
                    }
                }
            }
        }
        v
    }
}
