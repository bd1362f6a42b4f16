//! Client operations on data: where each is applied, forwarded or refused.

use super::{Cluster, Role};
use crate::bugs::Bug;
use crate::error::{Error, Result};
use crate::ids::{Kind, Mode};
use crate::message::{Credentials, LinkRefusal, Message};
use crate::request::{ClientOp, Event, Reply};
use crate::storage::{mount_key, validate_key_path, validate_mount_path, DataClass};
use crate::time::Timestamp;
use crate::wal::WalOp;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

impl Cluster {
    pub(super) fn client(
        &mut self,
        now: Timestamp,
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
            return self.forward(now, rng, op);
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

    fn forward(&mut self, now: Timestamp, rng: &mut dyn RngCore, op: ClientOp) -> Result<Reply> {
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
        let give_up = now.plus(self.p.config.forwarding_timeout());
        self.v.forwards.insert(request, give_up);
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

/// Answers a primary gave to forwarded writes lately, by request id (with the secondary id that
/// asked), so that a duplicated `Forward` is answered again rather than applied a second time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ForwardLog {
    answers: BTreeMap<u64, (String, Result<u64, Error>)>,
    order: VecDeque<u64>,
}

impl ForwardLog {
    /// How many answers are remembered (the oldest is forgotten first).
    const CAPACITY: usize = 1024;

    /// The answer already given to `request` from secondary `id`, if any.
    fn get(&self, id: &str, request: u64) -> Option<&Result<u64, Error>> {
        self.answers
            .get(&request)
            .filter(|(who, _)| who == id)
            .map(|(_, r)| r)
    }

    fn insert(&mut self, id: &str, request: u64, result: Result<u64, Error>) {
        if self
            .answers
            .insert(request, (id.to_string(), result))
            .is_none()
        {
            self.order.push_back(request);
        }
        while self.order.len() > Self::CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.answers.remove(&old);
            }
        }
    }
}

impl Cluster {
    /// Primary side: a performance secondary forwarded a client write. Every forward is answered: with
    /// the primary's result, or, when this cluster does not accept the link (it is not, or no longer,
    /// that set's primary; the secondary was revoked or is unknown), with an error saying the write was
    /// not applied, followed by the link refusal itself.
    pub(super) fn on_forward(
        &mut self,
        from: &str,
        credentials: &Credentials,
        request: u64,
        op: ClientOp,
    ) {
        let result = match self.judge_link(Kind::Performance, credentials) {
            Err(reason) if self.bug(Bug::ForwardsUnanswered) => {
                self.send(
                    from,
                    Message::LinkRefused {
                        kind: Kind::Performance,
                        reason,
                    },
                );
                return;
            }
            Err(reason) => {
                self.send(
                    from,
                    Message::ForwardReply {
                        request,
                        result: Err(not_forwarded(reason)),
                    },
                );
                self.send(
                    from,
                    Message::LinkRefused {
                        kind: Kind::Performance,
                        reason,
                    },
                );
                return;
            }
            Ok(id) => match self.v.answered.get(&id, request) {
                Some(earlier) => earlier.clone(),
                None => {
                    let result = self.client_local(op);
                    self.v.answered.insert(&id, request, result.clone());
                    result
                }
            },
        };
        self.send(from, Message::ForwardReply { request, result });
    }

    /// Secondary side: the primary answered a forwarded write; the client gets that answer as it is.
    pub(super) fn on_forward_reply(&mut self, request: u64, result: Result<u64, Error>) {
        if self.v.forwards.remove(&request).is_some() {
            self.emit(Event::ClientReply { request, result });
        }
    }

    /// Secondary side: gives up on every forwarded write still waiting for the primary, telling each
    /// client that the outcome is unknown, because `why`.
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

    /// Secondary side: gives up on forwarded writes whose timeout passed.
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
        let timeout = self.p.config.forwarding_timeout();
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

/// What a cluster that refuses a forwarding secondary's link answers the forwarded write with.
fn not_forwarded(reason: LinkRefusal) -> Error {
    Error::Unavailable(match reason {
        LinkRefusal::NotPrimary => "the write was not applied: the cluster this performance secondary forwards to is not (or no longer) the primary of its replication set; retry once the secondary has found its new primary (see its status)".into(),
        LinkRefusal::Revoked => "the write was not applied: the performance primary revoked this secondary, which can no longer forward writes; activate it again with update-primary and a new token".into(),
        LinkRefusal::Unknown => "the write was not applied: the performance primary does not recognise this secondary (its replication set changed); enable it again with a new token (this wipes it)".into(),
    })
}
