//! Status views with Vault's field names (`sys/replication/{dr,performance}/status`).

use super::Cluster;
use crate::ids::{Kind, Mode, SecondaryState};
use crate::role::Role;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Vault's zero time as a Unix epoch string (`last_corruption_check_epoch` before any check).
const NEVER_CHECKED: &str = "-62135596800";

/// A peer entry (`secondaries[]` on a primary, `primaries[]` on a secondary).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Peer API address.
    pub api_address: String,
    /// Peer cluster address.
    pub cluster_address: String,
    /// `connected` or `disconnected`.
    pub connection_status: String,
    /// RFC 3339 time of the last heartbeat exchanged (empty if none).
    pub last_heartbeat: String,
    /// Secondary id (on a primary's entries only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
}

/// Merkle sync progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Keys synced so far.
    pub sync_progress: usize,
    /// Keys the diff found in conflict.
    pub sync_total_keys: usize,
}

/// One kind's status, with Vault's field names. Fields that do not apply to the mode are omitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KindStatus {
    /// `disabled`, `bootstrapping`, `primary` or `secondary`.
    pub mode: String,
    /// Replication set id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// True while the Merkle index does not match storage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrupted_merkle_tree: Option<bool>,
    /// Secondary ids registered on a primary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_secondaries: Option<Vec<String>>,
    /// Zero time: the model runs no background corruption checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_corruption_check_epoch: Option<String>,
    /// Last WAL shipped for DR (DR primary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_dr_wal: Option<u64>,
    /// Last WAL shipped for performance (performance primary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_performance_wal: Option<u64>,
    /// Unix seconds of the last reindex (`"0"` if never).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_reindex_epoch: Option<String>,
    /// Last WAL index of this cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_wal: Option<u64>,
    /// Last primary WAL applied (secondary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_remote_wal: Option<u64>,
    /// When replication last started on this node (secondary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_start: Option<String>,
    /// Digest of the data this kind ships.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merkle_root: Option<String>,
    /// Primary: the override address; secondary: the primary's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_cluster_addr: Option<String>,
    /// Connected secondaries (primary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondaries: Option<Vec<PeerInfo>>,
    /// The primary (secondary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primaries: Option<Vec<PeerInfo>>,
    /// Known primary addresses (secondary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_primary_cluster_addrs: Option<Vec<String>>,
    /// This secondary's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_id: Option<String>,
    /// `ready`, `connecting`, `idle` or `transient_failure` (secondary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_state: Option<String>,
    /// Merkle sync progress (secondary in `merkle-sync`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merkle_sync_progress: Option<SyncProgress>,
    /// Always 0 in the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssct_generation_counter: Option<u64>,
    /// `running` on a primary; the pipeline state on a secondary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The model's addition: the last activation or link failure, so a refused token is visible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Cluster {
    /// The status of one kind at host time `now`.
    pub fn status(&self, kind: Kind, now: Timestamp) -> KindStatus {
        let span = self.p.meta.config.missed_heartbeats_span();
        let connected = |t: Option<Timestamp>| t.is_some_and(|t| now.since(t) <= span);
        let hb_text = |t: Option<Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
        let mut st = KindStatus {
            mode: self.mode(kind).as_str().to_string(),
            last_error: self.p.meta.last_error.get(&kind).cloned(),
            ..KindStatus::default()
        };
        let common = |st: &mut KindStatus| {
            st.corrupted_merkle_tree = Some(self.p.storage.index_corrupted());
            st.last_corruption_check_epoch = Some(NEVER_CHECKED.to_string());
            st.last_reindex_epoch = Some(
                self.p
                    .meta
                    .last_reindex
                    .map(|t| (t.as_millis() / 1000).to_string())
                    .unwrap_or_else(|| "0".into()),
            );
            st.last_wal = Some(self.p.wal.last());
            st.merkle_root = Some(self.p.storage.merkle_root(kind));
            st.ssct_generation_counter = Some(0);
        };
        match (self.mode(kind), self.role(kind)) {
            (Mode::Primary, Role::Primary(p)) => {
                common(&mut st);
                st.cluster_id = Some(p.cluster_id.to_string());
                st.known_secondaries = Some(
                    p.accepted()
                        .filter(|(_, e, _)| !e.revoked)
                        .map(|(id, _, _)| id.clone())
                        .collect(),
                );
                let shipped = Some(self.p.wal.last());
                match kind {
                    Kind::Dr => st.last_dr_wal = shipped,
                    Kind::Performance => st.last_performance_wal = shipped,
                }
                st.primary_cluster_addr = Some(p.primary_cluster_addr.clone());
                st.secondaries = Some(
                    p.accepted()
                        .filter(|(_, e, _)| !e.revoked)
                        .map(|(id, _, r)| {
                            let seen = self
                                .v
                                .peers
                                .get(&kind)
                                .and_then(|m| m.get(id))
                                .and_then(|x| x.last_heartbeat);
                            PeerInfo {
                                api_address: r.api_addr.clone(),
                                cluster_address: r.cluster_addr.clone(),
                                connection_status: if connected(seen) {
                                    "connected"
                                } else {
                                    "disconnected"
                                }
                                .into(),
                                last_heartbeat: hb_text(seen),
                                node_id: Some(id.clone()),
                            }
                        })
                        .collect(),
                );
                st.state = Some("running".into());
            }
            (Mode::Secondary, Role::Secondary(s)) => {
                common(&mut st);
                let link = self.v.links.get(&kind);
                let state = link.map(|l| l.state).unwrap_or(SecondaryState::Idle);
                let is_conn = link.is_some_and(|l| l.connected);
                st.cluster_id = Some(s.cluster_id.to_string());
                st.known_primary_cluster_addrs = Some(s.known_primary_cluster_addrs.clone());
                st.last_remote_wal = Some(s.last_remote_wal);
                st.last_start = Some(self.v.started.to_rfc3339());
                st.primary_cluster_addr = Some(
                    s.known_primary_cluster_addrs
                        .first()
                        .cloned()
                        .unwrap_or_default(),
                );
                st.secondary_id = Some(
                    s.credentials
                        .as_ref()
                        .map(|c| c.secondary_id.clone())
                        .unwrap_or_default(),
                );
                st.primaries = Some(
                    s.known_primary_cluster_addrs
                        .first()
                        .map(|addr| PeerInfo {
                            api_address: s.primary_api_addr.clone(),
                            cluster_address: addr.clone(),
                            connection_status: if is_conn { "connected" } else { "disconnected" }
                                .into(),
                            last_heartbeat: hb_text(link.and_then(|l| l.last_heartbeat)),
                            node_id: None,
                        })
                        .into_iter()
                        .collect(),
                );
                st.connection_state = Some(
                    match (is_conn, s.known_primary_cluster_addrs.is_empty()) {
                        (true, _) => "ready",
                        (false, true) => "idle",
                        (false, false) if link.is_some_and(|l| l.last_heartbeat.is_some()) => {
                            "transient_failure"
                        }
                        (false, false) => "connecting",
                    }
                    .into(),
                );
                st.merkle_sync_progress = link.and_then(|l| l.sync.clone());
                st.state = Some(state.as_str().into());
            }
            (Mode::Bootstrapping, _) => {
                st.state = Some(SecondaryState::Bootstrapping.as_str().into());
            }
            _ => {}
        }
        st
    }

    /// Both kinds' status, as `sys/replication/status` shows it under `data`.
    pub fn combined_status(&self, now: Timestamp) -> serde_json::Value {
        serde_json::json!({
            "dr": self.status(Kind::Dr, now),
            "performance": self.status(Kind::Performance, now),
        })
    }
}
