//! The seeded swarm fuzzer: random topologies, operator calls, client traffic and faults, every oracle
//! after every step, and any failure shrunk to a minimal scenario file that `replication-sim run`
//! fails on in the same way.
//!
//! Every parameter of a run is derived from the campaign seed and the run number and printed first,
//! so `--seed S --runs 1 --first-run R` (the printed reproduce command) replays run `R` exactly.

pub mod event;
pub mod parallel;
pub mod strategy;
pub mod summary;

use crate::oracle::Oracles;
use crate::report::Report;
use crate::runner::Runner;
use crate::scenario::{parse_value, Config, MountSpec, Scenario, Step, StepSpec};
use crate::world::World;
use event::{FuzzEvent, GenState, KEYS, MOUNTS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replication_core::Bug;
use replication_core::Duration;
use std::collections::BTreeSet;

/// Everything a run is made of, derived from (campaign seed, run number).
#[derive(Clone, Debug, PartialEq)]
pub struct RunParams {
    /// Run number (1-based).
    pub run: u64,
    /// Seed of the run's world and event stream.
    pub seed: u64,
    /// Number of clusters (2-6).
    pub clusters: usize,
    /// Weight of performance operations among operator events, in percent.
    pub performance_pct: u8,
    /// Fault mix: 0 none, 1 light, 2 heavy (partitions, crashes, message faults, corruption).
    pub fault_mix: u8,
    /// Client writes per 100 events.
    pub write_rate: u8,
    /// Log-shipper buffer length.
    pub buffer: usize,
    /// Heartbeat interval in seconds.
    pub heartbeat_secs: u64,
}

impl RunParams {
    /// The parameters of run `run` of campaign `seed` (`clusters` overrides the drawn topology size).
    pub fn derive(seed: u64, run: u64, clusters: Option<usize>) -> RunParams {
        let mut rng = ChaCha8Rng::seed_from_u64(
            seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ run.wrapping_mul(0xbf58_476d_1ce4_e5b9),
        );
        RunParams {
            run,
            seed: rng.random(),
            clusters: clusters
                .unwrap_or_else(|| rng.random_range(2..=6))
                .clamp(2, 6),
            performance_pct: [0, 30, 50, 70, 100][rng.random_range(0..5)],
            fault_mix: rng.random_range(0..3),
            write_rate: rng.random_range(20..60),
            buffer: [2, 4, 16, 64][rng.random_range(0..4)],
            heartbeat_secs: [1, 5, 10][rng.random_range(0..3)],
        }
    }

    /// One fixed-width line describing the run.
    pub fn line(&self) -> String {
        format!(
            "run {:>4}  seed {:#018x}  clusters {}  perf {:>3}%  faults {}  writes {:>2}%  buffer {:>3}  heartbeat {:>2}s",
            self.run,
            self.seed,
            self.clusters,
            self.performance_pct,
            ["none ", "light", "heavy"][self.fault_mix as usize % 3],
            self.write_rate,
            self.buffer,
            self.heartbeat_secs
        )
    }

    /// The run's scenario header (topology and settings) without steps.
    pub fn scenario(&self) -> Scenario {
        Scenario {
            name: format!("fuzz-run-{}", self.run),
            description: None,
            seed: self.seed,
            clusters: (0..self.clusters)
                .map(|i| (((b'A' + i as u8) as char).to_string(), Default::default()))
                .collect(),
            mounts: MOUNTS
                .iter()
                .map(|(path, local)| MountSpec {
                    path: path.to_string(),
                    local: *local,
                })
                .collect(),
            config: Config {
                heartbeat_interval: Duration::from_secs(self.heartbeat_secs),
                log_shipper_buffer: self.buffer,
                forwarding_timeout: None,
                entropy: Default::default(),
            },
            steps: vec![],
        }
    }

    /// Draws the next abstract event.
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> FuzzEvent {
        let c = |rng: &mut ChaCha8Rng| rng.random_range(0..self.clusters as u8);
        let roll = rng.random_range(0..100u32);
        let w = self.write_rate as u32;
        let faults = [0, 4, 10][self.fault_mix as usize % 3];
        if roll < w {
            return FuzzEvent::Write {
                cluster: c(rng),
                mount: rng.random_range(0..MOUNTS.len() as u8),
                key: rng.random_range(0..KEYS),
            };
        }
        let roll = rng.random_range(0..100u32);
        if roll < faults {
            return match rng.random_range(0..10) {
                0..=2 => FuzzEvent::Partition { mask: rng.random() },
                3..=4 => FuzzEvent::Heal,
                5 => FuzzEvent::Crash { cluster: c(rng) },
                6..=7 => FuzzEvent::Restart { cluster: c(rng) },
                8 => FuzzEvent::Corrupt { cluster: c(rng) },
                _ => FuzzEvent::Faults {
                    level: rng.random_range(0..4),
                },
            };
        }
        match rng.random_range(0..100u32) {
            0..=44 => FuzzEvent::Operator {
                cluster: c(rng),
                performance: rng.random_range(0..100) < self.performance_pct as u32,
                choice: rng.random(),
                flag: rng.random_range(0..4) == 0,
            },
            45..=69 => FuzzEvent::Advance {
                millis: rng.random_range(200..(self.heartbeat_secs as u32 * 4000)),
            },
            70..=77 => FuzzEvent::Read {
                cluster: c(rng),
                mount: rng.random_range(0..MOUNTS.len() as u8),
                key: rng.random_range(0..KEYS),
            },
            78..=87 => FuzzEvent::Delete {
                cluster: c(rng),
                mount: rng.random_range(0..MOUNTS.len() as u8),
                key: rng.random_range(0..KEYS),
            },
            88..=90 => FuzzEvent::Mount {
                cluster: c(rng),
                local: rng.random(),
            },
            _ => FuzzEvent::Garbage {
                cluster: c(rng),
                choice: rng.random(),
            },
        }
    }
}

/// Result of running a list of steps.
pub struct Outcome {
    /// The concrete steps run (chaos then heal), numbered from 1 (empty for a compact run).
    pub steps: Vec<StepSpec>,
    /// How many steps ran (chaos and heal), kept or not.
    pub steps_run: usize,
    /// How many of them are chaos steps.
    pub chaos: usize,
    /// The report.
    pub report: Report,
    /// Simulated events: inputs the clusters processed (requests, client operations, messages,
    /// ticks), the convergence check's copy of the world excluded.
    pub events: u64,
}

impl Outcome {
    /// The rule that failed first (violation rule, or `expectation`), if any.
    pub fn failure(&self) -> Option<String> {
        if let Some(v) = self.report.violations.first() {
            return Some(v.rule().to_string());
        }
        self.report.failures.first().map(|_| "expectation".into())
    }

    /// A one-line description of the first failure.
    pub fn failure_text(&self) -> String {
        if let Some(v) = self.report.violations.first() {
            return v.describe();
        }
        self.report
            .failures
            .first()
            .map(|f| format!("step {}: expected {}; got {}", f.step, f.expected, f.actual))
            .unwrap_or_default()
    }

    /// The run as a scenario (write it with [`Scenario::to_json`]); it has no steps when the run kept
    /// none ([`Keep::Verdict`]).
    pub fn scenario(&self, params: &RunParams, description: &str) -> Scenario {
        Scenario {
            description: Some(description.to_string()),
            steps: self.steps.clone(),
            ..params.scenario()
        }
    }
}

/// What a run keeps besides its verdict, events, step count and digest (which every run has).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The concrete steps and the report's step lines: a run someone reads or replays.
    Everything,
    /// The concrete steps only: what shrinking needs.
    Steps,
    /// Neither: a campaign's run, whose memory does not grow with its length.
    Verdict,
}

