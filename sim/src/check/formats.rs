//! History readers: zksim JSON Lines, Jepsen logs, Porcupine kv logs and Knossos EDN. Each turns
//! file text into one `RawHistory`: operations paired from invocation to completion, in event
//! order, with values as `Datum`s. Pairing and the errors it raises (a completion without an
//! invocation, a second invocation while one is open, time going backwards) are the same for every
//! format. What a `fail` or a nil read *means* differs by source and is left to the models
//! (`models::decode`), which receive the format. This module never opens a file and never judges
//! an operation's arguments.

use super::datum::Datum;
use super::edn;
use super::error::Error;
use crate::history::{HISTORY_FORMAT_VERSION, Header, Line, LineType};
use crate::json;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The file formats the checker reads. Each comes with the semantics of its source (see
/// `docs/history-format.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// zksim's JSON Lines (`sim::history`).
    Zksim,
    /// Jepsen's `INFO jepsen.util - process type f value` log lines; Porcupine's etcd semantics.
    JepsenLog,
    /// One EDN map per line with a `:key`; Porcupine's kv logs.
    PorcupineKv,
    /// One EDN vector or list of operation maps (Knossos), or one map per line (Jepsen's
    /// `history.edn`); Knossos's semantics.
    KnossosEdn,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::Zksim,
        Format::JepsenLog,
        Format::PorcupineKv,
        Format::KnossosEdn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Zksim => "zksim",
            Format::JepsenLog => "jepsen-log",
            Format::PorcupineKv => "porcupine-kv",
            Format::KnossosEdn => "knossos-edn",
        }
    }

    /// Guesses the format from the first meaningful line; `None` if nothing matches. EDN maps one
    /// per line are Porcupine's kv logs when the first has a `:key` (beside its `:value`), and
    /// otherwise Jepsen's own `history.edn`, read as Knossos reads it.
    pub fn detect(text: &str) -> Option<Format> {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with(';'))?;
        if first.contains("jepsen.util") {
            Some(Format::JepsenLog)
        } else if first.starts_with("{\"") || first.starts_with("{ \"") {
            Some(Format::Zksim)
        } else if first.starts_with('{') {
            // A first map that does not even parse is left to the EDN reader to report.
            let kv = edn::read_first(text).is_ok_and(|map| map.get("key").is_some());
            Some(if kv {
                Format::PorcupineKv
            } else {
                Format::KnossosEdn
            })
        } else if first.starts_with('[') || first.starts_with('(') {
            Some(Format::KnossosEdn)
        } else {
            None
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "zksim" | "jsonl" => Ok(Format::Zksim),
            "jepsen-log" => Ok(Format::JepsenLog),
            "porcupine-kv" => Ok(Format::PorcupineKv),
            "knossos-edn" | "edn" => Ok(Format::KnossosEdn),
            _ => Err(format!(
                "unknown format {s:?} (known: zksim, jepsen-log, porcupine-kv, knossos-edn)"
            )),
        }
    }
}

/// How an operation ended, as the file says it.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// Completed with this answer.
    Ok(Datum),
    /// Completed with `fail` (and this value, often the arguments or an error keyword).
    Fail(Datum),
    /// Completed with `info`: outcome unknown.
    Info(Datum),
    /// Still open at the end of the file: outcome unknown.
    Open,
}

/// One operation from invocation to completion.
#[derive(Clone, Debug, PartialEq)]
pub struct RawOp {
    pub process: u64,
    /// The operation's name (`read`, `cas`, `txn`, `create`...).
    pub f: String,
    /// The invocation's value (the arguments).
    pub invoke: Datum,
    pub completion: Completion,
    /// Position of the invocation in the history's event order.
    pub call: u64,
    /// Position of the completion; `u64::MAX` for `Info` and `Open`.
    pub ret: u64,
    /// Lines of the invocation and of the completion (1-based).
    pub line: usize,
    pub completion_line: Option<usize>,
    /// The completion's error annotation (`error` field, `:error` key), if any.
    pub error: Option<String>,
    /// The ZooKeeper session, when the format records one.
    pub session: Option<u64>,
    /// The zxid of the completion's reply header, when the format records one (the znode model
    /// learns a write's zxid from it).
    pub zxid: Option<u64>,
    /// The server that answered (the completion's `server`), else the one the invocation went to,
    /// when the format records one.
    pub server: Option<u32>,
}

