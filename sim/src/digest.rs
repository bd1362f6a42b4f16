//! FNV-1a, 64-bit: a fixed hash function, so digests (the fuzzer's per-run `log`, a report's step
//! lines) do not depend on a randomly keyed hasher and are the same on every machine.

use std::hash::{Hash, Hasher};

/// The FNV-1a hasher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The digest of `value`.
pub fn of(value: &impl Hash) -> u64 {
    let mut h = Fnv1a::default();
    value.hash(&mut h);
    h.finish()
}

/// Feeds a JSON object to a hasher, keys in order (`serde_json::Value` has no `Hash`).
pub fn hash_json_map<H: std::hash::Hasher>(
    map: &std::collections::BTreeMap<String, serde_json::Value>,
    h: &mut H,
) {
    use std::hash::Hash;
    map.len().hash(h);
    for (k, v) in map {
        k.hash(h);
        hash_json(v, h);
    }
}

/// Feeds a JSON value to a hasher: its kind, then its contents (object keys in order).
pub fn hash_json<H: std::hash::Hasher>(v: &serde_json::Value, h: &mut H) {
    use serde_json::Value;
    use std::hash::Hash;
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => (2u8, n.to_string()).hash(h),
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(a) => {
            (4u8, a.len()).hash(h);
            for x in a {
                hash_json(x, h);
            }
        }
        Value::Object(o) => {
            (5u8, o.len()).hash(h);
            for (k, x) in o {
                k.hash(h);
                hash_json(x, h);
            }
        }
    }
}
