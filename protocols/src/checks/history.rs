//! The history as ZooKeeper's contract checks read it: every operation decoded for the znode model
//! and sorted into what it tells about the zxid order (a write placed at its zxid, a write that
//! floats, a read or sync answered at a zxid), the watch notifications and session expiries the
//! clients recorded, each session's own timeline of invocations, replies and notifications, and,
//! for every operation, the largest zxid any operation had shown before it was invoked. It also
//! adds the session expiries a history implies but does not show (see `implied_expiries`).
//!
//! It decides no guarantee: the sibling modules do. It refuses only what the znode model cannot
//! read (an operation's arguments or answer); anything odd about an event line becomes a note, never
//! an error or a panic.

use crate::cluster::{Record, SERVER_PROCESS, Value, expiry_process};
use crate::znode::history::{decode_input, decode_output, typed_input, typed_output};
use crate::znode::model::ZnodeModel;
use crate::znode::watch::EventType;
use crate::znode::{Outcome, Read, Reply, Request, SessionId, Write, ZkError, ZkInput, ZkOutput};
use serde::Deserialize as _;
use sim::SimTime;
use sim::check::formats::{Completion, Format, Paired, Pairing, RawHistory};
use sim::check::{Error, Model};
use sim::history::{Line, LineType};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// What an operation says about the zxid order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A write answered with its reply zxid: it took effect exactly at that zxid.
    Write,
    /// A write whose zxid the history does not show (an `info` or open operation, or an answer
    /// without a zxid): it took effect at some zxid the history does not name, or (unless it was
    /// answered) not at all.
    Floating,
    /// `get_data`, `exists` or `get_children` answered with a reply zxid: the answer is the state
    /// at that zxid.
    Read,
    /// `sync` answered with a reply zxid.
    Sync,
    /// Nothing to place: `open_session` (its answer has no zxid and it touches no node), answers
    /// `SessionExpired` (nothing happened), reads without an answer or a zxid.
    Other,
}

/// One operation.
#[derive(Clone, Debug)]
pub(crate) struct Op {
    pub input: ZkInput,
    /// `None`: the outcome is unknown.
    pub output: Option<ZkOutput>,
    pub role: Role,
    pub process: u64,
    /// The session it ran in; for `open_session`, the session its answer opened.
    pub session: Option<SessionId>,
    /// Positions of the invocation and completion in the history's event order (`ret` is
    /// `u64::MAX` when the outcome is unknown).
    pub call: u64,
    pub ret: u64,
    pub line: usize,
    pub completion_line: Option<usize>,
    /// The reply header's zxid.
    pub zxid: Option<u64>,
    pub server: Option<u32>,
    /// Index in the read history's operations; `None` for an implied expiry.
    pub raw: Option<usize>,
}

impl Op {
    pub fn is_write(&self) -> bool {
        matches!(self.input.request, Request::Write(_))
    }

    /// Recorded by a server (an expiry), or implied: not something the session itself issued.
    pub fn by_server(&self) -> bool {
        self.process >= SERVER_PROCESS
    }

    pub fn is_implied(&self) -> bool {
        self.raw.is_none()
    }

    /// A reply zxid the session saw: a determinate answer that carried one.
    pub fn seen_zxid(&self) -> Option<u64> {
        match self.role {
            Role::Write | Role::Read | Role::Sync => self.zxid,
            Role::Floating | Role::Other => None,
        }
    }

    /// The operation in words, with its answer and zxid.
    pub fn describe(&self) -> String {
        let text = ZnodeModel::default().describe_operation(&self.input, self.output.as_ref());
        match (self.is_implied(), self.by_server()) {
            (true, _) => format!("{text} (an expiry the history implies but does not record)"),
            (false, true) => format!("{text} (recorded by a server: an expiry)"),
            (false, false) => text,
        }
    }
}

/// What a client recorded outside any operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// A watch notification: what happened, to which node.
    Watch { kind: EventType, path: String },
    /// The client learned that its session expired.
    SessionExpired,
}

#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub kind: EventKind,
    pub line: usize,
    pub process: u64,
    pub session: SessionId,
    /// For a notification, the zxid of the transaction that fired it, or the zxid of the server's
    /// state when it re-armed the session's watches on a reconnect.
    pub zxid: Option<u64>,
    pub server: Option<u32>,
}

/// One step of a session's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The session issued operation `i`.
    Invoke(usize),
    /// Operation `i` completed (with any outcome: `info` too).
    Complete(usize),
    /// The session received event `i`.
    Event(usize),
}

