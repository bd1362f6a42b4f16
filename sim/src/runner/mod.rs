//! Runs a scenario: every step against the world, expectations checked, oracles after every step.
//!
//! The files are the step families, each returning a typed outcome (`outcome.rs`):
//!
//! | file | verbs |
//! |---|---|
//! | `calls.rs` | `call`, `dr_operation_token` (HTTP API requests through the API layer) |
//! | `client.rs` | `write`, `delete`, `mount`, `read` (client operations, forwarded writes and their answers) |
//! | `faults.rs` | `advance`, `tick`, `partition`, `heal`, `faults`, `deliver`, `drop`, `duplicate`, `crash`, `restart`, `corrupt_merkle` |
//! | `expectations.rs` | `expect_status`, `expect_same_data`, `expect_losses`, `expect_hazards`, and the final convergence check |
//!
//! This file keeps the books of a step: it runs the step's family, settles the network, hands the
//! step's observations to the oracles and writes the step's report line.

mod calls;
mod client;
mod expectations;
mod faults;
mod outcome;

use crate::oracle::{self, CallRecord, Oracles, Revocation, StepView};
use crate::report::timeline::{Mark, Timeline};
use crate::report::{Failure, Report, StepLine};
use crate::scenario::{dotted_get, Scenario, Step, StepSpec, SubstError, Vars};
use crate::world::{ClusterSetup, Observation, World, WorldConfig};
use client::Forwards;
use outcome::{short_reason, Done, Outcome, StepError};
use replication_core::{Bug, Event, Request};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub use expectations::CONVERGENCE_INTERVALS;

/// A scenario run in progress. A clone is an independent run from the same point (the checker
/// explores from clones).
#[derive(Clone)]
pub struct Runner {
    /// The scenario: its topology, settings and (for [`Runner::run`]) its script. Shared by the
    /// clones of a run (the checker makes one at every state).
    scenario: std::sync::Arc<Scenario>,
    world: World,
    vars: Vars,
    oracles: Oracles,
    /// Each cluster's modes after the last step (the next step's "before").
    modes: oracle::Modes,
    lines: Vec<StepLine>,
    /// Keep every step's line in the report (false: only their digest).
    keep_lines: bool,
    /// The digest of every step's line so far.
    lines_digest: crate::digest::Fnv1a,
    /// The last step run.
    last_step: usize,
    failures: Vec<Failure>,
    /// Client operations handed to another cluster, until their answers come.
    forwards: Forwards,
    expectations: usize,
    /// The API calls of the current step.
    calls: Vec<CallRecord>,
    revocations: BTreeSet<Revocation>,
    /// Every lane after every step, and what happened where.
    timeline: Timeline,
    /// Record the timeline (false: the report's timeline is empty).
    keep_timeline: bool,
}

impl Runner {
    /// A world built from the scenario's topology.
    pub fn new(scenario: &Scenario) -> Runner {
        Runner::with_bugs(scenario, BTreeSet::new())
    }

    /// A world whose clusters exhibit `bugs` (only with the `inject-bugs` feature; otherwise the set
    /// has no effect).
    pub fn with_bugs(scenario: &Scenario, bugs: BTreeSet<Bug>) -> Runner {
        Runner::owning(scenario.clone(), bugs)
    }

    /// [`Runner::with_bugs`] taking the scenario itself (a long runbook is not copied).
    pub fn owning(scenario: Scenario, bugs: BTreeSet<Bug>) -> Runner {
        let config = WorldConfig {
            seed: scenario.seed,
            heartbeat_interval: scenario.config.heartbeat_interval,
            log_shipper_buffer: scenario.config.log_shipper_buffer,
            forwarding_timeout: scenario.config.forwarding_timeout,
            bugs,
            entropy: scenario.config.entropy,
        };
        let clusters: Vec<ClusterSetup> = scenario
            .clusters
            .iter()
            .map(|(name, o)| ClusterSetup {
                name: name.clone(),
                shares: o.shares(),
                threshold: o.threshold(),
            })
            .collect();
        let mounts: Vec<(String, bool)> = scenario
            .mounts
            .iter()
            .map(|m| (m.path.clone(), m.local))
            .collect();
        let world = World::new(&config, &clusters, &mounts);
        let oracles = Oracles::new(&world);
        Runner {
            scenario: std::sync::Arc::new(scenario),
            modes: oracle::Modes::of(&world),
            timeline: Timeline::start(&world),
            keep_timeline: true,
            world,
            vars: Vars::new(),
            oracles,
            lines: vec![],
            keep_lines: true,
            lines_digest: Default::default(),
            last_step: 0,
            failures: vec![],
            forwards: Forwards::default(),
            expectations: 0,
            calls: vec![],
            revocations: BTreeSet::new(),
        }
    }

