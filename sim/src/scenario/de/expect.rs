//! The forms of the expectations (`expect` of a call, a client step, a read) and of the fault rates.

use super::{expected, value};
use crate::scenario::steps::{ClientExpect, FaultRates, ReadExpect, StatusExpect};
use serde::de::{self, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// `expect.status` of a call: one code or a non-empty list (each item named by its index on error).
pub(in crate::scenario) mod status {
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
pub(in crate::scenario) mod fault_rates {
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
