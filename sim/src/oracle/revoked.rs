//! Rule: a revoked secondary receives nothing more (model.md §6): once a primary revoked a
//! secondary id, it sends no replication data to that secondary unless it rejoined with a new id.

use super::{StepView, Violation};
use crate::world::Observation;
use replication_core::{Kind, Message, Role};

/// Watches data messages from primaries to revoked secondaries.
#[derive(Clone, Debug, Default)]
pub struct Revoked;

fn data_kind(m: &Message) -> Option<Kind> {
    match m {
        Message::Entries { kind, .. }
        | Message::DiffStart { kind, .. }
        | Message::SyncData { kind, .. } => Some(*kind),
        Message::Mirror { .. } => Some(Kind::Dr),
        _ => None,
    }
}

impl Revoked {
    /// Checks one step's deliveries against the primaries' registries.
    pub fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        for o in view.observations {
            let Observation::Delivered { from, to, message } = o else {
                continue;
            };
            let Some(kind) = data_kind(message) else {
                continue;
            };
            let (Some(p), Some(s)) = (view.world.cluster(from), view.world.cluster(to)) else {
                continue;
            };
            let Role::Primary(role) = p.role(kind) else {
                continue;
            };
            let addr = &s.config().cluster_addr;
            let records: Vec<_> = role
                .secondaries
                .values()
                .filter(|r| &r.cluster_addr == addr)
                .collect();
            if !records.is_empty() && records.iter().all(|r| r.revoked) {
                out.push(Violation::DeliveredToRevoked {
                    step: view.step,
                    primary: from.clone(),
                    secondary: to.clone(),
                    kind,
                    message: message.name().to_string(),
                });
            }
        }
    }
}
