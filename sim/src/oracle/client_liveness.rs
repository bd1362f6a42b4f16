//! Rule: a client never waits forever (model.md §4): every client operation a cluster handed to
//! another (a write forwarded to the performance primary) is answered, and once the network is healthy
//! (no partition, no message faults) and every cluster runs, within the forwarding timeout of the
//! cluster the client talked to. The wait is counted from when the operation was sent or the network
//! became healthy, whichever is later. An operation whose cluster crashed is not waited for: the
//! client's connection died with it (its outcome is unknown).

use super::{Oracle, StepView, Violation};
use crate::world::Observation;
use replication_core::{Duration, Event, Timestamp};
use std::collections::BTreeMap;

/// Operations still waiting for their answer.
#[derive(Clone, Debug, Default, Hash)]
pub struct ClientLiveness {
    /// (cluster, request id) -> (step sent, virtual time sent).
    waiting: BTreeMap<(String, u64), (usize, Timestamp)>,
    /// Since when the network has been healthy with every cluster running, if it is.
    healthy_since: Option<Timestamp>,
}

impl ClientLiveness {
    /// `cluster` sent client operation `request` on at `step`, virtual time `at`.
    pub fn sent(&mut self, cluster: &str, request: u64, step: usize, at: Timestamp) {
        self.waiting
            .insert((cluster.to_string(), request), (step, at));
    }
}

impl Oracle for ClientLiveness {
    /// Checks one step: answers that arrived, clusters that crashed, and operations that waited past
    /// the forwarding timeout on a healthy network.
    fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        for o in view.observations {
            if let Observation::Event {
                cluster,
                event: Event::ClientReply { request, .. },
            } = o
            {
                self.waiting.remove(&(cluster.clone(), *request));
            }
        }
        let world = view.world;
        self.waiting.retain(|(cluster, _), _| world.is_up(cluster));
        let healthy = !world.net.is_partitioned()
            && world.net.faults.is_none()
            && world.nodes.values().all(|n| n.up);
        self.healthy_since = match (healthy, self.healthy_since) {
            (false, _) => None,
            (true, None) => Some(world.now),
            (true, since) => since,
        };
        let Some(since) = self.healthy_since else {
            return;
        };
        let mut late = vec![];
        for ((cluster, request), (step, at)) in &self.waiting {
            let Some(timeout) = world
                .cluster(cluster)
                .map(|c| c.config().forwarding_timeout())
            else {
                continue;
            };
            let from = (*at).max(since);
            let waited = world.now.since(from);
            if waited > timeout {
                late.push((cluster.clone(), *request));
                out.push(Violation::ClientUnanswered {
                    step: view.step,
                    cluster: cluster.clone(),
                    sent_at: *step,
                    waited: Duration::from_millis(waited.as_millis()),
                });
            }
        }
        // Reported once each.
        for key in late {
            self.waiting.remove(&key);
        }
    }
}
