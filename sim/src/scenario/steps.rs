//! One struct per verb of the scenario contract, read and written with serde.
//!
//! Strings that may hold `${name}` references (request paths, bodies, written values, expectations)
//! are kept exactly as written: they are substituted at run time with [`super::Vars`], because saved
//! values only exist once earlier steps have run.

use super::de;
use replication_api::Caller;
use replication_core::{Duration, Kind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a step does: one variant per verb of the contract's step table, each holding its verb's
/// struct (the verb key is the struct's first field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Step {
    /// `{"call": "A", "method": "POST", "path": "sys/...", "body": {...}}`: an HTTP API request.
    Call(Call),
    /// `{"write": "A", "path": "secret/app", "value": "v1"}`: a client write.
    Write(Write),
    /// `{"delete": "A", "path": "secret/app"}`: a client delete.
    Delete(Delete),
    /// `{"read": "B", "path": "secret/app"}`: a client read.
    Read(Read),
    /// `{"mount": "A", "path": "team/", "local": false}`: a client creates a mount.
    Mount(Mount),
    /// `{"advance": "30s"}` (or whole seconds, `30`): virtual time passes.
    Advance(Advance),
    /// `{"partition": [["A"], ["B", "C"]]}`: from now on messages between groups are dropped.
    Partition(Partition),
    /// `{"heal": true}`: remove every partition.
    Heal(Heal),
    /// `{"faults": {"drop": 0.05, ...}}` or `{"faults": "off"}`: message fault rates from now on (an
    /// addition to the contract).
    Faults(Faults),
    /// `{"crash": "A"}`: the cluster stops; in-flight messages are lost, persisted state kept.
    Crash(Crash),
    /// `{"deliver": {"from": "A", "to": "B"}}`, `{"drop": ...}`, `{"duplicate": ...}`: the next
    /// in-flight message on that link is delivered, lost, or delivered and left in flight (an
    /// addition to the contract; what `check` writes its counterexamples with).
    Link(LinkStep),
    /// `{"tick": "2s"}`: virtual time passes with nothing delivered; clusters whose timers fall due
    /// tick (an addition to the contract).
    Tick(Tick),
    /// `{"restart": "A"}`: the cluster starts again from its persisted state.
    Restart(Restart),
    /// `{"corrupt_merkle": "B"}`: the cluster's Merkle index no longer matches its data.
    CorruptMerkle(CorruptMerkle),
    /// `{"dr_operation_token": "B", "save": "drtok"}`: generate a DR operation token on DR secondary B
    /// with a quorum of its unseal shares and save the decoded token.
    DrOperationToken(DrOperationToken),
    /// `{"expect_status": "B", "kind": "dr", "matches": {...}}`: the status subset-matches `matches`.
    ExpectStatus(ExpectStatus),
    /// `{"expect_same_data": ["A", "B"], "kind": "performance"}`: the data each shipped for that kind
    /// is identical.
    ExpectSameData(ExpectSameData),
    /// `{"expect_losses": {"total": 2, "by_cause": {...}, "unknown": 1}}`: losses so far.
    ExpectLosses(ExpectLosses),
    /// `{"expect_hazards": ["multiple-primaries"]}`: the set of hazard kinds reported so far is exactly
    /// this.
    ExpectHazards(ExpectHazards),
}

/// `call`: an HTTP API request to a cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// The cluster called.
    #[serde(rename = "call", deserialize_with = "de::cluster")]
    pub cluster: String,
    /// The HTTP method, upper-cased (`POST`, `GET`, `LIST`, ...).
    #[serde(deserialize_with = "de::method")]
    pub method: String,
    /// The request path as written: with or without a leading `/v1/` (see [`super::api_path`]).
    #[serde(deserialize_with = "de::non_empty")]
    pub path: String,
    /// The request body; `None` when absent or `null`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::body"
    )]
    pub body: Option<Value>,
    /// `as`: the caller's authority (default `sudo`).
    #[serde(
        rename = "as",
        default = "de::sudo",
        skip_serializing_if = "de::is_sudo",
        with = "de::caller"
    )]
    pub as_: Caller,
    /// `expect`: accepted statuses and expected body.
    #[serde(
        default,
        skip_serializing_if = "CallExpect::is_default",
        deserialize_with = "de::object"
    )]
    pub expect: CallExpect,
    /// `save`: variable name to dotted path in the response body (see [`super::dotted_get`]).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de::saves"
    )]
    pub save: BTreeMap<String, String>,
}

