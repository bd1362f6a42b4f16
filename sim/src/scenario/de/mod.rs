//! How each leaf value of a scenario file is read and written, with errors that say what to write.
//!
//! Messages say `expected WHAT, got {got}`: the parser puts the offending JSON in place of `{got}`
//! (it knows the key the error happened at), so every message quotes what the file actually says.
//! Structured values (a list of status codes, a read's `{"value": ...}`, the fault rates, `save`)
//! are walked through serde itself, so an error deep inside names its exact key (`expect.status.1`).
//!
//! This file reads the scalars (strings, counts, durations, names, kinds, the caller);
//! `collections.rs` the lists and maps, and the structs that must be JSON objects; `expect.rs` the
//! expectations and fault rates, which come in several forms.

mod collections;
mod expect;

pub(super) use collections::{
    causes, cluster_list, clusters, groups, hazards, object, objects, saves, struct_keys, AsObject,
    Object,
};
pub(super) use expect::{fault_rates, status};

use replication_api::Caller;
use replication_core::{Duration, Kind};
use serde::de::{Deserializer, Error};
use serde::{Deserialize, Serializer};
use serde_json::Value;

/// Where the parser puts the offending JSON value.
pub(super) const GOT: &str = "{got}";

/// `expected WHAT, got {got}`.
pub(super) fn expected<E: Error>(what: &str) -> E {
    E::custom(format!("expected {what}, got {GOT}"))
}

pub(in crate::scenario) fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Value::deserialize(d)
}

pub(super) fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match value(d)? {
        Value::String(s) if !s.is_empty() => Ok(s),
        _ => Err(expected("a non-empty string")),
    }
}

pub(super) fn some_non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    non_empty(d).map(Some)
}

pub(super) fn some_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match value(d)? {
        Value::String(s) => Ok(Some(s)),
        _ => Err(expected("a string")),
    }
}

pub(super) fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    value(d)?
        .as_u64()
        .ok_or_else(|| expected("a non-negative integer"))
}

pub(super) fn some_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    count(d).map(Some)
}

pub(super) fn some_share_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    match value(d)?.as_u64() {
        Some(n @ 1..=255) => Ok(Some(n as u8)),
        _ => Err(expected("an integer from 1 to 255")),
    }
}

pub(super) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    value(d)?.as_bool().ok_or_else(|| expected("true or false"))
}

pub(super) fn only_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match value(d)? {
        Value::Bool(true) => Ok(true),
        _ => Err(expected("true")),
    }
}

/// A mount path, given a trailing `/` when it has none.
pub(super) fn mount_path<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let mut path = non_empty(d)?;
    if !path.ends_with('/') {
        path.push('/');
    }
    Ok(path)
}

pub(super) fn buffer_length<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    match value(d)?.as_u64().map(usize::try_from) {
        Some(Ok(n)) if n > 0 => Ok(n),
        _ => Err(expected(
            "a positive integer (entries kept by the log shipper)",
        )),
    }
}

/// A Vault duration string (`"30s"`, `"1h30m"`) or whole seconds.
fn read_duration<E: Error>(v: &Value) -> Result<Duration, E> {
    let shape = "a duration such as \"30s\" or whole seconds";
    match v {
        Value::String(s) => Duration::parse(s).map_err(|e| E::custom(e.to_string())),
        Value::Number(n) => n
            .as_u64()
            .and_then(|secs| secs.checked_mul(1000))
            .map(Duration::from_millis)
            .ok_or_else(|| expected(shape)),
        _ => Err(expected(shape)),
    }
}

fn write_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// Any duration (`advance`).
pub(super) mod duration {
    use super::*;

    pub(in crate::scenario) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        read_duration(&value(d)?)
    }

    pub(in crate::scenario) fn serialize<S: Serializer>(
        d: &Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        write_duration(d, s)
    }
}

/// `config.heartbeat_interval`: never zero.
pub(super) mod positive_duration {
    use super::*;

    pub(in crate::scenario) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        let d = read_duration(&value(d)?)?;
        if d.is_zero() {
            return Err(Error::custom(
                "the heartbeat interval must be longer than zero",
            ));
        }
        Ok(d)
    }

    pub(in crate::scenario) fn serialize<S: Serializer>(
        d: &Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        write_duration(d, s)
    }
}

/// `config.forwarding_timeout`: never zero.
pub(super) mod some_positive_duration {
    use super::*;

