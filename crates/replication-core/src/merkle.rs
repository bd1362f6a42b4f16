//! The Merkle index: an incrementally maintained digest of a set of keys and values.
//!
//! Keys fall into [`BUCKETS`] buckets by a hash of the key. Each bucket's digest is the wrapping sum of
//! the 128-bit hashes of its `(key, value)` entries, and the index keeps the wrapping sum of all bucket
//! digests, so a write costs O(log bucket size) whatever the number of keys, and equal contents give equal
//! digests regardless of the order they were written in. The 40-hex-character `merkle_root` is SHA-1
//! over that total. A diff compares bucket digests first, then only the keys of differing buckets, which
//! is what lets a Merkle sync move only the conflicting keys.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use std::collections::{BTreeMap, BTreeSet};

/// Number of buckets (pages) in an index.
pub(crate) const BUCKETS: usize = 256;

/// The 128-bit hash of one entry.
pub(crate) fn entry_hash(key: &str, value: &str) -> u128 {
    let mut h = Sha1::new();
    h.update((key.len() as u64).to_be_bytes());
    h.update(key.as_bytes());
    h.update(value.as_bytes());
    let out = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&out[..16]);
    u128::from_be_bytes(b)
}

/// Which bucket a key lives in (FNV-1a; stable across runs and platforms).
pub(crate) fn bucket_of(key: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % BUCKETS as u64) as usize
}

/// Digest of one index (or a sum of indexes) as shipped in a diff: one digest per bucket.
pub(crate) type BucketDigests = Vec<u128>;

/// An incrementally maintained index over one class of keys.
///
/// Sparse: only buckets with keys (or a non-zero digest) are stored, so a cluster with a handful of
/// keys copies and compares a handful of buckets, not [`BUCKETS`] (the model checker copies a
/// cluster at every step it takes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct MerkleIndex {
    /// Non-zero bucket digests, by bucket.
    buckets: BTreeMap<usize, u128>,
    total: u128,
    /// Keys of each non-empty bucket with their entry hashes.
    keys: BTreeMap<usize, BTreeMap<String, u128>>,
}

/// The keys of a bucket that has none.
static NO_KEYS: BTreeMap<String, u128> = BTreeMap::new();

impl MerkleIndex {
    /// Records `key = value` (replacing any previous value of `key`).
    pub(crate) fn put(&mut self, key: &str, value: &str) {
        let b = bucket_of(key);
        let h = entry_hash(key, value);
        if let Some(old) = self.keys.entry(b).or_default().insert(key.to_string(), h) {
            self.sub(b, old);
        }
        self.add(b, h);
    }

    /// Forgets `key`.
    pub(crate) fn remove(&mut self, key: &str) {
        let b = bucket_of(key);
        let Some(keys) = self.keys.get_mut(&b) else {
            return;
        };
        if let Some(old) = keys.remove(key) {
            if keys.is_empty() {
                self.keys.remove(&b);
            }
            self.sub(b, old);
        }
    }

    fn add(&mut self, b: usize, h: u128) {
        self.set_bucket(b, self.bucket(b).wrapping_add(h));
        self.total = self.total.wrapping_add(h);
    }

    fn sub(&mut self, b: usize, h: u128) {
        self.set_bucket(b, self.bucket(b).wrapping_sub(h));
        self.total = self.total.wrapping_sub(h);
    }

    /// The digest of bucket `b`.
    pub(crate) fn bucket(&self, b: usize) -> u128 {
        self.buckets.get(&b).copied().unwrap_or(0)
    }

    /// Stores a digest, keeping only non-zero ones (so equal digests give equal indexes).
    fn set_bucket(&mut self, b: usize, digest: u128) {
        if digest == 0 {
            self.buckets.remove(&b);
        } else {
            self.buckets.insert(b, digest);
        }
    }

    /// Fault injection: perturbs the digest of `bucket` (below [`BUCKETS`]) by `delta` made odd, so
    /// the index no longer matches the data whatever the delta.
    pub(crate) fn corrupt(&mut self, bucket: usize, delta: u128) {
        let delta = delta | 1;
        self.set_bucket(bucket, self.bucket(bucket).wrapping_add(delta));
        self.total = self.total.wrapping_add(delta);
    }

