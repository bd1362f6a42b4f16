//! Our responses have the field names of the documents' samples.
//!
//! Each file in `fixtures/api/` holds one sample response from a seed document or from the notes
//! (§6.3, §6.4): `{"source", "situation", "compare", "sample"}`. For each, a test drives the base world
//! of `support.rs` into the same situation through the API and compares the **recursive key sets**
//! (`data.secondaries[].node_id`), values aside: of the whole body (`"compare": "body"`) or of its
//! `data` (`"compare": "data"`, where the document shows only the data fields).
//!
//! Where our shape legitimately differs, the difference is listed exactly, with the reason, in
//! [`CASES`]: a field we add that the sample lacks, or a field of the sample we do not produce. The
//! test fails if a listed difference disappears, so the lists stay exact.

mod support;

use replication_api::{Caller, HttpRequest, Response};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use support::World;

/// The keys Vault's envelope has that the abbreviated samples (`{"warnings": [...]}`, `{"data": ...}`)
/// leave out; model.md §5 fixes the full envelope for every answer with a body.
const ENVELOPE: &[&str] = &[
    "request_id",
    "lease_id",
    "renewable",
    "lease_duration",
    "data",
    "wrap_info",
    "warnings",
    "auth",
];

/// Fields of a primary's status that notes §6.2/§6.3 document and the older seed samples predate.
const PRIMARY_NEWER: &[&str] = &[
    "corrupted_merkle_tree",
    "last_corruption_check_epoch",
    "last_reindex_epoch",
    "ssct_generation_counter",
    "state",
];

/// The peer-entry fields of notes §6.3 that the model does not produce: clock skew, heartbeat
/// round-trip and canary age are measurements of real networks (a core change could report them as
/// `"0"`).
const PEER_MEASUREMENTS: &[&str] = &[
    "clock_skew_ms",
    "last_heartbeat_duration_ms",
    "replication_primary_canary_age_ms",
];

/// The old flat status shape (seeds 001, 002) mirrors these data fields at the top level; we serve
/// `data` only, as the newest documents (seed 004, notes §6.3) and Vault's Go client read it.
const FLAT_MIRROR: &[&str] = &[
    "mode",
    "cluster_id",
    "known_secondaries",
    "last_wal",
    "merkle_root",
];

struct Case {
    fixture: &'static str,
    /// Drives the base world and returns our response.
    drive: fn(&mut World) -> Response,
    /// Key paths we produce that the sample lacks.
    extra: fn() -> Vec<String>,
    /// Key paths of the sample we do not produce.
    missing: fn() -> Vec<String>,
}

fn none() -> Vec<String> {
    Vec::new()
}

fn under(prefix: &str, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| {
            if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            }
        })
        .collect()
}

/// Envelope keys the sample `present` does not show.
fn envelope_except(present: &[&str]) -> Vec<String> {
    ENVELOPE
        .iter()
        .filter(|k| !present.contains(k))
        .map(|k| k.to_string())
        .collect()
}

fn get(w: &mut World, name: &str, path: &str) -> Response {
    w.call(
        name,
        &HttpRequest::sudo("GET", path).caller(Caller::Anonymous),
    )
}

fn wrapped_token(w: &mut World, path: &str) -> Response {
    w.call("A", &HttpRequest::sudo("GET", path).query("id=fixture"))
}

/// The secondary-token samples of the seeds predate `accessor` and `creation_path` in `wrap_info`
/// (notes §6.4 lists both), and leave `auth` out of the envelope (model.md §5 has it).
fn wrap_info_newer() -> Vec<String> {
    let mut v = under("wrap_info", &["accessor", "creation_path"]);
    v.push("auth".into());
    v
}