/// The largest zxid shown before an operation was invoked, by whichever operation showed it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Before {
    /// By any determinate answer.
    pub any: Option<(u64, usize)>,
    /// By a write's answer (`Role::Write`).
    pub write: Option<(u64, usize)>,
    /// The largest, and the largest shown to another session than the largest's (a server's
    /// operation counts as no session's): so that the largest shown to sessions other than a
    /// given one is known too (`Before::by_others`).
    top: [Option<(u64, usize, Option<SessionId>)>; 2],
}

impl Before {
    /// The largest zxid an answer to another session than `session` had shown.
    pub fn by_others(&self, session: Option<SessionId>) -> Option<(u64, usize)> {
        self.top
            .iter()
            .flatten()
            .find(|(_, _, s)| *s != session || session.is_none())
            .map(|&(z, j, _)| (z, j))
    }

    fn add(&mut self, z: u64, j: usize, session: Option<SessionId>, write: bool) {
        if self.any.is_none_or(|(m, _)| z > m) {
            self.any = Some((z, j));
        }
        if write && self.write.is_none_or(|(m, _)| z > m) {
            self.write = Some((z, j));
        }
        match self.top {
            [Some((m, _, s)), _] if s == session => {
                if z > m {
                    self.top[0] = Some((z, j, session));
                }
            }
            [first, second] => {
                if first.is_none_or(|(m, _, _)| z > m) {
                    self.top = [Some((z, j, session)), first];
                } else if second.is_none_or(|(m, _, _)| z > m) {
                    self.top[1] = Some((z, j, session));
                }
            }
        }
    }
}

pub(crate) struct History {
    pub ops: Vec<Op>,
    pub events: Vec<Event>,
    /// Each session's own steps in file order: the operations its client issued (never a server's
    /// expiry) and the events it received.
    pub sessions: BTreeMap<SessionId, Vec<Step>>,
    /// Per operation, what had been shown before its invocation.
    pub before: Vec<Before>,
    /// Things the checks could not use, and assumptions they made, in words.
    pub notes: Vec<String>,
}

/// One operation as a reader paired it, before decoding: from a `RawOp`, straight from the
/// history's lines (the JSON borrowed, not converted), or from a run's typed records.
struct Parts<'a> {
    process: u64,
    f: &'a str,
    session: Option<u64>,
    arguments: Arguments<'a>,
    answer: Answer<'a>,
    call: u64,
    ret: u64,
    line: usize,
    completion_line: Option<usize>,
    zxid: Option<u64>,
    server: Option<u32>,
}

