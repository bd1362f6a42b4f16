//! Property tests: each test is named after the rule it checks and cites it (`model.md` is the
//! repository's `docs/model.md`, the rules the model implements). Scripts are generated over small
//! networks of clusters (see `replication_testkit::Net`), with message loss, duplication and reordering.

use proptest::collection::vec;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use replication_core::*;
use replication_testkit::*;
use std::collections::{BTreeMap, BTreeSet};

/// 128 cases per property (each takes about a millisecond); failures are persisted under `proptest-regressions/` (relative to the
/// package root, where `cargo test` runs integration tests).
fn cfg() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "proptest-regressions/properties.txt",
            ),
        )),
        ..ProptestConfig::with_cases(128)
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Dr), Just(Kind::Performance)]
}

const CL: [&str; 3] = ["A", "B", "C"];

fn fresh_token(n: &mut Net, p: &str, kind: Kind, id: &str) -> Option<String> {
    match n.req(
        p,
        Request::SecondaryToken {
            kind,
            id: id.into(),
            ttl: None,
            secondary_public_key: None,
        },
    ) {
        Ok(Reply::Token(t)) => Some(t.token),
        _ => None,
    }
}

fn is_dr_secondary(c: &Cluster) -> bool {
    matches!(c.inspect(Kind::Dr), RoleView::Secondary(_))
}

/// Obtains a DR operation token on `name` (a DR secondary) through the attempt flow, observed.
fn operation_token(n: &mut Net, name: &str, hook: Hook<'_>) -> Option<String> {
    if !is_dr_secondary(&n.clusters[name]) {
        return None;
    }
    let _ = n.step_hooked(
        name,
        Input::Request(Request::CancelOperationTokenAttempt),
        hook,
    );
    let Ok(Reply::Attempt(a)) = n.step_hooked(
        name,
        Input::Request(Request::StartOperationTokenAttempt),
        hook,
    ) else {
        return None;
    };
    let keys = n.clusters[name].unseal_keys().clone();
    let mut last = None;
    for k in keys.shares.iter().take(keys.threshold as usize) {
        last = n
            .step_hooked(
                name,
                Input::Request(Request::UpdateOperationTokenAttempt {
                    key: k.clone(),
                    nonce: a.nonce.clone(),
                }),
                hook,
            )
            .ok();
    }
    let Some(Reply::Attempt(done)) = last else {
        return None;
    };
    decode_operation_token(&done.encoded_token, &a.otp).ok()
}

// =====================================================================================================
// 1. A refused request leaves the state exactly as it was.
// =====================================================================================================

/// A string in a generated request: an entry of the state's vocabulary (valid tokens, ids, shares,
/// paths...) or garbage.
#[derive(Clone, Debug)]
enum Str {
    Vocab(usize),
    Garbage(String),
}

fn any_str() -> impl Strategy<Value = Str> {
    prop_oneof![
        4 => any::<usize>().prop_map(Str::Vocab),
        1 => "\\PC{0,12}".prop_map(Str::Garbage),
        1 => "[\\x00-\\x7f]{0,8}".prop_map(Str::Garbage),
    ]
}

fn pick(v: &[String], s: &Str) -> String {
    match s {
        Str::Vocab(i) => v[i % v.len()].clone(),
        Str::Garbage(g) => g.clone(),
    }
}

/// Any request (all 21 variants) or client operation (4 variants), to be filled from a vocabulary.
#[derive(Clone, Debug)]
struct Recipe {
    variant: u8,
    kind: Kind,
    flag: bool,
    sub: u8,
    strs: [Str; 3],
    opts: [bool; 3],
    ttl_secs: Option<u64>,
    list: Vec<Str>,
}

const VARIANTS: u8 = 25;

fn recipe() -> impl Strategy<Value = Recipe> {
    (
        0..VARIANTS,
        kind(),
        any::<bool>(),
        any::<u8>(),
        [any_str(), any_str(), any_str()],
        [any::<bool>(), any::<bool>(), any::<bool>()],
        proptest::option::of(0u64..100_000),
        vec(any_str(), 0..3),
    )
        .prop_map(
            |(variant, kind, flag, sub, strs, opts, ttl_secs, list)| Recipe {
                variant,
                kind,
                flag,
                sub,
                strs,
                opts,
                ttl_secs,
                list,
            },
        )
}

fn build_input(r: &Recipe, v: &[String]) -> Input {
    let s = |i: usize| pick(v, &r.strs[i]);
    let o = |i: usize| r.opts[i].then(|| s(i));
    let list = || r.list.iter().map(|x| pick(v, x)).collect::<Vec<_>>();
    let kind = r.kind;
    let req = match r.variant % VARIANTS {
        0 => Request::EnablePrimary {
            kind,
            primary_cluster_addr: o(0),
        },
        1 => Request::Demote { kind },
        2 => Request::DisablePrimary { kind },
        3 => Request::SecondaryToken {
            kind,
            id: s(0),
            ttl: r.ttl_secs.map(Duration::from_secs),
            secondary_public_key: o(1),
        },
        4 => Request::RevokeSecondary { kind, id: s(0) },
        5 => Request::GeneratePublicKey { kind },
        6 => Request::EnableSecondary {
            kind,
            token: s(0),
            primary_api_addr: o(1),
        },
        7 => Request::Promote {
            kind,
            primary_cluster_addr: o(0),
            force: r.flag,
            auth: match r.sub % 4 {
                0 => PromoteAuth::None,
                1 => PromoteAuth::Key(s(1)),
                2 => PromoteAuth::Reset,
                _ => PromoteAuth::OperationToken(s(1)),
            },
        },
        8 => Request::DisableSecondary {
            kind,
            dr_operation_token: o(0),
        },
        9 => Request::UpdatePrimary {
            kind,
            target: if r.sub % 2 == 0 {
                UpdateTarget::Token(s(0))
            } else {
                UpdateTarget::Addrs(list())
            },
            primary_api_addr: o(1),
            dr_operation_token: o(2),
        },
        10 => Request::Recover {
            dr_operation_token: o(0),
        },
        11 => Request::Reindex {
            dr_operation_token: o(0),
        },
        12 => Request::SetPathsFilter {
            id: s(0),
            filter: PathsFilter {
                mode: if r.flag {
                    FilterMode::Allow
                } else {
                    FilterMode::Deny
                },
                paths: list(),
            },
        },
        13 => Request::ReadPathsFilter { id: s(0) },
        14 => Request::DeletePathsFilter { id: s(0) },
        15 => Request::ReadDynamicFilter {
            side: if r.flag {
                Side::Primary
            } else {
                Side::Secondary
            },
            id: s(0),
        },
        16 => Request::StartOperationTokenAttempt,
        17 => Request::ReadOperationTokenAttempt,
        18 => Request::CancelOperationTokenAttempt,
        19 => Request::UpdateOperationTokenAttempt {
            key: s(0),
            nonce: s(1),
        },
        20 => Request::DeleteOperationToken {
            dr_operation_token: s(0),
        },
        21 => {
            return Input::Client(ClientOp::Write {
                path: s(0),
                value: s(1),
            })
        }
        22 => return Input::Client(ClientOp::Delete { path: s(0) }),
        23 => return Input::Client(ClientOp::Read { path: s(0) }),
        _ => {
            return Input::Client(ClientOp::Mount {
                path: s(0),
                local: r.flag,
            })
        }
    };
    Input::Request(req)
}

const TOPOLOGIES: usize = 10;

