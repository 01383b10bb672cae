//! Conformance traces: reading them (../shared/conformance/FORMAT.md "Encoding") and replaying
//! them against a `Standalone` server built from this model, step by step, reporting every
//! difference in answer, zxid or notifications. It owns the trace format and the comparison; it
//! never reads files (the CLI and tests do) and never stops at the first mismatch.

use super::id::{SessionId, Zxid};
use super::op::{FieldError, Outcome, Reply, Request, ZkInput};
use super::server::Standalone;
use super::watch::Notification;
use serde::Deserialize;
use serde_json::{Map, Value};
use sim::json::{self, JsonError};
use std::fmt;

/// The format version this reader understands.
pub const FORMAT_VERSION: u32 = 1;

/// A trace that cannot be read: where, which field, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct TraceError {
    /// 1-based line in the file.
    pub line: usize,
    pub error: FieldError,
}

impl TraceError {
    fn at(line: usize, field: &str, reason: impl Into<String>) -> TraceError {
        TraceError {
            line,
            error: FieldError::at(field, reason),
        }
    }
}

/// Line 1 of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The file's name without `.jsonl`.
    pub trace: String,
    /// The workload seed; `None` for the scripted tours.
    pub seed: Option<u64>,
    /// The server version the answers came from.
    pub zookeeper: String,
    pub format: u32,
    /// How many step lines follow.
    pub steps: usize,
}

/// One step: a request, and what the real server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Where the step is in its file (1-based).
    pub line: usize,
    /// Its `step` number: 1, 2, 3, ... in file order.
    pub number: u64,
    pub input: ZkInput,
    pub expect: Outcome<Reply>,
    /// The last committed zxid once the step completed.
    pub zxid: Zxid,
    /// The notifications the step caused.
    pub events: Vec<Notification>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub header: Header,
    pub steps: Vec<Step>,
}

/// Which part of a step's answer differed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Expect,
    Zxid,
    Events,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Expect => "expect",
            Field::Zxid => "zxid",
            Field::Events => "events",
        }
    }
}

/// One difference between the model and the recorded server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub trace: String,
    pub step: u64,
    pub line: usize,
    /// The step's op name.
    pub op: &'static str,
    pub field: Field,
    /// What the real server answered, as JSON text (keys in the trace's order).
    pub expected: String,
    /// What the model answered, as JSON text.
    pub got: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} step {} ({}): {}: expected {}, got {}",
            self.trace,
            self.step,
            self.op,
            self.field.name(),
            self.expected,
            self.got
        )
    }
}

/// Reads a whole trace file's text.
pub fn parse_trace(text: &str) -> Result<Trace, TraceError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let header_line = lines
        .next()
        .ok_or_else(|| TraceError::at(1, "trace", "the file is empty"))?;
    let header = parse_header(header_line.1)?;
    // The header's count is only compared, never trusted to size anything.
    let mut steps = Vec::new();
    for (line, text) in lines {
        if steps.len() == header.steps {
            return Err(TraceError::at(
                line,
                "step",
                format!("a step past the {} the header announces", header.steps),
            ));
        }
        steps.push(parse_step(line, text, steps.len() as u64 + 1)?);
    }
    if steps.len() != header.steps {
        return Err(TraceError::at(
            1,
            "steps",
            format!(
                "the header announces {} steps, the file has {}",
                header.steps,
                steps.len()
            ),
        ));
    }
    Ok(Trace { header, steps })
}

fn parse_header(text: &str) -> Result<Header, TraceError> {
    let header: Header = json::from_str(text).map_err(|e| json_error(1, e))?;
    if header.format != FORMAT_VERSION {
        return Err(TraceError::at(
            1,
            "format",
            format!(
                "format {} is not supported (this reader knows {FORMAT_VERSION})",
                header.format
            ),
        ));
    }
    Ok(header)
}

/// A JSON error on `line` as a trace error: the field's path, else the column, and the reason.
fn json_error(line: usize, e: JsonError) -> TraceError {
    let error = match e.field {
        Some(field) => FieldError::at(field, e.reason),
        None => FieldError::whole(e.to_string()),
    };
    TraceError { line, error }
}

