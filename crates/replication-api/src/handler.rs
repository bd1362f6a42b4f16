//! The one entry point, [`handle`] (= [`decode`] then [`execute`]): an HTTP request in, Vault's HTTP response out.

use rand_core::RngCore;
use replication_core::{
    Cluster, FilterMode, Input, Kind, PathsFilter, PromoteAuth, Request, RoleView, Side, Timestamp,
    UpdateTarget,
};
use serde_json::Value;

use crate::envelope::Response;
use crate::params::{ParamError, Params};
use crate::path::{parse_query, RequestPath};
use crate::render;
use crate::routes::{route_for_path, Authority, Method, Op, Route};

/// The answer [`handle`] gives: a status code and an optional JSON body.
pub type HttpResponse = Response;

/// The caller's authority, as the host established it from the request's `X-Vault-Token` (the model
/// has no token store or ACL policies; the host decides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// No Vault token.
    Anonymous,
    /// A valid Vault token without `sudo`.
    Token,
    /// A valid Vault token with `sudo` (root).
    Sudo,
}

/// One HTTP request to a replication endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpRequest {
    /// The method: `GET`, `POST`, `PUT`, `DELETE` (any ASCII case).
    pub method: String,
    /// The path, with or without `/v1/`, optionally followed by `?query`.
    pub path: String,
    /// A query string given separately (without `?`, or with it). When the path also has one, both
    /// are read, and on a name in both this one wins.
    pub query: Option<String>,
    /// Who is calling.
    pub authority: Caller,
    /// The raw body (JSON for `POST`/`PUT`; ignored for `GET`/`DELETE`).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A request with no query, no body, from a caller with `sudo` (the scenario format's default).
    pub fn new(method: &str, path: &str) -> HttpRequest {
        HttpRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: None,
            authority: Caller::Sudo,
            body: Vec::new(),
        }
    }

    /// The same request from another caller.
    pub fn caller(mut self, caller: Caller) -> HttpRequest {
        self.authority = caller;
        self
    }

    /// The same request with this JSON value as its body.
    pub fn json(mut self, body: &Value) -> HttpRequest {
        self.body = body.to_string().into_bytes();
        self
    }

    /// The same request with these raw body bytes.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = body.into();
        self
    }

    /// The same request with a separate query string.
    pub fn query(mut self, query: &str) -> HttpRequest {
        self.query = Some(query.to_string());
        self
    }
}

/// Serves one request against `cluster` at host time `now`, drawing entropy (request ids, and
/// whatever the core needs) from `rng`. Never panics; see the the docs above for the steps.
///
///
/// [`handle`] takes the cluster, the host's time and RNG, and one [`HttpRequest`], and:
///
/// 1. splits off the query (`path?query`, and/or [`HttpRequest::query`]) and normalises the path
///    (`/v1/` optional; a malformed path is 400);
/// 2. finds the route in [`crate::ROUTES`]: no route is **404**, a route that does not take
///    the method is **405** (the message lists the methods it takes);
/// 3. checks the caller's authority ([`Caller`] against [`Authority`]): missing authority is **403**
///    with a message that says what is needed;
/// 4. reads the parameters: `POST`/`PUT` from the JSON body, with query parameters
///    accepted too (the body wins on a name in both); `GET`/`DELETE` from the query only (a body is
///    ignored); path captures (`:id`, `:token`) win over both. A body that is not a JSON object, a
///    missing required parameter or a value of the wrong type is **400** naming the parameter.
///    Unknown parameters are ignored with Vault's warning in `warnings`;
/// 5. builds the core [`Request`], steps the cluster, and renders the reply (`render.rs`).
///
/// Everything that can refuse a request (steps 1–4) runs before the cluster is touched, and the core
/// changes nothing when it refuses, so **a non-2xx answer always leaves the cluster exactly as it
/// was**. After a successful call the host collects the cluster's outgoing messages with
/// [`Cluster::ready`], as after any other step.
///
/// ```
/// use rand_chacha::{rand_core::SeedableRng, ChaCha8Rng};
/// use replication_api::{handle, Caller, HttpRequest};
/// use replication_core::{Cluster, ClusterConfig, Timestamp};
/// use serde_json::json;
///
/// let mut rng = ChaCha8Rng::seed_from_u64(1);
/// let now = Timestamp::from_millis(1_700_000_000_000);
/// let mut a = Cluster::new(ClusterConfig::new("A"), &[("secret/".into(), false)], &mut rng);
///
/// let enable = HttpRequest::new("POST", "/v1/sys/replication/dr/primary/enable");
/// assert_eq!(handle(&mut a, now, &mut rng, &enable).status, 204);
///
/// let token = HttpRequest::new("GET", "/v1/sys/replication/dr/primary/secondary-token?id=us-east");
/// let r = handle(&mut a, now, &mut rng, &token);
/// assert_eq!(r.status, 200);
/// assert!(r.body.unwrap()["wrap_info"]["token"].as_str().unwrap().starts_with("v1."));
///
/// // Without sudo: 403, and nothing changed.
/// let r = handle(&mut a, now, &mut rng, &token.clone().caller(Caller::Token));
/// assert_eq!(r.status, 403);
///
/// let status = HttpRequest::new("GET", "sys/replication/dr/status").caller(Caller::Anonymous);
/// let r = handle(&mut a, now, &mut rng, &status);
/// assert_eq!(r.body.unwrap()["data"]["mode"], json!("primary"));
/// ```
pub fn handle(
    cluster: &mut Cluster,
    now: Timestamp,
    rng: &mut dyn RngCore,
    req: &HttpRequest,
) -> HttpResponse {
    match decode(cluster, req) {
        Err(refusal) => refusal,
        Ok(decoded) => execute(cluster, now, rng, decoded),
    }
}

