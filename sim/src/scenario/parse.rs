//! From JSON text to a validated [`Scenario`], or a [`ScenarioError`] naming the file, the step and the key.
//!
//! The shapes are serde's: the top level and each step are read into the typed structs of
//! [`super::model`] through `serde_path_to_error`, which knows the key path of any failure. This module
//! turns serde's wording into the contract's ("unknown field `x`" becomes "unknown key; a write step
//! takes ...", `{got}` becomes the offending JSON) and dispatches each step on its verb key. What a
//! shape cannot say (a cluster is declared, groups are disjoint, a `${name}` was saved earlier) is
//! checked on the typed form by [`super::validate`]. Duplicate keys are refused while reading the text
//! ([`super::strict_json`]). Nothing here panics, whatever the input.

use super::de::{AsObject, GOT};
use super::error::ScenarioError;
use super::model::{CommonKeys, Scenario, ScenarioFile, StepSpec};
use super::steps::{
    Advance, Call, CorruptMerkle, Crash, Delete, Deliver, DrOperationToken, Drop, Duplicate,
    ExpectHazards, ExpectLosses, ExpectSameData, ExpectStatus, Faults, Heal, Mount, Partition,
    Read, Restart, Step, Tick, Write,
};
use super::{show_json, strict_json, validate};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::Path;

/// Every verb key, in the order of the contract's step table, then the additions (`faults`, then the
/// checker's `deliver`, `drop`, `duplicate` and `tick`).
pub const VERBS: [&str; 21] = [
    "call",
    "write",
    "delete",
    "read",
    "mount",
    "advance",
    "partition",
    "heal",
    "crash",
    "restart",
    "corrupt_merkle",
    "dr_operation_token",
    "expect_status",
    "expect_same_data",
    "expect_losses",
    "expect_hazards",
    "faults",
    "deliver",
    "drop",
    "duplicate",
    "tick",
];

/// Keys any step may carry besides its verb's.
const COMMON_STEP_KEYS: [&str; 2] = ["note", "settle"];

/// How the steps of one verb are read.
struct Verb {
    /// The verb key.
    name: &'static str,
    /// The keys a step of this verb must carry besides the verb (for messages; a test checks the list
    /// against the struct).
    required: &'static [&'static str],
    /// Reads the step's own keys (the common ones removed).
    read: fn(&Value) -> Result<Step, PathError>,
    /// Every key the verb's struct takes, verb first.
    keys: fn() -> &'static [&'static str],
}

type PathError = serde_path_to_error::Error<serde_json::Error>;

fn read_as<T: DeserializeOwned + Into<Step>>(v: &Value) -> Result<Step, PathError> {
    serde_path_to_error::deserialize::<_, T>(v).map(Into::into)
}

macro_rules! verbs {
    ($($name:literal => $ty:ident $required:expr),* $(,)?) => {
        [$(Verb {
            name: $name,
            required: $required,
            read: read_as::<$ty>,
            keys: super::de::struct_keys::<$ty>,
        }),*]
    };
}

/// One entry per verb, in [`VERBS`] order.
const VERB_TABLE: [Verb; 21] = verbs![
    "call" => Call &["method", "path"],
    "write" => Write &["path", "value"],
    "delete" => Delete &["path"],
    "read" => Read &["path"],
    "mount" => Mount &["path"],
    "advance" => Advance &[],
    "partition" => Partition &[],
    "heal" => Heal &[],
    "crash" => Crash &[],
    "restart" => Restart &[],
    "corrupt_merkle" => CorruptMerkle &[],
    "dr_operation_token" => DrOperationToken &["save"],
    "expect_status" => ExpectStatus &["matches"],
    "expect_same_data" => ExpectSameData &["kind"],
    "expect_losses" => ExpectLosses &[],
    "expect_hazards" => ExpectHazards &[],
    "faults" => Faults &[],
    "deliver" => Deliver &[],
    "drop" => Drop &[],
    "duplicate" => Duplicate &[],
    "tick" => Tick &[],
];

/// Reads and parses the scenario file at `path`; errors name the file as `path` displays.
pub fn parse_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::file_level(Some(&file), format!("cannot read the file: {e}"))
    })?;
    parse_str(&text, Some(&file))
}

