//! Multi-Paxos's milestones as the shared replication checks read them (`crate::replication`):
//! durability, prefix agreement, one leader per ballot and the protocol's assertions, the recovery
//! metrics and the plot marks are computed there; this module maps `PaxosEvent` onto `Milestone`
//! and counts what only Paxos has (phase-1 attempts).
//!
//! The mapping: a leader is *established* once phase 1 succeeded and every slot it adopted
//! (values and no-ops) is decided and executed at it (PMMC's leader after its scouts adopted and
//! its commanders finished; the concept map's "phase-1 quorum", plus the recovered slots
//! executed, as Raft's "first commit in the term"); its history is then its executed history.
//! A slot is *committed* in a ballot when the leader of that ballot executes it (it is chosen:
//! decided by a quorum of accepts or adopted from a promise quorum). Ballots are terms, by
//! `Ballot::term`.
//!
//! This module reads a finished world and never changes it.

use super::Paxos;
use crate::cluster::{Metric, Node, Obs, ProtocolReport};
pub use crate::replication::History;
use crate::replication::invariants::{self, COMMITTED_NOOPS, Milestone, Milestones};
use crate::znode::Zxid;
use sim::World;

/// What a Multi-Paxos replica reports.
#[derive(Clone, Debug)]
pub enum PaxosEvent {
    /// The replica suspects the leader and starts phase 1 with ballot `term`.
    Candidate { term: u64 },
    /// The replica is the established leader of ballot `term`, holding `history`.
    Established { term: u64, history: History },
    /// The leader of ballot `term` executed the chosen command at `zxid`.
    Committed { term: u64, zxid: Zxid, chain: u64 },
    /// The leader of ballot `term` executed the no-op its quorum chose for `slot`.
    NoopChosen { term: u64, slot: u64 },
    /// The replica executed the command at `zxid`; `chain` digests its history up to there.
    Applied { zxid: Zxid, chain: u64 },
    /// The replica gave up the leadership of ballot `term` it held or followed.
    LeadershipLost { term: u64, why: &'static str },
    /// A protocol assertion failed.
    Violation(String),
}

impl Milestones for PaxosEvent {
    fn milestone(&self) -> Option<Milestone<'_>> {
        Some(match self {
            PaxosEvent::Candidate { .. } | PaxosEvent::NoopChosen { .. } => return None,
            PaxosEvent::Established { term, history } => Milestone::Established {
                term: *term,
                history,
            },
            &PaxosEvent::Committed { term, zxid, chain } => {
                Milestone::Committed { term, zxid, chain }
            }
            &PaxosEvent::Applied { zxid, chain } => Milestone::Applied { zxid, chain },
            &PaxosEvent::LeadershipLost { term, .. } => Milestone::LeadershipLost { term },
            PaxosEvent::Violation(what) => Milestone::Violation(what),
        })
    }
}

/// The invariants, metrics and plot marks of a finished run.
pub fn report(world: &World<Node<Paxos>>) -> ProtocolReport {
    let mut report = invariants::report(world, "ballot");
    let phase1 = world
        .observations()
        .iter()
        .filter(|o| matches!(&o.observation, Obs::Replica(PaxosEvent::Candidate { .. })))
        .count();
    report.metrics.insert(
        "phase1_attempt_count".to_string(),
        Metric::Count(phase1 as u64),
    );
    let noops = world
        .observations()
        .iter()
        .filter(|o| matches!(&o.observation, Obs::Replica(PaxosEvent::NoopChosen { .. })))
        .count();
    report
        .metrics
        .insert(COMMITTED_NOOPS.to_string(), Metric::Count(noops as u64));
    report
}
