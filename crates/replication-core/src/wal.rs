//! The write-ahead log and its bounded log-shipper buffer.

use crate::storage::DataClass;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// One logged mutation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WalOp {
    /// `key = value`.
    Put {
        /// Path.
        key: String,
        /// New value.
        value: String,
        /// Data class of the key.
        class: DataClass,
    },
    /// `key` removed.
    Delete {
        /// Path.
        key: String,
        /// Data class the key had.
        class: DataClass,
    },
}

impl WalOp {
    /// The key this op touches.
    pub fn key(&self) -> &str {
        match self {
            WalOp::Put { key, .. } | WalOp::Delete { key, .. } => key,
        }
    }

    /// The data class of the key.
    pub fn class(&self) -> DataClass {
        match self {
            WalOp::Put { class, .. } | WalOp::Delete { class, .. } => *class,
        }
    }
}

/// A WAL entry: its index in this cluster's log and the mutation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WalEntry {
    /// Index in the cluster's own log (never compared across clusters).
    pub index: u64,
    /// What changed.
    pub op: WalOp,
}

/// Where a secondary stands in a primary's log: the log's epoch and the last index applied.
///
/// The epoch changes whenever the cluster's buffer stops being a continuation of what it logged
/// before (a restart loses the in-memory buffer; a wipe replaces the data), so a cursor from another
/// epoch always leads to a Merkle diff. A mode change keeps the epoch: every change to storage is
/// logged, so the log still describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    /// The primary's log epoch.
    pub epoch: u64,
    /// Last index applied.
    pub index: u64,
}

/// A cluster's log: the persisted `last_wal` counter and the in-memory shipper buffer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Wal {
    last: u64,
    /// In memory only: a restart starts a new epoch.
    #[serde(skip)]
    epoch: u64,
    capacity: usize,
    /// In memory only: the log shipper buffer does not survive a restart.
    #[serde(skip)]
    buffer: VecDeque<WalEntry>,
}

impl Wal {
    /// An empty log whose buffer keeps `capacity` entries, in `epoch`.
    pub(crate) fn new(last: u64, capacity: usize, epoch: u64) -> Wal {
        Wal {
            last,
            epoch,
            capacity: capacity.max(1),
            buffer: VecDeque::new(),
        }
    }

    /// Index of the last entry ever appended (`last_wal`).
    pub(crate) fn last(&self) -> u64 {
        self.last
    }

    /// The cursor a secondary has after applying everything shipped so far.
    pub(crate) fn head(&self) -> Cursor {
        Cursor {
            epoch: self.epoch,
            index: self.last,
        }
    }

    /// Appends an op; the oldest buffered entry is dropped when the buffer is full. Returns the index.
    pub(crate) fn append(&mut self, op: WalOp) -> u64 {
        self.last += 1;
        if self.buffer.len() == self.capacity {
            self.buffer.pop_front();
        }
        self.buffer.push_back(WalEntry {
            index: self.last,
            op,
        });
        self.last
    }

    /// Starts a new epoch: the buffer is emptied, so every secondary must diff.
    pub(crate) fn new_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.buffer.clear();
    }

    /// Entries after `cursor`, if the buffer still holds all of them in the same epoch.
    pub(crate) fn entries_after(&self, cursor: Cursor) -> Option<impl Iterator<Item = &WalEntry>> {
        if cursor.epoch != self.epoch || cursor.index > self.last {
            return None;
        }
        if cursor.index == self.last {
            return Some(self.buffer.range(self.buffer.len()..));
        }
        let first = self.buffer.front()?.index;
        if cursor.index + 1 < first {
            return None;
        }
        let skip = (cursor.index + 1 - first) as usize;
        Some(self.buffer.range(skip..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str) -> WalOp {
        WalOp::Put {
            key: k.into(),
            value: "v".into(),
            class: DataClass::Replicated,
        }
    }

    #[test]
    fn resumes_only_from_a_buffered_position_in_the_same_epoch() {
        let mut w = Wal::new(0, 3, 1);
        for k in ["a", "b", "c", "d", "e"] {
            w.append(put(k));
        }
        let at = |index| Cursor { epoch: 1, index };
        let keys = |c| {
            w.entries_after(c)
                .map(|it| it.map(|e| e.op.key().to_string()).collect::<Vec<_>>())
        };
        assert_eq!(keys(at(5)), Some(vec![]));
        assert_eq!(keys(at(3)), Some(vec!["d".into(), "e".into()]));
        assert_eq!(keys(at(2)), Some(vec!["c".into(), "d".into(), "e".into()]));
        assert_eq!(keys(at(1)), None, "entry 2 fell out of the buffer");
        assert_eq!(keys(Cursor { epoch: 2, index: 5 }), None);
        assert_eq!(keys(at(9)), None);
    }

    /// A new epoch keeps the index running but no position of the old epoch resumes, not even
    /// the head: every secondary diffs.
    #[test]
    fn a_new_epoch_resumes_nobody() {
        let mut w = Wal::new(0, 8, 1);
        w.append(put("a"));
        let old_head = w.head();
        assert_eq!(old_head, Cursor { epoch: 1, index: 1 });
        w.new_epoch(7);
        assert_eq!(w.head(), Cursor { epoch: 7, index: 1 });
        assert!(w.entries_after(old_head).is_none());
        assert_eq!(w.append(put("b")), 2);
        let after: Vec<_> = w.entries_after(w.head()).unwrap().collect();
        assert!(after.is_empty());
        assert!(
            w.entries_after(Cursor { epoch: 7, index: 0 }).is_none(),
            "entry 1 belongs to the old epoch's buffer, which was emptied"
        );
        assert_eq!(w.last(), 2);
    }
}
