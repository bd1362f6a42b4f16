//! What a host feeds into [`crate::Cluster::step`] and what comes back.

use crate::error::{ActivationRefusal, Error};
use crate::ids::Kind;
use crate::message::Message;
use crate::storage::PathsFilter;
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};

/// One input to a cluster. Every input comes with the host's current time (an argument of `step`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Input {
    /// An operator request to `/sys/replication/...`.
    Request(Request),
    /// A client operation on the cluster's data.
    Client(ClientOp),
    /// A message from another cluster; `from` is the sender's cluster address.
    Message {
        /// Sender's cluster address.
        from: String,
        /// The message.
        message: Message,
    },
    /// Time passed: heartbeats, retries, timeouts. Hosts call this at [`crate::Cluster::next_deadline`].
    Tick,
    /// Fault: the Merkle index stops matching the data (entropy picks the damaged bucket).
    CorruptMerkle,
}

/// How a DR promotion is authorised.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PromoteAuth {
    /// No DR authorisation (performance promote).
    None,
    /// One unseal key share of the seed's key-share flow.
    Key(String),
    /// Discard the key shares given so far.
    Reset,
    /// A DR operation token.
    OperationToken(String),
}

/// Where `update-primary` points the secondary.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UpdateTarget {
    /// An activation token from the (new) primary; the empty string forgets the primary.
    Token(String),
    /// Cluster addresses of the same primary (`update_primary_addrs`); no new token.
    Addrs(Vec<String>),
}

/// Which side's dynamic filter to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// On the performance primary, for secondary `id`.
    Primary,
    /// On the performance secondary itself.
    Secondary,
}

/// An operator request: one per `/sys/replication` operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Request {
    /// `primary/enable`.
    EnablePrimary {
        /// Kind.
        kind: Kind,
        /// Address given to secondaries instead of the cluster's own.
        primary_cluster_addr: Option<String>,
    },
    /// `primary/demote`.
    Demote {
        /// Kind.
        kind: Kind,
    },
    /// `primary/disable`.
    DisablePrimary {
        /// Kind.
        kind: Kind,
    },
    /// `primary/secondary-token`.
    SecondaryToken {
        /// Kind.
        kind: Kind,
        /// The secondary's opaque id (unique in this primary's registry).
        id: String,
        /// Time to live (default 30m).
        ttl: Option<Duration>,
        /// Encrypt to this public key instead of wrapping.
        secondary_public_key: Option<String>,
    },
    /// `primary/revoke-secondary`.
    RevokeSecondary {
        /// Kind.
        kind: Kind,
        /// The secondary id.
        id: String,
    },
    /// `secondary/generate-public-key`.
    GeneratePublicKey {
        /// Kind.
        kind: Kind,
    },
    /// `secondary/enable`.
    EnableSecondary {
        /// Kind.
        kind: Kind,
        /// The activation token.
        token: String,
        /// Overrides the primary API address inside the token.
        primary_api_addr: Option<String>,
    },
    /// `secondary/promote`.
    Promote {
        /// Kind.
        kind: Kind,
        /// Address given to secondaries instead of the cluster's own.
        primary_cluster_addr: Option<String>,
        /// Skip the safety check.
        force: bool,
        /// DR authorisation (ignored for performance).
        auth: PromoteAuth,
    },
    /// `secondary/disable`.
    DisableSecondary {
        /// Kind.
        kind: Kind,
        /// Required on a DR secondary.
        dr_operation_token: Option<String>,
    },
    /// `secondary/update-primary`.
    UpdatePrimary {
        /// Kind.
        kind: Kind,
        /// Token or addresses.
        target: UpdateTarget,
        /// Overrides the primary API address inside the token.
        primary_api_addr: Option<String>,
        /// Required on a DR secondary.
        dr_operation_token: Option<String>,
    },
    /// `recover` (top level or `dr/secondary/recover`).
    Recover {
        /// Required on a DR secondary.
        dr_operation_token: Option<String>,
    },
    /// `reindex` (top level or `dr/secondary/reindex`).
    Reindex {
        /// Required on a DR secondary.
        dr_operation_token: Option<String>,
    },
    /// `performance/primary/paths-filter/:id` write.
    SetPathsFilter {
        /// Secondary id.
        id: String,
        /// The filter.
        filter: PathsFilter,
    },
    /// `performance/primary/paths-filter/:id` read.
    ReadPathsFilter {
        /// Secondary id.
        id: String,
    },
    /// `performance/primary/paths-filter/:id` delete.
    DeletePathsFilter {
        /// Secondary id.
        id: String,
    },
    /// `performance/{primary,secondary}/dynamic-filter/:id`.
    ReadDynamicFilter {
        /// Which side.
        side: Side,
        /// Secondary id.
        id: String,
    },
    /// `dr/secondary/generate-operation-token/attempt` POST: start an attempt.
    StartOperationTokenAttempt,
    /// `dr/secondary/generate-operation-token/attempt` GET: progress.
    ReadOperationTokenAttempt,
    /// `dr/secondary/generate-operation-token/attempt` DELETE: cancel.
    CancelOperationTokenAttempt,
    /// `dr/secondary/generate-operation-token/update`: one key share.
    UpdateOperationTokenAttempt {
        /// An unseal key share (the primary's).
        key: String,
        /// The attempt's nonce.
        nonce: String,
    },
    /// `dr/secondary/operation-token/delete`.
    DeleteOperationToken {
        /// The token to revoke.
        dr_operation_token: String,
    },
}

