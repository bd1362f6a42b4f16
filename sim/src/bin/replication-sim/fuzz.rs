//! `replication-sim fuzz`: a campaign of generated runs; the first failure is shrunk and written as a
//! scenario file (and, with `--html`, as the page `run --html` would make of it).

use crate::output::{self, Output};
use crate::progress;
use replication_core::Bug;
use replication_sim::fuzz::summary::{self, Campaign, RunSummary};
use replication_sim::fuzz::{self, parallel, Keep, Outcome, RunParams};
use replication_sim::report::html;
use replication_sim::run_file_with;
use std::collections::BTreeSet;
use std::io::Write as _;
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
    /// `--shard K/N`.
    pub shard: Option<(u64, u64)>,
    /// `--summary FILE`.
    pub summary: Option<PathBuf>,
}

impl FuzzArgs {
    fn bug_flag(&self) -> String {
        self.bug
            .as_ref()
            .map(|b| format!(" --inject-bug {b}"))
            .unwrap_or_default()
    }
}

/// One run, done: its report line, its summary, and its outcome when it failed (shrinking needs it).
struct Done {
    params: RunParams,
    line: String,
    summary: RunSummary,
    events: u64,
    failed: Option<Outcome>,
    /// The run gave two different results (only with `--check-determinism`).
    nondeterministic: bool,
}

/// Runs run `run` of the campaign (twice with `--check-determinism`).
fn one_run(a: &FuzzArgs, run: u64) -> Done {
    let params = RunParams::derive(a.seed, run, a.clusters);
    // Compact: a run's memory does not grow with its length; a failing run is run again in full
    // for shrinking.
    let outcome = fuzz::run_generated_keeping(&params, a.steps, &a.bugs, Keep::Verdict);
    let fp = fuzz::fingerprint(&outcome);
    let events = outcome.events;
    let summary = RunSummary {
        campaign: Campaign {
            seed: a.seed,
            first_run: a.first_run,
            runs: a.runs,
            chaos_steps: a.steps,
            clusters: a.clusters,
            bug: a.bug.clone(),
        },
        run,
        steps: outcome.steps_run,
        events,
        log: fp.clone(),
        passed: outcome.failure().is_none(),
        failure: outcome.failure().map(|_| outcome.failure_text()),
    };
    if a.check_determinism {
        let again = fuzz::run_generated_keeping(&params, a.steps, &a.bugs, Keep::Verdict);
        let fp2 = fuzz::fingerprint(&again);
        if fp != fp2 || again.steps_run != outcome.steps_run || again.events != outcome.events {
            return Done {
                line: format!(
                    "{}  NONDETERMINISTIC: log {fp} then {fp2}, {} then {} events",
                    params.line(),
                    outcome.events,
                    again.events
                ),
                params,
                summary: RunSummary {
                    passed: false,
                    failure: Some("nondeterministic".into()),
                    ..summary
                },
                events,
                failed: None,
                nondeterministic: true,
            };
        }
    }
    if outcome.failure().is_some() {
        return Done {
            line: format!("{}  FAIL  {}", params.line(), outcome.failure_text()),
            failed: Some(fuzz::run_generated_keeping(
                &params,
                a.steps,
                &a.bugs,
                Keep::Steps,
            )),
            params,
            summary,
            events,
            nondeterministic: false,
        };
    }
    Done {
        line: format!(
            "{}  ok    steps {:>4}  events {:>6}  log {fp}",
            params.line(),
            outcome.steps_run,
            outcome.events
        ),
        params,
        summary,
        events,
        failed: None,
        nondeterministic: false,
    }
}

pub fn campaign(a: FuzzArgs) -> ExitCode {
    let mut summary = match &a.summary {
        Some(path) => match std::fs::File::create(path) {
            // Unbuffered: a shard killed mid-way keeps every line it finished.
            Ok(f) => Some((path, f)),
            Err(e) => {
                eprintln!("error: cannot open {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let mut o = Output::stdout();
    let last = a.first_run + (a.runs - 1);
    let (k, n) = a.shard.unwrap_or((1, 1));
    // Shard k of n: the runs whose offset from the first run is k-1 modulo n.
    let shard_runs = a.runs / n + u64::from(a.runs % n >= k);
    let runs = (0..shard_runs).map(move |i| a.first_run + (k - 1) + i * n);
    o.line(format_args!(
        "fuzz seed {} runs {}..{last} steps {}{}{}{}",
        a.seed,
        a.first_run,
        a.steps,
        a.clusters
            .map(|c| format!(" clusters {c}"))
            .unwrap_or_default(),
        a.bug_flag(),
        a.shard
            .map(|(k, n)| format!(" shard {k}/{n} ({shard_runs} runs)"))
            .unwrap_or_default()
    ));
    let mut summary_error = None;
    let started = std::time::Instant::now();
    let mut events = 0u64;
    let mut code = 0;
    let bar = progress::bar(shard_runs, "runs");
    parallel::in_order(
        runs,
        a.jobs,
        |run| one_run(&a, *run),
        |done| done.failed.is_some() || done.nondeterministic,
        |run, done| {
            events += done.events;
            if let Some((path, file)) = &mut summary {
                let line = serde_json::to_string(&done.summary).unwrap_or_default();
                if let Err(e) = writeln!(file, "{line}") {
                    summary_error = Some(format!("cannot write {}: {e}", path.display()));
                    return false;
                }
            }
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
                match &bar {
                    Some(bar) => bar.suspend(|| o.line(&done.line)),
                    None => o.line(&done.line),
                }
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
    if let Some(e) = summary_error {
        eprintln!("error: {e}");
        return output::exit_code(o.finish(), 2);
    }
    if code == 0 {
        o.line(format_args!("all {shard_runs} runs passed"));
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

/// `fuzz --merge FILE...`: the campaign's totals from the shards' summaries.
pub fn merge(files: &[PathBuf]) -> ExitCode {
    let mut texts = vec![];
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(t) => texts.push((f.display().to_string(), t)),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", f.display());
                return ExitCode::from(2);
            }
        }
    }
    match summary::merge(texts.iter().map(|(n, t)| (n.as_str(), t.as_str()))) {
        Ok(merged) => {
            let mut o = Output::stdout();
            o.line(&merged);
            let code = u8::from(merged.failure().is_some());
            output::exit_code(o.finish(), code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// A failed run: how to replay it, then its shrunk reproducer written as a scenario file.
fn reproduce(a: &FuzzArgs, o: &mut Output, run: u64, params: &RunParams, outcome: &Outcome) {
    let Some(rule) = outcome.failure() else {
        return;
    };
    let bug_flag = a.bug_flag();
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
