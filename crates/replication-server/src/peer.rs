//! The cluster network: messages between clusters travel as HTTP `POST`s of [`Envelope`] bytes to
//! `/_replication/message` on the address the core names (a cluster address, or an API address for
//! activation requests), one envelope per line, as many as are queued for that peer (up to 256).
//! One sender task per destination keeps each link's messages in order and ends when idle; a
//! message that cannot be delivered is dropped and logged at debug level, which the protocol
//! tolerates as message loss (heartbeats and retries recover).
//!
//! [`Envelope`]: replication_core::Envelope

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// The path peers post envelopes to, on both the API and the cluster port.
pub const MESSAGE_PATH: &str = "/_replication/message";

/// Messages queued for one destination beyond which new ones are dropped (a peer that is down).
const PER_PEER_QUEUE: usize = 1024;

/// Destinations with a sender at once; messages to further new addresses are dropped.
const MAX_PEERS: usize = 256;

/// A destination's sender ends after this long without a message (a peer that went away, or an
/// address a message merely named).
const IDLE: Duration = Duration::from_secs(60);

/// How many queued messages one POST carries at most, and about how many bytes.
const BATCH: usize = 256;
const BATCH_BYTES: usize = 8 << 20;

/// How long one delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the node thread drops messages to send; cheap to clone, never blocks.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<(String, Vec<u8>)>,
}

impl Outbox {
    /// Queues `bytes` for the cluster at address `to`.
    pub fn send(&self, to: String, bytes: Vec<u8>) {
        let _ = self.tx.send((to, bytes));
    }

    /// An outbox and the task that empties it (spawn it on the runtime).
    pub fn new() -> (Outbox, impl std::future::Future<Output = ()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Outbox { tx }, dispatch(rx))
    }
}

/// The envelopes of one POST body: one per line (an envelope is compact JSON, without newlines).
pub fn split_batch(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    body.split(|b| *b == b'\n').filter(|l| !l.is_empty())
}

/// The URL of `addr`'s message endpoint: `http://host:port` or a bare `host:port`.
fn url(addr: &str) -> Result<hyper::Uri, String> {
    let base = addr.trim_end_matches('/');
    if base.starts_with("https://") {
        return Err(format!(
            "{addr}: this emulator speaks plain HTTP between clusters; use http:// addresses"
        ));
    }
    let base = if base.starts_with("http://") {
        base.to_string()
    } else {
        format!("http://{base}")
    };
    format!("{base}{MESSAGE_PATH}")
        .parse()
        .map_err(|e| format!("{addr}: not an address: {e}"))
}

async fn dispatch(mut rx: mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(3)));
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let mut peers: HashMap<String, mpsc::Sender<Vec<u8>>> = HashMap::new();
    while let Some((to, bytes)) = rx.recv().await {
        peers.retain(|_, tx| !tx.is_closed());
        if !peers.contains_key(&to) {
            let uri = match url(&to) {
                Ok(u) => u,
                Err(e) => {
                    tracing::debug!("message dropped: cannot send to {e}");
                    continue;
                }
            };
            if peers.len() >= MAX_PEERS {
                tracing::warn!(peer = %to, "message dropped: already sending to {MAX_PEERS} addresses");
                continue;
            }
            let (tx, rx) = mpsc::channel(PER_PEER_QUEUE);
            tokio::spawn(deliver(client.clone(), to.clone(), uri, rx));
            peers.insert(to.clone(), tx);
        }
        if peers[&to].try_send(bytes).is_err() {
            tracing::debug!(peer = %to, "queue full: message dropped");
        }
    }
}

async fn deliver(
    client: Client<HttpConnector, Full<Bytes>>,
    to: String,
    uri: hyper::Uri,
    mut rx: mpsc::Receiver<Vec<u8>>,
) {
    while let Ok(Some(first)) = tokio::time::timeout(IDLE, rx.recv()).await {
        // Everything queued for this peer goes in one POST, so the receiver commits it once.
        let mut body = first;
        let mut n = 1;
        while n < BATCH && body.len() < BATCH_BYTES {
            match rx.try_recv() {
                Ok(more) => {
                    body.push(b'\n');
                    body.extend_from_slice(&more);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        let req = hyper::Request::post(uri.clone())
            .header("content-type", "application/x-ndjson")
            .body(Full::new(Bytes::from(body)))
            .expect("a POST with a valid URI builds");
        match tokio::time::timeout(DELIVERY_TIMEOUT, client.request(req)).await {
            Ok(Ok(resp)) if resp.status().is_success() => {}
            Ok(Ok(resp)) => {
                tracing::warn!(peer = %to, status = %resp.status(), "peer refused {n} message(s)")
            }
            Ok(Err(e)) => tracing::debug!(peer = %to, "{n} message(s) lost: {e}"),
            Err(_) => {
                tracing::debug!(peer = %to, "{n} message(s) lost: no answer in {DELIVERY_TIMEOUT:?}")
            }
        }
    }
}
