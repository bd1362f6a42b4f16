//! One cluster hosted for real: the core's step / ready / persist / send / tick loop on a thread of
//! its own, fed by the HTTP API and the cluster port through a channel.
//!
//! Everything that touches the [`Cluster`] happens on this thread, one input at a time, so the core
//! stays the single-threaded state machine it is in the simulator. After every step the node
//! 1. commits the step's [`Batch`](replication_core::Batch) to the [`Store`] (fsync'd),
//! 2. sends the step's messages (sealed in an [`Envelope`]) through the [`Outbox`],
//! 3. answers the HTTP caller, or, for a write forwarded to the primary, answers it when the
//!    core's `ClientReply` event comes (the core guarantees one, at the latest after its forwarding
//!    timeout).
//!
//! A store that cannot commit ends the process: the cluster in memory would be ahead of the disk,
//! and a restart from the data directory is the only state that is known to be right.

use crate::auth::Tokens;
use crate::peer::Outbox;
use crate::store::{Store, StoreError};
use rand::rngs::StdRng;
use rand::SeedableRng;
use replication_api::{
    decode_client, health, mounts, render_client, render_forwarded, ClientCall, HttpRequest,
    Response,
};
use replication_core::{
    Cluster, ClusterConfig, Envelope, Event, Input, Reply, Timestamp, UnsealKeys,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::Instant;
use std::time::{Duration as StdDuration, SystemTime};
use tokio::sync::oneshot;

/// How a node is set up.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The cluster's name.
    pub name: String,
    /// Its API address as clients and other clusters reach it (`http://127.0.0.1:8200`).
    pub api_addr: String,
    /// Its cluster address (`http://127.0.0.1:8201`).
    pub cluster_addr: String,
    /// Where its store lives.
    pub data_dir: PathBuf,
    /// Heartbeat period for a new cluster (`None`: the model's default, 5s). A recovered cluster
    /// keeps the one it was created with.
    pub heartbeat: Option<replication_core::Duration>,
    /// Unseal key shares for a new cluster (`dev` gives every cluster the same one); `None` draws
    /// fresh ones.
    pub unseal: Option<UnsealKeys>,
    /// A root token to create if the store has none (`dev --root-token`); `None` draws one.
    pub root_token: Option<String>,
}

