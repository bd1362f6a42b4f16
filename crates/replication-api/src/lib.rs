//! The `/v1/sys/replication` HTTP API of `replication-core` as a pure request → response layer.
//!
//! Nothing here performs I/O, reads a clock or draws entropy on its own: the host hands in the request
//! (method, path, query, body bytes) plus whatever time and randomness an answer needs, and gets back a
//! [`envelope::Response`] to write to the wire.
//!
//! The lower layer, independent of the core:
//!
//! - [`path`]: normalising a request path (`/v1/sys/replication/status` ≡ `sys/replication/status`) into
//!   percent-decoded segments, and parsing a query string into key/value pairs;
//! - [`params`]: request parameters from a JSON body and/or the query, read with Vault's lenient typing
//!   (`"true"`, `1` and `true` are all booleans; `"30m"` and `1800` are both durations);
//! - [`envelope`]: Vault's JSON response envelope (`request_id`, `data`, `wrap_info`, `warnings`, …) and
//!   `{"errors": [...]}` answers, serialised deterministically.
#![forbid(unsafe_code)]

pub mod envelope;
pub mod params;
pub mod path;
