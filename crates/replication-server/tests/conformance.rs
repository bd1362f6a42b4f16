//! Conformance: shipped runbooks replayed against live servers (real time, heartbeats every 100 ms)
//! give the same answers as the simulator's run of the same file.
//!
//! Each runbook runs twice: through the simulator (`replication_sim`), and step by step over HTTP
//! against one `replication-server serve` process per cluster. Live, every expectation of the
//! runbook must hold (status and data checks are polled, since a real network settles in its own
//! time; `advance` sleeps a fiftieth of the simulated time, the ratio of the heartbeats). At the end
//! the two runs must agree on each cluster's mode and state per kind, on which clusters share a
//! replication set and a Merkle root, and on the value of every path the runbook wrote, read on
//! every cluster that serves reads. `expect_losses` and `expect_hazards` are the simulator's oracles
//! and are not replayed.

mod support;

use replication_core::{Kind, Mode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use support::{http, wait_for, Server};

/// Text of a value as the scenario format stores it: a string as it is, anything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The subset rule of the scenario format (§11).
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|x| matches(v, x))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y))
        }
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        (e, a) => e == a,
    }
}

fn dig<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(v);
    }
    path.split('.').try_fold(v, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

struct Live {
    servers: BTreeMap<String, Server>,
    vars: BTreeMap<String, Value>,
    /// Which cluster's unseal shares each cluster holds now (an activation hands over the primary's).
    shares_of: BTreeMap<String, String>,
    /// Which cluster issued the token saved under a name.
    issued_by: BTreeMap<String, String>,
    /// A token without sudo on each server, for `"as": "token"`.
    plain_tokens: BTreeMap<String, String>,
    written: BTreeSet<String>,
}

impl Live {
    fn subst(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                if let Some(name) = s
                    .strip_prefix("${")
                    .and_then(|r| r.strip_suffix('}'))
                    .filter(|n| !n.contains("${"))
                {
                    return self
                        .vars
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| panic!("undefined ${{{name}}}"));
                }
                let mut out = s.clone();
                for (k, val) in &self.vars {
                    out = out.replace(&format!("${{{k}}}"), &text(val));
                }
                Value::String(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.subst(x)).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, x)| (k.clone(), self.subst(x))).collect())
            }
            other => other.clone(),
        }
    }

    /// The live counterpart of the simulator's settle: wait until no activation is in flight (no
    /// cluster bootstrapping), as the simulator's settle delivers every queued message.
    fn settle(&self) {
        wait_for("activations to complete", 10, || {
            let busy = self.servers.values().any(|s| {
                let st = s.ok("GET", "/v1/sys/replication/status", None)["data"].clone();
                st["dr"]["mode"] == "bootstrapping" || st["performance"]["mode"] == "bootstrapping"
            });
            (!busy).then_some(())
        });
    }

    fn server(&self, name: &str) -> &Server {
        &self.servers[name]
    }

    fn request(
        &self,
        name: &str,
        method: &str,
        path: &str,
        caller: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let s = self.server(name);
        let path = path.trim_start_matches('/');
        let path = path.strip_prefix("v1/").unwrap_or(path);
        let token = match caller {
            "anonymous" => None,
            "token" => Some(self.plain_tokens[name].as_str()),
            _ => Some(s.token.as_str()),
        };
        http(method, &format!("{}/v1/{path}", s.api), token, body)
            .unwrap_or_else(|e| panic!("{name} {method} {path}: {e}"))
    }

    fn save(&mut self, step: &Value, body: &Value, issuer: &str) {
        if let Some(Value::Object(save)) = step.get("save") {
            for (name, path) in save {
                let v = dig(body, path.as_str().unwrap())
                    .cloned()
                    .unwrap_or(Value::Null);
                self.vars.insert(name.clone(), v);
                self.issued_by.insert(name.clone(), issuer.to_string());
            }
        }
    }

    fn run_step(&mut self, i: usize, step: &Value) {
        let at = format!("step {}: {step}", i + 1);
        let o = step.as_object().unwrap();
        if let Some(c) = o.get("call").and_then(Value::as_str) {
            let method = o["method"].as_str().unwrap().to_ascii_uppercase();
            let path = text(&self.subst(&o["path"]));
            let body = o
                .get("body")
                .map(|b| self.subst(b))
                .filter(|b| !b.is_null());
            let caller = o.get("as").and_then(Value::as_str).unwrap_or("sudo");
            let (status, resp) = self.request(c, &method, &path, caller, body.as_ref());
            let expect = o.get("expect");
            let statuses: Vec<u64> = match expect.and_then(|e| e.get("status")) {
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).collect(),
                Some(v) => vec![v.as_u64().unwrap()],
                None => vec![],
            };
            let ok = if statuses.is_empty() {
                (200..300).contains(&status)
            } else {
                statuses.contains(&u64::from(status))
            };
            assert!(ok, "{at}: status {status} {resp}");
            if let Some(b) = expect.and_then(|e| e.get("body")) {
                assert!(matches(&self.subst(b), &resp), "{at}: body {resp}");
            }
            // An activation hands the primary's unseal shares to the secondary.
            if path.contains("secondary/enable") && (200..300).contains(&status) {
                if let Some(name) = o
                    .get("body")
                    .and_then(|b| b.get("token"))
                    .and_then(Value::as_str)
                    .and_then(|t| t.strip_prefix("${"))
                    .and_then(|t| t.strip_suffix('}'))
                {
                    let issuer = self.issued_by[name].clone();
                    let shares = self.shares_of[&issuer].clone();
                    self.shares_of.insert(c.to_string(), shares);
                }
            }
            self.save(step, &resp, c);
        } else if let Some(c) = o.get("write").or(o.get("delete")).and_then(Value::as_str) {
            let path = text(&self.subst(&o["path"]));
            self.written.insert(path.clone());
            let (method, body) = match o.get("value") {
                Some(v) => ("PUT", Some(json!({ "value": text(&self.subst(v)) }))),
                None => ("DELETE", None),
            };
            let (status, resp) = self.request(c, method, &path, "sudo", body.as_ref());
            match o.get("expect").and_then(Value::as_str).unwrap_or("ok") {
                "ok" => assert_eq!(status, 204, "{at}: {resp}"),
                "error" => assert!(status >= 400, "{at}: {status}"),
                "any" => {}
                other => panic!("{at}: the replay does not know the expectation {other:?}"),
            }
        } else if let Some(c) = o.get("read").and_then(Value::as_str) {
            let path = text(&self.subst(&o["path"]));
            let (status, resp) = self.request(c, "GET", &path, "sudo", None);
            let missing = status == 404 && resp == json!({"errors": []});
            let value = (status == 200).then(|| resp["data"]["value"].clone());
            match o.get("expect") {
                None => assert!(status == 200 || missing, "{at}: {status} {resp}"),
                Some(Value::String(s)) if s == "ok" => {
                    assert!(status == 200 || missing, "{at}: {status} {resp}")
                }
                Some(Value::String(s)) if s == "error" => {
                    assert!(status >= 400 && !missing, "{at}: {status} {resp}")
                }
                Some(Value::String(s)) if s == "missing" => {
                    assert!(status == 404, "{at}: {status} {resp}")
                }
                Some(Value::Object(e)) => match &e["value"] {
                    Value::Null => assert!(missing, "{at}: {status} {resp}"),
                    v => assert_eq!(
                        value.as_ref().map(text),
                        Some(text(&self.subst(v))),
                        "{at}: {status} {resp}"
                    ),
                },
                _ => {}
            }
        } else if let Some(c) = o.get("mount").and_then(Value::as_str) {
            let path = text(&self.subst(&o["path"]));
            let local = o.get("local").and_then(Value::as_bool).unwrap_or(false);
            let (status, resp) = self.request(
                c,
                "POST",
                &format!("sys/mounts/{}", path.trim_end_matches('/')),
                "sudo",
                Some(&json!({"type": "kv", "local": local})),
            );
            match o.get("expect").and_then(Value::as_str).unwrap_or("ok") {
                "ok" => assert_eq!(status, 204, "{at}: {resp}"),
                "error" => assert!(status >= 400, "{at}: {status}"),
                "any" => {}
                other => panic!("{at}: the replay does not know the expectation {other:?}"),
            }
        } else if let Some(d) = o.get("advance") {
            let d = replication_core::Duration::parse(&text(d)).unwrap();
            std::thread::sleep(Duration::from_millis((d.as_millis() / 50).max(50)));
        } else if let Some(c) = o.get("dr_operation_token").and_then(Value::as_str) {
            let holder = &self.shares_of[c];
            let keys = self.server(holder).unseal_keys();
            let t = self.server(c).operation_token(&keys);
            self.vars
                .insert(o["save"].as_str().unwrap().to_string(), Value::String(t));
        } else if let Some(c) = o.get("expect_status").and_then(Value::as_str) {
            let path = match o.get("kind").and_then(Value::as_str) {
                Some(k) => format!("sys/replication/{k}/status"),
                None => "sys/replication/status".into(),
            };
            let want = self.subst(&o["matches"]);
            let mut last = Value::Null;
            let held = (0..200).any(|_| {
                let (status, resp) = self.request(c, "GET", &path, "anonymous", None);
                last = resp["data"].clone();
                let ok = status == 200 && matches(&want, &last);
                if !ok {
                    std::thread::sleep(Duration::from_millis(50));
                }
                ok
            });
            assert!(held, "{at}: status stayed {last}");
        } else if let Some(names) = o.get("expect_same_data").and_then(Value::as_array) {
            let kind = o["kind"].as_str().unwrap();
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            wait_for(&at, 10, || {
                let roots: BTreeSet<String> = names
                    .iter()
                    .map(|n| self.server(n).status(kind)["merkle_root"].to_string())
                    .collect();
                (roots.len() == 1).then_some(())
            });
        } else if o.contains_key("expect_losses") || o.contains_key("expect_hazards") {
            // The simulator's oracles: judged by the simulator's run of the same file.
        } else {
            panic!("{at}: the live replay does not support this step (crash, partition and faults need the simulator)");
        }
    }
}

