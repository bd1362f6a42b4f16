//! The [`Cluster`]: one Vault cluster's whole replication state and the `step` loop that drives it.

mod client;
mod link;
mod operator;
mod status;

pub use status::{KindStatus, PeerInfo, SyncProgress};

use client::ForwardLog;

use crate::error::{Error, Result};
use crate::ids::{ClusterId, Kind, Mode, SecondaryState};
use crate::message::{Credentials, Message, Transmit};
use crate::request::{Event, Input, Reply};
use crate::storage::{PathsFilter, Storage};
use crate::time::{Duration, Timestamp};
use crate::token::{KeyPair, TokenClaims};
use crate::unseal::{OperationTokenAttempt, Quorum, UnsealKeys};
use crate::wal::{Cursor, Wal};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Host-given settings of one cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// Stable host-given name (`A`, `us-east`).
    pub name: String,
    /// API address (`https://a.example:8200`): where activation requests go.
    pub api_addr: String,
    /// Cluster address (`https://a.example:8201`): where replication traffic goes.
    pub cluster_addr: String,
    /// Heartbeat period (default 5s); a peer is disconnected after 3 missed heartbeats.
    pub heartbeat_interval: Duration,
    /// How long a performance secondary waits for the primary's answer to a forwarded write before
    /// it tells the client the outcome is unknown; `None` (the default) means three heartbeat
    /// intervals. See [`ClusterConfig::forwarding_timeout`].
    #[serde(default)]
    pub forwarding_timeout: Option<Duration>,
    /// Log-shipper buffer length in entries (default 16384).
    pub log_shipper_buffer: usize,
    /// Number of unseal key shares (default 5).
    pub unseal_shares: u8,
    /// Shares needed for a quorum (default 3).
    pub unseal_threshold: u8,
    /// Deliberate bugs this cluster exhibits (testing the simulator's checkers only).
    #[cfg(feature = "inject-bugs")]
    #[serde(default)]
    pub bugs: std::collections::BTreeSet<crate::bugs::Bug>,
}

impl ClusterConfig {
    /// Makes this cluster exhibit `bugs`. Returns false (and does nothing) when the crate was built
    /// without the `inject-bugs` feature.
    #[allow(unused_variables)]
    pub fn inject(&mut self, bugs: &std::collections::BTreeSet<crate::bugs::Bug>) -> bool {
        #[cfg(feature = "inject-bugs")]
        {
            self.bugs = bugs.clone();
            true
        }
        #[cfg(not(feature = "inject-bugs"))]
        {
            false
        }
    }

    /// The forwarding timeout in force: the configured one, else three heartbeat intervals.
    pub fn forwarding_timeout(&self) -> Duration {
        self.forwarding_timeout.unwrap_or(Duration::from_millis(
            self.heartbeat_interval
                .as_millis()
                .saturating_mul(link::MISSED_HEARTBEATS),
        ))
    }

    /// Defaults for a cluster called `name`, with addresses `https://<name>:8200` and `:8201`.
    pub fn new(name: &str) -> ClusterConfig {
        let host = name.to_lowercase();
        ClusterConfig {
            name: name.to_string(),
            api_addr: format!("https://{host}:8200"),
            cluster_addr: format!("https://{host}:8201"),
            heartbeat_interval: Duration::from_secs(5),
            forwarding_timeout: None,
            log_shipper_buffer: 16384,
            unseal_shares: 5,
            unseal_threshold: 3,
            #[cfg(feature = "inject-bugs")]
            bugs: Default::default(),
        }
    }
}

/// An activation in flight: `secondary/enable` (mode `bootstrapping`) or `update-primary`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pending {
    /// The token text.
    pub token: String,
    /// What it says.
    pub claims: TokenClaims,
    /// Where the request goes (the token's API address or `primary_api_addr`).
    pub target: String,
    /// True for update-primary.
    pub update: bool,
    /// Random id of this attempt (retries of it carry the same id).
    pub attempt: String,
}

impl Pending {
    /// An activation of `token` (already read into `claims`), sent to `api_addr` when given
    /// (`primary_api_addr`), else to the address inside the token; a fresh attempt id from `rng`.
    pub fn new(
        rng: &mut dyn RngCore,
        token: &str,
        claims: TokenClaims,
        api_addr: Option<String>,
        update: bool,
    ) -> Pending {
        let target = api_addr
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| claims.primary_api_addr.clone());
        Pending {
            token: token.trim().to_string(),
            claims,
            target,
            update,
            attempt: crate::ids::random_hex(rng, 16),
        }
    }
}

