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
