//! Running nodes: bind a node's two ports and serve them until the process is told to stop.

use crate::http::{api_router, cluster_router, Listener};
use crate::node::{self, NodeConfig, Started};
use crate::peer::Outbox;
use std::net::SocketAddr;

/// One node to run: its setup and where it listens.
pub struct Plan {
    /// The node's setup.
    pub node: NodeConfig,
    /// Where the API port listens.
    pub api_listen: SocketAddr,
    /// Where the cluster port listens.
    pub cluster_listen: SocketAddr,
    /// Request size limits.
    pub limits: Limits,
}

/// Request size limits of a node's listeners.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest client request body, in bytes (larger ones get 413).
    pub max_body: usize,
    /// Largest message from a peer, in bytes: a Merkle sync carries every differing entry at once.
    pub max_message: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 1 << 20,
            max_message: 256 << 20,
        }
    }
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A node could not start.
    #[error("cluster {0}: {1}")]
    Start(String, node::StartError),
    /// A port could not be bound.
    #[error("cannot listen on {0}: {1}; is another server using it? (choose another address)")]
    Bind(SocketAddr, std::io::Error),
}

/// A node that is up: its handle and what it created.
pub struct Running {
    /// The node's name.
    pub name: String,
    /// What starting it gave.
    pub started: Started,
    /// Where its API listens (the port the system chose, when 0 was asked for).
    pub api_addr: SocketAddr,
    /// Where its cluster port listens.
    pub cluster_addr: SocketAddr,
}

/// Binds every planned node's ports and starts it; the returned future serves them until ctrl-c.
/// Each node's data directory gets `listening.json` (`{"api_addr", "cluster_addr"}`), the
/// addresses it listens on.
pub async fn start(
    plans: Vec<Plan>,
) -> Result<(Vec<Running>, impl std::future::Future<Output = ()>), ServeError> {
    let (outbox, dispatch) = Outbox::new();
    tokio::spawn(dispatch);
    let mut running = vec![];
    let mut servers = vec![];
    for mut p in plans {
        let name = p.node.name.clone();
        // Bind first: a port given as 0 is chosen by the system, and the cluster is then known
        // (and advertised) by the port it really has.
        let api = tokio::net::TcpListener::bind(p.api_listen)
            .await
            .map_err(|e| ServeError::Bind(p.api_listen, e))?;
        let cluster = tokio::net::TcpListener::bind(p.cluster_listen)
            .await
            .map_err(|e| ServeError::Bind(p.cluster_listen, e))?;
        let bound = |l: &tokio::net::TcpListener, asked: SocketAddr| {
            l.local_addr().map_err(|e| ServeError::Bind(asked, e))
        };
        let (api_at, cluster_at) = (
            bound(&api, p.api_listen)?,
            bound(&cluster, p.cluster_listen)?,
        );
        if p.api_listen.port() == 0 {
            p.node.api_addr = format!("http://{api_at}");
        }
        if p.cluster_listen.port() == 0 {
            p.node.cluster_addr = format!("http://{cluster_at}");
        }
        let listening = p.node.data_dir.join("listening.json");
        let record = serde_json::json!({"api_addr": api_at.to_string(), "cluster_addr": cluster_at.to_string()});
        let started =
            node::start(p.node, outbox.clone()).map_err(|e| ServeError::Start(name.clone(), e))?;
        std::fs::write(&listening, record.to_string() + "\n")
            .map_err(|e| ServeError::Start(name.clone(), node::StartError::Io(listening, e)))?;
        let l = Listener {
            node: started.handle.clone(),
            max_body: p.limits.max_body,
            max_message: p.limits.max_message,
            answer_timeout: started.answer_timeout,
        };
        let (api_app, cluster_app) = (api_router(l.clone()), cluster_router(l));
        servers.push(tokio::spawn(async move { axum::serve(api, api_app).await }));
        servers.push(tokio::spawn(async move {
            axum::serve(cluster, cluster_app).await
        }));
        running.push(Running {
            name,
            started,
            api_addr: api_at,
            cluster_addr: cluster_at,
        });
    }
    let serve = async move {
        let _ = tokio::signal::ctrl_c().await;
        for s in servers {
            s.abort();
        }
    };
    Ok((running, serve))
}
