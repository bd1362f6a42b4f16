//! A read-only view of a kind's replication role, for hosts and checkers: what a role is (its own
//! mode, a DR secondary's dormant performance role included), its replication set, a primary's
//! accepted secondaries, a secondary's identity and known primary addresses. Secrets stay inside.

use super::Cluster;
use crate::ids::{ClusterId, Kind, Mode};
use crate::role::{AcceptedLink, PrimaryRole, Role, SecondaryEntry, SecondaryRole};
use crate::storage::PathsFilter;

/// One kind's persisted role, read-only ([`Cluster::inspect`]).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum RoleView<'a> {
    /// Off.
    Disabled,
    /// `secondary/enable` accepted locally; waiting for the primary.
    Bootstrapping,
    /// Primary.
    Primary(PrimaryView<'a>),
    /// Secondary.
    Secondary(SecondaryView<'a>),
}

impl<'a> RoleView<'a> {
    /// The primary's view, when the role is a primary.
    pub fn primary(&self) -> Option<PrimaryView<'a>> {
        match self {
            RoleView::Primary(p) => Some(*p),
            _ => None,
        }
    }

    /// The secondary's view, when the role is a secondary.
    pub fn secondary(&self) -> Option<SecondaryView<'a>> {
        match self {
            RoleView::Secondary(s) => Some(*s),
            _ => None,
        }
    }

    /// The role's own mode. Unlike [`Cluster::mode`], a DR secondary's dormant performance role shows
    /// what it is (it mirrors its DR primary's), not `disabled`.
    pub fn mode(&self) -> Mode {
        match self {
            RoleView::Disabled => Mode::Disabled,
            RoleView::Bootstrapping => Mode::Bootstrapping,
            RoleView::Primary(_) => Mode::Primary,
            RoleView::Secondary(_) => Mode::Secondary,
        }
    }

    /// The replication set, when the role is in one.
    pub fn cluster_id(&self) -> Option<ClusterId> {
        match self {
            RoleView::Primary(p) => Some(p.cluster_id()),
            RoleView::Secondary(s) => Some(s.cluster_id()),
            _ => None,
        }
    }
}

/// A primary's role, read-only.
#[derive(Clone, Copy, Debug)]
pub struct PrimaryView<'a>(&'a PrimaryRole);

impl<'a> PrimaryView<'a> {
    /// The replication set.
    pub fn cluster_id(&self) -> ClusterId {
        self.0.cluster_id
    }

    /// This primary run's id: it changes on every enable and promote (secondary ids are unique
    /// within one run).
    pub fn run(&self) -> &'a str {
        &self.0.run
    }

    /// The secondaries this primary accepted (revoked ones included), in id order.
    pub fn accepted(&self) -> impl Iterator<Item = AcceptedSecondary<'a>> + 'a {
        self.0
            .accepted()
            .map(|(id, entry, link)| AcceptedSecondary { id, entry, link })
    }

    /// The accepted secondary `id`, if any.
    pub fn secondary(&self, id: &str) -> Option<AcceptedSecondary<'a>> {
        self.accepted().find(|s| s.id() == id)
    }

    /// Whether a token was ever issued for secondary `id` in this run.
    pub fn issued(&self, id: &str) -> bool {
        self.0.secondaries.contains_key(id)
    }

    /// The paths filter of secondary `id` (performance), if any.
    pub fn filter(&self, id: &str) -> Option<&'a PathsFilter> {
        self.0.filter(id)
    }
}

/// A secondary a primary accepted, read-only.
#[derive(Clone, Copy, Debug)]
pub struct AcceptedSecondary<'a> {
    id: &'a str,
    entry: &'a SecondaryEntry,
    link: &'a AcceptedLink,
}

impl<'a> AcceptedSecondary<'a> {
    /// Its secondary id.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// Where the primary sends to it (its cluster address, as last heard).
    pub fn cluster_addr(&self) -> &'a str {
        &self.link.cluster_addr
    }

    /// Its API address.
    pub fn api_addr(&self) -> &'a str {
        &self.link.api_addr
    }

    /// Whether it was revoked.
    pub fn revoked(&self) -> bool {
        self.entry.revoked
    }
}

/// A secondary's role, read-only.
#[derive(Clone, Copy, Debug)]
pub struct SecondaryView<'a>(&'a SecondaryRole);

impl<'a> SecondaryView<'a> {
    /// The replication set.
    pub fn cluster_id(&self) -> ClusterId {
        self.0.cluster_id
    }

    /// Its identity at its primary (`None` after a demote, until update-primary with a token).
    pub fn secondary_id(&self) -> Option<&'a str> {
        self.0.credentials.as_ref().map(|c| c.secondary_id.as_str())
    }

    /// Where its primary is (the current one first, then failover targets); empty: no known primary.
    pub fn known_primary_cluster_addrs(&self) -> &'a [String] {
        &self.0.known_primary_cluster_addrs
    }
}

impl Cluster {
    /// The persisted role of `kind`, read-only: what hosts and checkers may look at beyond status.
    pub fn inspect(&self, kind: Kind) -> RoleView<'_> {
        match self.role(kind) {
            Role::Disabled => RoleView::Disabled,
            Role::Bootstrapping(_) => RoleView::Bootstrapping,
            Role::Primary(p) => RoleView::Primary(PrimaryView(p)),
            Role::Secondary(s) => RoleView::Secondary(SecondaryView(s)),
        }
    }
}
