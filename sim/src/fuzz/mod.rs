//! The seeded swarm fuzzer: random topologies, operator calls, client traffic and faults, every oracle
//! after every step, and any failure shrunk to a minimal scenario file that `replication-sim run`
//! fails on in the same way.
//!
//! Every parameter of a run is derived from the campaign seed and the run number and printed first,
//! so `--seed S --runs 1 --first-run R` (the printed reproduce command) replays run `R` exactly.

pub mod event;
pub mod strategy;

use crate::report::Report;
use crate::runner::Runner;
use crate::scenario::{parse_value, Scenario, StepParser};
use event::{FuzzEvent, GenState, KEYS, MOUNTS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replication_core::bugs::Bug;
use serde_json::{json, Value};
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

    /// The scenario header (topology and settings) without steps.
    pub fn header(&self) -> Value {
        let clusters: serde_json::Map<String, Value> = (0..self.clusters)
            .map(|i| (((b'A' + i as u8) as char).to_string(), json!({})))
            .collect();
        json!({
            "name": format!("fuzz-run-{}", self.run),
            "seed": self.seed,
            "clusters": clusters,
            "mounts": MOUNTS.iter().map(|(p, l)| json!({"path": p, "local": l})).collect::<Vec<_>>(),
            "config": {"heartbeat_interval": format!("{}s", self.heartbeat_secs), "log_shipper_buffer": self.buffer},
            "steps": []
        })
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
    /// The concrete steps run (chaos then heal).
    pub steps: Vec<Value>,
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

    /// The run as a scenario file.
    pub fn scenario(&self, params: &RunParams, description: &str) -> Value {
        let mut v = params.header();
        v["description"] = json!(description);
        v["steps"] = json!(self.steps);
        v
    }
}

fn empty_scenario(params: &RunParams) -> Scenario {
    // The header is built by this module and always parses.
    parse_value(&params.header(), None).expect("fuzz header is a valid scenario")
}

/// Runs a fresh event stream of `steps` chaos events, then the heal phase.
pub fn run_generated(params: &RunParams, steps: usize, bugs: &BTreeSet<Bug>) -> Outcome {
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed ^ 0x5eed);
    let scenario = empty_scenario(params);
    let mut runner = Runner::with_bugs(&scenario, bugs.clone());
    let mut parser = StepParser::new(&scenario);
    let mut state = GenState::default();
    let mut done = vec![];
    let mut produced = 0;
    while produced < steps && !runner.failed() {
        let event = params.draw(&mut rng);
        let Some(v) = state.materialize(&event, &runner.world) else {
            continue;
        };
        produced += 1;
        let Ok(spec) = parser.parse(&v) else {
            continue;
        };
        runner.step(&spec);
        done.push(v);
    }
    finish(params, runner, parser, state, done)
}

fn finish(
    params: &RunParams,
    mut runner: Runner<'_>,
    mut parser: StepParser,
    mut state: GenState,
    mut done: Vec<Value>,
) -> Outcome {
    let chaos = done.len();
    if !runner.failed() {
        let settle = format!("{}s", params.heartbeat_secs * 12);
        for v in state.heal_steps(&runner.world, &settle) {
            if let Ok(spec) = parser.parse(&v) {
                runner.step(&spec);
                done.push(v);
            }
        }
    }
    let inputs = runner.world.inputs();
    let report = runner.finish(None);
    Outcome {
        events: inputs,
        steps: done,
        chaos,
        report,
    }
}

/// Replays concrete chaos steps (a candidate during shrinking), then the heal phase.
pub fn run_steps(params: &RunParams, steps: &[Value], bugs: &BTreeSet<Bug>) -> Option<Outcome> {
    let scenario = empty_scenario(params);
    let mut runner = Runner::with_bugs(&scenario, bugs.clone());
    let mut parser = StepParser::new(&scenario);
    let mut done = vec![];
    for v in steps {
        let spec = parser.parse(v).ok()?;
        runner.step(&spec);
        done.push(v.clone());
        if runner.failed() {
            break;
        }
    }
    Some(finish(params, runner, parser, GenState::default(), done))
}

/// Shrinks failing chaos steps to a minimal list that still fails with the same rule (delta
/// debugging: remove chunks, halving the chunk size down to single steps). `budget` bounds the
/// number of candidate runs.
pub fn shrink(
    params: &RunParams,
    steps: Vec<Value>,
    rule: &str,
    bugs: &BTreeSet<Bug>,
    budget: usize,
) -> Vec<Value> {
    let fails = |cand: &[Value]| {
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

/// A stable 64-bit digest of a run's event log (its steps and its report), for determinism checks.
pub fn fingerprint(o: &Outcome) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for s in &o.steps {
        h.update(s.to_string().as_bytes());
    }
    h.update(o.report.render_text().as_bytes());
    crate::hex16(&h.finalize()[..8])
}
