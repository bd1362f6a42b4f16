//! What survives a crash: [`Cluster::snapshot`] gives versioned, checksummed bytes of the persisted
//! state; [`Cluster::restore`] restarts a cluster from them.

use super::{Cluster, Persisted, Tracked};
use crate::time::Timestamp;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

/// Format version of snapshot bytes. Version 2 keeps everything a primary knows about one secondary
/// in one record.
pub const SNAPSHOT_VERSION: u32 = 2;

/// Why a snapshot could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Not a snapshot at all, or damaged.
    #[error("the snapshot is corrupted ({0}); restore from another copy")]
    Corrupted(String),
    /// Written by another format version.
    #[error("snapshot format version {found} is not supported (this build reads version {SNAPSHOT_VERSION}); use a matching replication-core")]
    UnknownVersion {
        /// Version found in the snapshot.
        found: u32,
    },
}

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    format_version: u32,
    checksum: String,
    state: serde_json::Value,
}

impl Cluster {
    /// The persisted state as versioned, checksummed bytes (what a crash keeps).
    pub fn snapshot(&self) -> Vec<u8> {
        // Every persisted type is plain data with string map keys: serializing cannot fail.
        let state = serde_json::to_value(&self.p).expect("persisted state serializes to JSON");
        let text = state.to_string();
        let file = SnapshotFile {
            format_version: SNAPSHOT_VERSION,
            checksum: checksum(&text),
            state,
        };
        serde_json::to_vec(&file).expect("snapshot file serializes to JSON")
    }

    /// Restarts a cluster from [`Cluster::snapshot`] bytes at host time `now`: connections are
    /// re-established, the log shipper starts a new epoch (its buffer was in memory).
    pub fn restore(
        bytes: &[u8],
        now: Timestamp,
        rng: &mut dyn RngCore,
    ) -> Result<Cluster, SnapshotError> {
        let found = super::format_version(bytes)
            .map_err(|e| SnapshotError::Corrupted(format!("unreadable header: {e}")))?;
        if found != SNAPSHOT_VERSION {
            return Err(SnapshotError::UnknownVersion { found });
        }
        let file: SnapshotFile = serde_json::from_slice(bytes)
            .map_err(|e| SnapshotError::Corrupted(format!("unreadable body: {e}")))?;
        if checksum(&file.state.to_string()) != file.checksum {
            return Err(SnapshotError::Corrupted("checksum mismatch".into()));
        }
        let mut p: Persisted = serde_json::from_value(file.state)
            .map_err(|e| SnapshotError::Corrupted(format!("invalid state: {e}")))?;
        // Storage's indexes and mount table are rebuilt from its entries as it is read.
        p.meta = Tracked::clean((*p.meta).clone().sanitized());
        Ok(Cluster::restart(p, now, rng))
    }
}

fn checksum(text: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::ids::hex(&Sha256::digest(text.as_bytes()))
}
