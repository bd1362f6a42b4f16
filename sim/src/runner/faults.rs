//! The world's own verbs: time passing, partitions, message faults, crashes, restarts and a
//! corrupted Merkle index.

use super::outcome::{Done, Outcome, StepError};
use super::Runner;
use crate::scenario::{Advance, CorruptMerkle, Crash, Faults, Partition, Restart};
use crate::world;
use replication_core::Input;
use std::collections::BTreeSet;

impl Runner {
    /// `advance`: clusters tick at their deadlines until the time has passed.
    pub(super) fn advance(&mut self, a: &Advance) -> Done {
        self.world.advance(a.by);
        Done::new(a.by.to_string(), Outcome::Ok)
    }

    /// `partition`: messages between the groups are dropped from now on.
    pub(super) fn partition(&mut self, p: &Partition) -> Done {
        let all = self.world.names();
        self.world.net.partition(
            p.groups
                .iter()
                .map(|g| g.iter().cloned().collect::<BTreeSet<_>>())
                .collect(),
            &all,
        );
        let text = p
            .groups
            .iter()
            .map(|g| g.join(","))
            .collect::<Vec<_>>()
            .join(" | ");
        Done::new(text, Outcome::Ok)
    }

    /// `heal`: every partition removed.
    pub(super) fn heal(&mut self) -> Done {
        self.world.net.heal();
        Done::new(String::new(), Outcome::Ok)
    }

    /// `faults`: the message fault rates from now on.
    pub(super) fn faults(&mut self, f: &Faults) -> Done {
        let r = f.rates;
        self.world.net.faults = world::Faults {
            drop: r.drop,
            duplicate: r.duplicate,
            reorder: r.reorder,
            delay: r.delay,
        };
        Done::new(
            format!(
                "drop {} dup {} reorder {} delay {}",
                r.drop, r.duplicate, r.reorder, r.delay
            ),
            Outcome::Ok,
        )
    }

    /// `crash`: the cluster stops; what it had forwarded has an unknown outcome.
    pub(super) fn crash(&mut self, step: usize, c: &Crash) -> Done {
        let done = self.world.crash(&c.cluster);
        if done {
            self.crashed(&c.cluster, step);
        }
        let outcome = if done {
            Outcome::Crashed
        } else {
            Outcome::AlreadyDown
        };
        Done::new(c.cluster.clone(), outcome)
    }

    /// `restart`: the cluster starts again from what it persisted.
    pub(super) fn restart(&mut self, r: &Restart) -> Result<Done, StepError> {
        let done = self
            .world
            .restart(&r.cluster)
            .map_err(|source| StepError::Restore {
                cluster: r.cluster.clone(),
                source,
            })?;
        let outcome = if done {
            Outcome::Restarted
        } else {
            Outcome::AlreadyUp
        };
        Ok(Done::new(r.cluster.clone(), outcome))
    }

    /// `corrupt_merkle`: the cluster's Merkle index no longer matches its data.
    ///
    /// On a crashed cluster this does nothing, and the report still says "merkle index corrupted":
    /// kept as it was while the layout changes (the fuzzer generates such steps, and its
    /// fingerprints must not move); to be refused as a step that cannot run.
    pub(super) fn corrupt_merkle(&mut self, c: &CorruptMerkle) -> Done {
        self.world.step(&c.cluster, Input::CorruptMerkle);
        Done::new(c.cluster.clone(), Outcome::MerkleCorrupted)
    }
}
