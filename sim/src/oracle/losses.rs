//! Rule: every lost write has a cause (model.md §6). The loss ledger records every acknowledged write,
//! which clusters hold it after each step, and when none does (and no later acknowledged write to the
//! path in the same data lineage superseded it), the cause: `wiped-by-enable`,
//! `unreplicated-at-promotion`, `diverged-primary` or `filtered`. A loss with none of these is a
//! violation.
//!
//! **Data lineage.** A cluster's lineage is where its data descends from, per data class (performance
//! replication ships only the `replicated` class, so a performance secondary's local data keeps a line
//! of its own). Every cluster starts in lineages of its own. An accepted activation (`secondary/enable`:
//! wipe, then sync) puts the secondary in its primary's lineage (a performance secondary's local class
//! starts afresh, empty); a completed sync (`InSync`) puts the secondary's classes that kind ships in
//! the lineage of the primary it synced from, so a DR copy of a cluster that joined another set
//! follows it. Demote, promote, update-primary and disable change nothing. A write belongs to the
//! lineage of the cluster that applied it, for its path's class (a forwarded write: the primary's,
//! when the write reached it). Supersession is judged within a lineage: two diverged primaries of one
//! set share one (the later write wins), while two independent clusters writing the same path never
//! supersede each other's writes. Holding is not: a write is held while any cluster stores its value
//! at its path.
//!
//! **Unknown outcomes.** A client operation handed to another cluster (a write forwarded to the
//! performance primary) is [`LossLedger::sent`] first and answered later: acknowledged, refused (not
//! applied), or with an unknown outcome (the reply was lost, the link failed, the timeout passed, or
//! the client's cluster crashed). An operation whose outcome the client never learned counts as
//! unknown, never as lost or kept, and so do the earlier writes to its path in its lineage (it may
//! have replaced them). While such an operation could still take effect (sent and not answered, or
//! answered unknown while its message is still on the network), a write to its path that vanishes is
//! unknown as well, not lost.
//!
//! (Over 600 lines with its unit tests, one per lineage rule; the ledger itself is about 670.)

use super::{Oracle, StepView, Violation};
use crate::world::Observation;
use replication_core::{DataClass, Event, Kind, Message};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Causes of loss.
pub const CAUSES: [&str; 4] = [
    "wiped-by-enable",
    "unreplicated-at-promotion",
    "diverged-primary",
    "filtered",
];

/// The most clusters a world may have: the ledger keeps holders as a 64-bit mask over the clusters in
/// name order (scenario files with more are refused when read).
pub const MAX_CLUSTERS: usize = 64;

/// Fate of a recorded write.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Some cluster holds it.
    Held,
    /// A later acknowledged write or delete to the path in its lineage replaced it.
    Superseded,
    /// Lost, with its cause.
    Lost(String),
    /// Its outcome (or a later operation's on the path) was never learned.
    Unknown,
}

/// One acknowledged client write.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct WriteRecord {
    /// Step of the write.
    pub step: usize,
    /// Cluster the client talked to.
    pub cluster: String,
    /// Path.
    pub path: String,
    /// Value written.
    pub value: String,
    /// The data lineage it belongs to.
    pub lineage: Lineage,
    /// Whether two primaries of a set were live when it was acknowledged.
    pub during_split: bool,
    /// Clusters holding it (its value at its path) after the last check, as a bit mask over the
    /// world's clusters in name order.
    pub holders: u64,
    /// Every cluster that ever held it, as the same kind of mask.
    pub ever_held: u64,
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

/// A data lineage: one data class's line of descent, shared by the clusters whose data of that class
/// descends from the same source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Lineage {
    /// The data class.
    pub class: DataClass,
    /// Which line (a label; clusters start with their own index).
    pub label: usize,
}

fn class_index(class: DataClass) -> usize {
    match class {
        DataClass::Replicated => 0,
        DataClass::Local => 1,
    }
}