static CASES: &[Case] = &[
    Case {
        fixture: "seed000-status-combined",
        drive: |w| get(w, "A", "/v1/sys/replication/status"),
        extra: || {
            let mut v = envelope_except(&[
                "request_id",
                "lease_id",
                "lease_duration",
                "renewable",
                "data",
                "warnings",
            ]);
            for (kind, wal) in [
                ("dr", "last_dr_wal"),
                ("performance", "last_performance_wal"),
            ] {
                let p = format!("data.{kind}");
                v.extend(under(&p, PRIMARY_NEWER));
                v.extend(under(&p, &[wal]));
                v.extend(under(
                    &p,
                    &[
                        "secondaries",
                        "secondaries[].api_address",
                        "secondaries[].cluster_address",
                        "secondaries[].connection_status",
                        "secondaries[].last_heartbeat",
                        "secondaries[].node_id",
                    ],
                ));
            }
            v
        },
        missing: none,
    },
    Case {
        fixture: "seed000-recover",
        drive: |w| w.post("A", "sys/replication/recover", json!({})),
        extra: || envelope_except(&["warnings"]),
        missing: none,
    },
    Case {
        fixture: "seed000-reindex",
        drive: |w| w.post("A", "sys/replication/reindex", json!({})),
        extra: || envelope_except(&["warnings"]),
        missing: none,
    },
    Case {
        fixture: "seed001-status-flat",
        drive: |w| get(w, "A", "sys/replication/performance/status"),
        extra: || {
            let mut v = under("data", PRIMARY_NEWER);
            v.extend(under(
                "data",
                &[
                    "last_performance_wal",
                    "primary_cluster_addr",
                    "secondaries",
                    "secondaries[].api_address",
                    "secondaries[].cluster_address",
                    "secondaries[].connection_status",
                    "secondaries[].last_heartbeat",
                    "secondaries[].node_id",
                ],
            ));
            v
        },
        missing: || under("", FLAT_MIRROR),
    },
    Case {
        fixture: "seed001-secondary-token",
        drive: |w| wrapped_token(w, "sys/replication/primary/secondary-token"),
        extra: wrap_info_newer,
        missing: none,
    },
    Case {
        fixture: "seed002-dr-status-flat",
        drive: |w| get(w, "A", "sys/replication/dr/status"),
        extra: || {
            let mut v = under("data", PRIMARY_NEWER);
            v.extend(under(
                "data",
                &[
                    "last_dr_wal",
                    "primary_cluster_addr",
                    "secondaries",
                    "secondaries[].api_address",
                    "secondaries[].cluster_address",
                    "secondaries[].connection_status",
                    "secondaries[].last_heartbeat",
                    "secondaries[].node_id",
                ],
            ));
            v
        },
        missing: || under("", FLAT_MIRROR),
    },
    Case {
        fixture: "seed002-secondary-token",
        drive: |w| wrapped_token(w, "sys/replication/dr/primary/secondary-token"),
        extra: wrap_info_newer,
        missing: none,
    },
    Case {
        fixture: "seed002-dr-promote",
        drive: |w| {
            let key = w.key_share("B");
            w.call(
                "B",
                &HttpRequest::sudo("POST", "sys/replication/dr/secondary/promote")
                    .caller(Caller::Anonymous)
                    .json(&json!({ "key": key })),
            )
        },
        extra: none,
        missing: none,
    },
    Case {
        fixture: "seed003-secondary-token",
        drive: |w| wrapped_token(w, "sys/replication/primary/secondary-token"),
        extra: wrap_info_newer,
        missing: none,
    },
    Case {
        fixture: "seed004-perf-status-primary",
        drive: |w| get(w, "A", "sys/replication/performance/status"),
        extra: || {
            let mut v = envelope_except(&["data"]);
            v.extend(under("data", PRIMARY_NEWER));
            v.extend(under(
                "data",
                &["last_performance_wal", "primary_cluster_addr"],
            ));
            v
        },
        missing: none,
    },
    Case {
        fixture: "seed004-perf-status-secondary",
        drive: |w| get(w, "D", "sys/replication/performance/status"),
        extra: || {
            let mut v = envelope_except(&["data"]);
            v.extend(under(
                "data",
                &[
                    "connection_state",
                    "corrupted_merkle_tree",
                    "last_corruption_check_epoch",
                    "last_reindex_epoch",
                    "last_start",
                    "ssct_generation_counter",
                    // The model shows a secondary's own WAL index too (Vault's Go struct has it).
                    "last_wal",
                ],
            ));
            v
        },
        missing: none,
    },
    Case {
        fixture: "seed004-secondary-token",
        drive: |w| {
            w.call(
                "A",
                &HttpRequest::sudo(
                    "POST",
                    "sys/replication/performance/primary/secondary-token",
                )
                .json(&json!({"id": "us-east-1"})),
            )
        },
        extra: wrap_info_newer,
        missing: none,
    },
    Case {
        fixture: "seed004-paths-filter",
        drive: |w| get_token(w, "A", "sys/replication/performance/primary/paths-filter/D"),
        extra: none,
        missing: none,
    },
    Case {
        fixture: "seed004-dynamic-filter-primary",
        drive: |w| {
            get_token(
                w,
                "A",
                "sys/replication/performance/primary/dynamic-filter/D",
            )
        },
        extra: none,
        missing: none,
    },
    Case {
        fixture: "seed004-dynamic-filter-secondary",
        drive: |w| {
            get_token(
                w,
                "D",
                "sys/replication/performance/secondary/dynamic-filter/D",
            )
        },
        extra: none,
        missing: none,
    },
    Case {
        fixture: "notes63-status-primary",
        drive: |w| get(w, "A", "sys/replication/performance/status"),
        extra: none,
        missing: || under("secondaries[]", PEER_MEASUREMENTS),
    },
    Case {
        fixture: "notes63-status-dr-primary",
        drive: |w| get(w, "A", "sys/replication/dr/status"),
        extra: none,
        missing: || under("secondaries[]", PEER_MEASUREMENTS),
    },
    Case {
        fixture: "notes63-status-secondary",
        drive: |w| get(w, "B", "sys/replication/dr/status"),
        // The model shows a secondary's own WAL index too (Vault's Go struct has it).
        extra: || vec!["last_wal".to_string()],
        missing: || under("primaries[]", PEER_MEASUREMENTS),
    },
    Case {
        fixture: "notes64-secondary-token-public-key",
        drive: |w| {
            w.call(
                "A",
                &HttpRequest::sudo(
                    "POST",
                    "sys/replication/performance/primary/secondary-token",
                )
                .json(&json!({"id": "pk", "secondary_public_key": "abc"})),
            )
        },
        extra: || envelope_except(&["data"]),
        missing: none,
    },
    Case {
        fixture: "notes64-generate-public-key",
        drive: |w| {
            w.post(
                "E",
                "sys/replication/performance/secondary/generate-public-key",
                json!({}),
            )
        },
        extra: || envelope_except(&["data"]),
        missing: none,
    },
    Case {
        fixture: "notes64-operation-token-attempt",
        drive: |w| {
            w.call(
                "B",
                &HttpRequest::sudo(
                    "POST",
                    "sys/replication/dr/secondary/generate-operation-token/attempt",
                )
                .caller(Caller::Anonymous),
            )
        },
        extra: none,
        missing: none,
    },
    Case {
        fixture: "notes64-secondary-token-wrapped",
        drive: |w| {
            w.call(
                "A",
                &HttpRequest::sudo("POST", "sys/replication/dr/primary/secondary-token")
                    .json(&json!({"id": "w"})),
            )
        },
        extra: || envelope_except(&["wrap_info"]),
        missing: none,
    },
];

