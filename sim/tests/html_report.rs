//! The HTML page: self-contained, every marker linked to a step row that exists, one marker per
//! loss, hazard primary, wipe and failed expectation, bands that cover every step of every lane,
//! text from the scenario escaped, and the structure of two runbooks' pages pinned (reviewed
//! snapshots of the picture's elements, read from their `data-*` attributes).

use replication_sim::report::{html, Report};
use replication_sim::runner::Runner;
use replication_sim::scenario::{parse_file, parse_str};
use replication_sim::scenario_files;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn report_of(file: &Path) -> Report {
    let s = parse_file(file).unwrap_or_else(|e| panic!("{e}"));
    let rel = file
        .strip_prefix(root())
        .unwrap_or(file)
        .display()
        .to_string();
    Runner::new(&s).run(Some(&rel))
}

/// Every opening tag of `page` with `data-*` attributes: the tag and those attributes.
fn elements(page: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = vec![];
    for chunk in page.split('<').skip(1) {
        let Some(tag_end) = chunk.find('>') else {
            continue;
        };
        let tag = &chunk[..tag_end];
        if !tag.contains(" data-") {
            continue;
        }
        let name = tag
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let mut attrs = vec![];
        let mut rest = tag;
        while let Some(i) = rest.find(" data-") {
            rest = &rest[i + 1..];
            let Some(eq) = rest.find("=\"") else { break };
            let key = rest[..eq].to_string();
            let value_start = eq + 2;
            let Some(len) = rest[value_start..].find('"') else {
                break;
            };
            attrs.push((key, rest[value_start..value_start + len].to_string()));
            rest = &rest[value_start + len..];
        }
        out.push((name, attrs));
    }
    out
}

