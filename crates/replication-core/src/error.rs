//! The one error type of the core. Every refusal leaves the cluster exactly as it was.

use crate::ids::Kind;
use serde::{Deserialize, Serialize};

/// How a refusal maps onto HTTP: the API layer turns each class into one status code.
///
/// Deliberately exhaustive: a server maps each class to a status, and a new class must fail its
/// build rather than fall into a default arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorClass {
    /// Bad input or a command that is illegal in the current mode (HTTP 400).
    BadRequest,
    /// DR authorisation is missing, or a DR operation token is invalid (HTTP 403). A key share that is
    /// not one of the cluster's is bad input (400) on the `key` parameter.
    Forbidden,
    /// Something named in the request does not exist (HTTP 404).
    NotFound,
    /// The cluster cannot do it now: promote safety check, a write it cannot forward, or a forwarded
    /// write whose outcome is unknown (HTTP 503).
    Unavailable,
}

/// Why a primary (or the secondary itself) refused an activation token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ActivationRefusal {
    /// The token's TTL ran out.
    #[error(
        "the activation token has expired; generate a new one on the primary with secondary-token"
    )]
    Expired,
    /// The token already activated a secondary.
    #[error("the activation token was already used; each token activates one secondary once, so generate a new one")]
    AlreadyUsed,
    /// `revoke-secondary` was called for the token's id.
    #[error(
        "the secondary id of this token was revoked; generate a token with a new id on the primary"
    )]
    Revoked,
    /// The token does not verify: it was altered or forged.
    #[error("the activation token is not valid (altered or forged); copy the token exactly as secondary-token returned it")]
    Altered,
    /// A token for the other replication kind.
    #[error("this is a {token} activation token, but it was used on the {used} endpoint; use the {token} endpoints or a {used} token")]
    WrongKind {
        /// Kind the token was issued for.
        token: Kind,
        /// Kind of the endpoint it was used on.
        used: Kind,
    },
    /// `update-primary` with a token of another replication set.
    #[error("the token belongs to another replication set; update-primary never wipes, so to join another set disable replication and enable it again with the token (this wipes the cluster)")]
    WrongSet,
    /// The issuing cluster is no longer a primary of that kind (demoted or disabled).
    #[error("the cluster that issued the token is no longer a primary (demoted or disabled); generate a token on the current primary")]
    IssuerNotPrimary,
    /// The issuer became primary again since (re-enabled, or demoted and promoted): old tokens died.
    #[error("the token was issued before its primary was re-enabled or promoted again; generate a new token on that primary")]
    IssuerRestarted,
    /// The token was encrypted to another cluster's public key.
    #[error("the token was encrypted to another cluster's public key; generate the token with this cluster's secondary_public_key (from generate-public-key)")]
    PublicKeyMismatch,
    /// No answer came back from the primary before the token expired.
    #[error("the primary did not answer before the token expired; check the primary's address (primary_api_addr) and network, then use a new token")]
    Unreachable,
}

/// A refused request. The message says what state the cluster is in and what would help.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command is not legal in the kind's current mode.
    #[error("{message}")]
    WrongMode {
        /// Which kind the command is for.
        kind: Kind,
        /// What is wrong and what would help.
        message: String,
    },
    /// A parameter is missing or malformed.
    #[error("{message}")]
    InvalidInput {
        /// The parameter, when one is at fault.
        param: Option<String>,
        /// What is wrong and what to send instead.
        message: String,
    },
    /// The activation token was refused.
    #[error("{0}")]
    Activation(ActivationRefusal),
    /// DR authorisation is missing, or the DR operation token is invalid. (A wrong key share is
    /// [`Error::InvalidInput`] on `key`.)
    #[error("{0}")]
    Forbidden(String),
    /// Something named does not exist (a paths filter, a mount).
    #[error("{0}")]
    NotFound(String),
    /// The promote safety check (or another transient condition): the request was not carried out.
    #[error("{0}")]
    Unavailable(String),
    /// A client operation was handed to another cluster (a write forwarded to the performance
    /// primary) and no answer came back: the link was refused or lost, or the forwarding timeout
    /// passed. The operation may or may not have been applied.
    #[error("{0}")]
    OutcomeUnknown(String),
}

impl Error {
    /// The HTTP class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::WrongMode { .. } | Error::InvalidInput { .. } | Error::Activation(_) => {
                ErrorClass::BadRequest
            }
            Error::Forbidden(_) => ErrorClass::Forbidden,
            Error::NotFound(_) => ErrorClass::NotFound,
            Error::Unavailable(_) | Error::OutcomeUnknown(_) => ErrorClass::Unavailable,
        }
    }

    pub(crate) fn wrong_mode(kind: Kind, message: impl Into<String>) -> Self {
        Error::WrongMode {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(param: &str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            param: Some(param.to_string()),
            message: message.into(),
        }
    }

    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Error::InvalidInput {
            param: None,
            message: message.into(),
        }
    }
}

/// Result of a core operation.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
