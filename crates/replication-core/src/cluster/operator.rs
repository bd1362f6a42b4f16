//! Operator requests: every `/sys/replication` operation. Each handler checks everything first and
//! mutates only once the request is known to succeed, so a refusal changes nothing.

use super::{Cluster, Link, Pending, PrimaryRole, Role, SecondaryRole, TokenRecord, TokenState};
use crate::bugs::Bug;
use crate::error::{ActivationRefusal, Error, Result};
use crate::ids::{random_hex, random_uuid, ClusterId, Kind, Mode, SecondaryState};
use crate::message::Message;
use crate::request::{
    AttemptStatus, IssuedToken, PromoteAuth, QuorumProgress, Reply, Request, Side, UpdateTarget,
};
use crate::storage::PathsFilter;
use crate::time::{Duration, Timestamp};
use crate::token::{self, KeyPair, TokenClaims};
use crate::unseal::{self, OperationTokenAttempt, Quorum, OPERATION_TOKEN_LEN};
use rand_core::RngCore;

/// Default activation-token TTL.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

const ENABLE_PRIMARY_WARNING: &str = "This cluster is being enabled as a primary for replication. Vault will be unavailable for a brief period and will resume service shortly.";
const ENABLE_SECONDARY_WARNING: &str = "Vault has successfully found secondary information; it may take a while to perform setup tasks. Vault will be unavailable until these tasks and initial sync complete.";
const PROMOTE_WARNING: &str = "This cluster is being promoted to a replication primary. Vault will be unavailable for a brief period and will resume service shortly.";
const DEMOTE_WARNING: &str = "This cluster is being demoted to a replication secondary. Vault will be unavailable for a brief period and will resume service shortly.";
const DISABLE_WARNING: &str = "This cluster is having replication disabled. Vault will be unavailable for a brief period and will resume service shortly.";

fn warn(text: &str) -> Reply {
    Reply::Warnings(vec![text.to_string()])
}

impl Cluster {
    pub(super) fn request(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        r: Request,
    ) -> Result<Reply> {
        match r {
            Request::EnablePrimary {
                kind,
                primary_cluster_addr,
            } => self.enable_primary(rng, kind, primary_cluster_addr),
            Request::Demote { kind } => self.demote(rng, kind),
            Request::DisablePrimary { kind } => self.disable_primary(kind),
            Request::SecondaryToken {
                kind,
                id,
                ttl,
                secondary_public_key,
            } => self.secondary_token(now, rng, kind, id, ttl, secondary_public_key),
            Request::RevokeSecondary { kind, id } => self.revoke(kind, id),
            Request::GeneratePublicKey { kind } => self.generate_public_key(rng, kind),
            Request::EnableSecondary {
                kind,
                token,
                primary_api_addr,
            } => self.enable_secondary(now, rng, kind, token, primary_api_addr),
            Request::Promote {
                kind,
                primary_cluster_addr,
                force,
                auth,
            } => self.promote(now, rng, kind, primary_cluster_addr, force, auth),
            Request::DisableSecondary {
                kind,
                dr_operation_token,
            } => self.disable_secondary(kind, dr_operation_token),
            Request::UpdatePrimary {
                kind,
                target,
                primary_api_addr,
                dr_operation_token,
            } => self.update_primary(now, rng, kind, target, primary_api_addr, dr_operation_token),
            Request::Recover { dr_operation_token } => self.recover(now, rng, dr_operation_token),
            Request::Reindex { dr_operation_token } => self.reindex(now, dr_operation_token),
            Request::SetPathsFilter { id, filter } => self.set_filter(id, filter),
            Request::ReadPathsFilter { id } => self.read_filter(&id),
            Request::DeletePathsFilter { id } => self.delete_filter(id),
            Request::ReadDynamicFilter { side, id } => self.dynamic_filter(side, &id),
            Request::StartOperationTokenAttempt => self.start_attempt(rng),
            Request::ReadOperationTokenAttempt => self.read_attempt(),
            Request::CancelOperationTokenAttempt => self.cancel_attempt(),
            Request::UpdateOperationTokenAttempt { key, nonce } => {
                self.update_attempt(rng, key, nonce)
            }
            Request::DeleteOperationToken { dr_operation_token } => {
                self.require_dr_secondary("operation-token/delete")?;
                self.check_operation_token(Some(&dr_operation_token))?;
                self.p.operation_tokens.remove(&dr_operation_token);
                Ok(Reply::Done)
            }
        }
    }

