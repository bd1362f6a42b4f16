//! Oracles: one module per rule of the model (`docs/model.md` §6), each an [`Oracle`] kept across
//! steps and checked after every step. A broken rule is a [`Violation`] whose variant carries the
//! evidence; two live primaries of one set are a [`Hazard`] (the model allows it, as Vault does, and
//! reports it).
//!
//! | rule | `docs/model.md` | file | reported as |
//! |---|---|---|---|
//! | two live primaries of one set | §6.4 | `primaries.rs` | hazard `multiple-primaries` |
//! | every wipe comes from an accepted `secondary/enable`, and every accepted enable wipes | §6.2 | `wipes.rs` | `wipe-without-activation`, `enable-without-wipe` |
//! | a secondary never holds two sets' data | §6.2 | `set_mixing.rs` | `set-mixing` |
//! | a revoked secondary is sent nothing more | §6.2 | `revoked.rs` | `delivered-to-revoked` |
//! | a token activates once; a revoked id never | §6.2 | `activation_once.rs` | `token-reused` |
//! | a DR-secondary operation needs a valid DR operation token or a quorum of shares | §3, §6.2 | `dr_auth.rs` | `unauthorised-dr-operation` |
//! | `primary/enable` never reuses a set id | §1.2, §6.2 | `fresh_ids.rs` | `reused-cluster-id` |
//! | a forwarded operation is answered within the forwarding timeout on a healthy network | §4.7, §6.2 | `client_liveness.rs` | `client-unanswered` |
//! | every lost write has a documented cause | §6.1, §6.5 | `losses.rs` | `unexplained-loss` |
//! | the network goes quiet, timers move on | §6.2 | this file ([`Oracles::after_step`]) | `livelock` |
//! | connected secondaries converge once faults end (after the script, on a copy of the world) | §6.3 | `convergence.rs` | `not-converged` |
//!
//! The oracles judge the world against what the operator did (API calls that succeeded, as the API
//! layer decoded them; tokens the simulator generated), never against the core's own records alone, so
//! a core that forgets a revocation is still caught.

pub mod activation_once;
pub mod client_liveness;
pub mod convergence;
pub mod dr_auth;
pub mod fresh_ids;
pub mod losses;
pub mod primaries;
pub mod revoked;
pub mod set_mixing;
pub mod wipes;

use crate::world::{Observation, World};
use replication_core::{Kind, Mode};
use serde::Serialize;

/// A rule of model.md §6 that did not hold, with its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Violation {
    /// A write is gone from every cluster with none of the documented causes.
    UnexplainedLoss {
        /// Step at which it was lost.
        step: usize,
        /// Path written.
        path: String,
        /// Value written.
        value: String,
        /// Step of the write.
        written_at: usize,
        /// Clusters that held it before.
        last_holders: Vec<String>,
    },
    /// Storage was wiped without an accepted `secondary/enable`.
    WipeWithoutActivation {
        /// Step.
        step: usize,
        /// Cluster wiped.
        cluster: String,
        /// Kind reported with the wipe.
        kind: Kind,
        /// Mode the kind had before the step.
        mode_before: Mode,
    },
    /// A secondary joined a replication set while holding another set's data, without a wipe.
    SetMixing {
        /// Step.
        step: usize,
        /// Cluster.
        cluster: String,
        /// Kind.
        kind: Kind,
        /// Set whose data it held.
        held: String,
        /// Set it joined.
        joined: String,
    },
    /// A primary sent replication data to a secondary it had revoked.
    DeliveredToRevoked {
        /// Step.
        step: usize,
        /// Primary.
        primary: String,
        /// Revoked secondary.
        secondary: String,
        /// Kind.
        kind: Kind,
        /// Message name.
        message: String,
    },
    /// One activation token activated two clusters, or a revoked id was activated.
    TokenReused {
        /// Step.
        step: usize,
        /// Issuing primary.
        primary: String,
        /// Secondary id of the token.
        secondary_id: String,
        /// Clusters it activated.
        clusters: Vec<String>,
    },
    /// After healing and settling, a secondary's data differs from its primary's.
    NotConverged {
        /// Secondary.
        secondary: String,
        /// Its primary.
        primary: String,
        /// Kind.
        kind: Kind,
        /// What differs.
        detail: String,
    },
    /// A DR-secondary operation succeeded without DR authorisation.
    UnauthorisedDrOperation {
        /// Step.
        step: usize,
        /// DR secondary.
        cluster: String,
        /// Operation (`promote`, ...).
        operation: String,
    },
    /// `primary/enable` produced a replication-set id that was used before.
    ReusedClusterId {
        /// Step.
        step: usize,
        /// Cluster.
        cluster: String,
        /// Kind.
        kind: Kind,
        /// The reused id.
        cluster_id: String,
    },
    /// A primary accepted a secondary's enable but the secondary kept its old data.
    EnableWithoutWipe {
        /// Step.
        step: usize,
        /// Cluster.
        cluster: String,
        /// Kind.
        kind: Kind,
    },
    /// A client operation handed to another cluster got no answer within the forwarding timeout on a
    /// healthy network.
    ClientUnanswered {
        /// Step at which the wait passed the timeout.
        step: usize,
        /// The cluster the client talked to.
        cluster: String,
        /// Step that sent the operation.
        sent_at: usize,
        /// How long it had waited on a healthy network.
        waited: replication_core::Duration,
    },
    /// The network never went quiet.
    Livelock {
        /// Step.
        step: usize,
    },
}