/// `write`: a client write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Write {
    /// The cluster written to.
    #[serde(rename = "write", deserialize_with = "de::cluster")]
    pub cluster: String,
    /// The key path, as written.
    #[serde(deserialize_with = "de::non_empty")]
    pub path: String,
    /// The value written (never `null`), as written.
    #[serde(deserialize_with = "de::written_value")]
    pub value: Value,
    /// `"ok"` (default), `"error"` or `"any"`.
    #[serde(default, skip_serializing_if = "ClientExpect::is_default")]
    pub expect: ClientExpect,
    /// `save`: variable name to dotted path in the answer's body. A read's body is
    /// `{"value": V}` (`null` when nothing is there); writes, deletes and mounts answer without one.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de::saves"
    )]
    pub save: BTreeMap<String, String>,
}

/// `delete`: a client delete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delete {
    /// The cluster deleted on.
    #[serde(rename = "delete", deserialize_with = "de::cluster")]
    pub cluster: String,
    /// The key path, as written.
    #[serde(deserialize_with = "de::non_empty")]
    pub path: String,
    /// `"ok"` (default), `"error"` or `"any"`.
    #[serde(default, skip_serializing_if = "ClientExpect::is_default")]
    pub expect: ClientExpect,
    /// `save`: variable name to dotted path in the answer's body. A read's body is
    /// `{"value": V}` (`null` when nothing is there); writes, deletes and mounts answer without one.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de::saves"
    )]
    pub save: BTreeMap<String, String>,
}

/// `read`: a client read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Read {
    /// The cluster read from.
    #[serde(rename = "read", deserialize_with = "de::cluster")]
    pub cluster: String,
    /// The key path, as written.
    #[serde(deserialize_with = "de::non_empty")]
    pub path: String,
    /// Any [`ReadExpect`].
    #[serde(default, skip_serializing_if = "ReadExpect::is_default")]
    pub expect: ReadExpect,
    /// `save`: variable name to dotted path in the answer's body. A read's body is
    /// `{"value": V}` (`null` when nothing is there); writes, deletes and mounts answer without one.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de::saves"
    )]
    pub save: BTreeMap<String, String>,
}

/// `mount`: a client creates a mount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// The cluster the mount is created on.
    #[serde(rename = "mount", deserialize_with = "de::cluster")]
    pub cluster: String,
    /// The mount path, as written.
    #[serde(deserialize_with = "de::non_empty")]
    pub path: String,
    /// `local` (default false).
    #[serde(
        default,
        skip_serializing_if = "std::ops::Not::not",
        deserialize_with = "de::boolean"
    )]
    pub local: bool,
    /// `"ok"` (default), `"error"` or `"any"`.
    #[serde(default, skip_serializing_if = "ClientExpect::is_default")]
    pub expect: ClientExpect,
    /// `save`: variable name to dotted path in the answer's body. A read's body is
    /// `{"value": V}` (`null` when nothing is there); writes, deletes and mounts answer without one.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de::saves"
    )]
    pub save: BTreeMap<String, String>,
}

/// `advance`: virtual time passes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// How long.
    #[serde(rename = "advance", with = "de::duration")]
    pub by: Duration,
}

/// `partition`: from now on messages between groups are dropped.
///
/// Groups are non-empty and disjoint. The contract says clusters not listed "form their own group";
/// this crate reads that as one further group holding every unlisted cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// The groups.
    #[serde(rename = "partition", deserialize_with = "de::groups")]
    pub groups: Vec<Vec<String>>,
}

/// `heal`: remove every partition (`{"heal": true}`). Built with `Heal::default()`: its one key is
/// always `true`, so a written step always reads back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heal {
    #[serde(rename = "heal", deserialize_with = "de::only_true")]
    heal: bool,
}

impl Default for Heal {
    fn default() -> Self {
        Heal { heal: true }
    }
}

/// `faults`: message fault rates from now on (an addition to the contract).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// The rates (`"off"`: all zero).
    #[serde(rename = "faults", with = "de::fault_rates")]
    pub rates: FaultRates,
}

/// `crash`: the cluster stops; in-flight messages are lost, persisted state kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crash {
    /// The cluster.
    #[serde(rename = "crash", deserialize_with = "de::cluster")]
    pub cluster: String,
}

/// `deliver`, `drop` or `duplicate`: one move on one link of the network. Links are FIFO, so "the
/// next message" is the oldest one `from` sent `to` that is still in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LinkStep {
    /// What happens to the message.
    pub what: crate::world::LinkMove,
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
}

impl LinkStep {
    /// A step doing `what` on the link `from -> to`.
    pub fn new(what: crate::world::LinkMove, from: &str, to: &str) -> LinkStep {
        LinkStep {
            what,
            from: from.to_string(),
            to: to.to_string(),
        }
    }