/// State of an issued activation token in a primary's registry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenState {
    /// Issued, not used yet.
    Pending,
    /// Used by one activation attempt.
    Used {
        /// The attempt id.
        by: String,
    },
    /// Revoked before or after use.
    Revoked,
}

/// A token registry record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The token's nonce.
    pub nonce: String,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Use.
    pub state: TokenState,
}

/// A secondary the primary accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SecondaryRecord {
    /// Secret the secondary presents.
    pub secret: String,
    /// Its cluster address (where the primary sends to).
    pub cluster_addr: String,
    /// Its API address.
    pub api_addr: String,
    /// Revoked: refused from now on.
    pub revoked: bool,
    /// Its filter changed since its last diff: the next stream request must diff.
    pub needs_diff: bool,
}

/// A primary's persisted role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrimaryRole {
    /// The replication set.
    pub cluster_id: ClusterId,
    /// This run of the primary: changes on every enable or promote, killing older tokens.
    pub run: String,
    /// Token MAC secret of this run.
    pub secret: String,
    /// Address given to secondaries instead of the cluster's own (`""` for none).
    pub primary_cluster_addr: String,
    /// Every token id ever issued in this run, with its state.
    pub tokens: BTreeMap<String, TokenRecord>,
    /// Accepted secondaries.
    pub secondaries: BTreeMap<String, SecondaryRecord>,
    /// Paths filters by secondary id (performance only).
    pub filters: BTreeMap<String, PathsFilter>,
}

/// A secondary's persisted role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SecondaryRole {
    /// The replication set.
    pub cluster_id: ClusterId,
    /// Identity at the primary (`None` after demote, until update-primary with a token).
    pub credentials: Option<Credentials>,
    /// Where the primary is (the current one first); empty: no known primary.
    pub known_primary_cluster_addrs: Vec<String>,
    /// The primary's API address.
    pub primary_api_addr: String,
    /// An update-primary in flight.
    pub pending: Option<Pending>,
    /// Filter the primary applies to this secondary, as last heard.
    pub filter: Option<PathsFilter>,
    /// Dynamic filter (mounts, namespaces) as last heard.
    pub dynamic_filter: (Vec<String>, Vec<String>),
    /// Position in the primary's log.
    pub cursor: Option<Cursor>,
    /// Last primary WAL index applied (`last_remote_wal`).
    pub last_remote_wal: u64,
    /// Whether a full sync ever completed since this cluster joined the set.
    pub synced: bool,
}

/// One kind's persisted replication role.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Off.
    Disabled,
    /// `secondary/enable` accepted locally; waiting for the primary.
    Bootstrapping(Pending),
    /// Primary.
    Primary(PrimaryRole),
    /// Secondary.
    Secondary(SecondaryRole),
}

impl Role {
    /// The mode this role reports.
    pub fn mode(&self) -> Mode {
        match self {
            Role::Disabled => Mode::Disabled,
            Role::Bootstrapping(_) => Mode::Bootstrapping,
            Role::Primary(_) => Mode::Primary,
            Role::Secondary(_) => Mode::Secondary,
        }
    }

    /// The replication set id, when enabled.
    pub fn cluster_id(&self) -> Option<ClusterId> {
        match self {
            Role::Primary(p) => Some(p.cluster_id),
            Role::Secondary(s) => Some(s.cluster_id),
            _ => None,
        }
    }
}

/// Everything about a cluster that survives a restart.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Persisted {
    config: ClusterConfig,
    storage: Storage,
    wal: Wal,
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

/// A secondary's connection to its primary (lost on restart).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    state: SecondaryState,
    connected: bool,
    last_heartbeat: Option<Timestamp>,
    next_heartbeat: Timestamp,
    target: usize,
    session: u64,
    /// Digests of the covered buckets the in-flight sync must reach.
    sync: Option<SyncProgress>,
    retry_at: Option<Timestamp>,
    /// Disconnected, the last heartbeat went unanswered: the next one tries the next known address.
    unanswered: bool,
}

/// A primary's view of one connected secondary (lost on restart).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Peer {
    last_heartbeat: Option<Timestamp>,
    /// Streaming position and session, when the secondary is streaming.
    shipping: Option<(Cursor, u64)>,
}

/// State that a crash loses: connections, the log shipper's position per peer, queued output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Volatile {
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
    started: Timestamp,
}

