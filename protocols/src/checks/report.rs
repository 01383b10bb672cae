//! What the ZooKeeper contract checker answers: a verdict per guarantee, the violations found (each
//! naming the guarantee, the rule inside it that broke, what was expected and what was seen, and
//! the operations and notifications involved with their lines, processes, sessions, zxids and
//! servers) and notes on what could not be checked. Plain data that serializes to JSON and renders
//! as text; it never checks anything.

use super::history::{Event, EventKind, History, Op};
use serde::Serialize;
use sim::check::Counterexample;
use std::fmt::{self, Write as _};

/// How strict a check is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Level {
    /// What ZooKeeper documents: linearizable writes, reads consistent with their zxid, session
    /// order, a single system image, watch order.
    #[serde(rename = "zookeeper")]
    Zookeeper,
    /// All of that, and a read after `sync` sees every write completed before the sync: more than
    /// ZooKeeper promises under a deposed leader (ZOOKEEPER-1675).
    #[serde(rename = "zookeeper+sync")]
    ZookeeperSync,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Zookeeper => "zookeeper",
            Level::ZookeeperSync => "zookeeper+sync",
        }
    }

    /// The guarantees checked at this level, in report order.
    pub fn guarantees(self) -> &'static [Guarantee] {
        match self {
            Level::Zookeeper => &Guarantee::ALL[..5],
            Level::ZookeeperSync => &Guarantee::ALL,
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        match s {
            "zookeeper" => Ok(Level::Zookeeper),
            "zookeeper+sync" => Ok(Level::ZookeeperSync),
            _ => Err(format!(
                "unknown level {s:?} (known: zookeeper, zookeeper+sync)"
            )),
        }
    }
}

/// One of ZooKeeper's guarantees (docs/checks.md explains how each is decided).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// Writes are linearizable, in the order of their zxids.
    LinearizableWrites,
    /// A read answered at zxid z shows exactly the writes with zxids up to z.
    ReadsAtZxid,
    /// Each session's operations take effect in the order it issued them.
    SessionOrder,
    /// A session never sees an older state than it already saw, across reconnects too.
    SingleSystemImage,
    /// Notifications are real and reach the session before the data change that fired them.
    WatchOrder,
    /// A read after `sync` sees every write completed before the sync (zookeeper+sync only).
    SyncRead,
}

impl Guarantee {
    pub const ALL: [Guarantee; 6] = [
        Guarantee::LinearizableWrites,
        Guarantee::ReadsAtZxid,
        Guarantee::SessionOrder,
        Guarantee::SingleSystemImage,
        Guarantee::WatchOrder,
        Guarantee::SyncRead,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Guarantee::LinearizableWrites => "linearizable-writes",
            Guarantee::ReadsAtZxid => "reads-at-zxid",
            Guarantee::SessionOrder => "session-order",
            Guarantee::SingleSystemImage => "single-system-image",
            Guarantee::WatchOrder => "watch-order",
            Guarantee::SyncRead => "sync-read",
        }
    }

    /// The promise, in one line.
    pub fn promise(self) -> &'static str {
        match self {
            Guarantee::LinearizableWrites => "writes are linearizable, in the order of their zxids",
            Guarantee::ReadsAtZxid => {
                "a read answered at zxid z shows exactly the writes with zxids up to z"
            }
            Guarantee::SessionOrder => {
                "a session's operations take effect in the order it issued them"
            }
            Guarantee::SingleSystemImage => {
                "a session never sees an older state than it already saw, even after reconnecting"
            }
            Guarantee::WatchOrder => {
                "notifications are real and reach the session before the data change that fired them"
            }
            Guarantee::SyncRead => {
                "a read after sync sees every write completed before the sync (not promised by \
                 ZooKeeper under a deposed leader, ZOOKEEPER-1675)"
            }
        }
    }
}

/// The verdict of one guarantee, or of the whole check. Ordered from best to worst: a violation
/// found anywhere outweighs a guarantee left undecided, so a history with both is a violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Valid,
    /// The budget ran out before a verdict (and no violation was found).
    Unknown,
    Violation,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Violation => "violation",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One guarantee's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuaranteeResult {
    pub guarantee: Guarantee,
    pub verdict: Verdict,
    /// How many things were checked (operations, pairs, notifications: `checked_what` says).
    pub checked: u64,
    pub checked_what: String,
    /// Violations found; the report lists at most `MAX_LISTED` of them per guarantee.
    pub violations: usize,
    /// Why the verdict is unknown: a budget ran out, or a guarantee it rests on broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

