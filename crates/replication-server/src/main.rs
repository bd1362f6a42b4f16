//! `replication-server`: `serve` one cluster, or `dev` several in one process.

use clap::{Parser, Subcommand};
use rand::SeedableRng;
use replication_core::{Duration, UnsealKeys};
use replication_server::dev;
use replication_server::node::NodeConfig;
use replication_server::serve::{self, Limits, Plan};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "replication-server",
    version,
    about = "A local emulator of Vault Enterprise replication: the replication model served over Vault's HTTP API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve one cluster: its HTTP API, its cluster port, its data directory.
    Serve {
        /// The cluster's name (stored with its data; a data directory belongs to one cluster).
        #[arg(long)]
        name: String,
        /// Where the HTTP API listens (host:port); other clusters and clients reach it here.
        #[arg(long, default_value = "127.0.0.1:8200")]
        api_addr: SocketAddr,
        /// Where replication traffic from other clusters arrives (host:port).
        #[arg(long, default_value = "127.0.0.1:8201")]
        cluster_addr: SocketAddr,
        /// The data directory (created if missing): the store and `root-token`.
        #[arg(long)]
        data_dir: PathBuf,
        /// Heartbeat period, as Vault writes durations (`5s`, `250ms`; default 5s); set when the
        /// cluster is created.
        #[arg(long, value_parser = parse_duration)]
        heartbeat: Option<Duration>,
        /// Largest request body in bytes (`1048576`, `512KiB`, `1MiB`); larger ones get 413.
        #[arg(long, default_value = "1MiB", value_parser = parse_size)]
        max_body: usize,
        /// Largest message from another cluster (a Merkle sync carries every differing entry).
        #[arg(long, default_value = "256MiB", value_parser = parse_size)]
        max_message: usize,
    },
    /// Several clusters in one process on 127.0.0.1, for trying things out (data is temporary).
    Dev {
        /// How many clusters (A, B, C, …).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=10))]
        clusters: u8,
        /// Heartbeat period.
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        heartbeat: Duration,
        /// The root token every cluster accepts (as Vault's -dev-root-token-id); drawn when absent.
        #[arg(long)]
        root_token: Option<String>,
        /// Write the root token, unseal key and addresses to this JSON file.
        #[arg(long)]
        credentials: Option<PathBuf>,
        /// The first cluster's API port; the next ones are 10 apart, cluster ports one above.
        #[arg(long, default_value_t = 8200)]
        base_port: u16,
        /// Largest request body in bytes.
        #[arg(long, default_value = "1MiB", value_parser = parse_size)]
        max_body: usize,
        /// Largest message from another cluster.
        #[arg(long, default_value = "256MiB", value_parser = parse_size)]
        max_message: usize,
    },
    /// Decode a DR operation token: the `encoded_token` of a completed generate-operation-token
    /// attempt, with the attempt's `otp` (what `vault operator generate-root -dr-token -decode` does).
    DecodeToken {
        /// The attempt's one-time pad.
        #[arg(long)]
        otp: String,
        /// The `encoded_token` the last update answered.
        encoded: String,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = Duration::parse(s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("GiB") {
        (n, 1 << 30)
    } else if let Some(n) = t.strip_suffix("MiB") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("KiB") {
        (n, 1 << 10)
    } else {
        (t, 1)
    };
    let n: usize = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size: write bytes (1048576), KiB or MiB (1MiB)"))?;
    n.checked_mul(mult)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("{s:?} is out of range"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> ExitCode {
    match command {
        Command::DecodeToken { otp, encoded } => {
            match replication_core::decode_operation_token(&encoded, &otp) {
                Ok(t) => {
                    println!("{t}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Serve {
            name,
            api_addr,
            cluster_addr,
            data_dir,
            heartbeat,
            max_body,
            max_message,
        } => {
            let plan = Plan {
                node: NodeConfig {
                    name: name.clone(),
                    api_addr: format!("http://{api_addr}"),
                    cluster_addr: format!("http://{cluster_addr}"),
                    data_dir: data_dir.clone(),
                    heartbeat,
                    unseal: None,
                    root_token: None,
                },
                api_listen: api_addr,
                cluster_listen: cluster_addr,
                limits: Limits {
                    max_body,
                    max_message,
                },
            };
            match serve::start(vec![plan]).await {
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
                Ok((running, serve)) => {
                    for r in &running {
                        if let Some(t) = &r.started.new_root_token {
                            println!(
                                "Root token: {t} (also in {})",
                                data_dir.join("root-token").display()
                            );
                        }
                    }
                    for r in &running {
                        println!(
                            "cluster {name}: API http://{}, cluster port {}, data in {}",
                            r.api_addr,
                            r.cluster_addr,
                            data_dir.display()
                        );
                    }
                    serve.await;
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Dev {
            clusters,
            heartbeat,
            root_token,
            credentials,
            base_port,
            max_body,
            max_message,
        } => {
            let top = base_port as u32 + 10 * (clusters as u32 - 1) + 1;
            if top > u16::MAX as u32 {
                eprintln!("error: --base-port {base_port} leaves no room for {clusters} clusters (ports up to {top}); choose a lower one");
                return ExitCode::from(2);
            }
            let dir = match tempfile::Builder::new()
                .prefix("replication-dev-")
                .tempdir()
            {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("error: cannot create a temporary data folder: {e}");
                    return ExitCode::from(1);
                }
            };
            let mut rng = rand::rngs::StdRng::from_os_rng();
            let root_token =
                root_token.unwrap_or_else(|| replication_server::auth::random_token(&mut rng));
            let unseal = UnsealKeys::generate(&mut rng, 1, 1);
            let (plans, creds) = dev::plans(
                clusters as usize,
                base_port,
                heartbeat,
                root_token,
                unseal,
                dir.path(),
                Limits {
                    max_body,
                    max_message,
                },
            );
            if let Some(file) = &credentials {
                let text = serde_json::to_string_pretty(&creds).expect("credentials serialize");
                if let Err(e) = std::fs::write(file, text + "\n") {
                    eprintln!("error: cannot write {}: {e}", file.display());
                    return ExitCode::from(1);
                }
            }
            match serve::start(plans).await {
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
                Ok((_running, serve)) => {
                    print!("{}", dev::banner(&creds));
                    serve.await;
                    drop(dir);
                    ExitCode::SUCCESS
                }
            }
        }
    }
}
