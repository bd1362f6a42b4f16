//! Vault's HTTP response envelope: [`Response`].

use rand_core::RngCore;
use serde_json::{json, Map, Value};

/// The `Content-Type` of every response with a body.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// One HTTP response: a status code and an optional JSON body.
///
///
/// Every successful Vault answer with a body is one JSON object with the same eight keys:
///
/// ```json
/// {"auth":null,"data":{…},"lease_duration":0,"lease_id":"","renewable":false,
///  "request_id":"1f6d6ab3-…","warnings":null,"wrap_info":null}
/// ```
///
/// errors are `{"errors":["…"]}`, and an answer without a body is `204 No Content`. [`Response`] builds
/// each of these:
///
/// ```
/// use replication_api::Response;
/// use serde_json::json;
///
/// let id = "abababab-abab-abab-abab-abababababab";
/// let ok = Response::data(json!({"mode": "disabled"}), vec![], &id);
/// assert_eq!(ok.status, 200);
/// assert_eq!(
///     String::from_utf8(ok.to_bytes()).unwrap(),
///     format!(
///         "{{\"auth\":null,\"data\":{{\"mode\":\"disabled\"}},\"lease_duration\":0,\"lease_id\":\"\",\
///          \"renewable\":false,\"request_id\":\"{id}\",\"warnings\":null,\"wrap_info\":null}}\n"
///     )
/// );
///
/// let bad = Response::error(400, ["cluster is a DR secondary; promote it first"]);
/// assert_eq!(bad.to_bytes(), b"{\"errors\":[\"cluster is a DR secondary; promote it first\"]}\n");
///
/// assert_eq!(Response::no_content().to_bytes(), b"");
/// ```
///
/// # Serialisation
///
/// [`Response::to_bytes`] writes compact JSON with **object keys sorted** at every level, followed by a
/// newline (as Go's `json.Encoder`, which Vault uses, ends every body with one). Sorting makes the
/// bytes deterministic whatever order the value was built in, and whether or not some other crate
/// turns on `serde_json`'s `preserve_order` feature. Against a real Vault the bytes are equal as JSON,
/// not byte for byte: Vault writes the envelope's keys in its struct order and escapes `<`, `>`, `&`
/// as `\u003c`, `\u003e`, `\u0026`.
///
/// # Request ids
///
/// The layer never draws randomness by itself: the host passes each request id, made with
/// a UUID from its own seeded RNG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The JSON body; `None` for an empty body (`204 No Content`).
    pub body: Option<Value>,
}

impl Response {
    /// `204 No Content`: what Vault answers when an endpoint returns nothing (most mutating calls).
    pub fn no_content() -> Self {
        Response {
            status: 204,
            body: None,
        }
    }

    /// `200` with the full envelope around `data`. `warnings` empty gives `"warnings": null`, as Vault
    /// writes a nil slice. `request_id` is the request's UUID.
    pub fn data(data: Value, warnings: Vec<String>, request_id: &str) -> Self {
        Response {
            status: 200,
            body: Some(envelope(request_id, data, Value::Null, warnings)),
        }
    }

    /// `200` with warnings and no data: the full envelope with `"data": null`.
    ///
    /// This is what Vault sends when an endpoint returns a response holding only warnings
    /// (`recover`, `reindex`, the enable/promote/demote/disable calls that restart replication); the
    /// documents abbreviate it as `{"warnings": ["…"]}`.
    pub fn warnings_only(warnings: Vec<String>, request_id: &str) -> Self {
        Response::data(Value::Null, warnings, request_id)
    }

    /// `200` with a response-wrapping token in `wrap_info` and `"data": null`, as `secondary-token`
    /// answers without `secondary_public_key`.
    ///
    /// `ttl_secs` is the wrapping TTL in whole seconds; `creation_time_rfc3339` is the time the token was
    /// made (`2024-03-04T15:05:40Z`); `creation_path` is the request path without `v1/`
    /// (`sys/replication/dr/primary/secondary-token`); `wrapped_accessor` is always `""`.
    ///
    /// `request_id` is always `""` here: Vault fills the request id only into unwrapped responses (its
    /// `respondLogical` builds a wrapped answer from `wrap_info` alone), and every sample in the
    /// replication documents shows `"request_id": ""`. That is why this constructor takes no id.
    pub fn wrapped(
        token: &str,
        ttl_secs: u64,
        creation_time_rfc3339: &str,
        creation_path: &str,
        accessor: &str,
    ) -> Self {
        let wrap_info = json!({
            "token": token,
            "accessor": accessor,
            "ttl": ttl_secs,
            "creation_time": creation_time_rfc3339,
            "creation_path": creation_path,
            "wrapped_accessor": "",
        });
        Response {
            status: 200,
            body: Some(envelope("", Value::Null, wrap_info, Vec::new())),
        }
    }

