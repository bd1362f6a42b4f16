//! The simulated world: named clusters on a network, a virtual clock and one seeded RNG.
//!
//! Everything random (ids, tokens, key shares, faults) comes from a `ChaCha8Rng` seeded by the
//! scenario, so one seed and one script give one run, byte for byte. The world is a
//! [`Host`] of the test kit's loops: [`World::settle`] and
//! [`World::advance`] are the same delivery and deadline loops every test harness runs, over this
//! world's network (per-link FIFO queues, partitions, message faults).

mod network;

pub use network::{Faults, NetStats, Network, Packet};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use replication_core::{
    Cluster, ClusterConfig, Duration, Error, Event, Input, Kind, Message, Mode, Reply, Timestamp,
};
use replication_testkit::host::{self, Host};
use std::collections::BTreeMap;

/// Virtual time at which every world starts (2026-01-01T00:00:00Z), so status timestamps look real.
pub const EPOCH: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// One cluster of the world: its state, and whether it is running.
#[derive(Clone, Debug)]
pub struct Node {
    /// The cluster. While crashed, this is its state at the crash (its storage is still on disk).
    pub cluster: Cluster,
    /// False between `crash` and `restart`.
    pub up: bool,
    /// What survives the crash: the persisted snapshot bytes.
    pub disk: Option<Vec<u8>>,
}

/// Something the world observed during a step, for the oracles.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// A cluster emitted an event.
    Event {
        /// Cluster name.
        cluster: String,
        /// The event.
        event: Event,
    },
    /// A cluster sent replication data (entries, diff, sync, mirror) of a kind to another.
    SentData {
        /// Sender name.
        from: String,
        /// Receiver name.
        to: String,
        /// Replication kind of the data.
        kind: Kind,
        /// Message name.
        message: &'static str,
    },
    /// A primary sent an activation acceptance: the moment it decided to accept (the message may be
    /// delayed, reordered or lost on its way).
    Accepted {
        /// The primary's name.
        primary: String,
        /// The secondary's name.
        secondary: String,
        /// The `ActivationAccepted` message.
        message: Message,
    },
    /// A cluster's storage changed at these keys (written, overwritten, deleted or wiped), in key
    /// order: what its `Ready` said.
    Stored {
        /// Cluster name.
        cluster: String,
        /// The keys.
        keys: Vec<String>,
    },
    /// A message was delivered.
    Delivered {
        /// Sender name.
        from: String,
        /// Receiver name.
        to: String,
        /// The message.
        message: Message,
    },
}

/// Settings of a world.
#[derive(Clone, Debug)]
pub struct WorldConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Heartbeat interval of every cluster.
    pub heartbeat_interval: Duration,
    /// Log-shipper buffer length of every cluster.
    pub log_shipper_buffer: usize,
    /// Forwarding timeout of every cluster (`None`: three heartbeat intervals).
    pub forwarding_timeout: Option<Duration>,
    /// Deliberate core bugs every cluster exhibits (empty unless testing the checkers).
    pub bugs: std::collections::BTreeSet<replication_core::Bug>,
}

/// The world.
#[derive(Clone, Debug)]
pub struct World {
    /// Virtual time.
    pub now: Timestamp,
    /// The one RNG.
    pub rng: ChaCha8Rng,
    /// Clusters by name.
    pub nodes: BTreeMap<String, Node>,
    /// The network.
    pub net: Network,
    addr_book: BTreeMap<String, String>,
    /// Observations since the last [`World::take_observations`].
    observations: Vec<Observation>,
    /// Error of the last settle, if the network did not go quiet.
    pub livelock: bool,
    inputs: u64,
}

/// Per-cluster setup.
#[derive(Clone, Debug)]
pub struct ClusterSetup {
    /// Name.
    pub name: String,
    /// Unseal shares.
    pub shares: u8,
    /// Unseal threshold.
    pub threshold: u8,
}

