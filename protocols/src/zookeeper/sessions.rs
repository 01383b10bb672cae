//! Session tracking, ZooKeeper's `SessionTrackerImpl` with its `ExpiryQueue`: each open session's
//! timeout and the tick at which it expires unless touched. Sessions are quorum state: they are
//! opened and closed by transactions, so every replica learns them at commit; but only the
//! established leader acts on expiry, by proposing a closeSession transaction (the leader's
//! `SessionTrackerImpl`). Followers only collect which of their clients' sessions were active and
//! hand that to the leader in their answers to its pings (`LearnerSessionTracker`'s touch table).
//! A new leader rebuilds its tracker from the sessions in its database, with fresh deadlines.
//!
//! Deadlines are rounded up to the next tick, so a session expires in [timeout, timeout + tick)
//! after its last touch, as in ZooKeeper's tick buckets. This module decides *when*; the front end
//! (`server`) decides what expiry does (a transaction, or under `local-session-expiry` a local
//! deletion). The negotiation of a session's timeout lives here too, once for every protocol.

use crate::znode::SessionId;
use sim::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// The session timeouts a server grants: ZooKeeper's minSessionTimeout and maxSessionTimeout,
/// 2 and 20 ticks unless configured (`ZooKeeperServer.getMinSessionTimeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    pub tick_ms: u64,
    pub min_ticks: u64,
    pub max_ticks: u64,
}

impl SessionLimits {
    /// ZooKeeper's defaults for a tick of `tick_ms`: [2, 20] ticks.
    pub fn default_for_tick(tick_ms: u64) -> SessionLimits {
        SessionLimits {
            tick_ms,
            min_ticks: 2,
            max_ticks: 20,
        }
    }

    pub fn tick(&self) -> SimDuration {
        SimDuration::from_ms(self.tick_ms)
    }

    /// The one place a requested timeout is clamped to [minSessionTimeout, maxSessionTimeout]
    /// (`ZooKeeperServer.processConnectRequest`).
    pub fn negotiate_ms(&self, requested_ms: u64) -> u64 {
        let lo = self.min_ticks * self.tick_ms;
        let hi = (self.max_ticks * self.tick_ms).max(lo);
        requested_ms.clamp(lo, hi)
    }
}

#[derive(Clone, Debug)]
struct Tracked {
    timeout: SimDuration,
    expires: SimTime,
    /// Expiry was started (a closeSession is on its way): touches no longer revive it.
    closing: bool,
}

/// The sessions a replica tracks.
#[derive(Clone, Debug)]
pub struct SessionTracker {
    tick: SimDuration,
    sessions: BTreeMap<SessionId, Tracked>,
}

impl SessionTracker {
    pub fn new(tick: SimDuration) -> SessionTracker {
        SessionTracker {
            tick,
            sessions: BTreeMap::new(),
        }
    }

    /// `ExpiryQueue.roundToNextInterval`: the first tick boundary at or after `now + timeout`.
    fn deadline(&self, now: SimTime, timeout: SimDuration) -> SimTime {
        let at = (now + timeout).as_nanos();
        let tick = self.tick.as_nanos().max(1);
        SimTime(at.div_ceil(tick) * tick)
    }

    /// A session was opened (its createSession committed).
    pub fn add(&mut self, session: SessionId, timeout_ms: u64, now: SimTime) {
        let timeout = SimDuration::from_ms(timeout_ms);
        let expires = self.deadline(now, timeout);
        self.sessions.insert(
            session,
            Tracked {
                timeout,
                expires,
                closing: false,
            },
        );
    }

    /// A session was closed (its closeSession committed).
    pub fn remove(&mut self, session: SessionId) {
        self.sessions.remove(&session);
    }

    /// Client activity: pushes the deadline back. False if the session is unknown or closing
    /// (`SessionTrackerImpl.touchSession`), which is also how the leader revalidates a session
    /// for a client that reconnects to a learner.
    pub fn touch(&mut self, session: SessionId, now: SimTime) -> bool {
        let tick = self.tick;
        match self.sessions.get_mut(&session) {
            Some(t) if !t.closing => {
                let at = (now + t.timeout).as_nanos();
                let tick = tick.as_nanos().max(1);
                t.expires = t.expires.max(SimTime(at.div_ceil(tick) * tick));
                true
            }
            _ => false,
        }
    }

    /// A new leader (or, under `local-session-expiry`, any server that starts serving) tracks
    /// every open session of its database, each with a fresh deadline.
    pub fn rebuild(&mut self, timeouts: &BTreeMap<SessionId, u64>, now: SimTime) {
        self.sessions.clear();
        for (&session, &timeout_ms) in timeouts {
            self.add(session, timeout_ms, now);
        }
    }

    /// The sessions whose deadline has passed, now marked closing, in id order.
    pub fn expire(&mut self, now: SimTime) -> Vec<SessionId> {
        let mut expired = Vec::new();
        for (id, t) in &mut self.sessions {
            if !t.closing && t.expires <= now {
                t.closing = true;
                expired.push(*id);
            }
        }
        expired
    }

    pub fn is_tracked(&self, session: SessionId) -> bool {
        self.sessions.contains_key(&session)
    }
}

/// What a learner's clients did since its last answer to the leader's ping.
#[derive(Clone, Debug, Default)]
pub struct TouchTable {
    touched: BTreeSet<SessionId>,
}

impl TouchTable {
    pub fn touch(&mut self, session: SessionId) {
        self.touched.insert(session);
    }

    /// Empties the table into a ping answer.
    pub fn take(&mut self) -> Vec<SessionId> {
        std::mem::take(&mut self.touched).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_timeouts_are_clamped_to_two_and_twenty_ticks() {
        let s = SessionLimits::default_for_tick(200);
        assert_eq!(s.negotiate_ms(10), 400);
        assert_eq!(s.negotiate_ms(1_000), 1_000);
        assert_eq!(s.negotiate_ms(100_000), 4_000);
    }

    #[test]
    fn expiry_falls_within_one_tick_after_the_timeout_and_touches_defer_it() {
        let tick = SimDuration::from_ms(200);
        let mut t = SessionTracker::new(tick);
        let s = SessionId(7);
        t.add(s, 1_000, SimTime::from_ms(50));
        assert!(t.expire(SimTime::from_ms(1_049)).is_empty());
        assert!(t.expire(SimTime::from_ms(1_199)).is_empty());
        assert!(t.touch(s, SimTime::from_ms(900)));
        assert!(
            t.expire(SimTime::from_ms(1_200)).is_empty(),
            "the touch at 900 moved the deadline to 2000"
        );
        assert_eq!(t.expire(SimTime::from_ms(2_000)), vec![s]);
        assert!(
            !t.touch(s, SimTime::from_ms(2_001)),
            "a closing session cannot be revived"
        );
        assert!(t.expire(SimTime::from_ms(9_000)).is_empty(), "expired once");
    }
}