fn get_token(w: &mut World, name: &str, path: &str) -> Response {
    w.call(name, &HttpRequest::sudo("GET", path).caller(Caller::Token))
}

/// Every key path of `v`: `a`, `a.b`, `a.list[].c`. Array elements that are scalars add nothing.
fn key_paths(v: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    out.insert(p.clone());
                    walk(child, &p, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(v, "", &mut out);
    out
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/api")
}

#[test]
fn responses_have_the_samples_field_names() {
    let base = support::base_world();
    let mut failures = Vec::new();
    for case in CASES {
        let path = fixture_dir().join(format!("{}.json", case.fixture));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fixture: Value = serde_json::from_str(&text).expect("fixture is JSON");
        let sample = &fixture["sample"];
        let mut w = base.clone();
        let r = (case.drive)(&mut w);
        assert!(
            (200..300).contains(&r.status),
            "{}: {} {:?}",
            case.fixture,
            r.status,
            r.body
        );
        let body = r.body.unwrap_or(Value::Null);
        let ours = match fixture["compare"].as_str() {
            Some("body") => body,
            Some("data") => body["data"].clone(),
            other => panic!(
                "{}: compare must be body or data, got {other:?}",
                case.fixture
            ),
        };
        let (theirs, ours) = (key_paths(sample), key_paths(&ours));
        let extra: BTreeSet<String> = ours.difference(&theirs).cloned().collect();
        let missing: BTreeSet<String> = theirs.difference(&ours).cloned().collect();
        let allowed_extra: BTreeSet<String> = (case.extra)().into_iter().collect();
        let allowed_missing: BTreeSet<String> = (case.missing)().into_iter().collect();
        if extra != allowed_extra || missing != allowed_missing {
            failures.push(format!(
                "{}:\n  extra   {:?}\n  allowed {:?}\n  missing {:?}\n  allowed {:?}",
                case.fixture, extra, allowed_extra, missing, allowed_missing
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_has_a_case_and_is_well_formed() {
    let mut files: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixtures/api exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .map(|n| n.trim_end_matches(".json").to_string())
        .collect();
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.fixture.to_string()).collect();
    cases.sort();
    assert_eq!(files, cases);
    for name in files {
        let text = std::fs::read_to_string(fixture_dir().join(format!("{name}.json"))).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        for key in ["source", "situation", "compare", "sample"] {
            assert!(v.get(key).is_some(), "{name}: no {key}");
        }
    }
}

#[test]
fn key_paths_walks_objects_and_arrays() {
    let v = json!({"a": 1, "b": {"c": [{"d": 1}, {"e": null}], "f": ["x"]}});
    let got: Vec<String> = key_paths(&v).into_iter().collect();
    assert_eq!(got, ["a", "b", "b.c", "b.c[].d", "b.c[].e", "b.f"]);
}
