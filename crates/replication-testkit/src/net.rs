//! [`Net`]: a tiny deterministic network of named clusters for tests (the simulator's world, with
//! partitions and message faults, lives in `sim/`). Messages wait in one FIFO queue, oldest first;
//! a cluster in [`Net::cut`] neither sends nor receives (its messages are dropped when delivered).

use crate::host::{self, Host};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use replication_core::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Clusters, a clock, an RNG, the messages in flight and everything the clusters reported.
#[derive(Clone)]
pub struct Net {
    /// Virtual time.
    pub now: Timestamp,
    /// The one RNG every cluster draws from.
    pub rng: ChaCha8Rng,
    /// Clusters by name.
    pub clusters: BTreeMap<String, Cluster>,
    /// Messages in flight: (sender name, destination address, message), oldest first.
    pub queue: VecDeque<(String, String, Message)>,
    /// Clusters cut off from the network.
    pub cut: BTreeSet<String>,
    /// Every event reported so far, with the cluster that reported it.
    pub events: Vec<(String, Event)>,
    /// How many messages were delivered.
    pub delivered: usize,
}

impl Net {
    /// Clusters called `names`, each with a shared `secret/` and a local `local/` mount, drawing from
    /// one RNG seeded with `seed`.
    pub fn new(names: &[&str], seed: u64) -> Net {
        Net::new_with(names, seed, |_| {})
    }

    fn resolve(&self, addr: &str) -> Option<String> {
        self.clusters
            .iter()
            .find(|(_, c)| c.config().api_addr == addr || c.config().cluster_addr == addr)
            .map(|(n, _)| n.clone())
    }

    fn collect(&mut self, name: &str) {
        let ready = self.clusters.get_mut(name).unwrap().ready();
        for t in ready.messages {
            self.queue.push_back((name.to_string(), t.to, t.message));
        }
        for e in ready.events {
            self.events.push((name.to_string(), e));
        }
    }

    /// Runs `f` on cluster `name` (say, an API call through `replication_api::handle`) with the
    /// current time and the RNG, then queues what the cluster sends (not delivered).
    pub fn with_cluster<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Cluster, Timestamp, &mut ChaCha8Rng) -> T,
    ) -> T {
        let now = self.now;
        let c = self.clusters.get_mut(name).expect("no such cluster");
        let out = f(c, now, &mut self.rng);
        self.collect(name);
        out
    }

    /// Feeds `input` to cluster `name` and queues what it sends (not delivered).
    pub fn step(&mut self, name: &str, input: Input) -> Result<Reply, Error> {
        let now = self.now;
        let r = self
            .clusters
            .get_mut(name)
            .unwrap()
            .step(now, &mut self.rng, input);
        self.collect(name);
        r
    }

    /// An operator request to cluster `name` (not settled).
    pub fn req(&mut self, name: &str, r: Request) -> Result<Reply, Error> {
        self.step(name, Input::Request(r))
    }

    /// Delivers messages until none is left.
    pub fn settle(&mut self) {
        self.settle_hooked(&mut |_| {});
    }

    /// Lets `ms` of virtual time pass, ticking clusters at their deadlines and settling in between.
    pub fn advance(&mut self, ms: u64) {
        self.advance_hooked(ms, &mut |_| {});
    }

    /// `secondary-token` for `id` on `primary`: the token text.
    pub fn token(&mut self, primary: &str, kind: Kind, id: &str) -> String {
        match self
            .req(
                primary,
                Request::SecondaryToken {
                    kind,
                    id: id.into(),
                    ttl: None,
                    secondary_public_key: None,
                },
            )
            .unwrap()
        {
            Reply::Token(t) => t.token,
            other => panic!("{other:?}"),
        }
    }

    /// `primary/enable` of `kind` on `name`.
    pub fn enable_primary(&mut self, name: &str, kind: Kind) {
        self.req(
            name,
            Request::EnablePrimary {
                kind,
                primary_cluster_addr: None,
            },
        )
        .unwrap();
    }

    /// primary/enable on `p` if needed, then token + secondary/enable on `s`, settled.
    pub fn join(&mut self, p: &str, s: &str, kind: Kind) {
        if self.clusters[p].mode(kind) != Mode::Primary {
            self.enable_primary(p, kind);
        }
        let token = self.token(p, kind, s);
        self.req(
            s,
            Request::EnableSecondary {
                kind,
                token,
                primary_api_addr: None,
            },
        )
        .unwrap();
        self.settle();
    }

    /// A client write on `name`, settled.
    pub fn write(&mut self, name: &str, path: &str, value: &str) -> Result<Reply, Error> {
        let r = self.step(
            name,
            Input::Client(ClientOp::Write {
                path: path.into(),
                value: value.into(),
            }),
        );
        self.settle();
        r
    }

    /// A client read on `name` (panics if it is refused).
    pub fn read(&mut self, name: &str, path: &str) -> Option<String> {
        match self.step(name, Input::Client(ClientOp::Read { path: path.into() })) {
            Ok(Reply::Value(v)) => v,
            other => panic!("read on {name}: {other:?}"),
        }
    }

    /// The value `name` stores at `path`, looked at directly.
    pub fn get(&self, name: &str, path: &str) -> Option<String> {
        self.clusters[name]
            .storage()
            .get(path)
            .map(|e| e.value.clone())
    }

    /// `name`'s `merkle_root` for `kind`.
    pub fn root(&self, name: &str, kind: Kind) -> String {
        self.clusters[name].storage().merkle_root(kind)
    }

    /// `name`'s secondary state for `kind`.
    pub fn state(&self, name: &str, kind: Kind) -> Option<SecondaryState> {
        self.clusters[name].secondary_state(kind)
    }

    /// A DR operation token on DR secondary `name`, made with a quorum of its unseal shares.
    pub fn operation_token(&mut self, name: &str) -> String {
        let keys = self.clusters[name].unseal_keys().clone();
        let Reply::Attempt(a) = self.req(name, Request::StartOperationTokenAttempt).unwrap() else {
            panic!()
        };
        let mut last = None;
        for k in keys.shares.iter().take(keys.threshold as usize) {
            last = Some(
                self.req(
                    name,
                    Request::UpdateOperationTokenAttempt {
                        key: k.clone(),
                        nonce: a.nonce.clone(),
                    },
                )
                .unwrap(),
            );
        }
        let Some(Reply::Attempt(done)) = last else {
            panic!()
        };
        assert!(done.complete);
        decode_operation_token(&done.encoded_token, &a.otp).unwrap()
    }
}

