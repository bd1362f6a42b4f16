//! The secondary side: what a secondary does with its primary's messages (the activation answer,
//! heartbeat answers, refusals, WAL entries, the Merkle diff and sync, the DR mirror, forwarded
//! writes' answers, failover targets) and its timers (heartbeats, activation and stream retries,
//! forwarding timeouts).
//!
//! Stream data (entries, diff, sync) carries the secondary's stream session and activation answers
//! carry its attempt: an answer to anything older is ignored, so lost, duplicated and reordered data
//! never mixes into the stream the secondary has now. Heartbeat answers, refusals and resyncs carry
//! neither, and are taken from whoever sends them (a delayed answer of a former primary is not told
//! apart).
//!
//! (Over 600 lines with the unit tests at the end, which call each handler and assert the exact
//! `Ready` it leaves; the handlers themselves are about 585.)

use super::{Cluster, Cx, Link, SyncProgress};
use crate::bugs::Bug;
use crate::error::ActivationRefusal;
use crate::ids::{Kind, Mode, SecondaryState};
use crate::merkle::{differing_buckets, BUCKETS};
use crate::message::{
    ActivationAccepted, ActivationRefused, ActivationRequest, Credentials, DiffKeys, DiffStart,
    Entries, FailoverTargets, Heartbeat, HeartbeatAck, LinkRefusal, Message, Mirror, Resync,
    Revoked, StreamRequest, SyncData,
};
use crate::role::{Pending, Role, SecondaryRole};
use crate::step::Event;
use crate::storage::DataClass;
use crate::time::Timestamp;
use crate::wal::WalOp;
use rand_core::RngCore;
use std::collections::BTreeMap;

impl Cluster {
    /// The primary accepted this cluster's activation: an enable wipes (only now) and joins the set;
    /// an update-primary re-points without a wipe. Then the secondary asks for its stream.
    pub(super) fn on_accepted(&mut self, cx: &mut Cx<'_>, m: ActivationAccepted) {
        let (kind, now) = (m.kind, cx.now);
        let pending = match self.role(kind) {
            Role::Bootstrapping(p) => p.clone(),
            Role::Secondary(s) => match &s.pending {
                Some(p) => p.clone(),
                None => return,
            },
            _ => return,
        };
        if pending.claims.nonce != m.nonce || pending.attempt != m.attempt {
            return;
        }
        let mut role = SecondaryRole {
            credentials: Some(m.credentials.clone()),
            known_primary_cluster_addrs: m.known_primary_cluster_addrs,
            primary_api_addr: m.primary_api_addr,
            synced: false,
            ..SecondaryRole::without_primary(m.credentials.cluster_id)
        };
        if pending.update && !self.bug(Bug::UpdatePrimaryWipes) {
            if let Role::Secondary(old) = self.role(kind) {
                role.synced = old.synced;
            }
        } else if self.bug(Bug::EnableSkipsWipe) {
            self.new_epoch(cx.rng);
        } else {
            let entries = self.wipe();
            self.new_epoch(cx.rng);
            self.emit(Event::Wiped { kind, entries });
        }
        self.p.meta.unseal = m.unseal;
        self.p.meta.key_pairs.remove(&kind);
        self.p.meta.promote_quorum = Default::default();
        self.set_role(kind, Role::Secondary(role));
        self.p.meta.last_error.remove(&kind);
        let mut link = Link::new(now, cx.rng);
        link.connected = true;
        link.last_heartbeat = Some(now);
        link.next_heartbeat = now.plus(self.p.meta.config.heartbeat_interval);
        self.v.links.insert(kind, link);
        self.emit(Event::Activation {
            kind,
            update: pending.update,
            result: Ok(()),
        });
        self.request_stream(now, cx.rng, kind);
    }

    /// The primary refused this cluster's activation.
    pub(super) fn on_refused(&mut self, m: ActivationRefused) {
        let answers = |p: &Pending| p.claims.nonce == m.nonce && p.attempt == m.attempt;
        let update = match self.role(m.kind) {
            Role::Bootstrapping(p) if answers(p) => false,
            Role::Secondary(s) if s.pending.as_ref().is_some_and(answers) => true,
            _ => return,
        };
        self.fail_activation(m.kind, update, m.reason);
    }

    /// An activation failed: an enable goes back to `disabled` with its data intact, an
    /// update-primary keeps its old primary; the reason is in `last_error`.
    pub(super) fn fail_activation(&mut self, kind: Kind, update: bool, reason: ActivationRefusal) {
        if update {
            if let Some(s) = self.secondary_mut(kind) {
                s.pending = None;
            }
        } else {
            self.set_role(kind, Role::Disabled);
            self.v.links.remove(&kind);
        }
        self.p.meta.last_error.insert(kind, reason.to_string());
        self.emit(Event::Activation {
            kind,
            update,
            result: Err(reason),
        });
    }

    /// Sends the activation request of `pending` to its primary.
    pub(super) fn send_activation(&mut self, kind: Kind, pending: &Pending) {
        let msg = Message::ActivationRequest(ActivationRequest {
            kind,
            token: pending.token.clone(),
            attempt: pending.attempt.clone(),
            reply_to: self.p.meta.config.cluster_addr.clone(),
            api_addr: self.p.meta.config.api_addr.clone(),
        });
        self.send(&pending.target.clone(), msg);
    }