/// A reachable state and the cluster under test, with a vocabulary of strings that mean something
/// there. `P` is an unrelated primary of both kinds that hands out valid tokens of other sets.
fn topology(which: usize, seed: u64) -> (Net, &'static str, Vec<String>) {
    let mut n = Net::new(&["A", "B", "C", "P"], seed);
    n.enable_primary("P", Kind::Dr);
    n.enable_primary("P", Kind::Performance);
    let mut vocab: Vec<String> = [
        "",
        " ",
        "A",
        "B",
        "C",
        "P",
        "u1",
        "secret/",
        "secret/x",
        "local/x",
        "local/",
        "new/",
        "ns1/kv/",
        "sys/mounts/secret/",
        "secret/../x",
        "30m",
        "https://a:8201",
        "https://p:8200",
        "v1.e30.AAAAAAAAAAAAAAAAAAAAAA",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for kind in Kind::ALL {
        vocab.extend(fresh_token(&mut n, "P", kind, &format!("p-{kind}")));
    }
    let target = match which {
        0 => "A",
        1 => {
            n.join("A", "B", Kind::Dr);
            "A"
        }
        2 => {
            n.join("A", "B", Kind::Dr);
            vocab.extend(n.clusters["B"].unseal_keys().shares.clone());
            vocab.extend(operation_token(&mut n, "B", &mut no_hook));
            "B"
        }
        3 => {
            n.join("A", "C", Kind::Performance);
            "C"
        }
        4 | 5 => {
            let kind = if which == 4 {
                Kind::Dr
            } else {
                Kind::Performance
            };
            n.enable_primary("A", kind);
            let t = fresh_token(&mut n, "A", kind, "B").unwrap();
            vocab.push(t.clone());
            n.cut.insert("A".into());
            n.req(
                "B",
                Request::EnableSecondary {
                    kind,
                    token: t,
                    primary_api_addr: None,
                },
            )
            .unwrap();
            n.settle_hooked(&mut no_hook);
            "B"
        }
        6 => {
            n.join("A", "C", Kind::Performance);
            n.req(
                "A",
                Request::SetPathsFilter {
                    id: "C".into(),
                    filter: PathsFilter {
                        mode: FilterMode::Deny,
                        paths: vec!["local/".into()],
                    },
                },
            )
            .unwrap();
            n.settle_hooked(&mut no_hook);
            "A"
        }
        7 => {
            n.join("A", "B", Kind::Dr);
            n.req("A", Request::Demote { kind: Kind::Dr }).unwrap();
            n.settle_hooked(&mut no_hook);
            vocab.extend(operation_token(&mut n, "A", &mut no_hook));
            "A"
        }
        8 => {
            n.enable_primary("A", Kind::Performance);
            n.join("A", "B", Kind::Dr);
            n.advance_hooked(6_000, &mut no_hook);
            vocab.extend(operation_token(&mut n, "B", &mut no_hook));
            "B"
        }
        _ => {
            n.join("P", "A", Kind::Performance);
            n.join("A", "B", Kind::Dr);
            "A"
        }
    };
    // Tokens of the target's own primary (same set) and of the target itself when it is a primary.
    for p in ["A", "P"] {
        for kind in Kind::ALL {
            if n.clusters[p].mode(kind) == Mode::Primary {
                vocab.extend(fresh_token(&mut n, p, kind, &format!("v-{p}-{kind}")));
            }
        }
    }
    // An altered token.
    if let Some(t) = vocab.iter().find(|t| t.starts_with("v1.") && t.len() > 40) {
        let mut b = t.clone().into_bytes();
        b[10] = if b[10] == b'A' { b'B' } else { b'A' };
        vocab.push(String::from_utf8(b).unwrap());
    }
    vocab.extend(n.clusters[target].unseal_keys().shares.clone());
    n.settle_hooked(&mut no_hook);
    (n, target, vocab)
}

/// Builds topology `which` and applies `script` to its target cluster, checking every refusal.
/// With `warm`, the target first gets one `Input::Tick`, so it has seen host time before the script.
fn refusals(which: usize, seed: u64, script: &[Recipe], warm: bool) -> Result<(), TestCaseError> {
    let (mut n, target, mut vocab) = topology(which, seed);
    let now = n.now;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    // A new cluster's first `ready()` lists the mounts it starts with (storage to make durable).
    n.clusters.get_mut(target).unwrap().ready();
    if warm {
        let c = n.clusters.get_mut(target).unwrap();
        c.step(now, &mut rng, Input::Tick).unwrap();
        c.ready();
    }
    for r in script {
        let input = build_input(r, &vocab);
        let c = n.clusters.get_mut(target).unwrap();
        prop_assert_eq!(c.ready(), Ready::default());
        let before = c.clone();
        let snap = c.snapshot();
        match c.step(now, &mut rng, input.clone()) {
            Err(e) => {
                prop_assert!(
                    *c == before,
                    "refused {:?} ({}) changed the cluster",
                    input,
                    e
                );
                prop_assert!(
                    c.snapshot() == snap,
                    "refused {:?} ({}) changed the snapshot",
                    input,
                    e
                );
                let ready = c.ready();
                prop_assert!(
                    ready.messages.is_empty()
                        && ready.events.is_empty()
                        && ready.persist.is_empty(),
                    "refused {:?} ({}) produced output {:?}",
                    input,
                    e,
                    ready
                );
            }
            Ok(reply) => {
                c.ready();
                match reply {
                    Reply::Token(t) => vocab.push(t.token),
                    Reply::PublicKey(k) => vocab.push(k),
                    Reply::Attempt(a) => vocab.extend([a.nonce, a.otp, a.encoded_token]),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cfg())]

    /// model.md §1: "A command in the wrong mode is refused [...] and changes nothing. This holds for
    /// every refused request: a refused request leaves the state exactly as it was." (also lib.rs: "A
    /// refused input changes nothing"). From reachable states (disabled; DR primary with a secondary;
    /// DR secondary; performance secondary; bootstrapping with the primary partitioned, both kinds;
    /// performance primary with a filter; demoted DR primary; DR secondary mirroring a performance
    /// primary; DR primary that is a performance secondary), any request or client operation with
    /// meaningful or garbage strings: whenever `step` answers `Err`, the cluster compares equal to its
    /// clone from before, its snapshot bytes are the same, and `ready()` has no messages or events.
    #[test]
    fn refused_input_leaves_state_identical(
        which in 0..TOPOLOGIES,
        seed in any::<u64>(),
        script in vec(recipe(), 1..12),
    ) {
        refusals(which, seed, &script, false)?;
    }

    /// As `refused_input_leaves_state_identical`, on clusters that have already seen one input (so
    /// the known first-input bug does not mask other refusals that change state).
    #[test]
    fn refused_input_leaves_state_identical_after_first_input(
        which in 0..TOPOLOGIES,
        seed in any::<u64>(),
        script in vec(recipe(), 1..12),
    ) {
        refusals(which, seed, &script, true)?;
    }
}

// =====================================================================================================
// Generic operator scripts over three clusters (used by several properties).
// =====================================================================================================

#[derive(Clone, Debug)]
enum Op {
    EnablePrimary(usize, Kind),
    Demote(usize, Kind),
    DisablePrimary(usize, Kind),
    /// `primary/enable` on the first cluster if it is disabled, a token there for a fresh id,
    /// `secondary/enable` on the second (the next cluster when both are the same).
    Join(usize, usize, Kind),
    /// Token on the first cluster for a fresh id, `update-primary` on the second.
    UpdatePrimary(usize, usize, Kind),
    UpdatePrimaryEmpty(usize, Kind),
    /// Failover and failback with a split brain: join the second cluster to the first unless it is a
    /// secondary already, force-promote it, write a key on the first (still a primary), demote the
    /// first and point it at the second with update-primary.
    Failover(usize, usize, Kind, usize),
    Promote(usize, Kind, bool),
    DisableSecondary(usize, Kind),
    /// Disable the kind (as primary or secondary) and enable it again as a primary.
    Reenable(usize, Kind),
    Revoke(usize, Kind, usize),
    SetFilter(usize, usize, bool, u8),
    Write(usize, usize, u8),
    Delete(usize, usize),
    Mount(usize, usize, bool),
    Recover(usize),
    Reindex(usize),
    Corrupt(usize),
    Advance(u64),
    Cut(usize),
    Heal,
    Deliver(usize, bool),
    Drop(usize),
    Settle,
    Restart(usize),
}

const KEYS: [&str; 6] = [
    "secret/a", "secret/b", "secret/c", "local/a", "local/b", "team/a",
];
const MOUNTS: [&str; 3] = ["team/", "secret/", "other/"];

fn op(restarts: bool) -> impl Strategy<Value = Op> {
    let c = || 0..CL.len();
    prop_oneof![
        2 => (c(), kind()).prop_map(|(a, k)| Op::EnablePrimary(a, k)),
        2 => (c(), kind()).prop_map(|(a, k)| Op::Demote(a, k)),
        1 => (c(), kind()).prop_map(|(a, k)| Op::DisablePrimary(a, k)),
        6 => (c(), c(), kind()).prop_map(|(a, b, k)| Op::Join(a, b, k)),
        3 => (c(), c(), kind()).prop_map(|(a, b, k)| Op::UpdatePrimary(a, b, k)),
        1 => (c(), kind()).prop_map(|(a, k)| Op::UpdatePrimaryEmpty(a, k)),
        2 => (c(), c(), kind(), 0..KEYS.len()).prop_map(|(a, b, k, key)| Op::Failover(a, b, k, key)),
        3 => (c(), kind(), any::<bool>()).prop_map(|(a, k, f)| Op::Promote(a, k, f)),
        1 => (c(), kind()).prop_map(|(a, k)| Op::DisableSecondary(a, k)),
        2 => (c(), kind()).prop_map(|(a, k)| Op::Reenable(a, k)),
        1 => (c(), kind(), any::<usize>()).prop_map(|(a, k, i)| Op::Revoke(a, k, i)),
        1 => (c(), any::<usize>(), any::<bool>(), any::<u8>())
            .prop_map(|(a, i, m, p)| Op::SetFilter(a, i, m, p)),
        6 => (c(), 0..KEYS.len(), any::<u8>()).prop_map(|(a, k, v)| Op::Write(a, k, v)),
        1 => (c(), 0..KEYS.len()).prop_map(|(a, k)| Op::Delete(a, k)),
        1 => (c(), 0..MOUNTS.len(), any::<bool>()).prop_map(|(a, m, l)| Op::Mount(a, m, l)),
        1 => c().prop_map(Op::Recover),
        1 => c().prop_map(Op::Reindex),
        1 => c().prop_map(Op::Corrupt),
        2 => (0u64..20_000).prop_map(Op::Advance),
        1 => c().prop_map(Op::Cut),
        1 => Just(Op::Heal),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(i, k)| Op::Deliver(i, k)),
        1 => any::<usize>().prop_map(Op::Drop),
        4 => Just(Op::Settle),
        1 => c().prop_map(move |a| if restarts { Op::Restart(a) } else { Op::Settle }),
    ]
}

fn script(restarts: bool, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Op>> {
    vec(op(restarts), len)
}

/// Runs generic operations on a network, observing every step.
struct Driver {
    n: Net,
    next_id: u32,
    /// (primary, kind, id) of every token issued.
    issued: Vec<(String, Kind, String)>,
    /// The result of every operator or client request the script made, in order.
    results: Vec<(String, Result<Reply, Error>)>,
}

impl Driver {
    fn new(seed: u64) -> Driver {
        Driver {
            n: Net::new(&CL, seed),
            next_id: 0,
            issued: vec![],
            results: vec![],
        }
    }

    fn req(&mut self, c: &str, r: Request, hook: Hook<'_>) -> Result<Reply, Error> {
        let res = self.n.step_hooked(c, Input::Request(r), hook);
        self.results.push((c.to_string(), res.clone()));
        res
    }

    fn token(&mut self, p: &str, kind: Kind, hook: Hook<'_>) -> Option<String> {
        self.next_id += 1;
        let id = format!("s{}", self.next_id);
        let r = self.req(
            p,
            Request::SecondaryToken {
                kind,
                id: id.clone(),
                ttl: None,
                secondary_public_key: None,
            },
            hook,
        );
        match r {
            Ok(Reply::Token(t)) => {
                self.issued.push((p.to_string(), kind, id));
                Some(t.token)
            }
            _ => None,
        }
    }

    fn dr_token(&mut self, c: &str, kind: Kind, hook: Hook<'_>) -> Option<String> {
        if kind == Kind::Dr || is_dr_secondary(&self.n.clusters[c]) {
            operation_token(&mut self.n, c, hook)
        } else {
            None
        }
    }

    fn run(&mut self, op: &Op, hook: Hook<'_>) {
        match *op {
            Op::EnablePrimary(a, kind) => {
                let _ = self.req(
                    CL[a],
                    Request::EnablePrimary {
                        kind,
                        primary_cluster_addr: None,
                    },
                    hook,
                );
            }
            Op::Demote(a, kind) => {
                let _ = self.req(CL[a], Request::Demote { kind }, hook);
            }
            Op::DisablePrimary(a, kind) => {
                let _ = self.req(CL[a], Request::DisablePrimary { kind }, hook);
            }
            Op::Join(p, s, kind) => {
                let s = if s == p { (s + 1) % CL.len() } else { s };
                if self.n.clusters[CL[p]].mode(kind) == Mode::Disabled {
                    let _ = self.req(
                        CL[p],
                        Request::EnablePrimary {
                            kind,
                            primary_cluster_addr: None,
                        },
                        hook,
                    );
                }
                if let Some(token) = self.token(CL[p], kind, hook) {
                    let _ = self.req(
                        CL[s],
                        Request::EnableSecondary {
                            kind,
                            token,
                            primary_api_addr: None,
                        },
                        hook,
                    );
                }
            }
            Op::UpdatePrimary(p, s, kind) => {
                let s = if s == p { (s + 1) % CL.len() } else { s };
                if let Some(token) = self.token(CL[p], kind, hook) {
                    let dr_operation_token = self.dr_token(CL[s], kind, hook);
                    let _ = self.req(
                        CL[s],
                        Request::UpdatePrimary {
                            kind,
                            target: UpdateTarget::Token(token),
                            primary_api_addr: None,
                            dr_operation_token,
                        },
                        hook,
                    );
                }
            }
            Op::UpdatePrimaryEmpty(s, kind) => {
                let dr_operation_token = self.dr_token(CL[s], kind, hook);
                let _ = self.req(
                    CL[s],
                    Request::UpdatePrimary {
                        kind,
                        target: UpdateTarget::Token(String::new()),
                        primary_api_addr: None,
                        dr_operation_token,
                    },
                    hook,
                );
            }
            Op::Failover(old, new, kind, key) => {
                let new = if new == old {
                    (new + 1) % CL.len()
                } else {
                    new
                };
                if self.n.clusters[CL[new]].mode(kind) != Mode::Secondary {
                    self.run(&Op::Join(old, new, kind), hook);
                    self.n.settle_hooked(hook);
                }
                self.run(&Op::Promote(new, kind, true), hook);
                self.run(&Op::Write(old, key, 255), hook);
                self.run(&Op::Demote(old, kind), hook);
                self.run(&Op::UpdatePrimary(new, old, kind), hook);
                self.n.settle_hooked(hook);
            }
            Op::Promote(a, kind, force) => {
                let auth = match self.dr_token(CL[a], kind, hook) {
                    Some(t) if kind == Kind::Dr => PromoteAuth::OperationToken(t),
                    _ => PromoteAuth::None,
                };
                let _ = self.req(
                    CL[a],
                    Request::Promote {
                        kind,
                        primary_cluster_addr: None,
                        force,
                        auth,
                    },
                    hook,
                );
            }
            Op::DisableSecondary(a, kind) => {
                let dr_operation_token = self.dr_token(CL[a], kind, hook);
                let _ = self.req(
                    CL[a],
                    Request::DisableSecondary {
                        kind,
                        dr_operation_token,
                    },
                    hook,
                );
            }
            Op::Reenable(a, kind) => {
                match self.n.clusters[CL[a]].mode(kind) {
                    Mode::Primary => self.run(&Op::DisablePrimary(a, kind), hook),
                    Mode::Secondary | Mode::Bootstrapping => {
                        self.run(&Op::DisableSecondary(a, kind), hook)
                    }
                    Mode::Disabled => {}
                }
                self.run(&Op::EnablePrimary(a, kind), hook);
            }
            Op::Revoke(a, kind, i) => {
                let ids: Vec<String> = self
                    .issued
                    .iter()
                    .filter(|(p, k, _)| p == CL[a] && *k == kind)
                    .map(|(_, _, id)| id.clone())
                    .collect();
                let id = if ids.is_empty() {
                    "nobody".to_string()
                } else {
                    ids[i % ids.len()].clone()
                };
                let _ = self.req(CL[a], Request::RevokeSecondary { kind, id }, hook);
            }
            Op::SetFilter(a, i, allow, mask) => {
                let ids: Vec<String> = self
                    .issued
                    .iter()
                    .filter(|(p, k, _)| p == CL[a] && *k == Kind::Performance)
                    .map(|(_, _, id)| id.clone())
                    .collect();
                if ids.is_empty() {
                    return;
                }
                let paths = ["secret/", "team/", "local/", "other/"]
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| mask & (1 << b) != 0)
                    .map(|(_, p)| p.to_string())
                    .collect();
                let _ = self.req(
                    CL[a],
                    Request::SetPathsFilter {
                        id: ids[i % ids.len()].clone(),
                        filter: PathsFilter {
                            mode: if allow {
                                FilterMode::Allow
                            } else {
                                FilterMode::Deny
                            },
                            paths,
                        },
                    },
                    hook,
                );
            }
            Op::Write(a, k, v) => {
                let r = self.n.step_hooked(
                    CL[a],
                    Input::Client(ClientOp::Write {
                        path: KEYS[k].into(),
                        value: format!("v{v}"),
                    }),
                    hook,
                );
                self.results.push((CL[a].to_string(), r));
            }
            Op::Delete(a, k) => {
                let r = self.n.step_hooked(
                    CL[a],
                    Input::Client(ClientOp::Delete {
                        path: KEYS[k].into(),
                    }),
                    hook,
                );
                self.results.push((CL[a].to_string(), r));
            }
            Op::Mount(a, m, local) => {
                let r = self.n.step_hooked(
                    CL[a],
                    Input::Client(ClientOp::Mount {
                        path: MOUNTS[m].into(),
                        local,
                    }),
                    hook,
                );
                self.results.push((CL[a].to_string(), r));
            }
            Op::Recover(a) => {
                let dr_operation_token = self.dr_token(CL[a], Kind::Performance, hook);
                let _ = self.req(CL[a], Request::Recover { dr_operation_token }, hook);
            }
            Op::Reindex(a) => {
                let dr_operation_token = self.dr_token(CL[a], Kind::Performance, hook);
                let _ = self.req(CL[a], Request::Reindex { dr_operation_token }, hook);
            }
            Op::Corrupt(a) => {
                let _ = self.n.step_hooked(CL[a], Input::CorruptMerkle, hook);
            }
            Op::Advance(ms) => self.n.advance_hooked(ms, hook),
            Op::Cut(a) => {
                self.n.cut.insert(CL[a].to_string());
            }
            Op::Heal => self.n.cut.clear(),
            Op::Deliver(i, keep) => {
                self.n.deliver_at(i, keep, hook);
            }
            Op::Drop(i) => self.n.drop_at(i),
            Op::Settle => self.n.settle_hooked(hook),
            Op::Restart(a) => self.n.restart(CL[a]),
        }
    }
}

proptest! {
    #![proptest_config(cfg())]

    /// model.md §1 table and "A cluster that was disabled and enabled again has a new `cluster_id`":
    /// `primary/enable` draws an id never used before; `demote`, `promote` and `update-primary` keep it
    /// (as does everything else while the kind stays enabled); a secondary takes its primary's id.
    /// Checked at every step of arbitrary operator scripts.
    #[test]
    fn cluster_id_fresh_after_reenable_and_kept_through_demote_promote_update_primary(
        seed in any::<u64>(),
        ops in script(true, 4..40),
    ) {
        let mut d = Driver::new(seed);
        let mut seen: BTreeSet<ClusterId> = BTreeSet::new();
        let mut violations: Vec<String> = vec![];
        let mut hook = |o: &Observed<'_>| {
            for kind in Kind::ALL {
                if !(o.before.is_active(kind) && o.after.is_active(kind)) {
                    continue; // a DR secondary's dormant performance role mirrors its primary's
                }
                let (b, a) = (o.before.inspect(kind).cluster_id(), o.after.inspect(kind).cluster_id());
                match (b, a) {
                    (Some(b), Some(a)) if a != b => violations.push(format!(
                        "{}: {kind} cluster_id changed {b} -> {a} on {:?}", o.name, o.input
                    )),
                    (None, Some(a)) => {
                        let enabled = matches!(
                            o.input,
                            Input::Request(Request::EnablePrimary { kind: k, .. }) if *k == kind
                        );
                        if enabled && seen.contains(&a) {
                            violations.push(format!("{}: primary/enable reused {kind} id {a}", o.name));
                        }
                        if !enabled && !seen.contains(&a) {
                            violations.push(format!(
                                "{}: {kind} id {a} appeared from nowhere on {:?}", o.name, o.input
                            ));
                        }
                    }
                    _ => {}
                }
                if matches!(o.input, Input::Request(Request::Demote { kind: k }
                    | Request::Promote { kind: k, .. }
                    | Request::UpdatePrimary { kind: k, .. }) if *k == kind)
                    && o.result.is_ok()
                    && (b.is_none() || a != b)
                {
                    violations.push(format!("{}: {:?} did not keep cluster_id {b:?} -> {a:?}", o.name, o.input));
                }
                seen.extend(a);
            }
        };
        for op in &ops {
            d.run(op, &mut hook);
        }
        d.n.cut.clear();
        d.n.advance_hooked(30_000, &mut hook);
        prop_assert!(violations.is_empty(), "{:#?}", violations);
    }
}

// =====================================================================================================
// 3-4. Tokens.
// =====================================================================================================

#[derive(Clone, Debug)]
enum TokOp {
    Enable(usize),
    Disable(usize),
    Deliver(usize, bool),
    Drop(usize),
    Advance(u64),
    Revoke,
    Write(u8),
    Reissue,
}

fn tok_op(with_disable: bool, with_revoke: bool) -> impl Strategy<Value = TokOp> {
    prop_oneof![
        3 => (1..4usize).prop_map(TokOp::Enable),
        1 => (1..4usize).prop_map(move |s| if with_disable { TokOp::Disable(s) } else { TokOp::Enable(s) }),
        6 => (any::<usize>(), any::<bool>()).prop_map(|(i, k)| TokOp::Deliver(i, k)),
        2 => any::<usize>().prop_map(TokOp::Drop),
        2 => (0u64..12_000).prop_map(TokOp::Advance),
        1 => Just(if with_revoke { TokOp::Revoke } else { TokOp::Advance(0) }),
        1 => any::<u8>().prop_map(TokOp::Write),
        1 => Just(if with_revoke { TokOp::Reissue } else { TokOp::Advance(0) }),
    ]
}

const TOK_CLUSTERS: [&str; 4] = ["A", "B", "C", "D"];

/// Issues one token on A and runs `ops` (B enables first), then heals. Returns the clusters that
/// reported an accepted non-update activation, and how many clusters are secondaries of the kind.
fn token_script(
    seed: u64,
    kind: Kind,
    ops: &[TokOp],
) -> Result<(Vec<String>, usize), TestCaseError> {
    let mut n = Net::new(&TOK_CLUSTERS, seed);
    n.enable_primary("A", kind);
    let token = fresh_token(&mut n, "A", kind, "S").unwrap();
    let ops: Vec<TokOp> = std::iter::once(TokOp::Enable(1))
        .chain(ops.iter().cloned())
        .collect();
    for op in &ops {
        match *op {
            TokOp::Enable(s) => {
                let _ = n.req(
                    TOK_CLUSTERS[s],
                    Request::EnableSecondary {
                        kind,
                        token: token.clone(),
                        primary_api_addr: None,
                    },
                );
            }
            TokOp::Disable(s) => {
                let name = TOK_CLUSTERS[s];
                let dr_operation_token = operation_token(&mut n, name, &mut no_hook);
                let _ = n.req(
                    name,
                    Request::DisableSecondary {
                        kind,
                        dr_operation_token,
                    },
                );
            }
            TokOp::Deliver(i, keep) => {
                n.deliver_at(i, keep, &mut no_hook);
            }
            TokOp::Drop(i) => n.drop_at(i),
            TokOp::Advance(ms) => n.advance_hooked(ms, &mut no_hook),
            TokOp::Write(v) => {
                let _ = n.write("A", "secret/x", &format!("{v}"));
            }
            TokOp::Revoke | TokOp::Reissue => {}
        }
    }
    n.advance_hooked(30_000, &mut no_hook);
    let accepted = n
        .events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                Event::Activation {
                    update: false,
                    result: Ok(()),
                    ..
                }
            )
        })
        .map(|(c, _)| c.clone())
        .collect();
    let secondaries = TOK_CLUSTERS
        .iter()
        .filter(|c| n.clusters[**c].mode(kind) == Mode::Secondary)
        .count();
    Ok((accepted, secondaries))
}

