//! The run page (`zksim run ... --page`): one self-contained HTML file in the store folder that
//! replaces reading `trace.txt`. It embeds the run's data as JSON and draws it in the browser with
//! d3 (vendored in `vendor/`, ISC licence): a timeline of every client's operations with the fault
//! windows and leader changes, a space–time diagram of the messages around the time cursor, and a
//! step-through of the recorded window of events with every node's status at each step. A failing
//! run opens on its violation: the first failing check's operations highlighted, its explanation
//! beside them.
//!
//! What the page carries: every client operation (a run has at most `limits.max_ops` of them),
//! every fault and mark, and a window of trace lines (`record`): `--page-events` lines, half before
//! the moment the page opens on and half after, with the messages sent or received in that window.
//! The page says which part of the run its window covers.

mod record;

pub use record::{PageRecorder, PageRecording, PageWindow};

use crate::report::{fault_windows, marks, operations, outcome};
use crate::runner::{Run, Verdict};
use serde_json::json;
use sim::SimTime;
use sim::history::Line;

/// The page's file in the store folder.
pub const PAGE_FILE: &str = "run.html";
/// Trace lines a page keeps by default, and the bounds of `--page-events`.
pub const DEFAULT_EVENTS: usize = 20_000;
pub const MIN_EVENTS: usize = 100;
pub const MAX_EVENTS: usize = 1_000_000;

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");
/// d3, vendored (`vendor/`, ISC licence); the comparison page draws with it too.
pub(crate) const D3: &str = include_str!("vendor/d3.min.js");

/// The moment a page of `run` opens on unless told otherwise: where the first failing check
/// places its failure (a check that could not decide, if none failed), else the start.
pub fn default_centre(run: &Run) -> SimTime {
    focus_check(run)
        .and_then(|c| c.at_ms)
        .map_or(SimTime::ZERO, |ms| SimTime(sim::net::ms_to_ns(ms)))
}

fn focus_check(run: &Run) -> Option<&crate::runner::CheckResult> {
    let checks = &run.results.checks;
    checks
        .iter()
        .find(|c| c.verdict == Verdict::Fail)
        .or_else(|| checks.iter().find(|c| c.verdict == Verdict::Unknown))
}

/// The history file lines (numbered as in `history.jsonl`: the header is line 1) a check's
/// explanation names: `line 12`, `lines 12-14`, `lines 12, 15 and 20`.
pub fn cited_lines(detail: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let words: Vec<&str> = detail.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let w = w.trim_matches(|c: char| !c.is_alphabetic());
        if !(w.eq_ignore_ascii_case("line") || w.eq_ignore_ascii_case("lines")) {
            continue;
        }
        let mut j = i + 1;
        while let Some(word) = words.get(j) {
            j += 1;
            if *word == "and" {
                continue;
            }
            let token = word.trim_matches(|c: char| !c.is_ascii_digit() && c != '-');
            let mut parts = token.splitn(2, '-').map(str::parse::<usize>);
            match (parts.next(), parts.next()) {
                (Some(Ok(a)), None) => lines.push(a),
                (Some(Ok(a)), Some(Ok(b))) if b >= a && b - a <= 1_000 => lines.extend(a..=b),
                _ => break,
            }
            if !(word.ends_with(',') || words.get(j) == Some(&"and")) {
                break;
            }
        }
    }
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// The page of a run recorded with a `PageWindow`.
pub fn html(run: &Run) -> String {
    let data = data(run).to_string();
    // The data sits in a <script> element: no `<` may end it early.
    let data = data.replace('<', "\\u003c");
    TEMPLATE
        .replacen("/*STYLE*/", STYLE, 1)
        .replacen("/*D3*/", D3, 1)
        .replacen("/*DATA*/", &data, 1)
        .replacen("/*SCRIPT*/", SCRIPT, 1)
        .replacen("TITLE", &escape(&title(run)), 1)
}

