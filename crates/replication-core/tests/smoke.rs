use replication_core::*;
use replication_testkit::Net;

#[test]
fn dr_secondary_receives_writes_and_can_be_promoted() {
    let mut n = Net::new(&["A", "B"], 1);
    n.write("A", "secret/app", "v0").unwrap();
    n.write("B", "secret/old", "gone").unwrap();
    n.join("A", "B", Kind::Dr);
    assert_eq!(n.clusters["B"].mode(Kind::Dr), Mode::Secondary);
    assert_eq!(n.get("B", "secret/old"), None, "enable wipes");
    assert_eq!(n.get("B", "secret/app").as_deref(), Some("v0"));
    assert_eq!(n.state("B", Kind::Dr), Some(SecondaryState::StreamWals));
    n.write("A", "secret/app", "v1").unwrap();
    assert_eq!(n.get("B", "secret/app").as_deref(), Some("v1"));
    assert_eq!(n.root("A", Kind::Dr), n.root("B", Kind::Dr));
    n.advance(60_000);
    assert!(n.clusters["B"].is_connected(Kind::Dr));
    let tok = n.operation_token("B");
    n.req("A", Request::Demote { kind: Kind::Dr }).unwrap();
    let r = n
        .req(
            "B",
            Request::Promote {
                kind: Kind::Dr,
                primary_cluster_addr: None,
                force: false,
                auth: PromoteAuth::OperationToken(tok),
            },
        )
        .unwrap();
    assert!(matches!(r, Reply::PromoteProgress(p) if p.complete));
    assert_eq!(n.clusters["B"].mode(Kind::Dr), Mode::Primary);
    // failback: A rejoins B's set without a wipe
    n.write("B", "secret/app", "v2").unwrap();
    let t = n.token("B", Kind::Dr, "A");
    let op = n.operation_token("A");
    n.req(
        "A",
        Request::UpdatePrimary {
            kind: Kind::Dr,
            target: UpdateTarget::Token(t),
            primary_api_addr: None,
            dr_operation_token: Some(op),
        },
    )
    .unwrap();
    n.settle();
    assert_eq!(n.get("A", "secret/app").as_deref(), Some("v2"));
    assert_eq!(n.root("A", Kind::Dr), n.root("B", Kind::Dr));
    assert!(!n
        .events
        .iter()
        .any(|(c, e)| c == "A" && matches!(e, Event::Wiped { .. })));
}

#[test]
fn performance_secondary_forwards_shared_writes_and_keeps_local_mounts() {
    let mut n = Net::new(&["A", "C"], 2);
    n.join("A", "C", Kind::Performance);
    n.advance(10_000);
    assert_eq!(
        n.get("C", "sys/mounts/local/"),
        None,
        "enable wiped local mounts too"
    );
    n.step(
        "C",
        Input::Client(ClientOp::Mount {
            path: "local/".into(),
            local: true,
        }),
    )
    .unwrap();
    n.step(
        "C",
        Input::Client(ClientOp::Write {
            path: "local/x".into(),
            value: "mine".into(),
        }),
    )
    .unwrap();
    let r = n.write("C", "secret/fwd", "via-c").unwrap();
    assert!(matches!(r, Reply::Forwarded { .. }));
    assert_eq!(n.get("A", "secret/fwd").as_deref(), Some("via-c"));
    assert_eq!(n.get("C", "secret/fwd").as_deref(), Some("via-c"));
    assert_eq!(n.get("C", "local/x").as_deref(), Some("mine"));
    assert_eq!(n.get("A", "local/x"), None);
    assert_eq!(
        n.root("A", Kind::Performance),
        n.root("C", Kind::Performance)
    );
    assert!(n
        .events
        .iter()
        .any(|(c, e)| c == "C" && matches!(e, Event::ClientReply { result: Ok(_), .. })));
}

