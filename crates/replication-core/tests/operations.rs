//! Every operator request in every mode, for both kinds (model.md §1–3): what is legal and what it
//! does, and for what is not, the error class, a message that names the mode or the command that would
//! help, and a cluster that is exactly as it was (snapshot bytes and value).

use replication_core::*;
use replication_testkit::Net;

// ----- the (mode, operation) table -----

/// Where the subject cluster `X` stands for the kind under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Disabled,
    Bootstrapping,
    Primary,
    Secondary,
    /// Performance kind only: `X` is a DR secondary.
    DrSecondary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    EnablePrimary,
    Demote,
    DisablePrimary,
    SecondaryToken,
    RevokeSecondary,
    GeneratePublicKey,
    EnableSecondary,
    PromoteNoAuth,
    PromoteForce,
    DisableSecondaryNoToken,
    DisableSecondary,
    UpdatePrimaryNoToken,
    UpdatePrimaryToken,
    UpdatePrimaryEmpty,
    UpdatePrimaryAddrs,
    RecoverNoToken,
    Recover,
    ReindexNoToken,
    Reindex,
    SetPathsFilter,
    ReadPathsFilter,
    DeletePathsFilter,
    DynamicFilterPrimary,
    DynamicFilterSecondary,
    StartAttempt,
    ReadAttempt,
    CancelAttempt,
    UpdateAttempt,
    DeleteOperationToken,
}

const COMMON_OPS: [Op; 19] = [
    Op::EnablePrimary,
    Op::Demote,
    Op::DisablePrimary,
    Op::SecondaryToken,
    Op::RevokeSecondary,
    Op::GeneratePublicKey,
    Op::EnableSecondary,
    Op::PromoteNoAuth,
    Op::PromoteForce,
    Op::DisableSecondaryNoToken,
    Op::DisableSecondary,
    Op::UpdatePrimaryNoToken,
    Op::UpdatePrimaryToken,
    Op::UpdatePrimaryEmpty,
    Op::UpdatePrimaryAddrs,
    Op::RecoverNoToken,
    Op::Recover,
    Op::ReindexNoToken,
    Op::Reindex,
];
const PERFORMANCE_OPS: [Op; 5] = [
    Op::SetPathsFilter,
    Op::ReadPathsFilter,
    Op::DeletePathsFilter,
    Op::DynamicFilterPrimary,
    Op::DynamicFilterSecondary,
];
const DR_OPS: [Op; 5] = [
    Op::StartAttempt,
    Op::ReadAttempt,
    Op::CancelAttempt,
    Op::UpdateAttempt,
    Op::DeleteOperationToken,
];

/// What the request must do. Message fragments may contain `{k}` (the kind's label, `DR` or
/// `performance`) and `{dr}` (X's DR mode).
#[derive(Clone, Copy, Debug)]
enum Want {
    /// Accepted; after settling, X's mode of the kind is this.
    Ok(Mode),
    WrongMode(Kind, &'static [&'static str]),
    Invalid(Option<&'static str>, &'static [&'static str]),
    Forbidden(&'static [&'static str]),
    NotFound(&'static [&'static str]),
    /// The promote safety check (HTTP 503).
    Unavailable(&'static [&'static str]),
}

const DISABLED: &[&str] = &["{k} replication is disabled", "enable it first"];
const BOOTSTRAPPING: &[&str] = &["bootstrapping as a {k} secondary", "wait for the primary"];
const IS_PRIMARY: &[&str] = &["is a {k} primary", "demote it first"];
const ALREADY_PRIMARY: &[&str] = &["already a {k} primary", "disable it first"];
const IS_SECONDARY: &[&str] = &["is a {k} secondary", "promote it first"];
const ALREADY_SECONDARY: &[&str] = &["already a {k} secondary", "disable it first"];
const DR_SECONDARY: &[&str] = &[
    "cluster is a DR secondary",
    "performance",
    "promote it first",
];
const NOT_ENABLED: &[&str] = &["replication is not enabled", "enable it first"];
const NEEDS_OP_TOKEN: &[&str] = &["needs a dr_operation_token", "generate-operation-token"];
const BAD_OP_TOKEN: &[&str] = &["dr_operation_token is not valid", "generate a new one"];
const PROMOTE_NEEDS_AUTH: &[&str] = &["needs authorisation", "dr_operation_token", "\"key\""];
const PROMOTE_BOOTSTRAPPING: &[&str] = &["still bootstrapping", "try again", "\"force\""];
const PROMOTE_FORCE_BOOTSTRAPPING: &[&str] = &[
    "still bootstrapping as a {k} secondary",
    "even with force",
    "secondary/disable",
];
const ONLY_DR_SECONDARY: &[&str] = &["only available on a DR secondary", "DR mode is {dr}"];

