//! Messages between clusters. The core never sends anything itself: it queues [`Transmit`]s that the
//! host delivers (or loses, duplicates, reorders) and feeds back in as [`crate::Input::Message`].

use crate::error::ActivationRefusal;
use crate::ids::{ClusterId, Kind};
use crate::storage::{DataClass, PathsFilter};
use crate::unseal::UnsealKeys;
use crate::wal::{Cursor, WalEntry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A message to send: the destination address and the message. The sender is the cluster's own
/// cluster address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transmit {
    /// Destination address (an API or cluster address).
    pub to: String,
    /// What to deliver.
    pub message: Message,
}

/// How a secondary proves who it is on every message to its primary.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Credentials {
    /// The replication set.
    pub cluster_id: ClusterId,
    /// The secondary id.
    pub secondary_id: String,
    /// The secret the primary handed out at activation.
    pub secret: String,
}

/// Why a primary refused a secondary's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkRefusal {
    /// This cluster is not (or no longer) a primary of that kind.
    NotPrimary,
    /// The secondary id was revoked.
    Revoked,
    /// The primary does not know this secondary (different set, re-enabled primary, bad secret).
    Unknown,
}

/// A performance role as a DR primary mirrors it to its DR secondaries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PerformanceMirror(pub Box<crate::cluster::Role>);

