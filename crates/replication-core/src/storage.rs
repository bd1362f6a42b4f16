//! A cluster's storage: mounts, keys under them, their data classes, and the Merkle indexes.
//!
//! Storage is an ordered map of paths to values. A mount (`secret/`, `ns1/kv/`) is itself an entry under
//! the reserved prefix `sys/mounts/`, so the mount table replicates exactly like data. A mount is shared
//! or local: keys under shared mounts are the `replicated` class, keys under local mounts the `local`
//! class. Performance replication ships `replicated` keys; DR replication ships both.

use crate::ids::Kind;
use crate::merkle::{root_hex, BucketDigests, MerkleIndex, BUCKETS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Prefix under which mount entries are stored.
pub(crate) const MOUNT_PREFIX: &str = "sys/mounts/";

/// Which replication kinds ship a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    /// Under a shared mount: shipped by performance and DR replication.
    Replicated,
    /// Under a local mount: shipped by DR replication only.
    Local,
}

/// One stored value and its class.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// The value.
    pub value: String,
    /// Its data class.
    pub class: DataClass,
}

/// The key under which a mount's entry is stored.
pub(crate) fn mount_key(mount: &str) -> String {
    format!("{MOUNT_PREFIX}{mount}")
}

/// A mount path the model refuses, and why (the message says what to write instead).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MountPathError(String);

/// Checks a mount path: non-empty segments, ends with `/`, not under the reserved `sys/`. Hosts
/// check the mounts they create a cluster with here ([`crate::Cluster::new`] skips invalid ones).
pub fn check_mount_path(path: &str) -> Result<(), MountPathError> {
    let refuse = |why: String| Err(MountPathError(why));
    if !path.ends_with('/') {
        return refuse(format!(
            "mount path {path:?} must end with '/', like \"secret/\" or \"ns1/kv/\""
        ));
    }
    if path.starts_with("sys/") {
        return refuse(format!(
            "mount path {path:?} is reserved for the system backend"
        ));
    }
    if path.starts_with('/') || path[..path.len() - 1].split('/').any(|s| s.is_empty()) {
        return refuse(format!("mount path {path:?} has an empty segment"));
    }
    if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return refuse(format!(
            "mount path {path:?} contains whitespace or control characters"
        ));
    }
    Ok(())
}

/// Checks a key path for a client operation.
pub(crate) fn validate_key_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.ends_with('/') {
        return Err(format!(
            "path {path:?} must name a key, like \"secret/app\""
        ));
    }
    if path.starts_with("sys/") {
        return Err(format!("path {path:?} is reserved for the system backend"));
    }
    if path.chars().any(|c| c.is_control()) {
        return Err(format!("path {path:?} contains control characters"));
    }
    Ok(())
}

/// Allow or deny, as in `paths-filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterMode {
    /// Only the listed mounts and namespaces are shipped.
    Allow,
    /// The listed mounts and namespaces are not shipped.
    Deny,
}

/// A `mode` that is neither `allow` nor `deny`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("mode must be \"allow\" or \"deny\", got {0:?}")]
pub struct FilterModeError(pub String);

impl FilterMode {
    /// Parses the `mode` parameter: `allow` (the default when absent or empty) or `deny`.
    pub fn parse(mode: Option<&str>) -> Result<FilterMode, FilterModeError> {
        match mode.map(str::trim) {
            None | Some("") | Some("allow") => Ok(FilterMode::Allow),
            Some("deny") => Ok(FilterMode::Deny),
            Some(other) => Err(FilterModeError(other.to_string())),
        }
    }
}

/// The mounts and namespaces a paths filter excludes, computed from the primary's mount table
/// (`dynamic-filter`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DynamicFilter {
    /// Mounts filtered out.
    pub mounts: Vec<String>,
    /// Namespaces filtered out.
    pub namespaces: Vec<String>,
}

/// A performance secondary's paths filter: which mounts and namespaces the primary ships to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PathsFilter {
    /// Allow or deny.
    pub mode: FilterMode,
    /// Mount paths (`secret/`) and namespace prefixes (`ns1/`), each ending with `/`.
    pub paths: Vec<String>,
}

