//! The [`Cluster`]: one Vault cluster's whole replication state and the `step` loop that drives it.
//!
//! The files of this module are the rooms of one house, each a set of handlers over the same state:
//!
//! | file | what it handles |
//! |---|---|
//! | `mod.rs` | the state, [`Cluster::step`], [`Cluster::ready`], [`Cluster::next_deadline`], shared helpers |
//! | `config.rs` | [`ClusterConfig`] and the model's defaults |
//! | `operator.rs` | operator requests: enable, demote, disable, tokens, revoke, update-primary, recover, reindex |
//! | `promote.rs` | promote, its safety check, and DR authorisation (key shares, operation tokens) |
//! | `filters.rs` | paths filters and dynamic filters |
//! | `client.rs` | client operations: applied here, forwarded, or refused |
//! | `primary.rs` | what a primary does with its secondaries' messages, and what it ships |
//! | `secondary.rs` | what a secondary does with its primary's messages, and its timers |
//! | `status.rs` | status with Vault's field names |
//! | `view.rs` | the read-only [`RoleView`] hosts and checkers inspect |
//! | `snapshot.rs` | persisted bytes: [`Cluster::snapshot`] and [`Cluster::restore`] |
//! | `durable.rs` | the persisted-state batch of each [`Ready`], and [`Cluster::from_durable`] from a durable store |

mod client;
mod config;
mod durable;
mod filters;
#[cfg(test)]
mod fixture;
mod operator;
mod primary;
mod promote;
mod secondary;
mod snapshot;
mod status;
mod view;

pub use config::{ClusterConfig, MISSED_HEARTBEATS};
pub use durable::{Batch, Durable, MetaRecord, RecoverError, META_VERSION};
use durable::{HandedOut, Tracked};
pub use operator::DEFAULT_TOKEN_TTL;
pub use snapshot::{SnapshotError, SNAPSHOT_VERSION};
pub use status::{KindStatus, PeerInfo, SyncProgress};
pub use view::{AcceptedSecondary, PrimaryView, RoleView, SecondaryView};

use crate::error::{Error, Result};
use crate::ids::{ClusterId, Kind, Mode, SecondaryState};
use crate::message::{Message, Transmit};
use crate::role::{PrimaryRole, Role, SecondaryRole};
use crate::step::{Event, Input, Reply};
use crate::storage::Storage;
use crate::time::{Duration, Timestamp};
use crate::token::KeyPair;
use crate::unseal::{OperationTokenAttempt, Quorum, UnsealKeys};
use crate::wal::{Wal, WalOp};
use primary::ForwardLog;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use status::SyncProgress as Progress;
use std::collections::{BTreeMap, BTreeSet};

/// How many earlier primary runs a cluster remembers per kind (to tell an old token from a forged one).
const RETIRED_RUNS: usize = 16;

/// Everything about a cluster that survives a restart: its storage, its log position, and the rest
/// (roles, registries, keys), which changes far less often and is tracked as one record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Persisted {
    storage: Storage,
    wal: Wal,
    #[serde(flatten)]
    meta: Tracked<Meta>,
}

/// The persisted state besides storage and the log: what [`Ready::persist`] carries as one record
/// whenever it changed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Meta {
    config: ClusterConfig,
    unseal: UnsealKeys,
    dr: Role,
    performance: Role,
    key_pairs: BTreeMap<Kind, KeyPair>,
    last_error: BTreeMap<Kind, String>,
    promote_quorum: Quorum,
    attempt: Option<OperationTokenAttempt>,
    operation_tokens: BTreeSet<String>,
    last_reindex: Option<Timestamp>,
    /// Token secrets of this cluster's earlier primary runs, newest last (at most
    /// [`RETIRED_RUNS`] per kind), so it can tell an old token from a forged one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    retired_runs: BTreeMap<Kind, Vec<String>>,
    /// Replication set ids this cluster was primary of (only read by the `inject-bugs` feature).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    former_sets: BTreeMap<Kind, ClusterId>,
}

impl Meta {
    /// The settings clamped to what the loop can run with, whoever wrote them (a host's config, a
    /// snapshot, a durable store): a zero heartbeat would make every deadline "now" and spin a host
    /// that ticks at deadlines; the share count and threshold follow the shares held.
    fn sanitized(mut self) -> Meta {
        let c = &mut self.config;
        c.heartbeat_interval = c.heartbeat_interval.max(Duration::from_millis(1));
        if c.forwarding_timeout.is_some_and(|t| t.is_zero()) {
            c.forwarding_timeout = None;
        }
        self.unseal.shares.truncate(usize::from(u8::MAX));
        let shares = u8::try_from(self.unseal.shares.len()).unwrap_or(u8::MAX);
        self.unseal.threshold = self.unseal.threshold.clamp(1, shares.max(1));
        c.unseal_shares = shares;
        c.unseal_threshold = self.unseal.threshold;
        self
    }
}

