//! The simulated world: named clusters on a network, a virtual clock and one seeded RNG.
//!
//! Everything random (ids, tokens, key shares, faults) comes from `ChaCha8Rng`s seeded by the
//! scenario, so one seed and one script give one run, byte for byte. By default one RNG serves the
//! whole world, drawn in the order things happen ([`Entropy::Shared`]); the checker gives each cluster
//! its own ([`Entropy::PerCluster`]), so a cluster's ids depend on its own history only and two
//! delivery orders that leave every cluster with the same history meet in one state. The world is a
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
use std::sync::{Arc, OnceLock};

/// Virtual time at which every world starts (2026-01-01T00:00:00Z), so status timestamps look real.
pub const EPOCH: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// One cluster of the world: its state, and whether it is running.
///
/// The cluster is shared between copies of the world (the checker keeps many) until one of them
/// steps it, and its hash is kept until it changes: a copy of a world costs what its clusters that
/// change cost, not what all of them weigh.
#[derive(Clone, Debug)]
pub struct Node {
    /// The cluster. While crashed, this is its state at the crash (its storage is still on disk).
    cluster: Arc<Cluster>,
    /// The cluster's hash, once computed (reset whenever the cluster changes).
    hash: OnceLock<u64>,
    /// False between `crash` and `restart`.
    pub up: bool,
    /// What survives the crash: the persisted snapshot bytes.
    pub disk: Option<Vec<u8>>,
    /// This cluster's own entropy ([`Entropy::PerCluster`]); `None`: the world's RNG serves it.
    pub rng: Option<ChaCha8Rng>,
}

impl Node {
    /// The cluster (while crashed, its state at the crash).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The cluster, to change: unshared from other copies of the world, its hash forgotten.
    fn cluster_mut(&mut self) -> &mut Cluster {
        self.hash = OnceLock::new();
        Arc::make_mut(&mut self.cluster)
    }

    /// The cluster's hash (computed once per change).
    fn cluster_hash(&self) -> u64 {
        *self.hash.get_or_init(|| {
            let mut h = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(&*self.cluster, &mut h);
            std::hash::Hasher::finish(&h)
        })
    }
}

