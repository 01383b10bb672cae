//! Quorums: a strict majority of the ensemble, counted over distinct members. A vote counted twice
//! (a duplicated message, a replica that restarted and voted again) or a vote from outside the
//! ensemble never makes a quorum.

use sim::NodeId;
use std::collections::BTreeSet;

/// Whether `voters` are a quorum of the ensemble of `n` replicas `NodeId(0..n)`: more than half of
/// them, each counted once, members only.
pub fn is_quorum(n: usize, voters: impl IntoIterator<Item = NodeId>) -> bool {
    has_at_least(n, n / 2 + 1, voters)
}

/// Whether `voters` hold at least `size` distinct members of the ensemble of `n` replicas: a
/// quorum of a given size (Flexible Paxos's phase-1 and phase-2 quorums).
pub fn has_at_least(n: usize, size: usize, voters: impl IntoIterator<Item = NodeId>) -> bool {
    let distinct: BTreeSet<NodeId> = voters.into_iter().filter(|v| v.index() < n).collect();
    distinct.len() >= size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quorum_is_a_strict_majority_of_distinct_members() {
        let ids = |v: &[u32]| v.iter().map(|&i| NodeId(i)).collect::<Vec<_>>();
        assert!(is_quorum(3, ids(&[0, 2])));
        assert!(!is_quorum(3, ids(&[1])));
        assert!(!is_quorum(4, ids(&[0, 1])), "half is not a majority");
        assert!(is_quorum(4, ids(&[0, 1, 3])));
        assert!(!is_quorum(3, ids(&[1, 1, 1])), "one replica counted thrice");
        assert!(!is_quorum(3, ids(&[0, 7, 9])), "7 and 9 are not members");
        assert!(is_quorum(1, ids(&[0])));
    }
}
