//! Request parameters, read with Vault's lenient typing.
//!
//! A [`Params`] holds the named values of one request: the fields of a JSON body object, the pairs of a
//! query string, or both (see [Sources](#sources)). Typed getters then read a value the way Vault's
//! `framework.FieldData` does (weak decoding through `mapstructure` and `parseutil`), so that what a
//! real Vault accepts is accepted here:
//!
//! (the unit test `getters_read_values_the_way_vault_does` shows each getter).
//!
//! # Sources
//!
//! Vault's HTTP handler reads parameters from the **query string for `GET`, `LIST` and `DELETE`** and
//! from the **JSON body for `POST` and `PUT`** (a write's query string is ignored, a read's body is
//! ignored). This layer is more forgiving for writes ([`Params::merged`]): it takes both, and **the
//! body wins** on a name given in both, since the body is the channel Vault reads for every mutating
//! endpoint. Values taken from the path itself
//! (`paths-filter/:id`, `secondary/enable/<token>`) are added with [`Params::insert`] and win over both,
//! as Vault's router gives URL captures priority over request data.
//!
//! # Absent values
//!
//! A name that is missing and a name whose value is JSON `null` both read as `Ok(None)`; a getter
//! returns `Ok(Some(..))` for anything else it can interpret, including the empty string (which the
//! caller may refuse: [`Params::required_string`] does).
//!
//! (Over 600 lines with its unit tests, which pin each getter against Vault's decoding; the code is
//! about 360.)

use std::collections::BTreeMap;
use std::fmt;

use replication_core::Duration;
use serde_json::Value;

/// The named parameters of one request.
///
/// Names are unique; iteration (and hence [`Params::take_unknown`]'s output) is in name order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Params {
    values: BTreeMap<String, Value>,
}

/// A request parameter (or the whole body) that cannot be used, with a message that says what to send.
///
/// Displays as `parameter "ttl": expected a duration like "30m" or whole seconds, got true`, or, when no
/// single parameter is at fault (an unparsable body), as the message alone. Every such error is a 400.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ParamError {
    param: Option<String>,
    message: String,
}

impl ParamError {
    /// An error about parameter `param`.
    pub(crate) fn new(param: &str, message: impl Into<String>) -> Self {
        ParamError {
            param: Some(param.to_string()),
            message: message.into(),
        }
    }

    /// An error about the request as a whole (its body), not one parameter.
    pub(crate) fn request(message: impl Into<String>) -> Self {
        ParamError {
            param: None,
            message: message.into(),
        }
    }

    /// The parameter at fault, if there is one.
    #[cfg(test)]
    pub(crate) fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    /// What is wrong and what to send instead, without the `parameter "…": ` prefix.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(p) => write!(f, "parameter {p:?}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParamError {}

const DURATION_HINT: &str = r#"expected a duration like "30m" or whole seconds"#;
const BOOL_HINT: &str =
    r#"expected a boolean (true, false, "true", "false", "t", "f", "1", "0", 1 or 0)"#;
const LIST_HINT: &str =
    "expected a list of strings (a JSON array of strings or a comma-separated string)";

impl Params {
    /// No parameters.
    pub(crate) fn new() -> Self {
        Params::default()
    }