/// A secondary's connection to its primary (lost on restart).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Link {
    state: SecondaryState,
    connected: bool,
    last_heartbeat: Option<Timestamp>,
    next_heartbeat: Timestamp,
    /// Which of the known primary addresses is tried (modulo their number).
    target: usize,
    session: u64,
    /// Progress of the sync in flight.
    sync: Option<Progress>,
    retry_at: Option<Timestamp>,
    /// Disconnected, the last heartbeat went unanswered: the next one tries the next known address.
    unanswered: bool,
}

impl Link {
    fn new(now: Timestamp, rng: &mut dyn RngCore) -> Link {
        Link {
            state: SecondaryState::Connecting,
            connected: false,
            last_heartbeat: None,
            next_heartbeat: now,
            target: 0,
            session: rng.next_u64(),
            sync: None,
            retry_at: None,
            unanswered: false,
        }
    }

    /// A link with nothing to do: no known primary (after demote, or an empty update-primary).
    fn idle(now: Timestamp, rng: &mut dyn RngCore) -> Link {
        Link {
            state: SecondaryState::Idle,
            ..Link::new(now, rng)
        }
    }
}

/// A primary's view of one connected secondary (lost on restart).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Peer {
    last_heartbeat: Option<Timestamp>,
    /// Streaming position and session, when the secondary is streaming.
    shipping: Option<(crate::wal::Cursor, u64)>,
}

/// State that a crash loses: connections, the log shipper's position per peer, queued output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Volatile {
    links: BTreeMap<Kind, Link>,
    peers: BTreeMap<Kind, BTreeMap<String, Peer>>,
    /// Writes forwarded to the primary and not answered yet: request id -> when to give up.
    forwards: BTreeMap<u64, Timestamp>,
    /// Forwarded writes this primary answered lately, so a duplicated message is answered again
    /// instead of applied twice.
    answered: ForwardLog,
    mirrored: Option<Role>,
    /// The failover targets last told to performance secondaries (primary side).
    failover: Option<Vec<String>>,
    outbox: Vec<Transmit>,
    events: Vec<Event>,
    /// Storage keys changed since the last `ready()`.
    changed: BTreeSet<String>,
    /// What the batches handed out so far said.
    handed_out: HandedOut,
    started: Timestamp,
}

/// One Vault cluster's replication control and data plane, as a pure state machine.
///
/// Drive it with [`Cluster::step`]; collect what it wants done with [`Cluster::ready`]; call
/// [`Input::Tick`] at [`Cluster::next_deadline`]. See the crate docs for the loop.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cluster {
    p: Persisted,
    v: Volatile,
}

/// What the host must carry out after a step, in this order: make [`Ready::persist`] durable, then
/// send the messages and answer the client; and look at the events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ready {
    /// The persisted-state changes since the last `ready()`: storage entries written or deleted, the
    /// log position, and the role and registry record. Its storage keys are also what the
    /// simulator's oracles look at.
    #[serde(default, skip_serializing_if = "Batch::is_empty")]
    pub persist: Batch,
    /// Messages to deliver to other clusters.
    pub messages: Vec<Transmit>,
    /// Things that happened.
    pub events: Vec<Event>,
}

/// The `format_version` of a versioned JSON record (a snapshot or a meta record), read before the
/// rest so that a record of another version is refused as such, not as unreadable.
fn format_version(bytes: &[u8]) -> Result<u32, serde_json::Error> {
    #[derive(Deserialize)]
    struct Header {
        format_version: u32,
    }
    serde_json::from_slice::<Header>(bytes).map(|h| h.format_version)
}

/// What every message handler gets besides the message: the host's time, its entropy, and the
/// sender's cluster address.
struct Cx<'a> {
    now: Timestamp,
    rng: &'a mut dyn RngCore,
    from: &'a str,
}

impl Cluster {
    /// A new cluster with replication disabled, the given mounts (path, local), and fresh unseal
    /// keys from `rng`. Mount paths that are not valid mount paths are skipped.
    pub fn new(config: ClusterConfig, mounts: &[(String, bool)], rng: &mut dyn RngCore) -> Cluster {
        let unseal = UnsealKeys::generate(rng, config.unseal_shares, config.unseal_threshold);
        Cluster::with_unseal_keys(config, mounts, unseal, rng)
    }

