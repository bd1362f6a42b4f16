//! `replication-sim check` and `explore`: a runbook (or operator actions the checker picks) checked
//! in every delivery order and fault placement within the bounds, with a shortest counterexample
//! file for everything found.

use crate::output::{exit_code, Output};
use crate::progress;
use replication_core::Bug;
use replication_sim::check::engine::{Options, Stats, Stopped};
use replication_sim::check::explore::Menu;
use replication_sim::check::runbook::Bounds;
use replication_sim::check::{self, CheckReport, Counterexample};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `check` or `explore` was asked.
pub struct CheckArgs {
    pub bounds: Bounds,
    pub options: Options,
    pub bugs: BTreeSet<Bug>,
    pub out: PathBuf,
}

/// Runs the check and prints what it found. Exit 0: everything held in every execution; 1: a rule
/// broke or an expectation failed; 2: unusable input; 3: nothing broke, but the search was cut short.
pub fn check(args: CheckArgs, path: &Path) -> ExitCode {
    let scenario = match replication_sim::scenario::parse_file(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let name = scenario.name.clone();
    let heading = format!("check {name} ({})", path.display());
    let report =
        with_progress(|p| check::check(scenario, args.bounds, args.bugs.clone(), &args.options, p));
    present(&args, &name, &heading, &report)
}

/// `explore`: operator actions picked from the menu, `depth` of them at most.
pub fn explore(args: CheckArgs, menu: &Menu, depth: usize) -> ExitCode {
    let heading = format!("explore {}, depth {depth}", menu.describe());
    let report = with_progress(|p| {
        check::explore(
            menu,
            depth,
            args.bounds,
            args.bugs.clone(),
            &args.options,
            p,
        )
    });
    match report {
        Ok(report) => present(&args, "explore", &heading, &report),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs `search` with a spinner on a terminal.
fn with_progress<T>(search: impl FnOnce(&mut dyn FnMut(&Stats)) -> T) -> T {
    let bar = progress::spinner("states");
    let mut tick = |s: &Stats| {
        if let Some(bar) = &bar {
            bar.set_position(s.unique);
            bar.set_message(format!(
                "unique, depth {}, frontier {}",
                s.max_depth, s.frontier
            ));
        }
    };
    let out = search(&mut tick);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out
}

/// Prints the report, writes the counterexample files, and gives the exit code.
fn present(args: &CheckArgs, name: &str, heading: &str, report: &CheckReport) -> ExitCode {
    let mut out = Output::stdout();
    print_report(&mut out, args, name, heading, report);
    let mut written = Ok(());
    for c in report
        .broken
        .iter()
        .chain(&report.failed)
        .chain(&report.hazards)
    {
        if let Err(e) = write_example(&args.out, name, c) {
            written = Err(e);
        }
    }
    if let Err(e) = written {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let found = report.broken.len() + report.failed.len();
    let code = if found > 0 {
        out.line(format_args!(
            "result: FAILED ({} rules broken, {} expectations failed)",
            report.broken.len(),
            report.failed.len()
        ));
        1
    } else if let Some(why) = report.stopped {
        out.line(format_args!(
            "result: INCOMPLETE: nothing broke in the {} states explored, but the search stopped at {}",
            report.stats.unique,
            match why {
                Stopped::MaxStates => "--max-states",
                Stopped::Timeout => "--timeout",
            }
        ));
        3
    } else {
        out.line("result: passed: every rule and expectation held in every execution");
        0
    };
    let result = out.finish();
    // Memory figures depend on the number of threads (the report does not): standard error.
    eprintln!(
        "search: {} threads, frontier at most {} states, visited set {:.1} bytes a state",
        args.options.threads.max(1),
        report.stats.peak_frontier,
        report.visited_bytes_per_state
    );
    exit_code(result, code)
}

fn print_report(out: &mut Output, args: &CheckArgs, name: &str, heading: &str, r: &CheckReport) {
    let b = args.bounds;
    out.line(format_args!(
        "{heading}: drops <= {}, duplicates <= {}, crashes <= {}, partitions <= {}, {}, {}",
        b.drops,
        b.duplicates,
        b.crashes,
        b.partitions,
        if b.slow_messages {
            "slow messages"
        } else {
            "quiet before timers"
        },
        match args.options.order {
            check::engine::Order::Bfs => "breadth-first",
            check::engine::Order::Dfs => "depth-first",
        }
    ));
    let s = r.stats;
    out.line(format_args!(
        "  states: {} unique, {} generated, depth {}, {} leaves; {:.1} s, {:.0} unique/s",
        s.unique, s.generated, s.max_depth, s.leaves, r.seconds, r.rate
    ));

    if !r.expectations.is_empty() {
        out.line("  expectations (unique states in which each held / failed):");
        for (_, text, held, failed) in &r.expectations {
            let mark = if *failed > 0 { "FAILED" } else { "ok" };
            out.line(format_args!(
                "    {text}: held {held}, failed {failed}  {mark}"
            ));
        }
    }
    for (p, depth) in &r.reached {
        out.line(format_args!(
            "  sometimes: reached {p:?} (first at depth {depth})"
        ));
    }
    for p in &r.never_reached {
        out.line(format_args!("  sometimes: NEVER reached {p:?}"));
    }
    let labelled = (r.hazards.iter().map(|c| ("", c)))
        .chain(r.broken.iter().map(|c| ("BROKEN ", c)))
        .chain(r.failed.iter().map(|c| ("FAILED ", c)));
    for (label, c) in labelled {
        out.line(format_args!(
            "  {label}{} in {} states; shortest execution: {} steps -> {}",
            c.finding,
            c.states,
            c.scenario.steps.len(),
            file_for(&args.out, name, c).display()
        ));
    }
    if !r.shortest {
        out.line(
            "  note: the frontier outgrew its budget; executions shown may not be the shortest",
        );
    }
}

fn file_for(out: &Path, name: &str, c: &Counterexample) -> PathBuf {
    out.join(format!(
        "{}-{}.json",
        check::slug(name),
        check::slug(&c.finding)
    ))
}

fn write_example(out: &Path, name: &str, c: &Counterexample) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: cannot create: {e}", out.display()))?;
    let path = file_for(out, name, c);
    let text = serde_json::to_string_pretty(&c.scenario.to_json())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: cannot write: {e}", path.display()))
}
