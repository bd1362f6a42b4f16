//! Every shipped runbook passes, its report is pinned by a reviewed snapshot, runs are byte-for-byte
//! reproducible, and the CLI's exit codes and messages follow the scenario contract.

use replication_sim::{run_file, scenario_files};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shipped() -> Vec<PathBuf> {
    scenario_files(&[root().join("fixtures/scenarios")]).expect("fixtures/scenarios is readable")
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn at_least_fifteen_runbooks_are_shipped() {
    assert!(shipped().len() >= 15, "only {} runbooks", shipped().len());
}

#[test]
fn every_shipped_scenario_passes_and_its_report_is_pinned() {
    let mut failed = vec![];
    for file in shipped() {
        let scenario = replication_sim::scenario::parse_file(&file).expect("shipped file parses");
        let report = replication_sim::runner::Runner::new(&scenario).run(Some(&rel(&file)));
        let text = report.render_text();
        if !report.passed() {
            failed.push(text.clone());
        }
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_snapshot!(name, text);
    }
    assert!(
        failed.is_empty(),
        "failing scenarios:\n{}",
        failed.join("\n")
    );
}

/// Scenarios the fuzzer wrote when an oracle was wrong (each file's description says how): with the
/// oracles fixed they pass, and each still exercises the situation that fooled them.
#[test]
fn fuzz_findings_fixed_in_the_oracles_stay_fixed() {
    let files = scenario_files(&[root().join("fixtures/regressions")]).unwrap();
    assert!(files.len() >= 6, "the regression scenarios were found");
    for file in files {
        let report = run_file(&file).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.passed(), "{}", report.render_text());
    }
}

