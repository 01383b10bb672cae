//! The plain data the plots are drawn from. These types are the crate's whole input contract: a
//! runner converts its history and trace into them (and may store them as JSON), so this crate
//! never needs `sim` or `protocols`. Times are virtual milliseconds since the run started.
//!
//! This module also owns input validation: each plot checks its input here first, so a NaN or a
//! backwards window becomes an error naming the field rather than a garbled picture.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ReportError;

/// How an operation ended. The history's `ok` lines split in two: an answer that is a ZooKeeper
/// error is an [`Outcome::ErrorReply`], a normal outcome of a request the service executed; `fail`
/// and `info` keep the history's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The service answered, and the answer is not an error.
    Ok,
    /// The service answered with a ZooKeeper error (`NoNode`, `BadVersion`, ...): an `ok` line of
    /// the history whose answer is `{"err": ...}`.
    ErrorReply,
    /// The operation definitely did not take effect (a `fail` line of the history).
    Fail,
    /// Indeterminate: the client gave up (timeout, connection loss); the operation may or may not
    /// have taken effect (an `info` line of the history).
    Info,
    /// Still in flight when the run ended: as indeterminate as `info`.
    Open,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::ErrorReply,
        Outcome::Fail,
        Outcome::Info,
        Outcome::Open,
    ];

    /// The outcome's name wherever a person reads it (plot legends and tables, the run summary):
    /// `ok`, `error reply`, `fail`, `info`, `open`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ErrorReply => "error reply",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
            Outcome::Open => "open",
        }
    }

    /// A legend entry for `count` operations of this outcome: the name, with what it means where
    /// the name alone does not say.
    pub(crate) fn legend(self, count: u64) -> String {
        match self {
            Outcome::Fail => format!("fail: did not take effect ({count})"),
            Outcome::Info => format!("info: client gave up ({count})"),
            Outcome::Open => format!("open at the end ({count})"),
            _ => format!("{} ({count})", self.name()),
        }
    }

    /// Whether the service answered (ok, error reply or fail), so the latency is a service's.
    pub fn answered(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::ErrorReply | Outcome::Fail)
    }
}

/// Operations by outcome, as `results.json` and the plots count them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub ok: u64,
    pub error_reply: u64,
    pub fail: u64,
    pub info: u64,
    pub open: u64,
}

impl OutcomeCounts {
    /// The count of `outcome`.
    pub fn of(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Ok => self.ok,
            Outcome::ErrorReply => self.error_reply,
            Outcome::Fail => self.fail,
            Outcome::Info => self.info,
            Outcome::Open => self.open,
        }
    }

    fn add(&mut self, outcome: Outcome) {
        *match outcome {
            Outcome::Ok => &mut self.ok,
            Outcome::ErrorReply => &mut self.error_reply,
            Outcome::Fail => &mut self.fail,
            Outcome::Info => &mut self.info,
            Outcome::Open => &mut self.open,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        Outcome::ALL.iter().map(|&o| self.of(o)).sum()
    }

    /// The operations that ended: all but the open ones.
    pub fn completed(&self) -> u64 {
        self.total() - self.open
    }
}

/// Operations by outcome: over all samples, and by operation type.
pub fn outcome_counts(samples: &[OpSample]) -> (OutcomeCounts, BTreeMap<String, OutcomeCounts>) {
    let mut total = OutcomeCounts::default();
    let mut by_type: BTreeMap<String, OutcomeCounts> = BTreeMap::new();
    for s in samples {
        total.add(s.outcome);
        by_type.entry(s.op.clone()).or_default().add(s.outcome);
    }
    (total, by_type)
}

/// One client operation: when it was invoked and how long until it completed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpSample {
    /// Virtual time of the invocation.
    pub start_ms: f64,
    /// Time from invocation to completion; for [`Outcome::Info`] the time until the client gave
    /// up and for [`Outcome::Open`] the time until the run ended, neither a service latency.
    pub latency_ms: f64,
    /// The operation type, e.g. `create` or `get_data`; one colour per type in the plots.
    pub op: String,
    pub outcome: Outcome,
}

/// A fault that lasted a while: shaded as a band over the time it was in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultWindow {
    pub start_ms: f64,
    pub end_ms: f64,
    /// Short text drawn with the band, e.g. `crash n2` or `partition n0 | n1,n2`.
    pub label: String,
    /// The fault kind (`crash`, `pause`, `partition`, `clog`, ...); it picks the band's colour.
    pub kind: String,
}

/// An instantaneous event worth seeing on a time axis, e.g. `leader n1 (epoch 3)` or `heal all`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub at_ms: f64,
    pub label: String,
}

/// A check that did not pass, so that a run's plots say so and mark when. A failed check found a
/// violation; an `undecided` one could not reach a verdict (a budget or the event limit ran out).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailedCheck {
    /// The check's name, as the run's results name it (`linearizable`, `durability`, ...).
    pub check: String,
    pub undecided: bool,
    /// When the check's finding places the failure (e.g. the first operation of a
    /// counterexample), or `None` when the finding has no time; the plots then say so.
    pub at_ms: Option<f64>,
    /// The end of the span the finding covers (e.g. a liveness window), if it is a span.
    pub until_ms: Option<f64>,
}

/// One message for the space–time diagram, between lanes indexed into the diagram's lane names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Arrow {
    pub from: usize,
    pub to: usize,
    pub sent_ms: f64,
    /// `None` when the message was lost (dropped by the network or by a crash of the receiver).
    pub received_ms: Option<f64>,
    /// The message kind, e.g. `PROPOSAL` or `ACK`; drawn on the arrow.
    pub label: String,
}