    /// The primary answered a heartbeat: connected, with what the primary says now (its failover
    /// targets, this secondary's filter, its log head); a stalled or unfiltered stream asks again.
    pub(super) fn on_heartbeat_ack(&mut self, cx: &mut Cx<'_>, m: HeartbeatAck) {
        let kind = m.kind;
        // Read first, write only what differs: a heartbeat that changes nothing persists nothing.
        let Some(s) = self.secondary(kind) else {
            return;
        };
        if s.known_primary_cluster_addrs.is_empty() {
            return;
        }
        let current = s.known_primary_cluster_addrs.first().cloned();
        // A filter change whose Resync was lost: diff again so the new filter applies.
        let filter_changed = s.filter != m.filter;
        let behind = filter_changed || s.cursor.is_none_or(|c| c != m.head);
        let same_target = current.as_ref() == m.known_primary_cluster_addrs.first();
        let differs = s.known_primary_cluster_addrs != m.known_primary_cluster_addrs
            || s.primary_api_addr != m.primary_api_addr
            || filter_changed
            || s.dynamic_filter != m.dynamic_filter;
        if differs {
            if let Some(s) = self.secondary_mut(kind) {
                s.known_primary_cluster_addrs = m.known_primary_cluster_addrs;
                s.primary_api_addr = m.primary_api_addr;
                if filter_changed {
                    s.cursor = None;
                }
                s.filter = m.filter;
                s.dynamic_filter = m.dynamic_filter;
            }
        }
        let Some(link) = self.v.links.get_mut(&kind) else {
            return;
        };
        if !same_target {
            link.target = 0;
        }
        let was_connected = link.connected;
        link.connected = true;
        link.unanswered = false;
        link.last_heartbeat = Some(cx.now);
        let state = link.state;
        if self.p.meta.last_error.contains_key(&kind) {
            self.p.meta.last_error.remove(&kind);
        }
        let stalled = state == SecondaryState::StreamWals && behind;
        if !was_connected || state == SecondaryState::Connecting || stalled || filter_changed {
            self.request_stream(cx.now, cx.rng, kind);
        }
    }

    /// The primary was told this secondary was revoked.
    pub(super) fn on_revoked(&mut self, m: Revoked) {
        if self.secondary(m.kind).is_some() {
            self.on_link_refused(m.kind, LinkRefusal::Revoked)
        }
    }

    /// The primary refused the link: a cluster that is not primary sends it on to the next known
    /// address; revoked or unknown, it stays idle with the reason in `last_error`.
    pub(super) fn on_link_refused(&mut self, kind: Kind, reason: LinkRefusal) {
        if self.secondary(kind).is_none() {
            return;
        }
        if kind == Kind::Performance {
            self.abandon_forwards("the primary refused this secondary's connection");
        }
        let Some(link) = self.v.links.get_mut(&kind) else {
            return;
        };
        link.connected = false;
        link.unanswered = false;
        match reason {
            LinkRefusal::NotPrimary => {
                link.state = SecondaryState::Connecting;
                link.target += 1;
            }
            LinkRefusal::Revoked | LinkRefusal::Unknown => {
                link.state = SecondaryState::Idle;
                let msg = if reason == LinkRefusal::Revoked {
                    "the primary revoked this secondary; it stays idle until update-primary with a new activation token from the primary"
                } else {
                    "the primary does not recognise this secondary (its replication set changed, e.g. it was disabled and enabled again); disable replication here and enable it with a new token (this wipes the cluster)"
                };
                self.p.meta.last_error.insert(kind, msg.to_string());
                if let Some(s) = self.secondary_mut(kind) {
                    s.known_primary_cluster_addrs.clear();
                }
            }
        }
    }

    /// The primary changed this secondary's filter: diff again.
    pub(super) fn on_resync(&mut self, cx: &mut Cx<'_>, m: Resync) {
        if self.is_connected(m.kind) {
            if let Some(s) = self.secondary_mut(m.kind) {
                s.cursor = None;
            }
            self.request_stream(cx.now, cx.rng, m.kind);
        }
    }

    /// Asks the primary for a stream from where this secondary stands (new session).
    ///
    /// Every request arms a retry: unless the primary answers (a confirming `Entries` batch), the
    /// secondary asks again after the missed-heartbeats span, so no lost message can strand it.
    pub(super) fn request_stream(&mut self, now: Timestamp, rng: &mut dyn RngCore, kind: Kind) {
        let Some(s) = self.secondary(kind) else {
            return;
        };
        let Some(credentials) = s.credentials.clone() else {
            return;
        };
        let cursor = s.cursor;
        let Some(target) = self.target_addr(kind) else {
            return;
        };
        let session = rng.next_u64();
        let retry = now.plus(self.p.meta.config.missed_heartbeats_span());
        if let Some(link) = self.v.links.get_mut(&kind) {
            link.session = session;
            link.sync = None;
            link.retry_at = Some(retry);
        }
        self.send(
            &target,
            Message::StreamRequest(StreamRequest {
                kind,
                session,
                credentials,
                cursor,
            }),
        );
    }

    /// The known primary address this secondary tries now.
    pub(super) fn target_addr(&self, kind: Kind) -> Option<String> {
        let s = self.secondary(kind)?;
        if s.known_primary_cluster_addrs.is_empty() {
            return None;
        }
        let t = self.v.links.get(&kind).map(|l| l.target).unwrap_or(0);
        s.known_primary_cluster_addrs
            .get(t % s.known_primary_cluster_addrs.len())
            .cloned()
    }

    fn session_matches(&self, kind: Kind, session: u64) -> bool {
        self.secondary(kind).is_some()
            && self
                .v
                .links
                .get(&kind)
                .is_some_and(|l| l.session == session)
    }

