//! `write`, `delete`, `mount` and `read`: client operations, the loss ledger told about each, and
//! the operations a performance secondary forwards to its primary followed until their answers come.
//!
//! A forwarded operation's expectation is judged when its answer arrives, in whatever later step
//! that is; one still unanswered when the run ends fails with "no answer by the end of the run".
//! An operation answered "outcome unknown" may still land while its message is on the network, so
//! the ledger keeps it open until the message is delivered or lost.

use super::outcome::{ClientOutcome, Done, Outcome, Refusal, StepError};
use super::Runner;
use crate::oracle::losses::OpId;
use crate::scenario::{ClientExpect, Delete, Mount, Read, ReadExpect, Write};
use crate::world::Observation;
use replication_core::{ClientOp, DataClass, Error, Event, Forward, Input, Message, Reply};
use serde_json::Value;
use std::collections::BTreeMap;

/// A client operation a cluster sent on to another, waiting for its answer.
#[derive(Clone, Debug, Hash)]
struct Forwarded {
    step: usize,
    path: String,
    /// Its record in the loss ledger (mounts have none).
    op: Option<OpId>,
    /// The step's expectation, judged when the answer comes (`any` is not kept).
    expect: Option<ClientExpect>,
}

/// Forwarded operations of a run.
#[derive(Clone, Debug, Default, Hash)]
pub(super) struct Forwards {
    /// By (client cluster, request id), until answered.
    waiting: BTreeMap<(String, u64), Forwarded>,
    /// Operations answered "outcome unknown" whose message may still be on the network.
    in_flight: Vec<(String, u64, OpId)>,
}

/// One client write, delete or mount to run.
struct ClientCall<'a> {
    step: usize,
    cluster: &'a str,
    op: ClientOp,
    /// The value written (`None` for deletes and mounts).
    value: Option<String>,
    expect: ClientExpect,
    /// Whether the step settles the network (a forwarded operation's answer can come in the step).
    settle: bool,
}

impl Runner {
    /// `write`: the value is written as its text (a JSON string without quotes, other values as JSON).
    pub(super) fn write(
        &mut self,
        step: usize,
        w: &Write,
        settle: bool,
    ) -> Result<Done, StepError> {
        let path = self.subst_str(&w.path)?;
        let value = match self.subst(&w.value)? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let op = ClientOp::Write {
            path,
            value: value.clone(),
        };
        Ok(self.mutation(
            ClientCall {
                step,
                cluster: &w.cluster,
                op,
                value: Some(value),
                expect: w.expect,
                settle,
            },
            &w.save,
        ))
    }

    /// `delete`.
    pub(super) fn delete(
        &mut self,
        step: usize,
        d: &Delete,
        settle: bool,
    ) -> Result<Done, StepError> {
        let op = ClientOp::Delete {
            path: self.subst_str(&d.path)?,
        };
        Ok(self.mutation(
            ClientCall {
                step,
                cluster: &d.cluster,
                op,
                value: None,
                expect: d.expect,
                settle,
            },
            &d.save,
        ))
    }

    /// `mount`.
    pub(super) fn mount(
        &mut self,
        step: usize,
        m: &Mount,
        settle: bool,
    ) -> Result<Done, StepError> {
        let op = ClientOp::Mount {
            path: self.subst_str(&m.path)?,
            local: m.local,
        };
        Ok(self.mutation(
            ClientCall {
                step,
                cluster: &m.cluster,
                op,
                value: None,
                expect: m.expect,
                settle,
            },
            &m.save,
        ))
    }

    /// A write, delete or mount: run, judged, its `save`s taken. It answers without a body, so its
    /// `save`s find nothing, and are saved as null when the step allowed an outcome other than
    /// success and got one.
    fn mutation(&mut self, call: ClientCall<'_>, save: &BTreeMap<String, String>) -> Done {
        let (step, expect) = (call.step, call.expect);
        let target = format!("{} {}", call.cluster, call.op.path());
        let out = self.client(call);
        let allowed = expect != ClientExpect::Ok && out != ClientOutcome::Ok;
        self.save(step, save, None, allowed);
        Done::new(target, Outcome::Client(out))
    }

