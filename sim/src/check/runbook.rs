//! A runbook as a model for the [`engine`](super::engine): its states are runs of the simulator
//! ([`Runner`]s) and its actions are scenario steps, so every path the checker finds is a scenario
//! file that `replication-sim run` replays exactly.
//!
//! What the checker may do at each state ([`Move`]):
//!
//! - take the runbook's next step, in order. Where `run` would settle the network after a step
//!   (every step but those with `"settle": false`), the next step waits until nothing is in flight,
//!   and the checker delivers (or loses) what is in flight in every order meanwhile; after a
//!   `"settle": false` step the next one may come at once, before or between the deliveries. A step
//!   naming a cluster the checker crashed waits for its restart.
//! - deliver the next message of any link (links are FIFO), or, within the bounds, drop it or
//!   deliver a copy of it that stays in flight;
//! - within the bound, crash a running cluster, and restart one it crashed;
//! - within the bound, cut one cluster off from the others (while the runbook has no partition of
//!   its own in force), and heal that partition later;
//! - during a runbook `advance D`: fire the next timer (a `tick` to the earliest deadline within
//!   `D`) once nothing is in flight, as `run`'s `advance` does; with [`Bounds::slow_messages`], also
//!   while messages are in flight (a message may then arrive after any number of timers). The
//!   advance ends when no deadline is left within `D` and nothing is in flight.
//!
//! Time moves only inside `advance` steps, as the scenario contract says. A leaf (nothing left to
//! do: script done, network quiet, every crashed cluster restarted, the checker's partition
//! healed) gets the end-of-run checks of `run` (operations never answered, convergence after
//! healing). After every move every oracle of the model runs, as after every step of `run`; a move
//! that breaks one ends its path. A failed expectation is reported too, but its path goes on: the
//! operator's check failed, and what the runbook does next may still lose data.
//!
//! Entropy: the checker runs the world with [`Entropy::PerCluster`], so a cluster's draws depend on
//! its own inputs only and two delivery orders that leave every cluster alike meet in one state.
//! Counterexample files say so in their `config`.

use super::engine::{Finding, Model};
use super::explore::Entry;
use crate::runner::Runner;
use crate::scenario::{LinkStep, Scenario, Step, StepSpec, Tick};
use crate::world::{Entropy, LinkMove};
use replication_core::{Bug, Duration, Kind, Mode, Timestamp};
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

/// How many faults the checker may place in one execution, and how slow messages may be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bounds {
    /// Timers may fire while messages are in flight (a message may take longer than the time to the
    /// next timer). Off: within an advance, the network goes quiet before the next timer fires, as in
    /// `run`; the delivery order is still the checker's.
    pub slow_messages: bool,
    /// Run the world with the scenario's own entropy (by default one RNG shared by the whole world)
    /// instead of [`Entropy::PerCluster`]: only to measure what per-cluster entropy saves, since
    /// shared draws keep equal situations reached in different orders apart.
    pub shared_entropy: bool,
    /// Messages lost.
    pub drops: u8,
    /// Messages delivered twice.
    pub duplicates: u8,
    /// Clusters crashed (each then restarted by the checker at some later point).
    pub crashes: u8,
    /// Partitions: the checker cuts one cluster off from the others, and heals the partition at
    /// some later point (one at a time, and only while the runbook has none of its own in force).
    pub partitions: u8,
}

/// One move of the checker: a scenario step (or a menu entry's steps).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Move {
    /// The runbook's next step (its index in the runbook).
    Script(usize),
    /// A menu entry (its index in the menu).
    Op(usize),
    /// The start of the runbook's `advance` step (its number): timers may fire until `by` passed.
    StartAdvance(usize, Duration),
    /// A move on one link.
    Link(LinkMove, String, String),
    /// Time passes to the next timer (a `tick` step).
    Timer(Duration),
    /// The current advance ends: the rest of its time passes (a `tick` step) and the runbook goes on.
    EndAdvance(Duration),
    /// The checker crashes a cluster.
    Crash(String),
    /// The checker restarts a cluster it crashed.
    Restart(String),
    /// The checker cuts a cluster off from the others (a `partition` step).
    Isolate(String),
    /// The checker heals the partition it made (a `heal` step).
    Heal,
}

