//! Exhaustive checking: every order in which the network can deliver a runbook's messages, with
//! bounded faults placed anywhere, searched by a small explicit-state model checker.
//!
//! - [`engine`]: the checker, generic over an [`engine::Model`];
//! - [`runbook`]: a runbook as a model, whose states are runs of the simulator and whose actions
//!   are scenario steps, so every path is a scenario file `run` replays.
//!
//! [`check`] puts them together: it searches a runbook and turns what it found into a
//! [`CheckReport`], with a shortest counterexample scenario for every rule broken and every hazard.

pub mod engine;
pub mod explore;
pub mod runbook;

use crate::scenario::Scenario;
use engine::{Discovery, Options, Search, Stats, Stopped};
use replication_core::Bug;
use runbook::{Bounds, Runbook};
use std::collections::BTreeSet;

/// One thing found, with the shortest execution that shows it.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// What was found (a rule's name, `step 6 expect_status B failed`, `hazard multiple-primaries`).
    pub finding: String,
    /// In how many unique states it was seen.
    pub states: u64,
    /// The execution as a scenario file (the runbook's topology, its steps and the checker's moves,
    /// none settling), which `run` replays.
    pub scenario: Scenario,
}

/// What a check found.
#[derive(Debug)]
pub struct CheckReport {
    /// The search's figures.
    pub stats: Stats,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Unique states per second.
    pub rate: f64,
    /// Why the search stopped early, if it did (then not every execution was seen).
    pub stopped: Option<Stopped>,
    /// False when the frontier budget made the search go depth-first for a while.
    pub shortest: bool,
    /// Bytes per unique state the visited set took.
    pub visited_bytes_per_state: f64,
    /// Rules of the model broken (each ends its execution).
    pub broken: Vec<Counterexample>,
    /// Expectations of the runbook that failed (and steps that could not run).
    pub failed: Vec<Counterexample>,
    /// Hazards seen (an operator must know; they fail the check only through an expectation).
    pub hazards: Vec<Counterexample>,
    /// Each expectation step of the runbook: (runbook step number, text, unique states where it held,
    /// where it failed).
    pub expectations: Vec<(usize, String, u64, u64)>,
    /// `sometimes` properties reached, with the depth first seen.
    pub reached: Vec<(String, usize)>,
    /// `sometimes` properties never reached (a vacuous check shows here).
    pub never_reached: Vec<String>,
}

impl CheckReport {
    /// True when nothing broke or failed and every execution within the bounds was seen.
    pub fn passed(&self) -> bool {
        self.broken.is_empty() && self.failed.is_empty() && self.stopped.is_none()
    }
}

/// Checks `scenario` within `bounds`: every delivery order and fault placement, every oracle after
/// every move, the end-of-run checks at every leaf. `progress` gets the figures now and then.
pub fn check(
    scenario: Scenario,
    bounds: Bounds,
    bugs: BTreeSet<Bug>,
    options: &Options,
    progress: impl FnMut(&Stats),
) -> CheckReport {
    let model = Runbook::new(scenario, bounds, bugs);
    let search = engine::search(&model, options, progress);
    report(&model, &search)
}

/// Explores the protocol: up to `depth` operator actions picked from `menu` on its world, with the
/// network and fault moves of [`check`] between them. Refuses a menu it cannot build.
pub fn explore(
    menu: &explore::Menu,
    depth: usize,
    bounds: Bounds,
    bugs: BTreeSet<Bug>,
    options: &Options,
    progress: impl FnMut(&Stats),
) -> Result<CheckReport, String> {
    let (world, entries) = explore::menu(menu)?;
    let model = Runbook::explore(world, entries, depth, menu.symmetry, bounds, bugs);
    let search = engine::search(&model, options, progress);
    Ok(report(&model, &search))
}

fn report(model: &Runbook, search: &Search) -> CheckReport {
    let example = |(name, d): (&String, &Discovery)| Counterexample {
        finding: name.clone(),
        states: d.count,
        scenario: counterexample(model, search, name, d.fingerprint),
    };
    let broken = search.broken.iter().map(example).collect();
    let failed = search.failed.iter().map(example).collect();
    let hazards = search
        .reached
        .iter()
        .filter(|(n, _)| n.starts_with("hazard "))
        .map(example)
        .collect();
    let count = |name: &str| {
        search.reached.get(name).map_or(0, |d| d.count)
            + search.failed.get(name).map_or(0, |d| d.count)
    };
    let expectations = model
        .scenario()
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.step.verb().starts_with("expect_"))
        .map(|(i, s)| {
            let held = runbook::expectation_name(i, &s.step, true);
            let failed = runbook::expectation_name(i, &s.step, false);
            let text = held.trim_end_matches(" held").to_string();
            (i + 1, text, count(&held), count(&failed))
        })
        .collect();
    let sometimes = [runbook::PROMOTED, runbook::ACTIVATED, runbook::REPLICATED];
    CheckReport {
        stats: search.stats,
        seconds: search.elapsed.as_secs_f64(),
        rate: search.rate(),
        stopped: search.stopped,
        shortest: search.shortest,
        visited_bytes_per_state: search.visited_bytes_per_state(),
        broken,
        failed,
        hazards,
        expectations,
        reached: sometimes
            .iter()
            .filter_map(|p| search.reached.get(*p).map(|d| (p.to_string(), d.depth)))
            .collect(),
        never_reached: search.never_reached.clone(),
    }
}

/// The execution to the state `fingerprint` as a scenario file.
fn counterexample(model: &Runbook, search: &Search, finding: &str, fingerprint: u64) -> Scenario {
    let mut s = model.scenario().clone();
    s.config.entropy = model.entropy();
    let bugs: Vec<&str> = model.bugs().iter().map(|b| b.name()).collect();
    let replay = match bugs.as_slice() {
        [] => String::new(),
        names => format!(
            " (found with injected bugs; replay with: run --inject-bug {})",
            names.join(",")
        ),
    };
    s.description = Some(format!(
        "replication-sim check: the shortest execution of runbook {:?} that shows: {finding}{replay}",
        s.name
    ));
    s.name = format!("{}-{}", s.name, slug(finding));
    s.steps.clear();
    let Some((init, path)) = search.path(model, fingerprint) else {
        return s;
    };
    let mut before = init;
    for (m, after) in path {
        let note = model.describe(&m, &before);
        for mut spec in model.steps_of(&m, 0) {
            spec.index = s.steps.len() + 1;
            spec.note = Some(match spec.note.take() {
                Some(n) => format!("{note}: {n}"),
                None => note.clone(),
            });
            s.steps.push(spec);
        }
        before = after;
    }
    s
}

/// A file name for a finding: lowercase letters, digits and dashes.
pub fn slug(finding: &str) -> String {
    let mut out = String::new();
    for c in finding.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}
