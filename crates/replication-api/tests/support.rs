//! The API tests' world: the test kit's [`Net`] of named clusters, driven through
//! [`replication_api::handle`] (every call goes through the API, as a host's would), with the scenes
//! the snapshot tests probe.
#![allow(dead_code)]

use replication_api::{handle, Caller, HttpRequest, Response};
use replication_core::*;
use replication_testkit::Net;
use serde_json::{json, Value};
use std::ops::{Deref, DerefMut};

/// The test kit's network, with helpers that go through the API.
#[derive(Clone)]
pub struct World(pub Net);

impl Deref for World {
    type Target = Net;
    fn deref(&self) -> &Net {
        &self.0
    }
}

impl DerefMut for World {
    fn deref_mut(&mut self) -> &mut Net {
        &mut self.0
    }
}

impl World {
    /// Clusters with the given names, each with a shared `secret/` and a local `local/` mount.
    pub fn new(names: &[&str], seed: u64) -> World {
        World(Net::new(names, seed))
    }

    pub fn cluster(&self, name: &str) -> &Cluster {
        &self.clusters[name]
    }

    /// One API call on `name`; outgoing messages are queued, not delivered.
    pub fn call(&mut self, name: &str, req: &HttpRequest) -> Response {
        self.0
            .with_cluster(name, |c, now, rng| handle(c, now, rng, req))
    }

    /// `POST path` with a JSON body as a sudo caller, then settle.
    pub fn post(&mut self, name: &str, path: &str, body: Value) -> Response {
        let r = self.call(name, &HttpRequest::sudo("POST", path).json(&body));
        self.settle();
        r
    }

    /// `GET path` as a sudo caller.
    pub fn get(&mut self, name: &str, path: &str) -> Response {
        self.call(name, &HttpRequest::sudo("GET", path))
    }

    /// Like [`World::post`], asserting a 2xx answer.
    pub fn ok(&mut self, name: &str, path: &str, body: Value) -> Response {
        let r = self.post(name, path, body.clone());
        assert!(
            (200..300).contains(&r.status),
            "{name}: POST {path} {body} -> {} {:?}",
            r.status,
            r.body
        );
        r
    }

    /// A core input straight to a cluster (client writes), then settle.
    pub fn input(&mut self, name: &str, input: Input) -> Result<Reply, Error> {
        let r = self.0.step(name, input);
        self.0.settle();
        r
    }

    pub fn write(&mut self, name: &str, path: &str, value: &str) {
        self.input(
            name,
            Input::Client(ClientOp::Write {
                path: path.into(),
                value: value.into(),
            }),
        )
        .expect("client write");
    }

    /// Delivers the oldest message in flight; false when none is left.
    pub fn deliver_one(&mut self) -> bool {
        self.0.deliver_next()
    }

    /// `secondary-token` for `id` on `primary`, through the API: the token text.
    pub fn token(&mut self, primary: &str, kind: Kind, id: &str) -> String {
        let r = self.ok(
            primary,
            &format!("sys/replication/{kind}/primary/secondary-token"),
            json!({ "id": id }),
        );
        let body = r.body.expect("a body");
        body["wrap_info"]["token"]
            .as_str()
            .expect("wrap_info.token")
            .to_string()
    }

    /// `primary/enable` on `p` if needed, a token for `s` (id = `s`), `secondary/enable` on `s`, settled.
    pub fn join(&mut self, p: &str, s: &str, kind: Kind) {
        if self.clusters[p].mode(kind) != Mode::Primary {
            self.ok(
                p,
                &format!("sys/replication/{kind}/primary/enable"),
                json!({}),
            );
        }
        let token = self.token(p, kind, s);
        self.ok(
            s,
            &format!("sys/replication/{kind}/secondary/enable"),
            json!({ "token": token }),
        );
        self.advance(10_000);
    }