fn with_attr<'a>(
    els: &'a [(String, Vec<(String, String)>)],
    key: &str,
    value: &str,
) -> impl Iterator<Item = &'a Vec<(String, String)>> + 'a {
    let (key, value) = (key.to_string(), value.to_string());
    els.iter()
        .map(|(_, a)| a)
        .filter(move |a| a.iter().any(|(k, v)| *k == key && *v == value))
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> &'a str {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

#[test]
fn every_shipped_runbook_gives_a_self_contained_page_whose_markers_match_the_report() {
    let files = scenario_files(&[root().join("fixtures/scenarios")]).unwrap();
    for file in files {
        let report = report_of(&file);
        let page = html::page(&report);
        let name = file.display();
        // Self-contained: nothing is fetched.
        let outside = page
            .replace("http://www.w3.org/2000/svg", "")
            .replace("https://", "http://");
        assert!(!outside.contains("http://"), "{name}: a network address");
        assert!(!page.contains(" src="), "{name}: an external resource");
        assert!(!page.contains("<link"), "{name}: an external stylesheet");

        // Every link to a step lands on a row of the step table.
        let rows: BTreeSet<String> = page
            .match_indices("<tr id=\"step-")
            .map(|(i, _)| {
                let rest = &page[i + "<tr id=\"step-".len()..];
                rest[..rest.find('"').unwrap()].to_string()
            })
            .collect();
        assert_eq!(
            rows.len(),
            report.steps.len() + 1,
            "{name}: a row per step and the end"
        );
        for (i, _) in page.match_indices("href=\"#step-") {
            let rest = &page[i + "href=\"#step-".len()..];
            let target = &rest[..rest.find('"').unwrap()];
            assert!(rows.contains(target), "{name}: a link to #step-{target}");
        }

        let els = elements(&page);
        let count = |mark: &str| with_attr(&els, "data-mark", mark).count();
        assert_eq!(count("loss"), report.losses.len(), "{name}: losses");
        let hazard_primaries: usize = report.hazards.iter().map(|h| h.clusters.len()).sum();
        assert_eq!(count("hazard"), hazard_primaries, "{name}: hazards");
        assert_eq!(count("failed-expectation"), report.failures.len(), "{name}");
        assert_eq!(count("violation"), report.violations.len(), "{name}");
        let wipes = report
            .steps
            .iter()
            .flat_map(|l| &l.changes)
            .filter(|c| c.contains(" wiped by "))
            .count();
        assert_eq!(count("wipe"), wipes, "{name}: wipes");

        // Each lane's bands cover the start and every step, once, in order.
        let bands: Vec<&Vec<(String, String)>> = els
            .iter()
            .map(|(_, a)| a)
            .filter(|a| !attr(a, "data-mode").is_empty())
            .collect();
        let lanes: BTreeSet<&str> = bands.iter().map(|a| attr(a, "data-lane")).collect();
        assert_eq!(
            lanes.len(),
            report.timeline.lanes.len(),
            "{name}: a lane per cluster and kind"
        );
        for lane in lanes {
            let mut next = 0usize;
            for band in bands.iter().filter(|a| attr(a, "data-lane") == lane) {
                let from: usize = attr(band, "data-from").parse().unwrap();
                let to: usize = attr(band, "data-to").parse().unwrap();
                assert_eq!(from, next, "{name}: {lane} bands are contiguous");
                assert!(to >= from);
                next = to + 1;
            }
            assert_eq!(
                next,
                report.steps.len() + 1,
                "{name}: {lane} covers every step"
            );
        }
    }
}

#[test]
fn text_from_the_scenario_is_escaped() {
    let s = parse_str(
        r#"{"name": "<img onerror=x>", "description": "</script><script>alert(1)</script>",
            "clusters": {"<b>": {}, "A&B": {}, "a\"b": {}}, "steps": [
            {"write": "<b>", "path": "secret/x", "value": "v", "note": "<i>note</i>"},
            {"read": "a\"b", "path": "secret/x", "expect": {"value": "\"><svg onload=alert(1)>"}}
        ]}"#,
        None,
    )
    .unwrap();
    let report = Runner::new(&s).run(Some("x<y>.json"));
    assert_eq!(
        report.failures.len(),
        1,
        "the read fails, so its expected value is on the page"
    );
    let page = html::page(&report);
    for raw in [
        "<img",
        "<script>alert",
        "<svg onload",
        "<b>",
        "<i>note",
        "A&B",
        "a\"b",
    ] {
        assert!(!page.contains(raw), "{raw:?} appears unescaped");
    }
    assert!(page.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;b&gt; &#183; DR"), "the lane label");
    assert!(page.contains("A&amp;B"));
    assert!(
        page.contains("data-lane=\"a&quot;b dr\""),
        "inside an attribute"
    );
    assert!(
        page.contains("&quot;&gt;&lt;svg onload=alert(1)&gt;"),
        "the expected value, escaped"
    );
}

/// A failing run: its broken invariants and failed expectations are marked on the findings lane
/// (those found after the script in the end column) and listed, and the page says FAIL.
#[test]
fn a_failing_run_marks_its_violations_and_failed_expectations() {
    // A run with broken invariants and a failed expectation.
    let s = replication_sim::scenario::parse_file(
        root().join("sim/tests/data/enable-skips-wipe-fails.json"),
    )
    .unwrap();
    let bugs = [replication_core::Bug::EnableSkipsWipe].into();
    let report = Runner::with_bugs(&s, bugs).run(None);
    assert!(!report.passed());
    let page = html::page(&report);
    let els = elements(&page);
    let steps_of = |mark: &str| -> Vec<String> {
        with_attr(&els, "data-mark", mark)
            .map(|a| attr(a, "data-step").to_string())
            .collect()
    };
    let violation_steps: Vec<String> = report
        .timeline
        .marks
        .iter()
        .filter(|m| {
            matches!(
                m.mark,
                replication_sim::report::timeline::Mark::Violation { .. }
            )
        })
        .map(|m| m.step.min(report.steps.len() + 1).to_string())
        .collect();
    assert!(!violation_steps.is_empty());
    assert_eq!(steps_of("violation"), violation_steps);
    assert_eq!(steps_of("failed-expectation"), ["4"]);
    assert!(page.contains("data-result=\"FAIL\""));
    assert!(page.contains("<h3>Broken invariants ("));
}

#[test]
fn the_dot_topology_is_titled_and_keeps_disabled_clusters_grey() {
    let s = parse_str(
        r#"{"name": "dot \"title\"", "clusters": {"A": {}, "B": {}, "C": {}}, "steps": [
            {"call": "A", "method": "POST", "path": "sys/replication/dr/primary/enable"},
            {"call": "A", "method": "POST", "path": "sys/replication/dr/primary/secondary-token",
             "body": {"id": "B"}, "save": {"tok": "wrap_info.token"}},
            {"call": "B", "method": "POST", "path": "sys/replication/dr/secondary/enable",
             "body": {"token": "${tok}"}},
            {"crash": "B"}
        ]}"#,
        None,
    )
    .unwrap();
    let dot = Runner::new(&s).run(None).dot();
    assert!(
        dot.contains("  label=\"dot \\\"title\\\"\";\n  labelloc=t;"),
        "{dot}"
    );
    assert!(
        dot.contains("\"C\" [label=\"C\", color=grey, fontcolor=grey];"),
        "{dot}"
    );
    assert!(
        dot.contains("\"B\" [label=\"B\\nDR secondary\\n(crashed)\", style=dotted];"),
        "{dot}"
    );
    assert!(dot.contains("\"A\" -> \"B\" [label=\"DR "), "{dot}");
}

/// The pinned structure: the picture's elements (bands per lane with their modes and steps, markers
/// with their steps, lanes and descriptions, topology clusters and links) for two runbooks. A change
/// of the picture shows here as a reviewable diff.
#[test]
fn the_structure_of_two_runbooks_pages_is_pinned() {
    for name in ["dr-unplanned-failover", "perf-forwarded-writes"] {
        let report = report_of(&root().join(format!("fixtures/scenarios/{name}.json")));
        let page = html::page(&report);
        let outline: Vec<String> = elements(&page)
            .into_iter()
            .map(|(tag, attrs)| {
                let attrs: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                format!("{tag} {}", attrs.join(" "))
            })
            .collect();
        insta::assert_snapshot!(format!("html-{name}"), outline.join("\n"));
    }
}
