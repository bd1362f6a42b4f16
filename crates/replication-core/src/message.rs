//! Messages between clusters. The core never sends anything itself: it queues [`Transmit`]s that the
//! host delivers (or loses, duplicates, reorders) and feeds back in as [`crate::Input::Message`].
//!
//! Each message is a struct, so each handler takes one argument. Every message is plain data
//! (`Serialize`/`Deserialize`), so a host can put it on any wire.

use crate::error::{ActivationRefusal, Error};
use crate::ids::{ClusterId, Kind};
use crate::request::ClientOp;
use crate::role::MirroredRole;
use crate::storage::{DataClass, DynamicFilter, PathsFilter};
use crate::unseal::UnsealKeys;
use crate::wal::{Cursor, WalEntry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::role::Credentials;

/// A message to send: the destination address and the message. The sender is the cluster's own
/// cluster address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transmit {
    /// Destination address (an API or cluster address).
    pub to: String,
    /// What to deliver.
    pub message: Message,
}

/// Why a primary refused a secondary's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LinkRefusal {
    /// This cluster is not (or no longer) a primary of that kind.
    NotPrimary,
    /// The secondary id was revoked.
    Revoked,
    /// The primary does not know this secondary (different set, re-enabled primary, bad secret).
    Unknown,
}

/// Everything clusters say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Message {
    /// Secondary → primary: activate (enable) or re-point (update-primary) with a token.
    ActivationRequest(ActivationRequest),
    /// Primary → secondary: the token was accepted.
    ActivationAccepted(ActivationAccepted),
    /// Primary → secondary: the token was refused.
    ActivationRefused(ActivationRefused),
    /// Secondary → primary: I am alive; here is where I am.
    Heartbeat(Heartbeat),
    /// Primary → secondary: heartbeat answer.
    HeartbeatAck(HeartbeatAck),
    /// Primary → secondary: the connection is refused.
    LinkRefused(LinkRefused),
    /// Secondary → primary: ship me what follows my cursor (or start a diff if you cannot).
    StreamRequest(StreamRequest),
    /// Primary → secondary: WAL entries, in order.
    Entries(Entries),
    /// Primary → secondary: resume is impossible; here are my bucket digests.
    DiffStart(DiffStart),
    /// Secondary → primary: my keys (with entry hashes) in the buckets that differ.
    DiffKeys(DiffKeys),
    /// Primary → secondary: exactly the conflicting keys.
    SyncData(SyncData),
    /// Primary → secondary: you were revoked.
    Revoked(Revoked),
    /// Primary → secondary: your paths filter changed; diff again.
    Resync(Resync),
    /// DR primary → DR secondary: the performance role it mirrors.
    Mirror(Mirror),
    /// Performance secondary → primary: a client write on a shared mount, forwarded.
    Forward(Forward),
    /// Primary → performance secondary: the forwarded write's outcome.
    ForwardReply(ForwardReply),
    /// Performance primary → its performance secondaries: the failover targets changed.
    FailoverTargets(FailoverTargets),
}

/// Secondary → primary: activate (`secondary/enable`) or re-point (`update-primary`) with a token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActivationRequest {
    /// Kind being activated.
    pub kind: Kind,
    /// The token text.
    pub token: String,
    /// Random id of this activation attempt: a retry of the same attempt is answered again, a new
    /// attempt with a used token is refused.
    pub attempt: String,
    /// Where the secondary can be reached (its cluster address).
    pub reply_to: String,
    /// The secondary's API address (for the primary's status).
    pub api_addr: String,
}

/// Primary → secondary: the token was accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActivationAccepted {
    /// Kind.
    pub kind: Kind,
    /// The token nonce this answers (a stale answer is ignored).
    pub nonce: String,
    /// The activation attempt this answers (an answer to an earlier attempt is ignored).
    pub attempt: String,
    /// Credentials for every later message.
    pub credentials: Credentials,
    /// The primary's unseal key shares (they replace the secondary's).
    pub unseal: UnsealKeys,
    /// The primary's cluster address, then its failover targets.
    pub known_primary_cluster_addrs: Vec<String>,
    /// The primary's API address.
    pub primary_api_addr: String,
}

/// Primary → secondary: the token was refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActivationRefused {
    /// Kind.
    pub kind: Kind,
    /// The token nonce this answers.
    pub nonce: String,
    /// The activation attempt this answers.
    pub attempt: String,
    /// Why.
    pub reason: ActivationRefusal,
}

/// Secondary → primary: I am alive; here is where I am.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Kind.
    pub kind: Kind,
    /// Who is asking.
    pub credentials: Credentials,
    /// The secondary's API address.
    pub api_addr: String,
}

/// Primary → secondary: heartbeat answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeartbeatAck {
    /// Kind.
    pub kind: Kind,
    /// Where the primary (and its failover targets) can be reached.
    pub known_primary_cluster_addrs: Vec<String>,
    /// The primary's API address.
    pub primary_api_addr: String,
    /// Last WAL position shipped for this kind, so a secondary can notice a stall.
    pub head: Cursor,
    /// The secondary's current paths filter (performance).
    pub filter: Option<PathsFilter>,
    /// Mounts and namespaces that filter excludes, computed from the primary's mount table.
    pub dynamic_filter: DynamicFilter,
}