    /// Runs every step and the final convergence check.
    pub fn run(self, file: Option<&str>) -> Report {
        self.run_observed(file, |_, _| {})
    }

    /// [`Runner::run`], calling `after_step(steps done, steps in all)` after every step (a progress
    /// bar, say).
    pub fn run_observed(
        mut self,
        file: Option<&str>,
        mut after_step: impl FnMut(usize, usize),
    ) -> Report {
        let steps = std::mem::take(&mut std::sync::Arc::make_mut(&mut self.scenario).steps);
        let all = steps.len();
        // Each step is dropped once it ran: a long runbook is not held twice.
        for (done, spec) in steps.into_iter().enumerate() {
            self.run_step(&spec);
            after_step(done + 1, all);
        }
        self.finish(file)
    }

    /// The world as the steps so far left it. Only steps change it, so the oracles' view of every
    /// step is complete.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The oracles' findings so far.
    pub fn oracles(&self) -> &Oracles {
        &self.oracles
    }

    #[cfg(test)]
    pub(crate) fn oracles_mut(&mut self) -> &mut Oracles {
        &mut self.oracles
    }

    /// Whether the report keeps every step's line (the default) or only their digest
    /// (`Report::lines_digest`, always kept): a long generated run then needs memory for what it
    /// found, not for its length.
    pub fn keep_lines(&mut self, keep: bool) {
        self.keep_lines = keep;
    }

    /// Whether the report keeps a timeline (the default) or none: the checker's runs are copied at
    /// every state and never drawn.
    pub fn keep_timeline(&mut self, keep: bool) {
        self.keep_timeline = keep;
        if !keep {
            self.timeline = Timeline::default();
        }
    }

    /// Runs one more step (for generators that build the script as they go).
    pub fn step(&mut self, spec: &StepSpec) {
        self.run_step(spec);
    }

    /// The value saved as `name` so far (`None`: never saved).
    pub fn var(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// The expectations that failed so far (and steps that could not run).
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// Feeds everything that decides what this run does next to `h`: the world, the oracles' memory,
    /// saved variables, forwarded operations waiting for answers and revocations. What only the
    /// report keeps (step lines, the timeline, counters, failed expectations) is left out, so two
    /// runs that reached the same situation by different paths hash alike.
    pub fn hash_state<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        self.world.hash(h);
        self.oracles.hash(h);
        crate::digest::hash_json_map(&self.vars.0, h);
        self.forwards.hash(h);
        self.revocations.hash(h);
    }

    /// Whether an expectation failed or an invariant broke so far.
    pub fn failed(&self) -> bool {
        !self.failures.is_empty() || !self.oracles.violations().is_empty()
    }

    /// Ends the run: the convergence check, then the report.
    pub fn finish(mut self, file: Option<&str>) -> Report {
        let violations_before = self.oracles.violations().len();
        self.unanswered_at_the_end();
        let convergence = self.convergence();
        let finals = self.final_status();
        // What the end of the script found (the convergence check, operations never answered) sits
        // one column past the last step.
        let end = self.last_step + 1;
        self.mark_violations(end, violations_before);
        let mut timeline = std::mem::take(&mut self.timeline);
        for f in &self.failures {
            timeline.mark(
                f.step,
                Mark::Failed {
                    expected: f.expected.clone(),
                    actual: f.actual.clone(),
                },
            );
        }
        timeline.marks.sort_by_key(|m| m.step);
        Report {
            name: self.scenario.name.clone(),
            file: file.map(str::to_string),
            description: self.scenario.description.clone(),
            seed: self.scenario.seed,
            steps: self.lines,
            lines_digest: std::hash::Hasher::finish(&self.lines_digest),
            clusters: finals,
            losses: self.oracles.losses.losses().to_vec(),
            by_cause: self.oracles.losses.by_cause(),
            unknown_writes: self.oracles.losses.unknown_count(),
            hazards: self.oracles.hazards().to_vec(),
            violations: self.oracles.violations().to_vec(),
            convergence,
            failures: self.failures,
            expectations: self.expectations,
            net: self.world.net.stats,
            timeline,
        }
    }

