//! What each route asks of the core: [`build`] reads a route's parameters into the core
//! [`Request`] (or a status read), refusing a missing or malformed parameter with the 400 Vault
//! gives, and names the parameters the route takes (the others are reported as ignored).

use replication_core::{
    Cluster, FilterMode, Kind, PathsFilter, PromoteAuth, Request, RoleView, Side, UpdateTarget,
};

use crate::envelope::Response;
use crate::params::{ParamError, Params};
use crate::routes::{Method, Op, Route};

/// What a request turned into once routed, authorised and parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// `sys/replication/status`.
    CombinedStatus,
    /// `{dr,performance}/status`.
    KindStatus(Kind),
    /// A core request.
    Core(Request),
}

pub(crate) fn bad(e: impl std::fmt::Display) -> Response {
    Response::error(400, [e.to_string()])
}

pub(crate) fn param(e: ParamError) -> Response {
    bad(e)
}

pub(crate) fn is_dr_secondary(cluster: &Cluster) -> bool {
    matches!(cluster.inspect(Kind::Dr), RoleView::Secondary(_))
}

/// A string parameter where `""` means "not given".
fn optional(p: &Params, name: &str) -> Result<Option<String>, Response> {
    Ok(p.string(name)
        .map_err(param)?
        .filter(|s| !s.trim().is_empty()))
}

/// Checks the type of parameters the model accepts but does not use (`ca_file`, `diff`, ...).
fn accepted_strings(p: &Params, names: &[&str]) -> Result<(), Response> {
    for n in names {
        p.string(n).map_err(param)?;
    }
    Ok(())
}

fn accepted_bools(p: &Params, names: &[&str]) -> Result<(), Response> {
    for n in names {
        p.bool(n).map_err(param)?;
    }
    Ok(())
}

fn route_kind(route: &Route) -> Kind {
    route.kind.unwrap_or(Kind::Performance)
}

