//! End to end: real `replication-server` processes on loopback, talking over their cluster ports,
//! with heartbeats every 100 ms.

mod support;

use serde_json::{json, Value};
use support::{wait_for, Server};

fn put(s: &Server, key: &str, value: Value) {
    let (status, body) = s.call("PUT", &format!("/v1/secret/{key}"), Some(value));
    assert_eq!(status, 204, "{}: PUT {key} -> {status} {body}", s.name);
}

fn get(s: &Server, key: &str) -> (u16, Value) {
    s.call("GET", &format!("/v1/secret/{key}"), None)
}

/// `primary` with `secondary` activated as its secondary of `kind` (`dr` or `performance`),
/// streaming.
fn pair(root: &std::path::Path, kind: &str, primary: &str, secondary: &str) -> (Server, Server) {
    let p = Server::start(primary, root);
    let s = Server::start(secondary, root);
    p.ok(
        "POST",
        &format!("/v1/sys/replication/{kind}/primary/enable"),
        None,
    );
    let t = p.secondary_token(kind, secondary);
    let enable = format!("/v1/sys/replication/{kind}/secondary/enable");
    s.ok("POST", &enable, Some(json!({"token": t})));
    s.wait_streaming(kind);
    (p, s)
}

/// A's DR secondary B.
fn dr_pair(root: &std::path::Path) -> (Server, Server) {
    pair(root, "dr", "A", "B")
}

/// P's performance secondary S.
fn perf_pair(root: &std::path::Path) -> (Server, Server) {
    pair(root, "performance", "P", "S")
}

#[test]
fn a_dr_pair_over_http_fails_over_and_back_without_losing_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = dr_pair(dir.path());
    for i in 0..20 {
        put(&a, &format!("app/{i}"), json!({"n": i}));
    }
    // The DR secondary serves no client reads.
    let (status, body) = get(&b, "app/1");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0].as_str().unwrap().contains("DR secondary"),
        "{body}"
    );
    wait_for("B to hold the writes", 20, || {
        (b.status("dr")["merkle_root"] == a.status("dr")["merkle_root"]).then_some(())
    });

    // Planned failover: demote A, promote B with a DR operation token made from the key shares,
    // point A at B.
    let keys = a.unseal_keys();
    a.ok("POST", "/v1/sys/replication/dr/primary/demote", None);
    let op = b.operation_token(&keys);
    b.ok(
        "POST",
        "/v1/sys/replication/dr/secondary/promote",
        Some(json!({"dr_operation_token": op})),
    );
    assert_eq!(b.status("dr")["mode"], "primary");
    let t = b.secondary_token("dr", "A");
    let op_a = a.operation_token(&keys);
    a.ok(
        "POST",
        "/v1/sys/replication/dr/secondary/update-primary",
        Some(json!({"token": t, "dr_operation_token": op_a})),
    );
    a.wait_streaming("dr");

    // Nothing was lost, and B's writes reach A.
    for i in 0..20 {
        let (status, body) = get(&b, &format!("app/{i}"));
        assert_eq!(
            (status, &body["data"]),
            (200, &json!({"n": i})),
            "app/{i} on B"
        );
    }
    put(&b, "after", json!({"by": "B"}));
    wait_for("A to follow B", 20, || {
        (a.status("dr")["merkle_root"] == b.status("dr")["merkle_root"]).then_some(())
    });
}

#[test]
fn a_performance_secondary_forwards_writes_to_its_primary() {
    let dir = tempfile::tempdir().unwrap();
    let (p, s) = perf_pair(dir.path());
    // A shared write on the secondary is applied by the primary and comes back by replication.
    put(&s, "shared", json!({"from": "S"}));
    assert_eq!(get(&p, "shared").1["data"], json!({"from": "S"}));
    wait_for("the write to come back to S", 20, || {
        (get(&s, "shared").0 == 200).then_some(())
    });
    // A local mount stays on the secondary.
    s.ok(
        "POST",
        "/v1/sys/mounts/mine",
        Some(json!({"type": "kv", "local": true})),
    );
    s.ok("PUT", "/v1/mine/x", Some(json!({"a": 1})));
    assert_eq!(s.call("GET", "/v1/mine/x", None).1["data"], json!({"a": 1}));
    assert_eq!(p.call("GET", "/v1/mine/x", None).0, 404);
}

#[test]
fn every_acknowledged_write_survives_kill_9_of_the_primary() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, b) = dr_pair(dir.path());
    let (api, token) = (a.api.clone(), a.token.clone());
    let writer = std::thread::spawn(move || {
        let mut acknowledged = vec![];
        for i in 0..100_000 {
            let url = format!("{api}/v1/secret/stream/{i}");
            match support::http("PUT", &url, Some(&token), Some(&json!({"i": i}))) {
                Ok((204, _)) => acknowledged.push(i),
                _ => break,
            }
        }
        acknowledged
    });
    wait_for("some writes", 20, || {
        (a.status("dr")["last_wal"].as_u64() > Some(60)).then_some(())
    });
    a.kill();
    let acknowledged = writer.join().unwrap();
    assert!(
        acknowledged.len() > 50,
        "only {} writes before the kill",
        acknowledged.len()
    );
    eprintln!("{} writes acknowledged before kill -9", acknowledged.len());
    a.restart();
    for i in &acknowledged {
        let (status, body) = get(&a, &format!("stream/{i}"));
        assert_eq!(
            (status, &body["data"]),
            (200, &json!({"i": i})),
            "acknowledged write {i} lost"
        );
    }
    // The replication settings survived too, and the secondary catches up.
    assert_eq!(a.status("dr")["mode"], "primary");
    wait_for("B to converge with the restarted A", 30, || {
        (b.status("dr")["merkle_root"] == a.status("dr")["merkle_root"]
            && b.status("dr")["state"] == "stream-wals")
            .then_some(())
    });
}