proptest! {
    #![proptest_config(cfg())]

    /// model.md §6 "A token activates at most once" and §2 (a used token is refused): several
    /// secondaries try the same token while activation requests and answers are lost, duplicated and
    /// reordered and secondaries retry on their timers. Exactly one `Event::Activation{update: false,
    /// result: Ok}` happens for the token once the network heals, and exactly one cluster ends up a
    /// secondary.
    #[test]
    fn token_activates_at_most_once(
        seed in any::<u64>(),
        kind in kind(),
        ops in vec(tok_op(false, false), 1..40),
    ) {
        let (accepted, secondaries) = token_script(seed, kind, &ops)?;
        prop_assert_eq!(accepted.len(), 1, "token activated {} times: {:?}", accepted.len(), accepted);
        prop_assert_eq!(secondaries, 1);
    }

    /// model.md §6 "A token activates at most once" and §2 "A token that was [...] already used [...]
    /// is refused", with operators disabling secondaries (a bootstrapping one, or an activated one) and
    /// enabling them again with the same token: at most one accepted non-update activation ever.
    #[test]
    fn used_token_never_activates_again_after_disable(
        seed in any::<u64>(),
        kind in kind(),
        ops in vec(tok_op(true, false), 1..40),
    ) {
        let (accepted, _) = token_script(seed, kind, &ops)?;
        prop_assert!(accepted.len() <= 1, "token activated {} times: {:?}", accepted.len(), accepted);
    }

    /// model.md §1 "`primary/revoke-secondary`: that secondary is disconnected at once and refused until
    /// it holds a new token", §2 (a revoked token is refused; an id ever issued is refused) and §6 "A
    /// revoked secondary receives nothing more". After the revocation the primary sends only refusals
    /// (never an acceptance, data, heartbeat answer or mirror), re-issuing the id is refused, and once
    /// the network heals no cluster is a connected secondary of the set.
    #[test]
    fn revoked_id_never_activates(
        seed in any::<u64>(),
        kind in kind(),
        ops in vec(tok_op(true, true), 1..40),
    ) {
        let mut n = Net::new(&TOK_CLUSTERS, seed);
        n.enable_primary("A", kind);
        let token = fresh_token(&mut n, "A", kind, "S").unwrap();
        let mut revoked = false;
        let mut violations: Vec<String> = vec![];
        let ops: Vec<TokOp> = ops.into_iter().chain(std::iter::once(TokOp::Revoke)).collect();
        for op in &ops {
            let mut hook = |o: &Observed<'_>| {
                if revoked && o.name == "A" {
                    for t in &o.ready.messages {
                        let refusal = matches!(t.message,
                            Message::LinkRefused { .. } | Message::Revoked { .. }
                            | Message::ActivationRefused { .. });
                        if !refusal {
                            violations.push(format!("A sent {:?} to {} after revoke", t.message, t.to));
                        }
                    }
                }
            };
            match *op {
                TokOp::Enable(s) => {
                    let _ = n.step_hooked(TOK_CLUSTERS[s], Input::Request(Request::EnableSecondary {
                        kind, token: token.clone(), primary_api_addr: None,
                    }), &mut hook);
                }
                TokOp::Disable(s) => {
                    let name = TOK_CLUSTERS[s];
                    let dr_operation_token = operation_token(&mut n, name, &mut hook);
                    let _ = n.step_hooked(name, Input::Request(
                        Request::DisableSecondary { kind, dr_operation_token }), &mut hook);
                }
                TokOp::Deliver(i, keep) => { n.deliver_at(i, keep, &mut hook); }
                TokOp::Drop(i) => n.drop_at(i),
                TokOp::Advance(ms) => n.advance_hooked(ms, &mut hook),
                TokOp::Write(v) => {
                    let _ = n.step_hooked("A", Input::Client(ClientOp::Write {
                        path: "secret/x".into(), value: format!("{v}") }), &mut hook);
                }
                TokOp::Revoke => {
                    let r = n.step_hooked("A", Input::Request(Request::RevokeSecondary {
                        kind, id: "S".into() }), &mut hook);
                    prop_assert!(r.is_ok(), "revoke refused: {:?}", r);
                    revoked = true;
                }
                TokOp::Reissue => {
                    let r = n.step_hooked("A", Input::Request(Request::SecondaryToken {
                        kind, id: "S".into(), ttl: None, secondary_public_key: None }), &mut hook);
                    prop_assert!(r.is_err(), "id S was issued twice: {:?}", r);
                }
            }
        }
        let mut hook = |o: &Observed<'_>| {
            if o.name == "A" {
                for t in &o.ready.messages {
                    if !matches!(t.message, Message::LinkRefused { .. } | Message::Revoked { .. }
                        | Message::ActivationRefused { .. }) {
                        violations.push(format!("A sent {:?} to {} after revoke", t.message, t.to));
                    }
                }
            }
        };
        n.advance_hooked(30_000, &mut hook);
        prop_assert!(violations.is_empty(), "{:#?}", violations);
        for c in &TOK_CLUSTERS[1..] {
            let cl = &n.clusters[*c];
            prop_assert!(!cl.is_connected(kind), "{} is still connected after revoke", c);
            prop_assert!(
                matches!(cl.mode(kind), Mode::Disabled)
                    || cl.secondary_state(kind) == Some(SecondaryState::Idle),
                "{} is {:?}/{:?} after revoke", c, cl.mode(kind), cl.secondary_state(kind)
            );
        }
    }
}