    fn mode_error(&self, kind: Kind, command: &str) -> Error {
        if kind == Kind::Performance {
            if let Err(e) = self.refuse_if_dr_secondary("serves no performance replication") {
                return e;
            }
        }
        let k = kind.label();
        let hint = match (self.role(kind).mode(), command) {
            (Mode::Disabled, _) => format!("{k} replication is disabled on this cluster; enable it first (primary/enable or secondary/enable)"),
            (Mode::Bootstrapping, _) => format!("this cluster is bootstrapping as a {k} secondary; wait for the primary to accept the token, or disable {k} replication"),
            (Mode::Primary, "secondary/enable") => format!("this cluster is already a {k} primary; to make it a secondary of another primary, disable it first (primary/disable), then enable it with a token (this wipes it)"),
            (Mode::Primary, "secondary/generate-public-key") => format!("this cluster is a {k} primary; generate-public-key is for a cluster that will become a secondary: demote it first (primary/demote), or disable it (primary/disable)"),
            (Mode::Primary, c) if c.starts_with("secondary/") => format!("this cluster is a {k} primary; {c} needs a {k} secondary (demote it first with primary/demote)"),
            (Mode::Primary, c) => format!("this cluster is already a {k} primary; {c} is not possible (disable it first with primary/disable)"),
            (Mode::Secondary, "primary/enable") => format!("this cluster is a {k} secondary already; to make it a primary, promote it first (secondary/promote), or disable it first (secondary/disable) and enable it as the primary of a new set"),
            (Mode::Secondary, c) if c.starts_with("primary/") => format!("this cluster is a {k} secondary; {c} needs a {k} primary (promote it first with secondary/promote)"),
            (Mode::Secondary, c) => format!("this cluster is already a {k} secondary; {c} is not possible (disable it first with secondary/disable)"),
        };
        Error::wrong_mode(kind, hint)
    }

    fn require_mode(&self, kind: Kind, mode: Mode, command: &str) -> Result<()> {
        if self.mode(kind) == mode && self.is_active(kind) {
            Ok(())
        } else {
            Err(self.mode_error(kind, command))
        }
    }

    fn fresh_primary(
        &self,
        rng: &mut dyn RngCore,
        cluster_id: ClusterId,
        addr: Option<String>,
    ) -> PrimaryRole {
        PrimaryRole {
            cluster_id,
            run: random_hex(rng, 8),
            secret: random_hex(rng, 32),
            primary_cluster_addr: addr.unwrap_or_default(),
            tokens: Default::default(),
            secondaries: Default::default(),
            filters: Default::default(),
        }
    }

    fn enable_primary(
        &mut self,
        rng: &mut dyn RngCore,
        kind: Kind,
        addr: Option<String>,
    ) -> Result<Reply> {
        self.require_mode(kind, Mode::Disabled, "primary/enable")?;
        let mut id = ClusterId::generate(rng);
        if let Some(old) = self.p.former_sets.get(&kind) {
            if self.bug(Bug::ReenableKeepsClusterId) {
                id = *old;
            }
        }
        let role = self.fresh_primary(rng, id, addr);
        self.set_role(kind, Role::Primary(role));
        if cfg!(feature = "inject-bugs") {
            self.p.former_sets.insert(kind, id);
        }
        self.p.last_error.remove(&kind);
        Ok(warn(ENABLE_PRIMARY_WARNING))
    }

    fn demote(&mut self, rng: &mut dyn RngCore, kind: Kind) -> Result<Reply> {
        self.require_mode(kind, Mode::Primary, "primary/demote")?;
        let cluster_id = self.role(kind).cluster_id().unwrap_or(ClusterId([0; 16]));
        self.set_role(
            kind,
            Role::Secondary(SecondaryRole {
                cluster_id,
                credentials: None,
                known_primary_cluster_addrs: vec![],
                primary_api_addr: String::new(),
                pending: None,
                filter: None,
                dynamic_filter: Default::default(),
                cursor: None,
                last_remote_wal: 0,
                synced: true,
            }),
        );
        let mut link = Link::new(Timestamp(0), rng);
        link.state = SecondaryState::Idle;
        self.v.links.insert(kind, link);
        self.drop_peers(kind);
        if kind == Kind::Dr {
            // The performance role goes dormant with it: its secondaries are refused from now on.
            self.p.promote_quorum = Quorum::default();
            self.v.links.remove(&Kind::Performance);
            self.drop_peers(Kind::Performance);
        }
        Ok(warn(DEMOTE_WARNING))
    }

