//! Promotion and DR authorisation (model.md §3): `secondary/promote` with its safety check, the DR
//! key-share flow (`key`, `reset`), and DR operation tokens (`generate-operation-token/attempt` and
//! `/update`, `operation-token/delete`) that DR-secondary operations require.

use super::operator::{warn, Command};
use super::{Cluster, Link};
use crate::bugs::Bug;
use crate::error::{Error, Result};
use crate::ids::{ClusterId, Kind, Mode, SecondaryState};
use crate::request::PromoteAuth;
use crate::role::Role;
use crate::step::{AttemptStatus, QuorumProgress, Reply};
use crate::time::Timestamp;
use crate::unseal::{self, OperationTokenAttempt, Quorum, OPERATION_TOKEN_LEN};
use rand_core::RngCore;

const PROMOTE_WARNING: &str = "This cluster is being promoted to a replication primary. Vault will be unavailable for a brief period and will resume service shortly.";

impl Cluster {
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

    pub(super) fn promote(
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
        self.require_mode(kind, Mode::Secondary, Command::Promote)?;
        let mut progress = None;
        if kind == Kind::Dr && !self.bug(Bug::PromoteIgnoresDrAuth) {
            let required = self.p.meta.unseal.threshold as usize;
            match &auth {
                PromoteAuth::OperationToken(t) => self.check_operation_token(Some(t))?,
                PromoteAuth::Reset => {
                    self.p.meta.promote_quorum = Quorum::default();
                    return Ok(Reply::PromoteProgress(QuorumProgress {
                        progress: 0,
                        required,
                        complete: false,
                    }));
                }
                PromoteAuth::Key(share) => {
                    if !self.p.meta.unseal.is_share(share) {
                        return Err(Error::invalid(
                            "key",
                            "the key is not a valid unseal key share of this cluster; a DR secondary uses its primary's unseal key shares",
                        ));
                    }
                    let mut q = self.p.meta.promote_quorum.clone();
                    q.add(share);
                    if q.progress() < required {
                        self.p.meta.promote_quorum = q.clone();
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
        self.p.meta.last_error.remove(&kind);
        if kind == Kind::Dr {
            self.p.meta.promote_quorum = Quorum::default();
            self.p.meta.attempt = None;
            self.p.meta.operation_tokens.clear();
            self.activate_performance_role(now, rng);
            let required = self.p.meta.unseal.threshold as usize;
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
        match self.p.meta.performance.clone() {
            Role::Primary(p) => {
                let mut fresh = self.fresh_primary(rng, p.cluster_id, Some(p.primary_cluster_addr));
                fresh.secondaries = p.secondaries;
                self.set_role(Kind::Performance, Role::Primary(fresh));
            }
            Role::Secondary(mut s) => {
                s.cursor = None;
                s.pending = None;
                self.p.meta.performance = Role::Secondary(s);
                self.v.links.insert(Kind::Performance, Link::new(now, rng));
            }
            Role::Bootstrapping(_) => self.p.meta.performance = Role::Disabled,
            Role::Disabled => {}
        }
    }

    pub(super) fn check_operation_token(&self, token: Option<&str>) -> Result<()> {
        match token.map(str::trim).filter(|t| !t.is_empty()) {
            None => Err(Error::Forbidden(
                "this DR secondary operation needs a dr_operation_token; generate one with dr/secondary/generate-operation-token/attempt and /update using the primary's unseal key shares".into(),
            )),
            Some(t) if self.p.meta.operation_tokens.contains(t) => Ok(()),
            Some(_) => Err(Error::Forbidden(
                "the dr_operation_token is not valid on this cluster (unknown, or deleted); generate a new one with dr/secondary/generate-operation-token".into(),
            )),
        }
    }

    fn require_dr_secondary(&self, command: &str) -> Result<()> {
        if matches!(self.p.meta.dr, Role::Secondary(_)) {
            Ok(())
        } else {
            Err(Error::wrong_mode(
                Kind::Dr,
                format!(
                    "{command} is only available on a DR secondary, and this cluster's DR mode is {}",
                    self.p.meta.dr.mode()
                ),
            ))
        }
    }

    fn attempt_status(&self, otp: String, encoded_token: String, complete: bool) -> AttemptStatus {
        let a = self.p.meta.attempt.as_ref();
        AttemptStatus {
            started: a.is_some(),
            nonce: a.map(|a| a.nonce.clone()).unwrap_or_default(),
            progress: a.map(|a| a.quorum.progress()).unwrap_or(0),
            required: self.p.meta.unseal.threshold as usize,
            complete,
            encoded_token,
            otp,
            otp_length: OPERATION_TOKEN_LEN,
        }
    }

    pub(super) fn start_attempt(&mut self, rng: &mut dyn RngCore) -> Result<Reply> {
        self.require_dr_secondary("generate-operation-token/attempt")?;
        if self.p.meta.attempt.is_some() {
            return Err(Error::bad(
                "an operation-token attempt is already in progress; continue it with generate-operation-token/update or cancel it with a DELETE to generate-operation-token/attempt",
            ));
        }
        let otp = unseal::new_otp(rng);
        self.p.meta.attempt = Some(OperationTokenAttempt {
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

    pub(super) fn read_attempt(&self) -> Result<Reply> {
        self.require_dr_secondary("generate-operation-token/attempt")?;
        Ok(Reply::Attempt(self.attempt_status(
            String::new(),
            String::new(),
            false,
        )))
    }

    pub(super) fn cancel_attempt(&mut self) -> Result<Reply> {
        self.require_dr_secondary("generate-operation-token/attempt")?;
        self.p.meta.attempt = None;
        Ok(Reply::Done)
    }

    pub(super) fn update_attempt(
        &mut self,
        rng: &mut dyn RngCore,
        key: &str,
        nonce: &str,
    ) -> Result<Reply> {
        self.require_dr_secondary("generate-operation-token/update")?;
        let Some(a) = &self.p.meta.attempt else {
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
        if !self.p.meta.unseal.is_share(key) {
            return Err(Error::invalid(
                "key",
                "the key is not a valid unseal key share; a DR operation token needs the primary's unseal key shares",
            ));
        }
        let mut a = a.clone();
        a.quorum.add(key);
        if a.quorum.progress() < self.p.meta.unseal.threshold as usize {
            self.p.meta.attempt = Some(a);
            return Ok(Reply::Attempt(self.attempt_status(
                String::new(),
                String::new(),
                false,
            )));
        }
        let token = unseal::new_operation_token(rng);
        let encoded = unseal::encode_operation_token(&token, &a.otp);
        self.p.meta.operation_tokens.insert(token);
        self.p.meta.attempt = Some(a);
        let mut status = self.attempt_status(String::new(), encoded, true);
        status.progress = self.p.meta.unseal.threshold as usize;
        self.p.meta.attempt = None;
        status.started = false;
        status.nonce = nonce.trim().to_string();
        Ok(Reply::Attempt(status))
    }

    pub(super) fn delete_operation_token(&mut self, token: &str) -> Result<Reply> {
        self.require_dr_secondary("operation-token/delete")?;
        self.check_operation_token(Some(token))?;
        self.p.meta.operation_tokens.remove(token);
        Ok(Reply::Done)
    }
}