fn expect(kind: Kind, at: At, op: Op) -> Want {
    use Op::*;
    let dr = kind == Kind::Dr;
    match (at, op) {
        // Performance commands on a DR secondary: all refused, kind-less DR-token ones aside.
        (At::DrSecondary, RecoverNoToken | ReindexNoToken) => Want::Forbidden(NEEDS_OP_TOKEN),
        (At::DrSecondary, Recover | Reindex) => Want::Ok(Mode::Disabled),
        // The refusing mode is the DR one, so the error names DR.
        (At::DrSecondary, _) => Want::WrongMode(Kind::Dr, DR_SECONDARY),

        // The DR operation-token endpoints exist on a DR secondary only.
        (At::Secondary, StartAttempt | ReadAttempt | CancelAttempt) => Want::Ok(Mode::Secondary),
        (At::Secondary, UpdateAttempt) => Want::Invalid(
            None,
            &["no operation-token attempt is in progress", "start one"],
        ),
        (At::Secondary, DeleteOperationToken) => Want::Forbidden(BAD_OP_TOKEN),
        (_, StartAttempt | ReadAttempt | CancelAttempt | UpdateAttempt | DeleteOperationToken) => {
            Want::WrongMode(Kind::Dr, ONLY_DR_SECONDARY)
        }

        // Recover and reindex: any enabled mode; a DR secondary needs an operation token.
        (At::Disabled, RecoverNoToken | Recover | ReindexNoToken | Reindex) => {
            Want::WrongMode(Kind::Dr, NOT_ENABLED)
        }
        (At::Secondary, RecoverNoToken | ReindexNoToken) if dr => Want::Forbidden(NEEDS_OP_TOKEN),
        (at, RecoverNoToken | Recover | ReindexNoToken | Reindex) => Want::Ok(mode_of(at)),

        // disabled
        (At::Disabled, EnablePrimary) => Want::Ok(Mode::Primary),
        (At::Disabled, GeneratePublicKey) => Want::Ok(Mode::Disabled),
        (At::Disabled, EnableSecondary) => Want::Ok(Mode::Secondary),
        (At::Disabled, _) => Want::WrongMode(kind, DISABLED),

        // bootstrapping: only disable (no operation token exists yet) and recover/reindex
        (At::Bootstrapping, DisableSecondaryNoToken | DisableSecondary) => Want::Ok(Mode::Disabled),
        // Promote meets the safety check (model.md §3), before any authorisation; force cannot
        // promote a cluster the primary has not accepted yet.
        (At::Bootstrapping, PromoteNoAuth) => Want::Unavailable(PROMOTE_BOOTSTRAPPING),
        (At::Bootstrapping, PromoteForce) => Want::WrongMode(kind, PROMOTE_FORCE_BOOTSTRAPPING),
        (At::Bootstrapping, _) => Want::WrongMode(kind, BOOTSTRAPPING),

        // primary
        (At::Primary, EnablePrimary) => Want::WrongMode(kind, ALREADY_PRIMARY),
        (At::Primary, Demote) => Want::Ok(Mode::Secondary),
        (At::Primary, DisablePrimary) => Want::Ok(Mode::Disabled),
        (At::Primary, SecondaryToken | RevokeSecondary) => Want::Ok(Mode::Primary),
        (At::Primary, SetPathsFilter | DynamicFilterPrimary) => Want::Ok(Mode::Primary),
        (At::Primary, ReadPathsFilter) => {
            Want::NotFound(&["no paths filter is set for secondary \"S1\"", "create one"])
        }
        (At::Primary, DeletePathsFilter) => Want::NotFound(&[
            "no paths filter is set for secondary \"S1\"",
            "nothing to delete",
        ]),
        // Enabling it as a secondary needs replication disabled first (demoting would not help).
        (At::Primary, EnableSecondary) => Want::WrongMode(kind, ALREADY_PRIMARY),
        (At::Primary, _) => Want::WrongMode(kind, IS_PRIMARY),

        // secondary
        (At::Secondary, EnablePrimary | Demote | DisablePrimary | SecondaryToken) => {
            Want::WrongMode(kind, IS_SECONDARY)
        }
        (At::Secondary, RevokeSecondary) => Want::WrongMode(kind, IS_SECONDARY),
        (At::Secondary, SetPathsFilter | ReadPathsFilter | DeletePathsFilter) => {
            Want::WrongMode(kind, IS_SECONDARY)
        }
        (At::Secondary, DynamicFilterPrimary) => Want::WrongMode(kind, IS_SECONDARY),
        (At::Secondary, EnableSecondary) => Want::WrongMode(kind, ALREADY_SECONDARY),
        (At::Secondary, PromoteNoAuth) if dr => Want::Forbidden(PROMOTE_NEEDS_AUTH),
        (At::Secondary, DisableSecondaryNoToken | UpdatePrimaryNoToken) if dr => {
            Want::Forbidden(NEEDS_OP_TOKEN)
        }
        (At::Secondary, PromoteNoAuth | PromoteForce) => Want::Ok(Mode::Primary),
        (At::Secondary, DisableSecondaryNoToken | DisableSecondary) => Want::Ok(Mode::Disabled),
        (At::Secondary, _) => Want::Ok(Mode::Secondary),
    }
}

fn mode_of(at: At) -> Mode {
    match at {
        At::Disabled | At::DrSecondary => Mode::Disabled,
        At::Bootstrapping => Mode::Bootstrapping,
        At::Primary => Mode::Primary,
        At::Secondary => Mode::Secondary,
    }
}

/// `A` is a primary of `kind` (and, for `DrSecondary`, a DR primary too); `X` holds a key of its own
/// and stands at `at`.
fn setup(kind: Kind, at: At, seed: u64) -> Net {
    let mut n = Net::new(&["A", "X"], seed);
    n.write("X", "secret/x", "mine").unwrap();
    n.enable_primary("A", kind);
    match at {
        At::Disabled => {}
        At::Bootstrapping => {
            let t = n.token("A", kind, "X");
            n.cut.insert("A".into());
            n.enable_secondary("X", kind, &t).unwrap();
            n.settle();
        }
        At::Primary => {
            n.enable_primary("X", kind);
            n.token("X", kind, "S1");
        }
        At::Secondary => {
            n.join("A", "X", kind);
            n.advance(1_000);
            assert!(n.clusters["X"].is_connected(kind));
        }
        At::DrSecondary => {
            assert_eq!(kind, Kind::Performance);
            n.join("A", "X", Kind::Dr);
            n.advance(1_000);
        }
    }
    assert_eq!(n.clusters["X"].mode(kind), mode_of(at), "{kind} {at:?}");
    n
}

/// A DR operation token on X if X is a DR secondary, otherwise one X never issued.
fn op_token(n: &mut Net) -> String {
    if n.clusters["X"].mode(Kind::Dr) == Mode::Secondary {
        n.operation_token("X")
    } else {
        "dr.bogus-token-000000000000".into()
    }
}

fn build(n: &mut Net, kind: Kind, op: Op) -> Request {
    use Op::*;
    let addr_a = n.clusters["A"].config().cluster_addr.clone();
    match op {
        EnablePrimary => Request::EnablePrimary {
            kind,
            primary_cluster_addr: None,
        },
        Demote => Request::Demote { kind },
        DisablePrimary => Request::DisablePrimary { kind },
        SecondaryToken => Request::SecondaryToken {
            kind,
            id: "new-id".into(),
            ttl: None,
            secondary_public_key: None,
        },
        RevokeSecondary => Request::RevokeSecondary {
            kind,
            id: "S1".into(),
        },
        GeneratePublicKey => Request::GeneratePublicKey { kind },
        EnableSecondary => Request::EnableSecondary {
            kind,
            token: n.token("A", kind, "X-new"),
            primary_api_addr: None,
        },
        PromoteNoAuth | PromoteForce => Request::Promote {
            kind,
            primary_cluster_addr: None,
            force: op == PromoteForce,
            auth: if op == PromoteForce && kind == Kind::Dr {
                PromoteAuth::OperationToken(op_token(n))
            } else {
                PromoteAuth::None
            },
        },
        DisableSecondaryNoToken => Request::DisableSecondary {
            kind,
            dr_operation_token: None,
        },
        DisableSecondary => Request::DisableSecondary {
            kind,
            dr_operation_token: Some(op_token(n)),
        },
        UpdatePrimaryNoToken | UpdatePrimaryToken => Request::UpdatePrimary {
            kind,
            target: UpdateTarget::Token(n.token("A", kind, "X-upd")),
            primary_api_addr: None,
            dr_operation_token: (op == UpdatePrimaryToken).then(|| op_token(n)),
        },
        UpdatePrimaryEmpty => Request::UpdatePrimary {
            kind,
            target: UpdateTarget::Token(String::new()),
            primary_api_addr: None,
            dr_operation_token: Some(op_token(n)),
        },
        UpdatePrimaryAddrs => Request::UpdatePrimary {
            kind,
            target: UpdateTarget::Addrs(vec![addr_a]),
            primary_api_addr: None,
            dr_operation_token: Some(op_token(n)),
        },
        RecoverNoToken => Request::Recover {
            dr_operation_token: None,
        },
        Recover => Request::Recover {
            dr_operation_token: Some(op_token(n)),
        },
        ReindexNoToken => Request::Reindex {
            dr_operation_token: None,
        },
        Reindex => Request::Reindex {
            dr_operation_token: Some(op_token(n)),
        },
        SetPathsFilter => Request::SetPathsFilter {
            id: "S1".into(),
            filter: PathsFilter {
                mode: FilterMode::Deny,
                paths: vec!["secret/".into()],
            },
        },
        ReadPathsFilter => Request::ReadPathsFilter { id: "S1".into() },
        DeletePathsFilter => Request::DeletePathsFilter { id: "S1".into() },
        DynamicFilterPrimary => Request::ReadDynamicFilter {
            side: Side::Primary,
            id: "S1".into(),
        },
        DynamicFilterSecondary => Request::ReadDynamicFilter {
            side: Side::Secondary,
            id: "X".into(),
        },
        StartAttempt => Request::StartOperationTokenAttempt,
        ReadAttempt => Request::ReadOperationTokenAttempt,
        CancelAttempt => Request::CancelOperationTokenAttempt,
        UpdateAttempt => Request::UpdateOperationTokenAttempt {
            key: n.clusters["X"].unseal_keys().shares[0].clone(),
            nonce: "0".repeat(32),
        },
        DeleteOperationToken => Request::DeleteOperationToken {
            dr_operation_token: "dr.bogus-token-000000000000".into(),
        },
    }
}

