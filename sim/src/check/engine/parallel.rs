//! Breadth-first search on several threads, one depth level at a time, with the same result as one
//! thread.
//!
//! The worker threads live for the whole search. Each level's frontier is cut into chunks, each
//! chunk holding states one worker made; every worker takes its own chunks first and then helps
//! with the others'. For every state of a chunk it computes the actions, next states, fingerprints
//! and findings (and a leaf's checks), skipping next states the visited set already holds (it does
//! not change during the level, so the workers share it for reading). Then the main thread merges
//! the chunks in frontier order exactly as the one-thread loop would have handled them: counting,
//! deduplicating, recording parents and findings. So the states, counts and counterexamples are
//! those of one thread; only the time differs. When a level starts over the frontier budget, the
//! rest of the search goes on depth-first in the one-thread loop, which makes the same decision at
//! the same level.

use super::{note, Finding, Model, Options, Run, Stopped, Visited, CHECK_EVERY};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

/// What a worker made of one frontier state.
enum Done<S> {
    /// It had no action: the leaf's findings.
    Leaf(Vec<Finding>),
    /// Its next states, in action order: `generated` actions tried, then each next state not yet
    /// visited when the level began, with its action's position, its fingerprint and findings.
    Expanded {
        generated: u64,
        next: Vec<(u64, u64, S, Vec<Finding>)>,
    },
}

/// The next states generated so far in a level, by fingerprint, with the position (in the order
/// the one-thread loop generates them) of the earliest generation: a worker drops a next state that
/// an earlier position already generated, since the merge would drop it anyway. Sharded by
/// fingerprint to keep the locks short.
struct Claims {
    shards: Vec<Mutex<HashMap<u64, u64, BuildHasherDefault<Identity>>>>,
}

/// A fingerprint is already a hash: the claim tables use it as is.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl Claims {
    fn new() -> Claims {
        Claims {
            shards: (0..64).map(|_| Mutex::new(Default::default())).collect(),
        }
    }
}

/// A frontier state's right to claim next states (its index in the level).
#[derive(Clone, Copy)]
struct Mine<'a> {
    claims: &'a Claims,
    index: usize,
}

impl Mine<'_> {
    /// Whether this state's `position`-th action is the earliest so far to generate `fp`. A later
    /// generation that loses here is dropped; an earlier one that comes later takes the claim (the
    /// merge, in order, keeps the earliest either way).
    fn claim(self, fp: u64, position: usize) -> bool {
        let at = ((self.index as u64) << 24) | position as u64;
        let Ok(mut shard) = self.claims.shards[(fp % 64) as usize].lock() else {
            return true;
        };
        match shard.get(&fp) {
            Some(&earlier) if earlier < at => false,
            _ => {
                shard.insert(fp, at);
                true
            }
        }
    }
}

/// Most states in a chunk a worker takes at a time.
const CHUNK: usize = 16;

/// One level's work, as the workers see it: the frontier cut into chunks, each chunk listed under
/// the worker that made its states, and a slot for each chunk's results.
struct Level<S> {
    /// Fingerprint and depth of each frontier state, in frontier order.
    keys: Vec<(u64, usize)>,
    /// The states of each chunk (taken by the worker that works it, which also frees them).
    chunks: Vec<Mutex<Vec<S>>>,
    /// The frontier index of each chunk's first state.
    starts: Vec<usize>,
    /// For each worker, the chunks whose states it made.
    owned: Vec<Vec<usize>>,
    /// For each worker, how far into its `owned` list the workers have taken.
    cursors: Vec<AtomicUsize>,
    /// Each chunk's results, with the worker that made them.
    results: Vec<Slot<S>>,
    claims: Claims,
}

/// Where a worker leaves what it made of one chunk, with its own number.
type Slot<S> = Mutex<Option<(usize, Vec<Done<S>>)>>;

impl<S> Level<S> {
    /// Cuts `frontier` into chunks of at most [`CHUNK`] states with one maker each.
    fn new(frontier: impl Iterator<Item = ((S, u64, usize), usize)>, threads: usize) -> Level<S> {
        let mut level = Level {
            keys: Vec::new(),
            chunks: Vec::new(),
            starts: Vec::new(),
            owned: vec![Vec::new(); threads],
            cursors: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
            results: Vec::new(),
            claims: Claims::new(),
        };
        let mut current: Option<(usize, Vec<S>)> = None;
        for (i, ((state, fp, depth), maker)) in frontier.enumerate() {
            level.keys.push((fp, depth));
            let full = current
                .as_ref()
                .is_some_and(|(m, c)| *m != maker || c.len() == CHUNK);
            if full {
                level.close(current.take());
            }
            let (_, chunk) = current.get_or_insert_with(|| (maker, Vec::with_capacity(CHUNK)));
            if chunk.is_empty() {
                level.starts.push(i);
            }
            chunk.push(state);
        }
        level.close(current);
        level
    }