/// What the HTTP side and the cluster port ask of the node.
pub enum Command {
    /// An HTTP request on the API port; `token` is the `X-Vault-Token` header.
    Http {
        /// The request (its authority is set by the node from the token).
        req: HttpRequest,
        /// The `X-Vault-Token` header, if any.
        token: Option<String>,
        /// Where the answer goes.
        reply: oneshot::Sender<Response>,
    },
    /// Envelopes from another cluster, one per line.
    Peer {
        /// The body received.
        bytes: Vec<u8>,
        /// `Err` with the reason when the envelope is refused.
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// How many commands may wait for a node; beyond that callers are told to try again at once.
const QUEUE: usize = 4096;

/// A handle the HTTP tasks use to reach a node.
#[derive(Clone)]
pub struct NodeHandle {
    tx: SyncSender<Command>,
}

/// Why a command did not reach the node.
#[derive(Debug, PartialEq, Eq)]
pub enum Unreachable {
    /// Too many commands are waiting.
    Busy,
    /// The node has stopped.
    Stopped,
}

impl NodeHandle {
    /// Queues a command without waiting.
    pub fn send(&self, c: Command) -> Result<(), Unreachable> {
        self.tx.try_send(c).map_err(|e| match e {
            TrySendError::Full(_) => Unreachable::Busy,
            TrySendError::Disconnected(_) => Unreachable::Stopped,
        })
    }
}

/// What a started node tells its host.
pub struct Started {
    /// Where to send commands.
    pub handle: NodeHandle,
    /// How long an HTTP caller should wait for an answer: past the cluster's forwarding timeout,
    /// so a forwarded write is answered by the core, not by the listener giving up.
    pub answer_timeout: StdDuration,
    /// The root token, when the node created one on this start (first start of a data directory).
    pub new_root_token: Option<String>,
}

struct Node {
    cluster: Cluster,
    store: Store,
    tokens: Tokens,
    rng: StdRng,
    outbox: Outbox,
    /// HTTP callers waiting for a forwarded write's answer, by correlation id.
    waiting: HashMap<u64, oneshot::Sender<Response>>,
    /// Answers to send once the current batch is durable.
    answers: Vec<Answer>,
}

/// The host's time as the core's timestamp: the wall clock when the process started, moved on by
/// a monotonic clock, so a clock step (NTP) neither stalls the timers nor fires them early.
pub fn now() -> Timestamp {
    static START: OnceLock<(u64, Instant)> = OnceLock::new();
    let (wall, at) = START.get_or_init(|| {
        let ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        (ms, Instant::now())
    });
    Timestamp::from_millis(wall + at.elapsed().as_millis() as u64)
}

/// Writes a secret file readable by its owner only.
fn write_secret(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Opens the data directory, recovers or creates the cluster, and starts its thread. A new cluster
/// writes its unseal key shares to `DIR/unseal-keys` and its root token to `DIR/root-token`.
pub fn start(config: NodeConfig, outbox: Outbox) -> Result<Started, StartError> {
    let store = Store::open(&config.data_dir)?;
    let mut rng = StdRng::from_os_rng();
    let now = now();
    let loaded = store.load()?;
    let store_is_new = loaded.is_none();
    let cluster = match loaded {
        Some(durable) => {
            let c = Cluster::from_durable(durable, now, &mut rng)
                .map_err(|e| StartError::Recover(config.data_dir.clone(), e))?;
            if c.name() != config.name {
                return Err(StartError::WrongName {
                    dir: config.data_dir.clone(),
                    stored: c.name().to_string(),
                    asked: config.name.clone(),
                });
            }
            let stored = c.config();
            if stored.api_addr != config.api_addr || stored.cluster_addr != config.cluster_addr {
                return Err(StartError::Moved {
                    dir: config.data_dir.clone(),
                    api: stored.api_addr.clone(),
                    cluster: stored.cluster_addr.clone(),
                });
            }
            if let Some(h) = config.heartbeat.filter(|h| *h != stored.heartbeat_interval) {
                tracing::warn!(
                    cluster = %config.name,
                    "--heartbeat {h} ignored: this cluster was created with {} and keeps it",
                    stored.heartbeat_interval
                );
            }
            tracing::info!(cluster = %config.name, keys = c.storage().len(), "recovered from {}", config.data_dir.display());
            c
        }
        None => {
            let mut cc = ClusterConfig::new(&config.name);
            cc.api_addr = config.api_addr.clone();
            cc.cluster_addr = config.cluster_addr.clone();
            if let Some(h) = config.heartbeat {
                cc.heartbeat_interval = h;
            }
            let mounts = [("secret/".to_string(), false)];
            let unseal = config.unseal.clone().unwrap_or_else(|| {
                UnsealKeys::generate(&mut rng, cc.unseal_shares, cc.unseal_threshold)
            });
            Cluster::with_unseal_keys(cc, &mounts, unseal, &mut rng)
        }
    };
    if store_is_new {
        // As `vault operator init` hands out the key shares once: kept beside the store.
        let file = config.data_dir.join("unseal-keys");
        let text: String = cluster
            .unseal_keys()
            .shares
            .iter()
            .map(|s| format!("{s}\n"))
            .collect();
        write_secret(&file, &text).map_err(|e| StartError::Io(file, e))?;
    }
    let mut tokens = Tokens::load(&store)?;
    let new_root_token = if tokens.is_empty() {
        let root = config
            .root_token
            .clone()
            .unwrap_or_else(|| crate::auth::random_token(&mut rng));
        // The file first: a crash before the token is stored leaves a file that the next start
        // overwrites with a new token, never a stored token nobody knows.
        let file = config.data_dir.join("root-token");
        write_secret(&file, &format!("{root}\n")).map_err(|e| StartError::Io(file, e))?;
        tokens.create(
            &store,
            &mut rng,
            Some(root.clone()),
            true,
            vec!["root".into()],
        )?;
        Some(root)
    } else {
        None
    };
    let forwarding = cluster.config().forwarding_timeout();
    let answer_timeout = StdDuration::from_millis(forwarding.as_millis())
        .max(StdDuration::from_secs(50))
        + StdDuration::from_secs(10);
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
    let mut node = Node {
        cluster,
        store,
        tokens,
        rng,
        outbox,
        waiting: HashMap::new(),
        answers: vec![],
    };
    // The first batch of a new cluster (its record and mounts) is durable before anything else.
    node.flush();
    let name = config.name.clone();
    std::thread::Builder::new()
        .name(format!("cluster-{name}"))
        .spawn(move || {
            let run = std::panic::AssertUnwindSafe(|| node.run(rx));
            if std::panic::catch_unwind(run).is_err() {
                // The cluster's state is unknown after a panic: stop, and restart from the store.
                tracing::error!(cluster = %name, "the cluster's thread panicked; stopping: restart from the data directory");
                std::process::exit(70);
            }
        })
        .map_err(|e| StartError::Io(PathBuf::from("thread"), e))?;
    Ok(Started {
        handle: NodeHandle { tx },
        answer_timeout,
        new_root_token,
    })
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds something the core cannot rebuild a cluster from.
    #[error("cannot recover the cluster in {0}: {1}")]
    Recover(PathBuf, replication_core::RecoverError),
    /// The data directory belongs to another cluster.
    #[error(
        "{dir} holds cluster {stored:?}, not {asked:?}; use --name {stored} or another --data-dir"
    )]
    WrongName {
        /// The directory.
        dir: PathBuf,
        /// The name stored.
        stored: String,
        /// The name asked for.
        asked: String,
    },
    /// The data directory's cluster is known to its peers by other addresses.
    #[error("{dir} holds a cluster whose peers know it at api {api} and cluster {cluster}; start it with those addresses (the core advertises them in tokens and heartbeats)")]
    Moved {
        /// The directory.
        dir: PathBuf,
        /// The stored API address.
        api: String,
        /// The stored cluster address.
        cluster: String,
    },
    /// A file could not be written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// An answer held back until the batch of the steps before it is durable.
enum Answer {
    Http(oneshot::Sender<Response>, Response),
    Peer(oneshot::Sender<Result<(), String>>, Result<(), String>),
}

/// How many queued commands one commit may cover (group commit under load).
const MAX_GROUP: usize = 256;

impl Node {
    fn run(mut self, rx: Receiver<Command>) {
        loop {
            let now = now();
            if let Some(d) = self.cluster.next_deadline() {
                if d <= now {
                    let _ = self.cluster.step(now, &mut self.rng, Input::Tick);
                    self.flush();
                    continue;
                }
            }
            let wait = self
                .cluster
                .next_deadline()
                .map(|d| StdDuration::from_millis(d.since(now).as_millis()))
                .unwrap_or(StdDuration::from_secs(3600));
            match rx.recv_timeout(wait) {
                Ok(c) => {
                    // Step what is queued (up to MAX_GROUP commands), then make it durable in one
                    // commit, and only then send and answer.
                    self.command(c);
                    for c in rx.try_iter().take(MAX_GROUP - 1) {
                        self.command(c);
                    }
                    self.flush();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Persist, then send, then answer: the callers of the steps since the last flush, and the
    /// forwarded writes whose outcome came.
    fn flush(&mut self) {
        let ready = self.cluster.ready();
        if let Err(e) = self.store.commit(&ready.persist) {
            tracing::error!(cluster = %self.cluster.name(), "{e}; stopping: restart from the data directory");
            std::process::exit(70);
        }
        let from = self.cluster.config().cluster_addr.clone();
        for t in ready.messages {
            self.outbox.send(t.to, Envelope::seal(&from, &t.message));
        }
        for e in ready.events {
            match e {
                Event::ClientReply { request, result } => {
                    if let Some(w) = self.waiting.remove(&request) {
                        self.answers
                            .push(Answer::Http(w, render_forwarded(&result)));
                    }
                }
                other => {
                    tracing::info!(cluster = %self.cluster.name(), event = ?other, "replication event")
                }
            }
        }
        for a in self.answers.drain(..) {
            match a {
                Answer::Http(to, r) => {
                    let _ = to.send(r);
                }
                Answer::Peer(to, r) => {
                    let _ = to.send(r);
                }
            }
        }
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Peer { bytes, reply } => {
                let mut refused = None;
                for line in crate::peer::split_batch(&bytes) {
                    match Envelope::open(line) {
                        Ok(env) => {
                            let _ = self.cluster.step(now(), &mut self.rng, env.into_input());
                        }
                        Err(e) => {
                            tracing::warn!(cluster = %self.cluster.name(), "refused a message from a peer: {e}");
                            refused.get_or_insert(e.to_string());
                        }
                    }
                }
                self.answers
                    .push(Answer::Peer(reply, refused.map_or(Ok(()), Err)));
            }
            Command::Http {
                mut req,
                token,
                reply,
            } => {
                if reply.is_closed() {
                    // Its caller gave up (answered 503): a request nobody waits for is not carried out.
                    return;
                }
                req.authority = self.tokens.caller(token.as_deref());
                let path = req.path.trim_start_matches('/');
                let path = path.strip_prefix("v1/").unwrap_or(path);
                let r = if path.starts_with("sys/replication") {
                    replication_api::handle(&mut self.cluster, now(), &mut self.rng, &req)
                } else if path.starts_with("auth/token/") {
                    // Token records are committed by the token store itself.
                    self.tokens
                        .serve(&self.store, &mut self.rng, &req, token.as_deref())
                } else {
                    match self.client(&req) {
                        Answered::Now(r) => r,
                        Answered::WhenForwardReturns(request) => {
                            self.waiting.insert(request, reply);
                            return;
                        }
                    }
                };
                self.answers.push(Answer::Http(reply, r));
            }
        }
    }

    /// A client request's answer.
    fn client(&mut self, req: &HttpRequest) -> Answered {
        let call = match decode_client(&self.cluster, req) {
            Ok(c) => c,
            Err(refusal) => return Answered::Now(refusal),
        };
        match call {
            ClientCall::Health(codes) => Answered::Now(health(&self.cluster, now(), &codes)),
            ClientCall::Mounts => Answered::Now(mounts(&self.cluster, &mut self.rng)),
            ClientCall::Op(op) => {
                match self.cluster.step(now(), &mut self.rng, Input::Client(op)) {
                    Ok(Reply::Forwarded { request }) => Answered::WhenForwardReturns(request),
                    result => Answered::Now(render_client(result, &mut self.rng)),
                }
            }
        }
    }
}

/// When a client request is answered.
enum Answered {
    Now(Response),
    /// A write forwarded to the primary: answered by the `ClientReply` event with this id.
    WhenForwardReturns(u64),
}
