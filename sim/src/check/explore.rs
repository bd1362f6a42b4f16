//! The operator's menu for `explore`: instead of following a runbook, the checker picks each operator
//! action from a menu of scenario steps (enable, token, activate, promote, demote, update-primary,
//! disable, revoke, write), on every cluster and kind, whenever the action is legal or instructive
//! in the current state. This is bounded model checking of the protocol itself.
//!
//! Every menu entry is a scenario step (or two: a DR secondary's operations first generate a DR
//! operation token), built once as JSON and read by the scenario parser, so a counterexample is a
//! plain scenario file. Calls accept any status the API answers: a refused request is part of the
//! exploration, and the oracles judge what it did. Tokens are saved as `tok_KIND_PRIMARY_SECONDARY`
//! and used by the activate and update-primary entries; writes write `v1`, `v2`, ... to
//! `secret/k`.
//!
//! When an entry is offered (its guard), with X and Y two clusters and K a kind:
//!
//! | entry | offered when |
//! |---|---|
//! | enable K on X | X's K role is disabled |
//! | token K from X for Y | X is K primary (a new token replaces the saved one) |
//! | activate K on Y with X's token | X issued Y a K token and Y is not a K secondary |
//! | activate K on Y with the token X issued for Z (refused) | X issued Z a K token and Y is not a K secondary |
//! | promote K on Y | Y is a K secondary |
//! | promote DR on Y without an operation token (refused) | Y is a DR secondary |
//! | demote K on X | X is K primary |
//! | update-primary K on Y with X's token | Y is a K secondary and X issued Y a token |
//! | disable K on X | X's K role is not disabled |
//! | revoke K on X of Y | X is K primary and issued Y a token |
//! | write on X | X runs (a refused write, on a DR secondary say, is instructive) |

use crate::runner::Runner;
use crate::scenario::{parse_value, Scenario, StepSpec};
use replication_core::{Kind, Mode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// An operator action the menu may offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// `primary/enable`.
    Enable,
    /// `primary/secondary-token`.
    Token,
    /// `secondary/enable` with a saved token.
    Activate,
    /// `secondary/promote`.
    Promote,
    /// `primary/demote`.
    Demote,
    /// `secondary/update-primary` with a saved token.
    UpdatePrimary,
    /// `primary/disable` or `secondary/disable`.
    Disable,
    /// `primary/revoke-secondary`.
    Revoke,
    /// A client write.
    Write,
}

impl Action {
    /// Every action, in menu order.
    pub const ALL: [Action; 9] = [
        Action::Enable,
        Action::Token,
        Action::Activate,
        Action::Promote,
        Action::Demote,
        Action::UpdatePrimary,
        Action::Disable,
        Action::Revoke,
        Action::Write,
    ];

    /// The name `--ops` uses (`enable`, `update-primary`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Action::Enable => "enable",
            Action::Token => "token",
            Action::Activate => "activate",
            Action::Promote => "promote",
            Action::Demote => "demote",
            Action::UpdatePrimary => "update-primary",
            Action::Disable => "disable",
            Action::Revoke => "revoke",
            Action::Write => "write",
        }
    }

    /// The action called `name`.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// What to explore.
#[derive(Clone, Debug)]
pub struct Menu {
    /// How many clusters (named A, B, C, ...), 2 to 6.
    pub clusters: usize,
    /// Which replication kinds the actions use.
    pub kinds: Vec<Kind>,
    /// Which actions the menu offers.
    pub actions: BTreeSet<Action>,
    /// The world's seed.
    pub seed: u64,
    /// Treat the clusters no action has touched yet as interchangeable (see [`Entry::canonical`]).
    pub symmetry: bool,
}

impl Menu {
    /// What the menu holds, in words: `3 clusters, kinds dr,performance, actions enable,token`.
    pub fn describe(&self) -> String {
        let kinds: Vec<&str> = self.kinds.iter().map(|k| k.as_str()).collect();
        let actions: Vec<&str> = self.actions.iter().map(|a| a.name()).collect();
        format!(
            "{} clusters, kinds {}, actions {}",
            self.clusters,
            kinds.join(","),
            actions.join(",")
        )
    }
}

/// One menu entry: the steps it runs, and when it is offered.
pub struct Entry {
    /// What it does, for notes (`B promote dr`).
    pub label: String,
    /// Its scenario steps.
    pub steps: Vec<StepSpec>,
    /// The clusters it names, in name order.
    pub clusters: Vec<String>,
    guard: Guard,
}

/// When an entry is offered.
#[derive(Clone, Debug)]
enum Guard {
    /// `cluster`'s `kind` role is (or, with `not`, is not) in `mode`, and the variable, if any, is
    /// saved (or, with `unsaved`, is not).
    Role {
        cluster: String,
        kind: Kind,
        mode: Mode,
        not: bool,
        var: Option<(String, bool)>,
    },
    /// The cluster runs.
    Up(String),
}

