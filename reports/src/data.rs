//! The plain data the plots are drawn from. These types are the crate's whole input contract: a
//! runner converts its history and trace into them (and may store them as JSON), so this crate
//! never needs `sim` or `protocols`. Times are virtual milliseconds since the run started.
//!
//! This module also owns input validation: each plot checks its input here first, so a NaN or a
//! backwards window becomes an error naming the field rather than a garbled picture.

use serde::{Deserialize, Serialize};

use crate::error::ReportError;

/// How an operation ended, as the history records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The service answered and the operation took effect (or the read returned).
    Ok,
    /// The service answered that the operation did not take effect (e.g. `NoNode`).
    Fail,
    /// Indeterminate: the client gave up (timeout, connection loss); the operation may or may not
    /// have taken effect.
    Info,
}

/// One client operation: when it was invoked and how long until it completed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpSample {
    /// Virtual time of the invocation.
    pub start_ms: f64,
    /// Time from invocation to completion; for [`Outcome::Info`] the time until the client gave
    /// up, which is not a service latency.
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
    fn outcome_serializes_as_the_history_words() {
        let json = serde_json::to_string(&[Outcome::Ok, Outcome::Fail, Outcome::Info]).unwrap();
        assert_eq!(json, r#"["ok","fail","info"]"#);
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
