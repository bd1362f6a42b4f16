//! # replication-server
//!
//! `replication-core` hosted for real, as quinn hosts quinn-proto: a local emulator of Vault
//! Enterprise replication that automation (curl runbooks, Terraform, hvac or Go client scripts) can
//! be tested against. One [`node`] per cluster: the core on a thread of its own, a redb
//! [`store`] for durability, an HTTP API and a cluster port ([`http`]), and a [`peer`] network
//! between clusters.
//!
//! How a host embeds the core (what this crate does, and what `docs/embedding.md` explains step by
//! step):
//!
//! 1. **Start**: [`Store::load`](store::Store::load) what the data directory holds;
//!    `Cluster::from_durable` when it holds a cluster, `Cluster::new` when it does not.
//! 2. **Step** every input on one thread: HTTP requests through `replication_api` (`handle` for
//!    `/sys/replication`, `decode_client` / `render_client` for KV, mounts and health), envelopes
//!    from peers (`Envelope::open`, then `into_input`), and `Input::Tick` at `next_deadline()` by
//!    the real clock.
//! 3. **Persist** `ready().persist` in one fsync'd transaction ([`Store::commit`](store::Store::commit)),
//!    **then** send `ready().messages` (each sealed with `Envelope::seal`) and answer the caller. A
//!    forwarded write is answered when its `ClientReply` event comes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod dev;
pub mod http;
pub mod node;
pub mod peer;
pub mod serve;
pub mod store;