/// A state: a run, where it is in the runbook, and the faults placed so far.
#[derive(Clone)]
pub struct State {
    /// The run.
    pub runner: Runner,
    /// Index into the runbook's steps of the next step.
    next: usize,
    /// During an advance: when it ends.
    advance_end: Option<Timestamp>,
    used: Bounds,
    /// Clusters the checker crashed and has not restarted.
    crashed: BTreeSet<String>,
    /// The cluster the checker cut off, while its partition is in force.
    isolated: Option<String>,
    /// With symmetry (explore): the clusters a menu entry or a fault of the checker has named.
    touched: BTreeSet<String>,
    /// The last runbook step settles (the contract's default): the next one waits until nothing
    /// is in flight.
    settling: bool,
    /// What the move into this state showed.
    found: Vec<Finding>,
    /// The menu entries picked so far, in order (explore): what the steps numbered for them are
    /// called in findings. (A runbook step's name comes from the runbook; see [`Runbook::name_of`].)
    picks: Vec<usize>,
}

/// What tells states apart: the run as [`Runner::hash_state`] sees it, the position in the runbook,
/// the faults used, and what the move into the state showed.
impl Hash for State {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.runner.hash_state(h);
        self.next.hash(h);
        self.advance_end.hash(h);
        self.used.hash(h);
        self.crashed.hash(h);
        self.isolated.hash(h);
        self.touched.hash(h);
        self.settling.hash(h);
        self.found.hash(h);
    }
}

/// Two states are equal when their fingerprints are (comparing two runs field by field would cost
/// more than the search; a checker that needs `Eq`, stateright's, gets the same equivalence).
impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        let fp = |s: &State| {
            let mut h = std::hash::DefaultHasher::new();
            s.hash(&mut h);
            h.finish()
        };
        fp(self) == fp(other)
    }
}

impl State {
    /// Notes that `clusters` were named (only kept when symmetry is on: otherwise it decides
    /// nothing, and states would differ by it for no reason).
    fn touch<'a>(&mut self, model: &Runbook, clusters: impl IntoIterator<Item = &'a String>) {
        if let Plan::Menu { symmetry: true, .. } = model.plan {
            self.touched.extend(clusters.into_iter().cloned());
        }
    }

    /// Whether the move into this state broke a rule of the model (the engine explores it no
    /// further).
    pub fn broke_a_rule(&self) -> bool {
        self.found.iter().any(|f| matches!(f, Finding::Broken(_)))
    }
}

/// Where the operator's steps come from.
enum Plan {
    /// The runbook's own steps, in order.
    Script,
    /// The checker picks up to `depth` entries of the menu, whichever are offered; with
    /// `symmetry`, only one of those that differ by which untouched clusters they name
    /// ([`Entry::canonical`]).
    Menu {
        entries: Vec<Entry>,
        depth: usize,
        symmetry: bool,
    },
}

/// The model: a parsed runbook (or a menu to pick operator steps from) and the bounds.
pub struct Runbook {
    /// The topology and settings, and the steps of a [`Plan::Script`].
    scenario: Scenario,
    plan: Plan,
    bounds: Bounds,
    bugs: BTreeSet<Bug>,
    /// `sometimes` properties worth seeing reached.
    sometimes: Vec<String>,
}

/// Reached when a cluster was promoted (a `sometimes` property).
pub const PROMOTED: &str = "a cluster was promoted";
/// Reached when a secondary was wiped and resynced by an activation.
pub const ACTIVATED: &str = "a secondary was activated";
/// Reached when a primary shipped data to a secondary.
pub const REPLICATED: &str = "data was replicated";

impl Runbook {
    /// The model of `scenario` under `bounds`, with `bugs` injected (empty unless testing).
    pub fn new(scenario: Scenario, bounds: Bounds, bugs: BTreeSet<Bug>) -> Runbook {
        Runbook {
            scenario,
            plan: Plan::Script,
            bounds,
            bugs,
            sometimes: vec![PROMOTED.into(), ACTIVATED.into(), REPLICATED.into()],
        }
    }

