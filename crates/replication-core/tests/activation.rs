//! Activation tokens and the activation handshake (model.md §1–2): every refusal reason with the state it
//! leaves, `cluster_id` rules, when the wipe happens, token ids and ttls, revocation, and the cross-kind
//! rules between DR and performance replication.

use replication_core::*;
use replication_testkit::Net;

/// `A` is a primary of `kind`; `X` and `Y` are disabled and hold a key of their own.
fn fixture(kind: Kind, seed: u64) -> Net {
    let mut n = Net::new(&["A", "X", "Y"], seed);
    n.write("X", "secret/x", "mine").unwrap();
    n.write("Y", "secret/y", "mine").unwrap();
    n.enable_primary("A", kind);
    n
}

/// Enables `name` with `token`, which the secondary's own checks pass, lets the primary answer, and
/// checks the refusal and the state it leaves: back to disabled, data untouched, reason in status.
fn enable_refused_by_primary(
    n: &mut Net,
    name: &str,
    kind: Kind,
    token: &str,
) -> ActivationRefusal {
    let data = n.clusters[name].storage().clone();
    let since = n.events.len();
    n.enable_secondary(name, kind, token).unwrap();
    assert_eq!(n.clusters[name].mode(kind), Mode::Bootstrapping);
    n.settle();
    let reason = refusal_event(n, name, kind, false, since);
    assert_disabled_intact(n, name, kind, &data, since, &reason);
    reason
}

/// The refusal reported by the `Activation` event of `name` since event `since`.
fn refusal_event(n: &Net, name: &str, kind: Kind, update: bool, since: usize) -> ActivationRefusal {
    let results: Vec<_> = n
        .events_of(name, since)
        .into_iter()
        .filter_map(|e| match e {
            Event::Activation {
                kind: k,
                update: u,
                result,
            } if k == kind && u == update => Some(result),
            _ => None,
        })
        .collect();
    match results.as_slice() {
        [Err(reason)] => reason.clone(),
        other => panic!("{name}: expected one refused activation, got {other:?}"),
    }
}

fn assert_disabled_intact(
    n: &Net,
    name: &str,
    kind: Kind,
    data: &Storage,
    since: usize,
    reason: &ActivationRefusal,
) {
    let c = &n.clusters[name];
    assert_eq!(c.mode(kind), Mode::Disabled, "{name} back to disabled");
    assert!(matches!(c.inspect(kind), RoleView::Disabled));
    assert_eq!(c.storage(), data, "{name}: data untouched");
    assert!(!n.wiped_since(name, since), "{name} was wiped");
    assert_eq!(c.last_error(kind), Some(reason.to_string().as_str()));
    let st = c.status(kind, n.now);
    assert_eq!(st.mode, "disabled");
    assert_eq!(
        st.last_error,
        Some(reason.to_string()),
        "reason visible in status"
    );
}

/// Enable refused at once by the secondary's own checks: nothing changed (checked by `refused`).
fn enable_refused_at_once(n: &mut Net, name: &str, kind: Kind, token: &str) -> Error {
    n.refused(
        name,
        Request::EnableSecondary {
            kind,
            token: token.into(),
            primary_api_addr: None,
        },
    )
}

fn dr_auth(n: &mut Net, name: &str, kind: Kind) -> Option<String> {
    (kind == Kind::Dr).then(|| n.operation_token(name))
}

fn update_primary(kind: Kind, token: String, dr_operation_token: Option<String>) -> Request {
    Request::UpdatePrimary {
        kind,
        target: UpdateTarget::Token(token),
        primary_api_addr: None,
        dr_operation_token,
    }
}

fn promote_req(kind: Kind, auth: PromoteAuth) -> Request {
    Request::Promote {
        kind,
        primary_cluster_addr: None,
        force: false,
        auth,
    }
}

fn promote(n: &mut Net, name: &str, kind: Kind) {
    let auth = match kind {
        Kind::Dr => PromoteAuth::OperationToken(n.operation_token(name)),
        Kind::Performance => PromoteAuth::None,
    };
    n.req(name, promote_req(kind, auth)).unwrap();
}

// ----- refusal reasons -----

#[test]
fn expired_token_is_refused_at_once_by_the_secondary() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 1);
        let t = n
            .issue("A", kind, "X", Some(Duration::from_secs(60)), None)
            .unwrap();
        n.advance(60_000);
        let err = enable_refused_at_once(&mut n, "X", kind, &t.token);
        assert_eq!(err, Error::Activation(ActivationRefusal::Expired));
        assert_eq!(err.class(), ErrorClass::BadRequest);
        assert!(err.to_string().contains("generate a new one"), "{err}");
        assert_eq!(n.clusters["X"].mode(kind), Mode::Disabled);
        assert_eq!(n.get("X", "secret/x").as_deref(), Some("mine"));
    }
}

#[test]
fn token_that_expires_in_flight_is_refused_by_the_primary() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 2);
        let t = n
            .issue("A", kind, "X", Some(Duration::from_secs(10)), None)
            .unwrap();
        let data = n.clusters["X"].storage().clone();
        let since = n.events.len();
        n.enable_secondary("X", kind, &t.token).unwrap();
        // The request reaches the primary only after the token expired by the primary's clock.
        n.skip(10_001);
        n.settle();
        let reason = refusal_event(&n, "X", kind, false, since);
        assert_eq!(reason, ActivationRefusal::Expired, "{kind}");
        assert_disabled_intact(&n, "X", kind, &data, since, &reason);
    }
}

