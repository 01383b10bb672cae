//! The named variants of the Multi-Paxos replica, selected by a scenario's `cluster.variant`. The
//! correct protocol is the default; each other variant flips exactly one rule of it, in the one
//! place that rule lives, so the buggy and the correct replica share every other line of code.
//! Each variant's documentation names the rule it breaks and the paper or bug it mirrors;
//! `docs/paxos.md` says which shipped scenario catches it.
//!
//! This module only names and parses variants; the rules themselves live in the role modules, at
//! the `Variant` checks.

use crate::cluster::Variants;

/// One variant of the replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Multi-Paxos as "Paxos Made Simple" §2–3 and PMMC describe it: durable promises and
    /// accepts before replying, accepts at or above the promise only, the highest-ballot value
    /// adopted per slot, unique ballots, gaps filled with no-ops, quorums of distinct acceptors.
    Correct,
    /// Breaks PMS §2.5 for promises: "an acceptor must remember the highest-numbered prepare
    /// request to which it has responded" in stable storage before responding. The PROMISE leaves
    /// at once and the promise reaches the disk only with whatever fsync comes next; a crash can
    /// take it back, and the restarted acceptor then accepts a lower ballot it had promised to
    /// refuse (`protocols.md` §3 P1, `paxos.promise-not-durable`).
    PromiseNotDurable,
    /// Breaks PMS P1a: the acceptor checks an ACCEPT's ballot against the ballot it last
    /// *accepted* in that slot instead of the ballot it *promised*, so a deposed leader's delayed
    /// or resent ACCEPT is still accepted (`protocols.md` §3 P2, `paxos.accept-lower-ballot`).
    AcceptLowerBallot,
    /// Breaks PMS P2c (PMMC `pmax`): after phase 1 the leader takes, per slot, the value of the
    /// first promise that reports one instead of the value of the highest ballot
    /// (`protocols.md` §3 P3, `paxos.value-not-highest-ballot`).
    ValueNotHighestBallot,
    /// Breaks PMS §2.2's disjoint proposal numbers: every proposer uses (round, 0), so two
    /// candidates of one round share a ballot and an acceptor promises both
    /// (`protocols.md` §3.3 `paxos.non-unique-ballots`).
    NonUniqueBallots,
    /// Breaks PMS §3's recovery: a new leader neither adopts what its promise quorum accepted nor
    /// fills the gaps with no-ops; it proposes fresh commands from its first unexecuted slot
    /// (`protocols.md` §3.3 `paxos.gap-no-fill`).
    GapNoFill,
    /// Breaks "chosen by a quorum of distinct acceptors": the leader counts ACCEPTED replies, so a
    /// repeated reply from one acceptor counts twice (`protocols.md` §3 P5,
    /// `quorum.count-duplicates`; ZooKeeper keys its ack sets by server id and is immune).
    CountDuplicateAccepts,
    /// Breaks Flexible Paxos's |Q1| + |Q2| > n: phase 2 uses majorities but phase 1 only
    /// n − majority acceptors, so a new leader's promise quorum can miss every acceptor of a
    /// chosen value (Howard, Malkhi, Spiegelman 2016; `protocols.md` §3.3
    /// `quorum.flexible-nonintersecting`).
    FlexibleNonintersecting,
}

impl Variants for Variant {
    const ALL: &'static [Variant] = &[
        Variant::Correct,
        Variant::PromiseNotDurable,
        Variant::AcceptLowerBallot,
        Variant::ValueNotHighestBallot,
        Variant::NonUniqueBallots,
        Variant::GapNoFill,
        Variant::CountDuplicateAccepts,
        Variant::FlexibleNonintersecting,
    ];

    const NAMES: &'static [&'static str] = &[
        "correct",
        "promise-not-durable",
        "accept-lower-ballot",
        "value-not-highest-ballot",
        "non-unique-ballots",
        "gap-no-fill",
        "count-duplicate-accepts",
        "flexible-nonintersecting",
    ];
}

impl Variant {
    /// Whether the variant breaks a rule Multi-Paxos needs for its guarantees.
    pub fn is_buggy(self) -> bool {
        !matches!(self, Variant::Correct)
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
        assert!(!Variant::Correct.is_buggy());
    }
}
