//! Deliberate bugs for proving that checkers can fail (`inject-bugs` feature only).
//!
//! With the feature on, [`crate::ClusterConfig::bugs`] names the bugs a cluster exhibits; without it
//! this module still names them (so tools can list them) but nothing in the core can misbehave.

use serde::{Deserialize, Serialize};

/// Whether this build of the core can exhibit bugs (the `inject-bugs` feature).
pub const COMPILED_IN: bool = cfg!(feature = "inject-bugs");

/// A named, deliberately wrong behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    /// `update-primary` wipes the secondary when the primary accepts.
    UpdatePrimaryWipes,
    /// A used activation token is accepted again from another cluster.
    TokenReusable,
    /// `revoke-secondary` answers 204 but revokes nothing.
    RevokeIgnored,
    /// Re-enabling a primary reuses its previous `cluster_id`.
    ReenableKeepsClusterId,
    /// An accepted `secondary/enable` does not wipe.
    EnableSkipsWipe,
    /// Paths filters are stored but not applied to what is shipped.
    FilterIgnored,
    /// DR promote succeeds without a valid DR operation token or key shares.
    PromoteIgnoresDrAuth,
    /// A forwarded write is never answered when the cluster it reaches refuses the link, and the
    /// secondary never gives up on it (the client waits forever).
    ForwardsUnanswered,
}

impl Bug {
    /// Every bug.
    pub const ALL: [Bug; 8] = [
        Bug::UpdatePrimaryWipes,
        Bug::TokenReusable,
        Bug::RevokeIgnored,
        Bug::ReenableKeepsClusterId,
        Bug::EnableSkipsWipe,
        Bug::FilterIgnored,
        Bug::PromoteIgnoresDrAuth,
        Bug::ForwardsUnanswered,
    ];

    /// The bug's name (`update-primary-wipes`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Bug::UpdatePrimaryWipes => "update-primary-wipes",
            Bug::TokenReusable => "token-reusable",
            Bug::RevokeIgnored => "revoke-ignored",
            Bug::ReenableKeepsClusterId => "reenable-keeps-cluster-id",
            Bug::EnableSkipsWipe => "enable-skips-wipe",
            Bug::FilterIgnored => "filter-ignored",
            Bug::PromoteIgnoresDrAuth => "promote-ignores-dr-auth",
            Bug::ForwardsUnanswered => "forwards-unanswered",
        }
    }

    /// The bug called `name`.
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bug's name is its serde name, and `from_name` finds each bug by it and nothing else.
    #[test]
    fn each_bug_is_found_by_its_own_name_only() {
        for bug in Bug::ALL {
            assert_eq!(
                serde_json::to_value(bug).unwrap(),
                serde_json::json!(bug.name())
            );
            assert_eq!(Bug::from_name(bug.name()), Some(bug));
        }
        assert_eq!(Bug::from_name("no-such-bug"), None);
        assert_eq!(Bug::from_name(""), None);
    }
}
