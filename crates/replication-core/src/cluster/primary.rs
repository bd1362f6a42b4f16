//! The primary side: what a primary does with its secondaries' messages (activation requests,
//! heartbeats, stream requests, diff keys, forwarded writes) and what it pushes to them (WAL entries,
//! the DR mirror of its performance role, failover targets).
//!
//! Every message from a secondary is authenticated first ([`Cluster::judge_link`]): the credentials'
//! set, identity and secret must match a live record of this primary's registry.
//!
//! (Over 600 lines with the unit tests at the end, which call each handler and assert the exact
//! `Ready` it leaves; the handlers themselves are about 560.)

use super::{Cluster, Cx, Peer};
use crate::bugs::Bug;
use crate::error::{ActivationRefusal, Error};
use crate::ids::{random_hex, Kind};
use crate::message::{
    ActivationAccepted, ActivationRefused, ActivationRequest, Credentials, DiffKeys, DiffStart,
    Entries, FailoverTargets, Forward, ForwardReply, Heartbeat, HeartbeatAck, LinkRefusal,
    LinkRefused, Message, Mirror, StreamRequest, SyncData, SyncPut,
};
use crate::role::{AcceptedLink, MirroredRole, Role};
use crate::storage::{DataClass, PathsFilter};
use crate::time::Timestamp;
use crate::token;
use crate::wal::{Cursor, WalOp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Answers a primary gave to forwarded writes lately, by request id (with the secondary id that
/// asked), so that a duplicated `Forward` is answered again rather than applied a second time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(super) struct ForwardLog {
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
    /// Is this a secondary we accept? The secondary id if so.
    pub(super) fn judge_link(&self, kind: Kind, c: &Credentials) -> Result<String, LinkRefusal> {
        let Some(p) = self.primary(kind) else {
            return Err(LinkRefusal::NotPrimary);
        };
        if p.cluster_id != c.cluster_id {
            return Err(LinkRefusal::Unknown);
        }
        let entry = p.secondaries.get(&c.secondary_id);
        match entry.and_then(|e| e.link.as_ref().map(|l| (e, l))) {
            Some((_, l)) if l.secret != c.secret => Err(LinkRefusal::Unknown),
            Some((e, _)) if e.revoked => Err(LinkRefusal::Revoked),
            Some(_) => Ok(c.secondary_id.clone()),
            None => Err(LinkRefusal::Unknown),
        }
    }

    /// [`Cluster::judge_link`], answering a refusal itself (`None` then).
    fn check_link(&mut self, kind: Kind, to: &str, c: &Credentials) -> Option<String> {
        match self.judge_link(kind, c) {
            Ok(id) => Some(id),
            Err(reason) => {
                self.send(to, Message::LinkRefused(LinkRefused { kind, reason }));
                None
            }
        }
    }

    fn peer(&mut self, kind: Kind, id: &str) -> &mut Peer {
        self.v
            .peers
            .entry(kind)
            .or_default()
            .entry(id.to_string())
            .or_insert(Peer {
                last_heartbeat: None,
                shipping: None,
            })
    }

    pub(super) fn remove_peer(&mut self, kind: Kind, id: &str) {
        if let Some(m) = self.v.peers.get_mut(&kind) {
            m.remove(id);
        }
    }

    /// A secondary asks to activate with a token: accepted (its identity, the unseal shares and the
    /// failover targets go back) or refused with the reason.
    pub(super) fn on_activation_request(&mut self, cx: &mut Cx<'_>, m: ActivationRequest) {
        let kind = m.kind;
        let nonce = token::read_token(&m.token)
            .map(|c| c.nonce)
            .unwrap_or_default();
        let answer = match self.judge_token(cx.now, kind, &m.token, &m.attempt) {
            Err(reason) => Message::ActivationRefused(ActivationRefused {
                kind,
                nonce,
                attempt: m.attempt,
                reason,
            }),
            Ok(id) => {
                let existing = self
                    .primary(kind)
                    .and_then(|p| p.secondaries.get(&id))
                    .and_then(|e| e.link.as_ref())
                    .map(|l| l.secret.clone());
                let secret = existing.unwrap_or_else(|| random_hex(cx.rng, 16));
                let Some(p) = self.primary_mut(kind) else {
                    return;
                };
                let cluster_id = p.cluster_id;
                if let Some(e) = p.secondaries.get_mut(&id) {
                    e.used_by = Some(m.attempt.clone());
                    e.link = Some(AcceptedLink {
                        secret: secret.clone(),
                        cluster_addr: m.reply_to.clone(),
                        api_addr: m.api_addr,
                        needs_diff: false,
                    });
                }
                self.peer(kind, &id).last_heartbeat = Some(cx.now);
                Message::ActivationAccepted(ActivationAccepted {
                    kind,
                    nonce,
                    attempt: m.attempt,
                    credentials: Credentials {
                        cluster_id,
                        secondary_id: id,
                        secret,
                    },
                    unseal: self.p.meta.unseal.clone(),
                    known_primary_cluster_addrs: self.failover_addrs(kind),
                    primary_api_addr: self.p.meta.config.api_addr.clone(),
                })
            }
        };
        self.send(&m.reply_to, answer);
    }

    /// Everything only the primary can check about a token. Returns the secondary id to accept.
    fn judge_token(
        &self,
        now: Timestamp,
        kind: Kind,
        text: &str,
        attempt: &str,
    ) -> Result<String, ActivationRefusal> {
        let Some(p) = self.primary(kind) else {
            return Err(ActivationRefusal::IssuerNotPrimary);
        };
        let Some(claims) = token::verify(text, p.secret.as_bytes()) else {
            // Only a token that verifies under one of this cluster's earlier runs was issued before
            // it was re-enabled or promoted again; anything else was altered or forged.
            let earlier = self.p.meta.retired_runs.get(&kind).is_some_and(|runs| {
                runs.iter()
                    .any(|r| token::verify(text, r.as_bytes()).is_some())
            });
            return Err(if earlier {
                ActivationRefusal::IssuerRestarted
            } else {
                ActivationRefusal::Altered
            });
        };
        if claims.kind != kind {
            return Err(ActivationRefusal::WrongKind {
                token: claims.kind,
                used: kind,
            });
        }
        let Some(entry) = p.secondaries.get(&claims.secondary_id) else {
            return Err(ActivationRefusal::Altered);
        };
        if entry.nonce != claims.nonce {
            return Err(ActivationRefusal::Altered);
        }
        match &entry.used_by {
            _ if entry.revoked => Err(ActivationRefusal::Revoked),
            Some(by) if by == attempt || self.bug(Bug::TokenReusable) => Ok(claims.secondary_id),
            Some(_) => Err(ActivationRefusal::AlreadyUsed),
            None if entry.expires_at <= now => Err(ActivationRefusal::Expired),
            None => Ok(claims.secondary_id),
        }
    }

    /// A secondary's heartbeat: recorded, with where it is now, and answered with what it should know.
    pub(super) fn on_heartbeat(&mut self, cx: &mut Cx<'_>, m: Heartbeat) {
        let Some(id) = self.check_link(m.kind, cx.from, &m.credentials) else {
            return;
        };
        self.peer(m.kind, &id).last_heartbeat = Some(cx.now);
        // Record where it is now, only when it moved (a heartbeat that changes nothing persists
        // nothing).
        let moved = self
            .primary(m.kind)
            .and_then(|p| p.secondaries.get(&id))
            .and_then(|e| e.link.as_ref())
            .is_some_and(|l| l.cluster_addr != cx.from || l.api_addr != m.api_addr);
        if moved {
            if let Some(l) = self
                .primary_mut(m.kind)
                .and_then(|p| p.secondaries.get_mut(&id))
                .and_then(|e| e.link.as_mut())
            {
                l.cluster_addr = cx.from.to_string();
                l.api_addr = m.api_addr;
            }
        }
        let ack = self.heartbeat_ack(m.kind, &id);
        self.send(cx.from, ack);
    }

    fn heartbeat_ack(&self, kind: Kind, id: &str) -> Message {
        let filter = self.primary(kind).and_then(|p| p.filter(id)).cloned();
        Message::HeartbeatAck(HeartbeatAck {
            kind,
            known_primary_cluster_addrs: self.failover_addrs(kind),
            primary_api_addr: self.p.meta.config.api_addr.clone(),
            head: self.p.wal.head(),
            dynamic_filter: self.dynamic_for(filter.as_ref()),
            filter,
        })
    }

    /// The addresses a secondary should know for this primary: its own (or override) first, then its
    /// DR secondaries' for a performance primary (where a DR promotion would bring the role).
    fn failover_addrs(&self, kind: Kind) -> Vec<String> {
        let mut addrs = vec![];
        if let Some(p) = self.primary(kind) {
            addrs.push(if p.primary_cluster_addr.is_empty() {
                self.p.meta.config.cluster_addr.clone()
            } else {
                p.primary_cluster_addr.clone()
            });
        }
        if kind == Kind::Performance {
            if let Role::Primary(dr) = &self.p.meta.dr {
                for l in dr.secondaries.values().filter_map(|e| e.live_link()) {
                    if !addrs.contains(&l.cluster_addr) {
                        addrs.push(l.cluster_addr.clone());
                    }
                }
            }
        }
        addrs
    }

    /// A secondary asks for the stream from its cursor: resumed when the buffer still holds that
    /// position (and no filter change needs a diff), otherwise a Merkle diff starts.
    pub(super) fn on_stream_request(&mut self, cx: &mut Cx<'_>, m: StreamRequest) {
        let (kind, session) = (m.kind, m.session);
        let Some(id) = self.check_link(kind, cx.from, &m.credentials) else {
            return;
        };
        let needs_diff = self
            .primary(kind)
            .and_then(|p| p.secondaries.get(&id))
            .and_then(|e| e.link.as_ref())
            .is_some_and(|l| l.needs_diff);
        let resumable = m
            .cursor
            .filter(|c| !needs_diff && self.p.wal.entries_after(*c).is_some());
        let peer = self.peer(kind, &id);
        peer.last_heartbeat = Some(cx.now);
        match resumable {
            Some(c) => {
                // Confirm the stream at once (possibly with no entries), then keep shipping.
                peer.shipping = Some((c, session));
                self.ship_to(kind, &id, c, session);
            }
            None => {
                peer.shipping = None;
                self.start_diff(kind, &id, cx.from, session);
            }
        }
        if kind == Kind::Dr {
            self.v.mirrored = None;
        }
    }

    fn start_diff(&mut self, kind: Kind, id: &str, to: &str, session: u64) {
        let filter = self.filter_of(kind, id);
        let digests = self.p.storage.digests(kind, filter.as_ref());
        if let Some(l) = self
            .primary_mut(kind)
            .and_then(|p| p.secondaries.get_mut(id))
            .and_then(|e| e.link.as_mut())
        {
            l.needs_diff = false;
        }
        let at = self.p.wal.head();
        self.send(
            to,
            Message::DiffStart(DiffStart {
                kind,
                session,
                at,
                digests,
                filter,
            }),
        );
    }

    /// The paths filter the primary applies to secondary `id` (performance only).
    fn filter_of(&self, kind: Kind, id: &str) -> Option<PathsFilter> {
        if self.bug(Bug::FilterIgnored) {
            return None;
        }
        match kind {
            Kind::Dr => None,
            Kind::Performance => self.primary(kind).and_then(|p| p.filter(id)).cloned(),
        }
    }

    /// Ships new entries to every streaming peer; falls back to a diff when the buffer lost its
    /// position.
    pub(super) fn ship(&mut self) {
        let head = self.p.wal.head();
        let due: Vec<((Kind, String), Cursor, u64)> = self
            .v
            .peers
            .iter()
            .flat_map(|(k, m)| m.iter().map(move |(id, p)| ((*k, id.clone()), p)))
            .filter_map(|(k, p)| p.shipping.map(|(c, s)| (k, c, s)))
            .filter(|(_, c, _)| *c != head)
            .collect();
        for ((kind, id), cursor, session) in due {
            self.ship_to(kind, &id, cursor, session);
        }
    }

    /// Ships what follows `cursor` to one secondary, or starts a diff when the buffer lost it.
    fn ship_to(&mut self, kind: Kind, id: &str, cursor: Cursor, session: u64) {
        let head = self.p.wal.head();
        let Some(entry) = self.primary(kind).and_then(|p| p.secondaries.get(id)) else {
            self.remove_peer(kind, id);
            return;
        };
        let Some(link) = entry.link.as_ref() else {
            self.remove_peer(kind, id);
            return;
        };
        if entry.revoked {
            return;
        }
        let addr = link.cluster_addr.clone();
        let filter = self.filter_of(kind, id);
        let entries = self.p.wal.entries_after(cursor).map(|it| {
            it.filter(|e| self.ships_op(kind, filter.as_ref(), &e.op))
                .cloned()
                .collect::<Vec<_>>()
        });
        match entries {
            Some(entries) => {
                self.send(
                    &addr,
                    Message::Entries(Entries {
                        kind,
                        session,
                        after: cursor,
                        until: head,
                        entries,
                    }),
                );
                self.peer(kind, id).shipping = Some((head, session));
            }
            None => {
                self.peer(kind, id).shipping = None;
                self.start_diff(kind, id, &addr, session);
            }
        }
    }

    fn ships_op(&self, kind: Kind, filter: Option<&PathsFilter>, op: &WalOp) -> bool {
        match kind {
            Kind::Dr => true,
            Kind::Performance => {
                op.class() == DataClass::Replicated
                    && match (filter, self.p.storage.filter_mount_of(op.key())) {
                        (Some(f), Some(m)) => f.ships_mount(m),
                        (Some(_), None) => false,
                        (None, _) => true,
                    }
            }
        }
    }

    /// The secondary's keys in the buckets that differ: answered with exactly the keys that differ.
    pub(super) fn on_diff_keys(&mut self, cx: &mut Cx<'_>, m: DiffKeys) {
        let Some(id) = self.check_link(m.kind, cx.from, &m.credentials) else {
            return;
        };
        let filter = self.filter_of(m.kind, &id);
        let mut puts = vec![];
        let mut deletes = vec![];
        for (b, their_keys) in &m.buckets {
            let ours = self
                .p
                .storage
                .bucket_entries(m.kind, filter.as_ref(), *b as usize);
            for (k, h) in &ours {
                if their_keys.get(k) != Some(h) {
                    if let Some(e) = self.p.storage.get(k) {
                        puts.push(SyncPut {
                            key: k.clone(),
                            value: e.value.clone(),
                            class: e.class,
                        });
                    }
                }
            }
            for k in their_keys.keys() {
                if !ours.contains_key(k) {
                    deletes.push(k.clone());
                }
            }
        }
        // Values are as of now; the stream resumes from `at` and replays what changed since.
        self.send(
            cx.from,
            Message::SyncData(SyncData {
                kind: m.kind,
                session: m.session,
                at: m.at,
                puts,
                deletes,
            }),
        );
    }

    /// DR primary: keeps DR secondaries' copy of the performance role current.
    pub(super) fn mirror(&mut self) {
        let Role::Primary(dr) = &self.p.meta.dr else {
            self.v.mirrored = None;
            return;
        };
        let role = match &self.p.meta.performance {
            Role::Bootstrapping(_) => Role::Disabled,
            other => other.clone(),
        };
        if self.v.mirrored.as_ref() == Some(&role) {
            return;
        }
        let cluster_id = dr.cluster_id;
        let targets: Vec<String> = dr
            .secondaries
            .iter()
            .filter(|(id, _)| {
                self.v
                    .peers
                    .get(&Kind::Dr)
                    .is_some_and(|m| m.contains_key(*id))
            })
            .filter_map(|(_, e)| e.live_link())
            .map(|l| l.cluster_addr.clone())
            .collect();
        for t in targets {
            self.send(
                &t,
                Message::Mirror(Mirror {
                    cluster_id,
                    performance: MirroredRole(Box::new(role.clone())),
                }),
            );
        }
        self.v.mirrored = Some(role);
    }

    /// Performance primary: tells every performance secondary when its failover targets change (a DR
    /// secondary joined, left or moved). The first list of a primary run is not a change: the
    /// acceptance and every heartbeat answer carry it already.
    pub(super) fn push_failover_targets(&mut self) {
        if self.primary(Kind::Performance).is_none() {
            self.v.failover = None;
            return;
        }
        let addrs = self.failover_addrs(Kind::Performance);
        let changed = self.v.failover.as_ref().is_some_and(|old| *old != addrs);
        if changed {
            if let Some(p) = self.primary(Kind::Performance) {
                let cluster_id = p.cluster_id;
                let targets: Vec<String> = p
                    .secondaries
                    .values()
                    .filter_map(|e| e.live_link())
                    .map(|l| l.cluster_addr.clone())
                    .collect();
                for t in targets {
                    self.send(
                        &t,
                        Message::FailoverTargets(FailoverTargets {
                            cluster_id,
                            known_primary_cluster_addrs: addrs.clone(),
                        }),
                    );
                }
            }
        }
        self.v.failover = Some(addrs);
    }

    /// A performance secondary forwarded a client write. Every forward is answered: with the primary's
    /// result, or, when this cluster does not accept the link (it is not, or no longer, that set's
    /// primary; the secondary was revoked or is unknown), with an error saying the write was not
    /// applied, followed by the link refusal itself.
    pub(super) fn on_forward(&mut self, cx: &mut Cx<'_>, m: Forward) {
        let kind = Kind::Performance;
        let result = match self.judge_link(kind, &m.credentials) {
            Err(reason) => {
                if !self.bug(Bug::ForwardsUnanswered) {
                    let result = Err(not_forwarded(reason));
                    let reply = ForwardReply {
                        request: m.request,
                        result,
                    };
                    self.send(cx.from, Message::ForwardReply(reply));
                }
                self.send(cx.from, Message::LinkRefused(LinkRefused { kind, reason }));
                return;
            }
            Ok(id) => match self.v.answered.get(&id, m.request) {
                Some(earlier) => earlier.clone(),
                None => {
                    let result = self.client_local(m.op);
                    self.v.answered.insert(&id, m.request, result.clone());
                    result
                }
            },
        };
        let reply = ForwardReply {
            request: m.request,
            result,
        };
        self.send(cx.from, Message::ForwardReply(reply));
    }
}

/// What a cluster that refuses a forwarding secondary's link answers the forwarded write with.
fn not_forwarded(reason: LinkRefusal) -> Error {
    Error::Unavailable(match reason {
        LinkRefusal::NotPrimary => "the write was not applied: the cluster this performance secondary forwards to is not (or no longer) the primary of its replication set; retry once the secondary has found its new primary (see its status)".into(),
        LinkRefusal::Revoked => "the write was not applied: the performance primary revoked this secondary, which can no longer forward writes; activate it again with update-primary and a new token".into(),
        LinkRefusal::Unknown => "the write was not applied: the performance primary does not recognise this secondary (its replication set changed); enable it again with a new token (this wipes it)".into(),
    })
}

#[cfg(test)]
mod tests {
    //! Each handler of the primary side, called directly on a primary whose secondary `b` is
    //! streaming, and the exact `Ready` it leaves.

    use super::super::fixture::{Pair, Seen};
    use super::*;
    use crate::message::Transmit;
    use crate::request::{ClientOp, Request};
    use crate::step::Input;

    /// The primary remembers its last 1024 answers to forwarded writes, each for the secondary
    /// that asked: a duplicate within that window is answered again, an older one is not.
    #[test]
    fn the_forward_log_keeps_the_last_1024_answers_per_asker() {
        let mut log = ForwardLog::default();
        for r in 0..1024u64 {
            log.insert("s", r, Ok(r));
        }
        assert_eq!(log.get("s", 0), Some(&Ok(0)), "all 1024 kept");
        assert_eq!(log.get("other", 0), None, "another secondary's request id");
        log.insert("s", 5, Ok(55));
        assert_eq!(
            log.get("s", 0),
            Some(&Ok(0)),
            "a repeated id takes no new place"
        );
        log.insert("s", 1024, Ok(1024));
        assert_eq!(log.get("s", 0), None, "the oldest is forgotten first");
        assert_eq!(log.get("s", 1), Some(&Ok(1)));
        assert_eq!(log.get("s", 1024), Some(&Ok(1024)));
    }
    use crate::storage::DynamicFilter;
    use crate::time::Duration;

    /// The link refusal a cluster sends to `to`.
    fn refusal(to: &str, kind: Kind, reason: LinkRefusal) -> Transmit {
        Transmit {
            to: to.into(),
            message: Message::LinkRefused(LinkRefused { kind, reason }),
        }
    }

    /// `a` revokes DR secondary `b`.
    fn revoke_b(p: &mut Pair) {
        let (now, rng) = (p.now, &mut p.rng);
        let revoke = Request::RevokeSecondary {
            kind: Kind::Dr,
            id: "b".into(),
        };
        p.a.step(now, rng, Input::Request(revoke)).unwrap();
    }

    /// What the primary's DR registry holds for its secondary `b`.
    fn b_at_a(p: &Pair) -> crate::AcceptedSecondary<'_> {
        p.a.inspect(Kind::Dr)
            .primary()
            .unwrap()
            .secondary("b")
            .unwrap()
    }

    fn heartbeat(kind: Kind, credentials: Credentials) -> Heartbeat {
        Heartbeat {
            kind,
            credentials,
            api_addr: "https://b-moved:8200".into(),
        }
    }

    #[test]
    fn a_heartbeat_of_an_accepted_secondary_is_acked_and_its_addresses_recorded() {
        let mut p = Pair::streaming(Kind::Dr);
        let (now, from) = (p.now.plus(Duration::from_secs(1)), "https://b-moved:8201");
        let m = heartbeat(Kind::Dr, p.b_credentials(Kind::Dr));
        p.a.on_heartbeat(&mut Pair::cx(now, &mut p.rng, from), m);

        let expected = Message::HeartbeatAck(HeartbeatAck {
            kind: Kind::Dr,
            known_primary_cluster_addrs: vec![p.a_addr()],
            primary_api_addr: p.a.config().api_addr.clone(),
            head: p.a.p.wal.head(),
            filter: None,
            dynamic_filter: DynamicFilter::default(),
        });
        assert_eq!(
            p.a.seen(),
            Seen {
                messages: vec![Transmit {
                    to: from.into(),
                    message: expected
                }],
                events: vec![],
                changed: vec![],
            }
        );
        let b = b_at_a(&p);
        assert_eq!(
            b.cluster_addr(),
            from,
            "the primary sends where the secondary is now"
        );
        assert_eq!(b.api_addr(), "https://b-moved:8200");
        assert_eq!(p.a.v.peers[&Kind::Dr]["b"].last_heartbeat, Some(now));
    }

    /// Either address moving alone is recorded: the cluster address the heartbeat came from, or
    /// the API address it names.
    #[test]
    fn a_heartbeat_records_each_address_that_moved_alone() {
        let mut p = Pair::streaming(Kind::Dr);
        let api = p.b.config().api_addr.clone();
        let now = p.now.plus(Duration::from_secs(1));
        let recorded = |p: &Pair| {
            let b = b_at_a(p);
            (b.cluster_addr().to_string(), b.api_addr().to_string())
        };
        let mut m = heartbeat(Kind::Dr, p.b_credentials(Kind::Dr));
        m.api_addr = api.clone();
        p.a.on_heartbeat(
            &mut Pair::cx(now, &mut p.rng, "https://b-new:8201"),
            m.clone(),
        );
        assert_eq!(
            recorded(&p),
            ("https://b-new:8201".to_string(), api.clone())
        );
        assert!(
            p.a.ready().persist.meta.is_some(),
            "the move is made durable"
        );
        m.api_addr = "https://b-new:8200".into();
        p.a.on_heartbeat(&mut Pair::cx(now, &mut p.rng, "https://b-new:8201"), m);
        assert_eq!(
            recorded(&p),
            (
                "https://b-new:8201".to_string(),
                "https://b-new:8200".to_string()
            )
        );
        assert!(
            p.a.ready().persist.meta.is_some(),
            "the move is made durable"
        );
    }

    #[test]
    fn a_heartbeat_with_a_wrong_secret_is_refused_as_unknown_and_not_recorded() {
        let mut p = Pair::streaming(Kind::Dr);
        let mut credentials = p.b_credentials(Kind::Dr);
        credentials.secret = "forged".into();
        let before = p.a.v.peers[&Kind::Dr]["b"].last_heartbeat;
        let from = p.b_addr();
        p.a.on_heartbeat(
            &mut Pair::cx(p.now.plus(Duration::from_secs(1)), &mut p.rng, &from),
            heartbeat(Kind::Dr, credentials),
        );
        assert_eq!(
            p.a.seen(),
            Seen {
                messages: vec![refusal(&from, Kind::Dr, LinkRefusal::Unknown)],
                events: vec![],
                changed: vec![],
            }
        );
        assert_eq!(p.a.v.peers[&Kind::Dr]["b"].last_heartbeat, before);
        let b = b_at_a(&p);
        assert_eq!(
            b.api_addr(),
            p.b.config().api_addr,
            "nothing of the forged heartbeat kept"
        );
    }

    #[test]
    fn revoking_a_secondary_drops_its_connection_state() {
        // Its heartbeat time and shipping position go: nothing is shipped to it any more, and a
        // later re-activation under the same id starts from a fresh connection.
        let mut p = Pair::streaming(Kind::Dr);
        assert!(p.a.v.peers[&Kind::Dr].contains_key("b"));
        revoke_b(&mut p);
        assert!(
            !p.a.v.peers[&Kind::Dr].contains_key("b"),
            "{:?}",
            p.a.v.peers
        );
    }

    #[test]
    fn a_heartbeat_of_a_revoked_secondary_is_refused_as_revoked() {
        let mut p = Pair::streaming(Kind::Dr);
        revoke_b(&mut p);
        p.a.ready();
        let from = p.b_addr();
        let m = heartbeat(Kind::Dr, p.b_credentials(Kind::Dr));
        p.a.on_heartbeat(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        assert_eq!(
            p.a.ready().messages,
            vec![refusal(&from, Kind::Dr, LinkRefusal::Revoked)]
        );
    }

    #[test]
    fn a_forwarded_write_is_applied_once_and_a_repeat_gets_the_first_answer() {
        let mut p = Pair::streaming(Kind::Performance);
        let from = p.b_addr();
        let forward = Forward {
            credentials: p.b_credentials(Kind::Performance),
            request: 7,
            op: ClientOp::Write {
                path: "secret/app".into(),
                value: "v1".into(),
            },
        };
        p.a.on_forward(&mut Pair::cx(p.now, &mut p.rng, &from), forward.clone());
        let index = p.a.p.wal.head().index;
        let answer = Seen {
            messages: vec![Transmit {
                to: from.clone(),
                message: Message::ForwardReply(ForwardReply {
                    request: 7,
                    result: Ok(index),
                }),
            }],
            events: vec![],
            changed: vec!["secret/app".into()],
        };
        assert_eq!(p.a.seen(), answer);
        assert_eq!(
            p.a.storage().get("secret/app").map(|e| e.value.as_str()),
            Some("v1")
        );

        // The same request again (a duplicated message, or a retry): the first answer, nothing
        // applied twice (so nothing to make durable).
        p.a.on_forward(&mut Pair::cx(p.now, &mut p.rng, &from), forward);
        assert_eq!(
            p.a.seen(),
            Seen {
                changed: vec![],
                ..answer
            }
        );
        assert_eq!(p.a.p.wal.head().index, index);
    }

    #[test]
    fn a_forward_to_a_cluster_that_is_not_primary_is_answered_not_applied_then_refused() {
        let mut p = Pair::streaming(Kind::Performance);
        // `b` is a secondary: it does not accept links, so it answers the write and refuses the link.
        let forward = Forward {
            credentials: p.b_credentials(Kind::Performance),
            request: 3,
            op: ClientOp::Delete {
                path: "secret/app".into(),
            },
        };
        let from = p.a_addr();
        p.b.on_forward(&mut Pair::cx(p.now, &mut p.rng, &from), forward);
        let ready = p.b.ready();
        assert_eq!(ready.events, vec![]);
        let [reply, refused] = ready.messages.as_slice() else {
            panic!(
                "expected the answer then the refusal, got {:?}",
                ready.messages
            )
        };
        assert_eq!(reply.to, from);
        // The client must learn the write was not applied, as a 503 (retry once the secondary has
        // found its primary), not as a 400.
        assert!(
            matches!(
                &reply.message,
                Message::ForwardReply(ForwardReply { request: 3, result: Err(Error::Unavailable(m)) })
                    if m.contains("not applied")
            ),
            "{:?}",
            reply.message
        );
        assert_eq!(
            *refused,
            refusal(&from, Kind::Performance, LinkRefusal::NotPrimary)
        );
    }

    #[test]
    fn a_used_token_is_refused_with_its_nonce_and_attempt() {
        let mut p = Pair::streaming(Kind::Dr);
        // The token b activated with, presented again by another cluster.
        let nonce = token::read_token(&p.token).unwrap().nonce;
        let m = ActivationRequest {
            kind: Kind::Dr,
            token: p.token.clone(),
            attempt: "second".into(),
            reply_to: "https://c:8201".into(),
            api_addr: "https://c:8200".into(),
        };
        p.a.on_activation_request(&mut Pair::cx(p.now, &mut p.rng, "https://c:8201"), m);
        assert_eq!(
            p.a.seen(),
            Seen {
                messages: vec![Transmit {
                    to: "https://c:8201".into(),
                    message: Message::ActivationRefused(ActivationRefused {
                        kind: Kind::Dr,
                        nonce,
                        attempt: "second".into(),
                        reason: ActivationRefusal::AlreadyUsed,
                    }),
                }],
                events: vec![],
                changed: vec![],
            }
        );
    }

    fn stream_request(p: &Pair, cursor: Option<Cursor>, session: u64) -> StreamRequest {
        StreamRequest {
            kind: Kind::Dr,
            session,
            credentials: p.b_credentials(Kind::Dr),
            cursor,
        }
    }

    #[test]
    fn a_stream_request_the_buffer_can_resume_is_confirmed_with_what_follows() {
        let mut p = Pair::streaming(Kind::Dr);
        let at = p.b.secondary(Kind::Dr).and_then(|s| s.cursor).unwrap();
        // One write on the primary since the secondary's position.
        let (now, rng) = (p.now, &mut p.rng);
        p.a.step(
            now,
            rng,
            Input::Client(ClientOp::Write {
                path: "secret/new".into(),
                value: "v".into(),
            }),
        )
        .unwrap();
        p.a.ready();
        let from = p.b_addr();
        let m = stream_request(&p, Some(at), 42);
        p.a.on_stream_request(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        let head = p.a.p.wal.head();
        let entries: Vec<_> = p.a.p.wal.entries_after(at).unwrap().cloned().collect();
        assert_eq!(entries.len(), 1, "exactly the write after the cursor");
        assert_eq!(
            p.a.seen(),
            Seen {
                messages: vec![Transmit {
                    to: from,
                    message: Message::Entries(Entries {
                        kind: Kind::Dr,
                        session: 42,
                        after: at,
                        until: head,
                        entries,
                    }),
                }],
                events: vec![],
                changed: vec![],
            }
        );
        assert_eq!(p.a.v.peers[&Kind::Dr]["b"].shipping, Some((head, 42)));
    }

    /// A secondary whose paths filter changed diffs even from a position the buffer could
    /// resume: what it should hold is no longer what the log shipped it.
    #[test]
    fn a_stream_request_after_a_filter_change_starts_a_diff_though_resumable() {
        let mut p = Pair::streaming(Kind::Performance);
        let at =
            p.b.secondary(Kind::Performance)
                .and_then(|s| s.cursor)
                .unwrap();
        assert!(p.a.p.wal.entries_after(at).is_some(), "resumable");
        fn link(a: &mut Cluster) -> &mut bool {
            a.primary_mut(Kind::Performance)
                .and_then(|p| p.secondaries.get_mut("b"))
                .and_then(|e| e.link.as_mut())
                .map(|l| &mut l.needs_diff)
                .unwrap()
        }
        *link(&mut p.a) = true;
        p.a.ready();
        let from = p.b_addr();
        let m = StreamRequest {
            kind: Kind::Performance,
            session: 7,
            credentials: p.b_credentials(Kind::Performance),
            cursor: Some(at),
        };
        p.a.on_stream_request(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        let sent = p.a.seen().messages;
        assert!(
            matches!(&sent[..], [Transmit { message: Message::DiffStart(d), .. }] if d.session == 7),
            "{sent:?}"
        );
        assert!(!*link(&mut p.a), "the diff answers the filter change");
        assert_eq!(p.a.v.peers[&Kind::Performance]["b"].shipping, None);
    }

    #[test]
    fn a_stream_request_from_another_log_epoch_starts_a_diff_at_the_head() {
        let mut p = Pair::streaming(Kind::Dr);
        let at = p.b.secondary(Kind::Dr).and_then(|s| s.cursor).unwrap();
        let foreign = Cursor {
            epoch: at.epoch.wrapping_add(1),
            ..at
        };
        let from = p.b_addr();
        let m = stream_request(&p, Some(foreign), 43);
        p.a.on_stream_request(&mut Pair::cx(p.now, &mut p.rng, &from), m);
        assert_eq!(
            p.a.seen(),
            Seen {
                messages: vec![Transmit {
                    to: from,
                    message: Message::DiffStart(DiffStart {
                        kind: Kind::Dr,
                        session: 43,
                        at: p.a.p.wal.head(),
                        digests: p.a.p.storage.digests(Kind::Dr, None),
                        filter: None,
                    }),
                }],
                events: vec![],
                changed: vec![],
            }
        );
        assert_eq!(
            p.a.v.peers[&Kind::Dr]["b"].shipping,
            None,
            "not streaming until the diff ends"
        );
    }
}