impl World {
    /// A world of clusters with replication disabled and the given mounts.
    pub fn new(
        config: &WorldConfig,
        clusters: &[ClusterSetup],
        mounts: &[(String, bool)],
    ) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut nodes = BTreeMap::new();
        let mut addr_book = BTreeMap::new();
        for c in clusters {
            let mut cfg = ClusterConfig::new(&c.name);
            cfg.heartbeat_interval = config.heartbeat_interval;
            cfg.log_shipper_buffer = config.log_shipper_buffer;
            cfg.forwarding_timeout = config.forwarding_timeout;
            cfg.unseal_shares = c.shares;
            cfg.unseal_threshold = c.threshold;
            if !config.bugs.is_empty() {
                cfg.inject(&config.bugs);
            }
            addr_book.insert(cfg.api_addr.clone(), c.name.clone());
            addr_book.insert(cfg.cluster_addr.clone(), c.name.clone());
            let cluster = Cluster::new(cfg, mounts, &mut rng);
            nodes.insert(
                c.name.clone(),
                Node {
                    cluster,
                    up: true,
                    disk: None,
                },
            );
        }
        World {
            now: EPOCH,
            rng,
            nodes,
            net: Network::default(),
            addr_book,
            observations: vec![],
            livelock: false,
            inputs: 0,
        }
    }

    /// Names of all clusters, in order.
    pub fn names(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    /// The cluster called `name`.
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.nodes.get(name).map(|n| &n.cluster)
    }

    /// Whether `name` is running.
    pub fn is_up(&self, name: &str) -> bool {
        self.nodes.get(name).is_some_and(|n| n.up)
    }

    /// The cluster name an address belongs to.
    pub fn resolve(&self, addr: &str) -> Option<&str> {
        self.addr_book.get(addr).map(String::as_str)
    }

    /// Feeds an input to a running cluster and queues what it sends.
    pub fn step(&mut self, name: &str, input: Input) -> Option<Result<Reply, Error>> {
        let now = self.now;
        let node = self.nodes.get_mut(name)?;
        if !node.up {
            return None;
        }
        self.inputs += 1;
        let result = node.cluster.step(now, &mut self.rng, input);
        self.collect(name);
        Some(result)
    }

    /// Runs `f` on a running cluster (for the API layer), then queues what it sends.
    pub fn with_cluster<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Cluster, Timestamp, &mut ChaCha8Rng) -> T,
    ) -> Option<T> {
        let now = self.now;
        let node = self.nodes.get_mut(name)?;
        if !node.up {
            return None;
        }
        self.inputs += 1;
        let out = f(&mut node.cluster, now, &mut self.rng);
        self.collect(name);
        Some(out)
    }

    fn collect(&mut self, name: &str) {
        let Some(node) = self.nodes.get_mut(name) else {
            return;
        };
        let ready = node.cluster.ready();
        let from_addr = node.cluster.config().cluster_addr.clone();
        if !ready.persist.storage.is_empty() {
            self.observations.push(Observation::Stored {
                cluster: name.to_string(),
                keys: ready.persist.storage.into_iter().map(|(k, _)| k).collect(),
            });
        }
        for e in ready.events {
            self.observations.push(Observation::Event {
                cluster: name.to_string(),
                event: e,
            });
        }
        for t in ready.messages {
            if let (Message::ActivationAccepted(_), Some(to)) =
                (&t.message, self.addr_book.get(&t.to))
            {
                self.observations.push(Observation::Accepted {
                    primary: name.to_string(),
                    secondary: to.clone(),
                    message: t.message.clone(),
                });
            }
            if let (Some(kind), Some(to)) = (t.message.data_kind(), self.addr_book.get(&t.to)) {
                self.observations.push(Observation::SentData {
                    from: name.to_string(),
                    to: to.clone(),
                    kind,
                    message: t.message.name(),
                });
            }
            match self.addr_book.get(&t.to).cloned() {
                Some(to) => self.net.send(
                    Packet {
                        from: name.to_string(),
                        to,
                        from_addr: from_addr.clone(),
                        message: t.message,
                    },
                    &mut self.rng,
                ),
                None => self.net.stats.dropped += 1,
            }
        }
    }

    /// Delivers messages until none is left (without moving the clock). Returns false on livelock.
    pub fn settle(&mut self) -> bool {
        let quiet = host::settle(self);
        self.livelock |= !quiet;
        quiet
    }

    fn deliver(&mut self, p: Packet) {
        let up = self.is_up(&p.to) && self.is_up(&p.from);
        if !up || !self.net.connected(&p.from, &p.to) {
            self.net.stats.dropped += 1;
            return;
        }
        self.net.stats.delivered += 1;
        self.observations.push(Observation::Delivered {
            from: p.from.clone(),
            to: p.to.clone(),
            message: p.message.clone(),
        });
        let _ = self.step(
            &p.to,
            Input::Message {
                from: p.from_addr,
                message: p.message,
            },
        );
    }

    /// Lets `d` of virtual time pass: clusters tick at their deadlines, with the network settled in
    /// between. Messages held back by the delay fault are released as the clock moves.
    pub fn advance(&mut self, d: Duration) {
        let quiet = host::advance(self, d);
        self.livelock |= !quiet;
    }

    /// Stops a cluster: its in-flight messages are lost, its persisted state is kept.
    pub fn crash(&mut self, name: &str) -> bool {
        let Some(node) = self.nodes.get_mut(name) else {
            return false;
        };
        if !node.up {
            return false;
        }
        node.disk = Some(node.cluster.snapshot());
        node.up = false;
        let _ = node.cluster.ready();
        self.net.drop_node(name);
        true
    }

    /// Starts a crashed cluster from its persisted snapshot: `Ok(false)` if it was running.
    pub fn restart(&mut self, name: &str) -> Result<bool, replication_core::SnapshotError> {
        let now = self.now;
        let Some(node) = self.nodes.get_mut(name) else {
            return Ok(false);
        };
        if node.up {
            return Ok(false);
        }
        let disk = node.disk.take().unwrap_or_else(|| node.cluster.snapshot());
        let cluster = Cluster::restore(&disk, now, &mut self.rng)?;
        node.cluster = cluster;
        node.up = true;
        self.step(name, Input::Tick);
        Ok(true)
    }

    /// A mark in the observations of the current step, for [`World::observations_since`].
    pub fn mark(&self) -> usize {
        self.observations.len()
    }

    /// What was observed since `mark` (taken with [`World::mark`] during the current step).
    pub fn observations_since(&self, mark: usize) -> &[Observation] {
        self.observations.get(mark..).unwrap_or_default()
    }

    /// Takes what was observed since the last call.
    pub fn take_observations(&mut self) -> Vec<Observation> {
        std::mem::take(&mut self.observations)
    }

    /// Clusters currently primary of `kind`, by replication set, counting only running ones.
    pub fn live_primaries(&self, kind: Kind) -> BTreeMap<replication_core::ClusterId, Vec<&str>> {
        let mut out: BTreeMap<replication_core::ClusterId, Vec<&str>> = BTreeMap::new();
        for (name, n) in &self.nodes {
            if n.up && n.cluster.mode(kind) == Mode::Primary {
                if let Some(id) = n.cluster.inspect(kind).cluster_id() {
                    out.entry(id).or_default().push(name);
                }
            }
        }
        out
    }

    /// Inputs processed by clusters so far (requests, client operations, messages, ticks): the
    /// simulator's event count.
    pub fn inputs(&self) -> u64 {
        self.inputs
    }
}

/// The world as a host of the test kit's loops.
impl Host for World {
    fn now(&self) -> Timestamp {
        self.now
    }

    fn set_now(&mut self, now: Timestamp) {
        self.now = now;
    }

    fn next_deadline(&self, end: Timestamp) -> Option<Timestamp> {
        self.nodes
            .values()
            .filter(|n| n.up)
            .filter_map(|n| n.cluster.next_deadline())
            .filter(|t| *t <= end)
            .min()
    }

    fn tick_due(&mut self) {
        let now = self.now;
        let due: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.up && n.cluster.next_deadline().is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for name in due {
            self.step(&name, Input::Tick);
        }
    }

    fn deliver_round(&mut self) -> bool {
        if self.net.is_quiet() {
            return false;
        }
        for p in self.net.next_round() {
            self.deliver(p);
        }
        true
    }

    fn clock_moved(&mut self) {
        self.net.release_held();
    }
}