fn assert_mentions(err: &Error, parts: &[&str], kind: Kind, dr_mode: Mode, ctx: &str) {
    let text = err.to_string();
    for p in parts {
        let p = p
            .replace("{k}", kind.label())
            .replace("{dr}", dr_mode.as_str());
        assert!(text.contains(&p), "{ctx}: {text:?} should mention {p:?}");
    }
}

fn run_table(kind: Kind, ats: &[At], ops: &[Op]) {
    let mut checked = 0;
    for (i, &at) in ats.iter().enumerate() {
        for (j, &op) in ops.iter().enumerate() {
            let mut n = setup(kind, at, 100 * i as u64 + j as u64);
            let dr_mode = n.clusters["X"].mode(Kind::Dr);
            let request = build(&mut n, kind, op);
            let ctx = format!("{kind} {at:?} {op:?}");
            match expect(kind, at, op) {
                Want::Ok(mode) => {
                    let r = n.req("X", request);
                    assert!(r.is_ok(), "{ctx}: should be accepted, got {r:?}");
                    n.settle();
                    assert_eq!(n.clusters["X"].mode(kind), mode, "{ctx}");
                }
                want => {
                    let err = n.refused("X", request);
                    let (class, parts) = match want {
                        Want::WrongMode(k, parts) => {
                            assert!(
                                matches!(&err, Error::WrongMode { kind: ek, .. } if *ek == k),
                                "{ctx}: {err:?}"
                            );
                            (ErrorClass::BadRequest, parts)
                        }
                        Want::Invalid(param, parts) => {
                            assert!(
                                matches!(&err, Error::InvalidInput { param: p, .. } if p.as_deref() == param),
                                "{ctx}: {err:?}"
                            );
                            (ErrorClass::BadRequest, parts)
                        }
                        Want::Forbidden(parts) => {
                            assert!(matches!(err, Error::Forbidden(_)), "{ctx}: {err:?}");
                            (ErrorClass::Forbidden, parts)
                        }
                        Want::NotFound(parts) => {
                            assert!(matches!(err, Error::NotFound(_)), "{ctx}: {err:?}");
                            (ErrorClass::NotFound, parts)
                        }
                        Want::Unavailable(parts) => {
                            assert!(matches!(err, Error::Unavailable(_)), "{ctx}: {err:?}");
                            (ErrorClass::Unavailable, parts)
                        }
                        Want::Ok(_) => unreachable!(),
                    };
                    assert_eq!(err.class(), class, "{ctx}");
                    assert_mentions(&err, parts, kind, dr_mode, &ctx);
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ats.len() * ops.len());
}

#[test]
fn every_dr_operation_in_every_mode() {
    let ats = [At::Disabled, At::Bootstrapping, At::Primary, At::Secondary];
    let ops: Vec<Op> = COMMON_OPS.iter().chain(DR_OPS.iter()).copied().collect();
    run_table(Kind::Dr, &ats, &ops);
}

#[test]
fn every_performance_operation_in_every_mode() {
    let ats = [
        At::Disabled,
        At::Bootstrapping,
        At::Primary,
        At::Secondary,
        At::DrSecondary,
    ];
    let ops: Vec<Op> = COMMON_OPS
        .iter()
        .chain(PERFORMANCE_OPS.iter())
        .copied()
        .collect();
    run_table(Kind::Performance, &ats, &ops);
}

#[test]
fn bootstrapping_keeps_local_data_and_disable_aborts_without_wipe() {
    for kind in Kind::ALL {
        let mut n = setup(kind, At::Bootstrapping, 7);
        let since = n.events.len();
        assert_eq!(n.get("X", "secret/x").as_deref(), Some("mine"));
        n.req(
            "X",
            Request::DisableSecondary {
                kind,
                dr_operation_token: None,
            },
        )
        .unwrap();
        n.cut.clear();
        n.advance(20_000);
        assert_eq!(n.clusters["X"].mode(kind), Mode::Disabled, "{kind}");
        assert_eq!(n.get("X", "secret/x").as_deref(), Some("mine"), "{kind}");
        assert!(!n.wiped_since("X", since), "{kind}");
    }
}

// ----- primary commands -----

#[test]
fn demote_keeps_set_and_data_and_leaves_an_idle_secondary() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "B"], 11);
        n.join("A", "B", kind);
        n.write("A", "secret/k", "v").unwrap();
        let id = n.cluster_id("A", kind).unwrap();
        let data = n.clusters["A"].storage().clone();
        let since = n.events.len();
        let r = n.req("A", Request::Demote { kind }).unwrap();
        assert!(matches!(r, Reply::Warnings(w) if w[0].contains("demoted")));
        n.advance(20_000);
        let a = &n.clusters["A"];
        assert_eq!(a.mode(kind), Mode::Secondary, "{kind}");
        assert_eq!(a.secondary_state(kind), Some(SecondaryState::Idle));
        assert_eq!(
            a.inspect(kind).cluster_id(),
            Some(id),
            "demote keeps the set"
        );
        assert_eq!(a.storage(), &data, "demote keeps the data");
        let st = a.status(kind, n.now);
        assert_eq!(st.known_primary_cluster_addrs, Some(vec![]));
        assert_eq!(st.connection_state.as_deref(), Some("idle"));
        assert!(!n.wiped_since("A", since));
        // Its former secondary lost its primary.
        assert!(!n.clusters["B"].is_connected(kind), "{kind}");
        // Client writes: a DR secondary serves none, a performance secondary without primary is read-only.
        let err = n.refused_client(
            "A",
            ClientOp::Write {
                path: "secret/k".into(),
                value: "w".into(),
            },
        );
        match kind {
            Kind::Dr => assert!(err.to_string().contains("DR secondary"), "{err}"),
            Kind::Performance => {
                assert_eq!(err.class(), ErrorClass::Unavailable);
                assert!(err.to_string().contains("readonly"), "{err}");
                assert!(err.to_string().contains("update-primary"), "{err}");
            }
        }
    }
}

