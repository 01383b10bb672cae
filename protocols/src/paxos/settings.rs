//! Multi-Paxos's tuning, the scenario's `cluster.settings` when the protocol is `paxos`: the
//! leader's heartbeat and the range its followers' suspicion timeouts are drawn from, the
//! pipelining window α (PMMC's WINDOW), whether decisions are sent to learners or piggybacked on
//! the next ACCEPT and heartbeat, how long an unanswered ACCEPT waits before it is sent again, the
//! catch-up batch, and ZooKeeper's tickTime and session bounds for the shared front end.
//!
//! The defaults are sized like ZAB's (docs/zab.md "the scaling"): a network of about 1 ms per
//! message, a tick of 200 ms, and a follower that suspects a silent leader after 300–600 ms
//! (Raft §5.6's "broadcastTime ≪ electionTimeout": heartbeats every 50 ms).
//!
//! It owns numbers and their validation only; it never decides anything at run time.

use crate::zookeeper::SessionLimits;
use serde::{Deserialize, Deserializer, Serialize};
use sim::SimDuration;

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v == 0 {
        return Err(serde::de::Error::custom(
            "expected a positive number, got 0",
        ));
    }
    Ok(v)
}

/// How learners hear that a slot is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decisions {
    /// The leader sends a DECIDE to every other replica once a slot is chosen: (n−1) more
    /// messages per write, learners know at once.
    Sent,
    /// The decided prefix rides on the next ACCEPT and heartbeat: a replica that accepted the
    /// slot at the leader's ballot learns its value is chosen; one that did not asks (catch-up).
    Piggybacked,
}

/// Multi-Paxos's settings. Every field has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaxosSettings {
    /// ZooKeeper's tickTime: session expiry runs on it, and session timeouts are clamped to
    /// [min, max] session ticks.
    #[serde(deserialize_with = "positive")]
    pub tick_ms: u64,
    #[serde(deserialize_with = "positive")]
    pub min_session_timeout_ticks: u64,
    #[serde(deserialize_with = "positive")]
    pub max_session_timeout_ticks: u64,
    /// The leader's heartbeat period; also how often every replica checks its timers.
    #[serde(deserialize_with = "positive")]
    pub heartbeat_ms: u64,
    /// A replica that hears nothing from a leader for a time drawn from
    /// [election_timeout_min_ms, election_timeout_max_ms] suspects it and starts phase 1; a
    /// leader that has not heard from a quorum for election_timeout_min_ms steps down.
    #[serde(deserialize_with = "positive")]
    pub election_timeout_min_ms: u64,
    #[serde(deserialize_with = "positive")]
    pub election_timeout_max_ms: u64,
    /// α: at most this many slots past the decided prefix may be in flight (PMMC's WINDOW).
    #[serde(deserialize_with = "positive")]
    pub window: u64,
    pub decisions: Decisions,
    /// An ACCEPT without a quorum of answers after this long is sent again to those that did not
    /// answer (channels reset and partitions drop messages).
    #[serde(deserialize_with = "positive")]
    pub resend_ms: u64,
    /// The most decisions one catch-up answer carries.
    #[serde(deserialize_with = "positive")]
    pub catch_up_batch: u64,
    /// Flexible Paxos (Howard, Malkhi and Spiegelman, 2016): how many acceptors phase 1 (promises)
    /// and phase 2 (accepts) need. Any sizes with |Q1| + |Q2| > n are safe, since every phase-1
    /// quorum then meets every phase-2 quorum. Unset: a majority for phase 2, and for phase 1 the
    /// smallest size that meets it (n − |Q2| + 1); both unset, majorities.
    pub phase1_quorum: Option<u64>,
    pub phase2_quorum: Option<u64>,
}

