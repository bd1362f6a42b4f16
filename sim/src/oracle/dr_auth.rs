//! Rule: DR-secondary operations need DR authorisation (model.md §3): a successful promote,
//! update-primary, disable, recover, reindex (top-level or `dr/secondary/...`) or operation-token
//! delete on a DR secondary must carry a DR operation token that was generated on that cluster and
//! not deleted, or (promote only) a valid unseal key share. The oracle judges the core request the API
//! layer decoded, so a parameter in the query string or a percent-encoded path is seen as the API saw
//! it.

use super::{Oracle, StepView, Violation};
use replication_core::{Kind, Mode, PromoteAuth, Request};
use std::collections::{BTreeMap, BTreeSet};

/// The authorisation a guarded request carries.
enum Auth<'a> {
    /// A DR operation token (or none).
    Token(Option<&'a str>),
    /// One unseal key share (promote's key-share flow).
    Share(&'a str),
    /// Promote's `reset`: discards the shares given so far.
    Reset,
}

/// Tracks the DR operation tokens each cluster legitimately holds.
#[derive(Clone, Debug, Default, Hash)]
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

    /// The DR-secondary operation a request is, with the authorisation it carries: the operation
    /// token, or for promote a key share (or `reset`, which discards shares and promotes nothing).
    fn guarded(request: &Request) -> Option<(&'static str, Auth<'_>)> {
        Some(match request {
            Request::Promote {
                kind: Kind::Dr,
                auth,
                ..
            } => (
                "promote",
                match auth {
                    PromoteAuth::OperationToken(t) => Auth::Token(Some(t)),
                    PromoteAuth::Key(k) => Auth::Share(k),
                    PromoteAuth::Reset => Auth::Reset,
                    PromoteAuth::None => Auth::Token(None),
                    // A form this checker does not know is judged as no authorisation, so a new
                    // form cannot slip past the rule.
                    _ => Auth::Token(None),
                },
            ),
            Request::UpdatePrimary {
                kind: Kind::Dr,
                dr_operation_token,
                ..
            } => ("update-primary", Auth::Token(dr_operation_token.as_deref())),
            Request::DisableSecondary {
                kind: Kind::Dr,
                dr_operation_token,
            } => ("disable", Auth::Token(dr_operation_token.as_deref())),
            Request::Recover { dr_operation_token } => {
                ("recover", Auth::Token(dr_operation_token.as_deref()))
            }
            Request::Reindex { dr_operation_token } => {
                ("reindex", Auth::Token(dr_operation_token.as_deref()))
            }
            Request::DeleteOperationToken { dr_operation_token } => (
                "operation-token/delete",
                Auth::Token(Some(dr_operation_token)),
            ),
            _ => return None,
        })
    }
}

impl Oracle for DrAuth {
    /// Checks one step's calls.
    fn check(&mut self, view: &StepView, out: &mut Vec<Violation>) {
        for call in view.calls {
            let Some((op, auth)) = call.succeeded().and_then(Self::guarded) else {
                continue;
            };
            let was_dr_secondary =
                view.role_before(&call.cluster, Kind::Dr) == Some(Mode::Secondary);
            if !was_dr_secondary {
                continue;
            }
            let held = self.issued.get(&call.cluster);
            let authorised = match auth {
                Auth::Token(t) => t.is_some_and(|t| held.is_some_and(|h| h.contains(t.trim()))),
                Auth::Share(k) => call.unseal_shares.iter().any(|s| s == k.trim()),
                Auth::Reset => true,
            };
            if !authorised {
                out.push(Violation::UnauthorisedDrOperation {
                    step: view.step,
                    cluster: call.cluster.clone(),
                    operation: op.to_string(),
                });
            }
            if let Some(Request::DeleteOperationToken { dr_operation_token }) = call.succeeded() {
                if let Some(held) = self.issued.get_mut(&call.cluster) {
                    held.remove(dr_operation_token.trim());
                }
            }
        }
        // Tokens die when the cluster leaves the DR-secondary mode.
        for (name, node) in &view.world.nodes {
            if node.cluster().inspect(Kind::Dr).mode() != Mode::Secondary {
                self.issued.remove(name);
            }
        }
    }
}
