//! The command line never turns a mistake into a green result: a folder without scenarios, a report
//! that could not be written and an unusable file all exit non-zero; every run ends with a summary;
//! the JSON report keeps unusable files and follows its published schema.

use replication_sim::runner::Runner;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_replication-sim"))
}

/// A fresh folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("replication-sim-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

const PASSING: &str = r#"{"name": "passing", "clusters": {"A": {}}, "steps": [
    {"write": "A", "path": "secret/x", "value": "1"},
    {"read": "A", "path": "secret/x", "expect": {"value": "1"}}
]}"#;

#[test]
fn a_folder_without_scenario_files_is_refused_not_passed() {
    let empty = temp_dir("empty");
    let out = bin().arg("run").arg(&empty).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("no *.json scenario files in this folder; check the path"),
        "{}",
        text(&out.stderr)
    );

    let other = temp_dir("other-files");
    std::fs::write(other.join("notes.txt"), "not a scenario").unwrap();
    std::fs::create_dir_all(other.join("sub.json")).unwrap();
    let out = bin().arg("run").arg(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no *.json scenario files"));
}

#[test]
fn a_report_that_cannot_be_written_fails_the_run() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = temp_dir("full");
    let file = dir.join("passing.json");
    std::fs::write(&file, PASSING).unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = bin().arg("run").arg(&file).stdout(full).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot write the report to standard output"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let mut child = bin()
        .arg("run")
        .arg(root().join("fixtures/scenarios"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the runbooks passed: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), "", "nothing to say about a closed pipe");
}

#[test]
fn every_run_ends_with_a_summary_line_one_file_too() {
    let dir = temp_dir("summary");
    let file = dir.join("passing.json");
    std::fs::write(&file, PASSING).unwrap();
    let out = bin().arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.ends_with("1 scenario(s) run: 1 passed, 0 failed, 0 unusable; exit 0\n"),
        "{stdout}"
    );

    std::fs::write(
        dir.join("broken.json"),
        r#"{"clusters": {"A": {}}, "stepz": []}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("failing.json"),
        r#"{"clusters": {"A": {}}, "steps": [{"read": "A", "path": "secret/x", "expect": {"value": "1"}}]}"#,
    )
    .unwrap();
    let out = bin().arg("run").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stdout).ends_with("3 scenario(s) run: 1 passed, 1 failed, 1 unusable; exit 2\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_text_report_prints_long_outcomes_in_full_and_explains_its_columns() {
    let dir = temp_dir("long");
    let file = dir.join("long.json");
    std::fs::write(
        &file,
        r#"{"clusters": {"A": {}}, "steps": [
            {"call": "A", "method": "POST", "path": "sys/replication/dr/secondary/promote", "expect": {"status": 400}}
        ]}"#,
    )
    .unwrap();
    let out = bin().arg("run").arg(&file).output().unwrap();
    let stdout = text(&out.stdout);
    let outcome = stdout
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("outcome: "))
        .unwrap_or_else(|| panic!("the clipped outcome is printed in full:\n{stdout}"));
    assert!(outcome.len() > 28, "{outcome}");
    assert!(
        !outcome.ends_with('~'),
        "the full line is not clipped: {outcome}"
    );
    for legend in [
        "set: the replication set's cluster_id",
        "last_wal: the kind's last WAL index",
        "root: the Merkle root",
        "keys: stored entries",
        "unknown outcomes: 0 (client operations whose result the client never learned",
    ] {
        assert!(stdout.contains(legend), "{legend:?} in\n{stdout}");
    }
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("docs/report-schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn assert_valid(validator: &jsonschema::Validator, report: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(report).unwrap()
    );
}

