//! Turning the core's answers into Vault's HTTP responses.
//!
//! | core answer | HTTP response |
//! |---|---|
//! | [`Reply::Done`] | `204`, empty body |
//! | [`Reply::Warnings`] from `recover`/`reindex` | `200`, envelope with `data: null` and the `warnings` |
//! | [`Reply::Warnings`] from enable/demote/disable/promote | `204`, empty body, as the seeds document |
//! | [`Reply::Token`], wrapped | `200`, `wrap_info` with the token, `data: null`, `request_id: ""` |
//! | [`Reply::Token`], encrypted to a public key | `200`, `data: {"token": …}` |
//! | [`Reply::PublicKey`] | `200`, `data: {"secondary_public_key": …}` |
//! | [`Reply::PromoteProgress`] | `200`, seed 002's shape: `progress`, `required`, `complete` at the top level *and* in `data` |
//! | [`Reply::Attempt`] | `200`, `data` with the ten fields of Vault's generate-root status |
//! | [`Reply::Filter`] | `200`, `data: {"mode", "paths"}` |
//! | [`Reply::DynamicFilter`] | `200`, `data: {"dynamic_filtered_mounts", "dynamic_filtered_namespaces"}` |
//! | [`Error`] | `{"errors": [message]}` with 400, 403, 404 or 503 by [`ErrorClass`] |
//!
//! **Ignored parameters turn a 204 into a 200.** Vault adds its "Endpoint ignored these unrecognized
//! parameters" warning to the response, and a response that carries a warning is no longer empty: it
//! is the envelope with `data: null` and the warnings (the core's own warnings first, then the
//! parameter warning).

use rand_core::RngCore;
use replication_core::{AttemptStatus, IssuedToken, QuorumProgress};
use replication_core::{Error, ErrorClass, KindStatus, Reply};
use serde_json::{json, Value};

use crate::envelope::{request_id, Response};
use crate::path::RequestPath;

/// The HTTP status of a core refusal: 400 bad input or wrong mode, 403 missing or invalid DR
/// authorisation, 404 unknown id, 503 promote safety check.
pub(crate) fn status_code(class: ErrorClass) -> u16 {
    match class {
        ErrorClass::BadRequest => 400,
        ErrorClass::Forbidden => 403,
        ErrorClass::NotFound => 404,
        ErrorClass::Unavailable => 503,
    }
}

/// A core refusal as `{"errors": [message]}` with the status of its class: what [`crate::execute`]
/// answers for a refused request, and what a server answers a client with when a forwarded write
/// comes back refused (`Event::ClientReply { result: Err(e), .. }`).
pub fn error_response(e: &Error) -> Response {
    Response::error(status_code(e.class()), [e.to_string()])
}

/// `204` when there is nothing to say, otherwise `200` with `warnings` (and `data: null`).
///
/// `core` are the core's warnings, which the seeds' `204` endpoints drop; `ignored` are the
/// unknown-parameter warnings, which force a body. `rng` draws the request id only when a body is made.
pub(crate) fn done(core: Vec<String>, ignored: Vec<String>, rng: &mut dyn RngCore) -> Response {
    if ignored.is_empty() {
        Response::no_content()
    } else {
        let mut all = core;
        all.extend(ignored);
        Response::warnings_only(all, &request_id(rng))
    }
}

/// `200` with `warnings` and `data: null` (`recover`, `reindex`).
pub(crate) fn warnings(
    mut core: Vec<String>,
    ignored: Vec<String>,
    rng: &mut dyn RngCore,
) -> Response {
    core.extend(ignored);
    Response::warnings_only(core, &request_id(rng))
}

/// `200` with `data` and the unknown-parameter warnings.
pub(crate) fn data(data: Value, ignored: Vec<String>, rng: &mut dyn RngCore) -> Response {
    Response::data(data, ignored, &request_id(rng))
}