#[test]
fn used_token_is_refused_for_a_second_cluster() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 3);
        let t = n.token("A", kind, "X");
        n.enable_secondary("X", kind, &t).unwrap();
        n.settle();
        assert_eq!(n.clusters["X"].mode(kind), Mode::Secondary);
        let reason = enable_refused_by_primary(&mut n, "Y", kind, &t);
        assert_eq!(reason, ActivationRefusal::AlreadyUsed, "{kind}");
        assert!(reason.to_string().contains("generate a new one"));
        // The legitimate user is unaffected.
        n.write("A", "secret/k", "v").unwrap();
        assert!(n.clusters["X"].is_connected(kind));
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("v"));
    }
}

#[test]
fn used_token_is_refused_for_the_same_cluster_after_disable() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 17);
        let t = n.token("A", kind, "X");
        n.enable_secondary("X", kind, &t).unwrap();
        n.settle();
        assert_eq!(n.clusters["X"].mode(kind), Mode::Secondary);
        let op = dr_auth(&mut n, "X", kind);
        n.req(
            "X",
            Request::DisableSecondary {
                kind,
                dr_operation_token: op,
            },
        )
        .unwrap();
        n.write("X", "secret/x", "mine again").unwrap();
        let reason = enable_refused_by_primary(&mut n, "X", kind, &t);
        assert_eq!(reason, ActivationRefusal::AlreadyUsed, "{kind}");
    }
}

#[test]
fn revoked_token_is_refused() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 4);
        let t = n.token("A", kind, "X");
        n.req(
            "A",
            Request::RevokeSecondary {
                kind,
                id: "X".into(),
            },
        )
        .unwrap();
        let reason = enable_refused_by_primary(&mut n, "X", kind, &t);
        assert_eq!(reason, ActivationRefusal::Revoked, "{kind}");
        assert!(reason.to_string().contains("new id"));
    }
}

/// A token for `claims` signed as the token format signs (HMAC-SHA256, first 16 bytes), with a
/// secret that is not the primary's: a forgery.
fn sign(claims: &TokenClaims, secret: &[u8]) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let payload = serde_json::to_vec(claims).unwrap();
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).unwrap();
    mac.update(&payload);
    let tag = &mac.finalize().into_bytes()[..16];
    format!(
        "v1.{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// `token` with its payload replaced by `claims`, keeping the original tag.
fn splice(token: &str, claims: &TokenClaims) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let tag = token.rsplit('.').next().unwrap();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("v1.{payload}.{tag}")
}

#[test]
fn altered_token_is_refused() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 5);
        let t = n.token("A", kind, "X");
        let claims = read_token(&t).unwrap();
        // A flipped character in the tag.
        let tag_start = t.rfind('.').unwrap() + 1;
        let mut bytes = t.clone().into_bytes();
        bytes[tag_start] = if bytes[tag_start] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(bytes).unwrap();
        // A payload that says something else (longer life, another id) under the original tag.
        let mut longer = claims.clone();
        longer.expires_at = longer.expires_at.plus(Duration::from_secs(86_400));
        let mut other_id = claims.clone();
        other_id.secondary_id = "Y".into();
        // A payload signed by someone who does not know the primary's secret.
        let forged = sign(&claims, b"guessed secret");
        for bad in [flipped, splice(&t, &longer), splice(&t, &other_id), forged] {
            assert_ne!(bad, t);
            let reason = enable_refused_by_primary(&mut n, "X", kind, &bad);
            assert_eq!(reason, ActivationRefusal::Altered, "{kind}: {bad}");
            assert!(reason
                .to_string()
                .contains("exactly as secondary-token returned it"));
        }
        // The genuine token still works afterwards.
        n.enable_secondary("X", kind, &t).unwrap();
        n.settle();
        assert_eq!(n.clusters["X"].mode(kind), Mode::Secondary, "{kind}");
    }
}

#[test]
fn flipping_any_payload_character_never_activates() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 16);
        let t = n.token("A", kind, "X");
        let claims = read_token(&t).unwrap();
        let payload = 3..t.rfind('.').unwrap();
        let step = payload.len() / 12;
        for pos in payload.clone().step_by(step) {
            let mut bytes = t.clone().into_bytes();
            bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
            let bad = String::from_utf8(bytes).unwrap();
            let since = n.events.len();
            let data = n.clusters["X"].storage().clone();
            let before = n.clusters["X"].clone();
            match n.enable_secondary("X", kind, &bad) {
                // Unreadable: refused at once, nothing changed.
                Err(e) => {
                    assert!(
                        matches!(&e, Error::InvalidInput { .. } | Error::Activation(_)),
                        "{e:?}"
                    );
                    assert!(n.clusters["X"] == before, "{kind} {pos}: refusal changed X");
                }
                // Readable: the primary refuses it.
                Ok(_) => {
                    n.settle();
                    if n.clusters["X"].mode(kind) == Mode::Bootstrapping {
                        n.advance(31 * 60_000); // the request went nowhere: wait for expiry
                    }
                    let reason = refusal_event(&n, "X", kind, false, since);
                    let c = read_token(&bad).unwrap();
                    match &reason {
                        // A flip inside `run` or `cluster_id` is (mis)reported as a restarted issuer;
                        // see `token_with_an_altered_run_or_set_is_reported_as_altered`.
                        ActivationRefusal::IssuerRestarted => assert!(
                            c.run != claims.run || c.cluster_id != claims.cluster_id,
                            "{kind} {pos}: {c:?}"
                        ),
                        ActivationRefusal::Unreachable => {
                            assert_ne!(c.primary_api_addr, claims.primary_api_addr, "{kind} {pos}")
                        }
                        other => assert_eq!(other, &ActivationRefusal::Altered, "{kind} {pos}"),
                    }
                    assert_disabled_intact(&n, "X", kind, &data, since, &reason);
                }
            }
        }
    }
}