    /// The model of `explore`: the world of `scenario` (its steps are ignored), with up to `depth`
    /// operator steps picked from `entries`; with `symmetry`, the clusters (all alike at the start)
    /// that nothing has named yet are taken as interchangeable.
    pub fn explore(
        scenario: Scenario,
        entries: Vec<Entry>,
        depth: usize,
        symmetry: bool,
        bounds: Bounds,
        bugs: BTreeSet<Bug>,
    ) -> Runbook {
        let mut m = Runbook::new(scenario, bounds, bugs);
        m.scenario.steps.clear();
        m.plan = Plan::Menu {
            entries,
            depth,
            symmetry,
        };
        m
    }

    /// Whether the checker's crash or partition of `cluster` is explored in `s`: always, unless
    /// symmetry is on and `cluster` is untouched but not the first untouched cluster (the moves on
    /// the others would do the same to a cluster that is alike).
    fn explores_fault_on(&self, s: &State, cluster: &str) -> bool {
        let Plan::Menu { symmetry: true, .. } = self.plan else {
            return true;
        };
        s.touched.contains(cluster)
            || self
                .scenario
                .clusters
                .keys()
                .find(|c| !s.touched.contains(*c))
                .is_some_and(|first| first == cluster)
    }

    /// The runbook.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The deliberate bugs the clusters have (empty unless testing the checker).
    pub fn bugs(&self) -> &BTreeSet<Bug> {
        &self.bugs
    }

    /// Where the clusters' draws come from in this check.
    pub fn entropy(&self) -> Entropy {
        if self.bounds.shared_entropy {
            self.scenario.config.entropy
        } else {
            Entropy::PerCluster
        }
    }

    /// The scenario steps a move is, numbered `label` (what the oracles record): one, or two for a
    /// menu entry that first generates a DR operation token, or none for the start of an advance
    /// (its time passes in `tick` steps).
    pub fn steps_of(&self, m: &Move, label: usize) -> Vec<StepSpec> {
        let step = match m {
            Move::Script(i) => {
                let mut spec = self.scenario.steps[*i].clone();
                spec.settle = false;
                return vec![spec];
            }
            Move::Op(i) => {
                let Plan::Menu { entries, .. } = &self.plan else {
                    return vec![];
                };
                return entries[*i]
                    .steps
                    .iter()
                    .map(|spec| StepSpec {
                        index: label,
                        settle: false,
                        ..spec.clone()
                    })
                    .collect();
            }
            Move::StartAdvance(..) => return vec![],
            Move::Link(what, from, to) => Step::Link(LinkStep::new(*what, from, to)),
            Move::Timer(by) | Move::EndAdvance(by) => Step::Tick(Tick { by: *by }),
            Move::Crash(c) => Step::Crash(crate::scenario::Crash { cluster: c.clone() }),
            Move::Restart(c) => Step::Restart(crate::scenario::Restart { cluster: c.clone() }),
            Move::Isolate(c) => {
                let others = self.scenario.clusters.keys().filter(|n| *n != c).cloned();
                Step::Partition(crate::scenario::Partition {
                    groups: vec![vec![c.clone()], others.collect()],
                })
            }
            Move::Heal => Step::Heal(crate::scenario::Heal::default()),
        };
        vec![StepSpec {
            index: label,
            note: None,
            settle: false,
            step,
        }]
    }

    /// What the step numbered `label` (see [`label`]) is called in findings, when a runbook step
    /// (`step 7 write A`) or a menu entry (`B promote dr`) got that number in `s`'s execution;
    /// `None` for the checker's own moves. A failure is named by the step it belongs to: an
    /// expectation judged late, when a forwarded answer comes, by the step that sent it.
    fn name_of(&self, s: &State, label: usize) -> Option<String> {
        let (p, j) = (label / 4, label % 4);
        if p == 0 || j >= 2 {
            return None;
        }
        match &self.plan {
            Plan::Script => Some(step_name(p - 1, &self.scenario.steps.get(p - 1)?.step)),
            Plan::Menu { entries, .. } => Some(entries[*s.picks.get(p - 1)?].label.clone()),
        }
    }

