//! The fuzzer in a CI-sized budget: the seed-1 campaign passes, runs are reproducible, and every
//! deliberately injected core bug is found from seed 1, shrunk, and written as a reproducer that fails
//! with the bug and passes without it (proving the checkers can fail).

use replication_core::Bug;
use replication_sim::fuzz::{fingerprint, run_generated, run_steps, shrink, RunParams};
use replication_sim::runner::Runner;
use replication_sim::scenario::parse_value;
use std::collections::BTreeSet;

const SEED: u64 = 1;
const STEPS: usize = 300;

/// The campaign (`fuzz --seed 1 --runs 200 --steps 300`) finds nothing in the correct core.
#[test]
fn the_seed_1_campaign_without_bugs_finds_nothing() {
    for run in 1..=200 {
        let params = RunParams::derive(SEED, run, None);
        let o = run_generated(&params, STEPS, &BTreeSet::new());
        assert!(
            o.failure().is_none(),
            "{}: {}\n{}",
            params.line(),
            o.failure_text(),
            o.report.render_text()
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_event_log() {
    for run in [1, 2, 3] {
        let params = RunParams::derive(SEED, run, Some(4));
        let a = run_generated(&params, 120, &BTreeSet::new());
        let b = run_generated(&params, 120, &BTreeSet::new());
        assert_eq!(fingerprint(&a), fingerprint(&b), "{}", params.line());
        assert_eq!(a.steps, b.steps);
    }
    assert_ne!(
        RunParams::derive(SEED, 1, None),
        RunParams::derive(SEED, 2, None),
        "runs draw different parameters"
    );
}

/// Finds `bug` within `max_runs` runs from seed 1, shrinks it, and checks the reproducer.
fn found_shrunk_and_replayed(bug: Bug, max_runs: u64) {
    let bugs = BTreeSet::from([bug]);
    for run in 1..=max_runs {
        let params = RunParams::derive(SEED, run, None);
        let o = run_generated(&params, STEPS, &bugs);
        let Some(rule) = o.failure() else { continue };
        let shrunk = shrink(&params, o.steps[..o.chaos].to_vec(), &rule, &bugs, 150);
        assert!(shrunk.len() <= o.chaos, "shrinking never grows");
        let min = run_steps(&params, &shrunk, &bugs).expect("shrunk steps replay");
        assert_eq!(min.failure().as_deref(), Some(rule.as_str()));
        // The reproducer is an ordinary scenario file: it fails with the bug and passes without it.
        let file = min.scenario(&params, "reproducer");
        let scenario =
            parse_value(&file.to_json(), Some("reproducer.json")).expect("reproducer parses");
        assert_eq!(
            scenario, file,
            "the reproducer file holds exactly the steps that ran"
        );
        let with_bug = Runner::with_bugs(&scenario, bugs.clone()).run(None);
        assert!(
            !with_bug.passed(),
            "{bug:?}: reproducer passes with the bug"
        );
        let without = Runner::new(&scenario).run(None);
        assert!(
            without.passed(),
            "{bug:?}: reproducer fails without the bug:\n{}",
            without.render_text()
        );
        return;
    }
    panic!("{bug:?} was not found in {max_runs} runs of {STEPS} steps from seed {SEED}");
}

#[test]
fn finds_update_primary_wipes() {
    found_shrunk_and_replayed(Bug::UpdatePrimaryWipes, 30);
}

#[test]
fn finds_token_reusable() {
    found_shrunk_and_replayed(Bug::TokenReusable, 30);
}

#[test]
fn finds_revoke_ignored() {
    found_shrunk_and_replayed(Bug::RevokeIgnored, 30);
}

#[test]
fn finds_reenable_keeps_cluster_id() {
    found_shrunk_and_replayed(Bug::ReenableKeepsClusterId, 30);
}

#[test]
fn finds_enable_skips_wipe() {
    found_shrunk_and_replayed(Bug::EnableSkipsWipe, 30);
}

#[test]
fn finds_filter_ignored() {
    found_shrunk_and_replayed(Bug::FilterIgnored, 30);
}

#[test]
fn finds_promote_ignores_dr_auth() {
    found_shrunk_and_replayed(Bug::PromoteIgnoresDrAuth, 30);
}

/// The client-liveness oracle can fail: with forwards left unanswered, some client waits past the
/// forwarding timeout on a healthy network.
#[test]
fn finds_forwards_unanswered() {
    found_shrunk_and_replayed(Bug::ForwardsUnanswered, 60);
}

/// A compact run (what campaigns use, so memory does not grow with a run's length) keeps no steps
/// and no step lines, yet gives the full run's verdict, events, step count and digest: a campaign's
/// `log` column and its replay with `--first-run R --runs 1` agree, and a failure found compactly is
/// the one the full re-run shrinks.
#[test]
fn a_compact_run_gives_the_full_runs_verdict_and_digest() {
    use replication_sim::fuzz::{run_generated_keeping, Keep};
    let none = BTreeSet::new();
    let bug = BTreeSet::from([Bug::RevokeIgnored]);
    for (run, bugs) in [(1, &none), (2, &none), (3, &none), (6, &bug)] {
        let params = RunParams::derive(SEED, run, None);
        let full = run_generated(&params, 200, bugs);
        let compact = run_generated_keeping(&params, 200, bugs, Keep::Verdict);
        assert!(compact.steps.is_empty() && compact.report.steps.is_empty());
        let steps = run_generated_keeping(&params, 200, bugs, Keep::Steps);
        assert!(steps.report.steps.is_empty());
        assert_eq!(steps.steps, full.steps, "what shrinking needs is kept");
        assert_eq!(fingerprint(&steps), fingerprint(&full));
        assert_eq!(full.steps.len(), full.steps_run);
        assert_eq!(compact.steps_run, full.steps_run);
        assert_eq!(compact.events, full.events);
        assert_eq!(compact.failure(), full.failure());
        assert_eq!(fingerprint(&compact), fingerprint(&full), "run {run}");
    }
    let params = RunParams::derive(SEED, 6, None);
    assert!(
        run_generated_keeping(&params, 200, &bug, Keep::Verdict)
            .failure()
            .is_some(),
        "the bug is found"
    );
}