/// One Vault cluster's replication control and data plane, as a pure state machine.
///
/// Drive it with [`Cluster::step`]; collect what it wants done with [`Cluster::ready`]; call
/// [`Input::Tick`] at [`Cluster::next_deadline`]. See the crate docs for the loop.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cluster {
    p: Persisted,
    v: Volatile,
}

/// What the host must carry out after a step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ready {
    /// Messages to deliver to other clusters.
    pub messages: Vec<Transmit>,
    /// Things that happened.
    pub events: Vec<Event>,
}

/// How many earlier primary runs a cluster remembers per kind.
pub const RETIRED_RUNS: usize = 16;

/// Format version of [`Snapshot`] bytes.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Why a snapshot could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Not a snapshot at all, or damaged.
    #[error("the snapshot is corrupted ({0}); restore from another copy")]
    Corrupted(String),
    /// Written by another format version.
    #[error("snapshot format version {found} is not supported (this build reads version {SNAPSHOT_VERSION}); use a matching replication-core")]
    UnknownVersion {
        /// Version found in the snapshot.
        found: u32,
    },
}

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    format_version: u32,
    checksum: String,
    state: serde_json::Value,
}

impl Cluster {
    /// A new cluster with replication disabled, the given mounts, and fresh unseal keys from `rng`.
    pub fn new(config: ClusterConfig, mounts: &[(String, bool)], rng: &mut dyn RngCore) -> Cluster {
        let mut config = config;
        // A zero interval would make every deadline "now" and spin a host that ticks at deadlines.
        config.heartbeat_interval = config.heartbeat_interval.max(Duration::from_millis(1));
        let unseal = UnsealKeys::generate(rng, config.unseal_shares, config.unseal_threshold);
        let mut c = Cluster {
            p: Persisted {
                wal: Wal::new(0, config.log_shipper_buffer, rng.next_u64()),
                config,
                storage: Storage::default(),
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
            },
            v: Volatile::default(),
        };
        for (path, local) in mounts {
            if crate::storage::validate_mount_path(path).is_ok() {
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
                self.receive(now, rng, &from, message);
                Reply::Ok
            }
            Input::Tick => {
                self.tick(now, rng);
                Reply::Ok
            }
            Input::CorruptMerkle => {
                let b = rng.next_u32() as usize;
                let delta = ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128;
                self.p.storage.corrupt_index(b, delta);
                Reply::Ok
            }
        };
        if self.v.started == Timestamp::default() {
            self.v.started = now;
        }
        self.after_step();
        Ok(reply)
    }

    /// Takes the messages and events produced so far.
    pub fn ready(&mut self) -> Ready {
        Ready {
            messages: std::mem::take(&mut self.v.outbox),
            events: std::mem::take(&mut self.v.events),
        }
    }