/// Parses scenario JSON text. `file` names the source in errors and gives the default `name`.
///
/// ```
/// use replication_sim::scenario::{parse_str, Step};
/// let text = r#"{"name": "t", "clusters": {"A": {}}, "steps": [{"write": "A", "path": "secret/x", "value": "v1"}]}"#;
/// let scenario = parse_str(text, Some("t.json")).unwrap();
/// assert!(matches!(scenario.steps[0].step, Step::Write(_)));
///
/// let bad = r#"{"clusters": {"A": {}}, "steps": [{"write": "B", "path": "secret/x", "value": 1}]}"#;
/// let err = parse_str(bad, Some("t.json")).unwrap_err();
/// assert_eq!(err.to_string(), r#"t.json: step 1: key "write": unknown cluster "B" (clusters: A)"#);
/// ```
pub fn parse_str(text: &str, file: Option<&str>) -> Result<Scenario, ScenarioError> {
    let value = strict_json::from_str(text)
        .map_err(|e| ScenarioError::file_level(file, format!("not valid JSON: {e}")))?;
    parse_value(&value, file)
}

/// Validates an already-decoded JSON document (duplicate keys can no longer be seen here; use
/// [`parse_str`] for text).
pub fn parse_value(value: &Value, file: Option<&str>) -> Result<Scenario, ScenarioError> {
    let AsObject(top): AsObject<ScenarioFile> =
        serde_path_to_error::deserialize(value).map_err(|e| Where::top(file).error(value, e))?;
    validate::clusters(&top.clusters).map_err(|e| e.at(file, None))?;
    validate::mounts(&top.mounts).map_err(|e| e.at(file, None))?;

    let mut saved: BTreeSet<String> = BTreeSet::new();
    let mut steps = Vec::with_capacity(top.steps.len());
    for (i, item) in top.steps.iter().enumerate() {
        let index = i + 1;
        let spec = parse_step(item, index, file)?;
        validate::step(&spec.step, &top.clusters, &saved).map_err(|e| e.at(file, Some(index)))?;
        saved.extend(spec.step.saves().into_iter().map(str::to_string));
        steps.push(spec);
    }

    Ok(Scenario {
        name: top.name.unwrap_or_else(|| default_name(file)),
        description: top.description,
        seed: top.seed,
        clusters: top.clusters,
        mounts: top.mounts,
        config: top.config,
        steps,
    })
}

/// The name of a scenario whose file gives none: the file's stem, or `scenario`.
fn default_name(file: Option<&str>) -> String {
    file.and_then(|f| Path::new(f).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "scenario".to_string())
}

/// Step number `index` of the file: its verb picks the struct it is read into.
fn parse_step(value: &Value, index: usize, file: Option<&str>) -> Result<StepSpec, ScenarioError> {
    let at = |key: Option<&str>, message: String| ScenarioError {
        file: file.map(str::to_string),
        step: Some(index),
        key: key.map(str::to_string),
        message,
    };
    let Value::Object(map) = value else {
        return Err(at(
            None,
            format!(
                "expected an object with one verb key, got {}",
                show_json(value)
            ),
        ));
    };
    let present: Vec<&Verb> = VERB_TABLE
        .iter()
        .filter(|v| map.contains_key(v.name))
        .collect();
    let verb = match present.as_slice() {
        [verb] => *verb,
        [] => {
            let known = |k: &&String| {
                COMMON_STEP_KEYS.contains(&k.as_str())
                    || VERB_TABLE.iter().any(|v| (v.keys)().contains(&k.as_str()))
            };
            let message = format!("a step needs one verb key: {}", VERBS.join(", "));
            return Err(match map.keys().find(|k| !known(k)) {
                Some(unknown) => at(Some(unknown), format!("unknown key; {message}")),
                None => at(None, format!("no verb key; {message}")),
            });
        }
        [first, second, ..] => {
            return Err(at(
                Some(second.name),
                format!(
                    "a step has exactly one verb key, and this one also has {:?}",
                    first.name
                ),
            ));
        }
    };

    let (common, own): (Map<String, Value>, Map<String, Value>) = map
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, _)| COMMON_STEP_KEYS.contains(&k.as_str()));
    let place = Where {
        file,
        step: Some((index, verb)),
    };
    let common: CommonKeys = serde_path_to_error::deserialize(&Value::Object(common))
        .map_err(|e| place.error(value, e))?;
    let step = (verb.read)(&Value::Object(own)).map_err(|e| place.error(value, e))?;
    Ok(StepSpec {
        index,
        note: common.note,
        settle: common.settle,
        step,
    })
}