#[test]
fn token_with_an_altered_run_or_set_is_reported_as_altered() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 18);
        let t = n.token("A", kind, "X");
        let claims = read_token(&t).unwrap();
        let mut other_run = claims.clone();
        other_run.run = "0".repeat(claims.run.len());
        let mut other_set = claims.clone();
        other_set.cluster_id = ClusterId([9; 16]);
        for bad in [splice(&t, &other_run), splice(&t, &other_set)] {
            let reason = enable_refused_by_primary(&mut n, "X", kind, &bad);
            assert_eq!(reason, ActivationRefusal::Altered, "{kind}");
        }
    }
}

#[test]
fn malformed_token_is_refused_at_once() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 6);
        let t = n.token("A", kind, "X");
        for bad in [
            "garbage".to_string(),
            t[..t.len() - 3].to_string(),
            t.replacen("v1.", "v2.", 1),
        ] {
            let err = enable_refused_at_once(&mut n, "X", kind, &bad);
            assert!(
                matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "token"),
                "{err:?}"
            );
            assert!(err.to_string().contains("malformed"), "{err}");
        }
        let err = enable_refused_at_once(&mut n, "X", kind, " ");
        assert!(err
            .to_string()
            .contains("missing required parameter \"token\""));
    }
}

#[test]
fn token_of_the_other_kind_is_refused_at_once() {
    for (issued, used) in [(Kind::Dr, Kind::Performance), (Kind::Performance, Kind::Dr)] {
        let mut n = fixture(issued, 7);
        let t = n.token("A", issued, "X");
        let err = enable_refused_at_once(&mut n, "X", used, &t);
        assert_eq!(
            err,
            Error::Activation(ActivationRefusal::WrongKind {
                token: issued,
                used
            })
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("this is a {issued} activation token")),
            "{text}"
        );
        assert!(text.contains(&format!("on the {used} endpoint")), "{text}");
        assert_eq!(n.clusters["X"].mode(used), Mode::Disabled);
    }
}

#[test]
fn update_primary_with_a_token_of_another_set_is_refused_and_keeps_the_primary() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 8);
        n.join("A", "X", kind);
        n.enable_primary("Y", kind);
        let t = n.token("Y", kind, "X");
        let op = dr_auth(&mut n, "X", kind);
        let err = n.refused("X", update_primary(kind, t, op));
        assert_eq!(
            err,
            Error::Activation(ActivationRefusal::WrongSet),
            "{kind}"
        );
        assert!(err.to_string().contains("this wipes the cluster"), "{err}");
        n.write("A", "secret/k", "after").unwrap();
        n.advance(6_000);
        assert!(n.clusters["X"].is_connected(kind));
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("after"));
    }
}

#[test]
fn update_primary_refused_by_the_primary_keeps_the_old_primary() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 9);
        n.join("A", "X", kind);
        let addrs = n.clusters["X"]
            .status(kind, n.now)
            .known_primary_cluster_addrs;
        let t = n.token("A", kind, "X2");
        n.req(
            "A",
            Request::RevokeSecondary {
                kind,
                id: "X2".into(),
            },
        )
        .unwrap();
        let op = dr_auth(&mut n, "X", kind);
        let since = n.events.len();
        assert_eq!(n.req("X", update_primary(kind, t, op)), Ok(Reply::Done));
        n.settle();
        let reason = refusal_event(&n, "X", kind, true, since);
        assert_eq!(reason, ActivationRefusal::Revoked, "{kind}");
        let x = &n.clusters["X"];
        assert_eq!(x.mode(kind), Mode::Secondary);
        assert_eq!(x.last_error(kind), Some(reason.to_string().as_str()));
        let st = x.status(kind, n.now);
        assert_eq!(st.known_primary_cluster_addrs, addrs);
        assert_eq!(st.secondary_id.as_deref(), Some("X"));
        n.write("A", "secret/k", "after").unwrap();
        n.advance(6_000);
        assert!(n.clusters["X"].is_connected(kind), "{kind}");
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("after"));
        assert!(!n.wiped_since("X", since));
    }
}

#[test]
fn token_of_a_demoted_or_disabled_issuer_is_refused() {
    for kind in Kind::ALL {
        for demote in [true, false] {
            let mut n = fixture(kind, 10);
            let t = n.token("A", kind, "X");
            let r = if demote {
                Request::Demote { kind }
            } else {
                Request::DisablePrimary { kind }
            };
            n.req("A", r).unwrap();
            let reason = enable_refused_by_primary(&mut n, "X", kind, &t);
            assert_eq!(
                reason,
                ActivationRefusal::IssuerNotPrimary,
                "{kind} demote={demote}"
            );
            assert!(reason.to_string().contains("current primary"));
        }
    }
}

