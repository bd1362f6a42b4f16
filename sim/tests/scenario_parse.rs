//! The scenario-file contract (`docs/scenario-format.md`), pinned from the outside: a full file
//! with every step kind parses to exactly the expected model, and each kind of mistake is refused with an
//! error naming the file, the step and the key.

use proptest::prelude::*;
use replication_api::Caller;
use replication_core::{Duration, Kind};
use replication_sim::scenario::{
    parse_file, parse_str, parse_value, Advance, Call, CallExpect, ClientExpect, ClusterOptions,
    Config, CorruptMerkle, Crash, Delete, DrOperationToken, ExpectHazards, ExpectLosses,
    ExpectSameData, ExpectStatus, Heal, LossCounts, Mount, MountSpec, Partition, Read, ReadExpect,
    Restart, Scenario, ScenarioError, StatusExpect, Step, StepSpec, Write, VERBS,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The contract's example header with a script using every step kind and every optional key.
const FULL: &str = r#"{
  "name": "dr-planned-failover",
  "description": "free text",
  "seed": 1,
  "clusters": { "A": {}, "B": {}, "C": { "unseal_shares": 5, "unseal_threshold": 3 } },
  "mounts": [ { "path": "secret/" }, { "path": "local-kv/", "local": true } ],
  "config": { "heartbeat_interval": "5s", "log_shipper_buffer": 16384, "forwarding_timeout": "20s" },
  "steps": [
    {"call": "A", "method": "POST", "path": "sys/replication/dr/primary/enable", "body": {}},
    {"call": "A", "method": "post", "path": "/v1/sys/replication/dr/primary/secondary-token",
     "body": {"id": "B"}, "save": {"tok": "wrap_info.token"}, "note": "token for B"},
    {"call": "B", "method": "POST", "path": "sys/replication/dr/secondary/enable",
     "body": {"token": "${tok}"}, "expect": {"status": 204}},
    {"call": "B", "method": "GET", "path": "sys/replication/status", "as": "anonymous",
     "expect": {"status": 200, "body": {"data": {"dr": {"mode": "secondary"}}}}},
    {"call": "A", "method": "POST", "path": "sys/replication/reindex", "as": "token",
     "expect": {"status": [403, 400]}},
    {"call": "A", "method": "GET", "path": "sys/replication/status", "as": "sudo",
     "expect": {"body": {"data": {"dr": {"mode": "primary"}}}}},
    {"write": "A", "path": "secret/app", "value": "v1"},
    {"write": "B", "path": "secret/app", "value": {"k": "${tok}"}, "expect": "error"},
    {"delete": "A", "path": "secret/app", "expect": "ok"},
    {"read": "A", "path": "secret/app"},
    {"read": "A", "path": "secret/app", "expect": {"value": "v1"}},
    {"read": "A", "path": "secret/app", "expect": {"value": null}},
    {"read": "B", "path": "team/x", "expect": "missing"},
    {"read": "B", "path": "secret/app", "expect": "error"},
    {"mount": "A", "path": "team/", "local": false},
    {"mount": "A", "path": "scratch/", "local": true, "expect": "ok", "settle": false},
    {"advance": "30s"},
    {"advance": 90},
    {"partition": [["A"], ["B", "C"]]},
    {"heal": true},
    {"crash": "A"},
    {"restart": "A"},
    {"corrupt_merkle": "B"},
    {"dr_operation_token": "B", "save": "drtok"},
    {"call": "B", "method": "POST", "path": "sys/replication/dr/secondary/promote",
     "body": {"dr_operation_token": "${drtok}", "key": "${B.unseal_keys.0}"}},
    {"expect_status": "B", "kind": "dr", "matches": {"mode": "secondary", "state": "stream-wals"}},
    {"expect_status": "A", "matches": {"dr": {"mode": "primary"}, "performance": {"mode": "disabled"}}},
    {"expect_same_data": ["A", "B"], "kind": "performance"},
    {"expect_losses": {"total": 0}},
    {"expect_losses": {"total": 2, "by_cause": {"unreplicated-at-promotion": 2}, "unknown": 1}},
    {"expect_hazards": ["multiple-primaries"]},
    {"expect_hazards": [], "note": "no hazards", "settle": true}
  ]
}"#;