/// A client operation sent to another cluster, whose answer comes later ([`LossLedger::sent`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(usize);

/// Where a sent operation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum OpState {
    /// No answer yet.
    Waiting,
    /// Acknowledged (recorded as a write if it was one).
    Acknowledged,
    /// Refused: not applied.
    Refused,
    /// The client will never learn its outcome.
    Unknown,
}

#[derive(Clone, Debug, Hash)]
struct SentOp {
    step: usize,
    cluster: String,
    lineage: Lineage,
    path: String,
    value: Option<String>,
    state: OpState,
    /// Whether it can still take effect somewhere (its path is unresolved while it can).
    live: bool,
    /// Whether it reached the cluster that applies it.
    arrived: bool,
}

/// The ledger.
#[derive(Clone, Debug, Hash)]
pub struct LossLedger {
    /// The world's clusters in name order.
    names: Vec<String>,
    /// Each cluster's current lineage label per data class (replicated, local).
    lineage: Vec<[usize; 2]>,
    /// The next fresh lineage label.
    next_label: usize,
    writes: Vec<WriteRecord>,
    /// The writes some cluster may still hold, by path: a step looks only at the paths it changed.
    live: BTreeMap<String, BTreeSet<usize>>,
    losses: Vec<Loss>,
    pending_split: bool,
    ops: Vec<SentOp>,
    /// Operations per (lineage, path) that could still take effect.
    unresolved: BTreeMap<(Lineage, String), usize>,
    /// Step of the last acknowledgement per (lineage, path), to order late replies.
    last_ack: BTreeMap<(Lineage, String), usize>,
    /// Writes recorded since the last check: their holders are not known yet, so every cluster is
    /// looked at (a late acknowledgement may name a write that landed steps ago).
    unchecked: BTreeSet<usize>,
    /// A documented cause for which some holders dropped a write while others still held it.
    earlier_cause: BTreeMap<usize, &'static str>,
    /// Look at every live write on every cluster after every step, as the ledger once did (tests
    /// compare it with looking only at what changed).
    rescan_all: bool,
}

impl LossLedger {
    /// A ledger for a world of `clusters` (in the world's name order), each in a lineage of its own.
    pub fn new(clusters: impl IntoIterator<Item = String>) -> LossLedger {
        let names: Vec<String> = clusters.into_iter().collect();
        LossLedger {
            lineage: (0..names.len()).map(|i| [i, i]).collect(),
            next_label: names.len(),
            names,
            writes: Vec::new(),
            live: BTreeMap::new(),
            losses: Vec::new(),
            pending_split: false,
            ops: Vec::new(),
            unresolved: BTreeMap::new(),
            last_ack: BTreeMap::new(),
            unchecked: BTreeSet::new(),
            earlier_cause: BTreeMap::new(),
            rescan_all: false,
        }
    }

    /// The current lineage of `cluster`'s data of `class`.
    pub fn lineage_of(&self, cluster: &str, class: DataClass) -> Lineage {
        self.lineage_at(self.index(cluster), class)
    }

    fn lineage_at(&self, i: usize, class: DataClass) -> Lineage {
        let c = class_index(class);
        Lineage {
            class,
            label: self.lineage.get(i).map_or(i, |l| l[c]),
        }
    }

    /// Moves cluster `i`'s data of `class` into lineage `label`; true when that changed it.
    fn set_lineage(&mut self, i: usize, class: DataClass, label: usize) -> bool {
        match self.lineage.get_mut(i) {
            Some(l) if l[class_index(class)] != label => {
                l[class_index(class)] = label;
                true
            }
            _ => false,
        }
    }

