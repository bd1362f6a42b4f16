//! Operator requests and client operations: what a host asks a cluster to do.

use crate::ids::Kind;
use crate::storage::PathsFilter;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// How a DR promotion is authorised.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// List the keys directly under the folder `path` (a mount, or a folder inside one, with or
    /// without its trailing `/`): each child once, sub-folders with a trailing `/`, in key order, as
    /// Vault's `LIST` answers. A read: served where reads are.
    List {
        /// Folder path.
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
            | ClientOp::List { path }
            | ClientOp::Mount { path, .. } => path,
        }
    }
}
