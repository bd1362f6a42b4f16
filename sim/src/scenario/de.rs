//! How each leaf value of a scenario file is read and written, with errors that say what to write.
//!
//! Messages say `expected WHAT, got {got}`: the parser puts the offending JSON in place of `{got}`
//! (it knows the key the error happened at), so every message quotes what the file actually says.
//! Structured values (a list of status codes, a read's `{"value": ...}`, the fault rates, `save`)
//! are walked through serde itself, so an error deep inside names its exact key (`expect.status.1`).

use replication_api::Caller;
use replication_core::{Duration, Kind};
use serde::de::{self, DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

use super::model::{ClientExpect, FaultRates, ReadExpect, StatusExpect};

/// Where the parser puts the offending JSON value.
pub(super) const GOT: &str = "{got}";

/// `expected WHAT, got {got}`.
pub(super) fn expected<E: Error>(what: &str) -> E {
    E::custom(format!("expected {what}, got {GOT}"))
}

fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
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

/// A cluster name (that it is declared is checked once the whole file is read).
pub(super) fn cluster<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match value(d)? {
        Value::String(s) => Ok(s),
        _ => Err(expected("a cluster name")),
    }
}

/// A cluster name inside a list (a bad one is reported at its index).
struct ClusterName(String);

impl<'de> Deserialize<'de> for ClusterName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        cluster(d).map(ClusterName)
    }
}

/// A non-empty string inside a list (a bad one is reported at its index).
struct NonEmpty(String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        non_empty(d).map(NonEmpty)
    }
}

/// A JSON array of `T`, each item read through serde so an error names its index.
struct ListOf<T> {
    what: &'static str,
    item: std::marker::PhantomData<T>,
}

fn list_of<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    what: &'static str,
) -> Result<Vec<T>, D::Error> {
    d.deserialize_seq(ListOf {
        what,
        item: std::marker::PhantomData,
    })
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListOf<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<T>()? {
            out.push(item);
        }
        Ok(out)
    }
}

/// Cluster names (`expect_same_data`; that there are two or more is checked with the file).
pub(super) fn cluster_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let names: Vec<ClusterName> = list_of(d, "two or more cluster names")?;
    Ok(names.into_iter().map(|n| n.0).collect())
}

const GROUPS: &str = r#"a list of groups of cluster names, like [["A"], ["B", "C"]]"#;

/// One group of a partition.
struct Group(Vec<String>);

impl<'de> Deserialize<'de> for Group {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names: Vec<ClusterName> = list_of(d, GROUPS)?;
        Ok(Group(names.into_iter().map(|n| n.0).collect()))
    }
}

/// Groups of cluster names (`partition`): the shape only; the names are checked with the file.
pub(super) fn groups<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<String>>, D::Error> {
    let groups: Vec<Group> = list_of(d, GROUPS)?;
    Ok(groups.into_iter().map(|g| g.0).collect())
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

/// `save` of a `call`: names to dotted paths. A bad name is reported at its own key.
pub(super) fn saves<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    d.deserialize_any(NamedStrings {
        what: r#"an object of names to dotted paths, like {"tok": "wrap_info.token"}"#,
    })
}

struct NamedStrings {
    what: &'static str,
}

/// One value of `save`, read once its name is known (so the error is at `save.NAME`).
struct SaveEntry<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for SaveEntry<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        check_var_name(self.0).map_err(Error::custom)?;
        match value(d)? {
            Value::String(s) => Ok(s),
            _ => Err(expected("a string")),
        }
    }
}

impl<'de> Visitor<'de> for NamedStrings {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            let path = map.next_value_seed(SaveEntry(&name))?;
            out.insert(name, path);
        }
        Ok(out)
    }
}

/// `expect_losses.by_cause`: documented causes to counts. A cause is reported at its own key.
pub(super) fn causes<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, u64>, D::Error> {
    d.deserialize_any(Causes)
}

struct Causes;

/// One count of `by_cause`, read once its cause is known.
struct CauseCount<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for CauseCount<'_> {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        if self.0.is_empty() {
            return Err(Error::custom("a cause must not be empty"));
        }
        count(d)
    }
}

