//! Rule: every wipe is caused by `secondary/enable` (model.md §6): demote, promote, update-primary,
//! revoke and disable never wipe. A cluster may be wiped only in a step in which the network delivered
//! it a primary's acceptance of its activation, and only if that kind was not already an enabled
//! primary or secondary before the step (so update-primary, which also gets an acceptance, cannot wipe).
//! Conversely, an accepted enable must wipe: a cluster that joins a set from `disabled` or
//! `bootstrapping` keeps nothing of its own (model.md §1).

use super::{Oracle, StepView, Violation};
use crate::world::Observation;
use replication_core::{ActivationAccepted, Event, Message, Mode};

/// Checks wipes against delivered activation acceptances.
#[derive(Clone, Debug, Default, Hash)]
pub struct Wipes;

impl Oracle for Wipes {
    /// Checks one step.
    fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        for o in view.observations {
            let Observation::Delivered {
                to,
                message: Message::ActivationAccepted(ActivationAccepted { kind, .. }),
                ..
            } = o
            else {
                continue;
            };
            let before = view.role_before(to, *kind);
            let joined = matches!(before, Some(Mode::Disabled | Mode::Bootstrapping))
                && view
                    .world
                    .cluster(to)
                    .is_some_and(|c| c.inspect(*kind).mode() == Mode::Secondary);
            let wiped = view.observations.iter().any(|x| {
                matches!(x, Observation::Event { cluster, event: Event::Wiped { kind: k, .. } }
                    if cluster == to && k == kind)
            });
            if joined && !wiped {
                out.push(Violation::EnableWithoutWipe {
                    step: view.step,
                    cluster: to.clone(),
                    kind: *kind,
                });
            }
        }
        for o in view.observations {
            let Observation::Event {
                cluster,
                event: Event::Wiped { kind, .. },
            } = o
            else {
                continue;
            };
            let accepted = view.observations.iter().any(|x| {
                matches!(x, Observation::Delivered { to, message: Message::ActivationAccepted(ActivationAccepted { kind: k, .. }), .. }
                    if to == cluster && k == kind)
            });
            let mode_before = view.role_before(cluster, *kind).unwrap_or(Mode::Disabled);
            let joining = matches!(mode_before, Mode::Disabled | Mode::Bootstrapping);
            if !accepted || !joining {
                out.push(Violation::WipeWithoutActivation {
                    step: view.step,
                    cluster: cluster.clone(),
                    kind: *kind,
                    mode_before,
                });
            }
        }
    }
}