/// The operation types present, sorted: their positions pick their colours, so every plot of the
/// same samples colours `create` the same way.
pub(crate) fn op_types(samples: &[OpSample]) -> Vec<&str> {
    let mut ops: Vec<&str> = samples.iter().map(|s| s.op.as_str()).collect();
    ops.sort_unstable();
    ops.dedup();
    ops
}

/// Rejects a value that cannot be placed on an axis.
fn finite(value: f64, what: impl FnOnce() -> String) -> Result<(), ReportError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(ReportError::InvalidInput(format!("{} is {value}", what())))
    }
}

pub(crate) fn check_samples(samples: &[OpSample]) -> Result<(), ReportError> {
    for (i, s) in samples.iter().enumerate() {
        finite(s.start_ms, || format!("samples[{i}].start_ms"))?;
        finite(s.latency_ms, || format!("samples[{i}].latency_ms"))?;
        if s.latency_ms < 0.0 {
            return Err(ReportError::InvalidInput(format!(
                "samples[{i}].latency_ms is negative ({})",
                s.latency_ms
            )));
        }
    }
    Ok(())
}

pub(crate) fn check_windows(windows: &[FaultWindow]) -> Result<(), ReportError> {
    for (i, w) in windows.iter().enumerate() {
        finite(w.start_ms, || format!("windows[{i}].start_ms"))?;
        finite(w.end_ms, || format!("windows[{i}].end_ms"))?;
        if w.end_ms < w.start_ms {
            return Err(ReportError::InvalidInput(format!(
                "windows[{i}] ({}) ends at {} ms, before it starts at {} ms",
                w.label, w.end_ms, w.start_ms
            )));
        }
    }
    Ok(())
}

pub(crate) fn check_marks(marks: &[Mark]) -> Result<(), ReportError> {
    for (i, m) in marks.iter().enumerate() {
        finite(m.at_ms, || format!("marks[{i}].at_ms"))?;
    }
    Ok(())
}

pub(crate) fn check_failures(failures: &[FailedCheck]) -> Result<(), ReportError> {
    for (i, f) in failures.iter().enumerate() {
        if let Some(at) = f.at_ms {
            finite(at, || format!("failures[{i}].at_ms"))?;
        }
        if let Some(until) = f.until_ms {
            finite(until, || format!("failures[{i}].until_ms"))?;
            if f.at_ms.is_none_or(|at| until < at) {
                return Err(ReportError::InvalidInput(format!(
                    "failures[{i}] ({}) ends at {until} ms, before it starts",
                    f.check
                )));
            }
        }
    }
    Ok(())
}

pub(crate) fn check_arrows(lane_count: usize, arrows: &[Arrow]) -> Result<(), ReportError> {
    for (i, a) in arrows.iter().enumerate() {
        for (field, lane) in [("from", a.from), ("to", a.to)] {
            if lane >= lane_count {
                return Err(ReportError::InvalidInput(format!(
                    "arrows[{i}].{field} is lane {lane}, but there are {lane_count} lanes"
                )));
            }
        }
        finite(a.sent_ms, || format!("arrows[{i}].sent_ms"))?;
        if let Some(received) = a.received_ms {
            finite(received, || format!("arrows[{i}].received_ms"))?;
            if received < a.sent_ms {
                return Err(ReportError::InvalidInput(format!(
                    "arrows[{i}] ({}) is received at {received} ms, before it is sent at {} ms",
                    a.label, a.sent_ms
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_keep_the_history_words_and_name_error_replies_apart() {
        let json = serde_json::to_string(&Outcome::ALL).unwrap();
        assert_eq!(json, r#"["ok","error_reply","fail","info","open"]"#);
        let names: Vec<&str> = Outcome::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names, ["ok", "error reply", "fail", "info", "open"]);
    }

    #[test]
    fn outcome_counts_add_up_by_type() {
        let sample = |op: &str, outcome| OpSample {
            start_ms: 0.0,
            latency_ms: 1.0,
            op: op.into(),
            outcome,
        };
        let samples = [
            sample("create", Outcome::Ok),
            sample("create", Outcome::ErrorReply),
            sample("get_data", Outcome::ErrorReply),
            sample("get_data", Outcome::Open),
        ];
        let (total, by_type) = outcome_counts(&samples);
        assert_eq!((total.ok, total.error_reply, total.open), (1, 2, 1));
        assert_eq!(total.total(), 4);
        assert_eq!(by_type["get_data"].of(Outcome::ErrorReply), 1);
        assert_eq!(by_type["create"].total(), 2);
    }

    #[test]
    fn validation_names_the_offending_field() {
        let bad = OpSample {
            start_ms: 1.0,
            latency_ms: f64::NAN,
            op: "get_data".into(),
            outcome: Outcome::Ok,
        };
        let err = check_samples(&[bad]).unwrap_err().to_string();
        assert!(err.contains("samples[0].latency_ms"), "{err}");

        let backwards = FaultWindow {
            start_ms: 10.0,
            end_ms: 5.0,
            label: "crash n1".into(),
            kind: "crash".into(),
        };
        let err = check_windows(&[backwards]).unwrap_err().to_string();
        assert!(
            err.contains("windows[0]") && err.contains("crash n1"),
            "{err}"
        );

        let stray = Arrow {
            from: 0,
            to: 3,
            sent_ms: 0.0,
            received_ms: Some(1.0),
            label: "ACK".into(),
        };
        let err = check_arrows(3, &[stray]).unwrap_err().to_string();
        assert!(err.contains("arrows[0].to is lane 3"), "{err}");
    }
}
