//! `call` and `dr_operation_token`: HTTP API requests, decoded and executed by the API layer on the
//! cluster called, with the decoded core request recorded for the oracles.

use super::outcome::{short_path, Done, Outcome, StepError};
use super::Runner;
use crate::oracle::CallRecord;
use crate::scenario::{subset_match, Call, DrOperationToken, StatusExpect};
use replication_api::{Caller, HttpRequest};
use replication_core::decode_operation_token;
use serde_json::{json, Value};

/// The base path of the DR operation token generation endpoints.
const GENERATE: &str = "sys/replication/dr/secondary/generate-operation-token";

impl Runner {
    /// Sends an API request to `cluster` and records it; a crashed cluster answers 503.
    pub(super) fn api(
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

    /// `call`: the request, its status and body judged, its `save`s taken.
    pub(super) fn call(&mut self, step: usize, call: &Call) -> Result<Done, StepError> {
        let path = self.subst_str(&call.path)?;
        let body = call.body.as_ref().map(|b| self.subst(b)).transpose()?;
        let (status, resp) = self.api(&call.cluster, &call.method, &path, call.as_, body.as_ref());
        self.expectations += 1;
        let first_error = resp
            .as_ref()
            .and_then(|b| b.get("errors"))
            .and_then(|e| e.get(0))
            .and_then(Value::as_str)
            .map(str::to_string);
        let expect = &call.expect;
        if !expect.status.accepts(status) {
            self.fail(
                step,
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
                self.fail(step, "response body to match".into(), m.to_string());
            }
        }
        let refused_as_expected = !(200..300).contains(&status) && expect.status.accepts(status);
        self.save(step, &call.save, resp.as_ref(), refused_as_expected);
        Ok(Done::new(
            format!("{} {} {}", call.cluster, call.method, short_path(&path)),
            Outcome::Answered {
                status,
                error: first_error,
            },
        ))
    }

    /// `dr_operation_token`: a token generated with a quorum of the cluster's shares, saved decoded.
    pub(super) fn dr_operation_token(&mut self, step: usize, t: &DrOperationToken) -> Done {
        self.expectations += 1;
        let outcome = match self.operation_token(&t.cluster) {
            Ok(token) => {
                self.oracles.dr_auth.issued(&t.cluster, &token);
                self.vars.insert(&t.save, Value::String(token));
                Outcome::Saved(t.save.clone())
            }
            Err(e) => {
                self.fail(step, "a DR operation token".into(), e.clone());
                Outcome::NoToken(e)
            }
        };
        Done::new(t.cluster.clone(), outcome)
    }

    /// Runs the generate-operation-token attempt and one update per share of a quorum; the decoded
    /// token, or what went wrong.
    fn operation_token(&mut self, cluster: &str) -> Result<String, String> {
        let (status, body) = self.api(
            cluster,
            "POST",
            &format!("{GENERATE}/attempt"),
            Caller::Anonymous,
            Some(&json!({})),
        );
        let body = body.unwrap_or(Value::Null);
        if status != 200 {
            return Err(format!("attempt answered {status}: {body}"));
        }
        let data = body.get("data").cloned().unwrap_or(Value::Null);
        let field = |name: &str| {
            data.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (nonce, otp) = (field("nonce"), field("otp"));
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
                &format!("{GENERATE}/update"),
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
        decode_operation_token(&encoded, &otp).map_err(|e| e.to_string())
    }
}

fn describe_status(s: &StatusExpect) -> String {
    match s {
        StatusExpect::Success => "2xx".into(),
        StatusExpect::OneOf(codes) => codes
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or "),
    }
}
