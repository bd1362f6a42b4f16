//! `replication-sim run`: scenario files, their reports (text, JSON, HTML, DOT) and the exit code.

use crate::output::{self, Output};
use crate::progress;
use replication_core::Bug;
use replication_sim::report::html;
use replication_sim::report::Report;
use replication_sim::scenario::ScenarioError;
use replication_sim::{run_file_observed, scenario_files};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runbooks with at least this many steps show a progress bar on a terminal.
const LONG_RUN: usize = 5_000;

/// What `run` was asked to write besides the text report.
pub struct RunArgs {
    pub paths: Vec<PathBuf>,
    pub json: bool,
    pub dot: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub bugs: BTreeSet<Bug>,
}

/// One scenario file's result: its report, or why it could not be used.
struct Ran {
    file: PathBuf,
    result: Result<Report, ScenarioError>,
}

pub fn run(a: RunArgs) -> ExitCode {
    let files = match scenario_files(&a.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = Output::stdout();
    let mut ran = vec![];
    for file in files {
        // A long runbook shows its progress on a terminal.
        let mut bar = None;
        let result = run_file_observed(&file, &a.bugs, |done, all| {
            if all < LONG_RUN {
                return;
            }
            let bar = bar.get_or_insert_with(|| progress::bar(all as u64, "steps"));
            if let Some(bar) = bar {
                bar.set_position(done as u64);
                if done == all {
                    bar.finish_and_clear();
                }
            }
        });
        match &result {
            Ok(report) if !a.json => out.line(report.render_text()),
            Ok(_) => {}
            Err(e) => eprintln!("error: {e}"),
        }
        ran.push(Ran { file, result });
    }
    let mut worst = ran
        .iter()
        .map(|r| match &r.result {
            Ok(report) if report.passed() => 0,
            Ok(_) => 1,
            Err(_) => 2,
        })
        .max()
        .unwrap_or(0);
    // The files come before the summary, so that it gives the exit code the command ends with.
    let last_report = ran.iter().rev().find_map(|r| r.result.as_ref().ok());
    if let (Some(path), Some(report)) = (&a.dot, last_report) {
        if let Err(e) = std::fs::write(path, report.dot()) {
            eprintln!("error: cannot write {}: {e}", path.display());
            worst = 2;
        }
    }
    if let Some(path) = &a.html {
        let folder = a.paths.iter().any(|p| p.is_dir()) || ran.len() > 1;
        if let Err(e) = write_html(path, folder, &ran) {
            eprintln!("error: {e}");
            worst = 2;
        }
    }
    if a.json {
        out.line(serde_json::to_string_pretty(&json_report(&ran)).unwrap_or_default());
    } else {
        out.line(summary(&ran, worst));
    }
    output::exit_code(out.finish(), worst)
}

/// `N scenario(s) run: P passed, F failed, U unusable; exit X`.
fn summary(ran: &[Ran], worst: u8) -> String {
    let passed = ran
        .iter()
        .filter(|r| r.result.as_ref().is_ok_and(Report::passed))
        .count();
    let unusable = ran.iter().filter(|r| r.result.is_err()).count();
    let failed = ran.len() - passed - unusable;
    format!(
        "{} scenario(s) run: {passed} passed, {failed} failed, {unusable} unusable; exit {worst}",
        ran.len()
    )
}

/// The `--json` array: one entry per file, an unusable file as `{"file", "passed": false, "error"}`.
fn json_report(ran: &[Ran]) -> Value {
    Value::Array(
        ran.iter()
            .map(|r| match &r.result {
                Ok(report) => report.to_json(),
                Err(e) => json!({
                    "file": r.file.display().to_string(),
                    "passed": false,
                    "error": e,
                }),
            })
            .collect(),
    )
}

/// `--html PATH`: for one scenario file, the page at `PATH`; when a folder was given, several files
/// ran, or `PATH` is a folder (or ends with `/`), a folder `PATH` with a page per scenario (named after its file, never `index`, a repeated
/// name numbered) and an `index.html` linking them.
fn write_html(path: &Path, folder: bool, ran: &[Ran]) -> Result<(), String> {
    let write = |p: &Path, text: String| {
        std::fs::write(p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    let folder = folder || path.is_dir() || path.to_string_lossy().ends_with('/');
    if let (false, [one]) = (folder, ran) {
        return match &one.result {
            Ok(report) => write(path, html::page(report)),
            Err(_) => Err(format!(
                "no HTML page written to {}: the scenario is unusable",
                path.display()
            )),
        };
    }
    std::fs::create_dir_all(path)
        .map_err(|e| format!("cannot create folder {}: {e}", path.display()))?;
    let mut taken: BTreeSet<String> = BTreeSet::from(["index".to_string()]);
    let mut entries = vec![];
    for r in ran {
        let stem = r
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "scenario".into());
        let name = (1..)
            .map(|n| {
                if n == 1 {
                    stem.clone()
                } else {
                    format!("{stem}-{n}")
                }
            })
            .find(|name| !taken.contains(name))
            .unwrap_or_default();
        taken.insert(name.clone());
        let page = format!("{name}.html");
        let file = r.file.display().to_string();
        match &r.result {
            Ok(report) => {
                write(&path.join(&page), html::page(report))?;
                entries.push(html::IndexEntry::Page { file, page, report });
            }
            Err(e) => entries.push(html::IndexEntry::Unusable {
                file,
                error: e.to_string(),
            }),
        }
    }
    write(&path.join("index.html"), html::index(&entries))
}
