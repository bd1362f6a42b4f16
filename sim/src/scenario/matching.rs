//! The contract's JSON subset match, used by `expect.body` and `expect_status.matches`.
//!
//! An object matches when every key of the expectation is present in the actual object and its value
//! matches (extra actual keys are fine); an array matches an array of the same length element by element;
//! any other value must be equal. Numbers compare by value (`1` equals `1.0`), since JSON does not tell
//! them apart. The expectation is matched after substitution (see [`super::Vars::substitute`]).

use super::show_json as show;
use serde_json::{Number, Value};
use std::fmt;

/// The first place where an actual value fails an expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Dotted path from the matched root (`data.secondaries.0.node_id`); empty at the root.
    pub path: String,
    /// What is wrong there.
    pub kind: MismatchKind,
}

/// What is wrong at a [`Mismatch::path`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MismatchKind {
    /// The expected key is absent.
    Missing,
    /// An object was expected.
    NotAnObject {
        /// What was there instead.
        actual: Value,
    },
    /// An array was expected.
    NotAnArray {
        /// What was there instead.
        actual: Value,
    },
    /// Both are arrays, of different lengths.
    Length {
        /// Expected number of elements.
        expected: usize,
        /// Actual number of elements.
        actual: usize,
    },
    /// Scalars that differ.
    NotEqual {
        /// The expected value.
        expected: Value,
        /// The actual value.
        actual: Value,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str("at top level: ")?;
        } else {
            write!(f, "at {}: ", self.path)?;
        }
        match &self.kind {
            MismatchKind::Missing => f.write_str("missing"),
            MismatchKind::NotAnObject { actual } => {
                write!(f, "expected an object, got {}", show(actual))
            }
            MismatchKind::NotAnArray { actual } => {
                write!(f, "expected an array, got {}", show(actual))
            }
            MismatchKind::Length { expected, actual } => {
                let noun = if *expected == 1 {
                    "element"
                } else {
                    "elements"
                };
                write!(f, "expected {expected} {noun}, got {actual}")
            }
            MismatchKind::NotEqual { expected, actual } => {
                write!(f, "expected {}, got {}", show(expected), show(actual))
            }
        }
    }
}

impl std::error::Error for Mismatch {}

/// Whether `actual` matches the expectation `expected` by the contract's subset rule; on failure, the
/// first mismatch found (keys in the expectation's order, elements in order).
///
/// ```
/// use replication_sim::scenario::subset_match;
/// use serde_json::json;
/// let status = json!({"data": {"mode": "primary", "cluster_id": "c1", "last_wal": 3}});
/// assert!(subset_match(&json!({"data": {"mode": "primary"}}), &status).is_ok());
/// let err = subset_match(&json!({"data": {"mode": "secondary"}}), &status).unwrap_err();
/// assert_eq!(err.to_string(), r#"at data.mode: expected "secondary", got "primary""#);
/// ```
pub fn subset_match(expected: &Value, actual: &Value) -> Result<(), Mismatch> {
    let mut path = Vec::new();
    walk(expected, actual, &mut path).map_err(|kind| Mismatch {
        path: path.join("."),
        kind,
    })
}