    /// `read`: answered by the cluster itself, never forwarded.
    pub(super) fn read(&mut self, step: usize, r: &Read) -> Result<Done, StepError> {
        let path = self.subst_str(&r.path)?;
        let input = Input::Client(ClientOp::Read { path: path.clone() });
        let out = match self.world.step(&r.cluster, input) {
            Some(Ok(Reply::Value(v))) => ClientOutcome::Value(v),
            Some(Ok(other)) => ClientOutcome::Refused(Refusal::Unexpected(format!("{other:?}"))),
            Some(Err(e)) => ClientOutcome::Refused(Refusal::Core(e)),
            None => ClientOutcome::Refused(Refusal::Down(r.cluster.clone())),
        };
        self.check_read(step, &r.expect, &out)?;
        let body = match &out {
            ClientOutcome::Value(v) => Some(serde_json::json!({ "value": v })),
            _ => None,
        };
        let refusal_allowed = matches!(r.expect, ReadExpect::Error | ReadExpect::Any)
            || matches!(
                (&r.expect, &out),
                (ReadExpect::Missing, ClientOutcome::Refused(_))
            );
        self.save(
            step,
            &r.save,
            body.as_ref(),
            refusal_allowed && body.is_none(),
        );
        Ok(Done::new(
            format!("{} {path}", r.cluster),
            Outcome::Client(out),
        ))
    }

    /// Runs a client write, delete or mount, tells the loss ledger about it and judges the step's
    /// expectation: at once, or when the answer comes if the operation was forwarded and its answer
    /// has not come by the end of the step.
    fn client(&mut self, call: ClientCall<'_>) -> ClientOutcome {
        self.expectations += 1;
        let (step, expect) = (call.step, call.expect);
        let out = self.run_client(call);
        if out != ClientOutcome::Pending {
            self.judge_client(step, expect, &out);
        }
        out
    }