fn parse_step(line: usize, text: &str, expected_number: u64) -> Result<Step, TraceError> {
    let mut object: Map<String, Value> = json::from_str(text).map_err(|e| json_error(line, e))?;
    let mut take = |field: &str| {
        object
            .remove(field)
            .ok_or_else(|| TraceError::at(line, field, "missing"))
    };
    let number = take("step")?
        .as_u64()
        .ok_or_else(|| TraceError::at(line, "step", "not a step number"))?;
    if number != expected_number {
        return Err(TraceError::at(
            line,
            "step",
            format!("expected step {expected_number}, found {number}"),
        ));
    }
    let expect = take("expect")?;
    let zxid = take("zxid")?;
    let events = take("events")?;
    let session = match object.remove("session") {
        None => None,
        Some(value) => Some(SessionId(value.as_u64().ok_or_else(|| {
            TraceError::at(line, "session", format!("not a session number: {value}"))
        })?)),
    };
    // What is left is the op and its arguments.
    let request = Request::from_object(object).map_err(|error| TraceError { line, error })?;
    let input =
        ZkInput::new(session, request).map_err(|reason| TraceError::at(line, "session", reason))?;
    let expect = Outcome::from_json(&input.request, &expect)
        .map_err(|reason| TraceError::at(line, "expect", reason))?;
    let zxid = json::from_value::<Zxid>(&zxid).map_err(|e| json_error(line, e.under("zxid")))?;
    let events = json::from_value::<Vec<Notification>>(&events)
        .map_err(|e| json_error(line, e.under("events")))?;
    Ok(Step {
        line,
        number,
        input,
        expect,
        zxid,
        events,
    })
}

