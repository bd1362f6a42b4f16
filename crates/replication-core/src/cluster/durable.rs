//! What a host makes durable after each step, and how a cluster comes back from it.
//!
//! Every [`Ready`](super::Ready) carries a [`Batch`]: the storage entries the step wrote or deleted,
//! the log position when it moved, and the rest of the persisted state (roles, registries, key shares,
//! operation-token attempt) as one opaque record when it changed. The contract, as raft-rs states it
//! for its `Ready`: **make the batch durable before sending the messages or answering the client**.
//! A host that does so can always rebuild the cluster with [`Cluster::from_durable`] from what it stored,
//! and gets exactly the cluster [`Cluster::restore`] gives from a snapshot taken at the same point.
//!
//! [`Durable`] is that store in memory: the reference for what a host's own store must do with a
//! batch, and what the simulator's tests replay batches into.

use super::{Cluster, Link, Meta, Persisted, Volatile};
use crate::ids::Kind;
use crate::role::Role;
use crate::storage::{Entry, Storage};
use crate::time::Timestamp;
use crate::wal::Wal;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format version of the meta record in [`Batch::meta`].
pub const META_VERSION: u32 = 1;

/// The persisted-state changes of one [`Ready`](super::Ready): make them durable (in one
/// transaction) before sending its messages or answering the client.
///
/// Its `Debug` does not show the meta record: the record holds secrets.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Batch {
    /// Each storage key that changed since the last `ready()` (written, overwritten, deleted, or
    /// removed by a wipe), once, in key order, with its entry now (`None`: delete it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<(String, Option<Entry>)>,
    /// The write-ahead log's last index, when it moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal: Option<u64>,
    /// Everything else that survives a restart (roles, replication sets, registries, key shares), as
    /// one record to store whole under one key, when it changed. Opaque to the host: store
    /// [`MetaRecord::to_bytes`]; only [`Cluster::from_durable`] reads it back. It holds secrets
    /// (unseal shares, token keys): protect it as the storage is protected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<MetaRecord>,
}

/// The persisted state besides storage and the log, as a [`Batch`] hands it out.
///
/// It is a shared value, not bytes: a host that never rebuilds a cluster from its batches (the
/// simulator restarts clusters from snapshots) never pays for encoding a record it will not read,
/// and copying a batch copies a pointer. A host that keeps a store, on disk or in memory, stores
/// [`to_bytes`](MetaRecord::to_bytes) (versioned JSON, the format [`Durable::meta`] holds and
/// [`Cluster::from_durable`] reads). Equal records have equal bytes.
/// Serialized with serde it is those bytes. Its `Debug` shows no content: the record holds
/// secrets.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MetaRecord(std::sync::Arc<(Meta, IndexDamage)>);

impl MetaRecord {
    /// The record as the versioned bytes a durable store keeps.
    pub fn to_bytes(&self) -> Vec<u8> {
        let file = MetaFile {
            format_version: META_VERSION,
            meta: &self.0 .0,
            index_damage: &self.0 .1,
        };
        // Plain data with string map keys: serializing cannot fail.
        serde_json::to_vec(&file).expect("meta record serializes to JSON")
    }

    /// Reads the bytes [`to_bytes`](MetaRecord::to_bytes) gave.
    pub fn from_bytes(bytes: &[u8]) -> Result<MetaRecord, RecoverError> {
        let found = super::format_version(bytes)
            .map_err(|e| RecoverError::Corrupted(format!("unreadable meta record: {e}")))?;
        if found != META_VERSION {
            return Err(RecoverError::UnknownVersion { found });
        }
        let file: MetaFile<Meta, IndexDamage> = serde_json::from_slice(bytes)
            .map_err(|e| RecoverError::Corrupted(format!("invalid meta record: {e}")))?;
        Ok(MetaRecord(std::sync::Arc::new((
            file.meta,
            file.index_damage,
        ))))
    }
}

impl std::fmt::Debug for MetaRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetaRecord(<secret>)")
    }
}

impl Serialize for MetaRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_bytes().serialize(s)
    }
}

impl<'de> Deserialize<'de> for MetaRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = Vec::<u8>::deserialize(d)?;
        MetaRecord::from_bytes(&bytes).map_err(|e| {
            let why = match e {
                RecoverError::Corrupted(why) => why,
                other => other.to_string(),
            };
            serde::de::Error::custom(format!("not a meta record: {why}"))
        })
    }
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("storage", &self.storage)
            .field("wal", &self.wal)
            .field("meta", &self.meta)
            .finish()
    }
}

impl Batch {
    /// Nothing to make durable.
    pub fn is_empty(&self) -> bool {
        self.storage.is_empty() && self.wal.is_none() && self.meta.is_none()
    }

    /// The storage keys that changed, in key order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.storage.iter().map(|(k, _)| k.as_str())
    }
}