/// An operation or notification a violation involves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Involved {
    /// Its part in the violation, e.g. `earlier reply`, `write`, `notification`.
    pub role: String,
    /// The line of the invocation (of the event, for a notification).
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_line: Option<usize>,
    pub process: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zxid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<u32>,
    /// The operation with its answer, or the notification, in words.
    pub what: String,
}

impl Involved {
    pub(crate) fn op(role: &str, op: &Op) -> Involved {
        Involved {
            role: role.into(),
            line: op.line,
            completion_line: op.completion_line,
            process: op.process,
            session: op.session.map(|s| s.0),
            zxid: op.zxid,
            server: op.server,
            what: op.describe(),
        }
    }

    pub(crate) fn event(role: &str, e: &Event) -> Involved {
        let what = match &e.kind {
            EventKind::Watch { kind, path } => format!("notification {} {path}", kind.name()),
            EventKind::SessionExpired => "session expired".into(),
        };
        Involved {
            role: role.into(),
            line: e.line,
            completion_line: None,
            process: e.process,
            session: Some(e.session.0),
            zxid: e.zxid,
            server: e.server,
            what,
        }
    }
}

impl fmt::Display for Involved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: line {}", self.role, self.line)?;
        if let Some(c) = self.completion_line {
            write!(f, "-{c}")?;
        }
        write!(f, ", process {}", self.process)?;
        if let Some(s) = self.session {
            write!(f, ", session {s}")?;
        }
        if let Some(z) = self.zxid {
            write!(f, ", zxid {z}")?;
        }
        if let Some(s) = self.server {
            write!(f, ", server {s}")?;
        }
        write!(f, ": {}", self.what)
    }
}

/// One broken promise.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    pub guarantee: Guarantee,
    /// The rule inside the guarantee that broke, e.g. `write-after-seen`, `missed-notification`.
    pub rule: &'static str,
    /// What happened, in one sentence.
    pub summary: String,
    pub expected: String,
    pub seen: String,
    pub involved: Vec<Involved>,
    /// For the guarantees decided by the linearizability search: its counterexample, with the
    /// operations' real positions and lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Box<Counterexample>>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} ({}): {}",
            self.guarantee.name(),
            self.rule,
            self.summary
        );
        let _ = writeln!(s, "  expected: {}", self.expected);
        let _ = writeln!(s, "  seen:     {}", self.seen);
        for i in &self.involved {
            let _ = writeln!(s, "  {i}");
        }
        if let Some(cx) = &self.counterexample {
            for line in cx.to_string().lines() {
                let _ = writeln!(s, "  | {line}");
            }
        }
        f.write_str(s.trim_end())
    }
}

/// The answer of one check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub level: Level,
    /// The worst verdict over the guarantees.
    pub verdict: Verdict,
    pub operations: usize,
    pub events: usize,
    pub sessions: usize,
    pub guarantees: Vec<GuaranteeResult>,
    /// At most `MAX_LISTED` per guarantee, in the order of `guarantees`.
    pub violations: Vec<Violation>,
    /// What the checks could not use, and what they assumed.
    pub notes: Vec<String>,
}

/// Violations listed per guarantee (all are counted).
pub const MAX_LISTED: usize = 20;

/// Violations of one guarantee as they are found.
pub(crate) struct Found {
    pub guarantee: Guarantee,
    pub listed: Vec<Violation>,
    pub count: usize,
    pub checked: u64,
}

impl Found {
    pub fn new(guarantee: Guarantee) -> Found {
        Found {
            guarantee,
            listed: Vec::new(),
            count: 0,
            checked: 0,
        }
    }