/// Groups of names with equal keys, as a set of sets (independent of the keys themselves).
fn classes(of: &BTreeMap<String, String>) -> BTreeSet<BTreeSet<String>> {
    let mut by: BTreeMap<&String, BTreeSet<String>> = BTreeMap::new();
    for (name, key) in of {
        by.entry(key).or_default().insert(name.clone());
    }
    by.into_values().collect()
}

/// What the two runs must agree on for one kind, from each cluster's status: mode and state, and
/// which clusters share a replication set and a Merkle root (ids and roots themselves differ: they
/// come from other entropy and, for roots, other value encodings).
#[derive(Debug, PartialEq, Eq)]
struct EndState {
    modes: BTreeMap<String, (String, String)>,
    sets: BTreeSet<BTreeSet<String>>,
    roots: BTreeSet<BTreeSet<String>>,
}

impl EndState {
    fn of(status: &BTreeMap<String, Value>) -> EndState {
        let field = |f: &str| -> BTreeMap<String, String> {
            status
                .iter()
                .map(|(n, s)| (n.clone(), text(s.get(f).unwrap_or(&Value::Null))))
                .collect()
        };
        let (mode, state) = (field("mode"), field("state"));
        EndState {
            modes: mode
                .into_iter()
                .map(|(n, m)| (n.clone(), (m, state[&n].clone())))
                .collect(),
            sets: classes(&field("cluster_id")),
            roots: classes(&field("merkle_root")),
        }
    }
}

