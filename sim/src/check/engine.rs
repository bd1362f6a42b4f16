//! A small explicit-state model checker: breadth-first or depth-first search over the states a
//! [`Model`] can reach, keeping only a 64-bit fingerprint and a parent link per visited state.
//!
//! The loop is the textbook one. Take a state off the frontier; list its actions; compute each next
//! state; if its fingerprint is new, record it (with its parent's fingerprint), ask the model what
//! the state shows ([`Finding`]s), and put it on the frontier unless it broke a rule. A state with no
//! action is a leaf, and gets the model's leaf checks. Breadth-first search visits states in order of
//! depth, so the first state found breaking a rule is one of the nearest: its path is a shortest
//! counterexample. Paths are not stored: [`Search::path`] walks the parent links back to an initial
//! state and replays the model forward, choosing at each step the action whose next state has the
//! recorded fingerprint.
//!
//! Memory: the visited set (`engine/visited.rs`) holds a fingerprint and a parent link per unique
//! state, 13 to 15 bytes a state; full states live only on the frontier. A breadth-first search
//! whose frontier is larger than [`Options::frontier_budget`] when a level starts goes on
//! depth-first (from the frontier's newest end), so a wide model keeps its memory instead of running
//! out of it; the search then says its counterexamples may not be the shortest.
//!
//! Fingerprints are only as good as the model's [`Model::fingerprint`]: two states with equal
//! fingerprints are taken to be the same state (a 64-bit collision would merge two states; with a
//! million states the chance is about 3 in 10^8).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};
use visited::Visited;

/// What a model shows at one state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Finding {
    /// A rule that must always hold does not hold here. The state is not explored further.
    Broken(String),
    /// A check failed here ([`Search::failed`]), but the state is explored further: what follows
    /// may break more.
    Failed(String),
    /// Something the search should reach at least once (a `sometimes` property), or something worth
    /// counting, happened here.
    Reached(String),
}

/// A system to check: its initial states, the actions of each state, and what each state shows.
pub trait Model: Sync {
    /// A state of the system.
    type State: Clone + Send + Sync;
    /// A transition between states.
    type Action: Clone + std::fmt::Debug;

    /// The states the system starts in.
    fn init_states(&self) -> Vec<Self::State>;

    /// Every action possible in `state`, pushed to `out` (which arrives empty).
    fn actions(&self, state: &Self::State, out: &mut Vec<Self::Action>);

    /// The state `action` leads to from `state`; `None` when it changes nothing worth exploring.
    fn next_state(&self, state: &Self::State, action: &Self::Action) -> Option<Self::State>;

    /// A 64-bit fingerprint of `state`. States with the same fingerprint must behave alike from here
    /// on and show the same findings.
    fn fingerprint(&self, state: &Self::State) -> u64;

    /// What `state` shows, pushed to `out` (checked once per unique state).
    fn findings(&self, _state: &Self::State, _out: &mut Vec<Finding>) {}

    /// What a leaf (a state with no action) shows besides its [`Model::findings`]: checks that only
    /// make sense once nothing more can happen.
    fn leaf_findings(&self, _state: &Self::State, _out: &mut Vec<Finding>) {}

    /// Names of the `sometimes` properties, so that one never reached is reported as such.
    fn sometimes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// In which order the frontier is worked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Breadth-first: shortest counterexamples.
    #[default]
    Bfs,
    /// Depth-first: a frontier as long as the deepest path.
    Dfs,
}

/// Bounds and settings of a search.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Frontier order.
    pub order: Order,
    /// Stop after this many unique states.
    pub max_states: Option<u64>,
    /// Do not expand states deeper than this (depth 0: the initial states).
    pub max_depth: Option<usize>,
    /// Stop after this much wall-clock time (checked every few states, with any number of threads).
    pub timeout: Option<Duration>,
    /// Most states a breadth-first frontier may hold when a level starts; past it, the search goes
    /// on depth-first.
    pub frontier_budget: Option<usize>,
    /// Threads computing next states (breadth-first only; 0 and 1 mean one). The result is the
    /// same for any number.
    pub threads: usize,
}

/// Why a search ended before it had seen every reachable state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// [`Options::max_states`] was reached.
    MaxStates,
    /// [`Options::timeout`] passed.
    Timeout,
}

/// Where a finding was first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// The state's fingerprint (see [`Search::path`]).
    pub fingerprint: u64,
    /// Its depth: actions from an initial state.
    pub depth: usize,
    /// In how many unique states the finding was seen.
    pub count: u64,
}