fn title(run: &Run) -> String {
    let r = &run.results;
    format!(
        "{} ({} {}) seed {}: {}",
        r.scenario,
        r.protocol,
        r.variant,
        r.seed,
        r.verdict.name()
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Milliseconds, to the microsecond (as traces print them).
fn ms(t: u64) -> f64 {
    (t / 1_000) as f64 / 1e3
}

/// Everything the page draws.
fn data(run: &Run) -> serde_json::Value {
    let empty = PageRecording::default();
    let page = run.page.as_ref().unwrap_or(&empty);
    let r = &run.results;
    let end_ms = r.virtual_time_ms;
    let replicas = r.replicas as usize;
    let nodes: Vec<_> = run
        .node_names
        .iter()
        .enumerate()
        .map(|(i, label)| {
            json!({
                "name": format!("n{i}"),
                "label": label,
                "replica": i < replicas,
            })
        })
        .collect();
    let focus = focus_check(run);
    let cited = focus.map(|c| cited_lines(&c.detail)).unwrap_or_default();
    let history = run.history.lines();
    let ops: Vec<_> = operations(history)
        .into_iter()
        .map(|op| {
            let invoke = &history[op.invoke];
            let done = op.done.map(|d| &history[d]);
            // File lines: the header is line 1.
            let lines = [Some(op.invoke + 2), op.done.map(|d| d + 2)];
            let cited = lines
                .iter()
                .flatten()
                .any(|l| cited.binary_search(l).is_ok());
            json!({
                "client": invoke.process,
                "f": invoke.f,
                "t0": ms(invoke.time),
                "t1": done.map(|d| ms(d.time)),
                "outcome": outcome(history, op).name(),
                "lines": lines.iter().flatten().collect::<Vec<_>>(),
                "call": describe(invoke),
                "answer": done.map(describe),
                "cited": cited,
            })
        })
        .collect();
    let lines = &page.lines;
    let (from, to) = match (lines.first(), lines.last()) {
        (Some(a), Some(b)) => (a.time.as_nanos(), b.time.as_nanos()),
        _ => (0, 0),
    };
    let messages: Vec<_> = run
        .messages
        .iter()
        .filter(|m| {
            let last = m.received.unwrap_or(m.sent).as_nanos();
            m.sent.as_nanos() <= to && last >= from
        })
        .map(|m| {
            json!([
                m.from.index(),
                m.to.index(),
                m.kind,
                ms(m.sent.as_nanos()),
                m.received.map(|t| ms(t.as_nanos())),
                m.dropped,
            ])
        })
        .collect();
    let events: Vec<_> = lines
        .iter()
        .map(|l| {
            json!([
                l.index,
                ms(l.time.as_nanos()),
                l.node.map_or(-1, |n| n.index() as i64),
                l.event,
                l.detail,
            ])
        })
        .collect();
    json!({
        "run": {
            "scenario": r.scenario,
            "protocol": r.protocol,
            "variant": r.variant,
            "seed": r.seed,
            "verdict": r.verdict.name(),
            "replay": r.replay,
            "trace_hash": r.trace_hash,
            "end_ms": end_ms,
            "replicas": replicas,
        },
        "nodes": nodes,
        "window": {
            "total": page.total_lines,
            "first": lines.first().map(|l| l.index),
            "last": lines.last().map(|l| l.index),
            "from_ms": ms(from),
            "to_ms": ms(to),
        },
        "events": events,
        "base": page.base,
        "changes": page.changes,
        "ops": ops,
        "faults": fault_windows(&run.fault_log, end_ms),
        "marks": marks(run),
        "messages": messages,
        "checks": r.checks.iter().map(|c| json!({
            "name": c.name,
            "verdict": c.verdict.name(),
            "at_ms": c.at_ms,
            "until_ms": c.until_ms,
            "detail": c.detail,
        })).collect::<Vec<_>>(),
        "focus": focus.map(|c| json!({
            "check": c.name,
            "verdict": c.verdict.name(),
            "at_ms": c.at_ms,
            "until_ms": c.until_ms,
            "lines": cited,
        })),
    })
}

/// A history line in a few words: its value, cut to a readable length.
fn describe(line: &Line) -> String {
    let mut text = format!("{} {}", kind(line), line.value);
    if let Some(z) = line.zxid {
        text.push_str(&format!(" zxid {z:#x}"));
    }
    if text.chars().count() > 200 {
        text = text.chars().take(199).collect::<String>() + "…";
    }
    text
}

/// The line's type as the history file writes it (`invoke`, `ok`, `fail`, `info`, `event`).
fn kind(line: &Line) -> String {
    serde_json::to_value(line.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::cited_lines;

    #[test]
    fn cited_lines_are_read_in_every_form_a_check_writes_them() {
        assert_eq!(cited_lines("the read on line 12 saw ..."), vec![12]);
        assert_eq!(cited_lines("lines 12-14 cannot hold"), vec![12, 13, 14]);
        assert_eq!(
            cited_lines("operations on lines 12, 15 and 20 conflict (line 3)."),
            vec![3, 12, 15, 20]
        );
        assert_eq!(
            cited_lines("no numbers here; lines of text"),
            Vec::<usize>::new()
        );
    }
}