enum Arguments<'a> {
    Json(Cow<'a, serde_json::Value>),
    /// A run's request, already typed: decoded as its JSON would be, without the JSON.
    Typed(&'a Request),
}

enum Answer<'a> {
    Ok(Cow<'a, serde_json::Value>),
    /// A run's answer, already typed.
    Typed(&'a Outcome<Reply>),
    /// Did not take effect.
    Fail,
    /// `info`, or no completion.
    Unknown,
}

/// An event line's fields.
struct EventParts<'a> {
    line: usize,
    process: u64,
    f: &'a str,
    value: EventValue<'a>,
    session: Option<u64>,
    zxid: Option<u64>,
    server: Option<u32>,
}

enum EventValue<'a> {
    Json(Cow<'a, serde_json::Value>),
    /// A run's watch notification, already typed.
    Watch(EventType, &'a str),
}

/// One line of a run's history, from its file's lines or its typed records.
struct RunLine<'a> {
    time: u64,
    process: u64,
    kind: LineType,
    f: &'a str,
    session: Option<u64>,
    zxid: Option<u64>,
    server: Option<u32>,
    value: RunValue<'a>,
}

/// A line's value: its JSON, or what a run typed.
enum RunValue<'a> {
    Json(Cow<'a, serde_json::Value>),
    Request(&'a Request),
    Outcome(&'a Outcome<Reply>),
    Watch(EventType, &'a str),
}

impl<'a> RunValue<'a> {
    /// The value as JSON, for a line whose typed value is not what its place reads.
    fn json(self) -> Cow<'a, serde_json::Value> {
        match self {
            RunValue::Json(value) => value,
            RunValue::Request(request) => Cow::Owned(request.arguments()),
            RunValue::Outcome(_) | RunValue::Watch(..) => Cow::Borrowed(&NULL),
        }
    }
}

/// The `value` of a record that has none.
static NULL: serde_json::Value = serde_json::Value::Null;

impl History {
    /// The history of a read file.
    pub fn read(raw: &RawHistory) -> Result<History, Error> {
        let parts = raw
            .ops
            .iter()
            .map(|r| Parts {
                process: r.process,
                f: &r.f,
                session: r.session,
                arguments: Arguments::Json(Cow::Owned(r.invoke.to_json())),
                answer: match &r.completion {
                    Completion::Ok(value) => Answer::Ok(Cow::Owned(value.to_json())),
                    Completion::Fail(_) => Answer::Fail,
                    Completion::Info(_) | Completion::Open => Answer::Unknown,
                },
                call: r.call,
                ret: r.ret,
                line: r.line,
                completion_line: r.completion_line,
                zxid: r.zxid,
                server: r.server,
            })
            .collect();
        let events = raw
            .events
            .iter()
            .map(|e| EventParts {
                line: e.line,
                process: e.process,
                f: &e.f,
                value: EventValue::Json(Cow::Borrowed(&e.value)),
                session: e.session,
                zxid: e.zxid,
                server: e.server,
            })
            .collect();
        History::build(parts, events)
    }

    /// The history of a run, still in memory as lines (`lines[i]` is line `i + 2`, after the
    /// header), paired as `sim::check::formats` pairs a file, and with the same errors.
    pub fn from_lines(lines: &[Line]) -> Result<History, Error> {
        History::pair(lines.iter().map(|l| RunLine {
            time: l.time,
            process: l.process,
            kind: l.kind,
            f: &l.f,
            session: l.session,
            zxid: l.zxid,
            server: l.server,
            value: RunValue::Json(Cow::Borrowed(&l.value)),
        }))
    }

    /// The history of a run from its typed records, each with its time (`records[i]` is what
    /// `Record::to_line` makes line `i + 2`): the same history `from_lines` reads from those
    /// lines, and the same errors, without writing the requests and answers out as JSON and
    /// parsing them back. A record whose value is not what its line would hold typed (which a
    /// run's clients and servers never write) goes through the JSON of its line.
    pub fn from_records(records: &[(SimTime, Record)]) -> Result<History, Error> {
        History::pair(records.iter().map(|(time, r)| {
            let value = match (r.kind, &r.value) {
                (LineType::Event, Value::Watch { kind, path }) => RunValue::Watch(*kind, path),
                (LineType::Event, Value::None) => RunValue::Json(Cow::Borrowed(&NULL)),
                (LineType::Invoke, Value::Request(request)) => RunValue::Request(request),
                (LineType::Ok, Value::Outcome(outcome)) => RunValue::Outcome(outcome),
                // Nothing reads the value of a `fail` or `info` line.
                (LineType::Fail | LineType::Info, _) => RunValue::Json(Cow::Borrowed(&NULL)),
                // Left for the checks that read the line to refuse as they would the line.
                _ => RunValue::Json(Cow::Owned(r.to_line(*time).value)),
            };
            RunLine {
                time: time.as_nanos(),
                process: r.process,
                kind: r.kind,
                f: r.f,
                session: r.session.map(|s| s.0),
                zxid: r.zxid.map(|z| z.0),
                server: r.server.map(|n| n.0),
                value,
            }
        }))
    }

    /// Pairs a run's lines (the `i`-th is line `i + 2`) into operations and events, as
    /// `sim::check::formats` pairs a file.
    fn pair<'a>(lines: impl ExactSizeIterator<Item = RunLine<'a>>) -> Result<History, Error> {
        let mut parts: Vec<Parts> = Vec::with_capacity(lines.len() / 2);
        let mut events = Vec::new();
        let mut pairing = Pairing::new(Format::Zksim);
        for (i, step) in lines.enumerate() {
            let line = i + 2;
            pairing.time(line, step.time)?;
            if step.kind == LineType::Event {
                events.push(EventParts {
                    line,
                    process: step.process,
                    f: step.f,
                    value: match step.value {
                        RunValue::Watch(kind, path) => EventValue::Watch(kind, path),
                        other => EventValue::Json(other.json()),
                    },
                    session: step.session,
                    zxid: step.zxid,
                    server: step.server,
                });
                continue;
            }
            match pairing.push(line, step.process, step.kind, step.f)? {
                Paired::Invoked { position, .. } => parts.push(Parts {
                    process: step.process,
                    f: step.f,
                    session: step.session,
                    arguments: match step.value {
                        RunValue::Request(request) => Arguments::Typed(request),
                        other => Arguments::Json(other.json()),
                    },
                    answer: Answer::Unknown,
                    call: position,
                    ret: u64::MAX,
                    line,
                    completion_line: None,
                    zxid: None,
                    server: step.server,
                }),
                Paired::Completed { op, position } => {
                    let p = &mut parts[op];
                    p.answer = match (step.kind, step.value) {
                        (LineType::Ok, RunValue::Outcome(outcome)) => Answer::Typed(outcome),
                        (LineType::Ok, other) => Answer::Ok(other.json()),
                        (LineType::Fail, _) => Answer::Fail,
                        _ => Answer::Unknown,
                    };
                    if step.kind != LineType::Info {
                        p.ret = position;
                    }
                    p.completion_line = Some(line);
                    p.zxid = step.zxid;
                    p.server = step.server.or(p.server);
                }
                Paired::Ignored => {}
            }
        }
        History::build(parts, events)
    }

    fn build(parts: Vec<Parts>, events: Vec<EventParts>) -> Result<History, Error> {
        let mut ops = Vec::with_capacity(parts.len());
        for (index, p) in parts.iter().enumerate() {
            let input = match &p.arguments {
                Arguments::Json(arguments) => decode_input(p.f, p.session, arguments, p.line)?,
                Arguments::Typed(request) if request.name() == p.f => {
                    typed_input(p.session, request, p.line)?
                }
                Arguments::Typed(request) => {
                    decode_input(p.f, p.session, &request.arguments(), p.line)?
                }
            };
            let output = match &p.answer {
                Answer::Ok(value) => {
                    let line = p.completion_line.unwrap_or(p.line);
                    Some(decode_output(&input, value, line, p.zxid)?)
                }
                Answer::Typed(outcome) => {
                    let line = p.completion_line.unwrap_or(p.line);
                    Some(typed_output(&input, outcome, line, p.zxid)?)
                }
                // Did not take effect: as if never invoked.
                Answer::Fail => continue,
                Answer::Unknown => None,
            };
            let session = match (&input.request, &output) {
                (
                    Request::Write(Write::OpenSession),
                    Some(ZkOutput {
                        outcome: Outcome::Ok(Reply::Session(s)),
                        ..
                    }),
                ) => Some(*s),
                _ => input.session,
            };
            let zxid = output.as_ref().and_then(|o| o.zxid).map(|z| z.0);
            ops.push(Op {
                role: role(&input, output.as_ref()),
                session,
                process: p.process,
                call: p.call,
                ret: if output.is_some() { p.ret } else { u64::MAX },
                line: p.line,
                completion_line: p.completion_line,
                zxid,
                server: p.server,
                raw: Some(index),
                input,
                output,
            });
        }
        let mut notes = Vec::new();
        let events = read_events(&events, &mut notes);
        implied_expiries(&mut ops, &events, &mut notes);
        let sessions = timelines(&ops, &events);
        let before = before(&ops);
        Ok(History {
            ops,
            events,
            sessions,
            before,
            notes,
        })
    }
}

fn role(input: &ZkInput, output: Option<&ZkOutput>) -> Role {
    let Some(output) = output else {
        return match input.request {
            Request::Write(Write::OpenSession) | Request::Read(_) => Role::Other,
            Request::Write(_) => Role::Floating,
        };
    };
    if output.outcome == Outcome::Err(ZkError::SessionExpired) {
        return Role::Other;
    }
    match (&input.request, output.zxid) {
        (Request::Write(Write::OpenSession), _) => Role::Other,
        (Request::Write(_), Some(_)) => Role::Write,
        (Request::Write(_), None) => Role::Floating,
        (Request::Read(Read::Sync(_)), Some(_)) => Role::Sync,
        (Request::Read(_), Some(_)) => Role::Read,
        (Request::Read(_), None) => Role::Other,
    }
}

/// The `watch` and `session_expired` event lines; anything else, or a line missing what it needs,
/// becomes a note and is left out.
fn read_events(raw: &[EventParts], notes: &mut Vec<String>) -> Vec<Event> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WatchValue {
        #[serde(rename = "type")]
        kind: EventType,
        path: String,
    }
    let mut events = Vec::with_capacity(raw.len());
    for e in raw {
        let Some(session) = e.session.map(SessionId) else {
            notes.push(format!(
                "line {}: a {:?} event names no session; left out",
                e.line, e.f
            ));
            continue;
        };
        let kind = match e.f {
            "watch" => match &e.value {
                EventValue::Watch(kind, path) => EventKind::Watch {
                    kind: *kind,
                    path: path.to_string(),
                },
                EventValue::Json(value) => match WatchValue::deserialize(value.as_ref()) {
                    Ok(w) => EventKind::Watch {
                        kind: w.kind,
                        path: w.path,
                    },
                    Err(reason) => {
                        notes.push(format!(
                            "line {}: a watch event whose value is not {{\"type\", \"path\"}} \
                         ({reason}); left out",
                            e.line
                        ));
                        continue;
                    }
                },
            },
            "session_expired" => EventKind::SessionExpired,
            other => {
                notes.push(format!(
                    "line {}: unknown event {other:?}; left out",
                    e.line
                ));
                continue;
            }
        };
        events.push(Event {
            kind,
            line: e.line,
            process: e.process,
            session,
            zxid: e.zxid,
            server: e.server,
        });
    }
    events
}

/// A session whose client learned it expired (a `session_expired` event or a `SessionExpired`
/// answer) but whose end the history does not show — no expiry recorded by a server, no
/// `close_session` of its own that succeeded — still ended at some zxid: its ephemeral nodes went
/// then, and other sessions may have seen them go. Such a session gets an implied expiry: an
/// indeterminate `close_session`, invoked when the session began, which the checks may place at
/// any zxid or nowhere. Servers that record their expiries (`cluster::expiry_process`) need none.
fn implied_expiries(ops: &mut Vec<Op>, events: &[Event], notes: &mut Vec<String>) {
    let mut evidence: BTreeMap<SessionId, usize> = BTreeMap::new();
    for e in events {
        if e.kind == EventKind::SessionExpired {
            evidence.entry(e.session).or_insert(e.line);
        }
    }
    let mut begun: BTreeMap<SessionId, u64> = BTreeMap::new();
    let mut ended: BTreeSet<SessionId> = BTreeSet::new();
    for op in ops.iter() {
        let Some(session) = op.session else { continue };
        let first = begun.entry(session).or_insert(op.call);
        *first = (*first).min(op.call);
        let closes = op.input.request == Request::Write(Write::CloseSession);
        let answer = op.output.as_ref().map(|o| &o.outcome);
        if closes && (op.by_server() || answer.is_some_and(Outcome::is_ok)) {
            ended.insert(session);
        }
        if answer == Some(&Outcome::Err(ZkError::SessionExpired)) && !op.by_server() {
            evidence.entry(session).or_insert(op.line);
        }
    }
    for (session, line) in evidence {
        if ended.contains(&session) {
            continue;
        }
        let call = begun.get(&session).copied().unwrap_or(0);
        notes.push(format!(
            "session {session} expired (line {line}) but the history records no expiry: checked as \
             if it may have ended at any zxid after it began"
        ));
        ops.push(Op {
            input: ZkInput {
                session: Some(session),
                request: Request::Write(Write::CloseSession),
            },
            output: None,
            role: Role::Floating,
            process: expiry_process(session),
            session: Some(session),
            call,
            ret: u64::MAX,
            line,
            completion_line: None,
            zxid: None,
            server: None,
            raw: None,
        });
    }
}

/// Each session's steps in file order: its client's invocations and completions (never a server's
/// expiry, never an implied one) and its events.
fn timelines(ops: &[Op], events: &[Event]) -> BTreeMap<SessionId, Vec<Step>> {
    let mut lines: BTreeMap<SessionId, Vec<(usize, Step)>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        let Some(session) = op.session.filter(|_| !op.by_server()) else {
            continue;
        };
        let steps = lines.entry(session).or_default();
        // An open_session belongs to its session only from its answer on.
        if op.input.session.is_some() {
            steps.push((op.line, Step::Invoke(i)));
        }
        if let Some(line) = op.completion_line {
            steps.push((line, Step::Complete(i)));
        }
    }
    for (i, e) in events.iter().enumerate() {
        lines
            .entry(e.session)
            .or_default()
            .push((e.line, Step::Event(i)));
    }
    lines
        .into_iter()
        .map(|(session, mut steps)| {
            steps.sort_by_key(|&(line, _)| line);
            (session, steps.into_iter().map(|(_, s)| s).collect())
        })
        .collect()
}

/// For every operation, the largest zxid a determinate answer had shown, and the largest a
/// write's answer had shown, before its invocation (real-time order: completion before
/// invocation).
fn before(ops: &[Op]) -> Vec<Before> {
    let mut done: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].seen_zxid().is_some() && ops[i].ret != u64::MAX)
        .collect();
    done.sort_by_key(|&i| (ops[i].ret, i));
    let mut by_call: Vec<usize> = (0..ops.len()).collect();
    by_call.sort_by_key(|&i| (ops[i].call, i));
    let mut result = vec![Before::default(); ops.len()];
    let mut acc = Before::default();
    let mut next = 0;
    for i in by_call {
        while next < done.len() && ops[done[next]].ret < ops[i].call {
            let j = done[next];
            let op = &ops[j];
            let session = op.session.filter(|_| !op.by_server());
            let z = op.seen_zxid().expect("filtered");
            acc.add(z, j, session, op.role == Role::Write);
            next += 1;
        }
        result[i] = acc;
    }
    result
}