impl PathsFilter {
    /// Whether keys of `mount` are shipped under this filter.
    pub fn ships_mount(&self, mount: &str) -> bool {
        let listed = self.paths.iter().any(|p| mount.starts_with(p.as_str()));
        match self.mode {
            FilterMode::Allow => listed,
            FilterMode::Deny => !listed,
        }
    }
}

/// A cluster's stored data and its Merkle indexes (one per data class).
///
/// Only the entries (and any injected index damage) are persisted; the indexes and the mount table
/// are derived and rebuilt when storage is loaded, as Vault rebuilds its in-memory Merkle pages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "StorageRepr", from = "StorageRepr")]
pub struct Storage {
    entries: BTreeMap<String, Entry>,
    replicated: MerkleIndex,
    local: MerkleIndex,
    /// Mount path -> local flag, derived from the `sys/mounts/` entries.
    mounts: BTreeMap<String, bool>,
    /// Index damage injected since the last reindex: (bucket, delta as hex).
    corruption: Vec<(usize, String)>,
}

/// The persisted form of [`Storage`].
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StorageRepr {
    entries: BTreeMap<String, Entry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    corruption: Vec<(usize, String)>,
}

impl From<Storage> for StorageRepr {
    fn from(s: Storage) -> StorageRepr {
        StorageRepr {
            entries: s.entries,
            corruption: s.corruption,
        }
    }
}

impl From<StorageRepr> for Storage {
    fn from(r: StorageRepr) -> Storage {
        let mut s = Storage::default();
        for (k, e) in r.entries {
            s.put(&k, &e.value, e.class);
        }
        for (bucket, delta) in r.corruption {
            let d = u128::from_str_radix(&delta, 16).unwrap_or(1);
            s.corrupt_index(bucket, d);
        }
        s
    }
}

impl Storage {
    /// Storage holding `entries`, its indexes and mount table built from them, with the index
    /// damage of [`Storage::index_damage`] applied again.
    pub(crate) fn from_parts(
        entries: BTreeMap<String, Entry>,
        corruption: Vec<(usize, String)>,
    ) -> Storage {
        Storage::from(StorageRepr {
            entries,
            corruption,
        })
    }

