//! `replication-sim`: run replication scenarios and fuzz the model.

/// The simulator allocates many small, short-lived values (messages, JSON bodies, report lines);
/// mimalloc runs the fuzzer about 15% faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use replication_core::Bug;
use replication_sim::fuzz::{self, RunParams};
use replication_sim::{run_file_with, scenario_files};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "replication-sim",
    version,
    about = "Simulate Vault Enterprise replication runbooks and fuzz the model"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenario files (a folder runs every *.json in it). Exit 0: all passed; 1: an expectation
    /// or invariant failed; 2: a file is unusable.
    Run {
        /// Scenario files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print a JSON report (a JSON array, one object per scenario).
        #[arg(long)]
        json: bool,
        /// Write the final topology of the (last) scenario as Graphviz DOT to this file.
        #[arg(long, value_name = "FILE")]
        dot: Option<PathBuf>,
        /// Make every cluster exhibit this deliberate bug (builds with --features inject-bugs).
        #[arg(long, value_name = "NAME")]
        inject_bug: Option<String>,
    },
    /// Random runs: operator calls, client traffic and faults on random topologies, every oracle
    /// after every step, then a heal phase. A failure is shrunk and written as a scenario file.
    Fuzz {
        /// Campaign seed: every run's parameters derive from it and the run number.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of runs.
        #[arg(long, default_value_t = 100)]
        runs: u64,
        /// Chaos events per run (before the heal phase).
        #[arg(long, default_value_t = 300)]
        steps: usize,
        /// Fix the number of clusters (2-6) instead of drawing it.
        #[arg(long)]
        clusters: Option<usize>,
        /// Number of the first run (to replay one run of a campaign).
        #[arg(long, default_value_t = 1)]
        first_run: u64,
        /// Run each run twice and compare them: steps, event count and event-log fingerprint.
        #[arg(long)]
        check_determinism: bool,
        /// Make every cluster exhibit this deliberate bug (builds with --features inject-bugs).
        #[arg(long, value_name = "NAME")]
        inject_bug: Option<String>,
        /// Folder for reproducer scenario files.
        #[arg(long, default_value = "fuzz-failures")]
        out: PathBuf,
        /// Candidate runs the shrinker may spend.
        #[arg(long, default_value_t = 400)]
        shrink_budget: usize,
        /// Print events per second (wall clock) to stderr.
        #[arg(long)]
        stats: bool,
    },
}

fn bugs(name: &Option<String>) -> Result<BTreeSet<Bug>, String> {
    let Some(name) = name else {
        return Ok(BTreeSet::new());
    };
    let bug = Bug::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
        format!("unknown bug {name:?}; known bugs: {}", names.join(", "))
    })?;
    if !replication_core::BUGS_COMPILED_IN {
        return Err(
            "this build cannot inject bugs; build it with: cargo run -p replication-sim --features inject-bugs -- ..."
                .into(),
        );
    }
    Ok(BTreeSet::from([bug]))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            paths,
            json,
            dot,
            inject_bug,
        } => match bugs(&inject_bug) {
            Ok(b) => run(&paths, json, dot, &b),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Fuzz {
            seed,
            runs,
            steps,
            clusters,
            first_run,
            check_determinism,
            inject_bug,
            out,
            shrink_budget,
            stats,
        } => match bugs(&inject_bug) {
            Ok(b) => fuzz_campaign(FuzzArgs {
                seed,
                runs,
                steps,
                clusters,
                first_run,
                check_determinism,
                bug: inject_bug,
                bugs: b,
                out,
                shrink_budget,
                stats,
            }),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn run(paths: &[PathBuf], json: bool, dot: Option<PathBuf>, bugs: &BTreeSet<Bug>) -> ExitCode {
    let files = match scenario_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Output errors (a closed pipe: `run ... | head`) end the output, not the run: the exit code still
    // says whether the scenarios passed.
    let mut out = std::io::stdout().lock();
    let mut worst = 0u8;
    let mut reports = vec![];
    let mut last_dot = None;
    for f in &files {
        match run_file_with(f, bugs) {
            Ok(report) => {
                if !report.passed() {
                    worst = worst.max(1);
                }
                if json {
                    reports.push(report.to_json());
                } else {
                    let _ = writeln!(out, "{}", report.render_text());
                }
                last_dot = Some(report.dot.clone());
            }
            Err(e) => {
                eprintln!("error: {e}");
                worst = 2;
            }
        }
    }
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&reports).unwrap_or_else(|_| "[]".into())
        );
    } else if files.len() > 1 {
        let _ = writeln!(out, "{} scenario(s) run; exit {worst}", files.len());
    }
    if let (Some(path), Some(d)) = (dot, last_dot) {
        if let Err(e) = std::fs::write(&path, d) {
            eprintln!("error: cannot write {}: {e}", path.display());
            worst = 2;
        }
    }
    ExitCode::from(worst)
}

