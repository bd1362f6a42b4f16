//! Prints the report of one fuzz run: `cargo run --example fuzz_dump -- SEED RUN STEPS`.
use replication_sim::fuzz::{run_generated, RunParams};

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (seed, run, steps) = (
        args.first().copied().unwrap_or(1),
        args.get(1).copied().unwrap_or(1),
        args.get(2).copied().unwrap_or(100),
    );
    let params = RunParams::derive(seed, run, None);
    println!("{}", params.line());
    let o = run_generated(&params, steps as usize, &Default::default());
    print!("{}", o.report.render_text());
}
