//! Raft's tuning, the scenario's `cluster.settings` when the protocol is `raft`: the election
//! timeout range and heartbeat interval (Raft §5.2, §5.6), batching and pipelining limits (thesis
//! §10.2), the options that stay correct (CheckQuorum, Pre-Vote, the conflict-term back-off of
//! §5.3, the eager commit notice), and the ZooKeeper front end's tick and session bounds.
//!
//! It owns numbers and their validation only; it never decides anything at run time.
//!
//! # The defaults
//!
//! The paper's experiments use election timeouts of 150–300 ms on a LAN (§9.3) and say the
//! heartbeat must be well below the minimum (broadcastTime ≪ electionTimeout, §5.6); zksim's
//! network delays a message by about 1 ms, as the paper's LAN did, so those values are kept as
//! they are. The ZooKeeper side is ZAB's (`zab::settings`): a 200 ms tick and sessions of 2 to 20
//! ticks, so the two protocols serve the same clients under the same session rules.

use crate::zookeeper::SessionLimits;
use serde::{Deserialize, Serialize};
use sim::SimDuration;

/// Raft's settings, every field with a default. Relations between fields (the heartbeat below the
/// election timeout, the range not empty) are checked when the settings are read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, try_from = "Unchecked")]
pub struct RaftSettings {
    /// ZooKeeper's tickTime: session expiry runs on it, and session timeouts are clamped to
    /// [min, max] ticks.
    pub tick_ms: u64,
    pub min_session_timeout_ticks: u64,
    pub max_session_timeout_ticks: u64,
    /// A follower (or candidate) that hears from no leader and grants no vote for a timeout drawn
    /// uniformly from [min, max) starts an election (§5.2). With `check_quorum`, a leader that
    /// heard from no majority within `max` steps down.
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// The leader's heartbeat (an AppendEntries, empty if nothing is due) to every follower.
    pub heartbeat_ms: u64,
    /// Batching: the most entries one AppendEntries carries.
    pub max_entries_per_append: u64,
    /// Pipelining: the most AppendEntries with entries in flight to one follower.
    pub max_inflight_appends: u64,
    /// When the commit index moves and nothing else is due to a follower, tell it at once (an
    /// AppendEntries it does not answer) instead of on the next heartbeat or entry, so that its
    /// clients get their answers one message delay after the commit.
    pub commit_notice: bool,
    /// CheckQuorum (etcd; thesis §6.2): a leader steps down when it has not heard from a majority
    /// within an election timeout, so a leader cut off from its followers stops serving.
    pub check_quorum: bool,
    /// The conflict-term back-off (§5.3, end): a follower that rejects AppendEntries names the
    /// term of its conflicting entry and the first index of that term, and the leader skips the
    /// whole term at once instead of one entry per round trip.
    pub conflict_term_backoff: bool,
    /// Pre-Vote (thesis §9.6): a server whose election timeout passed first asks whether a
    /// majority would vote for it (its log up to date, and no leader heard from within the
    /// minimum election timeout) and only then increments its term, so that a server cut off
    /// from the leader cannot depose it by inflating terms.
    pub pre_vote: bool,
}

impl Default for RaftSettings {
    fn default() -> RaftSettings {
        RaftSettings {
            tick_ms: 200,
            min_session_timeout_ticks: 2,
            max_session_timeout_ticks: 20,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_ms: 50,
            max_entries_per_append: 64,
            max_inflight_appends: 16,
            commit_notice: true,
            check_quorum: true,
            conflict_term_backoff: false,
            pre_vote: false,
        }
    }
}

/// The settings as written, before their relations are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Unchecked {
    tick_ms: u64,
    min_session_timeout_ticks: u64,
    max_session_timeout_ticks: u64,
    election_timeout_min_ms: u64,
    election_timeout_max_ms: u64,
    heartbeat_ms: u64,
    max_entries_per_append: u64,
    max_inflight_appends: u64,
    commit_notice: bool,
    check_quorum: bool,
    conflict_term_backoff: bool,
    pre_vote: bool,
}

