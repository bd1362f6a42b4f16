//! # replication-core
//!
//! HashiCorp Vault Enterprise replication (disaster recovery and performance) as a pure, deterministic
//! state machine. One [`Cluster`] value holds a cluster's whole replication state: both kinds' roles,
//! its storage and Merkle indexes, its write-ahead log, its unseal key shares, the activation-token
//! registry and the DR operation-token attempt. It does no I/O, reads no clock and draws no ambient
//! randomness: time and entropy are arguments, and everything that must happen elsewhere comes back as
//! data. A server embeds it to implement `/sys/replication`; the simulator in `sim/` puts many on a
//! network.
//!
//! ## The loop
//!
//! The driving shape follows quinn-proto and raft-rs: feed inputs in with [`Cluster::step`], take
//! what the cluster wants done with [`Cluster::ready`], and tick it at [`Cluster::next_deadline`].
//!
//! 1. **Step.** `cluster.step(now, &mut rng, input)` takes the host's current [`Timestamp`], a
//!    caller-owned RNG (any `rand_core::RngCore`; a seeded ChaCha makes runs reproducible) and one
//!    [`Input`]: an operator [`Request`], a client [`ClientOp`], a [`Message`] from another cluster,
//!    a [`Input::Tick`], or a fault. It returns `Ok(`[`Reply`]`)` or `Err(`[`Error`]`)`. **A refused
//!    input changes nothing**: every handler checks first and mutates only once it will succeed.
//! 2. **Ready.** `cluster.ready()` hands back what the host must do, **in this order**:
//!    - make [`Ready::persist`] durable (a [`Batch`]: the storage entries written or deleted, the log
//!      position, and the role and registry record, each only when it changed), in one transaction.
//!      The record is a shared value ([`MetaRecord`]): a store keeps its `to_bytes()`, the
//!      versioned bytes [`Cluster::from_durable`] reads back; a host that never rebuilds from its
//!      batches need not encode it;
//!    - then deliver each [`Transmit`] (address + message) and answer the client. The receiving host
//!      steps `Input::Message { from, message }`, where `from` is the sender's cluster address; on a
//!      real network [`Envelope`] is the wire format (version, sender, message). Messages may be lost,
//!      duplicated or reordered: the protocol tolerates it;
//!    - and look at the [`Event`]s that happened (`Wiped`, `Activation`, `SyncRemoved`,
//!      `ClientReply`, ...).
//!
//!    Persisting before sending is what makes an acknowledged write survive a crash: a client is
//!    told "applied" only once the entry is durable, and no secondary hears of a state the primary
//!    could forget. The batch's storage keys are also what the simulator's oracles look at.
//! 3. **Tick.** When host time reaches `cluster.next_deadline()`, step `Input::Tick`: secondaries
//!    heartbeat their primary, notice a lost primary after three missed heartbeats, retry activation
//!    and stalled syncs.
//! 4. **Restart.** A host that stored every batch rebuilds the cluster after a crash with
//!    [`Cluster::from_durable`] (the store's contents as a [`Durable`]). [`Cluster::snapshot`] gives
//!    versioned, checksummed bytes of the same persisted state at once, and [`Cluster::restore`]
//!    restarts from them: for backups, bootstrapping and simulators. Both give the same cluster
//!    (connections and the in-memory log shipper buffer are lost, as in Vault).
//! 5. **Observe.** [`Cluster::status`] gives a kind's status with Vault's field names;
//!    [`Cluster::storage`] exposes the data and `merkle_root`s.
//!
//! ## A DR pair in a dozen lines
//!
//! ```
//! use rand_chacha::{rand_core::SeedableRng, ChaCha8Rng};
//! use replication_core::*;
//!
//! let mut rng = ChaCha8Rng::seed_from_u64(7);
//! let now = Timestamp::from_millis(1_700_000_000_000);
//! let mounts = [("secret/".to_string(), false)];
//! let mut a = Cluster::new(ClusterConfig::new("A"), &mounts, &mut rng);
//! let mut b = Cluster::new(ClusterConfig::new("B"), &mounts, &mut rng);
//!
//! // Operator: A becomes DR primary and issues a token for B; B enables with it.
//! a.step(now, &mut rng, Input::Request(Request::EnablePrimary { kind: Kind::Dr, primary_cluster_addr: None })).unwrap();
//! let Reply::Token(t) = a.step(now, &mut rng, Input::Request(Request::SecondaryToken {
//!     kind: Kind::Dr, id: "B".into(), ttl: None, secondary_public_key: None })).unwrap() else { unreachable!() };
//! b.step(now, &mut rng, Input::Request(Request::EnableSecondary { kind: Kind::Dr, token: t.token, primary_api_addr: None })).unwrap();
//! a.step(now, &mut rng, Input::Client(ClientOp::Write { path: "secret/app".into(), value: "v1".into() })).unwrap();
//!
//! // Host: deliver messages between the two until the network is quiet.
//! let mut queue: Vec<(String, Transmit)> = vec![];
//! for (from, c) in [(&a.config().cluster_addr.clone(), &mut a), (&b.config().cluster_addr.clone(), &mut b)] {
//!     queue.extend(c.ready().messages.into_iter().map(|m| (from.clone(), m)));
//! }
//! while let Some((from, t)) = queue.pop() {
//!     let to_a = t.to == a.config().api_addr || t.to == a.config().cluster_addr;
//!     let (dest, dest_addr) = if to_a { (&mut a, "https://a:8201") } else { (&mut b, "https://b:8201") };
//!     dest.step(now, &mut rng, Input::Message { from, message: t.message }).unwrap();
//!     queue.extend(dest.ready().messages.into_iter().map(|m| (dest_addr.to_string(), m)));
//! }
//!
//! assert_eq!(b.mode(Kind::Dr), Mode::Secondary);
//! assert_eq!(b.storage().get("secret/app").map(|e| e.value.as_str()), Some("v1"));
//! assert_eq!(a.storage().merkle_root(Kind::Dr), b.storage().merkle_root(Kind::Dr));
//! ```
//!
//! ## The state machine
//!
//! Each kind has a mode ([`Mode`]): `disabled`, `bootstrapping`, `primary`, `secondary`.
//!
//! * `primary/enable` (disabled → primary) draws a fresh `cluster_id`, the replication set's id.
//!   `primary/demote` (primary → secondary with no primary, `idle`) and `secondary/promote`
//!   (secondary → primary) keep it; `disable` forgets it, so a re-enabled cluster is a new set.
//! * `primary/secondary-token` registers a one-time token (unique `id`, `ttl` default 30m) signed by
//!   this primary *run*: each enable or promote starts a new run, so older tokens die.
//! * `secondary/enable` (disabled → bootstrapping) checks what the secondary can read in the token
//!   (form, kind, expiry, public key) and sends an activation request. The primary checks the rest
//!   (signature, use, revocation, expiry by its clock) and accepts or refuses with an
//!   [`ActivationRefusal`]. **Only an accepted activation wipes**: storage, local mounts included, is
//!   cleared, the primary's unseal shares replace the secondary's, and the secondary syncs.
//! * `update-primary` re-points a secondary of the *same* set without a wipe (a token of another set
//!   is refused); an empty token forgets the primary.
//! * A DR secondary serves no clients and no performance commands; its performance role is dormant and
//!   mirrors its DR primary's. DR promotion brings that role live: a performance primary keeps its set
//!   and its secondaries follow it through their failover addresses.
//! * DR-secondary operations need a DR operation token made from a quorum of (the primary's) unseal
//!   shares; DR promote also takes the shares one at a time (`key`, `reset`).
//!
//! Secondaries move through [`SecondaryState`]s: `connecting` → (`merkle-diff` → `merkle-sync`) →
//! `stream-wals`, back to `connecting` when three heartbeats go missing, `idle` with no primary.
//! Streaming resumes only from a position the primary's bounded log-shipper buffer still holds in the
//! same log epoch; otherwise a Merkle diff finds the conflicting buckets, then keys, and a sync moves
//! exactly those keys. Promotion without `force` answers 503 while a secondary is still catching up.
//!
//! The decisions this crate makes where Vault's documents are silent are recorded in the project's
//! `docs/decisions.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

