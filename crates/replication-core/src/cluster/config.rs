//! Host-given settings of one cluster, with the model's defaults.

use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// Heartbeats a secondary may miss before its link counts as disconnected (model.md §4).
pub const MISSED_HEARTBEATS: u64 = 3;

/// Host-given settings of one cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// Stable host-given name (`A`, `us-east`).
    pub name: String,
    /// API address (`https://a.example:8200`): where activation requests go.
    pub api_addr: String,
    /// Cluster address (`https://a.example:8201`): where replication traffic goes.
    pub cluster_addr: String,
    /// Heartbeat period; a peer is disconnected after [`MISSED_HEARTBEATS`] missed heartbeats.
    pub heartbeat_interval: Duration,
    /// How long a performance secondary waits for the primary's answer to a forwarded write before
    /// it tells the client the outcome is unknown; `None` means [`MISSED_HEARTBEATS`] heartbeat
    /// intervals. See [`ClusterConfig::forwarding_timeout`].
    #[serde(default)]
    pub forwarding_timeout: Option<Duration>,
    /// Log-shipper buffer length in entries.
    pub log_shipper_buffer: usize,
    /// Number of unseal key shares.
    pub unseal_shares: u8,
    /// Shares needed for a quorum.
    pub unseal_threshold: u8,
    /// Deliberate bugs this cluster exhibits (testing the simulator's checkers only).
    /// Set only through [`ClusterConfig::inject`], so a config built field by field compiles the
    /// same with and without the `inject-bugs` feature.
    #[cfg(feature = "inject-bugs")]
    #[serde(default)]
    pub(crate) bugs: std::collections::BTreeSet<crate::bugs::Bug>,
}

impl ClusterConfig {
    /// Default heartbeat period (model.md §4).
    pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
    /// Default log-shipper buffer length (model.md §4).
    pub const DEFAULT_LOG_SHIPPER_BUFFER: usize = 16384;
    /// Default number of unseal key shares (model.md §3).
    pub const DEFAULT_UNSEAL_SHARES: u8 = 5;
    /// Default unseal threshold (model.md §3).
    pub const DEFAULT_UNSEAL_THRESHOLD: u8 = 3;

    /// Defaults for a cluster called `name`, with addresses `https://<name>:8200` and `:8201`.
    pub fn new(name: &str) -> ClusterConfig {
        let host = name.to_lowercase();
        ClusterConfig {
            name: name.to_string(),
            api_addr: format!("https://{host}:8200"),
            cluster_addr: format!("https://{host}:8201"),
            heartbeat_interval: Self::DEFAULT_HEARTBEAT_INTERVAL,
            forwarding_timeout: None,
            log_shipper_buffer: Self::DEFAULT_LOG_SHIPPER_BUFFER,
            unseal_shares: Self::DEFAULT_UNSEAL_SHARES,
            unseal_threshold: Self::DEFAULT_UNSEAL_THRESHOLD,
            #[cfg(feature = "inject-bugs")]
            bugs: Default::default(),
        }
    }

    /// The forwarding timeout in force: the configured one, else [`MISSED_HEARTBEATS`] heartbeat
    /// intervals.
    pub fn forwarding_timeout(&self) -> Duration {
        self.forwarding_timeout
            .unwrap_or_else(|| self.missed_heartbeats_span())
    }

    /// How long [`MISSED_HEARTBEATS`] heartbeat intervals last: after this much silence a link is
    /// lost, and a stream request or a diff without an answer is sent again.
    pub fn missed_heartbeats_span(&self) -> Duration {
        Duration::from_millis(
            self.heartbeat_interval
                .as_millis()
                .saturating_mul(MISSED_HEARTBEATS),
        )
    }

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bugs::{Bug, COMPILED_IN};

    /// Bugs take only in a build with `inject-bugs`; elsewhere `inject` says it did nothing.
    #[test]
    fn bugs_are_injected_only_where_compiled_in() {
        let mut c = ClusterConfig::new("A");
        let before = c.clone();
        let bugs = [Bug::TokenReusable].into_iter().collect();
        assert_eq!(c.inject(&bugs), COMPILED_IN);
        assert_eq!(c == before, !COMPILED_IN);
    }
}
