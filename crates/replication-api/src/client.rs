//! Client traffic as Vault serves it, besides `/sys/replication`: a KV version 1 secrets engine at
//! each of the cluster's mounts (`GET`/`PUT`/`POST`/`DELETE`/`LIST` on `<mount>/<path>`),
//! `POST sys/mounts/<path>` to create a mount, and `GET sys/health`.
//!
//! As for the replication endpoints, nothing here does I/O: [`decode_client`] turns an
//! [`HttpRequest`] into a [`ClientCall`] (or the refusal to answer), the host steps the core with it,
//! and [`render_client`] turns the core's answer into Vault's response. A write on a performance
//! secondary is forwarded: the core answers [`Reply::Forwarded`] and the outcome comes later as
//! [`Event::ClientReply`](replication_core::Event::ClientReply); the host renders that outcome with
//! [`render_forwarded`].

use rand_core::RngCore;
use replication_core::{ClientOp, Cluster, Error, Kind, Mode, Reply, Timestamp};
use serde_json::{json, Map, Value};

use crate::envelope::{request_id, Response};
use crate::handler::{Caller, HttpRequest};
use crate::path::{parse_query, RequestPath};
use crate::render::error_response;

/// The lease Vault's KV version 1 engine reports on reads (its default, 32 days).
const KV_LEASE_SECONDS: u64 = 2_764_800;

/// A client request [`decode_client`] understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCall {
    /// A core client operation: read, write, delete or list a secret, or create a mount.
    Op(ClientOp),
    /// `GET sys/health`: answered from the cluster's status with [`health`], no step needed.
    Health(HealthCodes),
    /// `GET sys/mounts`: answered from the cluster's mount table with [`mounts`], no step needed.
    Mounts,
}

/// The status codes `sys/health` answers with, as its query parameters set them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthCodes {
    /// For an active cluster (`activecode`, default 200).
    pub active: u16,
    /// For a DR secondary (`drsecondarycode`, default 472).
    pub dr_secondary: u16,
}

impl Default for HealthCodes {
    fn default() -> Self {
        HealthCodes {
            active: 200,
            dr_secondary: 472,
        }
    }
}

fn forbidden(what: &str) -> Response {
    Response::error(
        403,
        [format!(
            "permission denied: {what} needs a Vault token; send one in the X-Vault-Token header"
        )],
    )
}

fn bad(message: String) -> Response {
    Response::error(400, [message])
}

