//! Znode histories: how a history's lines become the checker's typed operations, and back. The
//! line layout and the pairing of invocations with completions belong to `sim` (`sim::history`,
//! `sim::check::formats`); this module owns only what a znode line's `f`, `value`, `session` and
//! `zxid` mean:
//!
//! - `f` is the op name (`create`, `multi`, ...; `Request::name`);
//! - an invocation's `value` is the arguments object (`Request::arguments`: `path`, `data`,
//!   `mode`, `version`, `watch`, `ops`), and its `session` the session it runs in (absent for
//!   `open_session`);
//! - an `ok` completion's `value` is the answer, `{"ok": ...}` or `{"err": "NAME"}`, exactly as a
//!   conformance trace's `expect`; its `zxid` is the reply header's;
//! - `fail` means the request did not take effect; `info` (or no completion) that it may have.
//!
//! It never checks anything itself: the model does.

use super::id::{SessionId, Zxid};
use super::model::ZnodeModel;
use super::op::{OP_NAMES, Outcome, Reply, Request, ZkInput, ZkOutput};
use sim::check::datum::Datum;
use sim::check::formats::{RawHistory, RawOp};
use sim::check::models::{Decode, decode};
use sim::check::verdict::OpRef;
use sim::check::{Budget, CheckResult, CheckStats, Error, Model, Operation, Verdict, check};
use sim::history::{Line, LineType};
use std::sync::Arc;

impl ZnodeModel {
    /// The model for a history whose header gives `initial`: a znode history always starts from a
    /// fresh server's tree, so any initial state is refused.
    pub fn new(initial: Option<&serde_json::Value>) -> Result<ZnodeModel, Error> {
        match initial {
            None | Some(serde_json::Value::Null) => Ok(ZnodeModel::default()),
            Some(other) => Err(Error::BadInitial {
                model: "znode".into(),
                reason: format!(
                    "a znode history starts from a fresh server's tree; got initial {other}"
                ),
            }),
        }
    }
}

impl Decode for ZnodeModel {
    fn name(&self) -> &'static str {
        "znode"
    }

    fn input(&self, op: &RawOp) -> Result<ZkInput, Error> {
        decode_input(&op.f, op.session, &op.invoke.to_json(), op.line)
    }

    fn output(&self, op: &RawOp, input: &ZkInput, value: &Datum) -> Result<ZkOutput, Error> {
        let line = op.completion_line.unwrap_or(op.line);
        decode_output(input, &value.to_json(), line, op.zxid)
    }
}

/// An invocation's request from its line's `f`, `session` and `value` (on line `line`), as
/// `Decode::input` reads it; for readers that hold the line's JSON already.
pub fn decode_input(
    f: &str,
    session: Option<u64>,
    arguments: &serde_json::Value,
    line: usize,
) -> Result<ZkInput, Error> {
    let bad = |reason: String| Error::BadValue {
        line,
        f: f.into(),
        reason,
    };
    if !OP_NAMES.contains(&f) {
        return Err(Error::UnknownOp {
            line,
            f: f.into(),
            model: "znode".into(),
        });
    }
    let request = Request::from_parts(f, arguments).map_err(|e| bad(format!("arguments: {e}")))?;
    ZkInput::new(session.map(SessionId), request).map_err(bad)
}

/// An `ok` completion's answer (`value` on line `line`, reply header `zxid`), as
/// `Decode::output` reads it.
pub fn decode_output(
    input: &ZkInput,
    answer: &serde_json::Value,
    line: usize,
    zxid: Option<u64>,
) -> Result<ZkOutput, Error> {
    let bad = |reason: String| Error::BadValue {
        line,
        f: input.request.name().into(),
        reason,
    };
    let outcome = Outcome::from_json(&input.request, answer)
        .map_err(|reason| bad(format!("answer: {reason}")))?;
    determinate(input, outcome, line, zxid)
}

/// `decode_input` for a request already typed (a run's record whose line would read `f` =
/// `request.name()`): the same checks, without the JSON.
pub fn typed_input(session: Option<u64>, request: &Request, line: usize) -> Result<ZkInput, Error> {
    ZkInput::new(session.map(SessionId), request.clone()).map_err(|reason| Error::BadValue {
        line,
        f: request.name().into(),
        reason,
    })
}