mod bugs;
mod cluster;
mod envelope;
mod error;
mod ids;
mod merkle;
mod message;
mod request;
mod role;
mod step;
mod storage;
mod time;
mod token;
mod unseal;
mod wal;

pub use bugs::{Bug, COMPILED_IN as BUGS_COMPILED_IN};
pub use cluster::{
    AcceptedSecondary, Batch, Cluster, ClusterConfig, Durable, KindStatus, MetaRecord, PeerInfo,
    PrimaryView, Ready, RecoverError, RoleView, SecondaryView, SnapshotError, SyncProgress,
    DEFAULT_TOKEN_TTL, META_VERSION, MISSED_HEARTBEATS, SNAPSHOT_VERSION,
};
pub use envelope::{Envelope, EnvelopeError, ENVELOPE_VERSION};
pub use error::{ActivationRefusal, Error, ErrorClass};
pub use ids::{ClusterId, ClusterIdError, Kind, Mode, SecondaryState};
pub use message::{
    ActivationAccepted, ActivationRefused, ActivationRequest, Credentials, DiffKeys, DiffStart,
    Entries, FailoverTargets, Forward, ForwardReply, Heartbeat, HeartbeatAck, LinkRefusal,
    LinkRefused, Message, Mirror, Resync, Revoked, StreamRequest, SyncData, SyncPut, Transmit,
};
pub use request::{ClientOp, PromoteAuth, Request, Side, UpdateTarget};
pub use role::MirroredRole;
pub use step::{AttemptStatus, Event, Input, IssuedToken, QuorumProgress, Reply};
pub use storage::{
    check_mount_path, DataClass, DynamicFilter, Entry, FilterMode, FilterModeError, MountPathError,
    PathsFilter, Storage,
};
pub use time::{Duration, DurationError, Timestamp};
pub use token::{read_token, MalformedToken, TokenClaims};
pub use unseal::{decode_operation_token, DecodeError, UnsealKeys};
pub use wal::{Cursor, WalEntry, WalOp};
