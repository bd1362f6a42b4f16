//! The `/v1/sys/replication` HTTP API of `replication-core` as a pure request → response layer.
//!
//! Nothing here performs I/O, reads a clock or draws entropy on its own: the host hands in the request
//! (method, path, query, body bytes) plus whatever time and randomness an answer needs, and gets back a
//! [`envelope::Response`] to write to the wire.
//!
//! # Serving a request
//!
//! [`handle`] is the one entry point: a [`Cluster`](replication_core::Cluster), the host's time and
//! RNG, and an [`HttpRequest`] (method, path with or without `/v1/` and `?query`, the caller's
//! authority, body bytes) in; an [`Response`] out. Afterwards the host collects the cluster's
//! outgoing messages with `cluster.ready()`, as after any other step.
//!
//! ```
//! use rand_chacha::{rand_core::SeedableRng, ChaCha8Rng};
//! use replication_api::{handle, Caller, HttpRequest};
//! use replication_core::{Cluster, ClusterConfig, Timestamp};
//!
//! let mut rng = ChaCha8Rng::seed_from_u64(1);
//! let now = Timestamp::from_millis(1_700_000_000_000);
//! let mut a = Cluster::new(ClusterConfig::new("A"), &[("secret/".into(), false)], &mut rng);
//!
//! let r = handle(&mut a, now, &mut rng, &HttpRequest::sudo("POST", "/v1/sys/replication/performance/primary/enable"));
//! assert_eq!((r.status, r.body), (204, None));
//!
//! let r = handle(&mut a, now, &mut rng, &HttpRequest::sudo("GET", "/v1/sys/replication/status").caller(Caller::Anonymous));
//! assert_eq!(r.body.unwrap()["data"]["performance"]["mode"], "primary");
//!
//! let r = handle(&mut a, now, &mut rng, &HttpRequest::sudo("DELETE", "/v1/sys/replication/status"));
//! assert_eq!(r.status, 405);
//! ```
//!
//! How the layer is built (its files are private; what a host needs is re-exported at the root):
//!
//! - `routes.rs`: the route table as data ([`ROUTES`]): every endpoint of the seed documents with its
//!   methods, authority, kind and operation ([`lookup`]); `docs/api.md` shows it
//!   ([`route_table_markdown`]);
//! - `handler.rs`: routing, authority checks and parameter reading ([`decode`]), then the step and the
//!   answer ([`execute`]); [`handle`] is both;
//! - `build.rs`: the core request each route makes from its parameters, and the parameters it takes;
//! - `render.rs`: the core's replies and errors as Vault's responses ([`error_response`]);
//! - `path.rs`: normalising a request path (`/v1/sys/replication/status` ≡ `sys/replication/status`)
//!   into percent-decoded segments ([`RequestPath`]), and parsing a query string ([`parse_query`]);
//! - `params.rs`: request parameters from a JSON body and/or the query, read with Vault's lenient
//!   typing (`"true"`, `1` and `true` are all booleans; `"30m"` and `1800` are both durations);
//! - `envelope.rs`: Vault's JSON response envelope (`request_id`, `data`, `wrap_info`, `warnings`, …)
//!   and `{"errors": [...]}` answers ([`Response`]), serialised deterministically.
#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

mod build;
mod client;
mod envelope;
mod handler;
mod params;
mod path;
mod render;
mod routes;

pub use client::{
    decode_client, health, mounts, render_client, render_forwarded, ClientCall, HealthCodes,
};
pub use envelope::{Response, CONTENT_TYPE_JSON};
pub use handler::{decode, execute, handle, Caller, Decoded, HttpRequest};
pub use path::{parse_query, PathError, QueryError, RequestPath};
pub use render::error_response;
pub use routes::{lookup, route_table_markdown, Authority, Lookup, Method, Op, Route, ROUTES};
