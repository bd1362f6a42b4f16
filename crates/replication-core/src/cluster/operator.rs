//! Operator requests: the `/sys/replication` operations that set a kind's role up or take it down
//! (enable, demote, disable, tokens, revoke, enable-secondary, update-primary, recover, reindex).
//! Promotion and DR authorisation are in `promote.rs`, paths filters in `filters.rs`.
//!
//! Each handler checks everything first and mutates only once the request is known to succeed, so a
//! refusal changes nothing.

use super::{Cluster, Link};
use crate::bugs::Bug;
use crate::error::{ActivationRefusal, Error, Result};
use crate::ids::{random_hex, random_uuid, ClusterId, Kind, Mode, SecondaryState};
use crate::message::{Message, Revoked};
use crate::request::{Request, UpdateTarget};
use crate::role::{Pending, PrimaryRole, Role, SecondaryEntry, SecondaryRole};
use crate::step::{IssuedToken, Reply};
use crate::time::{Duration, Timestamp};
use crate::token::{self, KeyPair, TokenClaims};
use rand_core::RngCore;

/// Default activation-token TTL (model.md §2).
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

const ENABLE_PRIMARY_WARNING: &str = "This cluster is being enabled as a primary for replication. Vault will be unavailable for a brief period and will resume service shortly.";
const ENABLE_SECONDARY_WARNING: &str = "Vault has successfully found secondary information; it may take a while to perform setup tasks. Vault will be unavailable until these tasks and initial sync complete.";
const DEMOTE_WARNING: &str = "This cluster is being demoted to a replication secondary. Vault will be unavailable for a brief period and will resume service shortly.";
const DISABLE_WARNING: &str = "This cluster is having replication disabled. Vault will be unavailable for a brief period and will resume service shortly.";

pub(super) fn warn(text: &str) -> Reply {
    Reply::Warnings(vec![text.to_string()])
}

/// The per-kind commands whose refusal in the wrong mode names what would help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Command {
    EnablePrimary,
    Demote,
    DisablePrimary,
    SecondaryToken,
    RevokeSecondary,
    PathsFilter,
    DynamicFilterPrimary,
    GeneratePublicKey,
    EnableSecondary,
    Promote,
    DisableSecondary,
    UpdatePrimary,
    DynamicFilterSecondary,
}