#[test]
fn disable_primary_forgets_the_set_keeps_data_and_cuts_off_secondaries() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "B"], 12);
        n.join("A", "B", kind);
        n.write("A", "secret/k", "v").unwrap();
        let data = n.clusters["A"].storage().clone();
        n.req("A", Request::DisablePrimary { kind }).unwrap();
        assert_eq!(n.cluster_id("A", kind), None, "{kind}");
        assert_eq!(n.clusters["A"].status(kind, n.now).mode, "disabled");
        assert_eq!(n.clusters["A"].status(kind, n.now).cluster_id, None);
        assert_eq!(n.clusters["A"].storage(), &data, "disable keeps the data");
        n.write("A", "secret/k", "after").unwrap();
        n.advance(30_000);
        assert!(!n.clusters["B"].is_connected(kind), "{kind}");
        assert_eq!(n.get("B", "secret/k").as_deref(), Some("v"), "{kind}");
    }
}

#[test]
fn secondary_token_reply_and_bad_parameters() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A"], 13);
        n.enable_primary("A", kind);
        let t = n.issue("A", kind, "B", None, None).unwrap();
        assert!(t.wrapped, "no public key: response-wrapped");
        assert_eq!(t.ttl, Duration::from_secs(30 * 60), "default ttl is 30m");
        assert_eq!(t.creation_time, n.now);
        assert!(t.token.starts_with("v1."));
        assert!(!t.accessor.is_empty());
        let u = n
            .issue(
                "A",
                kind,
                "C",
                Some(Duration::parse("1h30m").unwrap()),
                None,
            )
            .unwrap();
        assert_eq!(u.ttl, Duration::from_secs(5400));
        assert_ne!(t.token, u.token);
        assert_ne!(t.accessor, u.accessor);
        let err = n.refused(
            "A",
            Request::SecondaryToken {
                kind,
                id: "  ".into(),
                ttl: None,
                secondary_public_key: None,
            },
        );
        assert!(
            matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "id"),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .contains("missing required parameter \"id\""));
    }
}

#[test]
fn revoke_secondary_needs_a_known_id() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A"], 14);
        n.enable_primary("A", kind);
        let err = n.refused(
            "A",
            Request::RevokeSecondary {
                kind,
                id: "nobody".into(),
            },
        );
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        assert!(err.to_string().contains("\"nobody\""), "{err}");
        let err = n.refused(
            "A",
            Request::RevokeSecondary {
                kind,
                id: "".into(),
            },
        );
        assert!(
            matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "id"),
            "{err:?}"
        );
        n.token("A", kind, "B");
        assert_eq!(
            n.req(
                "A",
                Request::RevokeSecondary {
                    kind,
                    id: "B".into()
                }
            ),
            Ok(Reply::Done)
        );
        // Revoking twice is harmless.
        assert_eq!(
            n.req(
                "A",
                Request::RevokeSecondary {
                    kind,
                    id: "B".into()
                }
            ),
            Ok(Reply::Done)
        );
    }
}

#[test]
fn generate_public_key_returns_a_new_key_each_time() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["X"], 15);
        let Ok(Reply::PublicKey(k1)) = n.req("X", Request::GeneratePublicKey { kind }) else {
            panic!()
        };
        let Ok(Reply::PublicKey(k2)) = n.req("X", Request::GeneratePublicKey { kind }) else {
            panic!()
        };
        assert_eq!(k1.len(), 64);
        assert_ne!(k1, k2);
        assert_eq!(n.clusters["X"].mode(kind), Mode::Disabled);
    }
}

// ----- promote -----

fn promote(kind: Kind, force: bool, auth: PromoteAuth) -> Request {
    Request::Promote {
        kind,
        primary_cluster_addr: None,
        force,
        auth,
    }
}

fn progress(r: Result<Reply, Error>) -> (usize, usize, bool) {
    match r {
        Ok(Reply::PromoteProgress(p)) => (p.progress, p.required, p.complete),
        other => panic!("expected promote progress, got {other:?}"),
    }
}

#[test]
fn dr_promote_takes_key_shares_one_at_a_time() {
    let mut n = Net::new(&["A", "X"], 21);
    let own = n.clusters["X"].unseal_keys().clone();
    n.join("A", "X", Kind::Dr);
    n.write("A", "secret/k", "v").unwrap();
    let keys = n.clusters["X"].unseal_keys().clone();
    assert_eq!(
        &keys,
        n.clusters["A"].unseal_keys(),
        "activation gives the primary's shares"
    );
    assert_eq!(keys.threshold, 3);
    let key = |i: usize| promote(Kind::Dr, false, PromoteAuth::Key(keys.shares[i].clone()));

    assert_eq!(progress(n.req("X", key(0))), (1, 3, false));
    assert_eq!(n.clusters["X"].mode(Kind::Dr), Mode::Secondary);
    // The same share again does not count twice.
    assert_eq!(progress(n.req("X", key(0))), (1, 3, false));
    // A wrong share is refused and changes nothing; so is X's own share from before activation.
    for wrong in ["not-a-share".to_string(), own.shares[0].clone()] {
        let err = n.refused("X", promote(Kind::Dr, false, PromoteAuth::Key(wrong)));
        assert!(
            matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "key"),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("primary's unseal key shares"),
            "{err}"
        );
    }
    assert_eq!(progress(n.req("X", key(1))), (2, 3, false));
    // Reset discards progress.
    assert_eq!(
        progress(n.req("X", promote(Kind::Dr, false, PromoteAuth::Reset))),
        (0, 3, false)
    );
    assert_eq!(progress(n.req("X", key(1))), (1, 3, false));
    assert_eq!(progress(n.req("X", key(2))), (2, 3, false));
    assert_eq!(n.clusters["X"].mode(Kind::Dr), Mode::Secondary);
    assert_eq!(progress(n.req("X", key(4))), (3, 3, true));
    assert_eq!(n.clusters["X"].mode(Kind::Dr), Mode::Primary);
    assert_eq!(n.cluster_id("X", Kind::Dr), n.cluster_id("A", Kind::Dr));
    assert_eq!(
        n.get("X", "secret/k").as_deref(),
        Some("v"),
        "promote keeps data"
    );
}

#[test]
fn dr_promote_refuses_missing_or_unknown_authorisation() {
    let mut n = Net::new(&["A", "X"], 22);
    n.join("A", "X", Kind::Dr);
    let err = n.refused("X", promote(Kind::Dr, true, PromoteAuth::None));
    assert_eq!(err.class(), ErrorClass::Forbidden);
    assert!(err.to_string().contains("dr_operation_token"), "{err}");
    let err = n.refused(
        "X",
        promote(
            Kind::Dr,
            true,
            PromoteAuth::OperationToken("dr.nope".into()),
        ),
    );
    assert_eq!(err.class(), ErrorClass::Forbidden);
    let tok = n.operation_token("X");
    n.req(
        "X",
        Request::DeleteOperationToken {
            dr_operation_token: tok.clone(),
        },
    )
    .unwrap();
    let err = n.refused(
        "X",
        promote(Kind::Dr, true, PromoteAuth::OperationToken(tok)),
    );
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    let tok = n.operation_token("X");
    let r = n.req(
        "X",
        promote(Kind::Dr, false, PromoteAuth::OperationToken(tok.clone())),
    );
    assert_eq!(progress(r), (3, 3, true));
    assert_eq!(n.clusters["X"].mode(Kind::Dr), Mode::Primary);
    assert!(
        !n.clusters["X"].operation_token_valid(&tok),
        "promotion ends the DR-secondary token"
    );
}

