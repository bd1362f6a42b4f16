//! Snapshots of the status view (`sys/replication/{dr,performance}/status` and the combined
//! `sys/replication/status`) in each mode of each kind. Field names follow model.md §5 and the notes
//! (§6.3); timestamps and ids are deterministic given the seed, so the snapshots are stable.

use replication_core::*;
use replication_testkit::{no_hook, Net};

const SEED: u64 = 42;

fn status(n: &Net, name: &str, kind: Kind) -> KindStatus {
    n.clusters[name].status(kind, n.now)
}

/// A primary `A` with a secondary `B` of `kind`, some data written and heartbeats exchanged.
fn pair(kind: Kind) -> Net {
    let mut n = Net::new(&["A", "B"], SEED);
    n.write("A", "secret/app", "v0").unwrap();
    n.join("A", "B", kind);
    n.write("A", "secret/app", "v1").unwrap();
    n.write("A", "local/cfg", "x").unwrap();
    n.advance_hooked(12_000, &mut no_hook);
    n
}

#[test]
fn disabled() {
    let n = Net::new(&["A"], SEED);
    insta::assert_json_snapshot!("dr_disabled", status(&n, "A", Kind::Dr));
    insta::assert_json_snapshot!("performance_disabled", status(&n, "A", Kind::Performance));
}

#[test]
fn bootstrapping() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "B"], SEED);
        n.enable_primary("A", kind);
        let token = n.token("A", kind, "B");
        n.cut.insert("A".into());
        n.req(
            "B",
            Request::EnableSecondary {
                kind,
                token,
                primary_api_addr: None,
            },
        )
        .unwrap();
        n.settle();
        assert_eq!(n.clusters["B"].mode(kind), Mode::Bootstrapping);
        insta::assert_json_snapshot!(format!("{kind}_bootstrapping"), status(&n, "B", kind));
    }
}

#[test]
fn primary_with_a_connected_secondary() {
    for kind in Kind::ALL {
        let n = pair(kind);
        insta::assert_json_snapshot!(format!("{kind}_primary"), status(&n, "A", kind));
    }
}

#[test]
fn secondary_streaming_wals() {
    for kind in Kind::ALL {
        let n = pair(kind);
        assert_eq!(n.state("B", kind), Some(SecondaryState::StreamWals));
        insta::assert_json_snapshot!(
            format!("{kind}_secondary_stream_wals"),
            status(&n, "B", kind)
        );
    }
}

#[test]
fn secondary_idle_after_demote() {
    for kind in Kind::ALL {
        let mut n = pair(kind);
        n.req("A", Request::Demote { kind }).unwrap();
        n.settle();
        assert_eq!(n.state("A", kind), Some(SecondaryState::Idle));
        insta::assert_json_snapshot!(
            format!("{kind}_secondary_idle_after_demote"),
            status(&n, "A", kind)
        );
    }
}

#[test]
fn secondary_after_revoke() {
    for kind in Kind::ALL {
        let mut n = pair(kind);
        n.req(
            "A",
            Request::RevokeSecondary {
                kind,
                id: "B".into(),
            },
        )
        .unwrap();
        n.settle();
        assert_eq!(n.state("B", kind), Some(SecondaryState::Idle));
        insta::assert_json_snapshot!(format!("{kind}_secondary_revoked"), status(&n, "B", kind));
        insta::assert_json_snapshot!(
            format!("{kind}_primary_after_revoke"),
            status(&n, "A", kind)
        );
    }
}

#[test]
fn combined_status() {
    // A is DR primary of B and performance primary of C; B mirrors A's performance role.
    let mut n = Net::new(&["A", "B", "C"], SEED);
    n.write("A", "secret/app", "v0").unwrap();
    n.join("A", "B", Kind::Dr);
    n.join("A", "C", Kind::Performance);
    n.advance_hooked(12_000, &mut no_hook);
    insta::assert_json_snapshot!(
        "combined_dr_and_performance_primary",
        n.clusters["A"].combined_status(n.now)
    );
    insta::assert_json_snapshot!(
        "combined_dr_secondary",
        n.clusters["B"].combined_status(n.now)
    );
    insta::assert_json_snapshot!(
        "combined_performance_secondary",
        n.clusters["C"].combined_status(n.now)
    );
}