#[test]
fn token_issued_before_the_primary_restarted_is_refused() {
    for kind in Kind::ALL {
        // disabled and enabled again
        let mut n = fixture(kind, 11);
        let t = n.token("A", kind, "X");
        n.req("A", Request::DisablePrimary { kind }).unwrap();
        n.enable_primary("A", kind);
        let reason = enable_refused_by_primary(&mut n, "X", kind, &t);
        assert_eq!(
            reason,
            ActivationRefusal::IssuerRestarted,
            "{kind} re-enable"
        );
        // demoted and promoted again
        let mut n = fixture(kind, 12);
        let t = n.token("A", kind, "X");
        n.req("A", Request::Demote { kind }).unwrap();
        promote(&mut n, "A", kind);
        assert_eq!(n.clusters["A"].mode(kind), Mode::Primary);
        let reason = enable_refused_by_primary(&mut n, "X", kind, &t);
        assert_eq!(
            reason,
            ActivationRefusal::IssuerRestarted,
            "{kind} re-promote"
        );
        assert!(reason.to_string().contains("generate a new token"));
        // A fresh token of the new run works.
        let t = n.token("A", kind, "X-2");
        n.enable_secondary("X", kind, &t).unwrap();
        n.settle();
        assert_eq!(n.clusters["X"].mode(kind), Mode::Secondary, "{kind}");
    }
}

/// A primary that is demoted forgets its secondaries: promoted again, it ships its next write to
/// none of them until they activate against the new run.
#[test]
fn a_primary_promoted_again_ships_nothing_to_the_secondaries_of_its_last_run() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 15);
        n.join("A", "X", kind);
        n.write("A", "secret/before", "1").unwrap();
        assert_eq!(n.get("X", "secret/before").as_deref(), Some("1"), "{kind}");
        n.req("A", Request::Demote { kind }).unwrap();
        promote(&mut n, "A", kind);
        assert_eq!(
            n.clusters["A"].status(kind, n.now).secondaries,
            Some(vec![]),
            "{kind}: the new run has no secondaries yet"
        );
        n.queue.clear();
        n.step(
            "A",
            Input::Client(ClientOp::Write {
                path: "secret/after".into(),
                value: "2".into(),
            }),
        )
        .unwrap();
        let shipped: Vec<_> = n
            .queue
            .iter()
            .filter(|(from, _, m)| from == "A" && matches!(m, Message::Entries(_)))
            .collect();
        assert!(shipped.is_empty(), "{kind}: {shipped:?}");
    }
}

/// A primary remembers its last 16 runs: a token from any of them is refused as issued before a
/// restart (generate a new one); an older one can no longer be told from a forged one.
#[test]
fn a_primary_remembers_its_last_sixteen_runs() {
    let kind = Kind::Dr;
    let mut n = fixture(kind, 14);
    let t = n.token("A", kind, "X");
    for restarts in 1..=17 {
        n.req("A", Request::DisablePrimary { kind }).unwrap();
        n.enable_primary("A", kind);
        let reason = enable_refused_by_primary(&mut n, "X", kind, &t);
        let expected = if restarts <= 16 {
            ActivationRefusal::IssuerRestarted
        } else {
            ActivationRefusal::Altered
        };
        assert_eq!(reason, expected, "after {restarts} restarts");
    }
}

fn public_key(n: &mut Net, name: &str, kind: Kind) -> String {
    match n.req(name, Request::GeneratePublicKey { kind }) {
        Ok(Reply::PublicKey(k)) => k,
        other => panic!("{other:?}"),
    }
}

#[test]
fn token_for_another_public_key_is_refused_and_the_matching_key_works() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 13);
        // X never generated a key pair.
        let y_key = public_key(&mut n, "Y", kind);
        let for_y = n.issue("A", kind, "Y", None, Some(y_key)).unwrap();
        assert!(!for_y.wrapped, "a token for a public key is not wrapped");
        let err = enable_refused_at_once(&mut n, "X", kind, &for_y.token);
        assert_eq!(err, Error::Activation(ActivationRefusal::PublicKeyMismatch));
        // X has a key pair of its own: still not the one the token was made for.
        let x_key = public_key(&mut n, "X", kind);
        let err = enable_refused_at_once(&mut n, "X", kind, &for_y.token);
        assert_eq!(err, Error::Activation(ActivationRefusal::PublicKeyMismatch));
        assert!(err.to_string().contains("generate-public-key"), "{err}");
        // A token for a key X has since replaced is refused too.
        let stale = n.issue("A", kind, "X-old", None, Some(x_key)).unwrap();
        let x_key = public_key(&mut n, "X", kind);
        let err = enable_refused_at_once(&mut n, "X", kind, &stale.token);
        assert_eq!(err, Error::Activation(ActivationRefusal::PublicKeyMismatch));
        // The matching key works.
        let for_x = n.issue("A", kind, "X", None, Some(x_key)).unwrap();
        assert!(!for_x.wrapped);
        n.enable_secondary("X", kind, &for_x.token).unwrap();
        n.settle();
        assert_eq!(n.clusters["X"].mode(kind), Mode::Secondary, "{kind}");
        // Y's own token works for Y.
        n.enable_secondary("Y", kind, &for_y.token).unwrap();
        n.settle();
        assert_eq!(n.clusters["Y"].mode(kind), Mode::Secondary, "{kind}");
    }
}

#[test]
fn unreachable_primary_fails_the_activation_at_token_expiry() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 14);
        let t = n
            .issue("A", kind, "X", Some(Duration::from_secs(60)), None)
            .unwrap();
        n.cut.insert("A".into());
        let data = n.clusters["X"].storage().clone();
        let since = n.events.len();
        n.enable_secondary("X", kind, &t.token).unwrap();
        n.advance(55_000);
        assert_eq!(
            n.clusters["X"].mode(kind),
            Mode::Bootstrapping,
            "still trying"
        );
        n.advance(10_000);
        let reason = refusal_event(&n, "X", kind, false, since);
        assert_eq!(reason, ActivationRefusal::Unreachable, "{kind}");
        assert_disabled_intact(&n, "X", kind, &data, since, &reason);
        assert!(reason.to_string().contains("primary_api_addr"));
        // Healing later does not resurrect the failed activation.
        n.cut.clear();
        n.advance(20_000);
        assert_eq!(n.clusters["X"].mode(kind), Mode::Disabled);
        assert_eq!(n.clusters["X"].storage(), &data);
    }
}