    /// WAL entries of this secondary's stream: applied in order; a gap asks again.
    pub(super) fn on_entries(&mut self, cx: &mut Cx<'_>, m: Entries) {
        let kind = m.kind;
        if !self.session_matches(kind, m.session) {
            return;
        }
        let Some(cursor) = self.secondary(kind).and_then(|s| s.cursor) else {
            return;
        };
        if cursor.epoch != m.after.epoch {
            return;
        }
        if m.after.index > cursor.index {
            // A batch went missing: ask again from where we stand.
            self.request_stream(cx.now, cx.rng, kind);
            return;
        }
        if m.until.index < cursor.index {
            return; // an older batch, duplicated or reordered
        }
        for e in m.entries {
            if e.index > cursor.index {
                self.apply_remote(kind, e.op);
            }
        }
        if let Some(s) = self.secondary_mut(kind) {
            s.cursor = Some(m.until);
            s.last_remote_wal = m.until.index;
        }
        if let Some(link) = self.v.links.get_mut(&kind) {
            link.state = SecondaryState::StreamWals;
            link.retry_at = None;
        }
    }

    /// A mutation that came from the primary: applied and logged here (so DR secondaries downstream
    /// receive it), except that replication never touches this cluster's own local mounts.
    fn apply_remote(&mut self, kind: Kind, op: WalOp) {
        if kind == Kind::Performance && self.is_own_local(op.key()) {
            return;
        }
        self.apply(op);
    }

    /// Whether `key` belongs to a local mount of this performance secondary (never replicated here).
    fn is_own_local(&self, key: &str) -> bool {
        self.p
            .storage
            .get(key)
            .is_some_and(|e| e.class == DataClass::Local)
            || self.p.storage.mount_of(key).is_some_and(|(_, local)| local)
    }

    /// The primary cannot resume this secondary's stream: it compares bucket digests and sends its
    /// keys of the buckets that differ.
    pub(super) fn on_diff_start(&mut self, cx: &mut Cx<'_>, m: DiffStart) {
        let kind = m.kind;
        if !self.session_matches(kind, m.session) || m.digests.len() != BUCKETS {
            return;
        }
        let Some(s) = self.secondary_mut(kind) else {
            return;
        };
        s.filter = m.filter;
        let Some(credentials) = s.credentials.clone() else {
            return;
        };
        let ours = self.p.storage.digests(kind, None);
        let mut buckets = BTreeMap::new();
        for b in differing_buckets(&ours, &m.digests) {
            buckets.insert(b as u16, self.p.storage.bucket_entries(kind, None, b));
        }
        let give_up = cx.now.plus(self.p.meta.config.missed_heartbeats_span());
        if let Some(link) = self.v.links.get_mut(&kind) {
            link.state = SecondaryState::MerkleDiff;
            link.connected = true;
            link.last_heartbeat = Some(cx.now);
            // If the primary's answer is lost, start over (new session) after this long.
            link.retry_at = Some(give_up);
        }
        self.send(
            cx.from,
            Message::DiffKeys(DiffKeys {
                kind,
                session: m.session,
                credentials,
                at: m.at,
                buckets,
            }),
        );
    }

    /// Exactly the conflicting keys: applied, the removals reported with their reason, then the
    /// stream resumes from the diff's position.
    pub(super) fn on_sync_data(&mut self, cx: &mut Cx<'_>, m: SyncData) {
        let kind = m.kind;
        if !self.session_matches(kind, m.session) {
            return;
        }
        let total = m.puts.len() + m.deletes.len();
        if let Some(link) = self.v.links.get_mut(&kind) {
            link.state = SecondaryState::MerkleSync;
            link.sync = Some(SyncProgress {
                sync_progress: 0,
                sync_total_keys: total,
            });
        }
        let filter = self.secondary(kind).and_then(|s| s.filter.clone());
        let mut diverged = vec![];
        let mut filtered = vec![];
        // Every removal is judged against storage as it was before the sync: a mount entry removed
        // first must not change why the keys under it go.
        let removals: Vec<(String, DataClass, bool)> = m
            .deletes
            .into_iter()
            .filter(|k| !(kind == Kind::Performance && self.is_own_local(k)))
            .filter_map(|k| {
                let class = self.p.storage.get(&k)?.class;
                let excluded = filter.as_ref().is_some_and(|f| {
                    self.p
                        .storage
                        .filter_mount_of(&k)
                        .is_some_and(|mount| !f.ships_mount(mount))
                });
                Some((k, class, excluded))
            })
            .collect();
        for (k, class, excluded) in removals {
            if excluded {
                filtered.push(k.clone());
            } else {
                diverged.push(k.clone());
            }
            self.apply(WalOp::Delete { key: k, class });
        }
        for put in m.puts {
            if kind == Kind::Performance && self.is_own_local(&put.key) {
                continue;
            }
            if self.p.storage.get(&put.key).is_some() {
                diverged.push(put.key.clone());
            }
            self.apply(WalOp::Put {
                key: put.key,
                value: put.value,
                class: put.class,
            });
        }
        if !diverged.is_empty() || !filtered.is_empty() {
            self.emit(Event::SyncRemoved {
                kind,
                diverged,
                filtered,
            });
        }
        // A sync that leaves the roots apart means a Merkle index does not match its data.
        let consistent = !self.p.storage.index_corrupted();
        let Some(s) = self.secondary_mut(kind) else {
            return;
        };
        s.cursor = Some(m.at);
        s.last_remote_wal = m.at.index;
        s.synced = true;
        if consistent {
            self.emit(Event::InSync { kind });
            if let Some(link) = self.v.links.get_mut(&kind) {
                link.state = SecondaryState::StreamWals;
                link.sync = None;
            }
            self.request_stream(cx.now, cx.rng, kind);
        } else {
            if let Some(s) = self.secondary_mut(kind) {
                s.cursor = None;
            }
            let retry = cx.now.plus(self.p.meta.config.heartbeat_interval);
            if let Some(link) = self.v.links.get_mut(&kind) {
                link.state = SecondaryState::MerkleDiff;
                link.retry_at = Some(retry);
            }
            self.p.meta.last_error.insert(
                kind,
                "merkle sync did not converge: this cluster's Merkle index does not match its storage; run reindex".into(),
            );
        }
    }