    /// The verb key: `deliver`, `drop` or `duplicate`.
    pub const fn verb(&self) -> &'static str {
        match self.what {
            crate::world::LinkMove::Deliver => "deliver",
            crate::world::LinkMove::Drop => "drop",
            crate::world::LinkMove::Duplicate => "duplicate",
        }
    }
}

/// Written as the file has it: `{"deliver": {"from": "A", "to": "B"}}`.
impl Serialize for LinkStep {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(
            self.verb(),
            &BTreeMap::from([("from", &self.from), ("to", &self.to)]),
        )?;
        m.end()
    }
}

macro_rules! link_verb {
    ($($(#[$doc:meta])* $name:ident $key:literal => $what:ident),*) => {
        $(
            $(#[$doc])*
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            pub(super) struct $name {
                #[serde(rename = $key, deserialize_with = "de::link")]
                link: (String, String),
            }

            impl From<$name> for Step {
                fn from(s: $name) -> Step {
                    Step::Link(LinkStep {
                        what: crate::world::LinkMove::$what,
                        from: s.link.0,
                        to: s.link.1,
                    })
                }
            }
        )*
    };
}

link_verb!(
    /// How a `deliver` step is read.
    Deliver "deliver" => Deliver,
    /// How a `drop` step is read.
    Drop "drop" => Drop,
    /// How a `duplicate` step is read.
    Duplicate "duplicate" => Duplicate
);

/// `tick`: virtual time passes with nothing delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    /// How long.
    #[serde(rename = "tick", with = "de::duration")]
    pub by: Duration,
}

/// `restart`: the cluster starts again from its persisted state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    /// The cluster.
    #[serde(rename = "restart", deserialize_with = "de::cluster")]
    pub cluster: String,
}

/// `corrupt_merkle`: the cluster's Merkle index no longer matches its data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorruptMerkle {
    /// The cluster.
    #[serde(rename = "corrupt_merkle", deserialize_with = "de::cluster")]
    pub cluster: String,
}

/// `dr_operation_token`: a DR operation token generated on a DR secondary with a quorum of its unseal
/// shares, saved decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrOperationToken {
    /// The DR secondary.
    #[serde(rename = "dr_operation_token", deserialize_with = "de::cluster")]
    pub cluster: String,
    /// The variable the token is saved as.
    #[serde(deserialize_with = "de::var_name")]
    pub save: String,
}

/// `expect_status`: the status subset-matches `matches`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectStatus {
    /// The cluster whose status is read.
    #[serde(rename = "expect_status", deserialize_with = "de::cluster")]
    pub cluster: String,
    /// The kind; `None` matches the combined status `{"dr": ..., "performance": ...}`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "de::some_kind"
    )]
    pub kind: Option<Kind>,
    /// The expected fields, as written.
    pub matches: Value,
}

/// `expect_same_data`: the data each named cluster shipped for that kind is identical.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSameData {
    /// Two or more distinct clusters.
    #[serde(rename = "expect_same_data", deserialize_with = "de::cluster_list")]
    pub clusters: Vec<String>,
    /// The kind compared.
    #[serde(with = "de::kind")]
    pub kind: Kind,
}

/// `expect_losses`: losses so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectLosses {
    /// The expected counts.
    #[serde(rename = "expect_losses", deserialize_with = "de::object")]
    pub losses: LossCounts,
}

/// The counts `expect_losses` checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossCounts {
    /// `total`: every loss so far.
    #[serde(deserialize_with = "de::count")]
    pub total: u64,
    /// `by_cause`: the count of each listed cause (their sum never exceeds `total`).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de::causes"
    )]
    pub by_cause: BTreeMap<String, u64>,
    /// `unknown` (an addition to the contract): how many outcomes are unknown so far, as the report's
    /// `unknown outcomes` counts them; not checked when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::some_count"
    )]
    pub unknown: Option<u64>,
}

/// `expect_hazards`: the set of hazard kinds reported so far is exactly this (file order kept, never
/// a kind twice).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectHazards {
    /// The hazard kinds.
    #[serde(rename = "expect_hazards", deserialize_with = "de::hazards")]
    pub hazards: Vec<String>,
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

    fn is_success(&self) -> bool {
        *self == StatusExpect::Success
    }
}

/// The `expect` of a `call` step; the default (no `expect`) is "any 2xx, any body".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallExpect {
    /// `status`: accepted status codes.
    #[serde(
        default,
        skip_serializing_if = "StatusExpect::is_success",
        with = "de::status"
    )]
    pub status: StatusExpect,
    /// `body`: the expected body, if any; may hold `${name}` references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl CallExpect {
    fn is_default(&self) -> bool {
        *self == CallExpect::default()
    }
}