#[test]
fn unreachable_primary_fails_update_primary_and_keeps_the_old_primary() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 15);
        n.join("A", "X", kind);
        let t = n
            .issue("A", kind, "X2", Some(Duration::from_secs(30)), None)
            .unwrap();
        let op = dr_auth(&mut n, "X", kind);
        n.cut.insert("A".into());
        let since = n.events.len();
        n.req("X", update_primary(kind, t.token, op)).unwrap();
        n.advance(40_000);
        let reason = refusal_event(&n, "X", kind, true, since);
        assert_eq!(reason, ActivationRefusal::Unreachable, "{kind}");
        assert_eq!(n.clusters["X"].mode(kind), Mode::Secondary);
        n.cut.clear();
        n.write("A", "secret/k", "after").unwrap();
        n.advance(10_000);
        assert!(n.clusters["X"].is_connected(kind), "{kind}");
        assert_eq!(
            n.clusters["X"].status(kind, n.now).secondary_id.as_deref(),
            Some("X")
        );
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("after"));
    }
}

// ----- cluster_id -----

#[test]
fn cluster_id_is_fresh_on_every_enable_and_forgotten_by_disable() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 20);
        let mut seen = vec![n.cluster_id("A", kind).unwrap()];
        for _ in 0..3 {
            n.req("A", Request::DisablePrimary { kind }).unwrap();
            assert_eq!(n.cluster_id("A", kind), None);
            assert_eq!(n.clusters["A"].status(kind, n.now).cluster_id, None);
            n.enable_primary("A", kind);
            let id = n.cluster_id("A", kind).unwrap();
            assert!(!seen.contains(&id), "{kind}: re-enable reused {id}");
            seen.push(id);
        }
        let id = *seen.last().unwrap();
        assert_eq!(
            n.clusters["A"].status(kind, n.now).cluster_id,
            Some(id.to_string())
        );
        assert_eq!(id.to_string().len(), 36, "formatted as a UUID");
        // Another cluster's enable draws another id.
        n.enable_primary("Y", kind);
        assert!(!seen.contains(&n.cluster_id("Y", kind).unwrap()));
    }
}

#[test]
fn cluster_id_is_shared_by_secondaries_and_kept_by_demote_promote_update() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 21);
        n.join("A", "X", kind);
        n.join("A", "Y", kind);
        let set = n.cluster_id("A", kind);
        assert_eq!(
            n.cluster_id("X", kind),
            set,
            "secondary takes the primary's id"
        );
        n.req("A", Request::Demote { kind }).unwrap();
        assert_eq!(n.cluster_id("A", kind), set, "demote keeps");
        promote(&mut n, "X", kind);
        assert_eq!(n.cluster_id("X", kind), set, "promote keeps");
        for name in ["Y", "A"] {
            let t = n.token("X", kind, name);
            let op = dr_auth(&mut n, name, kind);
            n.req(name, update_primary(kind, t, op)).unwrap();
            n.settle();
            assert!(n.clusters[name].is_connected(kind), "{kind} {name}");
            assert_eq!(n.cluster_id(name, kind), set, "update-primary keeps");
        }
        let op = dr_auth(&mut n, "Y", kind);
        n.req(
            "Y",
            Request::DisableSecondary {
                kind,
                dr_operation_token: op,
            },
        )
        .unwrap();
        assert_eq!(n.cluster_id("Y", kind), None, "disable forgets");
    }
}

#[test]
fn secondary_of_a_re_enabled_primary_must_enable_again_with_a_wipe() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 22);
        n.join("A", "X", kind);
        let old = n.cluster_id("X", kind);
        n.req("A", Request::DisablePrimary { kind }).unwrap();
        n.enable_primary("A", kind);
        n.write("A", "secret/k", "new-set").unwrap();
        n.advance(10_000);
        let x = &n.clusters["X"];
        assert_eq!(x.inspect(kind).cluster_id(), old);
        assert!(!x.is_connected(kind), "{kind}: the new set does not know X");
        assert!(
            x.last_error(kind).is_some_and(|e| e.contains("enable it")),
            "{:?}",
            x.last_error(kind)
        );
        assert_eq!(n.get("X", "secret/k"), None);
        // update-primary cannot cross sets ...
        let t = n.token("A", kind, "X");
        let op = dr_auth(&mut n, "X", kind);
        let err = n.refused("X", update_primary(kind, t, op.clone()));
        assert_eq!(err, Error::Activation(ActivationRefusal::WrongSet));
        // ... disable then enable does, with a wipe.
        n.req(
            "X",
            Request::DisableSecondary {
                kind,
                dr_operation_token: op,
            },
        )
        .unwrap();
        let since = n.events.len();
        let t = n.token("A", kind, "X-2");
        n.enable_secondary("X", kind, &t).unwrap();
        n.advance(1_000);
        assert!(n.wiped_since("X", since));
        assert_eq!(n.cluster_id("X", kind), n.cluster_id("A", kind));
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("new-set"));
    }
}

// ----- the wipe -----

