//! The engine on small models whose state counts are known (worked out by hand and by an independent
//! breadth-first search), as stateright pins its examples.

use super::*;
use std::hash::{DefaultHasher, Hash, Hasher};

fn fp(x: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

/// The Die Hard puzzle: a 3-gallon and a 5-gallon jug, fill, empty or pour one into the other.
/// "The 5-gallon jug holds 4" is a `sometimes` property (and, for the shortest-trace test, a broken
/// rule).
struct Jugs {
    four_is_bad: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Jug {
    FillSmall,
    FillBig,
    EmptySmall,
    EmptyBig,
    SmallIntoBig,
    BigIntoSmall,
}

impl Model for Jugs {
    type State = (u8, u8);
    type Action = Jug;
    fn init_states(&self) -> Vec<(u8, u8)> {
        vec![(0, 0)]
    }
    fn actions(&self, _: &(u8, u8), out: &mut Vec<Jug>) {
        use Jug::*;
        out.extend([
            FillSmall,
            FillBig,
            EmptySmall,
            EmptyBig,
            SmallIntoBig,
            BigIntoSmall,
        ]);
    }
    fn next_state(&self, &(a, b): &(u8, u8), action: &Jug) -> Option<(u8, u8)> {
        Some(match action {
            Jug::FillSmall => (3, b),
            Jug::FillBig => (a, 5),
            Jug::EmptySmall => (0, b),
            Jug::EmptyBig => (a, 0),
            Jug::SmallIntoBig => {
                let t = a.min(5 - b);
                (a - t, b + t)
            }
            Jug::BigIntoSmall => {
                let t = b.min(3 - a);
                (a + t, b - t)
            }
        })
    }
    fn fingerprint(&self, s: &(u8, u8)) -> u64 {
        fp(s)
    }
    fn findings(&self, s: &(u8, u8), out: &mut Vec<Finding>) {
        if s.1 == 4 {
            out.push(if self.four_is_bad {
                Finding::Broken("four".into())
            } else {
                Finding::Reached("four".into())
            });
        }
    }
    fn sometimes(&self) -> Vec<String> {
        vec!["four".into(), "seven".into()]
    }
}

/// `n` processes each add one to a shared counter in two steps (read it, then write what they read
/// plus one): the lost update. At a leaf the counter must equal `n`.
struct LostUpdate {
    n: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Counter {
    value: usize,
    pc: Vec<u8>,
    read: Vec<usize>,
}

impl Model for LostUpdate {
    type State = Counter;
    type Action = usize;
    fn init_states(&self) -> Vec<Counter> {
        vec![Counter {
            value: 0,
            pc: vec![0; self.n],
            read: vec![0; self.n],
        }]
    }
    fn actions(&self, s: &Counter, out: &mut Vec<usize>) {
        out.extend((0..self.n).filter(|i| s.pc[*i] < 2));
    }
    fn next_state(&self, s: &Counter, &i: &usize) -> Option<Counter> {
        let mut s = s.clone();
        match s.pc[i] {
            0 => s.read[i] = s.value,
            _ => s.value = s.read[i] + 1,
        }
        s.pc[i] += 1;
        Some(s)
    }
    fn fingerprint(&self, s: &Counter) -> u64 {
        fp(s)
    }
    fn leaf_findings(&self, s: &Counter, out: &mut Vec<Finding>) {
        if s.value != self.n {
            out.push(Finding::Broken("lost-update".into()));
        }
    }
}

/// A line 0, 1, 2, ... up to `end`, where state 0 may also jump straight to the bad state 1000 and
/// state `end - 1` is bad too: the bad state is 1 action away and `end - 1` actions away.
struct Line {
    end: u32,
}

impl Model for Line {
    type State = u32;
    type Action = &'static str;
    fn init_states(&self) -> Vec<u32> {
        vec![0]
    }
    fn actions(&self, s: &u32, out: &mut Vec<&'static str>) {
        if *s < self.end {
            out.push("step");
        }
        if *s == 0 {
            out.push("jump");
        }
    }
    fn next_state(&self, s: &u32, a: &&'static str) -> Option<u32> {
        Some(if *a == "jump" { 1000 } else { s + 1 })
    }
    fn fingerprint(&self, s: &u32) -> u64 {
        fp(s)
    }
    fn findings(&self, s: &u32, out: &mut Vec<Finding>) {
        if *s == 1000 || *s == self.end - 1 {
            out.push(Finding::Broken("bad".into()));
        }
    }
}

/// Counts without end: only a bound stops the search.
struct Unbounded;

impl Model for Unbounded {
    type State = u64;
    type Action = u64;
    fn init_states(&self) -> Vec<u64> {
        vec![0]
    }
    fn actions(&self, _: &u64, out: &mut Vec<u64>) {
        out.extend([1, 2]);
    }
    fn next_state(&self, s: &u64, a: &u64) -> Option<u64> {
        Some(s * 2 + a)
    }
    fn fingerprint(&self, s: &u64) -> u64 {
        fp(s)
    }
}

fn run<M: Model>(m: &M, options: Options) -> Search {
    search(m, &options, |_| {})
}

#[test]
fn die_hard_reaches_16_states_and_four_gallons_in_six_pours() {
    let m = Jugs { four_is_bad: false };
    for order in [Order::Bfs, Order::Dfs] {
        let s = run(
            &m,
            Options {
                order,
                ..Options::default()
            },
        );
        assert_eq!(s.stats.unique, 16, "{order:?}");
        assert_eq!(s.stats.leaves, 0, "every state can pour");
        assert!(s.stopped.is_none());
        assert!(s.reached.contains_key("four"));
        assert_eq!(s.never_reached, vec!["seven".to_string()]);
        // Each state is generated once per action: 16 states x 6 actions.
        assert_eq!(s.stats.generated, 96);
    }
    let bfs = run(&m, Options::default());
    assert_eq!(bfs.reached["four"].depth, 6);
    // Two states hold 4 gallons in the big jug: (0, 4) and (3, 4).
    assert_eq!(bfs.reached["four"].count, 2);
}

#[test]
fn lost_update_state_counts_and_the_racy_leaves() {
    for (n, unique, leaves, racy) in [(1, 3, 1, 0), (2, 13, 3, 1), (3, 84, 16, 10)] {
        let s = run(&LostUpdate { n }, Options::default());
        assert_eq!(
            (s.stats.unique, s.stats.leaves),
            (unique, leaves),
            "n = {n}"
        );
        match s.broken.get("lost-update") {
            Some(d) => assert_eq!(d.count, racy, "n = {n}"),
            None => assert_eq!(racy, 0, "n = {n}"),
        }
    }
}

#[test]
fn breadth_first_gives_the_shortest_counterexample_and_it_replays() {
    let m = Line { end: 25 };
    let s = run(&m, Options::default());
    let bad = s.broken["bad"];
    assert_eq!(bad.depth, 1, "the jump is one action away");
    assert_eq!(bad.count, 2, "both bad states are seen");
    let (init, path) = s.path(&m, bad.fingerprint).expect("a path to it");
    assert_eq!(init, 0);
    assert_eq!(path, vec![("jump", 1000)]);

    // Depth-first may find the far one first; whatever it finds replays to a bad state.
    let d = run(
        &m,
        Options {
            order: Order::Dfs,
            ..Options::default()
        },
    );
    let (_, path) = d.path(&m, d.broken["bad"].fingerprint).unwrap();
    let end = path.last().unwrap().1;
    assert!(end == 1000 || end == 24);
    assert_eq!(path.len(), d.broken["bad"].depth);
}

#[test]
fn a_broken_state_is_not_explored_further() {
    // Past the bad state 24 lies 25, which only 24 leads to.
    let s = run(&Line { end: 25 }, Options::default());
    // 0..=24 and 1000; 25 is never generated.
    assert_eq!(s.stats.unique, 26);
}

#[test]
fn max_states_and_max_depth_stop_an_endless_model() {
    let s = run(
        &Unbounded,
        Options {
            max_states: Some(1000),
            ..Options::default()
        },
    );
    assert_eq!(s.stopped, Some(Stopped::MaxStates));
    assert_eq!(s.stats.unique, 1000);

    // Depth 3 of a binary tree: 1 + 2 + 4 + 8 states.
    let s = run(
        &Unbounded,
        Options {
            max_depth: Some(3),
            ..Options::default()
        },
    );
    assert_eq!(s.stopped, None);
    assert_eq!(s.stats.unique, 15);
    assert_eq!(s.stats.max_depth, 3);
}

#[test]
fn a_timeout_stops_a_single_threaded_search() {
    let s = run(
        &Unbounded,
        Options {
            timeout: Some(Duration::ZERO),
            ..Options::default()
        },
    );
    assert_eq!(s.stopped, Some(Stopped::Timeout));
    assert!(s.stats.generated <= CHECK_EVERY);
}

#[test]
fn a_frontier_over_budget_finds_the_same_states_without_promising_shortest_paths() {
    let full = run(&LostUpdate { n: 3 }, Options::default());
    let tight = run(
        &LostUpdate { n: 3 },
        Options {
            frontier_budget: Some(2),
            ..Options::default()
        },
    );
    assert!(full.shortest);
    assert!(!tight.shortest);
    assert_eq!(tight.stats.unique, full.stats.unique);
    assert_eq!(
        tight.broken["lost-update"].count,
        full.broken["lost-update"].count
    );
}

#[test]
fn the_visited_set_costs_at_most_16_bytes_a_state() {
    let s = run(
        &Unbounded,
        Options {
            max_states: Some(100_000),
            ..Options::default()
        },
    );
    let b = s.visited_bytes_per_state();
    assert!((12.0..=16.0).contains(&b), "{b} bytes a state");
}

/// Two or three threads find exactly what one thread finds: the same states, counts, depths and
/// first discoveries (so the same shortest counterexamples).
#[test]
fn threads_change_nothing_but_the_time() {
    fn same<M: Model>(m: &M, base: Options) {
        let one = run(m, base.clone());
        for threads in [2, 3] {
            let many = run(
                m,
                Options {
                    threads,
                    ..base.clone()
                },
            );
            assert_eq!(one.stats.unique, many.stats.unique);
            assert_eq!(one.stats.generated, many.stats.generated);
            assert_eq!(one.stats.leaves, many.stats.leaves);
            assert_eq!(one.stats.max_depth, many.stats.max_depth);
            assert_eq!(one.broken, many.broken);
            assert_eq!(one.reached, many.reached);
            assert_eq!(one.stopped, many.stopped);
            assert_eq!(one.shortest, many.shortest);
        }
    }
    same(&Jugs { four_is_bad: true }, Options::default());
    same(&LostUpdate { n: 3 }, Options::default());
    same(
        &LostUpdate { n: 3 },
        Options {
            frontier_budget: Some(5),
            ..Options::default()
        },
    );
    same(&Line { end: 25 }, Options::default());
    same(
        &Unbounded,
        Options {
            max_states: Some(5000),
            ..Options::default()
        },
    );
    same(
        &Unbounded,
        Options {
            max_depth: Some(6),
            ..Options::default()
        },
    );
}

/// [`Unbounded`], with a bug: it panics at a chosen state.
struct PanicsAt(u64);

impl Model for PanicsAt {
    type State = u64;
    type Action = u64;
    fn init_states(&self) -> Vec<u64> {
        Unbounded.init_states()
    }
    fn actions(&self, s: &u64, out: &mut Vec<u64>) {
        Unbounded.actions(s, out)
    }
    fn next_state(&self, s: &u64, a: &u64) -> Option<u64> {
        assert!(*s != self.0, "the model broke at {s}");
        Unbounded.next_state(s, a)
    }
    fn fingerprint(&self, s: &u64) -> u64 {
        Unbounded.fingerprint(s)
    }
}

/// A model that panics on a worker thread makes the search panic with the model's message, on any
/// number of threads: the other workers and the merging thread are released, not left waiting.
#[test]
fn a_panic_in_the_model_reaches_the_caller_instead_of_hanging_the_workers() {
    for threads in [1, 2, 3] {
        let caught = std::panic::catch_unwind(|| {
            run(
                &PanicsAt(40),
                Options {
                    threads,
                    ..Options::default()
                },
            )
        });
        let Err(payload) = caught else {
            panic!("{threads} thread(s): the search must panic");
        };
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            message.contains("the model broke at 40"),
            "{threads}: {message}"
        );
    }
}

/// A timeout stops a search on several threads too, between chunks.
#[test]
fn a_timeout_stops_a_search_on_several_threads() {
    let s = run(
        &Unbounded,
        Options {
            threads: 2,
            timeout: Some(Duration::ZERO),
            ..Options::default()
        },
    );
    assert_eq!(s.stopped, Some(Stopped::Timeout));
    assert!(s.stats.generated <= 2, "{}", s.stats.generated);
}