    /// An error answer, `{"errors": [messages…]}`, with the given status (400 bad input or wrong mode,
    /// 403 permission, 404 unknown path, 405 wrong method, 503 safety check).
    pub fn error<I, S>(status: u16, messages: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let errors: Vec<Value> = messages
            .into_iter()
            .map(|m| Value::String(m.into()))
            .collect();
        Response {
            status,
            body: Some(json!({ "errors": errors })),
        }
    }

    /// Any other JSON body as is, for the few answers outside the envelope (e.g. the legacy DR
    /// promote shape with top-level `progress`/`required`/`complete`).
    pub fn json(status: u16, body: Value) -> Self {
        Response {
            status,
            body: Some(body),
        }
    }

    /// `Some("application/json")` when there is a body, `None` for an empty one.
    pub fn content_type(&self) -> Option<&'static str> {
        self.body.as_ref().map(|_| CONTENT_TYPE_JSON)
    }

    /// The body as bytes: empty for no body, otherwise compact JSON with sorted keys and a trailing
    /// newline (see [Serialisation](#serialisation)). Deterministic: the same response always gives
    /// the same bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.body {
            None => Vec::new(),
            Some(v) => {
                let mut out = canonical(v).to_string().into_bytes();
                out.push(b'\n');
                out
            }
        }
    }
}

/// The eight-key envelope of Vault's `logical.HTTPResponse`.
fn envelope(request_id: &str, data: Value, wrap_info: Value, warnings: Vec<String>) -> Value {
    let warnings = if warnings.is_empty() {
        Value::Null
    } else {
        Value::Array(warnings.into_iter().map(Value::String).collect())
    };
    json!({
        "request_id": request_id,
        "lease_id": "",
        "renewable": false,
        "lease_duration": 0,
        "data": data,
        "wrap_info": wrap_info,
        "warnings": warnings,
        "auth": null,
    })
}