/// What a request turned into once routed, authorised and parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Action {
    /// `sys/replication/status`.
    CombinedStatus,
    /// `{dr,performance}/status`.
    KindStatus(Kind),
    /// A core request.
    Core(Request),
}

/// A request [`decode`] understood: routed, authorised and its parameters read, not carried out yet.
/// Hosts and checkers that need to know what a request *is* (a DR promote with a key share, a
/// revocation of secondary `B`) read it here rather than parse paths themselves, so the route table
/// stays the only parser of paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    action: Action,
    route: &'static Route,
    path: RequestPath,
    ignored: Vec<String>,
}

impl Decoded {
    /// The route the request matched.
    pub fn route(&self) -> &'static Route {
        self.route
    }

    /// The core request it makes, or `None` for a status read (which reads the cluster and changes
    /// nothing).
    pub fn request(&self) -> Option<&Request> {
        match &self.action {
            Action::Core(r) => Some(r),
            Action::CombinedStatus | Action::KindStatus(_) => None,
        }
    }
}

fn bad(e: impl std::fmt::Display) -> Response {
    Response::error(400, [e.to_string()])
}

fn param(e: ParamError) -> Response {
    bad(e)
}

/// Steps 1–4 of [`handle`]: routing, authority and parameters, every refusal that is not the core's.
/// Reads the cluster (its DR mode decides some authority checks) and changes nothing; carry the
/// result out with [`execute`].
pub fn decode(cluster: &Cluster, req: &HttpRequest) -> Result<Decoded, Response> {
    let (raw_path, path_query) = match req.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (req.path.as_str(), None),
    };
    let path =
        RequestPath::parse(raw_path).map_err(|e| bad(format!("invalid request path: {e}")))?;
    let Some((route, captures)) = route_for_path(&path) else {
        return Err(Response::error(
            404,
            [format!(
                "no replication endpoint at {:?}; the endpoints are under sys/replication \
                 (status, recover, reindex, dr/..., performance/..., primary/..., secondary/...), \
                 listed in docs/api.md",
                path.to_string()
            )],
        ));
    };
    let method = Method::parse(&req.method)
        .filter(|m| route.allows(*m))
        .ok_or_else(|| {
            Response::error(
                405,
                [format!(
                    "method {:?} is not allowed on {}; use {}",
                    req.method,
                    route.pattern,
                    route.methods_text()
                )],
            )
        })?;
    authorise(cluster, route, req.authority)?;

    let mut query = Vec::new();
    for q in [path_query, req.query.as_deref()].into_iter().flatten() {
        let pairs = parse_query(q).map_err(|e| bad(format!("invalid query string: {e}")))?;
        for (k, v) in pairs {
            query.retain(|(name, _): &(String, String)| *name != k);
            query.push((k, v));
        }
    }
    let mut params = if method.is_write() {
        Params::merged(&req.body, &query).map_err(param)?
    } else {
        Params::from_query(&query)
    };
    for (name, value) in captures {
        params.insert(name, value);
    }
    let (action, known) = build(cluster, route, method, &params)?;
    let ignored = params.take_unknown(&known);
    Ok(Decoded {
        action,
        route,
        path,
        ignored,
    })
}

fn is_dr_secondary(cluster: &Cluster) -> bool {
    matches!(cluster.inspect(Kind::Dr), RoleView::Secondary(_))
}

fn authorise(cluster: &Cluster, route: &Route, caller: Caller) -> Result<(), Response> {
    let needs_token = |what: &str| {
        Response::error(
            403,
            [format!(
                "permission denied: {} needs a Vault token{what}; send one in the X-Vault-Token header",
                route.pattern
            )],
        )
    };
    match (route.authority, caller) {
        (Authority::Unauthenticated, _) => Ok(()),
        (Authority::Token, Caller::Token | Caller::Sudo) => Ok(()),
        (Authority::Sudo, Caller::Sudo) => Ok(()),
        (Authority::Sudo, Caller::Token) => Err(Response::error(
            403,
            [format!(
                "permission denied: {} requires 'sudo' capability; use a token whose policy grants sudo on this path (e.g. a root token)",
                route.pattern
            )],
        )),
        (Authority::Sudo, Caller::Anonymous) => Err(needs_token(" with 'sudo' capability")),
        (Authority::DrOperationToken, Caller::Token | Caller::Sudo) => Ok(()),
        (Authority::DrOperationToken, Caller::Anonymous) if is_dr_secondary(cluster) => Ok(()),
        (Authority::DrOperationToken, Caller::Anonymous) => Err(needs_token(
            " (it is reachable without one, with a dr_operation_token, only while the cluster is a DR secondary)",
        )),
        (Authority::Token, Caller::Anonymous) => Err(needs_token("")),
    }
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
fn build(
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

/// Step 5 of [`handle`]: carries out a [`Decoded`] request against `cluster` at host time `now` and
/// renders the answer. Decode and execute against the same cluster state: [`decode`]'s authority
/// checks depend on it.
pub fn execute(
    cluster: &mut Cluster,
    now: Timestamp,
    rng: &mut dyn RngCore,
    decoded: Decoded,
) -> Response {
    let Decoded {
        action,
        route,
        path,
        ignored,
    } = decoded;
    match action {
        Action::CombinedStatus => render::data(cluster.combined_status(now), ignored, rng),
        Action::KindStatus(kind) => render::kind_status(&cluster.status(kind, now), ignored, rng),
        Action::Core(request) => match cluster.step(now, rng, Input::Request(request)) {
            Err(e) => render::error(&e),
            Ok(reply) => render::reply(
                reply,
                matches!(route.op, Op::Recover | Op::Reindex),
                &path,
                ignored,
                rng,
            ),
        },
    }
}
