//! From JSON text to a validated [`Scenario`], or a [`ScenarioError`] naming the file, the step and the key.
//!
//! Checks, beyond the shape of each key: no unknown key anywhere; exactly one verb key per step
//! ([`super::steps`]); every cluster a step names is declared in `clusters`; no key appears twice in one
//! JSON object ([`super::strict_json`]); every `${name}` in a step is well formed and names either a
//! variable saved by an earlier step or a cluster's unseal share (`${A.unseal_keys.0}`). Nothing here
//! panics, whatever the input.

use super::error::ScenarioError;
use super::fields::{Ctx, Field, Obj};
use super::model::{ClusterOptions, Config, MountSpec, Scenario};
use super::show_json;
use super::steps::{check_references, parse_step};
use super::strict_json;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Keys of the top-level object.
const TOP_KEYS: [&str; 7] = [
    "name",
    "description",
    "seed",
    "clusters",
    "mounts",
    "config",
    "steps",
];

/// Reads and parses the scenario file at `path`; errors name the file as `path` displays.
pub fn parse_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::file_level(Some(&file), format!("cannot read the file: {e}"))
    })?;
    parse_str(&text, Some(&file))
}

/// Parses scenario JSON text. `file` names the source in errors and gives the default `name`.
///
/// ```
/// use replication_sim::scenario::{parse_str, Step};
/// let text = r#"{"name": "t", "clusters": {"A": {}}, "steps": [{"write": "A", "path": "secret/x", "value": "v1"}]}"#;
/// let scenario = parse_str(text, Some("t.json")).unwrap();
/// assert!(matches!(scenario.steps[0].step, Step::Write { .. }));
///
/// let bad = r#"{"clusters": {"A": {}}, "steps": [{"write": "B", "path": "secret/x", "value": 1}]}"#;
/// let err = parse_str(bad, Some("t.json")).unwrap_err();
/// assert_eq!(err.to_string(), r#"t.json: step 1: key "write": unknown cluster "B" (clusters: A)"#);
/// ```
pub fn parse_str(text: &str, file: Option<&str>) -> Result<Scenario, ScenarioError> {
    let value = strict_json::from_str(text)
        .map_err(|e| ScenarioError::file_level(file, format!("not valid JSON: {e}")))?;
    parse_value(&value, file)
}

/// Validates an already-decoded JSON document (duplicate keys can no longer be seen here; use
/// [`parse_str`] for text).
pub fn parse_value(value: &Value, file: Option<&str>) -> Result<Scenario, ScenarioError> {
    let ctx = Ctx { file, step: None };
    let Value::Object(map) = value else {
        return Err(ScenarioError::file_level(
            file,
            format!(
                "expected a JSON object at the top level, got {}",
                show_json(value)
            ),
        ));
    };
    let top = Obj {
        ctx,
        prefix: String::new(),
        map,
    };
    top.only(&TOP_KEYS, "the top level")?;

    let name = match top.get("name") {
        Some(f) => f.non_empty_str()?.to_string(),
        None => default_name(file),
    };
    let description = top
        .get("description")
        .map(|f| f.str().map(str::to_string))
        .transpose()?;
    let seed = top.get("seed").map(|f| f.u64()).transpose()?.unwrap_or(0);
    let clusters = parse_clusters(&top.require("clusters", "a scenario needs it")?)?;
    let mounts = match top.get("mounts") {
        Some(f) => parse_mounts(&f)?,
        None => MountSpec::defaults(),
    };
    let config = match top.get("config") {
        Some(f) => parse_config(&f)?,
        None => Config::default(),
    };
    let steps_field = top.require("steps", "a scenario needs it")?;
    let mut defined: BTreeSet<String> = BTreeSet::new();
    let mut steps = Vec::new();
    for (i, item) in steps_field.array()?.iter().enumerate() {
        let ctx = Ctx {
            file,
            step: Some(i + 1),
        };
        let spec = parse_step(ctx, item, &clusters)?;
        check_references(ctx, &spec.step, &clusters, &defined)?;
        defined.extend(spec.step.saves().into_iter().map(str::to_string));
        steps.push(spec);
    }

    Ok(Scenario {
        name,
        description,
        seed,
        clusters,
        mounts,
        config,
        steps,
    })
}

/// The name of a scenario whose file gives none: the file's stem, or `scenario`.
fn default_name(file: Option<&str>) -> String {
    file.and_then(|f| Path::new(f).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "scenario".to_string())
}