/// A line that is not part of any operation: a zksim `event` line (a watch notification, a
/// session expiry the client learned of). The linearizability checker ignores these; ZooKeeper's
/// own checks read them.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEvent {
    /// Line in the source (1-based).
    pub line: usize,
    /// Where it falls in the operations' event order: after every invocation or completion whose
    /// position is below `position`, before every one at `position` or above.
    pub position: u64,
    pub process: u64,
    /// The event's name (`watch`, `session_expired`).
    pub f: String,
    pub value: serde_json::Value,
    pub session: Option<u64>,
    pub zxid: Option<u64>,
    pub server: Option<u32>,
}

/// A history as read from a file, before any model interprets it.
#[derive(Clone, Debug, PartialEq)]
pub struct RawHistory {
    pub format: Format,
    /// The model named by the file (zksim header), if any.
    pub model: Option<String>,
    /// The initial state given by the file (zksim header), if any.
    pub initial: Option<serde_json::Value>,
    /// Operations in invocation order.
    pub ops: Vec<RawOp>,
    /// Lines outside operations, in file order (zksim format only).
    pub events: Vec<RawEvent>,
    /// How many lines are history lines of no client: the nemesis's and other actors' (a
    /// keyword process), and Knossos `info` lines with no open invocation.
    pub other_lines: usize,
}

/// Reads `text` in `format`, or in the detected format when `format` is `None`.
pub fn read(text: &str, format: Option<Format>) -> Result<RawHistory, Error> {
    let format = match format {
        Some(f) => f,
        None => Format::detect(text).ok_or_else(|| {
            Error::UnknownFormat(if text.trim().is_empty() {
                "the file is empty".into()
            } else {
                "expected a zksim JSON header, Jepsen log lines, or EDN".into()
            })
        })?,
    };
    let raw = match format {
        Format::Zksim => read_zksim(text),
        Format::JepsenLog => read_jepsen_log(text),
        Format::PorcupineKv => read_edn(text, Format::PorcupineKv),
        Format::KnossosEdn => read_edn(text, Format::KnossosEdn),
    }?;
    // A file in another format can read as no operation at all (a Jepsen log reader skips what is
    // not a jepsen.util line); checking nothing must not pass for a verdict. A history of the
    // nemesis alone is a history all the same (Knossos has one, and calls it valid).
    if raw.ops.is_empty() && raw.other_lines == 0 {
        return Err(Error::NoOperations(format));
    }
    Ok(raw)
}

/// One event line of any format, normalised.
struct Event {
    line: usize,
    process: u64,
    kind: LineType,
    f: String,
    value: Datum,
    error: Option<String>,
    session: Option<u64>,
    zxid: Option<u64>,
    server: Option<u32>,
}

/// Where `Pairing::push` put an operation line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paired {
    /// An invocation: operation number `op` (operations count from 0 in invocation order),
    /// invoked at `position`.
    Invoked { op: usize, position: u64 },
    /// The completion of operation `op`, at `position`.
    Completed { op: usize, position: u64 },
    /// A Knossos `info` line with no open invocation, which Knossos ignores.
    Ignored,
}

