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
