//! The rules a scenario's shape cannot express, checked on the typed form.
//!
//! Clusters: names usable inside `${NAME.unseal_keys.N}`, a threshold Vault accepts. Mounts: paths
//! the model accepts, none listed twice or inside another. Steps: every cluster named is declared; partition groups are
//! non-empty and disjoint; `expect_same_data` compares two or more distinct clusters; hazards form a
//! set; loss causes add up to no more than the total; every `${name}` is well formed and names a
//! variable an earlier step saves or a cluster's unseal share.

use super::error::ScenarioError;
use super::model::{ClusterOptions, MountSpec};
use super::show_json;
use super::steps::{ReadExpect, Step};
use super::substitute::{placeholders, placeholders_in};
use crate::oracle::losses::MAX_CLUSTERS;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use unicode_normalization::UnicodeNormalization;

/// A broken rule: the key it is at (a dotted path from the top level, or from the step) and why.
#[derive(Debug)]
pub(super) struct Invalid {
    key: Option<String>,
    message: String,
}

impl Invalid {
    fn at_key(key: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            key: Some(key.into()),
            message: message.into(),
        }
    }

    /// The error, placed in `file` and (for a step's rules) at step `step`.
    pub(super) fn at(self, file: Option<&str>, step: Option<usize>) -> ScenarioError {
        ScenarioError {
            file: file.map(str::to_string),
            step,
            key: self.key,
            message: self.message,
        }
    }
}

type Checked = Result<(), Invalid>;

/// The cluster table: usable names, thresholds Vault accepts.
pub(super) fn clusters(clusters: &BTreeMap<String, ClusterOptions>) -> Checked {
    if clusters.len() > MAX_CLUSTERS {
        return Err(Invalid::at_key(
            "clusters",
            format!(
                "{} clusters; a scenario may have at most {MAX_CLUSTERS} (the loss oracle tracks which clusters hold each write in a {MAX_CLUSTERS}-bit mask)",
                clusters.len()
            ),
        ));
    }
    let mut hosts: BTreeMap<String, &str> = BTreeMap::new();
    for (name, options) in clusters {
        let key = format!("clusters.{name}");
        cluster_name(name).map_err(|m| Invalid::at_key(&key, m))?;
        // A cluster's addresses are its name in lower case (`https://a:8201` for `A`); names that
        // differ only in composed or decomposed accents print the same in every report.
        let normal: String = name.nfc().collect::<String>().to_lowercase();
        if let Some(other) = hosts.insert(normal, name) {
            return Err(Invalid::at_key(
                key,
                format!(
                    "clusters {other:?} and {name:?} are the same name but for letter case or accent encoding; their addresses or their lines in reports would be the same, so give them different names"
                ),
            ));
        }
        let (shares, threshold) = (options.shares(), options.threshold());
        let blame = if options.unseal_threshold.is_some() {
            format!("{key}.unseal_threshold")
        } else if options.unseal_shares.is_some() {
            format!("{key}.unseal_shares")
        } else {
            key.clone()
        };
        let defaults = match (options.unseal_shares, options.unseal_threshold) {
            (Some(_), Some(_)) => "",
            (None, _) => " (the default number of shares)",
            (_, None) => " (the default threshold)",
        };
        if threshold > shares {
            return Err(Invalid::at_key(
                blame,
                format!("a threshold of {threshold} is more than the {shares} shares{defaults}"),
            ));
        }
        if shares > 1 && threshold == 1 {
            return Err(Invalid::at_key(
                blame,
                format!(
                    "a threshold of 1 with {shares} shares{defaults}: Vault requires at least 2 when there is more than one share"
                ),
            ));
        }
    }
    Ok(())
}

/// A cluster name must be usable inside `${NAME.unseal_keys.N}`.
fn cluster_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a cluster name must not be empty".to_string());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!(
            "a cluster name must not contain the control character {c:?} (it would print raw in reports)"
        ));
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '.' | '$' | '{' | '}')) {
        return Err(format!(
            "a cluster name must not contain {c:?} (it would read as part of a ${{...}} reference)"
        ));
    }
    Ok(())
}

/// The starting mount table: no path twice, none inside another.
pub(super) fn mounts(mounts: &[MountSpec]) -> Checked {
    for (i, mount) in mounts.iter().enumerate() {
        let path = &mount.path;
        replication_core::check_mount_path(path)
            .map_err(|e| Invalid::at_key(format!("mounts.{i}.path"), e.to_string()))?;
        let earlier = mounts[..i]
            .iter()
            .find(|m| m.path.starts_with(path.as_str()) || path.starts_with(m.path.as_str()));
        if let Some(other) = earlier {
            let message = if other.path == *path {
                format!("mount {path:?} is listed twice")
            } else {
                format!(
                    "mounts {:?} and {path:?} overlap (Vault refuses a mount inside another)",
                    other.path
                )
            };
            return Err(Invalid::at_key(format!("mounts.{i}.path"), message));
        }
    }
    Ok(())
}