    fn index(&self, cluster: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == cluster)
            .unwrap_or(self.names.len())
    }

    /// Records a write (`value: Some`) or delete (`None`) of a path of data class `class` that
    /// `cluster` applied and acknowledged at `step`.
    pub fn acknowledged(
        &mut self,
        step: usize,
        cluster: &str,
        path: &str,
        class: DataClass,
        value: Option<&str>,
    ) {
        let lineage = self.lineage_of(cluster, class);
        self.record(step, cluster, lineage, path, value, Fate::Held);
    }

    fn record(
        &mut self,
        step: usize,
        cluster: &str,
        lineage: Lineage,
        path: &str,
        value: Option<&str>,
        fate: Fate,
    ) {
        let key = (lineage, path.to_string());
        let superseded = if fate == Fate::Held {
            Fate::Superseded
        } else {
            Fate::Unknown
        };
        self.supersede(lineage, path, superseded);
        if fate == Fate::Held {
            self.last_ack.insert(key, step);
        }
        if let Some(value) = value {
            let id = self.writes.len();
            self.writes.push(WriteRecord {
                step,
                cluster: cluster.to_string(),
                path: path.to_string(),
                value: value.to_string(),
                lineage,
                during_split: self.pending_split,
                holders: 0,
                ever_held: 0,
                fate: fate.clone(),
            });
            if fate == Fate::Held {
                self.live.entry(path.to_string()).or_default().insert(id);
                self.unchecked.insert(id);
            }
        }
    }

    /// A write (`value: Some`) or delete that client cluster `cluster` sent on to another cluster at
    /// `step` (a forwarded write: of the replicated class); its answer comes later. Until then its path
    /// is unresolved in the cluster's lineage (or, once [`LossLedger::applied_by`] says where it
    /// landed, in that cluster's).
    pub fn sent(&mut self, step: usize, cluster: &str, path: &str, value: Option<&str>) -> OpId {
        let lineage = self.lineage_of(cluster, DataClass::Replicated);
        *self
            .unresolved
            .entry((lineage, path.to_string()))
            .or_default() += 1;
        self.ops.push(SentOp {
            step,
            cluster: cluster.to_string(),
            lineage,
            path: path.to_string(),
            value: value.map(str::to_string),
            state: OpState::Waiting,
            live: true,
            arrived: false,
        });
        OpId(self.ops.len() - 1)
    }

    /// The operation reached `applier` (the primary that applies it): it belongs to that cluster's
    /// lineage now. Only the first arrival counts (a duplicate is answered, not applied again).
    pub fn applied_by(&mut self, op: OpId, applier: &str) {
        let lineage = self.lineage_of(applier, DataClass::Replicated);
        let Some(o) = self.ops.get_mut(op.0).filter(|o| !o.arrived) else {
            return;
        };
        o.arrived = true;
        if o.lineage == lineage {
            return;
        }
        let (old, path) = (o.lineage, o.path.clone());
        if o.live {
            self.unresolve(old, &path);
            *self.unresolved.entry((lineage, path)).or_default() += 1;
        }
        if let Some(o) = self.ops.get_mut(op.0) {
            o.lineage = lineage;
        }
    }

    /// The operation was acknowledged at `step`. It belongs to the lineage of the cluster that
    /// applied it ([`LossLedger::applied_by`]), else to the one its cluster had when it sent it.
    /// A reply that comes in a later step counts as an acknowledgement then, unless something else on
    /// the path was acknowledged since the operation was sent: then the order of the two is unknown,
    /// and so is which one the path holds.
    pub fn answered_ok(&mut self, op: OpId, step: usize) {
        let Some(o) = self.take_waiting(op, OpState::Acknowledged) else {
            return;
        };
        let lineage = o.lineage;
        let key = (lineage, o.path.clone());
        let overtaken = o.step < step && self.last_ack.get(&key).is_some_and(|s| *s >= o.step);
        let fate = if overtaken { Fate::Unknown } else { Fate::Held };
        self.record(step, &o.cluster, lineage, &o.path, o.value.as_deref(), fate);
    }

    /// The operation was refused: nothing was applied.
    pub fn answered_refused(&mut self, op: OpId) {
        self.take_waiting(op, OpState::Refused);
    }

    /// The client will never learn the operation's outcome (the answer said so, or its cluster
    /// crashed): it counts as unknown, and so do the earlier writes to its path in its lineage. It
    /// may still take effect until [`LossLedger::settled`] says it no longer can.
    pub fn answered_unknown(&mut self, op: OpId) {
        let Some(o) = self
            .ops
            .get_mut(op.0)
            .filter(|o| o.state == OpState::Waiting)
        else {
            return;
        };
        o.state = OpState::Unknown;
        let (lineage, path) = (o.lineage, o.path.clone());
        self.supersede(lineage, &path, Fate::Unknown);
    }

    /// An operation answered unknown can no longer take effect (its message left the network).
    pub fn settled(&mut self, op: OpId) {
        if self
            .ops
            .get(op.0)
            .is_some_and(|o| o.state == OpState::Unknown)
        {
            self.release(op);
        }
    }

    /// Marks a waiting operation answered (`state`), releasing its path; returns it.
    fn take_waiting(&mut self, op: OpId, state: OpState) -> Option<SentOp> {
        let o = self
            .ops
            .get_mut(op.0)
            .filter(|o| o.state == OpState::Waiting)?;
        o.state = state;
        let o = o.clone();
        self.release(op);
        Some(o)
    }

    fn release(&mut self, op: OpId) {
        let Some(o) = self.ops.get_mut(op.0).filter(|o| o.live) else {
            return;
        };
        o.live = false;
        let (lineage, path) = (o.lineage, o.path.clone());
        self.unresolve(lineage, &path);
    }

    fn unresolve(&mut self, lineage: Lineage, path: &str) {
        let key = (lineage, path.to_string());
        if let Some(n) = self.unresolved.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.unresolved.remove(&key);
            }
        }
    }

    fn supersede(&mut self, lineage: Lineage, path: &str, fate: Fate) {
        let ids: Vec<usize> = self
            .live
            .get(path)
            .into_iter()
            .flatten()
            .copied()
            .filter(|i| self.writes[*i].lineage == lineage)
            .collect();
        for i in ids {
            self.writes[i].fate = fate.clone();
            self.retire(i);
        }
    }

    /// Write `i` is no longer held anywhere that matters (lost, superseded, unknown).
    fn retire(&mut self, i: usize) {
        let path = &self.writes[i].path;
        if let Some(ids) = self.live.get_mut(path) {
            ids.remove(&i);
            if ids.is_empty() {
                self.live.remove(path);
            }
        }
        self.unchecked.remove(&i);
    }

    /// Lineage changes this step: an accepted activation puts the secondary in its primary's lineage
    /// (a performance secondary's local class starts afresh); a completed sync puts the classes its
    /// kind ships in the lineage of the primary it synced from.
    fn follow_lineages(&mut self, view: &StepView) {
        let mut source: BTreeMap<&str, &str> = BTreeMap::new();
        for o in view.observations {
            match o {
                Observation::Delivered {
                    from,
                    to,
                    message: Message::ActivationAccepted { .. } | Message::SyncData { .. },
                } => {
                    source.insert(to, from);
                }
                Observation::Event { cluster, event } => {
                    let (kind, fresh_local) = match event {
                        Event::Activation {
                            kind,
                            update: false,
                            result: Ok(()),
                        } => (*kind, *kind == Kind::Performance),
                        Event::InSync { kind } => (*kind, false),
                        _ => continue,
                    };
                    let Some(primary) = source.get(cluster.as_str()) else {
                        continue;
                    };
                    let (s, p) = (self.index(cluster), self.index(primary));
                    let rep = self.lineage_at(p, DataClass::Replicated).label;
                    self.set_lineage(s, DataClass::Replicated, rep);
                    if kind == Kind::Dr {
                        let local = self.lineage_at(p, DataClass::Local).label;
                        self.set_lineage(s, DataClass::Local, local);
                    } else if fresh_local {
                        let label = self.next_label;
                        self.next_label += 1;
                        self.set_lineage(s, DataClass::Local, label);
                    }
                }
                _ => {}
            }
        }
    }

    /// Updates holders after a step and records losses.
    fn judge(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        self.pending_split = view.two_primaries_live();
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
        // Which primary each secondary synced from this step (a sync's removals follow that source).
        let mut synced_from: BTreeMap<&str, u64> = BTreeMap::new();
        for o in view.observations {
            if let Observation::Delivered {
                from,
                to,
                message: Message::SyncData { .. },
            } = o
            {
                synced_from.insert(to, 1 << (self.index(from) % 64));
            }
        }
        self.follow_lineages(view);
        // Only the paths whose storage changed this step, on the clusters that changed them, are
        // looked at again (as each cluster's `Ready` listed them); writes recorded since the last
        // check are looked at everywhere (a late acknowledgement may name a write that landed steps
        // ago). The cost of a step is what it changed, not what the clusters hold.
        let mut touched: BTreeMap<&str, u64> = BTreeMap::new();
        for o in view.observations {
            if let Observation::Stored { cluster, keys } = o {
                let bit = 1u64 << (self.index(cluster) % 64);
                for k in keys {
                    *touched.entry(k.as_str()).or_default() |= bit;
                }
            }
        }
        let mut unchecked = std::mem::take(&mut self.unchecked);
        if self.rescan_all {
            unchecked.extend(self.live.values().flatten().copied());
        }
        let mut ids: BTreeSet<usize> = unchecked.clone();
        for path in touched.keys() {
            if let Some(live) = self.live.get(*path) {
                ids.extend(live.iter().copied());
            }
        }
        for i in ids {
            let w = &self.writes[i];
            if !self.live.get(&w.path).is_some_and(|l| l.contains(&i)) {
                continue;
            }
            let changed = if unchecked.contains(&i) {
                !0
            } else {
                touched.get(w.path.as_str()).copied().unwrap_or(0)
            };
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
                    n.cluster()
                        .storage()
                        .get(&w.path)
                        .is_some_and(|e| e.value == w.value)
                })
                .fold(0u64, |m, (i, _)| m | (1 << (i % 64)));
            let earlier = self.earlier_cause.get(&i).copied();
            // Why the clusters in `mask` dropped the write this step, if they said so. A sync that
            // removed it because its source lacks it follows that source: when the source once held it
            // and dropped it for a documented cause (a filter, say), that cause is the reason.
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
                    let follows_a_dropper = on.iter().any(|c| {
                        diverged.get(c).is_some_and(|k| k.contains(w.path.as_str()))
                            && synced_from.get(c).is_some_and(|src| w.ever_held & src != 0)
                    });
                    Some(match earlier {
                        Some(cause) if follows_a_dropper => cause,
                        _ if w.during_split => "diverged-primary",
                        _ => "unreplicated-at-promotion",
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
                self.writes[i].ever_held |= holders;
                continue;
            }
            if self.unresolved.contains_key(&(w.lineage, w.path.clone())) {
                // An operation on this path may have landed late: the write's fate is unknown.
                self.writes[i].fate = Fate::Unknown;
                self.retire(i);
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
            let cause = cause_on(w.holders).or(earlier);
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
            self.retire(i);
        }
    }

    /// Makes the ledger look at every live write on every cluster after every step (the full
    /// rescan the incremental judgement must agree with).
    #[cfg(test)]
    pub(crate) fn rescan_everything(&mut self) {
        self.rescan_all = true;
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

    /// How many outcomes are unknown: every operation whose outcome the client never learned (answered
    /// unknown, or not answered at all yet), plus every acknowledged write whose fate such an
    /// operation made unknown.
    pub fn unknown_count(&self) -> usize {
        let ops = self
            .ops
            .iter()
            .filter(|o| matches!(o.state, OpState::Waiting | OpState::Unknown))
            .count();
        let writes = self
            .writes
            .iter()
            .filter(|w| w.fate == Fate::Unknown)
            .count();
        ops + writes
    }
}

