//! Rule: every lost write has a cause (model.md §6). The loss ledger records every acknowledged write,
//! which clusters hold it after each step, and when none does (and no later acknowledged write to the
//! path superseded it), the cause: `wiped-by-enable`, `unreplicated-at-promotion`, `diverged-primary`
//! or `filtered`. A loss with none of these is a violation. Writes whose outcome the client never
//! learned are `unknown`: never counted as lost or kept, and they make earlier writes to the same path
//! unknown too (the unacknowledged operation may have replaced them). While such an operation is
//! unresolved (it may still be in flight and land later), a write to its path that vanishes is
//! unknown as well, not lost; a late reply resolves it and counts as an acknowledgement then.

use super::{StepView, Violation};
use crate::world::Observation;
use replication_core::Event;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Causes of loss.
pub const CAUSES: [&str; 4] = [
    "wiped-by-enable",
    "unreplicated-at-promotion",
    "diverged-primary",
    "filtered",
];

/// Fate of a recorded write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Some cluster holds it.
    Held,
    /// A later acknowledged write or delete to the path replaced it.
    Superseded,
    /// Lost, with its cause.
    Lost(String),
    /// Its outcome (or a later operation's on the path) was never learned.
    Unknown,
}

/// One acknowledged (or unknown) client write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WriteRecord {
    /// Step of the write.
    pub step: usize,
    /// Cluster the client talked to.
    pub cluster: String,
    /// Path.
    pub path: String,
    /// Value written.
    pub value: String,
    /// Whether two primaries of a set were live when it was acknowledged.
    pub during_split: bool,
    /// Clusters holding it after the last check, as a bit mask over the world's clusters in name
    /// order.
    pub holders: u64,
    /// Its fate.
    pub fate: Fate,
}

/// A loss, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Loss {
    /// Step at which it was lost.
    pub step: usize,
    /// Path.
    pub path: String,
    /// Value.
    pub value: String,
    /// Step of the write.
    pub written_at: usize,
    /// Cause.
    pub cause: String,
}

/// The ledger.
#[derive(Clone, Debug, Default)]
pub struct LossLedger {
    writes: Vec<WriteRecord>,
    live: BTreeSet<usize>,
    losses: Vec<Loss>,
    pending_split: bool,
    /// Client operations per path whose outcome is not known yet.
    unresolved: BTreeMap<String, usize>,
    /// Step of the last acknowledgement per path (to order late replies).
    last_ack: BTreeMap<String, usize>,
    /// Each cluster's last WAL index at the last check: storage changes only when one moves (or a
    /// wipe is reported), so unchanged steps need no scan.
    seen_wals: Vec<u64>,
    /// Writes recorded since the last check: their holders are not known yet, so every cluster is
    /// looked at (a late acknowledgement may name a write that landed steps ago).
    unchecked: BTreeSet<usize>,
    /// A documented cause for which some holders dropped a write while others still held it.
    earlier_cause: BTreeMap<usize, &'static str>,
}

impl LossLedger {
    /// Records an acknowledged write (`value: Some`) or delete (`None`) at `step`.
    pub fn acknowledged(&mut self, step: usize, cluster: &str, path: &str, value: Option<&str>) {
        self.last_ack.insert(path.to_string(), step);
        self.supersede(path, Fate::Superseded);
        if let Some(value) = value {
            self.writes.push(WriteRecord {
                step,
                cluster: cluster.to_string(),
                path: path.to_string(),
                value: value.to_string(),
                during_split: self.pending_split,
                holders: 0,
                fate: Fate::Held,
            });
            self.live.insert(self.writes.len() - 1);
            self.unchecked.insert(self.writes.len() - 1);
        }
    }

    /// Records a write or delete whose outcome the client has not learned (yet).
    pub fn unknown(&mut self, path: &str) {
        self.supersede(path, Fate::Unknown);
        *self.unresolved.entry(path.to_string()).or_default() += 1;
    }

    /// A reply that arrived late, at `step`, for an operation issued at `issued`: it counts as an
    /// acknowledgement at `step` unless something else on the path was acknowledged since `issued`,
    /// in which case the order of the two is unknown and so is the outcome.
    pub fn acknowledged_late(
        &mut self,
        issued: usize,
        step: usize,
        cluster: &str,
        path: &str,
        value: Option<&str>,
    ) {
        self.resolved(path);
        if self.last_ack.get(path).is_some_and(|s| *s >= issued) {
            self.supersede(path, Fate::Unknown);
        } else {
            self.acknowledged(step, cluster, path, value);
        }
    }