/// Figures of a search so far (for a progress display and for the final report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Next states computed (including ones already visited).
    pub generated: u64,
    /// Unique states.
    pub unique: u64,
    /// Deepest state reached.
    pub max_depth: usize,
    /// States without actions.
    pub leaves: u64,
    /// States on the frontier now.
    pub frontier: usize,
    /// Most states the frontier held at once.
    pub peak_frontier: usize,
}

/// A finished (or stopped) search: its figures, its findings, and the visited set to rebuild paths.
pub struct Search {
    /// Figures.
    pub stats: Stats,
    /// Wall-clock time taken.
    pub elapsed: Duration,
    /// Why it stopped early, if it did.
    pub stopped: Option<Stopped>,
    /// False when the frontier budget made a breadth-first search go depth-first for a while (its
    /// counterexamples may then be longer than the shortest).
    pub shortest: bool,
    /// Each broken rule, where it was first seen.
    pub broken: BTreeMap<String, Discovery>,
    /// Each failed check, where it was first seen.
    pub failed: BTreeMap<String, Discovery>,
    /// Each reached property, where it was first seen.
    pub reached: BTreeMap<String, Discovery>,
    /// Declared `sometimes` properties never reached.
    pub never_reached: Vec<String>,
    visited: Visited,
}

/// An execution: an initial state, then each action with the state it led to.
pub type Path<M> = (
    <M as Model>::State,
    Vec<(<M as Model>::Action, <M as Model>::State)>,
);

/// How often (in generated states) the clock and the progress callback are looked at.
const CHECK_EVERY: u64 = 64;

/// Searches `model` under `options`; `progress` is called now and then with the figures so far.
pub fn search<M: Model>(model: &M, options: &Options, mut progress: impl FnMut(&Stats)) -> Search {
    let start = Instant::now();
    let mut visited = Visited::default();
    let mut frontier: VecDeque<(M::State, u64, usize)> = VecDeque::new();
    let mut out = Search {
        stats: Stats::default(),
        elapsed: Duration::ZERO,
        stopped: None,
        shortest: true,
        broken: BTreeMap::new(),
        failed: BTreeMap::new(),
        reached: BTreeMap::new(),
        never_reached: Vec::new(),
        visited: Visited::default(),
    };
    let mut findings = Vec::new();
    for s in model.init_states() {
        let fp = model.fingerprint(&s);
        if !visited.insert(fp, fp) {
            continue;
        }
        out.stats.unique += 1;
        if record(model, &s, fp, 0, &mut findings, &mut out) {
            frontier.push_back((s, fp, 0));
        }
    }
    let mut run = Run {
        model,
        options,
        progress: &mut progress,
        start,
        visited,
        frontier,
        out,
    };
    if options.threads > 1 && options.order == Order::Bfs {
        parallel::levels(&mut run);
    }
    serial(&mut run);
    let Run {
        visited,
        frontier,
        mut out,
        ..
    } = run;
    out.stats.frontier = frontier.len();
    progress(&out.stats);
    out.never_reached = model
        .sometimes()
        .into_iter()
        .filter(|p| !out.reached.contains_key(p))
        .collect();
    out.visited = visited;
    out.elapsed = start.elapsed();
    out
}

/// A search in progress: the model and settings it reads, and the visited set, frontier and
/// findings its loops (one thread, or parallel levels) change.
struct Run<'a, M: Model> {
    model: &'a M,
    options: &'a Options,
    progress: &'a mut dyn FnMut(&Stats),
    start: Instant,
    visited: Visited,
    /// States to expand, with their fingerprints and depths.
    frontier: VecDeque<(M::State, u64, usize)>,
    out: Search,
}