impl Violation {
    /// The rule's name (`unexplained-loss`, ...).
    pub fn rule(&self) -> &'static str {
        match self {
            Violation::UnexplainedLoss { .. } => "unexplained-loss",
            Violation::WipeWithoutActivation { .. } => "wipe-without-activation",
            Violation::SetMixing { .. } => "set-mixing",
            Violation::DeliveredToRevoked { .. } => "delivered-to-revoked",
            Violation::TokenReused { .. } => "token-reused",
            Violation::NotConverged { .. } => "not-converged",
            Violation::UnauthorisedDrOperation { .. } => "unauthorised-dr-operation",
            Violation::ReusedClusterId { .. } => "reused-cluster-id",
            Violation::EnableWithoutWipe { .. } => "enable-without-wipe",
            Violation::ClientUnanswered { .. } => "client-unanswered",
            Violation::Livelock { .. } => "livelock",
        }
    }

    /// One line describing the violation and its evidence.
    pub fn describe(&self) -> String {
        match self {
            Violation::UnexplainedLoss { step, path, value, written_at, last_holders } => format!(
                "step {step}: write of {path}={value:?} (step {written_at}) vanished from {} with no documented cause",
                last_holders.join(",")
            ),
            Violation::WipeWithoutActivation { step, cluster, kind, mode_before } => format!(
                "step {step}: {cluster} was wiped ({kind}) while {mode_before}, without an accepted secondary/enable"
            ),
            Violation::SetMixing { step, cluster, kind, held, joined } => format!(
                "step {step}: {cluster} joined {kind} set {joined} holding data of set {held} without a wipe"
            ),
            Violation::DeliveredToRevoked { step, primary, secondary, kind, message } => format!(
                "step {step}: {primary} sent {message} ({kind}) to revoked secondary {secondary}"
            ),
            Violation::TokenReused { step, primary, secondary_id, clusters } => format!(
                "step {step}: token {secondary_id:?} of {primary} activated {}",
                clusters.join(" and ")
            ),
            Violation::NotConverged { secondary, primary, kind, detail } => format!(
                "{secondary} did not converge to {primary} ({kind}) after healing: {detail}"
            ),
            Violation::UnauthorisedDrOperation { step, cluster, operation } => format!(
                "step {step}: {operation} succeeded on DR secondary {cluster} without a valid DR operation token or key share"
            ),
            Violation::ReusedClusterId { step, cluster, kind, cluster_id } => format!(
                "step {step}: {cluster} enabled {kind} primary with cluster_id {cluster_id}, which was used before"
            ),
            Violation::EnableWithoutWipe { step, cluster, kind } => format!(
                "step {step}: {cluster}'s {kind} activation was accepted but its storage was not wiped"
            ),
            Violation::ClientUnanswered { step, cluster, sent_at, waited } => format!(
                "step {step}: the client operation sent on {cluster} at step {sent_at} had no answer after {waited} on a healthy network (longer than the forwarding timeout)"
            ),
            Violation::Livelock { step } => {
                format!("step {step}: the network did not go quiet (livelock)")
            }
        }
    }
}

