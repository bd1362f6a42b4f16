//! Breadth-first search on several threads, one depth level at a time, with the same result as one
//! thread.
//!
//! Each level's frontier is cut into chunks; worker threads take chunks in turn and, for every
//! state of a chunk, compute its actions, next states, fingerprints and findings (and a leaf's
//! checks), skipping next states the visited set already holds (it does not change during the
//! level, so they read it without locks). Then one thread merges the chunks in frontier order
//! exactly as the one-thread loop would have handled them: counting, deduplicating, recording
//! parents and findings. So the states, counts and counterexamples are those of one thread; only
//! the time differs. When a level starts over the frontier budget, the rest of the search goes on
//! depth-first in the one-thread loop, which makes the same decision at the same level.

use super::{note, Finding, Model, Options, Run, Stopped, Visited, CHECK_EVERY};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

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

/// Where a worker leaves what it made of one chunk.
type Slot<S> = Mutex<Option<Vec<Done<S>>>>;

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

/// States per chunk a worker takes at a time.
const CHUNK: usize = 16;

/// Works whole levels of a breadth-first search on `options.threads` threads, until the search
/// ends, stops, or its next level outgrows the frontier budget (then `frontier` holds that level
/// for the one-thread loop).
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
    while !frontier.is_empty() {
        if options
            .frontier_budget
            .is_some_and(|budget| frontier.len() > budget)
        {
            return;
        }
        // Each chunk is owned by the worker that takes it, which also frees its states.
        let mut keys: Vec<(u64, usize)> = Vec::with_capacity(frontier.len());
        let mut work: Vec<Mutex<Vec<M::State>>> = Vec::new();
        for (i, (state, fp, depth)) in frontier.drain(..).enumerate() {
            if i % CHUNK == 0 {
                work.push(Mutex::new(Vec::with_capacity(CHUNK)));
            }
            keys.push((fp, depth));
            if let Some(Ok(chunk)) = work.last_mut().map(Mutex::get_mut) {
                chunk.push(state);
            }
        }
        let chunks = work.len();
        let results: Vec<Slot<M::State>> = (0..chunks).map(|_| Mutex::new(None)).collect();
        let next_chunk = AtomicUsize::new(0);
        let seen: &Visited = visited;
        let claims = Claims::new();
        let claims = &claims;
        let keys_ref = &keys;
        std::thread::scope(|scope| {
            for _ in 0..options.threads {
                scope.spawn(|| {
                    let mut actions = Vec::new();
                    loop {
                        let c = next_chunk.fetch_add(1, Ordering::Relaxed);
                        if c >= chunks || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if options.timeout.is_some_and(|t| start.elapsed() >= t) {
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                        let part = work[c]
                            .lock()
                            .map(|mut v| std::mem::take(&mut *v))
                            .unwrap_or_default();
                        let done = part
                            .into_iter()
                            .enumerate()
                            .map(|(i, state)| {
                                let index = c * CHUNK + i;
                                let depth = keys_ref[index].1;
                                let mine = Mine { claims, index };
                                expand(model, options, &state, depth, seen, mine, &mut actions)
                            })
                            .collect();
                        if let Ok(mut slot) = results[c].lock() {
                            *slot = Some(done);
                        }
                    }
                });
            }
        });
        if stop.load(Ordering::Relaxed) {
            out.stopped = Some(Stopped::Timeout);
            return;
        }
        let results = results.into_iter().map(|m| m.into_inner().ok().flatten());
        for (&(fp, depth), done) in keys.iter().zip(results.flatten().flatten()) {
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
                            out.stats.peak_frontier = out.stats.peak_frontier.max(frontier.len());
                        }
                        if options.max_states.is_some_and(|m| out.stats.unique >= m) {
                            out.stopped = Some(Stopped::MaxStates);
                            return;
                        }
                    }
                    out.stats.generated = before + generated;
                }
            }
        }
    }
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
