//! The typed form of a scenario file.
//!
//! Strings that may hold `${name}` references (request paths, bodies, written values, expectations) are
//! kept exactly as written: they are substituted at run time with [`super::Vars`], because saved values
//! only exist once earlier steps have run.

use replication_core::time::Duration;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A parsed, validated scenario: a topology and a script of steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// `name`; when the file has none, the file's stem (`dr-failover` for `dr-failover.json`), or
    /// `scenario` when the text came from no file.
    pub name: String,
    /// `description`: free text.
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

/// Per-cluster options of `clusters.NAME`; every one is optional (the model's default applies).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterOptions {
    /// `unseal_shares`: how many unseal key shares the cluster starts with (1 to 255).
    pub unseal_shares: Option<u8>,
    /// `unseal_threshold`: how many shares make a quorum (1 to `unseal_shares`).
    pub unseal_threshold: Option<u8>,
}

impl ClusterOptions {
    /// Shares a cluster has when `unseal_shares` is absent (model.md §3).
    pub const DEFAULT_UNSEAL_SHARES: u8 = 5;
    /// Threshold a cluster has when `unseal_threshold` is absent (model.md §3).
    pub const DEFAULT_UNSEAL_THRESHOLD: u8 = 3;

    /// The number of shares, default applied.
    pub fn shares(&self) -> u8 {
        self.unseal_shares.unwrap_or(Self::DEFAULT_UNSEAL_SHARES)
    }

    /// The threshold, default applied.
    ///
    /// Without an explicit threshold: the default (3), but never more than the shares, so
    /// `{"unseal_shares": 2}` alone means a 2-of-2 quorum.
    pub fn threshold(&self) -> u8 {
        self.unseal_threshold
            .unwrap_or_else(|| Self::DEFAULT_UNSEAL_THRESHOLD.min(self.shares()))
    }
}

/// One entry of the top-level `mounts`: a mount every cluster starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountSpec {
    /// `path`, normalised to end with `/` (`secret/`).
    pub path: String,
    /// `local` (default false): a local mount is never replicated by performance replication.
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `heartbeat_interval` (default 5s): a Vault duration string or whole seconds; never zero.
    pub heartbeat_interval: Duration,
    /// `log_shipper_buffer` (default 16384): how many recent WAL entries a primary keeps; at least 1.
    pub log_shipper_buffer: usize,
    /// `forwarding_timeout` (an addition to the contract; default three heartbeat intervals): how long
    /// a performance secondary waits for the primary's answer to a forwarded write before it tells the
    /// client the outcome is unknown. Never zero.
    pub forwarding_timeout: Option<Duration>,
}

impl Config {
    /// Default of `heartbeat_interval`.
    pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
    /// Default of `log_shipper_buffer`.
    pub const DEFAULT_LOG_SHIPPER_BUFFER: usize = 16384;
}

impl Default for Config {
    fn default() -> Self {
        Config {
            heartbeat_interval: Self::DEFAULT_HEARTBEAT_INTERVAL,
            log_shipper_buffer: Self::DEFAULT_LOG_SHIPPER_BUFFER,
            forwarding_timeout: None,
        }
    }
}

/// One entry of `steps`: the action plus the keys every step may carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepSpec {
    /// 1-based position in `steps`, as reports and errors name it.
    pub index: usize,
    /// `note`: printed in the report.
    pub note: Option<String>,
    /// `settle` (default true): run the network to quiet after this step.
    pub settle: bool,
    /// What the step does.
    pub step: Step,
}

impl StepSpec {
    /// Step number `index` doing `step`, with the defaults of the common keys (no note, settled).
    pub fn new(index: usize, step: Step) -> StepSpec {
        StepSpec {
            index,
            note: None,
            settle: true,
            step,
        }
    }
}

/// A replication kind, as `kind` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `"dr"`: disaster-recovery replication.
    Dr,
    /// `"performance"`: performance replication.
    Performance,
}

impl Kind {
    /// The spelling used in scenario files and status (`dr`, `performance`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Dr => "dr",
            Kind::Performance => "performance",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caller's authority on a `call` step (`as`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Authority {
    /// `"sudo"` (the default): an authenticated caller with sudo.
    #[default]
    Sudo,
    /// `"token"`: an authenticated caller without sudo.
    Token,
    /// `"anonymous"`: no token at all.
    Anonymous,
}