/// Where a serde error happened: the file and, inside `steps`, the step and its verb.
#[derive(Clone, Copy)]
struct Where<'a> {
    file: Option<&'a str>,
    step: Option<(usize, &'a Verb)>,
}

impl<'a> Where<'a> {
    fn top(file: Option<&'a str>) -> Self {
        Where { file, step: None }
    }

    /// `error`, read from `root` (the document or the step), in the contract's words.
    fn error(&self, root: &Value, error: PathError) -> ScenarioError {
        let mut path: Vec<String> = error
            .path()
            .iter()
            .map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => index.to_string(),
                serde_path_to_error::Segment::Map { key } => key.clone(),
                serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                serde_path_to_error::Segment::Unknown => "?".to_string(),
            })
            .collect();
        let raw = error.into_inner().to_string();
        let message = if let Some((key, allowed)) = unknown_field(&raw) {
            // The path ends at the unknown key or at the object holding it, depending on where serde
            // noticed; the key is named either way.
            if path.last().map(String::as_str) == Some(key.as_str()) {
                path.pop();
            }
            let (what, extra) = self.container(&path);
            path.push(key);
            format!("unknown key; {what} takes {}{extra}", allowed.join(", "))
        } else if let Some(key) = missing_field(&raw) {
            let why = self.missing_reason(&path);
            path.push(key);
            format!("missing; {why}")
        } else {
            let got = show_json(lookup(root, &path).unwrap_or(&Value::Null));
            match serde_wording(&raw) {
                Some(expected) => format!("expected {}, got {got}", plain_words(expected)),
                None => raw.replace(GOT, &got),
            }
        };
        ScenarioError {
            file: self.file.map(str::to_string),
            step: self.step.map(|(index, _)| index),
            key: (!path.is_empty()).then(|| path.join(".")),
            message,
        }
    }

    /// What the object at `path` is called in "unknown key; X takes ...", and the keys it takes that
    /// serde does not list (a step's common keys).
    fn container(&self, path: &[String]) -> (String, &'static str) {
        let parent: Vec<&str> = path.iter().map(String::as_str).collect();
        match (self.step, parent.as_slice()) {
            (None, []) => ("the top level".into(), ""),
            (None, ["clusters", _]) => ("a cluster's options".into(), ""),
            (None, ["mounts", _]) => ("a mount".into(), ""),
            (None, ["config"]) => ("config".into(), ""),
            (Some((_, verb)), []) => (format!("{} step", article(verb.name)), ", note, settle"),
            (Some((_, verb)), ["expect"]) => (format!("expect of a {} step", verb.name), ""),
            (_, [.., last]) => ((*last).to_string(), ""),
        }
    }

    /// Why a key missing from the object at `path` is needed.
    fn missing_reason(&self, path: &[String]) -> String {
        let parent: Vec<&str> = path.iter().map(String::as_str).collect();
        match (self.step, parent.as_slice()) {
            (None, []) => "a scenario needs it".into(),
            (None, ["mounts", _]) => "a mount needs a path such as \"secret/\"".into(),
            (Some((_, verb)), []) => format!(
                "{} step needs {}",
                article(verb.name),
                list(verb.required, "and")
            ),
            (Some((_, verb)), ["expect"]) if verb.name == "read" => {
                "{\"value\": null} expects no value".into()
            }
            (Some(_), ["expect_losses"]) => "expect_losses needs the total number of losses".into(),
            (_, [.., last]) => format!("{last} needs it"),
        }
    }
}

/// `unknown field `k`, expected one of `a`, `b`` (or `expected `a``, or `there are no fields`): the
/// key and the keys allowed.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let allowed = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key.to_string(), allowed))
}

/// `missing field `k``: the key.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split_once('`')?.0.to_string())
}

