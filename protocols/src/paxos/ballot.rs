//! Ballots ("proposal numbers", Paxos Made Simple §2.2; PMMC's ballot numbers): a pair
//! (round, proposer id), ordered by round and then by proposer, so that they are totally ordered
//! and no two proposers ever use the same one ("different proposers choose their numbers from
//! disjoint sets", Paxos Made Simple §2.2 footnote). A proposer picks a round above every ballot
//! it has seen. This module owns the type and its ordering; it decides nothing.

use sim::NodeId;
use std::fmt;

/// A ballot: (round, proposer).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ballot {
    pub round: u64,
    pub proposer: u32,
}

impl Ballot {
    /// Below every ballot a proposer uses: what a fresh acceptor has promised.
    pub const ZERO: Ballot = Ballot {
        round: 0,
        proposer: 0,
    };

    pub fn new(round: u64, proposer: NodeId) -> Ballot {
        Ballot {
            round,
            proposer: proposer.0,
        }
    }

    /// The proposer that leads with this ballot.
    pub fn leader(self) -> NodeId {
        NodeId(self.proposer)
    }

    /// The ballot as one number for the shared checks ("term"), in the same order: the round in
    /// the high bits, the proposer (below 256 replicas) in the low byte.
    pub fn term(self) -> u64 {
        debug_assert!(self.proposer < 256, "proposer ids fit a byte");
        (self.round << 8) | u64::from(self.proposer)
    }
}

/// `b3.1`: round 3 of proposer n1, as the traces show it.
impl fmt::Debug for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{}.{}", self.round, self.proposer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paxos Made Simple §2.2: proposal numbers are totally ordered and unique per proposer; the
    /// shared checks' term keeps that order.
    #[test]
    fn ballots_order_by_round_then_proposer_and_terms_keep_the_order() {
        let a = Ballot::new(1, NodeId(2));
        let b = Ballot::new(2, NodeId(0));
        let c = Ballot::new(2, NodeId(1));
        assert!(Ballot::ZERO < a && a < b && b < c);
        assert!(a.term() < b.term() && b.term() < c.term());
        assert_ne!(Ballot::new(2, NodeId(0)), Ballot::new(2, NodeId(1)));
        assert_eq!(c.leader(), NodeId(1));
    }
}