/// One step's rules; `saved` holds the variables earlier steps save.
pub(super) fn step(
    step: &Step,
    clusters: &BTreeMap<String, ClusterOptions>,
    saved: &BTreeSet<String>,
) -> Checked {
    let known = |key: String, name: &str| -> Checked {
        if clusters.contains_key(name) {
            return Ok(());
        }
        let declared: Vec<&str> = clusters.keys().map(String::as_str).collect();
        let declared = if declared.is_empty() {
            "none are declared".to_string()
        } else {
            declared.join(", ")
        };
        Err(Invalid::at_key(
            key,
            format!("unknown cluster {name:?} (clusters: {declared})"),
        ))
    };
    match step {
        Step::Partition(p) => {
            if p.groups.is_empty() {
                return Err(Invalid::at_key(
                    "partition",
                    r#"expected at least one group (to remove partitions use {"heal": true})"#,
                ));
            }
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            for (g, group) in p.groups.iter().enumerate() {
                if group.is_empty() {
                    return Err(Invalid::at_key(
                        format!("partition.{g}"),
                        "a group must name at least one cluster",
                    ));
                }
                for (m, name) in group.iter().enumerate() {
                    let key = format!("partition.{g}.{m}");
                    known(key.clone(), name)?;
                    if !seen.insert(name) {
                        return Err(Invalid::at_key(
                            key,
                            format!("cluster {name:?} is in more than one group"),
                        ));
                    }
                }
            }
        }
        Step::ExpectSameData(e) => {
            for (i, name) in e.clusters.iter().enumerate() {
                let key = format!("expect_same_data.{i}");
                known(key.clone(), name)?;
                if e.clusters[..i].contains(name) {
                    return Err(Invalid::at_key(
                        key,
                        format!("cluster {name:?} is listed twice"),
                    ));
                }
            }
            if e.clusters.len() < 2 {
                return Err(Invalid::at_key(
                    "expect_same_data",
                    format!(
                        "expected two or more cluster names, got {}",
                        show_json(&serde_json::json!(e.clusters))
                    ),
                ));
            }
        }
        Step::Link(l) => {
            let (from, to) = (&l.from, &l.to);
            let verb = l.verb();
            known(format!("{verb}.from"), from)?;
            known(format!("{verb}.to"), to)?;
            if from == to {
                return Err(Invalid::at_key(
                    verb,
                    format!("a link joins two clusters; {from:?} -> {to:?} is none"),
                ));
            }
        }
        Step::ExpectHazards(h) => {
            for (i, hazard) in h.hazards.iter().enumerate() {
                if h.hazards[..i].contains(hazard) {
                    return Err(Invalid::at_key(
                        format!("expect_hazards.{i}"),
                        format!("hazard {hazard:?} is listed twice (the expectation is a set)"),
                    ));
                }
            }
        }
        Step::ExpectLosses(e) => {
            let sum = e
                .losses
                .by_cause
                .values()
                .fold(0u64, |sum, n| sum.saturating_add(*n));
            if sum > e.losses.total {
                return Err(Invalid::at_key(
                    "expect_losses.by_cause",
                    format!(
                        "the causes add up to {sum}, more than the total of {}",
                        e.losses.total
                    ),
                ));
            }
        }
        other => {
            if let Some(cluster) = other.cluster() {
                known(other.verb().to_string(), cluster)?;
            }
        }
    }
    references(step, clusters, saved)
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
        Step::Call(c) => {
            out.push(("path", Text(c.path.as_str())));
            if let Some(body) = &c.body {
                out.push(("body", Json(body)));
            }
            if let Some(body) = &c.expect.body {
                out.push(("expect.body", Json(body)));
            }
        }
        Step::Write(w) => {
            out.push(("path", Text(w.path.as_str())));
            out.push(("value", Json(&w.value)));
        }
        Step::Read(r) => {
            out.push(("path", Text(r.path.as_str())));
            if let ReadExpect::Value(Some(v)) = &r.expect {
                out.push(("expect.value", Json(v)));
            }
        }
        Step::Delete(d) => out.push(("path", Text(d.path.as_str()))),
        Step::Mount(m) => out.push(("path", Text(m.path.as_str()))),
        Step::ExpectStatus(e) => out.push(("matches", Json(&e.matches))),
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

/// Every `${name}` of `step` is well formed and names a variable some earlier step saves or a
/// cluster's unseal share.
fn references(
    step: &Step,
    clusters: &BTreeMap<String, ClusterOptions>,
    saved: &BTreeSet<String>,
) -> Checked {
    for (key, template) in templates(step) {
        let names = match template {
            Template::Text(s) => placeholders(s),
            Template::Json(v) => placeholders_in(v),
        }
        .map_err(|e| Invalid::at_key(key, e.to_string()))?;
        for name in names {
            if saved.contains(name) || is_builtin(name, clusters) {
                continue;
            }
            let so_far: Vec<&str> = saved.iter().map(String::as_str).collect();
            let so_far = if so_far.is_empty() {
                "no earlier step saves anything".to_string()
            } else {
                format!("saved so far: {}", so_far.join(", "))
            };
            let first = name.split('.').next().unwrap_or(name);
            let hint = if clusters.contains_key(first) {
                format!("; a cluster's unseal shares are written ${{{first}.unseal_keys.0}}")
            } else {
                String::new()
            };
            return Err(Invalid::at_key(
                key,
                format!("${{{name}}} is not saved by any earlier step ({so_far}){hint}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