#[test]
fn a_secondary_killed_after_its_wipe_before_its_sync_restarts_and_converges() {
    let dir = tempfile::tempdir().unwrap();
    let a = Server::start("A", dir.path());
    let mut b = Server::start("B", dir.path());
    // About 2 MB of secrets: more than a client request may carry, all in B's first sync.
    let blob = "x".repeat(5000);
    for i in 0..400 {
        put(&a, &format!("bulk/{i}"), json!({"i": i, "blob": blob}));
    }
    a.ok("POST", "/v1/sys/replication/dr/primary/enable", None);
    let t = a.secondary_token("dr", "B");
    b.ok(
        "POST",
        "/v1/sys/replication/dr/secondary/enable",
        Some(json!({"token": t})),
    );
    // Kill it once the activation was accepted (it is a DR secondary, wiped) and before its first
    // sync finished, polling as fast as it answers.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let seen = loop {
        let st = b.status("dr");
        let state = st["state"].as_str().unwrap_or("").to_string();
        if st["mode"] == "secondary" {
            break state;
        }
        assert!(
            std::time::Instant::now() < end,
            "B never became a secondary: {st}"
        );
    };
    b.kill();
    assert_ne!(
        seen, "stream-wals",
        "B finished its sync before the kill: nothing was interrupted"
    );
    put(&a, "while-down", json!({"x": 1}));
    b.restart();
    b.wait_streaming("dr");
    wait_for("B to converge", 30, || {
        (b.status("dr")["merkle_root"] == a.status("dr")["merkle_root"]).then_some(())
    });
    assert_eq!(b.status("dr")["mode"], "secondary");
}

#[test]
fn a_forwarded_write_is_answered_even_when_the_primary_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, s) = perf_pair(dir.path());
    p.kill();
    // Within the forwarding timeout (three heartbeats) the secondary answers, never hangs.
    let started = std::time::Instant::now();
    let (status, body) = s.call("PUT", "/v1/secret/x", Some(json!({"a": 1})));
    assert!(status >= 500 || status == 400, "{status} {body}");
    let says = body["errors"][0].as_str().unwrap_or("");
    assert!(
        says.contains("outcome unknown")
            || says.contains("cannot reach")
            || says.contains("not applied"),
        "{body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "answered after {:?}",
        started.elapsed()
    );
}

#[test]
fn bad_requests_get_vaults_error_shape_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let a = Server::start("A", dir.path());
    let anon = support::http("GET", &format!("{}/v1/secret/x", a.api), None, None).unwrap();
    assert_eq!(anon.0, 403);
    assert!(
        anon.1["errors"][0]
            .as_str()
            .unwrap()
            .contains("X-Vault-Token"),
        "{}",
        anon.1
    );
    let forged = support::http(
        "POST",
        &format!("{}/v1/sys/replication/dr/primary/enable", a.api),
        Some("hvs.forged"),
        None,
    )
    .unwrap();
    assert_eq!(forged.0, 403, "{}", forged.1);
    assert_eq!(
        a.call("GET", "/v1/secret/missing", None),
        (404, json!({"errors": []}))
    );
    let big = json!({"v": "x".repeat(2 << 20)});
    let (status, body) = a.call("PUT", "/v1/secret/big", Some(big));
    assert_eq!(status, 413, "{body}");
    assert!(
        body["errors"][0].as_str().unwrap().contains("limit"),
        "{body}"
    );
    let (status, body) = a.call("POST", "/v1/sys/replication/nope", None);
    assert_eq!(status, 404, "{body}");
    let (status, body) = support::http(
        "POST",
        &format!("http://127.0.0.1:{}/_replication/message", a.cluster_port),
        None,
        Some(&json!({"version": 9, "from": "x", "message": "?"})),
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0].as_str().unwrap().contains("version 9"),
        "{body}"
    );
    // A non-sudo token, minted over HTTP, may use KV but not sudo endpoints (secondary-token).
    let created = a.ok(
        "POST",
        "/v1/auth/token/create",
        Some(json!({"policies": ["default"]})),
    );
    let t = created["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = support::http(
        "PUT",
        &format!("{}/v1/secret/x", a.api),
        Some(&t),
        Some(&json!({"a": 1})),
    )
    .unwrap();
    assert_eq!(status, 204);
    a.ok("POST", "/v1/sys/replication/dr/primary/enable", None);
    let (status, body) = support::http(
        "POST",
        &format!("{}/v1/sys/replication/dr/primary/secondary-token", a.api),
        Some(&t),
        Some(&json!({"id": "B"})),
    )
    .unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(
        body["errors"][0].as_str().unwrap().contains("sudo"),
        "{body}"
    );
    assert_eq!(a.status("dr")["known_secondaries"], json!([]));
    // Still serving.
    assert_eq!(get(&a, "x").1["data"], json!({"a": 1}));
}