impl<'de> Visitor<'de> for Causes {
    type Value = BTreeMap<String, u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an object of causes to counts, like {"wiped-by-enable": 1}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(cause) = map.next_key::<String>()? {
            let n = map.next_value_seed(CauseCount(&cause))?;
            out.insert(cause, n);
        }
        Ok(out)
    }
}

/// Hazard kinds (`expect_hazards`; that none is listed twice is checked with the file).
pub(super) fn hazards<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let kinds: Vec<NonEmpty> = list_of(
        d,
        r#"an array of hazard kinds, like ["multiple-primaries"]"#,
    )?;
    Ok(kinds.into_iter().map(|k| k.0).collect())
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

/// `expect.status` of a call: one code or a non-empty list (each item named by its index on error).
pub(super) mod status {
    use super::*;

    struct Code(u16);

    impl<'de> Deserialize<'de> for Code {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
            match value(d)?.as_u64() {
                Some(n @ 100..=599) => Ok(Code(n as u16)),
                _ => Err(expected("an HTTP status code (100 to 599)")),
            }
        }
    }

    struct Codes;

    impl<'de> Visitor<'de> for Codes {
        type Value = StatusExpect;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an HTTP status code (100 to 599)")
        }

        fn visit_u64<E: Error>(self, n: u64) -> Result<StatusExpect, E> {
            Code::deserialize(de::value::U64Deserializer::<E>::new(n))
                .map(|c| StatusExpect::OneOf(vec![c.0]))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusExpect, A::Error> {
            let mut codes = Vec::new();
            while let Some(c) = seq.next_element::<Code>()? {
                codes.push(c.0);
            }
            if codes.is_empty() {
                return Err(expected("a status code or a non-empty list of them"));
            }
            Ok(StatusExpect::OneOf(codes))
        }
    }

    pub(in crate::scenario) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<StatusExpect, D::Error> {
        d.deserialize_any(Codes)
    }

    pub(in crate::scenario) fn serialize<S: Serializer>(
        e: &StatusExpect,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match e {
            StatusExpect::Success => s.serialize_none(),
            StatusExpect::OneOf(codes) => codes.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ClientExpect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ClientExpect, D::Error> {
        match value(d)?.as_str() {
            Some("ok") => Ok(ClientExpect::Ok),
            Some("error") => Ok(ClientExpect::Error),
            Some("any") => Ok(ClientExpect::Any),
            _ => Err(expected(r#""ok", "error" or "any""#)),
        }
    }
}

impl Serialize for ClientExpect {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            ClientExpect::Ok => "ok",
            ClientExpect::Error => "error",
            ClientExpect::Any => "any",
        })
    }
}

/// A read's `{"value": V}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueExpect {
    value: Value,
}

const READ_FORMS: &str = r#""ok", "error", "missing", "any" or {"value": ...}"#;

struct ReadForms;

impl<'de> Visitor<'de> for ReadForms {
    type Value = ReadExpect;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(READ_FORMS)
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<ReadExpect, E> {
        match s {
            "ok" => Ok(ReadExpect::Ok),
            "error" => Ok(ReadExpect::Error),
            "missing" => Ok(ReadExpect::Missing),
            "any" => Ok(ReadExpect::Any),
            _ => Err(expected(READ_FORMS)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ReadExpect, A::Error> {
        let v = ValueExpect::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(ReadExpect::Value(Some(v.value).filter(|v| !v.is_null())))
    }
}

impl<'de> Deserialize<'de> for ReadExpect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ReadExpect, D::Error> {
        d.deserialize_any(ReadForms)
    }
}

impl Serialize for ReadExpect {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ReadExpect::Ok => s.serialize_str("ok"),
            ReadExpect::Error => s.serialize_str("error"),
            ReadExpect::Missing => s.serialize_str("missing"),
            ReadExpect::Any => s.serialize_str("any"),
            ReadExpect::Value(v) => {
                serde_json::json!({ "value": v.clone().unwrap_or(Value::Null) }).serialize(s)
            }
        }
    }
}

