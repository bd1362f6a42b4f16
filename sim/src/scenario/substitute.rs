//! `${name}` substitution and dotted paths for `save`.
//!
//! Rules of the contract: a string that is exactly `${name}` is replaced by the saved JSON value itself (a
//! number stays a number); inside a longer string the reference is replaced by the value's text (a string
//! without quotes, any other value as compact JSON). Object keys are strings too and get the text form.
//! Names not saved in [`Vars`] go to a resolver supplied by the caller (the runner resolves
//! `${A.unseal_keys.0}`, cluster A's first current unseal share). A replacement is never scanned again.
//! There is no escape: every `${` opens a reference.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Why a string could not be substituted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubstError {
    /// `${name}` names nothing saved and nothing the resolver knows.
    #[error("undefined variable ${{{name}}}")]
    Undefined {
        /// The name between the braces.
        name: String,
    },
    /// A `${` with no closing `}`.
    #[error("unterminated ${{ in {text:?} (a reference is written ${{name}})")]
    Unterminated {
        /// The string holding it.
        text: String,
    },
    /// `${}`.
    #[error("empty reference ${{}} in {text:?}")]
    EmptyName {
        /// The string holding it.
        text: String,
    },
}

/// One piece of a string: literal text or a `${name}` reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits `text` into literal pieces and references.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, SubstError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(SubstError::Unterminated {
                text: text.to_string(),
            });
        };
        let name = &after[..end];
        if name.is_empty() {
            return Err(SubstError::EmptyName {
                text: text.to_string(),
            });
        }
        out.push(Piece::Var(name));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// The names referenced in `text`, in order, repeats included (`"${a}/x/${b}"` gives `a`, `b`).
