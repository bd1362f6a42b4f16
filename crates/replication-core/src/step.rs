//! What a host feeds into [`crate::Cluster::step`] and what comes back: the [`Input`], the [`Reply`]
//! of a successful step, and the [`Event`]s a cluster reports through [`crate::Cluster::ready`].

use crate::error::{ActivationRefusal, Error};
use crate::ids::Kind;
use crate::message::Message;
use crate::request::{ClientOp, Request};
use crate::storage::{DynamicFilter, PathsFilter};
use crate::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};

/// One input to a cluster. Every input comes with the host's current time (an argument of `step`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Fault for simulators (`faults` feature): the Merkle index stops matching the data (entropy
    /// picks the damaged bucket), as a disk fault would; `reindex` repairs it.
    #[cfg(feature = "faults")]
    CorruptMerkle,
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
#[non_exhaustive]
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
    DynamicFilter(DynamicFilter),
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
    /// A client list: the keys directly under the folder (sub-folders end in `/`).
    Keys(Vec<String>),
    /// Input handled, nothing to report (messages, ticks, faults).
    Ok,
}

/// Something that happened inside the cluster that the host (or an oracle) may want to know.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
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