    pub fn add(
        &mut self,
        rule: &'static str,
        summary: String,
        expected: String,
        seen: String,
        involved: Vec<Involved>,
    ) {
        self.count += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(Violation {
                guarantee: self.guarantee,
                rule,
                summary,
                expected,
                seen,
                involved,
                counterexample: None,
            });
        }
    }

    /// The guarantee's result, with `unknown` saying why it could not be decided, if it could
    /// not.
    pub fn finish(
        self,
        checked_what: &str,
        unknown: Option<String>,
    ) -> (GuaranteeResult, Vec<Violation>) {
        let verdict = match (self.count, &unknown) {
            (0, None) => Verdict::Valid,
            (0, Some(_)) => Verdict::Unknown,
            _ => Verdict::Violation,
        };
        let result = GuaranteeResult {
            guarantee: self.guarantee,
            verdict,
            checked: self.checked,
            checked_what: checked_what.into(),
            violations: self.count,
            unknown,
        };
        (result, self.listed)
    }
}

impl Report {
    pub(crate) fn new(
        level: Level,
        history: &History,
        results: Vec<(GuaranteeResult, Vec<Violation>)>,
    ) -> Report {
        let verdict = results
            .iter()
            .map(|(r, _)| r.verdict)
            .max()
            .unwrap_or(Verdict::Valid);
        let mut guarantees = Vec::new();
        let mut violations = Vec::new();
        for (r, v) in results {
            guarantees.push(r);
            violations.extend(v);
        }
        Report {
            level,
            verdict,
            operations: history.ops.iter().filter(|o| !o.is_implied()).count(),
            events: history.events.len(),
            sessions: history.sessions.len(),
            guarantees,
            violations,
            notes: history.notes.clone(),
        }
    }

    /// The result of one guarantee, if it was checked.
    pub fn guarantee(&self, g: Guarantee) -> Option<&GuaranteeResult> {
        self.guarantees.iter().find(|r| r.guarantee == g)
    }

    /// The worst verdict over `only` (e.g. the guarantees of a lower level).
    pub fn verdict_of(&self, only: &[Guarantee]) -> Verdict {
        self.guarantees
            .iter()
            .filter(|r| only.contains(&r.guarantee))
            .map(|r| r.verdict)
            .max()
            .unwrap_or(Verdict::Valid)
    }

    /// The report restricted to `only`: a line per guarantee, then its listed violations, then
    /// the notes (what a run's `zookeeper` check shows, which leaves out `sync-read`).
    pub fn describe(&self, only: &[Guarantee]) -> String {
        let mut s = String::new();
        for r in self
            .guarantees
            .iter()
            .filter(|r| only.contains(&r.guarantee))
        {
            let _ = write!(s, "{}: {}", r.guarantee.name(), r.verdict.name());
            let _ = write!(s, " ({} {}", r.checked, r.checked_what);
            if r.violations > 0 {
                let _ = write!(s, ", {} violations", r.violations);
            }
            if let Some(reason) = &r.unknown {
                let _ = write!(s, ", {reason}");
            }
            s.push_str(")\n");
        }
        for v in self
            .violations
            .iter()
            .filter(|v| only.contains(&v.guarantee))
        {
            let _ = writeln!(s, "{v}");
        }
        for note in &self.notes {
            let _ = writeln!(s, "note: {note}");
        }
        s.truncate(s.trim_end().len());
        s
    }

    /// One line per guarantee: verdict, what was checked, violations.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for r in &self.guarantees {
            let _ = write!(
                s,
                "{:<20} {:<9} {} {}",
                r.guarantee.name(),
                r.verdict.name(),
                r.checked,
                r.checked_what
            );
            if r.violations > 0 {
                let _ = write!(s, ", {} violations", r.violations);
            }
            if let Some(reason) = &r.unknown {
                let _ = write!(s, " ({reason})");
            }
            s.push('\n');
        }
        s.truncate(s.trim_end().len());
        s
    }
}

impl fmt::Display for Report {
    /// The summary, every listed violation, then the notes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} at level {}: {} operations, {} events, {} sessions",
            self.verdict.name(),
            self.level.name(),
            self.operations,
            self.events,
            self.sessions
        );
        for line in self.summary().lines() {
            let _ = writeln!(s, "  {line}");
        }
        for v in &self.violations {
            let _ = writeln!(s, "{v}");
        }
        let listed = self.violations.len();
        let total: usize = self.guarantees.iter().map(|r| r.violations).sum();
        if total > listed {
            let _ = writeln!(
                s,
                "({} more violations not listed; at most {MAX_LISTED} per guarantee)",
                total - listed
            );
        }
        for note in &self.notes {
            let _ = writeln!(s, "note: {note}");
        }
        f.write_str(s.trim_end())
    }
}
