//! Abstract fuzz events and how each becomes a concrete scenario step against the current world.
//!
//! An event names clusters by index and operator choices by number; [`GenState::materialize`] resolves
//! them against the world (which clusters are primaries, which tokens were saved, ...) into a typed step
//! of the scenario contract, mostly valid for the current state. Every step it builds is one a scenario
//! file can hold ([`crate::scenario::StepSpec::to_json`] writes it; parsing gives it back), so whether the
//! seeded fuzzer or a proptest strategy produced the events, every failure replays as a scenario file.

use crate::scenario::{
    Advance, Call, CallExpect, ClientExpect, CorruptMerkle, Crash, Delete, DrOperationToken,
    FaultRates, Faults, Heal, Mount, Partition, Read, ReadExpect, Restart, StatusExpect, Step,
    Write,
};
use crate::world::World;
use replication_api::Caller;
use replication_core::{Duration, Kind, Mode};
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

/// Statuses a generated operator call accepts: any answer the API gives to a well-formed or garbage
/// request. The oracles, not the statuses, judge the run.
const ANY_STATUS: [u16; 7] = [200, 204, 400, 403, 404, 405, 503];

/// A saved activation token.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SavedToken {
    var: String,
    kind: Kind,
    issuer: String,
}

/// What the generator remembers between events: saved variables and counters.
#[derive(Clone, Debug, Default)]
pub struct GenState {
    tokens: Vec<SavedToken>,
    op_tokens: BTreeMap<String, String>,
    counter: u64,
}

/// A sudo `call` step accepting any status.
fn call(cluster: &str, method: &str, path: impl Into<String>, body: Value) -> Step {
    Step::Call(Call {
        cluster: cluster.to_string(),
        method: method.to_string(),
        path: path.into(),
        body: Some(body),
        as_: Caller::Sudo,
        expect: CallExpect {
            status: StatusExpect::OneOf(ANY_STATUS.to_vec()),
            body: None,
        },
        save: BTreeMap::new(),
    })
}

/// `body` (an object) with `dr_operation_token` set to `token`, when there is one.
///
/// A plain function, called directly, on purpose: a closure that takes a JSON object by value and
/// mutates it in place is miscompiled by rustc 1.95 at opt-level 3 when called twice (a double free;
/// rust-lang/rust#155241).
fn with_token(body: Value, token: Option<&str>) -> Value {
    match (body, token) {
        (Value::Object(mut m), Some(t)) => {
            m.insert("dr_operation_token".into(), Value::String(t.to_string()));
            Value::Object(m)
        }
        (body, _) => body,
    }
}

/// `${var}`.
fn reference(var: &str) -> String {
    format!("${{{var}}}")
}

fn kind_path(kind: Kind) -> &'static str {
    match kind {
        Kind::Dr => "sys/replication/dr",
        Kind::Performance => "sys/replication/performance",
    }
}

/// Message fault rates of a `faults` level (0 = off).
fn fault_rates(level: u8) -> FaultRates {
    let p = [0.0, 0.02, 0.05, 0.1][level as usize % 4];
    FaultRates {
        drop: p,
        duplicate: p,
        reorder: p,
        delay: p,
    }
}

