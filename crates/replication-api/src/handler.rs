//! The one entry point, [`handle`] (= [`decode`] then [`execute`]): an HTTP request in, Vault's HTTP response out.

use rand_core::RngCore;
use replication_core::{Cluster, Input, Request, Timestamp};
use serde_json::Value;

use crate::build::{bad, build, is_dr_secondary, param, Action};
use crate::envelope::Response;
use crate::params::Params;
use crate::path::{parse_query, RequestPath};
use crate::render;
use crate::routes::{route_for_path, Authority, Method, Op, Route};

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
    /// A request with no query and no body, from a caller with `sudo` (a root token; the scenario
    /// format's default). The name says so on purpose: a server builds its requests with the caller
    /// it authenticated, `HttpRequest::sudo(..).caller(caller)`, or sets `authority` itself.
    pub fn sudo(method: &str, path: &str) -> HttpRequest {
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
/// whatever the core needs) from `rng`. Never panics; the crate docs list the steps.
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
/// let enable = HttpRequest::sudo("POST", "/v1/sys/replication/dr/primary/enable");
/// assert_eq!(handle(&mut a, now, &mut rng, &enable).status, 204);
///
/// let token = HttpRequest::sudo("GET", "/v1/sys/replication/dr/primary/secondary-token?id=us-east");
/// let r = handle(&mut a, now, &mut rng, &token);
/// assert_eq!(r.status, 200);
/// assert!(r.body.unwrap()["wrap_info"]["token"].as_str().unwrap().starts_with("v1."));
///
/// // Without sudo: 403, and nothing changed.
/// let r = handle(&mut a, now, &mut rng, &token.clone().caller(Caller::Token));
/// assert_eq!(r.status, 403);
///
/// let status = HttpRequest::sudo("GET", "sys/replication/dr/status").caller(Caller::Anonymous);
/// let r = handle(&mut a, now, &mut rng, &status);
/// assert_eq!(r.body.unwrap()["data"]["mode"], json!("primary"));
/// ```
pub fn handle(
    cluster: &mut Cluster,
    now: Timestamp,
    rng: &mut dyn RngCore,
    req: &HttpRequest,
) -> Response {
    match decode(cluster, req) {
        Err(refusal) => refusal,
        Ok(decoded) => execute(cluster, now, rng, decoded),
    }
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
            Err(e) => render::error_response(&e),
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
