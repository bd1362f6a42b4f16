//! Snapshots of the answer of every route, in every situation of [`support::scenes`]: the answer where
//! the route is legal, a refusal where it is not. Each probe runs on a fresh copy of the scene.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test -p replication-api --test snapshots` and review the
//! diff: `cargo insta review`.

mod support;

use replication_api::{Caller, HttpRequest};
use replication_api::{Method, Op, Route, ROUTES};
use replication_core::{Kind, Mode, RoleView};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use support::{redact, Scene, World};

/// The primary of `target`'s replication set of `kind` (another cluster), else `C`, the token source.
fn set_primary(w: &World, target: &str, kind: Kind) -> String {
    let set = w.cluster(target).inspect(kind).cluster_id();
    w.clusters
        .iter()
        .find(|(n, c)| {
            n.as_str() != target
                && c.mode(kind) == Mode::Primary
                && set.is_some()
                && c.inspect(kind).cluster_id() == set
        })
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| if target == "C" { "A" } else { "C" }.to_string())
}

/// The id of a secondary `target` can name: its own id, or the secondary of `A` of that kind.
fn secondary_id(kind: Kind) -> &'static str {
    match kind {
        Kind::Dr => "B",
        Kind::Performance => "D",
    }
}

/// A plausible, well-formed request for `route` and `method` on the scene's target. Setup calls it
/// needs (issuing a token, starting an attempt) run on `w`, the probe's own copy of the world.
fn canonical(w: &mut World, scene: &Scene, route: &Route, method: Method) -> HttpRequest {
    let kind = route.kind.unwrap_or(Kind::Performance);
    let target = scene.target;
    let op_token = scene.op_token.clone();
    let fresh_token = |w: &mut World| {
        let source = if target == "C" { "A" } else { "C" };
        w.token(source, kind, "probe-enable")
    };
    let update_token = |w: &mut World| {
        let p = set_primary(w, target, kind);
        w.token(&p, kind, "probe-update")
    };
    let mut body = Map::new();
    let mut query = None;
    let mut path_token = None;
    let with_op_token = |body: &mut Map<String, Value>| {
        if let Some(t) = &op_token {
            body.insert("dr_operation_token".into(), json!(t));
        }
    };
    match route.op {
        Op::Status | Op::KindStatus | Op::DynamicFilterPrimary | Op::DynamicFilterSecondary => {}
        Op::Recover | Op::Reindex | Op::DisableSecondary => {
            if kind == Kind::Dr || route.kind.is_none() {
                with_op_token(&mut body)
            }
        }
        Op::EnablePrimary | Op::DemotePrimary | Op::DisablePrimary | Op::GeneratePublicKey => {}
        Op::SecondaryToken => {
            if method == Method::Get {
                query = Some("id=probe&ttl=1h".to_string());
            } else {
                body.insert("id".into(), json!("probe"));
                body.insert("ttl".into(), json!("1h"));
            }
        }
        Op::RevokeSecondary => {
            if !route.pattern.ends_with(":id") {
                body.insert("id".into(), json!(secondary_id(kind)));
            }
        }
        Op::EnableSecondary => {
            let t = fresh_token(w);
            if route.pattern.ends_with(":token") {
                path_token = Some(t);
            } else {
                body.insert("token".into(), json!(t));
            }
        }
        Op::PromoteSecondary => {
            if kind == Kind::Dr {
                match &op_token {
                    Some(t) => body.insert("dr_operation_token".into(), json!(t)),
                    None => body.insert("key".into(), json!(w.key_share(target))),
                };
            }
        }
        Op::UpdatePrimary => {
            let t = update_token(w);
            if route.pattern.ends_with(":token") {
                path_token = Some(t);
            } else {
                body.insert("token".into(), json!(t));
            }
            if kind == Kind::Dr {
                with_op_token(&mut body);
            }
        }
        Op::PathsFilter => {
            if method.is_write() {
                body.insert("mode".into(), json!("deny"));
                body.insert("paths".into(), json!(["secret/"]));
            }
        }
        Op::OperationTokenAttempt => {}
        Op::OperationTokenUpdate => {
            let r = w.call(
                target,
                &HttpRequest::sudo(
                    "POST",
                    "sys/replication/dr/secondary/generate-operation-token/attempt",
                ),
            );
            let nonce = r
                .body
                .as_ref()
                .and_then(|b| b["data"]["nonce"].as_str())
                .unwrap_or("no-attempt")
                .to_string();
            body.insert("key".into(), json!(w.key_share(target)));
            body.insert("nonce".into(), json!(nonce));
        }
        Op::OperationTokenDelete => {
            body.insert(
                "dr_operation_token".into(),
                json!(op_token.clone().unwrap_or_else(|| "dr.unknown".into())),
            );
        }
    }
    let path = route
        .pattern
        .split('/')
        .map(|seg| match seg {
            ":id" => secondary_id(kind).to_string(),
            ":token" => path_token.clone().unwrap_or_default(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut req = HttpRequest::sudo(method.as_str(), &format!("/v1/{path}"));
    if method.is_write() {
        req = req.json(&Value::Object(body));
    }
    if let Some(q) = query {
        req = req.query(&q);
    }
    req
}

/// The methods to probe: every method of the route, `PUT` only where it is the sole write method
/// (it is routed exactly as `POST`; `put_is_post` checks that once).
fn probe_methods(route: &Route) -> Vec<Method> {
    route
        .methods
        .iter()
        .copied()
        .filter(|m| *m != Method::Put || !route.allows(Method::Post))
        .collect()
}

fn label(route: &Route, method: Method) -> String {
    format!("{method} {}", route.pattern)
}

/// Probes every route of the table on a fresh copy of the scene: `(label, status, redacted body)`.
fn probe(scene: &Scene) -> Vec<(String, u16, Value)> {
    let mut out = Vec::new();
    for route in ROUTES {
        for method in probe_methods(route) {
            let mut w = scene.world.clone();
            let req = canonical(&mut w, scene, route, method);
            let r = w.call(scene.target, &req);
            if !(200..300).contains(&r.status) {
                assert!(
                    r.body.as_ref().is_some_and(|b| b["errors"].is_array()),
                    "{}: {} {:?}",
                    scene.name,
                    label(route, method),
                    r.body
                );
            }
            out.push((
                label(route, method),
                r.status,
                redact(&r.body.unwrap_or(Value::Null)),
            ));
        }
    }
    out
}

fn transcript(scene: &Scene, probes: &[(String, u16, Value)]) -> Value {
    json!({
        "scene": scene.description,
        "probes": probes
            .iter()
            .map(|(l, s, b)| json!({"request": l, "status": s, "body": b}))
            .collect::<Vec<_>>(),
    })
}

#[test]
fn every_route_in_every_scene() {
    let scenes = support::scenes();
    let mut matrix: BTreeMap<String, BTreeMap<&str, u16>> = BTreeMap::new();
    for scene in &scenes {
        let probes = probe(scene);
        for (l, s, _) in &probes {
            matrix.entry(l.clone()).or_default().insert(scene.name, *s);
        }
        insta::assert_json_snapshot!(format!("scene-{}", scene.name), transcript(scene, &probes));
    }
    // The compact view: which route answers what, where. Easy to review against model.md §1.
    let rows: Vec<String> = ROUTES
        .iter()
        .flat_map(|r| probe_methods(r).into_iter().map(move |m| label(r, m)))
        .map(|l| {
            let cells: Vec<String> = scenes
                .iter()
                .map(|s| format!("{}={}", s.name, matrix[&l][s.name]))
                .collect();
            format!("{l}: {}", cells.join(" "))
        })
        .collect();
    insta::assert_json_snapshot!("status-matrix", rows);

    // Every route succeeds somewhere, and every route except the status reads is refused somewhere.
    for route in ROUTES {
        for method in probe_methods(route) {
            let l = label(route, method);
            let statuses: Vec<u16> = matrix[&l].values().copied().collect();
            assert!(
                statuses.iter().any(|s| (200..300).contains(s)),
                "{l} never succeeds: {statuses:?}"
            );
            if !matches!(route.op, Op::Status | Op::KindStatus) {
                assert!(
                    statuses.iter().any(|s| !(200..300).contains(s)),
                    "{l} is never refused: {statuses:?}"
                );
            }
        }
    }
}

#[test]
fn put_is_post() {
    for scene in support::scenes() {
        for route in ROUTES.iter().filter(|r| r.allows(Method::Put)) {
            let mut a = scene.world.clone();
            let mut b = scene.world.clone();
            let post = canonical(&mut a, &scene, route, Method::Post);
            let mut put = canonical(&mut b, &scene, route, Method::Post);
            put.method = "PUT".into();
            let (ra, rb) = (a.call(scene.target, &post), b.call(scene.target, &put));
            assert_eq!(ra, rb, "{}: {}", scene.name, route.pattern);
            assert!(a.cluster(scene.target) == b.cluster(scene.target));
        }
    }
}

/// Who may call what: every route probed by an anonymous caller and by a token without sudo.
#[test]
fn authority_matrix() {
    let scenes = support::scenes();
    let mut rows = Vec::new();
    for route in ROUTES {
        let method = route.methods[0];
        let mut cells = Vec::new();
        for scene in scenes
            .iter()
            .filter(|s| matches!(s.name, "primary" | "dr-secondary"))
        {
            for caller in [Caller::Anonymous, Caller::Token] {
                let mut w = scene.world.clone();
                let before = w.cluster(scene.target).clone();
                let req = canonical(&mut w, scene, route, method).caller(caller);
                let setup = w.cluster(scene.target).clone();
                let r = w.call(scene.target, &req);
                if r.status == 403 {
                    assert!(w.cluster(scene.target) == &setup, "403 changed the cluster");
                }
                let _ = before;
                cells.push(format!("{}/{caller:?}={}", scene.name, r.status));
            }
        }
        rows.push(format!("{}: {}", label(route, method), cells.join(" ")));
    }
    insta::assert_json_snapshot!("authority-matrix", rows);

    // The messages say what is needed.
    let mut w = support::base_world();
    let r = w.call(
        "A",
        &HttpRequest::sudo("POST", "sys/replication/dr/primary/enable").caller(Caller::Anonymous),
    );
    assert_eq!(r.status, 403);
    let msg = r.body.unwrap()["errors"][0].as_str().unwrap().to_string();
    assert!(msg.contains("needs a Vault token"), "{msg}");
    let r = w.call(
        "A",
        &HttpRequest::sudo("POST", "sys/replication/reindex").caller(Caller::Token),
    );
    assert_eq!(r.status, 403);
    let msg = r.body.unwrap()["errors"][0].as_str().unwrap().to_string();
    assert!(msg.contains("'sudo'"), "{msg}");
}

/// The key-share DR promote flow of seed 002, step by step, anonymous as on a real DR secondary.
#[test]
fn dr_promote_with_key_shares() {
    let mut w = support::base_world();
    let keys = w.cluster("B").unseal_keys().clone();
    let promote = "/v1/sys/replication/dr/secondary/promote";
    let call = |w: &mut World, body: Value| {
        let r = w.call(
            "B",
            &HttpRequest::sudo("POST", promote)
                .caller(Caller::Anonymous)
                .json(&body),
        );
        (r.status, redact(&r.body.unwrap_or(Value::Null)))
    };
    let mut steps = vec![];
    steps.push(call(&mut w, json!({"key": keys.shares[0]})));
    steps.push(call(&mut w, json!({"key": keys.shares[0]})));
    steps.push(call(&mut w, json!({"reset": true})));
    steps.push(call(&mut w, json!({"key": "not-a-share"})));
    steps.push(call(&mut w, json!({})));
    for k in keys.shares.iter().take(keys.threshold as usize) {
        steps.push(call(&mut w, json!({"key": k})));
    }
    assert!(matches!(
        w.cluster("B").inspect(Kind::Dr),
        RoleView::Primary(_)
    ));
    let steps: Vec<Value> = steps
        .into_iter()
        .map(|(s, b)| json!({"status": s, "body": b}))
        .collect();
    insta::assert_json_snapshot!("dr-promote-key-shares", steps);
}

/// Parameter handling: every kind of malformed input is a 400 naming the parameter, and unknown
/// parameters are ignored with Vault's warning.
#[test]
fn parameter_errors_and_warnings() {
    let base = support::base_world();
    let cases: Vec<(&str, HttpRequest)> = vec![
        (
            "body not JSON",
            HttpRequest::sudo("POST", "sys/replication/dr/primary/revoke-secondary").body("id=B"),
        ),
        (
            "body not an object",
            HttpRequest::sudo("POST", "sys/replication/dr/primary/revoke-secondary")
                .body("[\"B\"]"),
        ),
        (
            "missing id",
            HttpRequest::sudo("POST", "sys/replication/dr/primary/secondary-token")
                .json(&json!({})),
        ),
        (
            "empty id",
            HttpRequest::sudo("GET", "sys/replication/dr/primary/secondary-token?id="),
        ),
        (
            "id of wrong type",
            HttpRequest::sudo("POST", "sys/replication/dr/primary/secondary-token")
                .json(&json!({"id": ["x"]})),
        ),
        (
            "ttl zero",
            HttpRequest::sudo("POST", "sys/replication/dr/primary/secondary-token")
                .json(&json!({"id": "x", "ttl": 0})),
        ),
        (
            "ttl unparsable",
            HttpRequest::sudo("GET", "sys/replication/dr/primary/secondary-token")
                .query("id=x&ttl=soon"),
        ),
        (
            "force not a boolean",
            HttpRequest::sudo("POST", "sys/replication/performance/secondary/promote")
                .json(&json!({"force": "yes"})),
        ),
        (
            "mode invalid",
            HttpRequest::sudo("POST", "sys/replication/performance/primary/paths-filter/D")
                .json(&json!({"mode": "whitelist"})),
        ),
        (
            "paths not a list",
            HttpRequest::sudo("POST", "sys/replication/performance/primary/paths-filter/D")
                .json(&json!({"paths": {"a": 1}})),
        ),
        (
            "update-primary with both",
            HttpRequest::sudo(
                "POST",
                "sys/replication/performance/secondary/update-primary",
            )
            .json(&json!({"token": "", "update_primary_addrs": ["https://a:8201"]})),
        ),
        (
            "update-primary with neither",
            HttpRequest::sudo(
                "POST",
                "sys/replication/performance/secondary/update-primary",
            )
            .json(&json!({"primary_api_addr": "https://a:8200"})),
        ),
        (
            "promote with key and token",
            HttpRequest::sudo("POST", "sys/replication/dr/secondary/promote")
                .json(&json!({"key": "k", "dr_operation_token": "t"})),
        ),
        (
            "attempt with pgp_key",
            HttpRequest::sudo(
                "POST",
                "sys/replication/dr/secondary/generate-operation-token/attempt",
            )
            .json(&json!({"pgp_key": "abc"})),
        ),
        (
            "bad query escape",
            HttpRequest::sudo("GET", "sys/replication/status?x=%zz"),
        ),
        (
            "bad path",
            HttpRequest::sudo("GET", "/v1/sys/replication/../status"),
        ),
        (
            "unknown path",
            HttpRequest::sudo("GET", "/v1/sys/replication/dr/primary/nope"),
        ),
        (
            "unknown method",
            HttpRequest::sudo("PATCH", "/v1/sys/replication/status"),
        ),
        (
            "wrong method",
            HttpRequest::sudo("DELETE", "/v1/sys/replication/dr/primary/enable"),
        ),
        (
            "unknown params warn, 204 becomes 200",
            HttpRequest::sudo(
                "POST",
                "sys/replication/performance/primary/revoke-secondary",
            )
            .json(&json!({"id": "D", "lease_id": "x", "zz": 1})),
        ),
        (
            "unknown params on a status read",
            HttpRequest::sudo("GET", "sys/replication/dr/status?verbose=1"),
        ),
        (
            "unknown params on recover",
            HttpRequest::sudo("POST", "sys/replication/recover").json(&json!({"now": true})),
        ),
        (
            "secondary-token by POST with the id in the query",
            HttpRequest::sudo("POST", "sys/replication/dr/primary/secondary-token?id=q")
                .json(&json!({"ttl": "10m"})),
        ),
        (
            "secondary-token with a public key",
            HttpRequest::sudo(
                "POST",
                "sys/replication/performance/primary/secondary-token",
            )
            .json(&json!({"id": "pk", "secondary_public_key": "pk-abc"})),
        ),
        (
            "GET ignores the body",
            HttpRequest::sudo("GET", "sys/replication/performance/primary/paths-filter/D")
                .body("not json"),
        ),
    ];
    let mut out = Vec::new();
    for (name, req) in cases {
        let target = if req.path.contains("secondary/promote") && req.path.contains("dr")
            || req.path.contains("operation-token")
        {
            "B"
        } else if req.path.contains("secondary/update-primary") {
            "D"
        } else {
            "A"
        };
        let mut w = base.clone();
        let before = w.cluster(target).clone();
        let r = w.call(target, &req);
        if !(200..300).contains(&r.status) {
            assert!(
                w.cluster(target) == &before,
                "{name}: refusal changed the cluster"
            );
        }
        out.push(json!({
            "case": name,
            "request": format!("{} {} query={:?} body={}", req.method, req.path, req.query, String::from_utf8_lossy(&req.body)),
            "status": r.status,
            "body": redact(&r.body.unwrap_or(Value::Null)),
        }));
    }
    insta::assert_json_snapshot!("parameter-errors-and-warnings", out);
}

/// The path-parameter forms carry the same value as the body form, and the capture wins.
#[test]
fn path_parameters_win_over_the_body() {
    let mut w = support::base_world();
    let r = w.call(
        "A",
        &HttpRequest::sudo("POST", "sys/replication/primary/revoke-secondary/D")
            .json(&json!({"id": "nobody"})),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
    let st = w.get("A", "sys/replication/performance/status");
    let secondaries = st.body.unwrap()["data"]["secondaries"].clone();
    assert_eq!(secondaries, json!([]), "D was revoked");
}

/// A percent-encoded token in the path is decoded before use.
#[test]
fn token_in_the_path_is_percent_decoded() {
    let mut w = support::base_world();
    let token = w.token("C", Kind::Performance, "E");
    let encoded: String = token
        .chars()
        .map(|c| {
            if c == '.' {
                "%2E".to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    let r = w.call(
        "E",
        &HttpRequest::sudo(
            "PUT",
            &format!("/v1/sys/replication/secondary/enable/{encoded}"),
        ),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
    w.advance(10_000);
    assert_eq!(w.cluster("E").mode(Kind::Performance), Mode::Secondary);
}