struct FuzzArgs {
    seed: u64,
    runs: u64,
    steps: usize,
    clusters: Option<usize>,
    first_run: u64,
    check_determinism: bool,
    bug: Option<String>,
    bugs: BTreeSet<Bug>,
    out: PathBuf,
    shrink_budget: usize,
    stats: bool,
}

fn fuzz_campaign(a: FuzzArgs) -> ExitCode {
    let stdout = std::io::stdout();
    let mut o = stdout.lock();
    let bug_flag = a
        .bug
        .as_ref()
        .map(|b| format!(" --inject-bug {b}"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "fuzz seed {} runs {}..{} steps {}{}{}",
        a.seed,
        a.first_run,
        a.first_run + a.runs.saturating_sub(1),
        a.steps,
        a.clusters
            .map(|c| format!(" clusters {c}"))
            .unwrap_or_default(),
        bug_flag
    );
    let started = std::time::Instant::now();
    let mut events = 0u64;
    for run in a.first_run..a.first_run + a.runs {
        let params = RunParams::derive(a.seed, run, a.clusters);
        let outcome = fuzz::run_generated(&params, a.steps, &a.bugs);
        events += outcome.events;
        let fp = fuzz::fingerprint(&outcome);
        if a.check_determinism {
            let again = fuzz::run_generated(&params, a.steps, &a.bugs);
            let fp2 = fuzz::fingerprint(&again);
            if fp != fp2 || again.steps != outcome.steps || again.events != outcome.events {
                let _ = writeln!(
                    o,
                    "{}  NONDETERMINISTIC: log {fp} then {fp2}, {} then {} events",
                    params.line(),
                    outcome.events,
                    again.events
                );
                return ExitCode::from(1);
            }
        }
        let Some(rule) = outcome.failure() else {
            let _ = writeln!(
                o,
                "{}  ok    steps {:>4}  events {:>6}  log {fp}",
                params.line(),
                outcome.steps.len(),
                outcome.events
            );
            continue;
        };
        let _ = writeln!(o, "{}  FAIL  {}", params.line(), outcome.failure_text());
        let _ = writeln!(
            o,
            "  reproduce: replication-sim fuzz --seed {} --first-run {run} --runs 1 --steps {}{}{}",
            a.seed,
            a.steps,
            a.clusters
                .map(|c| format!(" --clusters {c}"))
                .unwrap_or_default(),
            bug_flag
        );
        let chaos = outcome.steps[..outcome.chaos].to_vec();
        let shrunk = fuzz::shrink(&params, chaos.clone(), &rule, &a.bugs, a.shrink_budget);
        let Some(min) = fuzz::run_steps(&params, &shrunk, &a.bugs) else {
            let _ = writeln!(o, "  shrinking failed to replay");
            return ExitCode::from(1);
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
        let scenario = min.scenario(&params, &description);
        let written = std::fs::create_dir_all(&a.out).and_then(|_| {
            std::fs::write(
                &file,
                serde_json::to_string_pretty(&scenario.to_json()).unwrap_or_default() + "\n",
            )
        });
        let _ = writeln!(
            o,
            "  shrunk {} -> {} chaos steps ({rule})",
            chaos.len(),
            shrunk.len()
        );
        match written {
            Ok(()) => {
                let _ = writeln!(
                    o,
                    "  wrote {}; replay: replication-sim run {}{}",
                    file.display(),
                    file.display(),
                    bug_flag
                );
            }
            Err(e) => {
                let _ = writeln!(o, "  could not write {}: {e}", file.display());
            }
        }
        if a.stats {
            eprintln!("events {events}");
        }
        return ExitCode::from(1);
    }
    let _ = writeln!(o, "all {} runs passed", a.runs);
    if a.stats {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        eprintln!(
            "stats: {events} simulated events in {secs:.2}s = {:.0} events/s (cluster inputs: requests, client operations, messages, ticks; all oracles on)",
            events as f64 / secs
        );
    }
    ExitCode::SUCCESS
}
