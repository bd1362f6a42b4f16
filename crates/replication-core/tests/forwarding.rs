//! Forwarded writes always get an answer (model.md §4): the primary's acknowledgement, an error from
//! a cluster that is not (or no longer) that set's primary, or, when the link is refused or lost or no
//! answer comes within the forwarding timeout, an error from the secondary saying the outcome is
//! unknown. A client never waits forever; a duplicated forward is applied once.

use replication_core::*;
use replication_testkit::Net;

/// A performance primary `A` with a connected performance secondary `C`.
fn pair(seed: u64) -> Net {
    let mut n = Net::new(&["A", "C"], seed);
    n.join("A", "C", Kind::Performance);
    n.advance(1_000);
    assert!(n.clusters["C"].is_connected(Kind::Performance));
    n
}

/// [`pair`] with a forwarding timeout of `timeout`, and the primary `A` then cut off.
fn cut_off_pair(seed: u64, timeout: Duration) -> Net {
    let mut n = Net::new_with(&["A", "C"], seed, |c| c.forwarding_timeout = Some(timeout));
    n.join("A", "C", Kind::Performance);
    n.advance(1_000);
    assert!(n.clusters["C"].is_connected(Kind::Performance));
    n.cut.insert("A".into());
    n
}

fn write(path: &str, value: &str) -> Input {
    Input::Client(ClientOp::Write {
        path: path.into(),
        value: value.into(),
    })
}

/// Forwards a write from `C` (not settled) and returns its request id.
fn forward(n: &mut Net, path: &str, value: &str) -> u64 {
    match n.step("C", write(path, value)) {
        Ok(Reply::Forwarded { request }) => request,
        other => panic!("C should forward the shared write, got {other:?}"),
    }
}

/// The answers `C` gave to forwarded request `request` since event index `since`.
fn answers(n: &Net, request: u64, since: usize) -> Vec<Result<u64, Error>> {
    n.events_of("C", since)
        .into_iter()
        .filter_map(|e| match e {
            Event::ClientReply { request: r, result } if r == request => Some(result),
            _ => None,
        })
        .collect()
}

fn only_answer(n: &Net, request: u64, since: usize) -> Result<u64, Error> {
    let a = answers(n, request, since);
    assert_eq!(a.len(), 1, "exactly one answer for the forward: {a:?}");
    a.into_iter().next().unwrap()
}

#[test]
fn a_cluster_that_stopped_being_primary_answers_the_forward_with_an_error() {
    type Stop = fn(&mut Net);
    let ways: [(&str, Stop); 3] = [
        ("demote", |n| {
            n.req(
                "A",
                Request::Demote {
                    kind: Kind::Performance,
                },
            )
            .unwrap();
        }),
        ("disable", |n| {
            n.req(
                "A",
                Request::DisablePrimary {
                    kind: Kind::Performance,
                },
            )
            .unwrap();
        }),
        ("revoke", |n| {
            n.req(
                "A",
                Request::RevokeSecondary {
                    kind: Kind::Performance,
                    id: "C".into(),
                },
            )
            .unwrap();
        }),
    ];
    for (i, (how, stop)) in ways.into_iter().enumerate() {
        let mut n = pair(40 + i as u64);
        // The secondary does not know yet: it still counts itself connected and forwards.
        stop(&mut n);
        n.queue
            .retain(|(_, _, m)| !matches!(m, Message::Revoked { .. }));
        assert!(n.clusters["C"].is_connected(Kind::Performance), "{how}");
        let since = n.events.len();
        let request = forward(&mut n, "secret/x", "v");
        n.settle();
        let err = only_answer(&n, request, since).expect_err(how);
        assert!(matches!(err, Error::Unavailable(_)), "{how}: {err:?}");
        assert!(err.to_string().contains("not applied"), "{how}: {err}");
        assert_eq!(n.get("A", "secret/x"), None, "{how}: nothing was applied");
        assert!(
            !n.clusters["C"].is_connected(Kind::Performance),
            "{how}: the refusal also reached the link"
        );
    }
}

#[test]
fn a_dr_demotion_that_suspends_the_performance_role_answers_forwards_with_an_error() {
    let mut n = Net::new(&["A", "B", "C"], 44);
    n.join("A", "C", Kind::Performance);
    n.join("A", "B", Kind::Dr);
    n.advance(1_000);
    n.req("A", Request::Demote { kind: Kind::Dr }).unwrap();
    assert_eq!(n.clusters["A"].mode(Kind::Performance), Mode::Disabled);
    let since = n.events.len();
    let request = forward(&mut n, "secret/x", "v");
    n.settle();
    let err = only_answer(&n, request, since).unwrap_err();
    assert!(err.to_string().contains("not applied"), "{err}");
}

#[test]
fn a_forward_whose_answer_never_comes_is_answered_unknown_at_the_forwarding_timeout() {
    let mut n = pair(45);
    let timeout = n.clusters["C"].config().forwarding_timeout();
    assert_eq!(
        timeout,
        Duration::from_secs(15),
        "three heartbeat intervals"
    );
    n.cut.insert("A".into());
    let since = n.events.len();
    let request = forward(&mut n, "secret/x", "v");
    n.advance(timeout.as_millis() - 1);
    assert!(
        answers(&n, request, since).is_empty(),
        "not before the timeout"
    );
    n.advance(1);
    let err = only_answer(&n, request, since).unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown(_)), "{err:?}");
    assert!(
        err.to_string().contains("may or may not have been applied"),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::Unavailable);
    n.advance(60_000);
    assert_eq!(answers(&n, request, since).len(), 1, "answered once");
}