// ----- refusals, token helpers, one-message-at-a-time delivery -----

impl Net {
    /// Feeds an input that must be refused and checks that it changed nothing: the cluster has the same
    /// snapshot bytes and is equal as a value (volatile state included), and it sent nothing and
    /// reported no event. Returns the error.
    pub fn refused_input(&mut self, name: &str, input: Input) -> Error {
        let before = self.clusters[name].clone();
        let snap = before.snapshot();
        let (queued, events) = (self.queue.len(), self.events.len());
        let err = match self.step(name, input.clone()) {
            Err(e) => e,
            Ok(reply) => panic!("{name}: {input:?} should be refused, got {reply:?}"),
        };
        assert!(
            self.clusters[name].snapshot() == snap,
            "{name}: refused {input:?} ({err}) changed the snapshot"
        );
        assert!(
            self.clusters[name] == before,
            "{name}: refused {input:?} ({err}) changed the cluster"
        );
        assert_eq!(self.queue.len(), queued, "{name}: refused {input:?} sent");
        assert_eq!(
            self.events.len(),
            events,
            "{name}: refused {input:?} emitted"
        );
        err
    }

    /// [`Net::refused_input`] for an operator request.
    pub fn refused(&mut self, name: &str, r: Request) -> Error {
        self.refused_input(name, Input::Request(r))
    }

    /// [`Net::refused_input`] for a client operation.
    pub fn refused_client(&mut self, name: &str, op: ClientOp) -> Error {
        self.refused_input(name, Input::Client(op))
    }

    /// `primary/secondary-token` with every parameter.
    pub fn issue(
        &mut self,
        primary: &str,
        kind: Kind,
        id: &str,
        ttl: Option<Duration>,
        secondary_public_key: Option<String>,
    ) -> Result<IssuedToken, Error> {
        match self.req(
            primary,
            Request::SecondaryToken {
                kind,
                id: id.into(),
                ttl,
                secondary_public_key,
            },
        )? {
            Reply::Token(t) => Ok(t),
            other => panic!("secondary-token on {primary}: {other:?}"),
        }
    }

