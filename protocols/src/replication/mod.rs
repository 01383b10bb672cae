//! What every replication protocol shares, whatever it calls its rounds (epoch, term, ballot):
//! quorum counting (`quorum`) and the protocol-neutral invariants and recovery metrics judged after
//! a run from the milestones each protocol maps its events onto (`invariants`).
//!
//! Nothing here knows ZAB, Raft or Paxos; nothing here changes a run.

pub mod invariants;
pub mod quorum;

pub use invariants::{History, Milestone, Milestones};
pub use quorum::{has_at_least, is_quorum};
