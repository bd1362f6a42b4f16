//! The one error a scenario file can be refused with.

use std::fmt;

/// Why a scenario file is unusable: where (file, step, key) and what is wrong.
///
/// Displays as `fixtures/x.json: step 3: key "expect": expected "ok", "error" or an object`; parts that
/// do not apply are left out (a file-level error has no step, a JSON syntax error has no key).
/// The runner exits with status 2 on any of these.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ScenarioError {
    /// The file the scenario came from, when it came from one.
    pub file: Option<String>,
    /// The 1-based index of the offending step in `steps`, when the problem is inside a step.
    pub step: Option<usize>,
    /// The offending key: a dotted path from the step (or from the top level of the file when `step` is
    /// `None`), such as `expect.stauts`, `clusters.C.unseal_shares` or `mounts.1.local`.
    pub key: Option<String>,
    /// What is wrong, in words a scenario author can act on.
    pub message: String,
}

impl ScenarioError {
    /// An error about the file as a whole (no step, no key).
    pub fn file_level(file: Option<&str>, message: impl Into<String>) -> Self {
        ScenarioError {
            file: file.map(str::to_string),
            step: None,
            key: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if let Some(step) = self.step {
            write!(f, "step {step}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "key {key:?}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_step_and_key() {
        let e = ScenarioError {
            file: Some("fixtures/x.json".into()),
            step: Some(3),
            key: Some("expect".into()),
            message: r#"expected "ok", "error" or an object"#.into(),
        };
        assert_eq!(
            e.to_string(),
            r#"fixtures/x.json: step 3: key "expect": expected "ok", "error" or an object"#
        );
    }

    #[test]
    fn display_leaves_out_missing_parts() {
        let e = ScenarioError::file_level(Some("a.json"), "not JSON");
        assert_eq!(e.to_string(), "a.json: not JSON");
        let e = ScenarioError {
            file: None,
            step: None,
            key: Some("seed".into()),
            message: "expected a non-negative integer".into(),
        };
        assert_eq!(
            e.to_string(),
            r#"key "seed": expected a non-negative integer"#
        );
    }
}