/// Primary → secondary: the connection is refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkRefused {
    /// Kind.
    pub kind: Kind,
    /// Why.
    pub reason: LinkRefusal,
}

/// Secondary → primary: ship me what follows `cursor` (or start a diff if you cannot).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StreamRequest {
    /// Kind.
    pub kind: Kind,
    /// The secondary's stream session this belongs to (stale sessions are ignored).
    pub session: u64,
    /// Who is asking.
    pub credentials: Credentials,
    /// Where the secondary stands; `None` after activation or a restart of the secondary.
    pub cursor: Option<Cursor>,
}

/// Primary → secondary: WAL entries, in order, following `after`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entries {
    /// Kind.
    pub kind: Kind,
    /// The secondary's stream session this belongs to.
    pub session: u64,
    /// Position the first entry follows.
    pub after: Cursor,
    /// Position after the last entry (entries filtered out still advance it).
    pub until: Cursor,
    /// The shipped entries.
    pub entries: Vec<WalEntry>,
}

/// Primary → secondary: resume is impossible; here are my bucket digests as of `at`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DiffStart {
    /// Kind.
    pub kind: Kind,
    /// The secondary's stream session this belongs to.
    pub session: u64,
    /// Primary position the digests describe.
    pub at: Cursor,
    /// One digest per bucket, over what the primary ships to this secondary.
    pub digests: Vec<u128>,
    /// The secondary's current paths filter.
    pub filter: Option<PathsFilter>,
}

/// Secondary → primary: my keys (with entry hashes) in the buckets that differ.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DiffKeys {
    /// Kind.
    pub kind: Kind,
    /// The secondary's stream session this belongs to.
    pub session: u64,
    /// Who is asking.
    pub credentials: Credentials,
    /// The digest position this answers.
    pub at: Cursor,
    /// Bucket -> key -> entry hash.
    pub buckets: BTreeMap<u16, BTreeMap<String, u128>>,
}

/// One key a sync sets: path, value and data class.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncPut {
    /// Path.
    pub key: String,
    /// Value.
    pub value: String,
    /// Data class.
    pub class: DataClass,
}

/// Primary → secondary: exactly the conflicting keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncData {
    /// Kind.
    pub kind: Kind,
    /// The secondary's stream session this belongs to.
    pub session: u64,
    /// Position to stream from afterwards.
    pub at: Cursor,
    /// Keys to set.
    pub puts: Vec<SyncPut>,
    /// Keys to remove.
    pub deletes: Vec<String>,
}

/// Primary → secondary: you were revoked.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Revoked {
    /// Kind.
    pub kind: Kind,
}

/// Primary → secondary: your paths filter changed; diff again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resync {
    /// Kind.
    pub kind: Kind,
}

/// DR primary → DR secondary: the performance role it mirrors.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mirror {
    /// The DR set it belongs to.
    pub cluster_id: ClusterId,
    /// The primary's performance role.
    pub performance: MirroredRole,
}

/// Performance secondary → primary: a client write on a shared mount, forwarded.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Forward {
    /// Who is asking.
    pub credentials: Credentials,
    /// Correlates the answer.
    pub request: u64,
    /// The client operation.
    pub op: ClientOp,
}

/// Primary → performance secondary: the forwarded write's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ForwardReply {
    /// The forwarded request.
    pub request: u64,
    /// WAL index on the primary, or why the write was not applied (the client sees this error).
    pub result: Result<u64, Error>,
}

/// Performance primary → its performance secondaries: the failover targets changed (a DR
/// secondary joined or left), so a secondary that loses this primary can still find the DR
/// secondary that a promotion would make its new primary.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FailoverTargets {
    /// The performance set.
    pub cluster_id: ClusterId,
    /// The primary's own cluster address first, then its DR secondaries' addresses.
    pub known_primary_cluster_addrs: Vec<String>,
}

impl Message {
    /// Short name of the message, for traces.
    pub fn name(&self) -> &'static str {
        match self {
            Message::ActivationRequest(_) => "activation-request",
            Message::ActivationAccepted(_) => "activation-accepted",
            Message::ActivationRefused(_) => "activation-refused",
            Message::Heartbeat(_) => "heartbeat",
            Message::HeartbeatAck(_) => "heartbeat-ack",
            Message::LinkRefused(_) => "link-refused",
            Message::StreamRequest(_) => "stream-request",
            Message::Entries(_) => "entries",
            Message::DiffStart(_) => "diff-start",
            Message::DiffKeys(_) => "diff-keys",
            Message::SyncData(_) => "sync-data",
            Message::Revoked(_) => "revoked",
            Message::Resync(_) => "resync",
            Message::Mirror(_) => "mirror",
            Message::Forward(_) => "forward",
            Message::ForwardReply(_) => "forward-reply",
            Message::FailoverTargets(_) => "failover-targets",
        }
    }

    /// The replication kind whose data this message carries (entries, a diff, a sync; the DR
    /// mirror), if it carries data.
    pub fn data_kind(&self) -> Option<Kind> {
        match self {
            Message::Entries(m) => Some(m.kind),
            Message::DiffStart(m) => Some(m.kind),
            Message::SyncData(m) => Some(m.kind),
            Message::Mirror(_) => Some(Kind::Dr),
            _ => None,
        }
    }
}
