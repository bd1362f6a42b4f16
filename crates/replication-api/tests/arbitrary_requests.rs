//! Arbitrary method, path, query, authority and body bytes never panic; every non-2xx answer is
//! `{"errors": [...]}` and leaves the cluster exactly as it was; every answer is deterministic.
//!
//! Inputs mix pure noise with near-misses of real requests (real route patterns, real parameter names,
//! and placeholders replaced by values that work on the scene: a key share, a DR operation token,
//! activation tokens), so that the success paths are exercised as well as the refusals.

mod support;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use rand_chacha::ChaCha8Rng;
use replication_api::{handle, Caller, HttpRequest, ROUTES};
use replication_core::Kind;
use serde_json::{Map, Value};
use std::sync::OnceLock;
use support::Scene;

/// A scene plus values that make requests succeed on it.
struct Prepared {
    scene: Scene,
    substitutions: Vec<(&'static str, String)>,
}

fn prepared() -> &'static [Prepared] {
    static P: OnceLock<Vec<Prepared>> = OnceLock::new();
    P.get_or_init(|| {
        support::scenes()
            .into_iter()
            .map(|mut scene| {
                let w = &mut scene.world;
                let source = if scene.target == "C" { "A" } else { "C" };
                let token_dr = w.token(source, Kind::Dr, "arb-dr");
                let token_perf = w.token(source, Kind::Performance, "arb-perf");
                let key = w.key_share(scene.target);
                let op = scene.op_token.clone().unwrap_or_else(|| "dr.none".into());
                Prepared {
                    substitutions: vec![
                        ("$TOKEN_DR", token_dr),
                        ("$TOKEN_PERF", token_perf),
                        ("$KEY", key),
                        ("$OPTOKEN", op),
                    ],
                    scene,
                }
            })
            .collect()
    })
}

fn substitute(s: &str, subs: &[(&str, String)]) -> String {
    let mut out = s.to_string();
    for (k, v) in subs {
        out = out.replace(k, v);
    }
    out
}

const NAMES: &[&str] = &[
    "id",
    "ttl",
    "secondary_public_key",
    "token",
    "primary_api_addr",
    "ca_file",
    "ca_path",
    "primary_cluster_addr",
    "force",
    "key",
    "reset",
    "dr_operation_token",
    "update_primary_addrs",
    "mode",
    "paths",
    "nonce",
    "pgp_key",
    "otp",
    "diff",
    "skip_flush",
    "lease_id",
    "zz",
];

const WORDS: &[&str] = &[
    "",
    "B",
    "D",
    "E",
    "probe",
    "deny",
    "allow",
    "secret/",
    "team/",
    "30m",
    "0",
    "1",
    "true",
    "x",
    "$TOKEN_DR",
    "$TOKEN_PERF",
    "$KEY",
    "$OPTOKEN",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-2i64..4000).prop_map(Value::from),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop::collection::vec(inner, 0..3).prop_map(Value::Array)
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let object = prop::collection::btree_map(
        prop_oneof![
            4 => prop::sample::select(NAMES).prop_map(str::to_string),
            1 => "[a-z_]{1,6}",
        ],
        value(),
        0..5,
    )
    .prop_map(|m| {
        Value::Object(m.into_iter().collect::<Map<String, Value>>())
            .to_string()
            .into_bytes()
    });
    prop_oneof![
        6 => object,
        1 => prop::collection::vec(any::<u8>(), 0..48),
        1 => "[\\[\\]{}\":, a-z0-9]{0,24}".prop_map(String::into_bytes),
    ]
}

