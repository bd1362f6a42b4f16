//! Proptest strategies for run parameters and event schedules, for property-test suites that want the
//! fuzzer's world without its campaign loop.
//!
//! What they drive is **this simulator's model**: a [`Driver`](super::Driver) turns each abstract
//! [`FuzzEvent`] into a concrete scenario step against the model's world (choosing, say, which
//! token an activation uses from what the model issued), runs it with every oracle on, and lets you
//! look at the world between events. The events are not a protocol another implementation can take
//! directly: they only mean something against the model's state. To check another implementation
//! (a server embedding the core, say), replay scenario files against it and compare: the shipped
//! runbooks, the conformance runbooks, and the reproducers `fuzz` writes are implementation-neutral
//! (see the scenario format in `docs/scenario-format.md`).
//!
//! A property of your own, looking at cluster state after every event (here: persistence, a primary
//! that crashes comes back a primary) and at the oracles' verdict at the end:
//!
//! ```
//! use proptest::prelude::*;
//! use replication_core::{Kind, Mode};
//! use replication_sim::fuzz::{strategy, Driver};
//! use std::collections::BTreeMap;
//!
//! proptest! {
//!     // A fixed seed and no failure file keep a test suite reproducible.
//!     #![proptest_config(ProptestConfig {
//!         cases: 8,
//!         rng_seed: proptest::test_runner::RngSeed::Fixed(1),
//!         failure_persistence: None,
//!         ..ProptestConfig::default()
//!     })]
//!     // In a test file, mark the function #[test] (and drop the `main` that calls it here).
//!     fn a_crashed_primary_restarts_as_a_primary(
//!         params in strategy::topology(),
//!         events in strategy::schedule(60),
//!     ) {
//!         let mut driver = Driver::new(&params, &Default::default());
//!         // The kinds each crashed cluster was primary of, when it went down.
//!         let mut down: BTreeMap<String, Vec<Kind>> = BTreeMap::new();
//!         for event in &events {
//!             if !driver.event(event) {
//!                 continue; // the event does not apply now (a restart while all run, ...)
//!             }
//!             for (name, node) in &driver.world().nodes {
//!                 let primary_of: Vec<Kind> = Kind::ALL
//!                     .into_iter()
//!                     .filter(|k| node.cluster().mode(*k) == Mode::Primary)
//!                     .collect();
//!                 if !node.up {
//!                     down.entry(name.clone()).or_insert(primary_of);
//!                 } else if let Some(before) = down.remove(name) {
//!                     for kind in before {
//!                         prop_assert!(primary_of.contains(&kind), "{} lost its {} primary role", name, kind);
//!                     }
//!                 }
//!             }
//!         }
//!         // The heal phase, the convergence check and every oracle's verdict.
//!         let outcome = driver.finish();
//!         prop_assert!(outcome.report.violations.is_empty(), "{}", outcome.report.render_text());
//!     }
//! }
//! # fn main() { a_crashed_primary_restarts_as_a_primary(); }
//! ```
//!
//! A failing case shrinks (fewer events, simpler parameters) as proptest shrinks any input;
//! `Driver::finish` gives the run's report and `Outcome::scenario` a scenario file that replays it.

use super::event::{FuzzEvent, KEYS, MOUNTS};
#[cfg(doc)]
use super::Outcome;
use super::RunParams;
use proptest::prelude::*;

/// Run parameters: 2-6 clusters, any kind mix, fault mix, write rate, buffer and heartbeat.
pub fn topology() -> impl Strategy<Value = RunParams> {
    (
        any::<u64>(),
        2usize..=6,
        prop::sample::select(vec![0u8, 30, 50, 70, 100]),
        0u8..3,
        20u8..60,
        prop::sample::select(vec![2usize, 4, 16, 64]),
        prop::sample::select(vec![1u64, 5, 10]),
    )
        .prop_map(
            |(seed, clusters, performance_pct, fault_mix, write_rate, buffer, heartbeat_secs)| {
                RunParams {
                    run: 0,
                    seed,
                    clusters,
                    performance_pct,
                    fault_mix,
                    write_rate,
                    buffer,
                    heartbeat_secs,
                }
            },
        )
}

/// One abstract event.
pub fn event() -> impl Strategy<Value = FuzzEvent> {
    let c = 0u8..6;
    let m = 0u8..MOUNTS.len() as u8;
    let k = 0u8..KEYS;
    prop_oneof![
        6 => (c.clone(), m.clone(), k.clone()).prop_map(|(cluster, mount, key)| FuzzEvent::Write { cluster, mount, key }),
        2 => (c.clone(), m.clone(), k.clone()).prop_map(|(cluster, mount, key)| FuzzEvent::Delete { cluster, mount, key }),
        1 => (c.clone(), m, k).prop_map(|(cluster, mount, key)| FuzzEvent::Read { cluster, mount, key }),
        6 => (c.clone(), any::<bool>(), any::<u8>(), any::<bool>()).prop_map(|(cluster, performance, choice, flag)| FuzzEvent::Operator { cluster, performance, choice, flag }),
        4 => (200u32..20_000).prop_map(|millis| FuzzEvent::Advance { millis }),
        1 => any::<u8>().prop_map(|mask| FuzzEvent::Partition { mask }),
        1 => Just(FuzzEvent::Heal),
        1 => c.clone().prop_map(|cluster| FuzzEvent::Crash { cluster }),
        1 => c.clone().prop_map(|cluster| FuzzEvent::Restart { cluster }),
        1 => (c, any::<u8>()).prop_map(|(cluster, choice)| FuzzEvent::Garbage { cluster, choice }),
    ]
}

/// A schedule of up to `max` events (shrinks by dropping events).
pub fn schedule(max: usize) -> impl Strategy<Value = Vec<FuzzEvent>> {
    prop::collection::vec(event(), 0..=max)
}
