//! The limits of one check and the flag that enforces them. It owns what a caller may bound (wall
//! time, memory of the search, effort spent shrinking a counterexample) and the shared atomic
//! state through which a running search learns that it must stop. It never decides a verdict: a
//! budget that runs out turns into `Unknown`, never into a guess.

use serde::Serialize;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How much a check may spend before it answers `Unknown`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Wall-clock limit for the whole check (all parts, including a slow model step). `None`: no
    /// limit, and the check runs on the calling thread.
    pub timeout: Option<Duration>,
    /// Limit on the bytes held by the search's memo and state table, summed over the parts being
    /// checked at the same time. An estimate (see `Model::state_heap_bytes`), not the process's RSS.
    pub memory_bytes: Option<usize>,
    /// How many search steps the counterexample shrinking may spend in total. Counting steps rather
    /// than time keeps the reported counterexample the same on every machine; when the steps run out
    /// the reported set is still unsatisfiable, only perhaps not minimal. 0 disables shrinking.
    pub shrink_steps: u64,
}

impl Default for Budget {
    /// One minute, 4 GiB, and enough shrinking for histories of a few thousand operations.
    fn default() -> Budget {
        Budget {
            timeout: Some(Duration::from_secs(60)),
            memory_bytes: Some(4 << 30),
            shrink_steps: 5_000_000,
        }
    }
}

impl Budget {
    /// No limits at all: for tests and callers that bound the work themselves.
    pub fn unlimited() -> Budget {
        Budget {
            timeout: None,
            memory_bytes: None,
            shrink_steps: u64::MAX,
        }
    }
}

/// When a whole check must end, for a check made of several passes and searches: each search is
/// given the time left (or less), so what the passes before it spent (reading the history, single
/// passes over it, a replay) comes out of the searches' time, and the check ends near its timeout
/// however long those passes took.
#[derive(Clone, Debug)]
pub struct Deadline {
    start: Instant,
    budget: Budget,
}

impl Deadline {
    /// The check starts now, with `budget`.
    pub fn start(budget: &Budget) -> Deadline {
        // A check is outside any simulated world: its time limit is wall-clock time.
        #[allow(clippy::disallowed_methods)]
        Deadline {
            start: Instant::now(),
            budget: budget.clone(),
        }
    }

    /// The budget of a search that may take at most `share` of the whole timeout (`None`: all
    /// of it), and never runs past the check's end.
    pub fn budget(&self, share: Option<Duration>) -> Budget {
        let left = |t: Duration| t.saturating_sub(self.start.elapsed());
        Budget {
            timeout: self
                .budget
                .timeout
                .map(|t| share.map_or(left(t), |s| s.min(left(t)))),
            ..self.budget.clone()
        }
    }

    /// The whole check's budget.
    pub fn whole(&self) -> &Budget {
        &self.budget
    }
}

/// Why a check ended without a verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum UnknownReason {
    /// The wall-clock limit passed.
    Timeout { seconds: f64 },
    /// The memo and state table grew past the memory limit.
    Memory { limit_bytes: usize },
}

impl std::fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnknownReason::Timeout { seconds } => write!(f, "time limit of {seconds} s reached"),
            UnknownReason::Memory { limit_bytes } => {
                write!(f, "memory limit of {} MiB reached", limit_bytes >> 20)
            }
        }
    }
}

const RUNNING: u8 = 0;
const TIMED_OUT: u8 = 1;
const OUT_OF_MEMORY: u8 = 2;

/// Shared by every part of one check and by the thread that watches the clock.
#[derive(Debug)]
pub(crate) struct Control {
    stop: AtomicU8,
    memory_used: AtomicUsize,
    memory_limit: Option<usize>,
    timeout: Option<Duration>,
}

impl Control {
    pub(crate) fn new(budget: &Budget) -> Control {
        Control {
            stop: AtomicU8::new(RUNNING),
            memory_used: AtomicUsize::new(0),
            memory_limit: budget.memory_bytes,
            timeout: budget.timeout,
        }
    }

    /// Tells every search of this check to stop at its next poll.
    pub(crate) fn time_out(&self) {
        let _ =
            self.stop
                .compare_exchange(RUNNING, TIMED_OUT, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Why the check must stop, if it must.
    pub(crate) fn stopped(&self) -> Option<UnknownReason> {
        match self.stop.load(Ordering::Relaxed) {
            RUNNING => None,
            TIMED_OUT => Some(self.timeout_reason()),
            _ => Some(UnknownReason::Memory {
                limit_bytes: self.memory_limit.unwrap_or(usize::MAX),
            }),
        }
    }

    pub(crate) fn timeout_reason(&self) -> UnknownReason {
        UnknownReason::Timeout {
            seconds: self.timeout.map_or(0.0, |t| t.as_secs_f64()),
        }
    }

    /// Records that a search now holds `delta` more bytes; trips the memory limit if the total
    /// passes it. Searches call this in batches, so the limit may be overshot by one batch.
    pub(crate) fn grow(&self, delta: usize) {
        let total = self.memory_used.fetch_add(delta, Ordering::Relaxed) + delta;
        if self.memory_limit.is_some_and(|limit| total > limit) {
            let _ = self.stop.compare_exchange(
                RUNNING,
                OUT_OF_MEMORY,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// Records that a finished search released `delta` bytes.
    pub(crate) fn shrink(&self, delta: usize) {
        self.memory_used.fetch_sub(delta, Ordering::Relaxed);
    }
}
