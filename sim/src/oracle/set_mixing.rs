//! Rule: a secondary never mixes data of two replication sets (model.md §6): a cluster holding one
//! set's data can join another set only through a wipe. A DR secondary's data is its DR primary's, so
//! the performance set it holds is the one its dormant performance role mirrors.

use super::{Oracle, StepView, Violation};
use crate::world::Observation;
use replication_core::{ClusterId, Event, Kind, Mode};
use std::collections::BTreeMap;

/// Tracks which set's data each cluster holds, per kind.
#[derive(Clone, Debug, Default, Hash)]
pub struct SetMixing {
    held: BTreeMap<String, BTreeMap<Kind, ClusterId>>,
}

impl Oracle for SetMixing {
    /// Checks one step.
    fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        for o in view.observations {
            if let Observation::Event {
                cluster,
                event: Event::Wiped { .. },
            } = o
            {
                self.held.remove(cluster);
            }
        }
        for (name, node) in &view.world.nodes {
            for kind in Kind::ALL {
                let c = &node.cluster();
                let Some(set) = c.inspect(kind).cluster_id() else {
                    continue;
                };
                let held = self.held.get_mut(name).and_then(|h| h.get_mut(&kind));
                if kind == Kind::Performance && c.inspect(Kind::Dr).mode() == Mode::Secondary {
                    // A DR secondary holds its DR primary's data, performance set included: its
                    // dormant performance role mirrors that set, so that is the set it holds.
                    match held {
                        Some(held) => *held = set,
                        None => self.hold(name, kind, set),
                    }
                    continue;
                }
                if c.mode(kind) == Mode::Disabled {
                    continue;
                }
                match held {
                    Some(held) if *held == set => {}
                    Some(held) => {
                        if c.mode(kind) == Mode::Secondary {
                            out.push(Violation::SetMixing {
                                step: view.step,
                                cluster: name.clone(),
                                kind,
                                held: held.to_string(),
                                joined: set.to_string(),
                            });
                        }
                        *held = set;
                    }
                    None => self.hold(name, kind, set),
                }
            }
        }
    }
}

impl SetMixing {
    /// Records that `cluster` now holds `set`'s data of `kind` (the first time it holds any).
    fn hold(&mut self, cluster: &str, kind: Kind, set: ClusterId) {
        self.held
            .entry(cluster.to_string())
            .or_default()
            .insert(kind, set);
    }
}
