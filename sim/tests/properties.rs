//! Property tests over the public strategies (`replication_sim::fuzz::strategy`): any topology and any
//! event schedule, materialized against the world as it runs, breaks no invariant of model.md §6.

use proptest::prelude::*;
use replication_sim::fuzz::event::GenState;
use replication_sim::fuzz::strategy::{schedule, topology};
use replication_sim::fuzz::RunParams;
use replication_sim::runner::Runner;
use replication_sim::scenario::{parse_value, StepParser};

fn run(params: &RunParams, events: &[replication_sim::fuzz::event::FuzzEvent]) -> String {
    let scenario = parse_value(&params.header(), None).unwrap();
    let mut runner = Runner::new(&scenario);
    let mut parser = StepParser::new(&scenario);
    let mut state = GenState::default();
    for e in events {
        if let Some(v) = state.materialize(e, &runner.world) {
            if let Ok(spec) = parser.parse(&v) {
                runner.step(&spec);
            }
        }
    }
    let settle = format!("{}s", params.heartbeat_secs * 12);
    for v in state.heal_steps(&runner.world, &settle) {
        if let Ok(spec) = parser.parse(&v) {
            runner.step(&spec);
        }
    }
    let report = runner.finish(None);
    if report.passed() {
        String::new()
    } else {
        report.render_text()
    }
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
        let failure = run(&params, &events);
        prop_assert!(failure.is_empty(), "{}", failure);
    }

    /// Determinism: one topology and one schedule give one report, byte for byte.
    #[test]
    fn a_schedule_replays_byte_for_byte(params in topology(), events in schedule(60)) {
        let scenario = parse_value(&params.header(), None).unwrap();
        let once = || {
            let mut runner = Runner::new(&scenario);
            let mut parser = StepParser::new(&scenario);
            let mut state = GenState::default();
            for e in &events {
                if let Some(v) = state.materialize(e, &runner.world) {
                    if let Ok(spec) = parser.parse(&v) {
                        runner.step(&spec);
                    }
                }
            }
            runner.finish(None).render_text()
        };
        prop_assert_eq!(once(), once());
    }
}