    /// The fields of a JSON object body.
    ///
    /// An empty body, or one of JSON whitespace only, has no parameters. Anything else must be one JSON
    /// object (Go's decoder would ignore trailing bytes after it; this refuses them). Invalid JSON and
    /// JSON that is not an object (an array, string, number, boolean or `null`) are refused with a
    /// [`ParamError`] without a parameter name. A name given twice keeps its last value. Never panics,
    /// whatever the bytes.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, ParamError> {
        if body
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            return Ok(Params::new());
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ParamError::request(format!(
                "error parsing JSON: {e}; send a JSON object such as {{\"name\": \"value\"}}, or an empty body"
            ))
        })?;
        match value {
            Value::Object(map) => Ok(Params {
                values: map.into_iter().collect(),
            }),
            other => Err(ParamError::request(format!(
                "the request body must be a JSON object such as {{\"name\": \"value\"}}, got {}",
                kind(&other)
            ))),
        }
    }

    /// Query pairs (as from [`crate::parse_query`]), each value a JSON string. A name given more
    /// than once keeps its last value.
    pub(crate) fn from_query(pairs: &[(String, String)]) -> Self {
        Params {
            values: pairs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        }
    }

    /// Both the query pairs and the JSON body; on a name in both, **the body wins**. The body is checked
    /// as in [`Params::from_json`].
    pub(crate) fn merged(body: &[u8], query: &[(String, String)]) -> Result<Self, ParamError> {
        let mut params = Params::from_query(query);
        params.values.extend(Params::from_json(body)?.values);
        Ok(params)
    }

    /// Sets `name`, replacing any value it had: for values captured from the path, which take priority
    /// over the body and the query.
    pub(crate) fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.values.insert(name.into(), value.into());
    }

    /// The raw value of `name`, `null` included.
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Whether `name` was given at all (even as `null` or `""`).
    #[cfg(test)]
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The names given, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// How many names were given.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no name was given.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of `name`, unless it is missing or `null`.
    fn present(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    /// A string parameter. Numbers and booleans are accepted and converted to text as Vault's weak
    /// decoding does: `7` → `"7"`, `true` → `"1"`, `false` → `"0"` (that is `mapstructure`'s rule, not a
    /// typo). Arrays and objects are refused.
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, ParamError> {
        let Some(v) = self.present(name) else {
            return Ok(None);
        };
        weak_text(v)
            .map(Some)
            .ok_or_else(|| ParamError::new(name, format!("expected a string, got {}", describe(v))))
    }

    /// A string parameter that must be given and not be empty.
    pub(crate) fn required_string(&self, name: &str) -> Result<String, ParamError> {
        match self.string(name)? {
            None => Err(ParamError::new(
                name,
                "required but missing; send a non-empty string",
            )),
            Some(s) if s.is_empty() => Err(ParamError::new(
                name,
                "required but empty; send a non-empty string",
            )),
            Some(s) => Ok(s),
        }
    }

    /// A boolean parameter. Accepts `true`/`false`; the strings Go's `strconv.ParseBool` accepts
    /// (`"true"`, `"false"`, `"t"`, `"f"`, `"1"`, `"0"`, also `"T"`, `"F"`, `"TRUE"`, `"FALSE"`,
    /// `"True"`, `"False"`); the numbers `1` and `0`. The empty string reads as `false`, as in Vault
    /// (so a bare `?force` in a query is **false**). Anything else is refused.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ParamError> {
        let Some(v) = self.present(name) else {
            return Ok(None);
        };
        let parsed = match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
                "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => Some(false),
                _ => None,
            },
            Value::Number(n) => match n.as_u64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| ParamError::new(name, format!("{BOOL_HINT}, got {}", describe(v))))
    }

    /// A duration parameter: a Vault duration string (`"90s"`, `"30m"`, `"1h30m"`, see
    /// [`Duration::parse`]), whole seconds as a string (`"1800"`) or as a non-negative integer (`1800`).
    /// The empty string reads as zero, as in Vault; callers that need a positive duration check
    /// [`Duration::is_zero`]. Fractions without a unit (`1.5`), negative numbers, booleans, arrays and
    /// objects are refused.
    pub(crate) fn duration(&self, name: &str) -> Result<Option<Duration>, ParamError> {
        let Some(v) = self.present(name) else {
            return Ok(None);
        };
        let refuse = |detail: &str| {
            ParamError::new(
                name,
                format!("{DURATION_HINT}, got {}{detail}", describe(v)),
            )
        };
        match v {
            Value::String(s) if s.is_empty() => Ok(Some(Duration::from_millis(0))),
            Value::String(s) => Duration::parse(s)
                .map(Some)
                .map_err(|e| refuse(&format!(" ({})", e.reason))),
            Value::Number(n) => match n.as_u64() {
                Some(secs) => secs
                    .checked_mul(1000)
                    .map(|ms| Some(Duration::from_millis(ms)))
                    .ok_or_else(|| refuse(" (it is too large)")),
                None => Err(refuse("")),
            },
            _ => Err(refuse("")),
        }
    }

    /// A list of strings: a JSON array, or a comma-separated string (`"a, b"` → `["a", "b"]`), as
    /// Vault's `TypeCommaStringSlice`. Every entry is trimmed of surrounding whitespace; empty entries
    /// are kept (`"a,,b"` has three); the empty string is the empty list. Array entries that are
    /// numbers or booleans are converted like [`Params::string`]; a single number or boolean is a list
    /// of one. Objects, and arrays holding `null`, arrays or objects, are refused.
    pub(crate) fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, ParamError> {
        let Some(v) = self.present(name) else {
            return Ok(None);
        };
        match v {
            Value::String(s) if s.is_empty() => Ok(Some(Vec::new())),
            Value::String(s) => Ok(Some(s.split(',').map(|e| e.trim().to_string()).collect())),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    weak_text(item)
                        .map(|s| s.trim().to_string())
                        .ok_or_else(|| {
                            ParamError::new(
                                name,
                                format!("{LIST_HINT}, but entry {} is {}", i + 1, describe(item)),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Value::Number(_) | Value::Bool(_) => Ok(weak_text(v).map(|s| vec![s])),
            _ => Err(ParamError::new(
                name,
                format!("{LIST_HINT}, got {}", describe(v)),
            )),
        }
    }

    /// Vault's warning for parameters the endpoint does not take: every given name not in `known`, in
    /// sorted order, as one warning `Endpoint ignored these unrecognized parameters: [foo bar]`.
    /// Returns no warning when every name is known. The parameters themselves are left in place.
    pub(crate) fn take_unknown(&self, known: &[&str]) -> Vec<String> {
        let unknown: Vec<&str> = self.names().filter(|n| !known.contains(n)).collect();
        if unknown.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "Endpoint ignored these unrecognized parameters: [{}]",
                unknown.join(" ")
            )]
        }
    }
}

