//! A performance primary tells each performance secondary its failover targets (its own cluster
//! address, then its DR secondaries') in the activation acceptance, again whenever that list changes,
//! and on heartbeats (model.md §4), so a secondary that lost its primary finds the promoted DR
//! secondary however soon after activation the primary was lost.

use replication_core::*;
use replication_testkit::Net;

fn known_addrs(n: &Net, name: &str) -> Vec<String> {
    match n.clusters[name].inspect(Kind::Performance) {
        RoleView::Secondary(s) => s.known_primary_cluster_addrs().to_vec(),
        other => panic!("{name} is no performance secondary: {other:?}"),
    }
}

fn addr(n: &Net, name: &str) -> String {
    n.clusters[name].config().cluster_addr.clone()
}

#[test]
fn the_acceptance_carries_the_dr_secondaries_that_joined_before() {
    let mut n = Net::new(&["A", "B", "C"], 60);
    n.join("A", "B", Kind::Dr);
    n.join("A", "C", Kind::Performance);
    assert_eq!(known_addrs(&n, "C"), vec![addr(&n, "A"), addr(&n, "B")]);
}

#[test]
fn a_dr_secondary_that_joins_later_is_pushed_without_waiting_for_a_heartbeat() {
    let mut n = Net::new(&["A", "B", "C"], 61);
    n.join("A", "C", Kind::Performance);
    assert_eq!(known_addrs(&n, "C"), vec![addr(&n, "A")]);
    let now = n.now;
    n.join("A", "B", Kind::Dr);
    assert_eq!(n.now, now, "no time passed: no heartbeat ran");
    assert_eq!(known_addrs(&n, "C"), vec![addr(&n, "A"), addr(&n, "B")]);

    // Revoking the DR secondary takes it off the list again, at once.
    n.req(
        "A",
        Request::RevokeSecondary {
            kind: Kind::Dr,
            id: "B".into(),
        },
    )
    .unwrap();
    n.settle();
    assert_eq!(known_addrs(&n, "C"), vec![addr(&n, "A")]);
}

#[test]
fn losing_the_primary_right_after_the_dr_secondary_joined_still_fails_over_to_it() {
    let mut n = Net::new(&["A", "B", "C"], 62);
    n.join("A", "C", Kind::Performance);
    n.join("A", "B", Kind::Dr);
    n.write("A", "secret/k", "v").unwrap();
    // A is lost before any heartbeat; B is promoted and becomes performance primary of A's set.
    n.cut.insert("A".into());
    let token = n.operation_token("B");
    n.req(
        "B",
        Request::Promote {
            kind: Kind::Dr,
            primary_cluster_addr: None,
            force: false,
            auth: PromoteAuth::OperationToken(token),
        },
    )
    .unwrap();
    assert_eq!(n.clusters["B"].mode(Kind::Performance), Mode::Primary);
    n.advance(60_000);
    assert!(n.clusters["C"].is_connected(Kind::Performance), "C found B");
    assert_eq!(
        n.state("C", Kind::Performance),
        Some(SecondaryState::StreamWals)
    );
    let status = n.clusters["C"].status(Kind::Performance, n.now);
    assert_eq!(
        status.primary_cluster_addr.as_deref(),
        Some(addr(&n, "B").as_str())
    );
    assert_eq!(n.get("C", "secret/k").as_deref(), Some("v"), "never wiped");
}

#[test]
fn a_list_from_a_cluster_the_secondary_does_not_follow_is_ignored() {
    let mut n = Net::new(&["A", "C"], 63);
    n.join("A", "C", Kind::Performance);
    let before = known_addrs(&n, "C");
    let Some(cluster_id) = n.cluster_id("C", Kind::Performance) else {
        panic!("C is in a set")
    };
    n.step(
        "C",
        Input::Message {
            from: "https://elsewhere:8201".into(),
            message: Message::FailoverTargets(FailoverTargets {
                cluster_id,
                known_primary_cluster_addrs: vec!["https://elsewhere:8201".into()],
            }),
        },
    )
    .unwrap();
    assert_eq!(known_addrs(&n, "C"), before);
}

/// A secondary that lost its primary keeps trying every address it knows: one that did not answer
/// is passed over at the next heartbeat, so a DR secondary promoted after the secondary first tried
/// it (and was refused) is still found.
#[test]
fn a_secondary_without_its_primary_keeps_cycling_through_its_failover_targets() {
    let mut n = Net::new(&["A", "B", "C"], 64);
    n.join("A", "B", Kind::Dr);
    n.join("A", "C", Kind::Performance);
    assert_eq!(known_addrs(&n, "C"), vec![addr(&n, "A"), addr(&n, "B")]);
    n.cut.insert("A".into());
    // C notices, tries B (still a DR secondary: refused), then A again (no answer), ...
    n.advance(40_000);
    assert!(!n.clusters["C"].is_connected(Kind::Performance));
    let token = n.operation_token("B");
    n.req(
        "B",
        Request::Promote {
            kind: Kind::Dr,
            primary_cluster_addr: None,
            force: false,
            auth: PromoteAuth::OperationToken(token),
        },
    )
    .unwrap();
    // ... and after B's promotion it reaches B within a few heartbeats.
    n.advance(20_000);
    assert!(n.clusters["C"].is_connected(Kind::Performance), "C found B");
    let status = n.clusters["C"].status(Kind::Performance, n.now);
    assert_eq!(
        status.primary_cluster_addr.as_deref(),
        Some(addr(&n, "B").as_str())
    );
}

/// A secondary that loses its primary turns to the next address it knows with its very next
/// heartbeat: here the DR secondary a promotion would make its new primary.
#[test]
fn a_lost_primary_is_passed_over_at_the_next_heartbeat() {
    let mut n = Net::new(&["A", "B", "C"], 62);
    n.join("A", "B", Kind::Dr);
    n.join("A", "C", Kind::Performance);
    n.cut.insert("A".into());
    let mut after_loss: Vec<String> = vec![];
    let mut hook = |o: &replication_testkit::Observed<'_>| {
        if o.name == "C" && !o.after.is_connected(Kind::Performance) {
            for t in &o.ready.messages {
                if matches!(t.message, Message::Heartbeat(_)) {
                    after_loss.push(t.to.clone());
                }
            }
        }
    };
    n.advance_hooked(60_000, &mut hook);
    assert_eq!(
        after_loss.first(),
        Some(&addr(&n, "B")),
        "the first heartbeat after the loss: {after_loss:?}"
    );
}
