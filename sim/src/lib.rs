//! Multi-cluster simulator and scenario runner for `replication-core`.
#![forbid(unsafe_code)]

pub mod scenario;
