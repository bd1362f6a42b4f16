//! Abstract fuzz events and how each becomes a concrete scenario step against the current world.
//!
//! An event names clusters by index and operator choices by number; [`materialize`] resolves them
//! against the world (which clusters are primaries, which tokens were saved, ...) into a step of the
//! scenario contract, mostly valid for the current state. Because both the seeded fuzzer and proptest
//! strategies produce [`FuzzEvent`]s, every failure is replayable as a scenario file.

use crate::world::World;
use replication_core::{Kind, Mode, Role};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One abstract event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FuzzEvent {
    /// A client write of a fresh value to key `key` of mount `mount`.
    Write {
        /// Cluster index.
        cluster: u8,
        /// Mount index.
        mount: u8,
        /// Key index.
        key: u8,
    },
    /// A client delete.
    Delete {
        /// Cluster index.
        cluster: u8,
        /// Mount index.
        mount: u8,
        /// Key index.
        key: u8,
    },
    /// A client read.
    Read {
        /// Cluster index.
        cluster: u8,
        /// Mount index.
        mount: u8,
        /// Key index.
        key: u8,
    },
    /// A client mount of an extra (possibly local) mount.
    Mount {
        /// Cluster index.
        cluster: u8,
        /// Local mount.
        local: bool,
    },
    /// Virtual time passes.
    Advance {
        /// Milliseconds.
        millis: u32,
    },
    /// A mostly valid operator request.
    Operator {
        /// Cluster index.
        cluster: u8,
        /// DR (false) or performance (true).
        performance: bool,
        /// Which of the candidate operations.
        choice: u8,
        /// A coin for variants (force, empty token, deny/allow...).
        flag: bool,
    },
    /// An invalid or garbage operator request.
    Garbage {
        /// Cluster index.
        cluster: u8,
        /// Which garbage.
        choice: u8,
    },
    /// A partition: clusters whose bit is set form one group.
    Partition {
        /// Bit mask over cluster indexes.
        mask: u8,
    },
    /// Remove partitions.
    Heal,
    /// A cluster crashes.
    Crash {
        /// Cluster index.
        cluster: u8,
    },
    /// A crashed cluster restarts.
    Restart {
        /// Cluster index.
        cluster: u8,
    },
    /// A cluster's Merkle index is corrupted.
    Corrupt {
        /// Cluster index.
        cluster: u8,
    },
    /// Message faults at a level (0 = off).
    Faults {
        /// 0..=3.
        level: u8,
    },
}

/// Mounts every fuzz world starts with.
pub const MOUNTS: [(&str, bool); 3] = [("secret/", false), ("team/", false), ("local/", true)];

/// Keys per mount.
pub const KEYS: u8 = 8;

/// A saved activation token.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SavedToken {
    var: String,
    kind: Kind,
    issuer: String,
    id: String,
}

/// What the generator remembers between events: saved variables and counters.
#[derive(Clone, Debug, Default)]
pub struct GenState {
    tokens: Vec<SavedToken>,
    op_tokens: BTreeMap<String, String>,
    counter: u64,
}

fn call(cluster: &str, method: &str, path: &str, body: Value) -> Value {
    json!({
        "call": cluster, "method": method, "path": path, "body": body,
        "expect": {"status": [200, 204, 400, 403, 404, 405, 503]}
    })
}

/// `body` with `key` set to `value` (when given); `body` must be an object.
fn with_entry(body: Value, key: &str, value: Option<String>) -> Value {
    match value {
        Some(v) => with_value(body, key, Value::String(v)),
        None => body,
    }
}

/// `obj` with `key` set to `value`.
fn with_value(obj: Value, key: &str, value: Value) -> Value {
    match obj {
        Value::Object(mut m) => {
            m.insert(key.to_string(), value);
            Value::Object(m)
        }
        other => other,
    }
}

fn kind_path(kind: Kind) -> &'static str {
    match kind {
        Kind::Dr => "sys/replication/dr",
        Kind::Performance => "sys/replication/performance",
    }
}

