//! The ZooKeeper 3.8 data model as a sequential specification: the data tree with its sessions,
//! ephemeral nodes and sequential counters (`tree`, `multi`), the typed requests and answers in
//! the JSON shape of the conformance traces and histories (`op`, `stat`), path rules (`path`),
//! per-server one-shot watches (`watch`), a standalone server that puts these together
//! (`server`), the replay of conformance traces recorded from a real server (`conformance`), the
//! reading of znode histories (`history`) and the model the linearizability checker judges them
//! by (`model`).
//!
//! Everything here is deterministic and sans-IO: no clock, no threads, no global state, no hash
//! iteration. It never assigns zxids or session ids on its own, except in `server`, which stands
//! for a whole standalone ZooKeeper.

pub mod conformance;
pub mod history;
pub mod id;
pub mod model;
mod multi;
pub mod op;
pub mod path;
pub mod server;
pub mod stat;
pub mod tree;
pub mod watch;

pub use id::{SessionId, Zxid};
pub use op::{
    Check, Children, Create, CreateMode, Created, Data, Delete, Multi, MultiCreated, Outcome, Read,
    Reply, Request, SetData, SubOp, SubReply, Sync, Watched, Write, ZkError, ZkInput, ZkOutput,
};
pub use stat::Stat;
pub use tree::{Applied, Change, DataTree, Node, NodeKind};
