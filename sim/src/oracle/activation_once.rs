//! Rule: a token activates at most once, and a revoked id never activates (model.md §6). Ids are
//! unique per primary run (a registry), so revocations are remembered per (primary, kind, run, id).
//! Judged when the primary sends its acceptance (its decision), not when the message arrives: an
//! acceptance sent before a revocation and delivered after it broke no rule (the fuzzer found that
//! case with a delayed message).

use super::{Oracle, StepView, Violation};
use crate::world::Observation;
use replication_core::{ActivationAccepted, Kind, Message};
use std::collections::{BTreeMap, BTreeSet};

/// Tracks accepted activations by token nonce, and revoked ids seen in primaries' registries.
#[derive(Clone, Debug, Default, Hash)]
pub struct ActivationOnce {
    accepted: BTreeMap<String, BTreeSet<String>>,
    revoked: BTreeSet<(String, Kind, String, String)>,
}

impl Oracle for ActivationOnce {
    /// Checks one step.
    fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        for o in view.observations {
            let Observation::Accepted {
                primary: from,
                secondary: to,
                message:
                    Message::ActivationAccepted(ActivationAccepted {
                        kind,
                        nonce,
                        credentials,
                        ..
                    }),
            } = o
            else {
                continue;
            };
            let who = self.accepted.entry(nonce.clone()).or_default();
            who.insert(to.clone());
            let run = view
                .world
                .cluster(from)
                .and_then(|c| c.inspect(*kind).primary())
                .map(|p| p.run().to_string())
                .unwrap_or_default();
            let revoked = view.revocations.contains(&super::Revocation {
                primary: from.clone(),
                kind: *kind,
                run: run.clone(),
                id: credentials.secondary_id.clone(),
            }) || self.revoked.contains(&(
                from.clone(),
                *kind,
                run,
                credentials.secondary_id.clone(),
            ));
            if who.len() > 1 || revoked {
                out.push(Violation::TokenReused {
                    step: view.step,
                    primary: from.clone(),
                    secondary_id: credentials.secondary_id.clone(),
                    clusters: who.iter().cloned().collect(),
                });
            }
        }
        for (name, n) in &view.world.nodes {
            for kind in Kind::ALL {
                if let Some(p) = n.cluster().inspect(kind).primary() {
                    for s in p.accepted().filter(|s| s.revoked()) {
                        self.revoked.insert((
                            name.clone(),
                            kind,
                            p.run().to_string(),
                            s.id().to_string(),
                        ));
                    }
                }
            }
        }
    }
}
