//! Scenario files: parsing, validation, `${name}` substitution and JSON subset matching.
//!
//! A scenario is one JSON file: a topology (`clusters`, `mounts`, `config`, `seed`) and a script of
//! `steps`, each an object with exactly one verb key (`call`, `write`, `advance`, `expect_status`, ...).
//! The format is a stable contract, written out in the repository's `docs/scenario-format.md`; this
//! module implements it to the letter:
//!
//! - [`parse_str`] / [`parse_file`] turn text into a typed [`Scenario`] or a [`ScenarioError`] that names
//!   the file, the step and the key (`x.json: step 3: key "expect": expected "ok" or "error", got 5`).
//!   Each verb has its own struct ([`Call`], [`Write`], ... [`ExpectHazards`]) read with serde; unknown
//!   keys are errors everywhere; defaults are filled in (seed 0, one shared `secret/` mount,
//!   [`Config::default`]); the rules a shape cannot state (declared clusters, disjoint partition
//!   groups, references saved earlier) are checked on the typed form.
//! - Strings that may hold `${name}` (request paths, bodies, written values, expectations) stay as written
//!   in the typed model; the runner substitutes them with [`Vars::substitute`] when the step runs, after
//!   earlier steps have `save`d values. [`dotted_get`] reads a `save` path such as `wrap_info.token`.
//! - [`Scenario::to_json`] and [`StepSpec::to_json`] write the typed form back as the contract's JSON
//!   with the same serde types (the inverse of parsing), so generators build typed steps and save them
//!   as replayable files.
//! - [`subset_match`] is the matching rule of `expect.body` and `expect_status.matches`: objects match when
//!   every expected key is present and matches, arrays element by element with equal length, other values
//!   by equality.
//!
//! ```
//! use replication_sim::scenario::{parse_str, subset_match, Step, Vars};
//! use serde_json::json;
//!
//! let text = r#"{
//!   "name": "enable-dr",
//!   "clusters": {"A": {}, "B": {}},
//!   "steps": [
//!     {"call": "A", "method": "POST", "path": "sys/replication/dr/primary/enable"},
//!     {"call": "A", "method": "POST", "path": "/v1/sys/replication/dr/primary/secondary-token",
//!      "body": {"id": "B"}, "save": {"tok": "wrap_info.token"}},
//!     {"call": "B", "method": "POST", "path": "sys/replication/dr/secondary/enable",
//!      "body": {"token": "${tok}"}, "note": "B wipes its data and follows A"},
//!     {"expect_status": "B", "kind": "dr", "matches": {"mode": "secondary"}}
//!   ]
//! }"#;
//! let scenario = parse_str(text, Some("enable-dr.json")).unwrap();
//! assert_eq!(scenario.steps.len(), 4);
//!
//! // At run time: save from a response, substitute into a later step.
//! let mut vars = Vars::new();
//! vars.insert("tok", json!("wrapped-token"));
//! let Step::Call(call) = &scenario.steps[2].step else { unreachable!() };
//! let body = vars.substitute(call.body.as_ref().unwrap(), |_| None).unwrap();
//! assert_eq!(body, json!({"token": "wrapped-token"}));
//!
//! // And match a status against an expectation.
//! let Step::ExpectStatus(expect) = &scenario.steps[3].step else { unreachable!() };
//! let status = json!({"mode": "secondary", "state": "stream-wals", "cluster_id": "c1"});
//! assert!(subset_match(&expect.matches, &status).is_ok());
//! ```

mod de;
mod error;
mod matching;
mod model;
mod parse;
mod steps;
mod strict_json;
mod substitute;
mod validate;

pub use error::ScenarioError;
pub use matching::{subset_match, Mismatch, MismatchKind};
pub use model::{ClusterOptions, Config, MountSpec, Scenario, StepSpec};
pub use parse::{parse_file, parse_str, parse_value, VERBS};
pub use steps::{
    Advance, Call, CallExpect, ClientExpect, CorruptMerkle, Crash, Delete, DrOperationToken,
    ExpectHazards, ExpectLosses, ExpectSameData, ExpectStatus, FaultRates, Faults, Heal, LinkStep,
    LossCounts, Mount, Partition, Read, ReadExpect, Restart, StatusExpect, Step, Tick, Write,
};
pub use substitute::{dotted_get, placeholders, placeholders_in, SubstError, Vars};

/// A `call` step's path as an API path: without the optional leading `/v1/` (or a bare leading `/`).
///
/// ```
/// use replication_sim::scenario::api_path;
/// assert_eq!(api_path("/v1/sys/replication/status"), "sys/replication/status");
/// assert_eq!(api_path("sys/replication/status"), "sys/replication/status");
/// assert_eq!(api_path("/sys/replication/status"), "sys/replication/status");
/// ```
pub fn api_path(path: &str) -> &str {
    path.strip_prefix("/v1/")
        .or_else(|| path.strip_prefix('/'))
        .unwrap_or(path)
}

/// Longest JSON text of a value quoted in a message.
const SHOW_MAX: usize = 160;

/// Compact JSON of `value` for messages, cut to [`SHOW_MAX`] characters.
pub(crate) fn show_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= SHOW_MAX {
        return text;
    }
    let cut: String = text.chars().take(SHOW_MAX).collect();
    format!("{cut}...")
}