    /// A DR secondary keeps its DR primary's performance role (dormant until a promotion).
    pub(super) fn on_mirror(&mut self, m: Mirror) {
        if self
            .secondary(Kind::Dr)
            .is_some_and(|s| s.cluster_id == m.cluster_id)
            && self.p.meta.performance != *m.performance.0
        {
            self.p.meta.performance = *m.performance.0;
        }
    }

    /// New failover targets from the primary this performance secondary follows (the list's first
    /// address is that primary's; a list from any other cluster is ignored).
    pub(super) fn on_failover_targets(&mut self, m: FailoverTargets) {
        let current = self.target_addr(Kind::Performance);
        let Some(s) = self.secondary_mut(Kind::Performance) else {
            return;
        };
        if s.cluster_id != m.cluster_id || s.credentials.is_none() || current.is_none() {
            return;
        }
        if m.known_primary_cluster_addrs.first() != current.as_ref() {
            return;
        }
        s.known_primary_cluster_addrs = m.known_primary_cluster_addrs;
        if let Some(link) = self.v.links.get_mut(&Kind::Performance) {
            link.target = 0;
        }
    }

    /// Timers: heartbeats, disconnection after missed heartbeats, activation retries, diff retries,
    /// forwarded writes that waited too long.
    pub(super) fn tick(&mut self, now: Timestamp, rng: &mut dyn RngCore) {
        self.expire_forwards(now);
        let hb = self.p.meta.config.heartbeat_interval;
        for kind in Kind::ALL {
            if !self.is_active(kind) {
                continue;
            }
            // Activation in flight (enable or update-primary).
            let pending = match self.role(kind) {
                Role::Bootstrapping(p) => Some(p.clone()),
                Role::Secondary(s) => s.pending.clone(),
                _ => None,
            };
            if let Some(p) = pending {
                let due = self
                    .v
                    .links
                    .get(&kind)
                    .is_none_or(|l| l.next_heartbeat <= now);
                if p.claims.expires_at <= now {
                    self.fail_activation(kind, p.update, ActivationRefusal::Unreachable);
                    continue;
                } else if due {
                    self.send_activation(kind, &p);
                    let link = self
                        .v
                        .links
                        .entry(kind)
                        .or_insert_with(|| Link::new(now, rng));
                    link.next_heartbeat = now.plus(hb);
                }
            }
            let Some(s) = self.secondary(kind) else {
                continue;
            };
            if s.known_primary_cluster_addrs.is_empty() {
                continue;
            }
            let Some(credentials) = s.credentials.clone() else {
                continue;
            };
            let span = self.p.meta.config.missed_heartbeats_span();
            let link = self
                .v
                .links
                .entry(kind)
                .or_insert_with(|| Link::new(now, rng));
            let stale = link.last_heartbeat.is_none_or(|t| now.since(t) > span);
            if link.connected && stale {
                link.connected = false;
                link.state = SecondaryState::Connecting;
                link.target += 1;
                if kind == Kind::Performance {
                    self.abandon_forwards("the connection to the primary was lost");
                }
            }
            let Some(link) = self.v.links.get_mut(&kind) else {
                continue;
            };
            let retry = link.retry_at.is_some_and(|r| r <= now);
            let beat = link.next_heartbeat <= now;
            if beat {
                link.next_heartbeat = now.plus(hb);
                // Without its primary, a secondary keeps trying the addresses it knows: one that
                // did not answer the last heartbeat is passed over for the next.
                if !link.connected && link.unanswered {
                    link.target += 1;
                }
                link.unanswered = !link.connected;
            }
            if retry {
                link.retry_at = None;
                self.request_stream(now, rng, kind);
            }
            if beat {
                if let Some(target) = self.target_addr(kind) {
                    let api_addr = self.p.meta.config.api_addr.clone();
                    self.send(
                        &target,
                        Message::Heartbeat(Heartbeat {
                            kind,
                            credentials,
                            api_addr,
                        }),
                    );
                }
            }
        }
    }

    /// Where this performance secondary forwards shared writes right now, and as whom; `None` when
    /// it is not connected to a primary.
    pub(super) fn forward_target(&self) -> Option<(String, Credentials)> {
        if !self.is_connected(Kind::Performance) || self.mode(Kind::Performance) != Mode::Secondary
        {
            return None;
        }
        let c = self.secondary(Kind::Performance)?.credentials.clone()?;
        Some((self.target_addr(Kind::Performance)?, c))
    }
}

#[cfg(test)]
mod tests {
    //! Each handler of the secondary side, called directly on a secondary `b` streaming from `a`,
    //! and the exact `Ready` it leaves.

    use super::super::fixture::{quiet, Pair, Seen};
    use super::*;
    use crate::message::Transmit;
    use crate::request::Request;
    use crate::step::{Input, Reply};
    use crate::storage::DataClass;
    use crate::wal::{Cursor, WalEntry};