/// A route's pattern with its capture filled in, behind one of the prefixes, with a suffix.
fn route_path(route: &replication_api::Route, prefix: &str, capture: &str, suffix: &str) -> String {
    let p: Vec<String> = route
        .pattern
        .split('/')
        .map(|s| {
            if s.starts_with(':') {
                capture.replace('/', "%2F")
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("{prefix}{}{suffix}", p.join("/"))
}

fn noisy_path() -> impl Strategy<Value = String> {
    let from_table = (
        prop::sample::select(ROUTES),
        prop::sample::select(&["", "/", "/v1/", "v1/"][..]),
        word(),
        prop::sample::select(&["", "/", "/x", "?id=B", "?id=probe&ttl=1h"][..]),
    )
        .prop_map(|(route, prefix, capture, suffix)| route_path(&route, prefix, &capture, suffix));
    prop_oneof![
        4 => from_table,
        1 => any::<String>(),
        1 => "[a-z/%.?&=v1]{0,40}",
    ]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(&["GET", "POST", "PUT", "DELETE"][..]).prop_map(str::to_string),
        1 => prop::sample::select(&["get", "post", "HEAD", "LIST", "PATCH", ""][..]).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn caller() -> impl Strategy<Value = Caller> {
    prop_oneof![
        3 => Just(Caller::Sudo),
        1 => Just(Caller::Token),
        1 => Just(Caller::Anonymous),
    ]
}

fn query() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.3,
        prop_oneof![
            3 => (prop::sample::select(NAMES), word()).prop_map(|(k, v)| format!("{k}={v}")),
            1 => any::<String>(),
        ],
    )
}

/// A small JSON object of parameters the endpoints know (often empty, which many endpoints take).
fn small_object() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::btree_map(
        prop::sample::select(NAMES),
        word().prop_map(Value::String),
        0..3,
    )
    .prop_map(|m| {
        Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            .to_string()
            .into_bytes()
    })
}

/// `(method, path, body)`: mostly a real route with one of its own methods, sometimes noise.
fn request() -> impl Strategy<Value = (String, String, Vec<u8>)> {
    let realistic = (
        prop::sample::select(ROUTES),
        any::<prop::sample::Index>(),
        prop::sample::select(&["", "/v1/", "/"][..]),
        prop_oneof![3 => prop::sample::select(&["B", "D", "$TOKEN_DR", "$TOKEN_PERF"][..]).prop_map(str::to_string), 1 => word()],
        prop_oneof![3 => small_object(), 1 => body()],
    )
        .prop_map(|(route, i, prefix, capture, body)| {
            let method = route.methods[i.index(route.methods.len())];
            (
                method.as_str().to_string(),
                route_path(&route, prefix, &capture, ""),
                body,
            )
        });
    let noise = (method(), noisy_path(), body());
    prop_oneof![3 => realistic, 2 => noise]
}

type Inputs = (usize, String, String, Option<String>, Caller, Vec<u8>);

fn inputs() -> impl Strategy<Value = Inputs> {
    (0usize..64, request(), query(), caller()).prop_map(
        |(scene, (method, path, body), query, caller)| (scene, method, path, query, caller, body),
    )
}

/// Runs one case and checks it; returns the status and whether the cluster changed.
fn check((scene, method, path, query, caller, body): Inputs) -> Result<(u16, bool), TestCaseError> {
    let all = prepared();
    let p = &all[scene % all.len()];
    let subs = &p.substitutions;
    let req = HttpRequest {
        method,
        path: substitute(&path, subs),
        query: query.map(|q| substitute(&q, subs)),
        authority: caller,
        body: substitute(&String::from_utf8_lossy(&body), subs).into_bytes(),
    };
    // Keep non-UTF-8 bodies as they were generated.
    let req = if std::str::from_utf8(&body).is_err() {
        HttpRequest { body, ..req }
    } else {
        req
    };

    let target = p.scene.target;
    let mut cluster = p.scene.world.cluster(target).clone();
    let before = cluster.clone();
    let snapshot = before.snapshot();
    let mut rng: ChaCha8Rng = p.scene.world.rng.clone();
    let now = p.scene.world.now;
    let r = handle(&mut cluster, now, &mut rng, &req);

    // Deterministic: the same request on the same state with the same RNG gives the same answer.
    let mut again = before.clone();
    let mut rng2: ChaCha8Rng = p.scene.world.rng.clone();
    prop_assert_eq!(&handle(&mut again, now, &mut rng2, &req), &r);
    prop_assert!(again == cluster);

    prop_assert!(
        [200u16, 204, 400, 403, 404, 405, 503].contains(&r.status),
        "unexpected status {}",
        r.status
    );
    match r.status {
        204 => prop_assert!(r.body.is_none()),
        200 => {
            let body = r.body.as_ref().expect("a 200 has a body");
            prop_assert!(
                body.get("request_id").is_some() && body.get("data").is_some(),
                "{}",
                body
            );
        }
        _ => {
            let body = r.body.as_ref().expect("an error has a body");
            let errors = body["errors"].as_array().expect("errors is an array");
            prop_assert_eq!(body.as_object().map(|o| o.len()), Some(1));
            prop_assert!(!errors.is_empty());
            prop_assert!(errors
                .iter()
                .all(|e| e.as_str().is_some_and(|s| !s.is_empty())));
            prop_assert!(
                cluster.snapshot() == snapshot,
                "{} changed the snapshot",
                r.status
            );
            prop_assert!(cluster == before, "{} changed the cluster", r.status);
            prop_assert!(cluster.ready().messages.is_empty());
        }
    }
    // The bytes on the wire parse back to the body.
    let bytes = r.to_bytes();
    match &r.body {
        None => prop_assert!(bytes.is_empty()),
        Some(b) => prop_assert_eq!(&serde_json::from_slice::<Value>(&bytes).expect("JSON"), b),
    }
    Ok((r.status, cluster != before))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_never_panic_and_refusals_change_nothing(case in inputs()) {
        check(case)?;
    }
}

/// The generator is not vacuous: over a fixed run it reaches every status class, and many requests
/// succeed and change the cluster.
#[test]
fn the_generator_reaches_successes_and_every_refusal() {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = inputs();
    let mut seen = std::collections::BTreeMap::new();
    let mut changed = 0;
    for _ in 0..3000 {
        let case = strategy.new_tree(&mut runner).expect("generate").current();
        let (status, did_change) = check(case).expect("the property holds");
        *seen.entry(status).or_insert(0) += 1;
        changed += usize::from(did_change);
    }
    for status in [200u16, 204, 400, 403, 404, 405] {
        assert!(seen.contains_key(&status), "never saw {status}: {seen:?}");
    }
    println!("statuses {seen:?}; {changed} requests changed a cluster");
    assert!(
        changed >= 100,
        "only {changed} requests changed a cluster: {seen:?}"
    );
}
