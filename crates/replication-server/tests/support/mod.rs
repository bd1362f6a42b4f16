//! Real `replication-server` processes on loopback ports chosen at run time, and a small blocking
//! HTTP client to talk to them.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP exchange: (status, JSON body or Null).
pub fn http(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let rest = url.strip_prefix("http://").ok_or("http:// urls only")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(host).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        req.push_str(&format!("X-Vault-Token: {t}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    let json = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?
    };
    Ok((status, json))
}

/// Polls `f` every 50 ms until it is `Some`, for at most `secs` seconds.
pub fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {secs}s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One `replication-server serve` process.
pub struct Server {
    pub name: String,
    pub api: String,
    pub cluster_port: u16,
    pub api_port: u16,
    pub dir: PathBuf,
    pub token: String,
    child: Option<Child>,
}

impl Server {
    /// Starts cluster `name` with its data in `root/name`, heartbeats every 100 ms, on ports the
    /// system chooses (read back from `listening.json`).
    pub fn start(name: &str, root: &Path) -> Server {
        let mut s = Server {
            name: name.to_string(),
            api: String::new(),
            api_port: 0,
            cluster_port: 0,
            dir: root.join(name),
            token: String::new(),
            child: None,
        };
        s.restart();
        s
    }

    /// Starts the process again on the same ports and data directory.
    pub fn restart(&mut self) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let file = self.dir.join("listening.json");
        let _ = std::fs::remove_file(&file);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_replication-server"))
            .args([
                "serve",
                "--name",
                &self.name,
                "--heartbeat",
                "100ms",
                "--data-dir",
            ])
            .arg(&self.dir)
            .args(["--api-addr", &format!("127.0.0.1:{}", self.api_port)])
            .args([
                "--cluster-addr",
                &format!("127.0.0.1:{}", self.cluster_port),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn replication-server");
        self.child = Some(child);
        let at: Value = wait_for(&format!("{} to listen", self.name), 20, || {
            serde_json::from_str(&std::fs::read_to_string(&file).ok()?).ok()
        });
        let port = |k: &str| {
            at[k]
                .as_str()
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| p.parse::<u16>().ok())
                .unwrap()
        };
        (self.api_port, self.cluster_port) = (port("api_addr"), port("cluster_addr"));
        self.api = format!("http://127.0.0.1:{}", self.api_port);
        let url = format!("{}/v1/sys/health", self.api);
        wait_for(&format!("{} to answer", self.name), 20, || {
            http("GET", &url, None, None).ok()
        });
        self.token = std::fs::read_to_string(self.dir.join("root-token"))
            .unwrap()
            .trim()
            .to_string();
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The unseal key shares it wrote on its first start.
    pub fn unseal_keys(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("unseal-keys"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// A request with the root token.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        http(
            method,
            &format!("{}{path}", self.api),
            Some(&self.token),
            body.as_ref(),
        )
        .unwrap_or_else(|e| panic!("{} {method} {path}: {e}", self.name))
    }

    /// A request that must succeed (2xx); its body.
    pub fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, b) = self.call(method, path, body.clone());
        assert!(
            (200..300).contains(&status),
            "{} {method} {path} {body:?} -> {status} {b}",
            self.name
        );
        b
    }

    /// The cluster's status of `kind` (`dr` or `performance`).
    pub fn status(&self, kind: &str) -> Value {
        self.ok("GET", &format!("/v1/sys/replication/{kind}/status"), None)["data"].clone()
    }

    /// Waits until `kind` on this cluster is a secondary streaming from its primary.
    pub fn wait_streaming(&self, kind: &str) {
        wait_for(&format!("{} {kind} stream-wals", self.name), 30, || {
            (self.status(kind)["state"] == "stream-wals").then_some(())
        });
    }

    /// A fresh activation token for secondary `id` from this primary.
    pub fn secondary_token(&self, kind: &str, id: &str) -> String {
        let b = self.ok(
            "POST",
            &format!("/v1/sys/replication/{kind}/primary/secondary-token"),
            Some(serde_json::json!({"id": id})),
        );
        b["wrap_info"]["token"].as_str().unwrap().to_string()
    }

    /// A DR operation token on this DR secondary, from a quorum of `keys`.
    pub fn operation_token(&self, keys: &[String]) -> String {
        let base = "/v1/sys/replication/dr/secondary/generate-operation-token";
        let started = self.ok("POST", &format!("{base}/attempt"), None)["data"].clone();
        let (nonce, otp) = (
            started["nonce"].as_str().unwrap().to_string(),
            started["otp"].as_str().unwrap().to_string(),
        );
        let mut last = Value::Null;
        for k in keys {
            last = self.ok(
                "POST",
                &format!("{base}/update"),
                Some(serde_json::json!({"key": k, "nonce": nonce})),
            )["data"]
                .clone();
            if last["complete"] == true {
                break;
            }
        }
        assert_eq!(last["complete"], true, "{last}");
        replication_core::decode_operation_token(last["encoded_token"].as_str().unwrap(), &otp)
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
