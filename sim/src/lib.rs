//! replication-sim: many replication-core clusters on a simulated network, scenario files run against
//! them, and oracles that say which writes were lost and why, which clusters were wiped, when two
//! primaries existed and whether secondaries converged.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod digest;
pub mod fuzz;
pub mod oracle;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod topology;
pub mod world;

use std::path::{Path, PathBuf};

/// A folder of scenario files that gives no scenarios.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// The folder could not be listed.
    #[error("{}: cannot read folder: {source}", path.display())]
    Unreadable {
        /// The folder.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// The folder holds no `*.json` file: a mistyped path must not pass as "nothing failed".
    #[error("{}: no *.json scenario files in this folder; check the path", path.display())]
    Empty {
        /// The folder.
        path: PathBuf,
    },
}

/// Scenario files named by `paths`: files as given, folders expanded to their `*.json` files (sorted).
/// A folder without any is an error.
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FolderError> {
    let mut out = vec![];
    for p in paths {
        if p.is_dir() {
            let unreadable = |source| FolderError::Unreadable {
                path: p.clone(),
                source,
            };
            let mut files = vec![];
            for entry in std::fs::read_dir(p).map_err(unreadable)? {
                let path = entry.map_err(unreadable)?.path();
                if path.extension().is_some_and(|x| x == "json") && !path.is_dir() {
                    files.push(path);
                }
            }
            if files.is_empty() {
                return Err(FolderError::Empty { path: p.clone() });
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Parses and runs one scenario file.
pub fn run_file(path: &Path) -> Result<report::Report, scenario::ScenarioError> {
    run_file_with(path, &Default::default())
}

/// Parses and runs one scenario file with deliberate core bugs switched on (testing the checkers).
pub fn run_file_with(
    path: &Path,
    bugs: &std::collections::BTreeSet<replication_core::Bug>,
) -> Result<report::Report, scenario::ScenarioError> {
    run_file_observed(path, bugs, |_, _| {})
}

/// [`run_file_with`], calling `after_step(steps done, steps in all)` after every step.
pub fn run_file_observed(
    path: &Path,
    bugs: &std::collections::BTreeSet<replication_core::Bug>,
    after_step: impl FnMut(usize, usize),
) -> Result<report::Report, scenario::ScenarioError> {
    let s = scenario::parse_file(path)?;
    let name = path.display().to_string();
    Ok(runner::Runner::owning(s, bugs.clone()).run_observed(Some(&name), after_step))
}

/// Lowercase hex of bytes.
pub fn hex16(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