/// The `expect` of a `write`, `delete` or `mount` step; without one, `Ok`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ClientExpect {
    /// `"ok"` (the default): the operation succeeds.
    #[default]
    Ok,
    /// `"error"`: the operation is refused (or answered "outcome unknown").
    Error,
    /// `"any"` (an addition to the contract, used by generated scenarios): any outcome passes.
    Any,
}

impl ClientExpect {
    fn is_default(&self) -> bool {
        *self == ClientExpect::Ok
    }
}

/// The `expect` of a `read` step; without one, `Ok`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ReadExpect {
    /// `"ok"` (the default): the read succeeds, whatever it finds.
    #[default]
    Ok,
    /// `"error"`: the read is refused.
    Error,
    /// `{"value": V}`: the read succeeds and finds `V`; `{"value": null}` (here `None`): the read
    /// succeeds and finds no value at that path. `V` may hold `${name}` references.
    Value(Option<Value>),
    /// `"missing"`: no value at that path, or no mount there; either passes.
    Missing,
    /// `"any"` (an addition to the contract): any outcome passes.
    Any,
}

impl ReadExpect {
    fn is_default(&self) -> bool {
        *self == ReadExpect::Ok
    }
}

/// Network fault rates of a `faults` step, each a probability in `[0, 1]`.
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

impl Step {
    /// The verb key of this step as written in files (`call`, `expect_status`, ...).
    pub const fn verb(&self) -> &'static str {
        match self {
            Step::Call(_) => "call",
            Step::Write(_) => "write",
            Step::Delete(_) => "delete",
            Step::Read(_) => "read",
            Step::Mount(_) => "mount",
            Step::Advance(_) => "advance",
            Step::Partition(_) => "partition",
            Step::Heal(_) => "heal",
            Step::Faults(_) => "faults",
            Step::Crash(_) => "crash",
            Step::Link(l) => l.verb(),
            Step::Tick(_) => "tick",
            Step::Restart(_) => "restart",
            Step::CorruptMerkle(_) => "corrupt_merkle",
            Step::DrOperationToken(_) => "dr_operation_token",
            Step::ExpectStatus(_) => "expect_status",
            Step::ExpectSameData(_) => "expect_same_data",
            Step::ExpectLosses(_) => "expect_losses",
            Step::ExpectHazards(_) => "expect_hazards",
        }
    }

    /// The one cluster this step acts on or reads (every verb naming a single cluster); `None` for
    /// the verbs that name none or several.
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Step::Call(Call { cluster, .. })
            | Step::Write(Write { cluster, .. })
            | Step::Delete(Delete { cluster, .. })
            | Step::Read(Read { cluster, .. })
            | Step::Mount(Mount { cluster, .. })
            | Step::Crash(Crash { cluster })
            | Step::Restart(Restart { cluster })
            | Step::CorruptMerkle(CorruptMerkle { cluster })
            | Step::DrOperationToken(DrOperationToken { cluster, .. })
            | Step::ExpectStatus(ExpectStatus { cluster, .. }) => Some(cluster),
            Step::Advance(_)
            | Step::Link(_)
            | Step::Tick(_)
            | Step::Partition(_)
            | Step::Heal(_)
            | Step::Faults(_)
            | Step::ExpectSameData(_)
            | Step::ExpectLosses(_)
            | Step::ExpectHazards(_) => None,
        }
    }

    /// The variable names this step saves once it has run (the `save` keys of a request or client
    /// step, a `dr_operation_token`'s `save`).
    pub fn saves(&self) -> Vec<&str> {
        match self {
            Step::Call(Call { save, .. })
            | Step::Write(Write { save, .. })
            | Step::Delete(Delete { save, .. })
            | Step::Read(Read { save, .. })
            | Step::Mount(Mount { save, .. }) => save.keys().map(String::as_str).collect(),
            Step::DrOperationToken(d) => vec![d.save.as_str()],
            _ => Vec::new(),
        }
    }
}

impl de::Object for CallExpect {
    const SHAPE: &'static str =
        r#"an object such as {"status": 204} or {"status": 200, "body": {...}}"#;
}

impl de::Object for LossCounts {
    const SHAPE: &'static str = r#"an object like {"total": 0} or {"total": 2, "by_cause": {...}}"#;
}

macro_rules! into_step {
    ($($verb:ident),*) => {
        $(impl From<$verb> for Step {
            fn from(s: $verb) -> Step {
                Step::$verb(s)
            }
        })*
    };
}

into_step!(
    Call,
    Write,
    Delete,
    Read,
    Mount,
    Advance,
    Partition,
    Heal,
    Faults,
    Crash,
    Tick,
    Restart,
    CorruptMerkle,
    DrOperationToken,
    ExpectStatus,
    ExpectSameData,
    ExpectLosses,
    ExpectHazards
);
