//! Lists and maps of a scenario file, each item read through serde so an error names its index or
//! key, and the structs that are only ever read from JSON objects.

use super::{check_var_name, cluster, count, expected, non_empty, value};
use crate::oracle::losses::CAUSES;
use crate::oracle::HAZARD_KINDS;
use serde::de::{self, DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A cluster name inside a list (a bad one is reported at its index).
struct ClusterName(String);

impl<'de> Deserialize<'de> for ClusterName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        cluster(d).map(ClusterName)
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
pub(in crate::scenario) fn cluster_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<String>, D::Error> {
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
pub(in crate::scenario) fn groups<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<Vec<String>>, D::Error> {
    let groups: Vec<Group> = list_of(d, GROUPS)?;
    Ok(groups.into_iter().map(|g| g.0).collect())
}

/// `save` of a `call`: names to dotted paths. A bad name is reported at its own key.
pub(in crate::scenario) fn saves<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
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
pub(in crate::scenario) fn causes<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, u64>, D::Error> {
    d.deserialize_any(Causes)
}

struct Causes;

/// One count of `by_cause`, read once its cause is known.
struct CauseCount<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for CauseCount<'_> {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        if !CAUSES.contains(&self.0) {
            return Err(Error::custom(format!(
                "unknown loss cause {:?}; the causes are {}",
                self.0,
                CAUSES.join(", ")
            )));
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

/// A hazard kind the oracles report (an unknown one is reported at its index).
struct HazardKind(String);

impl<'de> Deserialize<'de> for HazardKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let kind = non_empty(d)?;
        if !HAZARD_KINDS.contains(&kind.as_str()) {
            return Err(Error::custom(format!(
                "unknown hazard kind {kind:?}; the kinds are {}",
                HAZARD_KINDS.join(", ")
            )));
        }
        Ok(HazardKind(kind))
    }
}

/// Hazard kinds (`expect_hazards`; that none is listed twice is checked with the file).
pub(in crate::scenario) fn hazards<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<String>, D::Error> {
    let kinds: Vec<HazardKind> = list_of(
        d,
        r#"an array of hazard kinds, like ["multiple-primaries"]"#,
    )?;
    Ok(kinds.into_iter().map(|k| k.0).collect())
}

/// The keys a derived struct takes, in declaration order, as serde's derive lists them (for messages
/// that name the keys a step takes when it has no verb).
pub(in crate::scenario) fn struct_keys<T: de::DeserializeOwned>() -> &'static [&'static str] {
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
pub(in crate::scenario) fn clusters<'de, D: Deserializer<'de>, T: Object + Deserialize<'de>>(
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
pub(in crate::scenario) trait Object {
    /// What the object looks like, for "expected ..., got ..." messages.
    const SHAPE: &'static str;
}

/// `T`, read only from a JSON object.
pub(in crate::scenario) struct AsObject<T>(pub(in crate::scenario) T);

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
pub(in crate::scenario) fn object<'de, D: Deserializer<'de>, T: Object + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    AsObject::deserialize(d).map(|o| o.0)
}

/// A field holding a list of [`Object`]s (each reported at its index).
pub(in crate::scenario) fn objects<'de, D: Deserializer<'de>, T: Object + Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let items: Vec<AsObject<T>> = list_of(d, "an array")?;
    Ok(items.into_iter().map(|o| o.0).collect())
}
