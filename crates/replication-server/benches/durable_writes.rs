//! Acknowledged durable writes per second: one DR primary with one DR secondary, in one process on
//! loopback, KV writes over HTTP. Each acknowledged write was committed (fsync'd) by the primary's
//! store before its 204; concurrent clients share commits (group commit), one client cannot.
//!
//! `cargo bench -p replication-server --bench durable_writes`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use replication_server::node::NodeConfig;
use replication_server::serve::{self, Plan};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Http = Client<HttpConnector, Full<bytes::Bytes>>;

async fn call(client: &Http, method: &str, url: &str, token: &str, body: &str) -> (u16, String) {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("x-vault-token", token)
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .unwrap();
    let resp = client.request(req).await.expect("request");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

struct Setup {
    client: Http,
    primary: String,
    token: String,
    next: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

fn setup(rt: &tokio::runtime::Runtime) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let token = "hvs.bench-root-token".to_string();
    let plan = |name: &str| {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (api, cluster) = (any, any);
        Plan {
            node: NodeConfig {
                name: name.into(),
                api_addr: format!("http://{api}"),
                cluster_addr: format!("http://{cluster}"),
                data_dir: dir.path().join(name),
                heartbeat: Some(replication_core::Duration::from_millis(500)),
                unseal: None,
                root_token: Some(token.clone()),
            },
            api_listen: api,
            cluster_listen: cluster,
            limits: Default::default(),
        }
    };
    let client: Http = Client::builder(TokioExecutor::new()).build_http();
    let pa = rt.block_on(async {
        let (running, serving) = serve::start(vec![plan("A"), plan("B")])
            .await
            .expect("servers start");
        tokio::spawn(serving);
        let (pa, pb) = (
            format!("http://{}", running[0].api_addr),
            format!("http://{}", running[1].api_addr),
        );
        let ok = |r: (u16, String)| assert!(r.0 < 300, "{r:?}");
        ok(call(
            &client,
            "POST",
            &format!("{pa}/v1/sys/replication/dr/primary/enable"),
            &token,
            "",
        )
        .await);
        let (_, body) = call(
            &client,
            "POST",
            &format!("{pa}/v1/sys/replication/dr/primary/secondary-token"),
            &token,
            r#"{"id":"B"}"#,
        )
        .await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let t = v["wrap_info"]["token"].as_str().unwrap().to_string();
        ok(call(
            &client,
            "POST",
            &format!("{pb}/v1/sys/replication/dr/secondary/enable"),
            &token,
            &format!(r#"{{"token":"{t}"}}"#),
        )
        .await);
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, s) = call(
                &client,
                "GET",
                &format!("{pb}/v1/sys/replication/dr/status"),
                &token,
                "",
            )
            .await;
            if s.contains("stream-wals") {
                break;
            }
            assert!(Instant::now() < end, "B did not start streaming: {s}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        pa
    });
    Setup {
        client,
        primary: pa,
        token,
        next: Arc::new(AtomicU64::new(0)),
        _dir: dir,
    }
}

fn writes(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = setup(&rt);
    let mut g = c.benchmark_group("durable_writes");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    for clients in [1u64, 32] {
        g.bench_function(format!("{clients}_clients"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    let per = iters.div_ceil(clients);
                    let tasks: Vec<_> = (0..clients)
                        .map(|_| {
                            let (client, url, token, next) = (
                                s.client.clone(),
                                s.primary.clone(),
                                s.token.clone(),
                                s.next.clone(),
                            );
                            tokio::spawn(async move {
                                for _ in 0..per {
                                    let i = next.fetch_add(1, Ordering::Relaxed);
                                    let (status, body) = call(
                                        &client,
                                        "PUT",
                                        &format!("{url}/v1/secret/bench/{i}"),
                                        &token,
                                        r#"{"v":"payload"}"#,
                                    )
                                    .await;
                                    assert_eq!(status, 204, "{body}");
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    start
                        .elapsed()
                        .mul_f64(iters as f64 / (per * clients) as f64)
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, writes);
criterion_main!(benches);