#[test]
fn the_forwarding_timeout_is_configurable() {
    let mut n = cut_off_pair(46, Duration::from_secs(2));
    let since = n.events.len();
    let request = forward(&mut n, "secret/x", "v");
    assert_eq!(
        n.clusters["C"].next_deadline(),
        Some(n.now.plus(Duration::from_secs(2))),
        "the give-up time is a deadline the host ticks at"
    );
    n.advance(2_000);
    assert!(matches!(
        only_answer(&n, request, since),
        Err(Error::OutcomeUnknown(_))
    ));
}

#[test]
fn a_refused_link_answers_waiting_forwards_unknown_at_once() {
    let mut n = pair(47);
    let since = n.events.len();
    let request = forward(&mut n, "secret/x", "v");
    // The forward is lost; the primary then refuses the link (it was demoted).
    n.queue.clear();
    n.req(
        "A",
        Request::Demote {
            kind: Kind::Performance,
        },
    )
    .unwrap();
    n.advance(5_000);
    let err = only_answer(&n, request, since).unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown(_)), "{err:?}");
    assert!(err.to_string().contains("refused"), "{err}");
}

#[test]
fn a_secondary_that_is_promoted_answers_its_waiting_forwards_unknown() {
    let mut n = pair(48);
    let since = n.events.len();
    let request = forward(&mut n, "secret/x", "v");
    n.queue.clear();
    n.req(
        "C",
        Request::Promote {
            kind: Kind::Performance,
            primary_cluster_addr: None,
            force: true,
            auth: PromoteAuth::None,
        },
    )
    .unwrap();
    let err = only_answer(&n, request, since).unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown(_)), "{err:?}");
    assert!(err
        .to_string()
        .contains("stopped being a performance secondary"));
}

#[test]
fn a_duplicated_forward_is_applied_once_and_answered_again() {
    let mut n = pair(49);
    let since = n.events.len();
    let request = forward(&mut n, "secret/x", "first");
    let (from, to, msg) = n.queue.pop_front().expect("the forward is queued");
    assert!(matches!(msg, Message::Forward { .. }));
    n.queue.push_back((from.clone(), to.clone(), msg.clone()));
    n.queue.push_back((from, to, msg));
    // The first copy lands, then a direct write on the primary, then the duplicate.
    assert!(n.deliver_next());
    n.step("A", write("secret/x", "second")).unwrap();
    assert!(n.deliver_next());
    n.settle();
    assert_eq!(
        n.get("A", "secret/x").as_deref(),
        Some("second"),
        "not re-applied"
    );
    only_answer(&n, request, since).expect("acknowledged once");
}

#[test]
fn the_primary_s_own_refusal_reaches_the_client_with_its_class() {
    let mut n = pair(50);
    // A creates a shared mount; before it streams to C, C's client asks for the same mount, which C
    // forwards (a shared mount is a replicated write) and A refuses as a bad request.
    n.step(
        "A",
        Input::Client(ClientOp::Mount {
            path: "team/".into(),
            local: false,
        }),
    )
    .unwrap();
    n.queue.clear();
    let since = n.events.len();
    let request = match n.step(
        "C",
        Input::Client(ClientOp::Mount {
            path: "team/".into(),
            local: false,
        }),
    ) {
        Ok(Reply::Forwarded { request }) => request,
        other => panic!("{other:?}"),
    };
    n.settle();
    let err = only_answer(&n, request, since).unwrap_err();
    assert_eq!(
        err.class(),
        ErrorClass::BadRequest,
        "a 400 stays a 400: {err:?}"
    );
    assert!(
        err.to_string().contains("overlaps the existing mount"),
        "{err}"
    );
}

/// A performance secondary that cannot forward says why, so the operator knows what to fix: with
/// no primary at all (after an empty update-primary) it names update-primary or promote; with a
/// primary it cannot reach it says to wait until it is connected.
#[test]
fn a_secondary_that_cannot_forward_says_whether_it_has_no_primary_or_cannot_reach_it() {
    let mut n = pair(31);
    n.cut.insert("C".into());
    n.advance(60_000);
    assert!(!n.clusters["C"].is_connected(Kind::Performance));
    let e = n.refused_input("C", write("secret/x", "1"));
    assert!(e.to_string().contains("cannot reach its primary"), "{e}");

    n.cut.clear();
    n.advance(60_000);
    n.req(
        "C",
        Request::UpdatePrimary {
            kind: Kind::Performance,
            target: UpdateTarget::Token(String::new()),
            primary_api_addr: None,
            dr_operation_token: None,
        },
    )
    .expect("an empty update-primary forgets the primary");
    let e = n.refused_input("C", write("secret/x", "1"));
    assert!(e.to_string().contains("has no primary to forward"), "{e}");
}

/// A lost connection (missed heartbeats) answers the forwards waiting on it at once, unknown,
/// well before their own timeout.
#[test]
fn a_lost_connection_answers_waiting_forwards_unknown_at_once() {
    let mut n = cut_off_pair(47, Duration::from_secs(600));
    let since = n.events.len();
    let request = forward(&mut n, "secret/x", "v");
    let span = n.clusters["C"]
        .config()
        .missed_heartbeats_span()
        .as_millis();
    n.advance(span + n.clusters["C"].config().heartbeat_interval.as_millis());
    assert!(!n.clusters["C"].is_connected(Kind::Performance));
    match only_answer(&n, request, since) {
        Err(Error::OutcomeUnknown(m)) => {
            assert!(m.contains("connection to the primary was lost"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}
