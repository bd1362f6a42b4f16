//! What a step did, typed, and the short words the report shows for it.

use crate::scenario::SubstError;
use replication_core::{Error, SnapshotError};
use std::fmt;

/// One step's result: what it acted on and what came back (the report line's two middle columns).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Done {
    /// What the step acted on (`A POST dr/primary/enable`, `B secret/app`, `30s`).
    pub(super) target: String,
    /// What came back.
    pub(super) outcome: Outcome,
}

impl Done {
    pub(super) fn new(target: impl Into<String>, outcome: Outcome) -> Done {
        Done {
            target: target.into(),
            outcome,
        }
    }
}

/// What came back from a step.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Outcome {
    /// An API call answered with this status; for an error status, the first error message.
    Answered { status: u16, error: Option<String> },
    /// A client operation's outcome.
    Client(ClientOutcome),
    /// An expectation held.
    Held,
    /// An expectation did not hold (the failure is recorded with the details).
    Failed,
    /// The step was carried out (time passed, a partition set, faults changed).
    Ok,
    /// `crash`: the cluster stopped.
    Crashed,
    /// `crash` of a cluster that was not running.
    AlreadyDown,
    /// `restart`: the cluster runs again from its persisted state.
    Restarted,
    /// `restart` of a cluster that was running.
    AlreadyUp,
    /// `deliver`/`duplicate`: the message (named) reached its receiver.
    Delivered(&'static str),
    /// `deliver`/`duplicate`: the message was taken off its link, but a crash or a partition kept
    /// it from its receiver.
    Undeliverable(&'static str),
    /// `drop`: the message was lost.
    Dropped(&'static str),
    /// `corrupt_merkle` was applied.
    MerkleCorrupted,
    /// `dr_operation_token`: the token was generated and saved under this name.
    Saved(String),
    /// `dr_operation_token`: the token could not be generated (the failure is recorded).
    NoToken(String),
    /// The step could not run at all (a `${name}` that does not resolve, a snapshot that does not
    /// restore).
    CouldNotRun(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Answered {
                status,
                error: Some(e),
            } if *status >= 300 => write!(f, "{status} {e}"),
            Outcome::Answered { status, .. } => write!(f, "{status}"),
            Outcome::Client(c) => c.fmt(f),
            Outcome::Held => f.write_str("held"),
            Outcome::Failed => f.write_str("FAILED"),
            Outcome::Ok => f.write_str("ok"),
            Outcome::Crashed => f.write_str("crashed"),
            Outcome::AlreadyDown => f.write_str("already down"),
            Outcome::Restarted => f.write_str("restarted"),
            Outcome::AlreadyUp => f.write_str("already up"),
            Outcome::MerkleCorrupted => f.write_str("merkle index corrupted"),
            Outcome::Delivered(m) => write!(f, "{m} delivered"),
            Outcome::Undeliverable(m) => write!(f, "{m} lost (receiver down or partitioned)"),
            Outcome::Dropped(m) => write!(f, "{m} dropped"),
            Outcome::Saved(name) => write!(f, "saved as {name}"),
            Outcome::NoToken(e) => write!(f, "error: {e}"),
            Outcome::CouldNotRun(e) => write!(f, "error: {e}"),
        }
    }
}

/// The outcome of one client operation as the scenario sees it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ClientOutcome {
    /// A write, delete or mount succeeded.
    Ok,
    /// A read succeeded and found this value (`None`: no value at the path).
    Value(Option<String>),
    /// Refused: nothing was applied.
    Refused(Refusal),
    /// Answered with an error saying the outcome is unknown (it may or may not have been applied).
    Unknown(String),
    /// Handed to another cluster; no answer by the end of the step.
    Pending,
}

impl ClientOutcome {
    /// The outcome a forwarded operation's answer says.
    pub(super) fn of_answer(result: &Result<u64, Error>) -> ClientOutcome {
        match result {
            Ok(_) => ClientOutcome::Ok,
            Err(e @ Error::OutcomeUnknown(_)) => ClientOutcome::Unknown(e.to_string()),
            Err(e) => ClientOutcome::Refused(Refusal::Core(e.clone())),
        }
    }
}

impl fmt::Display for ClientOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientOutcome::Ok => f.write_str("ok"),
            ClientOutcome::Value(Some(v)) => write!(f, "value {v:?}"),
            ClientOutcome::Value(None) => f.write_str("no value"),
            ClientOutcome::Refused(e) => write!(f, "error: {e}"),
            ClientOutcome::Unknown(e) => f.write_str(e),
            ClientOutcome::Pending => f.write_str("no answer yet"),
        }
    }
}

/// Why a client operation was refused.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Refusal {
    /// The cluster refused it.
    Core(Error),
    /// The cluster is crashed.
    Down(String),
    /// The cluster answered with a reply no client operation gets (a model bug, shown as is).
    Unexpected(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Core(e) => e.fmt(f),
            Refusal::Down(cluster) => write!(f, "cluster {cluster} is down"),
            Refusal::Unexpected(reply) => write!(f, "unexpected reply {reply}"),
        }
    }
}

/// Why a step could not run.
#[derive(Debug, thiserror::Error)]
pub(super) enum StepError {
    /// A `${name}` of the step did not resolve.
    #[error(transparent)]
    Substitution(#[from] SubstError),
    /// A crashed cluster's snapshot did not restore.
    #[error("{cluster} cannot restart: {source}")]
    Restore {
        /// The cluster.
        cluster: String,
        /// Why its snapshot was refused.
        source: SnapshotError,
    },
    /// A `deliver`, `drop` or `duplicate` step found nothing in flight on its link.
    #[error("nothing is in flight from {from} to {to}: there is no message to {verb}")]
    NothingInFlight {
        /// The step's verb.
        verb: &'static str,
        /// Sender.
        from: String,
        /// Receiver.
        to: String,
    },
}

/// The first clause of an error message, for one-line reports.
pub(crate) fn short_reason(e: &str) -> String {
    let first = e.split(';').next().unwrap_or(e).trim();
    if first.chars().count() > 70 {
        format!("{}...", first.chars().take(67).collect::<String>())
    } else {
        first.to_string()
    }
}

/// A request path for a report line: without `/v1/` and `sys/replication/`.
pub(super) fn short_path(p: &str) -> &str {
    let p = crate::scenario::api_path(p);
    p.strip_prefix("sys/replication/").unwrap_or(p)
}
