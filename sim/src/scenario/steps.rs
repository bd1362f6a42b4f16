//! One entry of `steps`: its verb, its keys, and the `${name}` references it makes.

use super::error::ScenarioError;
use super::fields::{article, check_var_name, list, Ctx, Field, Obj};
use super::model::{
    Authority, CallExpect, ClientExpect, ClusterOptions, FaultRates, StatusExpect, Step, StepSpec,
};
use super::show_json;
use super::substitute::{placeholders, placeholders_in};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every verb key, in the order of the contract's step table.
pub const VERBS: [&str; 17] = [
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
];

/// Keys any step may carry besides its verb.
const COMMON_STEP_KEYS: [&str; 2] = ["note", "settle"];

/// The keys a step with `verb` takes besides the verb itself and [`COMMON_STEP_KEYS`].
fn verb_keys(verb: &str) -> &'static [&'static str] {
    match verb {
        "call" => &["method", "path", "body", "as", "expect", "save"],
        "write" => &["path", "value", "expect"],
        "delete" | "read" => &["path", "expect"],
        "mount" => &["path", "local", "expect"],
        "dr_operation_token" => &["save"],
        "expect_status" => &["kind", "matches"],
        "expect_same_data" => &["kind"],
        _ => &[],
    }
}

/// The keys a step with `verb` must carry besides the verb itself.
fn required_keys(verb: &str) -> &'static [&'static str] {
    match verb {
        "call" => &["method", "path"],
        "write" => &["path", "value"],
        "delete" | "read" | "mount" => &["path"],
        "dr_operation_token" => &["save"],
        "expect_status" => &["matches"],
        "expect_same_data" => &["kind"],
        _ => &[],
    }
}

pub(super) fn parse_step(
    ctx: Ctx<'_>,
    value: &Value,
    clusters: &BTreeMap<String, ClusterOptions>,
) -> Result<StepSpec, ScenarioError> {
    let Value::Object(map) = value else {
        return Err(ctx.err(
            None,
            format!(
                "expected an object with one verb key, got {}",
                show_json(value)
            ),
        ));
    };
    let obj = Obj {
        ctx,
        prefix: String::new(),
        map,
    };
    let verbs: Vec<&str> = VERBS
        .iter()
        .copied()
        .filter(|v| map.contains_key(*v))
        .collect();
    let verb = match verbs.as_slice() {
        [verb] => *verb,
        [] => {
            let known = |k: &&String| {
                COMMON_STEP_KEYS.contains(&k.as_str())
                    || VERBS.iter().any(|v| verb_keys(v).contains(&k.as_str()))
            };
            let message = format!("a step needs one verb key: {}", VERBS.join(", "));
            return Err(match map.keys().filter(|k| !known(k)).min() {
                Some(unknown) => ctx.err(Some(unknown), format!("unknown key; {message}")),
                None => ctx.err(None, format!("no verb key; {message}")),
            });
        }
        [first, second, ..] => {
            return Err(ctx.err(
                Some(second),
                format!("a step has exactly one verb key, and this one also has {first:?}"),
            ));
        }
    };
    let mut allowed: Vec<&str> = vec![verb];
    allowed.extend_from_slice(verb_keys(verb));
    allowed.extend_from_slice(&COMMON_STEP_KEYS);
    obj.only(&allowed, &format!("{} step", article(verb)))?;

    let note = obj
        .get("note")
        .map(|f| f.str().map(str::to_string))
        .transpose()?;
    let settle = obj
        .get("settle")
        .map(|f| f.bool())
        .transpose()?
        .unwrap_or(true);
    let step = StepParser {
        obj: &obj,
        verb,
        clusters,
    }
    .parse()?;
    Ok(StepSpec {
        index: ctx.step.unwrap_or(0),
        note,
        settle,
        step,
    })
}

/// Parses the verb-specific keys of one step.
struct StepParser<'o, 'a> {
    obj: &'o Obj<'a>,
    verb: &'static str,
    clusters: &'o BTreeMap<String, ClusterOptions>,
}