    fn run_client(&mut self, call: ClientCall<'_>) -> ClientOutcome {
        let ClientCall {
            step,
            cluster,
            op,
            value,
            expect,
            settle,
        } = call;
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
            None => ClientOutcome::Refused(Refusal::Down(cluster.to_string())),
            Some(Err(e)) => ClientOutcome::Refused(Refusal::Core(e)),
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
                        message: Message::Forward(Forward { request: r, .. }),
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
                    expect: (expect != ClientExpect::Any).then_some(expect),
                };
                match answer {
                    Some(outcome) => {
                        // Judged by the caller, at once.
                        let f = Forwarded { expect: None, ..f };
                        self.answered(cluster, request, &f, step, &outcome);
                        outcome
                    }
                    None => {
                        self.forwards
                            .waiting
                            .insert((cluster.to_string(), request), f);
                        ClientOutcome::Pending
                    }
                }
            }
            Some(Ok(other)) => ClientOutcome::Refused(Refusal::Unexpected(format!("{other:?}"))),
        }
    }

    /// Judges a write, delete or mount step's expectation against its outcome.
    fn judge_client(&mut self, step: usize, expect: ClientExpect, out: &ClientOutcome) {
        let pass = match expect {
            ClientExpect::Any => true,
            ClientExpect::Error => {
                matches!(out, ClientOutcome::Refused(_) | ClientOutcome::Unknown(_))
            }
            ClientExpect::Ok => matches!(out, ClientOutcome::Ok),
        };
        if !pass {
            self.fail(step, describe_client(expect), out.to_string());
        }
    }

    fn check_read(
        &mut self,
        step: usize,
        expect: &ReadExpect,
        out: &ClientOutcome,
    ) -> Result<(), StepError> {
        self.expectations += 1;
        let pass = match (expect, out) {
            (ReadExpect::Any, _) => true,
            (ReadExpect::Ok, ClientOutcome::Value(_)) => true,
            (ReadExpect::Error, ClientOutcome::Refused(_)) => true,
            (ReadExpect::Missing, ClientOutcome::Value(None)) => true,
            // No mount at the path: the core's NotFound.
            (ReadExpect::Missing, ClientOutcome::Refused(Refusal::Core(Error::NotFound(_)))) => {
                true
            }
            (ReadExpect::Value(want), ClientOutcome::Value(got)) => {
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
            self.fail(step, describe_read(expect), out.to_string());
        }
        Ok(())
    }

    /// Answers that arrived this step for operations forwarded in earlier steps; returns a report
    /// line for each.
    pub(super) fn resolve_forwards(
        &mut self,
        step: usize,
        observations: &[Observation],
    ) -> Vec<String> {
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
            let Some(f) = self.forwards.waiting.remove(&(cluster.clone(), *request)) else {
                continue;
            };
            let outcome = ClientOutcome::of_answer(result);
            lines.push(format!("answer to step {} ({}): {outcome}", f.step, f.path));
            self.answered(cluster, *request, &f, step, &outcome);
        }
        lines
    }

    /// Forwarded operations that reached the cluster applying them, among `observations`.
    fn note_arrivals(&mut self, observations: &[Observation]) {
        for o in observations {
            if let Observation::Delivered {
                from,
                to,
                message: Message::Forward(Forward { request, .. }),
            } = o
            {
                if let Some(op) = self
                    .forwards
                    .waiting
                    .get(&(from.clone(), *request))
                    .and_then(|f| f.op)
                {
                    self.oracles.losses.applied_by(op, to);
                }
            }
        }
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
        if let Some(expect) = f.expect {
            self.judge_client(f.step, expect, outcome);
        }
        let Some(op) = f.op else {
            return;
        };
        let ledger = &mut self.oracles.losses;
        match outcome {
            ClientOutcome::Ok | ClientOutcome::Value(_) => ledger.answered_ok(op, step),
            ClientOutcome::Refused(_) => ledger.answered_refused(op),
            ClientOutcome::Unknown(_) | ClientOutcome::Pending => {
                ledger.answered_unknown(op);
                self.forwards
                    .in_flight
                    .push((cluster.to_string(), request, op));
            }
        }
    }

    /// Operations answered "outcome unknown" stop counting as possibly landing once their message is
    /// off the network (delivered, or lost).
    pub(super) fn settle_in_flight(&mut self) {
        let net = &self.world.net;
        let (gone, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.forwards.in_flight)
            .into_iter()
            .partition(|(cluster, request, _)| {
                !net.holds(|p| {
                    &p.from == cluster
                        && matches!(&p.message, Message::Forward(f) if f.request == *request)
                })
            });
        self.forwards.in_flight = still;
        for (_, _, op) in gone {
            self.oracles.losses.settled(op);
        }
    }

    /// A crashed cluster's clients lost their connections: the outcome of every operation it had
    /// forwarded and not heard back about is unknown.
    pub(super) fn crashed(&mut self, cluster: &str, step: usize) {
        let keys: Vec<(String, u64)> = self
            .forwards
            .waiting
            .keys()
            .filter(|(c, _)| c == cluster)
            .cloned()
            .collect();
        let lost = ClientOutcome::Unknown(format!(
            "outcome unknown (cluster {cluster} crashed with the request in flight)"
        ));
        for key in keys {
            if let Some(f) = self.forwards.waiting.remove(&key) {
                self.answered(&key.0, key.1, &f, step, &lost);
            }
        }
    }

    /// Operations still waiting for their answer when the run ends: their expectations fail.
    pub(super) fn unanswered_at_the_end(&mut self) {
        for f in std::mem::take(&mut self.forwards.waiting).into_values() {
            if let Some(expect) = f.expect {
                self.fail(
                    f.step,
                    describe_client(expect),
                    "no answer by the end of the run".into(),
                );
            }
        }
    }
}

fn describe_client(e: ClientExpect) -> String {
    match e {
        ClientExpect::Ok => "ok".into(),
        ClientExpect::Error => "an error".into(),
        ClientExpect::Any => "any outcome".into(),
    }
}

fn describe_read(e: &ReadExpect) -> String {
    match e {
        ReadExpect::Ok => "ok".into(),
        ReadExpect::Error => "an error".into(),
        ReadExpect::Missing => "no value (or no mount)".into(),
        ReadExpect::Value(Some(v)) => format!("value {v}"),
        ReadExpect::Value(None) => "no value".into(),
        ReadExpect::Any => "any outcome".into(),
    }
}