    fn disable_primary(&mut self, kind: Kind) -> Result<Reply> {
        self.require_mode(kind, Mode::Primary, "primary/disable")?;
        self.set_role(kind, Role::Disabled);
        self.drop_peers(kind);
        Ok(warn(DISABLE_WARNING))
    }

    fn secondary_token(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        id: String,
        ttl: Option<Duration>,
        public_key: Option<String>,
    ) -> Result<Reply> {
        self.require_mode(kind, Mode::Primary, "primary/secondary-token")?;
        let id = id.trim().to_string();
        if id.is_empty() {
            return Err(Error::invalid(
                "id",
                "missing required parameter \"id\": an opaque identifier for the secondary, e.g. \"us-east\"",
            ));
        }
        let ttl = ttl.unwrap_or(DEFAULT_TOKEN_TTL);
        if ttl.is_zero() {
            return Err(Error::invalid(
                "ttl",
                "ttl must be positive, e.g. \"30m\" (the default) or 1800",
            ));
        }
        let public_key = public_key.filter(|k| !k.trim().is_empty());
        let (api_addr, own_cluster_addr) = (
            self.p.config.api_addr.clone(),
            self.p.config.cluster_addr.clone(),
        );
        let Some(p) = self.primary(kind) else {
            return Err(self.mode_error(kind, "primary/secondary-token"));
        };
        if p.tokens.contains_key(&id) {
            return Err(Error::invalid(
                "id",
                format!("secondary id {id:?} was already issued by this primary; ids must be unique, so choose a new id (revoke-secondary the old one if it is no longer wanted)"),
            ));
        }
        let claims = TokenClaims {
            kind,
            cluster_id: p.cluster_id,
            run: p.run.clone(),
            secondary_id: id.clone(),
            primary_cluster_addr: if p.primary_cluster_addr.is_empty() {
                own_cluster_addr
            } else {
                p.primary_cluster_addr.clone()
            },
            primary_api_addr: api_addr,
            issued_at: now,
            expires_at: now.plus(ttl),
            nonce: random_hex(rng, 16),
            public_key: public_key.clone(),
        };
        let text = token::encode(&claims, p.secret.as_bytes());
        let accessor = random_uuid(rng);
        if let Some(p) = self.primary_mut(kind) {
            p.tokens.insert(
                id,
                TokenRecord {
                    nonce: claims.nonce.clone(),
                    expires_at: claims.expires_at,
                    state: TokenState::Pending,
                },
            );
        }
        Ok(Reply::Token(IssuedToken {
            token: text,
            ttl,
            creation_time: now,
            wrapped: public_key.is_none(),
            accessor,
        }))
    }

    fn revoke(&mut self, kind: Kind, id: String) -> Result<Reply> {
        self.require_mode(kind, Mode::Primary, "primary/revoke-secondary")?;
        let id = id.trim().to_string();
        if id.is_empty() {
            return Err(Error::invalid(
                "id",
                "missing required parameter \"id\": the id given to secondary-token",
            ));
        }
        let Some(p) = self.primary_mut(kind) else {
            return Err(Error::bad("not a primary"));
        };
        if !p.tokens.contains_key(&id) && !p.secondaries.contains_key(&id) {
            return Err(Error::NotFound(format!(
                "no secondary with id {id:?} was issued a token by this {} primary; check the id in known_secondaries",
                kind.label()
            )));
        }
        let ignored = self.bug(Bug::RevokeIgnored);
        let Some(p) = self.primary_mut(kind) else {
            return Err(Error::bad("not a primary"));
        };
        if ignored {
            return Ok(Reply::Done);
        }
        if let Some(t) = p.tokens.get_mut(&id) {
            t.state = TokenState::Revoked;
        }
        let addr = p.secondaries.get_mut(&id).map(|s| {
            s.revoked = true;
            s.cluster_addr.clone()
        });
        self.remove_peer(kind, &id);
        if let Some(addr) = addr {
            self.send(&addr, Message::Revoked { kind });
        }
        Ok(Reply::Done)
    }

    fn generate_public_key(&mut self, rng: &mut dyn RngCore, kind: Kind) -> Result<Reply> {
        if kind == Kind::Performance {
            self.refuse_if_dr_secondary("serves no performance replication")?;
        }
        if !matches!(self.role(kind).mode(), Mode::Disabled | Mode::Secondary) {
            return Err(self.mode_error(kind, "secondary/generate-public-key"));
        }
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        let pair = KeyPair::from_entropy(b);
        let public = pair.public.clone();
        self.p.key_pairs.insert(kind, pair);
        Ok(Reply::PublicKey(public))
    }