impl<'a> StepParser<'_, 'a> {
    /// The verb key's own value.
    fn head(&self) -> Field<'a> {
        Field {
            ctx: self.obj.ctx,
            key: self.verb.to_string(),
            value: self.obj.map.get(self.verb).unwrap_or(&Value::Null),
        }
    }

    fn cluster(&self) -> Result<String, ScenarioError> {
        self.head().cluster(self.clusters)
    }

    fn require(&self, key: &str) -> Result<Field<'a>, ScenarioError> {
        self.obj.require(
            key,
            &format!(
                "{} step needs {}",
                article(self.verb),
                list(required_keys(self.verb), "and")
            ),
        )
    }

    fn path(&self) -> Result<String, ScenarioError> {
        Ok(self.require("path")?.non_empty_str()?.to_string())
    }

    /// `{"faults": {"drop": p, "duplicate": p, "reorder": p, "delay": p}}` (each optional, in
    /// `[0, 1]`) or `{"faults": "off"}`.
    fn faults(&self) -> Result<FaultRates, ScenarioError> {
        let head = self.head();
        if head.value.as_str() == Some("off") {
            return Ok(FaultRates::default());
        }
        let obj = head.object(r#""off" or an object of rates like {"drop": 0.05}"#)?;
        obj.only(&["drop", "duplicate", "reorder", "delay"], "faults")?;
        let rate = |k: &str| -> Result<f64, ScenarioError> {
            match obj.get(k) {
                None => Ok(0.0),
                Some(f) => match f.value.as_f64() {
                    Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
                    _ => Err(f.expected("a probability between 0 and 1")),
                },
            }
        };
        Ok(FaultRates {
            drop: rate("drop")?,
            duplicate: rate("duplicate")?,
            reorder: rate("reorder")?,
            delay: rate("delay")?,
        })
    }

    fn client_expect(&self) -> Result<ClientExpect, ScenarioError> {
        let Some(f) = self.obj.get("expect") else {
            return Ok(ClientExpect::Ok);
        };
        let is_read = self.verb == "read";
        let forms = if is_read {
            r#""ok", "error", "missing" or {"value": ...}"#
        } else {
            r#""ok" or "error""#
        };
        match f.value {
            Value::String(s) if s == "ok" => Ok(ClientExpect::Ok),
            Value::String(s) if s == "error" => Ok(ClientExpect::Error),
            Value::String(s) if s == "missing" && is_read => Ok(ClientExpect::Missing),
            Value::String(s) if s == "any" => Ok(ClientExpect::Any),
            Value::Object(_) if is_read => {
                let obj = f.object(forms)?;
                obj.only(&["value"], "expect of a read step")?;
                let value = obj.require("value", "{\"value\": null} expects no value")?;
                Ok(ClientExpect::Value(match value.value {
                    Value::Null => None,
                    v => Some(v.clone()),
                }))
            }
            _ => Err(f.expected(forms)),
        }
    }

    fn parse(&self) -> Result<Step, ScenarioError> {
        let obj = self.obj;
        Ok(match self.verb {
            "call" => {
                let cluster = self.cluster()?;
                let method_field = self.require("method")?;
                let method = method_field.non_empty_str()?;
                if !method.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(method_field.expected("an HTTP method such as \"POST\""));
                }
                let path = self.path()?;
                let body = obj
                    .get("body")
                    .map(|f| f.value.clone())
                    .filter(|v| !v.is_null());
                let as_ = match obj.get("as") {
                    None => Authority::Sudo,
                    Some(f) => match f.choice(&["sudo", "token", "anonymous"])? {
                        "sudo" => Authority::Sudo,
                        "token" => Authority::Token,
                        _ => Authority::Anonymous,
                    },
                };
                let expect = obj
                    .get("expect")
                    .map(|f| call_expect(&f))
                    .transpose()?
                    .unwrap_or_default();
                let mut save = BTreeMap::new();
                if let Some(f) = obj.get("save") {
                    let saves = f.object(
                        r#"an object of names to dotted paths, like {"tok": "wrap_info.token"}"#,
                    )?;
                    for (name, path) in saves.map {
                        let entry = f.child(name, path);
                        check_var_name(name).map_err(|m| entry.err(m))?;
                        save.insert(name.clone(), entry.str()?.to_string());
                    }
                }
                Step::Call {
                    cluster,
                    method: method.to_ascii_uppercase(),
                    path,
                    body,
                    as_,
                    expect,
                    save,
                }
            }
            "write" => {
                let cluster = self.cluster()?;
                let path = self.path()?;
                let value_field = self.require("value")?;
                if value_field.value.is_null() {
                    return Err(
                        value_field.err("a write needs a value; to remove one use a delete step")
                    );
                }
                Step::Write {
                    cluster,
                    path,
                    value: value_field.value.clone(),
                    expect: self.client_expect()?,
                }
            }
            "delete" => Step::Delete {
                cluster: self.cluster()?,
                path: self.path()?,
                expect: self.client_expect()?,
            },
            "read" => Step::Read {
                cluster: self.cluster()?,
                path: self.path()?,
                expect: self.client_expect()?,
            },
            "mount" => Step::Mount {
                cluster: self.cluster()?,
                path: self.path()?,
                local: obj
                    .get("local")
                    .map(|f| f.bool())
                    .transpose()?
                    .unwrap_or(false),
                expect: self.client_expect()?,
            },
            "advance" => Step::Advance(self.head().duration()?),
            "partition" => self.partition()?,
            "heal" => match self.head().value {
                Value::Bool(true) => Step::Heal,
                _ => return Err(self.head().expected("true")),
            },
            "faults" => Step::Faults(self.faults()?),
            "crash" => Step::Crash(self.cluster()?),
            "restart" => Step::Restart(self.cluster()?),
            "corrupt_merkle" => Step::CorruptMerkle(self.cluster()?),
            "dr_operation_token" => Step::DrOperationToken {
                cluster: self.cluster()?,
                save: self.require("save")?.var_name()?,
            },
            "expect_status" => Step::ExpectStatus {
                cluster: self.cluster()?,
                kind: obj.get("kind").map(|f| f.kind()).transpose()?,
                matches: self.require("matches")?.value.clone(),
            },
            "expect_same_data" => {
                let head = self.head();
                let mut clusters: Vec<String> = Vec::new();
                for item in head.items()? {
                    let name = item.cluster(self.clusters)?;
                    if clusters.contains(&name) {
                        return Err(item.err(format!("cluster {name:?} is listed twice")));
                    }
                    clusters.push(name);
                }
                if clusters.len() < 2 {
                    return Err(head.expected("two or more cluster names"));
                }
                Step::ExpectSameData {
                    clusters,
                    kind: self.require("kind")?.kind()?,
                }
            }
            "expect_losses" => self.losses()?,
            "expect_hazards" => {
                let mut hazards: Vec<String> = Vec::new();
                for item in self.head().items()? {
                    let hazard = item.non_empty_str()?.to_string();
                    if hazards.contains(&hazard) {
                        return Err(item.err(format!(
                            "hazard {hazard:?} is listed twice (the expectation is a set)"
                        )));
                    }
                    hazards.push(hazard);
                }
                Step::ExpectHazards(hazards)
            }
            other => {
                return Err(self
                    .obj
                    .ctx
                    .err(Some(other), "internal error: verb without a parser"))
            }
        })
    }

    fn partition(&self) -> Result<Step, ScenarioError> {
        let head = self.head();
        let shape = r#"a list of groups of cluster names, like [["A"], ["B", "C"]]"#;
        let groups_fields = head.items().map_err(|_| head.expected(shape))?;
        if groups_fields.is_empty() {
            return Err(head
                .err(r#"expected at least one group (to remove partitions use {"heal": true})"#));
        }
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut groups = Vec::new();
        for group_field in groups_fields {
            let members = group_field.items().map_err(|_| head.expected(shape))?;
            if members.is_empty() {
                return Err(group_field.err("a group must name at least one cluster"));
            }
            let mut group = Vec::new();
            for member in members {
                let name = member.cluster(self.clusters)?;
                if !seen.insert(name.clone()) {
                    return Err(member.err(format!("cluster {name:?} is in more than one group")));
                }
                group.push(name);
            }
            groups.push(group);
        }
        Ok(Step::Partition(groups))
    }

    fn losses(&self) -> Result<Step, ScenarioError> {
        let head = self.head();
        let obj =
            head.object(r#"an object like {"total": 0} or {"total": 2, "by_cause": {...}}"#)?;
        obj.only(&["total", "by_cause", "unknown"], "expect_losses")?;
        let total = obj
            .require("total", "expect_losses needs the total number of losses")?
            .u64()?;
        let mut by_cause = BTreeMap::new();
        if let Some(f) = obj.get("by_cause") {
            let causes =
                f.object(r#"an object of causes to counts, like {"wiped-by-enable": 1}"#)?;
            let mut sum: u64 = 0;
            for (cause, count) in causes.map {
                let entry = f.child(cause, count);
                if cause.is_empty() {
                    return Err(entry.err("a cause must not be empty"));
                }
                let n = entry.u64()?;
                sum = sum.saturating_add(n);
                by_cause.insert(cause.clone(), n);
            }
            if sum > total {
                return Err(f.err(format!(
                    "the causes add up to {sum}, more than the total of {total}"
                )));
            }
        }
        let unknown = obj.get("unknown").map(|f| f.u64()).transpose()?;
        Ok(Step::ExpectLosses {
            total,
            by_cause,
            unknown,
        })
    }
}

/// The `expect` of a `call` step.
fn call_expect(field: &Field<'_>) -> Result<CallExpect, ScenarioError> {
    let obj =
        field.object(r#"an object such as {"status": 204} or {"status": 200, "body": {...}}"#)?;
    obj.only(&["status", "body"], "expect of a call step")?;
    let status = match obj.get("status") {
        None => StatusExpect::Success,
        Some(f) => {
            let code = |f: &Field<'_>| match f.value.as_u64() {
                Some(n @ 100..=599) => Ok(n as u16),
                _ => Err(f.expected("an HTTP status code (100 to 599)")),
            };
            match f.value {
                Value::Array(_) => {
                    let codes = f
                        .items()?
                        .iter()
                        .map(code)
                        .collect::<Result<Vec<u16>, _>>()?;
                    if codes.is_empty() {
                        return Err(f.expected("a status code or a non-empty list of them"));
                    }
                    StatusExpect::OneOf(codes)
                }
                _ => StatusExpect::OneOf(vec![code(&f)?]),
            }
        }
    };
    Ok(CallExpect {
        status,
        body: obj.get("body").map(|f| f.value.clone()),
    })
}

/// A string or JSON value of a step that is substituted at run time.
enum Template<'a> {
    Text(&'a str),
    Json(&'a Value),
}

/// Every substituted part of `step`, with the key it sits at.
fn templates(step: &Step) -> Vec<(&'static str, Template<'_>)> {
    use Template::{Json, Text};
    let mut out = Vec::new();
    match step {
        Step::Call {
            path, body, expect, ..
        } => {
            out.push(("path", Text(path.as_str())));
            if let Some(body) = body {
                out.push(("body", Json(body)));
            }
            if let Some(body) = &expect.body {
                out.push(("expect.body", Json(body)));
            }
        }
        Step::Write { path, value, .. } => {
            out.push(("path", Text(path.as_str())));
            out.push(("value", Json(value)));
        }
        Step::Read { path, expect, .. } => {
            out.push(("path", Text(path.as_str())));
            if let ClientExpect::Value(Some(v)) = expect {
                out.push(("expect.value", Json(v)));
            }
        }
        Step::Delete { path, .. } | Step::Mount { path, .. } => {
            out.push(("path", Text(path.as_str())));
        }
        Step::ExpectStatus { matches, .. } => out.push(("matches", Json(matches))),
        _ => {}
    }
    out
}

/// Whether `name` is a reference the runner resolves itself: `CLUSTER.unseal_keys.N`.
fn is_builtin(name: &str, clusters: &BTreeMap<String, ClusterOptions>) -> bool {
    let mut parts = name.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(cluster), Some("unseal_keys"), Some(index), None) => {
            clusters.contains_key(cluster)
                && !index.is_empty()
                && index.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// Every `${name}` of `step` is well formed and names a variable some earlier step saves (`defined`) or a
/// cluster's unseal share.
pub(super) fn check_references(
    ctx: Ctx<'_>,
    step: &Step,
    clusters: &BTreeMap<String, ClusterOptions>,
    defined: &BTreeSet<String>,
) -> Result<(), ScenarioError> {
    for (key, template) in templates(step) {
        let names = match template {
            Template::Text(s) => placeholders(s),
            Template::Json(v) => placeholders_in(v),
        }
        .map_err(|e| ctx.err(Some(key), e.to_string()))?;
        for name in names {
            if defined.contains(name) || is_builtin(name, clusters) {
                continue;
            }
            let saved: Vec<&str> = defined.iter().map(String::as_str).collect();
            let saved = if saved.is_empty() {
                "no earlier step saves anything".to_string()
            } else {
                format!("saved so far: {}", saved.join(", "))
            };
            let first = name.split('.').next().unwrap_or(name);
            let hint = if clusters.contains_key(first) {
                format!("; a cluster's unseal shares are written ${{{first}.unseal_keys.0}}")
            } else {
                String::new()
            };
            return Err(ctx.err(
                Some(key),
                format!("${{{name}}} is not saved by any earlier step ({saved}){hint}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_has_a_parser_and_known_keys() {
        let clusters: BTreeMap<String, ClusterOptions> =
            [("A".to_string(), ClusterOptions::default())].into();
        let filled = |verb: &str| -> serde_json::Value {
            match verb {
                "call" => serde_json::json!({"call": "A", "method": "GET", "path": "sys/x"}),
                "write" => serde_json::json!({"write": "A", "path": "secret/x", "value": 1}),
                "delete" | "read" => serde_json::json!({verb: "A", "path": "secret/x"}),
                "mount" => serde_json::json!({"mount": "A", "path": "team/"}),
                "advance" => serde_json::json!({"advance": "1s"}),
                "partition" => serde_json::json!({"partition": [["A"]]}),
                "heal" => serde_json::json!({"heal": true}),
                "faults" => serde_json::json!({"faults": {"drop": 0.1}}),
                "dr_operation_token" => serde_json::json!({"dr_operation_token": "A", "save": "t"}),
                "expect_status" => serde_json::json!({"expect_status": "A", "matches": {}}),
                "expect_same_data" => {
                    serde_json::json!({"expect_same_data": ["A", "A"], "kind": "dr"})
                }
                "expect_losses" => serde_json::json!({"expect_losses": {"total": 0}}),
                "expect_hazards" => serde_json::json!({"expect_hazards": []}),
                other => serde_json::json!({other: "A"}),
            }
        };
        for verb in VERBS {
            let ctx = Ctx {
                file: None,
                step: Some(1),
            };
            match parse_step(ctx, &filled(verb), &clusters) {
                Ok(spec) => assert_eq!(spec.step.verb(), verb),
                // A single cluster cannot be compared with itself.
                Err(e) => assert_eq!(verb, "expect_same_data", "{e}"),
            }
        }
    }

    #[test]
    fn builtin_references_are_cluster_unseal_shares() {
        let clusters: BTreeMap<String, ClusterOptions> =
            [("A".to_string(), ClusterOptions::default())].into();
        assert!(is_builtin("A.unseal_keys.0", &clusters));
        assert!(is_builtin("A.unseal_keys.12", &clusters));
        assert!(!is_builtin("B.unseal_keys.0", &clusters));
        assert!(!is_builtin("A.unseal_keys", &clusters));
        assert!(!is_builtin("A.unseal_keys.x", &clusters));
        assert!(!is_builtin("A.unseal_keys.0.1", &clusters));
        assert!(!is_builtin("A.root_token", &clusters));
    }
}