    /// The nonce and attempt id of `b`'s activation in flight (an enable or an update-primary).
    fn pending(p: &Pair, kind: Kind) -> (String, String) {
        let pending = match p.b.role(kind) {
            Role::Bootstrapping(x) => x,
            Role::Secondary(s) => s.pending.as_ref().expect("an update-primary in flight"),
            other => panic!("b has no activation in flight: {other:?}"),
        };
        (pending.claims.nonce.clone(), pending.attempt.clone())
    }

    fn refused(kind: Kind, (nonce, attempt): (String, String)) -> ActivationRefused {
        ActivationRefused {
            kind,
            nonce,
            attempt,
            reason: ActivationRefusal::Revoked,
        }
    }

    #[test]
    fn a_refusal_is_taken_only_for_the_activation_it_answers() {
        // An enable in flight: a refusal of another token, or of an earlier attempt with the same
        // token (duplicated or late), changes nothing; the one that answers it ends the enable.
        let (mut p, _) = Pair::accepted_undelivered(Kind::Performance);
        let (nonce, attempt) = pending(&p, Kind::Performance);
        p.b.ready();
        for stale in [
            (nonce.clone(), "an-earlier-attempt".to_string()),
            ("another-token".to_string(), attempt.clone()),
        ] {
            p.b.on_refused(refused(Kind::Performance, stale.clone()));
            assert_eq!(
                p.b.mode(Kind::Performance),
                Mode::Bootstrapping,
                "{stale:?}"
            );
            assert_eq!(p.b.seen(), quiet(), "{stale:?}");
        }
        p.b.on_refused(refused(Kind::Performance, (nonce, attempt)));
        assert_eq!(p.b.mode(Kind::Performance), Mode::Disabled);
        assert!(p.b.p.meta.last_error.contains_key(&Kind::Performance));
    }

    #[test]
    fn a_refusal_of_an_update_primary_is_taken_only_for_the_attempt_in_flight() {
        let mut p = Pair::streaming(Kind::Performance);
        let t = match p.request_a(Request::SecondaryToken {
            kind: Kind::Performance,
            id: "b-again".into(),
            ttl: None,
            secondary_public_key: None,
        }) {
            Reply::Token(t) => t.token,
            other => panic!("{other:?}"),
        };
        let (now, rng) = (p.now, &mut p.rng);
        p.b.step(
            now,
            rng,
            Input::Request(Request::UpdatePrimary {
                kind: Kind::Performance,
                target: crate::request::UpdateTarget::Token(t),
                primary_api_addr: None,
                dr_operation_token: None,
            }),
        )
        .unwrap();
        p.b.ready();
        let (nonce, attempt) = pending(&p, Kind::Performance);
        p.b.on_refused(refused(
            Kind::Performance,
            (nonce.clone(), "an-earlier-attempt".into()),
        ));
        assert_eq!(
            pending(&p, Kind::Performance),
            (nonce.clone(), attempt.clone()),
            "kept"
        );
        p.b.on_refused(refused(Kind::Performance, (nonce, attempt)));
        let s =
            p.b.secondary(Kind::Performance)
                .expect("still a secondary of its old primary");
        assert!(s.pending.is_none());
        assert!(p.b.p.meta.last_error.contains_key(&Kind::Performance));
    }

    /// The heartbeat answer `b` would get if nothing changed on the primary.
    fn same_ack(p: &Pair, kind: Kind) -> HeartbeatAck {
        let s = p.b.secondary(kind).expect("b is a secondary");
        HeartbeatAck {
            kind,
            known_primary_cluster_addrs: s.known_primary_cluster_addrs.clone(),
            primary_api_addr: s.primary_api_addr.clone(),
            head: s.cursor.expect("b is streaming"),
            filter: s.filter.clone(),
            dynamic_filter: s.dynamic_filter.clone(),
        }
    }

    #[test]
    fn a_heartbeat_ack_records_each_thing_the_primary_says_now() {
        // Each field alone is recorded: failover addresses, the primary's API address, the
        // dynamic filter. An answer that says nothing new persists nothing.
        let kind = Kind::Performance;
        let mut p = Pair::streaming(kind);
        let from = p.a_addr();
        let now = p.now;
        let unchanged = same_ack(&p, kind);
        p.b.on_heartbeat_ack(&mut Pair::cx(now, &mut p.rng, &from), unchanged.clone());
        let r = p.b.ready();
        assert!(
            r.persist.is_empty(),
            "an answer that says nothing new: {:?}",
            r.persist
        );
        assert!(
            r.messages.is_empty(),
            "up to date: no stream request: {:?}",
            r.messages
        );

        let mut m = unchanged.clone();
        m.known_primary_cluster_addrs
            .push("https://dr-of-a:8201".into());
        p.b.on_heartbeat_ack(&mut Pair::cx(now, &mut p.rng, &from), m.clone());
        let s = p.b.secondary(kind).unwrap();
        assert_eq!(s.known_primary_cluster_addrs, m.known_primary_cluster_addrs);
        assert!(
            p.b.ready().persist.meta.is_some(),
            "the new targets are made durable"
        );

        let mut m = same_ack(&p, kind);
        m.primary_api_addr = "https://a-moved:8200".into();
        p.b.on_heartbeat_ack(&mut Pair::cx(now, &mut p.rng, &from), m);
        assert_eq!(
            p.b.secondary(kind).unwrap().primary_api_addr,
            "https://a-moved:8200"
        );

        let mut m = same_ack(&p, kind);
        m.dynamic_filter.mounts = vec!["team/".into()];
        p.b.on_heartbeat_ack(&mut Pair::cx(now, &mut p.rng, &from), m);
        assert_eq!(
            p.b.secondary(kind).unwrap().dynamic_filter.mounts,
            ["team/"]
        );
    }