/// One kind's status as the `data` of the envelope.
pub(crate) fn kind_status(
    status: &KindStatus,
    ignored: Vec<String>,
    rng: &mut dyn RngCore,
) -> Response {
    data(
        serde_json::to_value(status).unwrap_or(Value::Null),
        ignored,
        rng,
    )
}

/// An issued activation token: in `wrap_info` when it is response-wrapped (the seeds' sample), in
/// `data.token` when it was encrypted to a `secondary_public_key`. `creation_path` is the request path
/// without `v1/`.
pub(crate) fn token(
    t: &IssuedToken,
    creation_path: &str,
    ignored: Vec<String>,
    rng: &mut dyn RngCore,
) -> Response {
    if !t.wrapped {
        return data(json!({ "token": t.token }), ignored, rng);
    }
    let mut r = Response::wrapped(
        &t.token,
        t.ttl.as_secs(),
        &t.creation_time.to_rfc3339(),
        creation_path,
        &t.accessor,
    );
    if !ignored.is_empty() {
        if let Some(body) = r.body.as_mut().and_then(Value::as_object_mut) {
            body.insert("warnings".into(), json!(ignored));
        }
    }
    r
}

/// DR promote progress in seed 002's shape: the envelope, with `progress`, `required` and `complete`
/// both inside `data` and at the top level.
pub(crate) fn promote_progress(
    q: &QuorumProgress,
    ignored: Vec<String>,
    rng: &mut dyn RngCore,
) -> Response {
    let fields = json!({
        "progress": q.progress,
        "required": q.required,
        "complete": q.complete,
    });
    let mut r = data(fields.clone(), ignored, rng);
    if let (Some(body), Value::Object(top)) =
        (r.body.as_mut().and_then(Value::as_object_mut), fields)
    {
        body.extend(top);
    }
    r
}

/// The operation-token attempt status with the field set of Vault's `GenerateRootStatusResponse`:
/// `encoded_root_token` and `pgp_fingerprint` are always `""` (the model has no PGP).
pub(crate) fn attempt(a: &AttemptStatus, ignored: Vec<String>, rng: &mut dyn RngCore) -> Response {
    data(
        json!({
            "started": a.started,
            "nonce": a.nonce,
            "progress": a.progress,
            "required": a.required,
            "complete": a.complete,
            "encoded_token": a.encoded_token,
            "encoded_root_token": "",
            "pgp_fingerprint": "",
            "otp": a.otp,
            "otp_length": a.otp_length,
        }),
        ignored,
        rng,
    )
}

/// Renders a successful core reply. `body_for_warnings` is true for the endpoints whose warnings the
/// seeds show in a `200` body (`recover`, `reindex`); every other endpoint answers warnings with `204`.
pub(crate) fn reply(
    reply: Reply,
    body_for_warnings: bool,
    creation_path: &RequestPath,
    ignored: Vec<String>,
    rng: &mut dyn RngCore,
) -> Response {
    match reply {
        Reply::Warnings(w) if body_for_warnings => warnings(w, ignored, rng),
        Reply::Warnings(w) => done(w, ignored, rng),
        Reply::Token(t) => token(&t, &creation_path.to_string(), ignored, rng),
        Reply::PublicKey(k) => data(json!({ "secondary_public_key": k }), ignored, rng),
        Reply::PromoteProgress(q) => promote_progress(&q, ignored, rng),
        Reply::Attempt(a) => attempt(&a, ignored, rng),
        Reply::Filter(f) => data(json!({ "mode": f.mode, "paths": f.paths }), ignored, rng),
        Reply::DynamicFilter(f) => data(
            json!({
                "dynamic_filtered_mounts": f.mounts,
                "dynamic_filtered_namespaces": f.namespaces,
            }),
            ignored,
            rng,
        ),
        // `Done`, and the client-operation replies (which never answer an operator request).
        _ => done(Vec::new(), ignored, rng),
    }
}