/// The one-thread search loop, from the frontier as it is (the whole search, or what a parallel
/// search left when its frontier outgrew the budget).
fn serial<M: Model>(run: &mut Run<'_, M>) {
    let (model, options, start) = (run.model, run.options, run.start);
    let Run {
        progress,
        visited,
        frontier,
        out,
        ..
    } = run;
    if out.stopped.is_some() {
        return;
    }
    let mut findings = Vec::new();
    let mut actions = Vec::new();
    // Breadth-first until, at the start of a level, the frontier is over its budget; depth-first
    // from then on. (Deciding only at level starts is what the parallel levels can do too, so the
    // result does not depend on the number of threads.)
    let mut depth_first = options.order == Order::Dfs;
    let mut level = None;
    'search: loop {
        if !depth_first && frontier.front().map(|f| f.2) != level {
            level = frontier.front().map(|f| f.2);
            if options.frontier_budget.is_some_and(|b| frontier.len() > b) {
                depth_first = true;
                out.shortest = false;
            }
        }
        let next = if depth_first {
            frontier.pop_back()
        } else {
            frontier.pop_front()
        };
        let Some((state, fp, depth)) = next else {
            break;
        };
        if options.max_depth.is_some_and(|max| depth >= max) {
            continue;
        }
        actions.clear();
        model.actions(&state, &mut actions);
        if actions.is_empty() {
            out.stats.leaves += 1;
            findings.clear();
            model.leaf_findings(&state, &mut findings);
            note(&findings, fp, depth, out);
            continue;
        }
        for a in &actions {
            out.stats.generated += 1;
            if out.stats.generated % CHECK_EVERY == 0 {
                out.stats.frontier = frontier.len();
                progress(&out.stats);
                if options.timeout.is_some_and(|t| start.elapsed() >= t) {
                    out.stopped = Some(Stopped::Timeout);
                    break 'search;
                }
            }
            let Some(next) = model.next_state(&state, a) else {
                continue;
            };
            let nfp = model.fingerprint(&next);
            if !visited.insert(nfp, fp) {
                continue;
            }
            out.stats.unique += 1;
            out.stats.max_depth = out.stats.max_depth.max(depth + 1);
            if record(model, &next, nfp, depth + 1, &mut findings, out) {
                frontier.push_back((next, nfp, depth + 1));
                out.stats.peak_frontier = out.stats.peak_frontier.max(frontier.len());
            }
            if options.max_states.is_some_and(|m| out.stats.unique >= m) {
                out.stopped = Some(Stopped::MaxStates);
                break 'search;
            }
        }
    }
}

/// Notes a new state's findings; true when it is to be explored further (nothing [`Finding::Broken`]).
fn record<M: Model>(
    model: &M,
    state: &M::State,
    fp: u64,
    depth: usize,
    findings: &mut Vec<Finding>,
    out: &mut Search,
) -> bool {
    findings.clear();
    model.findings(state, findings);
    note(findings, fp, depth, out)
}

fn note(findings: &[Finding], fp: u64, depth: usize, out: &mut Search) -> bool {
    let mut fine = true;
    for f in findings {
        let (map, name) = match f {
            Finding::Broken(n) => {
                fine = false;
                (&mut out.broken, n)
            }
            Finding::Failed(n) => (&mut out.failed, n),
            Finding::Reached(n) => (&mut out.reached, n),
        };
        map.entry(name.clone())
            .and_modify(|d| d.count += 1)
            .or_insert(Discovery {
                fingerprint: fp,
                depth,
                count: 1,
            });
    }
    fine
}

impl Search {
    /// Unique states per second.
    pub fn rate(&self) -> f64 {
        self.stats.unique as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Bytes the visited set holds per unique state (its whole table, empty slots included).
    pub fn visited_bytes_per_state(&self) -> f64 {
        self.visited.bytes() as f64 / (self.visited.len().max(1)) as f64
    }

    /// The actions from an initial state to the state with fingerprint `target`, with the state
    /// each leads to; `None` if the search never visited it.
    pub fn path<M: Model>(&self, model: &M, target: u64) -> Option<Path<M>> {
        let mut fps = vec![target];
        let mut at = target;
        loop {
            let parent = self.visited.parent(at)?;
            if parent == at {
                break;
            }
            fps.push(parent);
            at = parent;
            if fps.len() > self.visited.len() {
                return None;
            }
        }
        fps.reverse();
        let init = model
            .init_states()
            .into_iter()
            .find(|s| model.fingerprint(s) == fps[0])?;
        let mut state = init.clone();
        let mut steps = Vec::with_capacity(fps.len() - 1);
        let mut actions = Vec::new();
        for want in &fps[1..] {
            actions.clear();
            model.actions(&state, &mut actions);
            let (a, next) = actions.iter().find_map(|a| {
                let next = model.next_state(&state, a)?;
                (model.fingerprint(&next) == *want).then(|| (a.clone(), next))
            })?;
            steps.push((a, next.clone()));
            state = next;
        }
        Some((init, steps))
    }
}

mod parallel;
mod visited;

#[cfg(test)]
mod tests;
