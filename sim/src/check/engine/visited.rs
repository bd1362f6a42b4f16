//! The visited set: each unique state's fingerprint and a link to its parent, in 12 bytes a slot.
//!
//! An open-addressing table with linear probing, kept between 79% and 90% full. A slot holds a
//! fingerprint (8 bytes; 0 marks an empty slot) and its parent's slot number (4 bytes), in two
//! arrays of exactly the table's size, so a unique state costs 12 / load bytes: 13.3 to 15.2. (A
//! general-purpose map of `u64` to `u64` costs 16 bytes and a control byte a slot at 44% to 87% load:
//! 19 to 39 bytes a state.) Fingerprints are uniformly spread hashes, so a slot's home is the
//! fingerprint scaled to the table's size and no further hashing is needed. Growing the table moves
//! entries to new slots, so the parent links are renumbered in the same pass.
//!
//! The model is far slower than the table (tens of microseconds a state against well under one for
//! a lookup), which is what lets the table run this full.

/// What an empty slot holds. A state whose fingerprint is 0 is stored as [`ZERO`] (merging it with
/// a state of that fingerprint, a chance of 1 in 2^64, and giving that state's children the parent 0).
const EMPTY: u64 = 0;
const ZERO: u64 = 0x9e37_79b9_7f4a_7c15;

/// Fingerprint to parent fingerprint; an initial state is its own parent.
#[derive(Default)]
pub struct Visited {
    fps: Vec<u64>,
    parents: Vec<u32>,
    len: usize,
}

impl Visited {
    /// How many states it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds the state with fingerprint `fp`.
    pub fn contains(&self, fp: u64) -> bool {
        self.slot(stored(fp)).is_ok()
    }

    /// Adds state `fp` reached from state `parent` (itself for an initial state, which is then
    /// its own parent; otherwise `parent` must be held already). False if `fp` was held already (it
    /// keeps its first parent).
    pub fn insert(&mut self, fp: u64, parent: u64) -> bool {
        let fp = stored(fp);
        if (self.len + 1) * 10 > self.fps.len() * 9 {
            self.grow();
        }
        let Err(free) = self.slot(fp) else {
            return false;
        };
        let parent_slot = if stored(parent) == fp {
            free
        } else {
            self.slot(stored(parent))
                .expect("a parent is visited before its children")
        };
        self.fps[free] = fp;
        self.parents[free] = parent_slot as u32;
        self.len += 1;
        true
    }

    /// The parent of state `fp`, if it is held.
    pub fn parent(&self, fp: u64) -> Option<u64> {
        let at = self.slot(stored(fp)).ok()?;
        let parent = self.fps[self.parents[at] as usize];
        Some(if parent == ZERO { 0 } else { parent })
    }

    /// Bytes the table takes.
    pub fn bytes(&self) -> usize {
        self.fps.capacity() * std::mem::size_of::<u64>()
            + self.parents.capacity() * std::mem::size_of::<u32>()
    }

    /// `Ok(slot)` holding `fp`, or `Err(slot)`: the empty slot where it would go.
    fn slot(&self, fp: u64) -> Result<usize, usize> {
        let n = self.fps.len();
        if n == 0 {
            return Err(0);
        }
        let mut at = home(fp, n);
        loop {
            match self.fps[at] {
                EMPTY => return Err(at),
                f if f == fp => return Ok(at),
                _ => at = if at + 1 == n { 0 } else { at + 1 },
            }
        }
    }

    /// Makes room: a seventh more slots (16 at first), every entry moved, every parent link
    /// renumbered.
    fn grow(&mut self) {
        let old_fps = std::mem::take(&mut self.fps);
        let old_parents = std::mem::take(&mut self.parents);
        let n = (old_fps.len() + old_fps.len() / 7).max(16);
        assert!(n <= u32::MAX as usize, "more than 4 billion visited states");
        self.fps = vec![EMPTY; n];
        self.parents = vec![0; n];
        let mut moved = vec![u32::MAX; old_fps.len()];
        for (old, &fp) in old_fps.iter().enumerate() {
            if fp == EMPTY {
                continue;
            }
            let Err(at) = self.slot(fp) else {
                unreachable!("fingerprints in the table are distinct")
            };
            self.fps[at] = fp;
            moved[old] = at as u32;
        }
        for (old, &fp) in old_fps.iter().enumerate() {
            if fp != EMPTY {
                let at = moved[old] as usize;
                self.parents[at] = moved[old_parents[old] as usize];
            }
        }
    }
}

fn stored(fp: u64) -> u64 {
    if fp == EMPTY {
        ZERO
    } else {
        fp
    }
}

/// The slot `fp` starts probing at: the fingerprint scaled to `n` slots.
fn home(fp: u64, n: usize) -> usize {
    ((u128::from(fp) * n as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spread of fingerprints like a model's, with 0 among them.
    fn fp(i: u64) -> u64 {
        if i == 3 {
            return 0;
        }
        let mut x = (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 31;
        x.wrapping_mul(0xbf58_476d_1ce4_e5b9)
    }

    /// Invariant: after any number of growths every state is held once, with the parent it was
    /// inserted with, and the table stays between 12 and 16 bytes a state.
    #[test]
    fn parents_survive_growth_and_a_state_costs_under_16_bytes() {
        let mut v = Visited::default();
        assert!(v.insert(fp(0), fp(0)));
        for i in 1..200_000u64 {
            assert!(v.insert(fp(i), fp(i / 2)));
            if i > 1000 {
                let per_state = v.bytes() as f64 / v.len() as f64;
                assert!((12.0..=16.0).contains(&per_state), "{per_state} at {i}");
            }
        }
        assert_eq!(v.len(), 200_000);
        assert!(!v.insert(fp(5), fp(1)), "held already");
        assert_eq!(v.parent(fp(5)), Some(fp(2)), "keeps its first parent");
        for i in 1..200_000u64 {
            assert_eq!(v.parent(fp(i)), Some(fp(i / 2)), "{i}");
        }
        assert_eq!(
            v.parent(fp(0)),
            Some(fp(0)),
            "an initial state is its own parent"
        );
        assert_eq!(v.parent(fp(6)), Some(0), "state 3's fingerprint is 0");
        assert!(v.contains(0));
        assert!(!v.contains(fp(200_000)));
        assert_eq!(v.parent(fp(200_001)), None);
    }
}
