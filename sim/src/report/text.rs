//! The text report: a table of steps (a cell too long for its column is clipped with `~` and printed
//! in full on the lines below), the final status of each cluster and kind with a legend, losses,
//! hazards, invariants, expectations and the result.

use super::Report;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Widths of the step table's clipped columns.
const TARGET: usize = 44;
const OUTCOME: usize = 28;

/// What the final-status fields and the unknown-outcome count mean (printed under them).
const STATUS_LEGEND: &str = "  (set: the replication set's cluster_id and root: the Merkle root of the kind's data, first 8 hex digits each;\n   last_wal: the kind's last WAL index; keys: stored entries, the mount table included)";

impl Report {
    /// The human-readable report.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "scenario {}{} (seed {})",
            shown(&self.name),
            self.file
                .as_ref()
                .map(|f| format!(" [{}]", shown(f)))
                .unwrap_or_default(),
            self.seed
        );
        self.steps_table(&mut s);
        self.final_status(&mut s);
        self.findings(&mut s);
        let _ = writeln!(s, "result: {}", if self.passed() { "PASS" } else { "FAIL" });
        s
    }

    fn steps_table(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "{:>4}  {:<18} {:<TARGET$} {:<OUTCOME$} changes",
            "step", "verb", "target", "outcome"
        );
        for l in &self.steps {
            let (target, outcome) = (shown(&l.target), shown(&l.outcome));
            let changes = if l.changes.is_empty() {
                "-".to_string()
            } else {
                shown(&l.changes.join("; ")).into_owned()
            };
            let _ = writeln!(
                s,
                "{:>4}  {:<18} {:<TARGET$} {:<OUTCOME$} {}",
                l.step,
                l.verb,
                clip(&target, TARGET),
                clip(&outcome, OUTCOME),
                changes
            );
            if target.chars().count() > TARGET {
                let _ = writeln!(s, "{:>4}  target: {target}", "");
            }
            if outcome.chars().count() > OUTCOME {
                let _ = writeln!(s, "{:>4}  outcome: {outcome}", "");
            }
            if let Some(n) = &l.note {
                let _ = writeln!(s, "{:>4}  # {}", "", shown(n));
            }
        }
    }

    fn final_status(&self, s: &mut String) {
        let _ = writeln!(s, "final status");
        for c in &self.clusters {
            let _ = writeln!(
                s,
                "  {:<8} {:<12} {:<13} {:<12} set={:<8} last_wal={:<5} root={:<8} keys={}{}",
                c.cluster,
                c.kind.as_str(),
                c.mode,
                if c.state.is_empty() { "-" } else { &c.state },
                short(&c.cluster_id),
                c.last_wal,
                short(&c.merkle_root),
                c.keys,
                if c.up { "" } else { "  (crashed)" }
            );
        }
        let _ = writeln!(s, "{STATUS_LEGEND}");
    }

    fn findings(&self, s: &mut String) {
        let causes: Vec<String> = self
            .by_cause
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "losses: {} ({}); unknown outcomes: {} (client operations whose result the client never learned, and the writes they leave in doubt: not losses)",
            self.losses.len(),
            causes.join(", "),
            self.unknown_writes
        );
        for l in &self.losses {
            let _ = writeln!(
                s,
                "  step {:>3}: {}={:?} written at step {} lost: {}",
                l.step,
                shown(&l.path),
                l.value,
                l.written_at,
                l.cause
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
                    short(&h.cluster_id),
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
                let _ = writeln!(s, "  {}: {}", v.rule(), shown(&v.describe()));
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
                f.step,
                shown(&f.expected),
                shown(&f.actual)
            );
        }
    }
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`): text from a scenario (a name, a
/// note, a path) can neither break a report line nor send escape sequences to a terminal.
fn shown(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(
            text.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// The first 8 characters of an id or hash, or `-` for none.
fn short(id: &str) -> &str {
    if id.is_empty() {
        "-"
    } else {
        id.get(..8).unwrap_or(id)
    }
}

/// `s` cut to `n` characters, the last one `~` when it was cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}~", s.chars().take(n - 1).collect::<String>())
    }
}