#[test]
fn wipe_happens_only_when_the_primary_accepts() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 30);
        n.write("A", "secret/p", "primary").unwrap();
        let data = n.clusters["X"].storage().clone();
        let t = n.token("A", kind, "X");
        n.cut.insert("A".into());
        let since = n.events.len();
        n.enable_secondary("X", kind, &t).unwrap();
        n.advance(20_000);
        assert_eq!(n.clusters["X"].mode(kind), Mode::Bootstrapping, "{kind}");
        assert_eq!(
            n.clusters["X"].storage(),
            &data,
            "intact while bootstrapping"
        );
        assert!(!n.wiped_since("X", since));
        n.cut.clear();
        n.advance(10_000);
        assert_eq!(n.clusters["X"].mode(kind), Mode::Secondary, "{kind}");
        let wipes: Vec<_> = n
            .events_of("X", since)
            .into_iter()
            .filter(|e| matches!(e, Event::Wiped { .. }))
            .collect();
        assert_eq!(
            wipes,
            vec![Event::Wiped {
                kind,
                entries: data.len()
            }]
        );
        assert_eq!(n.get("X", "secret/x"), None, "{kind}: own data wiped");
        assert_eq!(n.get("X", "secret/p").as_deref(), Some("primary"));
        assert_eq!(n.root("X", kind), n.root("A", kind));
        // The wipe took the primary's unseal shares too.
        assert_eq!(n.clusters["X"].unseal_keys(), n.clusters["A"].unseal_keys());
    }
}

// ----- token ids and ttls -----

#[test]
fn token_ids_are_never_reissued() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 40);
        n.join("A", "X", kind); // "X": used
        n.token("A", kind, "P"); // "P": pending
        n.token("A", kind, "R"); // "R": revoked
        n.req(
            "A",
            Request::RevokeSecondary {
                kind,
                id: "R".into(),
            },
        )
        .unwrap();
        for id in ["X", "P", "R", " P "] {
            let err = n.refused(
                "A",
                Request::SecondaryToken {
                    kind,
                    id: id.into(),
                    ttl: None,
                    secondary_public_key: None,
                },
            );
            assert!(
                matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "id"),
                "{kind} {id}: {err:?}"
            );
            assert!(err.to_string().contains("choose a new id"), "{err}");
        }
        assert!(n.issue("A", kind, "fresh", None, None).is_ok());
    }
}

#[test]
fn ttl_must_be_positive() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 41);
        let zero = Duration::parse("0").unwrap();
        for ttl in [
            zero,
            Duration::parse("0s").unwrap(),
            Duration::from_millis(0),
        ] {
            let err = n.refused(
                "A",
                Request::SecondaryToken {
                    kind,
                    id: "X".into(),
                    ttl: Some(ttl),
                    secondary_public_key: None,
                },
            );
            assert!(
                matches!(&err, Error::InvalidInput { param: Some(p), .. } if p == "ttl"),
                "{err:?}"
            );
            assert!(err.to_string().contains("positive"), "{err}");
        }
        for bad in ["-5s", "-1", "soon", "5x", ""] {
            assert!(Duration::parse(bad).is_err(), "{bad:?} should not parse");
        }
        for (text, secs) in [
            ("90s", 90),
            ("30m", 1800),
            ("1h", 3600),
            ("1h30m", 5400),
            ("1800", 1800),
        ] {
            let id = format!("ttl-{text}");
            let t = n
                .issue("A", kind, &id, Some(Duration::parse(text).unwrap()), None)
                .unwrap();
            assert_eq!(t.ttl, Duration::from_secs(secs), "{text}");
            let claims = read_token(&t.token).unwrap();
            assert_eq!(claims.expires_at, n.now.plus(Duration::from_secs(secs)));
        }
    }
}

// ----- revocation -----

#[test]
fn revoke_disconnects_a_streaming_secondary_and_it_receives_nothing_more() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 50);
        n.join("A", "X", kind);
        n.write("A", "secret/k", "before").unwrap();
        assert_eq!(n.state("X", kind), Some(SecondaryState::StreamWals));
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("before"));
        n.req(
            "A",
            Request::RevokeSecondary {
                kind,
                id: "X".into(),
            },
        )
        .unwrap();
        n.settle();
        assert!(
            !n.clusters["X"].is_connected(kind),
            "{kind}: disconnected at once"
        );
        n.write("A", "secret/k", "after").unwrap();
        n.write("A", "secret/new", "after").unwrap();
        n.advance(60_000);
        let x = &n.clusters["X"];
        assert!(!x.is_connected(kind));
        assert_eq!(x.mode(kind), Mode::Secondary);
        assert_eq!(x.secondary_state(kind), Some(SecondaryState::Idle));
        assert!(x.last_error(kind).is_some_and(|e| e.contains("revoked")));
        assert_eq!(n.get("X", "secret/k").as_deref(), Some("before"), "{kind}");
        assert_eq!(n.get("X", "secret/new"), None, "{kind}");
        // The primary lists it no more among its connected secondaries.
        let st = n.clusters["A"].status(kind, n.now);
        assert!(st
            .secondaries
            .unwrap()
            .iter()
            .all(|s| s.node_id.as_deref() != Some("X")));
        // A new token (new id) brings it back without a wipe.
        let since = n.events.len();
        let t = n.token("A", kind, "X-again");
        let op = dr_auth(&mut n, "X", kind);
        n.req("X", update_primary(kind, t, op)).unwrap();
        n.advance(1_000);
        assert!(n.clusters["X"].is_connected(kind), "{kind}");
        assert_eq!(n.get("X", "secret/new").as_deref(), Some("after"));
        assert!(!n.wiped_since("X", since));
    }
}

