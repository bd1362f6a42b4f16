//! replication-sim: many replication-core clusters on a simulated network, scenario files run against
//! them, and oracles that say which writes were lost and why, which clusters were wiped, when two
//! primaries existed and whether secondaries converged.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fuzz;
pub mod oracle;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod topology;
pub mod world;

use std::path::{Path, PathBuf};

/// A folder of scenario files that could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot read folder: {source}", path.display())]
pub struct FolderError {
    /// The folder.
    pub path: PathBuf,
    /// Why it could not be read.
    #[source]
    pub source: std::io::Error,
}

/// Scenario files named by `paths`: files as given, folders expanded to their `*.json` files (sorted).
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FolderError> {
    let mut out = vec![];
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|source| FolderError {
                    path: p.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
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
    let s = scenario::parse_file(path)?;
    let name = path.display().to_string();
    Ok(runner::Runner::with_bugs(&s, bugs.clone()).run(Some(&name)))
}

/// Lowercase hex of bytes.
pub fn hex16(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