    /// Index damage injected since the last reindex (bucket, delta as hex): persisted with the
    /// cluster's other state so a restart keeps a damaged index damaged, as Vault's stored Merkle
    /// pages would be.
    pub(crate) fn index_damage(&self) -> &[(usize, String)] {
        &self.corruption
    }

    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Every entry in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.entries.iter()
    }

    /// Number of stored entries (mount entries included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Mounts and their local flag.
    pub fn mounts(&self) -> &BTreeMap<String, bool> {
        &self.mounts
    }

    /// The mount that holds `path` (longest matching mount path) and whether it is local.
    pub fn mount_of(&self, path: &str) -> Option<(&str, bool)> {
        if let Some(m) = path.strip_prefix(MOUNT_PREFIX) {
            return self.mounts.get_key_value(m).map(|(k, l)| (k.as_str(), *l));
        }
        self.mounts
            .range::<str, _>((std::ops::Bound::Unbounded, std::ops::Bound::Included(path)))
            .rev()
            .find(|(m, _)| path.starts_with(m.as_str()))
            .map(|(m, l)| (m.as_str(), *l))
    }

    /// The mount `key` belongs to for filtering purposes: the mount itself for a mount entry.
    pub(crate) fn filter_mount_of<'a>(&'a self, key: &'a str) -> Option<&'a str> {
        match key.strip_prefix(MOUNT_PREFIX) {
            Some(m) => Some(m),
            None => self.mount_of(key).map(|(m, _)| m),
        }
    }

    /// Stores `key = value` with `class`. Returns true if anything changed.
    pub(crate) fn put(&mut self, key: &str, value: &str, class: DataClass) -> bool {
        if let Some(e) = self.entries.get(key) {
            if e.value == value && e.class == class {
                return false;
            }
        }
        self.remove(key);
        self.index_mut(class).put(key, value);
        if let Some(m) = key.strip_prefix(MOUNT_PREFIX) {
            self.mounts.insert(m.to_string(), class == DataClass::Local);
        }
        self.entries.insert(
            key.to_string(),
            Entry {
                value: value.to_string(),
                class,
            },
        );
        true
    }

    /// Removes `key`. Returns the removed entry.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Entry> {
        let old = self.entries.remove(key)?;
        self.index_mut(old.class).remove(key);
        if let Some(m) = key.strip_prefix(MOUNT_PREFIX) {
            self.mounts.remove(m);
        }
        Some(old)
    }

    /// Removes everything (the wipe of `secondary/enable`). Returns how many entries were removed.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.entries.len();
        *self = Storage::default();
        n
    }

    fn index_mut(&mut self, class: DataClass) -> &mut MerkleIndex {
        match class {
            DataClass::Replicated => &mut self.replicated,
            DataClass::Local => &mut self.local,
        }
    }

    /// Whether `kind` ships this entry (performance: replicated class only, through `filter`).
    pub fn ships(&self, kind: Kind, filter: Option<&PathsFilter>, key: &str, e: &Entry) -> bool {
        match kind {
            Kind::Dr => true,
            Kind::Performance => {
                e.class == DataClass::Replicated
                    && match (filter, self.filter_mount_of(key)) {
                        (Some(f), Some(m)) => f.ships_mount(m),
                        (Some(_), None) => false,
                        (None, _) => true,
                    }
            }
        }
    }

    /// The `merkle_root` of what `kind` ships from this cluster.
    pub fn merkle_root(&self, kind: Kind) -> String {
        let total = match kind {
            Kind::Dr => self.replicated.total().wrapping_add(self.local.total()),
            Kind::Performance => self.replicated.total(),
        };
        root_hex(kind.as_str(), total)
    }

    /// Per-bucket digests of what `kind` ships to a secondary with `filter`.
    ///
    /// Unfiltered digests come from the maintained indexes in O(buckets); a filter costs one pass over
    /// the keys (only on a diff, never per write).
    pub(crate) fn digests(&self, kind: Kind, filter: Option<&PathsFilter>) -> BucketDigests {
        match (kind, filter) {
            (Kind::Dr, _) => (0..BUCKETS)
                .map(|b| self.replicated.bucket(b).wrapping_add(self.local.bucket(b)))
                .collect(),
            (Kind::Performance, None) => self.replicated.buckets(),
            (Kind::Performance, Some(_)) => {
                let mut d = vec![0u128; BUCKETS];
                for (b, digest) in d.iter_mut().enumerate() {
                    for (k, h) in self.replicated.bucket_keys(b) {
                        if let Some(e) = self.entries.get(k) {
                            if self.ships(kind, filter, k, e) {
                                *digest = digest.wrapping_add(*h);
                            }
                        }
                    }
                }
                d
            }
        }
    }

    /// Shipped keys of one bucket with their entry hashes.
    pub(crate) fn bucket_entries(
        &self,
        kind: Kind,
        filter: Option<&PathsFilter>,
        bucket: usize,
    ) -> BTreeMap<String, u128> {
        let mut out = BTreeMap::new();
        let classes: &[&MerkleIndex] = match kind {
            Kind::Dr => &[&self.replicated, &self.local],
            Kind::Performance => &[&self.replicated],
        };
        for idx in classes {
            for (k, h) in idx.bucket_keys(bucket) {
                if let Some(e) = self.entries.get(k) {
                    if self.ships(kind, filter, k, e) {
                        out.insert(k.clone(), *h);
                    }
                }
            }
        }
        out
    }

    /// Fault injection: the Merkle index no longer matches the data.
    pub(crate) fn corrupt_index(&mut self, bucket: usize, delta: u128) {
        let bucket = bucket % BUCKETS;
        self.replicated.corrupt(bucket, delta);
        self.corruption.push((bucket, format!("{delta:x}")));
    }

    /// True after a fault damaged the Merkle index, until `reindex` rebuilds it.
    pub fn index_corrupted(&self) -> bool {
        !self.corruption.is_empty()
    }

    /// Rebuilds the Merkle indexes from the stored entries.
    pub(crate) fn reindex(&mut self) {
        self.replicated.rebuild();
        self.local.rebuild();
        self.corruption.clear();
    }

    /// Checks the derived parts (mount table, indexes) against the entries: the tests' oracle for
    /// `put`, `remove` and `reindex` (storage read from a snapshot or a store is rebuilt from its
    /// entries, so it is consistent by construction).
    #[cfg(test)]
    fn check_consistency(&self) -> Result<(), &'static str> {
        let mut repl = MerkleIndex::default();
        let mut local = MerkleIndex::default();
        let mut mounts = BTreeMap::new();
        for (k, e) in &self.entries {
            match e.class {
                DataClass::Replicated => repl.put(k, &e.value),
                DataClass::Local => local.put(k, &e.value),
            }
            if let Some(m) = k.strip_prefix(MOUNT_PREFIX) {
                mounts.insert(m.to_string(), e.class == DataClass::Local);
            }
        }
        if mounts != self.mounts {
            return Err("mount table does not match the stored mount entries");
        }
        let mut ours = (self.replicated.clone(), self.local.clone());
        if self.index_corrupted() {
            ours.0.rebuild();
            ours.1.rebuild();
        }
        if ours != (repl, local) {
            return Err("Merkle index does not match the stored entries");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Storage {
        let mut s = Storage::default();
        s.put(&mount_key("secret/"), "shared", DataClass::Replicated);
        s.put(&mount_key("local-kv/"), "local", DataClass::Local);
        s.put(&mount_key("ns1/kv/"), "shared", DataClass::Replicated);
        s.put("secret/a", "1", DataClass::Replicated);
        s.put("local-kv/b", "2", DataClass::Local);
        s.put("ns1/kv/c", "3", DataClass::Replicated);
        s
    }

    #[test]
    fn mount_lookup_takes_the_longest_prefix() {
        let mut s = sample();
        s.put(&mount_key("ns1/"), "shared", DataClass::Replicated);
        assert_eq!(s.mount_of("ns1/kv/c"), Some(("ns1/kv/", false)));
        assert_eq!(s.mount_of("ns1/other"), Some(("ns1/", false)));
        assert_eq!(s.mount_of("local-kv/x"), Some(("local-kv/", true)));
        assert_eq!(s.mount_of("nope/x"), None);
    }

    #[test]
    fn performance_root_ignores_local_data_and_dr_root_does_not() {
        let mut s = sample();
        let (perf, dr) = (s.merkle_root(Kind::Performance), s.merkle_root(Kind::Dr));
        s.put("local-kv/b", "changed", DataClass::Local);
        assert_eq!(s.merkle_root(Kind::Performance), perf);
        assert_ne!(s.merkle_root(Kind::Dr), dr);
    }

    #[test]
    fn filters_select_mounts_and_namespaces() {
        let s = sample();
        let deny_ns = PathsFilter {
            mode: FilterMode::Deny,
            paths: vec!["ns1/".into()],
        };
        let shipped: Vec<_> = s
            .entries()
            .filter(|(k, e)| s.ships(Kind::Performance, Some(&deny_ns), k, e))
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(shipped, vec!["secret/a", "sys/mounts/secret/"]);
        let allow = PathsFilter {
            mode: FilterMode::Allow,
            paths: vec!["ns1/".into()],
        };
        assert!(allow.ships_mount("ns1/kv/") && !allow.ships_mount("secret/"));
        // filtered digests equal the digests of a storage that holds only the shipped keys
        let mut only = Storage::default();
        for (k, e) in s.entries() {
            if s.ships(Kind::Performance, Some(&deny_ns), k, e) {
                only.put(k, &e.value, e.class);
            }
        }
        assert_eq!(
            s.digests(Kind::Performance, Some(&deny_ns)),
            only.digests(Kind::Performance, None)
        );
    }

    /// `put` reports a change exactly when the value or the class differs, and a class change
    /// moves the entry between indexes (and a mount between shared and local).
    #[test]
    fn put_changes_only_what_differs() {
        let mut s = Storage::default();
        assert!(s.is_empty() && s.entries().next().is_none());
        assert!(s.put("secret/a", "1", DataClass::Replicated));
        assert!(!s.is_empty() && s.len() == 1);
        let perf = s.merkle_root(Kind::Performance);
        assert!(
            !s.put("secret/a", "1", DataClass::Replicated),
            "same value, same class"
        );
        assert!(
            s.put("secret/a", "1", DataClass::Local),
            "same value, other class"
        );
        assert_eq!(s.get("secret/a").map(|e| e.class), Some(DataClass::Local));
        assert_ne!(
            s.merkle_root(Kind::Performance),
            perf,
            "left the shared index"
        );
        assert!(s.put("secret/a", "2", DataClass::Local), "other value");
        assert!(s.put(&mount_key("kv/"), "m", DataClass::Replicated));
        assert_eq!(s.mounts().get("kv/"), Some(&false));
        assert!(s.put(&mount_key("kv/"), "m", DataClass::Local));
        assert_eq!(s.mounts().get("kv/"), Some(&true));
        assert_eq!(s.remove("kv/nothing"), None);
        assert!(s.remove(&mount_key("kv/")).is_some());
        assert!(s.mounts().is_empty() && s.len() == 1);
    }

    #[test]
    fn clear_and_consistency() {
        let mut s = sample();
        assert!(s.check_consistency().is_ok());
        s.corrupt_index(1, 7);
        assert!(s.index_corrupted());
        s.reindex();
        assert!(s.check_consistency().is_ok() && !s.index_corrupted());
        assert_eq!(s.clear(), 6);
        assert!(s.is_empty() && s.mounts().is_empty());
    }

    /// The oracle itself fails on derived parts that do not match the entries.
    #[test]
    fn the_consistency_check_finds_a_wrong_mount_table_or_index() {
        let mut s = sample();
        s.mounts.insert("ghost/".into(), false);
        assert_eq!(
            s.check_consistency(),
            Err("mount table does not match the stored mount entries")
        );
        let mut s = sample();
        s.replicated.put("secret/ghost", "x");
        assert_eq!(
            s.check_consistency(),
            Err("Merkle index does not match the stored entries")
        );
        let mut s = sample();
        s.local.remove("local-kv/b");
        assert!(s.check_consistency().is_err());
    }

    #[test]
    fn persists_entries_and_damage_and_rebuilds_the_rest() {
        let mut s = sample();
        s.corrupt_index(300, 99);
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("buckets"), "derived index is not persisted");
        let back: Storage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(back.index_corrupted());
        assert_eq!(
            back.merkle_root(Kind::Performance),
            s.merkle_root(Kind::Performance)
        );
    }

    #[test]
    fn mount_paths_are_refused_saying_why() {
        for good in ["secret/", "ns1/kv/", "a/", "system/"] {
            assert_eq!(check_mount_path(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "must end with '/'"),
            ("secret", "must end with '/'"),
            ("sys/", "reserved for the system backend"),
            ("sys/x/", "reserved for the system backend"),
            ("/", "has an empty segment"),
            ("a//", "has an empty segment"),
            ("/a/", "has an empty segment"),
            ("a b/", "contains whitespace or control characters"),
            ("a\u{7}/", "contains whitespace or control characters"),
        ] {
            let e = check_mount_path(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
            assert!(e.contains(&format!("{bad:?}")), "{bad:?}: {e}");
        }
    }

    #[test]
    fn key_paths_are_refused_saying_why() {
        for good in ["secret/app", "a", "secret/sys/x", "system/x"] {
            assert_eq!(validate_key_path(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "must name a key"),
            ("secret/", "must name a key"),
            ("sys/health", "reserved for the system backend"),
            ("secret/a\u{0}b", "contains control characters"),
        ] {
            let e = validate_key_path(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