/// The pairing of invocations with completions, process by process, and the order checks every
/// reader makes: the one piece of code that decides how a history's lines become operations,
/// shared by the file readers here and by readers of a run's lines in memory, so that all of them
/// pair alike and refuse alike. It sees only what pairing needs (line, process, type, `f`); the
/// caller keeps the values.
#[derive(Debug)]
pub struct Pairing {
    /// Knossos histories may hold `info` lines with no open invocation.
    lenient_info: bool,
    /// Process → (its open operation, the invocation's line, its `f`).
    open: BTreeMap<u64, (usize, usize, String)>,
    ops: usize,
    position: u64,
    last_time: u64,
}

impl Pairing {
    pub fn new(format: Format) -> Pairing {
        Pairing {
            lenient_info: format == Format::KnossosEdn,
            open: BTreeMap::new(),
            ops: 0,
            position: 0,
            last_time: 0,
        }
    }

    /// The position the next operation line takes; an event line sits there too.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Refuses a line whose `time` is before the previous line's.
    pub fn time(&mut self, line: usize, time: u64) -> Result<(), Error> {
        if time < self.last_time {
            return Err(Error::TimeBackwards {
                line,
                time,
                previous: self.last_time,
            });
        }
        self.last_time = time;
        Ok(())
    }

    /// Pairs an operation line (`kind` is not `Event`).
    pub fn push(
        &mut self,
        line: usize,
        process: u64,
        kind: LineType,
        f: &str,
    ) -> Result<Paired, Error> {
        let position = self.position;
        self.position += 1;
        if kind == LineType::Invoke {
            if let Some(&(_, open_line, _)) = self.open.get(&process) {
                return Err(Error::SecondInvocation {
                    line,
                    process,
                    open_line,
                });
            }
            let op = self.ops;
            self.ops += 1;
            self.open.insert(process, (op, line, f.to_string()));
            return Ok(Paired::Invoked { op, position });
        }
        let Some((op, open_line, invoked)) = self.open.remove(&process) else {
            // Knossos ignores info lines with no open invocation (the nemesis's, and a client's
            // after it crashed), so its histories contain them.
            if self.lenient_info && kind == LineType::Info {
                return Ok(Paired::Ignored);
            }
            return Err(Error::CompletionWithoutInvocation { line, process });
        };
        if invoked != f {
            return Err(Error::MismatchedCompletion {
                line,
                process,
                f: f.to_string(),
                invoked,
                open_line,
            });
        }
        Ok(Paired::Completed { op, position })
    }
}

/// Pairs a file's lines into `RawOp`s.
struct Pairer {
    format: Format,
    pairing: Pairing,
    ops: Vec<RawOp>,
    events: Vec<RawEvent>,
    other_lines: usize,
}

impl Pairer {
    fn new(format: Format) -> Pairer {
        Pairer {
            format,
            pairing: Pairing::new(format),
            ops: Vec::new(),
            events: Vec::new(),
            other_lines: 0,
        }
    }

    fn push(&mut self, ev: Event) -> Result<(), Error> {
        match self.pairing.push(ev.line, ev.process, ev.kind, &ev.f)? {
            Paired::Invoked { position, .. } => self.ops.push(RawOp {
                process: ev.process,
                f: ev.f,
                invoke: ev.value,
                completion: Completion::Open,
                call: position,
                ret: u64::MAX,
                line: ev.line,
                completion_line: None,
                error: None,
                session: ev.session,
                zxid: None,
                server: ev.server,
            }),
            Paired::Completed { op, position } => {
                let op = &mut self.ops[op];
                op.completion = match ev.kind {
                    LineType::Ok => Completion::Ok(ev.value),
                    LineType::Fail => Completion::Fail(ev.value),
                    LineType::Info => Completion::Info(ev.value),
                    LineType::Invoke | LineType::Event => {
                        unreachable!("handled above and by the callers")
                    }
                };
                if !matches!(op.completion, Completion::Info(_)) {
                    op.ret = position;
                }
                op.completion_line = Some(ev.line);
                op.error = ev.error;
                op.zxid = ev.zxid;
                op.server = ev.server.or(op.server);
            }
            Paired::Ignored => self.other_lines += 1,
        }
        Ok(())
    }

