//! The two numbers the data tree is keyed by besides paths: `Zxid` (which transaction) and
//! `SessionId` (which client session). Plain integers in newtypes, so that one is never taken for
//! the other; this module gives them no behaviour beyond what ZooKeeper itself reads off them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A ZooKeeper transaction id: the epoch in the high 32 bits, a counter in the low 32 (Zab §4,
/// ZooKeeper's `ZxidUtils`). The data tree never does arithmetic on it: it only stores the zxid the
/// caller applies a write at, so the same tree serves a standalone replay (zxids 1, 2, 3, ...) and a
/// replica that learns zxids from its leader.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Zxid(pub u64);

/// In hex, as ZooKeeper's logs print zxids, so that the epoch reads off the high digits in traces
/// (`Zxid(0x300000002)`: epoch 3, second transaction). Traces hash values, not this text.
impl fmt::Debug for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zxid({:#x})", self.0)
    }
}

impl Zxid {
    /// The zxid of the state before any transaction: what the nodes present at start-up carry.
    pub const ZERO: Zxid = Zxid(0);

    pub fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid((u64::from(epoch) << 32) | u64::from(counter))
    }

    pub fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub fn counter(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A client session. Real servers derive ids from the clock and the server id; zksim's servers
/// assign them from the seeded world, and the conformance replay numbers them 1, 2, 3, ... in the
/// order of their `open_session` steps (FORMAT.md "Operations"). 0 is never a session: ZooKeeper
/// reports it as the `ephemeralOwner` of a node that is not ephemeral.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SessionId(pub u64);

impl SessionId {
    /// "No session": the `ephemeralOwner` of persistent and container nodes.
    pub const NONE: SessionId = SessionId(0);
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