// =====================================================================================================
// 5-6. Determinism and snapshots.
// =====================================================================================================

/// Runs a generic script and returns the serialized trace of every step (input, reply, ready), every
/// request's result, the final snapshots and combined statuses.
fn traced_run(seed: u64, ops: &[Op]) -> Vec<u8> {
    // Serialized with `to_string` (not `json!`): messages carry u128 digests, which
    // `serde_json::Value` cannot hold.
    let mut trace: Vec<String> = vec![];
    let mut d = Driver::new(seed);
    let mut hook = |o: &Observed<'_>| {
        trace.push(serde_json::to_string(&(o.name, o.input, o.result, o.ready)).unwrap());
    };
    for op in ops {
        d.run(op, &mut hook);
    }
    d.n.cut.clear();
    d.n.advance_hooked(20_000, &mut hook);
    for c in d.n.clusters.values() {
        trace.push(String::from_utf8_lossy(&c.snapshot()).into_owned());
        trace.push(c.combined_status(d.n.now).to_string());
    }
    trace.push(serde_json::to_string(&d.results).unwrap());
    trace.join("\n").into_bytes()
}

proptest! {
    #![proptest_config(cfg())]

    /// lib.rs "It does no I/O, reads no clock and draws no ambient randomness: time and entropy are
    /// arguments" (model.md §5: timestamps are RFC 3339 from host time, ids from host entropy): the
    /// same seed and the same operator scripts (faults and restarts included) give byte-identical
    /// replies, `ready()` output (messages and events) for every step, final snapshots and statuses.
    #[test]
    fn same_seed_same_inputs_byte_identical_outputs(
        seed in any::<u64>(),
        ops in script(true, 4..40),
    ) {
        let a = traced_run(seed, &ops);
        let b = traced_run(seed, &ops);
        prop_assert!(a == b, "two runs with seed {} differ", seed);
    }
}