/// A durable store in memory: what a host keeps of the batches, and the input of
/// [`Cluster::from_durable`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durable {
    /// The last meta record, as [`MetaRecord::to_bytes`] gives it.
    pub meta: Option<Vec<u8>>,
    /// The last log position.
    pub wal: u64,
    /// The storage entries.
    pub entries: BTreeMap<String, Entry>,
}

impl Durable {
    /// Applies one batch, as a host's store would in one transaction.
    pub fn apply(&mut self, batch: &Batch) {
        for (key, entry) in &batch.storage {
            match entry {
                Some(e) => self.entries.insert(key.clone(), e.clone()),
                None => self.entries.remove(key),
            };
        }
        if let Some(w) = batch.wal {
            self.wal = w;
        }
        if let Some(m) = &batch.meta {
            self.meta = Some(m.to_bytes());
        }
    }
}

/// Why a durable store could not be recovered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoverError {
    /// The store never received a meta record: the cluster's first batch was not made durable.
    #[error("the durable store has no meta record (the cluster's first batch was never stored); start a new cluster instead")]
    NoMeta,
    /// The meta record or the entries are damaged.
    #[error("the durable store is corrupted ({0}); restore from a backup")]
    Corrupted(String),
    /// The meta record was written by another format version.
    #[error("meta record format version {found} is not supported (this build reads version {META_VERSION}); use a matching replication-core")]
    UnknownVersion {
        /// Version found in the record.
        found: u32,
    },
}

#[derive(Serialize, Deserialize)]
struct MetaFile<T, D> {
    format_version: u32,
    meta: T,
    /// Merkle index damage (simulator faults), kept until a reindex.
    #[serde(default)]
    index_damage: D,
}

impl Cluster {
    /// Rebuilds a cluster from a durable store at host time `now`, as after a crash: connections are
    /// re-established and the log shipper starts a new epoch, exactly as [`Cluster::restore`] does.
    pub fn from_durable(
        store: Durable,
        now: Timestamp,
        rng: &mut dyn RngCore,
    ) -> Result<Cluster, RecoverError> {
        let bytes = store.meta.ok_or(RecoverError::NoMeta)?;
        let record = MetaRecord::from_bytes(&bytes)?;
        let (meta, index_damage) = std::sync::Arc::unwrap_or_clone(record.0);
        let storage = Storage::from_parts(store.entries, index_damage);
        let buffer = meta.config.log_shipper_buffer;
        let p = Persisted {
            storage,
            wal: Wal::new(store.wal, buffer, 0),
            meta: Tracked::clean(meta.sanitized()),
        };
        Ok(Cluster::restart(p, now, rng))
    }

    /// The batch of persisted-state changes since the last call (taken by [`Cluster::ready`]).
    pub(super) fn take_batch(&mut self) -> Batch {
        let changed = std::mem::take(&mut self.v.changed);
        let storage = changed
            .into_iter()
            .map(|k| {
                let e = self.p.storage.get(&k).cloned();
                (k, e)
            })
            .collect();
        let last = self.p.wal.last();
        let wal = (self.v.handed_out.wal != Some(last)).then(|| {
            self.v.handed_out.wal = Some(last);
            last
        });
        let damage = self.p.storage.index_damage();
        let meta = if self.p.meta.take_dirty() {
            self.p.meta.changed_since_handed_out(damage).map(MetaRecord)
        } else {
            None
        };
        Batch { storage, wal, meta }
    }

    /// A cluster restarting from its persisted state: volatile state fresh, the log in a new epoch.
    pub(super) fn restart(mut p: Persisted, now: Timestamp, rng: &mut dyn RngCore) -> Cluster {
        let wal_last = p.wal.last();
        p.wal = Wal::new(wal_last, p.meta.config.log_shipper_buffer, rng.next_u64());
        let mut c = Cluster {
            p,
            v: Volatile {
                started: now,
                handed_out: HandedOut {
                    wal: Some(wal_last),
                },
                ..Volatile::default()
            },
        };
        for kind in Kind::ALL {
            if matches!(c.role(kind), Role::Secondary(_) | Role::Bootstrapping(_)) {
                c.v.links.insert(kind, Link::new(now, rng));
            }
        }
        c
    }
}

/// What the batches handed out so far said (the log position), to hand out only changes. Not part
/// of the cluster's state: equality and hashing ignore it, so taking a batch changes no comparison.
#[derive(Clone, Debug, Default)]
pub(super) struct HandedOut {
    wal: Option<u64>,
}

