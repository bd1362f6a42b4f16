//! Rule: `primary/enable` draws a `cluster_id` never used before (model.md §1), so a re-enabled
//! primary is a new replication set and its old secondaries must be wiped to rejoin. (Promotion keeps
//! the set's id, and a DR secondary mirrors its primary's performance set: neither is checked here.)

use super::{Oracle, StepView, Violation};
use replication_core::{ClusterId, Kind, Request};
use std::collections::BTreeSet;

/// Remembers every replication-set id seen.
#[derive(Clone, Debug, Default, Hash)]
pub struct FreshIds {
    seen: BTreeSet<ClusterId>,
}

impl Oracle for FreshIds {
    /// Checks one step.
    fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        for call in view.calls {
            let Some(Request::EnablePrimary { kind, .. }) = call.succeeded() else {
                continue;
            };
            let kind = *kind;
            let Some(id) = view
                .world
                .cluster(&call.cluster)
                .and_then(|c| c.inspect(kind).cluster_id())
            else {
                continue;
            };
            if self.seen.contains(&id) {
                out.push(Violation::ReusedClusterId {
                    step: view.step,
                    cluster: call.cluster.clone(),
                    kind,
                    cluster_id: id.to_string(),
                });
            }
        }
        for node in view.world.nodes.values() {
            for kind in Kind::ALL {
                if let Some(id) = node.cluster().inspect(kind).cluster_id() {
                    self.seen.insert(id);
                }
            }
        }
    }
}