/// The core request (or status read) for a route, and the parameter names it takes.
pub(crate) fn build(
    cluster: &Cluster,
    route: &Route,
    method: Method,
    p: &Params,
) -> Result<(Action, Vec<&'static str>), Response> {
    let kind = route_kind(route);
    let dr = kind == Kind::Dr;
    let core = |r: Request| Action::Core(r);
    Ok(match route.op {
        Op::Status => (Action::CombinedStatus, vec![]),
        Op::KindStatus => (Action::KindStatus(kind), vec![]),
        Op::Recover | Op::Reindex => {
            if route.kind == Some(Kind::Dr) && !is_dr_secondary(cluster) {
                let top = if route.op == Op::Recover {
                    "recover"
                } else {
                    "reindex"
                };
                return Err(bad(format!(
                    "dr/secondary/{top} is only available on a DR secondary, and this cluster's DR mode is {}; use sys/replication/{top}",
                    cluster.inspect(Kind::Dr).mode()
                )));
            }
            let dr_operation_token = optional(p, "dr_operation_token")?;
            if route.op == Op::Recover {
                (
                    core(Request::Recover { dr_operation_token }),
                    vec!["dr_operation_token"],
                )
            } else {
                accepted_bools(p, &["diff", "force", "skip_flush"])?;
                (
                    core(Request::Reindex { dr_operation_token }),
                    vec!["dr_operation_token", "diff", "force", "skip_flush"],
                )
            }
        }
        Op::EnablePrimary => (
            core(Request::EnablePrimary {
                kind,
                primary_cluster_addr: optional(p, "primary_cluster_addr")?,
            }),
            vec!["primary_cluster_addr"],
        ),
        Op::DemotePrimary => (core(Request::Demote { kind }), vec![]),
        Op::DisablePrimary => (core(Request::DisablePrimary { kind }), vec![]),
        Op::SecondaryToken => {
            let id = p.required_string("id").map_err(param)?;
            let ttl = p.duration("ttl").map_err(param)?;
            if ttl.is_some_and(|t| t.is_zero()) {
                return Err(param(ParamError::new(
                    "ttl",
                    "must be positive, e.g. \"30m\" (the default) or 1800",
                )));
            }
            (
                core(Request::SecondaryToken {
                    kind,
                    id,
                    ttl,
                    secondary_public_key: optional(p, "secondary_public_key")?,
                }),
                vec!["id", "ttl", "secondary_public_key"],
            )
        }
        Op::RevokeSecondary => (
            core(Request::RevokeSecondary {
                kind,
                id: p.required_string("id").map_err(param)?,
            }),
            vec!["id"],
        ),
        Op::GeneratePublicKey => (core(Request::GeneratePublicKey { kind }), vec![]),
        Op::EnableSecondary => {
            let token = p.required_string("token").map_err(param)?;
            accepted_strings(p, &["ca_file", "ca_path"])?;
            (
                core(Request::EnableSecondary {
                    kind,
                    token,
                    primary_api_addr: optional(p, "primary_api_addr")?,
                }),
                vec!["token", "primary_api_addr", "ca_file", "ca_path"],
            )
        }
        Op::PromoteSecondary => {
            let primary_cluster_addr = optional(p, "primary_cluster_addr")?;
            let force = p.bool("force").map_err(param)?.unwrap_or(false);
            let (auth, known) = if dr {
                let reset = p.bool("reset").map_err(param)?.unwrap_or(false);
                let key = optional(p, "key")?;
                let token = optional(p, "dr_operation_token")?;
                let auth = match (reset, key, token) {
                    (true, _, _) => PromoteAuth::Reset,
                    (false, Some(_), Some(_)) => {
                        return Err(bad(
                            "give either \"key\" (one unseal key share per call) or \"dr_operation_token\", not both",
                        ))
                    }
                    (false, Some(k), None) => PromoteAuth::Key(k),
                    (false, None, Some(t)) => PromoteAuth::OperationToken(t),
                    (false, None, None) => PromoteAuth::None,
                };
                (
                    auth,
                    vec![
                        "primary_cluster_addr",
                        "force",
                        "key",
                        "reset",
                        "dr_operation_token",
                    ],
                )
            } else {
                (PromoteAuth::None, vec!["primary_cluster_addr", "force"])
            };
            (
                core(Request::Promote {
                    kind,
                    primary_cluster_addr,
                    force,
                    auth,
                }),
                known,
            )
        }
        Op::DisableSecondary => {
            if dr {
                (
                    core(Request::DisableSecondary {
                        kind,
                        dr_operation_token: optional(p, "dr_operation_token")?,
                    }),
                    vec!["dr_operation_token"],
                )
            } else {
                (
                    core(Request::DisableSecondary {
                        kind,
                        dr_operation_token: None,
                    }),
                    vec![],
                )
            }
        }
        Op::UpdatePrimary => {
            let token = p.string("token").map_err(param)?;
            let addrs = p.string_list("update_primary_addrs").map_err(param)?;
            let target = match (token, addrs) {
                (Some(_), Some(_)) => {
                    return Err(bad(
                        "give exactly one of \"token\" and \"update_primary_addrs\", not both",
                    ))
                }
                (None, None) => {
                    return Err(bad(
                        "give exactly one of \"token\" (an activation token from the primary, or \"\" to forget the primary) and \"update_primary_addrs\" (the primary's cluster addresses)",
                    ))
                }
                (Some(t), None) => UpdateTarget::Token(t),
                (None, Some(a)) => UpdateTarget::Addrs(a),
            };
            accepted_strings(p, &["ca_file", "ca_path"])?;
            let mut known = vec![
                "token",
                "update_primary_addrs",
                "primary_api_addr",
                "ca_file",
                "ca_path",
            ];
            let dr_operation_token = if dr {
                known.push("dr_operation_token");
                optional(p, "dr_operation_token")?
            } else {
                None
            };
            (
                core(Request::UpdatePrimary {
                    kind,
                    target,
                    primary_api_addr: optional(p, "primary_api_addr")?,
                    dr_operation_token,
                }),
                known,
            )
        }
        Op::PathsFilter => {
            let id = p.required_string("id").map_err(param)?;
            match method {
                Method::Get => (core(Request::ReadPathsFilter { id }), vec!["id"]),
                Method::Delete => (core(Request::DeletePathsFilter { id }), vec!["id"]),
                Method::Post | Method::Put => {
                    let mode = p.string("mode").map_err(param)?;
                    let mode = FilterMode::parse(mode.as_deref())
                        .map_err(|e| param(ParamError::new("mode", e.to_string())))?;
                    let paths = p.string_list("paths").map_err(param)?.unwrap_or_default();
                    (
                        core(Request::SetPathsFilter {
                            id,
                            filter: PathsFilter { mode, paths },
                        }),
                        vec!["id", "mode", "paths"],
                    )
                }
            }
        }
        Op::DynamicFilterPrimary | Op::DynamicFilterSecondary => {
            let side = if route.op == Op::DynamicFilterPrimary {
                Side::Primary
            } else {
                Side::Secondary
            };
            (
                core(Request::ReadDynamicFilter {
                    side,
                    id: p.required_string("id").map_err(param)?,
                }),
                vec!["id"],
            )
        }
        Op::OperationTokenAttempt => match method {
            Method::Get => (core(Request::ReadOperationTokenAttempt), vec![]),
            Method::Delete => (core(Request::CancelOperationTokenAttempt), vec![]),
            Method::Post | Method::Put => {
                for (name, what) in [
                    ("pgp_key", "PGP encryption of the token"),
                    ("otp", "a caller-chosen one-time pad"),
                ] {
                    if optional(p, name)?.is_some() {
                        return Err(param(ParamError::new(
                            name,
                            format!("{what} is not supported by the model; omit it, and decode encoded_token with the otp this call returns"),
                        )));
                    }
                }
                (
                    core(Request::StartOperationTokenAttempt),
                    vec!["pgp_key", "otp"],
                )
            }
        },
        Op::OperationTokenUpdate => (
            core(Request::UpdateOperationTokenAttempt {
                key: p.required_string("key").map_err(param)?,
                nonce: p.required_string("nonce").map_err(param)?,
            }),
            vec!["key", "nonce"],
        ),
        Op::OperationTokenDelete => (
            core(Request::DeleteOperationToken {
                dr_operation_token: p.required_string("dr_operation_token").map_err(param)?,
            }),
            vec!["dr_operation_token"],
        ),
    })
}
