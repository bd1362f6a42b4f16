//! Client operations on data: where each is applied, forwarded or refused (model.md §4).
//!
//! A primary, or a cluster with replication disabled, applies writes itself. A performance secondary
//! applies writes to its local mounts and forwards shared writes to its primary (the answer comes
//! later, as [`Event::ClientReply`]: the primary's answer, or "outcome unknown" when the link fails
//! or the forwarding timeout passes); a DR secondary, or one still bootstrapping, serves no clients.

use super::Cluster;
use crate::bugs::Bug;
use crate::error::{Error, Result};
use crate::ids::{Kind, Mode};
use crate::message::{Forward, ForwardReply, Message};
use crate::request::ClientOp;
use crate::role::Role;
use crate::step::{Event, Reply};
use crate::storage::{check_mount_path, validate_key_path, DataClass};
use crate::time::Timestamp;
use crate::wal::WalOp;
use rand_core::RngCore;

impl Cluster {
    pub(super) fn client(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        op: ClientOp,
    ) -> Result<Reply> {
        self.refuse_if_dr_secondary("serves no client requests")?;
        if self.p.meta.performance.mode() == Mode::Bootstrapping {
            return Err(Error::Unavailable(
                "this cluster is bootstrapping as a performance secondary and serves no client requests until activation completes; try again shortly".into(),
            ));
        }
        match &op {
            ClientOp::Read { path } => return self.read(path),
            ClientOp::List { path } => return self.list(path),
            _ => {}
        }
        self.validate_client_op(&op)?;
        if self.mode(Kind::Performance) == Mode::Secondary && !self.is_local_op(&op) {
            return self.forward(now, rng, op);
        }
        Ok(Reply::Applied {
            wal: self.client_local(op)?,
        })
    }

    /// A key path a client may name: a key, under a mount.
    fn check_key(&self, path: &str) -> Result<()> {
        validate_key_path(path).map_err(|m| Error::invalid("path", m))?;
        if self.p.storage.mount_of(path).is_none() {
            return Err(no_mount(path));
        }
        Ok(())
    }

    fn read(&self, path: &str) -> Result<Reply> {
        self.check_key(path)?;
        Ok(Reply::Value(
            self.p.storage.get(path).map(|e| e.value.clone()),
        ))
    }

    fn list(&self, path: &str) -> Result<Reply> {
        let folder = format!("{}/", path.trim_end_matches('/'));
        validate_key_path(folder.trim_end_matches('/')).map_err(|m| Error::invalid("path", m))?;
        if self.p.storage.mount_of(&folder).is_none() {
            return Err(no_mount(path));
        }
        let mut keys: Vec<String> = self
            .p
            .storage
            .entries()
            .filter_map(|(k, _)| k.strip_prefix(folder.as_str()))
            .map(|rest| match rest.find('/') {
                Some(i) => rest[..=i].to_string(),
                None => rest.to_string(),
            })
            .collect();
        keys.dedup();
        Ok(Reply::Keys(keys))
    }

    fn validate_client_op(&self, op: &ClientOp) -> Result<()> {
        match op {
            ClientOp::Mount { path, .. } => {
                check_mount_path(path).map_err(|m| Error::invalid("path", m.to_string()))?;
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
                Ok(())
            }
            other => self.check_key(other.path()),
        }
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

    fn forward(&mut self, now: Timestamp, rng: &mut dyn RngCore, op: ClientOp) -> Result<Reply> {
        let Some((target, credentials)) = self.forward_target() else {
            let no_primary = match &self.p.meta.performance {
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
        let give_up = now.plus(self.p.meta.config.forwarding_timeout());
        self.v.forwards.insert(request, give_up);
        self.send(
            &target,
            Message::Forward(Forward {
                credentials,
                request,
                op,
            }),
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
            ClientOp::Read { .. } | ClientOp::List { .. } => {
                Err(Error::bad("a read is not a mutation"))
            }
        }
    }

    fn class_of(&self, path: &str) -> DataClass {
        match self.p.storage.mount_of(path) {
            Some((_, true)) => DataClass::Local,
            _ => DataClass::Replicated,
        }
    }
}

impl Cluster {
    /// The primary answered a forwarded write; the client gets that answer as it is.
    pub(super) fn on_forward_reply(&mut self, m: ForwardReply) {
        if self.v.forwards.remove(&m.request).is_some() {
            self.emit(Event::ClientReply {
                request: m.request,
                result: m.result,
            });
        }
    }

    /// Gives up on every forwarded write still waiting for the primary, telling each client that the
    /// outcome is unknown, because `why`.
    pub(super) fn abandon_forwards(&mut self, why: &str) {
        if self.bug(Bug::ForwardsUnanswered) {
            return;
        }
        for (request, _) in std::mem::take(&mut self.v.forwards) {
            self.emit(Event::ClientReply {
                request,
                result: Err(outcome_unknown(why)),
            });
        }
    }

    /// Gives up on forwarded writes whose timeout passed.
    pub(super) fn expire_forwards(&mut self, now: Timestamp) {
        if self.bug(Bug::ForwardsUnanswered) {
            return;
        }
        let expired: Vec<u64> = self
            .v
            .forwards
            .iter()
            .filter(|(_, give_up)| **give_up <= now)
            .map(|(r, _)| *r)
            .collect();
        let timeout = self.p.meta.config.forwarding_timeout();
        for request in expired {
            self.v.forwards.remove(&request);
            self.emit(Event::ClientReply {
                request,
                result: Err(outcome_unknown(&format!(
                    "no answer within the forwarding timeout of {timeout}"
                ))),
            });
        }
    }

    /// The earliest time a forwarded write gives up, if any is waiting.
    pub(super) fn next_forward_deadline(&self) -> Option<Timestamp> {
        if self.bug(Bug::ForwardsUnanswered) {
            return None;
        }
        self.v.forwards.values().min().copied()
    }
}

fn outcome_unknown(why: &str) -> Error {
    Error::OutcomeUnknown(format!(
        "outcome unknown ({why}); the write was forwarded to the performance primary and may or may not have been applied: read the path back before retrying"
    ))
}

fn no_mount(path: &str) -> Error {
    Error::NotFound(format!(
        "no mount holds {path:?}; mount one first (e.g. \"secret/\")"
    ))
}