/// A cluster name must be usable inside `${NAME.unseal_keys.N}`.
fn check_cluster_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a cluster name must not be empty".to_string());
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '.' | '$' | '{' | '}')) {
        return Err(format!(
            "a cluster name must not contain {c:?} (it would read as part of a ${{...}} reference)"
        ));
    }
    Ok(())
}

fn parse_clusters(field: &Field<'_>) -> Result<BTreeMap<String, ClusterOptions>, ScenarioError> {
    let obj = field.object("an object of cluster names to options, like {\"A\": {}}")?;
    let mut clusters = BTreeMap::new();
    for (name, value) in obj.map {
        let f = field.child(name, value);
        check_cluster_name(name).map_err(|m| f.err(m))?;
        let opts = f.object("an object of cluster options ({} for the defaults)")?;
        opts.only(
            &["unseal_shares", "unseal_threshold"],
            "a cluster's options",
        )?;
        let count = |key: &str| -> Result<Option<u8>, ScenarioError> {
            opts.get(key)
                .map(|f| match f.value.as_u64() {
                    Some(n @ 1..=255) => Ok(n as u8),
                    _ => Err(f.expected("an integer from 1 to 255")),
                })
                .transpose()
        };
        let options = ClusterOptions {
            unseal_shares: count("unseal_shares")?,
            unseal_threshold: count("unseal_threshold")?,
        };
        let shares = options.shares();
        let threshold = options.threshold();
        let blame = opts
            .get("unseal_threshold")
            .or_else(|| opts.get("unseal_shares"))
            .unwrap_or_else(|| f.clone());
        let defaults = match (options.unseal_shares, options.unseal_threshold) {
            (Some(_), Some(_)) => "",
            (None, _) => " (the default number of shares)",
            (_, None) => " (the default threshold)",
        };
        if threshold > shares {
            return Err(blame.err(format!(
                "a threshold of {threshold} is more than the {shares} shares{defaults}"
            )));
        }
        if shares > 1 && threshold == 1 {
            return Err(blame.err(format!(
                "a threshold of 1 with {shares} shares{defaults}: Vault requires at least 2 when there is more than one share"
            )));
        }
        clusters.insert(name.clone(), options);
    }
    Ok(clusters)
}

fn parse_mounts(field: &Field<'_>) -> Result<Vec<MountSpec>, ScenarioError> {
    let mut mounts: Vec<MountSpec> = Vec::new();
    for item in field.items()? {
        let obj = item.object("a mount such as {\"path\": \"secret/\"}")?;
        obj.only(&["path", "local"], "a mount")?;
        let path_field = obj.require("path", "a mount needs a path such as \"secret/\"")?;
        let mut path = path_field.non_empty_str()?.to_string();
        if !path.ends_with('/') {
            path.push('/');
        }
        if let Some(other) = mounts
            .iter()
            .find(|m| m.path.starts_with(&path) || path.starts_with(&m.path))
        {
            let message = if other.path == path {
                format!("mount {path:?} is listed twice")
            } else {
                format!(
                    "mounts {:?} and {path:?} overlap (Vault refuses a mount inside another)",
                    other.path
                )
            };
            return Err(path_field.err(message));
        }
        let local = obj
            .get("local")
            .map(|f| f.bool())
            .transpose()?
            .unwrap_or(false);
        mounts.push(MountSpec { path, local });
    }
    Ok(mounts)
}

fn parse_config(field: &Field<'_>) -> Result<Config, ScenarioError> {
    let obj = field.object("an object of model settings")?;
    obj.only(
        &[
            "heartbeat_interval",
            "log_shipper_buffer",
            "forwarding_timeout",
        ],
        "config",
    )?;
    let mut config = Config::default();
    if let Some(f) = obj.get("heartbeat_interval") {
        config.heartbeat_interval = f.duration()?;
        if config.heartbeat_interval.is_zero() {
            return Err(f.err("the heartbeat interval must be longer than zero"));
        }
    }
    if let Some(f) = obj.get("log_shipper_buffer") {
        config.log_shipper_buffer = match f.value.as_u64().map(usize::try_from) {
            Some(Ok(n)) if n > 0 => n,
            _ => return Err(f.expected("a positive integer (entries kept by the log shipper)")),
        };
    }
    if let Some(f) = obj.get("forwarding_timeout") {
        let timeout = f.duration()?;
        if timeout.is_zero() {
            return Err(f.err("the forwarding timeout must be longer than zero"));
        }
        config.forwarding_timeout = Some(timeout);
    }
    Ok(config)
}