/// Routes a client request and reads its parameters. Reads the cluster (its mounts) and changes
/// nothing. Anything that is not a mount of this cluster, `sys/mounts/<path>` or `sys/health` is 404.
pub fn decode_client(cluster: &Cluster, req: &HttpRequest) -> Result<ClientCall, Response> {
    let (raw_path, path_query) = match req.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (req.path.as_str(), None),
    };
    let trailing_slash = raw_path.ends_with('/');
    let path =
        RequestPath::parse(raw_path).map_err(|e| bad(format!("invalid request path: {e}")))?;
    let mut query = Vec::new();
    for q in [path_query, req.query.as_deref()].into_iter().flatten() {
        query.extend(parse_query(q).map_err(|e| bad(format!("invalid query string: {e}")))?);
    }
    let q = |name: &str| {
        query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let method = req.method.to_ascii_uppercase();
    let segments = path.as_strs();
    match segments.as_slice() {
        ["sys", "health"] => {
            if !matches!(method.as_str(), "GET" | "HEAD") {
                return Err(Response::error(405, ["sys/health takes GET"]));
            }
            let code = |name: &str, default: u16| -> Result<u16, Response> {
                match q(name) {
                    None => Ok(default),
                    Some(v) => v
                        .parse::<u16>()
                        .ok()
                        .filter(|c| (100..=599).contains(c))
                        .ok_or_else(|| bad(format!("{name} must be an HTTP status code, got {v:?}"))),
                }
            };
            Ok(ClientCall::Health(HealthCodes {
                active: code("activecode", 200)?,
                dr_secondary: code("drsecondarycode", 472)?,
            }))
        }
        ["sys", "mounts"] => {
            if method != "GET" {
                return Err(Response::error(405, ["sys/mounts takes GET (to list the mounts)"]));
            }
            if req.authority == Caller::Anonymous {
                return Err(forbidden("sys/mounts"));
            }
            Ok(ClientCall::Mounts)
        }
        ["sys", "mounts", rest @ ..] => {
            if !matches!(method.as_str(), "POST" | "PUT") {
                return Err(Response::error(
                    405,
                    ["sys/mounts/<path> takes POST (to create a mount); unmounting is not modelled"],
                ));
            }
            if rest.first() == Some(&"auth") {
                return Err(bad("auth/ is reserved for auth methods; choose another mount path".into()));
            }
            if req.authority != Caller::Sudo {
                return Err(if req.authority == Caller::Anonymous {
                    forbidden("sys/mounts")
                } else {
                    Response::error(403, ["permission denied: creating a mount requires 'sudo' capability; use a root token"])
                });
            }
            let body = object_body(&req.body)?;
            let kv = |t: &str| matches!(t, "kv" | "generic");
            if let Some(t) = body.get("type") {
                if !t.as_str().is_some_and(kv) {
                    return Err(bad(format!(
                        "this emulator mounts KV version 1 engines only: type must be \"kv\", got {t}"
                    )));
                }
            }
            if let Some(version) = body.get("options").and_then(|o| o.get("version")) {
                if version.as_str() != Some("1") && version.as_u64() != Some(1) {
                    return Err(bad(format!(
                        "this emulator mounts KV version 1 engines only: options.version must be \"1\", got {version}"
                    )));
                }
            }
            let local = match body.get("local") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
                Some(other) => return Err(bad(format!("local must be a boolean, got {other}"))),
            };
            Ok(ClientCall::Op(ClientOp::Mount {
                path: format!("{}/", rest.join("/")),
                local,
            }))
        }
        ["sys", ..] => Err(Response::error(
            404,
            [format!(
                "no handler for route {:?}: this emulator serves sys/replication, sys/health and sys/mounts/<path>",
                path.to_string()
            )],
        )),
        _ => {
            let key = segments.join("/");
            if cluster.storage().mount_of(&format!("{key}/")).is_none() {
                return Err(Response::error(
                    404,
                    [format!(
                        "no handler for route {key:?}. route entry not found: mount a secrets engine there first (POST /v1/sys/mounts/<path>)"
                    )],
                ));
            }
            if req.authority == Caller::Anonymous {
                return Err(forbidden(&key));
            }
            let list = method == "LIST"
                || (method == "GET" && matches!(q("list"), Some("true" | "1")));
            let op = match method.as_str() {
                _ if list => ClientOp::List { path: key },
                "GET" => ClientOp::Read { path: key },
                "DELETE" => ClientOp::Delete { path: key },
                "PUT" | "POST" => {
                    if trailing_slash {
                        return Err(bad(format!("cannot write to a folder ({key}/); name a key")));
                    }
                    let body = object_body(&req.body)?;
                    if body.is_empty() {
                        return Err(bad("no data provided: the body must be a JSON object with at least one field".into()));
                    }
                    ClientOp::Write {
                        path: key,
                        value: Value::Object(body).to_string(),
                    }
                }
                other => {
                    return Err(Response::error(
                        405,
                        [format!("method {other:?} is not allowed on a KV path; use GET, PUT, POST, DELETE or LIST")],
                    ))
                }
            };
            Ok(ClientCall::Op(op))
        }
    }
}

/// A body that must be a JSON object (an empty body is an empty object).
fn object_body(body: &[u8]) -> Result<Map<String, Value>, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(bad(format!("the body must be a JSON object, got {other}"))),
        Err(e) => Err(bad(format!("failed to parse JSON input: {e}"))),
    }
}