/// `decode_output` for an answer already typed (a run's record): the same output and errors. An
/// answer not in the shape of its request's goes through its JSON, which says what is wrong.
pub fn typed_output(
    input: &ZkInput,
    outcome: &Outcome<Reply>,
    line: usize,
    zxid: Option<u64>,
) -> Result<ZkOutput, Error> {
    let fits = match outcome {
        Outcome::Ok(reply) => reply.answers(&input.request),
        Outcome::Err(_) => true,
    };
    if !fits {
        let answer = serde_json::to_value(outcome).expect("outcomes serialize");
        return decode_output(input, &answer, line, zxid);
    }
    determinate(input, outcome.clone(), line, zxid)
}

/// The output of an `ok` line whose answer is `outcome`, unless its error leaves the outcome
/// unknown (that is an `info` line's).
fn determinate(
    input: &ZkInput,
    outcome: Outcome<Reply>,
    line: usize,
    zxid: Option<u64>,
) -> Result<ZkOutput, Error> {
    if let Some(error) = outcome.err().filter(|e| e.is_indeterminate()) {
        return Err(Error::BadValue {
            line,
            f: input.request.name().into(),
            reason: format!(
                "{error:?} says nothing about whether the request took effect: record it as an \
                 info line"
            ),
        });
    }
    Ok(ZkOutput {
        outcome,
        zxid: zxid.map(Zxid),
    })
}

/// Checks a read znode history for linearizability: `zksim check --model znode`.
pub fn check_history(
    raw: &RawHistory,
    initial: Option<&serde_json::Value>,
    budget: &Budget,
) -> Result<CheckResult, Error> {
    let ops = decode(&ZnodeModel::new(initial.or(raw.initial.as_ref()))?, raw)?;
    check_operations(ops, budget)
}

/// Checks decoded znode operations for linearizability. The zxid order, where it is a
/// linearization, decides at once what the exact search may take long to
/// (`checks::witness`); the search decides the parts it leaves, and its counterexample points at
/// `ops`.
pub fn check_operations(
    ops: Vec<Operation<ZkInput, ZkOutput>>,
    budget: &Budget,
) -> Result<CheckResult, Error> {
    let model = ZnodeModel::for_history(&ops);
    let left = crate::checks::witness::unexplained(&model, &ops);
    if left.len() == ops.len() {
        return check(Arc::new(model), ops.into(), budget);
    }
    let parts = model.partition(&ops).len();
    if left.is_empty() {
        return Ok(CheckResult {
            verdict: Verdict::Linearizable,
            operations: ops.len(),
            parts,
            stats: CheckStats::default(),
        });
    }
    let sub: Vec<_> = left.iter().map(|&i| ops[i].clone()).collect();
    let mut result = check(Arc::new(model), sub.into(), budget)?;
    if let Verdict::Violation(cx) = &mut result.verdict {
        let fix = |r: &mut OpRef| r.index = left[r.index];
        cx.core.iter_mut().for_each(fix);
        cx.longest.iter_mut().for_each(|s| fix(&mut s.op));
        fix(&mut cx.blocking);
        cx.stuck.iter_mut().for_each(|s| fix(&mut s.op));
    }
    result.operations = ops.len();
    result.parts = parts;
    Ok(result)
}

/// The invocation line of `request`, for a client recording its history.
pub fn invoke_line(process: u64, time: u64, input: &ZkInput) -> Line {
    Line {
        kind: LineType::Invoke,
        process,
        f: input.request.name().into(),
        value: input.request.arguments(),
        time,
        session: input.session.map(|s| s.0),
        zxid: None,
        server: None,
        error: None,
    }
}

/// The `ok` completion line of `request` answered `outcome` with reply header `zxid`.
pub fn ok_line(
    process: u64,
    time: u64,
    input: &ZkInput,
    outcome: &Outcome<Reply>,
    zxid: Zxid,
) -> Line {
    Line {
        kind: LineType::Ok,
        process,
        f: input.request.name().into(),
        value: serde_json::to_value(outcome).expect("answers serialize"),
        time,
        session: input.session.map(|s| s.0),
        zxid: Some(zxid.0),
        server: None,
        error: None,
    }
}
