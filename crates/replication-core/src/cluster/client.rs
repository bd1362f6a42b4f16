//! Client operations on data: where each is applied, forwarded or refused.

use super::{Cluster, Role};
use crate::error::{Error, Result};
use crate::ids::{Kind, Mode};
use crate::message::Message;
use crate::request::{ClientOp, Reply};
use crate::storage::{mount_key, validate_key_path, validate_mount_path, DataClass};
use crate::time::Timestamp;
use crate::wal::WalOp;
use rand_core::RngCore;

impl Cluster {
    pub(super) fn client(
        &mut self,
        _now: Timestamp,
        rng: &mut dyn RngCore,
        op: ClientOp,
    ) -> Result<Reply> {
        self.refuse_if_dr_secondary("serves no client requests")?;
        if self.p.performance.mode() == Mode::Bootstrapping {
            return Err(Error::Unavailable(
                "this cluster is bootstrapping as a performance secondary and serves no client requests until activation completes; try again shortly".into(),
            ));
        }
        if let ClientOp::Read { path } = &op {
            return self.read(path);
        }
        self.validate_client_op(&op)?;
        if self.mode(Kind::Performance) == Mode::Secondary && !self.is_local_op(&op) {
            return self.forward(rng, op);
        }
        Ok(Reply::Applied {
            wal: self.client_local(op)?,
        })
    }

    fn read(&self, path: &str) -> Result<Reply> {
        validate_key_path(path).map_err(|m| Error::invalid("path", m))?;
        if self.p.storage.mount_of(path).is_none() {
            return Err(Error::NotFound(format!(
                "no mount holds {path:?}; mount one first (e.g. \"secret/\")"
            )));
        }
        Ok(Reply::Value(
            self.p.storage.get(path).map(|e| e.value.clone()),
        ))
    }

    fn validate_client_op(&self, op: &ClientOp) -> Result<()> {
        match op {
            ClientOp::Write { path, .. } | ClientOp::Delete { path } | ClientOp::Read { path } => {
                validate_key_path(path).map_err(|m| Error::invalid("path", m))?;
                if self.p.storage.mount_of(path).is_none() {
                    return Err(Error::NotFound(format!(
                        "no mount holds {path:?}; mount one first (e.g. \"secret/\")"
                    )));
                }
            }
            ClientOp::Mount { path, .. } => {
                validate_mount_path(path).map_err(|m| Error::invalid("path", m))?;
                if let Some((existing, _)) = self
                    .p
                    .storage
                    .mounts()
                    .iter()
                    .find(|(m, _)| path.starts_with(m.as_str()) || m.starts_with(path.as_str()))
                {
                    return Err(Error::invalid(
                        "path",
                        format!("cannot mount {path:?}: it overlaps the existing mount {existing:?}; choose another path"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn is_local_op(&self, op: &ClientOp) -> bool {
        match op {
            ClientOp::Mount { local, .. } => *local,
            other => self
                .p
                .storage
                .mount_of(other.path())
                .is_some_and(|(_, local)| local),
        }
    }

    fn forward(&mut self, rng: &mut dyn RngCore, op: ClientOp) -> Result<Reply> {
        let Some((target, credentials)) = self.forward_target() else {
            let no_primary = match &self.p.performance {
                Role::Secondary(s) => s.known_primary_cluster_addrs.is_empty(),
                _ => true,
            };
            return Err(Error::Unavailable(if no_primary {
                "cannot write to readonly storage: this performance secondary has no primary to forward shared writes to; point it at one with update-primary, or promote it".into()
            } else {
                "cannot write to readonly storage: this performance secondary cannot reach its primary to forward the write; try again once it is connected".into()
            }));
        };
        // Random, not a counter: ids must not repeat after a restart, when old replies may still come.
        let request = rng.next_u64();
        self.v.forwards.insert(request);
        self.send(
            &target,
            Message::Forward {
                credentials,
                request,
                op,
            },
        );
        Ok(Reply::Forwarded { request })
    }

    /// Applies a client mutation here (on a primary, a cluster without replication, a local mount of a
    /// performance secondary, or a write forwarded to this primary). Returns the WAL index.
    pub(super) fn client_local(&mut self, op: ClientOp) -> Result<u64> {
        self.validate_client_op(&op)?;
        match op {
            ClientOp::Write { path, value } => {
                let class = self.class_of(&path);
                Ok(self.apply(WalOp::Put {
                    key: path,
                    value,
                    class,
                }))
            }
            ClientOp::Delete { path } => {
                let class = self.class_of(&path);
                Ok(self.apply(WalOp::Delete { key: path, class }))
            }
            ClientOp::Mount { path, local } => Ok(self.mount_local(&path, local)),
            ClientOp::Read { .. } => Err(Error::bad("a read is not a mutation")),
        }
    }

    fn class_of(&self, path: &str) -> DataClass {
        match self.p.storage.mount_of(path) {
            Some((_, true)) => DataClass::Local,
            _ => DataClass::Replicated,
        }
    }

    /// Whether `mount` exists here.
    pub fn has_mount(&self, mount: &str) -> bool {
        self.p.storage.get(&mount_key(mount)).is_some()
    }
}