    /// When this cluster next needs an [`Input::Tick`] (heartbeats, retries), if ever.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        // Mirrors exactly what `tick` services, so a host that ticks at this deadline always moves it.
        let mut d: Option<Timestamp> = None;
        let mut take = |t: Timestamp| d = Some(d.map_or(t, |x| x.min(t)));
        if let Some(t) = self.next_forward_deadline() {
            take(t);
        }
        for kind in Kind::ALL {
            if !self.is_active(kind) {
                continue;
            }
            let Some(link) = self.v.links.get(&kind) else {
                continue;
            };
            match self.role(kind) {
                Role::Bootstrapping(_) => take(link.next_heartbeat),
                Role::Secondary(s) => {
                    if s.pending.is_some() {
                        take(link.next_heartbeat);
                    }
                    if !s.known_primary_cluster_addrs.is_empty() && s.credentials.is_some() {
                        take(link.next_heartbeat);
                        if let Some(r) = link.retry_at {
                            take(r);
                        }
                    }
                }
                _ => {}
            }
        }
        d
    }

    /// The cluster's host-given settings.
    pub fn config(&self) -> &ClusterConfig {
        &self.p.config
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.p.config.name
    }

    /// Its storage (read-only): what an oracle inspects.
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
        &self.p.unseal
    }

    /// The persisted role of a kind.
    pub fn role(&self, kind: Kind) -> &Role {
        match kind {
            Kind::Dr => &self.p.dr,
            Kind::Performance => &self.p.performance,
        }
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
            (Mode::Secondary, Some(l)) => Some(l.state),
            (Mode::Secondary, None) => Some(SecondaryState::Idle),
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
            Kind::Performance => !matches!(self.p.dr, Role::Secondary(_) | Role::Bootstrapping(_)),
        }
    }

    /// The last refusal or failure of a kind's activation or link, if any.
    pub fn last_error(&self, kind: Kind) -> Option<&str> {
        self.p.last_error.get(&kind).map(String::as_str)
    }

    /// Whether a DR operation token is currently valid on this cluster.
    pub fn operation_token_valid(&self, token: &str) -> bool {
        self.p.operation_tokens.contains(token)
    }

    /// The persisted state as versioned, checksummed bytes (what a crash keeps).
    pub fn snapshot(&self) -> Vec<u8> {
        // Every persisted type is plain data with string map keys: serializing cannot fail.
        let state = serde_json::to_value(&self.p).expect("persisted state serializes to JSON");
        let text = state.to_string();
        let file = SnapshotFile {
            format_version: SNAPSHOT_VERSION,
            checksum: checksum(&text),
            state,
        };
        serde_json::to_vec(&file).expect("snapshot file serializes to JSON")
    }

    /// Restarts a cluster from [`Cluster::snapshot`] bytes at host time `now`: connections are
    /// re-established, the log shipper starts a new epoch (its buffer was in memory).
    pub fn restore(
        bytes: &[u8],
        now: Timestamp,
        rng: &mut dyn RngCore,
    ) -> std::result::Result<Cluster, SnapshotError> {
        #[derive(Deserialize)]
        struct Header {
            format_version: u32,
        }
        let header: Header = serde_json::from_slice(bytes)
            .map_err(|e| SnapshotError::Corrupted(format!("unreadable header: {e}")))?;
        if header.format_version != SNAPSHOT_VERSION {
            return Err(SnapshotError::UnknownVersion {
                found: header.format_version,
            });
        }
        let file: SnapshotFile = serde_json::from_slice(bytes)
            .map_err(|e| SnapshotError::Corrupted(format!("unreadable body: {e}")))?;
        if checksum(&file.state.to_string()) != file.checksum {
            return Err(SnapshotError::Corrupted("checksum mismatch".into()));
        }
        let mut p: Persisted = serde_json::from_value(file.state)
            .map_err(|e| SnapshotError::Corrupted(format!("invalid state: {e}")))?;
        p.storage
            .check_consistency()
            .map_err(SnapshotError::Corrupted)?;
        let wal_last = p.wal.last();
        p.wal = Wal::new(wal_last, p.config.log_shipper_buffer, rng.next_u64());
        let mut c = Cluster {
            p,
            v: Volatile {
                started: now,
                ..Volatile::default()
            },
        };
        for kind in Kind::ALL {
            if matches!(c.role(kind), Role::Secondary(_) | Role::Bootstrapping(_)) {
                c.v.links.insert(kind, Link::new(now, rng));
            }
        }
        Ok(c)
    }

    // ----- internal helpers shared by the submodules -----

    /// Replaces a kind's role; a primary run that ends is remembered in `retired_runs`.
    fn set_role(&mut self, kind: Kind, role: Role) {
        if let Role::Primary(old) = self.role(kind) {
            let secret = old.secret.clone();
            let runs = self.p.retired_runs.entry(kind).or_default();
            runs.push(secret);
            if runs.len() > RETIRED_RUNS {
                runs.remove(0);
            }
        }
        *self.role_mut(kind) = role;
    }

    fn role_mut(&mut self, kind: Kind) -> &mut Role {
        match kind {
            Kind::Dr => &mut self.p.dr,
            Kind::Performance => &mut self.p.performance,
        }
    }

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

    /// Appends a local mutation to storage and the WAL.
    fn apply(&mut self, op: crate::wal::WalOp) -> u64 {
        use crate::wal::WalOp;
        let changed = match &op {
            WalOp::Put { key, value, class } => self.p.storage.put(key, value, *class),
            WalOp::Delete { key, .. } => self.p.storage.remove(key).is_some(),
        };
        if changed {
            self.p.wal.append(op)
        } else {
            self.p.wal.last()
        }
    }

    fn mount_local(&mut self, path: &str, local: bool) -> u64 {
        use crate::storage::{mount_key, DataClass};
        let class = if local {
            DataClass::Local
        } else {
            DataClass::Replicated
        };
        self.apply(crate::wal::WalOp::Put {
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
            self.p.config.bugs.contains(&bug)
        }
        #[cfg(not(feature = "inject-bugs"))]
        {
            false
        }
    }

    fn refuse_if_dr_secondary(&self, what: &str) -> Result<()> {
        match self.p.dr {
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
}

fn checksum(text: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::ids::hex(&Sha256::digest(text.as_bytes()))
}
