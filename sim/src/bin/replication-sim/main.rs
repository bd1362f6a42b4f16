//! `replication-sim`: run replication scenarios and fuzz the model.
//!
//! `main.rs` holds the command line; `run.rs`, `fuzz.rs` and `check.rs` the commands; `output.rs` how their
//! reports reach standard output; `progress.rs` the progress bar on a terminal.

mod check;
mod fuzz;
mod output;
mod progress;
mod run;

/// The simulator allocates many small, short-lived values (messages, JSON bodies, report lines);
/// mimalloc runs the fuzzer about 15% faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use replication_core::Bug;
use replication_sim::check::explore::Action;
use std::collections::BTreeSet;
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
        /// Write a self-contained HTML page (timeline picture, topology, step table): with one
        /// scenario to PATH; with several, PATH is a folder of pages with an index.html.
        #[arg(long, value_name = "PATH")]
        html: Option<PathBuf>,
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
        /// Number of runs (at least 1).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
        runs: u64,
        /// Chaos events per run (before the heal phase), 0 to 100000000.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
        steps: u64,
        /// Fix the number of clusters (2 to 6) instead of drawing it.
        #[arg(long, value_parser = clap::value_parser!(u64).range(2..=6))]
        clusters: Option<u64>,
        /// Number of the first run (to replay one run of a campaign), at least 1.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        first_run: u64,
        /// Runs in parallel (default: every core). The output is the same for any number.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
        /// Run each run twice and compare them: steps, event count and event-log fingerprint.
        #[arg(long)]
        check_determinism: bool,
        /// Make every cluster exhibit this deliberate bug (builds with --features inject-bugs).
        #[arg(long, value_name = "NAME")]
        inject_bug: Option<String>,
        /// Folder for reproducer scenario files.
        #[arg(long, default_value = "fuzz-failures")]
        out: PathBuf,
        /// Also write the reproducer's HTML page (as `run --html` makes it) beside its file.
        #[arg(long)]
        html: bool,
        /// Candidate runs the shrinker may spend (0 to 1000000).
        #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
        shrink_budget: u64,
        /// Print events per second (wall clock) to stderr.
        #[arg(long)]
        stats: bool,
        /// Run only shard K of N (1 <= K <= N): the runs whose offset from --first-run is K-1
        /// modulo N. N machines with K = 1..N run the campaign one machine runs.
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<(u64, u64)>,
        /// Write one JSON line per run to this file (give --merge the shards' files, or their
        /// concatenation, for the campaign's totals).
        #[arg(long, value_name = "FILE")]
        summary: Option<PathBuf>,
        /// Merge JSON-lines summaries (of shards) and print the campaign's totals instead of running
        /// anything. Exit 1 when a run failed.
        #[arg(long, value_name = "SUMMARY", num_args = 1.., conflicts_with_all = ["seed", "runs", "steps", "clusters", "first_run", "jobs", "check_determinism", "inject_bug", "out", "html", "shrink_budget", "stats", "shard", "summary"])]
        merge: Vec<PathBuf>,
    },
    /// Check a runbook exhaustively: its steps in order, every delivery order of the messages in
    /// flight, timers firing within its advances, and up to the given faults anywhere; every oracle
    /// after every move, convergence at every end. Writes the shortest execution of each finding as a
    /// scenario file. Exit 0: everything held everywhere; 1: something broke; 2: unusable input;
    /// 3: nothing broke but the search stopped at --max-states or --timeout.
    Check {
        /// The runbook (a scenario file).
        path: PathBuf,
        #[command(flatten)]
        search: SearchArgs,
    },
    /// Model-check the protocol: the checker itself picks up to --depth operator actions from a menu
    /// (on every cluster and kind, whenever legal or instructive), with every delivery order and the
    /// bounded faults between them. Same report, files and exit codes as check.
    Explore {
        /// Clusters A, B, ... (2 to 6), all alike at the start.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(2..=6))]
        clusters: u64,
        /// Replication kinds the actions use (comma-separated: dr, performance).
        #[arg(long, default_value = "dr,performance", value_delimiter = ',', value_parser = parse_kinds)]
        kinds: Vec<replication_core::Kind>,
        /// Operator actions on the menu (comma-separated): enable, token, activate, promote, demote,
        /// update-primary, disable, revoke, write.
        #[arg(long, default_value = "enable,token,activate,promote,demote,update-primary,disable,revoke,write", value_delimiter = ',', value_parser = parse_actions)]
        ops: Vec<Action>,
        /// Most operator actions in one execution (1 to 12).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=12))]
        depth: u64,
        /// Seed of the world's random draws.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Explore every renaming of the clusters nothing has named yet, instead of one (to
        /// measure what symmetry saves, or to see a finding on every cluster it can happen on).
        #[arg(long)]
        no_symmetry: bool,
        #[command(flatten)]
        search: SearchArgs,
    },
}

