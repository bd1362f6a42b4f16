//! Data-plane benchmarks: `cargo bench -p replication-core`.
//!
//! - `write_and_stream/{1k,100k}`: one client write on a primary with two DR secondaries, shipped and
//!   applied on both. Equal medians at 1k and 100k keys show per-write cost does not grow with size.
//! - `merkle_diff_100k_10_conflicts`: a secondary holding 100k keys, 10 of them stale, reconnects;
//!   the diff and sync run until it streams again.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand_chacha::{rand_core::SeedableRng, ChaCha8Rng};
use replication_core::*;
use std::collections::{BTreeMap, VecDeque};

struct World {
    now: Timestamp,
    rng: ChaCha8Rng,
    clusters: BTreeMap<String, Cluster>,
}

impl World {
    fn new(names: &[&str]) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let clusters = names
            .iter()
            .map(|n| {
                let mut cfg = ClusterConfig::new(n);
                cfg.log_shipper_buffer = 1024;
                (
                    n.to_string(),
                    Cluster::new(cfg, &[("secret/".into(), false)], &mut rng),
                )
            })
            .collect();
        World {
            now: Timestamp::from_millis(1_700_000_000_000),
            rng,
            clusters,
        }
    }

    fn step(&mut self, name: &str, input: Input) -> Reply {
        let now = self.now;
        let c = self.clusters.get_mut(name).unwrap();
        let r = c.step(now, &mut self.rng, input).unwrap();
        let from = c.config().cluster_addr.clone();
        let mut queue: VecDeque<(String, Transmit)> = c
            .ready()
            .messages
            .into_iter()
            .map(|m| (from.clone(), m))
            .collect();
        while let Some((from, t)) = queue.pop_front() {
            let Some((name, c)) = self
                .clusters
                .iter_mut()
                .find(|(_, c)| c.config().api_addr == t.to || c.config().cluster_addr == t.to)
            else {
                continue;
            };
            let _ = name;
            c.step(
                now,
                &mut self.rng,
                Input::Message {
                    from,
                    message: t.message,
                },
            )
            .unwrap();
            let me = c.config().cluster_addr.clone();
            queue.extend(c.ready().messages.into_iter().map(|m| (me.clone(), m)));
        }
        r
    }

    fn join(&mut self, p: &str, s: &str) {
        let Reply::Token(t) = self.step(
            p,
            Input::Request(Request::SecondaryToken {
                kind: Kind::Dr,
                id: s.into(),
                ttl: None,
                secondary_public_key: None,
            }),
        ) else {
            unreachable!()
        };
        self.step(
            s,
            Input::Request(Request::EnableSecondary {
                kind: Kind::Dr,
                token: t.token,
                primary_api_addr: None,
            }),
        );
    }

    fn write(&mut self, name: &str, key: String) {
        self.step(
            name,
            Input::Client(ClientOp::Write {
                path: key,
                value: "v".into(),
            }),
        );
    }
}

fn primary_with_two_secondaries(keys: usize) -> World {
    let mut w = World::new(&["A", "B", "C"]);
    w.step(
        "A",
        Input::Request(Request::EnablePrimary {
            kind: Kind::Dr,
            primary_cluster_addr: None,
        }),
    );
    for i in 0..keys {
        w.write("A", format!("secret/k{i}"));
    }
    w.join("A", "B");
    w.join("A", "C");
    w
}

fn bench_write(c: &mut Criterion) {
    let mut g = c.benchmark_group("write_and_stream");
    for (label, keys) in [("1k", 1_000), ("100k", 100_000)] {
        let mut w = primary_with_two_secondaries(keys);
        let mut i = 0u64;
        g.bench_function(label, |b| {
            b.iter(|| {
                i += 1;
                w.write("A", format!("secret/k{}", i % keys as u64));
            })
        });
        assert_eq!(
            w.clusters["A"].storage().merkle_root(Kind::Dr),
            w.clusters["C"].storage().merkle_root(Kind::Dr)
        );
    }
    g.finish();
}

fn bench_diff(c: &mut Criterion) {
    let mut base = primary_with_two_secondaries(100_000);
    // B goes away; 10 keys change on A; the log moves past B's position (buffer 1024).
    let b_snapshot = base.clusters["B"].snapshot();
    base.clusters.remove("B");
    for i in 0..10 {
        base.step(
            "A",
            Input::Client(ClientOp::Write {
                path: format!("secret/k{i}"),
                value: "new".into(),
            }),
        );
    }
    // Push B's position out of A's 1024-entry buffer without changing more keys: rewrite 50 keys
    // back and forth, ending on their original value.
    for i in 0..2_000 {
        let key = format!("secret/k{}", 100 + (i % 50));
        let value = if i >= 1_950 {
            "v"
        } else if (i / 50) % 2 == 0 {
            "x"
        } else {
            "v"
        };
        base.step(
            "A",
            Input::Client(ClientOp::Write {
                path: key,
                value: value.into(),
            }),
        );
    }
    c.bench_function("merkle_diff_100k_10_conflicts", |bench| {
        bench.iter_batched(
            || {
                let mut w = World {
                    now: base.now,
                    rng: ChaCha8Rng::seed_from_u64(2),
                    clusters: BTreeMap::new(),
                };
                w.clusters.insert("A".into(), base.clusters["A"].clone());
                let b = Cluster::restore(&b_snapshot, w.now, &mut w.rng).unwrap();
                w.clusters.insert("B".into(), b);
                w
            },
            |mut w| {
                w.step("B", Input::Tick);
                assert!(
                    w.clusters["B"]
                        .storage()
                        .get("secret/k0")
                        .is_some_and(|e| e.value == "new"),
                    "the diff moved the 10 conflicting keys"
                );
                assert_eq!(
                    w.clusters["A"].storage().merkle_root(Kind::Dr),
                    w.clusters["B"].storage().merkle_root(Kind::Dr)
                );
                w
            },
            BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, bench_write, bench_diff);
criterion_main!(benches);