    /// A DR operation token on DR secondary `name`, made through the API with a quorum of its unseal
    /// shares, by an anonymous caller.
    pub fn operation_token(&mut self, name: &str) -> String {
        let attempt = "sys/replication/dr/secondary/generate-operation-token/attempt";
        let update = "sys/replication/dr/secondary/generate-operation-token/update";
        let r = self.call(
            name,
            &HttpRequest::sudo("POST", attempt).caller(Caller::Anonymous),
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        let started = r.body.expect("body")["data"].clone();
        let (nonce, otp) = (
            started["nonce"].as_str().expect("nonce").to_string(),
            started["otp"].as_str().expect("otp").to_string(),
        );
        let keys = self.clusters[name].unseal_keys().clone();
        let mut last = Value::Null;
        for k in keys.shares.iter().take(keys.threshold as usize) {
            let r = self.call(
                name,
                &HttpRequest::sudo("POST", update)
                    .caller(Caller::Anonymous)
                    .json(&json!({ "key": k, "nonce": nonce })),
            );
            assert_eq!(r.status, 200, "{:?}", r.body);
            last = r.body.expect("body")["data"].clone();
        }
        assert_eq!(last["complete"], json!(true), "{last}");
        let encoded = last["encoded_token"].as_str().expect("encoded_token");
        decode_operation_token(encoded, &otp).expect("decodes")
    }

    /// The first unseal key share of `name`.
    pub fn key_share(&self, name: &str) -> String {
        self.clusters[name].unseal_keys().shares[0].clone()
    }
}

/// The response as JSON for snapshots and comparisons: `{"status": …, "body": …}`.
pub fn exchange(r: &Response) -> Value {
    json!({ "status": r.status, "body": r.body.clone().unwrap_or(Value::Null) })
}

/// Keys whose values are random (drawn from the seeded RNG) or digests: snapshots show only whether
/// they are empty, so that an unrelated change in the core's entropy use does not churn every snapshot.
const VOLATILE: &[&str] = &[
    "request_id",
    "cluster_id",
    "token",
    "accessor",
    "merkle_root",
    "nonce",
    "otp",
    "encoded_token",
    "secondary_public_key",
    "dr_operation_token",
];

/// `v` with every non-empty string under a [`VOLATILE`] key replaced by `"<key>"`.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if !s.is_empty() && VOLATILE.contains(&k.as_str()) => {
                            Value::String(format!("<{k}>"))
                        }
                        other => redact(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// One cluster in one situation, for probing every route.
#[derive(Clone)]
pub struct Scene {
    /// Short name used in snapshot names and matrices.
    pub name: &'static str,
    /// What the target is.
    pub description: &'static str,
    pub world: World,
    /// The cluster the probes call.
    pub target: &'static str,
    /// A valid DR operation token on the target, when it is a DR secondary.
    pub op_token: Option<String>,
}

/// The base world, every call through the API:
///
/// - `A`: DR primary and performance primary, `secret/app` written, a shared mount `team/` with
///   `team/x`, a `deny ["team/"]` paths filter for secondary `D`;
/// - `B`: DR secondary of `A` (id `B`), in sync;
/// - `D`: performance secondary of `A` (id `D`), in sync;
/// - `C`: DR primary and performance primary of its own sets (a source of tokens for enabling others);
/// - `E`: replication disabled.
pub fn base_world() -> World {
    let mut w = World::new(&["A", "B", "C", "D", "E"], 7);
    w.write("A", "secret/app", "v1");
    w.input(
        "A",
        Input::Client(ClientOp::Mount {
            path: "team/".into(),
            local: false,
        }),
    )
    .expect("mount");
    w.write("A", "team/x", "t1");
    w.join("A", "B", Kind::Dr);
    w.join("A", "D", Kind::Performance);
    w.ok(
        "A",
        "sys/replication/performance/primary/paths-filter/D",
        json!({"mode": "deny", "paths": ["team/"]}),
    );
    w.ok("C", "sys/replication/dr/primary/enable", json!({}));
    w.ok("C", "sys/replication/performance/primary/enable", json!({}));
    w.advance(10_000);
    w
}

/// Every situation the snapshot tests probe.
pub fn scenes() -> Vec<Scene> {
    let base = base_world();
    let mut out = vec![
        Scene {
            name: "disabled",
            description: "E: replication disabled for both kinds",
            world: base.clone(),
            target: "E",
            op_token: None,
        },
        Scene {
            name: "primary",
            description: "A: DR primary (secondary B) and performance primary (secondary D)",
            world: base.clone(),
            target: "A",
            op_token: None,
        },
        Scene {
            name: "perf-secondary",
            description: "D: performance secondary of A, in sync, paths filter deny team/",
            world: base.clone(),
            target: "D",
            op_token: None,
        },
    ];

    let mut w = base.clone();
    let tok = w.operation_token("B");
    out.push(Scene {
        name: "dr-secondary",
        description: "B: DR secondary of A, in sync, holding a DR operation token",
        world: w,
        target: "B",
        op_token: Some(tok),
    });

    let mut w = base.clone();
    let token = w.token("C", Kind::Dr, "E");
    let r = w.call(
        "E",
        &HttpRequest::sudo("POST", "sys/replication/dr/secondary/enable")
            .json(&json!({ "token": token })),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
    w.queue.clear();
    out.push(Scene {
        name: "dr-bootstrapping",
        description: "E: DR secondary/enable accepted locally, the primary has not answered",
        world: w,
        target: "E",
        op_token: None,
    });

    let mut w = base.clone();
    let token = w.token("A", Kind::Performance, "E");
    let r = w.call(
        "E",
        &HttpRequest::sudo("POST", "sys/replication/performance/secondary/enable")
            .json(&json!({ "token": token })),
    );
    assert_eq!(r.status, 204, "{:?}", r.body);
    while w.clusters["E"].mode(Kind::Performance) != Mode::Secondary {
        assert!(w.deliver_one(), "activation never completed");
    }
    out.push(Scene {
        name: "perf-catching-up",
        description:
            "E: performance secondary of A, accepted but not yet in sync (messages in flight)",
        world: w,
        target: "E",
        op_token: None,
    });

    let mut w = base;
    w.ok(
        "D",
        "sys/replication/performance/secondary/promote",
        json!({"force": true}),
    );
    w.ok("A", "sys/replication/performance/primary/demote", json!({}));
    w.advance(10_000);
    out.push(Scene {
        name: "perf-demoted",
        description: "A: performance primary demoted after D was promoted (secondary, no primary)",
        world: w,
        target: "A",
        op_token: None,
    });
    out
}