/// The search options `check` and `explore` share.
#[derive(clap::Args)]
struct SearchArgs {
    /// Messages the checker may lose in one execution (0 to 10).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=10))]
    max_drops: u8,
    /// Messages the checker may deliver twice in one execution (0 to 10).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=10))]
    max_duplicates: u8,
    /// Clusters the checker may crash (and later restart) in one execution (0 to 10).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=10))]
    max_crashes: u8,
    /// Partitions the checker may place in one execution: it cuts one cluster off from the others
    /// and heals the partition later (`--partitions` alone: one; 0 to 10).
    #[arg(long, default_value_t = 0, num_args = 0..=1, default_missing_value = "1",
          value_parser = clap::value_parser!(u8).range(0..=10))]
    partitions: u8,
    /// Let timers fire while messages are in flight (a message may take longer than the time to
    /// the next timer). Without it, the network goes quiet before each timer, as in `run`.
    #[arg(long)]
    slow_messages: bool,
    /// Draw the clusters' randomness as the scenario says (shared by default) instead of one RNG
    /// per cluster: to measure what per-cluster entropy saves.
    #[arg(long)]
    shared_entropy: bool,
    /// Search depth-first (less memory; counterexamples not the shortest).
    #[arg(long, conflicts_with = "bfs")]
    dfs: bool,
    /// Search breadth-first (the default: shortest counterexamples).
    #[arg(long)]
    bfs: bool,
    /// Stop after this many unique states (at least 1).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_states: Option<u64>,
    /// Threads computing next states, breadth-first (default: every core; 1 to 1024). The states,
    /// counts and counterexamples are the same for any number.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Stop after this long (a duration such as 90s or 10m).
    #[arg(long, value_parser = parse_timeout)]
    timeout: Option<std::time::Duration>,
    /// Most states the breadth-first frontier holds before it is worked depth-first (at least 1;
    /// a state of a three-cluster runbook takes about 100-150 KB today).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    frontier_budget: u64,
    /// Folder for the counterexample scenario files.
    #[arg(long, default_value = "check-failures")]
    out: PathBuf,
    /// Make every cluster exhibit this deliberate bug (builds with --features inject-bugs).
    #[arg(long, value_name = "NAME")]
    inject_bug: Option<String>,
}

impl SearchArgs {
    /// The checker's settings, or the message for an unknown bug.
    fn settings(&self) -> Result<check::CheckArgs, String> {
        use replication_sim::check::engine::{Options, Order};
        Ok(check::CheckArgs {
            bounds: replication_sim::check::runbook::Bounds {
                drops: self.max_drops,
                duplicates: self.max_duplicates,
                crashes: self.max_crashes,
                partitions: self.partitions,
                slow_messages: self.slow_messages,
                shared_entropy: self.shared_entropy,
            },
            options: Options {
                order: if self.dfs { Order::Dfs } else { Order::Bfs },
                max_states: self.max_states,
                max_depth: None,
                timeout: self.timeout,
                frontier_budget: usize::try_from(self.frontier_budget).ok(),
                threads: self.threads.map_or_else(
                    || std::thread::available_parallelism().map_or(1, |n| n.get()),
                    |t| t as usize,
                ),
            },
            bugs: bugs(&self.inject_bug)?,
            out: self.out.clone(),
        })
    }
}

