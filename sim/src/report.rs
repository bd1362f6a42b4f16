//! The run report: one fixed-column line per step, then the final status of each cluster and kind,
//! losses by cause, hazards and invariants. Text for people, JSON (`--json`) for machines.

use crate::oracle::losses::Loss;
use crate::oracle::{Hazard, Violation};
use crate::world::NetStats;
use replication_core::Kind;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

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
    /// Seed.
    pub seed: u64,
    /// Step lines.
    pub steps: Vec<StepLine>,
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
    /// The final topology in DOT.
    #[serde(skip)]
    pub dot: String,
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

    /// The human-readable report.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "scenario {}{} (seed {})",
            self.name,
            self.file
                .as_ref()
                .map(|f| format!(" [{f}]"))
                .unwrap_or_default(),
            self.seed
        );
        let _ = writeln!(
            s,
            "{:>4}  {:<18} {:<44} {:<28} changes",
            "step", "verb", "target", "outcome"
        );
        for l in &self.steps {
            let changes = if l.changes.is_empty() {
                "-".to_string()
            } else {
                l.changes.join("; ")
            };
            let _ = writeln!(
                s,
                "{:>4}  {:<18} {:<44} {:<28} {}",
                l.step,
                l.verb,
                clip(&l.target, 44),
                clip(&l.outcome, 28),
                changes
            );
            if let Some(n) = &l.note {
                let _ = writeln!(s, "{:>4}  # {n}", "");
            }
        }
        let _ = writeln!(s, "final status");
        for c in &self.clusters {
            let _ = writeln!(
                s,
                "  {:<8} {:<12} {:<13} {:<12} set={:<8} last_wal={:<5} root={:<8} keys={}{}",
                c.cluster,
                c.kind.as_str(),
                c.mode,
                if c.state.is_empty() { "-" } else { &c.state },
                if c.cluster_id.is_empty() {
                    "-"
                } else {
                    &c.cluster_id[..8]
                },
                c.last_wal,
                if c.merkle_root.is_empty() {
                    "-"
                } else {
                    &c.merkle_root[..8]
                },
                c.keys,
                if c.up { "" } else { "  (crashed)" }
            );
        }
        let causes: Vec<String> = self
            .by_cause
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "losses: {} ({}); unknown outcomes: {}",
            self.losses.len(),
            causes.join(", "),
            self.unknown_writes
        );
        for l in &self.losses {
            let _ = writeln!(
                s,
                "  step {:>3}: {}={:?} written at step {} lost: {}",
                l.step, l.path, l.value, l.written_at, l.cause
            );
        }
        if self.hazards.is_empty() {
            let _ = writeln!(s, "hazards: none");
        } else {
            let _ = writeln!(s, "hazards:");
            for h in &self.hazards {
                let _ = writeln!(
                    s,
                    "  step {:>3}: {} ({} set {}: {})",
                    h.step,
                    h.kind,
                    h.replication,
                    &h.cluster_id[..8.min(h.cluster_id.len())],
                    h.clusters.join(", ")
                );
            }
        }
        if self.violations.is_empty() {
            let _ = writeln!(
                s,
                "invariants: all held{}",
                self.convergence
                    .as_ref()
                    .map(|c| format!(" (convergence {c})"))
                    .unwrap_or_default()
            );
        } else {
            let _ = writeln!(s, "invariants: {} violated", self.violations.len());
            for v in &self.violations {
                let _ = writeln!(s, "  {}: {}", v.rule(), v.describe());
            }
        }
        let _ = writeln!(
            s,
            "expectations: {} checked, {} failed",
            self.expectations,
            self.failures.len()
        );
        for f in &self.failures {
            let _ = writeln!(
                s,
                "  step {}: expected {}; got {}",
                f.step, f.expected, f.actual
            );
        }
        let _ = writeln!(s, "result: {}", if self.passed() { "PASS" } else { "FAIL" });
        s
    }

    /// The machine-readable report.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("passed".into(), json!(self.passed()));
        }
        v
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}~", s.chars().take(n - 1).collect::<String>())
    }
}