impl Entry {
    /// Whether, with `touched` the clusters that earlier entries (or the checker's crashes and
    /// partitions) named, this entry is the one of its kind that symmetry keeps: the untouched
    /// clusters it names are the first untouched ones in name order.
    ///
    /// At the start every cluster of the menu's world is alike (same options, nothing done to it),
    /// and a cluster nobody has named since is still in that state. Renaming such clusters among
    /// themselves turns an execution into one that does the same thing, so of the entries that
    /// differ only by which untouched clusters they name, one is enough: `A enable dr primary`
    /// stands for `B enable dr primary` and `C enable dr primary` at the start. (What a renamed
    /// cluster draws at random differs; the model only compares such ids for equality.)
    pub fn canonical(&self, touched: &BTreeSet<String>, all: &[String]) -> bool {
        let fresh: BTreeSet<&String> = self
            .clusters
            .iter()
            .filter(|c| !touched.contains(*c))
            .collect();
        let first: BTreeSet<&String> = all
            .iter()
            .filter(|c| !touched.contains(*c))
            .take(fresh.len())
            .collect();
        fresh == first
    }

    /// Whether the entry is offered in the run's current state.
    pub fn offered(&self, runner: &Runner) -> bool {
        let world = runner.world();
        match &self.guard {
            Guard::Up(c) => world.is_up(c),
            Guard::Role {
                cluster,
                kind,
                mode,
                not,
                var,
            } => {
                let Some(c) = world.cluster(cluster) else {
                    return false;
                };
                let role = c.inspect(*kind).mode();
                let saved = |name: &str| runner.var(name).is_some_and(|v| !v.is_null());
                world.is_up(cluster)
                    && ((role == *mode) != *not)
                    && var.as_ref().is_none_or(|(name, want)| saved(name) == *want)
            }
        }
    }
}

