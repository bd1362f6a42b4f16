//! The cluster network: messages between clusters travel as HTTP `POST`s of [`Envelope`] bytes to
//! `/_replication/message` on the address the core names (a cluster address, or an API address for
//! activation requests). One sender task per destination keeps each link's messages in order; a
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
const PER_PEER_QUEUE: usize = 4096;

/// How long one delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

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
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut peers: HashMap<String, mpsc::Sender<Vec<u8>>> = HashMap::new();
    while let Some((to, bytes)) = rx.recv().await {
        let tx = peers.entry(to.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(PER_PEER_QUEUE);
            tokio::spawn(deliver(client.clone(), to.clone(), rx));
            tx
        });
        if tx.try_send(bytes).is_err() {
            tracing::debug!(peer = %to, "queue full: message dropped");
        }
    }
}

async fn deliver(
    client: Client<HttpConnector, Full<Bytes>>,
    to: String,
    mut rx: mpsc::Receiver<Vec<u8>>,
) {
    let uri = match url(&to) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!("cannot send to {e}");
            while rx.recv().await.is_some() {}
            return;
        }
    };
    while let Some(bytes) = rx.recv().await {
        let req = hyper::Request::post(uri.clone())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .expect("a POST with a valid URI builds");
        match tokio::time::timeout(DELIVERY_TIMEOUT, client.request(req)).await {
            Ok(Ok(resp)) if resp.status().is_success() => {}
            Ok(Ok(resp)) => {
                tracing::warn!(peer = %to, status = %resp.status(), "peer refused a message")
            }
            Ok(Err(e)) => tracing::debug!(peer = %to, "message lost: {e}"),
            Err(_) => {
                tracing::debug!(peer = %to, "message lost: no answer in {DELIVERY_TIMEOUT:?}")
            }
        }
    }
}