/// Vault's answer to a client operation, from the core's answer to it. `Reply::Forwarded` is not an
/// answer yet: the host waits for the `ClientReply` event and renders it with [`render_forwarded`].
pub fn render_client(result: Result<Reply, Error>, rng: &mut dyn RngCore) -> Response {
    let reply = match result {
        Err(e) => return error_response(&e),
        Ok(r) => r,
    };
    match reply {
        Reply::Value(None) => Response::json(404, json!({"errors": []})),
        Reply::Value(Some(v)) => {
            // Values written through this layer are JSON objects; anything else (a value written by
            // a scenario or another host) is shown under "value".
            let data = match serde_json::from_str::<Value>(&v) {
                Ok(obj @ Value::Object(_)) => obj,
                _ => json!({ "value": v }),
            };
            kv_data(data, rng)
        }
        Reply::Keys(keys) if keys.is_empty() => Response::json(404, json!({"errors": []})),
        Reply::Keys(keys) => {
            let mut r = kv_data(json!({ "keys": keys }), rng);
            if let Some(body) = r.body.as_mut() {
                // Vault reports no lease on a list.
                body["lease_duration"] = json!(0);
            }
            r
        }
        Reply::Applied { .. } => Response::no_content(),
        other => Response::error(
            500,
            [format!(
                "internal error: unexpected answer {other:?} to a client operation"
            )],
        ),
    }
}

/// Vault's answer to a forwarded write, from the [`Event::ClientReply`](replication_core::Event)
/// result: `Ok` is the primary's WAL index.
pub fn render_forwarded(result: &Result<u64, Error>) -> Response {
    match result {
        Ok(_) => Response::no_content(),
        Err(e) => error_response(e),
    }
}

fn kv_data(data: Value, rng: &mut dyn RngCore) -> Response {
    let mut r = Response::data(data, vec![], &request_id(rng));
    if let Some(body) = r.body.as_mut() {
        body["lease_duration"] = json!(KV_LEASE_SECONDS);
        body["mount_type"] = json!("kv");
    }
    r
}

/// `sys/mounts`: each of the cluster's mounts as Vault lists a KV version 1 engine, under `data`
/// and (as Vault also does, for older clients) at the top level.
pub fn mounts(cluster: &Cluster, rng: &mut dyn RngCore) -> Response {
    let table: Map<String, Value> = cluster
        .storage()
        .mounts()
        .iter()
        .map(|(path, local)| {
            let entry = json!({
                "type": "kv",
                "description": "",
                "local": local,
                "seal_wrap": false,
                "external_entropy_access": false,
                "options": {"version": "1"},
                "config": {"default_lease_ttl": 0, "max_lease_ttl": 0, "force_no_cache": false},
            });
            (path.clone(), entry)
        })
        .collect();
    let mut r = Response::data(Value::Object(table.clone()), vec![], &request_id(rng));
    if let Some(Value::Object(body)) = r.body.as_mut() {
        for (k, v) in table {
            body.entry(k).or_insert(v);
        }
    }
    r
}

/// `sys/health` for `cluster` at host time `now`: Vault's fields (an unsealed, initialised, active
/// node; `replication_dr_mode` and `replication_performance_mode` from the cluster's modes), with
/// `dr_secondary` as the status of a DR secondary and `active` otherwise.
pub fn health(cluster: &Cluster, now: Timestamp, codes: &HealthCodes) -> Response {
    let mode_name = |kind: Kind| cluster.mode(kind).as_str();
    let status = if cluster.mode(Kind::Dr) == Mode::Secondary {
        codes.dr_secondary
    } else {
        codes.active
    };
    let secs = now.as_millis() / 1000;
    Response::json(
        status,
        json!({
            "initialized": true,
            "sealed": false,
            "standby": false,
            "performance_standby": false,
            "replication_performance_mode": mode_name(Kind::Performance),
            "replication_dr_mode": mode_name(Kind::Dr),
            "server_time_utc": secs,
            "version": concat!(env!("CARGO_PKG_VERSION"), "+ent (replication-model)"),
            "cluster_name": cluster.name(),
            "cluster_id": "",
        }),
    )
}