/// The accessors a host reads: the name it was configured with, a write-ahead log index that moves
/// with every write on both sides, and a secondary state that is `bootstrapping`
/// from `secondary/enable` until the primary answers, then the link's.
#[test]
fn a_cluster_reports_its_name_wal_index_and_secondary_state() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "X"], 3);
        assert_eq!(n.clusters["A"].name(), "A");
        assert_eq!(n.clusters["X"].name(), "X");
        assert_eq!(n.clusters["A"].secondary_state(kind), None, "{kind}");

        n.enable_primary("A", kind);
        let token = n.token("A", kind, "X");
        n.enable_secondary("X", kind, &token).unwrap();
        assert_eq!(
            n.clusters["X"].secondary_state(kind),
            Some(SecondaryState::Bootstrapping),
            "{kind}"
        );
        n.settle();
        assert_eq!(
            n.clusters["X"].secondary_state(kind),
            Some(SecondaryState::StreamWals),
            "{kind}"
        );
        assert_eq!(n.clusters["A"].secondary_state(kind), None, "{kind}");

        let (a, x) = (n.clusters["A"].last_wal(), n.clusters["X"].last_wal());
        n.write("A", "secret/a", "1").unwrap();
        n.write("A", "secret/b", "2").unwrap();
        assert_eq!(n.clusters["A"].last_wal(), a + 2, "{kind}");
        assert_eq!(
            n.clusters["X"].last_wal(),
            x + 2,
            "{kind}: applying the shipped writes moves the secondary's own log"
        );
    }
}

/// `inspect` shows a host the persisted roles beyond status: a primary's run (new on every
/// enable), the ids it issued tokens for, the secondaries it accepted and whether each is revoked;
/// a secondary's set, identity and known primary addresses.
#[test]
fn inspect_shows_each_role_as_it_is() {
    let mut n = Net::new(&["A", "X"], 4);
    n.join("A", "X", Kind::Dr);
    n.token("A", Kind::Dr, "Y");
    let a = n.clusters["A"].inspect(Kind::Dr);
    let p = a.primary().expect("A is a primary");
    assert!(a.secondary().is_none());
    let run = p.run().to_string();
    assert!(!run.is_empty());
    assert!(p.issued("X") && p.issued("Y") && !p.issued("Z"));
    let x = p.secondary("X").expect("X was accepted");
    assert_eq!((x.id(), x.revoked()), ("X", false));
    assert!(
        p.secondary("Y").is_none(),
        "Y has a token but never activated"
    );
    assert_eq!(
        p.accepted().map(|s| s.id().to_string()).collect::<Vec<_>>(),
        ["X"]
    );

    let xv = n.clusters["X"].inspect(Kind::Dr);
    let s = xv.secondary().expect("X is a secondary");
    assert!(xv.primary().is_none());
    assert_eq!(s.cluster_id(), p.cluster_id());
    assert_eq!(s.secondary_id(), Some("X"));
    assert_eq!(
        s.known_primary_cluster_addrs(),
        [n.clusters["A"].config().cluster_addr.clone()]
    );

    n.req(
        "A",
        Request::RevokeSecondary {
            kind: Kind::Dr,
            id: "X".into(),
        },
    )
    .unwrap();
    let a = n.clusters["A"].inspect(Kind::Dr);
    assert!(a.primary().unwrap().secondary("X").unwrap().revoked());
    n.req("A", Request::DisablePrimary { kind: Kind::Dr })
        .unwrap();
    n.enable_primary("A", Kind::Dr);
    let a = n.clusters["A"].inspect(Kind::Dr);
    assert_ne!(a.primary().unwrap().run(), run, "a new run");
    assert!(
        !a.primary().unwrap().issued("X"),
        "issued in the last run only"
    );
}

/// A secondary's `connection_state`: `ready` when connected, `transient_failure` once a primary
/// that answered before stops answering, `connecting` before any answer (as after a restart).
#[test]
fn connection_state_tells_a_lost_primary_from_one_never_reached() {
    let mut n = Net::new(&["A", "X"], 5);
    n.join("A", "X", Kind::Dr);
    let state = |n: &Net| n.clusters["X"].status(Kind::Dr, n.now).connection_state;
    assert_eq!(state(&n).as_deref(), Some("ready"));
    n.cut.insert("A".into());
    n.advance(60_000);
    assert_eq!(state(&n).as_deref(), Some("transient_failure"));
    n.restart("X");
    assert_eq!(
        state(&n).as_deref(),
        Some("connecting"),
        "no answer since the restart"
    );
}