impl Command {
    /// The command as operators name it (the API path after the kind).
    fn name(self) -> &'static str {
        match self {
            Command::EnablePrimary => "primary/enable",
            Command::Demote => "primary/demote",
            Command::DisablePrimary => "primary/disable",
            Command::SecondaryToken => "primary/secondary-token",
            Command::RevokeSecondary => "primary/revoke-secondary",
            Command::PathsFilter => "primary/paths-filter",
            Command::DynamicFilterPrimary => "primary/dynamic-filter",
            Command::GeneratePublicKey => "secondary/generate-public-key",
            Command::EnableSecondary => "secondary/enable",
            Command::Promote => "secondary/promote",
            Command::DisableSecondary => "secondary/disable",
            Command::UpdatePrimary => "secondary/update-primary",
            Command::DynamicFilterSecondary => "secondary/dynamic-filter",
        }
    }

    /// Whether the command is one of a primary's rather than a secondary's.
    fn on_primary(self) -> bool {
        matches!(
            self,
            Command::EnablePrimary
                | Command::Demote
                | Command::DisablePrimary
                | Command::SecondaryToken
                | Command::RevokeSecondary
                | Command::PathsFilter
                | Command::DynamicFilterPrimary
        )
    }
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
            } => self.secondary_token(now, rng, kind, &id, ttl, secondary_public_key),
            Request::RevokeSecondary { kind, id } => self.revoke(kind, &id),
            Request::GeneratePublicKey { kind } => self.generate_public_key(rng, kind),
            Request::EnableSecondary {
                kind,
                token,
                primary_api_addr,
            } => self.enable_secondary(now, rng, kind, &token, primary_api_addr),
            Request::Promote {
                kind,
                primary_cluster_addr,
                force,
                auth,
            } => self.promote(now, rng, kind, primary_cluster_addr, force, auth),
            Request::DisableSecondary {
                kind,
                dr_operation_token,
            } => self.disable_secondary(kind, dr_operation_token.as_deref()),
            Request::UpdatePrimary {
                kind,
                target,
                primary_api_addr,
                dr_operation_token,
            } => {
                self.require_mode(kind, Mode::Secondary, Command::UpdatePrimary)?;
                if kind == Kind::Dr {
                    self.check_operation_token(dr_operation_token.as_deref())?;
                }
                self.update_primary(now, rng, kind, target, primary_api_addr)
            }
            Request::Recover { dr_operation_token } => {
                self.recover(now, rng, dr_operation_token.as_deref())
            }
            Request::Reindex { dr_operation_token } => {
                self.reindex(now, dr_operation_token.as_deref())
            }
            Request::SetPathsFilter { id, filter } => self.set_filter(id, filter),
            Request::ReadPathsFilter { id } => self.read_filter(&id),
            Request::DeletePathsFilter { id } => self.delete_filter(id),
            Request::ReadDynamicFilter { side, id } => self.dynamic_filter(side, &id),
            Request::StartOperationTokenAttempt => self.start_attempt(rng),
            Request::ReadOperationTokenAttempt => self.read_attempt(),
            Request::CancelOperationTokenAttempt => self.cancel_attempt(),
            Request::UpdateOperationTokenAttempt { key, nonce } => {
                self.update_attempt(rng, &key, &nonce)
            }
            Request::DeleteOperationToken { dr_operation_token } => {
                self.delete_operation_token(&dr_operation_token)
            }
        }
    }

    /// The refusal of `command` on `kind` in its current mode: it names the mode and what would help.
    pub(super) fn mode_error(&self, kind: Kind, command: Command) -> Error {
        if kind == Kind::Performance {
            if let Err(e) = self.refuse_if_dr_secondary("serves no performance replication") {
                return e;
            }
        }
        let k = kind.label();
        let c = command.name();
        let hint = match (self.role(kind).mode(), command) {
            (Mode::Disabled, _) => format!("{k} replication is disabled on this cluster; enable it first (primary/enable or secondary/enable)"),
            (Mode::Bootstrapping, _) => format!("this cluster is bootstrapping as a {k} secondary; wait for the primary to accept the token, or disable {k} replication"),
            (Mode::Primary, Command::EnableSecondary) => format!("this cluster is already a {k} primary; to make it a secondary of another primary, disable it first (primary/disable), then enable it with a token (this wipes it)"),
            (Mode::Primary, Command::GeneratePublicKey) => format!("this cluster is a {k} primary; generate-public-key is for a cluster that will become a secondary: demote it first (primary/demote), or disable it (primary/disable)"),
            (Mode::Primary, c2) if !c2.on_primary() => format!("this cluster is a {k} primary; {c} needs a {k} secondary (demote it first with primary/demote)"),
            (Mode::Primary, _) => format!("this cluster is already a {k} primary; {c} is not possible (disable it first with primary/disable)"),
            (Mode::Secondary, Command::EnablePrimary) => format!("this cluster is a {k} secondary already; to make it a primary, promote it first (secondary/promote), or disable it first (secondary/disable) and enable it as the primary of a new set"),
            (Mode::Secondary, c2) if c2.on_primary() => format!("this cluster is a {k} secondary; {c} needs a {k} primary (promote it first with secondary/promote)"),
            (Mode::Secondary, _) => format!("this cluster is already a {k} secondary; {c} is not possible (disable it first with secondary/disable)"),
        };
        Error::wrong_mode(kind, hint)
    }

    pub(super) fn require_mode(&self, kind: Kind, mode: Mode, command: Command) -> Result<()> {
        if self.mode(kind) == mode && self.is_active(kind) {
            Ok(())
        } else {
            Err(self.mode_error(kind, command))
        }
    }

    /// A new primary run of set `cluster_id`: fresh run id and token secret, an empty registry.
    pub(super) fn fresh_primary(
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
            secondaries: Default::default(),
        }
    }

    fn enable_primary(
        &mut self,
        rng: &mut dyn RngCore,
        kind: Kind,
        addr: Option<String>,
    ) -> Result<Reply> {
        self.require_mode(kind, Mode::Disabled, Command::EnablePrimary)?;
        let mut id = ClusterId::generate(rng);
        if let Some(old) = self.p.meta.former_sets.get(&kind) {
            if self.bug(Bug::ReenableKeepsClusterId) {
                id = *old;
            }
        }
        let role = self.fresh_primary(rng, id, addr);
        self.set_role(kind, Role::Primary(role));
        if cfg!(feature = "inject-bugs") {
            self.p.meta.former_sets.insert(kind, id);
        }
        self.p.meta.last_error.remove(&kind);
        Ok(warn(ENABLE_PRIMARY_WARNING))
    }

    fn demote(&mut self, rng: &mut dyn RngCore, kind: Kind) -> Result<Reply> {
        self.require_mode(kind, Mode::Primary, Command::Demote)?;
        let cluster_id = self.role(kind).cluster_id().unwrap_or(ClusterId([0; 16]));
        self.set_role(
            kind,
            Role::Secondary(SecondaryRole::without_primary(cluster_id)),
        );
        self.v.links.insert(kind, Link::idle(Timestamp(0), rng));
        self.drop_peers(kind);
        if kind == Kind::Dr {
            // The performance role goes dormant with it: its secondaries are refused from now on.
            self.p.meta.promote_quorum = Default::default();
            self.v.links.remove(&Kind::Performance);
            self.drop_peers(Kind::Performance);
        }
        Ok(warn(DEMOTE_WARNING))
    }

    fn disable_primary(&mut self, kind: Kind) -> Result<Reply> {
        self.require_mode(kind, Mode::Primary, Command::DisablePrimary)?;
        self.set_role(kind, Role::Disabled);
        self.drop_peers(kind);
        Ok(warn(DISABLE_WARNING))
    }

    fn secondary_token(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        id: &str,
        ttl: Option<Duration>,
        public_key: Option<String>,
    ) -> Result<Reply> {
        self.require_mode(kind, Mode::Primary, Command::SecondaryToken)?;
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
            self.p.meta.config.api_addr.clone(),
            self.p.meta.config.cluster_addr.clone(),
        );
        let Some(p) = self.primary(kind) else {
            return Err(self.mode_error(kind, Command::SecondaryToken));
        };
        if p.secondaries.contains_key(&id) {
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
            p.secondaries.insert(
                id,
                SecondaryEntry {
                    nonce: claims.nonce.clone(),
                    expires_at: claims.expires_at,
                    used_by: None,
                    revoked: false,
                    link: None,
                    filter: None,
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

    fn revoke(&mut self, kind: Kind, id: &str) -> Result<Reply> {
        self.require_mode(kind, Mode::Primary, Command::RevokeSecondary)?;
        let id = id.trim().to_string();
        if id.is_empty() {
            return Err(Error::invalid(
                "id",
                "missing required parameter \"id\": the id given to secondary-token",
            ));
        }
        let ignored = self.bug(Bug::RevokeIgnored);
        let Some(entry) = self
            .primary_mut(kind)
            .and_then(|p| p.secondaries.get_mut(&id))
        else {
            return Err(Error::NotFound(format!(
                "no secondary with id {id:?} was issued a token by this {} primary; check the id in known_secondaries",
                kind.label()
            )));
        };
        if ignored {
            return Ok(Reply::Done);
        }
        entry.revoked = true;
        let addr = entry.link.as_ref().map(|l| l.cluster_addr.clone());
        self.remove_peer(kind, &id);
        if let Some(addr) = addr {
            self.send(&addr, Message::Revoked(Revoked { kind }));
        }
        Ok(Reply::Done)
    }

    fn generate_public_key(&mut self, rng: &mut dyn RngCore, kind: Kind) -> Result<Reply> {
        if kind == Kind::Performance {
            self.refuse_if_dr_secondary("serves no performance replication")?;
        }
        if !matches!(self.role(kind).mode(), Mode::Disabled | Mode::Secondary) {
            return Err(self.mode_error(kind, Command::GeneratePublicKey));
        }
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        let pair = KeyPair::from_entropy(b);
        let public = pair.public.clone();
        self.p.meta.key_pairs.insert(kind, pair);
        Ok(Reply::PublicKey(public))
    }

    /// The checks a secondary can make on its own, before asking the primary.
    fn read_token(&self, now: Timestamp, kind: Kind, text: &str) -> Result<TokenClaims> {
        let claims = token::read_token(text).map_err(|e| Error::invalid("token", e.to_string()))?;
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
            if self.p.meta.key_pairs.get(&kind).map(|k| &k.public) != Some(pk) {
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
        text: &str,
        api_addr: Option<String>,
    ) -> Result<Reply> {
        self.require_mode(kind, Mode::Disabled, Command::EnableSecondary)?;
        if kind == Kind::Dr && self.p.meta.performance.mode() != Mode::Disabled {
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
        let claims = self.read_token(now, kind, text)?;
        let pending = Pending::new(rng, text, claims, api_addr, false);
        self.send_activation(kind, &pending);
        self.set_role(kind, Role::Bootstrapping(pending));
        let mut link = Link::new(now, rng);
        link.state = SecondaryState::Bootstrapping;
        link.next_heartbeat = now.plus(self.p.meta.config.heartbeat_interval);
        self.v.links.insert(kind, link);
        self.p.meta.last_error.remove(&kind);
        Ok(warn(ENABLE_SECONDARY_WARNING))
    }

    fn disable_secondary(&mut self, kind: Kind, token: Option<&str>) -> Result<Reply> {
        let mode = self.mode(kind);
        if !(mode == Mode::Secondary || mode == Mode::Bootstrapping) || !self.is_active(kind) {
            return Err(self.mode_error(kind, Command::DisableSecondary));
        }
        if kind == Kind::Dr && mode == Mode::Secondary {
            self.check_operation_token(token)?;
        }
        self.set_role(kind, Role::Disabled);
        self.v.links.remove(&kind);
        if kind == Kind::Dr {
            // The mirrored performance role belonged to the DR primary; an independent cluster starts clean.
            self.p.meta.performance = Role::Disabled;
            self.p.meta.operation_tokens.clear();
            self.p.meta.attempt = None;
            self.p.meta.promote_quorum = Default::default();
        }
        Ok(warn(DISABLE_WARNING))
    }

    /// Re-points a secondary (mode and DR authorisation already checked): a token of the same set
    /// starts an activation that never wipes, an empty token forgets the primary, and addresses
    /// re-point to the same primary.
    fn update_primary(
        &mut self,
        now: Timestamp,
        rng: &mut dyn RngCore,
        kind: Kind,
        target: UpdateTarget,
        api_addr: Option<String>,
    ) -> Result<Reply> {
        let Some(s) = self.secondary(kind) else {
            return Err(self.mode_error(kind, Command::UpdatePrimary));
        };
        let own_set = s.cluster_id;
        let has_identity = s.credentials.is_some();
        match target {
            UpdateTarget::Token(text) if text.trim().is_empty() => {
                if let Some(s) = self.secondary_mut(kind) {
                    s.known_primary_cluster_addrs.clear();
                    s.pending = None;
                }
                self.v.links.insert(kind, Link::idle(now, rng));
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
                let hb = self.p.meta.config.heartbeat_interval;
                let link = self
                    .v
                    .links
                    .entry(kind)
                    .or_insert_with(|| Link::new(now, rng));
                link.next_heartbeat = now.plus(hb);
                self.p.meta.last_error.remove(&kind);
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
        token: Option<&str>,
    ) -> Result<Reply> {
        let kinds = self.enabled_kinds();
        if kinds.is_empty() {
            return Err(Error::wrong_mode(
                Kind::Dr,
                "replication is not enabled on this cluster, so there is nothing to recover; enable it first",
            ));
        }
        if matches!(self.p.meta.dr, Role::Secondary(_)) {
            self.check_operation_token(token)?;
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

    fn reindex(&mut self, now: Timestamp, token: Option<&str>) -> Result<Reply> {
        if self.enabled_kinds().is_empty() {
            return Err(Error::wrong_mode(
                Kind::Dr,
                "replication is not enabled on this cluster, so there is no replication index to rebuild; enable it first",
            ));
        }
        if matches!(self.p.meta.dr, Role::Secondary(_)) {
            self.check_operation_token(token)?;
        }
        self.p.storage.reindex();
        self.p.meta.last_reindex = Some(now); // also records that the index damage is gone
        for link in self.v.links.values_mut() {
            if link.retry_at.is_some() {
                link.retry_at = Some(now);
            }
        }
        Ok(Reply::Warnings(vec![
            "Reindexing has completed; the Merkle index now matches storage.".to_string(),
        ]))
    }
}