/// Every hazard kind the oracles report (what `expect_hazards` may name).
pub const HAZARD_KINDS: [&str; 1] = [MULTIPLE_PRIMARIES];

/// The hazard of two live primaries in one replication set.
pub const MULTIPLE_PRIMARIES: &str = "multiple-primaries";

/// Two live primaries of one replication set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Hazard {
    /// Always [`MULTIPLE_PRIMARIES`].
    pub kind: String,
    /// Step that caused it.
    pub step: usize,
    /// Replication kind.
    pub replication: Kind,
    /// The set's id.
    pub cluster_id: String,
    /// The primaries.
    pub clusters: Vec<String>,
}

/// An API call made during a step, as the oracles see it: the core request the API layer decoded
/// from it (oracles never parse paths or bodies themselves, so the route table stays the one parser).
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    /// Cluster called.
    pub cluster: String,
    /// The core request the call made; `None` when the API layer refused it before the core (404,
    /// 405, 403, bad parameters) or it was a status read.
    pub request: Option<replication_core::Request>,
    /// Status answered.
    pub status: u16,
    /// The cluster's unseal shares when it was called.
    pub unseal_shares: Vec<String>,
}

impl CallRecord {
    /// The core request, when the call made one and it succeeded (2xx).
    pub fn succeeded(&self) -> Option<&replication_core::Request> {
        self.request
            .as_ref()
            .filter(|_| (200..300).contains(&self.status))
    }
}

/// A `revoke-secondary` the operator made and the primary acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revocation {
    /// The primary.
    pub primary: String,
    /// Kind.
    pub kind: Kind,
    /// The primary's run at the time.
    pub run: String,
    /// The revoked secondary id.
    pub id: String,
}

/// One rule of the model, checked after every step (the table in the module docs lists them).
pub trait Oracle {
    /// Checks the step `view` shows, remembering what later steps need; pushes each violation of the
    /// rule to `found`.
    fn check(&mut self, view: &StepView<'_>, found: &mut Vec<Violation>);
}

/// What an oracle sees after a step.
pub struct StepView<'a> {
    /// API calls made in the step.
    pub calls: &'a [CallRecord],
    /// Every revocation acknowledged so far.
    pub revocations: &'a std::collections::BTreeSet<Revocation>,
    /// Step number (1-based; 0 for setup).
    pub step: usize,
    /// The world after the step.
    pub world: &'a World,
    /// What happened during the step.
    pub observations: &'a [Observation],
    /// Each cluster's mode per kind before the step.
    pub modes_before: &'a Modes,
}

impl StepView<'_> {
    /// The mode of `cluster`'s `kind` role before the step (`None` for an unknown cluster). A DR
    /// secondary's dormant performance role counts as what it is (a secondary, say), not as the
    /// `disabled` its status shows: an update-primary accepted for it is no enable.
    pub fn role_before(&self, cluster: &str, kind: Kind) -> Option<Mode> {
        self.modes_before.role(self.world, cluster, kind)
    }

    /// Whether two primaries of some set are live after the step (the situation the hazard
    /// `multiple-primaries` reports).
    pub fn two_primaries_live(&self) -> bool {
        Kind::ALL.into_iter().any(|kind| {
            self.world
                .live_primaries(kind)
                .values()
                .any(|clusters| clusters.len() > 1)
        })
    }
}

