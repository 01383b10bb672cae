//! The contract between the world and what runs in it. A process (replica or client) is a sans-IO
//! state machine: it reacts to one `Input` at a time and asks its `Ctx` for every effect. It never
//! reads a clock, sleeps, spawns, touches a file or draws randomness except through its context.

use crate::id::{IoId, NodeId, TimerId};
use std::fmt::Debug;
use std::hash::Hash;

/// A message processes exchange. The world counts messages and bytes per `kind`.
pub trait Message: Clone + Debug + Hash {
    /// The message's type as the protocol names it, e.g. `"PROPOSAL"`.
    fn kind(&self) -> &'static str;
    /// Approximate size on the wire, in bytes (header plus payload).
    fn size_bytes(&self) -> usize;
}

/// What a process reacts to.
#[derive(Clone, Debug)]
pub enum Input<M, T> {
    /// The process starts: for the first time (`restarted == false`, empty disk) or after a crash,
    /// as a new object that must rebuild its state from what its disk kept.
    Start { restarted: bool },
    /// A message arrived.
    Message { from: NodeId, msg: M },
    /// A timer the process set has fired.
    Timer { id: TimerId, timer: T },
    /// An fsync the process asked for has completed: every write made before it is durable.
    Synced { io: IoId },
    /// The in-order channel with `peer` was reset (a message on it was lost, or the peer crashed or
    /// closed it). Nothing sent on the old channel after the loss will arrive; the next message in
    /// either direction opens a new channel.
    Disconnected { peer: NodeId },
}

/// A state machine that runs inside the world.
pub trait Process: Sized {
    type Msg: Message;
    /// The process's own timer kinds.
    type Timer: Clone + Debug + Hash;
    /// What the process writes to its disk: one record per append.
    type Stored: Clone + Debug;
    /// What the process reports to the run's record: history lines, protocol milestones.
    type Observation: Debug;

    /// Reacts to one input, asking `ctx` for every effect.
    fn on_input(&mut self, input: Input<Self::Msg, Self::Timer>, ctx: &mut crate::Ctx<'_, Self>);

    /// The epoch (or term, or ballot round) in which this process believes it is the leader, if it
    /// does. Lets the nemesis aim at "the leader" and reports find leadership changes; the world
    /// decides nothing else from it.
    fn leadership(&self) -> Option<u64> {
        None
    }
}
