//! `check` on the shipped runbooks: each passes in every delivery order, the known hazard of the
//! unplanned failover is reported, every counterexample is a scenario file that `run` fails on in the
//! same way, and each injected bug is found on a runbook that passes without it.

use replication_core::Bug;
use replication_sim::check::engine::{Options, Order};
use replication_sim::check::runbook::Bounds;
use replication_sim::check::{check, CheckReport, Counterexample};
use replication_sim::report::Report;
use replication_sim::runner::Runner;
use replication_sim::scenario::{parse_file, parse_value, Scenario};
use replication_sim::scenario_files;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn runbook(name: &str) -> Scenario {
    parse_file(
        root()
            .join("fixtures/scenarios")
            .join(format!("{name}.json")),
    )
    .unwrap()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn checked(s: Scenario, bounds: Bounds, bugs: BTreeSet<Bug>) -> CheckReport {
    let options = Options {
        max_states: Some(200_000),
        ..Options::default()
    };
    check(s, bounds, bugs, &options, |_| {})
}

/// A counterexample written as JSON, read back as a file would be, and run.
fn replay(c: &Counterexample) -> Report {
    let json = c.scenario.to_json();
    let s = parse_value(&json, None).unwrap_or_else(|e| panic!("{}: {e}", c.finding));
    Runner::new(&s).run(None)
}

#[test]
fn every_shipped_runbook_holds_in_every_delivery_order() {
    let files = scenario_files(&[root().join("fixtures/scenarios")]).unwrap();
    let mut failed = vec![];
    for file in files {
        let r = checked(
            parse_file(&file).unwrap(),
            Bounds::default(),
            BTreeSet::new(),
        );
        if !r.passed() {
            failed.push(format!(
                "{}: {:?} {:?} stopped {:?}",
                file.display(),
                r.broken.iter().map(|c| &c.finding).collect::<Vec<_>>(),
                r.failed.iter().map(|c| &c.finding).collect::<Vec<_>>(),
                r.stopped
            ));
        }
        // Every expectation was reached somewhere: the check is not vacuous.
        for (step, text, held, _) in &r.expectations {
            assert!(
                *held > 0,
                "{}: step {step} ({text}) never held",
                file.display()
            );
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn the_unplanned_failover_shows_two_primaries_in_a_run_that_replays() {
    let r = checked(
        runbook("dr-unplanned-failover"),
        Bounds::default(),
        BTreeSet::new(),
    );
    let hazard = r
        .hazards
        .iter()
        .find(|c| c.finding == "hazard multiple-primaries")
        .expect("the hazard is reported");
    let report = replay(hazard);
    assert!(
        report
            .hazards
            .iter()
            .any(|h| h.kind == "multiple-primaries"),
        "{}",
        report.render_text()
    );
    assert!(r.reached.iter().any(|(p, _)| p == "a cluster was promoted"));
}

#[test]
fn with_a_crash_the_planned_failover_fails_expectations_and_each_replays() {
    let bounds = Bounds {
        crashes: 1,
        ..Bounds::default()
    };
    let r = checked(runbook("dr-planned-failover"), bounds, BTreeSet::new());
    assert!(r.stopped.is_none(), "the search completed");
    assert!(
        r.broken.is_empty(),
        "no rule of the model broke: {:?}",
        r.broken
    );
    // A crash before B streams leaves it connecting when step 6 expects it streaming.
    let six = r
        .failed
        .iter()
        .find(|c| c.finding == "step 6 expect_status B failed")
        .expect("step 6 can fail");
    let last = six.scenario.steps.last().unwrap();
    assert_eq!(last.step.verb(), "expect_status");
    // The expectation table counts the states where step 6 failed.
    let (_, _, held, failed) = r.expectations.iter().find(|e| e.0 == 6).unwrap();
    assert_eq!((*held > 0, *failed), (true, six.states));
    for c in &r.failed {
        let report = replay(c);
        let last = c.scenario.steps.len();
        assert!(
            report.failures.iter().any(|f| f.step == last),
            "{}: the replay fails at its last step\n{}",
            c.finding,
            report.render_text()
        );
        assert!(report.violations.is_empty(), "{}", c.finding);
    }
    // Two threads find the same states and the same shortest executions.
    let two = check(
        runbook("dr-planned-failover"),
        bounds,
        BTreeSet::new(),
        &Options {
            threads: 2,
            max_states: Some(200_000),
            ..Options::default()
        },
        |_| {},
    );
    assert_eq!(two.stats.unique, r.stats.unique);
    assert_eq!(two.stats.generated, r.stats.generated);
    let files = |r: &CheckReport| -> Vec<(String, serde_json::Value)> {
        r.failed
            .iter()
            .map(|c| (c.finding.clone(), c.scenario.to_json()))
            .collect()
    };
    assert_eq!(files(&two), files(&r));
    // Depth-first reaches the same set of states (it keeps other representatives of each state, so
    // a fingerprint that left out something deciding the future would show as a different count)
    // and fails the same expectations.
    let dfs = check(
        runbook("dr-planned-failover"),
        bounds,
        BTreeSet::new(),
        &Options {
            order: Order::Dfs,
            max_states: Some(200_000),
            ..Options::default()
        },
        |_| {},
    );
    assert_eq!(dfs.stats.unique, r.stats.unique);
    let names =
        |r: &CheckReport| -> Vec<String> { r.failed.iter().map(|c| c.finding.clone()).collect() };
    assert_eq!(names(&dfs), names(&r));
    // Breadth-first: no shorter execution fails step 6 (the runbook's first steps, a crash and a
    // restart, and the advance are all needed).
    assert!(
        six.scenario.steps.len() <= 10,
        "{}",
        six.scenario.steps.len()
    );
}

/// Each deliberate bug breaks a rule (or an expectation) on a runbook that passes without it, and
/// the counterexample shows the same on replay.
#[test]
fn each_injected_bug_is_found_on_a_runbook_that_passes_without_it() {
    let cases = [
        (
            Bug::UpdatePrimaryWipes,
            "dr-planned-failover",
            "wipe-without-activation",
        ),
        (Bug::TokenReusable, "token-refusals", "token-reused"),
        (
            Bug::RevokeIgnored,
            "perf-revoke-and-rejoin",
            "delivered-to-revoked",
        ),
        (
            Bug::ReenableKeepsClusterId,
            "disable-and-reenable",
            "reused-cluster-id",
        ),
        (
            Bug::EnableSkipsWipe,
            "enable-over-existing-data",
            "enable-without-wipe",
        ),
        (
            Bug::PromoteIgnoresDrAuth,
            "dr-key-share-promotion",
            "unauthorised-dr-operation",
        ),
        (
            Bug::ForwardsUnanswered,
            "perf-forwards-always-answered",
            "client-unanswered",
        ),
    ];
    for (bug, name, rule) in cases {
        let r = checked(runbook(name), Bounds::default(), BTreeSet::from([bug]));
        let c = r
            .broken
            .iter()
            .find(|c| c.finding == rule)
            .unwrap_or_else(|| panic!("{bug:?} on {name}: {rule} not found"));
        let json = c.scenario.to_json();
        let s = parse_value(&json, None).unwrap();
        let report = Runner::with_bugs(&s, BTreeSet::from([bug])).run(None);
        assert!(
            report.violations.iter().any(|v| v.rule() == rule),
            "{bug:?}: the replay breaks {rule}\n{}",
            report.render_text()
        );
        // The same file without the bug breaks nothing.
        assert!(Runner::new(&s).run(None).violations.is_empty(), "{bug:?}");
    }
    // No oracle watches filters; the runbook's expectations catch the bug.
    let r = checked(
        runbook("perf-paths-filters"),
        Bounds::default(),
        BTreeSet::from([Bug::FilterIgnored]),
    );
    assert!(!r.failed.is_empty() && r.broken.is_empty());
}
