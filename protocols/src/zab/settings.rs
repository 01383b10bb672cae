//! ZAB's tuning, the scenario's `cluster.settings` when the protocol is `zab`: ZooKeeper's own knobs
//! (tickTime, initLimit, syncLimit, the Fast Leader Election timers, the session timeout bounds,
//! snapCount) under their ZooKeeper names, with defaults scaled from ZooKeeper's for a simulated
//! network of about 1 ms per message and disks of about 1 ms per fsync.
//!
//! It owns numbers and their validation only; it never decides anything at run time.
//!
//! # The scaling
//!
//! ZooKeeper's sample configuration (`conf/zoo_sample.cfg`) runs on a LAN with sub-millisecond
//! round trips and millisecond fsyncs, which is what zksim simulates. Its timeouts are sized for
//! humans watching a production ensemble (a follower notices a silent leader after 10 s), which
//! would leave a 20-second simulated run with one fault cycle. Every *timeout* is therefore divided
//! by 10, and every *ratio* between them is kept, so the protocol's races keep their shape:
//!
//! | ZooKeeper | default there | here |
//! |---|---|---|
//! | tickTime | 2000 ms (sample config) | 200 ms |
//! | initLimit | 10 ticks (20 s) | 10 ticks (2 s) |
//! | syncLimit | 5 ticks (10 s) | 5 ticks (1 s) |
//! | finalizeWait | 200 ms | 20 ms |
//! | minNotificationInterval | 200 ms | 20 ms |
//! | maxNotificationInterval | 60 000 ms | 6 000 ms |
//! | leader connect retry (`leaderConnectDelayDuringRetryMs`) | 100 ms | 10 ms |
//! | min/max session timeout | 2 / 20 ticks (4 s / 40 s) | 2 / 20 ticks (400 ms / 4 s) |
//! | snapCount | 100 000 txns | 500 txns |
//!
//! Message latency and fsync time are *not* scaled (they are the scenario's), so every protocol
//! timeout stays at least 10 network round trips long, as in ZooKeeper. snapCount is scaled to the
//! length of a run rather than to time: a run commits a few thousand transactions, and 500 makes
//! snapshots, log compaction and SNAP synchronisation happen in every long run.

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

/// ZAB's settings. Every field has a default (see the module documentation for the scaling).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZabSettings {
    /// ZooKeeper's tickTime: the unit of the limits below and of session expiry. The leader pings
    /// its learners every half tick and checks every tick that a quorum is still with it.
    #[serde(deserialize_with = "positive")]
    pub tick_ms: u64,
    /// initLimit: how many ticks discovery and synchronisation may take, on both sides.
    #[serde(deserialize_with = "positive")]
    pub init_limit_ticks: u64,
    /// syncLimit: a follower that hears nothing from its leader for this many ticks goes back to
    /// LOOKING, and a leader that has not heard from a quorum for this long steps down.
    #[serde(deserialize_with = "positive")]
    pub sync_limit_ticks: u64,
    /// finalizeWait: once a quorum agrees on a vote, how long Fast Leader Election waits for a
    /// better one before deciding.
    #[serde(deserialize_with = "positive")]
    pub finalize_wait_ms: u64,
    /// minNotificationInterval: how long a LOOKING peer waits for notifications before sending its
    /// vote again; it doubles after every silent wait...
    #[serde(deserialize_with = "positive")]
    pub min_notification_interval_ms: u64,
    /// ...up to maxNotificationInterval.
    #[serde(deserialize_with = "positive")]
    pub max_notification_interval_ms: u64,
    /// How often a learner repeats FOLLOWERINFO while its chosen leader does not answer (the
    /// leader may not have finished its own election yet).
    #[serde(deserialize_with = "positive")]
    pub connect_retry_ms: u64,
    /// minSessionTimeout, in ticks.
    #[serde(deserialize_with = "positive")]
    pub min_session_timeout_ticks: u64,
    /// maxSessionTimeout, in ticks.
    #[serde(deserialize_with = "positive")]
    pub max_session_timeout_ticks: u64,
    /// snapCount: a replica snapshots its committed tree and compacts its log after between half
    /// of this and this many transactions (randomised, as ZooKeeper does).
    #[serde(deserialize_with = "positive")]
    pub snap_count: u64,
}

impl Default for ZabSettings {
    fn default() -> ZabSettings {
        ZabSettings {
            tick_ms: 200,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            finalize_wait_ms: 20,
            min_notification_interval_ms: 20,
            max_notification_interval_ms: 6_000,
            connect_retry_ms: 10,
            min_session_timeout_ticks: 2,
            max_session_timeout_ticks: 20,
            snap_count: 500,
        }
    }
}

impl ZabSettings {
    pub fn tick(&self) -> SimDuration {
        SimDuration::from_ms(self.tick_ms)
    }

    pub fn half_tick(&self) -> SimDuration {
        self.tick().div(2)
    }

    pub fn init_limit(&self) -> SimDuration {
        self.tick().mul(self.init_limit_ticks)
    }

    pub fn sync_limit(&self) -> SimDuration {
        self.tick().mul(self.sync_limit_ticks)
    }

    pub fn min_notification_interval(&self) -> SimDuration {
        SimDuration::from_ms(self.min_notification_interval_ms)
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
        let s: ZabSettings = serde_json::from_str(r#"{"tick_ms": 100}"#).unwrap();
        assert_eq!(s.tick_ms, 100);
        assert_eq!(s.sync_limit_ticks, 5);
        assert!(serde_json::from_str::<ZabSettings>(r#"{"tick": 100}"#).is_err());
        assert!(serde_json::from_str::<ZabSettings>(r#"{"tick_ms": 0}"#).is_err());
    }
}
