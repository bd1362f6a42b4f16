//! Rule: DR-secondary operations need DR authorisation (model.md §3): a successful promote,
//! update-primary, disable, recover or reindex on a DR secondary must carry a DR operation token that
//! was generated on that cluster and not deleted, or (promote only) valid unseal key shares.

use super::{CallRecord, StepView, Violation};
use replication_core::{Kind, Mode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const GUARDED: [&str; 6] = [
    "promote",
    "update-primary",
    "disable",
    "recover",
    "reindex",
    "operation-token/delete",
];

/// Tracks the DR operation tokens each cluster legitimately holds.
#[derive(Clone, Debug, Default)]
pub struct DrAuth {
    issued: BTreeMap<String, BTreeSet<String>>,
}

impl DrAuth {
    /// A `dr_operation_token` step produced `token` on `cluster`.
    pub fn issued(&mut self, cluster: &str, token: &str) {
        self.issued
            .entry(cluster.to_string())
            .or_default()
            .insert(token.to_string());
    }

    fn operation(call: &CallRecord) -> Option<&'static str> {
        let p = call.path.trim_start_matches('/');
        let p = p.strip_prefix("v1/").unwrap_or(p);
        let rest = p.strip_prefix("sys/replication/dr/secondary/")?;
        GUARDED
            .into_iter()
            .find(|g| rest == *g || rest.starts_with(&format!("{g}/")))
    }

    /// Checks one step's calls.
    pub fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        for call in view.calls {
            let Some(op) = Self::operation(call) else {
                continue;
            };
            if !(200..300).contains(&call.status) {
                continue;
            }
            let was_dr_secondary =
                view.role_before(&call.cluster, Kind::Dr) == Some(Mode::Secondary);
            if !was_dr_secondary {
                continue;
            }
            let body = call.body.clone().unwrap_or(Value::Null);
            let token = body.get("dr_operation_token").and_then(Value::as_str);
            let held = self.issued.get(&call.cluster);
            let token_ok = token.is_some_and(|t| held.is_some_and(|h| h.contains(t)));
            let key_ok = op == "promote"
                && (body.get("reset").is_some()
                    || body
                        .get("key")
                        .and_then(Value::as_str)
                        .is_some_and(|k| call.unseal_shares.iter().any(|s| s == k.trim())));
            if !token_ok && !key_ok {
                out.push(Violation::UnauthorisedDrOperation {
                    step: view.step,
                    cluster: call.cluster.clone(),
                    operation: op.to_string(),
                });
            }
            if op == "operation-token/delete" {
                if let (Some(t), Some(h)) = (token, self.issued.get_mut(&call.cluster)) {
                    h.remove(t);
                }
            }
        }
        // Tokens die when the cluster leaves the DR-secondary mode.
        for (name, node) in &view.world.nodes {
            if node.cluster.role(Kind::Dr).mode() != Mode::Secondary {
                self.issued.remove(name);
            }
        }
    }
}