#[test]
fn revoked_secondary_stays_refused_even_if_the_revocation_was_lost() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 51);
        n.join("A", "X", kind);
        n.cut.insert("X".into());
        n.req(
            "A",
            Request::RevokeSecondary {
                kind,
                id: "X".into(),
            },
        )
        .unwrap();
        n.settle(); // the revocation notice is lost
        n.cut.clear();
        n.write("A", "secret/k", "after").unwrap();
        n.advance(30_000);
        assert!(!n.clusters["X"].is_connected(kind), "{kind}");
        assert_eq!(n.get("X", "secret/k"), None, "{kind}");
        assert!(n.clusters["X"]
            .last_error(kind)
            .is_some_and(|e| e.contains("revoked")));
        // Re-pointing at the same primary without a new token does not help.
        let op = dr_auth(&mut n, "X", kind);
        let addr = n.clusters["A"].config().cluster_addr.clone();
        n.req(
            "X",
            Request::UpdatePrimary {
                kind,
                target: UpdateTarget::Addrs(vec![addr]),
                primary_api_addr: None,
                dr_operation_token: op,
            },
        )
        .unwrap();
        n.write("A", "secret/k2", "after").unwrap();
        n.advance(30_000);
        assert!(!n.clusters["X"].is_connected(kind), "{kind}");
        assert_eq!(n.get("X", "secret/k2"), None, "{kind}");
    }
}

// ----- cross-kind -----

#[test]
fn dr_secondary_enable_is_refused_while_performance_is_enabled() {
    for perf_role in ["primary", "secondary", "bootstrapping"] {
        let mut n = Net::new(&["A", "X", "P"], 60);
        n.enable_primary("A", Kind::Dr);
        n.enable_primary("P", Kind::Performance);
        match perf_role {
            "primary" => n.enable_primary("X", Kind::Performance),
            "secondary" => n.join("P", "X", Kind::Performance),
            _ => {
                let t = n.token("P", Kind::Performance, "X");
                n.cut.insert("P".into());
                n.enable_secondary("X", Kind::Performance, &t).unwrap();
                n.settle();
            }
        }
        let t = n.token("A", Kind::Dr, "X");
        let err = enable_refused_at_once(&mut n, "X", Kind::Dr, &t);
        assert!(
            matches!(&err, Error::WrongMode { kind: Kind::Dr, .. }),
            "{perf_role}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("performance replication is enabled"),
            "{text}"
        );
        assert!(
            text.contains("disable performance replication first"),
            "{text}"
        );
    }
}

#[test]
fn dr_secondary_refuses_client_traffic_but_serves_status() {
    let mut n = Net::new(&["A", "X"], 61);
    n.join("A", "X", Kind::Dr);
    n.write("A", "secret/k", "v").unwrap();
    let ops = [
        ClientOp::Read {
            path: "secret/k".into(),
        },
        ClientOp::Write {
            path: "secret/k".into(),
            value: "w".into(),
        },
        ClientOp::Write {
            path: "local/k".into(),
            value: "w".into(),
        },
        ClientOp::Delete {
            path: "secret/k".into(),
        },
        ClientOp::Mount {
            path: "kv/".into(),
            local: true,
        },
    ];
    for op in ops.clone() {
        let err = n.refused_client("X", op.clone());
        assert!(
            matches!(&err, Error::WrongMode { kind: Kind::Dr, .. }),
            "{op:?}: {err:?}"
        );
        assert!(
            err.to_string().contains("cluster is a DR secondary"),
            "{err}"
        );
        assert!(err.to_string().contains("promote it first"), "{err}");
    }
    let st = n.clusters["X"].status(Kind::Dr, n.now);
    assert_eq!(st.mode, "secondary");
    assert_eq!(
        n.clusters["X"].status(Kind::Performance, n.now).mode,
        "disabled"
    );
    // While bootstrapping as a DR secondary, it refuses clients too.
    let mut n = Net::new(&["A", "Y"], 62);
    n.enable_primary("A", Kind::Dr);
    let t = n.token("A", Kind::Dr, "Y");
    n.cut.insert("A".into());
    n.enable_secondary("Y", Kind::Dr, &t).unwrap();
    for op in ops {
        let err = n.refused_client("Y", op);
        assert!(
            err.to_string().contains("bootstrapping as a DR secondary"),
            "{err}"
        );
    }
    let err = n.refused(
        "Y",
        Request::EnablePrimary {
            kind: Kind::Performance,
            primary_cluster_addr: None,
        },
    );
    assert!(
        err.to_string().contains("bootstrapping as a DR secondary"),
        "{err}"
    );
}

/// A: DR primary and performance primary; B: A's DR secondary; C: A's performance secondary.
fn dr_and_performance(seed: u64) -> Net {
    let mut n = Net::new(&["A", "B", "C"], seed);
    n.write("C", "secret/c", "own").unwrap();
    n.join("A", "B", Kind::Dr);
    n.join("A", "C", Kind::Performance);
    n.write("A", "secret/k", "v1").unwrap();
    n.advance(10_000);
    assert!(n.clusters["C"].is_connected(Kind::Performance));
    n
}

#[test]
fn dr_demotion_suspends_the_performance_role() {
    let mut n = dr_and_performance(63);
    n.req("A", Request::Demote { kind: Kind::Dr }).unwrap();
    let a = &n.clusters["A"];
    assert_eq!(a.mode(Kind::Performance), Mode::Disabled);
    assert_eq!(a.status(Kind::Performance, n.now).mode, "disabled");
    let err = n.refused(
        "A",
        Request::SecondaryToken {
            kind: Kind::Performance,
            id: "D".into(),
            ttl: None,
            secondary_public_key: None,
        },
    );
    assert!(
        err.to_string().contains("cluster is a DR secondary"),
        "{err}"
    );
    // Its performance secondaries lose their primary.
    n.advance(30_000);
    assert!(!n.clusters["C"].is_connected(Kind::Performance));
}