/// Flips, truncations and a foreign format version applied to snapshot bytes.
#[derive(Clone, Debug)]
enum Damage {
    Flip(usize, u8),
    Truncate(usize),
    Version(u32),
    Garbage(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Damage::Flip(i, x)),
        2 => any::<usize>().prop_map(Damage::Truncate),
        1 => any::<u32>().prop_filter("other version", |v| *v != 1).prop_map(Damage::Version),
        1 => vec(any::<u8>(), 0..64).prop_map(Damage::Garbage),
    ]
}

proptest! {
    #![proptest_config(cfg())]

    /// lib.rs "Persist: `Cluster::snapshot` gives versioned, checksummed bytes of everything that
    /// survives a crash; `Cluster::restore` restarts from them": for states reached by arbitrary
    /// scripts (restarts included) `restore(snapshot).snapshot() == snapshot`; damaged bytes are
    /// refused with `SnapshotError::Corrupted` (or restore exactly the same state when the damage is
    /// invisible, e.g. the case of a hex digit in a `\u` escape), a foreign `format_version` with
    /// `SnapshotError::UnknownVersion`, and nothing panics.
    #[test]
    fn snapshot_round_trips(
        seed in any::<u64>(),
        ops in script(true, 0..30),
        damages in vec(damage(), 1..6),
    ) {
        let mut d = Driver::new(seed);
        for op in &ops {
            d.run(op, &mut no_hook);
        }
        let now = d.n.now;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for c in d.n.clusters.values() {
            let snap = c.snapshot();
            let restored = Cluster::restore(&snap, now, &mut rng);
            prop_assert!(restored.is_ok(), "{}: own snapshot refused: {:?}", c.name(), restored.err());
            let again = restored.unwrap().snapshot();
            prop_assert!(again == snap, "{}: snapshot changed by a restore", c.name());
            for dmg in &damages {
                let mut bytes = snap.clone();
                match dmg {
                    Damage::Flip(i, x) => { let i = i % bytes.len(); bytes[i] ^= x; }
                    Damage::Truncate(i) => bytes.truncate(i % bytes.len()),
                    Damage::Version(v) => {
                        let mut j: serde_json::Value = serde_json::from_slice(&snap).unwrap();
                        j["format_version"] = (*v).into();
                        bytes = serde_json::to_vec(&j).unwrap();
                    }
                    Damage::Garbage(g) => bytes = g.clone(),
                }
                let r = std::panic::catch_unwind(|| {
                    Cluster::restore(&bytes, now, &mut ChaCha8Rng::seed_from_u64(1))
                });
                prop_assert!(r.is_ok(), "{}: restore panicked on {:?}", c.name(), dmg);
                match (dmg, r.unwrap()) {
                    (Damage::Version(v), res) => prop_assert!(
                        matches!(res, Err(SnapshotError::UnknownVersion { found }) if found == *v),
                        "{}: version {} not refused as unknown", c.name(), v
                    ),
                    (_, Ok(back)) => prop_assert!(
                        back.snapshot() == snap,
                        "{}: damaged snapshot ({:?}) restored a different state", c.name(), dmg
                    ),
                    (_, Err(_)) => {}
                }
            }
        }
    }
}

// =====================================================================================================
// 7-11. Data plane.
// =====================================================================================================

#[derive(Clone, Debug)]
enum DataOp {
    Write(usize, u8),
    Delete(usize),
    Mount(usize, bool),
    Cut(bool),
    Heal,
    Chaos(u64, u8, u8, u8),
    Deliver(usize, bool),
    Drop(usize),
    Advance(u64),
    Settle,
    Restart(bool),
}

const DATA_KEYS: [&str; 8] = [
    "secret/a", "secret/b", "secret/c", "secret/d", "local/a", "local/b", "team/a", "team/b",
];

fn data_op(restarts: bool) -> impl Strategy<Value = DataOp> {
    prop_oneof![
        6 => (0..DATA_KEYS.len(), any::<u8>()).prop_map(|(k, v)| DataOp::Write(k, v)),
        2 => (0..DATA_KEYS.len()).prop_map(DataOp::Delete),
        1 => (0..MOUNTS.len(), any::<bool>()).prop_map(|(m, l)| DataOp::Mount(m, l)),
        10 => net_op(restarts),
    ]
}

/// Network faults and time only.
fn net_op(restarts: bool) -> impl Strategy<Value = DataOp> {
    prop_oneof![
        1 => any::<bool>().prop_map(DataOp::Cut),
        1 => Just(DataOp::Heal),
        3 => (any::<u64>(), 1..30u8, 0..40u8, 0..40u8).prop_map(|(s, n, d, u)| DataOp::Chaos(s, n, d, u)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(i, k)| DataOp::Deliver(i, k)),
        1 => any::<usize>().prop_map(DataOp::Drop),
        2 => (0u64..25_000).prop_map(DataOp::Advance),
        1 => Just(DataOp::Settle),
        1 => any::<bool>().prop_map(move |p| if restarts { DataOp::Restart(p) } else { DataOp::Heal }),
    ]
}

/// Partitions and time, for the end of a script: faults that leave the secondary behind or believing
/// it is still connected, with no write afterwards to wake the link up.
fn quiet_op() -> impl Strategy<Value = DataOp> {
    prop_oneof![
        3 => any::<bool>().prop_map(DataOp::Cut),
        1 => Just(DataOp::Heal),
        3 => (0u64..40_000).prop_map(DataOp::Advance),
        2 => Just(DataOp::Settle),
        1 => (any::<u64>(), 1..30u8, 0..40u8, 0..40u8).prop_map(|(s, n, d, u)| DataOp::Chaos(s, n, d, u)),
    ]
}

/// Data-plane operations followed by a quiet tail of faults.
fn data_script(restarts: bool) -> impl Strategy<Value = Vec<DataOp>> {
    (vec(data_op(restarts), 1..30), vec(quiet_op(), 0..6)).prop_map(|(mut a, b)| {
        a.extend(b);
        a
    })
}

/// Runs one data-plane operation. Without `lossy`, nothing already in flight is lost: chaos only
/// duplicates and reorders, `Drop` delivers instead, and a partition starts once the network is
/// quiet (it still drops what is sent while it lasts).
fn run_data_op(
    n: &mut Net,
    op: &DataOp,
    primary: &str,
    secondary: &str,
    lossy: bool,
    hook: Hook<'_>,
) {
    match *op {
        DataOp::Write(k, v) => {
            let _ = n.step_hooked(
                primary,
                Input::Client(ClientOp::Write {
                    path: DATA_KEYS[k].into(),
                    value: format!("v{v}"),
                }),
                hook,
            );
        }
        DataOp::Delete(k) => {
            let _ = n.step_hooked(
                primary,
                Input::Client(ClientOp::Delete {
                    path: DATA_KEYS[k].into(),
                }),
                hook,
            );
        }
        DataOp::Mount(m, local) => {
            let _ = n.step_hooked(
                primary,
                Input::Client(ClientOp::Mount {
                    path: MOUNTS[m].into(),
                    local,
                }),
                hook,
            );
        }
        DataOp::Cut(p) => {
            if !lossy {
                n.settle_hooked(hook);
            }
            n.cut
                .insert(if p { primary } else { secondary }.to_string());
        }
        DataOp::Heal => n.cut.clear(),
        DataOp::Chaos(seed, steps, drop, dup) => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let drop = if lossy { drop as u32 } else { 0 };
            n.chaos(&mut rng, steps as usize, drop, dup as u32, hook);
        }
        DataOp::Deliver(i, keep) => {
            n.deliver_at(i, keep, hook);
        }
        DataOp::Drop(i) if lossy => n.drop_at(i),
        DataOp::Drop(i) => {
            n.deliver_at(i, false, hook);
        }
        DataOp::Advance(ms) => n.advance_hooked(ms, hook),
        DataOp::Settle => n.settle_hooked(hook),
        DataOp::Restart(p) => n.restart(if p { primary } else { secondary }),
    }
}