#[test]
fn the_json_report_keeps_unusable_files_and_follows_its_schema() {
    let dir = temp_dir("json");
    std::fs::write(dir.join("a-passing.json"), PASSING).unwrap();
    std::fs::write(
        dir.join("b-broken.json"),
        r#"{"clusters": {"A": {}}, "steps": [{"advance": "1s"}, {"write": "A", "path": "secret/x", "value": "v", "expct": "ok"}]}"#,
    )
    .unwrap();
    let out = bin().args(["run", "--json"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON only");
    let entries = v.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{v}");
    assert_eq!(entries[0]["passed"], true);
    assert_eq!(entries[1]["passed"], false);
    assert!(entries[1]["file"]
        .as_str()
        .unwrap()
        .ends_with("b-broken.json"));
    assert_eq!(entries[1]["error"]["step"], 2);
    assert_eq!(entries[1]["error"]["key"], "expct");
    assert!(text(&out.stderr).contains("b-broken.json"), "and on stderr");
    let validator = schema();
    assert_valid(&validator, &v);

    // Every shipped runbook, and reports with losses, hazards, violations and failed expectations.
    let out = bin()
        .args(["run", "--json"])
        .arg(root().join("fixtures/scenarios"))
        .output()
        .unwrap();
    assert_valid(&validator, &serde_json::from_slice(&out.stdout).unwrap());
    // A run with broken invariants and a failed expectation.
    let failing = replication_sim::scenario::parse_file(
        root().join("sim/tests/data/enable-skips-wipe-fails.json"),
    )
    .unwrap();
    let bugs = [replication_core::Bug::EnableSkipsWipe].into();
    let report = Runner::with_bugs(&failing, bugs).run(Some("failing.json"));
    assert!(!report.violations.is_empty() && !report.failures.is_empty());
    let json = report.to_json();
    assert!(json["violations"][0]["text"].as_str().is_some());
    assert_valid(&validator, &Value::Array(vec![json]));
}

#[test]
fn a_broken_schema_check_is_caught() {
    // The schema refuses what the report must not contain (the check above can fail).
    let validator = schema();
    let bad = serde_json::json!([{"file": "x.json", "passed": true, "error": {}}]);
    assert!(!validator.is_valid(&bad));
    let unknown_cause = serde_json::json!([{"name": "x", "file": null, "seed": 0, "steps": [], "clusters": [],
        "losses": [], "by_cause": {"wiped-by-enable": 0, "unreplicated-at-promotion": 0, "diverged-primary": 0, "filtered": 0, "typo": 1},
        "unknown_writes": 0, "hazards": [], "violations": [], "convergence": null, "failures": [], "expectations": 0, "passed": true}]);
    assert!(!validator.is_valid(&unknown_cause));
}

#[test]
fn html_pages_for_one_file_and_for_a_folder() {
    let dir = temp_dir("html");
    let page = dir.join("one.html");
    let file = root().join("fixtures/scenarios/dr-planned-failover.json");
    let out = bin()
        .args(["run", "--html"])
        .arg(&page)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-picture\""));

    let pages = dir.join("pages");
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{").unwrap();
    let out = bin()
        .args(["run", "--html"])
        .arg(&pages)
        .arg(&file)
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the broken file");
    let index = std::fs::read_to_string(pages.join("index.html")).unwrap();
    assert!(index.contains("<a href=\"dr-planned-failover.html\">dr-planned-failover</a>"));
    assert!(index.contains("UNUSABLE"), "{index}");
    assert!(pages.join("dr-planned-failover.html").exists());

    let out = bin()
        .args(["run", "--html"])
        .arg(dir.join("none.html"))
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no HTML page written"));
}

#[test]
fn fuzz_html_writes_the_reproducers_page_beside_it() {
    let dir = temp_dir("fuzz-html");
    let out = bin()
        .args([
            "fuzz",
            "--seed",
            "1",
            "--first-run",
            "6",
            "--runs",
            "1",
            "--steps",
            "200",
            "--inject-bug",
            "revoke-ignored",
            "--html",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let page = dir.join("seed1-run6-revoke-ignored.html");
    assert!(
        text(&out.stdout).contains(&format!("  wrote {}", page.display())),
        "{}",
        text(&out.stdout)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("data-result=\"FAIL\""),
        "the reproducer fails on its page too"
    );
    assert!(html.contains("data-mark=\"violation\""));
}

#[test]
fn scenario_text_cannot_forge_report_lines_or_drive_the_terminal() {
    let dir = temp_dir("forge");
    let file = dir.join("forge.json");
    std::fs::write(
        &file,
        r#"{"name": "n\u001b[2J", "clusters": {"A": {}}, "steps": [
            {"read": "A", "path": "secret/x\nresult: PASS", "expect": {"value": "1"},
             "note": "fine\nresult: PASS"}
        ]}"#,
    )
    .unwrap();
    let out = bin().arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    let verdicts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("result: "))
        .collect();
    assert_eq!(verdicts, ["result: FAIL"], "{stdout}");
    assert!(stdout.contains(r"# fine\nresult: PASS"), "{stdout}");
}

