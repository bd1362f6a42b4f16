//! A kind's persisted replication role: what a cluster remembers about being a primary (its
//! registry of secondaries) or a secondary (its identity and position at its primary).
//!
//! These types are the core's own state. Hosts and checkers read them through
//! [`crate::RoleView`] (`Cluster::inspect`), never directly: the registry holds secrets.

use crate::ids::{ClusterId, Mode};
use crate::storage::{DynamicFilter, PathsFilter};
use crate::time::Timestamp;
use crate::token::TokenClaims;
use crate::wal::Cursor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// An activation in flight: `secondary/enable` (mode `bootstrapping`) or `update-primary`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Pending {
    /// The token text.
    pub(crate) token: String,
    /// What it says.
    pub(crate) claims: TokenClaims,
    /// Where the request goes (the token's API address or `primary_api_addr`).
    pub(crate) target: String,
    /// True for update-primary.
    pub(crate) update: bool,
    /// Random id of this attempt (retries of it carry the same id).
    pub(crate) attempt: String,
}

impl Pending {
    /// An activation of `token` (already read into `claims`), sent to `api_addr` when given
    /// (`primary_api_addr`), else to the address inside the token; a fresh attempt id from `rng`.
    pub(crate) fn new(
        rng: &mut dyn rand_core::RngCore,
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

/// The link of a secondary the primary accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct AcceptedLink {
    /// Secret the secondary presents.
    pub(crate) secret: String,
    /// Its cluster address (where the primary sends to).
    pub(crate) cluster_addr: String,
    /// Its API address.
    pub(crate) api_addr: String,
    /// Its filter changed since its last diff: the next stream request must diff.
    pub(crate) needs_diff: bool,
}

/// Everything a primary knows about one secondary id, from the token issued for it on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct SecondaryEntry {
    /// The nonce of the token issued for the id.
    pub(crate) nonce: String,
    /// When that token expires.
    pub(crate) expires_at: Timestamp,
    /// The activation attempt that used the token, once one did.
    pub(crate) used_by: Option<String>,
    /// Revoked: its token and its link are refused from now on.
    pub(crate) revoked: bool,
    /// Set once the primary accepted the secondary.
    pub(crate) link: Option<AcceptedLink>,
    /// Its paths filter (performance only).
    pub(crate) filter: Option<PathsFilter>,
}

impl SecondaryEntry {
    /// The accepted, non-revoked link, if any.
    pub(crate) fn live_link(&self) -> Option<&AcceptedLink> {
        self.link.as_ref().filter(|_| !self.revoked)
    }
}

/// A primary's persisted role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct PrimaryRole {
    /// The replication set.
    pub(crate) cluster_id: ClusterId,
    /// This run of the primary: changes on every enable or promote, killing older tokens.
    pub(crate) run: String,
    /// Token MAC secret of this run.
    pub(crate) secret: String,
    /// Address given to secondaries instead of the cluster's own (`""` for none).
    pub(crate) primary_cluster_addr: String,
    /// Every secondary id ever issued a token in this run.
    pub(crate) secondaries: BTreeMap<String, SecondaryEntry>,
}

impl PrimaryRole {
    /// Accepted secondaries, revoked ones included, in id order.
    pub(crate) fn accepted(
        &self,
    ) -> impl Iterator<Item = (&String, &SecondaryEntry, &AcceptedLink)> {
        self.secondaries
            .iter()
            .filter_map(|(id, e)| e.link.as_ref().map(|l| (id, e, l)))
    }

    /// The paths filter of secondary `id`, if any.
    pub(crate) fn filter(&self, id: &str) -> Option<&PathsFilter> {
        self.secondaries.get(id).and_then(|e| e.filter.as_ref())
    }
}

/// A secondary's persisted role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct SecondaryRole {
    /// The replication set.
    pub(crate) cluster_id: ClusterId,
    /// Identity at the primary (`None` after demote, until update-primary with a token).
    pub(crate) credentials: Option<Credentials>,
    /// Where the primary is (the current one first); empty: no known primary.
    pub(crate) known_primary_cluster_addrs: Vec<String>,
    /// The primary's API address.
    pub(crate) primary_api_addr: String,
    /// An update-primary in flight.
    pub(crate) pending: Option<Pending>,
    /// Filter the primary applies to this secondary, as last heard.
    pub(crate) filter: Option<PathsFilter>,
    /// Dynamic filter as last heard.
    pub(crate) dynamic_filter: DynamicFilter,
    /// Position in the primary's log.
    pub(crate) cursor: Option<Cursor>,
    /// Last primary WAL index applied (`last_remote_wal`).
    pub(crate) last_remote_wal: u64,
    /// Whether a full sync ever completed since this cluster joined the set.
    pub(crate) synced: bool,
}

impl SecondaryRole {
    /// A secondary of set `cluster_id` with no primary and no identity (a demoted primary).
    pub(crate) fn without_primary(cluster_id: ClusterId) -> SecondaryRole {
        SecondaryRole {
            cluster_id,
            credentials: None,
            known_primary_cluster_addrs: vec![],
            primary_api_addr: String::new(),
            pending: None,
            filter: None,
            dynamic_filter: DynamicFilter::default(),
            cursor: None,
            last_remote_wal: 0,
            synced: true,
        }
    }
}

/// One kind's persisted replication role.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum Role {
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
    pub(crate) fn mode(&self) -> Mode {
        match self {
            Role::Disabled => Mode::Disabled,
            Role::Bootstrapping(_) => Mode::Bootstrapping,
            Role::Primary(_) => Mode::Primary,
            Role::Secondary(_) => Mode::Secondary,
        }
    }

    /// The replication set id, when enabled.
    pub(crate) fn cluster_id(&self) -> Option<ClusterId> {
        match self {
            Role::Primary(p) => Some(p.cluster_id),
            Role::Secondary(s) => Some(s.cluster_id),
            _ => None,
        }
    }
}

/// A DR primary's performance role as it mirrors it to its DR secondaries (opaque to hosts: it is
/// the registry a DR promotion brings live).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MirroredRole(pub(crate) Box<Role>);