/// Matches recursively; on failure `path` is left pointing at the mismatch.
fn walk(expected: &Value, actual: &Value, path: &mut Vec<String>) -> Result<(), MismatchKind> {
    match expected {
        Value::Object(want) => {
            let Value::Object(have) = actual else {
                return Err(MismatchKind::NotAnObject {
                    actual: actual.clone(),
                });
            };
            for (key, want_value) in want {
                path.push(key.clone());
                let Some(have_value) = have.get(key) else {
                    return Err(MismatchKind::Missing);
                };
                walk(want_value, have_value, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Array(want) => {
            let Value::Array(have) = actual else {
                return Err(MismatchKind::NotAnArray {
                    actual: actual.clone(),
                });
            };
            if want.len() != have.len() {
                return Err(MismatchKind::Length {
                    expected: want.len(),
                    actual: have.len(),
                });
            }
            for (index, (w, h)) in want.iter().zip(have).enumerate() {
                path.push(index.to_string());
                walk(w, h, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Number(w) => match actual {
            Value::Number(h) if numbers_equal(w, h) => Ok(()),
            _ => Err(not_equal(expected, actual)),
        },
        Value::Null | Value::Bool(_) | Value::String(_) => {
            if expected == actual {
                Ok(())
            } else {
                Err(not_equal(expected, actual))
            }
        }
    }
}

fn not_equal(expected: &Value, actual: &Value) -> MismatchKind {
    MismatchKind::NotEqual {
        expected: expected.clone(),
        actual: actual.clone(),
    }
}

/// Integers compare exactly; when either side is a float, both compare as `f64`.
fn numbers_equal(a: &Number, b: &Number) -> bool {
    let integral = |n: &Number| n.is_i64() || n.is_u64();
    if integral(a) && integral(b) {
        a == b
    } else {
        a.as_f64() == b.as_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn status() -> Value {
        json!({
            "data": {
                "mode": "primary",
                "cluster_id": "c-1",
                "last_wal": 12,
                "secondaries": [
                    {"node_id": "B", "connection_status": "connected"},
                    {"node_id": "C", "connection_status": "disconnected"}
                ]
            },
            "warnings": null
        })
    }

    fn err(expected: Value) -> String {
        match subset_match(&expected, &status()) {
            Ok(()) => "matched".to_string(),
            Err(m) => m.to_string(),
        }
    }

    #[test]
    fn extra_actual_keys_are_fine() {
        assert_eq!(err(json!({})), "matched");
        assert_eq!(err(json!({"data": {"mode": "primary"}})), "matched");
        assert_eq!(
            err(
                json!({"data": {"secondaries": [{"node_id": "B"}, {"connection_status": "disconnected"}]}})
            ),
            "matched"
        );
        assert_eq!(err(json!({"warnings": null})), "matched");
    }

    #[test]
    fn missing_key_fails_with_its_path() {
        assert_eq!(
            err(json!({"data": {"state": "running"}})),
            "at data.state: missing"
        );
        let m = subset_match(&json!({"data": {"state": null}}), &status()).unwrap_err();
        assert_eq!(m.path, "data.state");
        assert_eq!(m.kind, MismatchKind::Missing);
    }

    #[test]
    fn different_scalar_fails_with_both_values() {
        assert_eq!(
            err(json!({"data": {"mode": "secondary"}})),
            r#"at data.mode: expected "secondary", got "primary""#
        );
        assert_eq!(
            err(json!({"data": {"last_wal": "12"}})),
            r#"at data.last_wal: expected "12", got 12"#
        );
        assert_eq!(
            err(json!({"data": {"secondaries": [{"node_id": "B"}, {"node_id": "D"}]}})),
            r#"at data.secondaries.1.node_id: expected "D", got "C""#
        );
    }

    #[test]
    fn array_length_must_match() {
        assert_eq!(
            err(json!({"data": {"secondaries": [{"node_id": "B"}]}})),
            "at data.secondaries: expected 1 element, got 2"
        );
        assert_eq!(
            err(json!({"data": {"secondaries": []}})),
            "at data.secondaries: expected 0 elements, got 2"
        );
    }

    #[test]
    fn wrong_shape_fails() {
        assert_eq!(
            err(json!({"data": {"mode": {"x": 1}}})),
            r#"at data.mode: expected an object, got "primary""#
        );
        assert_eq!(
            err(json!({"data": {"mode": ["primary"]}})),
            r#"at data.mode: expected an array, got "primary""#
        );
        assert_eq!(
            subset_match(&json!({"a": 1}), &json!([1]))
                .unwrap_err()
                .to_string(),
            "at top level: expected an object, got [1]"
        );
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(subset_match(&json!(1), &json!(1.0)).is_ok());
        assert!(subset_match(&json!(1.5), &json!(1.5)).is_ok());
        assert!(subset_match(&json!(-3), &json!(-3)).is_ok());
        assert!(subset_match(&json!(1), &json!(2)).is_err());
        assert!(subset_match(&json!(u64::MAX), &json!(u64::MAX - 1)).is_err());
        assert!(subset_match(&json!(0), &json!(null)).is_err());
    }

    #[test]
    fn long_actual_values_are_cut() {
        let big = Value::String("x".repeat(1000));
        let m = subset_match(&json!("y"), &big).unwrap_err().to_string();
        assert!(m.len() < 400, "{m}");
        assert!(m.ends_with("..."), "{m}");
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-c]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn every_value_matches_itself(v in arb_json()) {
            prop_assert_eq!(subset_match(&v, &v), Ok(()));
        }

        #[test]
        fn matching_never_panics_and_names_a_path_that_exists(e in arb_json(), a in arb_json()) {
            if let Err(m) = subset_match(&e, &a) {
                let _ = m.to_string();
                if m.kind != MismatchKind::Missing {
                    prop_assert!(super::super::dotted_get(&a, &m.path).is_some());
                }
            }
        }
    }
}
