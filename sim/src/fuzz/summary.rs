//! Campaign summaries: one JSON line per run (`fuzz --summary FILE`), so that a campaign split over
//! machines (`fuzz --shard K/N`) merges back by concatenation: `fuzz --merge FILE...` gives the totals
//! the single-machine campaign gives.
//!
//! A campaign stops at its first failing run. Each shard stops at its own first failure, so together
//! the shards ran at least every run up to the campaign's first failure; merging sorts by run number
//! and cuts after the first failing run, which leaves exactly the runs one machine would have run.
//! Every line names its campaign (seed, runs, steps, clusters, bug): lines of two campaigns do not
//! merge, and neither do summaries that miss a run the single machine would have run.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What a campaign is: every shard of one campaign has the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    /// The campaign seed.
    pub seed: u64,
    /// The first run number.
    pub first_run: u64,
    /// How many runs.
    pub runs: u64,
    /// Chaos steps per run (`--steps`).
    pub chaos_steps: usize,
    /// `--clusters`, when fixed.
    pub clusters: Option<usize>,
    /// `--inject-bug`, when one was.
    pub bug: Option<String>,
}

impl Campaign {
    /// The last run number.
    pub fn last_run(&self) -> u64 {
        self.first_run.saturating_add(self.runs.saturating_sub(1))
    }
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {} runs {}..{} steps {}",
            self.seed,
            self.first_run,
            self.last_run(),
            self.chaos_steps
        )?;
        if let Some(c) = self.clusters {
            write!(f, " clusters {c}")?;
        }
        if let Some(b) = &self.bug {
            write!(f, " --inject-bug {b}")?;
        }
        Ok(())
    }
}

/// One run of a campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// The campaign it belongs to.
    pub campaign: Campaign,
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
    /// The campaign.
    pub campaign: Campaign,
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
    #[error("runs of two campaigns ({0}; {1}) cannot be merged")]
    MixedCampaigns(Box<Campaign>, Box<Campaign>),
    /// A run outside the campaign's run numbers.
    #[error("run {run} is not a run of the campaign ({campaign})")]
    OutOfRange {
        /// The run.
        run: u64,
        /// The campaign.
        campaign: Box<Campaign>,
    },
    /// Runs the single-machine campaign would have run are missing: a shard did not report, or
    /// stopped before its end.
    #[error(
        "incomplete: {missing} run(s) missing, the first is run {first}; did every shard finish?"
    )]
    Incomplete {
        /// How many.
        missing: u64,
        /// The first missing run.
        first: u64,
    },
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
    let mut campaign: Option<Campaign> = None;
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
            match &campaign {
                Some(c) if *c != r.campaign => {
                    return Err(MergeError::MixedCampaigns(
                        Box::new(c.clone()),
                        Box::new(r.campaign),
                    ))
                }
                Some(_) => {}
                None => campaign = Some(r.campaign.clone()),
            }
            if r.run < r.campaign.first_run || r.run > r.campaign.last_run() {
                return Err(MergeError::OutOfRange {
                    run: r.run,
                    campaign: Box::new(r.campaign),
                });
            }
            if let Some(old) = runs.get(&r.run) {
                if *old != r {
                    return Err(MergeError::Conflict(r.run));
                }
            }
            runs.insert(r.run, r);
        }
    }
    let campaign = campaign.ok_or(MergeError::Empty)?;
    // The single machine's runs: from the first run to the first failure, or to the last run.
    let end = runs
        .values()
        .find(|r| !r.passed)
        .map_or(campaign.last_run(), |r| r.run);
    let kept: Vec<RunSummary> = runs.into_values().take_while(|r| r.run <= end).collect();
    let expected = end - campaign.first_run + 1;
    if kept.len() as u64 != expected {
        let first = (campaign.first_run..=end)
            .zip(
                kept.iter()
                    .map(|r| r.run)
                    .chain(std::iter::repeat(u64::MAX)),
            )
            .find(|(want, got)| want != got)
            .map_or(end, |(want, _)| want);
        return Err(MergeError::Incomplete {
            missing: expected - kept.len() as u64,
            first,
        });
    }
    Ok(Merged {
        campaign,
        runs: kept,
    })
}

impl Merged {
    /// The first failing run, if any.
    pub fn failure(&self) -> Option<&RunSummary> {
        self.runs.last().filter(|r| !r.passed)
    }

    /// Simulated events in all.
    pub fn events(&self) -> u64 {
        self.runs
            .iter()
            .fold(0u64, |sum, r| sum.saturating_add(r.events))
    }
}

impl fmt::Display for Merged {
    /// `fuzz seed 1 runs 1..200 steps 300: 200 runs, 200 passed, 0 failed; 141713 events`, then the
    /// first failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = usize::from(self.failure().is_some());
        write!(
            f,
            "fuzz {}: {} runs, {} passed, {failed} failed; {} events",
            self.campaign,
            self.runs.len(),
            self.runs.len() - failed,
            self.events()
        )?;
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

    fn campaign(runs: u64) -> Campaign {
        Campaign {
            seed: 1,
            first_run: 1,
            runs,
            chaos_steps: 10,
            clusters: None,
            bug: None,
        }
    }

    fn line(run: u64, passed: bool) -> String {
        serde_json::to_string(&RunSummary {
            campaign: campaign(8),
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
            "fuzz seed 1 runs 1..8 steps 10: 5 runs, 4 passed, 1 failed; 150 events\nfirst failure: run 5: run 5 broke"
        );
    }

    #[test]
    fn bad_lines_mixed_campaigns_conflicts_and_missing_runs_are_refused() {
        assert!(matches!(
            merge([("a", "{\"run\": 1}")]),
            Err(MergeError::BadLine { line: 1, .. })
        ));
        let other = line(1, true).replace("\"chaos_steps\":10", "\"chaos_steps\":11");
        assert!(matches!(
            merge([("a", line(2, true).as_str()), ("b", other.as_str())]),
            Err(MergeError::MixedCampaigns(..))
        ));
        assert_eq!(
            merge([
                ("a", line(3, true).as_str()),
                ("b", line(3, false).as_str())
            ]),
            Err(MergeError::Conflict(3))
        );
        assert_eq!(merge([("a", "")]), Err(MergeError::Empty));
        assert!(matches!(
            merge([("a", line(9, true).as_str())]),
            Err(MergeError::OutOfRange { run: 9, .. })
        ));
        // A gap in the middle, and a shard missing at the end.
        let gap = format!("{}\n{}", line(1, true), line(3, false));
        assert_eq!(
            merge([("a", gap.as_str())]),
            Err(MergeError::Incomplete {
                missing: 1,
                first: 2
            })
        );
        let short: String = (1..=6).map(|r| line(r, true) + "\n").collect();
        assert_eq!(
            merge([("a", short.as_str())]),
            Err(MergeError::Incomplete {
                missing: 2,
                first: 7
            })
        );
    }
}