impl GenState {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    /// The concrete step for `event` in `world`, or `None` when it does not apply (e.g. restart of a
    /// running cluster).
    pub fn materialize(&mut self, event: &FuzzEvent, world: &World) -> Option<Value> {
        let names: Vec<&String> = world.nodes.keys().collect();
        let pick = |i: u8| names[i as usize % names.len()].clone();
        let key = |m: u8, k: u8| format!("{}k{}", MOUNTS[m as usize % MOUNTS.len()].0, k % KEYS);
        match event {
            FuzzEvent::Write {
                cluster,
                mount,
                key: k,
            } => {
                let v = self.fresh("v");
                Some(
                    json!({"write": pick(*cluster), "path": key(*mount, *k), "value": v, "expect": "any"}),
                )
            }
            FuzzEvent::Delete {
                cluster,
                mount,
                key: k,
            } => Some(json!({"delete": pick(*cluster), "path": key(*mount, *k), "expect": "any"})),
            FuzzEvent::Read {
                cluster,
                mount,
                key: k,
            } => Some(json!({"read": pick(*cluster), "path": key(*mount, *k), "expect": "any"})),
            FuzzEvent::Mount { cluster, local } => {
                let m = self.fresh("m");
                Some(
                    json!({"mount": pick(*cluster), "path": format!("{m}/"), "local": local, "expect": "any"}),
                )
            }
            FuzzEvent::Advance { millis } => {
                Some(json!({"advance": format!("{}ms", millis.max(&1))}))
            }
            FuzzEvent::Partition { mask } => {
                let group: Vec<String> = names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
                    .map(|(_, n)| (*n).clone())
                    .collect();
                if group.is_empty() || group.len() == names.len() {
                    return None;
                }
                Some(json!({"partition": [group]}))
            }
            FuzzEvent::Heal => Some(json!({"heal": true})),
            FuzzEvent::Crash { cluster } => {
                let c = pick(*cluster);
                world.is_up(&c).then(|| json!({"crash": c}))
            }
            FuzzEvent::Restart { cluster } => {
                let down: Vec<&&String> = names.iter().filter(|n| !world.is_up(n)).collect();
                let c = down.get(*cluster as usize % down.len().max(1))?;
                Some(json!({"restart": c}))
            }
            FuzzEvent::Corrupt { cluster } => Some(json!({"corrupt_merkle": pick(*cluster)})),
            FuzzEvent::Faults { level } => Some(match level % 4 {
                0 => json!({"faults": "off"}),
                1 => {
                    json!({"faults": {"drop": 0.02, "duplicate": 0.02, "reorder": 0.02, "delay": 0.02}})
                }
                2 => {
                    json!({"faults": {"drop": 0.05, "duplicate": 0.05, "reorder": 0.05, "delay": 0.05}})
                }
                _ => {
                    json!({"faults": {"drop": 0.1, "duplicate": 0.1, "reorder": 0.1, "delay": 0.1}})
                }
            }),
            FuzzEvent::Garbage { cluster, choice } => Some(self.garbage(&pick(*cluster), *choice)),
            FuzzEvent::Operator {
                cluster,
                performance,
                choice,
                flag,
            } => {
                let kind = if *performance {
                    Kind::Performance
                } else {
                    Kind::Dr
                };
                let c = pick(*cluster);
                let mut options = self.operator_options(world, &c, kind, *flag);
                if options.is_empty() {
                    return None;
                }
                let i = *choice as usize % options.len();
                Some(options.swap_remove(i))
            }
        }
    }

    fn garbage(&mut self, c: &str, choice: u8) -> Value {
        match choice % 8 {
            0 => call(
                c,
                "POST",
                "sys/replication/dr/primary/frobnicate",
                json!({}),
            ),
            1 => call(c, "PATCH", "sys/replication/dr/primary/enable", json!({})),
            2 => call(
                c,
                "POST",
                "sys/replication/performance/secondary/enable",
                json!({"token": "v1.garbage.token"}),
            ),
            3 => call(
                c,
                "POST",
                "sys/replication/dr/primary/secondary-token",
                json!({"id": "", "ttl": "-5s"}),
            ),
            4 => call(
                c,
                "POST",
                "sys/replication/dr/secondary/promote",
                json!({"dr_operation_token": "dr.forged-token-0000000"}),
            ),
            5 => call(
                c,
                "POST",
                "sys/replication/performance/primary/revoke-secondary",
                json!({"id": ["not", "a", "string"]}),
            ),
            6 => call(
                c,
                "POST",
                "sys/replication/dr/secondary/update-primary",
                json!({"dr_operation_token": "nope", "update_primary_addrs": ["https://nowhere:8201"]}),
            ),
            _ => call(c, "POST", "sys/replication/dr/secondary/disable", json!({})),
        }
    }

