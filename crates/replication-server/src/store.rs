//! The durable store of one cluster: a redb database in the data directory.
//!
//! Three tables: `entries` (storage key → JSON [`Entry`]), `state` (`meta` → the core's meta record,
//! `wal` → the log position) and `tokens` (Vault token → its [`TokenInfo`]). Each [`Batch`] the core
//! hands out is committed in one write transaction, fsync'd before `commit` returns: this is what
//! lets the node answer a client or send a message only once the change is durable.

// redb's own error type is large; a store error is rare (a failing disk) and ends the node, so it
// is not worth boxing on the way.
#![allow(clippy::result_large_err)]

use redb::{Database, ReadableTable, TableDefinition};
use replication_core::{Batch, Durable, Entry};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");
const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state");
const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");

/// A store that could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[error("data store {path}: {message}")]
pub struct StoreError {
    path: PathBuf,
    message: String,
}

/// What a Vault token may do here (this emulator has no policies: sudo or not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Root-like: may call sudo endpoints.
    pub sudo: bool,
    /// The policy names it was created with (reported by lookup, not enforced).
    pub policies: Vec<String>,
    /// Its accessor.
    pub accessor: String,
}

/// One cluster's durable store.
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join("replication.redb");
        let fail = |e: &dyn std::fmt::Display| StoreError {
            path: path.clone(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let db = Database::create(&path).map_err(|e| fail(&e))?;
        let store = Store {
            db,
            path: path.clone(),
        };
        store
            .write(|txn| {
                txn.open_table(ENTRIES)?;
                txn.open_table(STATE)?;
                txn.open_table(TOKENS)?;
                Ok(())
            })
            .map_err(|e| fail(&e))?;
        Ok(store)
    }

    fn error(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn write(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), redb::Error> {
        let txn = self.db.begin_write()?;
        f(&txn)?;
        txn.commit()?;
        Ok(())
    }

    /// What the store holds, or `None` when it never received a first batch (a new cluster).
    pub fn load(&self) -> Result<Option<Durable>, StoreError> {
        let read = || -> Result<Option<Durable>, redb::Error> {
            let txn = self.db.begin_read()?;
            let state = txn.open_table(STATE)?;
            let Some(meta) = state.get("meta")?.map(|v| v.value().to_vec()) else {
                return Ok(None);
            };
            let wal = match state.get("wal")? {
                Some(v) => {
                    let b: [u8; 8] = v.value().try_into().map_err(|_| {
                        redb::Error::Corrupted("the wal position is not 8 bytes".into())
                    })?;
                    u64::from_be_bytes(b)
                }
                None => 0,
            };
            let mut entries = std::collections::BTreeMap::new();
            for row in txn.open_table(ENTRIES)?.iter()? {
                let (k, v) = row?;
                let entry: Entry = serde_json::from_slice(v.value()).map_err(|e| {
                    redb::Error::Corrupted(format!("entry {:?} is not readable: {e}", k.value()))
                })?;
                entries.insert(k.value().to_string(), entry);
            }
            Ok(Some(Durable {
                meta: Some(meta),
                wal,
                entries,
            }))
        };
        read().map_err(|e| self.error(e))
    }

    /// Commits one batch in one transaction (nothing to do for an empty batch).
    pub fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.write(|txn| {
            let mut entries = txn.open_table(ENTRIES)?;
            for (key, entry) in &batch.storage {
                match entry {
                    Some(e) => {
                        let bytes = serde_json::to_vec(e).expect("an entry serializes to JSON");
                        entries.insert(key.as_str(), bytes.as_slice())?;
                    }
                    None => {
                        entries.remove(key.as_str())?;
                    }
                }
            }
            let mut state = txn.open_table(STATE)?;
            if let Some(w) = batch.wal {
                state.insert("wal", w.to_be_bytes().as_slice())?;
            }
            if let Some(m) = &batch.meta {
                state.insert("meta", m.to_bytes().as_slice())?;
            }
            Ok(())
        })
        .map_err(|e| self.error(e))
    }

    /// Every token the store knows.
    pub fn tokens(&self) -> Result<Vec<(String, TokenInfo)>, StoreError> {
        let read = || -> Result<Vec<(String, TokenInfo)>, redb::Error> {
            let txn = self.db.begin_read()?;
            let mut out = vec![];
            for row in txn.open_table(TOKENS)?.iter()? {
                let (k, v) = row?;
                let info: TokenInfo = serde_json::from_slice(v.value()).map_err(|e| {
                    redb::Error::Corrupted(format!("a token record is not readable: {e}"))
                })?;
                out.push((k.value().to_string(), info));
            }
            Ok(out)
        };
        read().map_err(|e| self.error(e))
    }

    /// Stores a token (durable when this returns).
    pub fn put_token(&self, token: &str, info: &TokenInfo) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(info).expect("a token record serializes to JSON");
        self.write(|txn| {
            txn.open_table(TOKENS)?.insert(token, bytes.as_slice())?;
            Ok(())
        })
        .map_err(|e| self.error(e))
    }
}
