//! Identifiers the world hands out. Plain integers in newtypes, so that a node id is never taken
//! for a timer id; all of them are assigned in event order, so they are the same on every replay.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A process in the world: a replica or a client. Ids are dense, `0..node_count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A timer a process set; returned by `Ctx::set_timer` so that it can be cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// An fsync a process asked for; its completion arrives as `Input::Synced(io)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IoId(pub u64);