impl Default for PaxosSettings {
    fn default() -> PaxosSettings {
        PaxosSettings {
            tick_ms: 200,
            min_session_timeout_ticks: 2,
            max_session_timeout_ticks: 20,
            heartbeat_ms: 50,
            election_timeout_min_ms: 300,
            election_timeout_max_ms: 600,
            window: 16,
            decisions: Decisions::Sent,
            resend_ms: 100,
            catch_up_batch: 200,
            phase1_quorum: None,
            phase2_quorum: None,
        }
    }
}

impl PaxosSettings {
    pub fn tick(&self) -> SimDuration {
        SimDuration::from_ms(self.tick_ms)
    }

    pub fn heartbeat(&self) -> SimDuration {
        SimDuration::from_ms(self.heartbeat_ms)
    }

    pub fn resend(&self) -> SimDuration {
        SimDuration::from_ms(self.resend_ms)
    }

    /// The suspicion timeout range, in ms, min ≤ max.
    pub fn election_timeout_range_ms(&self) -> (u64, u64) {
        let lo = self.election_timeout_min_ms;
        (lo, self.election_timeout_max_ms.max(lo))
    }

    /// The (phase-1, phase-2) quorum sizes for `n` replicas, or which field is wrong and why.
    pub fn quorums(&self, n: usize) -> Result<(usize, usize), (String, String)> {
        let n64 = n as u64;
        let majority = n64 / 2 + 1;
        let q2 = self.phase2_quorum.unwrap_or(majority);
        let q1 = match (self.phase1_quorum, self.phase2_quorum) {
            (Some(q1), _) => q1,
            (None, Some(q2)) => (n64 + 1).saturating_sub(q2),
            (None, None) => majority,
        };
        for (field, q) in [("phase2_quorum", q2), ("phase1_quorum", q1)] {
            if q == 0 || q > n64 {
                return Err((
                    field.into(),
                    format!("{q} acceptors: a quorum is 1 to the {n} replicas"),
                ));
            }
        }
        if q1 + q2 <= n64 {
            return Err((
                "phase1_quorum".into(),
                format!(
                    "phase-1 quorum {q1} + phase-2 quorum {q2} must exceed the {n} replicas, or a new leader's promises can miss every acceptor of a chosen value (Flexible Paxos)"
                ),
            ));
        }
        Ok((q1 as usize, q2 as usize))
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
    fn defaults_fill_missing_fields_and_unknown_fields_are_refused() {
        let s: PaxosSettings =
            serde_json::from_str(r#"{"window": 1, "decisions": "piggybacked"}"#).unwrap();
        assert_eq!(s.window, 1);
        assert_eq!(s.decisions, Decisions::Piggybacked);
        assert_eq!(s.heartbeat_ms, 50);
        assert!(serde_json::from_str::<PaxosSettings>(r#"{"alpha": 2}"#).is_err());
        assert!(serde_json::from_str::<PaxosSettings>(r#"{"window": 0}"#).is_err());
        assert!(serde_json::from_str::<PaxosSettings>(r#"{"decisions": "eager"}"#).is_err());
    }

    #[test]
    fn flexible_quorums_must_intersect() {
        let with = |q1: Option<u64>, q2: Option<u64>| PaxosSettings {
            phase1_quorum: q1,
            phase2_quorum: q2,
            ..PaxosSettings::default()
        };
        assert_eq!(with(None, None).quorums(5), Ok((3, 3)));
        assert_eq!(with(None, None).quorums(4), Ok((3, 3)));
        assert_eq!(with(None, Some(2)).quorums(5), Ok((4, 2)));
        assert_eq!(with(Some(5), Some(1)).quorums(5), Ok((5, 1)));
        let e = with(Some(3), Some(2)).quorums(5).unwrap_err();
        assert_eq!(e.0, "phase1_quorum");
        assert!(e.1.contains("must exceed the 5 replicas"), "{}", e.1);
        assert_eq!(
            with(None, Some(6)).quorums(5).unwrap_err().0,
            "phase2_quorum"
        );
        assert_eq!(
            with(Some(0), None).quorums(3).unwrap_err().0,
            "phase1_quorum"
        );
    }
}