#[test]
fn performance_promote_needs_no_authorisation_and_keeps_set_and_data() {
    let mut n = Net::new(&["A", "X"], 23);
    n.join("A", "X", Kind::Performance);
    n.write("A", "secret/k", "v").unwrap();
    let since = n.events.len();
    let r = n
        .req("X", promote(Kind::Performance, false, PromoteAuth::None))
        .unwrap();
    assert!(matches!(r, Reply::Warnings(w) if w[0].contains("promoted")));
    assert_eq!(n.clusters["X"].mode(Kind::Performance), Mode::Primary);
    assert_eq!(
        n.cluster_id("X", Kind::Performance),
        n.cluster_id("A", Kind::Performance)
    );
    assert_eq!(n.get("X", "secret/k").as_deref(), Some("v"));
    assert!(!n.wiped_since("X", since));
}

/// Secondary that the primary accepted but that has not synced yet (the primary went away at once).
fn accepted_not_synced(kind: Kind, seed: u64) -> Net {
    let mut n = Net::new(&["A", "X"], seed);
    n.enable_primary("A", kind);
    n.write("A", "secret/k", "v").unwrap();
    let t = n.token("A", kind, "X");
    n.enable_secondary("X", kind, &t).unwrap();
    while n.clusters["X"].mode(kind) != Mode::Secondary {
        assert!(n.deliver_next(), "activation never answered");
    }
    n.cut.insert("A".into());
    n.settle();
    n
}

#[test]
fn promote_without_force_waits_until_caught_up() {
    for kind in Kind::ALL {
        let mut n = accepted_not_synced(kind, 24);
        assert_eq!(n.get("X", "secret/k"), None, "not synced yet");
        let auth = match kind {
            Kind::Dr => PromoteAuth::OperationToken(n.operation_token("X")),
            Kind::Performance => PromoteAuth::None,
        };
        let err = n.refused("X", promote(kind, false, auth.clone()));
        assert!(matches!(err, Error::Unavailable(_)), "{kind}: {err:?}");
        assert_eq!(err.class(), ErrorClass::Unavailable);
        assert!(err.to_string().contains("still catching up"), "{err}");
        assert!(err.to_string().contains("\"force\""), "{err}");
        n.req("X", promote(kind, true, auth)).unwrap();
        assert_eq!(n.clusters["X"].mode(kind), Mode::Primary, "{kind}");
    }
}

// ----- disable-secondary -----

#[test]
fn disable_secondary_forgets_the_set_and_keeps_data() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "X"], 31);
        n.join("A", "X", kind);
        n.write("A", "secret/k", "v").unwrap();
        let since = n.events.len();
        let token = if kind == Kind::Dr {
            let err = n.refused(
                "X",
                Request::DisableSecondary {
                    kind,
                    dr_operation_token: Some("dr.wrong".into()),
                },
            );
            assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
            assert!(err.to_string().contains("not valid"), "{err}");
            Some(n.operation_token("X"))
        } else {
            None
        };
        let data = n.clusters["X"].storage().clone();
        n.req(
            "X",
            Request::DisableSecondary {
                kind,
                dr_operation_token: token,
            },
        )
        .unwrap();
        assert_eq!(n.clusters["X"].mode(kind), Mode::Disabled, "{kind}");
        assert_eq!(n.cluster_id("X", kind), None);
        assert_eq!(n.clusters["X"].storage(), &data);
        assert!(!n.wiped_since("X", since));
        // Now an independent cluster: it serves clients.
        n.write("X", "secret/own", "mine").unwrap();
        assert_eq!(n.get("X", "secret/own").as_deref(), Some("mine"));
        n.write("A", "secret/k", "later").unwrap();
        n.advance(10_000);
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("v"), "{kind}");
    }
}

// ----- update-primary -----

/// The DR operation token `update-primary` needs on `name` (none for performance).
fn dr_auth(n: &mut Net, name: &str, kind: Kind) -> Option<String> {
    (kind == Kind::Dr).then(|| n.operation_token(name))
}

fn update_primary(kind: Kind, target: UpdateTarget, dr_operation_token: Option<String>) -> Request {
    Request::UpdatePrimary {
        kind,
        target,
        primary_api_addr: None,
        dr_operation_token,
    }
}

#[test]
fn update_primary_with_a_token_of_the_new_primary_never_wipes() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "X", "Y"], 41);
        n.join("A", "X", kind);
        n.join("A", "Y", kind);
        n.write("A", "secret/k", "v1").unwrap();
        n.advance(1_000);
        let set = n.cluster_id("A", kind);
        let since = n.events.len();
        // Failover: A demoted, Y promoted.
        n.req("A", Request::Demote { kind }).unwrap();
        let auth = match kind {
            Kind::Dr => PromoteAuth::OperationToken(n.operation_token("Y")),
            Kind::Performance => PromoteAuth::None,
        };
        n.req("Y", promote(kind, false, auth)).unwrap();
        n.write("Y", "secret/k", "v2").unwrap();
        // X and the old primary follow Y with tokens from Y.
        for name in ["X", "A"] {
            let t = n.token("Y", kind, name);
            let op = dr_auth(&mut n, name, kind);
            assert_eq!(
                n.req(name, update_primary(kind, UpdateTarget::Token(t), op)),
                Ok(Reply::Done)
            );
        }
        n.advance(5_000);
        for name in ["X", "A"] {
            let c = &n.clusters[name];
            assert_eq!(c.mode(kind), Mode::Secondary, "{kind} {name}");
            assert!(c.is_connected(kind), "{kind} {name}");
            assert_eq!(
                c.inspect(kind).cluster_id(),
                set,
                "update-primary keeps the set"
            );
            assert_eq!(
                n.get(name, "secret/k").as_deref(),
                Some("v2"),
                "{kind} {name}"
            );
            assert_eq!(n.root(name, kind), n.root("Y", kind));
            assert!(!n.wiped_since(name, since), "update-primary never wipes");
            assert_eq!(c.status(kind, n.now).secondary_id.as_deref(), Some(name));
        }
        assert!(n.events_of("A", since).iter().any(|e| matches!(
            e,
            Event::Activation {
                update: true,
                result: Ok(()),
                ..
            }
        )));
    }
}