/// `faults`: `"off"` or the rates, each a probability (a bad one named by its key).
pub(super) mod fault_rates {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rates {
        #[serde(default, deserialize_with = "rate")]
        drop: f64,
        #[serde(default, deserialize_with = "rate")]
        duplicate: f64,
        #[serde(default, deserialize_with = "rate")]
        reorder: f64,
        #[serde(default, deserialize_with = "rate")]
        delay: f64,
    }

    fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match value(d)?.as_f64() {
            Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
            _ => Err(expected("a probability between 0 and 1")),
        }
    }

    const SHAPE: &str = r#""off" or an object of rates like {"drop": 0.05}"#;

    struct Forms;

    impl<'de> Visitor<'de> for Forms {
        type Value = FaultRates;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(SHAPE)
        }

        fn visit_str<E: Error>(self, s: &str) -> Result<FaultRates, E> {
            match s {
                "off" => Ok(FaultRates::default()),
                _ => Err(expected(SHAPE)),
            }
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FaultRates, A::Error> {
            let r = Rates::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok(FaultRates {
                drop: r.drop,
                duplicate: r.duplicate,
                reorder: r.reorder,
                delay: r.delay,
            })
        }
    }

    pub(in crate::scenario) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<FaultRates, D::Error> {
        d.deserialize_any(Forms)
    }

    pub(in crate::scenario) fn serialize<S: Serializer>(
        r: &FaultRates,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        if *r == FaultRates::default() {
            return s.serialize_str("off");
        }
        let mut m = serde_json::Map::new();
        for (k, v) in [
            ("drop", r.drop),
            ("duplicate", r.duplicate),
            ("reorder", r.reorder),
            ("delay", r.delay),
        ] {
            if v != 0.0 {
                m.insert(k.into(), serde_json::json!(v));
            }
        }
        m.serialize(s)
    }
}

/// The keys a derived struct takes, in declaration order, as serde's derive lists them (for messages
/// that name the keys a step takes when it has no verb).
pub(super) fn struct_keys<T: de::DeserializeOwned>() -> &'static [&'static str] {
    let mut keys: &'static [&'static str] = &[];
    // The probe only records the list; the error it returns is the expected outcome.
    let _ = T::deserialize(KeysProbe(&mut keys));
    keys
}

/// A deserializer that records the field list a derived struct asks for, then stops.
struct KeysProbe<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for KeysProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(Error::custom("keys recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// `clusters`: names to options (each read at `clusters.NAME`).
pub(super) fn clusters<'de, D: Deserializer<'de>, T: Object + Deserialize<'de>>(
    d: D,
) -> Result<BTreeMap<String, T>, D::Error> {
    struct Named<T>(std::marker::PhantomData<T>);

    impl<'de, T: Object + Deserialize<'de>> Visitor<'de> for Named<T> {
        type Value = BTreeMap<String, T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(r#"an object of cluster names to options, like {"A": {}}"#)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((name, options)) = map.next_entry::<String, AsObject<T>>()? {
                out.insert(name, options.0);
            }
            Ok(out)
        }
    }

    d.deserialize_map(Named(std::marker::PhantomData))
}

/// A struct a scenario file writes as a JSON object. serde's derive would also read an array of the
/// fields in declaration order (so `"config": []` would mean the defaults, and `"mounts": [["kv/"]]`
/// a mount); a scenario never means that, so these structs are read through [`AsObject`].
pub(super) trait Object {
    /// What the object looks like, for "expected ..., got ..." messages.
    const SHAPE: &'static str;
}

/// `T`, read only from a JSON object.
pub(super) struct AsObject<T>(pub(super) T);

impl<'de, T: Object + Deserialize<'de>> Deserialize<'de> for AsObject<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Only<T>(std::marker::PhantomData<T>);

        impl<'de, T: Object + Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::SHAPE)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }

        d.deserialize_map(Only(std::marker::PhantomData))
            .map(AsObject)
    }
}

/// A field holding an [`Object`].
pub(super) fn object<'de, D: Deserializer<'de>, T: Object + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    AsObject::deserialize(d).map(|o| o.0)
}

/// A field holding a list of [`Object`]s (each reported at its index).
pub(super) fn objects<'de, D: Deserializer<'de>, T: Object + Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let items: Vec<AsObject<T>> = list_of(d, "an array")?;
    Ok(items.into_iter().map(|o| o.0).collect())
}