/// One run in progress: abstract events become concrete steps against the world as it is now, each run
/// and checked by every oracle at once; [`Driver::finish`] adds the heal phase.
pub struct Driver {
    params: RunParams,
    runner: Runner,
    state: GenState,
    steps: Vec<StepSpec>,
    /// What the run keeps besides its verdict.
    keep: Keep,
    /// Steps run so far.
    count: usize,
}

impl Driver {
    /// A fresh world for `params`, whose clusters exhibit `bugs`.
    pub fn new(params: &RunParams, bugs: &BTreeSet<Bug>) -> Driver {
        Driver {
            params: params.clone(),
            runner: Runner::with_bugs(&params.scenario(), bugs.clone()),
            state: GenState::default(),
            steps: vec![],
            keep: Keep::Everything,
            count: 0,
        }
    }

    /// A driver that keeps only what `keep` says besides the verdict: with [`Keep::Verdict`] a
    /// run's memory does not grow with its length.
    pub fn keeping(params: &RunParams, bugs: &BTreeSet<Bug>, keep: Keep) -> Driver {
        let mut d = Driver::new(params, bugs);
        d.keep = keep;
        d.runner.keep_lines(keep == Keep::Everything);
        d
    }

    /// Materializes `event` against the world and runs it. False when it does not apply now (a
    /// restart while every cluster runs, ...).
    pub fn event(&mut self, event: &FuzzEvent) -> bool {
        match self.state.materialize(event, self.runner.world()) {
            Some(step) => {
                self.step(step);
                true
            }
            None => false,
        }
    }