    /// The checks a secondary can make on its own, before asking the primary.
    fn read_token(&self, now: Timestamp, kind: Kind, text: &str) -> Result<TokenClaims> {
        let claims = token::read(text).map_err(|m| Error::invalid("token", m))?;
        if claims.kind != kind {
            return Err(Error::Activation(ActivationRefusal::WrongKind {
                token: claims.kind,
                used: kind,
            }));
        }
        if claims.expires_at <= now {
            return Err(Error::Activation(ActivationRefusal::Expired));
        }
        if let Some(pk) = &claims.public_key {
            if self.p.key_pairs.get(&kind).map(|k| &k.public) != Some(pk) {
                return Err(Error::Activation(ActivationRefusal::PublicKeyMismatch));
            }
        }
        Ok(claims)
    }

    fn enable_secondary(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        text: String,
        api_addr: Option<String>,
    ) -> Result<Reply> {
        self.require_mode(kind, Mode::Disabled, "secondary/enable")?;
        if kind == Kind::Dr && self.p.performance.mode() != Mode::Disabled {
            return Err(Error::wrong_mode(
                Kind::Dr,
                "performance replication is enabled on this cluster; a DR secondary is read-only and cannot run performance replication, so disable performance replication first",
            ));
        }
        if text.trim().is_empty() {
            return Err(Error::invalid(
                "token",
                "missing required parameter \"token\": the activation token from the primary's secondary-token",
            ));
        }
        let claims = self.read_token(now, kind, &text)?;
        let pending = Pending::new(rng, &text, claims, api_addr, false);
        self.send_activation(kind, &pending);
        self.set_role(kind, Role::Bootstrapping(pending));
        let mut link = Link::new(now, rng);
        link.state = SecondaryState::Bootstrapping;
        link.next_heartbeat = now.plus(self.p.config.heartbeat_interval);
        self.v.links.insert(kind, link);
        self.p.last_error.remove(&kind);
        Ok(warn(ENABLE_SECONDARY_WARNING))
    }

    pub(super) fn send_activation(&mut self, kind: Kind, pending: &Pending) {
        let msg = Message::ActivationRequest {
            kind,
            token: pending.token.clone(),
            update: pending.update,
            attempt: pending.attempt.clone(),
            reply_to: self.p.config.cluster_addr.clone(),
            api_addr: self.p.config.api_addr.clone(),
        };
        self.send(&pending.target.clone(), msg);
    }

    fn check_operation_token(&self, token: Option<&str>) -> Result<()> {
        match token.map(str::trim).filter(|t| !t.is_empty()) {
            None => Err(Error::Forbidden(
                "this DR secondary operation needs a dr_operation_token; generate one with dr/secondary/generate-operation-token/attempt and /update using the primary's unseal key shares".into(),
            )),
            Some(t) if self.p.operation_tokens.contains(t) => Ok(()),
            Some(_) => Err(Error::Forbidden(
                "the dr_operation_token is not valid on this cluster (unknown, or deleted); generate a new one with dr/secondary/generate-operation-token".into(),
            )),
        }
    }

    fn require_dr_secondary(&self, command: &str) -> Result<()> {
        if matches!(self.p.dr, Role::Secondary(_)) {
            Ok(())
        } else {
            Err(Error::wrong_mode(
                Kind::Dr,
                format!(
                    "{command} is only available on a DR secondary, and this cluster's DR mode is {}",
                    self.p.dr.mode()
                ),
            ))
        }
    }

    /// Promote before the primary accepted the activation: the safety check's 503 without `force`;
    /// with it, a refusal, because there is no replication set to promote into yet.
    fn promote_while_bootstrapping(kind: Kind, force: bool) -> Error {
        let k = kind.label();
        if force {
            Error::wrong_mode(
                kind,
                format!("this cluster is still bootstrapping as a {k} secondary: its primary has not accepted the activation token yet, so there is no replication set to promote it into, even with force; wait for the activation to finish (status state), or disable {k} replication (secondary/disable)"),
            )
        } else {
            Error::Unavailable(format!(
                "replication is still bootstrapping (state bootstrapping): the primary has not accepted this {k} secondary yet and it holds none of the set's data; try again once activation completes (\"force\" promotes a secondary that has not caught up, but only once its primary accepted it)"
            ))
        }
    }

