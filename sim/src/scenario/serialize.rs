//! From a typed [`Scenario`] back to the contract's JSON: the inverse of [`super::parse_value`].
//!
//! Generators (the fuzzer, property tests) build typed steps directly and write them as scenario files
//! only when a run must be replayed. The output is canonical: keys at their defaults are left out
//! (`settle: true`, `as: "sudo"`, a client step's `expect: "ok"`, ...), so a file written here is what a
//! person would write. For every scenario `s`, `parse_value(&s.to_json(), None) == Ok(s)` once `s`'s step
//! indexes are its positions; the tests check that on every shipped runbook and on generated ones.

use super::model::{
    Authority, CallExpect, ClientExpect, ClusterOptions, FaultRates, Scenario, StatusExpect, Step,
    StepSpec,
};
use serde_json::{json, Map, Value};

impl Scenario {
    /// The scenario as a JSON document in the contract format.
    ///
    /// ```
    /// use replication_sim::scenario::parse_str;
    /// let text = r#"{"name": "t", "clusters": {"A": {}}, "steps": [{"advance": "90s"}]}"#;
    /// let scenario = parse_str(text, None).unwrap();
    /// let json = scenario.to_json();
    /// assert_eq!(json["steps"], serde_json::json!([{"advance": "1m30s"}]));
    /// assert_eq!(replication_sim::scenario::parse_value(&json, None).unwrap(), scenario);
    /// ```
    pub fn to_json(&self) -> Value {
        let mut top = Map::new();
        top.insert("name".into(), json!(self.name));
        if let Some(d) = &self.description {
            top.insert("description".into(), json!(d));
        }
        top.insert("seed".into(), json!(self.seed));
        let clusters: Map<String, Value> = self
            .clusters
            .iter()
            .map(|(name, o)| (name.clone(), cluster_options(o)))
            .collect();
        top.insert("clusters".into(), Value::Object(clusters));
        top.insert(
            "mounts".into(),
            self.mounts
                .iter()
                .map(|m| json!({"path": m.path, "local": m.local}))
                .collect(),
        );
        let mut config = json!({
            "heartbeat_interval": self.config.heartbeat_interval.to_string(),
            "log_shipper_buffer": self.config.log_shipper_buffer,
        });
        if let (Some(t), Some(c)) = (self.config.forwarding_timeout, config.as_object_mut()) {
            c.insert("forwarding_timeout".into(), json!(t.to_string()));
        }
        top.insert("config".into(), config);
        top.insert(
            "steps".into(),
            self.steps.iter().map(StepSpec::to_json).collect(),
        );
        Value::Object(top)
    }
}

fn cluster_options(o: &ClusterOptions) -> Value {
    let mut m = Map::new();
    if let Some(n) = o.unseal_shares {
        m.insert("unseal_shares".into(), json!(n));
    }
    if let Some(n) = o.unseal_threshold {
        m.insert("unseal_threshold".into(), json!(n));
    }
    Value::Object(m)
}

impl StepSpec {
    /// The step as one entry of `steps` (its index is its position in the file, so it is not written).
    ///
    /// ```
    /// use replication_sim::scenario::{ClientExpect, Step, StepSpec};
    /// let spec = StepSpec::new(1, Step::Read {
    ///     cluster: "B".into(),
    ///     path: "secret/app".into(),
    ///     expect: ClientExpect::Missing,
    /// });
    /// assert_eq!(
    ///     spec.to_json(),
    ///     serde_json::json!({"read": "B", "path": "secret/app", "expect": "missing"})
    /// );
    /// ```
    pub fn to_json(&self) -> Value {
        let mut m = step_object(&self.step);
        if let Some(note) = &self.note {
            m.insert("note".into(), json!(note));
        }
        if !self.settle {
            m.insert("settle".into(), json!(false));
        }
        Value::Object(m)
    }
}

