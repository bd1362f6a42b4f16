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
    /// Largest request body, in bytes.
    pub max_body: usize,
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
}

/// Starts every planned node and binds its ports; the returned future serves them until ctrl-c.
pub async fn start(
    plans: Vec<Plan>,
) -> Result<(Vec<Running>, impl std::future::Future<Output = ()>), ServeError> {
    let (outbox, dispatch) = Outbox::new();
    tokio::spawn(dispatch);
    let mut running = vec![];
    let mut servers = vec![];
    for p in plans {
        let name = p.node.name.clone();
        let started =
            node::start(p.node, outbox.clone()).map_err(|e| ServeError::Start(name.clone(), e))?;
        let l = Listener {
            node: started.handle.clone(),
            max_body: p.max_body,
        };
        let api = tokio::net::TcpListener::bind(p.api_listen)
            .await
            .map_err(|e| ServeError::Bind(p.api_listen, e))?;
        let cluster = tokio::net::TcpListener::bind(p.cluster_listen)
            .await
            .map_err(|e| ServeError::Bind(p.cluster_listen, e))?;
        let (api_app, cluster_app) = (api_router(l.clone()), cluster_router(l));
        servers.push(tokio::spawn(async move { axum::serve(api, api_app).await }));
        servers.push(tokio::spawn(async move {
            axum::serve(cluster, cluster_app).await
        }));
        running.push(Running { name, started });
    }
    let serve = async move {
        let _ = tokio::signal::ctrl_c().await;
        for s in servers {
            s.abort();
        }
    };
    Ok((running, serve))
}
