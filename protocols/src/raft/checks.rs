//! Raft's milestones as the shared replication checks read them (`crate::replication`):
//! durability (Leader Completeness, §5.4), prefix agreement (State Machine Safety), one leader per
//! term (Election Safety) and the protocol's assertions are judged there; this module maps
//! `RaftEvent` onto `Milestone` and counts what only Raft has (candidacies).
//!
//! A Raft leader is *established* in term T when it has applied the first entry of its term, its
//! no-op (§8): it then holds, applied, every entry committed before T (Leader Completeness), and
//! that history is what the durability check compares. An entry the leader applies is committed
//! in the leader's current term, whatever the term it was created in (§5.4.2: earlier entries
//! commit indirectly), so a later leader must hold it.
//!
//! This module reads a finished world and never changes it.

use super::Raft;
use crate::cluster::{Metric, Node, Obs, ProtocolReport};
pub use crate::replication::History;
use crate::replication::invariants::{self, Milestone, Milestones};
use crate::znode::Zxid;
use sim::World;

/// What a Raft replica reports.
#[derive(Clone, Debug)]
pub enum RaftEvent {
    /// The replica asks whether it could win the election of `term` (Pre-Vote, thesis §9.6).
    PreCandidate { term: u64 },
    /// The replica became a candidate in `term` (§5.2).
    Candidate { term: u64 },
    /// The replica won the election of `term` (a majority of votes).
    Elected { term: u64 },
    /// The leader of `term` applied its no-op: established, holding `history`.
    Established { term: u64, history: History },
    /// The leader of `term` applied the committed transaction `zxid`.
    Committed { term: u64, zxid: Zxid, chain: u64 },
    /// The replica applied the transaction `zxid`; `chain` digests its history up to there.
    Applied { zxid: Zxid, chain: u64 },
    /// The replica gave up the leadership of `term`, as its leader or as a follower of it.
    LeadershipLost { term: u64, why: &'static str },
    /// A protocol assertion failed.
    Violation(String),
}

impl Milestones for RaftEvent {
    fn milestone(&self) -> Option<Milestone<'_>> {
        Some(match self {
            RaftEvent::PreCandidate { .. } | RaftEvent::Candidate { .. } => return None,
            // Election Safety (Fig. 3) is about the election: a leader elected twice in a term
            // breaks it even if one of the two never gets established.
            &RaftEvent::Elected { term } => Milestone::Elected { term },
            RaftEvent::Established { term, history } => Milestone::Established {
                term: *term,
                history,
            },
            &RaftEvent::Committed { term, zxid, chain } => {
                Milestone::Committed { term, zxid, chain }
            }
            &RaftEvent::Applied { zxid, chain } => Milestone::Applied { zxid, chain },
            &RaftEvent::LeadershipLost { term, .. } => Milestone::LeadershipLost { term },
            RaftEvent::Violation(what) => Milestone::Violation(what),
        })
    }
}

/// The invariants, metrics and plot marks of a finished run.
pub fn report(world: &World<Node<Raft>>) -> ProtocolReport {
    let mut report = invariants::report(world, "term");
    let candidacies = world
        .observations()
        .iter()
        .filter(|o| matches!(&o.observation, Obs::Replica(RaftEvent::Candidate { .. })))
        .count();
    report.metrics.insert(
        "candidacy_count".to_string(),
        Metric::Count(candidacies as u64),
    );
    report
}
