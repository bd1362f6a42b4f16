//! Runs a scenario: every step against the world, expectations checked, oracles after every step.

use crate::oracle::losses::OpId;
use crate::oracle::{self, CallRecord, Oracles, Revocation, StepView};
use crate::report::{ClusterLine, Failure, Report, StepLine};
use crate::scenario::{
    dotted_get, subset_match, Authority, ClientExpect, Scenario, Step, StepSpec, Vars,
};
use crate::world::{ClusterSetup, Observation, World, WorldConfig};
use replication_api::{Caller, HttpRequest};
use replication_core::{
    unseal::decode_operation_token, ClientOp, DataClass, Duration, Event, Input, Kind, Message,
    Mode, Reply, Request,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Heartbeat intervals the convergence check lets pass after the script, on a copy of the world.
pub const CONVERGENCE_INTERVALS: u64 = 12;

fn core_kind(k: crate::scenario::Kind) -> Kind {
    match k {
        crate::scenario::Kind::Dr => Kind::Dr,
        crate::scenario::Kind::Performance => Kind::Performance,
    }
}

/// The outcome of one client operation as the scenario sees it.
#[derive(Clone, Debug, PartialEq)]
enum ClientOutcome {
    /// A write, delete or mount succeeded.
    Ok,
    /// A read succeeded and found this value (`None`: no value at the path).
    Value(Option<String>),
    /// Refused: nothing was applied.
    Error(String),
    /// Answered with an error saying the outcome is unknown (it may or may not have been applied).
    Unknown(String),
    /// Handed to another cluster; no answer by the end of the step.
    Pending,
}

impl ClientOutcome {
    /// The outcome of a forwarded operation's answer.
    fn of_answer(result: &Result<u64, replication_core::Error>) -> ClientOutcome {
        match result {
            Ok(_) => ClientOutcome::Ok,
            Err(e @ replication_core::Error::OutcomeUnknown(_)) => {
                ClientOutcome::Unknown(e.to_string())
            }
            Err(e) => ClientOutcome::Error(e.to_string()),
        }
    }
}

/// A client operation a cluster sent on to another, waiting for its answer.
#[derive(Clone, Debug)]
struct Forwarded {
    step: usize,
    path: String,
    /// Its record in the loss ledger (mounts have none).
    op: Option<OpId>,
    /// The step's expectation, judged when the answer comes (`any` is not kept).
    expect: Option<ClientExpect>,
}

/// A scenario run in progress.
pub struct Runner {
    /// The scenario: its topology, settings and (for [`Runner::run`]) its script.
    scenario: Scenario,
    world: World,
    vars: Vars,
    oracles: Oracles,
    /// Each cluster's modes after the last step (the next step's "before").
    modes: oracle::Modes,
    lines: Vec<StepLine>,
    failures: Vec<Failure>,
    /// Forwarded operations by (client cluster, request id) until answered.
    forwards: BTreeMap<(String, u64), Forwarded>,
    /// Operations answered "outcome unknown" whose message may still be on the network.
    in_flight: Vec<(String, u64, OpId)>,
    expectations: usize,
    calls: Vec<CallRecord>,
    revocations: BTreeSet<Revocation>,
}

impl Runner {
    /// A world built from the scenario's topology.
    pub fn new(scenario: &Scenario) -> Runner {
        Runner::with_bugs(scenario, Default::default())
    }

    /// A world whose clusters exhibit `bugs` (only with the `inject-bugs` feature; otherwise the set
    /// has no effect).
    pub fn with_bugs(scenario: &Scenario, bugs: BTreeSet<replication_core::bugs::Bug>) -> Runner {
        let config = WorldConfig {
            seed: scenario.seed,
            heartbeat_interval: scenario.config.heartbeat_interval,
            log_shipper_buffer: scenario.config.log_shipper_buffer,
            forwarding_timeout: scenario.config.forwarding_timeout,
            bugs,
        };
        let clusters: Vec<ClusterSetup> = scenario
            .clusters
            .iter()
            .map(|(name, o)| ClusterSetup {
                name: name.clone(),
                shares: o.shares(),
                threshold: o.threshold(),
            })
            .collect();
        let mounts: Vec<(String, bool)> = scenario
            .mounts
            .iter()
            .map(|m| (m.path.clone(), m.local))
            .collect();
        let world = World::new(&config, &clusters, &mounts);
        let oracles = Oracles::new(&world);
        Runner {
            scenario: scenario.clone(),
            modes: oracle::Modes::of(&world),
            world,
            vars: Vars::new(),
            oracles,
            lines: vec![],
            failures: vec![],
            forwards: BTreeMap::new(),
            in_flight: Vec::new(),
            expectations: 0,
            calls: vec![],
            revocations: BTreeSet::new(),
        }
    }

    /// Runs every step and the final convergence check.
    pub fn run(mut self, file: Option<&str>) -> Report {
        for spec in std::mem::take(&mut self.scenario.steps) {
            self.run_step(&spec);
        }
        self.finish(file)
    }

    /// The world as the steps so far left it. Only steps change it, so the oracles' view of every
    /// step is complete.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The oracles' findings so far.
    pub fn oracles(&self) -> &Oracles {
        &self.oracles
    }

    /// Runs one more step (for generators that build the script as they go).
    pub fn step(&mut self, spec: &StepSpec) {
        self.run_step(spec);
    }

    /// Whether an expectation failed or an invariant broke so far.
    pub fn failed(&self) -> bool {
        !self.failures.is_empty() || !self.oracles.violations().is_empty()
    }

    /// Ends the run: the convergence check, then the report.
    pub fn finish(mut self, file: Option<&str>) -> Report {
        self.unanswered_at_the_end();
        let convergence = self.convergence();
        let finals = self.final_status();
        Report {
            name: self.scenario.name.clone(),
            file: file.map(str::to_string),
            seed: self.scenario.seed,
            steps: self.lines,
            clusters: finals,
            losses: self.oracles.losses.losses().to_vec(),
            by_cause: self.oracles.losses.by_cause(),
            unknown_writes: self.oracles.losses.unknown_count(),
            hazards: self.oracles.hazards().to_vec(),
            violations: self.oracles.violations().to_vec(),
            convergence,
            failures: self.failures,
            expectations: self.expectations,
            net: self.world.net.stats,
            dot: crate::topology::to_dot(&self.world),
        }
    }

    fn resolver(world: &World) -> impl Fn(&str) -> Option<Value> + '_ {
        move |name: &str| {
            let mut parts = name.split('.');
            let (Some(cluster), Some("unseal_keys"), Some(i), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return None;
            };
            let i: usize = i.parse().ok()?;
            world
                .cluster(cluster)
                .and_then(|c| c.unseal_keys().shares.get(i).cloned())
                .map(Value::String)
        }
    }

    fn subst(&self, v: &Value) -> Result<Value, String> {
        self.vars
            .substitute(v, Self::resolver(&self.world))
            .map_err(|e| e.to_string())
    }

    fn subst_str(&self, s: &str) -> Result<String, String> {
        match self.subst(&Value::String(s.to_string()))? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }

    fn fail(&mut self, step: usize, expected: String, actual: String) {
        self.failures.push(Failure {
            step,
            expected,
            actual,
        });
    }

    fn run_step(&mut self, spec: &StepSpec) {
        let modes_before = std::mem::take(&mut self.modes);
        let hazards_before = self.oracles.hazards().len();
        let losses_before = self.oracles.losses.losses().len();
        let violations_before = self.oracles.violations().len();
        let (target, outcome) = match self.execute(spec) {
            Ok(x) => x,
            Err(message) => {
                self.fail(spec.index, "the step to run".into(), message.clone());
                (String::new(), format!("error: {message}"))
            }
        };
        if spec.settle {
            self.world.settle();
        }
        let observations = self.world.take_observations();
        let answers = self.resolve_forwards(spec.index, &observations);
        let calls = std::mem::take(&mut self.calls);
        self.note_revocations(&calls);
        let view = StepView {
            calls: &calls,
            revocations: &self.revocations,
            step: spec.index,
            world: &self.world,
            observations: &observations,
            modes_before: &modes_before,
        };
        self.oracles.after_step(&view);
        self.settle_in_flight();
        self.world.livelock = false;
        let mut changes = vec![];
        let modes_after = oracle::Modes::of(&self.world);
        for (cluster, kind, before, after) in modes_before.changes(&modes_after, &self.world) {
            changes.push(format!("{cluster}.{kind} {before}->{after}"));
        }
        self.modes = modes_after;
        for o in &observations {
            if let Observation::Event { cluster, event } = o {
                match event {
                    Event::Wiped { kind, entries } => changes.push(format!(
                        "{cluster} wiped by {kind} enable ({entries} entries)"
                    )),
                    Event::Activation {
                        kind,
                        result: Err(reason),
                        update,
                    } => changes.push(format!(
                        "{cluster}.{kind} {} refused: {}",
                        if *update {
                            "update-primary"
                        } else {
                            "activation"
                        },
                        short_reason(&reason.to_string())
                    )),
                    _ => {}
                }
            }
        }
        changes.extend(answers);
        for l in &self.oracles.losses.losses()[losses_before..] {
            changes.push(format!("lost {}={:?} ({})", l.path, l.value, l.cause));
        }
        for h in &self.oracles.hazards()[hazards_before..] {
            changes.push(format!(
                "hazard multiple-primaries ({}: {})",
                h.replication,
                h.clusters.join(",")
            ));
        }
        for v in &self.oracles.violations()[violations_before..] {
            changes.push(format!("VIOLATION {}", v.rule()));
        }
        self.lines.push(StepLine {
            step: spec.index,
            verb: spec.step.verb().to_string(),
            target,
            outcome,
            changes,
            note: spec.note.clone(),
        });
    }

    /// Revocations the operator made this step, with the primary's run at the time.
    fn note_revocations(&mut self, calls: &[CallRecord]) {
        for c in calls {
            let Some(Request::RevokeSecondary { kind, id }) = c.succeeded() else {
                continue;
            };
            if let Some(replication_core::Role::Primary(p)) =
                self.world.cluster(&c.cluster).map(|x| x.role(*kind))
            {
                self.revocations.insert(Revocation {
                    primary: c.cluster.clone(),
                    kind: *kind,
                    run: p.run.clone(),
                    id: id.trim().to_string(),
                });
            }
        }
    }

    /// Forwarded operations that reached the cluster applying them, among `observations`.
    fn note_arrivals(&mut self, observations: &[Observation]) {
        for o in observations {
            if let Observation::Delivered {
                from,
                to,
                message: Message::Forward { request, .. },
            } = o
            {
                if let Some(op) = self
                    .forwards
                    .get(&(from.clone(), *request))
                    .and_then(|f| f.op)
                {
                    self.oracles.losses.applied_by(op, to);
                }
            }
        }
    }

    /// Answers that arrived this step for operations forwarded in earlier steps; returns a report
    /// line for each.
    fn resolve_forwards(&mut self, step: usize, observations: &[Observation]) -> Vec<String> {
        self.note_arrivals(observations);
        let mut lines = vec![];
        for o in observations {
            let Observation::Event {
                cluster,
                event: Event::ClientReply { request, result },
            } = o
            else {
                continue;
            };
            let Some(f) = self.forwards.remove(&(cluster.clone(), *request)) else {
                continue;
            };
            let outcome = ClientOutcome::of_answer(result);
            lines.push(format!(
                "answer to step {} ({}): {}",
                f.step,
                f.path,
                show_outcome(&outcome)
            ));
            self.answered(cluster, *request, &f, step, &outcome);
        }
        lines
    }

    /// A forwarded operation's answer came (at `step`): its step's expectation is judged now, and the
    /// loss ledger learns the outcome.
    fn answered(
        &mut self,
        cluster: &str,
        request: u64,
        f: &Forwarded,
        step: usize,
        outcome: &ClientOutcome,
    ) {
        if let Some(expect) = &f.expect {
            self.judge_client(f.step, expect, outcome);
        }
        let Some(op) = f.op else {
            return;
        };
        let ledger = &mut self.oracles.losses;
        match outcome {
            ClientOutcome::Ok | ClientOutcome::Value(_) => ledger.answered_ok(op, step),
            ClientOutcome::Error(_) => ledger.answered_refused(op),
            ClientOutcome::Unknown(_) | ClientOutcome::Pending => {
                ledger.answered_unknown(op);
                self.in_flight.push((cluster.to_string(), request, op));
            }
        }
    }

    /// Operations answered "outcome unknown" stop counting as possibly landing once their message is
    /// off the network (delivered, or lost).
    fn settle_in_flight(&mut self) {
        let net = &self.world.net;
        let (gone, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|(cluster, request, _)| {
                !net.holds(|p| {
                    &p.from == cluster
                        && matches!(&p.message, Message::Forward { request: r, .. } if r == request)
                })
            });
        self.in_flight = still;
        for (_, _, op) in gone {
            self.oracles.losses.settled(op);
        }
    }

    /// A crashed cluster's clients lost their connections: the outcome of every operation it had
    /// forwarded and not heard back about is unknown.
    fn crashed(&mut self, cluster: &str, step: usize) {
        let keys: Vec<(String, u64)> = self
            .forwards
            .keys()
            .filter(|(c, _)| c == cluster)
            .cloned()
            .collect();
        let lost = ClientOutcome::Unknown(format!(
            "outcome unknown (cluster {cluster} crashed with the request in flight)"
        ));
        for key in keys {
            if let Some(f) = self.forwards.remove(&key) {
                self.answered(&key.0, key.1, &f, step, &lost);
            }
        }
    }

    /// Operations still waiting for their answer when the run ends: their expectations fail.
    fn unanswered_at_the_end(&mut self) {
        for f in std::mem::take(&mut self.forwards).into_values() {
            if let Some(expect) = &f.expect {
                self.fail(
                    f.step,
                    describe_expect(expect),
                    "no answer by the end of the run".into(),
                );
            }
        }
    }

    fn api(
        &mut self,
        cluster: &str,
        method: &str,
        path: &str,
        caller: Caller,
        body: Option<&Value>,
    ) -> (u16, Option<Value>) {
        let req = HttpRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: None,
            authority: caller,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        };
        let unseal_shares = self
            .world
            .cluster(cluster)
            .map(|c| c.unseal_keys().shares.clone())
            .unwrap_or_default();
        let answered =
            self.world.with_cluster(cluster, |c, now, rng| {
                match replication_api::decode(c, &req) {
                    Err(refusal) => (None, refusal),
                    Ok(decoded) => {
                        let request = decoded.request().cloned();
                        (request, replication_api::execute(c, now, rng, decoded))
                    }
                }
            });
        match answered {
            Some((request, resp)) => {
                self.calls.push(CallRecord {
                    cluster: cluster.to_string(),
                    request,
                    status: resp.status,
                    unseal_shares,
                });
                (resp.status, resp.body)
            }
            None => (
                503,
                Some(
                    json!({"errors": [format!("cluster {cluster} is down (crashed); restart it first")]}),
                ),
            ),
        }
    }

    fn execute(&mut self, spec: &StepSpec) -> Result<(String, String), String> {
        let i = spec.index;
        match &spec.step {
            Step::Call {
                cluster,
                method,
                path,
                body,
                as_: authority,
                expect,
                save,
            } => {
                let path = self.subst_str(path)?;
                let body = body.as_ref().map(|b| self.subst(b)).transpose()?;
                let caller = match authority {
                    Authority::Sudo => Caller::Sudo,
                    Authority::Token => Caller::Token,
                    Authority::Anonymous => Caller::Anonymous,
                };
                let (status, resp) = self.api(cluster, method, &path, caller, body.as_ref());
                self.expectations += 1;
                let first_error = resp
                    .as_ref()
                    .and_then(|b| b.get("errors"))
                    .and_then(|e| e.get(0))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if !expect.status.accepts(status) {
                    self.fail(
                        i,
                        format!("status {}", describe_status(&expect.status)),
                        format!(
                            "status {status}{}",
                            first_error
                                .as_ref()
                                .map(|e| format!(": {e}"))
                                .unwrap_or_default()
                        ),
                    );
                } else if let Some(want) = &expect.body {
                    let want = self.subst(want)?;
                    let got = resp.clone().unwrap_or(Value::Null);
                    if let Err(m) = subset_match(&want, &got) {
                        self.fail(i, "response body to match".into(), m.to_string());
                    }
                }
                let refused_as_expected =
                    !(200..300).contains(&status) && expect.status.accepts(status);
                for (name, dotted) in save {
                    match resp.as_ref().and_then(|b| dotted_get(b, dotted)) {
                        Some(v) => {
                            self.vars.insert(name, v.clone());
                        }
                        // A refusal the step allowed has nothing to save: later uses see null.
                        None if refused_as_expected => {
                            self.vars.insert(name, Value::Null);
                        }
                        None => self.fail(
                            i,
                            format!("a value at {dotted:?} to save as {name:?}"),
                            "nothing there".into(),
                        ),
                    }
                }
                let outcome = match first_error {
                    Some(e) if status >= 300 => format!("{status} {}", short_reason(&e)),
                    _ => status.to_string(),
                };
                Ok((format!("{cluster} {method} {}", short_path(&path)), outcome))
            }
            Step::Write {
                cluster,
                path,
                value,
                expect,
            } => {
                let path = self.subst_str(path)?;
                let value = match self.subst(value)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let op = ClientOp::Write {
                    path: path.clone(),
                    value: value.clone(),
                };
                let out = self.client(i, cluster, op, Some(value), (expect, spec.settle));
                Ok((format!("{cluster} {path}"), show_outcome(&out)))
            }
            Step::Delete {
                cluster,
                path,
                expect,
            } => {
                let path = self.subst_str(path)?;
                let op = ClientOp::Delete { path: path.clone() };
                let out = self.client(i, cluster, op, None, (expect, spec.settle));
                Ok((format!("{cluster} {path}"), show_outcome(&out)))
            }
            Step::Mount {
                cluster,
                path,
                local,
                expect,
            } => {
                let path = self.subst_str(path)?;
                let op = ClientOp::Mount {
                    path: path.clone(),
                    local: *local,
                };
                let out = self.client(i, cluster, op, None, (expect, spec.settle));
                Ok((format!("{cluster} {path}"), show_outcome(&out)))
            }
            Step::Read {
                cluster,
                path,
                expect,
            } => {
                let path = self.subst_str(path)?;
                let out = match self.world.step(
                    cluster,
                    Input::Client(ClientOp::Read { path: path.clone() }),
                ) {
                    Some(Ok(Reply::Value(v))) => ClientOutcome::Value(v),
                    Some(Ok(other)) => ClientOutcome::Error(format!("unexpected reply {other:?}")),
                    Some(Err(e)) => ClientOutcome::Error(e.to_string()),
                    None => ClientOutcome::Error(format!("cluster {cluster} is down")),
                };
                self.check_read(i, expect, &out)?;
                Ok((format!("{cluster} {path}"), show_outcome(&out)))
            }
            Step::Advance(d) => {
                self.world.advance(*d);
                Ok((d.to_string(), "ok".into()))
            }
            Step::Partition(groups) => {
                let all = self.world.names();
                self.world.net.partition(
                    groups
                        .iter()
                        .map(|g| g.iter().cloned().collect::<BTreeSet<_>>())
                        .collect(),
                    &all,
                );
                let text = groups
                    .iter()
                    .map(|g| g.join(","))
                    .collect::<Vec<_>>()
                    .join(" | ");
                Ok((text, "ok".into()))
            }
            Step::Heal => {
                self.world.net.heal();
                Ok((String::new(), "ok".into()))
            }
            Step::Faults(r) => {
                self.world.net.faults = crate::network::Faults {
                    drop: r.drop,
                    duplicate: r.duplicate,
                    reorder: r.reorder,
                    delay: r.delay,
                };
                Ok((
                    format!(
                        "drop {} dup {} reorder {} delay {}",
                        r.drop, r.duplicate, r.reorder, r.delay
                    ),
                    "ok".into(),
                ))
            }
            Step::Crash(c) => {
                let done = self.world.crash(c);
                if done {
                    self.crashed(c, i);
                }
                Ok((
                    c.clone(),
                    if done { "crashed" } else { "already down" }.into(),
                ))
            }
            Step::Restart(c) => {
                let done = self.world.restart(c)?;
                Ok((
                    c.clone(),
                    if done { "restarted" } else { "already up" }.into(),
                ))
            }
            Step::CorruptMerkle(c) => {
                self.world.step(c, Input::CorruptMerkle);
                Ok((c.clone(), "merkle index corrupted".into()))
            }
            Step::DrOperationToken { cluster, save } => {
                self.expectations += 1;
                match self.operation_token(cluster) {
                    Ok(token) => {
                        self.oracles.dr_auth.issued(cluster, &token);
                        self.vars.insert(save, Value::String(token));
                        Ok((cluster.clone(), format!("saved as {save}")))
                    }
                    Err(e) => {
                        self.fail(i, "a DR operation token".into(), e.clone());
                        Ok((cluster.clone(), format!("error: {}", short_reason(&e))))
                    }
                }
            }
            Step::ExpectStatus {
                cluster,
                kind,
                matches,
            } => {
                self.expectations += 1;
                let path = match kind {
                    Some(k) => format!("sys/replication/{}/status", core_kind(*k)),
                    None => "sys/replication/status".to_string(),
                };
                let (status, body) = self.api(cluster, "GET", &path, Caller::Anonymous, None);
                let data = body
                    .as_ref()
                    .and_then(|b| b.get("data"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let want = self.subst(matches)?;
                let verdict = if status != 200 {
                    Err(format!("status request answered {status}"))
                } else {
                    subset_match(&want, &data).map_err(|m| m.to_string())
                };
                let outcome = match &verdict {
                    Ok(()) => "held".to_string(),
                    Err(e) => {
                        self.fail(i, format!("status to contain {}", want), e.clone());
                        "FAILED".to_string()
                    }
                };
                Ok((
                    format!(
                        "{cluster} {}",
                        kind.map(|k| k.as_str()).unwrap_or("combined")
                    ),
                    outcome,
                ))
            }
            Step::ExpectSameData { clusters, kind } => {
                self.expectations += 1;
                let kind = core_kind(*kind);
                let verdict = self.same_data(clusters, kind);
                let outcome = match verdict {
                    Ok(()) => "held".to_string(),
                    Err(e) => {
                        self.fail(
                            i,
                            format!("identical {kind} data on {}", clusters.join(", ")),
                            e,
                        );
                        "FAILED".to_string()
                    }
                };
                Ok((format!("{} {kind}", clusters.join(",")), outcome))
            }
            Step::ExpectLosses {
                total,
                by_cause,
                unknown,
            } => {
                self.expectations += 1;
                let actual_total = self.oracles.losses.losses().len() as u64;
                let actual = self.oracles.losses.by_cause();
                let mut problems = vec![];
                if actual_total != *total {
                    problems.push(format!("total {actual_total}"));
                }
                for (cause, n) in by_cause {
                    let got = actual.get(cause).copied().unwrap_or(0);
                    if got != *n {
                        problems.push(format!("{cause} {got}"));
                    }
                }
                let actual_unknown = self.oracles.losses.unknown_count() as u64;
                if unknown.is_some_and(|n| n != actual_unknown) {
                    problems.push(format!("unknown {actual_unknown}"));
                }
                let outcome = if problems.is_empty() {
                    "held".to_string()
                } else {
                    let want = std::iter::once(format!("total {total}"))
                        .chain(by_cause.iter().map(|(c, n)| format!("{c} {n}")))
                        .chain(unknown.map(|n| format!("unknown {n}")))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.fail(
                        i,
                        format!("losses {want}"),
                        format!(
                            "{} (losses: {})",
                            problems.join(", "),
                            describe_losses(&self.oracles)
                        ),
                    );
                    "FAILED".to_string()
                };
                Ok((format!("total {total}"), outcome))
            }
            Step::ExpectHazards(want) => {
                self.expectations += 1;
                let got: BTreeSet<String> = self
                    .oracles
                    .hazards()
                    .iter()
                    .map(|h| h.kind.clone())
                    .collect();
                let want_set: BTreeSet<String> = want.iter().cloned().collect();
                let outcome = if got == want_set {
                    "held".to_string()
                } else {
                    self.fail(
                        i,
                        format!("hazards {want_set:?}"),
                        format!("hazards {got:?}"),
                    );
                    "FAILED".to_string()
                };
                Ok((format!("{want:?}"), outcome))
            }
        }
    }

    /// Runs a client write, delete or mount on `cluster`, tells the loss ledger about it and judges
    /// the step's expectation: at once, or when the answer comes if the operation was forwarded and
    /// its answer has not come by the end of the step.
    fn client(
        &mut self,
        step: usize,
        cluster: &str,
        op: ClientOp,
        value: Option<String>,
        spec: (&ClientExpect, bool),
    ) -> ClientOutcome {
        let (expect, settle) = spec;
        self.expectations += 1;
        let out = self.run_client(step, cluster, op, value, expect, settle);
        if out != ClientOutcome::Pending {
            self.judge_client(step, expect, &out);
        }
        out
    }

    fn run_client(
        &mut self,
        step: usize,
        cluster: &str,
        op: ClientOp,
        value: Option<String>,
        expect: &ClientExpect,
        settle: bool,
    ) -> ClientOutcome {
        let path = op.path().to_string();
        // Mounts are not data writes: the ledger does not track them.
        let is_mount = matches!(op, ClientOp::Mount { .. });
        let local = self
            .world
            .cluster(cluster)
            .and_then(|c| c.storage().mount_of(&path))
            .is_some_and(|(_, local)| local);
        let class = if local {
            DataClass::Local
        } else {
            DataClass::Replicated
        };
        let mark = self.world.mark();
        match self.world.step(cluster, Input::Client(op)) {
            None => ClientOutcome::Error(format!("cluster {cluster} is down")),
            Some(Err(e)) => ClientOutcome::Error(e.to_string()),
            Some(Ok(Reply::Applied { .. })) => {
                if !is_mount {
                    self.oracles
                        .losses
                        .acknowledged(step, cluster, &path, class, value.as_deref());
                }
                ClientOutcome::Ok
            }
            Some(Ok(Reply::Forwarded { request })) => {
                let sent = (!is_mount).then(|| {
                    self.oracles
                        .losses
                        .sent(step, cluster, &path, value.as_deref())
                });
                self.oracles
                    .liveness
                    .sent(cluster, request, step, self.world.now);
                if settle {
                    self.world.settle();
                }
                let seen = self.world.observations_since(mark);
                let landed = seen.iter().find_map(|o| match o {
                    Observation::Delivered {
                        from,
                        to,
                        message: Message::Forward { request: r, .. },
                    } if from == cluster && *r == request => Some(to.clone()),
                    _ => None,
                });
                let answer = seen.iter().find_map(|o| match o {
                    Observation::Event {
                        cluster: c,
                        event: Event::ClientReply { request: r, result },
                    } if c == cluster && *r == request => Some(ClientOutcome::of_answer(result)),
                    _ => None,
                });
                if let (Some(op), Some(applier)) = (sent, landed) {
                    self.oracles.losses.applied_by(op, &applier);
                }
                let f = Forwarded {
                    step,
                    path,
                    op: sent,
                    expect: (*expect != ClientExpect::Any).then(|| expect.clone()),
                };
                match answer {
                    Some(outcome) => {
                        // Judged by the caller, at once.
                        let f = Forwarded { expect: None, ..f };
                        self.answered(cluster, request, &f, step, &outcome);
                        outcome
                    }
                    None => {
                        self.forwards.insert((cluster.to_string(), request), f);
                        ClientOutcome::Pending
                    }
                }
            }
            Some(Ok(other)) => ClientOutcome::Error(format!("unexpected reply {other:?}")),
        }
    }

    /// Judges a write, delete or mount step's expectation against its outcome.
    fn judge_client(&mut self, step: usize, expect: &ClientExpect, out: &ClientOutcome) {
        let pass = match expect {
            ClientExpect::Any => true,
            ClientExpect::Error => {
                matches!(out, ClientOutcome::Error(_) | ClientOutcome::Unknown(_))
            }
            _ => matches!(out, ClientOutcome::Ok),
        };
        if !pass {
            self.fail(step, describe_expect(expect), show_outcome(out));
        }
    }

    fn check_read(
        &mut self,
        step: usize,
        expect: &ClientExpect,
        out: &ClientOutcome,
    ) -> Result<(), String> {
        self.expectations += 1;
        let pass = match (expect, out) {
            (ClientExpect::Any, _) => true,
            (ClientExpect::Ok, ClientOutcome::Value(_)) => true,
            (ClientExpect::Error, ClientOutcome::Error(_)) => true,
            (ClientExpect::Missing, ClientOutcome::Value(None)) => true,
            (ClientExpect::Missing, ClientOutcome::Error(e)) => e.contains("no mount"),
            (ClientExpect::Value(want), ClientOutcome::Value(got)) => {
                let want = match want {
                    Some(w) => match self.subst(w)? {
                        Value::String(s) => Some(s),
                        Value::Null => None,
                        other => Some(other.to_string()),
                    },
                    None => None,
                };
                want == *got
            }
            _ => false,
        };
        if !pass {
            self.fail(step, describe_expect(expect), show_outcome(out));
        }
        Ok(())
    }

    fn operation_token(&mut self, cluster: &str) -> Result<String, String> {
        let base = "sys/replication/dr/secondary/generate-operation-token";
        let (status, body) = self.api(
            cluster,
            "POST",
            &format!("{base}/attempt"),
            Caller::Anonymous,
            Some(&json!({})),
        );
        let body = body.unwrap_or(Value::Null);
        if status != 200 {
            return Err(format!("attempt answered {status}: {}", body));
        }
        let data = body.get("data").cloned().unwrap_or(Value::Null);
        let nonce = data
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let otp = data
            .get("otp")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let keys = self
            .world
            .cluster(cluster)
            .map(|c| c.unseal_keys().clone())
            .ok_or_else(|| format!("no cluster {cluster}"))?;
        let mut encoded = None;
        for key in keys.shares.iter().take(keys.threshold as usize) {
            let (status, body) = self.api(
                cluster,
                "POST",
                &format!("{base}/update"),
                Caller::Anonymous,
                Some(&json!({"key": key, "nonce": nonce})),
            );
            let body = body.unwrap_or(Value::Null);
            if status != 200 {
                return Err(format!("update answered {status}: {body}"));
            }
            let data = body.get("data").cloned().unwrap_or(Value::Null);
            if data.get("complete").and_then(Value::as_bool) == Some(true) {
                encoded = data
                    .get("encoded_token")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
        }
        let encoded = encoded.ok_or("the quorum did not complete")?;
        decode_operation_token(&encoded, &otp)
    }

    fn same_data(&self, clusters: &[String], kind: Kind) -> Result<(), String> {
        let view = |name: &str| -> Result<(String, BTreeMap<String, String>), String> {
            let c = self
                .world
                .cluster(name)
                .ok_or_else(|| format!("no cluster {name}"))?;
            let data = c
                .storage()
                .entries()
                .filter(|(_, e)| kind == Kind::Dr || e.class == DataClass::Replicated)
                .map(|(k, e)| (k.clone(), e.value.clone()))
                .collect();
            Ok((c.storage().merkle_root(kind), data))
        };
        let Some(first) = clusters.first() else {
            return Ok(());
        };
        let (root0, data0) = view(first)?;
        for other in &clusters[1..] {
            let (root, data) = view(other)?;
            if data != data0 {
                let diff: Vec<&String> = data0
                    .keys()
                    .chain(data.keys())
                    .filter(|k| data0.get(*k) != data.get(*k))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .take(5)
                    .collect();
                return Err(format!("{first} and {other} differ at {diff:?}"));
            }
            if root != root0 {
                return Err(format!(
                    "{first} and {other} hold the same data but merkle_root differs ({} vs {})",
                    &root0[..8],
                    &root[..8]
                ));
            }
        }
        Ok(())
    }

    fn convergence(&mut self) -> Option<String> {
        let down: Vec<String> = self
            .world
            .nodes
            .iter()
            .filter(|(_, n)| !n.up)
            .map(|(k, _)| k.clone())
            .collect();
        if self.world.net.is_partitioned() || !down.is_empty() {
            return Some(if down.is_empty() {
                "not checked: the network is still partitioned".into()
            } else {
                format!("not checked: {} down", down.join(","))
            });
        }
        let mut copy = self.world.clone();
        copy.net.faults = Default::default();
        let interval = self.scenario.config.heartbeat_interval.as_millis().max(1);
        copy.advance(Duration::from_millis(interval * CONVERGENCE_INTERVALS));
        let v = oracle::convergence::check(&copy);
        self.oracles.add(v);
        None
    }

    fn final_status(&self) -> Vec<ClusterLine> {
        let mut out = vec![];
        for (name, n) in &self.world.nodes {
            for kind in Kind::ALL {
                let st = n.cluster.status(kind, self.world.now);
                out.push(ClusterLine {
                    cluster: name.clone(),
                    up: n.up,
                    kind,
                    mode: st.mode.clone(),
                    state: st.state.clone().unwrap_or_default(),
                    cluster_id: st.cluster_id.clone().unwrap_or_default(),
                    last_wal: st.last_wal.unwrap_or(0),
                    merkle_root: if n.cluster.mode(kind) == Mode::Disabled {
                        String::new()
                    } else {
                        st.merkle_root.clone().unwrap_or_default()
                    },
                    keys: n.cluster.storage().len(),
                });
            }
        }
        out
    }
}

fn describe_status(s: &crate::scenario::StatusExpect) -> String {
    match s {
        crate::scenario::StatusExpect::Success => "2xx".into(),
        crate::scenario::StatusExpect::OneOf(codes) => codes
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

fn describe_expect(e: &ClientExpect) -> String {
    match e {
        ClientExpect::Ok => "ok".into(),
        ClientExpect::Error => "an error".into(),
        ClientExpect::Missing => "no value (or no mount)".into(),
        ClientExpect::Value(Some(v)) => format!("value {v}"),
        ClientExpect::Value(None) => "no value".into(),
        ClientExpect::Any => "any outcome".into(),
    }
}

fn describe_losses(o: &Oracles) -> String {
    let l = o.losses.losses();
    if l.is_empty() {
        return "none".into();
    }
    l.iter()
        .map(|x| format!("{}={:?} at step {} ({})", x.path, x.value, x.step, x.cause))
        .collect::<Vec<_>>()
        .join("; ")
}

fn show_outcome(o: &ClientOutcome) -> String {
    match o {
        ClientOutcome::Ok => "ok".into(),
        ClientOutcome::Value(Some(v)) => format!("value {v:?}"),
        ClientOutcome::Value(None) => "no value".into(),
        ClientOutcome::Error(e) => format!("error: {}", short_reason(e)),
        ClientOutcome::Unknown(e) => short_reason(e),
        ClientOutcome::Pending => "no answer yet".into(),
    }
}

/// The first clause of an error message, for one-line reports.
pub fn short_reason(e: &str) -> String {
    let first = e.split(';').next().unwrap_or(e).trim();
    if first.chars().count() > 70 {
        format!("{}...", first.chars().take(67).collect::<String>())
    } else {
        first.to_string()
    }
}

fn short_path(p: &str) -> String {
    let p = p
        .strip_prefix("/v1/")
        .or_else(|| p.strip_prefix('/'))
        .unwrap_or(p);
    let p = p.strip_prefix("sys/replication/").unwrap_or(p);
    if p.chars().count() > 48 {
        format!("{}...", p.chars().take(45).collect::<String>())
    } else {
        p.to_string()
    }
}
