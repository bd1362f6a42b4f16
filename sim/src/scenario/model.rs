//! The typed form of a scenario file's top level: the topology, the settings and the list of steps,
//! read and written with serde. Each verb's own struct is in `steps.rs`.
//!
//! Leaf values with rules of their own (a cluster name, a status code, a duration) are read by the
//! functions of `de/`, whose errors say what to write. Writing a scenario leaves every key at its
//! default out (except the topology's), so a written file is what a person would write.

use super::de;
use super::steps::Step;
use crate::world::Entropy;
use replication_core::{ClusterConfig, Duration};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A parsed, validated scenario: a topology and a script of steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Scenario {
    /// `name`; when the file has none, the file's stem (`dr-failover` for `dr-failover.json`), or
    /// `scenario` when the text came from no file.
    pub name: String,
    /// `description`: free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `seed` (default 0): drives every random choice of the run.
    pub seed: u64,
    /// `clusters`: every cluster of the run by name, with its options.
    pub clusters: BTreeMap<String, ClusterOptions>,
    /// `mounts` every cluster starts with (default: one shared `secret/`). Paths end with `/`.
    pub mounts: Vec<MountSpec>,
    /// `config`: model settings.
    pub config: Config,
    /// `steps`, in file order.
    pub steps: Vec<StepSpec>,
}

/// The top level as the file has it, before defaults and validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScenarioFile {
    #[serde(default, deserialize_with = "de::some_non_empty")]
    pub(super) name: Option<String>,
    #[serde(default, deserialize_with = "de::some_string")]
    pub(super) description: Option<String>,
    #[serde(default, deserialize_with = "de::count")]
    pub(super) seed: u64,
    #[serde(deserialize_with = "de::clusters")]
    pub(super) clusters: BTreeMap<String, ClusterOptions>,
    #[serde(default = "MountSpec::defaults", deserialize_with = "de::objects")]
    pub(super) mounts: Vec<MountSpec>,
    #[serde(default, deserialize_with = "de::object")]
    pub(super) config: Config,
    /// Each step is read on its own (its verb picks its struct), so errors name the step.
    pub(super) steps: Vec<Value>,
}

/// Per-cluster options of `clusters.NAME`; every one is optional (the model's default applies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterOptions {
    /// `unseal_shares`: how many unseal key shares the cluster starts with (1 to 255).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::some_share_count"
    )]
    pub unseal_shares: Option<u8>,
    /// `unseal_threshold`: how many shares make a quorum (1 to `unseal_shares`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::some_share_count"
    )]
    pub unseal_threshold: Option<u8>,
}

impl ClusterOptions {
    /// The number of shares, default applied.
    pub fn shares(&self) -> u8 {
        self.unseal_shares
            .unwrap_or(ClusterConfig::DEFAULT_UNSEAL_SHARES)
    }

    /// The threshold, default applied.
    ///
    /// Without an explicit threshold: the default (3), but never more than the shares, so
    /// `{"unseal_shares": 2}` alone means a 2-of-2 quorum.
    pub fn threshold(&self) -> u8 {
        self.unseal_threshold
            .unwrap_or_else(|| ClusterConfig::DEFAULT_UNSEAL_THRESHOLD.min(self.shares()))
    }
}

/// One entry of the top-level `mounts`: a mount every cluster starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountSpec {
    /// `path`, normalised to end with `/` (`secret/`).
    #[serde(deserialize_with = "de::mount_path")]
    pub path: String,
    /// `local` (default false): a local mount is never replicated by performance replication.
    #[serde(default, deserialize_with = "de::boolean")]
    pub local: bool,
}

impl MountSpec {
    /// The default mount table: one shared mount `secret/`.
    pub fn defaults() -> Vec<MountSpec> {
        vec![MountSpec {
            path: "secret/".to_string(),
            local: false,
        }]
    }
}