#[test]
fn html_page_names_never_overwrite_the_index_or_each_other() {
    let dir = temp_dir("html-names");
    let input = dir.join("in");
    std::fs::create_dir_all(input.join("sub")).unwrap();
    std::fs::write(input.join("index.json"), PASSING).unwrap();
    std::fs::write(input.join("a.json"), PASSING).unwrap();
    std::fs::write(input.join("sub/a.json"), PASSING).unwrap();
    std::fs::write(input.join("a-2.json"), PASSING).unwrap();
    let pages = dir.join("pages");
    let out = bin()
        .args(["run", "--html"])
        .arg(&pages)
        .arg(&input)
        .arg(input.join("sub/a.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "a-2.html",
            "a-3.html",
            "a.html",
            "index-2.html",
            "index.html"
        ]
    );
    let index = std::fs::read_to_string(pages.join("index.html")).unwrap();
    assert!(index.contains("<h1>4 scenario(s)</h1>"), "{index}");

    // A folder with one scenario still gives a folder of pages.
    let one = dir.join("one");
    std::fs::create_dir_all(&one).unwrap();
    std::fs::write(one.join("only.json"), PASSING).unwrap();
    let out = bin()
        .args(["run", "--html"])
        .arg(dir.join("one-pages"))
        .arg(&one)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.join("one-pages/only.html").exists());
    assert!(dir.join("one-pages/index.html").exists());
}

/// `--jobs N` changes how fast a campaign runs, not what it prints or how it exits: passing and
/// failing campaigns (the failure shrunk and written the same way) on one thread and on several.
#[test]
fn a_parallel_campaign_prints_exactly_what_the_serial_one_does() {
    let dir = temp_dir("jobs");
    let campaign = |jobs: &str, extra: &[&str], out: &str| {
        let out_dir = dir.join(out);
        let o = bin()
            .args(["fuzz", "--jobs", jobs])
            .args(extra)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .unwrap();
        let text = text(&o.stdout).replace(&out_dir.display().to_string(), "OUT");
        (o.status.code(), text)
    };
    let clean = ["--seed", "3", "--steps", "120", "--runs", "24"];
    let serial = campaign("1", &clean, "a");
    assert_eq!(serial.0, Some(0), "{}", serial.1);
    assert_eq!(
        serial.1.lines().filter(|l| l.contains("  ok  ")).count(),
        24
    );
    assert_eq!(campaign("2", &clean, "b"), serial);
    assert_eq!(campaign("5", &clean, "c"), serial);

    // Run 6 of seed 1 finds the bug: runs 7 and 8 may finish first on other threads, and are not
    // printed.
    let bug = [
        "--seed",
        "1",
        "--steps",
        "200",
        "--runs",
        "8",
        "--inject-bug",
        "revoke-ignored",
    ];
    let serial = campaign("1", &bug, "d");
    assert_eq!(serial.0, Some(1), "{}", serial.1);
    assert!(serial.1.contains("  FAIL  "), "{}", serial.1);
    assert_eq!(campaign("3", &bug, "e"), serial);
}

