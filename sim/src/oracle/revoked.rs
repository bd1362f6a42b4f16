//! Rule: a revoked secondary receives nothing more (model.md §6): once the operator revoked a secondary
//! id (and the primary acknowledged it), the primary sends no replication data to that secondary unless
//! it rejoined with a new id. Checked when the primary sends: data already in flight when the
//! revocation happened may still arrive, as on a real network. Revocations come from the acknowledged API calls, not from the primary's
//! own registry, so a primary that forgets a revocation is caught.

use super::{StepView, Violation};
use crate::world::Observation;
use replication_core::Role;

/// Watches data messages from primaries to revoked secondaries.
#[derive(Clone, Debug, Default)]
pub struct Revoked;

impl Revoked {
    /// Checks one step's deliveries against the primaries' registries.
    pub fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        for o in view.observations {
            let Observation::SentData {
                from,
                to,
                kind,
                message,
            } = o
            else {
                continue;
            };
            let kind = *kind;
            let (Some(p), Some(s)) = (view.world.cluster(from), view.world.cluster(to)) else {
                continue;
            };
            let Role::Primary(role) = p.role(kind) else {
                continue;
            };
            let addr = &s.config().cluster_addr;
            let revoked = |id: &String| {
                view.revocations.contains(&super::Revocation {
                    primary: from.clone(),
                    kind,
                    run: role.run.clone(),
                    id: id.clone(),
                })
            };
            // Revoked: every record of this primary that points at the receiver's address is revoked
            // and, when the receiver holds an identity here, that identity is revoked too. Two
            // clusters can hold one identity (a DR secondary promoted while its old primary runs),
            // so a receiver whose own identity is live was not revoked, whatever the records say.
            let records: Vec<bool> = role
                .secondaries
                .iter()
                .filter(|(_, r)| &r.cluster_addr == addr)
                .map(|(id, r)| r.revoked || revoked(id))
                .collect();
            let by_address = !records.is_empty() && records.iter().all(|gone| *gone);
            let own_identity_live = match s.role(kind) {
                Role::Secondary(r) => r.credentials.as_ref().is_some_and(|c| {
                    role.secondaries
                        .get_key_value(&c.secondary_id)
                        .is_some_and(|(id, rec)| !rec.revoked && !revoked(id))
                }),
                _ => false,
            };
            let gone = by_address && !own_identity_live;
            if gone {
                out.push(Violation::DeliveredToRevoked {
                    step: view.step,
                    primary: from.clone(),
                    secondary: to.clone(),
                    kind,
                    message: message.to_string(),
                });
            }
        }
    }
}
