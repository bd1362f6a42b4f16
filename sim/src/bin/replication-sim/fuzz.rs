//! `replication-sim fuzz`: a campaign of generated runs; the first failure is shrunk and written as a
//! scenario file (and, with `--html`, as the page `run --html` would make of it).

use crate::output::{self, Output};
use crate::progress;
use replication_core::Bug;
use replication_sim::fuzz::{self, parallel, Outcome, RunParams};
use replication_sim::report::html;
use replication_sim::run_file_with;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

/// The campaign's settings, as the command line gave them.
pub struct FuzzArgs {
    pub seed: u64,
    pub runs: u64,
    pub steps: usize,
    pub clusters: Option<usize>,
    pub first_run: u64,
    /// Runs at once (1: on the calling thread).
    pub jobs: usize,
    pub check_determinism: bool,
    /// The `--inject-bug` name, repeated in the commands printed for replaying.
    pub bug: Option<String>,
    pub bugs: BTreeSet<Bug>,
    pub out: PathBuf,
    pub html: bool,
    pub shrink_budget: usize,
    pub stats: bool,
}

impl FuzzArgs {
    fn bug_flag(&self) -> String {
        self.bug
            .as_ref()
            .map(|b| format!(" --inject-bug {b}"))
            .unwrap_or_default()
    }
}

/// One run, done: its report line, and its outcome when it failed (shrinking needs it).
struct Done {
    params: RunParams,
    line: String,
    events: u64,
    failed: Option<Outcome>,
    /// The run gave two different results (only with `--check-determinism`).
    nondeterministic: bool,
}

/// Runs run `run` of the campaign (twice with `--check-determinism`).
fn one_run(a: &FuzzArgs, run: u64) -> Done {
    let params = RunParams::derive(a.seed, run, a.clusters);
    let outcome = fuzz::run_generated(&params, a.steps, &a.bugs);
    let fp = fuzz::fingerprint(&outcome);
    let events = outcome.events;
    if a.check_determinism {
        let again = fuzz::run_generated(&params, a.steps, &a.bugs);
        let fp2 = fuzz::fingerprint(&again);
        if fp != fp2 || again.steps != outcome.steps || again.events != outcome.events {
            return Done {
                line: format!(
                    "{}  NONDETERMINISTIC: log {fp} then {fp2}, {} then {} events",
                    params.line(),
                    outcome.events,
                    again.events
                ),
                params,
                events,
                failed: None,
                nondeterministic: true,
            };
        }
    }
    if outcome.failure().is_some() {
        return Done {
            line: format!("{}  FAIL  {}", params.line(), outcome.failure_text()),
            params,
            events,
            failed: Some(outcome),
            nondeterministic: false,
        };
    }
    Done {
        line: format!(
            "{}  ok    steps {:>4}  events {:>6}  log {fp}",
            params.line(),
            outcome.steps.len(),
            outcome.events
        ),
        params,
        events,
        failed: None,
        nondeterministic: false,
    }
}

pub fn campaign(a: FuzzArgs) -> ExitCode {
    let mut o = Output::stdout();
    let last = a.first_run + (a.runs - 1);
    o.line(format_args!(
        "fuzz seed {} runs {}..{last} steps {}{}{}",
        a.seed,
        a.first_run,
        a.steps,
        a.clusters
            .map(|c| format!(" clusters {c}"))
            .unwrap_or_default(),
        a.bug_flag()
    ));
    let started = std::time::Instant::now();
    let mut events = 0u64;
    let mut code = 0;
    let bar = progress::bar(a.runs, "runs");
    parallel::in_order(
        a.first_run..=last,
        a.jobs,
        |run| one_run(&a, *run),
        |run, done| {
            events += done.events;
            if let Some(bar) = &bar {
                bar.inc(1);
                let failures = u8::from(done.failed.is_some() || done.nondeterministic);
                bar.set_message(format!(
                    "{:.0} events/s  failures {failures}",
                    events as f64 / started.elapsed().as_secs_f64().max(1e-9)
                ));
                if failures > 0 {
                    bar.finish_and_clear();
                }
            }
            if done.nondeterministic {
                o.line(&done.line);
                code = 1;
                return false;
            }
            let Some(outcome) = &done.failed else {
                o.line(&done.line);
                return true;
            };
            o.line(&done.line);
            reproduce(&a, &mut o, run, &done.params, outcome);
            if a.stats {
                eprintln!("events {events}");
            }
            code = 1;
            false
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if code == 0 {
        o.line(format_args!("all {} runs passed", a.runs));
        if a.stats {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "stats: {events} simulated events in {secs:.2}s = {:.0} events/s on {} job(s) (cluster inputs: requests, client operations, messages, ticks; all oracles on)",
                events as f64 / secs,
                a.jobs
            );
        }
    }
    output::exit_code(o.finish(), code)
}

/// A failed run: how to replay it, then its shrunk reproducer written as a scenario file.
fn reproduce(a: &FuzzArgs, o: &mut Output, run: u64, params: &RunParams, outcome: &Outcome) {
    let Some(rule) = outcome.failure() else {
        return;
    };
    let bug_flag = a.bug_flag();
    o.line(format_args!(
        "{}  FAIL  {}",
        params.line(),
        outcome.failure_text()
    ));
    o.line(format_args!(
        "  reproduce: replication-sim fuzz --seed {} --first-run {run} --runs 1 --steps {}{}{}",
        a.seed,
        a.steps,
        a.clusters
            .map(|c| format!(" --clusters {c}"))
            .unwrap_or_default(),
        bug_flag
    ));
    let chaos = outcome.steps[..outcome.chaos].to_vec();
    let shrunk = fuzz::shrink(params, chaos.clone(), &rule, &a.bugs, a.shrink_budget);
    let Some(min) = fuzz::run_steps(params, &shrunk, &a.bugs) else {
        o.line("  shrinking failed to replay");
        return;
    };
    let bug_suffix = a.bug.as_ref().map(|b| format!("-{b}")).unwrap_or_default();
    let file = a
        .out
        .join(format!("seed{}-run{run}{bug_suffix}.json", a.seed));
    let description = format!(
        "Found by replication-sim fuzz --seed {} --first-run {run} --runs 1 --steps {}{}: {}. Replay: replication-sim run {}{}",
        a.seed,
        a.steps,
        bug_flag,
        min.failure_text(),
        file.display(),
        bug_flag
    );
    let scenario = min.scenario(params, &description);
    let text = serde_json::to_string_pretty(&scenario.to_json()).unwrap_or_default() + "\n";
    let written = std::fs::create_dir_all(&a.out).and_then(|_| std::fs::write(&file, text));
    o.line(format_args!(
        "  shrunk {} -> {} chaos steps ({rule})",
        chaos.len(),
        shrunk.len()
    ));
    match written {
        Ok(()) => o.line(format_args!(
            "  wrote {}; replay: replication-sim run {}{}",
            file.display(),
            file.display(),
            bug_flag
        )),
        Err(e) => o.line(format_args!("  could not write {}: {e}", file.display())),
    }
    if a.html && file.exists() {
        let page = file.with_extension("html");
        let made = run_file_with(&file, &a.bugs)
            .map_err(|e| e.to_string())
            .and_then(|report| {
                std::fs::write(&page, html::page(&report)).map_err(|e| e.to_string())
            });
        match made {
            Ok(()) => o.line(format_args!("  wrote {}", page.display())),
            Err(e) => o.line(format_args!("  could not write {}: {e}", page.display())),
        }
    }
}
