//! `replication-sim`: run replication scenarios and report what happened.

use clap::{Parser, Subcommand};
use replication_sim::{run_file, scenario_files};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "replication-sim",
    version,
    about = "Simulate Vault Enterprise replication runbooks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenario files (a folder runs every *.json in it). Exit 0: all passed; 1: an expectation
    /// or invariant failed; 2: a file is unusable.
    Run {
        /// Scenario files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print a JSON report (one object per scenario, in a JSON array).
        #[arg(long)]
        json: bool,
        /// Write the final topology of the (last) scenario as Graphviz DOT to this file.
        #[arg(long, value_name = "FILE")]
        dot: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { paths, json, dot } => run(&paths, json, dot),
    }
}

fn run(paths: &[PathBuf], json: bool, dot: Option<PathBuf>) -> ExitCode {
    let files = match scenario_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut worst = 0u8;
    let mut reports = vec![];
    let mut last_dot = None;
    for f in &files {
        match run_file(f) {
            Ok(report) => {
                if !report.passed() {
                    worst = worst.max(1);
                }
                if json {
                    reports.push(report.to_json());
                } else {
                    print!("{}", report.render_text());
                    println!();
                }
                last_dot = Some(report.dot.clone());
            }
            Err(e) => {
                eprintln!("error: {e}");
                worst = 2;
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports).unwrap_or_else(|_| "[]".into())
        );
    } else if files.len() > 1 {
        println!("{} scenario(s) run; exit {worst}", files.len());
    }
    if let (Some(path), Some(d)) = (dot, last_dot) {
        if let Err(e) = std::fs::write(&path, d) {
            eprintln!("error: cannot write {}: {e}", path.display());
            worst = 2;
        }
    }
    ExitCode::from(worst)
}