#[test]
fn dr_promotion_brings_the_performance_primary_role_and_its_secondaries_follow() {
    let mut n = dr_and_performance(64);
    let perf_set = n.cluster_id("A", Kind::Performance).unwrap();
    n.req("A", Request::Demote { kind: Kind::Dr }).unwrap();
    assert_eq!(
        n.clusters["B"].mode(Kind::Performance),
        Mode::Disabled,
        "dormant"
    );
    let since = n.events.len();
    promote(&mut n, "B", Kind::Dr);
    let b = &n.clusters["B"];
    assert_eq!(b.mode(Kind::Dr), Mode::Primary);
    assert_eq!(b.mode(Kind::Performance), Mode::Primary);
    assert_eq!(b.inspect(Kind::Performance).cluster_id(), Some(perf_set));
    assert_eq!(
        b.status(Kind::Performance, n.now).cluster_id,
        Some(perf_set.to_string())
    );
    n.advance(30_000);
    let c = &n.clusters["C"];
    assert!(c.is_connected(Kind::Performance), "C follows B");
    assert_eq!(c.inspect(Kind::Performance).cluster_id(), Some(perf_set));
    assert!(!n.wiped_since("C", since), "no wipe when following");
    n.write("B", "secret/k", "v2").unwrap();
    n.advance(1_000);
    assert_eq!(n.get("C", "secret/k").as_deref(), Some("v2"));
    assert_eq!(
        n.root("C", Kind::Performance),
        n.root("B", Kind::Performance)
    );
    let known = n.clusters["B"]
        .status(Kind::Performance, n.now)
        .known_secondaries
        .unwrap();
    assert_eq!(known, vec!["C".to_string()]);
}

#[test]
fn dr_promotion_of_a_performance_secondary_keeps_its_identity() {
    // P: performance primary; A: P's performance secondary and DR primary; B: A's DR secondary.
    let mut n = Net::new(&["P", "A", "B"], 65);
    n.join("P", "A", Kind::Performance);
    n.join("A", "B", Kind::Dr);
    n.write("P", "secret/k", "v1").unwrap();
    n.advance(10_000);
    assert_eq!(n.get("B", "secret/k").as_deref(), Some("v1"));
    let set = n.cluster_id("P", Kind::Performance);
    n.req("A", Request::Demote { kind: Kind::Dr }).unwrap();
    promote(&mut n, "B", Kind::Dr);
    n.advance(10_000);
    let b = &n.clusters["B"];
    assert_eq!(b.mode(Kind::Performance), Mode::Secondary);
    assert_eq!(b.inspect(Kind::Performance).cluster_id(), set);
    assert_eq!(
        b.status(Kind::Performance, n.now).secondary_id.as_deref(),
        Some("A"),
        "same secondary identity"
    );
    assert!(b.is_connected(Kind::Performance));
    n.write("P", "secret/k", "v2").unwrap();
    n.advance(1_000);
    assert_eq!(n.get("B", "secret/k").as_deref(), Some("v2"));
}

#[test]
fn dr_secondary_disable_drops_the_mirrored_performance_role() {
    let mut n = dr_and_performance(66);
    let perf_set = n.cluster_id("A", Kind::Performance);
    assert_eq!(
        n.clusters["B"].inspect(Kind::Performance).cluster_id(),
        perf_set,
        "B mirrors A's performance role while it is a DR secondary"
    );
    let op = n.operation_token("B");
    n.req(
        "B",
        Request::DisableSecondary {
            kind: Kind::Dr,
            dr_operation_token: Some(op),
        },
    )
    .unwrap();
    let b = &n.clusters["B"];
    assert_eq!(b.mode(Kind::Dr), Mode::Disabled);
    assert_eq!(
        b.mode(Kind::Performance),
        Mode::Disabled,
        "no second performance primary"
    );
    assert!(matches!(b.inspect(Kind::Performance), RoleView::Disabled));
    assert_eq!(n.get("B", "secret/k").as_deref(), Some("v1"), "data kept");
    n.enable_primary("B", Kind::Performance);
    assert_ne!(n.cluster_id("B", Kind::Performance), perf_set, "a new set");
}

#[test]
fn primary_api_addr_overrides_the_address_in_the_token() {
    for kind in Kind::ALL {
        let mut n = fixture(kind, 67);
        let t = n
            .issue("A", kind, "X", Some(Duration::from_secs(30)), None)
            .unwrap();
        let since = n.events.len();
        n.req(
            "X",
            Request::EnableSecondary {
                kind,
                token: t.token.clone(),
                primary_api_addr: Some("https://nowhere:8200".into()),
            },
        )
        .unwrap();
        n.advance(35_000);
        assert_eq!(
            refusal_event(&n, "X", kind, false, since),
            ActivationRefusal::Unreachable,
            "{kind}: the request went to the override, not to A"
        );
        // Pointing the override at the primary's other address works.
        let addr = n.clusters["A"].config().cluster_addr.clone();
        let t = n.token("A", kind, "X2");
        n.req(
            "X",
            Request::EnableSecondary {
                kind,
                token: t,
                primary_api_addr: Some(addr),
            },
        )
        .unwrap();
        n.settle();
        assert_eq!(n.clusters["X"].mode(kind), Mode::Secondary, "{kind}");
    }
}
