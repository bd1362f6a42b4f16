//! What the simulator costs as its work grows: a runbook of distinct-key writes to a DR pair at 1k,
//! 10k and 100k writes (the cost per write must not grow with the number of writes), and the seed-1
//! 4-cluster fuzz campaign in simulated events per second (its runs kept as the campaign keeps
//! them: the verdict only).
//!
//! `cargo bench -p replication-sim` (criterion prints elements per second: writes, or events).

/// The allocator the `replication-sim` binary runs with, so the figures match `fuzz --stats`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use replication_sim::fuzz::{self, Keep, RunParams};
use replication_sim::runner::Runner;
use replication_sim::scenario::{parse_value, Scenario};
use serde_json::json;

/// A DR pair, then `n` writes to distinct keys on the primary, then the checks.
fn distinct_key_runbook(n: usize) -> Scenario {
    let mut steps = vec![
        json!({"call": "A", "method": "POST", "path": "sys/replication/dr/primary/enable"}),
        json!({"call": "A", "method": "POST", "path": "sys/replication/dr/primary/secondary-token",
               "body": {"id": "B"}, "save": {"tok": "wrap_info.token"}}),
        json!({"call": "B", "method": "POST", "path": "sys/replication/dr/secondary/enable",
               "body": {"token": "${tok}"}}),
    ];
    steps.extend(
        (0..n).map(
            |i| json!({"write": "A", "path": format!("secret/k{i}"), "value": format!("v{i}")}),
        ),
    );
    steps.push(json!({"advance": "10s"}));
    steps.push(json!({"expect_same_data": ["A", "B"], "kind": "dr"}));
    steps.push(json!({"expect_losses": {"total": 0}}));
    let file =
        json!({"name": format!("distinct-{n}"), "clusters": {"A": {}, "B": {}}, "steps": steps});
    parse_value(&file, None).expect("the runbook parses")
}

fn runbook_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("distinct_key_writes");
    group.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        let scenario = distinct_key_runbook(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &scenario, |b, s| {
            b.iter(|| {
                let report = Runner::new(s).run(None);
                assert!(report.passed(), "{}", report.render_text());
            })
        });
    }
    group.finish();
}

fn campaign(c: &mut Criterion) {
    let params: Vec<RunParams> = (1..=200)
        .map(|run| RunParams::derive(1, run, Some(4)))
        .collect();
    let none = Default::default();
    let events: u64 = params
        .iter()
        .map(|p| fuzz::run_generated_keeping(p, 300, &none, Keep::Verdict).events)
        .sum();
    let mut group = c.benchmark_group("fuzz_campaign");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("seed1_200_runs_300_steps_4_clusters", |b| {
        b.iter(|| {
            for p in &params {
                fuzz::run_generated_keeping(p, 300, &none, Keep::Verdict);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, runbook_writes, campaign);
criterion_main!(benches);
