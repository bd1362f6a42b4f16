//! Identifiers and the small enums every other module speaks in.

use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The two replication kinds a cluster runs side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Disaster-recovery replication: ships every key (shared and local) and serves no clients.
    Dr,
    /// Performance replication: ships shared (`replicated`) keys; secondaries serve reads.
    Performance,
}

impl Kind {
    /// Both kinds, DR first (the order status output uses).
    pub const ALL: [Kind; 2] = [Kind::Dr, Kind::Performance];

    /// `dr` or `performance`, as in the API paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Dr => "dr",
            Kind::Performance => "performance",
        }
    }

    /// Human wording for messages: `DR` or `performance`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Dr => "DR",
            Kind::Performance => "performance",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind's replication mode, as `status` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Replication of this kind is off.
    Disabled,
    /// `secondary/enable` was accepted locally; the primary has not answered yet.
    Bootstrapping,
    /// Ships data to secondaries and accepts writes.
    Primary,
    /// Receives data from a primary (or waits for one).
    Secondary,
}

impl Mode {
    /// The status string.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Disabled => "disabled",
            Mode::Bootstrapping => "bootstrapping",
            Mode::Primary => "primary",
            Mode::Secondary => "secondary",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a secondary's replication pipeline is doing (`state` in its status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecondaryState {
    /// Looking for its primary (after activation, a restart or a lost connection).
    Connecting,
    /// Activation handshake in flight.
    Bootstrapping,
    /// In sync: applying the primary's write-ahead log as it is shipped.
    StreamWals,
    /// Comparing its Merkle index with the primary's.
    MerkleDiff,
    /// Fetching the keys the diff found in conflict.
    MerkleSync,
    /// Not replicating: no known primary, or refused by it.
    Idle,
}

impl SecondaryState {
    /// The status string (`stream-wals`, `merkle-diff`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SecondaryState::Connecting => "connecting",
            SecondaryState::Bootstrapping => "bootstrapping",
            SecondaryState::StreamWals => "stream-wals",
            SecondaryState::MerkleDiff => "merkle-diff",
            SecondaryState::MerkleSync => "merkle-sync",
            SecondaryState::Idle => "idle",
        }
    }
}

impl fmt::Display for SecondaryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A replication set's id (`cluster_id` in status): a UUID drawn from host entropy.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ClusterId(pub [u8; 16]);

impl ClusterId {
    /// A fresh id from the caller's entropy.
    pub fn generate(rng: &mut dyn RngCore) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        ClusterId(b)
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = hex(&self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

impl fmt::Debug for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClusterId({self})")
    }
}

impl From<ClusterId> for String {
    fn from(id: ClusterId) -> String {
        id.to_string()
    }
}

/// Text that is not a UUID-formatted replication set id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a replication set id (a UUID such as 9385ea52-0c1d-4e5f-8a9b-0123456789ab)")]
pub struct ClusterIdError(pub String);

impl TryFrom<String> for ClusterId {
    type Error = ClusterIdError;
    fn try_from(s: String) -> Result<Self, ClusterIdError> {
        let digits: String = s.chars().filter(|c| *c != '-').collect();
        let arr: Option<[u8; 16]> = unhex(&digits).and_then(|b| b.try_into().ok());
        arr.map(ClusterId).ok_or(ClusterIdError(s))
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Bytes of a hex string, or `None` if it is not an even-length hex string.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `n` random bytes from the caller's entropy, as lowercase hex.
pub(crate) fn random_hex(rng: &mut dyn RngCore, n: usize) -> String {
    let mut b = vec![0u8; n];
    rng.fill_bytes(&mut b);
    hex(&b)
}

/// A UUID-formatted string from the caller's entropy (request ids and the like).
pub(crate) fn random_uuid(rng: &mut dyn RngCore) -> String {
    ClusterId::generate(rng).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn serde_name<T: Serialize>(v: T) -> String {
        serde_json::to_value(v)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Status, paths and messages spell each kind, mode and state one way: its serde name.
    #[test]
    fn every_name_is_its_serde_name() {
        for k in Kind::ALL {
            assert_eq!(k.as_str(), serde_name(k));
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!(Kind::Dr.label(), "DR");
        assert_eq!(Kind::Performance.label(), "performance");
        use Mode::*;
        for m in [Disabled, Bootstrapping, Primary, Secondary] {
            assert_eq!(m.as_str(), serde_name(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        use SecondaryState as S;
        for s in [
            S::Connecting,
            S::Bootstrapping,
            S::StreamWals,
            S::MerkleDiff,
            S::MerkleSync,
            S::Idle,
        ] {
            assert_eq!(s.as_str(), serde_name(s));
            assert_eq!(s.to_string(), s.as_str());
        }
    }

    #[test]
    fn a_replication_set_id_is_a_uuid_that_reads_back() {
        let id = ClusterId([
            0x93, 0x85, 0xea, 0x52, 0x0c, 0x1d, 0x4e, 0x5f, 0x8a, 0x9b, 0x01, 0x23, 0x45, 0x67,
            0x89, 0xab,
        ]);
        assert_eq!(id.to_string(), "9385ea52-0c1d-4e5f-8a9b-0123456789ab");
        assert_eq!(
            format!("{id:?}"),
            "ClusterId(9385ea52-0c1d-4e5f-8a9b-0123456789ab)"
        );
        assert_eq!(ClusterId::try_from(id.to_string()), Ok(id));
        for bad in [
            "",
            "9385ea52",
            "9385ea52-0c1d-4e5f-8a9b-0123456789a",
            "zz85ea52-0c1d-4e5f-8a9b-0123456789ab",
        ] {
            assert_eq!(
                ClusterId::try_from(bad.to_string()),
                Err(ClusterIdError(bad.to_string()))
            );
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (a, b) = (ClusterId::generate(&mut rng), ClusterId::generate(&mut rng));
        assert_ne!(a, b);
        assert_eq!(random_uuid(&mut rng).len(), 36);
    }

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_hex() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(unhex("000fa5ff"), Some(vec![0x00, 0x0f, 0xa5, 0xff]));
        assert_eq!(unhex("000FA5FF"), Some(vec![0x00, 0x0f, 0xa5, 0xff]));
        assert_eq!(unhex(""), Some(vec![]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let h = random_hex(&mut rng, 5);
        assert_eq!(h.len(), 10);
        assert_eq!(unhex(&h).map(|b| b.len()), Some(5));
    }
}
