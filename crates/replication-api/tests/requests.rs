//! Targeted behaviour of single requests that the per-route snapshots do not pin down.

mod support;

use replication_api::{Caller, HttpRequest};
use replication_core::{Kind, Mode, SecondaryState};
use serde_json::{json, Value};

fn errors(body: &Option<Value>) -> String {
    body.as_ref()
        .and_then(|b| b["errors"][0].as_str())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn update_primary_with_an_empty_token_forgets_the_primary() {
    let mut w = support::base_world();
    let r = w.post(
        "D",
        "sys/replication/performance/secondary/update-primary",
        json!({"token": ""}),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
    let st = w
        .get("D", "sys/replication/performance/status")
        .body
        .unwrap();
    assert_eq!(st["data"]["known_primary_cluster_addrs"], json!([]));
    assert_eq!(st["data"]["state"], json!("idle"));
}

#[test]
fn update_primary_with_addresses_keeps_the_identity() {
    let mut w = support::base_world();
    let r = w.post(
        "D",
        "sys/replication/performance/secondary/update-primary",
        json!({"update_primary_addrs": "https://a:8201"}),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
    w.advance(10_000);
    let st = w
        .get("D", "sys/replication/performance/status")
        .body
        .unwrap();
    assert_eq!(
        st["data"]["known_primary_cluster_addrs"][0],
        json!("https://a:8201")
    );
    assert_eq!(st["data"]["secondary_id"], json!("D"));
}

#[test]
fn dr_update_primary_needs_the_operation_token() {
    let mut w = support::base_world();
    let token = w.token("A", Kind::Dr, "B2");
    let path = "sys/replication/dr/secondary/update-primary";
    let anon = |body: Value| {
        HttpRequest::sudo("POST", path)
            .caller(Caller::Anonymous)
            .json(&body)
    };
    let before = w.cluster("B").clone();
    let r = w.call("B", &anon(json!({"token": token})));
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert!(errors(&r.body).contains("dr_operation_token"));
    let r = w.call(
        "B",
        &anon(json!({"token": token, "dr_operation_token": "dr.wrong"})),
    );
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert!(w.cluster("B") == &before);
    let op = w.operation_token("B");
    let r = w.call(
        "B",
        &anon(json!({"token": token, "dr_operation_token": op})),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
}

#[test]
fn promote_without_force_is_503_while_catching_up() {
    let mut w = support::base_world();
    let token = w.token("A", Kind::Performance, "E");
    let r = w.call(
        "E",
        &HttpRequest::sudo("POST", "sys/replication/performance/secondary/enable")
            .json(&json!({ "token": token })),
    );
    assert_eq!(r.status, 204);
    // Deliver until the primary accepted E, but not until E caught up.
    while w.cluster("E").mode(Kind::Performance) != Mode::Secondary {
        assert!(w.deliver_one(), "activation never completed");
    }
    assert_ne!(
        w.cluster("E").secondary_state(Kind::Performance),
        Some(SecondaryState::StreamWals)
    );
    let promote = "sys/replication/performance/secondary/promote";
    let before = w.cluster("E").clone();
    let r = w.call("E", &HttpRequest::sudo("POST", promote).json(&json!({})));
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert!(errors(&r.body).contains("force"), "{:?}", r.body);
    assert!(w.cluster("E") == &before);
    let r = w.call(
        "E",
        &HttpRequest::sudo("POST", promote).json(&json!({"force": "true"})),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(w.cluster("E").mode(Kind::Performance), Mode::Primary);
}

#[test]
fn secondary_token_with_a_public_key_is_encrypted_to_that_cluster() {
    let mut w = support::base_world();
    let r = w.post(
        "E",
        "sys/replication/performance/secondary/generate-public-key",
        json!({}),
    );
    let pk = r.body.unwrap()["data"]["secondary_public_key"]
        .as_str()
        .unwrap()
        .to_string();
    let r = w.post(
        "A",
        "sys/replication/performance/primary/secondary-token",
        json!({"id": "E", "secondary_public_key": pk}),
    );
    assert_eq!(r.status, 200);
    let body = r.body.unwrap();
    assert_eq!(body["wrap_info"], Value::Null);
    let token = body["data"]["token"].as_str().unwrap().to_string();
    let r = w.post(
        "E",
        "sys/replication/performance/secondary/enable",
        json!({"token": token}),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
    w.advance(10_000);
    assert_eq!(w.cluster("E").mode(Kind::Performance), Mode::Secondary);
}

#[test]
fn revoke_of_an_unknown_id_is_404() {
    let mut w = support::base_world();
    let r = w.post(
        "A",
        "sys/replication/dr/primary/revoke-secondary",
        json!({"id": "nobody"}),
    );
    assert_eq!(r.status, 404, "{:?}", r.body);
}

#[test]
fn a_wrapped_token_reports_the_requested_ttl_and_path() {
    let mut w = support::base_world();
    let r = w.call(
        "A",
        &HttpRequest::sudo(
            "GET",
            "/v1/sys/replication/primary/secondary-token?id=x&ttl=90s",
        ),
    );
    let info = r.body.unwrap()["wrap_info"].clone();
    assert_eq!(info["ttl"], json!(90));
    assert_eq!(
        info["creation_path"],
        json!("sys/replication/primary/secondary-token")
    );
    assert_eq!(info["creation_time"], json!(w.now.to_rfc3339()));
}

#[test]
fn the_query_field_and_the_path_query_are_both_read() {
    let mut w = support::base_world();
    let r = w.call(
        "A",
        &HttpRequest::sudo(
            "GET",
            "sys/replication/dr/primary/secondary-token?id=p&ttl=1h",
        )
        .query("ttl=2m"),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body.unwrap()["wrap_info"]["ttl"], json!(120));
}

/// Parameters the model accepts but does not use (`ca_file`, `ca_path`; reindex's `diff`, `force`,
/// `skip_flush`) are still type-checked: a wrong type is a 400 naming the parameter, before the
/// core sees the request, and the cluster is left as it was.
#[test]
fn accepted_but_unused_parameters_are_type_checked() {
    let mut w = support::base_world();
    let cases = [
        (
            "C",
            "sys/replication/performance/secondary/enable",
            json!({"token": "t", "ca_file": {"a": 1}}),
            "ca_file",
        ),
        (
            "C",
            "sys/replication/performance/secondary/enable",
            json!({"token": "t", "ca_path": ["x"]}),
            "ca_path",
        ),
        (
            "B",
            "sys/replication/dr/secondary/update-primary",
            json!({"token": "t", "dr_operation_token": "o", "ca_file": ["x"]}),
            "ca_file",
        ),
        (
            "A",
            "sys/replication/reindex",
            json!({"diff": "maybe"}),
            "diff",
        ),
        (
            "A",
            "sys/replication/reindex",
            json!({"force": [true]}),
            "force",
        ),
        (
            "A",
            "sys/replication/reindex",
            json!({"skip_flush": 7}),
            "skip_flush",
        ),
    ];
    for (name, path, body, param) in cases {
        let before = w.cluster(name).snapshot();
        let r = w.post(name, path, body.clone());
        assert_eq!(r.status, 400, "{path} {body}: {:?}", r.body);
        let e = errors(&r.body);
        assert!(e.contains(param), "{path} {body}: {e}");
        assert_eq!(w.cluster(name).snapshot(), before, "{path} {body}");
    }
}

/// `decode` tells a host what a request will do before it runs: a status read makes no core
/// request, an operator call makes the one its route names.
#[test]
fn decode_names_the_core_request_a_call_makes() {
    let w = support::base_world();
    let a = w.cluster("A");
    let status =
        replication_api::decode(a, &HttpRequest::sudo("GET", "sys/replication/dr/status")).unwrap();
    assert_eq!(status.request(), None);
    assert_eq!(status.route().pattern, "sys/replication/dr/status");
    let demote = replication_api::decode(
        a,
        &HttpRequest::sudo("POST", "sys/replication/dr/primary/demote"),
    )
    .unwrap();
    assert_eq!(
        demote.request(),
        Some(&replication_core::Request::Demote { kind: Kind::Dr })
    );
}

/// An endpoint that answers 204 keeps its warnings when it must answer 200 for an ignored
/// parameter: the core's warning and the ignored parameter's both show.
#[test]
fn warnings_survive_when_an_ignored_parameter_turns_a_204_into_a_200() {
    let mut w = support::base_world();
    let r = w.post(
        "A",
        "sys/replication/dr/primary/demote",
        json!({"bogus": 1}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let warnings: Vec<String> = r.body.as_ref().unwrap()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("bogus")), "{warnings:?}");
}