    fn finish(self, model: Option<String>, initial: Option<serde_json::Value>) -> RawHistory {
        RawHistory {
            format: self.format,
            model,
            initial,
            ops: self.ops,
            events: self.events,
            other_lines: self.other_lines,
        }
    }
}

fn line_type(name: &str, line: usize) -> Result<LineType, Error> {
    Ok(match name {
        "invoke" => LineType::Invoke,
        "ok" => LineType::Ok,
        "fail" => LineType::Fail,
        "info" => LineType::Info,
        _ => {
            return Err(Error::UnknownType {
                line,
                kind: name.into(),
            });
        }
    })
}

fn read_zksim(text: &str) -> Result<RawHistory, Error> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, first)) = lines.next() else {
        return Err(Error::UnknownFormat("the file is empty".into()));
    };
    let header: Header = json::from_str(first).map_err(|e| Error::BadHeader {
        line: header_line,
        reason: e.to_string(),
    })?;
    let events = lines.map(|(line, l)| {
        json::from_str::<Line>(l)
            .map(|ev| (line, ev))
            .map_err(|e| Error::Syntax {
                line,
                reason: e.to_string(),
            })
    });
    pair_zksim(&header, header_line, events)
}

/// Reads a zksim history that is already in memory as lines, as `read` would read its text
/// (header on line 1, `lines[i]` on line `i + 2`), without writing and parsing the text.
pub fn read_lines(header: &Header, lines: &[Line]) -> Result<RawHistory, Error> {
    let events = lines
        .iter()
        .enumerate()
        .map(|(i, l)| Ok((i + 2, l.clone())));
    pair_zksim(header, 1, events)
}

fn pair_zksim(
    header: &Header,
    header_line: usize,
    lines: impl Iterator<Item = Result<(usize, Line), Error>>,
) -> Result<RawHistory, Error> {
    if header.format != "zksim-history" {
        return Err(Error::BadHeader {
            line: header_line,
            reason: format!("format is {:?}, expected \"zksim-history\"", header.format),
        });
    }
    if header.version == 0 || header.version > HISTORY_FORMAT_VERSION {
        return Err(Error::BadHeader {
            line: header_line,
            reason: format!(
                "version {} is not one this zksim reads (1 to {HISTORY_FORMAT_VERSION})",
                header.version
            ),
        });
    }
    let mut pairer = Pairer::new(Format::Zksim);
    for item in lines {
        let (line, ev) = item?;
        pairer.pairing.time(line, ev.time)?;
        // Notifications are not operations: kept aside for ZooKeeper's own checks.
        if ev.kind == LineType::Event {
            pairer.events.push(RawEvent {
                line,
                position: pairer.pairing.position(),
                process: ev.process,
                f: ev.f,
                value: ev.value,
                session: ev.session,
                zxid: ev.zxid,
                server: ev.server,
            });
            continue;
        }
        let value = Datum::from_json(&ev.value).map_err(|reason| Error::BadValue {
            line,
            f: ev.f.clone(),
            reason,
        })?;
        pairer.push(Event {
            line,
            process: ev.process,
            kind: ev.kind,
            f: ev.f,
            value,
            error: ev.error,
            session: ev.session,
            zxid: ev.zxid,
            server: ev.server,
        })?;
    }
    Ok(pairer.finish(Some(header.model.clone()), header.initial.clone()))
}

/// Splits off the next whitespace-separated token.
fn token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

/// Whether `line` looks like a log line: a level among its first three words (a date and a time
/// may come first).
fn is_log_line(line: &str) -> bool {
    const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    line.split_whitespace()
        .take(3)
        .any(|word| LEVELS.contains(&word))
}

