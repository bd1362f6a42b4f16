//! Unseal key shares and the DR-secondary authorisation they unlock.
//!
//! The model keeps no Shamir arithmetic: a cluster holds `shares` random strings and a `threshold`;
//! presenting `threshold` distinct valid shares is a quorum. Activation replaces a secondary's shares
//! with its primary's, so DR operations on a secondary need the primary's shares.

use crate::ids::hex;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A cluster's unseal key shares.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UnsealKeys {
    /// The shares, base64 like Vault's (`ijH8tphE...=`).
    pub shares: Vec<String>,
    /// How many distinct shares make a quorum.
    pub threshold: u8,
}

impl UnsealKeys {
    /// `n` fresh shares with quorum `threshold`, from host entropy. `n` and `threshold` are clamped to
    /// `1 <= threshold <= n`.
    pub fn generate(rng: &mut dyn RngCore, n: u8, threshold: u8) -> UnsealKeys {
        let n = n.max(1);
        let threshold = threshold.clamp(1, n);
        let shares = (0..n)
            .map(|_| {
                let mut b = [0u8; 32];
                rng.fill_bytes(&mut b);
                STANDARD.encode(b)
            })
            .collect();
        UnsealKeys { shares, threshold }
    }

    /// Whether `share` is one of these shares.
    pub(crate) fn is_share(&self, share: &str) -> bool {
        self.shares.iter().any(|s| s == share.trim())
    }
}

/// Progress of a quorum being collected one share at a time (DR promote and operation-token attempts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Quorum {
    given: BTreeSet<String>,
}

impl Quorum {
    /// Distinct valid shares given so far.
    pub(crate) fn progress(&self) -> usize {
        self.given.len()
    }

    /// Records a share (the caller has checked it is valid).
    pub(crate) fn add(&mut self, share: &str) {
        self.given.insert(share.trim().to_string());
    }
}

/// An operation-token generation attempt on a DR secondary (`generate-operation-token/attempt`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct OperationTokenAttempt {
    /// The nonce every `update` must quote.
    pub(crate) nonce: String,
    /// The one-time pad the encoded token is XORed with.
    pub(crate) otp: String,
    /// Shares given so far.
    pub(crate) quorum: Quorum,
}

/// Length of a DR operation token and of its one-time pad, in characters.
pub(crate) const OPERATION_TOKEN_LEN: usize = 26;

/// A fresh DR operation token (`dr.` + 23 URL-safe characters).
pub(crate) fn new_operation_token(rng: &mut dyn RngCore) -> String {
    let mut b = [0u8; 18];
    rng.fill_bytes(&mut b);
    let mut t = format!("dr.{}", URL_SAFE_NO_PAD.encode(b));
    t.truncate(OPERATION_TOKEN_LEN);
    t
}

/// A one-time pad of [`OPERATION_TOKEN_LEN`] characters.
pub(crate) fn new_otp(rng: &mut dyn RngCore) -> String {
    let mut b = [0u8; 20];
    rng.fill_bytes(&mut b);
    let mut t = URL_SAFE_NO_PAD.encode(b);
    t.truncate(OPERATION_TOKEN_LEN);
    t
}

/// A fresh attempt nonce (UUID-shaped hex).
pub(crate) fn new_nonce(rng: &mut dyn RngCore) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    hex(&b)
}

/// XORs `token` with `otp` and encodes the result as base64, as `encoded_token` is returned.
pub(crate) fn encode_operation_token(token: &str, otp: &str) -> String {
    let x: Vec<u8> = token
        .bytes()
        .zip(otp.bytes().cycle())
        .map(|(a, b)| a ^ b)
        .collect();
    URL_SAFE_NO_PAD.encode(x)
}

/// Decodes an `encoded_token` with the attempt's `otp` (what `vault operator generate-root -dr-token
/// -decode` does).
pub fn decode_operation_token(encoded: &str, otp: &str) -> Result<String, DecodeError> {
    if otp.is_empty() {
        return Err(DecodeError::EmptyOtp);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded.trim())
        .map_err(|_| DecodeError::NotBase64)?;
    let plain: Vec<u8> = bytes
        .iter()
        .zip(otp.bytes().cycle())
        .map(|(a, b)| a ^ b)
        .collect();
    String::from_utf8(plain).map_err(|_| DecodeError::WrongOtp)
}

/// Why an `encoded_token` could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// No one-time pad was given.
    #[error("the one-time pad (otp) is empty; use the otp the attempt returned when it started")]
    EmptyOtp,
    /// The encoded token is not base64url.
    #[error("encoded_token is not valid base64; copy it exactly as the last update returned it")]
    NotBase64,
    /// The pad does not belong to this encoded token.
    #[error("the otp does not decode this encoded_token; use the otp of the same attempt")]
    WrongOtp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn operation_token_round_trips_through_the_otp() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let t = new_operation_token(&mut rng);
        let otp = new_otp(&mut rng);
        assert_eq!(t.len(), OPERATION_TOKEN_LEN);
        assert_eq!(new_otp(&mut rng).len(), OPERATION_TOKEN_LEN);
        let enc = encode_operation_token(&t, &otp);
        assert_eq!(decode_operation_token(&enc, &otp).unwrap(), t);
        assert_ne!(
            decode_operation_token(&enc, &new_otp(&mut rng)).ok(),
            Some(t)
        );
    }

    #[test]
    fn shares_are_distinct_and_threshold_clamped() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let k = UnsealKeys::generate(&mut rng, 5, 9);
        assert_eq!(k.threshold, 5);
        let set: BTreeSet<_> = k.shares.iter().collect();
        assert_eq!(set.len(), 5);
        assert!(k.is_share(&k.shares[2]) && !k.is_share("nope"));
    }
}
