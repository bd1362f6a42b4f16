//! Rule: two live (not crashed) primaries of one replication set are the hazard `multiple-primaries`,
//! reported with the step that caused them (model.md §6; Vault's docs: "Multiple primaries may result
//! in data loss").

use super::{Hazard, Oracle, StepView, Violation};
use replication_core::Kind;
use std::collections::BTreeSet;

/// Detects sets with more than one live primary.
#[derive(Clone, Debug, Default, Hash)]
pub struct Primaries {
    hazards: Vec<Hazard>,
    active: BTreeSet<(Kind, replication_core::ClusterId)>,
}

impl Oracle for Primaries {
    /// Records a hazard when a set gains a second live primary (a hazard, not a violation: nothing
    /// goes to `found`).
    fn check(&mut self, view: &StepView, _found: &mut Vec<Violation>) {
        let mut now_active = BTreeSet::new();
        for kind in Kind::ALL {
            for (set, clusters) in view.world.live_primaries(kind) {
                if clusters.len() < 2 {
                    continue;
                }
                let key = (kind, set);
                if !self.active.contains(&key) {
                    self.hazards.push(Hazard {
                        kind: super::MULTIPLE_PRIMARIES.into(),
                        step: view.step,
                        replication: kind,
                        cluster_id: set.to_string(),
                        clusters: clusters.iter().map(|c| c.to_string()).collect(),
                    });
                }
                now_active.insert(key);
            }
        }
        self.active = now_active;
    }
}

impl Primaries {
    /// Hazards so far (one per episode).
    pub fn hazards(&self) -> &[Hazard] {
        &self.hazards
    }
}
