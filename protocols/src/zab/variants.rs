//! The named variants of the ZAB replica, selected by a scenario's `cluster.variant`. The correct
//! protocol is the default; each other variant flips exactly one rule of it, in the one place that
//! rule lives, so the buggy and the correct replica share every other line of code. Each variant's
//! documentation names the rule it breaks and the real ZooKeeper bug (or documented behaviour) it
//! mirrors; `docs/zab.md` says which shipped scenario catches it.
//!
//! This module only names and parses variants; the rules themselves live in the phase modules, at
//! the `Variant` checks.

use crate::cluster::Variants;

/// One variant of the replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// ZAB as ZooKeeper 3.x runs it, with ZooKeeper's `sync`: the leader answers a SYNC as soon as
    /// the proposals outstanding when it arrived are committed, without asking a quorum whether it
    /// still leads (ZOOKEEPER-1675, documented: sync+read is not linearizable under a deposed
    /// leader).
    Correct,
    /// Correct, with a stricter `sync`: the leader answers a SYNC only after a quorum of its
    /// followers has answered a ping round it started after the SYNC arrived, so a deposed leader
    /// cannot answer. Passes the `zookeeper+sync` check that `Correct` may fail.
    SyncThroughQuorum,
    /// Breaks: "a rejoining follower whose last zxid is not in the leader's history is truncated
    /// to the last common zxid (TRUNC), or sent a snapshot when that crosses an epoch". The leader
    /// sends a DIFF from the follower's own zxid instead, so the follower keeps an uncommitted
    /// suffix under the new leader's transactions. ZOOKEEPER-1154/-1156, -2832, -2845.
    SyncNoTrunc,
    /// Breaks: "on NEWLEADER the follower makes the synced transactions durable, then persists its
    /// current epoch, then acks". The follower persists its epoch and acks NEWLEADER at once and
    /// hands the synced transactions to its asynchronous log afterwards, as ZooKeeper did before
    /// ZOOKEEPER-3911 (and the races left by its first fix, ZOOKEEPER-4646, -4785).
    AckNewleaderBeforeFsync,
    /// Breaks the order of the two durable writes on NEWLEADER: the current epoch is persisted
    /// first and the synced transactions second (the ack still waits for both). A crash between
    /// the two leaves a replica whose epoch vouches for a history it does not hold, and it can win
    /// the next election. ZOOKEEPER-4643.
    EpochBeforeLog,
    /// Breaks: "a replica promises an epoch at most once: it persists acceptedEpoch before it
    /// sends ACKEPOCH, and answers LEADERINFO for an epoch it already accepted with -1, which
    /// does not count". The replica keeps acceptedEpoch in memory only, so after a restart it no
    /// longer knows which epoch it promised and would promise it again — a repeated ACKEPOCH for
    /// an already accepted epoch, counted as fresh, so two leaders can share an epoch. ZooKeeper's
    /// `Learner.registerWithLeader` / `Leader.waitForEpochAck` rule and its persistence
    /// (ZOOKEEPER-1291: the leader did not persist acceptedEpoch; Medeiros 2012). The flavour
    /// where only the leader counts the -1 cannot manifest on its own under Fast Leader Election's
    /// quorum intersection (docs/zab.md explains why), so zksim ships this one.
    AckepochReuse,
    /// Breaks: "only the leader's session tracker expires sessions, and expiry is a closeSession
    /// transaction". Every server runs its own expiry on what it alone has seen of the session and
    /// deletes the session's ephemerals locally, with no transaction. ZooKeeper's session design;
    /// symptoms in ZOOKEEPER-2355, -5010.
    LocalSessionExpiry,
    /// Breaks: "a follower acks a proposal only after it is durable in its log". The follower acks
    /// as soon as the proposal is written to the page cache; the leader may commit on acks that a
    /// crash takes back. The `SyncRequestProcessor` → `SendAckRequestProcessor` order.
    AckBeforeFsync,
}

impl Variants for Variant {
    const ALL: &'static [Variant] = &[
        Variant::Correct,
        Variant::SyncThroughQuorum,
        Variant::SyncNoTrunc,
        Variant::AckNewleaderBeforeFsync,
        Variant::EpochBeforeLog,
        Variant::AckepochReuse,
        Variant::LocalSessionExpiry,
        Variant::AckBeforeFsync,
    ];

    const NAMES: &'static [&'static str] = &[
        "correct",
        "sync-through-quorum",
        "sync-no-trunc",
        "ack-newleader-before-fsync",
        "epoch-before-log",
        "ackepoch-reuse",
        "local-session-expiry",
        "ack-before-fsync",
    ];
}

impl Variant {
    /// Whether the variant breaks a rule ZAB needs for its own guarantees (durability, prefix
    /// agreement, one leader per epoch, ZooKeeper's documented contract).
    pub fn is_buggy(self) -> bool {
        !matches!(self, Variant::Correct | Variant::SyncThroughQuorum)
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
        assert_eq!(Variant::ALL.iter().filter(|v| !v.is_buggy()).count(), 2);
    }
}