/// `v` with the keys of every object in sorted order, whatever order `serde_json::Map` keeps.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Formats 16 bytes as a UUID string, `8-4-4-4-12` lowercase hex digits, bytes in order.
///
/// No version or variant bits are set, exactly as Vault's `hashicorp/go-uuid` formats its random ids.
pub(crate) fn uuid_from_bytes(b: [u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A fresh request id: 16 bytes from the host's `rng`, formatted by [`uuid_from_bytes`].
pub(crate) fn request_id<R: RngCore + ?Sized>(rng: &mut R) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid_from_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeSet;

    const ID: &str = "00010203-0405-0607-0809-0a0b0c0d0e0f";

    fn keys(v: &Value) -> BTreeSet<&str> {
        v.as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn set<'a>(k: &[&'a str]) -> BTreeSet<&'a str> {
        k.iter().copied().collect()
    }

    const ENVELOPE_KEYS: [&str; 8] = [
        "request_id",
        "lease_id",
        "renewable",
        "lease_duration",
        "data",
        "wrap_info",
        "warnings",
        "auth",
    ];

    #[test]
    fn data_envelope_has_exactly_vaults_keys() {
        let r = Response::data(json!({"mode": "primary"}), vec![], ID);
        assert_eq!(r.status, 200);
        let body = r.body.as_ref().unwrap();
        assert_eq!(keys(body), set(&ENVELOPE_KEYS));
        assert_eq!(
            body,
            &json!({
                "request_id": ID, "lease_id": "", "renewable": false, "lease_duration": 0,
                "data": {"mode": "primary"}, "wrap_info": null, "warnings": null, "auth": null,
            })
        );
    }

    #[test]
    fn data_envelope_carries_warnings() {
        let r = Response::data(json!({}), vec!["w1".into(), "w2".into()], ID);
        assert_eq!(r.body.unwrap()["warnings"], json!(["w1", "w2"]));
    }

    #[test]
    fn warnings_only_is_the_envelope_with_null_data() {
        let r = Response::warnings_only(vec!["restarting".into()], ID);
        assert_eq!(r.status, 200);
        let body = r.body.unwrap();
        assert_eq!(keys(&body), set(&ENVELOPE_KEYS));
        assert_eq!(body["data"], Value::Null);
        assert_eq!(body["warnings"], json!(["restarting"]));
        assert_eq!(body["request_id"], json!(ID));
    }

    #[test]
    fn wrapped_has_null_data_and_full_wrap_info() {
        let r = Response::wrapped(
            "eyJ.tok",
            1800,
            "2024-03-04T15:05:40Z",
            "sys/replication/dr/primary/secondary-token",
            "acc-1",
        );
        assert_eq!(r.status, 200);
        let body = r.body.unwrap();
        assert_eq!(keys(&body), set(&ENVELOPE_KEYS));
        assert_eq!(body["data"], Value::Null);
        assert_eq!(body["request_id"], json!(""));
        assert_eq!(body["warnings"], Value::Null);
        assert_eq!(body["auth"], Value::Null);
        assert_eq!(
            keys(&body["wrap_info"]),
            set(&[
                "token",
                "accessor",
                "ttl",
                "creation_time",
                "creation_path",
                "wrapped_accessor"
            ])
        );
        assert_eq!(
            body["wrap_info"],
            json!({
                "token": "eyJ.tok", "accessor": "acc-1", "ttl": 1800,
                "creation_time": "2024-03-04T15:05:40Z",
                "creation_path": "sys/replication/dr/primary/secondary-token",
                "wrapped_accessor": "",
            })
        );
    }

    #[test]
    fn errors_have_only_the_errors_key() {
        let r = Response::error(403, ["permission denied"]);
        assert_eq!(r.status, 403);
        assert_eq!(r.body, Some(json!({"errors": ["permission denied"]})));
        let r = Response::error(400, vec![String::from("a"), String::from("b")]);
        assert_eq!(r.to_bytes(), b"{\"errors\":[\"a\",\"b\"]}\n");
    }

    #[test]
    fn no_content_has_no_body() {
        let r = Response::no_content();
        assert_eq!(r.status, 204);
        assert_eq!(r.body, None);
        assert_eq!(r.content_type(), None);
        assert!(r.to_bytes().is_empty());
    }

    #[test]
    fn json_passes_the_body_through() {
        let r = Response::json(200, json!({"progress": 0}));
        assert_eq!(r.content_type(), Some(CONTENT_TYPE_JSON));
        assert_eq!(r.to_bytes(), b"{\"progress\":0}\n");
    }

    #[test]
    fn bytes_are_sorted_and_deterministic() {
        let mut inner = Map::new();
        inner.insert("z".into(), json!(1));
        inner.insert("a".into(), json!({"y": [ {"q": 1, "b": 2} ], "c": null}));
        let r = Response::data(Value::Object(inner), vec!["w".into()], ID);
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"auth\":null,\"data\":{{\"a\":{{\"c\":null,\"y\":[{{\"b\":2,\"q\":1}}]}},\"z\":1}},\
                 \"lease_duration\":0,\"lease_id\":\"\",\"renewable\":false,\"request_id\":\"{ID}\",\
                 \"warnings\":[\"w\"],\"wrap_info\":null}}\n"
            )
        );
        assert_eq!(r.to_bytes(), r.clone().to_bytes());
    }

    #[test]
    fn uuid_formatting() {
        let b: [u8; 16] = core::array::from_fn(|i| i as u8);
        assert_eq!(uuid_from_bytes(b), ID);
        assert_eq!(
            uuid_from_bytes([0xff; 16]),
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
        assert_eq!(
            uuid_from_bytes([0; 16]),
            "00000000-0000-0000-0000-000000000000"
        );
    }

    #[test]
    fn request_ids_come_from_the_given_rng() {
        let a = request_id(&mut ChaCha8Rng::seed_from_u64(7));
        let b = request_id(&mut ChaCha8Rng::seed_from_u64(7));
        let c = request_id(&mut ChaCha8Rng::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 36);
        assert!(a
            .chars()
            .all(|ch| ch == '-' || ch.is_ascii_digit() || ('a'..='f').contains(&ch)));
    }
}