/// Runs `ops` on a pair A (primary) -> B (secondary), heals, and checks B holds A's shipped data
/// (and, with `stream_wals`, that B reports `stream-wals`).
fn converges(
    seed: u64,
    kind: Kind,
    buffer: usize,
    ops: &[DataOp],
    lossy: bool,
    stream_wals: bool,
) -> Result<(), TestCaseError> {
    let mut n = Net::new_with(&["A", "B"], seed, |c| c.log_shipper_buffer = buffer);
    n.join("A", "B", kind);
    for op in ops {
        run_data_op(&mut n, op, "A", "B", lossy, &mut no_hook);
    }
    // Faults stop: the link heals, in-flight messages land, time passes.
    n.cut.clear();
    n.settle_hooked(&mut no_hook);
    n.advance_hooked(30_000, &mut no_hook);
    n.advance_hooked(30_000, &mut no_hook);
    prop_assert_eq!(n.clusters["B"].mode(kind), Mode::Secondary);
    prop_assert!(n.clusters["B"].is_connected(kind), "B is not connected");
    prop_assert_eq!(n.shipped("B", kind), n.shipped("A", kind));
    prop_assert_eq!(n.root("B", kind), n.root("A", kind));
    if stream_wals {
        prop_assert_eq!(n.state("B", kind), Some(SecondaryState::StreamWals));
    }
    Ok(())
}

proptest! {
    #![proptest_config(cfg())]

    /// model.md §6 "Once faults stop and the network heals, every connected secondary converges to its
    /// primary's `merkle_root` for that kind", §4 (streaming resumes from the buffer, otherwise
    /// `merkle-diff`/`merkle-sync`) and lib.rs "Messages may be lost, duplicated or reordered: the
    /// protocol tolerates it": after writes, deletes and mounts on the primary interleaved with
    /// partitions, message loss, duplication and reordering (small log-shipper buffers force diffs),
    /// the healed secondary is connected and holds exactly the primary's shipped data (DR: every entry;
    /// performance: the `replicated` class) with the same `merkle_root`.
    #[test]
    fn secondary_converges_after_faults(
        seed in any::<u64>(),
        kind in kind(),
        buffer in 1usize..6,
        ops in data_script(false),
    ) {
        converges(seed, kind, buffer, &ops, true, false)?;
    }

    /// As `secondary_converges_after_faults`, without losing messages already in flight: partitions
    /// (which drop what is sent while they last), duplication and reordering.
    #[test]
    fn secondary_converges_after_partitions_duplication_and_reordering(
        seed in any::<u64>(),
        kind in kind(),
        buffer in 1usize..6,
        ops in data_script(false),
    ) {
        converges(seed, kind, buffer, &ops, false, false)?;
    }

    /// model.md §4 "A secondary streams WALs (`stream-wals`) when it can resume [...] otherwise it goes
    /// `merkle-diff`, then `merkle-sync` [...] then back to `stream-wals`": once the network heals, a
    /// connected secondary holding its primary's data reports `stream-wals` (faults as in
    /// `secondary_converges_after_partitions_duplication_and_reordering`).
    #[test]
    fn secondary_returns_to_stream_wals_after_faults(
        seed in any::<u64>(),
        kind in kind(),
        buffer in 1usize..6,
        ops in data_script(false),
    ) {
        converges(seed, kind, buffer, &ops, false, true)?;
    }

    /// As `secondary_converges_after_partitions_duplication_and_reordering`, with crashes: either
    /// cluster restarts from its snapshot (lib.rs "connections and the in-memory log shipper buffer
    /// are lost, as in Vault").
    #[test]
    fn secondary_converges_after_faults_and_restarts(
        seed in any::<u64>(),
        kind in kind(),
        buffer in 1usize..6,
        ops in data_script(true),
    ) {
        converges(seed, kind, buffer, &ops, false, false)?;
    }
}