    /// Whether a secondary may be promoted without `force`.
    fn caught_up(&self, kind: Kind) -> Result<()> {
        let synced = self.secondary(kind).is_some_and(|s| s.synced);
        let state = self.secondary_state(kind);
        let busy = matches!(
            state,
            Some(SecondaryState::MerkleDiff | SecondaryState::MerkleSync)
        );
        if !synced || busy {
            return Err(Error::Unavailable(format!(
                "replication is still catching up (state {}): promoting now could lose data that is not replicated yet; try again later or provide the \"force\" argument",
                state.map(|s| s.as_str()).unwrap_or("unknown")
            )));
        }
        Ok(())
    }

    fn promote(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        addr: Option<String>,
        force: bool,
        auth: PromoteAuth,
    ) -> Result<Reply> {
        if self.is_active(kind) && self.role(kind).mode() == Mode::Bootstrapping {
            return Err(Self::promote_while_bootstrapping(kind, force));
        }
        self.require_mode(kind, Mode::Secondary, "secondary/promote")?;
        let mut progress = None;
        if kind == Kind::Dr && !self.bug(Bug::PromoteIgnoresDrAuth) {
            let required = self.p.unseal.threshold as usize;
            match &auth {
                PromoteAuth::OperationToken(t) => self.check_operation_token(Some(t))?,
                PromoteAuth::Reset => {
                    self.p.promote_quorum = Quorum::default();
                    return Ok(Reply::PromoteProgress(QuorumProgress {
                        progress: 0,
                        required,
                        complete: false,
                    }));
                }
                PromoteAuth::Key(share) => {
                    if !self.p.unseal.is_share(share) {
                        return Err(Error::invalid(
                            "key",
                            "the key is not a valid unseal key share of this cluster; a DR secondary uses its primary's unseal key shares",
                        ));
                    }
                    let mut q = self.p.promote_quorum.clone();
                    q.add(share);
                    if q.progress() < required {
                        self.p.promote_quorum = q.clone();
                        return Ok(Reply::PromoteProgress(QuorumProgress {
                            progress: q.progress(),
                            required,
                            complete: false,
                        }));
                    }
                    progress = Some(required);
                }
                PromoteAuth::None => {
                    return Err(Error::Forbidden(
                        "promoting a DR secondary needs authorisation: a dr_operation_token, or unseal key shares one at a time in \"key\"".into(),
                    ))
                }
            }
        }
        if !force {
            self.caught_up(kind)?;
        }
        // Everything checked: promote.
        let cluster_id = self.role(kind).cluster_id().unwrap_or(ClusterId([0; 16]));
        let role = self.fresh_primary(rng, cluster_id, addr);
        self.set_role(kind, Role::Primary(role));
        self.v.links.remove(&kind);
        self.p.last_error.remove(&kind);
        if kind == Kind::Dr {
            self.p.promote_quorum = Quorum::default();
            self.p.attempt = None;
            self.p.operation_tokens.clear();
            self.activate_performance_role(now, rng);
            let required = self.p.unseal.threshold as usize;
            return Ok(Reply::PromoteProgress(QuorumProgress {
                progress: progress.unwrap_or(required),
                required,
                complete: true,
            }));
        }
        Ok(warn(PROMOTE_WARNING))
    }

    /// After a DR promotion the mirrored performance role goes live: a performance primary gets a new
    /// run (old tokens die) and keeps its secondaries, which follow it; a performance secondary connects
    /// to its primary with the same identity.
    fn activate_performance_role(&mut self, now: Timestamp, rng: &mut dyn RngCore) {
        match self.p.performance.clone() {
            Role::Primary(p) => {
                let mut fresh = self.fresh_primary(rng, p.cluster_id, Some(p.primary_cluster_addr));
                fresh.secondaries = p.secondaries;
                fresh.filters = p.filters;
                fresh.tokens = p.tokens;
                self.set_role(Kind::Performance, Role::Primary(fresh));
            }
            Role::Secondary(mut s) => {
                s.cursor = None;
                s.pending = None;
                self.p.performance = Role::Secondary(s);
                self.v.links.insert(Kind::Performance, Link::new(now, rng));
            }
            Role::Bootstrapping(_) => self.p.performance = Role::Disabled,
            Role::Disabled => {}
        }
    }