    /// Like [`Cluster::new`], with unseal key shares the host chose (a development setup whose
    /// clusters share one key, or a cluster whose shares already exist). `config`'s share count and
    /// threshold are set from `unseal`.
    pub fn with_unseal_keys(
        config: ClusterConfig,
        mounts: &[(String, bool)],
        unseal: UnsealKeys,
        rng: &mut dyn RngCore,
    ) -> Cluster {
        let mut c = Cluster {
            p: Persisted {
                wal: Wal::new(0, config.log_shipper_buffer, rng.next_u64()),
                storage: Storage::default(),
                meta: Tracked::new(
                    Meta {
                        config,
                        unseal,
                        dr: Role::Disabled,
                        performance: Role::Disabled,
                        key_pairs: BTreeMap::new(),
                        last_error: BTreeMap::new(),
                        promote_quorum: Quorum::default(),
                        attempt: None,
                        operation_tokens: BTreeSet::new(),
                        last_reindex: None,
                        former_sets: BTreeMap::new(),
                        retired_runs: BTreeMap::new(),
                    }
                    .sanitized(),
                ),
            },
            v: Volatile::default(),
        };
        for (path, local) in mounts {
            if crate::storage::check_mount_path(path).is_ok() {
                c.mount_local(path, *local);
            }
        }
        c
    }

    /// Feeds one input at host time `now`, drawing any entropy from `rng`.
    ///
    /// On `Err` nothing changed: the cluster is exactly as before. On `Ok` the reply says what happened;
    /// call [`Cluster::ready`] to collect messages to send and events.
    pub fn step(&mut self, now: Timestamp, rng: &mut dyn RngCore, input: Input) -> Result<Reply> {
        let reply = match input {
            Input::Request(r) => self.request(now, rng, r)?,
            Input::Client(op) => self.client(now, rng, op)?,
            Input::Message { from, message } => {
                let mut cx = Cx {
                    now,
                    rng,
                    from: &from,
                };
                self.receive(&mut cx, message);
                Reply::Ok
            }
            Input::Tick => {
                self.tick(now, rng);
                Reply::Ok
            }
            #[cfg(feature = "faults")]
            Input::CorruptMerkle => {
                let b = rng.next_u32() as usize;
                let delta = ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128;
                self.p.storage.corrupt_index(b, delta);
                self.p.meta.touch();
                Reply::Ok
            }
        };
        if self.v.started == Timestamp::default() {
            self.v.started = now;
        }
        self.after_step();
        Ok(reply)
    }

    /// Takes what the host must do since the last call: persist, send, look at events.
    pub fn ready(&mut self) -> Ready {
        Ready {
            messages: std::mem::take(&mut self.v.outbox),
            events: std::mem::take(&mut self.v.events),
            persist: self.take_batch(),
        }
    }

