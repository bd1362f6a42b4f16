//! The two listeners of a node: the API port (Vault's HTTP API, plus the message endpoint peers
//! use for activation requests) and the cluster port (the message endpoint only).
//!
//! Both are thin: a request is read (its body up to the configured limit, else 413), handed to the
//! node thread as a [`Command`], and the node's [`Response`] is written back with Vault's JSON
//! shapes. A node with too many requests waiting answers 503 at once; one that does not answer
//! within its answer timeout (past the cluster's forwarding timeout) answers 503 saying the outcome
//! is unknown, and the node then skips the request if it had not started it.

use crate::node::{Command, NodeHandle, Unreachable};
use crate::peer::MESSAGE_PATH;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::Router;
use replication_api::{Caller, HttpRequest, Response};
use std::time::Duration;
use tokio::sync::oneshot;

/// The shared state of a listener.
#[derive(Clone)]
pub struct Listener {
    /// The node served.
    pub node: NodeHandle,
    /// Largest client request body accepted, in bytes.
    pub max_body: usize,
    /// Largest message body from a peer, in bytes (a sync carries whole datasets).
    pub max_message: usize,
    /// How long a caller waits for the node.
    pub answer_timeout: Duration,
}

/// The API port's router.
pub fn api_router(l: Listener) -> Router {
    Router::new().fallback(api).with_state(l)
}

/// The cluster port's router.
pub fn cluster_router(l: Listener) -> Router {
    Router::new().fallback(cluster).with_state(l)
}

fn to_http(r: Response) -> axum::response::Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = axum::response::Response::new(match r.body {
        None => Body::empty(),
        Some(_) => Body::from(r.to_bytes()),
    });
    *out.status_mut() = status;
    if let Some(ct) = r.content_type() {
        out.headers_mut()
            .insert("content-type", HeaderValue::from_static(ct));
    }
    out
}

fn error(status: u16, message: impl Into<String>) -> axum::response::Response {
    to_http(Response::error(status, [message.into()]))
}

async fn body(
    req: Request,
    limit: usize,
    flag: &str,
) -> Result<(axum::http::request::Parts, Vec<u8>), axum::response::Response> {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok((parts, b.to_vec())),
        Err(_) => Err(error(
            413,
            format!("request body too large: the limit is {limit} bytes ({flag})"),
        )),
    }
}

/// Why the node gave no answer.
enum NoAnswer {
    Busy,
    Stopped,
    TimedOut,
}

async fn ask<T>(
    l: &Listener,
    make: impl FnOnce(oneshot::Sender<T>) -> Command,
) -> Result<T, NoAnswer> {
    let (tx, rx) = oneshot::channel();
    l.node.send(make(tx)).map_err(|e| match e {
        Unreachable::Busy => NoAnswer::Busy,
        Unreachable::Stopped => NoAnswer::Stopped,
    })?;
    match tokio::time::timeout(l.answer_timeout, rx).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(NoAnswer::Stopped),
        Err(_) => Err(NoAnswer::TimedOut),
    }
}

fn no_answer(l: &Listener, why: NoAnswer) -> axum::response::Response {
    match why {
        NoAnswer::Busy => error(
            503,
            "the cluster has too many requests waiting; try again shortly",
        ),
        NoAnswer::Stopped => error(
            503,
            "the cluster is stopping; try again once it has restarted",
        ),
        NoAnswer::TimedOut => error(
            503,
            format!(
                "the cluster did not answer within {}s; the outcome of a write is unknown: read it back before retrying",
                l.answer_timeout.as_secs()
            ),
        ),
    }
}

async fn peer_message(l: &Listener, req: Request) -> axum::response::Response {
    if req.method() != axum::http::Method::POST {
        return error(405, format!("{MESSAGE_PATH} takes POST"));
    }
    let (_, bytes) = match body(req, l.max_message, "--max-message").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match ask(l, |reply| Command::Peer { bytes, reply }).await {
        Ok(Ok(())) => to_http(Response {
            status: 202,
            body: None,
        }),
        Ok(Err(why)) => error(400, why),
        Err(why) => no_answer(l, why),
    }
}

async fn cluster(State(l): State<Listener>, req: Request) -> axum::response::Response {
    if req.uri().path() == MESSAGE_PATH {
        return peer_message(&l, req).await;
    }
    error(
        404,
        format!("this is a cluster port: replication peers post to {MESSAGE_PATH}; clients use the API address"),
    )
}

async fn api(State(l): State<Listener>, req: Request) -> axum::response::Response {
    if req.uri().path() == MESSAGE_PATH {
        return peer_message(&l, req).await;
    }
    let token = req
        .headers()
        .get("x-vault-token")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    if !path.starts_with("/v1/") {
        return error(
            404,
            format!("no handler for {path:?}: Vault's API is under /v1/"),
        );
    }
    let method = req.method().as_str().to_string();
    let (_, bytes) = match body(req, l.max_body, "--max-body").await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let req = HttpRequest {
        method,
        path,
        query,
        authority: Caller::Anonymous,
        body: bytes,
    };
    match ask(&l, |reply| Command::Http { req, token, reply }).await {
        Ok(r) => to_http(r),
        Err(why) => no_answer(&l, why),
    }
}