impl Authority {
    /// The spelling used in scenario files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Authority::Sudo => "sudo",
            Authority::Token => "token",
            Authority::Anonymous => "anonymous",
        }
    }
}

/// Which HTTP status codes a `call` step accepts (`expect.status`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StatusExpect {
    /// No `status` given: any 2xx.
    #[default]
    Success,
    /// `"status": 204` or `"status": [204, 400]`: one of these codes (never empty).
    OneOf(Vec<u16>),
}

impl StatusExpect {
    /// Whether `code` satisfies this expectation.
    pub fn accepts(&self, code: u16) -> bool {
        match self {
            StatusExpect::Success => (200..300).contains(&code),
            StatusExpect::OneOf(codes) => codes.contains(&code),
        }
    }
}

/// The `expect` of a `call` step; the default (no `expect`) is "any 2xx, any body".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallExpect {
    /// `status`: accepted status codes.
    pub status: StatusExpect,
    /// `body`: the expected body, if any; may hold `${name}` references.
    pub body: Option<Value>,
}

/// The `expect` of a client step (`write`, `delete`, `read`, `mount`); without one, `Ok`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ClientExpect {
    /// `"ok"` (the default): the operation succeeds.
    #[default]
    Ok,
    /// `"error"`: the operation is refused.
    Error,
    /// `read` only, `{"value": V}`: the read succeeds and finds `V`; `{"value": null}` (here `None`):
    /// the read succeeds and finds no value at that path. `V` may hold `${name}` references.
    Value(Option<Value>),
    /// `read` only, `"missing"`: no value at that path, or no mount there; either passes.
    Missing,
    /// `"any"` (an addition to the contract, used by generated scenarios): any outcome passes.
    Any,
}

/// Network fault rates of a `faults` step, each a probability in `[0, 1]`.
///
/// `faults` is an addition to the contract (new verbs may be added): generated scenarios use it to
/// replay the message faults they ran with. `{"faults": "off"}` sets every rate to zero.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultRates {
    /// A message is lost.
    pub drop: f64,
    /// A message is delivered twice.
    pub duplicate: f64,
    /// A message overtakes the one before it on its link.
    pub reorder: f64,
    /// A message is held back until virtual time next moves.
    pub delay: f64,
}

impl Eq for FaultRates {}