fn call(
    cluster: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    as_: Caller,
    expect: CallExpect,
    save: &[(&str, &str)],
) -> Step {
    Step::Call(Call {
        cluster: cluster.into(),
        method: method.into(),
        path: path.into(),
        body,
        as_,
        expect,
        save: save
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
}

fn status(codes: &[u16], body: Option<Value>) -> CallExpect {
    CallExpect {
        status: if codes.is_empty() {
            StatusExpect::Success
        } else {
            StatusExpect::OneOf(codes.to_vec())
        },
        body,
    }
}

fn expected_full() -> Scenario {
    use Caller::{Anonymous, Sudo, Token};
    let mut steps: Vec<(Option<&str>, bool, Step)> = Vec::new();
    let mut push = |step: Step| steps.push((None, true, step));
    push(call(
        "A",
        "POST",
        "sys/replication/dr/primary/enable",
        Some(json!({})),
        Sudo,
        CallExpect::default(),
        &[],
    ));
    steps.push((
        Some("token for B"),
        true,
        call(
            "A",
            "POST",
            "/v1/sys/replication/dr/primary/secondary-token",
            Some(json!({"id": "B"})),
            Sudo,
            CallExpect::default(),
            &[("tok", "wrap_info.token")],
        ),
    ));
    let mut push = |step: Step| steps.push((None, true, step));
    push(call(
        "B",
        "POST",
        "sys/replication/dr/secondary/enable",
        Some(json!({"token": "${tok}"})),
        Sudo,
        status(&[204], None),
        &[],
    ));
    push(call(
        "B",
        "GET",
        "sys/replication/status",
        None,
        Anonymous,
        status(&[200], Some(json!({"data": {"dr": {"mode": "secondary"}}}))),
        &[],
    ));
    push(call(
        "A",
        "POST",
        "sys/replication/reindex",
        None,
        Token,
        status(&[403, 400], None),
        &[],
    ));
    push(call(
        "A",
        "GET",
        "sys/replication/status",
        None,
        Sudo,
        status(&[], Some(json!({"data": {"dr": {"mode": "primary"}}}))),
        &[],
    ));
    push(Step::Write(Write {
        cluster: "A".into(),
        path: "secret/app".into(),
        value: json!("v1"),
        expect: ClientExpect::Ok,
        save: BTreeMap::new(),
    }));
    push(Step::Write(Write {
        cluster: "B".into(),
        path: "secret/app".into(),
        value: json!({"k": "${tok}"}),
        expect: ClientExpect::Error,
        save: BTreeMap::new(),
    }));
    push(Step::Delete(Delete {
        cluster: "A".into(),
        path: "secret/app".into(),
        expect: ClientExpect::Ok,
        save: BTreeMap::new(),
    }));
    let read = |cluster: &str, path: &str, expect| {
        Step::Read(Read {
            cluster: cluster.into(),
            path: path.into(),
            expect,
            save: BTreeMap::new(),
        })
    };
    push(read("A", "secret/app", ReadExpect::Ok));
    push(read(
        "A",
        "secret/app",
        ReadExpect::Value(Some(json!("v1"))),
    ));
    push(read("A", "secret/app", ReadExpect::Value(None)));
    push(read("B", "team/x", ReadExpect::Missing));
    push(read("B", "secret/app", ReadExpect::Error));
    push(Step::Mount(Mount {
        cluster: "A".into(),
        path: "team/".into(),
        local: false,
        expect: ClientExpect::Ok,
        save: BTreeMap::new(),
    }));
    steps.push((
        None,
        false,
        Step::Mount(Mount {
            cluster: "A".into(),
            path: "scratch/".into(),
            local: true,
            expect: ClientExpect::Ok,
            save: BTreeMap::new(),
        }),
    ));
    let mut push = |step: Step| steps.push((None, true, step));
    push(Step::Advance(Advance {
        by: Duration::from_secs(30),
    }));
    push(Step::Advance(Advance {
        by: Duration::from_secs(90),
    }));
    push(Step::Partition(Partition {
        groups: vec![vec!["A".into()], vec!["B".into(), "C".into()]],
    }));
    push(Step::Heal(Heal::default()));
    push(Step::Crash(Crash {
        cluster: "A".into(),
    }));
    push(Step::Restart(Restart {
        cluster: "A".into(),
    }));
    push(Step::CorruptMerkle(CorruptMerkle {
        cluster: "B".into(),
    }));
    push(Step::DrOperationToken(DrOperationToken {
        cluster: "B".into(),
        save: "drtok".into(),
    }));
    push(call(
        "B",
        "POST",
        "sys/replication/dr/secondary/promote",
        Some(json!({"dr_operation_token": "${drtok}", "key": "${B.unseal_keys.0}"})),
        Sudo,
        CallExpect::default(),
        &[],
    ));
    push(Step::ExpectStatus(ExpectStatus {
        cluster: "B".into(),
        kind: Some(Kind::Dr),
        matches: json!({"mode": "secondary", "state": "stream-wals"}),
    }));
    push(Step::ExpectStatus(ExpectStatus {
        cluster: "A".into(),
        kind: None,
        matches: json!({"dr": {"mode": "primary"}, "performance": {"mode": "disabled"}}),
    }));
    push(Step::ExpectSameData(ExpectSameData {
        clusters: vec!["A".into(), "B".into()],
        kind: Kind::Performance,
    }));
    push(Step::ExpectLosses(ExpectLosses {
        losses: LossCounts {
            total: 0,
            by_cause: BTreeMap::new(),
            unknown: None,
        },
    }));
    push(Step::ExpectLosses(ExpectLosses {
        losses: LossCounts {
            total: 2,
            by_cause: [("unreplicated-at-promotion".to_string(), 2)].into(),
            unknown: Some(1),
        },
    }));
    push(Step::ExpectHazards(ExpectHazards {
        hazards: vec!["multiple-primaries".into()],
    }));
    steps.push((
        Some("no hazards"),
        true,
        Step::ExpectHazards(ExpectHazards { hazards: vec![] }),
    ));

    Scenario {
        name: "dr-planned-failover".into(),
        description: Some("free text".into()),
        seed: 1,
        clusters: [
            ("A".to_string(), ClusterOptions::default()),
            ("B".to_string(), ClusterOptions::default()),
            (
                "C".to_string(),
                ClusterOptions {
                    unseal_shares: Some(5),
                    unseal_threshold: Some(3),
                },
            ),
        ]
        .into(),
        mounts: vec![
            MountSpec {
                path: "secret/".into(),
                local: false,
            },
            MountSpec {
                path: "local-kv/".into(),
                local: true,
            },
        ],
        config: Config {
            heartbeat_interval: Duration::from_secs(5),
            log_shipper_buffer: 16384,
            forwarding_timeout: Some(Duration::from_secs(20)),
            entropy: Default::default(),
        },
        steps: steps
            .into_iter()
            .enumerate()
            .map(|(i, (note, settle, step))| StepSpec {
                index: i + 1,
                note: note.map(str::to_string),
                settle,
                step,
            })
            .collect(),
    }
}

#[test]
fn full_example_parses_to_the_expected_model() {
    let parsed = parse_str(FULL, Some("fixtures/full.json")).unwrap_or_else(|e| panic!("{e}"));
    let expected = expected_full();
    assert_eq!(parsed.steps.len(), expected.steps.len());
    for (got, want) in parsed.steps.iter().zip(&expected.steps) {
        assert_eq!(got, want, "step {}", want.index);
    }
    assert_eq!(parsed, expected);
}

#[test]
fn full_example_uses_every_verb_of_the_contract() {
    let parsed = parse_str(FULL, None).unwrap_or_else(|e| panic!("{e}"));
    // `faults` and the checker's link and `tick` steps are this project's additions to the contract;
    // the contract's example predates them.
    let additions = ["faults", "deliver", "drop", "duplicate", "tick"];
    for verb in VERBS.into_iter().filter(|v| !additions.contains(v)) {
        assert!(
            parsed.steps.iter().any(|s| s.step.verb() == verb),
            "no {verb} step"
        );
    }
}

/// Writing a typed scenario back as JSON and parsing it gives the same scenario: for the full example
/// (every verb and optional key) and for every shipped runbook, conformance runbook and regression.
#[test]
fn to_json_is_the_inverse_of_parsing() {
    let mut scenarios = vec![parse_str(FULL, Some("full.json")).unwrap_or_else(|e| panic!("{e}"))];
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let dirs = ["scenarios", "conformance", "regressions"].map(|d| fixtures.join(d));
    for file in replication_sim::scenario_files(&dirs).unwrap() {
        scenarios.push(parse_file(&file).unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(
        scenarios.len() > 90,
        "the runbooks were found ({})",
        scenarios.len()
    );
    for s in scenarios {
        let again = parse_value(&s.to_json(), None).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(again, s, "{} changed on the way through JSON", s.name);
    }
}

/// The written form leaves keys at their defaults out, as a person would.
#[test]
fn to_json_leaves_defaults_out() {
    let s = parse_str(
        r#"{"clusters": {"A": {}}, "steps": [
            {"write": "A", "path": "secret/x", "value": "v", "expect": "ok", "settle": true},
            {"call": "A", "method": "GET", "path": "sys/replication/status", "as": "sudo"},
            {"faults": {"drop": 0, "delay": 0}},
            {"mount": "A", "path": "m/", "local": false}
        ]}"#,
        None,
    )
    .unwrap();
    let steps: Vec<Value> = s.steps.iter().map(StepSpec::to_json).collect();
    assert_eq!(
        steps,
        vec![
            json!({"write": "A", "path": "secret/x", "value": "v"}),
            json!({"call": "A", "method": "GET", "path": "sys/replication/status"}),
            json!({"faults": "off"}),
            json!({"mount": "A", "path": "m/"}),
        ]
    );
}

#[test]
fn minimal_file_gets_the_defaults() {
    let s = parse_str(
        r#"{"clusters": {"A": {}}, "steps": []}"#,
        Some("dir/my-run.json"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "my-run");
    assert_eq!(s.description, None);
    assert_eq!(s.seed, 0);
    assert_eq!(s.mounts, MountSpec::defaults());
    assert_eq!(s.mounts[0].path, "secret/");
    assert!(!s.mounts[0].local);
    assert_eq!(
        s.config,
        Config {
            heartbeat_interval: Duration::from_secs(5),
            log_shipper_buffer: 16384,
            forwarding_timeout: None,
            entropy: Default::default(),
        }
    );
    assert_eq!(
        parse_str(r#"{"clusters": {}, "steps": []}"#, None).map(|s| s.name),
        Ok("scenario".into())
    );
}

#[test]
fn explicit_empty_mounts_means_none_and_paths_get_a_slash() {
    let s = parse_str(
        r#"{"clusters": {"A": {}}, "mounts": [], "steps": []}"#,
        None,
    )
    .unwrap();
    assert!(s.mounts.is_empty());
    let s = parse_str(
        r#"{"clusters": {"A": {}}, "mounts": [{"path": "kv"}], "config": {"heartbeat_interval": 2}, "steps": []}"#,
        None,
    )
    .unwrap();
    assert_eq!(s.mounts[0].path, "kv/");
    assert_eq!(s.config.heartbeat_interval, Duration::from_secs(2));
}

#[test]
fn parse_file_reads_from_disk_and_names_the_file() {
    let dir = std::env::temp_dir().join(format!("scenario-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, FULL).unwrap();
    assert_eq!(parse_file(&good), Ok(expected_full()));

    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"clusters": {}, "steps": [], "sede": 1}"#).unwrap();
    let e = parse_file(&bad).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(bad.display().to_string().as_str()));
    assert_eq!(e.key.as_deref(), Some("sede"));

    let missing = dir.join("missing.json");
    let e = parse_file(&missing).unwrap_err();
    assert!(e.message.starts_with("cannot read the file"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/// Parses a file with clusters A and B and the given steps; returns the error text.
fn step_error(steps: &str) -> String {
    let text = format!(r#"{{"clusters": {{"A": {{}}, "B": {{}}}}, "steps": [{steps}]}}"#);
    match parse_str(&text, Some("fixtures/x.json")) {
        Ok(_) => "parsed".to_string(),
        Err(e) => e.to_string(),
    }
}

fn file_error(text: &str) -> ScenarioError {
    match parse_str(text, Some("fixtures/x.json")) {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn unknown_top_level_key_is_named() {
    let e = file_error(r#"{"clusters": {}, "steps": [], "seeds": 1}"#);
    assert_eq!(
        e,
        ScenarioError {
            file: Some("fixtures/x.json".into()),
            step: None,
            key: Some("seeds".into()),
            message: "unknown key; the top level takes name, description, seed, clusters, mounts, config, steps".into(),
        }
    );
}

#[test]
fn unknown_keys_in_nested_sections_are_named_with_their_path() {
    let e = file_error(r#"{"clusters": {"C": {"unseal_share": 5}}, "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("clusters.C.unseal_share"));
    let e = file_error(
        r#"{"clusters": {}, "mounts": [{"path": "a/"}, {"path": "b/", "locl": true}], "steps": []}"#,
    );
    assert_eq!(e.key.as_deref(), Some("mounts.1.locl"));
    let e = file_error(r#"{"clusters": {}, "config": {"heartbeat": "5s"}, "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("config.heartbeat"));
    assert_eq!(e.step, None);
}

#[test]
fn unknown_key_in_a_step_names_step_and_key() {
    assert_eq!(
        step_error(r#"{"advance": "1s"}, {"write": "A", "path": "secret/x", "valeu": "v1"}"#),
        r#"fixtures/x.json: step 2: key "valeu": unknown key; a write step takes write, path, value, expect, save, note, settle"#
    );
    // A key that belongs to another verb is still unknown here.
    assert_eq!(
        step_error(r#"{"write": "A", "path": "secret/x", "value": 1, "as": "token"}"#),
        r#"fixtures/x.json: step 1: key "as": unknown key; a write step takes write, path, value, expect, save, note, settle"#
    );
}

#[test]
fn unknown_key_in_expect_names_the_dotted_key() {
    assert_eq!(
        step_error(r#"{"call": "A", "method": "GET", "path": "sys/x", "expect": {"stauts": 200}}"#),
        r#"fixtures/x.json: step 1: key "expect.stauts": unknown key; expect of a call step takes status, body"#
    );
    assert_eq!(
        step_error(r#"{"read": "A", "path": "secret/x", "expect": {"value": 1, "extra": 2}}"#),
        r#"fixtures/x.json: step 1: key "expect.extra": unknown key; expect of a read step takes value"#
    );
    assert_eq!(
        step_error(r#"{"expect_losses": {"total": 0, "bycause": {}}}"#),
        r#"fixtures/x.json: step 1: key "expect_losses.bycause": unknown key; expect_losses takes total, by_cause, unknown"#
    );
}

#[test]
fn two_verbs_in_one_step_are_refused() {
    assert_eq!(
        step_error(r#"{"crash": "A", "restart": "A"}"#),
        r#"fixtures/x.json: step 1: key "restart": a step has exactly one verb key, and this one also has "crash""#
    );
}

#[test]
fn a_step_without_verb_is_refused() {
    assert_eq!(
        step_error(r#"{"note": "hi"}"#),
        format!(
            "fixtures/x.json: step 1: no verb key; a step needs one verb key: {}",
            VERBS.join(", ")
        )
    );
    // A misspelt verb is named as the unknown key.
    assert!(step_error(r#"{"crsh": "A"}"#).starts_with(
        r#"fixtures/x.json: step 1: key "crsh": unknown key; a step needs one verb key: call,"#
    ));
    assert_eq!(
        step_error("5"),
        "fixtures/x.json: step 1: expected an object with one verb key, got 5"
    );
}

#[test]
fn duplicate_keys_are_refused() {
    let e = file_error(r#"{"clusters": {"A": {}}, "steps": [{"crash": "A", "crash": "B"}]}"#);
    assert!(
        e.message.contains(r#"duplicate key "crash" at line 1"#),
        "{e}"
    );
}

#[test]
fn unknown_cluster_is_named() {
    assert_eq!(
        step_error(r#"{"read": "C", "path": "secret/x"}"#),
        r#"fixtures/x.json: step 1: key "read": unknown cluster "C" (clusters: A, B)"#
    );
    assert_eq!(
        step_error(r#"{"partition": [["A"], ["B", "D"]]}"#),
        r#"fixtures/x.json: step 1: key "partition.1.1": unknown cluster "D" (clusters: A, B)"#
    );
    assert_eq!(
        step_error(r#"{"expect_same_data": ["A", "Z"], "kind": "dr"}"#),
        r#"fixtures/x.json: step 1: key "expect_same_data.1": unknown cluster "Z" (clusters: A, B)"#
    );
}

#[test]
fn bad_durations_are_refused() {
    let e = step_error(r#"{"advance": "30x"}"#);
    assert!(
        e.starts_with(r#"fixtures/x.json: step 1: key "advance": invalid duration "30x""#),
        "{e}"
    );
    assert!(step_error(r#"{"advance": -5}"#).contains(r#"key "advance": expected a duration"#));
    assert!(step_error(r#"{"advance": 1.5}"#).contains(r#"key "advance": expected a duration"#));
    let e = file_error(r#"{"clusters": {}, "config": {"heartbeat_interval": "0s"}, "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("config.heartbeat_interval"));
    let e = file_error(r#"{"clusters": {}, "config": {"forwarding_timeout": "0s"}, "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("config.forwarding_timeout"));
    assert!(e.to_string().contains("longer than zero"), "{e}");
}

#[test]
fn wrong_types_name_the_key() {
    let e = file_error(r#"{"clusters": {}, "seed": "1", "steps": []}"#);
    assert_eq!(
        e.to_string(),
        r#"fixtures/x.json: key "seed": expected a non-negative integer, got "1""#
    );
    let e = file_error(r#"{"clusters": [], "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("clusters"));
    let e = file_error(r#"{"clusters": {}, "steps": {}}"#);
    assert_eq!(e.key.as_deref(), Some("steps"));
    let e = file_error(r#"{"clusters": {"A": {"unseal_shares": 300}}, "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("clusters.A.unseal_shares"));
    assert_eq!(
        step_error(r#"{"write": "A", "path": "secret/x", "value": "v", "expect": 5}"#),
        r#"fixtures/x.json: step 1: key "expect": expected "ok", "error" or "any", got 5"#
    );
    assert_eq!(
        step_error(r#"{"read": "A", "path": "secret/x", "expect": "nope"}"#),
        r#"fixtures/x.json: step 1: key "expect": expected "ok", "error", "missing", "any" or {"value": ...}, got "nope""#
    );
    assert_eq!(
        step_error(r#"{"write": "A", "path": "secret/x", "value": "v", "expect": "missing"}"#),
        r#"fixtures/x.json: step 1: key "expect": expected "ok", "error" or "any", got "missing""#
    );
    assert_eq!(
        step_error(r#"{"heal": false}"#),
        r#"fixtures/x.json: step 1: key "heal": expected true, got false"#
    );
    assert_eq!(
        step_error(r#"{"crash": "A", "settle": "no"}"#),
        r#"fixtures/x.json: step 1: key "settle": expected true or false, got "no""#
    );
    assert_eq!(
        step_error(r#"{"call": "A", "method": "GET", "path": "sys/x", "as": "root"}"#),
        r#"fixtures/x.json: step 1: key "as": expected "sudo", "token" or "anonymous", got "root""#
    );
    assert_eq!(
        step_error(
            r#"{"call": "A", "method": "GET", "path": "sys/x", "expect": {"status": [200, 999]}}"#
        ),
        r#"fixtures/x.json: step 1: key "expect.status.1": expected an HTTP status code (100 to 599), got 999"#
    );
    assert_eq!(
        step_error(r#"{"expect_status": "A", "kind": "perf", "matches": {}}"#),
        r#"fixtures/x.json: step 1: key "kind": expected "dr" or "performance", got "perf""#
    );
}

#[test]
fn missing_required_keys_are_named() {
    assert_eq!(
        step_error(r#"{"write": "A", "path": "secret/x"}"#),
        r#"fixtures/x.json: step 1: key "value": missing; a write step needs "path" and "value""#
    );
    assert_eq!(
        step_error(r#"{"call": "A", "path": "sys/x"}"#),
        r#"fixtures/x.json: step 1: key "method": missing; a call step needs "method" and "path""#
    );
    assert_eq!(
        step_error(r#"{"expect_same_data": ["A", "B"]}"#),
        r#"fixtures/x.json: step 1: key "kind": missing; an expect_same_data step needs "kind""#
    );
    let e = file_error(r#"{"clusters": {}}"#);
    assert_eq!(
        e.to_string(),
        r#"fixtures/x.json: key "steps": missing; a scenario needs it"#
    );
}

#[test]
fn invalid_json_is_a_file_level_error() {
    let e = file_error(r#"{"clusters": {}, "steps": [}"#);
    assert_eq!(e.step, None);
    assert_eq!(e.key, None);
    assert!(
        e.to_string()
            .starts_with("fixtures/x.json: not valid JSON: "),
        "{e}"
    );
    let e = file_error("[]");
    assert_eq!(
        e.to_string(),
        "fixtures/x.json: expected a JSON object at the top level, got []"
    );
}

#[test]
fn semantic_mistakes_are_refused() {
    // Threshold above shares, with explicit and default shares.
    let e = file_error(
        r#"{"clusters": {"A": {"unseal_shares": 3, "unseal_threshold": 4}}, "steps": []}"#,
    );
    assert_eq!(e.key.as_deref(), Some("clusters.A.unseal_threshold"));
    // Only the shares given: the default threshold (3) shrinks to fit them.
    let s = parse_str(
        r#"{"clusters": {"A": {"unseal_shares": 2}}, "steps": []}"#,
        None,
    )
    .unwrap();
    assert_eq!(s.clusters["A"].threshold(), 2);
    // Cluster names that would break ${A.unseal_keys.0}.
    let e = file_error(r#"{"clusters": {"a.b": {}}, "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("clusters.a.b"));
    // Mounts twice or nested.
    let e =
        file_error(r#"{"clusters": {}, "mounts": [{"path": "kv/"}, {"path": "kv"}], "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("mounts.1.path"));
    let e = file_error(
        r#"{"clusters": {}, "mounts": [{"path": "kv/"}, {"path": "kv/team/"}], "steps": []}"#,
    );
    assert!(e.message.contains("overlap"), "{e}");
    // Partition groups overlap.
    assert!(step_error(r#"{"partition": [["A"], ["A", "B"]]}"#)
        .contains(r#"key "partition.1.0": cluster "A" is in more than one group"#));
    // Loss causes exceeding the total.
    assert!(
        step_error(r#"{"expect_losses": {"total": 1, "by_cause": {"filtered": 2}}}"#)
            .contains("add up to 2, more than the total of 1")
    );
    // Hazards are a set.
    assert!(
        step_error(r#"{"expect_hazards": ["multiple-primaries", "multiple-primaries"]}"#)
            .contains(r#"key "expect_hazards.1""#)
    );
    // A write of null.
    assert!(
        step_error(r#"{"write": "A", "path": "secret/x", "value": null}"#).contains("delete step")
    );
    // One cluster is not a comparison.
    assert!(step_error(r#"{"expect_same_data": ["A"], "kind": "dr"}"#).contains("two or more"));
    // Save names that could never be referenced.
    assert!(
        step_error(r#"{"call": "A", "method": "GET", "path": "x", "save": {"": "data"}}"#)
            .contains(r#"key "save.": invalid variable name"#)
    );
    // Save names with a dot.
    assert!(step_error(r#"{"dr_operation_token": "A", "save": "a.b"}"#)
        .contains(r#"key "save": invalid variable name"#));
}

#[test]
fn references_must_be_saved_earlier_or_name_an_unseal_share() {
    assert_eq!(
        step_error(
            r#"{"call": "A", "method": "POST", "path": "sys/x", "body": {"token": "${tok}"}, "save": {"tok": "data.t"}}"#
        ),
        r#"fixtures/x.json: step 1: key "body": ${tok} is not saved by any earlier step (no earlier step saves anything)"#
    );
    assert_eq!(
        step_error(
            r#"{"dr_operation_token": "B", "save": "drtok"}, {"read": "A", "path": "secret/${other}"}"#
        ),
        r#"fixtures/x.json: step 2: key "path": ${other} is not saved by any earlier step (saved so far: drtok)"#
    );
    assert!(
        step_error(r#"{"expect_status": "A", "matches": {"k": "${A.unseal_key.0}"}}"#)
            .contains("${A.unseal_keys.0}")
    );
    assert!(
        step_error(r#"{"expect_status": "A", "matches": {"k": "${C.unseal_keys.0}"}}"#)
            .contains("is not saved")
    );
    assert!(
        step_error(r#"{"write": "A", "path": "secret/x", "value": "${oops"}"#)
            .contains(r#"key "value": unterminated ${"#)
    );
    assert_eq!(
        step_error(
            r#"{"call": "A", "method": "POST", "path": "x", "save": {"t": "a.b"}}, {"read": "A", "path": "secret/${t}", "expect": {"value": "${A.unseal_keys.2}"}}"#
        ),
        "parsed"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Never panic

fn arb_json() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "A",
        "B",
        "C",
        "call",
        "write",
        "read",
        "path",
        "value",
        "expect",
        "ok",
        "error",
        "missing",
        "status",
        "body",
        "save",
        "${tok}",
        "${A.unseal_keys.0}",
        "${",
        "dr",
        "performance",
        "30s",
        "sudo",
        "secret/",
        "kind",
        "matches",
        "total",
        "by_cause",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        words.clone().prop_map(|w| Value::String(w.to_string())),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        let key = prop_oneof![
            prop::sample::select(
                VERBS
                    .iter()
                    .copied()
                    .chain([
                        "method", "path", "body", "as", "expect", "save", "value", "local", "kind",
                        "matches", "note", "settle", "status", "total", "by_cause",
                    ])
                    .collect::<Vec<_>>()
            )
            .prop_map(str::to_string),
            words.clone().prop_map(str::to_string),
            ".{0,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Values a scenario author might plausibly put anywhere, right or wrong for the key.
fn plausible() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(vec![
            json!("A"),
            json!("B"),
            json!("C"),
            json!("30s"),
            json!(5),
            json!(true),
            json!(false),
            json!(null),
            json!("ok"),
            json!("error"),
            json!("missing"),
            json!({"value": "v"}),
            json!({"value": null}),
            json!({"status": 204}),
            json!({"status": [200, 400], "body": {"a": "${tok}"}}),
            json!(["A", "B"]),
            json!([["A"], ["B"]]),
            json!({"total": 1, "by_cause": {"filtered": 1}}),
            json!("dr"),
            json!("performance"),
            json!("POST"),
            json!("secret/${tok}"),
            json!("secret/${nope}"),
            json!({"tok": "wrap_info.token"}),
            json!("tok"),
            json!("sudo"),
            json!({"mode": "${A.unseal_keys.0}"}),
            json!(["multiple-primaries"]),
        ]),
        1 => arb_json(),
    ]
}

/// Scenarios whose steps are keyed like real steps with plausible values, to reach deep validation.
fn arb_scenario() -> impl Strategy<Value = Value> {
    // Mostly the keys that go with verbs; sometimes a second verb.
    let key = prop_oneof![
        9 => prop::sample::select(vec![
            "method", "path", "body", "as", "expect", "save", "value", "local", "kind", "matches",
            "note", "settle",
        ]),
        1 => prop::sample::select(VERBS.to_vec()),
    ];
    let step = (
        prop::sample::select(VERBS.to_vec()),
        plausible(),
        prop::collection::btree_map(key, plausible(), 0..5),
    )
        .prop_map(|(verb, head, extra)| {
            let mut map: serde_json::Map<String, Value> =
                extra.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            map.insert(verb.to_string(), head);
            Value::Object(map)
        });
    let config = prop_oneof![9 => Just(None), 1 => arb_json().prop_map(Some)];
    (prop::collection::vec(step, 0..8), config).prop_map(|(steps, config)| {
        let mut scenario = json!({
            "clusters": {"A": {}, "B": {"unseal_shares": 3, "unseal_threshold": 2}, "C": {}},
            "mounts": [{"path": "secret/"}],
            "steps": steps,
        });
        if let (Some(config), Some(map)) = (config, scenario.as_object_mut()) {
            map.insert("config".to_string(), config);
        }
        scenario
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,200}") {
        let _ = parse_str(&text, Some("x.json")).map_err(|e| e.to_string());
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        let _ = parse_value(&value, None).map_err(|e| e.to_string());
        let _ = parse_str(&value.to_string(), None).map_err(|e| e.to_string());
    }

    #[test]
    fn step_shaped_json_never_panics(value in arb_scenario()) {
        let _ = parse_value(&value, Some("x.json")).map_err(|e| e.to_string());
    }

    #[test]
    fn mutated_full_example_never_panics(cut in 0..FULL.len(), len in 0usize..8, insert in ".{0,3}") {
        let mut text: String = FULL.chars().take(cut).collect();
        text.push_str(&insert);
        text.extend(FULL.chars().skip(cut + len));
        let _ = parse_str(&text, None).map_err(|e| e.to_string());
    }
}

/// serde's derive also reads a struct from an array of its fields in order; a scenario file never
/// means that, so an array where an object belongs is refused at its key.
#[test]
fn arrays_are_never_read_as_objects() {
    for (text, key) in [
        (r#"{"clusters": {}, "config": [], "steps": []}"#, "config"),
        (r#"{"clusters": {"A": []}, "steps": []}"#, "clusters.A"),
        (
            r#"{"clusters": {}, "mounts": [["kv/", true]], "steps": []}"#,
            "mounts.0",
        ),
    ] {
        let e = file_error(text);
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(
            e.message.starts_with("expected an object")
                || e.message.starts_with("expected a mount"),
            "{e}"
        );
    }
    assert_eq!(
        step_error(r#"{"expect_losses": [0]}"#),
        r#"fixtures/x.json: step 1: key "expect_losses": expected an object like {"total": 0} or {"total": 2, "by_cause": {...}}, got [0]"#
    );
    assert!(
        step_error(r#"{"call": "A", "method": "GET", "path": "x", "expect": [200]}"#)
            .contains(r#"key "expect": expected an object such as"#)
    );
    assert_eq!(
        file_error("[]").to_string(),
        "fixtures/x.json: expected a JSON object at the top level, got []"
    );
}

/// Items of lists are named by their index.
#[test]
fn list_items_are_named_by_index() {
    assert_eq!(
        step_error(r#"{"expect_hazards": ["multiple-primaries", 5]}"#),
        r#"fixtures/x.json: step 1: key "expect_hazards.1": expected a non-empty string, got 5"#
    );
    assert_eq!(
        step_error(r#"{"partition": [["A"], ["B", 7]]}"#),
        r#"fixtures/x.json: step 1: key "partition.1.1": expected a cluster name, got 7"#
    );
    assert_eq!(
        step_error(r#"{"expect_same_data": ["A", null], "kind": "dr"}"#),
        r#"fixtures/x.json: step 1: key "expect_same_data.1": expected a cluster name, got null"#
    );
}

/// A starting mount the model would refuse is refused with the file, not skipped.
#[test]
fn a_mount_path_the_model_refuses_is_a_file_error() {
    for (path, why) in [
        ("sys/", "reserved"),
        ("a//b/", "empty segment"),
        ("my kv/", "whitespace"),
    ] {
        let text =
            format!(r#"{{"clusters": {{}}, "mounts": [{{"path": {path:?}}}], "steps": []}}"#);
        let e = file_error(&text);
        assert_eq!(e.key.as_deref(), Some("mounts.0.path"), "{e}");
        assert!(e.message.contains(why), "{e}");
    }
}

/// Addresses come from the lower-cased name, so two names that differ only in case would share them.
#[test]
fn cluster_names_differing_only_in_case_are_refused() {
    let e = file_error(r#"{"clusters": {"A": {}, "a": {}}, "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("clusters.a"), "{e}");
    assert!(
        e.message.contains("the same name but for letter case"),
        "{e}"
    );
}

/// Names that would print raw or share an address, unknown loss causes and hazard kinds, and more
/// clusters than the loss oracle can track: each used to pass; each is refused when the file is read,
/// naming the key.
#[test]
fn mistakes_that_used_to_pass_unnoticed_are_refused_when_read() {
    let e = file_error(r#"{"clusters": {"A": {}, "B\u0000x": {}}, "steps": []}"#);
    assert_eq!(e.key.as_deref(), Some("clusters.B\u{0}x"));
    assert!(e.message.contains("control character '\\0'"), "{e}");
    let e = file_error(r#"{"clusters": {"tab\there": {}}, "steps": []}"#);
    assert!(e.message.contains("control character '\\t'"), "{e}");

    // Names the address normalisation (lower case) makes equal, the Kelvin sign included, and names
    // that differ only in how an accent is encoded (they print the same).
    for (a, b) in [
        ("a", "A"),
        ("k", "\\u212a"),
        ("\\u00e9", "e\\u0301"),
        ("\\u00c9", "e\\u0301"),
    ] {
        let e = file_error(&format!(
            r#"{{"clusters": {{"{a}": {{}}, "{b}": {{}}}}, "steps": []}}"#
        ));
        assert!(
            e.message
                .contains("the same name but for letter case or accent encoding"),
            "{a} {b}: {e}"
        );
    }

    let e = step_error(r#"{"expect_losses": {"total": 0, "by_cause": {"typo": 0}}}"#);
    assert!(
        e.contains(r#"step 1: key "expect_losses.by_cause.typo": unknown loss cause "typo"; the causes are wiped-by-enable, unreplicated-at-promotion, diverged-primary, filtered"#),
        "{e}"
    );
    let e = step_error(r#"{"expect_hazards": ["multiple-primaries", "split-brain"]}"#);
    assert!(
        e.contains(r#"step 1: key "expect_hazards.1": unknown hazard kind "split-brain"; the kinds are multiple-primaries"#),
        "{e}"
    );

    let many = |n: usize| {
        let clusters: Vec<String> = (0..n).map(|i| format!(r#""c{i}": {{}}"#)).collect();
        format!(
            r#"{{"clusters": {{{}}}, "steps": []}}"#,
            clusters.join(", ")
        )
    };
    assert!(parse_str(&many(64), None).is_ok(), "64 clusters are fine");
    let e = file_error(&many(65));
    assert_eq!(e.key.as_deref(), Some("clusters"));
    assert!(
        e.message
            .contains("65 clusters; a scenario may have at most 64"),
        "{e}"
    );
}