    fn operator_options(&mut self, world: &World, c: &str, kind: Kind, flag: bool) -> Vec<Value> {
        let Some(cluster) = world.cluster(c) else {
            return vec![];
        };
        let base = kind_path(kind);
        let mode = cluster.mode(kind);
        let mut out = vec![];
        let dr_secondary = cluster.role(Kind::Dr).mode() == Mode::Secondary;
        match mode {
            Mode::Disabled => {
                let live_primary = world
                    .nodes
                    .values()
                    .any(|n| n.up && n.cluster.mode(kind) == Mode::Primary);
                if !live_primary || flag {
                    out.push(call(
                        c,
                        "POST",
                        &format!("{base}/primary/enable"),
                        json!({}),
                    ));
                }
                let usable: Vec<SavedToken> = self
                    .tokens
                    .iter()
                    .filter(|t| t.kind == kind && t.issuer != c)
                    .cloned()
                    .collect();
                // Joining a set is the common path: weight it over enabling yet another primary.
                for t in usable.iter().rev().take(2) {
                    let enable = call(
                        c,
                        "POST",
                        &format!("{base}/secondary/enable"),
                        json!({"token": format!("${{{}}}", t.var)}),
                    );
                    out.extend([enable.clone(), enable.clone(), enable]);
                }
            }
            Mode::Primary => {
                let var = self.fresh("tok");
                let id = format!("{}-{}", c, var);
                self.tokens.push(SavedToken {
                    var: var.clone(),
                    kind,
                    issuer: c.to_string(),
                    id: id.clone(),
                });
                let mut save = serde_json::Map::new();
                save.insert(var.clone(), Value::String("wrap_info.token".into()));
                let v = with_value(
                    call(
                        c,
                        "POST",
                        &format!("{base}/primary/secondary-token"),
                        json!({"id": id}),
                    ),
                    "save",
                    Value::Object(save),
                );
                out.extend([v.clone(), v.clone(), v]);
                if let Role::Primary(p) = cluster.role(kind) {
                    if let Some(id) = p.secondaries.keys().next() {
                        if flag {
                            out.push(call(
                                c,
                                "POST",
                                &format!("{base}/primary/revoke-secondary"),
                                json!({"id": id}),
                            ));
                        }
                        if kind == Kind::Performance {
                            let mode = if flag { "deny" } else { "allow" };
                            out.push(call(
                                c,
                                "POST",
                                &format!("{base}/primary/paths-filter/{id}"),
                                json!({"mode": mode, "paths": ["team/"]}),
                            ));
                            out.push(call(
                                c,
                                "DELETE",
                                &format!("{base}/primary/paths-filter/{id}"),
                                json!({}),
                            ));
                        }
                    }
                }
                if flag {
                    out.push(call(
                        c,
                        "POST",
                        &format!("{base}/primary/demote"),
                        json!({}),
                    ));
                    out.push(call(
                        c,
                        "POST",
                        &format!("{base}/primary/disable"),
                        json!({}),
                    ));
                }
                out.push(call(c, "POST", "sys/replication/recover", json!({})));
            }
            Mode::Secondary => {
                let op = self.op_tokens.get(c).cloned();
                if kind == Kind::Dr && op.is_none() {
                    if !world.is_up(c) {
                        return vec![];
                    }
                    let var = self.fresh("op");
                    self.op_tokens.insert(c.to_string(), var.clone());
                    out.push(json!({"dr_operation_token": c, "save": var}));
                    return out;
                }
                let token = match kind {
                    Kind::Dr => op.clone(),
                    Kind::Performance => None,
                };
                let auth = |body: Value| {
                    with_entry(
                        body,
                        "dr_operation_token",
                        token.as_deref().map(|v| format!("${{{v}}}")),
                    )
                };
                // Promotion is occasional (a flag, or one time in eight).
                if flag || self.counter % 8 == 0 {
                    out.push(call(
                        c,
                        "POST",
                        &format!("{base}/secondary/promote"),
                        auth(json!({"force": flag})),
                    ));
                }
                let same_kind: Vec<SavedToken> = self
                    .tokens
                    .iter()
                    .filter(|t| t.kind == kind && t.issuer != c)
                    .cloned()
                    .collect();
                if let Some(t) = same_kind.last() {
                    out.push(call(
                        c,
                        "POST",
                        &format!("{base}/secondary/update-primary"),
                        auth(json!({"token": format!("${{{}}}", t.var)})),
                    ));
                }
                if flag {
                    out.push(call(
                        c,
                        "POST",
                        &format!("{base}/secondary/update-primary"),
                        auth(json!({"token": ""})),
                    ));
                    out.push(call(
                        c,
                        "POST",
                        &format!("{base}/secondary/disable"),
                        auth(json!({})),
                    ));
                }
                let recover = if kind == Kind::Dr {
                    "sys/replication/dr/secondary/recover"
                } else {
                    "sys/replication/recover"
                };
                out.push(call(c, "POST", recover, auth(json!({}))));
                let reindex = if kind == Kind::Dr {
                    "sys/replication/dr/secondary/reindex"
                } else {
                    "sys/replication/reindex"
                };
                out.push(call(c, "POST", reindex, auth(json!({}))));
            }
            Mode::Bootstrapping => {}
        }
        if dr_secondary && kind == Kind::Performance {
            out.clear();
        }
        out
    }

    /// Steps that end the chaos: faults off, partitions healed, crashed clusters restarted, corrupted
    /// indexes rebuilt (the operator's repair), then time to settle.
    pub fn heal_steps(&mut self, world: &World, settle: &str) -> Vec<Value> {
        let mut out = vec![json!({"faults": "off"}), json!({"heal": true})];
        for n in world.names() {
            if !world.is_up(&n) {
                out.push(json!({"restart": n}));
            }
        }
        for (name, node) in &world.nodes {
            if !node.cluster.storage().index_corrupted() {
                continue;
            }
            if node.cluster.role(Kind::Dr).mode() == Mode::Secondary {
                let var = self.fresh("op");
                out.push(json!({"dr_operation_token": name, "save": var}));
                out.push(call(
                    name,
                    "POST",
                    "sys/replication/dr/secondary/reindex",
                    json!({"dr_operation_token": format!("${{{var}}}")}),
                ));
            } else {
                out.push(call(name, "POST", "sys/replication/reindex", json!({})));
            }
        }
        out.push(json!({"advance": settle}));
        out
    }
}