/// The menu's world (clusters A, B, ... with the default mounts and settings) and its entries.
pub fn menu(m: &Menu) -> Result<(Scenario, Vec<Entry>), String> {
    if !(2..=6).contains(&m.clusters) {
        return Err(format!("--clusters {}: expected 2 to 6", m.clusters));
    }
    let names: Vec<String> = (0..m.clusters)
        .map(|i| char::from(b'A' + i as u8).to_string())
        .collect();
    let mut entries: Vec<(String, Vec<Value>, Guard, Vec<&String>)> = Vec::new();
    let has = |a: Action| m.actions.contains(&a);
    let any_status = json!([200, 204, 400, 403, 404, 500, 503]);
    let call = |c: &str, path: String, body: Value| json!({"call": c, "method": "POST", "path": path, "body": body, "expect": {"status": any_status}});
    let role =
        |c: &str, kind: Kind, mode: Mode, not: bool, var: Option<(String, bool)>| Guard::Role {
            cluster: c.to_string(),
            kind,
            mode,
            not,
            var,
        };
    let tok = |k: Kind, x: &str, y: &str| format!("tok_{}_{x}_{y}", short(k));
    // Tokens come first, so every `${tok...}` is saved earlier in file order (the parser checks).
    for &k in &m.kinds {
        let base = format!("sys/replication/{}", k.as_str());
        for x in &names {
            for y in names.iter().filter(|y| *y != x) {
                if has(Action::Token) {
                    let step = json!({"call": x, "method": "POST", "path": format!("{base}/primary/secondary-token"),
                        "body": {"id": y}, "save": {tok(k, x, y): "wrap_info.token"},
                        "expect": {"status": any_status}});
                    entries.push((
                        format!("{x} token {} for {y}", k.as_str()),
                        vec![step],
                        role(x, k, Mode::Primary, false, None),
                        vec![x, y],
                    ));
                }
            }
        }
    }
    for &k in &m.kinds {
        let base = format!("sys/replication/{}", k.as_str());
        let dr = k == Kind::Dr;
        // A DR secondary's operations carry a DR operation token generated just before.
        let with_op_token = |y: &str, steps: Vec<Value>| -> Vec<Value> {
            if dr {
                let mut v = vec![json!({"dr_operation_token": y, "save": format!("op_{y}")})];
                v.extend(steps);
                v
            } else {
                steps
            }
        };
        let op_body = |y: &str, mut body: Value| {
            if dr {
                body["dr_operation_token"] = json!(format!("${{op_{y}}}"));
            }
            body
        };
        for x in &names {
            let kn = k.as_str();
            if has(Action::Enable) {
                entries.push((
                    format!("{x} enable {kn} primary"),
                    vec![call(x, format!("{base}/primary/enable"), json!({}))],
                    role(x, k, Mode::Disabled, false, None),
                    vec![x],
                ));
            }
            if has(Action::Demote) {
                entries.push((
                    format!("{x} demote {kn}"),
                    vec![call(x, format!("{base}/primary/demote"), json!({}))],
                    role(x, k, Mode::Primary, false, None),
                    vec![x],
                ));
            }
            if has(Action::Promote) {
                entries.push((
                    format!("{x} promote {kn}"),
                    with_op_token(
                        x,
                        vec![call(
                            x,
                            format!("{base}/secondary/promote"),
                            op_body(x, json!({})),
                        )],
                    ),
                    role(x, k, Mode::Secondary, false, None),
                    vec![x],
                ));
            }
            if has(Action::Promote) && dr {
                // Refused, instructively: a DR promote without any DR authorisation.
                entries.push((
                    format!("{x} promote {kn} without an operation token"),
                    vec![call(x, format!("{base}/secondary/promote"), json!({}))],
                    role(x, k, Mode::Secondary, false, None),
                    vec![x],
                ));
            }
            if has(Action::Disable) {
                entries.push((
                    format!("{x} disable {kn} primary"),
                    vec![call(x, format!("{base}/primary/disable"), json!({}))],
                    role(x, k, Mode::Primary, false, None),
                    vec![x],
                ));
                entries.push((
                    format!("{x} disable {kn} secondary"),
                    with_op_token(
                        x,
                        vec![call(
                            x,
                            format!("{base}/secondary/disable"),
                            op_body(x, json!({})),
                        )],
                    ),
                    role(x, k, Mode::Secondary, false, None),
                    vec![x],
                ));
            }
            for y in names.iter().filter(|y| *y != x) {
                let t = tok(k, x, y);
                if has(Action::Activate) {
                    entries.push((
                        format!("{y} activate {kn} with {x}'s token"),
                        vec![call(
                            y,
                            format!("{base}/secondary/enable"),
                            json!({"token": format!("${{{t}}}")}),
                        )],
                        role(y, k, Mode::Secondary, true, Some((t.clone(), true))),
                        vec![y, x],
                    ));
                    // Refused, instructively: a token X issued for another secondary Z.
                    for z in names.iter().filter(|z| *z != x && *z != y) {
                        let other = tok(k, x, z);
                        entries.push((
                            format!("{y} activate {kn} with the token {x} issued for {z}"),
                            vec![call(
                                y,
                                format!("{base}/secondary/enable"),
                                json!({"token": format!("${{{other}}}")}),
                            )],
                            role(y, k, Mode::Secondary, true, Some((other, true))),
                            vec![y, x, z],
                        ));
                    }
                }
                if has(Action::UpdatePrimary) {
                    entries.push((
                        format!("{y} update-primary {kn} with {x}'s token"),
                        with_op_token(
                            y,
                            vec![call(
                                y,
                                format!("{base}/secondary/update-primary"),
                                op_body(y, json!({"token": format!("${{{t}}}")})),
                            )],
                        ),
                        role(y, k, Mode::Secondary, false, Some((t.clone(), true))),
                        vec![y, x],
                    ));
                }
                if has(Action::Revoke) {
                    entries.push((
                        format!("{x} revoke {kn} secondary {y}"),
                        vec![call(
                            x,
                            format!("{base}/primary/revoke-secondary"),
                            json!({"id": y}),
                        )],
                        role(x, k, Mode::Primary, false, Some((t, true))),
                        vec![x, y],
                    ));
                }
            }
        }
    }
    if has(Action::Write) {
        for x in &names {
            // The value is substituted at run time from nothing: each write's value is fixed by the
            // entry, so equal situations stay equal; one value per cluster.
            entries.push((
                format!("{x} write"),
                vec![json!({"write": x, "path": "secret/k", "value": format!("from-{x}"), "expect": "any"})],
                Guard::Up(x.clone()),
                vec![x],
            ));
        }
    }
    let clusters: serde_json::Map<String, Value> =
        names.iter().map(|n| (n.clone(), json!({}))).collect();
    let all_steps: Vec<Value> = entries.iter().flat_map(|(_, s, _, _)| s.clone()).collect();
    let doc = json!({"name": "explore", "seed": m.seed, "clusters": clusters, "steps": all_steps});
    let parsed = parse_value(&doc, None).map_err(|e| format!("the menu does not parse: {e}"))?;
    let mut steps = parsed.steps.clone().into_iter();
    let out = entries
        .into_iter()
        .map(|(label, s, guard, mut clusters)| {
            clusters.sort();
            Entry {
                label,
                steps: steps.by_ref().take(s.len()).collect(),
                clusters: clusters.into_iter().cloned().collect(),
                guard,
            }
        })
        .collect();
    let mut world = parsed;
    world.steps.clear();
    world.description = Some(format!("replication-sim explore: {}", m.describe()));
    Ok((world, out))
}

fn short(k: Kind) -> &'static str {
    match k {
        Kind::Dr => "dr",
        Kind::Performance => "perf",
    }
}