    /// `secondary/enable` with `token` (not settled).
    pub fn enable_secondary(
        &mut self,
        name: &str,
        kind: Kind,
        token: &str,
    ) -> Result<Reply, Error> {
        self.req(
            name,
            Request::EnableSecondary {
                kind,
                token: token.into(),
                primary_api_addr: None,
            },
        )
    }

    /// The replication set a kind of `name` belongs to, if enabled (a dormant role's included).
    pub fn cluster_id(&self, name: &str, kind: Kind) -> Option<ClusterId> {
        self.clusters[name].inspect(kind).cluster_id()
    }

    /// Moves the clock forward by `ms` without ticking anyone (messages in flight arrive late).
    pub fn skip(&mut self, ms: u64) {
        self.now = Timestamp::from_millis(self.now.as_millis() + ms);
    }

    /// Delivers the oldest message in flight (dropped if either end is cut); false when none is left.
    pub fn deliver_next(&mut self) -> bool {
        let Some((from, to, msg)) = self.queue.pop_front() else {
            return false;
        };
        let Some((dest, input)) = self.route(&from, &to, msg) else {
            return true;
        };
        self.step(&dest, input).unwrap();
        true
    }

    /// Where a message from `from` to address `to` goes, as the input its receiver steps; `None`
    /// (dropped) when the address is unknown or either end is cut off. Counts the delivery.
    fn route(&mut self, from: &str, to: &str, message: Message) -> Option<(String, Input)> {
        let dest = self.resolve(to)?;
        if self.cut.contains(from) || self.cut.contains(&dest) {
            return None;
        }
        let from = self.clusters[from].config().cluster_addr.clone();
        self.delivered += 1;
        Some((dest, Input::Message { from, message }))
    }

    /// Events `name` reported since event index `since`.
    pub fn events_of(&self, name: &str, since: usize) -> Vec<Event> {
        self.events[since..]
            .iter()
            .filter(|(c, _)| c == name)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Whether `name` was wiped since event index `since`.
    pub fn wiped_since(&self, name: &str, since: usize) -> bool {
        self.events_of(name, since)
            .iter()
            .any(|e| matches!(e, Event::Wiped { .. }))
    }
}

// ----- observed stepping, fault-injecting delivery, restarts (for property tests) -----

/// What one observed step did: the cluster before and after, the input, its result and what `ready()`
/// returned (already queued on the network when the hook runs).
pub struct Observed<'a> {
    /// The cluster stepped.
    pub name: &'a str,
    /// Its input.
    pub input: &'a Input,
    /// The cluster before the step.
    pub before: &'a Cluster,
    /// The cluster after the step.
    pub after: &'a Cluster,
    /// The step's result.
    pub result: &'a Result<Reply, Error>,
    /// What `ready()` returned after it.
    pub ready: &'a Ready,
}

