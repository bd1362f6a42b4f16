//! Typed access to JSON values at known key paths, with errors that name the key.

use super::error::ScenarioError;
use super::model::{ClusterOptions, Kind};
use super::show_json;
use replication_core::time::Duration;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where the value being checked sits: the file and, inside `steps`, the step.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub(super) file: Option<&'a str>,
    pub(super) step: Option<usize>,
}

impl Ctx<'_> {
    /// An error here, at `key` when given.
    pub(super) fn err(&self, key: Option<&str>, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.map(str::to_string),
            step: self.step,
            key: key.map(str::to_string),
            message: message.into(),
        }
    }
}

/// The dotted key path of `key` inside `prefix` (`expect` + `status` = `expect.status`).
pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
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
pub(super) fn article(verb: &str) -> String {
    if verb.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {verb}")
    } else {
        format!("a {verb}")
    }
}

/// One value at a known key path.
#[derive(Clone)]
pub(super) struct Field<'a> {
    pub(super) ctx: Ctx<'a>,
    pub(super) key: String,
    pub(super) value: &'a Value,
}

impl<'a> Field<'a> {
    /// An error at this key.
    pub(super) fn err(&self, message: impl Into<String>) -> ScenarioError {
        self.ctx.err(Some(&self.key), message)
    }

    /// "expected WHAT, got VALUE" at this key.
    pub(super) fn expected(&self, what: &str) -> ScenarioError {
        self.err(format!("expected {what}, got {}", show_json(self.value)))
    }

    /// The value `value` found at `key` inside this one.
    pub(super) fn child(&self, key: &str, value: &'a Value) -> Field<'a> {
        Field {
            ctx: self.ctx,
            key: join(&self.key, key),
            value,
        }
    }

    /// A string.
    pub(super) fn str(&self) -> Result<&'a str, ScenarioError> {
        self.value.as_str().ok_or_else(|| self.expected("a string"))
    }

    /// A non-empty string.
    pub(super) fn non_empty_str(&self) -> Result<&'a str, ScenarioError> {
        match self.value.as_str() {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.expected("a non-empty string")),
        }
    }

    /// `true` or `false`.
    pub(super) fn bool(&self) -> Result<bool, ScenarioError> {
        self.value
            .as_bool()
            .ok_or_else(|| self.expected("true or false"))
    }

    /// A non-negative integer.
    pub(super) fn u64(&self) -> Result<u64, ScenarioError> {
        self.value
            .as_u64()
            .ok_or_else(|| self.expected("a non-negative integer"))
    }

    /// An array.
    pub(super) fn array(&self) -> Result<&'a Vec<Value>, ScenarioError> {
        self.value
            .as_array()
            .ok_or_else(|| self.expected("an array"))
    }

    /// The items of an array, each as a field keyed by its index.
    pub(super) fn items(&self) -> Result<Vec<Field<'a>>, ScenarioError> {
        Ok(self
            .array()?
            .iter()
            .enumerate()
            .map(|(i, v)| self.child(&i.to_string(), v))
            .collect())
    }

    /// An object; `what` describes the expected object in the error.
    pub(super) fn object(&self, what: &str) -> Result<Obj<'a>, ScenarioError> {
        match self.value {
            Value::Object(map) => Ok(Obj {
                ctx: self.ctx,
                prefix: self.key.clone(),
                map,
            }),
            _ => Err(self.expected(what)),
        }
    }

    /// A Vault duration string (`"30s"`, `"1h30m"`) or whole seconds.
    pub(super) fn duration(&self) -> Result<Duration, ScenarioError> {
        match self.value {
            Value::String(s) => Duration::parse(s).map_err(|e| self.err(e.to_string())),
            Value::Number(n) => n
                .as_u64()
                .and_then(|secs| secs.checked_mul(1000))
                .map(Duration::from_millis)
                .ok_or_else(|| self.expected("a duration such as \"30s\" or whole seconds")),
            _ => Err(self.expected("a duration such as \"30s\" or whole seconds")),
        }
    }

    /// One of `choices` (a string).
    pub(super) fn choice(&self, choices: &[&str]) -> Result<&'a str, ScenarioError> {
        match self.value.as_str() {
            Some(s) if choices.contains(&s) => Ok(s),
            _ => Err(self.expected(&list(choices, "or"))),
        }
    }

    /// `"dr"` or `"performance"`.
    pub(super) fn kind(&self) -> Result<Kind, ScenarioError> {
        Ok(match self.choice(&["dr", "performance"])? {
            "dr" => Kind::Dr,
            _ => Kind::Performance,
        })
    }

    /// The name of a declared cluster.
    pub(super) fn cluster(
        &self,
        clusters: &BTreeMap<String, ClusterOptions>,
    ) -> Result<String, ScenarioError> {
        let name = self
            .value
            .as_str()
            .ok_or_else(|| self.expected("a cluster name"))?;
        if clusters.contains_key(name) {
            Ok(name.to_string())
        } else {
            let known: Vec<&str> = clusters.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "none are declared".to_string()
            } else {
                known.join(", ")
            };
            Err(self.err(format!("unknown cluster {name:?} (clusters: {known})")))
        }
    }

    /// A variable name for `save`.
    pub(super) fn var_name(&self) -> Result<String, ScenarioError> {
        let name = self.non_empty_str()?;
        check_var_name(name).map_err(|m| self.err(m))?;
        Ok(name.to_string())
    }
}

/// A JSON object at a known key path.
pub(super) struct Obj<'a> {
    pub(super) ctx: Ctx<'a>,
    pub(super) prefix: String,
    pub(super) map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// Refuses the first (in sorted order) key not in `allowed`; `what` names the object in the message.
    pub(super) fn only(&self, allowed: &[&str], what: &str) -> Result<(), ScenarioError> {
        let unknown = self
            .map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .min();
        match unknown {
            None => Ok(()),
            Some(key) => Err(self.ctx.err(
                Some(&join(&self.prefix, key)),
                format!("unknown key; {what} takes {}", allowed.join(", ")),
            )),
        }
    }

    /// `key`, when present.
    pub(super) fn get(&self, key: &str) -> Option<Field<'a>> {
        self.map.get(key).map(|value| Field {
            ctx: self.ctx,
            key: join(&self.prefix, key),
            value,
        })
    }

    /// `key`, which must be present; `why` ends the message when it is not.
    pub(super) fn require(&self, key: &str, why: &str) -> Result<Field<'a>, ScenarioError> {
        self.get(key).ok_or_else(|| {
            self.ctx
                .err(Some(&join(&self.prefix, key)), format!("missing; {why}"))
        })
    }
}

/// A name `save` may define: letters, digits, `_` and `-`.
pub(super) fn check_var_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(())
    } else {
        Err(format!(
            "invalid variable name {name:?}: use letters, digits, \"_\" and \"-\" (a \".\" would read as a path)"
        ))
    }
}