impl Oracle for LossLedger {
    fn check(&mut self, view: &StepView, found: &mut Vec<Violation>) {
        self.judge(view, found);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{ClusterSetup, Observation, World, WorldConfig};
    use replication_core::{ClientOp, Input};

    fn world() -> World {
        let config = WorldConfig {
            seed: 7,
            heartbeat_interval: replication_core::Duration::from_secs(5),
            log_shipper_buffer: 16,
            forwarding_timeout: None,
            bugs: Default::default(),
            entropy: Default::default(),
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

    /// Checks a step whose observations are what the world saw since the last check (the storage
    /// changes among them: the ledger looks only at what changed).
    fn check(ledger: &mut LossLedger, world: &mut World, step: usize) -> Vec<Violation> {
        let seen = world.take_observations();
        check_seen(ledger, world, step, &seen)
    }

    fn check_seen(
        ledger: &mut LossLedger,
        world: &World,
        step: usize,
        observations: &[Observation],
    ) -> Vec<Violation> {
        let modes = crate::oracle::Modes::of(world);
        let view = StepView {
            calls: &[],
            revocations: &Default::default(),
            step,
            world,
            observations,
            modes_before: &modes,
        };
        let mut out = vec![];
        ledger.check(&view, &mut out);
        out
    }

    fn write(w: &mut World, cluster: &str, path: &str, value: &str) {
        let op = ClientOp::Write {
            path: path.into(),
            value: value.into(),
        };
        assert!(matches!(w.step(cluster, Input::Client(op)), Some(Ok(_))));
    }

    /// Makes `primary` a DR primary and enables `secondary` with its token, settled; returns what was
    /// observed (the acceptance, the wipe, the activation).
    fn dr_enable(w: &mut World, primary: &str, secondary: &str) -> Vec<Observation> {
        use replication_core::{Kind, Reply, Request};
        let req = |r| Input::Request(r);
        w.step(
            primary,
            req(Request::EnablePrimary {
                kind: Kind::Dr,
                primary_cluster_addr: None,
            }),
        );
        let Some(Ok(Reply::Token(t))) = w.step(
            primary,
            req(Request::SecondaryToken {
                kind: Kind::Dr,
                id: secondary.into(),
                ttl: None,
                secondary_public_key: None,
            }),
        ) else {
            panic!("no token")
        };
        w.step(
            secondary,
            req(Request::EnableSecondary {
                kind: Kind::Dr,
                token: t.token,
                primary_api_addr: None,
            }),
        );
        w.settle();
        w.take_observations()
    }

    /// Rule 4: a later write to the same path on an unrelated cluster supersedes nothing; when the
    /// earlier writer is wiped by an enable, its write is lost.
    #[test]
    fn writes_of_independent_lineages_never_supersede_each_other() {
        let mut w = world();
        let mut ledger = LossLedger::new(w.names());
        write(&mut w, "B", "secret/app", "from-b");
        ledger.acknowledged(1, "B", "secret/app", DataClass::Replicated, Some("from-b"));
        write(&mut w, "A", "secret/app", "from-a");
        ledger.acknowledged(2, "A", "secret/app", DataClass::Replicated, Some("from-a"));
        assert!(check(&mut ledger, &mut w, 2).is_empty());
        let fates: Vec<&Fate> = ledger.writes().iter().map(|r| &r.fate).collect();
        assert_eq!(
            fates,
            [&Fate::Held, &Fate::Held],
            "neither superseded the other"
        );
        let seen = dr_enable(&mut w, "A", "B");
        assert!(check_seen(&mut ledger, &w, 3, &seen).is_empty());
        assert_eq!(ledger.losses().len(), 1, "{:?}", ledger.losses());
        assert_eq!(ledger.losses()[0].value, "from-b");
        assert_eq!(ledger.losses()[0].cause, "wiped-by-enable");
        assert_eq!(
            ledger.lineage_of("B", DataClass::Replicated),
            ledger.lineage_of("A", DataClass::Replicated),
            "B joined A's lineage"
        );
        // Now one lineage: A's next write supersedes its own earlier one, wherever it is held.
        write(&mut w, "A", "secret/app", "from-a-2");
        ledger.acknowledged(
            4,
            "A",
            "secret/app",
            DataClass::Replicated,
            Some("from-a-2"),
        );
        w.settle();
        let seen = w.take_observations();
        assert!(check_seen(&mut ledger, &w, 4, &seen).is_empty());
        assert_eq!(ledger.writes()[1].fate, Fate::Superseded);
        assert_eq!(ledger.losses().len(), 1);
    }

    /// Rule 4: lineages decide supersession, not holding: a write is held while any cluster stores its
    /// value (model.md §6, "no cluster holds it any more"), so B's write survives B's wipe when A
    /// already held the same value at the path.
    #[test]
    fn an_equal_value_anywhere_holds_a_write() {
        let mut w = world();
        let mut ledger = LossLedger::new(w.names());
        write(&mut w, "B", "secret/same", "v");
        ledger.acknowledged(1, "B", "secret/same", DataClass::Replicated, Some("v"));
        write(&mut w, "A", "secret/same", "v");
        ledger.acknowledged(2, "A", "secret/same", DataClass::Replicated, Some("v"));
        assert!(check(&mut ledger, &mut w, 2).is_empty());
        assert_eq!(ledger.writes()[0].holders, 0b11, "both hold the value");
        let seen = dr_enable(&mut w, "A", "B");
        assert!(check_seen(&mut ledger, &w, 3, &seen).is_empty());
        assert!(ledger.losses().is_empty(), "{:?}", ledger.losses());
        let fates: Vec<&Fate> = ledger.writes().iter().map(|r| &r.fate).collect();
        assert_eq!(fates, [&Fate::Held, &Fate::Held]);
    }

    /// A forwarded write belongs to the lineage of the primary that applied it, not to the stale one
    /// of the cluster that forwarded it: the primary's next write to the path supersedes it.
    #[test]
    fn a_forwarded_write_is_in_the_lineage_of_the_primary_that_applied_it() {
        let mut w = world();
        let mut ledger = LossLedger::new(w.names());
        let op = ledger.sent(1, "B", "secret/k", Some("via-b"));
        write(&mut w, "A", "secret/k", "via-b");
        ledger.applied_by(op, "A");
        ledger.answered_ok(op, 1);
        assert!(check(&mut ledger, &mut w, 1).is_empty());
        write(&mut w, "A", "secret/k", "next");
        ledger.acknowledged(2, "A", "secret/k", DataClass::Replicated, Some("next"));
        assert!(
            check(&mut ledger, &mut w, 2).is_empty(),
            "superseded, not lost"
        );
        assert_eq!(ledger.writes()[0].fate, Fate::Superseded);
        assert_eq!(
            ledger.writes()[0].lineage,
            ledger.lineage_of("A", DataClass::Replicated)
        );
    }

    /// Rule 5: an operation whose outcome the client never learned counts, whether or not its path had
    /// an earlier write; the earlier writes it may have replaced count too.
    #[test]
    fn every_operation_with_an_unknown_outcome_is_counted() {
        let mut w = world();
        let mut ledger = LossLedger::new(w.names());
        let fresh = ledger.sent(1, "A", "secret/fresh", Some("f"));
        assert_eq!(
            ledger.unknown_count(),
            1,
            "not answered yet: unknown so far"
        );
        ledger.answered_unknown(fresh);
        assert_eq!(
            ledger.unknown_count(),
            1,
            "the operation itself, counted once"
        );
        write(&mut w, "A", "secret/k", "v1");
        ledger.acknowledged(2, "A", "secret/k", DataClass::Replicated, Some("v1"));
        let over = ledger.sent(3, "A", "secret/k", Some("v2"));
        ledger.answered_unknown(over);
        assert_eq!(
            ledger.unknown_count(),
            3,
            "two operations, and the earlier write the second may have replaced"
        );
        ledger.settled(fresh);
        ledger.settled(over);
        assert_eq!(ledger.unknown_count(), 3, "settling changes no count");
        assert!(check(&mut ledger, &mut w, 3).is_empty());
        assert!(ledger.losses().is_empty());
    }

    /// Rule 5: an answer the client did learn is not unknown: a refusal leaves earlier writes as they
    /// were, an acknowledgement records the write.
    #[test]
    fn answered_operations_are_not_unknown() {
        let mut w = world();
        let mut ledger = LossLedger::new(w.names());
        write(&mut w, "A", "secret/k", "v1");
        ledger.acknowledged(1, "A", "secret/k", DataClass::Replicated, Some("v1"));
        let refused = ledger.sent(2, "A", "secret/k", Some("nope"));
        ledger.answered_refused(refused);
        let acked = ledger.sent(3, "A", "secret/other", Some("x"));
        write(&mut w, "A", "secret/other", "x");
        ledger.answered_ok(acked, 3);
        assert_eq!(ledger.unknown_count(), 0);
        assert!(check(&mut ledger, &mut w, 3).is_empty());
        let fates: Vec<&Fate> = ledger.writes().iter().map(|r| &r.fate).collect();
        assert_eq!(fates, [&Fate::Held, &Fate::Held]);
    }

    /// While an operation could still land, a write to its path that vanishes is unknown, not lost.
    #[test]
    fn a_write_that_vanishes_while_an_operation_may_land_is_unknown() {
        let mut w = world();
        let mut ledger = LossLedger::new(w.names());
        write(&mut w, "A", "secret/k", "v1");
        ledger.acknowledged(1, "A", "secret/k", DataClass::Replicated, Some("v1"));
        assert!(check(&mut ledger, &mut w, 1).is_empty());
        let op = ledger.sent(2, "A", "secret/k", None);
        // The delete lands (its answer has not come yet).
        let delete = ClientOp::Delete {
            path: "secret/k".into(),
        };
        assert!(matches!(w.step("A", Input::Client(delete)), Some(Ok(_))));
        assert!(
            check(&mut ledger, &mut w, 2).is_empty(),
            "no unexplained loss"
        );
        assert!(ledger.losses().is_empty());
        assert_eq!(ledger.writes()[0].fate, Fate::Unknown);
        ledger.answered_ok(op, 3);
        assert_eq!(ledger.unknown_count(), 1, "only the vanished write");
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
        let mut ledger = LossLedger::new(w.names());
        assert!(check(&mut ledger, &mut w, 1).is_empty());
        // Step 2: nothing moves, but the reply for the step-1 write arrives.
        ledger.acknowledged(2, "A", "secret/k", DataClass::Replicated, Some("v1"));
        assert!(check(&mut ledger, &mut w, 2).is_empty());
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
        let mut ledger = LossLedger::new(w.names());
        ledger.acknowledged(1, "A", "secret/A", DataClass::Replicated, Some("a"));
        ledger.acknowledged(1, "B", "secret/B", DataClass::Replicated, Some("b"));
        assert!(check(&mut ledger, &mut w, 1).is_empty());
        // Only A moves: B's write keeps its holder without B being looked at again.
        let write = ClientOp::Write {
            path: "secret/other".into(),
            value: "x".into(),
        };
        assert!(matches!(w.step("A", Input::Client(write)), Some(Ok(_))));
        assert!(check(&mut ledger, &mut w, 2).is_empty());
        let holders: Vec<u64> = ledger.writes().iter().map(|r| r.holders).collect();
        assert_eq!(holders, vec![0b01, 0b10]);
    }
}