/// All oracles together.
#[derive(Clone, Debug, Hash)]
pub struct Oracles {
    /// The loss ledger.
    pub losses: losses::LossLedger,
    wipes: wipes::Wipes,
    sets: set_mixing::SetMixing,
    revoked: revoked::Revoked,
    once: activation_once::ActivationOnce,
    /// DR authorisation.
    pub dr_auth: dr_auth::DrAuth,
    fresh: fresh_ids::FreshIds,
    /// The multiple-primaries detector.
    pub primaries: primaries::Primaries,
    /// Client operations waiting for an answer.
    pub liveness: client_liveness::ClientLiveness,
    violations: Vec<Violation>,
}

impl Oracles {
    /// The oracles of a fresh `world`, before its first step.
    pub fn new(world: &World) -> Oracles {
        Oracles {
            losses: losses::LossLedger::new(world.names()),
            wipes: Default::default(),
            sets: Default::default(),
            revoked: Default::default(),
            once: Default::default(),
            dr_auth: Default::default(),
            fresh: Default::default(),
            primaries: Default::default(),
            liveness: Default::default(),
            violations: Vec::new(),
        }
    }

    /// Checks every rule after a step, in the order of the table in the module docs.
    pub fn after_step(&mut self, view: &StepView) {
        let mut found = vec![];
        let rules: [&mut dyn Oracle; 9] = [
            &mut self.primaries,
            &mut self.wipes,
            &mut self.sets,
            &mut self.revoked,
            &mut self.once,
            &mut self.dr_auth,
            &mut self.fresh,
            &mut self.liveness,
            &mut self.losses,
        ];
        for rule in rules {
            rule.check(view, &mut found);
        }
        if view.world.livelock {
            found.push(Violation::Livelock { step: view.step });
        }
        self.violations.extend(found);
    }

    /// Adds violations found outside the step loop (convergence).
    pub fn add(&mut self, v: Vec<Violation>) {
        self.violations.extend(v);
    }

    /// Every violation so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Every hazard so far.
    pub fn hazards(&self) -> &[Hazard] {
        self.primaries.hazards()
    }
}

/// Each cluster's modes per kind at one moment, in the world's cluster order (a world's clusters never
/// change, so taking them after every step copies no names). Two views: the mode status reports (a
/// DR secondary's mirrored performance role is dormant and reports `disabled` until a promotion makes
/// it live), for the report; and each role's own mode, for the oracles.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Modes {
    reported: Vec<[Mode; 2]>,
    roles: Vec<[Mode; 2]>,
}

impl Modes {
    /// The modes of every cluster of `world` now.
    pub fn of(world: &World) -> Modes {
        let nodes = || world.nodes.values().map(crate::world::Node::cluster);
        Modes {
            reported: nodes().map(|c| Kind::ALL.map(|k| c.mode(k))).collect(),
            roles: nodes()
                .map(|c| Kind::ALL.map(|k| c.inspect(k).mode()))
                .collect(),
        }
    }

    /// The mode of `cluster`'s `kind` role when these were taken: its own mode, a dormant performance
    /// role of a DR secondary included.
    pub fn role(&self, world: &World, cluster: &str, kind: Kind) -> Option<Mode> {
        let i = world.nodes.keys().position(|n| n == cluster)?;
        self.roles.get(i).map(|m| m[kind as usize])
    }

    /// Every (cluster, kind, before, after) whose reported mode differs between `self` and `after`, in
    /// cluster then kind order.
    pub fn changes<'a>(
        &'a self,
        after: &'a Modes,
        world: &'a World,
    ) -> impl Iterator<Item = (&'a str, Kind, Mode, Mode)> + 'a {
        world
            .nodes
            .keys()
            .zip(self.reported.iter().zip(&after.reported))
            .flat_map(|(name, (before, after))| {
                Kind::ALL
                    .into_iter()
                    .map(move |k| (name.as_str(), k, before[k as usize], after[k as usize]))
            })
            .filter(|(_, _, b, a)| b != a)
    }
}