fn read_jepsen_log(text: &str) -> Result<RawHistory, Error> {
    let mut pairer = Pairer::new(Format::JepsenLog);
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let syntax = |reason: &str| Error::Syntax {
            line,
            reason: reason.into(),
        };
        // A Jepsen log holds other loggers' lines too; only jepsen.util's are history events. A
        // line that is no log line at all means the file is not what it was taken for.
        let Some(at) = l.find("jepsen.util") else {
            if l.trim().is_empty() || is_log_line(l) {
                continue;
            }
            return Err(syntax(
                "not a log line (expected `LEVEL logger - message`, e.g. \
                 `INFO  jepsen.util - 0 :invoke :read nil`)",
            ));
        };
        let rest = l[at + "jepsen.util".len()..].trim_start();
        let rest = rest
            .strip_prefix('-')
            .ok_or_else(|| syntax("expected '-' after jepsen.util"))?;
        let (process, rest) = token(rest).ok_or_else(|| syntax("missing process"))?;
        let (kind, rest) = token(rest).ok_or_else(|| syntax("missing type"))?;
        let (f, rest) = token(rest).ok_or_else(|| syntax("missing operation"))?;
        let Ok(process) = process.parse::<u64>() else {
            if process.starts_with(':') {
                // :nemesis and other non-client actors.
                pairer.other_lines += 1;
                continue;
            }
            return Err(syntax(&format!("process {process:?} is not an integer")));
        };
        let kind = line_type(kind.trim_start_matches(':'), line)?;
        let f = f.trim_start_matches(':').to_string();
        let value = if rest.trim().is_empty() {
            Datum::Nil
        } else {
            edn::read_one(rest).map_err(|reason| Error::BadValue {
                line,
                f: f.clone(),
                reason,
            })?
        };
        pairer.push(Event {
            line,
            process,
            kind,
            f,
            value,
            error: None,
            session: None,
            zxid: None,
            server: None,
        })?;
    }
    Ok(pairer.finish(None, None))
}

fn read_edn(text: &str, format: Format) -> Result<RawHistory, Error> {
    let items = edn::read_items(text).map_err(|(line, reason)| Error::Syntax { line, reason })?;
    let mut pairer = Pairer::new(format);
    for (line, item) in items {
        let syntax = |reason: String| Error::Syntax { line, reason };
        if !matches!(item, Datum::Map(_)) {
            return Err(syntax(format!("expected an operation map, found {item}")));
        }
        let process = match item.get("process") {
            Some(Datum::Int(p)) if *p >= 0 => *p as u64,
            // The nemesis and other non-client actors are not operations.
            Some(Datum::Keyword(_)) => {
                pairer.other_lines += 1;
                continue;
            }
            Some(other) => return Err(syntax(format!(":process {other} is not a client"))),
            None => return Err(syntax("missing :process".into())),
        };
        let kind = match item.get("type").and_then(Datum::name) {
            Some(k) => line_type(k, line)?,
            None => return Err(syntax("missing :type".into())),
        };
        let f = match item.get("f").and_then(Datum::name) {
            Some(f) => f.to_string(),
            None => return Err(syntax("missing :f".into())),
        };
        let mut value = item.get("value").cloned().unwrap_or(Datum::Nil);
        if format == Format::PorcupineKv {
            // Porcupine keeps the key beside the value; the kv model takes both as the arguments
            // of an invocation, and only the value as an answer.
            if kind == LineType::Invoke {
                let Some(key) = item.get("key").cloned() else {
                    return Err(syntax("missing :key".into()));
                };
                value = Datum::Map(vec![
                    (Datum::Str("key".into()), key),
                    (Datum::Str("value".into()), value),
                ]);
            }
        }
        let error = item.get("error").map(|e| match e.name() {
            Some(n) => n.to_string(),
            None => e.to_string(),
        });
        pairer.push(Event {
            line,
            process,
            kind,
            f,
            value,
            error,
            session: None,
            zxid: None,
            server: None,
        })?;
    }
    Ok(pairer.finish(None, None))
}
