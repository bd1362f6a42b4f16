//! `replication-server dev`: several clusters in one process for trying things out, as
//! `vault server -dev` is for Vault. Clusters `A`, `B`, `C`, … listen on 127.0.0.1 at API ports
//! 8200, 8210, 8220, … (cluster ports one above), keep their data in temporary folders removed on
//! exit, share one root token and one unseal key share (threshold 1).

use crate::node::NodeConfig;
use crate::serve::{Limits, Plan};
use replication_core::UnsealKeys;
use serde::Serialize;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

/// What scripts need to reach a dev setup (`--credentials FILE`).
#[derive(Clone, Debug, Serialize)]
pub struct Credentials {
    /// The root token valid on every cluster.
    pub root_token: String,
    /// The unseal key share(s) every cluster starts with.
    pub unseal_keys: Vec<String>,
    /// The clusters.
    pub clusters: Vec<DevCluster>,
}

/// One dev cluster's addresses.
#[derive(Clone, Debug, Serialize)]
pub struct DevCluster {
    /// `A`, `B`, …
    pub name: String,
    /// `http://127.0.0.1:8200`
    pub api_addr: String,
    /// `127.0.0.1:8201`
    pub cluster_addr: String,
}

/// The names of `n` dev clusters: `A`, `B`, … `Z`.
pub fn names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| ((b'A' + i as u8) as char).to_string())
        .collect()
}

/// The plans and credentials of a dev setup of `n` clusters from `base_port`, data under `root`.
pub fn plans(
    n: usize,
    base_port: u16,
    heartbeat: replication_core::Duration,
    root_token: String,
    unseal: UnsealKeys,
    root: &Path,
    limits: Limits,
) -> (Vec<Plan>, Credentials) {
    let mut plans = vec![];
    let mut clusters = vec![];
    for (i, name) in names(n).into_iter().enumerate() {
        let api = base_port + 10 * i as u16;
        let api_listen = SocketAddr::from((Ipv4Addr::LOCALHOST, api));
        let cluster_listen = SocketAddr::from((Ipv4Addr::LOCALHOST, api + 1));
        let dc = DevCluster {
            name: name.clone(),
            api_addr: format!("http://{api_listen}"),
            cluster_addr: cluster_listen.to_string(),
        };
        plans.push(Plan {
            node: NodeConfig {
                name: name.clone(),
                api_addr: dc.api_addr.clone(),
                cluster_addr: format!("http://{cluster_listen}"),
                data_dir: root.join(&name),
                heartbeat: Some(heartbeat),
                unseal: Some(unseal.clone()),
                root_token: Some(root_token.clone()),
            },
            api_listen,
            cluster_listen,
            limits,
        });
        clusters.push(dc);
    }
    let creds = Credentials {
        root_token,
        unseal_keys: unseal.shares.clone(),
        clusters,
    };
    (plans, creds)
}

/// The banner `dev` prints: where everything is, and curl lines for a DR pair.
pub fn banner(c: &Credentials) -> String {
    let mut out = String::new();
    out.push_str("replication-server dev: Vault Enterprise replication emulated, data in temporary folders (gone on exit)\n\n");
    for cl in &c.clusters {
        out.push_str(&format!(
            "  cluster {}  api {}  cluster port {}\n",
            cl.name, cl.api_addr, cl.cluster_addr
        ));
    }
    out.push_str(&format!(
        "\n  Root token (every cluster): {}\n",
        c.root_token
    ));
    out.push_str(&format!(
        "  Unseal key (threshold 1):   {}\n",
        c.unseal_keys.join(", ")
    ));
    if let [a, b, ..] = c.clusters.as_slice() {
        out.push_str(&format!(
            "\nA DR pair, {a} primary and {b} secondary:\n\n  export VAULT_TOKEN={t}\n  curl -s -X POST -H \"X-Vault-Token: $VAULT_TOKEN\" {aa}/v1/sys/replication/dr/primary/enable\n  TOKEN=$(curl -s -X POST -H \"X-Vault-Token: $VAULT_TOKEN\" -d '{{\"id\":\"{b}\"}}' {aa}/v1/sys/replication/dr/primary/secondary-token | jq -r .wrap_info.token)\n  curl -s -X POST -H \"X-Vault-Token: $VAULT_TOKEN\" -d \"{{\\\"token\\\":\\\"$TOKEN\\\"}}\" {ba}/v1/sys/replication/dr/secondary/enable\n  curl -s -X PUT -H \"X-Vault-Token: $VAULT_TOKEN\" -d '{{\"password\":\"s3cret\"}}' {aa}/v1/secret/app\n  curl -s {ba}/v1/sys/replication/dr/status | jq .data\n",
            a = a.name,
            b = b.name,
            t = c.root_token,
            aa = a.api_addr,
            ba = b.api_addr,
        ));
    }
    out
}