    fn disable_secondary(&mut self, kind: Kind, token: Option<String>) -> Result<Reply> {
        let mode = self.mode(kind);
        if !(mode == Mode::Secondary || mode == Mode::Bootstrapping) || !self.is_active(kind) {
            return Err(self.mode_error(kind, "secondary/disable"));
        }
        if kind == Kind::Dr && mode == Mode::Secondary {
            self.check_operation_token(token.as_deref())?;
        }
        self.set_role(kind, Role::Disabled);
        self.v.links.remove(&kind);
        if kind == Kind::Dr {
            // The mirrored performance role belonged to the DR primary; an independent cluster starts clean.
            self.p.performance = Role::Disabled;
            self.p.operation_tokens.clear();
            self.p.attempt = None;
            self.p.promote_quorum = Quorum::default();
        }
        Ok(warn(DISABLE_WARNING))
    }

    fn update_primary(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        target: UpdateTarget,
        api_addr: Option<String>,
        token: Option<String>,
    ) -> Result<Reply> {
        self.require_mode(kind, Mode::Secondary, "secondary/update-primary")?;
        if kind == Kind::Dr {
            self.check_operation_token(token.as_deref())?;
        }
        let Some(s) = self.secondary(kind) else {
            return Err(self.mode_error(kind, "secondary/update-primary"));
        };
        let own_set = s.cluster_id;
        let has_identity = s.credentials.is_some();
        match target {
            UpdateTarget::Token(text) if text.trim().is_empty() => {
                if let Some(s) = self.secondary_mut(kind) {
                    s.known_primary_cluster_addrs.clear();
                    s.pending = None;
                }
                let mut link = Link::new(now, rng);
                link.state = SecondaryState::Idle;
                self.v.links.insert(kind, link);
                Ok(Reply::Done)
            }
            UpdateTarget::Token(text) => {
                let claims = self.read_token(now, kind, &text)?;
                if claims.cluster_id != own_set {
                    return Err(Error::Activation(ActivationRefusal::WrongSet));
                }
                let pending = Pending::new(rng, &text, claims, api_addr, true);
                self.send_activation(kind, &pending);
                if let Some(s) = self.secondary_mut(kind) {
                    s.pending = Some(pending);
                }
                let hb = self.p.config.heartbeat_interval;
                let link = self
                    .v
                    .links
                    .entry(kind)
                    .or_insert_with(|| Link::new(now, rng));
                link.next_heartbeat = now.plus(hb);
                self.p.last_error.remove(&kind);
                Ok(Reply::Done)
            }
            UpdateTarget::Addrs(addrs) => {
                let addrs: Vec<String> = addrs
                    .into_iter()
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect();
                if addrs.is_empty() {
                    return Err(Error::invalid(
                        "update_primary_addrs",
                        "update_primary_addrs must list at least one cluster address of the primary",
                    ));
                }
                if !has_identity {
                    return Err(Error::invalid(
                        "update_primary_addrs",
                        "an activation token is required after a failover when updating a newly demoted secondary; updating with cluster addresses is not allowed: pass \"token\" from the new primary's secondary-token",
                    ));
                }
                if let Some(s) = self.secondary_mut(kind) {
                    s.known_primary_cluster_addrs = addrs;
                    s.pending = None;
                }
                self.v.links.insert(kind, Link::new(now, rng));
                self.tick(now, rng);
                Ok(Reply::Done)
            }
        }
    }

