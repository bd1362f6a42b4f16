//! The scenario parser built on serde derive reads every shipped runbook, and every reproducer the
//! fuzzer wrote, into the same scenario the hand-written parser it replaced did.
//!
//! `tests/parser_agreement/parsed/` holds what the old parser made of each input, written with its
//! own serializer (`GROUP--NAME.json`: GROUP is a `fixtures/` folder, or `fuzz-failures` for the files
//! in `tests/parser_agreement/reproducers/`, saved from `replication-sim fuzz --inject-bug` runs).
//! Those files were produced once, before the old parser was deleted, and are not regenerated: a
//! difference here is a change in what a scenario file means.

use replication_sim::scenario::parse_file;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The input each golden file was made from.
fn input_of(golden: &Path) -> PathBuf {
    let stem = golden.file_name().unwrap().to_string_lossy().into_owned();
    let (group, name) = stem.split_once("--").expect("GROUP--NAME.json");
    match group {
        "fuzz-failures" => root()
            .join("sim/tests/parser_agreement/reproducers")
            .join(name),
        folder => root().join("fixtures").join(folder).join(name),
    }
}

#[test]
fn new_parser_reads_every_input_as_the_old_one_did() {
    let goldens = root().join("sim/tests/parser_agreement/parsed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&goldens)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 100,
        "the goldens are there ({})",
        files.len()
    );
    let mut differ = vec![];
    for golden in &files {
        let input = input_of(golden);
        let old: Value = serde_json::from_str(&std::fs::read_to_string(golden).unwrap()).unwrap();
        let new = match parse_file(&input) {
            Ok(s) => s.to_json(),
            Err(e) => panic!("{} no longer parses: {e}", input.display()),
        };
        if new != old {
            differ.push(format!("{}:\n  old {old}\n  new {new}", input.display()));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// Every golden names an input that still exists, so none is silently skipped.
#[test]
fn every_golden_names_an_existing_input() {
    let goldens = root().join("sim/tests/parser_agreement/parsed");
    for entry in std::fs::read_dir(goldens).unwrap() {
        let golden = entry.unwrap().path();
        assert!(input_of(&golden).is_file(), "{}", golden.display());
    }
}

/// Every runbook that existed when the old parser was deleted has its golden. Runbooks added since
/// have none (only the new parser ever read them; `scenario_parse.rs`'s round trip covers them), so
/// this checks the set the goldens were made from: 97 fixtures.
#[test]
fn the_goldens_cover_every_fixture_of_their_time() {
    let goldens = root().join("sim/tests/parser_agreement/parsed");
    let mut covered = 0;
    for folder in ["scenarios", "regressions", "conformance"] {
        for entry in std::fs::read_dir(root().join("fixtures").join(folder)).unwrap() {
            let input = entry.unwrap().path();
            let name = input.file_name().unwrap().to_string_lossy().into_owned();
            if goldens.join(format!("{folder}--{name}")).is_file() {
                covered += 1;
            }
        }
    }
    assert_eq!(covered, 97, "fixtures with a golden");
}