/// What serde's own "invalid type: X, expected Y" (or "invalid value", "invalid length") expected.
fn serde_wording(message: &str) -> Option<&str> {
    ["invalid type: ", "invalid value: ", "invalid length "]
        .iter()
        .any(|p| message.starts_with(p))
        .then(|| message.split_once(", expected ").map(|(_, want)| want))
        .flatten()
}

/// serde's names of JSON shapes in the words of the contract.
fn plain_words(expected: &str) -> String {
    match expected {
        "a map" => "an object".into(),
        "a sequence" => "an array".into(),
        "a boolean" => "true or false".into(),
        other => other.into(),
    }
}

/// The value at `path` inside `root`, if there is one.
fn lookup<'v>(root: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(root, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Quotes and joins names for messages: `"a", "b" or "c"` (with `conjunction` "or").
pub(super) fn list(names: &[&str], conjunction: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        None => "nothing".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

/// `verb` with its indefinite article: "a call", "an expect_status".
fn article(verb: &str) -> String {
    if verb.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {verb}")
    } else {
        format!("a {verb}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A valid step of each verb, every key filled.
    fn filled(verb: &str) -> Value {
        match verb {
            "call" => json!({"call": "A", "method": "GET", "path": "sys/x", "body": {},
                             "as": "token", "expect": {"status": 200}, "save": {"t": "data"}}),
            "write" => json!({"write": "A", "path": "secret/x", "value": 1, "expect": "error"}),
            "delete" => json!({"delete": "A", "path": "secret/x", "expect": "any"}),
            "read" => json!({"read": "A", "path": "secret/x", "expect": "missing"}),
            "mount" => json!({"mount": "A", "path": "team/", "local": true, "expect": "ok"}),
            "advance" => json!({"advance": "1s"}),
            "partition" => json!({"partition": [["A"]]}),
            "heal" => json!({"heal": true}),
            "faults" => json!({"faults": {"drop": 0.1}}),
            "deliver" | "drop" | "duplicate" => json!({ verb: {"from": "A", "to": "B"} }),
            "tick" => json!({"tick": "1s"}),
            "dr_operation_token" => json!({"dr_operation_token": "A", "save": "t"}),
            "expect_status" => json!({"expect_status": "A", "kind": "dr", "matches": {}}),
            "expect_same_data" => json!({"expect_same_data": ["A", "B"], "kind": "dr"}),
            "expect_losses" => json!({"expect_losses": {"total": 0}}),
            "expect_hazards" => json!({"expect_hazards": []}),
            other => json!({ other: "A" }),
        }
    }

    #[test]
    fn every_verb_is_read_into_its_own_struct() {
        for (verb, entry) in VERBS.iter().zip(&VERB_TABLE) {
            assert_eq!(*verb, entry.name, "VERB_TABLE follows VERBS");
            let spec = parse_step(&filled(verb), 1, None).unwrap();
            assert_eq!(spec.step.verb(), *verb);
            assert_eq!(
                (entry.keys)()[0],
                *verb,
                "the verb is its struct's first key"
            );
        }
    }

    /// The `required` lists in messages say exactly which keys serde refuses to do without.
    #[test]
    fn required_lists_match_the_structs() {
        for entry in &VERB_TABLE {
            let Value::Object(full) = filled(entry.name) else {
                unreachable!()
            };
            for key in full.keys().filter(|k| *k != entry.name) {
                let mut without = full.clone();
                without.remove(key);
                let refused = (entry.read)(&Value::Object(without)).is_err();
                assert_eq!(
                    refused,
                    entry.required.contains(&key.as_str()),
                    "{}: key {key}",
                    entry.name
                );
            }
        }
    }

    #[test]
    fn serde_messages_are_recognised() {
        assert_eq!(
            unknown_field("unknown field `valeu`, expected one of `write`, `path`"),
            Some(("valeu".into(), vec!["write".into(), "path".into()]))
        );
        assert_eq!(
            unknown_field("unknown field `x`, expected `value`"),
            Some(("x".into(), vec!["value".into()]))
        );
        assert_eq!(missing_field("missing field `kind`"), Some("kind".into()));
        assert_eq!(
            serde_wording("invalid type: map, expected a sequence"),
            Some("a sequence")
        );
        assert_eq!(serde_wording("expected true, got {got}"), None);
    }
}
