//! `sim`: zksim's deterministic world. It owns virtual time, the seeded random streams, the event
//! queue, the network and its faults, the disks, process lifecycles, the trace and its hash, and the
//! generic history checkers. It knows nothing of ZooKeeper or of any protocol: processes are opaque
//! state machines behind the `Process` trait.

pub mod alone;
pub mod check;
pub mod disk;
pub mod history;
pub mod id;
pub mod json;
pub mod nemesis;
pub mod net;
pub mod process;
pub mod queue;
pub mod rng;
pub mod time;
pub mod trace;
pub mod world;

pub use alone::{Alone, Effect, EffectOf};
pub use id::{IoId, NodeId, TimerId};
pub use process::{Input, Message, Process};
pub use rng::{Ratio, SimRng, Streams};
pub use time::{SimDuration, SimTime};
pub use world::{Ctx, NodeKind, NodeState, Observed, RunEnd, World, WorldConfig};