    fn close(&mut self, chunk: Option<(usize, Vec<S>)>) {
        if let Some((maker, states)) = chunk {
            let (owner, index) = (maker % self.owned.len(), self.chunks.len());
            self.owned[owner].push(index);
            self.chunks.push(Mutex::new(states));
            self.results.push(Mutex::new(None));
        }
    }

    /// The next chunk for worker `me`: one of its own while there are any, then one of the
    /// others' (so no worker idles while work is left).
    fn take(&self, me: usize) -> Option<usize> {
        let n = self.owned.len();
        (0..n).map(|k| (me + k) % n).find_map(|w| {
            let at = self.cursors[w].fetch_add(1, Ordering::Relaxed);
            self.owned[w].get(at).copied()
        })
    }
}

/// Works whole levels of a breadth-first search on `options.threads` threads, until the search
/// ends, stops, or its next level outgrows the frontier budget (then `frontier` holds that level
/// for the one-thread loop).
///
/// The workers live for the whole search, and each works first the states it made itself: most
/// states are then freed by the thread that allocated them (all but those in chunks another worker
/// helped with, and next states the merge throws away), which the allocator does at a fraction of
/// the cost of a free from another thread. Which thread works which state changes only the time: a
/// chunk's results go to its slot, and the merge reads the slots in frontier order.
pub(super) fn levels<M: Model>(run: &mut Run<'_, M>) {
    let (model, options, start) = (run.model, run.options, run.start);
    let Run {
        progress,
        visited,
        frontier,
        out,
        ..
    } = run;
    let stop = AtomicBool::new(false);
    let panicked: Mutex<Option<Box<dyn std::any::Any + Send>>> = Mutex::new(None);
    let seen = RwLock::new(std::mem::take(visited));
    let level: RwLock<Option<Level<M::State>>> = RwLock::new(None);
    let gate = Gate::default();
    // Which worker made each frontier state (the initial states: the main thread, counted as 0).
    let mut makers: Vec<usize> = vec![0; frontier.len()];
    std::thread::scope(|scope| {
        // The workers that could be started: the levels are shared among them (none: the
        // one-thread loop does the whole search).
        let mut workers = 0;
        for me in 0..options.threads {
            let (stop, panicked, gate) = (&stop, &panicked, &gate);
            let (seen, level) = (&seen, &level);
            let worker = move || {
                let mut last = 0;
                while let Some(n) = gate.next(last) {
                    last = n;
                    let work = std::panic::AssertUnwindSafe(|| {
                        let level = level.read().unwrap_or_else(|e| e.into_inner());
                        let seen = seen.read().unwrap_or_else(|e| e.into_inner());
                        if let Some(level) = level.as_ref() {
                            work(model, options, start, level, &seen, me, stop);
                        }
                    });
                    if let Err(p) = std::panic::catch_unwind(work) {
                        stop.store(true, Ordering::Relaxed);
                        if let Ok(mut slot) = panicked.lock() {
                            slot.get_or_insert(p);
                        }
                    }
                    gate.done();
                }
            };
            let started = std::thread::Builder::new()
                .name(format!("check-{me}"))
                .spawn_scoped(scope, worker);
            if started.is_err() {
                break;
            }
            workers += 1;
        }
        // A panic in the merge must still close the gate, or the workers would wait forever.
        let main = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            while workers > 0 && !frontier.is_empty() {
                if options
                    .frontier_budget
                    .is_some_and(|budget| frontier.len() > budget)
                {
                    break;
                }
                let this = Level::new(frontier.drain(..).zip(std::mem::take(&mut makers)), workers);
                *level.write().unwrap_or_else(|e| e.into_inner()) = Some(this);
                gate.work_level(workers);
                let Some(this) = level.write().unwrap_or_else(|e| e.into_inner()).take() else {
                    break;
                };
                if stop.load(Ordering::Relaxed) {
                    out.stopped = Some(Stopped::Timeout);
                    break;
                }
                let mut visited = seen.write().unwrap_or_else(|e| e.into_inner());
                if !merge(
                    this,
                    &mut visited,
                    frontier,
                    &mut makers,
                    out,
                    progress,
                    options,
                ) {
                    break;
                }
            }
        }));
        gate.close();
        if let Err(p) = main {
            std::panic::resume_unwind(p);
        }
    });
    if let Some(p) = panicked.into_inner().ok().flatten() {
        std::panic::resume_unwind(p);
    }
    *visited = seen.into_inner().unwrap_or_else(|e| e.into_inner());
}

/// Where the main thread hands each level to the workers and waits until all of them are done
/// with it. (A barrier would hang if a worker could not be started; this counts the workers there
/// are.)
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    to_workers: std::sync::Condvar,
    to_main: std::sync::Condvar,
}