    /// Substitutes `${name}` in `v`: saved variables, then a cluster's unseal shares
    /// (`${A.unseal_keys.0}`).
    fn subst(&self, v: &Value) -> Result<Value, SubstError> {
        let world = &self.world;
        self.vars.substitute(v, |name: &str| {
            let mut parts = name.split('.');
            let (Some(cluster), Some("unseal_keys"), Some(i), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return None;
            };
            let i: usize = i.parse().ok()?;
            world
                .cluster(cluster)
                .and_then(|c| c.unseal_keys().shares.get(i).cloned())
                .map(Value::String)
        })
    }

    /// Substitutes `${name}` in a string; a non-string replacement is written as JSON.
    fn subst_str(&self, s: &str) -> Result<String, SubstError> {
        Ok(match self.subst(&Value::String(s.to_string()))? {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// Takes a step's `save`s from the answer's `body`. A refusal the step allowed has nothing to
    /// save: its names are saved as null, so later uses see null.
    fn save(
        &mut self,
        step: usize,
        save: &BTreeMap<String, String>,
        body: Option<&Value>,
        refused_as_expected: bool,
    ) {
        for (name, dotted) in save {
            match body.and_then(|b| dotted_get(b, dotted)) {
                Some(v) => {
                    self.vars.insert(name, v.clone());
                }
                None if refused_as_expected => {
                    self.vars.insert(name, Value::Null);
                }
                None => self.fail(
                    step,
                    format!("a value at {dotted:?} to save as {name:?}"),
                    "nothing there".into(),
                ),
            }
        }
    }

    fn fail(&mut self, step: usize, expected: String, actual: String) {
        self.failures.push(Failure {
            step,
            expected,
            actual,
        });
    }

    /// Runs the step's family.
    fn execute(&mut self, spec: &StepSpec) -> Result<Done, StepError> {
        let i = spec.index;
        match &spec.step {
            Step::Call(c) => self.call(i, c),
            Step::DrOperationToken(t) => Ok(self.dr_operation_token(i, t)),
            Step::Write(w) => self.write(i, w, spec.settle),
            Step::Delete(d) => self.delete(i, d, spec.settle),
            Step::Mount(m) => self.mount(i, m, spec.settle),
            Step::Read(r) => self.read(i, r),
            Step::Advance(a) => Ok(self.advance(a)),
            Step::Partition(p) => Ok(self.partition(p)),
            Step::Heal(_) => Ok(self.heal()),
            Step::Faults(f) => Ok(self.faults(f)),
            Step::Crash(c) => Ok(self.crash(i, c)),
            Step::Link(l) => self.link(l),
            Step::Tick(t) => Ok(self.tick(t)),
            Step::Restart(r) => self.restart(r),
            Step::CorruptMerkle(c) => Ok(self.corrupt_merkle(c)),
            Step::ExpectStatus(e) => self.expect_status(i, e),
            Step::ExpectSameData(e) => Ok(self.expect_same_data(i, e)),
            Step::ExpectLosses(e) => Ok(self.expect_losses(i, e)),
            Step::ExpectHazards(e) => Ok(self.expect_hazards(i, e)),
        }
    }

    fn run_step(&mut self, spec: &StepSpec) {
        let modes_before = std::mem::take(&mut self.modes);
        let hazards_before = self.oracles.hazards().len();
        let losses_before = self.oracles.losses.losses().len();
        let violations_before = self.oracles.violations().len();
        let done = self.execute(spec).unwrap_or_else(|e| {
            let message = e.to_string();
            self.fail(spec.index, "the step to run".into(), message.clone());
            Done::new(String::new(), Outcome::CouldNotRun(message))
        });
        if spec.settle {
            self.world.settle();
        }
        // The step is over: what the world observed during it is handed over, and its buffer starts
        // empty for the next step.
        let observations = self.world.take_observations();
        let answers = self.resolve_forwards(spec.index, &observations);
        let calls = std::mem::take(&mut self.calls);
        self.note_revocations(&calls);
        let view = StepView {
            calls: &calls,
            revocations: &self.revocations,
            step: spec.index,
            world: &self.world,
            observations: &observations,
            modes_before: &modes_before,
        };
        self.oracles.after_step(&view);
        self.settle_in_flight();
        self.world.livelock = false;

        let modes_after = oracle::Modes::of(&self.world);
        let mut changes: Vec<String> = modes_before
            .changes(&modes_after, &self.world)
            .map(|(cluster, kind, before, after)| format!("{cluster}.{kind} {before}->{after}"))
            .collect();
        self.modes = modes_after;
        changes.extend(observations.iter().filter_map(event_change));
        changes.extend(answers);
        let step = spec.index;
        let keep = self.keep_timeline;
        if keep {
            self.timeline.frame(step, &self.world);
            for o in &observations {
                if let Some(mark) = event_mark(o, &self.world) {
                    self.timeline.mark(step, mark);
                }
            }
        }
        for l in &self.oracles.losses.losses()[losses_before..] {
            changes.push(format!("lost {}={:?} ({})", l.path, l.value, l.cause));
            if !keep {
                continue;
            }
            self.timeline.mark(
                step,
                Mark::Loss {
                    path: l.path.clone(),
                    value: l.value.clone(),
                    cause: l.cause.clone(),
                },
            );
        }
        for h in &self.oracles.hazards()[hazards_before..] {
            changes.push(format!(
                "hazard {} ({}: {})",
                h.kind,
                h.replication,
                h.clusters.join(",")
            ));
            if !keep {
                continue;
            }
            self.timeline.mark(
                step,
                Mark::Hazard {
                    hazard: h.kind.clone(),
                    kind: h.replication,
                    clusters: h.clusters.clone(),
                },
            );
        }
        for v in &self.oracles.violations()[violations_before..] {
            changes.push(format!("VIOLATION {}", v.rule()));
        }
        self.mark_violations(step, violations_before);
        let line = StepLine {
            step: spec.index,
            verb: spec.step.verb().to_string(),
            target: done.target,
            outcome: done.outcome.to_string(),
            changes,
            note: spec.note.clone(),
        };
        std::hash::Hash::hash(&line, &mut self.lines_digest);
        self.last_step = spec.index;
        if self.keep_lines {
            self.lines.push(line);
        }
    }

    /// Marks the violations found since the first `before` at `step`.
    fn mark_violations(&mut self, step: usize, before: usize) {
        if !self.keep_timeline {
            return;
        }
        for v in &self.oracles.violations()[before..] {
            self.timeline.mark(
                step,
                Mark::Violation {
                    rule: v.rule().to_string(),
                    text: v.describe(),
                },
            );
        }
    }

    /// Revocations the operator made this step, with the primary's run at the time.
    fn note_revocations(&mut self, calls: &[CallRecord]) {
        for c in calls {
            let Some(Request::RevokeSecondary { kind, id }) = c.succeeded() else {
                continue;
            };
            let run = self
                .world
                .cluster(&c.cluster)
                .and_then(|x| x.inspect(*kind).primary().map(|p| p.run().to_string()));
            if let Some(run) = run {
                self.revocations.insert(Revocation {
                    primary: c.cluster.clone(),
                    kind: *kind,
                    run,
                    id: id.trim().to_string(),
                });
            }
        }
    }
}

/// The timeline's mark for an activation or a wipe among a step's observations.
fn event_mark(o: &Observation, world: &World) -> Option<Mark> {
    let Observation::Event { cluster, event } = o else {
        return None;
    };
    let cluster = cluster.clone();
    Some(match event {
        Event::Wiped { kind, entries } => Mark::Wipe {
            cluster,
            kind: *kind,
            entries: *entries,
        },
        Event::Activation {
            kind,
            update,
            result: Ok(()),
        } => Mark::Activation {
            primary: crate::topology::following(world, &cluster, *kind),
            cluster,
            kind: *kind,
            update: *update,
        },
        Event::Activation {
            kind,
            update,
            result: Err(reason),
        } => Mark::Refused {
            cluster,
            kind: *kind,
            update: *update,
            reason: reason.to_string(),
        },
        _ => return None,
    })
}

/// The report's words for a wipe or a refused activation among a step's observations.
fn event_change(o: &Observation) -> Option<String> {
    let Observation::Event { cluster, event } = o else {
        return None;
    };
    match event {
        Event::Wiped { kind, entries } => Some(format!(
            "{cluster} wiped by {kind} enable ({entries} {})",
            if *entries == 1 { "entry" } else { "entries" }
        )),
        Event::Activation {
            kind,
            result: Err(reason),
            update,
        } => Some(format!(
            "{cluster}.{kind} {} refused: {}",
            if *update {
                "update-primary"
            } else {
                "activation"
            },
            short_reason(&reason.to_string())
        )),
        _ => None,
    }
}