    /// Runs one concrete step.
    pub fn step(&mut self, step: Step) {
        self.count += 1;
        let spec = StepSpec::new(self.count, step);
        self.runner.step(&spec);
        if self.keep != Keep::Verdict {
            self.steps.push(spec);
        }
    }

    /// Whether an expectation failed or an invariant broke so far.
    pub fn failed(&self) -> bool {
        self.runner.failed()
    }

    /// The world as the events so far left it: every cluster's state (`world.nodes`), the network, the
    /// clock. Properties look at it between events.
    pub fn world(&self) -> &World {
        self.runner.world()
    }

    /// The oracles' findings so far: losses, hazards, violations.
    pub fn oracles(&self) -> &Oracles {
        self.runner.oracles()
    }

    /// The concrete steps run so far (what the events became), numbered from 1; empty when the
    /// driver keeps only the verdict ([`Keep::Verdict`]).
    pub fn steps(&self) -> &[StepSpec] {
        &self.steps
    }

    /// The heal phase (unless the run already failed), the convergence check and the report.
    pub fn finish(mut self) -> Outcome {
        let chaos = self.count;
        if !self.failed() {
            let settle = Duration::from_secs(self.params.heartbeat_secs * 12);
            for step in self.state.heal_steps(self.runner.world(), settle) {
                self.step(step);
            }
        }
        let events = self.runner.world().inputs();
        Outcome {
            events,
            steps_run: self.count,
            steps: self.steps,
            chaos,
            report: self.runner.finish(None),
        }
    }
}

/// Runs a fresh event stream of `steps` chaos events, then the heal phase.
pub fn run_generated(params: &RunParams, steps: usize, bugs: &BTreeSet<Bug>) -> Outcome {
    generate(Driver::new(params, bugs), params, steps)
}

/// [`run_generated`] keeping only what `keep` says: the same verdict, events, step count and
/// [`fingerprint`], with `Outcome::steps` empty unless steps are kept and `report.steps` empty unless
/// everything is.
pub fn run_generated_keeping(
    params: &RunParams,
    steps: usize,
    bugs: &BTreeSet<Bug>,
    keep: Keep,
) -> Outcome {
    generate(Driver::keeping(params, bugs, keep), params, steps)
}

fn generate(mut driver: Driver, params: &RunParams, steps: usize) -> Outcome {
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x5eed);
    let mut produced = 0;
    while produced < steps && !driver.failed() {
        if driver.event(&params.draw(&mut rng)) {
            produced += 1;
        }
    }
    driver.finish()
}

