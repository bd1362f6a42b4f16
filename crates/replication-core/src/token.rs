//! Activation tokens: what `secondary-token` returns and `secondary/enable` consumes.
//!
//! A token is `v1.<payload>.<mac>`, both parts unpadded URL-safe base64, so it can travel in a URL path
//! (the oldest API has `secondary/enable/<token>`). The payload is JSON [`TokenClaims`] that the secondary
//! can read (kind, expiry, where the primary is); the MAC is HMAC-SHA256 under a secret only the issuing
//! primary run holds, so the primary detects any alteration. 128 bits of host entropy (`nonce`) make each
//! token unique; the primary's registry records each token's nonce, use and revocation.

use crate::ids::{hex, ClusterId, Kind};
use crate::time::Timestamp;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token says; readable by anyone holding it, verifiable only by its issuer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenClaims {
    /// Replication kind the token activates.
    pub kind: Kind,
    /// The replication set (`cluster_id`) it joins.
    pub cluster_id: ClusterId,
    /// The issuing primary's run (changes each time it becomes primary).
    pub run: String,
    /// The opaque secondary id given to `secondary-token`.
    pub secondary_id: String,
    /// Cluster address of the primary (its `primary_cluster_addr` override, else its own).
    pub primary_cluster_addr: String,
    /// API address of the primary.
    pub primary_api_addr: String,
    /// When it was issued (host time of the primary).
    pub issued_at: Timestamp,
    /// When it stops being valid.
    pub expires_at: Timestamp,
    /// 128 random bits, hex.
    pub nonce: String,
    /// The secondary public key it was encrypted to, if any.
    pub public_key: Option<String>,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], payload: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    m.update(payload);
    m.finalize().into_bytes()[..16].to_vec()
}

/// Encodes and signs `claims` with the issuer's `secret`.
pub(crate) fn encode(claims: &TokenClaims, secret: &[u8]) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    format!(
        "v1.{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(mac(secret, &payload))
    )
}

/// A token that is not one `secondary-token` could have returned: not `v1.<payload>.<mac>`, or a
/// payload that is not a token's claims.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the activation token is malformed; pass the token exactly as secondary-token returned it (wrap_info.token, or data.token when a secondary_public_key was given)")]
pub struct MalformedToken;

/// Reads the claims of a token without verifying it: what anyone holding the token (the secondary,
/// an operator's tool) can check on their own. Only the issuing primary can tell whether the claims
/// are genuine.
pub fn read_token(token: &str) -> Result<TokenClaims, MalformedToken> {
    let (payload, _) = split(token)?;
    serde_json::from_slice(&payload).map_err(|_| MalformedToken)
}

/// Verifies a token's MAC against the issuer's `secret` and returns its claims.
pub(crate) fn verify(token: &str, secret: &[u8]) -> Option<TokenClaims> {
    let (payload, tag) = split(token).ok()?;
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret).ok()?;
    m.update(&payload);
    let full = m.finalize().into_bytes();
    if full[..16] != tag[..] {
        return None;
    }
    serde_json::from_slice(&payload).ok()
}

fn split(token: &str) -> Result<(Vec<u8>, Vec<u8>), MalformedToken> {
    let mut parts = token.trim().split('.');
    let (Some("v1"), Some(p), Some(t), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MalformedToken);
    };
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| MalformedToken)?;
    let tag = URL_SAFE_NO_PAD.decode(t).map_err(|_| MalformedToken)?;
    if tag.len() != 16 {
        return Err(MalformedToken);
    }
    Ok((payload, tag))
}

/// A key pair from `generate-public-key`. The model keeps no real asymmetric crypto: the public half is
/// a hash of the private half, which is enough to tell which cluster a token was encrypted to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct KeyPair {
    /// Private half, hex.
    pub(crate) private: String,
    /// Public half, hex (`secondary_public_key`).
    pub(crate) public: String,
}

impl KeyPair {
    /// A key pair from 32 bytes of host entropy.
    pub(crate) fn from_entropy(bytes: [u8; 32]) -> KeyPair {
        let public = hex(&Sha256::digest(
            [b"replication-public-key:".as_slice(), &bytes].concat(),
        ));
        KeyPair {
            private: hex(&bytes),
            public,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TokenClaims {
        TokenClaims {
            kind: Kind::Dr,
            cluster_id: ClusterId([7; 16]),
            run: "r1".into(),
            secondary_id: "us-east".into(),
            primary_cluster_addr: "https://a:8201".into(),
            primary_api_addr: "https://a:8200".into(),
            issued_at: Timestamp(0),
            expires_at: Timestamp(1_800_000),
            nonce: "00".repeat(16),
            public_key: None,
        }
    }

    #[test]
    fn round_trips_and_is_url_safe() {
        let t = encode(&claims(), b"secret");
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert_eq!(read_token(&t).unwrap(), claims());
        assert_eq!(verify(&t, b"secret").unwrap(), claims());
    }

    #[test]
    fn any_alteration_fails_verification() {
        let t = encode(&claims(), b"secret");
        assert!(verify(&t, b"other").is_none());
        let mut forged = claims();
        forged.secondary_id = "evil".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let tag = t.rsplit('.').next().unwrap();
        let spliced = format!("v1.{forged_payload}.{tag}");
        assert_eq!(read_token(&spliced).unwrap().secondary_id, "evil");
        assert!(verify(&spliced, b"secret").is_none());
        for bad in ["", "v1", "v1..", "v2.a.b", "v1.!!.AAAA", &t[..t.len() - 2]] {
            assert!(verify(bad, b"secret").is_none(), "{bad}");
        }
        assert!(read_token("garbage")
            .unwrap_err()
            .to_string()
            .contains("exactly"));
    }
}