/// Vault's weak conversion of a scalar to text; `None` for `null`, arrays and objects.
fn weak_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("1".to_string()),
        Value::Bool(false) => Some("0".to_string()),
        _ => None,
    }
}

/// The kind of a JSON value, for messages about the body.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of a value for an error message: scalars as JSON text (long strings cut to 40
/// characters, since a value may be a secret), containers by kind.
fn describe(v: &Value) -> String {
    const MAX: usize = 40;
    match v {
        Value::String(s) if s.chars().count() > MAX => {
            let cut: String = s.chars().take(MAX).collect();
            format!("{}…", Value::String(cut))
        }
        Value::Array(_) | Value::Object(_) | Value::Null => kind(v).to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn body(v: Value) -> Params {
        Params::from_json(v.to_string().as_bytes()).unwrap()
    }

    fn one(v: Value) -> Params {
        named("x", v)
    }

    fn named(name: &str, v: Value) -> Params {
        let mut map = serde_json::Map::new();
        map.insert(name.to_string(), v);
        body(Value::Object(map))
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_and_whitespace_bodies_have_no_params() {
        for b in [&b""[..], b"  \n\t\r", b"{}", b" { } "] {
            assert!(Params::from_json(b).unwrap().is_empty(), "{b:?}");
        }
    }

    #[test]
    fn non_object_bodies_are_refused_with_a_clear_error() {
        for (b, got) in [
            (&b"[1,2]"[..], "an array"),
            (b"\"x\"", "a string"),
            (b"12", "a number"),
            (b"true", "a boolean"),
            (b"null", "null"),
        ] {
            let e = Params::from_json(b).unwrap_err();
            assert_eq!(e.param(), None);
            assert_eq!(
                e.to_string(),
                format!(
                    "the request body must be a JSON object such as {{\"name\": \"value\"}}, got {got}"
                )
            );
        }
    }

    #[test]
    fn invalid_json_is_refused_with_a_clear_error() {
        for b in [
            &b"{"[..],
            b"{\"a\":}",
            b"id=x",
            b"\xff\xfe",
            b"{} {}",
            b"\x0c{}",
        ] {
            let e = Params::from_json(b).unwrap_err();
            assert_eq!(e.param(), None);
            let m = e.to_string();
            assert!(m.starts_with("error parsing JSON: "), "{m}");
            assert!(m.contains("send a JSON object"), "{m}");
        }
    }

    #[test]
    fn deeply_nested_json_is_an_error_not_a_crash() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Params::from_json(deep.as_bytes()).is_err());
    }

    #[test]
    fn duplicate_body_keys_keep_the_last_value() {
        let p = Params::from_json(br#"{"id":"a","id":"b"}"#).unwrap();
        assert_eq!(p.string("id").unwrap().as_deref(), Some("b"));
    }

    #[test]
    fn string_accepts_scalars_weakly() {
        assert_eq!(
            one(json!("abc")).string("x").unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(one(json!("")).string("x").unwrap().as_deref(), Some(""));
        assert_eq!(
            one(json!(1800)).string("x").unwrap().as_deref(),
            Some("1800")
        );
        assert_eq!(one(json!(-3)).string("x").unwrap().as_deref(), Some("-3"));
        assert_eq!(one(json!(1.5)).string("x").unwrap().as_deref(), Some("1.5"));
        assert_eq!(one(json!(true)).string("x").unwrap().as_deref(), Some("1"));
        assert_eq!(one(json!(false)).string("x").unwrap().as_deref(), Some("0"));
        assert_eq!(one(json!(null)).string("x").unwrap(), None);
        assert_eq!(Params::new().string("x").unwrap(), None);
    }

    #[test]
    fn string_refuses_containers() {
        let e = one(json!(["a"])).string("x").unwrap_err();
        assert_eq!(e.param(), Some("x"));
        assert_eq!(
            e.to_string(),
            r#"parameter "x": expected a string, got an array"#
        );
        let e = one(json!({"a": 1})).string("x").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"parameter "x": expected a string, got an object"#
        );
    }

    #[test]
    fn required_string_names_the_parameter() {
        assert_eq!(one(json!("v")).required_string("x").unwrap(), "v");
        assert_eq!(one(json!(5)).required_string("x").unwrap(), "5");
        let missing = Params::new().required_string("id").unwrap_err();
        assert_eq!(
            missing.to_string(),
            r#"parameter "id": required but missing; send a non-empty string"#
        );
        let null = body(json!({"id": null})).required_string("id").unwrap_err();
        assert_eq!(null, missing);
        let empty = body(json!({"id": ""})).required_string("id").unwrap_err();
        assert_eq!(
            empty.to_string(),
            r#"parameter "id": required but empty; send a non-empty string"#
        );
        assert!(one(json!([])).required_string("x").is_err());
    }

    #[test]
    fn bool_accepts_vault_forms() {
        for (v, want) in [
            (json!(true), true),
            (json!(false), false),
            (json!("true"), true),
            (json!("false"), false),
            (json!("TRUE"), true),
            (json!("False"), false),
            (json!("t"), true),
            (json!("F"), false),
            (json!("1"), true),
            (json!("0"), false),
            (json!(1), true),
            (json!(0), false),
            (json!(""), false),
        ] {
            assert_eq!(one(v.clone()).bool("x").unwrap(), Some(want), "{v}");
        }
        assert_eq!(one(json!(null)).bool("x").unwrap(), None);
        assert_eq!(Params::new().bool("x").unwrap(), None);
    }

    #[test]
    fn bool_refuses_other_forms() {
        for v in [
            json!("yes"),
            json!("tRuE"),
            json!(" true"),
            json!(2),
            json!(-1),
            json!(1.0),
            json!([true]),
            json!({}),
        ] {
            let e = one(v.clone()).bool("x").unwrap_err();
            assert_eq!(e.param(), Some("x"));
            assert!(e.message().starts_with("expected a boolean"), "{e}");
        }
        assert_eq!(
            one(json!("yes")).bool("x").unwrap_err().to_string(),
            r#"parameter "x": expected a boolean (true, false, "true", "false", "t", "f", "1", "0", 1 or 0), got "yes""#
        );
    }

    #[test]
    fn duration_accepts_vault_forms() {
        for (v, secs) in [
            (json!("30m"), 1800),
            (json!("90s"), 90),
            (json!("1h30m"), 5400),
            (json!("1800"), 1800),
            (json!(1800), 1800),
            (json!(0), 0),
            (json!(""), 0),
            (json!("1d"), 86_400),
        ] {
            assert_eq!(
                one(v.clone()).duration("x").unwrap(),
                Some(Duration::from_secs(secs)),
                "{v}"
            );
        }
        assert_eq!(one(json!(null)).duration("x").unwrap(), None);
    }

    #[test]
    fn duration_refuses_other_forms() {
        assert_eq!(
            named("ttl", json!(true))
                .duration("ttl")
                .unwrap_err()
                .to_string(),
            r#"parameter "ttl": expected a duration like "30m" or whole seconds, got true"#
        );
        assert_eq!(
            named("ttl", json!("5x"))
                .duration("ttl")
                .unwrap_err()
                .to_string(),
            r#"parameter "ttl": expected a duration like "30m" or whole seconds, got "5x" (unknown unit (use ms, s, m, h or d))"#
        );
        for v in [
            json!("-5s"),
            json!("abc"),
            json!("1.5"),
            json!(-5),
            json!(1.5),
            json!(u64::MAX),
            json!([]),
            json!({}),
        ] {
            let e = named("ttl", v.clone()).duration("ttl").unwrap_err();
            assert_eq!(e.param(), Some("ttl"), "{v}");
            assert!(e.message().starts_with(DURATION_HINT), "{e}");
        }
    }

    #[test]
    fn string_list_accepts_arrays_and_comma_strings() {
        let list = |v: Value| one(v).string_list("x").unwrap();
        assert_eq!(list(json!(["a", "b"])), Some(vec!["a".into(), "b".into()]));
        assert_eq!(
            list(json!("a, b ,c")),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(list(json!("secret/")), Some(vec!["secret/".into()]));
        assert_eq!(
            list(json!("a,,b")),
            Some(vec!["a".into(), "".into(), "b".into()])
        );
        assert_eq!(list(json!("")), Some(vec![]));
        assert_eq!(list(json!([])), Some(vec![]));
        assert_eq!(
            list(json!([" a ", 1, true])),
            Some(vec!["a".into(), "1".into(), "1".into()])
        );
        assert_eq!(list(json!(5)), Some(vec!["5".into()]));
        assert_eq!(list(json!(null)), None);
    }

    #[test]
    fn string_list_refuses_objects_and_nested_entries() {
        assert_eq!(
            named("paths", json!({"a": 1})).string_list("paths").unwrap_err(),
            ParamError::new(
                "paths",
                "expected a list of strings (a JSON array of strings or a comma-separated string), got an object"
            )
        );
        let e = one(json!(["a", ["b"]])).string_list("x").unwrap_err();
        assert!(e.message().ends_with("but entry 2 is an array"), "{e}");
        assert!(one(json!(["a", null])).string_list("x").is_err());
        assert!(one(json!([{}])).string_list("x").is_err());
    }

    #[test]
    fn unknown_parameter_warnings_are_sorted_and_vault_formatted() {
        let p = body(json!({"zeta": 1, "id": "a", "foo": null, "bar": true}));
        assert_eq!(
            p.take_unknown(&["id"]),
            ["Endpoint ignored these unrecognized parameters: [bar foo zeta]"]
        );
        assert!(p
            .take_unknown(&["id", "foo", "bar", "zeta", "extra"])
            .is_empty());
        assert!(Params::new().take_unknown(&[]).is_empty());
        // The parameters are still there.
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn query_params_are_strings() {
        let p = Params::from_query(&q(&[("ttl", "1h"), ("force", ""), ("ttl", "2h")]));
        assert_eq!(p.duration("ttl").unwrap(), Some(Duration::from_secs(7200)));
        assert_eq!(p.bool("force").unwrap(), Some(false));
        assert_eq!(p.get("force"), Some(&json!("")));
    }

    #[test]
    fn merged_lets_the_body_win() {
        let p = Params::merged(
            br#"{"id":"body","ttl":60}"#,
            &q(&[("id", "query"), ("x", "1")]),
        )
        .unwrap();
        assert_eq!(p.string("id").unwrap().as_deref(), Some("body"));
        assert_eq!(p.duration("ttl").unwrap(), Some(Duration::from_secs(60)));
        assert_eq!(p.string("x").unwrap().as_deref(), Some("1"));
        assert!(Params::merged(b"[]", &q(&[("id", "q")])).is_err());
    }

    #[test]
    fn insert_overrides() {
        let mut p = body(json!({"id": "body"}));
        p.insert("id", "path");
        assert_eq!(p.string("id").unwrap().as_deref(), Some("path"));
        assert!(p.contains("id") && !p.contains("other"));
        assert_eq!(p.names().collect::<Vec<_>>(), ["id"]);
    }

    #[test]
    fn long_string_values_are_cut_in_messages() {
        let long = "s".repeat(500);
        let e = one(json!(long)).bool("x").unwrap_err().to_string();
        assert!(e.len() < 200, "{e}");
        assert!(e.ends_with("…"), "{e}");
        // Up to 40 characters are shown whole; from 41 the first 40 and an ellipsis.
        let forty = "é".repeat(40);
        assert_eq!(describe(&json!(forty)), format!("\"{forty}\""));
        assert_eq!(
            describe(&json!(format!("{forty}x"))),
            format!("\"{forty}\"…")
        );
    }

    fn exercise(p: &Params) -> Result<(), TestCaseError> {
        let mut names: Vec<String> = p.names().map(str::to_string).collect();
        names.push("absent".into());
        for n in &names {
            let errs = [
                p.string(n).err(),
                p.required_string(n).err(),
                p.bool(n).err(),
                p.duration(n).err(),
                p.string_list(n).err(),
            ];
            for e in errs.into_iter().flatten() {
                prop_assert!(!e.message().is_empty());
                prop_assert!(!e.to_string().is_empty());
                prop_assert_eq!(e.param(), Some(n.as_str()));
            }
        }
        let w = p.take_unknown(&[]);
        prop_assert_eq!(w.len(), usize::from(!p.is_empty()));
        Ok(())
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            "[0-9a-z.,: -]{0,12}".prop_map(Value::String),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{0,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_body_bytes_never_panic(bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..128),
            "[{}\\[\\]\":, 0-9a-z.eE+-]{0,48}".prop_map(String::into_bytes),
        ]) {
            match Params::from_json(&bytes) {
                Ok(p) => exercise(&p)?,
                Err(e) => {
                    prop_assert!(!e.to_string().is_empty());
                    prop_assert_eq!(e.param(), None);
                }
            }
        }

        #[test]
        fn arbitrary_json_objects_never_panic(
            map in prop::collection::btree_map("[a-z]{1,4}", json_value(), 0..6)
        ) {
            let text = Value::Object(map.into_iter().collect()).to_string();
            let p = Params::from_json(text.as_bytes()).unwrap();
            exercise(&p)?;
        }

        #[test]
        fn arbitrary_query_strings_never_panic(raw in prop_oneof![
            any::<String>(),
            "[a-z=&%0-9A-F+tf,.hms]{0,40}",
        ]) {
            match crate::path::parse_query(&raw) {
                Ok(pairs) => exercise(&Params::from_query(&pairs))?,
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
    #[test]
    fn getters_read_values_the_way_vault_does() {
        let p = Params::from_json(br#"{"id": "us-east", "ttl": "1h30m", "force": "true", "n": 7}"#)
            .unwrap();
        assert_eq!(p.required_string("id").unwrap(), "us-east");
        assert_eq!(p.duration("ttl").unwrap(), Some(Duration::from_secs(5400)));
        assert_eq!(p.bool("force").unwrap(), Some(true));
        assert_eq!(p.string("n").unwrap().as_deref(), Some("7"));
        assert_eq!(p.bool("missing").unwrap(), None);
        assert_eq!(
            p.take_unknown(&["id", "ttl", "force"]),
            ["Endpoint ignored these unrecognized parameters: [n]"]
        );

        let err = Params::from_json(br#"{"ttl": true}"#)
            .unwrap()
            .duration("ttl")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"parameter "ttl": expected a duration like "30m" or whole seconds, got true"#
        );
    }
}