/// Replays `trace` against a fresh standalone server and returns every mismatch, in step order.
/// An empty list means the model reproduced every recorded answer, zxid and notification.
pub fn replay(trace: &Trace) -> Vec<Mismatch> {
    let mut server = Standalone::new();
    let mut mismatches = Vec::new();
    for step in &trace.steps {
        let answer = server.execute(&step.input);
        let mut mismatch = |field, expected: String, got: String| {
            mismatches.push(Mismatch {
                trace: trace.header.trace.clone(),
                step: step.number,
                line: step.line,
                op: step.input.request.name(),
                field,
                expected,
                got,
            })
        };
        if answer.outcome != step.expect {
            mismatch(Field::Expect, json(&step.expect), json(&answer.outcome));
        }
        if answer.zxid != step.zxid {
            mismatch(Field::Zxid, json(&step.zxid), json(&answer.zxid));
        }
        // Events are compared in the trace's order (session, path, type), whatever order the
        // trace file happens to list them in.
        let mut expected = step.events.clone();
        Notification::sort(&mut expected);
        let mut got = answer.notifications;
        Notification::sort(&mut got);
        if got != expected {
            mismatch(Field::Events, json(&expected), json(&got));
        }
    }
    mismatches
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model values always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"trace":"mini","seed":null,"zookeeper":"3.8.0","format":1,"steps":4}"#;
    const STEPS: [&str; 4] = [
        r#"{"step":1,"op":"open_session","expect":{"ok":1},"zxid":1,"events":[]}"#,
        r#"{"step":2,"op":"exists","session":1,"path":"/w","watch":true,"expect":{"err":"NoNode"},"zxid":1,"events":[]}"#,
        r#"{"step":3,"op":"create","session":1,"path":"/w","data":"ab","mode":"persistent","expect":{"ok":{"path":"/w","stat":{"czxid":2,"mzxid":2,"pzxid":2,"version":0,"cversion":0,"aversion":0,"ephemeralOwner":0,"dataLength":2,"numChildren":0}}},"zxid":2,"events":[{"session":1,"type":"created","path":"/w"}]}"#,
        r#"{"step":4,"op":"get_children","session":1,"path":"/","watch":false,"expect":{"ok":{"children":["w","zookeeper"],"stat":{"czxid":0,"mzxid":0,"pzxid":2,"version":0,"cversion":0,"aversion":0,"ephemeralOwner":0,"dataLength":0,"numChildren":2}}},"zxid":2,"events":[]}"#,
    ];

    fn text(steps: &[&str]) -> String {
        let mut text = String::from(HEADER);
        for step in steps {
            text.push('\n');
            text.push_str(step);
        }
        text.push('\n');
        text
    }

    #[test]
    fn a_faithful_trace_replays_without_mismatch() {
        let trace = parse_trace(&text(&STEPS)).unwrap();
        assert_eq!(trace.steps.len(), 4);
        assert_eq!(replay(&trace), vec![]);
    }

    #[test]
    fn each_altered_value_is_reported_at_its_step() {
        let altered = [
            (
                2,
                r#""expect":{"err":"NoNode"}"#,
                r#""expect":{"err":"NodeExists"}"#,
                Field::Expect,
            ),
            (3, r#""dataLength":2"#, r#""dataLength":3"#, Field::Expect),
            (
                3,
                r#""zxid":2,"events""#,
                r#""zxid":3,"events""#,
                Field::Zxid,
            ),
            (
                3,
                r#""type":"created""#,
                r#""type":"changed""#,
                Field::Events,
            ),
            (
                4,
                r#""children":["w","zookeeper"]"#,
                r#""children":["zookeeper","w"]"#,
                Field::Expect,
            ),
        ];
        for (step, from, to, field) in altered {
            let mut steps = STEPS.map(String::from);
            assert!(steps[step - 1].contains(from), "{from}");
            steps[step - 1] = steps[step - 1].replacen(from, to, 1);
            let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
            let mismatches = replay(&parse_trace(&text(&steps)).unwrap());
            assert_eq!(mismatches.len(), 1, "{to}: {mismatches:?}");
            assert_eq!(
                (mismatches[0].step, mismatches[0].field),
                (step as u64, field)
            );
            assert_eq!(mismatches[0].line, step + 1);
        }
    }

    #[test]
    fn malformed_traces_name_line_and_field() {
        let error = |steps: &[&str]| parse_trace(&text(steps)).unwrap_err();
        let field = |e: &TraceError| e.error.field.clone();
        let e = error(&STEPS[..3]);
        assert_eq!((e.line, field(&e)), (1, Some("steps".into())));
        let bad_session = STEPS[1].replace(r#""session":1"#, r#""session":"one""#);
        let e = error(&[STEPS[0], &bad_session, STEPS[2], STEPS[3]]);
        assert_eq!((e.line, field(&e)), (3, Some("session".into())));
        let no_path = STEPS[2].replace(r#""path":"/w","data""#, r#""data""#);
        let e = error(&[STEPS[0], STEPS[1], &no_path, STEPS[3]]);
        assert_eq!((e.line, field(&e)), (4, Some("path".into())));
        let bad_expect = STEPS[3].replace(r#""children":["#, r#""kids":["#);
        let e = error(&[STEPS[0], STEPS[1], STEPS[2], &bad_expect]);
        assert_eq!((e.line, field(&e)), (5, Some("expect".into())));
        let e = error(&[STEPS[0], STEPS[2], STEPS[1], STEPS[3]]);
        assert_eq!((e.line, field(&e)), (3, Some("step".into())));
        let e = error(&[STEPS[0], "{not json", STEPS[2], STEPS[3]]);
        assert_eq!((e.line, field(&e)), (3, None));
        let e = parse_trace(&text(&STEPS).replace(r#""format":1"#, r#""format":2"#)).unwrap_err();
        assert_eq!((e.line, field(&e)), (1, Some("format".into())));
        let e = parse_trace("").unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn a_header_count_is_never_trusted_to_allocate() {
        for steps in ["18446744073709551615", "100000000"] {
            let header = HEADER.replace(r#""steps":4"#, &format!(r#""steps":{steps}"#));
            let e = parse_trace(&(header + "\n" + STEPS[0] + "\n")).unwrap_err();
            assert_eq!(e.line, 1);
            assert_eq!(e.error.field.as_deref(), Some("steps"), "{e}");
        }
        // A step past the announced count is refused at its own line.
        let short = HEADER.replace(r#""steps":4"#, r#""steps":1"#);
        let e = parse_trace(&(short + "\n" + STEPS[0] + "\n" + STEPS[1])).unwrap_err();
        assert_eq!((e.line, e.error.field.as_deref()), (3, Some("step")), "{e}");
    }

    #[test]
    fn type_errors_name_the_field_path_and_one_position() {
        let header = HEADER.replace(r#""steps":4"#, r#""steps":"4""#);
        let e = parse_trace(&text(&STEPS).replace(HEADER, &header)).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"line 1: field `steps`: invalid type: string "4", expected usize"#
        );
        let events = STEPS[2].replace(r#""session":1,"type""#, r#""session":"1","type""#);
        let e = parse_trace(&text(&[STEPS[0], STEPS[1], &events, STEPS[3]])).unwrap_err();
        assert_eq!(
            (e.line, e.error.field.as_deref()),
            (4, Some("events[0].session"))
        );
        let e = parse_trace(&text(&[STEPS[0], "{\"step\":2,}"])).unwrap_err();
        assert_eq!(e.to_string(), "line 3: column 11: trailing comma");
    }
}