///
/// Fails on `${` without `}` and on `${}`, which no substitution can succeed on.
pub fn placeholders(text: &str) -> Result<Vec<&str>, SubstError> {
    Ok(pieces(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect())
}

/// The names referenced anywhere in `value` (strings and object keys, recursively), in document order.
pub fn placeholders_in(value: &Value) -> Result<Vec<&str>, SubstError> {
    let mut out = Vec::new();
    collect(value, &mut out)?;
    Ok(out)
}

fn collect<'a>(value: &'a Value, out: &mut Vec<&'a str>) -> Result<(), SubstError> {
    match value {
        Value::String(s) => out.extend(placeholders(s)?),
        Value::Array(items) => {
            for item in items {
                collect(item, out)?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                out.extend(placeholders(k)?);
                collect(v, out)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// The text a value takes inside a longer string: a string as is, anything else as compact JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Saved variables of a run: name to JSON value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars(pub BTreeMap<String, Value>);

impl Vars {
    /// No variables.
    pub fn new() -> Self {
        Vars::default()
    }

    /// Saves `value` as `name`, returning what it replaced.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) -> Option<Value> {
        self.0.insert(name.into(), value)
    }

    /// The value saved as `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    fn lookup<F>(&self, name: &str, resolve: &F) -> Result<Value, SubstError>
    where
        F: Fn(&str) -> Option<Value>,
    {
        if let Some(v) = self.0.get(name) {
            return Ok(v.clone());
        }
        resolve(name).ok_or_else(|| SubstError::Undefined {
            name: name.to_string(),
        })
    }

    /// `text` with every reference replaced by its value's text (the embedded rule, even when `text` is
    /// exactly one reference): for request paths and object keys.
    ///
    /// `resolve` answers for names not saved here; it returns `None` for names it does not know.
    ///
    /// ```
    /// use replication_sim::scenario::Vars;
    /// use serde_json::json;
    /// let mut vars = Vars::new();
    /// vars.insert("id", json!(7));
    /// let path = vars.substitute_str("sys/replication/${id}", |_| None).unwrap();
    /// assert_eq!(path, "sys/replication/7");
    /// ```
    pub fn substitute_str<F>(&self, text: &str, resolve: F) -> Result<String, SubstError>
    where
        F: Fn(&str) -> Option<Value>,
    {
        self.substitute_text(text, &resolve)
    }

    fn substitute_text<F>(&self, text: &str, resolve: &F) -> Result<String, SubstError>
    where
        F: Fn(&str) -> Option<Value>,
    {
        if !text.contains("${") {
            return Ok(text.to_string());
        }
        let mut out = String::with_capacity(text.len());
        for piece in pieces(text)? {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(name) => out.push_str(&text_of(&self.lookup(name, resolve)?)),
            }
        }
        Ok(out)
    }

    /// `value` with every reference in its strings and keys replaced, recursively: a string that is
    /// exactly `${name}` becomes the saved JSON value itself; a reference inside a longer string (or in
    /// a key) becomes the value's text.
    ///
    /// `resolve` answers for names not saved here; it returns `None` for names it does not know.
    ///
    /// ```
    /// use replication_sim::scenario::Vars;
    /// use serde_json::json;
    /// let mut vars = Vars::new();
    /// vars.insert("n", json!(3));
    /// let body = json!({"count": "${n}", "label": "n=${n}", "key": "${A.unseal_keys.0}"});
    /// let out = vars
    ///     .substitute(&body, |name| (name == "A.unseal_keys.0").then(|| json!("k0")))
    ///     .unwrap();
    /// assert_eq!(out, json!({"count": 3, "label": "n=3", "key": "k0"}));
    /// ```
    pub fn substitute<F>(&self, value: &Value, resolve: F) -> Result<Value, SubstError>
    where
        F: Fn(&str) -> Option<Value>,
    {
        self.substitute_value(value, &resolve)
    }

    fn substitute_value<F>(&self, value: &Value, resolve: &F) -> Result<Value, SubstError>
    where
        F: Fn(&str) -> Option<Value>,
    {
        Ok(match value {
            Value::String(s) if !s.contains("${") => value.clone(),
            Value::String(s) => match pieces(s)?.as_slice() {
                [Piece::Var(name)] => self.lookup(name, resolve)?,
                _ => Value::String(self.substitute_text(s, resolve)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.substitute_value(item, resolve))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(
                        self.substitute_text(k, resolve)?,
                        self.substitute_value(v, resolve)?,
                    );
                }
                Value::Object(out)
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
        })
    }
}

/// The value at a dotted `path` inside `value`, as `save` paths name it: `wrap_info.token`,
/// `data.secondaries.0.node_id` (a numeric segment indexes an array; on an object it is a key).
/// The empty path is `value` itself. `None` when any segment is absent.
///
/// ```
/// use replication_sim::scenario::dotted_get;
/// use serde_json::json;
/// let body = json!({"wrap_info": {"token": "s.abc"}, "keys": ["k0", "k1"]});
/// assert_eq!(dotted_get(&body, "wrap_info.token"), Some(&json!("s.abc")));
/// assert_eq!(dotted_get(&body, "keys.1"), Some(&json!("k1")));
/// assert_eq!(dotted_get(&body, "keys.2"), None);
/// ```
pub fn dotted_get<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    path.split('.')
        .try_fold(value, |current, segment| match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get(index)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.insert("tok", json!("s.abc"));
        v.insert("n", json!(42));
        v.insert("obj", json!({"a": [1, "x"]}));
        v.insert("nothing", Value::Null);
        v
    }

    fn none(_: &str) -> Option<Value> {
        None
    }

    #[test]
    fn exact_reference_keeps_the_json_type() {
        let v = vars();
        assert_eq!(v.substitute(&json!("${n}"), none), Ok(json!(42)));
        assert_eq!(v.substitute(&json!("${tok}"), none), Ok(json!("s.abc")));
        assert_eq!(
            v.substitute(&json!("${obj}"), none),
            Ok(json!({"a": [1, "x"]}))
        );
        assert_eq!(v.substitute(&json!("${nothing}"), none), Ok(Value::Null));
    }

    #[test]
    fn embedded_reference_uses_text() {
        let v = vars();
        assert_eq!(
            v.substitute(&json!("token=${tok}"), none),
            Ok(json!("token=s.abc"))
        );
        assert_eq!(v.substitute(&json!("${n}s"), none), Ok(json!("42s")));
        assert_eq!(
            v.substitute(&json!("${obj}!"), none),
            Ok(json!(r#"{"a":[1,"x"]}!"#))
        );
        assert_eq!(
            v.substitute(&json!("${tok}${n}"), none),
            Ok(json!("s.abc42"))
        );
        assert_eq!(v.substitute_str("${n}", none), Ok("42".to_string()));
    }

    #[test]
    fn substitutes_recursively_and_in_keys() {
        let v = vars();
        let input =
            json!({"token": "${tok}", "list": ["${n}", {"deep": "x-${tok}"}], "${tok}": 1, "k": 5});
        let out = v.substitute(&input, none);
        assert_eq!(
            out,
            Ok(json!({"token": "s.abc", "list": [42, {"deep": "x-s.abc"}], "s.abc": 1, "k": 5}))
        );
    }

    #[test]
    fn replacements_are_not_rescanned() {
        let mut v = Vars::new();
        v.insert("a", json!("${b}"));
        v.insert("b", json!("no"));
        assert_eq!(v.substitute(&json!("${a}"), none), Ok(json!("${b}")));
        assert_eq!(v.substitute(&json!("x${a}"), none), Ok(json!("x${b}")));
    }

    #[test]
    fn resolver_answers_for_unsaved_names_and_saved_names_win() {
        let v = vars();
        let resolve = |name: &str| match name {
            "A.unseal_keys.0" => Some(json!("share0")),
            "tok" => Some(json!("from-resolver")),
            _ => None,
        };
        assert_eq!(
            v.substitute(
                &json!({"key": "${A.unseal_keys.0}", "t": "${tok}"}),
                resolve
            ),
            Ok(json!({"key": "share0", "t": "s.abc"}))
        );
    }

    #[test]
    fn undefined_variable_is_named() {
        let v = vars();
        let err = v
            .substitute(&json!({"x": ["${missing}"]}), none)
            .unwrap_err();
        assert_eq!(
            err,
            SubstError::Undefined {
                name: "missing".into()
            }
        );
        assert_eq!(err.to_string(), "undefined variable ${missing}");
        assert!(v.substitute_str("a/${gone}/b", none).is_err());
    }

    #[test]
    fn malformed_references_are_refused() {
        let v = vars();
        assert!(matches!(
            v.substitute(&json!("a ${tok"), none),
            Err(SubstError::Unterminated { .. })
        ));
        assert!(matches!(
            v.substitute(&json!("${}"), none),
            Err(SubstError::EmptyName { .. })
        ));
        assert_eq!(placeholders("$tok {x} $"), Ok(vec![]));
    }

    #[test]
    fn placeholders_lists_names_in_order() {
        assert_eq!(
            placeholders("${a}/x/${b.c.0}${a}"),
            Ok(vec!["a", "b.c.0", "a"])
        );
        assert_eq!(
            placeholders_in(&json!({"k${x}": ["${y}", 1, {"z": "${z}"}]})),
            Ok(vec!["x", "y", "z"])
        );
    }

    #[test]
    fn dotted_get_walks_objects_and_arrays() {
        let body =
            json!({"wrap_info": {"token": "t"}, "data": {"list": [{"id": "s1"}], "0": "zero"}});
        assert_eq!(dotted_get(&body, "wrap_info.token"), Some(&json!("t")));
        assert_eq!(dotted_get(&body, "data.list.0.id"), Some(&json!("s1")));
        assert_eq!(dotted_get(&body, "data.0"), Some(&json!("zero")));
        assert_eq!(dotted_get(&body, ""), Some(&body));
        assert_eq!(dotted_get(&body, "data.list.1"), None);
        assert_eq!(dotted_get(&body, "data.list.x"), None);
        assert_eq!(dotted_get(&body, "wrap_info.token.more"), None);
        assert_eq!(dotted_get(&body, "nope"), None);
    }

    proptest! {
        #[test]
        fn substitution_never_panics(text in "[a-z$\\{\\}.0-9]{0,24}") {
            let v = vars();
            let _ = v.substitute(&Value::String(text.clone()), none);
            let _ = v.substitute_str(&text, none);
            let _ = placeholders(&text);
            let _ = dotted_get(&json!({"a": [1, {"b": 2}]}), &text);
        }

        #[test]
        fn text_without_references_is_unchanged(text in "[^$]{0,24}") {
            let v = vars();
            prop_assert_eq!(v.substitute(&Value::String(text.clone()), none), Ok(Value::String(text)));
        }
    }
}