impl Default for Unchecked {
    fn default() -> Unchecked {
        let d = RaftSettings::default();
        Unchecked {
            tick_ms: d.tick_ms,
            min_session_timeout_ticks: d.min_session_timeout_ticks,
            max_session_timeout_ticks: d.max_session_timeout_ticks,
            election_timeout_min_ms: d.election_timeout_min_ms,
            election_timeout_max_ms: d.election_timeout_max_ms,
            heartbeat_ms: d.heartbeat_ms,
            max_entries_per_append: d.max_entries_per_append,
            max_inflight_appends: d.max_inflight_appends,
            commit_notice: d.commit_notice,
            check_quorum: d.check_quorum,
            conflict_term_backoff: d.conflict_term_backoff,
            pre_vote: d.pre_vote,
        }
    }
}

impl TryFrom<Unchecked> for RaftSettings {
    type Error = String;

    fn try_from(u: Unchecked) -> Result<RaftSettings, String> {
        for (name, v) in [
            ("tick_ms", u.tick_ms),
            ("min_session_timeout_ticks", u.min_session_timeout_ticks),
            ("max_session_timeout_ticks", u.max_session_timeout_ticks),
            ("election_timeout_min_ms", u.election_timeout_min_ms),
            ("heartbeat_ms", u.heartbeat_ms),
            ("max_entries_per_append", u.max_entries_per_append),
            ("max_inflight_appends", u.max_inflight_appends),
        ] {
            if v == 0 {
                return Err(format!("{name} must be positive, got 0"));
            }
        }
        if u.election_timeout_max_ms <= u.election_timeout_min_ms {
            return Err(format!(
                "election_timeout_max_ms ({}) must exceed election_timeout_min_ms ({}): the timeout is drawn from [min, max)",
                u.election_timeout_max_ms, u.election_timeout_min_ms
            ));
        }
        if u.heartbeat_ms >= u.election_timeout_min_ms {
            return Err(format!(
                "heartbeat_ms ({}) must be below election_timeout_min_ms ({}) (Raft §5.6)",
                u.heartbeat_ms, u.election_timeout_min_ms
            ));
        }
        Ok(RaftSettings {
            tick_ms: u.tick_ms,
            min_session_timeout_ticks: u.min_session_timeout_ticks,
            max_session_timeout_ticks: u.max_session_timeout_ticks,
            election_timeout_min_ms: u.election_timeout_min_ms,
            election_timeout_max_ms: u.election_timeout_max_ms,
            heartbeat_ms: u.heartbeat_ms,
            max_entries_per_append: u.max_entries_per_append,
            max_inflight_appends: u.max_inflight_appends,
            commit_notice: u.commit_notice,
            check_quorum: u.check_quorum,
            conflict_term_backoff: u.conflict_term_backoff,
            pre_vote: u.pre_vote,
        })
    }
}

impl RaftSettings {
    pub fn tick(&self) -> SimDuration {
        SimDuration::from_ms(self.tick_ms)
    }

    pub fn heartbeat(&self) -> SimDuration {
        SimDuration::from_ms(self.heartbeat_ms)
    }

    pub fn election_timeout_min(&self) -> SimDuration {
        SimDuration::from_ms(self.election_timeout_min_ms)
    }

    pub fn election_timeout_max(&self) -> SimDuration {
        SimDuration::from_ms(self.election_timeout_max_ms)
    }

    /// The session timeouts this ensemble grants.
    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            tick_ms: self.tick_ms,
            min_ticks: self.min_session_timeout_ticks,
            max_ticks: self.max_session_timeout_ticks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_missing_fields_and_bad_relations_are_refused() {
        let s: RaftSettings = serde_json::from_str(r#"{"heartbeat_ms": 20}"#).unwrap();
        assert_eq!(s.heartbeat_ms, 20);
        assert_eq!(s.election_timeout_min_ms, 150);
        assert!(serde_json::from_str::<RaftSettings>(r#"{"heartbeat": 20}"#).is_err());
        assert!(serde_json::from_str::<RaftSettings>(r#"{"tick_ms": 0}"#).is_err());
        let e = serde_json::from_str::<RaftSettings>(r#"{"heartbeat_ms": 150}"#).unwrap_err();
        assert!(e.to_string().contains("§5.6"), "{e}");
        assert!(
            serde_json::from_str::<RaftSettings>(
                r#"{"election_timeout_min_ms": 300, "election_timeout_max_ms": 300}"#
            )
            .is_err()
        );
    }
}
