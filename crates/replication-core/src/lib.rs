//! replication-core (work in progress)
#![forbid(unsafe_code)]
pub mod time;