/// Keys on which two shipped views differ.
fn differing(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> BTreeSet<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

fn all_entries(c: &Cluster) -> BTreeMap<String, (String, DataClass)> {
    c.storage()
        .entries()
        .map(|(k, e)| (k.clone(), (e.value.clone(), e.class)))
        .collect()
}

#[derive(Clone, Debug)]
enum Divergence {
    /// The secondary missed writes and deletes while partitioned (buffer of 1: it must diff).
    Missed(Vec<(usize, Option<u8>)>),
    /// Split brain: the secondary is promoted, both write, the old primary is demoted and rejoins with
    /// update-primary (the secondary of the sync is then the old primary).
    SplitBrain(Vec<(usize, Option<u8>)>, Vec<(usize, Option<u8>)>),
}

fn changes() -> impl Strategy<Value = Vec<(usize, Option<u8>)>> {
    vec(
        (
            0..DATA_KEYS.len(),
            proptest::option::weighted(0.75, any::<u8>()),
        ),
        0..8,
    )
}

fn divergence() -> impl Strategy<Value = Divergence> {
    prop_oneof![
        changes().prop_map(Divergence::Missed),
        (changes(), changes()).prop_map(|(a, b)| Divergence::SplitBrain(a, b)),
    ]
}

fn apply_changes(n: &mut Net, c: &str, changes: &[(usize, Option<u8>)]) {
    for (k, v) in changes {
        let op = match v {
            Some(v) => ClientOp::Write {
                path: DATA_KEYS[*k].into(),
                value: format!("v{v}"),
            },
            None => ClientOp::Delete {
                path: DATA_KEYS[*k].into(),
            },
        };
        let _ = n.step(c, Input::Client(op));
    }
    n.settle_hooked(&mut no_hook);
}

proptest! {
    #![proptest_config(cfg())]

    /// model.md §4 "A sync moves only the conflicting keys, and the result is exactly the primary's
    /// shipped data [...] plus the secondary's own local mounts": the keys a Merkle sync changes on the
    /// secondary are exactly the keys on which its shipped data differed from the primary's; the keys
    /// `Event::SyncRemoved` reports are exactly the differing keys the secondary held (overwritten or
    /// removed); nothing else on the secondary (its local mounts included) changes.
    #[test]
    fn sync_moves_only_conflicting_keys(
        seed in any::<u64>(),
        kind in kind(),
        initial in changes(),
        div in divergence(),
    ) {
        let mut n = Net::new_with(&["A", "B"], seed, |c| c.log_shipper_buffer = 1);
        apply_changes(&mut n, "A", &initial);
        n.join("A", "B", kind);
        let (primary, secondary) = match &div {
            Divergence::Missed(ch) => {
                n.cut.insert("B".into());
                apply_changes(&mut n, "A", ch);
                n.cut.clear();
                ("A", "B")
            }
            Divergence::SplitBrain(on_a, on_b) => {
                let auth = match kind {
                    Kind::Dr => PromoteAuth::OperationToken(n.operation_token("B")),
                    Kind::Performance => PromoteAuth::None,
                };
                n.req("B", Request::Promote {
                    kind, primary_cluster_addr: None, force: true, auth,
                }).unwrap();
                n.settle_hooked(&mut no_hook);
                apply_changes(&mut n, "A", on_a);
                apply_changes(&mut n, "B", on_b);
                n.req("A", Request::Demote { kind }).unwrap();
                n.settle_hooked(&mut no_hook);
                ("B", "A")
            }
        };
        let before = all_entries(&n.clusters[secondary]);
        let want = differing(&n.shipped(primary, kind), &n.shipped(secondary, kind));
        let primary_before = all_entries(&n.clusters[primary]);
        let events_from = n.events.len();
        if let Divergence::SplitBrain(..) = div {
            let token = fresh_token(&mut n, "B", kind, "A-again").unwrap();
            let dr_operation_token = (kind == Kind::Dr).then(|| n.operation_token("A"));
            n.req("A", Request::UpdatePrimary {
                kind, target: UpdateTarget::Token(token), primary_api_addr: None, dr_operation_token,
            }).unwrap();
        }
        n.settle_hooked(&mut no_hook);
        n.advance_hooked(30_000, &mut no_hook);
        prop_assert_eq!(all_entries(&n.clusters[primary]), primary_before, "the primary changed");
        let after = all_entries(&n.clusters[secondary]);
        let changed: BTreeSet<String> = before.keys().chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .cloned()
            .collect();
        prop_assert_eq!(&changed, &want, "changed keys are not the differing keys");
        prop_assert_eq!(n.shipped(secondary, kind), n.shipped(primary, kind));
        let events = &n.events[events_from..];
        let synced = events.iter().any(|(c, e)| c == secondary && matches!(e, Event::InSync { .. }));
        let reported: BTreeSet<String> = events.iter()
            .filter(|(c, _)| c == secondary)
            .filter_map(|(_, e)| match e {
                Event::SyncRemoved { diverged, filtered, .. } =>
                    Some(diverged.iter().chain(filtered).cloned().collect::<Vec<_>>()),
                _ => None,
            })
            .flatten()
            .collect();
        let held: BTreeSet<String> = want.iter().filter(|k| before.contains_key(*k)).cloned().collect();
        if synced {
            prop_assert_eq!(reported, held, "SyncRemoved is not the differing keys the secondary held");
        } else {
            prop_assert!(reported.is_subset(&held), "SyncRemoved {:?} outside {:?}", reported, held);
        }
    }
}

#[derive(Clone, Debug)]
enum LocalOp {
    PrimaryWrite(usize, u8),
    PrimaryMount(usize, bool),
    LocalWrite(usize, u8),
    LocalDelete(usize),
    LocalMount(usize),
    Filter(bool, u8),
    Unfilter,
    Net(DataOp),
}

const LOCAL_PATHS: [&str; 6] = [
    "mine/a",
    "mine/b",
    "scratch/a",
    "secret/a",
    "team/a",
    "other/a",
];
const LOCAL_MOUNTS: [&str; 3] = ["mine/", "scratch/", "team/"];
const FILTER_PATHS: [&str; 4] = ["secret/", "team/", "mine/", "other/"];

fn local_op() -> impl Strategy<Value = LocalOp> {
    prop_oneof![
        4 => (0..LOCAL_PATHS.len(), any::<u8>()).prop_map(|(k, v)| LocalOp::PrimaryWrite(k, v)),
        1 => (0..LOCAL_MOUNTS.len() + 1, any::<bool>()).prop_map(|(m, l)| LocalOp::PrimaryMount(m, l)),
        4 => (0..LOCAL_PATHS.len(), any::<u8>()).prop_map(|(k, v)| LocalOp::LocalWrite(k, v)),
        1 => (0..LOCAL_PATHS.len()).prop_map(LocalOp::LocalDelete),
        1 => (0..LOCAL_MOUNTS.len()).prop_map(LocalOp::LocalMount),
        2 => (any::<bool>(), any::<u8>()).prop_map(|(a, m)| LocalOp::Filter(a, m)),
        1 => Just(LocalOp::Unfilter),
        4 => net_op(false).prop_map(LocalOp::Net),
    ]
}

/// Operations on the performance pair followed by a tail of filter changes, partitions and time.
fn local_script() -> impl Strategy<Value = Vec<LocalOp>> {
    let tail = prop_oneof![
        3 => (any::<bool>(), any::<u8>()).prop_map(|(a, m)| LocalOp::Filter(a, m)),
        1 => Just(LocalOp::Unfilter),
        4 => quiet_op().prop_map(LocalOp::Net),
    ];
    (vec(local_op(), 1..30), vec(tail, 0..6)).prop_map(|(mut a, b)| {
        a.extend(b);
        a
    })
}

fn local_class(c: &Cluster) -> BTreeMap<String, String> {
    c.storage()
        .entries()
        .filter(|(_, e)| e.class == DataClass::Local)
        .map(|(k, e)| (k.clone(), e.value.clone()))
        .collect()
}

/// A performance pair A -> C where C keeps local mounts; runs `ops`, checking after each that C's
/// local-class data is exactly what C's own client operations made it; heals; with `check_replicated`,
/// checks C's replicated data is A's shipped data through C's filter minus what C's local mounts
/// shadow.
fn local_run(
    seed: u64,
    buffer: usize,
    ops: &[LocalOp],
    lossy: bool,
    check_replicated: bool,
) -> Result<(), TestCaseError> {
    let kind = Kind::Performance;
    let mut n = Net::new_with(&["A", "C"], seed, |c| c.log_shipper_buffer = buffer);
    n.join("A", "C", kind);
    n.advance_hooked(6_000, &mut no_hook);
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let local = |n: &mut Net, op: ClientOp, model: &mut BTreeMap<String, String>| {
        let r = n.step("C", Input::Client(op.clone()));
        if let Ok(Reply::Applied { .. }) = r {
            match op {
                ClientOp::Write { path, value } => {
                    model.insert(path, value);
                }
                ClientOp::Delete { path } => {
                    model.remove(&path);
                }
                ClientOp::Mount { path, .. } => {
                    model.insert(format!("sys/mounts/{path}"), "local".into());
                }
                _ => {}
            }
        }
    };
    local(
        &mut n,
        ClientOp::Mount {
            path: "mine/".into(),
            local: true,
        },
        &mut model,
    );
    local(
        &mut n,
        ClientOp::Write {
            path: "mine/a".into(),
            value: "first".into(),
        },
        &mut model,
    );
    prop_assert_eq!(local_class(&n.clusters["C"]), model.clone());
    for op in ops {
        match op {
            LocalOp::PrimaryWrite(k, v) => {
                let _ = n.step(
                    "A",
                    Input::Client(ClientOp::Write {
                        path: LOCAL_PATHS[*k].into(),
                        value: format!("p{v}"),
                    }),
                );
            }
            LocalOp::PrimaryMount(m, l) => {
                let path = if *m < LOCAL_MOUNTS.len() {
                    LOCAL_MOUNTS[*m]
                } else {
                    "other/"
                };
                let _ = n.step(
                    "A",
                    Input::Client(ClientOp::Mount {
                        path: path.into(),
                        local: *l,
                    }),
                );
            }
            LocalOp::LocalWrite(k, v) => local(
                &mut n,
                ClientOp::Write {
                    path: LOCAL_PATHS[*k].into(),
                    value: format!("c{v}"),
                },
                &mut model,
            ),
            LocalOp::LocalDelete(k) => local(
                &mut n,
                ClientOp::Delete {
                    path: LOCAL_PATHS[*k].into(),
                },
                &mut model,
            ),
            LocalOp::LocalMount(m) => local(
                &mut n,
                ClientOp::Mount {
                    path: LOCAL_MOUNTS[*m].into(),
                    local: true,
                },
                &mut model,
            ),
            LocalOp::Filter(allow, mask) => {
                let paths = FILTER_PATHS
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| mask & (1 << b) != 0)
                    .map(|(_, p)| p.to_string())
                    .collect();
                let _ = n.req(
                    "A",
                    Request::SetPathsFilter {
                        id: "C".into(),
                        filter: PathsFilter {
                            mode: if *allow {
                                FilterMode::Allow
                            } else {
                                FilterMode::Deny
                            },
                            paths,
                        },
                    },
                );
            }
            LocalOp::Unfilter => {
                let _ = n.req("A", Request::DeletePathsFilter { id: "C".into() });
            }
            LocalOp::Net(d) => run_data_op(&mut n, d, "A", "C", lossy, &mut no_hook),
        }
        prop_assert_eq!(
            local_class(&n.clusters["C"]),
            model.clone(),
            "after {:?}",
            op
        );
    }
    n.cut.clear();
    n.settle_hooked(&mut no_hook);
    n.advance_hooked(30_000, &mut no_hook);
    n.advance_hooked(30_000, &mut no_hook);
    let c = &n.clusters["C"];
    prop_assert_eq!(local_class(c), model.clone(), "after healing");
    if !check_replicated {
        return Ok(());
    }
    prop_assert!(c.is_connected(kind));
    // Expected replicated data: what A ships to C through its filter, minus C's local mounts.
    let a = &n.clusters["A"];
    let filter = match a.inspect(kind) {
        RoleView::Primary(p) => p.filter("C").cloned(),
        _ => None,
    };
    let shadowed = |k: &str| {
        c.storage()
            .get(k)
            .is_some_and(|e| e.class == DataClass::Local)
            || c.storage().mount_of(k).is_some_and(|(_, l)| l)
    };
    let want: BTreeMap<String, String> = a
        .storage()
        .entries()
        .filter(|(k, e)| a.storage().ships(kind, filter.as_ref(), k, e) && !shadowed(k))
        .map(|(k, e)| (k.clone(), e.value.clone()))
        .collect();
    let got: BTreeMap<String, String> = c
        .storage()
        .entries()
        .filter(|(_, e)| e.class == DataClass::Replicated)
        .map(|(k, e)| (k.clone(), e.value.clone()))
        .collect();
    prop_assert_eq!(got, want, "replicated data (filter {:?})", filter);
    Ok(())
}

proptest! {
    #![proptest_config(cfg())]

    /// model.md §4 "a secondary's local mounts are never touched by filters" and "the result [of a
    /// sync] is exactly the primary's shipped data (minus paths filters) plus the secondary's own local
    /// mounts"; notes: performance replication ships only the `replicated` class. A performance
    /// secondary's local mounts and keys change only by its own client operations, whatever the
    /// primary writes or mounts (even a shared mount at the path of the secondary's local mount),
    /// whatever paths filters are set or removed and whatever the network does (loss, duplication,
    /// reordering, partitions, syncs forced by small log-shipper buffers).
    #[test]
    fn local_mounts_of_perf_secondary_survive_sync_and_filters(
        seed in any::<u64>(),
        buffer in 1usize..6,
        ops in local_script(),
    ) {
        local_run(seed, buffer, &ops, true, false)?;
    }

    /// model.md §4 "Tightening a filter removes the newly excluded data from that secondary" and "the
    /// result is exactly the primary's shipped data (minus paths filters) plus the secondary's own
    /// local mounts", §6 convergence: after filter changes, writes and faults that lose nothing in
    /// flight (partitions drop only what is sent while they last), the healed performance secondary's
    /// replicated data is its primary's shipped data through its filter, minus what its local mounts
    /// shadow.
    #[test]
    fn perf_secondary_converges_to_filtered_primary_data(
        seed in any::<u64>(),
        buffer in 1usize..6,
        ops in local_script(),
    ) {
        local_run(seed, buffer, &ops, false, true)?;
    }
}

/// A DR secondary in one of several reachable situations.
fn dr_secondary(which: usize, seed: u64) -> Net {
    let mut n = Net::new(&["A", "B"], seed);
    match which {
        0 => n.join("A", "B", Kind::Dr),
        1 => {
            n.join("A", "B", Kind::Dr);
            n.cut.insert("A".into());
            n.advance_hooked(60_000, &mut no_hook);
        }
        2 => {
            n.enable_primary("A", Kind::Dr);
            n.cut.insert("A".into());
            let token = fresh_token(&mut n, "A", Kind::Dr, "B").unwrap();
            n.req(
                "B",
                Request::EnableSecondary {
                    kind: Kind::Dr,
                    token,
                    primary_api_addr: None,
                },
            )
            .unwrap();
            n.settle_hooked(&mut no_hook);
        }
        3 => {
            n.enable_primary("A", Kind::Performance);
            n.join("A", "B", Kind::Dr);
            n.advance_hooked(6_000, &mut no_hook);
        }
        _ => {
            n.join("A", "B", Kind::Dr);
            let t = n.operation_token("B");
            n.req(
                "B",
                Request::UpdatePrimary {
                    kind: Kind::Dr,
                    target: UpdateTarget::Token(String::new()),
                    primary_api_addr: None,
                    dr_operation_token: Some(t),
                },
            )
            .unwrap();
        }
    }
    n
}

