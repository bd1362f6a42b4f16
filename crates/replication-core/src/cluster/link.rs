//! The data plane: activation handshake, heartbeats, WAL streaming, Merkle diff and sync, forwarded
//! writes and the DR mirror of the performance role.

use super::{Cluster, Link, Peer, Role, SecondaryRecord, SecondaryRole, SyncProgress, TokenState};
use crate::bugs::Bug;
use crate::error::ActivationRefusal;
use crate::ids::{random_hex, Kind, Mode, SecondaryState};
use crate::merkle::{differing_buckets, BUCKETS};
use crate::message::{Credentials, LinkRefusal, Message, PerformanceMirror};
use crate::request::Event;
use crate::storage::{DataClass, PathsFilter};
use crate::time::{Duration, Timestamp};
use crate::token;
use crate::wal::{Cursor, WalOp};
use rand_core::RngCore;
use std::collections::BTreeMap;

/// Heartbeats a secondary may miss before its link counts as disconnected.
pub const MISSED_HEARTBEATS: u64 = 3;

impl Cluster {
    pub(super) fn receive(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        from: &str,
        msg: Message,
    ) {
        match msg {
            Message::ActivationRequest {
                kind,
                token,
                update,
                attempt,
                reply_to,
                api_addr,
            } => self
                .on_activation_request(rng, now, kind, token, update, &attempt, reply_to, api_addr),
            Message::ActivationAccepted {
                kind,
                nonce,
                attempt,
                credentials,
                unseal,
                known_primary_cluster_addrs,
                primary_api_addr,
            } => self.on_accepted(
                now,
                rng,
                kind,
                (nonce, attempt),
                credentials,
                unseal,
                known_primary_cluster_addrs,
                primary_api_addr,
            ),
            Message::ActivationRefused {
                kind,
                nonce,
                attempt,
                reason,
            } => self.on_refused(kind, &nonce, &attempt, reason),
            Message::Heartbeat {
                kind,
                credentials,
                api_addr,
            } => {
                if let Some(id) = self.check_link(kind, from, &credentials) {
                    let peer = self.peer(kind, &id);
                    peer.last_heartbeat = Some(now);
                    if let Some(rec) = self
                        .primary_mut(kind)
                        .and_then(|p| p.secondaries.get_mut(&id))
                    {
                        rec.cluster_addr = from.to_string();
                        rec.api_addr = api_addr;
                    }
                    let ack = self.heartbeat_ack(kind, &id);
                    self.send(from, ack);
                }
            }
            Message::HeartbeatAck {
                kind,
                known_primary_cluster_addrs,
                primary_api_addr,
                head,
                filter,
                dynamic_filter,
            } => self.on_heartbeat_ack(
                now,
                rng,
                kind,
                known_primary_cluster_addrs,
                primary_api_addr,
                head,
                (filter, dynamic_filter),
            ),
            Message::LinkRefused { kind, reason } => self.on_link_refused(now, kind, reason),
            Message::Revoked { kind } => {
                if self.secondary(kind).is_some() {
                    self.on_link_refused(now, kind, LinkRefusal::Revoked)
                }
            }
            Message::Resync { kind } => {
                if self.is_connected(kind) {
                    if let Some(s) = self.secondary_mut(kind) {
                        s.cursor = None;
                    }
                    self.request_stream(now, rng, kind);
                }
            }
            Message::StreamRequest {
                kind,
                session,
                credentials,
                cursor,
            } => {
                if let Some(id) = self.check_link(kind, from, &credentials) {
                    self.on_stream_request(now, kind, &id, from, cursor, session);
                }
            }
            Message::Entries {
                kind,
                session,
                after,
                until,
                entries,
            } => self.on_entries(now, rng, kind, session, after, until, entries),
            Message::DiffStart {
                kind,
                session,
                at,
                digests,
                filter,
            } => self.on_diff_start(now, kind, from, session, at, digests, filter),
            Message::DiffKeys {
                kind,
                session,
                credentials,
                at,
                buckets,
            } => {
                if let Some(id) = self.check_link(kind, from, &credentials) {
                    self.on_diff_keys(kind, &id, from, session, at, buckets);
                }
            }
            Message::SyncData {
                kind,
                session,
                at,
                puts,
                deletes,
                buckets,
            } => self.on_sync_data(now, rng, kind, session, at, puts, deletes, buckets),
            Message::Mirror {
                cluster_id,
                performance,
            } => {
                if self
                    .secondary(Kind::Dr)
                    .is_some_and(|s| s.cluster_id == cluster_id)
                {
                    self.p.performance = *performance.0;
                }
            }
            Message::Forward {
                credentials,
                request,
                op,
            } => self.on_forward(from, &credentials, request, op),
            Message::ForwardReply { request, result } => self.on_forward_reply(request, result),
            Message::FailoverTargets {
                cluster_id,
                known_primary_cluster_addrs,
            } => self.on_failover_targets(cluster_id, known_primary_cluster_addrs),
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

    /// Primary side: is this a secondary we accept? The secondary id if so.
    pub(super) fn judge_link(&self, kind: Kind, c: &Credentials) -> Result<String, LinkRefusal> {
        match self.primary(kind) {
            None => Err(LinkRefusal::NotPrimary),
            Some(p) if p.cluster_id != c.cluster_id => Err(LinkRefusal::Unknown),
            Some(p) => match p.secondaries.get(&c.secondary_id) {
                Some(r) if r.secret != c.secret => Err(LinkRefusal::Unknown),
                Some(r) if r.revoked => Err(LinkRefusal::Revoked),
                Some(_) => Ok(c.secondary_id.clone()),
                None => Err(LinkRefusal::Unknown),
            },
        }
    }

    /// Primary side: [`Cluster::judge_link`], answering a refusal itself (`None` then).
    fn check_link(&mut self, kind: Kind, from: &str, c: &Credentials) -> Option<String> {
        match self.judge_link(kind, c) {
            Ok(id) => Some(id),
            Err(reason) => {
                self.send(from, Message::LinkRefused { kind, reason });
                None
            }
        }
    }

    fn heartbeat_ack(&self, kind: Kind, id: &str) -> Message {
        let p = self.primary(kind);
        let filter = p.and_then(|p| p.filters.get(id).cloned());
        Message::HeartbeatAck {
            kind,
            known_primary_cluster_addrs: self.failover_addrs(kind),
            primary_api_addr: self.p.config.api_addr.clone(),
            head: self.p.wal.head(),
            dynamic_filter: self.dynamic_for(filter.as_ref()),
            filter,
        }
    }

    /// The addresses a secondary should know for this primary: its own (or override) first, then its
    /// DR secondaries' for a performance primary (where a DR promotion would bring the role).
    fn failover_addrs(&self, kind: Kind) -> Vec<String> {
        let mut addrs = vec![];
        if let Some(p) = self.primary(kind) {
            addrs.push(if p.primary_cluster_addr.is_empty() {
                self.p.config.cluster_addr.clone()
            } else {
                p.primary_cluster_addr.clone()
            });
        }
        if kind == Kind::Performance {
            if let Role::Primary(dr) = &self.p.dr {
                for r in dr.secondaries.values() {
                    if !r.revoked && !addrs.contains(&r.cluster_addr) {
                        addrs.push(r.cluster_addr.clone());
                    }
                }
            }
        }
        addrs
    }

    #[allow(clippy::too_many_arguments)]
    fn on_activation_request(
        &mut self,
        rng: &mut dyn RngCore,
        now: Timestamp,
        kind: Kind,
        text: String,
        update: bool,
        attempt: &str,
        reply_to: String,
        api_addr: String,
    ) {
        let nonce = token::read(&text).map(|c| c.nonce).unwrap_or_default();
        let verdict = self.judge_token(now, kind, &text, attempt);
        let msg = match verdict {
            Err(reason) => Message::ActivationRefused {
                kind,
                nonce,
                attempt: attempt.to_string(),
                reason,
            },
            Ok(id) => {
                let existing = self
                    .primary(kind)
                    .and_then(|p| p.secondaries.get(&id))
                    .map(|r| r.secret.clone());
                let secret = existing.unwrap_or_else(|| random_hex(rng, 16));
                let Some(p) = self.primary_mut(kind) else {
                    return;
                };
                if let Some(t) = p.tokens.get_mut(&id) {
                    t.state = TokenState::Used {
                        by: attempt.to_string(),
                    };
                }
                p.secondaries.insert(
                    id.clone(),
                    SecondaryRecord {
                        secret: secret.clone(),
                        cluster_addr: reply_to.clone(),
                        api_addr,
                        revoked: false,
                        needs_diff: false,
                    },
                );
                let credentials = Credentials {
                    cluster_id: p.cluster_id,
                    secondary_id: id.clone(),
                    secret,
                };
                self.peer(kind, &id).last_heartbeat = Some(now);
                let _ = update;
                Message::ActivationAccepted {
                    kind,
                    nonce,
                    attempt: attempt.to_string(),
                    credentials,
                    unseal: self.p.unseal.clone(),
                    known_primary_cluster_addrs: self.failover_addrs(kind),
                    primary_api_addr: self.p.config.api_addr.clone(),
                }
            }
        };
        self.send(&reply_to, msg);
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
            let earlier = self.p.retired_runs.get(&kind).is_some_and(|runs| {
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
        let Some(record) = p.tokens.get(&claims.secondary_id) else {
            return Err(ActivationRefusal::Altered);
        };
        if record.nonce != claims.nonce {
            return Err(ActivationRefusal::Altered);
        }
        match &record.state {
            TokenState::Revoked => Err(ActivationRefusal::Revoked),
            TokenState::Used { by } if by == attempt || self.bug(Bug::TokenReusable) => {
                Ok(claims.secondary_id)
            }
            TokenState::Used { .. } => Err(ActivationRefusal::AlreadyUsed),
            TokenState::Pending if record.expires_at <= now => Err(ActivationRefusal::Expired),
            TokenState::Pending => Ok(claims.secondary_id),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_accepted(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        (nonce, attempt): (String, String),
        credentials: Credentials,
        unseal: crate::unseal::UnsealKeys,
        addrs: Vec<String>,
        api_addr: String,
    ) {
        let pending = match self.role(kind) {
            Role::Bootstrapping(p) => p.clone(),
            Role::Secondary(s) => match &s.pending {
                Some(p) => p.clone(),
                None => return,
            },
            _ => return,
        };
        if pending.claims.nonce != nonce || pending.attempt != attempt {
            return;
        }
        let mut role = SecondaryRole {
            cluster_id: credentials.cluster_id,
            credentials: Some(credentials),
            known_primary_cluster_addrs: addrs,
            primary_api_addr: api_addr,
            pending: None,
            filter: None,
            dynamic_filter: Default::default(),
            cursor: None,
            last_remote_wal: 0,
            synced: false,
        };
        if pending.update && !self.bug(Bug::UpdatePrimaryWipes) {
            if let Role::Secondary(old) = self.role(kind) {
                role.synced = old.synced;
            }
        } else if self.bug(Bug::EnableSkipsWipe) {
            self.new_epoch(rng);
        } else {
            let entries = self.p.storage.clear();
            self.new_epoch(rng);
            self.emit(Event::Wiped { kind, entries });
        }
        self.p.unseal = unseal;
        self.p.key_pairs.remove(&kind);
        self.p.promote_quorum = Default::default();
        self.set_role(kind, Role::Secondary(role));
        self.p.last_error.remove(&kind);
        let mut link = Link::new(now, rng);
        link.connected = true;
        link.last_heartbeat = Some(now);
        link.next_heartbeat = now.plus(self.p.config.heartbeat_interval);
        self.v.links.insert(kind, link);
        self.emit(Event::Activation {
            kind,
            update: pending.update,
            result: Ok(()),
        });
        self.request_stream(now, rng, kind);
    }

    fn on_refused(&mut self, kind: Kind, nonce: &str, attempt: &str, reason: ActivationRefusal) {
        let answers = |p: &super::Pending| p.claims.nonce == nonce && p.attempt == attempt;
        let update = match self.role(kind) {
            Role::Bootstrapping(p) if answers(p) => false,
            Role::Secondary(s) if s.pending.as_ref().is_some_and(answers) => true,
            _ => return,
        };
        self.fail_activation(kind, update, reason);
    }

    fn fail_activation(&mut self, kind: Kind, update: bool, reason: ActivationRefusal) {
        if update {
            if let Some(s) = self.secondary_mut(kind) {
                s.pending = None;
            }
        } else {
            self.set_role(kind, Role::Disabled);
            self.v.links.remove(&kind);
        }
        self.p.last_error.insert(kind, reason.to_string());
        self.emit(Event::Activation {
            kind,
            update,
            result: Err(reason),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn on_heartbeat_ack(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        addrs: Vec<String>,
        api_addr: String,
        head: Cursor,
        (filter, dynamic): (Option<PathsFilter>, (Vec<String>, Vec<String>)),
    ) {
        let Some(s) = self.secondary_mut(kind) else {
            return;
        };
        if s.known_primary_cluster_addrs.is_empty() {
            return;
        }
        let current = s.known_primary_cluster_addrs.first().cloned();
        s.known_primary_cluster_addrs = addrs;
        s.primary_api_addr = api_addr;
        // A filter change whose Resync was lost: diff again so the new filter applies.
        let filter_changed = s.filter != filter;
        if filter_changed {
            s.cursor = None;
        }
        s.filter = filter;
        s.dynamic_filter = dynamic;
        let behind = s.cursor.is_none_or(|c| c != head);
        let same_target = current == s.known_primary_cluster_addrs.first().cloned();
        let Some(link) = self.v.links.get_mut(&kind) else {
            return;
        };
        if !same_target {
            link.target = 0;
        }
        let was_connected = link.connected;
        link.connected = true;
        link.unanswered = false;
        link.last_heartbeat = Some(now);
        let state = link.state;
        self.p.last_error.remove(&kind);
        let stalled = state == SecondaryState::StreamWals && behind;
        if !was_connected || state == SecondaryState::Connecting || stalled || filter_changed {
            self.request_stream(now, rng, kind);
        }
    }

    fn on_link_refused(&mut self, now: Timestamp, kind: Kind, reason: LinkRefusal) {
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
                let _ = now;
            }
            LinkRefusal::Revoked | LinkRefusal::Unknown => {
                link.state = SecondaryState::Idle;
                let msg = if reason == LinkRefusal::Revoked {
                    "the primary revoked this secondary; it stays idle until update-primary with a new activation token from the primary"
                } else {
                    "the primary does not recognise this secondary (its replication set changed, e.g. it was disabled and enabled again); disable replication here and enable it with a new token (this wipes the cluster)"
                };
                self.p.last_error.insert(kind, msg.to_string());
                if let Some(s) = self.secondary_mut(kind) {
                    s.known_primary_cluster_addrs.clear();
                }
            }
        }
    }

    /// Secondary: asks the primary for a stream from where it stands (new session).
    ///
    /// Every request arms a retry: unless the primary answers (a confirming `Entries` batch), the
    /// secondary asks again after [`MISSED_HEARTBEATS`] heartbeat intervals, so no lost message can
    /// strand it.
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
        let retry = now.plus(Duration::from_millis(
            self.p.config.heartbeat_interval.as_millis() * MISSED_HEARTBEATS,
        ));
        if let Some(link) = self.v.links.get_mut(&kind) {
            link.session = session;
            link.sync = None;
            link.retry_at = Some(retry);
        }
        self.send(
            &target,
            Message::StreamRequest {
                kind,
                session,
                credentials,
                cursor,
            },
        );
    }

    fn target_addr(&self, kind: Kind) -> Option<String> {
        let s = self.secondary(kind)?;
        if s.known_primary_cluster_addrs.is_empty() {
            return None;
        }
        let t = self.v.links.get(&kind).map(|l| l.target).unwrap_or(0);
        s.known_primary_cluster_addrs
            .get(t % s.known_primary_cluster_addrs.len())
            .cloned()
    }

    fn on_stream_request(
        &mut self,
        now: Timestamp,
        kind: Kind,
        id: &str,
        from: &str,
        cursor: Option<Cursor>,
        session: u64,
    ) {
        let needs_diff = self
            .primary(kind)
            .and_then(|p| p.secondaries.get(id))
            .is_some_and(|r| r.needs_diff);
        let resumable = cursor.filter(|c| !needs_diff && self.p.wal.entries_after(*c).is_some());
        let peer = self.peer(kind, id);
        peer.last_heartbeat = Some(now);
        match resumable {
            Some(c) => {
                // Confirm the stream at once (possibly with no entries), then keep shipping.
                peer.shipping = Some((c, session));
                self.ship_to(kind, id, c, session);
            }
            None => {
                peer.shipping = None;
                self.start_diff(kind, id, from, session);
            }
        }
        if kind == Kind::Dr {
            self.v.mirrored = None;
        }
    }

    fn start_diff(&mut self, kind: Kind, id: &str, to: &str, session: u64) {
        let filter = self.filter_of(kind, id);
        let digests = self.p.storage.digests(kind, filter.as_ref());
        if let Some(r) = self
            .primary_mut(kind)
            .and_then(|p| p.secondaries.get_mut(id))
        {
            r.needs_diff = false;
        }
        let at = self.p.wal.head();
        self.send(
            to,
            Message::DiffStart {
                kind,
                session,
                at,
                digests,
                filter,
            },
        );
    }

    fn filter_of(&self, kind: Kind, id: &str) -> Option<PathsFilter> {
        if self.bug(Bug::FilterIgnored) {
            return None;
        }
        match kind {
            Kind::Dr => None,
            Kind::Performance => self.primary(kind).and_then(|p| p.filters.get(id).cloned()),
        }
    }

    /// Primary: ships new entries to every streaming peer; falls back to a diff when the buffer lost
    /// its position.
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
        let Some(rec) = self.primary(kind).and_then(|p| p.secondaries.get(id)) else {
            self.remove_peer(kind, id);
            return;
        };
        if rec.revoked {
            return;
        }
        let addr = rec.cluster_addr.clone();
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
                    Message::Entries {
                        kind,
                        session,
                        after: cursor,
                        until: head,
                        entries,
                    },
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

    fn session_matches(&self, kind: Kind, session: u64) -> bool {
        self.secondary(kind).is_some()
            && self
                .v
                .links
                .get(&kind)
                .is_some_and(|l| l.session == session)
    }

    #[allow(clippy::too_many_arguments)]
    fn on_entries(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        session: u64,
        after: Cursor,
        until: Cursor,
        entries: Vec<crate::wal::WalEntry>,
    ) {
        if !self.session_matches(kind, session) {
            return;
        }
        let cursor = self.secondary(kind).and_then(|s| s.cursor);
        let Some(cursor) = cursor else {
            return;
        };
        if cursor.epoch != after.epoch {
            return;
        }
        if after.index > cursor.index {
            // A batch went missing: ask again from where we stand.
            self.request_stream(now, rng, kind);
            return;
        }
        if until.index < cursor.index {
            return; // an older batch, duplicated or reordered
        }
        for e in entries {
            if e.index > cursor.index {
                self.apply_remote(kind, e.op);
            }
        }
        if let Some(s) = self.secondary_mut(kind) {
            s.cursor = Some(until);
            s.last_remote_wal = until.index;
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

    #[allow(clippy::too_many_arguments)]
    fn on_diff_start(
        &mut self,
        now: Timestamp,
        kind: Kind,
        from: &str,
        session: u64,
        at: Cursor,
        digests: Vec<u128>,
        filter: Option<PathsFilter>,
    ) {
        if !self.session_matches(kind, session) || digests.len() != BUCKETS {
            return;
        }
        let Some(s) = self.secondary_mut(kind) else {
            return;
        };
        s.filter = filter;
        let Some(credentials) = s.credentials.clone() else {
            return;
        };
        let ours = self.p.storage.digests(kind, None);
        let differing = differing_buckets(&ours, &digests);
        let mut buckets = BTreeMap::new();
        for b in &differing {
            buckets.insert(*b as u16, self.p.storage.bucket_entries(kind, None, *b));
        }
        let give_up = now.plus(Duration::from_millis(
            self.p.config.heartbeat_interval.as_millis() * MISSED_HEARTBEATS,
        ));
        if let Some(link) = self.v.links.get_mut(&kind) {
            link.state = SecondaryState::MerkleDiff;
            link.connected = true;
            link.last_heartbeat = Some(now);
            // If the primary's answer is lost, start over (new session) after this long.
            link.retry_at = Some(give_up);
        }
        self.send(
            from,
            Message::DiffKeys {
                kind,
                session,
                credentials,
                at,
                buckets,
            },
        );
    }

    fn on_diff_keys(
        &mut self,
        kind: Kind,
        id: &str,
        from: &str,
        session: u64,
        at: Cursor,
        theirs: BTreeMap<u16, BTreeMap<String, u128>>,
    ) {
        let filter = self.filter_of(kind, id);
        let mut puts = vec![];
        let mut deletes = vec![];
        for (b, their_keys) in &theirs {
            let ours = self
                .p
                .storage
                .bucket_entries(kind, filter.as_ref(), *b as usize);
            for (k, h) in &ours {
                if their_keys.get(k) != Some(h) {
                    if let Some(e) = self.p.storage.get(k) {
                        puts.push((k.clone(), e.value.clone(), e.class));
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
            from,
            Message::SyncData {
                kind,
                session,
                at,
                puts,
                deletes,
                buckets: theirs.keys().copied().collect(),
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn on_sync_data(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        session: u64,
        at: Cursor,
        puts: Vec<(String, String, DataClass)>,
        deletes: Vec<String>,
        buckets: Vec<u16>,
    ) {
        if !self.session_matches(kind, session) {
            return;
        }
        let total = puts.len() + deletes.len();
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
        let removals: Vec<(String, DataClass, bool)> = deletes
            .into_iter()
            .filter(|k| !(kind == Kind::Performance && self.is_own_local(k)))
            .filter_map(|k| {
                let class = self.p.storage.get(&k)?.class;
                let excluded = filter.as_ref().is_some_and(|f| {
                    self.p
                        .storage
                        .filter_mount_of(&k)
                        .is_some_and(|m| !f.ships_mount(m))
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
        for (k, value, class) in puts {
            if kind == Kind::Performance && self.is_own_local(&k) {
                continue;
            }
            if self.p.storage.get(&k).is_some() {
                diverged.push(k.clone());
            }
            self.apply(WalOp::Put {
                key: k,
                value,
                class,
            });
        }
        if !diverged.is_empty() || !filtered.is_empty() {
            self.emit(Event::SyncRemoved {
                kind,
                diverged,
                filtered,
            });
        }
        let _ = buckets;
        // A sync that leaves the roots apart means a Merkle index does not match its data.
        let consistent = !self.p.storage.index_corrupted();
        let Some(s) = self.secondary_mut(kind) else {
            return;
        };
        s.cursor = Some(at);
        s.last_remote_wal = at.index;
        s.synced = true;
        if consistent {
            self.emit(Event::InSync { kind });
            if let Some(link) = self.v.links.get_mut(&kind) {
                link.state = SecondaryState::StreamWals;
                link.sync = None;
            }
            self.request_stream(now, rng, kind);
        } else {
            if let Some(s) = self.secondary_mut(kind) {
                s.cursor = None;
            }
            let retry = now.plus(self.p.config.heartbeat_interval);
            if let Some(link) = self.v.links.get_mut(&kind) {
                link.state = SecondaryState::MerkleDiff;
                link.retry_at = Some(retry);
            }
            self.p.last_error.insert(
                kind,
                "merkle sync did not converge: this cluster's Merkle index does not match its storage; run reindex".into(),
            );
        }
    }

    /// Timers: heartbeats, disconnection after missed heartbeats, activation retries, diff retries,
    /// forwarded writes that waited too long.
    pub(super) fn tick(&mut self, now: Timestamp, rng: &mut dyn RngCore) {
        self.expire_forwards(now);
        let hb = self.p.config.heartbeat_interval;
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
            let link = self
                .v
                .links
                .entry(kind)
                .or_insert_with(|| Link::new(now, rng));
            let stale = link
                .last_heartbeat
                .is_none_or(|t| now.since(t).as_millis() > MISSED_HEARTBEATS * hb.as_millis());
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
                    let api_addr = self.p.config.api_addr.clone();
                    self.send(
                        &target,
                        Message::Heartbeat {
                            kind,
                            credentials,
                            api_addr,
                        },
                    );
                }
            }
        }
    }

    /// DR primary: keeps DR secondaries' copy of the performance role current.
    pub(super) fn mirror(&mut self) {
        let Role::Primary(dr) = &self.p.dr else {
            self.v.mirrored = None;
            return;
        };
        let role = match &self.p.performance {
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
            .filter(|(id, r)| {
                !r.revoked
                    && self
                        .v
                        .peers
                        .get(&Kind::Dr)
                        .is_some_and(|m| m.contains_key(*id))
            })
            .map(|(_, r)| r.cluster_addr.clone())
            .collect();
        for t in targets {
            self.send(
                &t,
                Message::Mirror {
                    cluster_id,
                    performance: PerformanceMirror(Box::new(role.clone())),
                },
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
                    .filter(|r| !r.revoked)
                    .map(|r| r.cluster_addr.clone())
                    .collect();
                for t in targets {
                    self.send(
                        &t,
                        Message::FailoverTargets {
                            cluster_id,
                            known_primary_cluster_addrs: addrs.clone(),
                        },
                    );
                }
            }
        }
        self.v.failover = Some(addrs);
    }

    /// Performance secondary: new failover targets from the primary it follows (the list's first
    /// address is that primary's; a list from any other cluster is ignored).
    fn on_failover_targets(&mut self, cluster_id: crate::ids::ClusterId, addrs: Vec<String>) {
        let current = self.target_addr(Kind::Performance);
        let Some(s) = self.secondary_mut(Kind::Performance) else {
            return;
        };
        if s.cluster_id != cluster_id || s.credentials.is_none() || current.is_none() {
            return;
        }
        if addrs.first() != current.as_ref() {
            return;
        }
        s.known_primary_cluster_addrs = addrs;
        if let Some(link) = self.v.links.get_mut(&Kind::Performance) {
            link.target = 0;
        }
    }

    /// Whether this secondary's mode allows forwarding right now.
    pub(super) fn forward_target(&self) -> Option<(String, Credentials)> {
        if !self.is_connected(Kind::Performance) || self.mode(Kind::Performance) != Mode::Secondary
        {
            return None;
        }
        let c = self.secondary(Kind::Performance)?.credentials.clone()?;
        Some((self.target_addr(Kind::Performance)?, c))
    }
}