fn replay(file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/scenarios")
        .join(file);
    let raw: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();

    // The simulator's run, kept to compare against.
    let scenario = replication_sim::scenario::parse_file(&path).unwrap();
    let mut sim = replication_sim::runner::Runner::new(&scenario);
    for step in &scenario.steps {
        sim.step(step);
    }
    assert!(!sim.failed(), "{file}: the simulator's run fails");

    // The live run.
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = raw["clusters"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let servers: BTreeMap<String, Server> = names
        .iter()
        .map(|n| (n.clone(), Server::start(n, dir.path())))
        .collect();
    let plain_tokens = servers
        .iter()
        .map(|(n, s)| {
            let created = s.ok(
                "POST",
                "/v1/auth/token/create",
                Some(json!({"policies": ["default"]})),
            );
            (
                n.clone(),
                created["auth"]["client_token"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let mut live = Live {
        shares_of: names.iter().map(|n| (n.clone(), n.clone())).collect(),
        servers,
        vars: BTreeMap::new(),
        issued_by: BTreeMap::new(),
        plain_tokens,
        written: BTreeSet::new(),
    };
    if let Some(mounts) = raw.get("mounts").and_then(Value::as_array) {
        for m in mounts {
            let p = m["path"].as_str().unwrap().trim_end_matches('/');
            if p == "secret" {
                continue;
            }
            let local = m.get("local").and_then(Value::as_bool).unwrap_or(false);
            for s in live.servers.values() {
                s.ok(
                    "POST",
                    &format!("/v1/sys/mounts/{p}"),
                    Some(json!({"type": "kv", "local": local})),
                );
            }
        }
    }
    for (i, step) in raw["steps"].as_array().unwrap().iter().enumerate() {
        live.run_step(i, step);
        if step.get("settle") != Some(&Value::Bool(false)) {
            live.settle();
        }
    }

    // The end state, side by side (live polled until it settles on the simulator's).
    let world = sim.world();
    let now = replication_core::Timestamp::from_millis(0);
    for kind in [Kind::Dr, Kind::Performance] {
        let k = if kind == Kind::Dr {
            "dr"
        } else {
            "performance"
        };
        let sim: BTreeMap<String, Value> = names
            .iter()
            .map(|n| {
                let st = world.cluster(n).unwrap().status(kind, now);
                (n.clone(), serde_json::to_value(st).unwrap())
            })
            .collect();
        let want = EndState::of(&sim);
        let mut last = String::new();
        let agreed = (0..200).any(|_| {
            let st: BTreeMap<String, Value> = names
                .iter()
                .map(|n| (n.clone(), live.server(n).status(k)))
                .collect();
            let got = EndState::of(&st);
            if got != want {
                last = format!("live {got:?}\nsim  {want:?}");
                std::thread::sleep(Duration::from_millis(50));
            }
            got == want
        });
        assert!(agreed, "{file}: {k} end state differs:\n{last}");
    }
    for n in &names {
        let c = world.cluster(n).unwrap();
        if c.mode(Kind::Dr) == Mode::Secondary {
            continue;
        }
        for p in &live.written {
            let want = c.storage().get(p).map(|e| e.value.clone());
            let (status, resp) = live.request(n, "GET", p, "sudo", None);
            let got = (status == 200).then(|| text(&resp["data"]["value"]));
            assert_eq!(got, want, "{file}: {n} {p}: live {status} {resp}");
        }
    }
}

#[test]
fn dr_planned_failover_live_matches_the_simulator() {
    replay("dr-planned-failover.json");
}

#[test]
fn disable_and_reenable_live_matches_the_simulator() {
    replay("disable-and-reenable.json");
}

#[test]
fn dr_auth_in_query_string_live_matches_the_simulator() {
    replay("dr-auth-in-query-string.json");
}

#[test]
fn enable_over_existing_data_live_matches_the_simulator() {
    replay("enable-over-existing-data.json");
}

#[test]
fn independent_writes_same_path_live_matches_the_simulator() {
    replay("independent-writes-same-path.json");
}

#[test]
fn perf_revoke_and_rejoin_live_matches_the_simulator() {
    replay("perf-revoke-and-rejoin.json");
}
