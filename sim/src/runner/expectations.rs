//! The `expect_*` verbs, and what the end of a run checks and reports: convergence on a copy of the
//! world, and every cluster's final status.

use super::outcome::{Done, Outcome, StepError};
use super::Runner;
use crate::oracle::{self, Oracles};
use crate::report::ClusterLine;
use crate::scenario::{ExpectHazards, ExpectLosses, ExpectSameData, ExpectStatus};
use replication_api::Caller;
use replication_core::{DataClass, Duration, Kind, Mode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Heartbeat intervals the convergence check lets pass after the script, on a copy of the world.
pub const CONVERGENCE_INTERVALS: u64 = 12;

impl Runner {
    /// `expect_status`: the status the API answers subset-matches `matches`.
    pub(super) fn expect_status(
        &mut self,
        step: usize,
        e: &ExpectStatus,
    ) -> Result<Done, StepError> {
        self.expectations += 1;
        let path = match e.kind {
            Some(k) => format!("sys/replication/{k}/status"),
            None => "sys/replication/status".to_string(),
        };
        let (status, body) = self.api(&e.cluster, "GET", &path, Caller::Anonymous, None);
        let data = body
            .as_ref()
            .and_then(|b| b.get("data"))
            .cloned()
            .unwrap_or(Value::Null);
        let want = self.subst(&e.matches)?;
        let verdict = if status != 200 {
            Err(format!("status request answered {status}"))
        } else {
            crate::scenario::subset_match(&want, &data).map_err(|m| m.to_string())
        };
        let outcome = match verdict {
            Ok(()) => Outcome::Held,
            Err(why) => {
                self.fail(step, format!("status to contain {want}"), why);
                Outcome::Failed
            }
        };
        let kind = e.kind.map(Kind::as_str).unwrap_or("combined");
        Ok(Done::new(format!("{} {kind}", e.cluster), outcome))
    }

    /// `expect_same_data`: the data each cluster ships for the kind, and its Merkle root, are equal.
    pub(super) fn expect_same_data(&mut self, step: usize, e: &ExpectSameData) -> Done {
        self.expectations += 1;
        let kind = e.kind;
        let outcome = match self.same_data(&e.clusters, kind) {
            Ok(()) => Outcome::Held,
            Err(why) => {
                self.fail(
                    step,
                    format!("identical {kind} data on {}", e.clusters.join(", ")),
                    why,
                );
                Outcome::Failed
            }
        };
        Done::new(format!("{} {kind}", e.clusters.join(",")), outcome)
    }

    fn same_data(&self, clusters: &[String], kind: Kind) -> Result<(), String> {
        let view = |name: &str| -> Result<(String, BTreeMap<String, String>), String> {
            let c = self
                .world
                .cluster(name)
                .ok_or_else(|| format!("no cluster {name}"))?;
            let data = c
                .storage()
                .entries()
                .filter(|(_, e)| kind == Kind::Dr || e.class == DataClass::Replicated)
                .map(|(k, e)| (k.clone(), e.value.clone()))
                .collect();
            Ok((c.storage().merkle_root(kind), data))
        };
        let Some(first) = clusters.first() else {
            return Ok(());
        };
        let (root0, data0) = view(first)?;
        for other in &clusters[1..] {
            let (root, data) = view(other)?;
            if data != data0 {
                let diff: Vec<&String> = data0
                    .keys()
                    .chain(data.keys())
                    .filter(|k| data0.get(*k) != data.get(*k))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .take(5)
                    .collect();
                return Err(format!("{first} and {other} differ at {diff:?}"));
            }
            if root != root0 {
                return Err(format!(
                    "{first} and {other} hold the same data but merkle_root differs ({} vs {})",
                    &root0[..8],
                    &root[..8]
                ));
            }
        }
        Ok(())
    }

    /// `expect_losses`: the total, each listed cause and (when given) the unknown outcomes so far.
    pub(super) fn expect_losses(&mut self, step: usize, e: &ExpectLosses) -> Done {
        self.expectations += 1;
        let want = &e.losses;
        let ledger = &self.oracles.losses;
        let actual_total = ledger.losses().len() as u64;
        let actual = ledger.by_cause();
        let actual_unknown = ledger.unknown_count() as u64;
        let mut problems = vec![];
        if actual_total != want.total {
            problems.push(format!("total {actual_total}"));
        }
        for (cause, n) in &want.by_cause {
            let got = actual.get(cause).copied().unwrap_or(0);
            if got != *n {
                problems.push(format!("{cause} {got}"));
            }
        }
        if want.unknown.is_some_and(|n| n != actual_unknown) {
            problems.push(format!("unknown {actual_unknown}"));
        }
        let outcome = if problems.is_empty() {
            Outcome::Held
        } else {
            let wanted = std::iter::once(format!("total {}", want.total))
                .chain(want.by_cause.iter().map(|(c, n)| format!("{c} {n}")))
                .chain(want.unknown.map(|n| format!("unknown {n}")))
                .collect::<Vec<_>>()
                .join(", ");
            let actual = format!(
                "{} (losses: {})",
                problems.join(", "),
                describe_losses(&self.oracles)
            );
            self.fail(step, format!("losses {wanted}"), actual);
            Outcome::Failed
        };
        Done::new(format!("total {}", want.total), outcome)
    }

    /// `expect_hazards`: the set of hazard kinds reported so far is exactly the one listed.
    pub(super) fn expect_hazards(&mut self, step: usize, e: &ExpectHazards) -> Done {
        self.expectations += 1;
        let got: BTreeSet<String> = self
            .oracles
            .hazards()
            .iter()
            .map(|h| h.kind.clone())
            .collect();
        let want: BTreeSet<String> = e.hazards.iter().cloned().collect();
        let outcome = if got == want {
            Outcome::Held
        } else {
            self.fail(
                step,
                format!("hazards {want:?}"),
                format!("hazards {got:?}"),
            );
            Outcome::Failed
        };
        Done::new(format!("{:?}", e.hazards), outcome)
    }

    /// After the script: on a copy of the world with faults off, every secondary must reach its
    /// primary's data within [`CONVERGENCE_INTERVALS`] heartbeats. Not checked (and the reason
    /// returned) while the network is partitioned or a cluster is down.
    pub(super) fn convergence(&mut self) -> Option<String> {
        let down: Vec<String> = self
            .world
            .nodes
            .iter()
            .filter(|(_, n)| !n.up)
            .map(|(k, _)| k.clone())
            .collect();
        if self.world.net.is_partitioned() || !down.is_empty() {
            return Some(if down.is_empty() {
                "not checked: the network is still partitioned".into()
            } else {
                format!("not checked: {} down", down.join(","))
            });
        }
        let mut copy = self.world.clone();
        copy.net.faults = Default::default();
        let interval = self.scenario.config.heartbeat_interval.as_millis().max(1);
        copy.advance(Duration::from_millis(interval * CONVERGENCE_INTERVALS));
        let v = oracle::convergence::check(&copy);
        self.oracles.add(v);
        None
    }

    /// Every cluster's status per kind at the end of the run.
    pub(super) fn final_status(&self) -> Vec<ClusterLine> {
        let mut out = vec![];
        for (name, n) in &self.world.nodes {
            for kind in Kind::ALL {
                let st = n.cluster().status(kind, self.world.now);
                out.push(ClusterLine {
                    cluster: name.clone(),
                    up: n.up,
                    kind,
                    mode: st.mode.clone(),
                    state: st.state.clone().unwrap_or_default(),
                    cluster_id: st.cluster_id.clone().unwrap_or_default(),
                    last_wal: st.last_wal.unwrap_or(0),
                    merkle_root: if n.cluster().mode(kind) == Mode::Disabled {
                        String::new()
                    } else {
                        st.merkle_root.clone().unwrap_or_default()
                    },
                    keys: n.cluster().storage().len(),
                });
            }
        }
        out
    }
}

fn describe_losses(o: &Oracles) -> String {
    let l = o.losses.losses();
    if l.is_empty() {
        return "none".into();
    }
    l.iter()
        .map(|x| format!("{}={:?} at step {} ({})", x.path, x.value, x.step, x.cause))
        .collect::<Vec<_>>()
        .join("; ")
}
