//! Virtual time. A run reads no clock but this one: `SimTime` is an integer count of nanoseconds
//! since the run began, advanced only by the world's event loop. Nothing here may read the wall clock.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// The longest span, and the latest instant, a scenario may name: one virtual day, in
/// milliseconds. A run that long already records millions of operations; the bound keeps every sum
/// of times far from `u64` nanoseconds' limit (about 584 years).
pub const MAX_SCENARIO_MS: f64 = 86_400_000.0;

/// Checks a time read from a scenario: a finite number of milliseconds in `[0, MAX_SCENARIO_MS]`.
/// On error, `(field, what was expected)`.
pub fn check_ms(field: &str, ms: f64) -> Result<(), (String, String)> {
    if ms.is_finite() && (0.0..=MAX_SCENARIO_MS).contains(&ms) {
        Ok(())
    } else {
        Err((
            field.into(),
            format!("expected milliseconds from 0 to {MAX_SCENARIO_MS} (one day), got {ms}"),
        ))
    }
}

/// A point in virtual time, in nanoseconds since the start of the run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of virtual time, in nanoseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub fn from_ms(ms: u64) -> SimTime {
        SimTime(ms.saturating_mul(1_000_000))
    }
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    /// Milliseconds, rounded down.
    pub fn as_ms(self) -> u64 {
        self.0 / 1_000_000
    }
    /// Milliseconds as a float, for reports and plots only (never to decide an event).
    pub fn as_ms_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_nanos(ns: u64) -> SimDuration {
        SimDuration(ns)
    }
    pub const fn from_micros(us: u64) -> SimDuration {
        SimDuration(us.saturating_mul(1_000))
    }
    pub const fn from_ms(ms: u64) -> SimDuration {
        SimDuration(ms.saturating_mul(1_000_000))
    }
    pub const fn from_secs(s: u64) -> SimDuration {
        SimDuration(s.saturating_mul(1_000_000_000))
    }
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_ms(self) -> u64 {
        self.0 / 1_000_000
    }
    pub fn as_ms_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// `k` times this span, saturating rather than wrapping.
    #[allow(clippy::should_implement_trait)] // Saturating, unlike `Mul`; named for the call sites.
    pub fn mul(self, k: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(k))
    }
    /// This span split in `k` (a `k` of 0 is taken as 1).
    #[allow(clippy::should_implement_trait)] // Total, unlike `Div`; named for the call sites.
    pub fn div(self, k: u64) -> SimDuration {
        SimDuration(self.0 / k.max(1))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.since(earlier)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for SimTime {
    /// Milliseconds with three decimals (microsecond resolution), as in traces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1_000_000, (self.0 / 1_000) % 1_000)
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:03}ms",
            self.0 / 1_000_000,
            (self.0 / 1_000) % 1_000
        )
    }
}
