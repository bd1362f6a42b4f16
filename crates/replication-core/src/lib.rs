//! replication-core: HashiCorp Vault Enterprise replication as a pure state machine.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cluster;
pub mod error;
pub mod ids;
pub mod merkle;
pub mod message;
pub mod request;
pub mod storage;
pub mod time;
pub mod token;
pub mod unseal;
pub mod wal;

pub use cluster::{Cluster, ClusterConfig, KindStatus, Ready, Role, SnapshotError};
pub use error::{ActivationRefusal, Error, ErrorClass};
pub use ids::{ClusterId, Kind, Mode, SecondaryState};
pub use message::{Message, Transmit};
pub use request::{ClientOp, Event, Input, PromoteAuth, Reply, Request, Side, UpdateTarget};
pub use storage::{DataClass, FilterMode, PathsFilter};
pub use time::{Duration, Timestamp};
