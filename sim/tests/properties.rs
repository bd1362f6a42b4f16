//! Property tests over the public strategies (`replication_sim::fuzz::strategy`): any topology and any
//! event schedule, materialized against the world as it runs, breaks no invariant of model.md §6.

use proptest::prelude::*;
use replication_sim::fuzz::event::FuzzEvent;
use replication_sim::fuzz::strategy::{schedule, topology};
use replication_sim::fuzz::{fingerprint, Driver, Outcome, RunParams};
use replication_sim::scenario::parse_value;
use std::collections::BTreeSet;

fn run(params: &RunParams, events: &[FuzzEvent]) -> Outcome {
    let mut driver = Driver::new(params, &BTreeSet::new());
    for e in events {
        driver.event(e);
    }
    driver.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// model.md §6: every loss has a documented cause, wipes come only from accepted activations, no
    /// set mixing, nothing reaches a revoked secondary, tokens activate once, DR operations are
    /// authorised, enable draws fresh ids, and healed secondaries converge.
    #[test]
    fn any_schedule_on_any_topology_keeps_every_invariant(
        params in topology(),
        events in schedule(120),
    ) {
        let outcome = run(&params, &events);
        prop_assert!(outcome.report.passed(), "{}", outcome.report.render_text());
    }

    /// Determinism: one topology and one schedule give one run, byte for byte (steps and report).
    #[test]
    fn a_schedule_replays_byte_for_byte(params in topology(), events in schedule(60)) {
        let (a, b) = (run(&params, &events), run(&params, &events));
        prop_assert_eq!(&a.steps, &b.steps);
        prop_assert_eq!(a.report.render_text(), b.report.render_text());
        prop_assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    /// Generated steps are scenario-file steps: the run written as a file parses back to exactly the
    /// steps that ran, so every reproducer replays what the fuzzer did.
    #[test]
    fn a_generated_run_round_trips_through_the_scenario_format(
        params in topology(),
        events in schedule(80),
    ) {
        let outcome = run(&params, &events);
        let written = outcome.scenario(&params, "round trip");
        match parse_value(&written.to_json(), None) {
            Ok(parsed) => prop_assert_eq!(parsed, written),
            Err(e) => prop_assert!(false, "the written run does not parse: {}", e),
        }
    }
}
