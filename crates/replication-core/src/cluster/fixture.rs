//! Unit-test fixtures for the handlers: a primary `a` and a secondary `b` already streaming, with
//! every message between them delivered by hand, so a test can then call one handler directly and
//! assert the exact [`Ready`] it leaves (as openraft's engine tests assert the commands a handler
//! queues). The integration tests use the test kit's network instead; a unit test cannot (the kit
//! links its own copy of this crate).

use super::{Cluster, ClusterConfig, Cx, Ready};
use crate::ids::Kind;
use crate::message::{ActivationAccepted, Message, Transmit};
use crate::request::{ClientOp, Request};
use crate::role::Credentials;
use crate::step::{Input, Reply};
use crate::time::Timestamp;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Two clusters, `a` (primary of the kind) and `b` (its secondary, connected and streaming).
pub(super) struct Pair {
    pub(super) a: Cluster,
    pub(super) b: Cluster,
    pub(super) rng: ChaCha8Rng,
    pub(super) now: Timestamp,
    /// The activation token `b` was enabled with.
    pub(super) token: String,
}

impl Pair {
    /// `a` primary of `kind`, `b` activated by a token for secondary id `b`, every message between
    /// them delivered, and both `Ready`s drained.
    pub(super) fn streaming(kind: Kind) -> Pair {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mounts = [("secret/".to_string(), false), ("local/".to_string(), true)];
        let a = Cluster::new(ClusterConfig::new("A"), &mounts, &mut rng);
        let b = Cluster::new(ClusterConfig::new("B"), &mounts, &mut rng);
        let mut pair = Pair {
            a,
            b,
            rng,
            now: Timestamp::from_millis(1_000_000),
            token: String::new(),
        };
        pair.request_a(Request::EnablePrimary {
            kind,
            primary_cluster_addr: None,
        });
        let token = match pair.request_a(Request::SecondaryToken {
            kind,
            id: "b".into(),
            ttl: None,
            secondary_public_key: None,
        }) {
            Reply::Token(t) => t.token,
            other => panic!("secondary-token answered {other:?}"),
        };
        let (now, rng) = (pair.now, &mut pair.rng);
        pair.b
            .step(
                now,
                rng,
                Input::Request(Request::EnableSecondary {
                    kind,
                    token: token.clone(),
                    primary_api_addr: None,
                }),
            )
            .expect("secondary/enable is accepted locally");
        pair.token = token;
        pair.deliver();
        pair.drain();
        pair
    }

    /// `a` primary of `kind`; `b`, holding a key of its own (`secret/old`), enabled with a token for
    /// id `b`; `a` has accepted, and its `ActivationAccepted` is returned undelivered.
    pub(super) fn accepted_undelivered(kind: Kind) -> (Pair, ActivationAccepted) {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let mounts = [("secret/".to_string(), false)];
        let a = Cluster::new(ClusterConfig::new("A"), &mounts, &mut rng);
        let b = Cluster::new(ClusterConfig::new("B"), &mounts, &mut rng);
        let mut p = Pair {
            a,
            b,
            rng,
            now: Timestamp::from_millis(1_000_000),
            token: String::new(),
        };
        p.request_a(Request::EnablePrimary {
            kind,
            primary_cluster_addr: None,
        });
        let Reply::Token(t) = p.request_a(Request::SecondaryToken {
            kind,
            id: "b".into(),
            ttl: None,
            secondary_public_key: None,
        }) else {
            panic!("secondary-token answers a token")
        };
        p.token = t.token.clone();
        let (now, rng) = (p.now, &mut p.rng);
        let write = ClientOp::Write {
            path: "secret/old".into(),
            value: "mine".into(),
        };
        p.b.step(now, rng, Input::Client(write))
            .expect("b writes while disabled");
        let enable = Request::EnableSecondary {
            kind,
            token: t.token,
            primary_api_addr: None,
        };
        p.b.step(now, rng, Input::Request(enable))
            .expect("secondary/enable is accepted locally");
        let b_addr = p.b_addr();
        for t in p.b.ready().messages {
            let input = Input::Message {
                from: b_addr.clone(),
                message: t.message,
            };
            let _ = p.a.step(now, &mut p.rng, input);
        }
        let accepted =
            p.a.ready()
                .messages
                .into_iter()
                .find_map(|t| match t.message {
                    Message::ActivationAccepted(m) => Some(m),
                    _ => None,
                })
                .expect("a accepts b");
        (p, accepted)
    }

    pub(super) fn request_a(&mut self, r: Request) -> Reply {
        let (now, rng) = (self.now, &mut self.rng);
        self.a
            .step(now, rng, Input::Request(r))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Delivers every message between `a` and `b` until neither has anything to send.
    pub(super) fn deliver(&mut self) {
        for _ in 0..1000 {
            let from_a = self.a.ready().messages;
            let from_b = self.b.ready().messages;
            if from_a.is_empty() && from_b.is_empty() {
                return;
            }
            let (a_addr, b_addr) = (self.a_addr(), self.b_addr());
            let to_a = |t: &Transmit| t.to == a_addr || t.to == self.a.config().api_addr;
            let to_b = |t: &Transmit| t.to == b_addr || t.to == self.b.config().api_addr;
            let from_a: Vec<Transmit> = from_a.into_iter().filter(to_b).collect();
            let from_b: Vec<Transmit> = from_b.into_iter().filter(to_a).collect();
            for t in from_a {
                let input = Input::Message {
                    from: a_addr.clone(),
                    message: t.message,
                };
                let _ = self.b.step(self.now, &mut self.rng, input);
            }
            for t in from_b {
                let input = Input::Message {
                    from: b_addr.clone(),
                    message: t.message,
                };
                let _ = self.a.step(self.now, &mut self.rng, input);
            }
        }
        panic!("a and b never went quiet");
    }

    /// Empties both clusters' `Ready`.
    pub(super) fn drain(&mut self) {
        self.a.ready();
        self.b.ready();
    }

    pub(super) fn a_addr(&self) -> String {
        self.a.config().cluster_addr.clone()
    }

    pub(super) fn b_addr(&self) -> String {
        self.b.config().cluster_addr.clone()
    }

    /// The credentials `b` holds for `kind`.
    pub(super) fn b_credentials(&self, kind: Kind) -> Credentials {
        self.b
            .secondary(kind)
            .and_then(|s| s.credentials.clone())
            .expect("b was activated")
    }

    /// The context of a message from `from`, at the pair's time.
    pub(super) fn cx<'a>(now: Timestamp, rng: &'a mut ChaCha8Rng, from: &'a str) -> Cx<'a> {
        Cx { now, rng, from }
    }
}

/// What a handler test compares of a [`Ready`]: the messages, the events, and the storage keys
/// to make durable (the batch's contents are pinned by the durability property tests).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Seen {
    pub(super) messages: Vec<Transmit>,
    pub(super) events: Vec<crate::step::Event>,
    pub(super) changed: Vec<String>,
}

impl Cluster {
    /// Takes [`Cluster::ready`] and keeps what handler tests compare.
    pub(super) fn seen(&mut self) -> Seen {
        let r: Ready = self.ready();
        Seen {
            changed: r.persist.keys().map(str::to_string).collect(),
            messages: r.messages,
            events: r.events,
        }
    }
}

/// Nothing queued.
pub(super) fn quiet() -> Seen {
    Seen::default()
}