/// Replays concrete chaos steps (a candidate during shrinking), then the heal phase. `None` when the
/// steps do not make a valid scenario file (a candidate that dropped the step saving a variable a later
/// step uses).
pub fn run_steps(params: &RunParams, steps: &[StepSpec], bugs: &BTreeSet<Bug>) -> Option<Outcome> {
    let candidate = Scenario {
        steps: steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepSpec {
                index: i + 1,
                ..s.clone()
            })
            .collect(),
        ..params.scenario()
    };
    let valid = parse_value(&candidate.to_json(), None).ok()?;
    let mut driver = Driver::new(params, bugs);
    for spec in valid.steps {
        driver.step(spec.step);
        if driver.failed() {
            break;
        }
    }
    Some(driver.finish())
}

/// Shrinks failing chaos steps to a minimal list that still fails with the same rule (delta
/// debugging: remove chunks, halving the chunk size down to single steps). `budget` bounds the
/// number of candidate runs.
pub fn shrink(
    params: &RunParams,
    steps: Vec<StepSpec>,
    rule: &str,
    bugs: &BTreeSet<Bug>,
    budget: usize,
) -> Vec<StepSpec> {
    let fails = |cand: &[StepSpec]| {
        run_steps(params, cand, bugs)
            .and_then(|o| o.failure())
            .is_some_and(|r| r == rule)
    };
    let mut cur = steps;
    let mut tries = 0;
    let mut chunk = cur.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        let mut progressed = false;
        while i < cur.len() && tries < budget {
            let end = (i + chunk).min(cur.len());
            let mut cand = cur[..i].to_vec();
            cand.extend_from_slice(&cur[end..]);
            tries += 1;
            if fails(&cand) {
                cur = cand;
                progressed = true;
            } else {
                i += chunk;
            }
        }
        if tries >= budget || (chunk == 1 && !progressed) {
            break;
        }
        if !progressed {
            chunk = (chunk / 2).max(1);
        }
    }
    cur
}

/// A 64-bit digest of a run's event log: its report (the digest of its line for every step: verb,
/// target, outcome and what changed; the final status of every cluster; every loss, hazard and
/// violation; the timeline). The same whatever the run kept ([`Keep`]); stable for one build of the
/// simulator. `--check-determinism` compares this digest, the step count and the event count of
/// two runs.
pub fn fingerprint(o: &Outcome) -> String {
    let r = &o.report;
    // Every field of the report but the step lines themselves, which are in `lines_digest` (a
    // compact run does not keep them).
    let digest = crate::digest::of(&(
        (&r.name, &r.file, &r.description, r.seed),
        (&r.clusters, &r.losses, &r.by_cause, r.unknown_writes),
        (&r.hazards, &r.violations, &r.convergence, &r.failures),
        (r.expectations, &r.net, &r.timeline, r.lines_digest),
    ));
    crate::hex16(&digest.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loss ledger judges only what each step changed (`Ready::changed`); judging every live
    /// write on every cluster after every step must give the same report, for runs with and
    /// without injected bugs (losses, causes, violations and all).
    #[test]
    fn judging_only_what_changed_agrees_with_rescanning_everything() {
        let bugs: [BTreeSet<Bug>; 3] = [
            BTreeSet::new(),
            BTreeSet::from([Bug::EnableSkipsWipe]),
            BTreeSet::from([Bug::FilterIgnored]),
        ];
        for bugs in &bugs {
            for run in 1..=25 {
                let params = RunParams::derive(7, run, None);
                let incremental = run_generated(&params, 150, bugs);
                let mut driver = Driver::new(&params, bugs);
                driver.runner.oracles_mut().losses.rescan_everything();
                let rescanned = generate(driver, &params, 150);
                assert_eq!(
                    incremental.report.render_text(),
                    rescanned.report.render_text(),
                    "run {run} with {bugs:?}"
                );
            }
        }
    }
}