impl GenState {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    /// The concrete step for `event` in `world`, or `None` when it does not apply (e.g. restart of a
    /// running cluster).
    pub fn materialize(&mut self, event: &FuzzEvent, world: &World) -> Option<Step> {
        let names: Vec<&String> = world.nodes.keys().collect();
        let pick = |i: u8| names[i as usize % names.len()].clone();
        let key = |m: u8, k: u8| format!("{}k{}", MOUNTS[m as usize % MOUNTS.len()].0, k % KEYS);
        Some(match event {
            FuzzEvent::Write {
                cluster,
                mount,
                key: k,
            } => Step::Write(Write {
                cluster: pick(*cluster),
                path: key(*mount, *k),
                value: Value::String(self.fresh("v")),
                expect: ClientExpect::Any,
                save: BTreeMap::new(),
            }),
            FuzzEvent::Delete {
                cluster,
                mount,
                key: k,
            } => Step::Delete(Delete {
                cluster: pick(*cluster),
                path: key(*mount, *k),
                expect: ClientExpect::Any,
                save: BTreeMap::new(),
            }),
            FuzzEvent::Read {
                cluster,
                mount,
                key: k,
            } => Step::Read(Read {
                cluster: pick(*cluster),
                path: key(*mount, *k),
                expect: ReadExpect::Any,
                save: BTreeMap::new(),
            }),
            FuzzEvent::Mount { cluster, local } => Step::Mount(Mount {
                cluster: pick(*cluster),
                path: format!("{}/", self.fresh("m")),
                local: *local,
                expect: ClientExpect::Any,
                save: BTreeMap::new(),
            }),
            FuzzEvent::Advance { millis } => Step::Advance(Advance {
                by: Duration::from_millis(u64::from(*millis).max(1)),
            }),
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
                Step::Partition(Partition {
                    groups: vec![group],
                })
            }
            FuzzEvent::Heal => Step::Heal(Heal::default()),
            FuzzEvent::Crash { cluster } => {
                let c = pick(*cluster);
                if !world.is_up(&c) {
                    return None;
                }
                Step::Crash(Crash { cluster: c })
            }
            FuzzEvent::Restart { cluster } => {
                let down: Vec<&&String> = names.iter().filter(|n| !world.is_up(n)).collect();
                let c = down.get(*cluster as usize % down.len().max(1))?;
                Step::Restart(Restart {
                    cluster: (**c).clone(),
                })
            }
            FuzzEvent::Corrupt { cluster } => Step::CorruptMerkle(CorruptMerkle {
                cluster: pick(*cluster),
            }),
            FuzzEvent::Faults { level } => Step::Faults(Faults {
                rates: fault_rates(*level),
            }),
            FuzzEvent::Garbage { cluster, choice } => garbage(&pick(*cluster), *choice),
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
                let (mut options, token) = self.operator_options(world, &c, kind, *flag);
                if options.is_empty() {
                    return None;
                }
                let i = *choice as usize % options.len();
                let step = options.swap_remove(i);
                // A token variable exists only once the step that saves it is in the script.
                if let Some(t) = token.filter(|t| step.saves().contains(&t.var.as_str())) {
                    self.tokens.push(t);
                }
                step
            }
        })
    }

    /// The candidate operator steps for `kind` on `c`, and the token the `secondary-token` candidate
    /// would save.
    fn operator_options(
        &mut self,
        world: &World,
        c: &str,
        kind: Kind,
        flag: bool,
    ) -> (Vec<Step>, Option<SavedToken>) {
        let Some(cluster) = world.cluster(c) else {
            return (vec![], None);
        };
        // A DR secondary's performance role is dormant: nothing to operate.
        if kind == Kind::Performance && cluster.inspect(Kind::Dr).mode() == Mode::Secondary {
            return (vec![], None);
        }
        let base = kind_path(kind);
        let mut out = vec![];
        let mut token = None;
        match cluster.mode(kind) {
            Mode::Disabled => {
                let live_primary = world
                    .nodes
                    .values()
                    .any(|n| n.up && n.cluster().mode(kind) == Mode::Primary);
                if !live_primary || flag {
                    out.push(call(c, "POST", format!("{base}/primary/enable"), json!({})));
                }
                // Joining a set is the common path: weight it over enabling yet another primary.
                let usable = self
                    .tokens
                    .iter()
                    .filter(|t| t.kind == kind && t.issuer != c);
                for t in usable.rev().take(2) {
                    let enable = call(
                        c,
                        "POST",
                        format!("{base}/secondary/enable"),
                        json!({"token": reference(&t.var)}),
                    );
                    out.extend([enable.clone(), enable.clone(), enable]);
                }
            }
            Mode::Primary => {
                let var = self.fresh("tok");
                let mut issue = call(
                    c,
                    "POST",
                    format!("{base}/primary/secondary-token"),
                    json!({"id": format!("{c}-{var}")}),
                );
                if let Step::Call(issue) = &mut issue {
                    issue
                        .save
                        .insert(var.clone(), "wrap_info.token".to_string());
                }
                out.extend([issue.clone(), issue.clone(), issue]);
                token = Some(SavedToken {
                    var,
                    kind,
                    issuer: c.to_string(),
                });
                if let Some(p) = cluster.inspect(kind).primary() {
                    if let Some(id) = p.accepted().next().map(|s| s.id()) {
                        if flag {
                            out.push(call(
                                c,
                                "POST",
                                format!("{base}/primary/revoke-secondary"),
                                json!({ "id": id }),
                            ));
                        }
                        if kind == Kind::Performance {
                            let mode = if flag { "deny" } else { "allow" };
                            let filter = format!("{base}/primary/paths-filter/{id}");
                            out.push(call(
                                c,
                                "POST",
                                filter.clone(),
                                json!({"mode": mode, "paths": ["team/"]}),
                            ));
                            out.push(call(c, "DELETE", filter, json!({})));
                        }
                    }
                }
                if flag {
                    out.push(call(c, "POST", format!("{base}/primary/demote"), json!({})));
                    out.push(call(
                        c,
                        "POST",
                        format!("{base}/primary/disable"),
                        json!({}),
                    ));
                }
                out.push(call(c, "POST", "sys/replication/recover", json!({})));
            }
            Mode::Secondary => {
                let op = self.op_tokens.get(c).cloned();
                if kind == Kind::Dr && op.is_none() {
                    if !world.is_up(c) {
                        return (vec![], None);
                    }
                    let var = self.fresh("op");
                    self.op_tokens.insert(c.to_string(), var.clone());
                    return (
                        vec![Step::DrOperationToken(DrOperationToken {
                            cluster: c.to_string(),
                            save: var,
                        })],
                        None,
                    );
                }
                let auth_token = match kind {
                    Kind::Dr => op.map(|v| reference(&v)),
                    Kind::Performance => None,
                };
                let tok = auth_token.as_deref();
                // Promotion is occasional (a flag, or one time in eight).
                if flag || self.counter % 8 == 0 {
                    out.push(call(
                        c,
                        "POST",
                        format!("{base}/secondary/promote"),
                        with_token(json!({ "force": flag }), tok),
                    ));
                }
                let latest = self
                    .tokens
                    .iter()
                    .rfind(|t| t.kind == kind && t.issuer != c);
                if let Some(t) = latest {
                    out.push(call(
                        c,
                        "POST",
                        format!("{base}/secondary/update-primary"),
                        with_token(json!({"token": reference(&t.var)}), tok),
                    ));
                }
                if flag {
                    out.push(call(
                        c,
                        "POST",
                        format!("{base}/secondary/update-primary"),
                        with_token(json!({"token": ""}), tok),
                    ));
                    out.push(call(
                        c,
                        "POST",
                        format!("{base}/secondary/disable"),
                        with_token(json!({}), tok),
                    ));
                }
                let (recover, reindex) = match kind {
                    Kind::Dr => (
                        "sys/replication/dr/secondary/recover",
                        "sys/replication/dr/secondary/reindex",
                    ),
                    Kind::Performance => ("sys/replication/recover", "sys/replication/reindex"),
                };
                out.push(call(c, "POST", recover, with_token(json!({}), tok)));
                out.push(call(c, "POST", reindex, with_token(json!({}), tok)));
            }
            Mode::Bootstrapping => {}
        }
        (out, token)
    }

    /// Steps that end the chaos: faults off, partitions healed, crashed clusters restarted, corrupted
    /// indexes rebuilt (the operator's repair), then time to settle.
    pub fn heal_steps(&mut self, world: &World, settle: Duration) -> Vec<Step> {
        let mut out = vec![
            Step::Faults(Faults {
                rates: FaultRates::default(),
            }),
            Step::Heal(Heal::default()),
        ];
        for (name, node) in &world.nodes {
            if !node.up {
                out.push(Step::Restart(Restart {
                    cluster: name.clone(),
                }));
            }
        }
        for (name, node) in &world.nodes {
            if !node.cluster().storage().index_corrupted() {
                continue;
            }
            if node.cluster().inspect(Kind::Dr).mode() == Mode::Secondary {
                let var = self.fresh("op");
                out.push(Step::DrOperationToken(DrOperationToken {
                    cluster: name.clone(),
                    save: var.clone(),
                }));
                out.push(call(
                    name,
                    "POST",
                    "sys/replication/dr/secondary/reindex",
                    json!({"dr_operation_token": reference(&var)}),
                ));
            } else {
                out.push(call(name, "POST", "sys/replication/reindex", json!({})));
            }
        }
        out.push(Step::Advance(Advance { by: settle }));
        out
    }
}

/// An invalid or garbage operator request.
fn garbage(c: &str, choice: u8) -> Step {
    let (method, path, body) = match choice % 8 {
        0 => ("POST", "sys/replication/dr/primary/frobnicate", json!({})),
        1 => ("PATCH", "sys/replication/dr/primary/enable", json!({})),
        2 => (
            "POST",
            "sys/replication/performance/secondary/enable",
            json!({"token": "v1.garbage.token"}),
        ),
        3 => (
            "POST",
            "sys/replication/dr/primary/secondary-token",
            json!({"id": "", "ttl": "-5s"}),
        ),
        4 => (
            "POST",
            "sys/replication/dr/secondary/promote",
            json!({"dr_operation_token": "dr.forged-token-0000000"}),
        ),
        5 => (
            "POST",
            "sys/replication/performance/primary/revoke-secondary",
            json!({"id": ["not", "a", "string"]}),
        ),
        6 => (
            "POST",
            "sys/replication/dr/secondary/update-primary",
            json!({"dr_operation_token": "nope", "update_primary_addrs": ["https://nowhere:8201"]}),
        ),
        _ => ("POST", "sys/replication/dr/secondary/disable", json!({})),
    };
    call(c, method, path, body)
}