#[derive(Default)]
struct GateState {
    /// The number of the level open now (levels count from 1).
    level: u64,
    /// Workers not yet done with it.
    working: usize,
    /// No more levels: the workers end.
    closed: bool,
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A worker: waits for a level after level `last`; `None` once the gate is closed.
    fn next(&self, last: u64) -> Option<u64> {
        let mut s = self.lock();
        loop {
            if s.closed {
                return None;
            }
            if s.level > last {
                return Some(s.level);
            }
            s = self.to_workers.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// A worker: done with the open level.
    fn done(&self) {
        let mut s = self.lock();
        s.working = s.working.saturating_sub(1);
        if s.working == 0 {
            self.to_main.notify_one();
        }
    }

    /// The main thread: opens the next level for `workers` workers and waits until every one is
    /// done with it.
    fn work_level(&self, workers: usize) {
        let mut s = self.lock();
        s.level += 1;
        s.working = workers;
        self.to_workers.notify_all();
        while s.working > 0 {
            s = self.to_main.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The main thread: no more levels.
    fn close(&self) {
        self.lock().closed = true;
        self.to_workers.notify_all();
    }
}

/// Worker `me`'s part of a level: chunks until none is left, the search stops or time is up.
fn work<M: Model>(
    model: &M,
    options: &Options,
    start: std::time::Instant,
    level: &Level<M::State>,
    seen: &Visited,
    me: usize,
    stop: &AtomicBool,
) {
    let mut actions = Vec::new();
    while let Some(c) = level.take(me) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if options.timeout.is_some_and(|t| start.elapsed() >= t) {
            stop.store(true, Ordering::Relaxed);
            return;
        }
        let part = level.chunks[c]
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        let done = part
            .into_iter()
            .enumerate()
            .map(|(i, state)| {
                let index = level.starts[c] + i;
                let depth = level.keys[index].1;
                let mine = Mine {
                    claims: &level.claims,
                    index,
                };
                expand(model, options, &state, depth, seen, mine, &mut actions)
            })
            .collect();
        if let Ok(mut slot) = level.results[c].lock() {
            *slot = Some((me, done));
        }
    }
}

/// Merges a worked level in frontier order, exactly as the one-thread loop would have handled it:
/// counting, deduplicating, recording parents and findings, and queuing the next level (with the
/// worker that made each state). False when the search stopped at `--max-states`.
fn merge<S>(
    level: Level<S>,
    visited: &mut Visited,
    frontier: &mut std::collections::VecDeque<(S, u64, usize)>,
    makers: &mut Vec<usize>,
    out: &mut super::Search,
    progress: &mut dyn FnMut(&super::Stats),
    options: &Options,
) -> bool {
    // Every chunk was worked (a stopped level is not merged), so each slot holds a result.
    let results = level
        .results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every chunk of a merged level was worked")
        })
        .flat_map(|(maker, done)| done.into_iter().map(move |d| (maker, d)));
    for (&(fp, depth), (maker, done)) in level.keys.iter().zip(results) {
        match done {
            Done::Leaf(findings) => {
                out.stats.leaves += 1;
                note(&findings, fp, depth, out);
            }
            Done::Expanded { generated, next } => {
                let before = out.stats.generated;
                if before / CHECK_EVERY != (before + generated) / CHECK_EVERY {
                    out.stats.frontier = frontier.len();
                    progress(&out.stats);
                }
                for (position, nfp, state, findings) in next {
                    // Counted as the one-thread loop counts: up to this action.
                    out.stats.generated = before + position + 1;
                    if !visited.insert(nfp, fp) {
                        continue;
                    }
                    out.stats.unique += 1;
                    out.stats.max_depth = out.stats.max_depth.max(depth + 1);
                    if note(&findings, nfp, depth + 1, out) {
                        frontier.push_back((state, nfp, depth + 1));
                        makers.push(maker);
                        out.stats.peak_frontier = out.stats.peak_frontier.max(frontier.len());
                    }
                    if options.max_states.is_some_and(|m| out.stats.unique >= m) {
                        out.stopped = Some(Stopped::MaxStates);
                        return false;
                    }
                }
                out.stats.generated = before + generated;
            }
        }
    }
    true
}

/// One frontier state's part of a level: what the one-thread loop computes for it.
fn expand<M: Model>(
    model: &M,
    options: &Options,
    state: &M::State,
    depth: usize,
    seen: &Visited,
    mine: Mine<'_>,
    actions: &mut Vec<M::Action>,
) -> Done<M::State> {
    if options.max_depth.is_some_and(|max| depth >= max) {
        return Done::Expanded {
            generated: 0,
            next: Vec::new(),
        };
    }
    actions.clear();
    model.actions(state, actions);
    if actions.is_empty() {
        let mut findings = Vec::new();
        model.leaf_findings(state, &mut findings);
        return Done::Leaf(findings);
    }
    let mut next = Vec::new();
    for (position, a) in actions.iter().enumerate() {
        let Some(n) = model.next_state(state, a) else {
            continue;
        };
        let nfp = model.fingerprint(&n);
        if seen.contains(nfp) || !mine.claim(nfp, position) {
            continue;
        }
        let mut findings = Vec::new();
        model.findings(&n, &mut findings);
        next.push((position as u64, nfp, n, findings));
    }
    Done::Expanded {
        generated: actions.len() as u64,
        next,
    }
}
