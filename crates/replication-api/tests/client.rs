//! The client layer (`client.rs`): KV version 1 at the cluster's mounts, `sys/mounts`, `sys/health`,
//! each answered with Vault's shapes and status codes.

mod support;

use replication_api::{
    decode_client, health, render_client, Caller, ClientCall, HttpRequest, Response,
};
use replication_core::{Input, Kind};
use serde_json::{json, Value};
use support::World;

/// One client request on `name` as a host serves it: decode, step, render (no forwarding here).
fn kv(w: &mut World, name: &str, req: HttpRequest) -> Response {
    let call = match decode_client(w.cluster(name), &req) {
        Err(refusal) => return refusal,
        Ok(c) => c,
    };
    let r = w.with_cluster(name, |c, now, rng| match call {
        ClientCall::Health(codes) => health(c, now, &codes),
        ClientCall::Mounts => replication_api::mounts(c, rng),
        ClientCall::Op(op) => {
            let result = c.step(now, rng, Input::Client(op));
            render_client(result, rng)
        }
    });
    w.settle();
    r
}

fn token(method: &str, path: &str) -> HttpRequest {
    HttpRequest::sudo(method, path).caller(Caller::Token)
}

fn errors(r: &Response) -> Vec<String> {
    r.body.as_ref().unwrap()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_secret_written_as_a_json_object_reads_back_with_vaults_kv_v1_envelope() {
    let mut w = World::new(&["A"], 1);
    let put = token("PUT", "/v1/secret/app/db").json(&json!({"user": "app", "n": 3}));
    assert_eq!(kv(&mut w, "A", put).status, 204);
    let r = kv(&mut w, "A", token("GET", "/v1/secret/app/db"));
    assert_eq!(r.status, 200);
    let body = r.body.unwrap();
    assert_eq!(body["data"], json!({"user": "app", "n": 3}));
    assert_eq!(body["lease_duration"], json!(2_764_800));
    assert_eq!(body["renewable"], json!(false));
    assert!(body["request_id"].as_str().is_some_and(|id| id.len() == 36));
    // Deleted: 204, and then Vault's bare 404 that client libraries rely on.
    assert_eq!(
        kv(&mut w, "A", token("DELETE", "/v1/secret/app/db")).status,
        204
    );
    let gone = kv(&mut w, "A", token("GET", "/v1/secret/app/db"));
    assert_eq!((gone.status, gone.body), (404, Some(json!({"errors": []}))));
}

#[test]
fn list_shows_the_children_of_a_folder_with_subfolders_ending_in_a_slash() {
    let mut w = World::new(&["A"], 1);
    for p in ["secret/a", "secret/b/x", "secret/b/y", "secret/c/d/e"] {
        let r = kv(
            &mut w,
            "A",
            token("POST", &format!("/v1/{p}")).json(&json!({"v": 1})),
        );
        assert_eq!(r.status, 204, "{p}");
    }
    for req in [
        token("LIST", "/v1/secret/"),
        token("GET", "/v1/secret?list=true"),
    ] {
        let r = kv(&mut w, "A", req);
        assert_eq!(r.status, 200);
        let body = r.body.unwrap();
        assert_eq!(body["data"]["keys"], json!(["a", "b/", "c/"]));
        assert_eq!(body["lease_duration"], json!(0), "no lease on a list");
    }
    let r = kv(&mut w, "A", token("LIST", "/v1/secret/b"));
    assert_eq!(r.body.unwrap()["data"]["keys"], json!(["x", "y"]));
    let empty = kv(&mut w, "A", token("LIST", "/v1/secret/nothing/"));
    assert_eq!(
        (empty.status, empty.body),
        (404, Some(json!({"errors": []})))
    );
}

#[test]
fn bad_client_requests_get_vaults_error_shape_and_change_nothing() {
    let mut w = World::new(&["A"], 1);
    // Take what the new cluster has to hand out first: `before` is the state at rest.
    w.with_cluster("A", |c, _, _| c.ready());
    let before = w.cluster("A").clone();
    let cases: Vec<(HttpRequest, u16, &str)> = vec![
        (
            HttpRequest::sudo("GET", "/v1/secret/x").caller(Caller::Anonymous),
            403,
            "X-Vault-Token",
        ),
        (
            token("PUT", "/v1/secret/x").body("not json"),
            400,
            "failed to parse JSON",
        ),
        (
            token("PUT", "/v1/secret/x").json(&json!([1, 2])),
            400,
            "JSON object",
        ),
        (
            token("PUT", "/v1/secret/x").json(&json!({})),
            400,
            "no data provided",
        ),
        (
            token("PUT", "/v1/nomount/x").json(&json!({"a": 1})),
            404,
            "mount a secrets engine",
        ),
        (
            token("PATCH", "/v1/secret/x").json(&json!({"a": 1})),
            405,
            "GET, PUT, POST, DELETE or LIST",
        ),
        (
            token("POST", "/v1/sys/mounts/kv2").json(&json!({"type": "kv"})),
            403,
            "sudo",
        ),
        (
            HttpRequest::sudo("POST", "/v1/sys/mounts/kv2").json(&json!({"type": "pki"})),
            400,
            "KV version 1",
        ),
        (
            HttpRequest::sudo("POST", "/v1/sys/mounts/kv2")
                .json(&json!({"options": {"version": "2"}})),
            400,
            "version",
        ),
        (
            HttpRequest::sudo("POST", "/v1/sys/mounts/kv2").json(&json!({"local": "maybe"})),
            400,
            "boolean",
        ),
        (
            HttpRequest::sudo("GET", "/v1/sys/policy"),
            404,
            "sys/health",
        ),
        (
            HttpRequest::sudo("GET", "/v1/sys/health?drsecondarycode=abc"),
            400,
            "status code",
        ),
        (
            HttpRequest::sudo("POST", "/v1/sys/mounts/secret/inner"),
            400,
            "overlaps",
        ),
    ];
    for (req, status, says) in cases {
        let what = format!("{} {}", req.method, req.path);
        let r = kv(&mut w, "A", req);
        assert_eq!(r.status, status, "{what}: {:?}", r.body);
        assert!(
            errors(&r).iter().any(|e| e.contains(says)),
            "{what}: {:?} should say {says:?}",
            r.body
        );
        assert!(*w.cluster("A") == before, "{what} changed the cluster");
    }
}

#[test]
fn a_mount_created_over_http_serves_secrets_and_a_local_one_is_not_shipped() {
    let mut w = World::new(&["A", "B"], 1);
    let mount = |local: bool| {
        HttpRequest::sudo("POST", "/v1/sys/mounts/team")
            .json(&json!({"type": "kv", "local": local}))
    };
    assert_eq!(kv(&mut w, "A", mount(true)).status, 204);
    assert_eq!(w.cluster("A").storage().mounts().get("team/"), Some(&true));
    assert_eq!(
        kv(
            &mut w,
            "A",
            token("PUT", "/v1/team/x").json(&json!({"a": 1}))
        )
        .status,
        204
    );
    assert_eq!(
        kv(&mut w, "A", token("GET", "/v1/team/x")).body.unwrap()["data"],
        json!({"a": 1})
    );
    assert_eq!(kv(&mut w, "B", mount(false)).status, 204);
    assert_eq!(w.cluster("B").storage().mounts().get("team/"), Some(&false));
    let listed = kv(&mut w, "A", token("GET", "/v1/sys/mounts"))
        .body
        .unwrap();
    assert_eq!(listed["data"]["team/"]["local"], json!(true));
    assert_eq!(listed["data"]["secret/"]["options"]["version"], json!("1"));
    assert_eq!(
        listed["team/"], listed["data"]["team/"],
        "listed at the top level too, as Vault does"
    );
}

#[test]
fn a_dr_secondary_refuses_client_reads_and_health_reports_it_with_472() {
    let mut w = World::new(&["A", "B"], 1);
    w.join("A", "B", Kind::Dr);
    assert_eq!(
        kv(
            &mut w,
            "A",
            token("PUT", "/v1/secret/x").json(&json!({"a": 1}))
        )
        .status,
        204
    );
    let r = kv(&mut w, "B", token("GET", "/v1/secret/x"));
    assert!(r.status >= 400, "{r:?}");
    assert!(
        errors(&r).iter().any(|e| e.contains("DR secondary")),
        "{r:?}"
    );

    let h = kv(
        &mut w,
        "B",
        HttpRequest::sudo("GET", "/v1/sys/health").caller(Caller::Anonymous),
    );
    assert_eq!(h.status, 472);
    let body = h.body.unwrap();
    assert_eq!(body["replication_dr_mode"], json!("secondary"));
    assert_eq!(body["sealed"], json!(false));
    let h = kv(
        &mut w,
        "B",
        HttpRequest::sudo("GET", "/v1/sys/health?drsecondarycode=200"),
    );
    assert_eq!(h.status, 200);
    let h = kv(&mut w, "A", HttpRequest::sudo("GET", "/v1/sys/health"));
    let body = h.body.unwrap();
    assert_eq!(
        (h.status, &body["replication_dr_mode"]),
        (200, &Value::from("primary"))
    );
    assert_eq!(body["replication_performance_mode"], json!("disabled"));
    assert_eq!(
        body["server_time_utc"],
        json!(w.now.as_millis() / 1000),
        "whole seconds of host time"
    );
    assert_eq!(body["cluster_name"], json!("A"));
}

/// `sys/mounts/<path>` takes what Vault's CLI sends for KV version 1: `type` `kv` (or `generic`),
/// `options.version` `"1"` or `1`, and `local` as a boolean or its string. Anything else is a 400
/// that names the field.
#[test]
fn a_mount_request_accepts_vaults_spellings_of_kv_version_1() {
    let mut w = World::new(&["A"], 2);
    for (i, body) in [
        json!({"type": "kv", "options": {"version": "1"}}),
        json!({"type": "kv", "options": {"version": 1}}),
        json!({"type": "generic"}),
        json!({"local": "true"}),
        json!({"local": "false"}),
        json!({"local": null}),
        json!({}),
    ]
    .into_iter()
    .enumerate()
    {
        let path = format!("/v1/sys/mounts/m{i}");
        let r = kv(&mut w, "A", HttpRequest::sudo("POST", &path).json(&body));
        assert_eq!(r.status, 204, "{body}: {:?}", r.body);
        let local = body["local"] == json!("true");
        assert_eq!(
            w.cluster("A").storage().mounts().get(&format!("m{i}/")),
            Some(&local),
            "{body}"
        );
    }
    for (body, field) in [
        (json!({"options": {"version": "2"}}), "options.version"),
        (json!({"options": {"version": 2}}), "options.version"),
        (json!({"type": 1}), "type must be"),
        (json!({"local": 1}), "local must be a boolean"),
    ] {
        let r = kv(
            &mut w,
            "A",
            HttpRequest::sudo("POST", "/v1/sys/mounts/bad").json(&body),
        );
        assert_eq!(r.status, 400, "{body}");
        assert!(errors(&r)[0].contains(field), "{body}: {:?}", errors(&r));
        assert_eq!(w.cluster("A").storage().mounts().get("bad/"), None);
    }
}