    #[test]
    fn a_heartbeat_ack_with_a_new_first_address_starts_again_from_it() {
        // The address tried is an index into the known addresses: kept while the list's head is the
        // same, back to the first when the primary names a new first address.
        let kind = Kind::Dr;
        let mut p = Pair::streaming(kind);
        let from = p.a_addr();
        let now = p.now;
        let mut m = same_ack(&p, kind);
        m.known_primary_cluster_addrs
            .push("https://spare:8201".into());
        p.b.on_heartbeat_ack(&mut Pair::cx(now, &mut p.rng, &from), m.clone());
        p.b.v.links.get_mut(&kind).unwrap().target = 1;
        p.b.on_heartbeat_ack(&mut Pair::cx(now, &mut p.rng, &from), m.clone());
        assert_eq!(p.b.v.links[&kind].target, 1, "same first address: kept");
        m.known_primary_cluster_addrs
            .insert(0, "https://new-a:8201".into());
        p.b.on_heartbeat_ack(&mut Pair::cx(now, &mut p.rng, &from), m);
        assert_eq!(
            p.b.v.links[&kind].target, 0,
            "a new first address: tried first"
        );
    }

    #[test]
    fn an_accepted_secondary_knows_its_primarys_api_address_at_once() {
        // Before any heartbeat: its status names where the primary's API is.
        let (mut p, accepted) = Pair::accepted_undelivered(Kind::Dr);
        let from = p.a_addr();
        let now = p.now;
        p.b.on_accepted(&mut Pair::cx(now, &mut p.rng, &from), accepted);
        let s = p.b.secondary(Kind::Dr).expect("b is a DR secondary");
        assert_eq!(s.primary_api_addr, p.a.config().api_addr);
    }

    fn cursor(p: &Pair, kind: Kind) -> Cursor {
        p.b.secondary(kind)
            .and_then(|s| s.cursor)
            .expect("b is streaming")
    }

    fn put(index: u64, key: &str) -> WalEntry {
        WalEntry {
            index,
            op: WalOp::Put {
                key: key.into(),
                value: "v".into(),
                class: DataClass::Replicated,
            },
        }
    }

    /// The stream request `b` just sent, as it must look: to `a`, in `b`'s new session, from where
    /// `b` stands.
    fn stream_request(p: &Pair, kind: Kind) -> Seen {
        Seen {
            messages: vec![Transmit {
                to: p.a_addr(),
                message: Message::StreamRequest(StreamRequest {
                    kind,
                    session: p.b.v.links[&kind].session,
                    credentials: p.b_credentials(kind),
                    cursor: Some(cursor(p, kind)),
                }),
            }],
            events: vec![],
            changed: vec![],
        }
    }

    #[test]
    fn the_fixture_secondary_is_streaming() {
        let p = Pair::streaming(Kind::Dr);
        let link = &p.b.v.links[&Kind::Dr];
        assert_eq!(link.state, SecondaryState::StreamWals);
        assert!(link.connected);
    }

