//! Data-plane rules that cross the two kinds (model.md §4): a mode change of one kind leaves the
//! other kind's secondaries streaming, and a sync says truthfully why it removed each key.

use replication_core::*;
use replication_testkit::Net;

/// A performance demote (or disable) changes nothing for the DR secondaries of the same cluster:
/// they stay connected and keep receiving its writes without waiting for a heartbeat or a diff.
#[test]
fn a_performance_mode_change_leaves_the_dr_stream_alone() {
    for stop in [
        Request::Demote {
            kind: Kind::Performance,
        },
        Request::DisablePrimary {
            kind: Kind::Performance,
        },
    ] {
        let mut n = Net::new(&["A", "B", "C"], 70);
        n.join("A", "B", Kind::Dr);
        n.join("A", "C", Kind::Performance);
        n.advance(1_000);
        n.req("A", stop.clone()).unwrap();
        n.settle();
        let since = n.events.len();
        n.write("A", "local/k", "v").unwrap();
        assert_eq!(n.get("B", "local/k").as_deref(), Some("v"), "{stop:?}");
        assert_eq!(n.state("B", Kind::Dr), Some(SecondaryState::StreamWals));
        let status = n.clusters["A"].status(Kind::Dr, n.now);
        let peers = status.secondaries.unwrap_or_default();
        assert_eq!(peers.len(), 1);
        assert_eq!(peers[0].connection_status, "connected", "{stop:?}");
        assert!(
            !n.events_of("B", since)
                .iter()
                .any(|e| matches!(e, Event::SyncRemoved { .. } | Event::InSync { .. })),
            "no diff was needed"
        );
    }
}

/// A sync that removes a newly filtered mount reports every key under it as filtered, whichever
/// order the removals come in (the mount entry itself included).
#[test]
fn a_sync_reports_keys_removed_by_a_filter_as_filtered() {
    let mut n = Net::new(&["A", "C"], 71);
    n.join("A", "C", Kind::Performance);
    n.step(
        "A",
        Input::Client(ClientOp::Mount {
            path: "team/".into(),
            local: false,
        }),
    )
    .unwrap();
    n.settle();
    for k in ["team/a", "team/b", "team/c"] {
        n.write("A", k, "v").unwrap();
    }
    assert_eq!(n.get("C", "team/b").as_deref(), Some("v"));
    let since = n.events.len();
    n.req(
        "A",
        Request::SetPathsFilter {
            id: "C".into(),
            filter: PathsFilter {
                mode: FilterMode::Deny,
                paths: vec!["team/".into()],
            },
        },
    )
    .unwrap();
    n.settle();
    let removed: Vec<(Vec<String>, Vec<String>)> = n
        .events_of("C", since)
        .into_iter()
        .filter_map(|e| match e {
            Event::SyncRemoved {
                diverged, filtered, ..
            } => Some((diverged, filtered)),
            _ => None,
        })
        .collect();
    assert_eq!(removed.len(), 1, "{removed:?}");
    let (diverged, mut filtered) = removed[0].clone();
    filtered.sort();
    assert!(diverged.is_empty(), "nothing diverged: {diverged:?}");
    assert_eq!(
        filtered,
        ["sys/mounts/team/", "team/a", "team/b", "team/c"],
        "every key under the mount, and the mount"
    );
}

fn client(n: &mut Net, name: &str, op: ClientOp) -> Result<Reply, Error> {
    n.step(name, Input::Client(op))
}

fn read(path: &str) -> ClientOp {
    ClientOp::Read { path: path.into() }
}

fn list(path: &str) -> ClientOp {
    ClientOp::List { path: path.into() }
}

/// Reads and lists are answered from the cluster's own storage at once, on a primary and on a
/// performance secondary alike (the secondary forwards writes, never reads): nothing is sent and
/// nothing is logged. A path outside every mount, or one that names no key, is refused.
#[test]
fn reads_and_lists_are_answered_locally_and_change_nothing() {
    let mut n = Net::new(&["A", "B"], 72);
    n.join("A", "B", Kind::Performance);
    n.write("A", "secret/app/db", "1").unwrap();
    n.write("A", "secret/app/web/x", "2").unwrap();
    n.write("A", "secret/top", "3").unwrap();
    let own = ClientOp::Mount {
        path: "own/".into(),
        local: true,
    };
    assert!(matches!(
        client(&mut n, "B", own),
        Ok(Reply::Applied { .. })
    ));
    n.write("B", "own/mine", "4").unwrap();
    for name in ["A", "B"] {
        let wal = n.clusters[name].last_wal();
        let sent = n.queue.len();
        assert_eq!(
            client(&mut n, name, read("secret/app/db")),
            Ok(Reply::Value(Some("1".into()))),
            "{name}"
        );
        assert_eq!(
            client(&mut n, name, read("secret/none")),
            Ok(Reply::Value(None))
        );
        for folder in ["secret/app", "secret/app/"] {
            assert_eq!(
                client(&mut n, name, list(folder)),
                Ok(Reply::Keys(vec!["db".into(), "web/".into()])),
                "{name} {folder}"
            );
        }
        assert_eq!(
            client(&mut n, name, list("secret/")),
            Ok(Reply::Keys(vec!["app/".into(), "top".into()]))
        );
        assert_eq!(n.queue.len(), sent, "{name}: a read sends nothing");
        assert_eq!(
            n.clusters[name].last_wal(),
            wal,
            "{name}: a read logs nothing"
        );
        for bad in [read("nomount/x"), list("nomount/"), read("secret/")] {
            let err = client(&mut n, name, bad.clone()).unwrap_err();
            assert!(
                matches!(err, Error::InvalidInput { .. } | Error::NotFound(_)),
                "{name} {bad:?}: {err:?}"
            );
        }
    }
    assert_eq!(
        client(&mut n, "B", read("own/mine")),
        Ok(Reply::Value(Some("4".into())))
    );
    assert!(
        client(&mut n, "A", read("own/mine")).is_err(),
        "a local mount is not shipped"
    );
}