fn step_object(step: &Step) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    match step {
        Step::Call {
            cluster,
            method,
            path,
            body,
            as_,
            expect,
            save,
        } => {
            put("call", json!(cluster));
            put("method", json!(method));
            put("path", json!(path));
            if let Some(body) = body {
                put("body", body.clone());
            }
            if *as_ != Authority::Sudo {
                put("as", json!(as_.as_str()));
            }
            if *expect != CallExpect::default() {
                put("expect", call_expect(expect));
            }
            if !save.is_empty() {
                put("save", json!(save));
            }
        }
        Step::Write {
            cluster,
            path,
            value,
            expect,
        } => {
            put("write", json!(cluster));
            put("path", json!(path));
            put("value", value.clone());
            client_expect(expect, put);
        }
        Step::Delete {
            cluster,
            path,
            expect,
        } => {
            put("delete", json!(cluster));
            put("path", json!(path));
            client_expect(expect, put);
        }
        Step::Read {
            cluster,
            path,
            expect,
        } => {
            put("read", json!(cluster));
            put("path", json!(path));
            client_expect(expect, put);
        }
        Step::Mount {
            cluster,
            path,
            local,
            expect,
        } => {
            put("mount", json!(cluster));
            put("path", json!(path));
            if *local {
                put("local", json!(true));
            }
            client_expect(expect, put);
        }
        Step::Advance(d) => put("advance", json!(d.to_string())),
        Step::Partition(groups) => put("partition", json!(groups)),
        Step::Heal => put("heal", json!(true)),
        Step::Faults(rates) => put("faults", faults(rates)),
        Step::Crash(c) => put("crash", json!(c)),
        Step::Restart(c) => put("restart", json!(c)),
        Step::CorruptMerkle(c) => put("corrupt_merkle", json!(c)),
        Step::DrOperationToken { cluster, save } => {
            put("dr_operation_token", json!(cluster));
            put("save", json!(save));
        }
        Step::ExpectStatus {
            cluster,
            kind,
            matches,
        } => {
            put("expect_status", json!(cluster));
            if let Some(kind) = kind {
                put("kind", json!(kind.as_str()));
            }
            put("matches", matches.clone());
        }
        Step::ExpectSameData { clusters, kind } => {
            put("expect_same_data", json!(clusters));
            put("kind", json!(kind.as_str()));
        }
        Step::ExpectLosses {
            total,
            by_cause,
            unknown,
        } => {
            let mut l = Map::new();
            l.insert("total".into(), json!(total));
            if !by_cause.is_empty() {
                l.insert("by_cause".into(), json!(by_cause));
            }
            if let Some(n) = unknown {
                l.insert("unknown".into(), json!(n));
            }
            put("expect_losses", Value::Object(l));
        }
        Step::ExpectHazards(hazards) => put("expect_hazards", json!(hazards)),
    }
    m
}

fn call_expect(e: &CallExpect) -> Value {
    let mut m = Map::new();
    if let StatusExpect::OneOf(codes) = &e.status {
        m.insert("status".into(), json!(codes));
    }
    if let Some(body) = &e.body {
        m.insert("body".into(), body.clone());
    }
    Value::Object(m)
}

/// Puts a client step's `expect`, unless it is the default (`"ok"`).
fn client_expect(e: &ClientExpect, mut put: impl FnMut(&str, Value)) {
    let v = match e {
        ClientExpect::Ok => return,
        ClientExpect::Error => json!("error"),
        ClientExpect::Missing => json!("missing"),
        ClientExpect::Any => json!("any"),
        ClientExpect::Value(v) => json!({ "value": v }),
    };
    put("expect", v);
}

fn faults(r: &FaultRates) -> Value {
    if *r == FaultRates::default() {
        return json!("off");
    }
    let mut m = Map::new();
    for (k, v) in [
        ("drop", r.drop),
        ("duplicate", r.duplicate),
        ("reorder", r.reorder),
        ("delay", r.delay),
    ] {
        if v != 0.0 {
            m.insert(k.into(), json!(v));
        }
    }
    Value::Object(m)
}