/// Where the clusters' random draws come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Entropy {
    /// One RNG for the whole world, drawn in the order things happen (the default, and what every
    /// pinned report was made with).
    #[default]
    Shared,
    /// One RNG per cluster, seeded from the world's seed and the cluster's name: a cluster's draws
    /// depend only on the inputs it stepped, not on what other clusters did in between. Network
    /// faults still draw from the world's RNG.
    PerCluster,
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
    /// Where the clusters' random draws come from.
    pub entropy: Entropy,
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
            let mut own = match config.entropy {
                Entropy::Shared => None,
                Entropy::PerCluster => Some(cluster_rng(config.seed, &c.name)),
            };
            let cluster = Cluster::new(cfg, mounts, own.as_mut().unwrap_or(&mut rng));
            nodes.insert(
                c.name.clone(),
                Node {
                    cluster: Arc::new(cluster),
                    hash: OnceLock::new(),
                    up: true,
                    disk: None,
                    rng: own,
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
        self.nodes.get(name).map(Node::cluster)
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
        let rng = node.rng.as_mut().unwrap_or(&mut self.rng);
        let result = Arc::make_mut(&mut node.cluster).step(now, rng, input);
        node.hash = OnceLock::new();
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
        let rng = node.rng.as_mut().unwrap_or(&mut self.rng);
        let out = f(Arc::make_mut(&mut node.cluster), now, rng);
        node.hash = OnceLock::new();
        self.collect(name);
        Some(out)
    }

    fn collect(&mut self, name: &str) {
        let Some(node) = self.nodes.get_mut(name) else {
            return;
        };
        let ready = node.cluster_mut().ready();
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
            let Some(to) = self.addr_book.get(&t.to) else {
                self.net.stats.dropped += 1;
                continue;
            };
            if let Message::ActivationAccepted(_) = &t.message {
                self.observations.push(Observation::Accepted {
                    primary: name.to_string(),
                    secondary: to.clone(),
                    message: t.message.clone(),
                });
            }
            if let Some(kind) = t.message.data_kind() {
                self.observations.push(Observation::SentData {
                    from: name.to_string(),
                    to: to.clone(),
                    kind,
                    message: t.message.name(),
                });
            }
            self.net.send(
                Packet {
                    from: name.to_string(),
                    to: to.clone(),
                    from_addr: from_addr.clone(),
                    message: t.message,
                },
                &mut self.rng,
            );
        }
    }

    /// Delivers messages until none is left (without moving the clock). Returns false on livelock.
    pub fn settle(&mut self) -> bool {
        let quiet = host::settle(self);
        self.livelock |= !quiet;
        quiet
    }

    /// Hands a packet to its receiver, or drops it when either end is down or a partition lies
    /// between them. True when it was handed over.
    fn deliver(&mut self, p: Packet) -> bool {
        let up = self.is_up(&p.to) && self.is_up(&p.from);
        if !up || !self.net.connected(&p.from, &p.to) {
            self.net.stats.dropped += 1;
            return false;
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
        true
    }

    /// Does `what` to the next in-flight message on the link `from -> to` (the checker's moves, and
    /// the `deliver`, `drop` and `duplicate` steps). `None` when nothing is in flight there.
    pub fn on_link(&mut self, from: &str, to: &str, what: LinkMove) -> Option<LinkOutcome> {
        let p = match what {
            LinkMove::Duplicate => self.net.peek(from, to)?.clone(),
            LinkMove::Deliver | LinkMove::Drop => self.net.pop(from, to)?,
        };
        let message = p.message.name();
        if what == LinkMove::Drop {
            self.net.stats.dropped += 1;
            return Some(LinkOutcome {
                message,
                delivered: false,
            });
        }
        if what == LinkMove::Duplicate {
            self.net.stats.duplicated += 1;
        }
        let delivered = self.deliver(p);
        Some(LinkOutcome { message, delivered })
    }

    /// Lets `d` of virtual time pass with nothing delivered: every running cluster whose deadline
    /// falls within ticks at it, in deadline order, and what they send stays in flight. False when a
    /// deadline stopped moving (a livelock of timers).
    pub fn tick_for(&mut self, d: Duration) -> bool {
        let end = self.now.plus(d);
        let mut rounds_now = 0;
        let mut quiet = true;
        while let Some(t) = self.next_deadline(end) {
            if t <= self.now {
                rounds_now += 1;
                if rounds_now > host::TIMER_ROUNDS_LIMIT {
                    quiet = false;
                    break;
                }
            } else {
                rounds_now = 0;
            }
            self.now = self.now.max(t);
            self.tick_due();
            self.net.release_held();
        }
        self.now = end;
        self.net.release_held();
        self.livelock |= !quiet;
        quiet
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
        let _ = node.cluster_mut().ready();
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
        let rng = node.rng.as_mut().unwrap_or(&mut self.rng);
        let cluster = Cluster::restore(&disk, now, rng)?;
        node.cluster = Arc::new(cluster);
        node.hash = OnceLock::new();
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

/// What to do with the next message on a link ([`World::on_link`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkMove {
    /// Hand it to the receiver.
    Deliver,
    /// Lose it.
    Drop,
    /// Hand a copy to the receiver and leave it in flight (it arrives again later).
    Duplicate,
}

/// What [`World::on_link`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkOutcome {
    /// The message's name (`Heartbeat`, `WalBatch`, ...).
    pub message: &'static str,
    /// Whether the receiver got it (false when dropped, or when a crash or a partition was in the way).
    pub delivered: bool,
}

/// The seed of `name`'s own RNG under [`Entropy::PerCluster`]: FNV-1a of the world's seed and the
/// name, so adding a cluster changes nobody else's draws.
fn cluster_rng(seed: u64, name: &str) -> ChaCha8Rng {
    let mut h = crate::digest::Fnv1a::default();
    std::hash::Hasher::write_u64(&mut h, seed);
    std::hash::Hasher::write(&mut h, name.as_bytes());
    ChaCha8Rng::seed_from_u64(std::hash::Hasher::finish(&h))
}

/// A world's state as the checker tells states apart: the clock, every cluster (its state, whether
/// it runs, its disk, its RNG's position) and every message in flight. Counters (`inputs`, network
/// statistics) and the observation buffer are left out: they change nothing that happens next.
impl std::hash::Hash for World {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.now.hash(h);
        for (name, n) in &self.nodes {
            name.hash(h);
            n.cluster_hash().hash(h);
            n.up.hash(h);
            n.disk.hash(h);
            if let Some(rng) = &n.rng {
                rng.get_seed().hash(h);
                rng.get_word_pos().hash(h);
            }
        }
        self.rng.get_word_pos().hash(h);
        self.net.hash(h);
        self.livelock.hash(h);
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