    fn enabled_kinds(&self) -> Vec<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|k| self.mode(*k) != Mode::Disabled)
            .collect()
    }

    fn recover(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        token: Option<String>,
    ) -> Result<Reply> {
        let kinds = self.enabled_kinds();
        if kinds.is_empty() {
            return Err(Error::wrong_mode(
                Kind::Dr,
                "replication is not enabled on this cluster, so there is nothing to recover; enable it first",
            ));
        }
        if matches!(self.p.dr, Role::Secondary(_)) {
            self.check_operation_token(token.as_deref())?;
        }
        for kind in kinds {
            if let Some(s) = self.secondary(kind) {
                if !s.known_primary_cluster_addrs.is_empty() {
                    let target = self.v.links.get(&kind).map(|l| l.target).unwrap_or(0);
                    let mut link = Link::new(now, rng);
                    link.target = target;
                    self.v.links.insert(kind, link);
                }
            }
        }
        self.tick(now, rng);
        Ok(Reply::Warnings(vec![
            "Replication recovery has been attempted; check the replication status for progress."
                .to_string(),
        ]))
    }

    fn reindex(&mut self, now: Timestamp, token: Option<String>) -> Result<Reply> {
        if self.enabled_kinds().is_empty() {
            return Err(Error::wrong_mode(
                Kind::Dr,
                "replication is not enabled on this cluster, so there is no replication index to rebuild; enable it first",
            ));
        }
        if matches!(self.p.dr, Role::Secondary(_)) {
            self.check_operation_token(token.as_deref())?;
        }
        self.p.storage.reindex();
        self.p.last_reindex = Some(now);
        for link in self.v.links.values_mut() {
            if link.retry_at.is_some() {
                link.retry_at = Some(now);
            }
        }
        Ok(Reply::Warnings(vec![
            "Reindexing has completed; the Merkle index now matches storage.".to_string(),
        ]))
    }

    fn perf_primary_for_filters(&self, command: &str) -> Result<&super::PrimaryRole> {
        self.require_mode(Kind::Performance, Mode::Primary, command)?;
        self.primary(Kind::Performance)
            .ok_or_else(|| self.mode_error(Kind::Performance, command))
    }

    fn set_filter(&mut self, id: String, filter: PathsFilter) -> Result<Reply> {
        let p = self.perf_primary_for_filters("primary/paths-filter")?;
        if !p.tokens.contains_key(&id) {
            return Err(Error::NotFound(format!(
                "no performance secondary with id {id:?} is known to this primary; generate its token with performance/primary/secondary-token first"
            )));
        }
        for path in &filter.paths {
            if !path.ends_with('/') || path.starts_with('/') || path.len() < 2 {
                return Err(Error::invalid(
                    "paths",
                    format!("path {path:?} must be a mount or namespace path ending in '/', like \"secret/\" or \"ns1/\""),
                ));
            }
        }
        let mut filter = filter;
        filter.paths.sort();
        filter.paths.dedup();
        self.filter_changed(id, Some(filter));
        Ok(Reply::Done)
    }

    fn filter_changed(&mut self, id: String, filter: Option<PathsFilter>) {
        let Some(p) = self.primary_mut(Kind::Performance) else {
            return;
        };
        match filter {
            Some(f) => p.filters.insert(id.clone(), f),
            None => p.filters.remove(&id),
        };
        let addr = p.secondaries.get_mut(&id).and_then(|s| {
            s.needs_diff = true;
            (!s.revoked).then(|| s.cluster_addr.clone())
        });
        if let Some(addr) = addr {
            if let Some(peer) = self
                .v
                .peers
                .get_mut(&Kind::Performance)
                .and_then(|m| m.get_mut(&id))
            {
                peer.shipping = None;
            }
            self.send(
                &addr,
                Message::Resync {
                    kind: Kind::Performance,
                },
            );
        }
    }

    fn read_filter(&self, id: &str) -> Result<Reply> {
        let p = self.perf_primary_for_filters("primary/paths-filter")?;
        p.filters
            .get(id)
            .cloned()
            .map(Reply::Filter)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no paths filter is set for secondary {id:?}; create one with a POST to performance/primary/paths-filter/{id}"
                ))
            })
    }

    fn delete_filter(&mut self, id: String) -> Result<Reply> {
        let p = self.perf_primary_for_filters("primary/paths-filter")?;
        if !p.filters.contains_key(&id) {
            return Err(Error::NotFound(format!(
                "no paths filter is set for secondary {id:?}; nothing to delete"
            )));
        }
        self.filter_changed(id, None);
        Ok(Reply::Done)
    }

    /// Mounts and namespaces `filter` excludes from this cluster's mount table.
    pub(super) fn dynamic_for(&self, filter: Option<&PathsFilter>) -> (Vec<String>, Vec<String>) {
        let Some(f) = filter else {
            return (vec![], vec![]);
        };
        let mut mounts = vec![];
        let mut namespaces = std::collections::BTreeSet::new();
        for (m, local) in self.p.storage.mounts() {
            if !*local && !f.ships_mount(m) {
                mounts.push(m.clone());
                let segs: Vec<&str> = m.trim_end_matches('/').split('/').collect();
                for i in 1..segs.len() {
                    namespaces.insert(format!("{}/", segs[..i].join("/")));
                }
            }
        }
        (mounts, namespaces.into_iter().collect())
    }

    fn dynamic_filter(&self, side: Side, id: &str) -> Result<Reply> {
        let (mounts, namespaces) = match side {
            Side::Primary => {
                let p = self.perf_primary_for_filters("primary/dynamic-filter")?;
                if !p.tokens.contains_key(id) {
                    return Err(Error::NotFound(format!(
                        "no performance secondary with id {id:?} is known to this primary"
                    )));
                }
                self.dynamic_for(p.filters.get(id))
            }
            Side::Secondary => {
                self.require_mode(
                    Kind::Performance,
                    Mode::Secondary,
                    "secondary/dynamic-filter",
                )?;
                let s = self.secondary(Kind::Performance).ok_or_else(|| {
                    self.mode_error(Kind::Performance, "secondary/dynamic-filter")
                })?;
                let own = s.credentials.as_ref().map(|c| c.secondary_id.as_str());
                if own != Some(id) {
                    return Err(Error::NotFound(format!(
                        "this performance secondary's id is {}, not {id:?}",
                        own.map(|o| format!("{o:?}"))
                            .unwrap_or_else(|| "not set".into())
                    )));
                }
                s.dynamic_filter.clone()
            }
        };
        Ok(Reply::DynamicFilter { mounts, namespaces })
    }

    fn attempt_status(&self, otp: String, encoded_token: String, complete: bool) -> AttemptStatus {
        let a = self.p.attempt.as_ref();
        AttemptStatus {
            started: a.is_some(),
            nonce: a.map(|a| a.nonce.clone()).unwrap_or_default(),
            progress: a.map(|a| a.quorum.progress()).unwrap_or(0),
            required: self.p.unseal.threshold as usize,
            complete,
            encoded_token,
            otp,
            otp_length: OPERATION_TOKEN_LEN,
        }
    }

    fn start_attempt(&mut self, rng: &mut dyn RngCore) -> Result<Reply> {
        self.require_dr_secondary("generate-operation-token/attempt")?;
        if self.p.attempt.is_some() {
            return Err(Error::bad(
                "an operation-token attempt is already in progress; continue it with generate-operation-token/update or cancel it with a DELETE to generate-operation-token/attempt",
            ));
        }
        let otp = unseal::new_otp(rng);
        self.p.attempt = Some(OperationTokenAttempt {
            nonce: unseal::new_nonce(rng),
            otp: otp.clone(),
            quorum: Quorum::default(),
        });
        Ok(Reply::Attempt(self.attempt_status(
            otp,
            String::new(),
            false,
        )))
    }

    fn read_attempt(&self) -> Result<Reply> {
        self.require_dr_secondary("generate-operation-token/attempt")?;
        Ok(Reply::Attempt(self.attempt_status(
            String::new(),
            String::new(),
            false,
        )))
    }

    fn cancel_attempt(&mut self) -> Result<Reply> {
        self.require_dr_secondary("generate-operation-token/attempt")?;
        self.p.attempt = None;
        Ok(Reply::Done)
    }

    fn update_attempt(
        &mut self,
        rng: &mut dyn RngCore,
        key: String,
        nonce: String,
    ) -> Result<Reply> {
        self.require_dr_secondary("generate-operation-token/update")?;
        let Some(a) = &self.p.attempt else {
            return Err(Error::bad(
                "no operation-token attempt is in progress; start one with a POST to generate-operation-token/attempt",
            ));
        };
        if a.nonce != nonce.trim() {
            return Err(Error::invalid(
                "nonce",
                "the nonce does not match the attempt in progress; use the nonce returned when the attempt started",
            ));
        }
        if !self.p.unseal.is_share(&key) {
            return Err(Error::invalid(
                "key",
                "the key is not a valid unseal key share; a DR operation token needs the primary's unseal key shares",
            ));
        }
        let mut a = a.clone();
        a.quorum.add(&key);
        if a.quorum.progress() < self.p.unseal.threshold as usize {
            self.p.attempt = Some(a);
            return Ok(Reply::Attempt(self.attempt_status(
                String::new(),
                String::new(),
                false,
            )));
        }
        let token = unseal::new_operation_token(rng);
        let encoded = unseal::encode_operation_token(&token, &a.otp);
        self.p.operation_tokens.insert(token);
        self.p.attempt = Some(a);
        let mut status = self.attempt_status(String::new(), encoded, true);
        status.progress = self.p.unseal.threshold as usize;
        self.p.attempt = None;
        status.started = false;
        status.nonce = nonce.trim().to_string();
        Ok(Reply::Attempt(status))
    }
}
