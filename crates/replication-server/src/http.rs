//! The two listeners of a node: the API port (Vault's HTTP API, plus the message endpoint peers
//! use for activation requests) and the cluster port (the message endpoint only).
//!
//! Both are thin: a request is read (its body up to the configured limit, else 413), handed to the
//! node thread as a [`Command`], and the node's [`Response`] is written back with Vault's JSON
//! shapes. A node that does not answer within [`ANSWER_TIMEOUT`] gets the caller a 503.

use crate::node::{Command, NodeHandle};
use crate::peer::MESSAGE_PATH;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::Router;
use replication_api::{Caller, HttpRequest, Response};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a caller waits for the node (a forwarded write is answered by the core within its
/// forwarding timeout, three heartbeats by default; this is a backstop).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The shared state of a listener.
#[derive(Clone)]
pub struct Listener {
    /// The node served.
    pub node: NodeHandle,
    /// Largest body accepted, in bytes.
    pub max_body: usize,
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
    l: &Listener,
    req: Request,
) -> Result<(axum::http::request::Parts, Vec<u8>), axum::response::Response> {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, l.max_body).await {
        Ok(b) => Ok((parts, b.to_vec())),
        Err(_) => Err(error(
            413,
            format!(
                "request body too large: the limit is {} bytes (--max-body)",
                l.max_body
            ),
        )),
    }
}

async fn ask<T>(l: &Listener, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    if !l.node.send(make(tx)) {
        return None;
    }
    tokio::time::timeout(ANSWER_TIMEOUT, rx).await.ok()?.ok()
}

async fn peer_message(l: &Listener, req: Request) -> axum::response::Response {
    if req.method() != axum::http::Method::POST {
        return error(405, format!("{MESSAGE_PATH} takes POST"));
    }
    let (_, bytes) = match body(l, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match ask(l, |reply| Command::Peer { bytes, reply }).await {
        Some(Ok(())) => to_http(Response {
            status: 202,
            body: None,
        }),
        Some(Err(why)) => error(400, why),
        None => error(503, "the cluster is shutting down or busy; try again"),
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
    let (_, bytes) = match body(&l, req).await {
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
        Some(r) => to_http(r),
        None => error(503, "the cluster did not answer in time; try again"),
    }
}