    /// When this cluster next needs an [`Input::Tick`] (heartbeats, retries, forwarding timeouts), if
    /// ever.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        // Mirrors exactly what `tick` services, so a host that ticks at this deadline always moves it.
        let secondaries = Kind::ALL
            .into_iter()
            .filter(|k| self.is_active(*k))
            .filter_map(|k| Some((self.role(k), self.v.links.get(&k)?)))
            .flat_map(|(role, link)| {
                let (activating, linked) = match role {
                    Role::Bootstrapping(_) => (true, false),
                    Role::Secondary(s) => (
                        s.pending.is_some(),
                        !s.known_primary_cluster_addrs.is_empty() && s.credentials.is_some(),
                    ),
                    _ => (false, false),
                };
                let beat = (activating || linked).then_some(link.next_heartbeat);
                [beat, link.retry_at.filter(|_| linked)]
            });
        secondaries
            .chain([self.next_forward_deadline()])
            .flatten()
            .min()
    }

    /// The cluster's host-given settings.
    pub fn config(&self) -> &ClusterConfig {
        &self.p.meta.config
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.p.meta.config.name
    }

    /// Its storage (read-only): the data, its classes and `merkle_root`s.
    pub fn storage(&self) -> &Storage {
        &self.p.storage
    }

    /// Index of the last entry in this cluster's write-ahead log: it moves on every change to storage
    /// except a wipe (which emits [`Event::Wiped`]).
    pub fn last_wal(&self) -> u64 {
        self.p.wal.last()
    }

    /// Its current unseal key shares (replaced by the primary's on activation).
    pub fn unseal_keys(&self) -> &UnsealKeys {
        &self.p.meta.unseal
    }

    /// The mode of a kind as status reports it (a DR secondary reports performance as disabled).
    pub fn mode(&self, kind: Kind) -> Mode {
        if self.is_active(kind) {
            self.role(kind).mode()
        } else {
            Mode::Disabled
        }
    }

    /// The secondary state of a kind, when it is a secondary.
    pub fn secondary_state(&self, kind: Kind) -> Option<SecondaryState> {
        match (self.mode(kind), self.v.links.get(&kind)) {
            (Mode::Secondary, l) => Some(l.map_or(SecondaryState::Idle, |l| l.state)),
            (Mode::Bootstrapping, _) => Some(SecondaryState::Bootstrapping),
            _ => None,
        }
    }

    /// Whether a secondary of this kind is currently connected to its primary.
    pub fn is_connected(&self, kind: Kind) -> bool {
        self.mode(kind) == Mode::Secondary && self.v.links.get(&kind).is_some_and(|l| l.connected)
    }

    /// Whether the kind's role is live. The performance role of a DR secondary is dormant: it mirrors
    /// its DR primary's and becomes live on promotion.
    pub fn is_active(&self, kind: Kind) -> bool {
        match kind {
            Kind::Dr => true,
            Kind::Performance => {
                !matches!(self.p.meta.dr, Role::Secondary(_) | Role::Bootstrapping(_))
            }
        }
    }

    /// The last refusal or failure of a kind's activation or link, if any.
    pub fn last_error(&self, kind: Kind) -> Option<&str> {
        self.p.meta.last_error.get(&kind).map(String::as_str)
    }

    /// Whether a DR operation token is currently valid on this cluster.
    pub fn operation_token_valid(&self, token: &str) -> bool {
        self.p.meta.operation_tokens.contains(token)
    }

    // ----- internal helpers shared by the rooms -----

    fn role(&self, kind: Kind) -> &Role {
        match kind {
            Kind::Dr => &self.p.meta.dr,
            Kind::Performance => &self.p.meta.performance,
        }
    }

    fn role_mut(&mut self, kind: Kind) -> &mut Role {
        match kind {
            Kind::Dr => &mut self.p.meta.dr,
            Kind::Performance => &mut self.p.meta.performance,
        }
    }

    /// Replaces a kind's role; a primary run that ends is remembered in `retired_runs`.
    fn set_role(&mut self, kind: Kind, role: Role) {
        if let Role::Primary(old) = self.role(kind) {
            let secret = old.secret.clone();
            let runs = self.p.meta.retired_runs.entry(kind).or_default();
            runs.push(secret);
            if runs.len() > RETIRED_RUNS {
                runs.remove(0);
            }
        }
        *self.role_mut(kind) = role;
    }

    /// The live primary role of a kind.
    fn primary(&self, kind: Kind) -> Option<&PrimaryRole> {
        match self.role(kind) {
            Role::Primary(p) if self.is_active(kind) => Some(p),
            _ => None,
        }
    }

    fn primary_mut(&mut self, kind: Kind) -> Option<&mut PrimaryRole> {
        let active = self.is_active(kind);
        match self.role_mut(kind) {
            Role::Primary(p) if active => Some(p),
            _ => None,
        }
    }

    /// The live secondary role of a kind.
    fn secondary(&self, kind: Kind) -> Option<&SecondaryRole> {
        match self.role(kind) {
            Role::Secondary(s) if self.is_active(kind) => Some(s),
            _ => None,
        }
    }

    fn secondary_mut(&mut self, kind: Kind) -> Option<&mut SecondaryRole> {
        let active = self.is_active(kind);
        match self.role_mut(kind) {
            Role::Secondary(s) if active => Some(s),
            _ => None,
        }
    }

    fn send(&mut self, to: &str, message: Message) {
        self.v.outbox.push(Transmit {
            to: to.to_string(),
            message,
        });
    }

    fn emit(&mut self, event: Event) {
        self.v.events.push(event);
    }

    /// Appends a local mutation to storage and the WAL; returns the WAL index (unchanged when the
    /// mutation changed nothing).
    fn apply(&mut self, op: WalOp) -> u64 {
        let changed = match &op {
            WalOp::Put { key, value, class } => self.p.storage.put(key, value, *class),
            WalOp::Delete { key, .. } => self.p.storage.remove(key).is_some(),
        };
        if changed {
            self.v.changed.insert(op.key().to_string());
            self.p.wal.append(op)
        } else {
            self.p.wal.last()
        }
    }

    /// Removes every stored entry (the wipe of an accepted activation); returns how many.
    fn wipe(&mut self) -> usize {
        let keys: Vec<String> = self.p.storage.entries().map(|(k, _)| k.clone()).collect();
        self.v.changed.extend(keys);
        self.p.meta.touch();
        self.p.storage.clear()
    }

    fn mount_local(&mut self, path: &str, local: bool) -> u64 {
        use crate::storage::{mount_key, DataClass};
        let class = if local {
            DataClass::Local
        } else {
            DataClass::Replicated
        };
        self.apply(WalOp::Put {
            key: mount_key(path),
            value: if local { "local" } else { "shared" }.to_string(),
            class,
        })
    }

    /// Starts a new log epoch after storage changed outside the log (a wipe): every secondary of
    /// this cluster, of either kind, will diff on its next request. Mode changes need none: the log
    /// still describes storage, so this cluster's other secondaries keep streaming.
    fn new_epoch(&mut self, rng: &mut dyn RngCore) {
        self.p.wal.new_epoch(rng.next_u64());
        self.v.peers.clear();
    }

    /// Forgets this cluster's secondaries of `kind` as connected peers (it stopped being their
    /// primary): nothing more is shipped to them.
    fn drop_peers(&mut self, kind: Kind) {
        self.v.peers.remove(&kind);
    }

    /// Whether this cluster was configured to exhibit `bug` (always false without `inject-bugs`).
    #[allow(unused_variables)]
    fn bug(&self, bug: crate::bugs::Bug) -> bool {
        #[cfg(feature = "inject-bugs")]
        {
            self.p.meta.config.bugs.contains(&bug)
        }
        #[cfg(not(feature = "inject-bugs"))]
        {
            false
        }
    }

    fn refuse_if_dr_secondary(&self, what: &str) -> Result<()> {
        match self.p.meta.dr {
            Role::Secondary(_) => Err(Error::wrong_mode(
                Kind::Dr,
                format!("cluster is a DR secondary, which {what}; promote it first (dr/secondary/promote)"),
            )),
            Role::Bootstrapping(_) => Err(Error::wrong_mode(
                Kind::Dr,
                format!("cluster is bootstrapping as a DR secondary, which {what}; wait for activation to finish or disable DR replication"),
            )),
            _ => Ok(()),
        }
    }

    /// Routes a message from another cluster to its handler: the primary side's or the secondary
    /// side's.
    fn receive(&mut self, cx: &mut Cx<'_>, msg: Message) {
        match msg {
            // What secondaries send their primary.
            Message::ActivationRequest(m) => self.on_activation_request(cx, m),
            Message::Heartbeat(m) => self.on_heartbeat(cx, m),
            Message::StreamRequest(m) => self.on_stream_request(cx, m),
            Message::DiffKeys(m) => self.on_diff_keys(cx, m),
            Message::Forward(m) => self.on_forward(cx, m),
            // What primaries send their secondaries.
            Message::ActivationAccepted(m) => self.on_accepted(cx, m),
            Message::ActivationRefused(m) => self.on_refused(m),
            Message::HeartbeatAck(m) => self.on_heartbeat_ack(cx, m),
            Message::LinkRefused(m) => self.on_link_refused(m.kind, m.reason),
            Message::Revoked(m) => self.on_revoked(m),
            Message::Resync(m) => self.on_resync(cx, m),
            Message::Entries(m) => self.on_entries(cx, m),
            Message::DiffStart(m) => self.on_diff_start(cx, m),
            Message::SyncData(m) => self.on_sync_data(cx, m),
            Message::Mirror(m) => self.on_mirror(m),
            Message::ForwardReply(m) => self.on_forward_reply(m),
            Message::FailoverTargets(m) => self.on_failover_targets(m),
        }
    }

    /// Work every step ends with: ship new WAL entries, mirror the performance role to DR
    /// secondaries, push changed failover targets to performance secondaries, and answer every
    /// forwarded write still waiting once this cluster is no longer a performance secondary.
    fn after_step(&mut self) {
        self.ship();
        self.mirror();
        self.push_failover_targets();
        if !self.v.forwards.is_empty() && self.mode(Kind::Performance) != Mode::Secondary {
            self.abandon_forwards("this cluster stopped being a performance secondary");
        }
    }
}
