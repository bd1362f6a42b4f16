//! The world's own verbs: time passing, partitions, message faults, moves on one link, crashes,
//! restarts and a corrupted Merkle index.

use super::outcome::{Done, Outcome, StepError};
use super::Runner;
use crate::scenario::{Advance, CorruptMerkle, Crash, Faults, LinkStep, Partition, Restart, Tick};
use crate::world;
use crate::world::LinkMove;
use replication_core::Input;
use std::collections::BTreeSet;

impl Runner {
    /// `advance`: clusters tick at their deadlines until the time has passed.
    pub(super) fn advance(&mut self, a: &Advance) -> Done {
        self.world.advance(a.by);
        Done::new(a.by.to_string(), Outcome::Ok)
    }

    /// `tick`: time passes with nothing delivered; clusters whose timers fall due tick.
    pub(super) fn tick(&mut self, t: &Tick) -> Done {
        self.world.tick_for(t.by);
        Done::new(t.by.to_string(), Outcome::Ok)
    }

    /// `deliver`, `drop`, `duplicate`: one move on one link.
    pub(super) fn link(&mut self, l: &LinkStep) -> Result<Done, StepError> {
        let (what, from, to) = (l.what, l.from.as_str(), l.to.as_str());
        let outcome =
            self.world
                .on_link(from, to, what)
                .ok_or_else(|| StepError::NothingInFlight {
                    verb: l.verb(),
                    from: from.to_string(),
                    to: to.to_string(),
                })?;
        let target = format!("{from}->{to}");
        Ok(Done::new(
            target,
            match (what, outcome.delivered) {
                (LinkMove::Drop, _) => Outcome::Dropped(outcome.message),
                (_, true) => Outcome::Delivered(outcome.message),
                (_, false) => Outcome::Undeliverable(outcome.message),
            },
        ))
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
