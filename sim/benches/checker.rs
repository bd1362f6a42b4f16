//! Our checker and stateright 0.31's breadth-first checker on one model, side by side.
//!
//! The model is the runbook `fixtures/check/three-cluster-dr-failover.json` (a DR primary that is
//! also a performance primary, its DR secondary and its performance secondary; two writes; a
//! planned DR failover), checked with at most one lost message and one crash: the same `State`, the
//! same actions and the same `Hash`, handed to both checkers. Neither runs the end-of-run checks at
//! the leaves (stateright has no such hook), and a state that broke a rule has no actions for either.
//! The two unique-state counts must be equal: otherwise the two did not explore the same model and
//! the comparison is void (the benchmark then fails).
//!
//! Run: `cargo bench -p replication-sim --bench checker` (add `-- --quick` for no lost message).
//! It prints, for each checker and thread count, unique states, time, unique states per second and
//! peak heap memory (counted by this benchmark's allocator). Each search runs three times timed
//! with the counting off (the fastest is printed) and once counted. Counting is a shared atomic on every allocation: on two
//! threads its cache-line traffic alone took 10-20% off both checkers' rates.

use mimalloc::MiMalloc;
use replication_sim::check::engine::{self, Options};
use replication_sim::check::runbook::{Bounds, Move, Runbook, State};
use replication_sim::scenario::{parse_file, Scenario};
use std::alloc::{GlobalAlloc, Layout};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::Instant;

/// mimalloc (what `replication-sim` runs on), counting the bytes in use and their peak while
/// [`COUNTING`] is on.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static IN_USE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to mimalloc unchanged; only counters are added. The counts start at
// zero when counting starts; a block allocated before and freed during it counts below zero, so
// the peak can only read low by such blocks (the search's own memory is all allocated during it).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { MiMalloc.alloc(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            let size = layout.size() as isize;
            let now = IN_USE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { MiMalloc.dealloc(p, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            IN_USE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Our engine's view: the runbook model without its leaf checks.
struct Ours(Runbook);

impl engine::Model for Ours {
    type State = State;
    type Action = Move;
    fn init_states(&self) -> Vec<State> {
        self.0.init_states()
    }
    fn actions(&self, s: &State, out: &mut Vec<Move>) {
        engine::Model::actions(&self.0, s, out)
    }
    fn next_state(&self, s: &State, a: &Move) -> Option<State> {
        self.0.next_state(s, a)
    }
    fn fingerprint(&self, s: &State) -> u64 {
        self.0.fingerprint(s)
    }
    fn findings(&self, s: &State, out: &mut Vec<engine::Finding>) {
        self.0.findings(s, out)
    }
}

/// Stateright's view of the same model.
struct Theirs(Runbook);

impl stateright::Model for Theirs {
    type State = State;
    type Action = Move;
    fn init_states(&self) -> Vec<State> {
        engine::Model::init_states(&self.0)
    }
    fn actions(&self, s: &State, out: &mut Vec<Move>) {
        // Our engine explores nothing past a broken rule; neither does this.
        if !s.broke_a_rule() {
            engine::Model::actions(&self.0, s, out)
        }
    }
    fn next_state(&self, s: &State, a: Move) -> Option<State> {
        engine::Model::next_state(&self.0, s, &a)
    }
    fn properties(&self) -> Vec<stateright::Property<Self>> {
        // Stateright stops once every property has a discovery: this one never has, so it visits
        // every state, as ours does.
        vec![stateright::Property::always(
            "explores everything",
            |_, _| true,
        )]
    }
}

struct Figures {
    unique: u64,
    seconds: f64,
    peak_bytes: usize,
}

/// Timed runs of each search; the fastest is reported (the machine is shared, and a slow run says
/// more about the neighbours than about the checker).
const TIMED_RUNS: usize = 3;

/// Runs the search [`TIMED_RUNS`] times timed with counting off, then once counted for its peak
/// heap.
fn measure(run: impl Fn() -> u64) -> Figures {
    let mut unique = 0;
    let mut seconds = f64::INFINITY;
    for _ in 0..TIMED_RUNS {
        let start = Instant::now();
        unique = run();
        seconds = seconds.min(start.elapsed().as_secs_f64());
    }
    IN_USE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let counted = run();
    COUNTING.store(false, Ordering::Relaxed);
    assert_eq!(unique, counted, "a search gave two counts");
    Figures {
        unique,
        seconds,
        peak_bytes: PEAK.load(Ordering::Relaxed).max(0) as usize,
    }
}

/// The runbook model over a scenario parsed once (so neither checker's time includes parsing).
fn model(scenario: &Scenario, bounds: Bounds) -> Runbook {
    Runbook::new(scenario.clone(), bounds, Default::default())
}

fn main() {
    use stateright::{Checker, Model as _};
    let quick = std::env::args().any(|a| a == "--quick");
    let bounds = Bounds {
        drops: if quick { 0 } else { 1 },
        crashes: 1,
        ..Bounds::default()
    };
    println!(
        "model: fixtures/check/three-cluster-dr-failover.json, drops <= {}, crashes <= {}, breadth-first",
        bounds.drops, bounds.crashes
    );
    println!(
        "{:<24} {:>10} {:>9} {:>12} {:>10}",
        "checker", "unique", "seconds", "unique/s", "peak MB"
    );
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/check/three-cluster-dr-failover.json");
    let scenario = parse_file(&file).unwrap_or_else(|e| panic!("{e}"));
    let mut rows = vec![];
    for threads in [1, 2] {
        let ours = Ours(model(&scenario, bounds));
        let f = measure(|| {
            let options = Options {
                threads,
                ..Options::default()
            };
            engine::search(&ours, &options, |_| {}).stats.unique
        });
        rows.push((format!("ours, {threads} thread(s)"), f));
    }
    for threads in [1, 2] {
        let f = measure(|| {
            let checker = Theirs(model(&scenario, bounds))
                .checker()
                .threads(threads)
                .spawn_bfs()
                .join();
            checker.unique_state_count() as u64
        });
        rows.push((format!("stateright, {threads} thread(s)"), f));
    }
    for (name, f) in &rows {
        println!(
            "{name:<24} {:>10} {:>9.2} {:>12.0} {:>10.1}",
            f.unique,
            f.seconds,
            f.unique as f64 / f.seconds.max(1e-9),
            f.peak_bytes as f64 / 1e6
        );
    }
    let counts: Vec<u64> = rows.iter().map(|(_, f)| f.unique).collect();
    if counts.windows(2).any(|w| w[0] != w[1]) {
        eprintln!("VOID: the checkers explored different numbers of unique states: {counts:?}");
        std::process::exit(1);
    }
    let rate = |i: usize| rows[i].1.unique as f64 / rows[i].1.seconds.max(1e-9);
    println!(
        "equal unique-state counts; one thread: ours {:.1}x stateright's rate; ours on two threads: {:.2}x one",
        rate(0) / rate(2),
        rate(1) / rate(0)
    );
}