/// Runbooks written from the documents alone, without reading the code, judge the model from outside:
/// every one passes.
#[test]
fn conformance_runbooks_written_from_the_documents_pass() {
    let files = scenario_files(&[root().join("fixtures/conformance")]).unwrap();
    assert!(
        files.len() >= 30,
        "only {} conformance runbooks",
        files.len()
    );
    let failed: Vec<String> = files
        .iter()
        .map(|f| run_file(f).unwrap_or_else(|e| panic!("{e}")))
        .filter(|r| !r.passed())
        .map(|r| r.render_text())
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn the_same_scenario_twice_gives_byte_identical_reports() {
    for file in shipped() {
        let a = run_file(&file).unwrap();
        let b = run_file(&file).unwrap();
        assert_eq!(a.render_text(), b.render_text(), "{}", file.display());
        assert_eq!(a.to_json().to_string(), b.to_json().to_string());
        assert_eq!(a.dot(), b.dot());
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_replication-sim"))
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("replication-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_wrong_expectation_exits_1_naming_the_step_the_expectation_and_what_happened() {
    let p = write_temp(
        "wrong.json",
        r#"{"name": "wrong", "clusters": {"A": {}}, "steps": [
            {"call": "A", "method": "POST", "path": "sys/replication/dr/primary/enable"},
            {"expect_status": "A", "kind": "dr", "matches": {"mode": "secondary"}}
        ]}"#,
    );
    let out = bin().args(["run"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("step 2: expected status to contain {\"mode\":\"secondary\"}"),
        "{text}"
    );
    assert!(
        text.contains("got at mode: expected \"secondary\", got \"primary\""),
        "{text}"
    );
    assert!(text.contains("result: FAIL"));
}

#[test]
fn an_unusable_file_exits_2_naming_file_step_and_key() {
    let p = write_temp(
        "unusable.json",
        r#"{"clusters": {"A": {}}, "steps": [
            {"advance": "1s"},
            {"write": "A", "path": "secret/x", "value": "v", "expct": "ok"}
        ]}"#,
    );
    let out = bin().args(["run"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unusable.json"), "{err}");
    assert!(err.contains("step 2"), "{err}");
    assert!(err.contains("expct"), "{err}");
}

#[test]
fn json_report_and_dot_topology() {
    let file = root().join("fixtures/scenarios/dr-planned-failover.json");
    let dot = std::env::temp_dir().join(format!("topology-{}.dot", std::process::id()));
    let out = bin()
        .args(["run", "--json", "--dot"])
        .arg(&dot)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(v[0]["name"], "dr-planned-failover");
    assert_eq!(v[0]["passed"], true);
    assert_eq!(v[0]["by_cause"]["wiped-by-enable"], 0);
    let dot = std::fs::read_to_string(&dot).unwrap();
    assert!(dot.starts_with("digraph replication {"), "{dot}");
    assert!(
        dot.contains("\"A\" -> \"B\" [label=\"DR stream-wals\""),
        "{dot}"
    );
}

#[test]
fn a_failed_read_expectation_prints_the_value_it_got_or_that_there_was_none() {
    let p = write_temp(
        "read-value.json",
        r#"{"name": "read-value", "clusters": {"A": {}}, "steps": [
            {"write": "A", "path": "secret/app", "value": "v1"},
            {"read": "A", "path": "secret/app", "expect": {"value": "v2"}},
            {"read": "A", "path": "secret/none", "expect": {"value": "v1"}},
            {"read": "A", "path": "secret/none", "expect": {"value": null}}
        ]}"#,
    );
    let out = bin().args(["run"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(r#"step 2: expected value "v2"; got value "v1""#),
        "{text}"
    );
    assert!(
        text.contains(r#"step 3: expected value "v1"; got no value"#),
        "{text}"
    );
    assert!(!text.contains("step 4:"), "{text}");
}

/// The DR-authorisation oracle judges the request the API decoded: a promote without authorisation
/// sent to a percent-encoded path is still a promote (caught with the core bug that lets it through).
#[test]
fn an_unauthorised_promote_through_an_encoded_path_is_caught() {
    use replication_core::Bug;
    let text = r#"{"name": "encoded-promote", "clusters": {"A": {}, "B": {}}, "steps": [
        {"call": "A", "method": "POST", "path": "sys/replication/dr/primary/enable"},
        {"call": "A", "method": "POST", "path": "sys/replication/dr/primary/secondary-token",
         "body": {"id": "B"}, "save": {"tok": "wrap_info.token"}},
        {"call": "B", "method": "POST", "path": "sys/replication/dr/secondary/enable",
         "body": {"token": "${tok}"}},
        {"call": "A", "method": "POST", "path": "sys/replication/dr/primary/demote"},
        {"call": "B", "method": "POST", "path": "sys/replication/dr/secondary/pro%6Dote/?force=true",
         "expect": {"status": [200, 403]}}
    ]}"#;
    let scenario = replication_sim::scenario::parse_str(text, None).unwrap();
    let bugs = [Bug::PromoteIgnoresDrAuth].into();
    let report = replication_sim::runner::Runner::with_bugs(&scenario, bugs).run(None);
    let rules: Vec<&str> = report.violations.iter().map(|v| v.rule()).collect();
    assert_eq!(
        rules,
        ["unauthorised-dr-operation"],
        "{}",
        report.render_text()
    );
    // Without the bug the core refuses it (403) and nothing is reported.
    let clean = replication_sim::runner::Runner::new(&scenario).run(None);
    assert!(clean.passed(), "{}", clean.render_text());
}

/// A forwarded write whose answer comes after its step is judged when the answer comes: a
/// `settle: false` write acknowledged later passes, an `error` expectation met by the
/// unknown-outcome answer at the forwarding timeout passes, and an expectation still waiting at the
/// end of the run fails, naming its step.
#[test]
fn forwarded_writes_are_judged_when_their_answer_comes() {
    let setup = r#"
        {"call": "A", "method": "POST", "path": "sys/replication/performance/primary/enable"},
        {"call": "A", "method": "POST", "path": "sys/replication/performance/primary/secondary-token",
         "body": {"id": "C"}, "save": {"t": "wrap_info.token"}},
        {"call": "C", "method": "POST", "path": "sys/replication/performance/secondary/enable",
         "body": {"token": "${t}"}},
        {"advance": "10s"},"#;
    let run = |steps: &str| {
        let text =
            format!(r#"{{"clusters": {{"A": {{}}, "C": {{}}}}, "steps": [{setup} {steps}]}}"#);
        let s = replication_sim::scenario::parse_str(&text, None).unwrap();
        replication_sim::runner::Runner::new(&s).run(None)
    };
    let late_ok = run(
        r#"{"write": "C", "path": "secret/x", "value": "1", "settle": false},
                         {"advance": "1s"},
                         {"read": "A", "path": "secret/x", "expect": {"value": "1"}}"#,
    );
    assert!(late_ok.passed(), "{}", late_ok.render_text());
    let late_error = run(r#"{"partition": [["A"], ["C"]]},
                            {"write": "C", "path": "secret/x", "value": "1", "expect": "error"},
                            {"advance": "20s"}"#);
    assert!(late_error.passed(), "{}", late_error.render_text());
    let wrong = run(r#"{"partition": [["A"], ["C"]]},
                       {"write": "C", "path": "secret/x", "value": "1"},
                       {"advance": "20s"}"#);
    assert_eq!(wrong.failures.len(), 1, "{}", wrong.render_text());
    assert_eq!(wrong.failures[0].step, 6);
    assert!(
        wrong.failures[0].actual.starts_with("outcome unknown"),
        "{:?}",
        wrong.failures
    );
    let never = run(r#"{"partition": [["A"], ["C"]]},
                       {"write": "C", "path": "secret/x", "value": "1", "expect": "error"}"#);
    assert_eq!(never.failures.len(), 1, "{}", never.render_text());
    assert_eq!(never.failures[0].actual, "no answer by the end of the run");
}

/// The contract lets client steps `save` too: a read's answer body is `{"value": V}`; a write has no
/// body, so saving from it fails the step unless the step allowed a refusal and got one.
#[test]
fn client_steps_save_from_their_answer() {
    let run = |steps: &str| {
        let text = format!(r#"{{"clusters": {{"A": {{}}}}, "steps": [{steps}]}}"#);
        let s = replication_sim::scenario::parse_str(&text, None).unwrap_or_else(|e| panic!("{e}"));
        replication_sim::runner::Runner::new(&s).run(None)
    };
    let r = run(r#"{"write": "A", "path": "secret/app", "value": "v1"},
           {"read": "A", "path": "secret/app", "save": {"v": "value"}},
           {"write": "A", "path": "secret/copy", "value": "${v}"},
           {"read": "A", "path": "secret/copy", "expect": {"value": "v1"}},
           {"read": "A", "path": "secret/none", "save": {"n": "value"}},
           {"write": "A", "path": "secret/n", "value": "${n}"},
           {"read": "A", "path": "secret/n", "expect": {"value": "null"}}"#);
    assert!(r.passed(), "{}", r.render_text());

    let r = run(r#"{"write": "A", "path": "secret/app", "value": "v1", "save": {"x": "data"}}"#);
    assert_eq!(r.failures.len(), 1, "{}", r.render_text());
    assert_eq!(
        r.failures[0].expected,
        r#"a value at "data" to save as "x""#
    );

    let r = run(
        r#"{"write": "A", "path": "nomount/app", "value": "v1", "expect": "error", "save": {"x": "data"}},
           {"write": "A", "path": "secret/x", "value": "${x}"},
           {"read": "A", "path": "secret/x", "expect": {"value": "null"}}"#,
    );
    assert!(
        r.passed(),
        "a refusal the step allowed saves null: {}",
        r.render_text()
    );
}
