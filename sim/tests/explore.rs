//! `explore`: the checker picks the operator's actions. Each deliberate bug is found at a small
//! depth with a counterexample that `run` fails on, and the same exploration without the bug is
//! clean.

use replication_core::{Bug, Kind};
use replication_sim::check::engine::Options;
use replication_sim::check::explore::{Action, Menu};
use replication_sim::check::runbook::Bounds;
use replication_sim::check::{explore, CheckReport};
use replication_sim::runner::Runner;
use replication_sim::scenario::parse_value;
use std::collections::BTreeSet;

fn menu(clusters: usize, kind: Kind) -> Menu {
    Menu {
        clusters,
        kinds: vec![kind],
        actions: Action::ALL.into_iter().collect(),
        seed: 1,
        symmetry: true,
    }
}

fn explored(m: &Menu, depth: usize, bugs: BTreeSet<Bug>) -> CheckReport {
    let options = Options {
        max_states: Some(200_000),
        ..Options::default()
    };
    explore(m, depth, Bounds::default(), bugs, &options, |_| {}).unwrap()
}

#[test]
fn each_injected_bug_is_found_at_a_small_depth_and_replays() {
    let cases = [
        (
            Bug::ReenableKeepsClusterId,
            2,
            Kind::Dr,
            3,
            "reused-cluster-id",
        ),
        (
            Bug::PromoteIgnoresDrAuth,
            2,
            Kind::Dr,
            3,
            "unauthorised-dr-operation",
        ),
        (Bug::EnableSkipsWipe, 2, Kind::Dr, 3, "enable-without-wipe"),
        (
            Bug::RevokeIgnored,
            2,
            Kind::Performance,
            5,
            "delivered-to-revoked",
        ),
        (Bug::TokenReusable, 3, Kind::Dr, 4, "token-reused"),
        (
            Bug::UpdatePrimaryWipes,
            3,
            Kind::Dr,
            5,
            "wipe-without-activation",
        ),
    ];
    for (bug, clusters, kind, depth, rule) in cases {
        let m = menu(clusters, kind);
        let clean = explored(&m, depth, BTreeSet::new());
        assert!(
            clean.passed(),
            "{bug:?}: without the bug the exploration is clean: {:?} {:?}",
            clean.broken.iter().map(|c| &c.finding).collect::<Vec<_>>(),
            clean.failed.iter().map(|c| &c.finding).collect::<Vec<_>>()
        );
        let r = explored(&m, depth, BTreeSet::from([bug]));
        let c = r
            .broken
            .iter()
            .find(|c| c.finding == rule)
            .unwrap_or_else(|| panic!("{bug:?}: {rule} found at depth {depth}"));
        let s = parse_value(&c.scenario.to_json(), None).unwrap();
        let report = Runner::with_bugs(&s, BTreeSet::from([bug])).run(None);
        assert!(
            report.violations.iter().any(|v| v.rule() == rule),
            "{bug:?}: the counterexample breaks {rule} in run\n{}",
            report.render_text()
        );
    }
}

/// Symmetry reduction (the invariant it must keep): the reduced search finds every rule broken,
/// every hazard and every `sometimes` property the full one finds, each first at the same depth (the
/// shortest counterexample is as short), in fewer states.
#[test]
fn symmetry_keeps_every_finding_at_its_depth_in_fewer_states() {
    // The checker's crashes and partitions of untouched clusters are cut by symmetry too.
    let faults = Bounds {
        crashes: 1,
        partitions: 1,
        ..Bounds::default()
    };
    let none = Bounds::default();
    let cases = [
        (BTreeSet::new(), vec![Kind::Dr, Kind::Performance], 3, none),
        (BTreeSet::new(), vec![Kind::Dr], 3, faults),
        (
            BTreeSet::from([Bug::TokenReusable]),
            vec![Kind::Dr],
            4,
            none,
        ),
        (
            BTreeSet::from([Bug::UpdatePrimaryWipes]),
            vec![Kind::Dr],
            5,
            none,
        ),
        (
            BTreeSet::from([Bug::RevokeIgnored]),
            vec![Kind::Performance],
            4,
            none,
        ),
    ];
    let options = Options {
        max_states: Some(200_000),
        ..Options::default()
    };
    for (bugs, kinds, depth, bounds) in cases {
        let mut m = menu(3, kinds[0]);
        m.kinds = kinds;
        let reduced = explore(&m, depth, bounds, bugs.clone(), &options, |_| {}).unwrap();
        m.symmetry = false;
        let full = explore(&m, depth, bounds, bugs.clone(), &options, |_| {}).unwrap();
        assert!(reduced.stopped.is_none() && full.stopped.is_none());
        let findings = |r: &CheckReport| -> Vec<(String, usize)> {
            let mut v: Vec<(String, usize)> = r
                .broken
                .iter()
                .chain(&r.hazards)
                .map(|c| (c.finding.clone(), c.scenario.steps.len()))
                .chain(r.reached.iter().cloned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(findings(&reduced), findings(&full), "{bugs:?}");
        assert!(!findings(&full).is_empty());
        assert!(
            reduced.stats.unique * 2 < full.stats.unique,
            "{bugs:?}: {} against {}",
            reduced.stats.unique,
            full.stats.unique
        );
    }
}

#[test]
fn a_deeper_exploration_reaches_promotion_replication_and_two_primaries() {
    let r = explored(&menu(2, Kind::Dr), 4, BTreeSet::new());
    assert!(r.passed());
    let reached: Vec<&str> = r.reached.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        reached,
        [
            "a cluster was promoted",
            "a secondary was activated",
            "data was replicated"
        ]
    );
    assert!(r.never_reached.is_empty());
    // Promoting a DR secondary while its primary still runs: the hazard the model reports.
    let h = r
        .hazards
        .iter()
        .find(|c| c.finding == "hazard multiple-primaries")
        .expect("two primaries are reachable in four actions");
    let report = Runner::new(&parse_value(&h.scenario.to_json(), None).unwrap()).run(None);
    assert!(report
        .hazards
        .iter()
        .any(|x| x.kind == "multiple-primaries"));
}

#[test]
fn a_menu_of_one_cluster_is_refused() {
    let m = menu(1, Kind::Dr);
    let e = explore(
        &m,
        2,
        Bounds::default(),
        BTreeSet::new(),
        &Options::default(),
        |_| {},
    )
    .err()
    .unwrap();
    assert!(e.contains("expected 2 to 6"), "{e}");
}