    /// The outcome of an earlier [`LossLedger::unknown`] operation arrived after all.
    pub fn resolved(&mut self, path: &str) {
        if let Some(n) = self.unresolved.get_mut(path) {
            *n -= 1;
            if *n == 0 {
                self.unresolved.remove(path);
            }
        }
    }

    fn supersede(&mut self, path: &str, fate: Fate) {
        let ids: Vec<usize> = self
            .live
            .iter()
            .copied()
            .filter(|i| self.writes[*i].path == path)
            .collect();
        for i in ids {
            self.writes[i].fate = fate.clone();
            self.live.remove(&i);
        }
    }

    /// Updates holders after a step and records losses.
    pub fn check(&mut self, view: &StepView, split_active: bool, out: &mut Vec<Violation>) {
        self.pending_split = split_active;
        let mut wiped = BTreeSet::new();
        let mut diverged: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut filtered: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for o in view.observations {
            if let Observation::Event { cluster, event } = o {
                match event {
                    Event::Wiped { .. } => {
                        wiped.insert(cluster.as_str());
                    }
                    Event::SyncRemoved {
                        diverged: d,
                        filtered: f,
                        ..
                    } => {
                        for k in d {
                            diverged.entry(cluster.as_str()).or_default().insert(k);
                        }
                        for k in f {
                            filtered.entry(cluster.as_str()).or_default().insert(k);
                        }
                    }
                    _ => {}
                }
            }
        }
        // Only clusters whose storage may have changed are looked at again: those whose WAL moved,
        // or that reported a wipe or a removal by sync.
        let wals: Vec<u64> = view
            .world
            .nodes
            .values()
            .map(|n| n.cluster.last_wal())
            .collect();
        let changed: u64 = view
            .world
            .nodes
            .keys()
            .enumerate()
            .filter(|(i, name)| {
                self.seen_wals.get(*i) != Some(&wals[*i])
                    || wiped.contains(name.as_str())
                    || diverged.contains_key(name.as_str())
                    || filtered.contains_key(name.as_str())
            })
            .fold(0, |m, (i, _)| m | (1 << (i % 64)));
        self.seen_wals = wals;
        let unchecked = std::mem::take(&mut self.unchecked);
        if changed == 0 && unchecked.is_empty() {
            return;
        }
        let ids: Vec<usize> = self.live.iter().copied().collect();
        for i in ids {
            let w = &self.writes[i];
            let changed = if unchecked.contains(&i) { !0 } else { changed };
            let holders = view
                .world
                .nodes
                .values()
                .enumerate()
                .filter(|(i, n)| {
                    let bit = 1 << (i % 64);
                    if changed & bit == 0 {
                        return w.holders & bit != 0;
                    }
                    n.cluster
                        .storage()
                        .get(&w.path)
                        .is_some_and(|e| e.value == w.value)
                })
                .fold(0u64, |m, (i, _)| m | (1 << (i % 64)));
            // Why the clusters in `mask` dropped the write this step, if they said so.
            let cause_on = |mask: u64| {
                let on: Vec<&str> = view
                    .world
                    .nodes
                    .keys()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << (i % 64)) != 0)
                    .map(|(_, k)| k.as_str())
                    .collect();
                let by = |m: &BTreeMap<&str, BTreeSet<&str>>| {
                    on.iter()
                        .any(|c| m.get(c).is_some_and(|keys| keys.contains(w.path.as_str())))
                };
                if on.iter().any(|c| wiped.contains(c)) {
                    Some("wiped-by-enable")
                } else if by(&filtered) {
                    Some("filtered")
                } else if by(&diverged) {
                    Some(if w.during_split {
                        "diverged-primary"
                    } else {
                        "unreplicated-at-promotion"
                    })
                } else {
                    None
                }
            };
            if holders != 0 {
                // Some holders dropped it for a documented reason while others (say, DR copies cut off
                // by a partition) still hold it: those follow their source later, for that reason.
                let dropped = w.holders & !holders;
                if dropped != 0 && !self.earlier_cause.contains_key(&i) {
                    if let Some(cause) = cause_on(dropped) {
                        self.earlier_cause.insert(i, cause);
                    }
                }
                self.writes[i].holders = holders;
                continue;
            }
            if self.unresolved.contains_key(&w.path) {
                // An operation on this path may have landed late: the write's fate is unknown.
                self.writes[i].fate = Fate::Unknown;
                self.live.remove(&i);
                continue;
            }
            let prev: Vec<&str> = view
                .world
                .nodes
                .keys()
                .enumerate()
                .filter(|(i, _)| w.holders & (1 << (i % 64)) != 0)
                .map(|(_, k)| k.as_str())
                .collect();
            let cause = cause_on(w.holders).or_else(|| self.earlier_cause.get(&i).copied());
            let loss = Loss {
                step: view.step,
                path: w.path.clone(),
                value: w.value.clone(),
                written_at: w.step,
                cause: cause.unwrap_or("unexplained").to_string(),
            };
            if cause.is_none() {
                out.push(Violation::UnexplainedLoss {
                    step: view.step,
                    path: w.path.clone(),
                    value: w.value.clone(),
                    written_at: w.step,
                    last_holders: prev.iter().map(|s| s.to_string()).collect(),
                });
            }
            self.writes[i].fate = Fate::Lost(loss.cause.clone());
            self.losses.push(loss);
            self.live.remove(&i);
        }
    }

    /// Losses so far.
    pub fn losses(&self) -> &[Loss] {
        &self.losses
    }

    /// Losses by cause (every documented cause present, zero included).
    pub fn by_cause(&self) -> BTreeMap<String, u64> {
        let mut m: BTreeMap<String, u64> = CAUSES.iter().map(|c| (c.to_string(), 0)).collect();
        for l in &self.losses {
            *m.entry(l.cause.clone()).or_default() += 1;
        }
        m
    }

    /// Every recorded write.
    pub fn writes(&self) -> &[WriteRecord] {
        &self.writes
    }

    /// How many writes had an unknown outcome.
    pub fn unknown_count(&self) -> usize {
        self.writes
            .iter()
            .filter(|w| w.fate == Fate::Unknown)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{ClusterSetup, World, WorldConfig};
    use replication_core::{ClientOp, Input};

    fn world() -> World {
        let config = WorldConfig {
            seed: 7,
            heartbeat_interval: replication_core::Duration::from_secs(5),
            log_shipper_buffer: 16,
            bugs: Default::default(),
        };
        let clusters: Vec<ClusterSetup> = ["A", "B"]
            .iter()
            .map(|n| ClusterSetup {
                name: n.to_string(),
                shares: 1,
                threshold: 1,
            })
            .collect();
        World::new(&config, &clusters, &[("secret/".to_string(), false)])
    }

    fn check(ledger: &mut LossLedger, world: &World, step: usize) -> Vec<Violation> {
        let modes = crate::oracle::Modes::of(world);
        let view = StepView {
            calls: &[],
            revocations: &Default::default(),
            step,
            world,
            observations: &[],
            modes_before: &modes,
        };
        let mut out = vec![];
        ledger.check(&view, false, &mut out);
        out
    }

    /// A reply that arrives steps after its write landed names a write no WAL moved for since: the
    /// ledger must still find it held (the incremental scan looks at every cluster for new records).
    #[test]
    fn a_late_acknowledgement_of_a_write_that_landed_earlier_is_held_not_lost() {
        let mut w = world();
        let write = ClientOp::Write {
            path: "secret/k".into(),
            value: "v1".into(),
        };
        assert!(matches!(w.step("A", Input::Client(write)), Some(Ok(_))));
        let mut ledger = LossLedger::default();
        assert!(check(&mut ledger, &w, 1).is_empty());
        // Step 2: nothing moves, but the reply for the step-1 write arrives.
        ledger.acknowledged(2, "A", "secret/k", Some("v1"));
        assert!(check(&mut ledger, &w, 2).is_empty());
        assert!(ledger.losses().is_empty(), "{:?}", ledger.losses());
        assert_eq!(ledger.writes()[0].fate, Fate::Held);
        assert_eq!(ledger.writes()[0].holders, 0b01, "held by A only");
    }

    /// Rescanning only the clusters that changed loses nothing: a write on a cluster whose WAL did not
    /// move keeps its holder bit (and is not reported lost).
    #[test]
    fn a_write_on_an_unchanged_cluster_keeps_its_holder_bit() {
        let mut w = world();
        for (cluster, value) in [("A", "a"), ("B", "b")] {
            let write = ClientOp::Write {
                path: format!("secret/{cluster}"),
                value: value.into(),
            };
            assert!(matches!(w.step(cluster, Input::Client(write)), Some(Ok(_))));
        }
        let mut ledger = LossLedger::default();
        ledger.acknowledged(1, "A", "secret/A", Some("a"));
        ledger.acknowledged(1, "B", "secret/B", Some("b"));
        assert!(check(&mut ledger, &w, 1).is_empty());
        // Only A moves: B's write keeps its holder without B being looked at again.
        let write = ClientOp::Write {
            path: "secret/other".into(),
            value: "x".into(),
        };
        assert!(matches!(w.step("A", Input::Client(write)), Some(Ok(_))));
        assert!(check(&mut ledger, &w, 2).is_empty());
        let holders: Vec<u64> = ledger.writes().iter().map(|r| r.holders).collect();
        assert_eq!(holders, vec![0b01, 0b10]);
    }
}