/// Everything clusters say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Message {
    /// Secondary → primary: activate (enable) or re-point (update-primary) with a token.
    ActivationRequest {
        /// Kind being activated.
        kind: Kind,
        /// The token text.
        token: String,
        /// True for `update-primary`: no wipe, the set must match.
        update: bool,
        /// Random id of this activation attempt: a retry of the same attempt is answered again, a new
        /// attempt with a used token is refused.
        attempt: String,
        /// Where the secondary can be reached (its cluster address).
        reply_to: String,
        /// The secondary's API address (for the primary's status).
        api_addr: String,
    },
    /// Primary → secondary: the token was accepted.
    ActivationAccepted {
        /// Kind.
        kind: Kind,
        /// The token nonce this answers (a stale answer is ignored).
        nonce: String,
        /// The activation attempt this answers (an answer to an earlier attempt is ignored).
        attempt: String,
        /// Credentials for every later message.
        credentials: Credentials,
        /// The primary's unseal key shares (they replace the secondary's).
        unseal: UnsealKeys,
        /// Addresses of the primary (and its failover addresses).
        known_primary_cluster_addrs: Vec<String>,
        /// The primary's API address.
        primary_api_addr: String,
    },
    /// Primary → secondary: the token was refused.
    ActivationRefused {
        /// Kind.
        kind: Kind,
        /// The token nonce this answers.
        nonce: String,
        /// The activation attempt this answers.
        attempt: String,
        /// Why.
        reason: ActivationRefusal,
    },
    /// Secondary → primary: I am alive; here is where I am.
    Heartbeat {
        /// Kind.
        kind: Kind,
        /// Who is asking.
        credentials: Credentials,
        /// The secondary's API address.
        api_addr: String,
    },
    /// Primary → secondary: heartbeat answer.
    HeartbeatAck {
        /// Kind.
        kind: Kind,
        /// Where the primary (and its failover targets) can be reached.
        known_primary_cluster_addrs: Vec<String>,
        /// The primary's API address.
        primary_api_addr: String,
        /// Last WAL index shipped for this kind, so a secondary can notice a stall.
        head: Cursor,
        /// The secondary's current paths filter (performance).
        filter: Option<PathsFilter>,
        /// Mounts and namespaces that filter excludes, computed from the primary's mount table.
        dynamic_filter: (Vec<String>, Vec<String>),
    },
    /// Primary → secondary: the connection is refused.
    LinkRefused {
        /// Kind.
        kind: Kind,
        /// Why.
        reason: LinkRefusal,
    },
    /// Secondary → primary: ship me what follows `cursor` (or start a diff if you cannot).
    StreamRequest {
        /// Kind.
        kind: Kind,
        /// The secondary's stream session this belongs to (stale sessions are ignored).
        session: u64,
        /// Who is asking.
        credentials: Credentials,
        /// Where the secondary stands; `None` after activation or a restart of the secondary.
        cursor: Option<Cursor>,
    },
    /// Primary → secondary: WAL entries, in order, following `after`.
    Entries {
        /// Kind.
        kind: Kind,
        /// The secondary's stream session this belongs to (stale sessions are ignored).
        session: u64,
        /// Position the first entry follows.
        after: Cursor,
        /// Position after the last entry (entries filtered out still advance it).
        until: Cursor,
        /// The shipped entries.
        entries: Vec<WalEntry>,
    },
    /// Primary → secondary: resume is impossible; here are my bucket digests as of `at`.
    DiffStart {
        /// Kind.
        kind: Kind,
        /// The secondary's stream session this belongs to (stale sessions are ignored).
        session: u64,
        /// Primary position the digests describe.
        at: Cursor,
        /// One digest per bucket, over what the primary ships to this secondary.
        digests: Vec<u128>,
        /// The secondary's current paths filter.
        filter: Option<PathsFilter>,
    },
    /// Secondary → primary: my keys (with entry hashes) in the buckets that differ.
    DiffKeys {
        /// Kind.
        kind: Kind,
        /// The secondary's stream session this belongs to (stale sessions are ignored).
        session: u64,
        /// Who is asking.
        credentials: Credentials,
        /// The digest position this answers.
        at: Cursor,
        /// Bucket -> key -> entry hash.
        buckets: BTreeMap<u16, BTreeMap<String, u128>>,
    },
    /// Primary → secondary: exactly the conflicting keys.
    SyncData {
        /// Kind.
        kind: Kind,
        /// The secondary's stream session this belongs to (stale sessions are ignored).
        session: u64,
        /// Position to stream from afterwards.
        at: Cursor,
        /// Keys to set (value, class).
        puts: Vec<(String, String, DataClass)>,
        /// Keys to remove.
        deletes: Vec<String>,
        /// Buckets covered (keys of these buckets not listed are already equal).
        buckets: Vec<u16>,
    },
    /// Primary → secondary: you were revoked.
    Revoked {
        /// Kind.
        kind: Kind,
    },
    /// Primary → secondary: your paths filter changed; diff again.
    Resync {
        /// Kind.
        kind: Kind,
    },
    /// DR primary → DR secondary: the performance role it mirrors.
    Mirror {
        /// The DR set it belongs to.
        cluster_id: ClusterId,
        /// The primary's performance role.
        performance: PerformanceMirror,
    },
    /// Performance secondary → primary: a client write on a shared mount, forwarded.
    Forward {
        /// Who is asking.
        credentials: Credentials,
        /// Correlates the answer.
        request: u64,
        /// The client operation.
        op: crate::request::ClientOp,
    },
    /// Primary → performance secondary: the forwarded write's outcome.
    ForwardReply {
        /// The forwarded request.
        request: u64,
        /// WAL index on the primary, or why the write was not applied (the client sees this error).
        result: Result<u64, crate::error::Error>,
    },
    /// Performance primary → its performance secondaries: the failover targets changed (a DR
    /// secondary joined or left), so a secondary that loses this primary can still find the DR
    /// secondary that a promotion would make its new primary.
    FailoverTargets {
        /// The performance set.
        cluster_id: ClusterId,
        /// The primary's own cluster address first, then its DR secondaries' addresses.
        known_primary_cluster_addrs: Vec<String>,
    },
}

impl Message {
    /// Short name of the message, for traces.
    pub fn name(&self) -> &'static str {
        match self {
            Message::ActivationRequest { .. } => "activation-request",
            Message::ActivationAccepted { .. } => "activation-accepted",
            Message::ActivationRefused { .. } => "activation-refused",
            Message::Heartbeat { .. } => "heartbeat",
            Message::HeartbeatAck { .. } => "heartbeat-ack",
            Message::LinkRefused { .. } => "link-refused",
            Message::StreamRequest { .. } => "stream-request",
            Message::Entries { .. } => "entries",
            Message::DiffStart { .. } => "diff-start",
            Message::DiffKeys { .. } => "diff-keys",
            Message::SyncData { .. } => "sync-data",
            Message::Revoked { .. } => "revoked",
            Message::Resync { .. } => "resync",
            Message::Mirror { .. } => "mirror",
            Message::Forward { .. } => "forward",
            Message::ForwardReply { .. } => "forward-reply",
            Message::FailoverTargets { .. } => "failover-targets",
        }
    }
}