/// A client operation on data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientOp {
    /// Write `value` at `path`.
    Write {
        /// Key path under a mount.
        path: String,
        /// Value.
        value: String,
    },
    /// Delete `path`.
    Delete {
        /// Key path.
        path: String,
    },
    /// Read `path`.
    Read {
        /// Key path.
        path: String,
    },
    /// Create a mount.
    Mount {
        /// Mount path ending in `/`.
        path: String,
        /// Local (not shipped by performance replication) or shared.
        local: bool,
    },
}

impl ClientOp {
    /// The path the operation names.
    pub fn path(&self) -> &str {
        match self {
            ClientOp::Write { path, .. }
            | ClientOp::Delete { path }
            | ClientOp::Read { path }
            | ClientOp::Mount { path, .. } => path,
        }
    }
}

/// A newly issued activation token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IssuedToken {
    /// The token text.
    pub token: String,
    /// Its time to live.
    pub ttl: Duration,
    /// When it was issued.
    pub creation_time: Timestamp,
    /// True when it is response-wrapped (no public key); false when encrypted to a public key.
    pub wrapped: bool,
    /// A random accessor for the wrapping token.
    pub accessor: String,
}

/// Progress of a quorum of key shares.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuorumProgress {
    /// Distinct valid shares given.
    pub progress: usize,
    /// Shares needed.
    pub required: usize,
    /// Whether the operation completed.
    pub complete: bool,
}

/// State of an operation-token attempt.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AttemptStatus {
    /// Whether an attempt is in progress.
    pub started: bool,
    /// The attempt's nonce (empty when none).
    pub nonce: String,
    /// Shares given and needed.
    pub progress: usize,
    /// Shares needed.
    pub required: usize,
    /// Whether the token was produced.
    pub complete: bool,
    /// The token XORed with the OTP, once complete.
    pub encoded_token: String,
    /// The one-time pad: returned only when the attempt starts.
    pub otp: String,
    /// Length of the OTP.
    pub otp_length: usize,
}

/// What a successful step returns.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// Done, nothing to return (HTTP 204).
    Done,
    /// Done, with warnings for the operator (enable, promote, recover, reindex...).
    Warnings(Vec<String>),
    /// A new activation token.
    Token(IssuedToken),
    /// `generate-public-key`.
    PublicKey(String),
    /// DR promote progress (key-share flow), or its completion.
    PromoteProgress(QuorumProgress),
    /// Operation-token attempt state.
    Attempt(AttemptStatus),
    /// A paths filter.
    Filter(PathsFilter),
    /// A dynamic filter.
    DynamicFilter {
        /// Mounts filtered out for that secondary.
        mounts: Vec<String>,
        /// Namespaces filtered out for that secondary.
        namespaces: Vec<String>,
    },
    /// A client write or delete was applied at this WAL index of this cluster.
    Applied {
        /// WAL index.
        wal: u64,
    },
    /// A client write was forwarded to the primary; its outcome comes as [`Event::ClientReply`].
    Forwarded {
        /// Correlation id.
        request: u64,
    },
    /// A client read.
    Value(Option<String>),
    /// Input handled, nothing to report (messages, ticks, faults).
    Ok,
}

/// Something that happened inside the cluster that the host (or an oracle) may want to know.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event {
    /// Storage was wiped because the primary accepted this cluster's activation.
    Wiped {
        /// Kind whose activation wiped.
        kind: Kind,
        /// Entries removed.
        entries: usize,
    },
    /// An activation (enable or update-primary) finished.
    Activation {
        /// Kind.
        kind: Kind,
        /// True for update-primary.
        update: bool,
        /// Accepted, or refused with a reason.
        result: Result<(), ActivationRefusal>,
    },
    /// A forwarded client write got its answer.
    ClientReply {
        /// Correlation id from [`Reply::Forwarded`].
        request: u64,
        /// WAL index on the primary, or why it failed.
        result: Result<u64, Error>,
    },
    /// Keys a sync removed or overwrote on this secondary, and why.
    SyncRemoved {
        /// Kind.
        kind: Kind,
        /// Keys removed because the primary does not have them (or has another value).
        diverged: Vec<String>,
        /// Keys removed because a paths filter excludes them.
        filtered: Vec<String>,
    },
    /// The secondary caught up with its primary (entered `stream-wals`).
    InSync {
        /// Kind.
        kind: Kind,
    },
}