/// What a step does: one variant per verb of the contract's step table.
///
/// Cluster names are checked against [`Scenario::clusters`] when the file is parsed. Paths, bodies,
/// values and expectations are as written, `${name}` references included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `{"call": "A", "method": "POST", "path": "sys/...", "body": {...}}`: an HTTP API request.
    Call {
        /// The cluster called.
        cluster: String,
        /// The HTTP method, upper-cased (`POST`, `GET`, `LIST`, ...).
        method: String,
        /// The request path as written: with or without a leading `/v1/` (see [`super::api_path`]).
        path: String,
        /// The request body; `None` when absent or `null`.
        body: Option<Value>,
        /// `as`: the caller's authority.
        as_: Authority,
        /// `expect`: accepted statuses and expected body.
        expect: CallExpect,
        /// `save`: variable name to dotted path in the response body (see [`super::dotted_get`]).
        save: BTreeMap<String, String>,
    },
    /// `{"write": "A", "path": "secret/app", "value": "v1"}`: a client write.
    Write {
        /// The cluster written to.
        cluster: String,
        /// The key path, as written.
        path: String,
        /// The value written (never `null`), as written.
        value: Value,
        /// `"ok"` or `"error"`.
        expect: ClientExpect,
    },
    /// `{"delete": "A", "path": "secret/app"}`: a client delete.
    Delete {
        /// The cluster deleted on.
        cluster: String,
        /// The key path, as written.
        path: String,
        /// `"ok"` or `"error"`.
        expect: ClientExpect,
    },
    /// `{"read": "B", "path": "secret/app"}`: a client read.
    Read {
        /// The cluster read from.
        cluster: String,
        /// The key path, as written.
        path: String,
        /// Any [`ClientExpect`].
        expect: ClientExpect,
    },
    /// `{"mount": "A", "path": "team/", "local": false}`: a client creates a mount.
    Mount {
        /// The cluster the mount is created on.
        cluster: String,
        /// The mount path, as written.
        path: String,
        /// `local` (default false).
        local: bool,
        /// `"ok"` or `"error"`.
        expect: ClientExpect,
    },
    /// `{"advance": "30s"}` (or whole seconds, `30`): virtual time passes.
    Advance(Duration),
    /// `{"partition": [["A"], ["B", "C"]]}`: from now on messages between groups are dropped.
    ///
    /// Groups are non-empty and disjoint. The contract says clusters not listed "form their own group";
    /// this crate reads that as one further group holding every unlisted cluster.
    Partition(Vec<Vec<String>>),
    /// `{"heal": true}`: remove every partition.
    Heal,
    /// `{"faults": {"drop": 0.05, ...}}` or `{"faults": "off"}`: message fault rates from now on (an
    /// addition to the contract).
    Faults(FaultRates),
    /// `{"crash": "A"}`: the cluster stops; in-flight messages are lost, persisted state kept.
    Crash(String),
    /// `{"restart": "A"}`: the cluster starts again from its persisted state.
    Restart(String),
    /// `{"corrupt_merkle": "B"}`: the cluster's Merkle index no longer matches its data.
    CorruptMerkle(String),
    /// `{"dr_operation_token": "B", "save": "drtok"}`: generate a DR operation token on DR secondary B
    /// with a quorum of its unseal shares and save the decoded token.
    DrOperationToken {
        /// The DR secondary.
        cluster: String,
        /// The variable the token is saved as.
        save: String,
    },
    /// `{"expect_status": "B", "kind": "dr", "matches": {...}}`: the status subset-matches `matches`.
    ExpectStatus {
        /// The cluster whose status is read.
        cluster: String,
        /// The kind; `None` matches the combined status `{"dr": ..., "performance": ...}`.
        kind: Option<Kind>,
        /// The expected fields, as written.
        matches: Value,
    },
    /// `{"expect_same_data": ["A", "B"], "kind": "performance"}`: the data each shipped for that kind
    /// is identical.
    ExpectSameData {
        /// Two or more distinct clusters.
        clusters: Vec<String>,
        /// The kind compared.
        kind: Kind,
    },
    /// `{"expect_losses": {"total": 2, "by_cause": {...}, "unknown": 1}}`: losses so far.
    ExpectLosses {
        /// `total`: every loss so far.
        total: u64,
        /// `by_cause`: the count of each listed cause (their sum never exceeds `total`).
        by_cause: BTreeMap<String, u64>,
        /// `unknown` (an addition to the contract): how many outcomes are unknown so far, as the
        /// report's `unknown outcomes` counts them; not checked when absent.
        unknown: Option<u64>,
    },
    /// `{"expect_hazards": ["multiple-primaries"]}`: the set of hazard kinds reported so far is exactly
    /// this. Kept in file order; never holds a kind twice.
    ExpectHazards(Vec<String>),
}

impl Step {
    /// The verb key of this step as written in files (`call`, `expect_status`, ...).
    pub const fn verb(&self) -> &'static str {
        match self {
            Step::Call { .. } => "call",
            Step::Write { .. } => "write",
            Step::Delete { .. } => "delete",
            Step::Read { .. } => "read",
            Step::Mount { .. } => "mount",
            Step::Advance(_) => "advance",
            Step::Partition(_) => "partition",
            Step::Heal => "heal",
            Step::Faults(_) => "faults",
            Step::Crash(_) => "crash",
            Step::Restart(_) => "restart",
            Step::CorruptMerkle(_) => "corrupt_merkle",
            Step::DrOperationToken { .. } => "dr_operation_token",
            Step::ExpectStatus { .. } => "expect_status",
            Step::ExpectSameData { .. } => "expect_same_data",
            Step::ExpectLosses { .. } => "expect_losses",
            Step::ExpectHazards(_) => "expect_hazards",
        }
    }

    /// The variable names this step saves once it has run (a `call`'s `save` keys, a
    /// `dr_operation_token`'s `save`).
    pub fn saves(&self) -> Vec<&str> {
        match self {
            Step::Call { save, .. } => save.keys().map(String::as_str).collect(),
            Step::DrOperationToken { save, .. } => vec![save.as_str()],
            _ => Vec::new(),
        }
    }
}