/// A hook called after every observed step.
pub type Hook<'a> = &'a mut dyn FnMut(&Observed<'_>);

/// A hook that does nothing.
pub fn no_hook(_: &Observed<'_>) {}

impl Net {
    /// A network whose clusters' configs are adjusted by `f` (e.g. a small log-shipper buffer).
    pub fn new_with(names: &[&str], seed: u64, f: impl Fn(&mut ClusterConfig)) -> Net {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut clusters = BTreeMap::new();
        for n in names {
            let mut config = ClusterConfig::new(n);
            f(&mut config);
            let c = Cluster::new(
                config,
                &[("secret/".into(), false), ("local/".into(), true)],
                &mut rng,
            );
            clusters.insert(n.to_string(), c);
        }
        Net {
            now: Timestamp::from_millis(1_700_000_000_000),
            rng,
            clusters,
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            events: vec![],
            delivered: 0,
        }
    }

    /// Like [`Net::step`], calling `hook` with the cluster before and after and the step's output.
    pub fn step_hooked(
        &mut self,
        name: &str,
        input: Input,
        hook: Hook<'_>,
    ) -> Result<Reply, Error> {
        let now = self.now;
        let c = self.clusters.get_mut(name).unwrap();
        let before = c.clone();
        let r = c.step(now, &mut self.rng, input.clone());
        let ready = c.ready();
        hook(&Observed {
            name,
            input: &input,
            before: &before,
            after: &self.clusters[name],
            result: &r,
            ready: &ready,
        });
        for t in ready.messages {
            self.queue.push_back((name.to_string(), t.to, t.message));
        }
        for e in ready.events {
            self.events.push((name.to_string(), e));
        }
        r
    }

    /// Delivers the queued message at `i` (modulo the queue length); with `keep`, a copy stays queued
    /// (duplication). Partitioned or unaddressable messages are dropped. Returns false on an empty queue.
    pub fn deliver_at(&mut self, i: usize, keep: bool, hook: Hook<'_>) -> bool {
        if self.queue.is_empty() {
            return false;
        }
        let i = i % self.queue.len();
        let (from, to, msg) = if keep {
            self.queue[i].clone()
        } else {
            self.queue.remove(i).unwrap()
        };
        let Some((dest, input)) = self.route(&from, &to, msg) else {
            return true;
        };
        self.step_hooked(&dest, input, hook).unwrap();
        true
    }

    /// Drops the queued message at `i` (modulo the queue length).
    pub fn drop_at(&mut self, i: usize) {
        if !self.queue.is_empty() {
            let i = i % self.queue.len();
            self.queue.remove(i);
        }
    }

    /// Like [`Net::settle`], observed.
    pub fn settle_hooked(&mut self, hook: Hook<'_>) {
        let mut hooked = Hooked { net: self, hook };
        assert!(host::settle(&mut hooked), "network did not settle");
    }

    /// Like [`Net::advance`], observed; panics on a livelock (a network that does not go quiet, or a
    /// cluster whose deadline stops moving).
    pub fn advance_hooked(&mut self, ms: u64, hook: Hook<'_>) {
        let mut hooked = Hooked { net: self, hook };
        let quiet = host::advance(&mut hooked, Duration::from_millis(ms));
        assert!(
            quiet,
            "advance: livelock at {:?}: {:?}",
            self.now,
            self.clusters
                .iter()
                .map(|(n, c)| (n.clone(), c.next_deadline()))
                .collect::<Vec<_>>()
        );
    }

    /// Lossy, duplicating, reordering delivery: `steps` times, picks a random queued message and drops
    /// it (`drop_pct`%), delivers a copy and keeps it queued (`dup_pct`%), or delivers it.
    pub fn chaos(
        &mut self,
        rng: &mut dyn rand_chacha::rand_core::RngCore,
        steps: usize,
        drop_pct: u32,
        dup_pct: u32,
        hook: Hook<'_>,
    ) {
        for _ in 0..steps {
            if self.queue.is_empty() {
                return;
            }
            let i = rng.next_u32() as usize % self.queue.len();
            let roll = rng.next_u32() % 100;
            if roll < drop_pct {
                self.drop_at(i);
            } else if roll < drop_pct + dup_pct {
                self.deliver_at(i, true, hook);
            } else {
                self.deliver_at(i, false, hook);
            }
        }
    }

    /// Crash and restart `name` from its snapshot: connections and the log-shipper buffer are lost.
    pub fn restart(&mut self, name: &str) {
        let now = self.now;
        let bytes = self.clusters[name].snapshot();
        let c = Cluster::restore(&bytes, now, &mut self.rng).expect("restore own snapshot");
        self.clusters.insert(name.to_string(), c);
    }

    /// Shipped entries of `kind` on `name`: DR ships everything, performance the replicated class.
    pub fn shipped(&self, name: &str, kind: Kind) -> BTreeMap<String, String> {
        self.clusters[name]
            .storage()
            .entries()
            .filter(|(_, e)| kind == Kind::Dr || e.class == DataClass::Replicated)
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect()
    }
}

/// A [`Net`] with a hook, as a [`Host`] of the shared loops: deliveries one message at a time,
/// oldest first.
struct Hooked<'n, 'h> {
    net: &'n mut Net,
    hook: Hook<'h>,
}

impl Host for Hooked<'_, '_> {
    fn now(&self) -> Timestamp {
        self.net.now
    }

    fn set_now(&mut self, now: Timestamp) {
        self.net.now = now;
    }

    fn next_deadline(&self, end: Timestamp) -> Option<Timestamp> {
        self.net
            .clusters
            .values()
            .filter_map(|c| c.next_deadline())
            .filter(|d| *d <= end)
            .min()
    }

    fn tick_due(&mut self) {
        let now = self.net.now;
        let due: Vec<String> = self
            .net
            .clusters
            .iter()
            .filter(|(_, c)| c.next_deadline().is_some_and(|d| d <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for n in due {
            self.net.step_hooked(&n, Input::Tick, self.hook).unwrap();
        }
    }

    fn deliver_round(&mut self) -> bool {
        self.net.deliver_at(0, false, self.hook)
    }
}