/// Model settings of `config`; each has a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `heartbeat_interval` (default 5s): a Vault duration string or whole seconds; never zero.
    #[serde(default = "Config::default_heartbeat", with = "de::positive_duration")]
    pub heartbeat_interval: Duration,
    /// `log_shipper_buffer` (default 16384): how many recent WAL entries a primary keeps; at least 1.
    #[serde(
        default = "Config::default_buffer",
        deserialize_with = "de::buffer_length"
    )]
    pub log_shipper_buffer: usize,
    /// `forwarding_timeout` (an addition to the contract; default three heartbeat intervals): how long
    /// a performance secondary waits for the primary's answer to a forwarded write before it tells the
    /// client the outcome is unknown. Never zero.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "de::some_positive_duration"
    )]
    pub forwarding_timeout: Option<Duration>,
    /// `entropy` (an addition to the contract; default `"shared"`): `"per-cluster"` gives each cluster
    /// its own random draws, as `check` does, so a file `check` wrote replays the draws it explored.
    #[serde(default, skip_serializing_if = "is_default", with = "de::entropy")]
    pub entropy: Entropy,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Config {
    fn default_heartbeat() -> Duration {
        ClusterConfig::DEFAULT_HEARTBEAT_INTERVAL
    }

    fn default_buffer() -> usize {
        ClusterConfig::DEFAULT_LOG_SHIPPER_BUFFER
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            heartbeat_interval: Config::default_heartbeat(),
            log_shipper_buffer: Config::default_buffer(),
            forwarding_timeout: None,
            entropy: Entropy::Shared,
        }
    }
}

/// One entry of `steps`: the action plus the keys every step may carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepSpec {
    /// 1-based position in `steps`, as reports and errors name it (not written: it is the position).
    #[serde(skip)]
    pub index: usize,
    /// `note`: printed in the report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `settle` (default true): run the network to quiet after this step.
    #[serde(skip_serializing_if = "is_true")]
    pub settle: bool,
    /// What the step does.
    #[serde(flatten)]
    pub step: Step,
}

fn is_true(b: &bool) -> bool {
    *b
}

/// The keys every step may carry, read apart from the verb's own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommonKeys {
    #[serde(default, deserialize_with = "de::some_string")]
    pub(super) note: Option<String>,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub(super) settle: bool,
}

impl Scenario {
    /// The scenario as a JSON document in the contract format: the inverse of
    /// [`super::parse_value`], with every key at its default left out (except the topology's, which
    /// are written in full so a reader sees them).
    ///
    /// ```
    /// use replication_sim::scenario::parse_str;
    /// let text = r#"{"name": "t", "clusters": {"A": {}}, "steps": [{"advance": "90s"}]}"#;
    /// let scenario = parse_str(text, None).unwrap();
    /// let json = scenario.to_json();
    /// assert_eq!(json["steps"], serde_json::json!([{"advance": "1m30s"}]));
    /// assert_eq!(replication_sim::scenario::parse_value(&json, None).unwrap(), scenario);
    /// ```
    pub fn to_json(&self) -> Value {
        // Every map key is a string and every number finite (rates lie in [0, 1]): this cannot fail.
        serde_json::to_value(self).expect("a scenario serializes to JSON")
    }
}

impl StepSpec {
    /// The step as one entry of `steps` (its index is its position in the file, so it is not written).
    ///
    /// ```
    /// use replication_sim::scenario::{Read, ReadExpect, StepSpec};
    /// let spec = StepSpec::new(1, Read {
    ///     cluster: "B".into(),
    ///     path: "secret/app".into(),
    ///     expect: ReadExpect::Missing,
    ///     save: Default::default(),
    /// });
    /// assert_eq!(
    ///     spec.to_json(),
    ///     serde_json::json!({"read": "B", "path": "secret/app", "expect": "missing"})
    /// );
    /// ```
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a step serializes to JSON")
    }

    /// Step number `index` doing `step`, with the defaults of the common keys (no note, settled).
    pub fn new(index: usize, step: impl Into<Step>) -> StepSpec {
        StepSpec {
            index,
            note: None,
            settle: true,
            step: step.into(),
        }
    }
}

impl de::Object for ScenarioFile {
    const SHAPE: &'static str = "a JSON object at the top level";
}

impl de::Object for ClusterOptions {
    const SHAPE: &'static str = "an object of cluster options ({} for the defaults)";
}

impl de::Object for MountSpec {
    const SHAPE: &'static str = r#"a mount such as {"path": "secret/"}"#;
}

impl de::Object for Config {
    const SHAPE: &'static str = "an object of model settings";
}