/// `dr,performance`: replication kinds, each once.
fn parse_kinds(s: &str) -> Result<replication_core::Kind, String> {
    match s {
        "dr" => Ok(replication_core::Kind::Dr),
        "performance" => Ok(replication_core::Kind::Performance),
        _ => Err(format!("unknown kind {s:?}; expected dr or performance")),
    }
}

/// An operator action of the explore menu.
fn parse_actions(s: &str) -> Result<Action, String> {
    Action::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        format!("unknown action {s:?}; expected one of {}", names.join(", "))
    })
}

/// A duration for `--timeout`: Vault's duration syntax (`90s`, `10m`, `1h30m`), longer than zero.
fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let d =
        replication_core::Duration::parse(s).map_err(|e| format!("{e}; for example 90s or 10m"))?;
    if d.is_zero() {
        return Err("the timeout must be longer than zero".into());
    }
    Ok(std::time::Duration::from_millis(d.as_millis()))
}

/// `K/N` with 1 <= K <= N.
fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let shape = || format!("expected K/N with 1 <= K <= N, like 2/8; got {s:?}");
    let (k, n) = s.split_once('/').ok_or_else(shape)?;
    let (k, n): (u64, u64) = (
        k.parse().map_err(|_| shape())?,
        n.parse().map_err(|_| shape())?,
    );
    if k == 0 || k > n {
        return Err(shape());
    }
    Ok((k, n))
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
            html,
            inject_bug,
        } => match bugs(&inject_bug) {
            Ok(bugs) => run::run(run::RunArgs {
                paths,
                json,
                dot,
                html,
                bugs,
            }),
            Err(e) => usage_error(&e),
        },
        Command::Fuzz {
            seed,
            runs,
            steps,
            clusters,
            first_run,
            jobs,
            check_determinism,
            inject_bug,
            out,
            html,
            shrink_budget,
            stats,
            shard,
            summary,
            merge,
        } if merge.is_empty() => match (bugs(&inject_bug), first_run.checked_add(runs - 1)) {
            (Err(e), _) => usage_error(&e),
            (Ok(_), None) => usage_error(&format!(
                "--first-run {first_run} --runs {runs} goes past the last run number ({}); the last run is --first-run + --runs - 1",
                u64::MAX
            )),
            (Ok(b), Some(_)) => fuzz::campaign(fuzz::FuzzArgs {
                seed,
                runs,
                steps: steps as usize,
                clusters: clusters.map(|c| c as usize),
                first_run,
                jobs: jobs.map_or_else(
                    || std::thread::available_parallelism().map_or(1, |n| n.get()),
                    |j| j as usize,
                ),
                check_determinism,
                bug: inject_bug,
                bugs: b,
                out,
                html,
                shrink_budget: shrink_budget as usize,
                stats,
                shard,
                summary,
            }),
        },
        Command::Fuzz { merge, .. } => fuzz::merge(&merge),
        Command::Check { path, search } => match search.settings() {
            Err(e) => usage_error(&e),
            Ok(args) => check::check(args, &path),
        },
        Command::Explore {
            clusters,
            kinds,
            ops,
            depth,
            seed,
            no_symmetry,
            search,
        } => match search.settings() {
            Err(e) => usage_error(&e),
            Ok(args) => {
                let menu = replication_sim::check::explore::Menu {
                    clusters: clusters as usize,
                    kinds: kinds.into_iter().collect::<std::collections::BTreeSet<_>>().into_iter().collect(),
                    actions: ops.into_iter().collect(),
                    seed,
                    symmetry: !no_symmetry,
                };
                check::explore(args, &menu, depth as usize)
            }
        },
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