#[test]
fn update_primary_empty_token_forgets_the_primary_and_addrs_repoint() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "X"], 42);
        n.join("A", "X", kind);
        n.write("A", "secret/k", "v1").unwrap();
        let set = n.cluster_id("X", kind);
        let op = dr_auth(&mut n, "X", kind);
        n.req(
            "X",
            update_primary(kind, UpdateTarget::Token("  ".into()), op.clone()),
        )
        .unwrap();
        n.write("A", "secret/k", "v2").unwrap();
        n.advance(20_000);
        let st = n.clusters["X"].status(kind, n.now);
        assert_eq!(n.clusters["X"].mode(kind), Mode::Secondary, "{kind}");
        assert_eq!(n.state("X", kind), Some(SecondaryState::Idle));
        assert_eq!(st.known_primary_cluster_addrs, Some(vec![]));
        assert_eq!(st.connection_state.as_deref(), Some("idle"));
        assert_eq!(n.cluster_id("X", kind), set);
        assert_eq!(
            n.get("X", "secret/k").as_deref(),
            Some("v1"),
            "no primary: no data"
        );
        // Addresses of the same primary bring it back with the identity it has.
        let addr = n.clusters["A"].config().cluster_addr.clone();
        n.req(
            "X",
            update_primary(kind, UpdateTarget::Addrs(vec![addr.clone()]), op),
        )
        .unwrap();
        n.advance(5_000);
        assert!(n.clusters["X"].is_connected(kind), "{kind}");
        assert_eq!(
            n.clusters["X"]
                .status(kind, n.now)
                .known_primary_cluster_addrs,
            Some(vec![addr])
        );
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("v2"), "{kind}");
    }
}

#[test]
fn update_primary_addrs_refused_on_a_newly_demoted_secondary_and_when_empty() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "B"], 43);
        n.join("A", "B", kind);
        n.req("A", Request::Demote { kind }).unwrap();
        let op = dr_auth(&mut n, "A", kind);
        let b = n.clusters["B"].config().cluster_addr.clone();
        let err = n.refused(
            "A",
            update_primary(kind, UpdateTarget::Addrs(vec![b]), op.clone()),
        );
        assert!(
            matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "update_primary_addrs"),
            "{err:?}"
        );
        assert!(err.to_string().contains("newly demoted"), "{err}");
        assert!(err.to_string().contains("\"token\""), "{err}");
        let err = n.refused(
            "A",
            update_primary(kind, UpdateTarget::Addrs(vec![" ".into()]), op),
        );
        assert!(err.to_string().contains("at least one"), "{err}");
    }
}

#[test]
fn update_primary_with_a_token_of_another_set_is_refused() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "X", "C"], 44);
        n.join("A", "X", kind);
        n.enable_primary("C", kind);
        let t = n.token("C", kind, "X");
        let op = dr_auth(&mut n, "X", kind);
        let err = n.refused("X", update_primary(kind, UpdateTarget::Token(t), op));
        assert_eq!(err, Error::Activation(ActivationRefusal::WrongSet));
        assert!(err
            .to_string()
            .contains("disable replication and enable it again"));
    }
}

#[test]
fn dr_update_primary_needs_an_operation_token() {
    let mut n = Net::new(&["A", "X"], 45);
    n.join("A", "X", Kind::Dr);
    let t = n.token("A", Kind::Dr, "X2");
    for op in [None, Some("dr.unknown".to_string())] {
        let err = n.refused(
            "X",
            update_primary(Kind::Dr, UpdateTarget::Token(t.clone()), op),
        );
        assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
        assert!(err.to_string().contains("generate"), "{err}");
    }
}

// ----- recover and reindex -----

#[test]
fn recover_restarts_a_stalled_connection_at_once() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "X"], 51);
        n.join("A", "X", kind);
        n.cut.insert("A".into());
        n.advance(30_000);
        assert!(!n.clusters["X"].is_connected(kind), "{kind}");
        n.cut.clear();
        n.write("A", "secret/k", "v").unwrap();
        let op = if kind == Kind::Dr {
            let err = n.refused(
                "X",
                Request::Recover {
                    dr_operation_token: None,
                },
            );
            assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
            Some(n.operation_token("X"))
        } else {
            None
        };
        let r = n
            .req(
                "X",
                Request::Recover {
                    dr_operation_token: op,
                },
            )
            .unwrap();
        assert!(matches!(r, Reply::Warnings(_)));
        n.settle(); // no time passes: recover itself reconnects
        assert!(n.clusters["X"].is_connected(kind), "{kind}");
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("v"), "{kind}");
    }
}

#[test]
fn reindex_repairs_a_corrupted_merkle_index() {
    for kind in Kind::ALL {
        let mut n = Net::new(&["A", "X"], 52);
        n.join("A", "X", kind);
        n.step("X", Input::CorruptMerkle).unwrap();
        assert_eq!(
            n.clusters["X"].status(kind, n.now).corrupted_merkle_tree,
            Some(true)
        );
        let op = if kind == Kind::Dr {
            let err = n.refused(
                "X",
                Request::Reindex {
                    dr_operation_token: None,
                },
            );
            assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
            Some(n.operation_token("X"))
        } else {
            None
        };
        n.req(
            "X",
            Request::Reindex {
                dr_operation_token: op,
            },
        )
        .unwrap();
        let st = n.clusters["X"].status(kind, n.now);
        assert_eq!(st.corrupted_merkle_tree, Some(false), "{kind}");
        assert_eq!(
            st.last_reindex_epoch,
            Some((n.now.as_millis() / 1000).to_string())
        );
        assert_eq!(n.root("X", kind), n.root("A", kind), "{kind}");
    }
}

// ----- paths filters and dynamic filters -----