impl PartialEq for HandedOut {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for HandedOut {}

impl std::hash::Hash for HandedOut {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// A value whose every mutable borrow marks it changed, so the batch carries it only when it may
/// have changed, without comparing or hashing it after every step. Equality and hashing see the
/// value only.
#[derive(Clone, Debug)]
pub(super) struct Tracked<T> {
    value: T,
    dirty: bool,
    /// The value (and the index damage persisted with it) last handed out, so a mutable borrow
    /// that changed nothing (a refused request looks before it refuses) hands out nothing, and
    /// nothing is serialized to find that out. Shared, so copying a cluster does not copy it.
    last: Option<std::sync::Arc<(T, IndexDamage)>>,
}

/// The index damage persisted with the meta record.
type IndexDamage = Vec<(usize, String)>;

impl<T> Tracked<T> {
    /// A value not yet made durable.
    pub(super) fn new(value: T) -> Tracked<T> {
        Tracked {
            value,
            dirty: true,
            last: None,
        }
    }

    /// A value read back from durable state.
    pub(super) fn clean(value: T) -> Tracked<T> {
        Tracked {
            value,
            dirty: false,
            last: None,
        }
    }

    /// Marks it changed: for state persisted with it but kept elsewhere (index damage).
    pub(super) fn touch(&mut self) {
        self.dirty = true;
    }

    /// Whether it was borrowed mutably since the last call.
    fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The value with `damage`, when it differs from what was last handed out; it is then
    /// remembered as handed out.
    fn changed_since_handed_out(
        &mut self,
        damage: &[(usize, String)],
    ) -> Option<std::sync::Arc<(T, IndexDamage)>>
    where
        T: Clone + PartialEq,
    {
        if let Some(last) = &self.last {
            if last.0 == self.value && last.1 == damage {
                return None;
            }
        }
        let now = std::sync::Arc::new((self.value.clone(), damage.to_vec()));
        self.last = Some(now.clone());
        Some(now)
    }
}

impl<T> std::ops::Deref for Tracked<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> std::ops::DerefMut for Tracked<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.dirty = true;
        &mut self.value
    }
}

impl<T: PartialEq> PartialEq for Tracked<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Tracked<T> {}

impl<T: std::hash::Hash> std::hash::Hash for Tracked<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

impl<T: Serialize> Serialize for Tracked<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Tracked<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Tracked::clean)
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    /// Two tracked values are equal, and hash alike, exactly when their values are: what was
    /// handed out to the host and the dirty flag are bookkeeping, not state.
    #[test]
    fn tracked_values_compare_and_hash_by_value_only() {
        use std::hash::{BuildHasher, RandomState};
        let h = RandomState::new();
        let (a, b) = (Tracked::clean(1u32), Tracked::clean(2u32));
        let mut dirty = Tracked::clean(1u32);
        *dirty = 1;
        assert!(a == dirty && a != b);
        assert_eq!(h.hash_one(&a), h.hash_one(&dirty));
        assert_ne!(h.hash_one(&a), h.hash_one(&b));
    }

    /// A new cluster's first batch: it carries the meta record.
    fn first_batch() -> Batch {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mounts = [("secret/".to_string(), false)];
        let mut c = Cluster::new(super::super::ClusterConfig::new("A"), &mounts, &mut rng);
        c.ready().persist
    }

    /// The meta record a batch hands out survives its bytes: reading back what `to_bytes` gave
    /// is the same record, through serde too, and other bytes are refused, not misread.
    #[test]
    fn a_meta_record_reads_back_from_its_bytes() {
        let record = first_batch()
            .meta
            .expect("a new cluster hands out its meta record");
        let bytes = record.to_bytes();
        assert_eq!(MetaRecord::from_bytes(&bytes).unwrap(), record);
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(serde_json::from_str::<MetaRecord>(&json).unwrap(), record);
        assert!(matches!(
            MetaRecord::from_bytes(b"{\"format_version\": 99}"),
            Err(RecoverError::UnknownVersion { found: 99 })
        ));
        assert!(matches!(
            MetaRecord::from_bytes(b"not json"),
            Err(RecoverError::Corrupted(_))
        ));
        assert_eq!(format!("{record:?}"), "MetaRecord(<secret>)");
    }

    /// A batch is empty only when it holds no storage change, no log position and no meta record:
    /// a host may skip its commit then, and only then.
    #[test]
    fn a_batch_is_empty_only_without_all_three_parts() {
        assert!(Batch::default().is_empty());
        let parts = [
            Batch {
                storage: vec![("k".into(), None)],
                ..Batch::default()
            },
            Batch {
                wal: Some(3),
                ..Batch::default()
            },
            Batch {
                meta: first_batch().meta,
                ..Batch::default()
            },
        ];
        for b in parts {
            assert!(!b.is_empty(), "{b:?}");
        }
        let b = Batch {
            storage: vec![("a".into(), None), ("b".into(), None)],
            ..Batch::default()
        };
        assert_eq!(b.keys().collect::<Vec<_>>(), ["a", "b"]);
    }
}
