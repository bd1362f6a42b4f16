//! Campaign summaries: one JSON line per run (`fuzz --summary FILE`), so that a campaign split over
//! machines (`fuzz --shard K/N`) merges back by concatenation: `fuzz --merge FILE...` gives the totals
//! the single-machine campaign gives.
//!
//! A campaign stops at its first failing run. Each shard stops at its own first failure, so together
//! the shards ran at least every run up to the campaign's first failure; merging sorts by run number
//! and cuts after the first failing run, which leaves exactly the runs one machine would have run.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One run of a campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// The campaign seed.
    pub seed: u64,
    /// The run number.
    pub run: u64,
    /// Steps run (chaos and heal).
    pub steps: usize,
    /// Simulated events.
    pub events: u64,
    /// The run's digest (`log` in the campaign's output).
    pub log: String,
    /// Whether every invariant and expectation held.
    pub passed: bool,
    /// The first failure, when it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// Summaries merged: the runs one machine would have run, in run order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The campaign seed.
    pub seed: u64,
    /// The runs, sorted, up to and including the first failing one.
    pub runs: Vec<RunSummary>,
}

/// Why summaries do not merge.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    /// A line is not a run summary.
    #[error("{source_name} line {line}: not a run summary: {message}")]
    BadLine {
        /// Where the line came from.
        source_name: String,
        /// Its 1-based number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Runs of two campaigns.
    #[error("runs of two campaigns (seeds {0} and {1}) cannot be merged")]
    MixedSeeds(u64, u64),
    /// The same run twice with different results (a nondeterministic build, or two builds).
    #[error(
        "run {0} appears twice with different results; were the shards run by different builds?"
    )]
    Conflict(u64),
    /// Nothing to merge.
    #[error("no run summaries to merge")]
    Empty,
}

/// Merges JSON-lines summaries, each given as (its name for messages, its text).
pub fn merge<'a>(
    sources: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Merged, MergeError> {
    let mut runs: BTreeMap<u64, RunSummary> = BTreeMap::new();
    let mut seed = None;
    for (name, text) in sources {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let r: RunSummary = serde_json::from_str(line).map_err(|e| MergeError::BadLine {
                source_name: name.to_string(),
                line: i + 1,
                message: e.to_string(),
            })?;
            match seed {
                Some(s) if s != r.seed => return Err(MergeError::MixedSeeds(s, r.seed)),
                _ => seed = Some(r.seed),
            }
            if let Some(old) = runs.get(&r.run) {
                if *old != r {
                    return Err(MergeError::Conflict(r.run));
                }
            }
            runs.insert(r.run, r);
        }
    }
    let seed = seed.ok_or(MergeError::Empty)?;
    let mut kept = vec![];
    for r in runs.into_values() {
        let failed = !r.passed;
        kept.push(r);
        if failed {
            break;
        }
    }
    Ok(Merged { seed, runs: kept })
}

impl Merged {
    /// The first failing run, if any.
    pub fn failure(&self) -> Option<&RunSummary> {
        self.runs.last().filter(|r| !r.passed)
    }

    /// Simulated events in all.
    pub fn events(&self) -> u64 {
        self.runs.iter().map(|r| r.events).sum()
    }
}

impl fmt::Display for Merged {
    /// `seed 1: 200 runs (1..200): 200 passed, 0 failed; 141713 events`, then the first failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (first, last) = (
            self.runs.first().map_or(0, |r| r.run),
            self.runs.last().map_or(0, |r| r.run),
        );
        let failed = usize::from(self.failure().is_some());
        write!(
            f,
            "seed {}: {} runs ({first}..{last}): {} passed, {failed} failed; {} events",
            self.seed,
            self.runs.len(),
            self.runs.len() - failed,
            self.events()
        )?;
        let gaps = self
            .runs
            .windows(2)
            .filter(|w| w[1].run != w[0].run + 1)
            .count();
        if gaps > 0 {
            write!(f, "; {gaps} gap(s) in the run numbers: a shard is missing")?;
        }
        if let Some(r) = self.failure() {
            write!(
                f,
                "\nfirst failure: run {}: {}",
                r.run,
                r.failure.as_deref().unwrap_or("failed")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(run: u64, passed: bool) -> String {
        serde_json::to_string(&RunSummary {
            seed: 1,
            run,
            steps: 10,
            events: run * 10,
            log: format!("{run:016x}"),
            passed,
            failure: (!passed).then(|| format!("run {run} broke")),
        })
        .unwrap()
    }

    #[test]
    fn shards_merge_to_the_runs_one_machine_would_run() {
        // One machine: runs 1..=5, run 5 fails, so 6.. never ran.
        let serial: String = (1..=5).map(|r| line(r, r != 5) + "\n").collect();
        // Two shards: odd runs stop at 5; even runs went on to 8 (their own first failure).
        let odd: String = [1, 3, 5].map(|r| line(r, r != 5) + "\n").concat();
        let even: String = [2, 4, 6, 8].map(|r| line(r, r != 8) + "\n").concat();
        let one = merge([("serial", serial.as_str())]).unwrap();
        let both = merge([("odd", odd.as_str()), ("even", even.as_str())]).unwrap();
        assert_eq!(one, both);
        assert_eq!(both.runs.len(), 5);
        assert_eq!(
            both.to_string(),
            "seed 1: 5 runs (1..5): 4 passed, 1 failed; 150 events\nfirst failure: run 5: run 5 broke"
        );
    }

    #[test]
    fn bad_lines_mixed_campaigns_and_conflicts_are_refused() {
        assert!(matches!(
            merge([("a", "{\"seed\": 1}")]),
            Err(MergeError::BadLine { line: 1, .. })
        ));
        let other = line(1, true).replace("\"seed\":1", "\"seed\":2");
        assert_eq!(
            merge([("a", line(1, true).as_str()), ("b", other.as_str())]),
            Err(MergeError::MixedSeeds(1, 2))
        );
        assert_eq!(
            merge([
                ("a", line(3, true).as_str()),
                ("b", line(3, false).as_str())
            ]),
            Err(MergeError::Conflict(3))
        );
        assert_eq!(merge([("a", "")]), Err(MergeError::Empty));
        let gap = merge([(
            "a",
            format!("{}\n{}", line(1, true), line(3, true)).as_str(),
        )])
        .unwrap();
        assert!(gap.to_string().contains("1 gap(s)"), "{gap}");
    }
}