fn deny(paths: &[&str]) -> PathsFilter {
    PathsFilter {
        mode: FilterMode::Deny,
        paths: paths.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn paths_filter_set_read_delete() {
    let mut n = Net::new(&["A"], 61);
    n.enable_primary("A", Kind::Performance);
    n.token("A", Kind::Performance, "S1");
    let read = |n: &mut Net| n.req("A", Request::ReadPathsFilter { id: "S1".into() });

    let err = n.refused(
        "A",
        Request::SetPathsFilter {
            id: "nobody".into(),
            filter: deny(&["secret/"]),
        },
    );
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("secondary-token first"), "{err}");
    for bad in ["secret", "/secret/", "/"] {
        let err = n.refused(
            "A",
            Request::SetPathsFilter {
                id: "S1".into(),
                filter: deny(&[bad]),
            },
        );
        assert!(
            matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "paths"),
            "{bad}: {err:?}"
        );
    }
    n.req(
        "A",
        Request::SetPathsFilter {
            id: "S1".into(),
            filter: deny(&["secret/", "ns1/", "secret/"]),
        },
    )
    .unwrap();
    assert_eq!(read(&mut n), Ok(Reply::Filter(deny(&["ns1/", "secret/"]))));
    let Ok(Reply::DynamicFilter(DynamicFilter { mounts, namespaces })) = n.req(
        "A",
        Request::ReadDynamicFilter {
            side: Side::Primary,
            id: "S1".into(),
        },
    ) else {
        panic!()
    };
    assert_eq!(mounts, vec!["secret/".to_string()]);
    assert!(namespaces.is_empty());
    // An allow filter excludes every shared mount it does not name, with the namespaces of the
    // nested ones; a local mount is never shipped, so it is never listed as filtered.
    for path in ["ns1/kv/", "team/x/"] {
        let mount = ClientOp::Mount {
            path: path.into(),
            local: false,
        };
        n.step("A", Input::Client(mount)).unwrap();
    }
    n.req(
        "A",
        Request::SetPathsFilter {
            id: "S1".into(),
            filter: PathsFilter {
                mode: FilterMode::Allow,
                paths: vec!["ns1/".into()],
            },
        },
    )
    .unwrap();
    let dynamic = n.req(
        "A",
        Request::ReadDynamicFilter {
            side: Side::Primary,
            id: "S1".into(),
        },
    );
    assert_eq!(
        dynamic,
        Ok(Reply::DynamicFilter(DynamicFilter {
            mounts: vec!["secret/".into(), "team/x/".into()],
            namespaces: vec!["team/".into()],
        }))
    );
    assert!(
        n.clusters["A"].storage().mounts()["local/"],
        "local/ is a local mount"
    );
    let err = n.refused(
        "A",
        Request::ReadDynamicFilter {
            side: Side::Primary,
            id: "nobody".into(),
        },
    );
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(
        n.req("A", Request::DeletePathsFilter { id: "S1".into() }),
        Ok(Reply::Done)
    );
    assert!(matches!(read(&mut n), Err(Error::NotFound(_))));
    let err = n.refused("A", Request::DeletePathsFilter { id: "S1".into() });
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

fn filtered_pair(seed: u64) -> Net {
    let mut n = Net::new(&["A", "X"], seed);
    n.join("A", "X", Kind::Performance);
    n.req(
        "A",
        Request::SetPathsFilter {
            id: "X".into(),
            filter: deny(&["secret/"]),
        },
    )
    .unwrap();
    n.advance(6_000);
    n
}

fn read_dynamic(n: &mut Net, name: &str, side: Side, id: &str) -> Result<Reply, Error> {
    n.req(
        name,
        Request::ReadDynamicFilter {
            side,
            id: id.into(),
        },
    )
}

#[test]
fn dynamic_filter_on_the_secondary_names_its_own_id() {
    let mut n = filtered_pair(62);
    assert!(matches!(
        read_dynamic(&mut n, "X", Side::Secondary, "X"),
        Ok(Reply::DynamicFilter { .. })
    ));
    let err = n.refused(
        "X",
        Request::ReadDynamicFilter {
            side: Side::Secondary,
            id: "other".into(),
        },
    );
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(err.to_string().contains("\"X\""), "names its own id: {err}");
}

#[test]
fn dynamic_filter_on_the_secondary_matches_the_primary() {
    let mut n = filtered_pair(63);
    let on_primary = read_dynamic(&mut n, "A", Side::Primary, "X").unwrap();
    assert_eq!(
        on_primary,
        Reply::DynamicFilter(DynamicFilter {
            mounts: vec!["secret/".into()],
            namespaces: vec![]
        })
    );
    assert_eq!(
        read_dynamic(&mut n, "X", Side::Secondary, "X").unwrap(),
        on_primary,
        "the seed shows the same filter from both sides"
    );
}

// ----- DR operation tokens -----

#[test]
fn operation_token_attempt_otp_length_matches_the_otp() {
    let mut n = Net::new(&["A", "X"], 72);
    n.join("A", "X", Kind::Dr);
    let started = attempt(n.req("X", Request::StartOperationTokenAttempt));
    assert_eq!(started.otp.len(), started.otp_length);
}

fn attempt(r: Result<Reply, Error>) -> AttemptStatus {
    match r {
        Ok(Reply::Attempt(a)) => a,
        other => panic!("expected an attempt status, got {other:?}"),
    }
}

#[test]
fn operation_token_attempt_start_read_cancel_update_delete() {
    let mut n = Net::new(&["A", "X"], 71);
    let own = n.clusters["X"].unseal_keys().clone();
    n.join("A", "X", Kind::Dr);
    let keys = n.clusters["X"].unseal_keys().clone();
    // A token from an earlier attempt stays valid through everything below that is refused.
    let earlier = n.operation_token("X");

    let a = attempt(n.req("X", Request::ReadOperationTokenAttempt));
    assert!(!a.started && a.nonce.is_empty() && a.progress == 0);
    let started = attempt(n.req("X", Request::StartOperationTokenAttempt));
    assert!(started.started);
    assert_eq!((started.progress, started.required), (0, 3));
    assert!(!started.nonce.is_empty());
    // One attempt at a time.
    let err = n.refused("X", Request::StartOperationTokenAttempt);
    assert!(err.to_string().contains("already in progress"), "{err}");
    let a = attempt(n.req("X", Request::ReadOperationTokenAttempt));
    assert!(a.started);
    assert_eq!(a.nonce, started.nonce);
    assert!(a.otp.is_empty(), "the otp is returned only at start");

    let update = |key: &str, nonce: &str| Request::UpdateOperationTokenAttempt {
        key: key.into(),
        nonce: nonce.into(),
    };
    let err = n.refused("X", update(&keys.shares[0], "wrong-nonce"));
    assert!(
        matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "nonce"),
        "{err:?}"
    );
    for bad in ["bogus", own.shares[0].as_str()] {
        let err = n.refused("X", update(bad, &started.nonce));
        assert!(
            matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "key"),
            "{err:?}"
        );
    }
    assert_eq!(
        attempt(n.req("X", update(&keys.shares[0], &started.nonce))).progress,
        1
    );
    assert_eq!(
        attempt(n.req("X", update(&keys.shares[0], &started.nonce))).progress,
        1,
        "a share given twice does not count twice"
    );
    // Cancel drops the attempt and its progress.
    assert_eq!(
        n.req("X", Request::CancelOperationTokenAttempt),
        Ok(Reply::Done)
    );
    assert!(!attempt(n.req("X", Request::ReadOperationTokenAttempt)).started);
    let err = n.refused("X", update(&keys.shares[1], &started.nonce));
    assert!(
        err.to_string().contains("no operation-token attempt"),
        "{err}"
    );

    // A full attempt produces a token that authorises DR-secondary operations until deleted.
    let s = attempt(n.req("X", Request::StartOperationTokenAttempt));
    // Each attempt has a fresh nonce: a share sent for the cancelled attempt does not count here.
    assert_ne!(s.nonce, started.nonce);
    assert_ne!(s.otp, started.otp);
    let err = n.refused("X", update(&keys.shares[2], &started.nonce));
    assert!(
        matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "nonce"),
        "{err:?}"
    );
    let mut last = None;
    for k in &keys.shares[2..5] {
        last = Some(attempt(n.req("X", update(k, &s.nonce))));
    }
    let done = last.unwrap();
    assert!(done.complete);
    assert_eq!(done.progress, 3);
    let tok = decode_operation_token(&done.encoded_token, &s.otp).unwrap();
    assert!(tok.starts_with("dr."));
    assert!(n.clusters["X"].operation_token_valid(&tok));
    assert!(!attempt(n.req("X", Request::ReadOperationTokenAttempt)).started);
    n.req(
        "X",
        Request::Reindex {
            dr_operation_token: Some(tok.clone()),
        },
    )
    .unwrap();
    assert_eq!(
        n.req(
            "X",
            Request::DeleteOperationToken {
                dr_operation_token: tok.clone()
            }
        ),
        Ok(Reply::Done)
    );
    assert!(!n.clusters["X"].operation_token_valid(&tok));
    assert!(
        n.clusters["X"].operation_token_valid(&earlier),
        "only that token is deleted"
    );
    let err = n.refused(
        "X",
        Request::Reindex {
            dr_operation_token: Some(tok.clone()),
        },
    );
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    let err = n.refused(
        "X",
        Request::DeleteOperationToken {
            dr_operation_token: tok,
        },
    );
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
}

