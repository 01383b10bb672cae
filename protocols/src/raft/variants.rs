//! The named variants of the Raft replica, selected by a scenario's `cluster.variant`. The correct
//! protocol is the default; each other variant flips exactly one rule of it, in the one place that
//! rule lives (at the `Variant` checks in `election`, `replication` and `reads`), so the buggy and
//! the correct replica share every other line. Each variant's documentation names the rule it
//! breaks and the paper figure or published bug it mirrors; `docs/raft.md` says which shipped
//! scenario catches it.
//!
//! This module only names and parses variants.

use crate::cluster::Variants;

/// One variant of the replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Raft as the paper (Fig. 2, §5, §8) and the thesis describe it.
    Correct,
    /// Breaks Fig. 2 "persistent state ... updated on stable storage before responding to RPCs":
    /// the vote (and the term it is in) is sent before the fsync that makes it durable
    /// completes, so a crash can take the vote back and the replica votes again in the same term
    /// (protocols.md P1: two leaders in one term).
    VoteNotDurable,
    /// Breaks §5.4.2: "Raft never commits log entries from previous terms by counting replicas".
    /// The leader commits any index a majority holds, whatever its term: the Fig. 8 sequence
    /// then overwrites a committed entry (protocols.md R1).
    CommitPrevTermByCount,
    /// Breaks Fig. 2 AppendEntries receiver rule 3, "if an existing entry conflicts with a new
    /// one ... delete the existing entry and all that follow it": the follower deletes everything
    /// after prevLogIndex on every AppendEntries, conflict or not, so an old or repeated
    /// AppendEntries erases entries it already acknowledged (protocols.md §3.3).
    TruncateOnAnyAppend,
    /// Breaks Fig. 2 receiver rule 5, "set commitIndex = min(leaderCommit, index of last new
    /// entry)": the follower takes leaderCommit bounded only by its own log, and applies entries
    /// of its log the leader never vouched for (protocols.md §3.3).
    CommitindexUnbounded,
    /// Breaks the rule that a successful AppendEntries proves the follower holds what was sent:
    /// the leader sets the follower's matchIndex to its own last index instead of prevLogIndex
    /// plus the entries sent, and counts copies the follower does not have (protocols.md §3.3).
    MatchindexFromLeader,
    /// Breaks "count distinct replicas" (§5.3, `replication::quorum`): the leader counts
    /// acknowledgements, not replicas, so a follower that acknowledged an index twice (a
    /// heartbeat's answer repeats it) counts twice (protocols.md P5).
    CountDuplicateAcks,
    /// Breaks §8: "each leader commit a blank no-op entry into the log at the start of its term";
    /// a new leader serves (sync barriers, session decisions) before an entry of its term is
    /// committed, so it may not know its predecessor's last commits (§8, thesis §6.4).
    NoNoopOnElection,
}

impl Variants for Variant {
    const ALL: &'static [Variant] = &[
        Variant::Correct,
        Variant::VoteNotDurable,
        Variant::CommitPrevTermByCount,
        Variant::TruncateOnAnyAppend,
        Variant::CommitindexUnbounded,
        Variant::MatchindexFromLeader,
        Variant::CountDuplicateAcks,
        Variant::NoNoopOnElection,
    ];

    const NAMES: &'static [&'static str] = &[
        "correct",
        "vote-not-durable",
        "commit-prev-term-by-count",
        "truncate-on-any-append",
        "commitindex-unbounded",
        "matchindex-from-leader",
        "count-duplicate-acks",
        "no-noop-on-election",
    ];
}

impl Variant {
    /// Whether the variant breaks a rule Raft needs for its guarantees.
    pub fn is_buggy(self) -> bool {
        self != Variant::Correct
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_default_comes_first() {
        for &v in Variant::ALL {
            assert_eq!(Variant::parse(v.name()), Some(v));
        }
        assert_eq!(Variant::parse(Variant::NAMES[0]), Some(Variant::Correct));
        assert_eq!(Variant::parse("nope"), None);
        assert_eq!(Variant::ALL.iter().filter(|v| !v.is_buggy()).count(), 1);
    }
}