    /// The wrapping sum of all entry hashes (plus any corruption).
    pub(crate) fn total(&self) -> u128 {
        self.total
    }

    /// Every bucket's digest, in bucket order ([`BUCKETS`] of them).
    pub(crate) fn buckets(&self) -> BucketDigests {
        (0..BUCKETS).map(|b| self.bucket(b)).collect()
    }

    /// The keys (with entry hashes) of one bucket.
    pub(crate) fn bucket_keys(&self, bucket: usize) -> &BTreeMap<String, u128> {
        self.keys.get(&(bucket % BUCKETS)).unwrap_or(&NO_KEYS)
    }

    /// True when the digests agree with the recorded entry hashes (no corruption).
    #[cfg(test)]
    fn is_consistent(&self) -> bool {
        (0..BUCKETS).all(|b| {
            self.bucket_keys(b)
                .values()
                .fold(0u128, |a, h| a.wrapping_add(*h))
                == self.bucket(b)
        }) && self.buckets.values().fold(0u128, |a, h| a.wrapping_add(*h)) == self.total
    }

    /// Rebuilds the digests from the recorded entries (what `reindex` does).
    pub(crate) fn rebuild(&mut self) {
        self.buckets.clear();
        for b in self.keys.keys().copied().collect::<Vec<_>>() {
            let digest = self
                .bucket_keys(b)
                .values()
                .fold(0u128, |a, h| a.wrapping_add(*h));
            self.set_bucket(b, digest);
        }
        self.total = self.buckets.values().fold(0u128, |a, h| a.wrapping_add(*h));
    }
}

/// The 40-hex-character root for a digest total, domain-separated by `tag` (the kind).
pub(crate) fn root_hex(tag: &str, total: u128) -> String {
    let mut h = Sha1::new();
    h.update(tag.as_bytes());
    h.update(total.to_be_bytes());
    crate::ids::hex(&h.finalize())
}

/// Buckets whose digests differ between two digest vectors.
pub(crate) fn differing_buckets(ours: &[u128], theirs: &[u128]) -> BTreeSet<usize> {
    (0..BUCKETS)
        .filter(|&b| ours.get(b) != theirs.get(b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a's published 64-bit test vectors, reduced to a bucket: the bucket of a key is the same
    /// on every platform and in every version, so indexes built apart compare bucket by bucket.
    #[test]
    fn buckets_are_fnv1a_and_spread_keys() {
        assert_eq!(bucket_of(""), 0x25); // cbf29ce484222325
        assert_eq!(bucket_of("a"), 0x8c); // af63dc4c8601ec8c
        assert_eq!(bucket_of("foobar"), 0xe8); // 85944171f73967e8
        let used: BTreeSet<usize> = (0..2000)
            .map(|i| bucket_of(&format!("secret/k{i}")))
            .collect();
        assert!(
            used.len() > 240,
            "2000 keys fill only {} buckets",
            used.len()
        );
    }

    #[test]
    fn order_of_writes_does_not_matter() {
        let mut a = MerkleIndex::default();
        let mut b = MerkleIndex::default();
        a.put("x", "1");
        a.put("y", "2");
        b.put("y", "2");
        b.put("x", "0");
        b.put("x", "1");
        assert_eq!(a, b);
        assert_eq!(root_hex("dr", a.total()).len(), 40);
    }

    #[test]
    fn remove_restores_previous_digest() {
        let mut a = MerkleIndex::default();
        a.put("x", "1");
        let before = a.clone();
        a.put("z", "9");
        a.remove("z");
        assert_eq!(a, before);
    }

    #[test]
    fn corruption_is_detected_and_rebuild_repairs_it() {
        let mut a = MerkleIndex::default();
        a.put("x", "1");
        let clean = a.clone();
        for delta in [0, 1, 42, u128::MAX] {
            a.corrupt(3, delta);
            assert!(!a.is_consistent(), "delta {delta}");
            assert_ne!(a.total(), clean.total(), "delta {delta}");
            a.rebuild();
            assert!(a.is_consistent());
            assert_eq!(a, clean);
        }
    }
}