#[test]
fn out_of_range_campaign_numbers_are_refused_with_the_range() {
    for (args, says) in [
        (&["--runs", "0"][..], "0 is not in 1.."),
        (&["--clusters", "1"][..], "1 is not in 2..=6"),
        (&["--clusters", "7"][..], "7 is not in 2..=6"),
        (&["--first-run", "0"][..], "0 is not in 1.."),
        (&["--jobs", "0"][..], "0 is not in 1..=1024"),
        (
            &["--first-run", "18446744073709551615", "--runs", "2"][..],
            "goes past the last run number",
        ),
    ] {
        let out = bin().arg("fuzz").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing ran");
    }
}

/// N shards together run exactly the campaign one machine runs: the same run lines (digests
/// included), and `--merge` of their summaries prints the serial campaign's totals, for a passing
/// campaign and for one that stops at a failure.
#[test]
fn the_shards_of_a_campaign_together_equal_the_unsharded_campaign() {
    let dir = temp_dir("shards");
    let fuzz = |extra: &[&str], summary: &str| {
        let o = bin()
            .arg("fuzz")
            .args(extra)
            .arg("--summary")
            .arg(dir.join(summary))
            .arg("--out")
            .arg(dir.join("out"))
            .output()
            .unwrap();
        (o.status.code(), text(&o.stdout))
    };
    let merge = |files: &[&str]| {
        let o = bin()
            .args(["fuzz", "--merge"])
            .args(files.iter().map(|f| dir.join(f)))
            .output()
            .unwrap();
        (o.status.code(), text(&o.stdout), text(&o.stderr))
    };
    let run_lines = |out: &str| -> Vec<String> {
        let mut l: Vec<String> = out
            .lines()
            .filter(|l| l.starts_with("run "))
            .map(String::from)
            .collect();
        l.sort();
        l
    };

    let clean = ["--seed", "2", "--steps", "80", "--runs", "20"];
    let (code, serial) = fuzz(&clean, "serial.jsonl");
    assert_eq!(code, Some(0));
    let mut sharded = vec![];
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (code, out) = fuzz(
            &[&clean[..], &["--shard", &shard]].concat(),
            &format!("s{k}.jsonl"),
        );
        assert_eq!(code, Some(0), "{out}");
        sharded.extend(run_lines(&out));
    }
    sharded.sort();
    assert_eq!(
        sharded,
        run_lines(&serial),
        "the same runs, the same digests"
    );
    let one = merge(&["serial.jsonl"]);
    assert_eq!(one.0, Some(0), "{}", one.2);
    assert!(
        one.1
            .starts_with("fuzz seed 2 runs 1..20 steps 80: 20 runs, 20 passed, 0 failed; "),
        "{}",
        one.1
    );
    assert_eq!(merge(&["s1.jsonl", "s2.jsonl", "s3.jsonl"]), one);
    // A shard missing: the campaign is not complete, which is not a green result.
    let partial = merge(&["s1.jsonl", "s3.jsonl"]);
    assert_eq!(partial.0, Some(2));
    assert!(
        partial
            .2
            .contains("incomplete: 7 run(s) missing, the first is run 2"),
        "{}",
        partial.2
    );
    // Shards of another campaign do not merge in.
    fuzz(
        &[
            "--seed", "2", "--steps", "81", "--runs", "20", "--shard", "2/3",
        ],
        "other.jsonl",
    );
    let mixed = merge(&["s1.jsonl", "other.jsonl", "s3.jsonl"]);
    assert_eq!(mixed.0, Some(2));
    assert!(mixed.2.contains("runs of two campaigns"), "{}", mixed.2);

    let bug = [
        "--seed",
        "1",
        "--steps",
        "200",
        "--runs",
        "9",
        "--inject-bug",
        "revoke-ignored",
    ];
    assert_eq!(fuzz(&bug, "bug.jsonl").0, Some(1));
    for k in 1..=2 {
        let shard = format!("{k}/2");
        fuzz(
            &[&bug[..], &["--shard", &shard]].concat(),
            &format!("b{k}.jsonl"),
        );
    }
    let one = merge(&["bug.jsonl"]);
    assert_eq!(one.0, Some(1));
    assert!(one.1.contains("\nfirst failure: run 6: "), "{}", one.1);
    assert_eq!(merge(&["b1.jsonl", "b2.jsonl"]), one);
}

