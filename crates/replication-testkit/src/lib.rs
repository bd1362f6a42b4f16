//! # replication-testkit
//!
//! One harness for everything that hosts `replication-core` clusters in tests: the core's own tests,
//! the API layer's tests, and the simulator's world.
//!
//! - [`host`]: the two loops every host runs, written once. [`host::settle`] delivers messages in
//!   flight until none is left (without moving the clock); [`host::advance`] lets virtual time pass,
//!   ticking clusters at their [`next_deadline`](replication_core::Cluster::next_deadline) and
//!   settling in between. A host implements [`host::Host`] (its clock, its clusters' deadlines, how
//!   it delivers a round of messages) and gets both loops, livelock detection included.
//! - [`Net`]: a small deterministic network of named clusters for unit and property tests: one FIFO
//!   queue of messages, clusters that can be cut off, an event log, helpers for the usual setups
//!   (`join`, `token`, `operation_token`), refusal checks that prove a refused input changed nothing,
//!   and observed stepping with fault-injecting delivery for property tests.
//!
//! ```
//! use replication_core::{Kind, Mode};
//! use replication_testkit::Net;
//!
//! let mut n = Net::new(&["A", "B"], 1);
//! n.join("A", "B", Kind::Dr);
//! n.write("A", "secret/app", "v1").unwrap();
//! n.advance(5_000);
//! assert_eq!(n.clusters["B"].mode(Kind::Dr), Mode::Secondary);
//! assert_eq!(n.get("B", "secret/app").as_deref(), Some("v1"));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

pub mod host;
mod net;

pub use net::{no_hook, Hook, Net, Observed};