    /// The finding of a failure recorded at step `label` in `s`'s execution: named by the runbook
    /// step or menu entry it belongs to, else by `otherwise`.
    fn failure(&self, s: &State, label: usize, otherwise: impl FnOnce() -> String) -> Finding {
        Finding::Failed(match self.name_of(s, label) {
            Some(step) => format!("{step} failed"),
            None => otherwise(),
        })
    }

    /// A note saying what a move of a counterexample is.
    pub fn describe(&self, m: &Move, state_before: &State) -> String {
        match m {
            Move::Script(i) => format!("runbook step {}", i + 1),
            Move::Op(i) => match &self.plan {
                Plan::Menu { entries, .. } => format!("checker's pick: {}", entries[*i].label),
                Plan::Script => String::new(),
            },
            Move::StartAdvance(i, by) => format!("runbook step {} (advance {by})", i + 1),
            Move::Link(what, from, to) => {
                let name = state_before
                    .runner
                    .world()
                    .net
                    .peek(from, to)
                    .map_or("?", |p| p.message.name());
                let verb = match what {
                    LinkMove::Deliver => "delivers",
                    LinkMove::Drop => "drops",
                    LinkMove::Duplicate => "duplicates",
                };
                format!("checker {verb} {name} {from}->{to}")
            }
            Move::Timer(_) => "checker: the next timer fires".into(),
            Move::EndAdvance(_) => "the rest of the advance passes".into(),
            Move::Crash(c) => format!("checker crashes {c}"),
            Move::Restart(c) => format!("checker restarts {c}"),
            Move::Isolate(c) => format!("checker cuts {c} off from the others"),
            Move::Heal => "checker heals the partition".into(),
        }
    }
}

impl Model for Runbook {
    type State = State;
    type Action = Move;

    fn init_states(&self) -> Vec<State> {
        let mut scenario = self.scenario.clone();
        if !self.bounds.shared_entropy {
            scenario.config.entropy = Entropy::PerCluster;
        }
        scenario.steps.clear();
        let mut runner = Runner::owning(scenario, self.bugs.clone());
        runner.keep_lines(false);
        runner.keep_timeline(false);
        vec![State {
            runner,
            next: 0,
            advance_end: None,
            used: Bounds::default(),
            crashed: BTreeSet::new(),
            isolated: None,
            touched: BTreeSet::new(),
            settling: false,
            found: Vec::new(),
            picks: Vec::new(),
        }]
    }