    pub(in crate::scenario) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let d = read_duration(&value(d)?)?;
        if d.is_zero() {
            return Err(Error::custom(
                "the forwarding timeout must be longer than zero",
            ));
        }
        Ok(Some(d))
    }

    pub(in crate::scenario) fn serialize<S: Serializer>(
        d: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => write_duration(d, s),
            None => s.serialize_none(),
        }
    }
}

/// `config.entropy`: `"shared"` or `"per-cluster"`.
pub(super) mod entropy {
    use super::*;
    use crate::world::Entropy;

    pub(in crate::scenario) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Entropy, D::Error> {
        match value(d)?.as_str() {
            Some("shared") => Ok(Entropy::Shared),
            Some("per-cluster") => Ok(Entropy::PerCluster),
            _ => Err(expected(r#""shared" or "per-cluster""#)),
        }
    }

    pub(in crate::scenario) fn serialize<S: Serializer>(
        e: &Entropy,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(match e {
            Entropy::Shared => "shared",
            Entropy::PerCluster => "per-cluster",
        })
    }
}

/// A link of the network (`{"from": "A", "to": "B"}`) as a `deliver`, `drop` or `duplicate` step
/// names it.
pub(super) fn link<'de, D: Deserializer<'de>>(d: D) -> Result<(String, String), D::Error> {
    let shape = r#"a link such as {"from": "A", "to": "B"}"#;
    let v = value(d)?;
    let Some(o) = v.as_object() else {
        return Err(expected(shape));
    };
    if let Some(k) = o.keys().find(|k| *k != "from" && *k != "to") {
        return Err(Error::custom(format!(
            "unknown key {k:?} in the link: it takes \"from\" and \"to\""
        )));
    }
    match (
        o.get("from").and_then(Value::as_str),
        o.get("to").and_then(Value::as_str),
    ) {
        (Some(from), Some(to)) => Ok((from.to_string(), to.to_string())),
        _ => Err(expected(shape)),
    }
}

/// A cluster name (that it is declared is checked once the whole file is read).
pub(super) fn cluster<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match value(d)? {
        Value::String(s) => Ok(s),
        _ => Err(expected("a cluster name")),
    }
}

pub(super) fn method<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let method = non_empty(d)?;
    if !method.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(expected("an HTTP method such as \"POST\""));
    }
    Ok(method.to_ascii_uppercase())
}

/// A request body: `null` is no body.
pub(super) fn body<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(value(d)?).filter(|v| !v.is_null()))
}

pub(super) fn written_value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    match value(d)? {
        Value::Null => Err(Error::custom(
            "a write needs a value; to remove one use a delete step",
        )),
        v => Ok(v),
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

pub(super) fn var_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = non_empty(d)?;
    check_var_name(&name).map_err(Error::custom)?;
    Ok(name)
}

pub(super) fn yes() -> bool {
    true
}

pub(super) fn sudo() -> Caller {
    Caller::Sudo
}

pub(super) fn is_sudo(c: &Caller) -> bool {
    *c == Caller::Sudo
}

/// `as`: the caller's authority, as the API layer's [`Caller`].
pub(super) mod caller {
    use super::*;

    pub(in crate::scenario) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Caller, D::Error> {
        match value(d)?.as_str() {
            Some("sudo") => Ok(Caller::Sudo),
            Some("token") => Ok(Caller::Token),
            Some("anonymous") => Ok(Caller::Anonymous),
            _ => Err(expected(r#""sudo", "token" or "anonymous""#)),
        }
    }

    pub(in crate::scenario) fn serialize<S: Serializer>(
        c: &Caller,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(match c {
            Caller::Sudo => "sudo",
            Caller::Token => "token",
            Caller::Anonymous => "anonymous",
        })
    }
}

fn read_kind<E: Error>(v: &Value) -> Result<Kind, E> {
    match v.as_str() {
        Some("dr") => Ok(Kind::Dr),
        Some("performance") => Ok(Kind::Performance),
        _ => Err(expected(r#""dr" or "performance""#)),
    }
}

/// A replication kind, as the core's [`Kind`].
pub(super) mod kind {
    use super::*;

    pub(in crate::scenario) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Kind, D::Error> {
        read_kind(&value(d)?)
    }

    pub(in crate::scenario) fn serialize<S: Serializer>(k: &Kind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }
}

/// An optional replication kind.
pub(super) mod some_kind {
    use super::*;

    pub(in crate::scenario) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Kind>, D::Error> {
        read_kind(&value(d)?).map(Some)
    }

    pub(in crate::scenario) fn serialize<S: Serializer>(
        k: &Option<Kind>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match k {
            Some(k) => s.serialize_str(k.as_str()),
            None => s.serialize_none(),
        }
    }
}
