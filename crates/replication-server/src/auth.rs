//! Vault tokens, as far as this emulator needs them: `X-Vault-Token` decides the caller's authority
//! (none, a token, a sudo token). Tokens live in each server's store and are not replicated (in
//! Vault, DR secondaries share the primary's token store; here each server has its own, and `dev`
//! gives every cluster the same root token).
//!
//! Endpoints: `POST auth/token/create` (a sudo caller makes a token; `"policies": ["root"]` makes it
//! sudo, anything else does not) and `GET auth/token/lookup-self`.

use crate::store::{Store, StoreError, TokenInfo};
use rand::{Rng, RngCore};
use replication_api::{Caller, HttpRequest, Response};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Service tokens look like Vault's.
pub const TOKEN_PREFIX: &str = "hvs.";

/// A fresh token: `hvs.` and 24 random letters and digits.
pub fn random_token(rng: &mut dyn RngCore) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..24)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{TOKEN_PREFIX}{tail}")
}

fn uuid(rng: &mut dyn RngCore) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The tokens a server knows.
pub struct Tokens {
    by_token: HashMap<String, TokenInfo>,
}

impl Tokens {
    /// The tokens in `store`.
    pub fn load(store: &Store) -> Result<Tokens, StoreError> {
        Ok(Tokens {
            by_token: store.tokens()?.into_iter().collect(),
        })
    }

    /// No token yet (a new data directory).
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }

    /// Creates a token (durable when this returns); `token` chooses its text.
    pub fn create(
        &mut self,
        store: &Store,
        rng: &mut dyn RngCore,
        token: Option<String>,
        sudo: bool,
        policies: Vec<String>,
    ) -> Result<String, StoreError> {
        let token = token.unwrap_or_else(|| random_token(rng));
        let info = TokenInfo {
            sudo,
            policies,
            accessor: uuid(rng),
        };
        store.put_token(&token, &info)?;
        self.by_token.insert(token.clone(), info);
        Ok(token)
    }

    /// The authority `X-Vault-Token: token` gives.
    pub fn caller(&self, token: Option<&str>) -> Caller {
        match token.and_then(|t| self.by_token.get(t)) {
            None => Caller::Anonymous,
            Some(i) if i.sudo => Caller::Sudo,
            Some(_) => Caller::Token,
        }
    }

    /// Serves `auth/token/...`.
    pub fn serve(
        &mut self,
        store: &Store,
        rng: &mut dyn RngCore,
        req: &HttpRequest,
        token: Option<&str>,
    ) -> Response {
        let path = req.path.trim_start_matches('/');
        let path = path.strip_prefix("v1/").unwrap_or(path);
        let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
        let method = req.method.to_ascii_uppercase();
        let Some(info) = token.and_then(|t| self.by_token.get(t)).cloned() else {
            return Response::error(
                403,
                ["permission denied: send a valid Vault token in the X-Vault-Token header"],
            );
        };
        match (method.as_str(), path) {
            ("GET", "auth/token/lookup-self") => {
                let data = json!({
                    "id": token,
                    "accessor": info.accessor,
                    "policies": info.policies,
                    "display_name": "token",
                    "orphan": false,
                    "renewable": false,
                    "ttl": 0,
                    "type": "service",
                });
                Response::data(data, vec![], &uuid(rng))
            }
            ("POST" | "PUT", "auth/token/create") => {
                if !info.sudo {
                    return Response::error(
                        403,
                        ["permission denied: only a root (sudo) token creates tokens here"],
                    );
                }
                let body: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
                    json!({})
                } else {
                    match serde_json::from_slice(&req.body) {
                        Ok(v @ Value::Object(_)) => v,
                        Ok(_) | Err(_) => {
                            return Response::error(400, ["the body must be a JSON object"])
                        }
                    }
                };
                let policies: Vec<String> = match body.get("policies") {
                    None => vec!["default".into()],
                    Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
                        .iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect(),
                    Some(_) => {
                        return Response::error(400, ["policies must be a list of policy names"])
                    }
                };
                let sudo = policies.iter().any(|p| p == "root");
                let client_token = match self.create(store, rng, None, sudo, policies.clone())
                {
                    Ok(t) => t,
                    Err(e) => return Response::error(500, [e.to_string()]),
                };
                let accessor = self.by_token[&client_token].accessor.clone();
                let mut r = Response::data(Value::Null, vec![], &uuid(rng));
                if let Some(b) = r.body.as_mut() {
                    b["auth"] = json!({
                        "client_token": client_token,
                        "accessor": accessor,
                        "policies": policies,
                        "token_policies": policies,
                        "metadata": null,
                        "lease_duration": 0,
                        "renewable": false,
                        "entity_id": "",
                        "token_type": "service",
                        "orphan": false,
                    });
                }
                r
            }
            _ => Response::error(
                404,
                [format!(
                    "no handler for {method} {path}: this emulator serves auth/token/create and auth/token/lookup-self"
                )],
            ),
        }
    }
}