#[test]
fn dr_promote_last_share_refused_by_the_safety_check_changes_nothing() {
    let mut n = accepted_not_synced(Kind::Dr, 25);
    let keys = n.clusters["X"].unseal_keys().clone();
    let key =
        |i: usize, force: bool| promote(Kind::Dr, force, PromoteAuth::Key(keys.shares[i].clone()));
    assert_eq!(progress(n.req("X", key(0, false))), (1, 3, false));
    assert_eq!(progress(n.req("X", key(1, false))), (2, 3, false));
    let err = n.refused("X", key(2, false));
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert_eq!(progress(n.req("X", key(2, true))), (3, 3, true));
    assert_eq!(n.clusters["X"].mode(Kind::Dr), Mode::Primary);
}

#[test]
fn enable_in_the_opposite_role_names_the_command_that_helps() {
    for kind in Kind::ALL {
        // A primary asked to become a secondary: following "demote it first" leaves it a secondary,
        // where secondary/enable is refused again. What helps is primary/disable.
        let mut n = setup(kind, At::Primary, 26);
        let t = n.token("A", kind, "X-new");
        let err = n.refused(
            "X",
            Request::EnableSecondary {
                kind,
                token: t,
                primary_api_addr: None,
            },
        );
        assert!(err.to_string().contains("primary/disable"), "{kind}: {err}");
        // A secondary asked to become a primary: "promote it first" makes it a primary already.
        let mut n = setup(kind, At::Secondary, 27);
        let err = n.refused(
            "X",
            Request::EnablePrimary {
                kind,
                primary_cluster_addr: None,
            },
        );
        assert!(
            err.to_string().contains("secondary/disable"),
            "{kind}: {err}"
        );
    }
}

/// Vault refuses a mount inside another mount and a mount that would contain one: either overlap
/// is refused with the existing mount named, and nothing is mounted.
#[test]
fn a_mount_that_overlaps_an_existing_one_either_way_is_refused() {
    let mut n = Net::new(&["A"], 5);
    n.step(
        "A",
        Input::Client(ClientOp::Mount {
            path: "team/sub/".into(),
            local: false,
        }),
    )
    .expect("a new mount");
    for path in ["secret/inner/", "team/", "team/sub/", "team/sub/deeper/"] {
        let e = n.refused_client(
            "A",
            ClientOp::Mount {
                path: path.into(),
                local: false,
            },
        );
        assert!(
            e.to_string().contains("overlaps the existing mount"),
            "{path}: {e}"
        );
    }
    let mounts: Vec<&str> = n.clusters["A"]
        .storage()
        .mounts()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(mounts, ["local/", "secret/", "team/sub/"]);
}

/// `last_start` in a secondary's status is when the cluster (re)started: one restored after a
/// crash reports the restart time before it has handled anything (restore and `from_durable` share
/// the restart).
#[test]
fn a_restarted_secondary_reports_the_restart_as_its_last_start() {
    use rand_chacha::{rand_core::SeedableRng, ChaCha8Rng};
    let mut n = Net::new(&["A", "B"], 6);
    n.join("A", "B", Kind::Dr);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let later = Timestamp::from_millis(1_800_000_000_000);
    let restored = Cluster::restore(&n.clusters["B"].snapshot(), later, &mut rng).unwrap();
    let st = restored.status(Kind::Dr, later);
    assert_eq!(st.last_start.as_deref(), Some(later.to_rfc3339().as_str()));
}

/// A restarted cluster has nothing new to make durable: what it restarted from is what the store
/// holds, so its first batch is empty until something changes (no rewrite of the store on every
/// restart).
#[test]
fn a_restarted_cluster_hands_out_an_empty_batch_until_it_changes() {
    use rand_chacha::{rand_core::SeedableRng, ChaCha8Rng};
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let now = Timestamp::from_millis(1_700_000_000_000);
    let mut c = Cluster::new(
        ClusterConfig::new("Z"),
        &[("secret/".into(), false)],
        &mut rng,
    );
    let mut store = Durable::default();
    store.apply(&c.ready().persist);
    c.step(
        now,
        &mut rng,
        Input::Client(ClientOp::Write {
            path: "secret/a".into(),
            value: "1".into(),
        }),
    )
    .unwrap();
    store.apply(&c.ready().persist);
    let mut restored = Cluster::restore(&c.snapshot(), now, &mut rng).unwrap();
    let mut rebuilt = Cluster::from_durable(store, now, &mut rng).unwrap();
    for (what, c) in [("restored", &mut restored), ("rebuilt", &mut rebuilt)] {
        assert!(
            c.ready().persist.is_empty(),
            "{what}: a batch right after the restart"
        );
        c.step(
            now,
            &mut rng,
            Input::Client(ClientOp::Write {
                path: "secret/b".into(),
                value: "2".into(),
            }),
        )
        .unwrap();
        let b = c.ready().persist;
        assert_eq!(b.keys().collect::<Vec<_>>(), ["secret/b"], "{what}");
        assert!(b.wal.is_some() && b.meta.is_none(), "{what}: {b:?}");
    }
}

/// A refusal for the wrong mode names the command as operators type it (the API path after the
/// kind), so the message reads as an answer to what was asked.
#[test]
fn a_wrong_mode_refusal_names_the_command_by_its_api_path() {
    let mut n = Net::new(&["A", "X"], 73);
    n.join("A", "X", Kind::Dr);
    let promote = Request::Promote {
        kind: Kind::Dr,
        primary_cluster_addr: None,
        force: false,
        auth: PromoteAuth::None,
    };
    let revoke = Request::RevokeSecondary {
        kind: Kind::Dr,
        id: "X".into(),
    };
    let disable_secondary = Request::DisableSecondary {
        kind: Kind::Dr,
        dr_operation_token: None,
    };
    for (on, request, says) in [
        ("A", promote, "secondary/promote needs a DR secondary"),
        (
            "A",
            disable_secondary,
            "secondary/disable needs a DR secondary",
        ),
        (
            "A",
            Request::EnablePrimary {
                kind: Kind::Dr,
                primary_cluster_addr: None,
            },
            "primary/enable is not possible",
        ),
        ("X", revoke, "primary/revoke-secondary needs a DR primary"),
        (
            "X",
            Request::Demote { kind: Kind::Dr },
            "primary/demote needs a DR primary",
        ),
    ] {
        let err = n.refused(on, request);
        assert!(err.to_string().contains(says), "{on}: {err}");
    }
}