fn client_op() -> impl Strategy<Value = ClientOp> {
    let path = prop_oneof![
        3 => proptest::sample::select(vec![
            "secret/a", "secret/x", "local/a", "team/a", "secret/", "local/", "team/", "sys/mounts/secret/",
        ]).prop_map(String::from),
        1 => "\\PC{0,10}",
    ];
    prop_oneof![
        (path.clone(), "\\PC{0,6}").prop_map(|(path, value)| ClientOp::Write { path, value }),
        path.clone().prop_map(|path| ClientOp::Delete { path }),
        path.clone().prop_map(|path| ClientOp::Read { path }),
        (path, any::<bool>()).prop_map(|(path, local)| ClientOp::Mount { path, local }),
    ]
}

proptest! {
    #![proptest_config(cfg())]

    /// model.md §1 "a DR secondary refuses performance commands and all client traffic" and §4 "a DR
    /// secondary refuses all client traffic": connected, disconnected, bootstrapping, mirroring a
    /// performance primary or without a primary, every client operation on a DR secondary is refused
    /// and leaves it (its storage included) unchanged.
    #[test]
    fn dr_secondary_never_applies_a_client_write(
        which in 0..5usize,
        seed in any::<u64>(),
        ops in vec(client_op(), 1..10),
    ) {
        let mut n = dr_secondary(which, seed);
        for op in ops {
            let before = n.clusters["B"].clone();
            let r = n.step("B", Input::Client(op.clone()));
            prop_assert!(r.is_err(), "DR secondary accepted {:?}: {:?}", op, r);
            prop_assert!(n.clusters["B"] == before, "refused {:?} changed the DR secondary", op);
        }
    }

    /// model.md §6 "Every wipe is caused by `secondary/enable`; `demote`, `promote`, `update-primary`,
    /// `revoke` and `disable` never wipe" and §1 "wiped when the primary accepts, before any sync":
    /// across arbitrary operator scripts, every `Event::Wiped` comes in the step that delivered an
    /// accepted non-update activation to that cluster (with `Event::Activation{update: false, Ok}`) and
    /// counts the entries the cluster held; and no cluster loses a key except by that wipe, a sync that
    /// reports it (`Event::SyncRemoved`) or a client delete (its own, forwarded, or replicated from its
    /// primary's log).
    #[test]
    fn only_accepted_activation_wipes(
        seed in any::<u64>(),
        ops in script(true, 4..40),
    ) {
        let mut d = Driver::new(seed);
        let mut violations: Vec<String> = vec![];
        let mut hook = |o: &Observed<'_>| {
            let mut wiped = false;
            for e in &o.ready.events {
                if let Event::Wiped { kind, entries } = e {
                    wiped = true;
                    let accepted = o.ready.events.iter().any(|e| matches!(e,
                        Event::Activation { kind: k, update: false, result: Ok(()) } if k == kind));
                    let by_message = matches!(o.input,
                        Input::Message { message: Message::ActivationAccepted { .. }, .. });
                    if !accepted || !by_message {
                        violations.push(format!("{}: {kind} wipe without an accepted enable on {:?}",
                            o.name, o.input));
                    }
                    if *entries != o.before.storage().len() {
                        violations.push(format!("{}: Wiped reports {entries} entries, held {}",
                            o.name, o.before.storage().len()));
                    }
                }
            }
            if wiped {
                return;
            }
            let synced: BTreeSet<&String> = o.ready.events.iter()
                .filter_map(|e| match e {
                    Event::SyncRemoved { diverged, filtered, .. } => Some(diverged.iter().chain(filtered)),
                    _ => None,
                })
                .flatten()
                .collect();
            for (k, _) in o.before.storage().entries() {
                if o.after.storage().get(k).is_some() || synced.contains(k) {
                    continue;
                }
                let deleted = match o.input {
                    Input::Client(ClientOp::Delete { path }) => path == k,
                    Input::Message { message: Message::Forward(f), .. } => {
                        matches!(&f.op, ClientOp::Delete { path } if path == k)
                    }
                    Input::Message { message: Message::Entries(m), .. } => m.entries.iter()
                        .any(|e| matches!(&e.op, WalOp::Delete { key, .. } if key == k)),
                    _ => false,
                };
                if !deleted {
                    violations.push(format!("{}: lost {k} on {:?}", o.name, o.input));
                }
            }
        };
        for op in &ops {
            d.run(op, &mut hook);
        }
        d.n.cut.clear();
        d.n.advance_hooked(30_000, &mut hook);
        prop_assert!(violations.is_empty(), "{:#?}", violations);
    }
}

proptest! {
    #![proptest_config(cfg())]

    /// `Ready::persist` (lib.rs, "Ready"): a host that makes durable only the keys `ready()` lists
    /// keeps exactly the cluster's storage. Checked as its inductive step, at every step of arbitrary
    /// operator and data scripts (restarts, wipes and syncs included): every key whose stored entry
    /// differs after the step from before it is listed, and the list is in key order, each key once.
    #[test]
    fn ready_lists_every_storage_key_the_step_changed(
        seed in any::<u64>(),
        ops in script(true, 4..40),
    ) {
        let mut d = Driver::new(seed);
        let mut missed: Vec<String> = vec![];
        let mut steps = 0usize;
        let mut hook = |o: &Observed<'_>| {
            steps += 1;
            let changed: Vec<&str> = o.ready.persist.keys().collect();
            let changed = &changed;
            if !changed.windows(2).all(|w| w[0] < w[1]) {
                missed.push(format!("{}: not in key order or repeated: {changed:?}", o.name));
            }
            let (before, after) = (o.before.storage(), o.after.storage());
            let keys: BTreeSet<&String> =
                before.entries().chain(after.entries()).map(|(k, _)| k).collect();
            for k in keys {
                if before.get(k) != after.get(k) && changed.binary_search(&k.as_str()).is_err() {
                    missed.push(format!("{}: {k} changed on {:?} but is not listed", o.name, o.input));
                }
            }
        };
        for op in &ops {
            d.run(op, &mut hook);
        }
        // The hook is wired: a script with an operator request steps at least once. (A script of
        // only network and clock operations may step nothing at all, so it proves nothing here.)
        let requests = ops.iter().any(|op| {
            matches!(op, Op::EnablePrimary(..) | Op::Demote(..) | Op::DisablePrimary(..))
        });
        prop_assert!(steps > 0 || !requests);
        prop_assert!(missed.is_empty(), "{}", missed.join("\n"));
    }

    /// Traces name each message (`Message::name`) by its variant, in kebab case: one name per kind
    /// of message, the spelling the wire format's tag uses. And `data_kind` says which kind's data
    /// a message carries: entries, a diff, a sync of that kind, and the DR mirror.
    #[test]
    fn every_message_is_traced_by_its_variant_name_and_says_what_data_it_carries(seed in any::<u64>(), ops in script(true, 4..40)) {
        let mut d = Driver::new(seed);
        let mut wrong: Vec<String> = vec![];
        let mut hook = |o: &Observed<'_>| {
            for t in &o.ready.messages {
                // Externally tagged: `{"DiffStart":{...}}` (as text: a digest is a u128, which
                // `serde_json::Value` cannot hold).
                let json = serde_json::to_string(&t.message).unwrap();
                let tag = json.split('"').nth(1).unwrap_or_default().to_string();
                let mut kebab = String::new();
                for (i, c) in tag.chars().enumerate() {
                    if c.is_ascii_uppercase() && i > 0 {
                        kebab.push('-');
                    }
                    kebab.push(c.to_ascii_lowercase());
                }
                if t.message.name() != kebab {
                    wrong.push(format!("{tag} is traced as {:?}", t.message.name()));
                }
                // The messages that carry a kind's data, which the simulator's oracles follow.
                let carries = match &t.message {
                    Message::Entries(m) => Some(m.kind),
                    Message::DiffStart(m) => Some(m.kind),
                    Message::SyncData(m) => Some(m.kind),
                    Message::Mirror(_) => Some(Kind::Dr),
                    _ => None,
                };
                if t.message.data_kind() != carries {
                    wrong.push(format!("{tag} carries {carries:?} but says {:?}", t.message.data_kind()));
                }
            }
        };
        for op in &ops {
            d.run(op, &mut hook);
        }
        prop_assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// The durability contract (`Batch`, durable.rs): a host that makes every `ready()`'s batch
    /// durable can rebuild each cluster from its store, and gets exactly the cluster a snapshot taken
    /// at the same moment restores (same state, same fresh connections from the same entropy).
    /// Checked after every operation of arbitrary scripts, restarts, wipes, syncs and index damage
    /// included; a restart continues from the same store.
    #[test]
    fn replaying_every_batch_rebuilds_what_a_snapshot_restores(
        seed in any::<u64>(),
        ops in script(true, 4..40),
    ) {
        use replication_core::Durable;
        let mut d = Driver::new(seed);
        let mut stores: BTreeMap<String, Durable> = BTreeMap::new();
        for (name, c) in d.n.clusters.iter_mut() {
            stores.entry(name.clone()).or_default().apply(&c.ready().persist);
        }
        let mut checked = 0usize;
        for op in &ops {
            let mut hook = |o: &Observed<'_>| {
                stores.entry(o.name.to_string()).or_default().apply(&o.ready.persist);
            };
            d.run(op, &mut hook);
            for (name, c) in &d.n.clusters {
                let now = d.n.now;
                let from_store = Cluster::from_durable(
                    stores[name].clone(),
                    now,
                    &mut ChaCha8Rng::seed_from_u64(seed),
                );
                let restored =
                    Cluster::restore(&c.snapshot(), now, &mut ChaCha8Rng::seed_from_u64(seed))
                        .expect("own snapshot");
                prop_assert!(
                    from_store.as_ref() == Ok(&restored),
                    "{name} after {op:?}: the store rebuilds {:?}\nbut the snapshot restores {:?}",
                    from_store.map(|c| c.snapshot()).map(String::from_utf8),
                    String::from_utf8(restored.snapshot())
                );
                checked += 1;
            }
        }
        prop_assert!(checked > 0);
    }
}