    fn actions(&self, s: &State, out: &mut Vec<Move>) {
        let world = s.runner.world();
        let quiet = world.net.is_quiet();
        for (from, to, _) in world.net.links() {
            out.push(Move::Link(LinkMove::Deliver, from.into(), to.into()));
            if s.used.drops < self.bounds.drops {
                out.push(Move::Link(LinkMove::Drop, from.into(), to.into()));
            }
            if s.used.duplicates < self.bounds.duplicates {
                out.push(Move::Link(LinkMove::Duplicate, from.into(), to.into()));
            }
        }
        if s.used.crashes < self.bounds.crashes {
            for name in world.nodes.keys() {
                if world.is_up(name) && self.explores_fault_on(s, name) {
                    out.push(Move::Crash(name.clone()));
                }
            }
        }
        for name in &s.crashed {
            out.push(Move::Restart(name.clone()));
        }
        if s.used.partitions < self.bounds.partitions && !world.net.is_partitioned() {
            // With two clusters, cutting off either one is the same partition.
            let names: Vec<&String> = world.nodes.keys().collect();
            let cuts = if names.len() == 2 { 1 } else { names.len() };
            for name in names.into_iter().take(cuts) {
                if self.explores_fault_on(s, name) {
                    out.push(Move::Isolate(name.clone()));
                }
            }
        }
        if s.isolated.is_some() {
            out.push(Move::Heal);
        }
        match s.advance_end {
            Some(end) => {
                let next_timer = world
                    .nodes
                    .values()
                    .filter(|n| n.up)
                    .filter_map(|n| n.cluster().next_deadline())
                    .filter(|t| *t <= end)
                    .min();
                match next_timer {
                    Some(t) if quiet || self.bounds.slow_messages => {
                        out.push(Move::Timer(t.since(world.now)))
                    }
                    Some(_) => {}
                    None if quiet => out.push(Move::EndAdvance(end.since(world.now))),
                    None => {}
                }
            }
            None if s.settling && !quiet => {}
            None => match &self.plan {
                Plan::Script => {
                    if let Some(spec) = self.scenario.steps.get(s.next) {
                        let waits = spec.step.cluster().is_some_and(|c| s.crashed.contains(c));
                        if !waits {
                            out.push(match &spec.step {
                                Step::Advance(a) => Move::StartAdvance(s.next, a.by),
                                _ => Move::Script(s.next),
                            });
                        }
                    }
                }
                Plan::Menu {
                    entries,
                    depth,
                    symmetry,
                } if s.next < *depth => {
                    let names: Vec<String> = world.nodes.keys().cloned().collect();
                    for (i, e) in entries.iter().enumerate() {
                        if e.offered(&s.runner) && (!symmetry || e.canonical(&s.touched, &names)) {
                            out.push(Move::Op(i));
                        }
                    }
                }
                Plan::Menu { .. } => {}
            },
        }
    }

    fn next_state(&self, s: &State, m: &Move) -> Option<State> {
        let mut n = s.clone();
        n.found.clear();
        match m {
            Move::StartAdvance(_, by) => {
                n.advance_end = Some(n.runner.world().now.plus(*by));
                return Some(n);
            }
            Move::Link(LinkMove::Drop, ..) => n.used.drops += 1,
            Move::Link(LinkMove::Duplicate, ..) => n.used.duplicates += 1,
            Move::Crash(c) => {
                n.used.crashes += 1;
                n.crashed.insert(c.clone());
                n.touch(self, [c]);
            }
            Move::Restart(c) => {
                n.crashed.remove(c);
            }
            Move::Isolate(c) => {
                n.used.partitions += 1;
                n.isolated = Some(c.clone());
                n.touch(self, [c]);
            }
            Move::Heal => n.isolated = None,
            _ => {}
        }
        let mut specs = self.steps_of(m, 0);
        if specs.is_empty() {
            return None;
        }
        for (j, spec) in specs.iter_mut().enumerate() {
            spec.index = label(s.next, m, j);
        }
        if let (Move::Op(i), Plan::Menu { entries, .. }) = (m, &self.plan) {
            n.picks.push(*i);
            n.touch(self, &entries[*i].clusters);
        }
        let data = match m {
            Move::Link(LinkMove::Deliver | LinkMove::Duplicate, from, to) => s
                .runner
                .world()
                .net
                .peek(from, to)
                .is_some_and(|p| p.message.data_kind().is_some()),
            _ => false,
        };
        let modes_before = modes(s.runner.world());
        let failures = n.runner.failures().len();
        let violations = n.runner.oracles().violations().len();
        let hazards = n.runner.oracles().hazards().len();
        for spec in &specs {
            n.runner.step(spec);
        }
        match m {
            Move::Script(i) => {
                n.next = i + 1;
                n.settling = self.scenario.steps[*i].settle;
                if matches!(specs[0].step, Step::Partition(_) | Step::Heal(_)) {
                    // The runbook's own partition replaced (or healed) the checker's.
                    n.isolated = None;
                }
                // A failed expectation is a broken finding (below); a held one is counted.
                let step = &specs[0].step;
                if step.verb().starts_with("expect_") && n.runner.failures().len() == failures {
                    n.found
                        .push(Finding::Reached(expectation_name(*i, step, true)));
                }
            }
            Move::Op(_) => {
                n.next += 1;
                n.settling = true;
            }
            Move::EndAdvance(_) => {
                n.advance_end = None;
                n.next += 1;
                n.settling = false;
            }
            _ => {}
        }
        for f in &n.runner.failures()[failures..] {
            let finding = self.failure(&n, f.step, || {
                format!("the checker's move {m:?} could not run")
            });
            n.found.push(finding);
        }
        for v in &n.runner.oracles().violations()[violations..] {
            n.found.push(Finding::Broken(v.rule().to_string()));
        }
        for h in &n.runner.oracles().hazards()[hazards..] {
            n.found.push(Finding::Reached(format!("hazard {}", h.kind)));
        }
        let delivered = n.runner.world().net.stats.delivered > s.runner.world().net.stats.delivered;
        if data && delivered {
            n.found.push(Finding::Reached(REPLICATED.into()));
        }
        for (before, after) in modes_before.iter().zip(modes(n.runner.world())) {
            if *before == after {
                continue;
            }
            for k in 0..2 {
                match (before[k], after[k]) {
                    (Mode::Secondary, Mode::Primary) => {
                        n.found.push(Finding::Reached(PROMOTED.into()))
                    }
                    (Mode::Bootstrapping, Mode::Secondary) => {
                        n.found.push(Finding::Reached(ACTIVATED.into()))
                    }
                    _ => {}
                }
            }
        }
        n.found.sort();
        n.found.dedup();
        Some(n)
    }