#[test]
fn shard_and_merge_mistakes_are_refused() {
    for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
        let out = bin().args(["fuzz", "--shard", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            text(&out.stderr).contains("expected K/N with 1 <= K <= N"),
            "{bad}: {}",
            text(&out.stderr)
        );
    }
    let dir = temp_dir("merge-bad");
    std::fs::write(dir.join("bad.jsonl"), "{\"run\": 1}\n").unwrap();
    let out = bin()
        .args(["fuzz", "--merge"])
        .arg(dir.join("bad.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 1: not a run summary"),
        "{}",
        text(&out.stderr)
    );
    let out = bin()
        .args(["fuzz", "--merge"])
        .arg(dir.join("none.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["fuzz", "--shard", "1/2", "--merge"])
        .arg(dir.join("bad.jsonl"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--merge runs nothing, so campaign flags are refused"
    );
}

/// `check` exits 0 only when everything held everywhere: 1 with what failed written as scenario files
/// that `run` fails on, 2 for an unusable file, 3 when the search was cut short.
#[test]
fn check_exit_codes_and_counterexample_files() {
    let planned = root().join("fixtures/scenarios/dr-planned-failover.json");
    let out = bin().arg("check").arg(&planned).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("result: passed"));

    let dir = temp_dir("check");
    let out = bin()
        .args(["check", "--max-drops", "1", "--out"])
        .arg(&dir)
        .arg(&planned)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAILED step 6 expect_status B failed"),
        "{stdout}"
    );
    let file = dir.join("dr-planned-failover-step-6-expect-status-b-failed.json");
    assert!(stdout.contains(&file.display().to_string()), "{stdout}");
    let run = bin().arg("run").arg(&file).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));
    assert!(text(&run.stdout).contains("FAILED"));

    let out = bin()
        .args(["check", "--max-drops", "1", "--max-states", "10", "--out"])
        .arg(&dir)
        .arg(root().join("fixtures/scenarios/perf-local-mounts.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("INCOMPLETE"));

    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"clusters": {"A": {}}, "steps": [{"deliver": {"from": "A", "to": "B"}}]}"#,
    )
    .unwrap();
    let out = bin().arg("check").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown cluster \"B\""),
        "{}",
        text(&out.stderr)
    );

    let out = bin()
        .args(["check", "--timeout", "0s"])
        .arg(&planned)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("longer than zero"),
        "{}",
        text(&out.stderr)
    );
}

/// `--partitions` alone lets the checker place one partition: it cuts B off before B streams, the
/// counterexample holds the `partition` step, and `run` fails on it. A count out of range is
/// refused with the range.
#[test]
fn check_places_a_partition() {
    let planned = root().join("fixtures/scenarios/dr-planned-failover.json");
    let dir = temp_dir("check-partitions");
    let out = bin()
        .args(["check", "--partitions", "--threads", "1", "--out"])
        .arg(&dir)
        .arg(&planned)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("partitions <= 1"), "{stdout}");
    assert!(stdout.contains("0 rules broken"), "{stdout}");
    let file = dir.join("dr-planned-failover-step-6-expect-status-b-failed.json");
    let json = std::fs::read_to_string(&file).unwrap();
    assert!(json.contains("\"partition\""), "{json}");
    let run = bin().arg("run").arg(&file).output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stdout));

    let out = bin()
        .args(["check", "--partitions", "11"])
        .arg(&planned)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("0..=10"),
        "{}",
        text(&out.stderr)
    );
}

/// A `deliver` with nothing in flight is a step that could not run, never a silent success.
#[test]
fn a_link_step_with_nothing_in_flight_fails() {
    let dir = temp_dir("link-step");
    let file = dir.join("s.json");
    std::fs::write(
        &file,
        r#"{"clusters": {"A": {}, "B": {}}, "steps": [{"drop": {"from": "A", "to": "B"}}, {"tick": "5s"}]}"#,
    )
    .unwrap();
    let out = bin().arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("nothing is in flight from A to B: there is no message to drop"),
        "{}",
        text(&out.stdout)
    );
}
