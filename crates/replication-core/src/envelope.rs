//! The wire format of messages between clusters: an [`Envelope`] names its format version and the
//! sender's cluster address around one [`Message`].
//!
//! The core never does I/O; a host that carries messages over a real network seals each
//! [`Transmit`](crate::Transmit) with [`Envelope::seal`] and opens what arrives with
//! [`Envelope::open`], then steps [`Envelope::into_input`]. An envelope of another format version
//! is refused with [`EnvelopeError::UnknownVersion`] rather than guessed at.
//!
//! The sender's address is what the receiving cluster answers to; it is not a proof of identity:
//! the messages that need one carry their own credentials (activation tokens, link secrets).

use crate::message::Message;
use crate::step::Input;
use serde::{Deserialize, Serialize};

/// Format version of [`Envelope`] bytes written by this build.
pub const ENVELOPE_VERSION: u32 = 1;

/// One message on the wire between clusters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version ([`ENVELOPE_VERSION`]).
    pub version: u32,
    /// The sender's cluster address (where answers go).
    pub from: String,
    /// The message.
    pub message: Message,
}

/// Why bytes received from another cluster are not an envelope this build can open.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not an envelope at all, or damaged.
    #[error("not a replication message envelope ({0}); check that the peer is a replication cluster address")]
    Malformed(String),
    /// Written by another format version.
    #[error("the peer speaks envelope format version {found}; this build speaks version {ENVELOPE_VERSION}: run matching versions on both clusters")]
    UnknownVersion {
        /// Version found in the envelope.
        found: u32,
    },
}

impl Envelope {
    /// The bytes to send for `message` from the cluster at `from`.
    pub fn seal(from: &str, message: &Message) -> Vec<u8> {
        #[derive(Serialize)]
        struct Out<'a> {
            version: u32,
            from: &'a str,
            message: &'a Message,
        }
        let out = Out {
            version: ENVELOPE_VERSION,
            from,
            message,
        };
        // Messages are plain data with string map keys: serializing cannot fail.
        serde_json::to_vec(&out).expect("a message serializes to JSON")
    }

    /// Reads received bytes: the version first, so a newer peer gets a clear refusal.
    pub fn open(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        #[derive(Deserialize)]
        struct Header {
            version: u32,
        }
        let header: Header =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if header.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnknownVersion {
                found: header.version,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))
    }

    /// The input to step on the receiving cluster.
    pub fn into_input(self) -> Input {
        Input::Message {
            from: self.from,
            message: self.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Kind;
    use crate::message::Revoked;

    #[test]
    fn a_sealed_message_opens_to_the_same_message_and_sender() {
        let m = Message::Revoked(Revoked { kind: Kind::Dr });
        let e = Envelope::open(&Envelope::seal("https://a:8201", &m)).unwrap();
        assert_eq!(
            (e.version, e.from.as_str(), &e.message),
            (ENVELOPE_VERSION, "https://a:8201", &m)
        );
    }

    #[test]
    fn another_version_is_refused_by_its_number_and_garbage_as_malformed() {
        let m = Message::Revoked(Revoked { kind: Kind::Dr });
        let mut v: serde_json::Value = serde_json::from_slice(&Envelope::seal("a", &m)).unwrap();
        v["version"] = 2.into();
        v["message"] = "something new".into();
        let err = Envelope::open(v.to_string().as_bytes()).unwrap_err();
        assert_eq!(err, EnvelopeError::UnknownVersion { found: 2 });
        assert!(err.to_string().contains("version 2"), "{err}");
        assert!(matches!(
            Envelope::open(b"GET / HTTP/1.1"),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(matches!(
            Envelope::open(br#"{"version":1,"from":"a"}"#),
            Err(EnvelopeError::Malformed(_))
        ));
    }
}
