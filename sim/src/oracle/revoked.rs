//! Rule: a revoked secondary receives nothing more (model.md §6): once the operator revoked a secondary
//! id (and the primary acknowledged it), the primary sends no replication data to that secondary unless
//! it rejoined with a new id. Checked when the primary sends: data already in flight when the
//! revocation happened may still arrive, as on a real network. Revocations come from the acknowledged API calls, not from the primary's
//! own registry, so a primary that forgets a revocation is caught.

use super::{Oracle, StepView, Violation};
use crate::world::Observation;

/// Watches data messages from primaries to revoked secondaries.
#[derive(Clone, Debug, Default, Hash)]
pub struct Revoked;

impl Oracle for Revoked {
    /// Checks one step's deliveries against the primaries' registries.
    fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
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
            let Some(role) = p.inspect(kind).primary() else {
                continue;
            };
            let addr = &s.config().cluster_addr;
            let revoked = |id: &str| {
                view.revocations.contains(&super::Revocation {
                    primary: from.clone(),
                    kind,
                    run: role.run().to_string(),
                    id: id.to_string(),
                })
            };
            // Revoked: every record of this primary that points at the receiver's address is revoked
            // and, when the receiver holds an identity here, that identity is revoked too. Two
            // clusters can hold one identity (a DR secondary promoted while its old primary runs),
            // so a receiver whose own identity is live was not revoked, whatever the records say.
            let records: Vec<bool> = role
                .accepted()
                .filter(|r| r.cluster_addr() == addr)
                .map(|r| r.revoked() || revoked(r.id()))
                .collect();
            let by_address = !records.is_empty() && records.iter().all(|gone| *gone);
            let own_identity_live = s
                .inspect(kind)
                .secondary()
                .and_then(|r| r.secondary_id())
                .and_then(|id| role.secondary(id))
                .is_some_and(|rec| !rec.revoked() && !revoked(rec.id()));
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