    #[test]
    fn entries_that_follow_the_cursor_are_applied_and_confirm_the_stream() {
        let mut p = Pair::streaming(Kind::Dr);
        let at = cursor(&p, Kind::Dr);
        let session = p.b.v.links[&Kind::Dr].session;
        let until = Cursor {
            index: at.index + 1,
            ..at
        };
        let m = Entries {
            kind: Kind::Dr,
            session,
            after: at,
            until,
            entries: vec![put(at.index + 1, "secret/x")],
        };
        // A stream request's retry is armed; the confirming batch disarms it.
        if let Some(link) = p.b.v.links.get_mut(&Kind::Dr) {
            link.retry_at = Some(p.now.plus(crate::time::Duration::from_secs(15)));
        }
        let from = p.a_addr();
        p.b.on_entries(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        assert_eq!(
            p.b.seen(),
            Seen {
                changed: vec!["secret/x".into()],
                ..quiet()
            },
            "applying sends nothing; the key it wrote is to be made durable"
        );
        assert_eq!(
            p.b.storage().get("secret/x").map(|e| e.value.as_str()),
            Some("v")
        );
        assert_eq!(cursor(&p, Kind::Dr), until);
        assert_eq!(
            p.b.v.links[&Kind::Dr].retry_at,
            None,
            "the stream is confirmed"
        );
    }

    /// A batch that overlaps what was applied (duplicated or resent) applies only the entries
    /// after the cursor: an entry is applied, and logged, once.
    #[test]
    fn an_overlapping_batch_applies_only_what_follows_the_cursor() {
        let mut p = Pair::streaming(Kind::Dr);
        let at = cursor(&p, Kind::Dr);
        let session = p.b.v.links[&Kind::Dr].session;
        let before = Cursor {
            index: at.index - 1,
            ..at
        };
        let until = Cursor {
            index: at.index + 1,
            ..at
        };
        let wal = p.b.last_wal();
        let m = Entries {
            kind: Kind::Dr,
            session,
            after: before,
            until,
            entries: vec![put(at.index, "secret/old"), put(at.index + 1, "secret/x")],
        };
        let from = p.a_addr();
        p.b.on_entries(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        assert_eq!(
            p.b.seen(),
            Seen {
                changed: vec!["secret/x".into()],
                ..quiet()
            }
        );
        assert_eq!(
            p.b.storage().get("secret/old"),
            None,
            "at the cursor: applied before"
        );
        assert_eq!(p.b.last_wal(), wal + 1, "one entry applied and logged");
        assert_eq!(cursor(&p, Kind::Dr), until);
    }

    /// A diff start counts only for the secondary's current session and with one digest per
    /// bucket; anything else is ignored.
    #[test]
    fn a_diff_start_of_another_session_or_shape_is_ignored() {
        let diff = |p: &Pair, session: u64, buckets: usize| DiffStart {
            kind: Kind::Dr,
            session,
            at: p.a.p.wal.head(),
            digests: vec![0; buckets],
            filter: None,
        };
        let mut p = Pair::streaming(Kind::Dr);
        let session = p.b.v.links[&Kind::Dr].session;
        let from = p.a_addr();
        for m in [
            diff(&p, session.wrapping_add(1), crate::merkle::BUCKETS),
            diff(&p, session, crate::merkle::BUCKETS - 1),
        ] {
            p.b.on_diff_start(&mut Pair::cx(p.now, &mut p.rng, &from), m);
            assert_eq!(p.b.seen(), quiet());
        }
        let m = diff(&p, session, crate::merkle::BUCKETS);
        p.b.on_diff_start(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        assert!(
            matches!(
                &p.b.seen().messages[..],
                [Transmit {
                    message: Message::DiffKeys(_),
                    ..
                }]
            ),
            "the well-formed one is answered with the keys of the differing buckets"
        );
    }

    /// A DR secondary mirrors the performance role of its own DR set's primary only.
    #[test]
    fn a_mirror_from_another_set_is_ignored() {
        let mut p = Pair::streaming(Kind::Dr);
        p.request_a(Request::EnablePrimary {
            kind: Kind::Performance,
            primary_cluster_addr: None,
        });
        let role = p.a.p.meta.performance.clone();
        assert_ne!(p.b.p.meta.performance, role);
        let set = p.b.secondary(Kind::Dr).unwrap().cluster_id;
        let mirror = |cluster_id| Mirror {
            cluster_id,
            performance: crate::role::MirroredRole(Box::new(role.clone())),
        };
        p.b.on_mirror(mirror(crate::ClusterId([9; 16])));
        assert_ne!(p.b.p.meta.performance, role, "another set's");
        p.b.on_mirror(mirror(set));
        assert_eq!(p.b.p.meta.performance, role, "its own set's");
    }

    /// A performance secondary takes failover targets only from its own set's primary, the one
    /// it follows (whose address the list starts with).
    #[test]
    fn failover_targets_from_another_set_are_ignored() {
        let mut p = Pair::streaming(Kind::Performance);
        let current = p.b.target_addr(Kind::Performance).unwrap();
        let set = p.b.secondary(Kind::Performance).unwrap().cluster_id;
        let known = |b: &Cluster| {
            b.secondary(Kind::Performance)
                .unwrap()
                .known_primary_cluster_addrs
                .clone()
        };
        let before = known(&p.b);
        assert_eq!(before, vec![current.clone()]);
        let targets = |cluster_id| FailoverTargets {
            cluster_id,
            known_primary_cluster_addrs: vec![current.clone(), "https://dr:8201".into()],
        };
        p.b.on_failover_targets(targets(crate::ClusterId([9; 16])));
        assert_eq!(known(&p.b), before, "another set's");
        p.b.on_failover_targets(targets(set));
        assert_eq!(
            known(&p.b),
            vec![current.clone(), "https://dr:8201".to_string()]
        );
    }

    /// A sync that leaves the roots apart (this cluster's index is damaged) keeps diffing, and
    /// status shows how many keys the sync it tried had: puts and removals.
    #[test]
    fn a_sync_that_does_not_converge_shows_the_size_of_the_sync_it_tried() {
        let mut p = Pair::streaming(Kind::Dr);
        p.b.p.storage.corrupt_index(0, 1);
        let session = p.b.v.links[&Kind::Dr].session;
        let m = SyncData {
            kind: Kind::Dr,
            session,
            at: p.a.p.wal.head(),
            puts: vec![
                crate::SyncPut {
                    key: "secret/x".into(),
                    value: "1".into(),
                    class: DataClass::Replicated,
                },
                crate::SyncPut {
                    key: "secret/y".into(),
                    value: "2".into(),
                    class: DataClass::Replicated,
                },
            ],
            deletes: vec!["secret/gone".into()],
        };
        let from = p.a_addr();
        p.b.on_sync_data(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        let link = &p.b.v.links[&Kind::Dr];
        assert_eq!(link.state, SecondaryState::MerkleDiff);
        assert_eq!(
            link.sync,
            Some(SyncProgress {
                sync_progress: 0,
                sync_total_keys: 3,
            })
        );
    }

    #[test]
    fn entries_after_a_gap_ask_for_the_stream_again_from_the_cursor() {
        let mut p = Pair::streaming(Kind::Dr);
        let at = cursor(&p, Kind::Dr);
        let old_session = p.b.v.links[&Kind::Dr].session;
        let m = Entries {
            kind: Kind::Dr,
            session: old_session,
            after: Cursor {
                index: at.index + 5,
                ..at
            },
            until: Cursor {
                index: at.index + 6,
                ..at
            },
            entries: vec![put(at.index + 6, "secret/x")],
        };
        let from = p.a_addr();
        p.b.on_entries(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        assert_ne!(p.b.v.links[&Kind::Dr].session, old_session, "a new session");
        assert_eq!(p.b.seen(), stream_request(&p, Kind::Dr));
        assert_eq!(
            p.b.storage().get("secret/x"),
            None,
            "nothing after the gap applied"
        );
        assert_eq!(cursor(&p, Kind::Dr), at);
    }

    #[test]
    fn entries_of_an_old_session_are_ignored() {
        let mut p = Pair::streaming(Kind::Dr);
        let at = cursor(&p, Kind::Dr);
        let m = Entries {
            kind: Kind::Dr,
            session: p.b.v.links[&Kind::Dr].session.wrapping_add(1),
            after: at,
            until: Cursor {
                index: at.index + 1,
                ..at
            },
            entries: vec![put(at.index + 1, "secret/x")],
        };
        let from = p.a_addr();
        p.b.on_entries(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        assert_eq!(p.b.seen(), quiet());
        assert_eq!(p.b.storage().get("secret/x"), None);
        assert_eq!(cursor(&p, Kind::Dr), at);
    }

    #[test]
    fn a_heartbeat_ack_reconnects_a_lost_link_and_asks_for_the_stream() {
        let mut p = Pair::streaming(Kind::Dr);
        if let Some(link) = p.b.v.links.get_mut(&Kind::Dr) {
            link.connected = false;
            link.unanswered = true;
        }
        let ack = HeartbeatAck {
            kind: Kind::Dr,
            known_primary_cluster_addrs: vec![p.a_addr()],
            primary_api_addr: p.a.config().api_addr.clone(),
            head: cursor(&p, Kind::Dr),
            filter: None,
            dynamic_filter: Default::default(),
        };
        let (now, from) = (p.now, p.a_addr());
        p.b.on_heartbeat_ack(&mut Pair::cx(now, &mut p.rng, &from), ack);
        assert_eq!(p.b.seen(), stream_request(&p, Kind::Dr));
        let link = &p.b.v.links[&Kind::Dr];
        assert!(link.connected && !link.unanswered);
        assert_eq!(link.last_heartbeat, Some(now));
    }

    #[test]
    fn a_link_refused_as_not_primary_tries_the_next_known_address_and_sends_nothing() {
        let mut p = Pair::streaming(Kind::Dr);
        p.b.on_link_refused(Kind::Dr, LinkRefusal::NotPrimary);
        assert_eq!(
            p.b.seen(),
            quiet(),
            "the next heartbeat goes to the next address"
        );
        let link = &p.b.v.links[&Kind::Dr];
        assert_eq!(link.state, SecondaryState::Connecting);
        assert_eq!(link.target, 1);
        assert!(!link.connected);
        assert_eq!(p.b.last_error(Kind::Dr), None);
    }

    #[test]
    fn a_revoked_secondary_goes_idle_with_the_reason_and_forgets_its_primary() {
        let mut p = Pair::streaming(Kind::Dr);
        p.b.on_revoked(Revoked { kind: Kind::Dr });
        assert_eq!(p.b.seen(), quiet());
        assert_eq!(p.b.v.links[&Kind::Dr].state, SecondaryState::Idle);
        assert!(p
            .b
            .last_error(Kind::Dr)
            .is_some_and(|e| e.contains("revoked")));
        assert_eq!(p.b.target_addr(Kind::Dr), None, "no primary to send to");
    }

    #[test]
    fn an_accepted_enable_wipes_joins_the_set_and_asks_for_a_stream_from_nothing() {
        let (mut p, accepted) = Pair::accepted_undelivered(Kind::Dr);
        let held = p.b.storage().len();
        assert!(held > 0 && p.b.storage().get("secret/old").is_some());
        // The wipe lists every key it removed, so a durable host deletes them too.
        let wiped_keys: Vec<String> = p.b.storage().entries().map(|(k, _)| k.clone()).collect();
        assert!(wiped_keys.contains(&"secret/old".to_string()));
        let from = p.a_addr();
        p.b.on_accepted(&mut Pair::cx(p.now, &mut p.rng, &from), accepted.clone());
        let session = p.b.v.links[&Kind::Dr].session;
        assert_eq!(
            p.b.seen(),
            Seen {
                messages: vec![Transmit {
                    to: p.a_addr(),
                    message: Message::StreamRequest(StreamRequest {
                        kind: Kind::Dr,
                        session,
                        credentials: accepted.credentials.clone(),
                        cursor: None,
                    }),
                }],
                events: vec![
                    Event::Wiped {
                        kind: Kind::Dr,
                        entries: held
                    },
                    Event::Activation {
                        kind: Kind::Dr,
                        update: false,
                        result: Ok(())
                    },
                ],
                changed: wiped_keys,
            }
        );
        assert_eq!(
            p.b.storage().get("secret/old"),
            None,
            "only the acceptance wipes"
        );
        assert_eq!(p.b.mode(Kind::Dr), crate::ids::Mode::Secondary);
        assert_eq!(
            p.b.unseal_keys(),
            &accepted.unseal,
            "the primary's shares replace b's"
        );
    }

    #[test]
    fn an_acceptance_of_another_attempt_is_ignored() {
        let (mut p, mut accepted) = Pair::accepted_undelivered(Kind::Dr);
        accepted.attempt = "an-older-attempt".into();
        let from = p.a_addr();
        p.b.on_accepted(&mut Pair::cx(p.now, &mut p.rng, &from), accepted);
        assert_eq!(p.b.seen(), quiet());
        assert_eq!(p.b.mode(Kind::Dr), crate::ids::Mode::Bootstrapping);
        assert!(p.b.storage().get("secret/old").is_some(), "nothing wiped");
    }
}
