//! A tiny deterministic network for driving several clusters in tests (the simulator proper lives in
//! `sim/`). Messages are delivered in FIFO order per link; partitions drop them.
#![allow(dead_code)]

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use replication_core::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub struct Net {
    pub now: Timestamp,
    pub rng: ChaCha8Rng,
    pub clusters: BTreeMap<String, Cluster>,
    pub queue: VecDeque<(String, String, Message)>,
    pub cut: BTreeSet<String>,
    pub events: Vec<(String, Event)>,
    pub delivered: usize,
}

impl Net {
    pub fn new(names: &[&str], seed: u64) -> Net {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut clusters = BTreeMap::new();
        for n in names {
            let c = Cluster::new(
                ClusterConfig::new(n),
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

    pub fn req(&mut self, name: &str, r: Request) -> Result<Reply, Error> {
        self.step(name, Input::Request(r))
    }

    /// Delivers messages until none is left.
    pub fn settle(&mut self) {
        let mut budget = 100_000;
        while let Some((from, to, msg)) = self.queue.pop_front() {
            budget -= 1;
            assert!(budget > 0, "network did not settle");
            let Some(dest) = self.resolve(&to) else {
                continue;
            };
            if self.cut.contains(&from) || self.cut.contains(&dest) {
                continue;
            }
            let from_addr = self.clusters[&from].config().cluster_addr.clone();
            self.delivered += 1;
            self.step(
                &dest,
                Input::Message {
                    from: from_addr,
                    message: msg,
                },
            )
            .unwrap();
        }
    }

    /// Lets `ms` of virtual time pass, ticking clusters at their deadlines and settling in between.
    pub fn advance(&mut self, ms: u64) {
        let end = Timestamp::from_millis(self.now.as_millis() + ms);
        loop {
            self.settle();
            let next = self
                .clusters
                .values()
                .filter_map(|c| c.next_deadline())
                .filter(|d| *d <= end)
                .min();
            let Some(t) = next else { break };
            self.now = self.now.max(t);
            let due: Vec<String> = self
                .clusters
                .iter()
                .filter(|(_, c)| c.next_deadline().is_some_and(|d| d <= self.now))
                .map(|(n, _)| n.clone())
                .collect();
            for n in due {
                self.step(&n, Input::Tick).unwrap();
            }
        }
        self.now = end;
        self.settle();
    }

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

    pub fn read(&mut self, name: &str, path: &str) -> Option<String> {
        match self.step(name, Input::Client(ClientOp::Read { path: path.into() })) {
            Ok(Reply::Value(v)) => v,
            other => panic!("read on {name}: {other:?}"),
        }
    }

    pub fn get(&self, name: &str, path: &str) -> Option<String> {
        self.clusters[name]
            .storage()
            .get(path)
            .map(|e| e.value.clone())
    }

    pub fn root(&self, name: &str, kind: Kind) -> String {
        self.clusters[name].storage().merkle_root(kind)
    }

    pub fn state(&self, name: &str, kind: Kind) -> Option<SecondaryState> {
        self.clusters[name].secondary_state(kind)
    }

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
        replication_core::unseal::decode_operation_token(&done.encoded_token, &a.otp).unwrap()
    }
}