    fn fingerprint(&self, s: &State) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        s.hash(&mut h);
        h.finish()
    }

    fn findings(&self, s: &State, out: &mut Vec<Finding>) {
        out.extend(s.found.iter().cloned());
    }

    fn leaf_findings(&self, s: &State, out: &mut Vec<Finding>) {
        let report = s.runner.clone().finish(None);
        let before = s.runner.oracles().violations().len();
        for v in &report.violations[before.min(report.violations.len())..] {
            out.push(Finding::Broken(v.rule().to_string()));
        }
        let failures = s.runner.failures().len();
        for f in &report.failures[failures.min(report.failures.len())..] {
            out.push(self.failure(s, f.step, || "the end of the run failed".to_string()));
        }
    }

    fn sometimes(&self) -> Vec<String> {
        self.sometimes.clone()
    }
}

/// The step number the checker gives the `j`th scenario step of move `m`, taken when `next` runbook
/// steps (or menu entries) are done: `4 p` for runbook step `p` (1-based; `4 p + 1` for the second
/// step of a menu entry), `4 p + 2` for every checker move after it and before the next one.
///
/// A replayed counterexample numbers its steps by their position in the file instead. The oracles and
/// the runner only compare step numbers (which came first, which are the same), and these numbers
/// are ordered as the file's positions are, so the replay does what the check did. Unlike file
/// positions, they do not count the checker's moves: two executions that reach the same situation
/// after different numbers of deliveries record the same numbers and meet in one state.
fn label(next: usize, m: &Move, j: usize) -> usize {
    match m {
        Move::Script(_) | Move::Op(_) => 4 * (next + 1) + j.min(1),
        _ => 4 * next + 2,
    }
}

/// Each cluster's own mode of each kind, in name order.
fn modes(world: &crate::world::World) -> Vec<[Mode; 2]> {
    world
        .nodes
        .values()
        .map(|n| Kind::ALL.map(|k| n.cluster().inspect(k).mode()))
        .collect()
}

/// The finding of a runbook step's expectation (an `expect_*` step's, or the `expect` a request or
/// client step carries): held or failed, named by its runbook step.
pub fn expectation_name(index: usize, step: &Step, held: bool) -> String {
    let outcome = if held { "held" } else { "failed" };
    format!("{} {outcome}", step_name(index, step))
}

/// What runbook step `index` (0-based) is called in findings: `step 7 write A`.
fn step_name(index: usize, step: &Step) -> String {
    let target = step.cluster().map(|c| format!(" {c}")).unwrap_or_default();
    format!("step {} {}{target}", index + 1, step.verb())
}
