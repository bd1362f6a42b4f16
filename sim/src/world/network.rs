//! The simulated network: one FIFO queue per directed link between named clusters, partitions, and
//! optional faults (drop, duplicate, reorder, delay) drawn from the world's seeded RNG.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use replication_core::Message;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Fault rates for message delivery, each a probability in `[0, 1]` (all zero by default).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// A message is lost.
    pub drop: f64,
    /// A message is delivered twice.
    pub duplicate: f64,
    /// A message jumps ahead of the one before it on its link.
    pub reorder: f64,
    /// A message is held back until the next `advance` (delivered after the clock moves).
    pub delay: f64,
}

impl Faults {
    /// True when no fault is enabled.
    pub fn is_none(&self) -> bool {
        self.drop == 0.0 && self.duplicate == 0.0 && self.reorder == 0.0 && self.delay == 0.0
    }
}

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Packet {
    /// Sending cluster's name.
    pub from: String,
    /// Receiving cluster's name.
    pub to: String,
    /// The sender's cluster address (what the receiver sees as `from`).
    pub from_addr: String,
    /// The message.
    pub message: Message,
}

/// Counters of what the network did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NetStats {
    /// Messages handed to a receiver.
    pub delivered: u64,
    /// Messages dropped by a partition, a crash, an unknown address or a drop fault.
    pub dropped: u64,
    /// Extra copies delivered by the duplicate fault.
    pub duplicated: u64,
}

/// The queues, held messages, partition and fault rates (statistics aside) tell networks apart.
impl std::hash::Hash for Network {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.links.hash(h);
        self.held.hash(h);
        self.groups.hash(h);
        let f = self.faults;
        [f.drop, f.duplicate, f.reorder, f.delay]
            .map(f64::to_bits)
            .hash(h);
    }
}

/// Per-link FIFO queues and partitions.
#[derive(Clone, Debug, Default)]
pub struct Network {
    links: BTreeMap<(String, String), VecDeque<Packet>>,
    held: Vec<Packet>,
    groups: Option<Vec<BTreeSet<String>>>,
    /// Fault rates in force.
    pub faults: Faults,
    /// What happened so far.
    pub stats: NetStats,
}

impl Network {
    /// Queues a packet on its link, applying faults.
    pub fn send(&mut self, p: Packet, rng: &mut ChaCha8Rng) {
        if !self.faults.is_none() {
            if rng.random_bool(self.faults.drop.clamp(0.0, 1.0)) {
                self.stats.dropped += 1;
                return;
            }
            if rng.random_bool(self.faults.delay.clamp(0.0, 1.0)) {
                self.held.push(p);
                return;
            }
            let dup = rng.random_bool(self.faults.duplicate.clamp(0.0, 1.0));
            let reorder = rng.random_bool(self.faults.reorder.clamp(0.0, 1.0));
            let q = self
                .links
                .entry((p.from.clone(), p.to.clone()))
                .or_default();
            if dup {
                self.stats.duplicated += 1;
                q.push_back(p.clone());
            }
            if reorder && !q.is_empty() {
                let at = rng.random_range(0..q.len());
                q.insert(at, p);
            } else {
                q.push_back(p);
            }
            return;
        }
        self.links
            .entry((p.from.clone(), p.to.clone()))
            .or_default()
            .push_back(p);
    }

    /// The next packet in flight on the link `from -> to`.
    pub fn peek(&self, from: &str, to: &str) -> Option<&Packet> {
        self.links
            .get(&(from.to_string(), to.to_string()))
            .and_then(VecDeque::front)
    }

    /// Takes the next packet in flight on the link `from -> to`.
    pub fn pop(&mut self, from: &str, to: &str) -> Option<Packet> {
        let key = (from.to_string(), to.to_string());
        let q = self.links.get_mut(&key)?;
        let p = q.pop_front();
        if q.is_empty() {
            self.links.remove(&key);
        }
        p
    }

    /// Every link with something queued, as (from, to) in link order, with its queue.
    pub fn links(&self) -> impl Iterator<Item = (&str, &str, &VecDeque<Packet>)> {
        self.links
            .iter()
            .map(|((f, t), q)| (f.as_str(), t.as_str(), q))
    }

    /// Releases messages held back by the delay fault onto their links.
    pub fn release_held(&mut self) {
        for p in std::mem::take(&mut self.held) {
            self.links
                .entry((p.from.clone(), p.to.clone()))
                .or_default()
                .push_back(p);
        }
    }

    /// Takes one packet from each non-empty link, in link order (a deterministic round).
    pub fn next_round(&mut self) -> Vec<Packet> {
        let mut out = vec![];
        for q in self.links.values_mut() {
            if let Some(p) = q.pop_front() {
                out.push(p);
            }
        }
        self.links.retain(|_, q| !q.is_empty());
        out
    }

    /// True when nothing is queued (held messages aside).
    pub fn is_quiet(&self) -> bool {
        self.links.is_empty()
    }

    /// Whether any packet in flight (queued or held back) satisfies `f`.
    pub fn holds(&self, f: impl Fn(&Packet) -> bool) -> bool {
        self.links.values().flatten().chain(&self.held).any(f)
    }

    /// Number of queued packets.
    pub fn in_flight(&self) -> usize {
        self.links.values().map(VecDeque::len).sum::<usize>() + self.held.len()
    }

    /// Whether a message may pass between `a` and `b` under the current partition.
    pub fn connected(&self, a: &str, b: &str) -> bool {
        match &self.groups {
            None => true,
            Some(groups) => {
                let group_of = |n: &str| groups.iter().position(|g| g.contains(n));
                group_of(a) == group_of(b)
            }
        }
    }

    /// Installs a partition: clusters in different groups cannot talk; the clusters no group lists form
    /// one more group together.
    pub fn partition(&mut self, groups: Vec<BTreeSet<String>>, all: &[String]) {
        let mut groups = groups;
        let rest: BTreeSet<String> = all
            .iter()
            .filter(|n| !groups.iter().any(|g| g.contains(*n)))
            .cloned()
            .collect();
        if !rest.is_empty() {
            groups.push(rest);
        }
        self.groups = Some(groups);
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
        self.groups = None;
    }

    /// Whether a partition is in force.
    pub fn is_partitioned(&self) -> bool {
        self.groups.is_some()
    }

    /// Drops everything in flight to or from `name` (it crashed).
    pub fn drop_node(&mut self, name: &str) {
        let mut dropped = 0;
        for ((from, to), q) in self.links.iter_mut() {
            if from == name || to == name {
                dropped += q.len();
                q.clear();
            }
        }
        self.held.retain(|p| {
            let keep = p.from != name && p.to != name;
            if !keep {
                dropped += 1;
            }
            keep
        });
        self.links.retain(|_, q| !q.is_empty());
        self.stats.dropped += dropped as u64;
    }
}
