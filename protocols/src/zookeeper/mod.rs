//! The ZooKeeper server front end every replication protocol shares: client connections, each
//! session's FIFO request queue, the session tracker, watches, revalidation, timeout negotiation,
//! the database and the in-order application of committed transactions (`server`, `sessions`,
//! `database`). A protocol decides only the order of transactions: it implements
//! `server::Replication` and tells the front end what committed, in order.
//!
//! Nothing here knows which protocol runs it, and nothing here assigns a zxid.

pub mod database;
pub mod server;
pub mod sessions;

pub use database::{Db, Txn};
pub use server::{ExpiryRule, Replication, Submitted, ZkCtx, ZkServer};
pub use sessions::{SessionLimits, SessionTracker, TouchTable};
