//! From a finished run to what people read: the operation samples, fault windows, marks and
//! failed checks the plots are drawn from, the operation counts and the latency and throughput
//! figures in `results.json`, the rounding of its numbers, and the plots in the store folder. The
//! drawing itself belongs to the `reports` crate; this module only converts.

use crate::runner::{Run, Verdict};
use protocols::cluster::{
    LeaderLoss, Metric, Record, SERVER_PROCESS, Value as RecordValue, WriteCost,
};
use protocols::replication::invariants::COMMITTED_NOOPS;
use protocols::znode;
use reports::{Arrow, FailedCheck, FaultWindow, LatencyQuantiles, Mark, OpSample, Outcome};
use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};
use sim::SimTime;
use sim::history::{Line, LineType};
use sim::world::FaultRecord;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Plot files of a store folder.
pub const LATENCY_PLOT: &str = "latency.png";
pub const QUANTILES_PLOT: &str = "latency-quantiles.png";
pub const THROUGHPUT_PLOT: &str = "throughput.png";
pub const MESSAGE_DIAGRAM: &str = "messages.svg";
pub const MESSAGE_DIAGRAM_PNG: &str = "messages.png";

/// One client operation of a history: the index of its invocation and of the line that completed
/// it, if one did before the run ended. Server-recorded transactions (session expiries) are not
/// client operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    pub invoke: usize,
    pub done: Option<usize>,
}

/// What the plots read of one history event: a line of `history.jsonl`, or a run's record as its
/// client typed it (with its time), which reads the same without being written out.
pub trait Entry {
    fn kind(&self) -> LineType;
    fn process(&self) -> u64;
    /// Virtual time in nanoseconds.
    fn time(&self) -> u64;
    fn f(&self) -> &str;
    /// An `ok` line whose answer is a ZooKeeper error (`{"err": ...}`).
    fn is_error_reply(&self) -> bool;
}

impl Entry for Line {
    fn kind(&self) -> LineType {
        self.kind
    }
    fn process(&self) -> u64 {
        self.process
    }
    fn time(&self) -> u64 {
        self.time
    }
    fn f(&self) -> &str {
        &self.f
    }
    fn is_error_reply(&self) -> bool {
        self.kind == LineType::Ok && self.value.get("err").is_some()
    }
}

impl Entry for (SimTime, Record) {
    fn kind(&self) -> LineType {
        self.1.kind
    }
    fn process(&self) -> u64 {
        self.1.process
    }
    fn time(&self) -> u64 {
        self.0.as_nanos()
    }
    fn f(&self) -> &str {
        self.1.f
    }
    /// `Record::to_line` writes an error outcome as `{"err": ...}`, and nothing else with `err`.
    fn is_error_reply(&self) -> bool {
        self.1.kind == LineType::Ok
            && matches!(self.1.value, RecordValue::Outcome(znode::Outcome::Err(_)))
    }
}

/// The one place that pairs a run's invocations with their completions, in invocation order.
pub fn operations<E: Entry>(history: &[E]) -> Vec<Operation> {
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ops = Vec::new();
    for (i, line) in history.iter().enumerate() {
        if line.process() >= SERVER_PROCESS {
            continue;
        }
        match line.kind() {
            LineType::Invoke => {
                open.insert(line.process(), i);
            }
            LineType::Ok | LineType::Fail | LineType::Info => {
                if let Some(invoke) = open.remove(&line.process()) {
                    ops.push(Operation {
                        invoke,
                        done: Some(i),
                    });
                }
            }
            LineType::Event => {}
        }
    }
    ops.extend(
        open.into_values()
            .map(|invoke| Operation { invoke, done: None }),
    );
    ops.sort_by_key(|op| op.invoke);
    ops
}

/// How a completed (or never completed) operation ended, in the plots' words. An `ok` line whose
/// answer is a ZooKeeper error is an error reply; an operation still in flight when the run ended
/// is open.
pub fn outcome<E: Entry>(history: &[E], op: Operation) -> Outcome {
    let Some(done) = op.done else {
        return Outcome::Open;
    };
    let line = &history[done];
    match line.kind() {
        LineType::Ok if line.is_error_reply() => Outcome::ErrorReply,
        LineType::Ok => Outcome::Ok,
        LineType::Fail => Outcome::Fail,
        _ => Outcome::Info,
    }
}

/// The operations clients ran, one sample each, from the history; an open operation's latency is
/// the time until the end.
pub fn samples<E: Entry>(history: &[E], end_ms: f64) -> Vec<OpSample> {
    let ms = |t: u64| t as f64 / 1e6;
    operations(history)
        .into_iter()
        .map(|op| {
            let invoke = &history[op.invoke];
            let start_ms = ms(invoke.time());
            let latency_ms = match op.done {
                Some(done) => ms(history[done].time() - invoke.time()),
                None => (end_ms - start_ms).max(0.0),
            };
            OpSample {
                start_ms,
                latency_ms,
                op: invoke.f().to_string(),
                outcome: outcome(history, op),
            }
        })
        .collect()
}

/// Pairs each fault with the event that undid it (crash/restart, pause/resume, partition and
/// cuts/heal, clog/unclog); a fault never undone lasts to `end_ms`.
pub fn fault_windows(log: &[FaultRecord], end_ms: f64) -> Vec<FaultWindow> {
    let ms = |r: &FaultRecord| r.time.as_ms_f64();
    // Open faults by what undoes them: (undo kind, node or "" for world-wide faults).
    let mut open: Vec<(&'static str, String, f64, String, &'static str)> = Vec::new();
    let mut windows = Vec::new();
    let mut close = |open: &mut Vec<(&'static str, String, f64, String, &'static str)>,
                     undo: &str,
                     key: Option<&str>,
                     at: f64| {
        open.retain(|(u, k, start, label, kind)| {
            let matches = *u == undo && key.is_none_or(|key| key == k);
            if matches {
                windows.push(FaultWindow {
                    start_ms: *start,
                    end_ms: at,
                    label: label.clone(),
                    kind: kind.to_string(),
                });
            }
            !matches
        });
    };
    for r in log {
        let node = r.nodes.first().map(|n| n.to_string()).unwrap_or_default();
        match r.kind {
            "crash" => open.push((
                "restart",
                node.clone(),
                ms(r),
                format!("crash {node}"),
                "crash",
            )),
            "pause" => open.push((
                "resume",
                node.clone(),
                ms(r),
                format!("pause {node}"),
                "pause",
            )),
            "partition" | "isolate" | "cut" => open.push((
                "heal",
                String::new(),
                ms(r),
                format!("{} {}", r.kind, r.detail),
                "partition",
            )),
            "clog" => open.push((
                "unclog",
                r.detail.clone(),
                ms(r),
                format!("clog {}", r.detail),
                "clog",
            )),
            "restart" | "resume" => close(&mut open, r.kind, Some(&node), ms(r)),
            "heal" => close(&mut open, "heal", None, ms(r)),
            "unclog" if r.detail == "all" => close(&mut open, "unclog", None, ms(r)),
            "unclog" => close(&mut open, "unclog", Some(&r.detail), ms(r)),
            _ => {}
        }
    }
    for (_, _, start, label, kind) in open {
        windows.push(FaultWindow {
            start_ms: start,
            end_ms: end_ms.max(start),
            label,
            kind: kind.to_string(),
        });
    }
    windows.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    windows
}

/// Figures of a run for results.json.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Metrics {
    /// Latency quantiles of the answered operations, by operation type.
    pub latency: BTreeMap<String, LatencyQuantiles>,
    /// Answered operations (ok, error reply or fail) per second of workload.
    pub throughput_ops_per_s: f64,
    /// Writes that completed `ok` (create, delete, set_data, multi, close_session).
    pub writes_ok: u64,
    /// Replica-to-replica messages and bytes per write completed `ok` (client traffic excluded).
    pub peer_messages_per_write: Option<f64>,
    pub peer_bytes_per_write: Option<f64>,
    /// The write path's messages per committed transaction against the protocol's theory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_cost: Option<WriteCostFigures>,
    /// Every leadership lost, with how long until a new leader and until the clients' first write
    /// answered under it: the unavailability window.
    pub leader_losses: Vec<LossFigures>,
}

/// A run's messages per committed transaction, measured by the kinds the protocol's theory counts
/// (`Protocol::write_cost`), with the theory beside them and every other replica message counted
/// apart as overhead.
#[derive(Clone, Debug, Serialize)]
pub struct WriteCostFigures {
    /// The theory: `formula` messages of `kinds` per transaction, `theory_messages` on this
    /// cluster.
    pub formula: &'static str,
    pub theory_messages: u64,
    pub kinds: Vec<&'static str>,
    /// Transactions the leaders committed (`committed_txn_count`): every write the protocol
    /// ordered, ZooKeeper's error transactions and session opens and closes included.
    pub committed_txns: u64,
    /// Log positions the leaders committed with no transaction (`committed_noop_count`: Paxos's
    /// sync barriers and filled gaps; a Raft leader's one no-op per term is not counted).
    pub committed_noops: u64,
    /// Messages of `kinds` per committed log position (transactions and no-ops): what the theory
    /// predicts.
    pub messages_per_entry: Option<f64>,
    /// Messages and bytes of `kinds` per committed transaction: what a write costs, the
    /// protocol's no-ops included.
    pub messages_per_txn: Option<f64>,
    pub bytes_per_txn: Option<f64>,
    /// Every replica-to-replica message and byte per committed transaction (the write path,
    /// heartbeats, elections, forwarded requests, read barriers, commit notices).
    pub all_messages_per_txn: Option<f64>,
    pub all_bytes_per_txn: Option<f64>,
    /// Every replica-to-replica kind's messages per committed transaction.
    pub by_kind: BTreeMap<&'static str, f64>,
}

/// One lost leadership (`protocols::cluster::LeaderLoss`) in milliseconds, with the clients'
/// side of it.
#[derive(Clone, Debug, Serialize)]
pub struct LossFigures {
    pub term: u64,
    pub lost_ms: f64,
    /// The leader crashed (rather than stepped down or lost its quorum).
    pub crashed: bool,
    /// From the loss to the next established leader; none if none was established.
    pub to_leader_ms: Option<f64>,
    /// From the loss to the first write a client had answered (ok or a ZooKeeper error) after
    /// that leader was established; none if there was none. A write the old leader committed
    /// and a follower answered late does not end the window.
    pub to_write_ms: Option<f64>,
}

/// Message kinds of the client protocol (the rest are replica-to-replica).
const CLIENT_KINDS: [&str; 9] = [
    "CONNECT",
    "REQUEST",
    "PING",
    "SET_WATCHES",
    "CONNECTED",
    "EXPIRED",
    "REPLY",
    "NOTIFY",
    "PONG",
];

const WRITES: [&str; 5] = ["create", "delete", "set_data", "multi", "close_session"];

/// The run's figures; `cost` is the protocol's theory of a write's messages, `losses` its lost
/// leaderships.
pub fn metrics(
    run: &Run,
    samples: &[OpSample],
    workload_ms: f64,
    cost: Option<WriteCost>,
    losses: &[LeaderLoss],
) -> Metrics {
    let writes_ok = samples
        .iter()
        .filter(|s| s.outcome == Outcome::Ok && WRITES.contains(&s.op.as_str()))
        .count() as u64;
    let answered = samples.iter().filter(|s| s.outcome.answered()).count();
    let (mut messages, mut bytes) = (0u64, 0u64);
    for (kind, c) in &run.results.messages {
        if !CLIENT_KINDS.contains(kind) {
            messages += c.sent;
            bytes += c.bytes;
        }
    }
    let per_write = |n: u64| (writes_ok > 0).then(|| n as f64 / writes_ok as f64);
    let write_cost = cost.map(|cost| {
        let count = |name: &str| match run.results.protocol_metrics.get(name) {
            Some(Metric::Count(n)) => *n,
            _ => 0,
        };
        let txns = count("committed_txn_count");
        let noops = count(COMMITTED_NOOPS);
        let per_txn = |n: u64| (txns > 0).then(|| n as f64 / txns as f64);
        let (mut path, mut path_bytes) = (0, 0);
        let mut by_kind = BTreeMap::new();
        for (kind, c) in &run.results.messages {
            if CLIENT_KINDS.contains(kind) {
                continue;
            }
            if cost.kinds.contains(kind) {
                path += c.sent;
                path_bytes += c.bytes;
            }
            if let Some(x) = per_txn(c.sent) {
                by_kind.insert(*kind, x);
            }
        }
        WriteCostFigures {
            formula: cost.formula,
            theory_messages: cost.messages,
            kinds: cost.kinds.clone(),
            committed_txns: txns,
            committed_noops: noops,
            messages_per_entry: (txns + noops > 0).then(|| path as f64 / (txns + noops) as f64),
            messages_per_txn: per_txn(path),
            bytes_per_txn: per_txn(path_bytes),
            all_messages_per_txn: per_txn(messages),
            all_bytes_per_txn: per_txn(bytes),
            by_kind,
        }
    });
    Metrics {
        latency: reports::quantiles(samples),
        throughput_ops_per_s: answered as f64 / (workload_ms / 1e3).max(1e-9),
        writes_ok,
        peer_messages_per_write: per_write(messages),
        peer_bytes_per_write: per_write(bytes),
        write_cost,
        leader_losses: loss_figures(losses, samples),
    }
}

/// Each lost leadership with the time to the next leader and to the first write answered after
/// it was established.
pub fn loss_figures(losses: &[LeaderLoss], samples: &[OpSample]) -> Vec<LossFigures> {
    // Completion times of answered writes, ascending.
    let mut answered: Vec<f64> = samples
        .iter()
        .filter(|s| {
            matches!(s.outcome, Outcome::Ok | Outcome::ErrorReply)
                && WRITES.contains(&s.op.as_str())
        })
        .map(|s| s.start_ms + s.latency_ms)
        .collect();
    answered.sort_by(f64::total_cmp);
    losses
        .iter()
        .map(|l| {
            let lost_ms = l.lost_at.as_ms_f64();
            let leader_ms = l.recovered_at.map(SimTime::as_ms_f64);
            let first_write = leader_ms.and_then(|t| {
                let i = answered.partition_point(|&done| done < t);
                answered.get(i).copied()
            });
            LossFigures {
                term: l.term,
                lost_ms,
                crashed: l.crashed,
                to_leader_ms: leader_ms.map(|t| t - lost_ms),
                to_write_ms: first_write.map(|t| t - lost_ms),
            }
        })
        .collect()
}

/// `value` as pretty JSON with every number that has a fraction rounded to three decimals: times
/// and durations in milliseconds to the microsecond, rates and ratios to a thousandth. Virtual
/// times are exact to the nanosecond and means carry float noise; neither is worth reading.
/// Integers (counts) are written as they are. This is how `results.json` and `compare.json` are
/// written.
pub fn rounded_json(value: &impl Serialize) -> String {
    let mut bytes = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut bytes, Rounding(PrettyFormatter::new()));
    value.serialize(&mut serializer).expect("results serialize");
    String::from_utf8(bytes).expect("JSON is UTF-8")
}

/// serde_json's pretty formatter, rounding floats as it writes them.
struct Rounding(PrettyFormatter<'static>);

impl Formatter for Rounding {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        self.0.write_f64(writer, (value * 1e3).round() / 1e3)
    }

    // The rest is the pretty formatter's layout, unchanged.
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// The checks of a run that did not pass, with when their findings place the failure, for the
/// plots to say which and mark when.
pub fn failed_checks(run: &Run) -> Vec<FailedCheck> {
    run.results
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| FailedCheck {
            check: c.name.clone(),
            undecided: c.verdict == Verdict::Unknown,
            at_ms: c.at_ms,
            until_ms: c.until_ms,
        })
        .collect()
}

/// The moments the protocol asked to mark (leader changes, ...).
pub fn marks(run: &Run) -> Vec<Mark> {
    run.marks
        .iter()
        .map(|(t, label)| Mark {
            at_ms: t.as_ms_f64(),
            label: label.clone(),
        })
        .collect()
}

/// Draws the run's plots into `dir`.
pub fn plots(
    dir: &Path,
    title: &str,
    run: &Run,
    samples: &[OpSample],
    end_ms: f64,
) -> Result<(), reports::ReportError> {
    let windows = fault_windows(&run.fault_log, end_ms);
    let marks = marks(run);
    let failures = failed_checks(run);
    reports::latency_over_time(
        dir.join(LATENCY_PLOT),
        title,
        samples,
        &windows,
        &marks,
        &failures,
    )?;
    reports::latency_quantiles(dir.join(QUANTILES_PLOT), title, samples, &failures)?;
    let bucket_ms = (end_ms / 120.0).clamp(10.0, 1000.0);
    reports::throughput(
        dir.join(THROUGHPUT_PLOT),
        title,
        samples,
        &windows,
        &failures,
        bucket_ms,
    )?;
    if !run.messages.is_empty() {
        message_diagram(dir, title, run, windows, marks)?;
    }
    Ok(())
}

/// The space–time diagram of the logged messages, with the faults and marks of its time span.
fn message_diagram(
    dir: &Path,
    title: &str,
    run: &Run,
    windows: Vec<FaultWindow>,
    marks: Vec<Mark>,
) -> Result<(), reports::ReportError> {
    let arrows: Vec<Arrow> = run
        .messages
        .iter()
        .map(|m| Arrow {
            from: m.from.index(),
            to: m.to.index(),
            sent_ms: m.sent.as_ms_f64(),
            received_ms: m.received.map(SimTime::as_ms_f64),
            label: m.kind.to_string(),
        })
        .collect();
    let first = arrows
        .iter()
        .map(|a| a.sent_ms)
        .fold(f64::INFINITY, f64::min);
    let last = arrows
        .iter()
        .map(|a| a.received_ms.unwrap_or(a.sent_ms))
        .fold(0.0, f64::max);
    let windows: Vec<FaultWindow> = windows
        .into_iter()
        .filter(|w| w.end_ms >= first && w.start_ms <= last)
        .collect();
    let marks: Vec<Mark> = marks
        .into_iter()
        .filter(|m| (first..=last).contains(&m.at_ms))
        .collect();
    let lanes = &run.node_names;
    reports::message_diagram(
        dir.join(MESSAGE_DIAGRAM),
        title,
        lanes,
        &arrows,
        &windows,
        &marks,
    )?;
    reports::message_diagram_png(
        dir.join(MESSAGE_DIAGRAM_PNG),
        title,
        lanes,
        &arrows,
        &windows,
        &marks,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_json_rounds_fractions_keeps_integers_and_field_order() {
        #[derive(Serialize)]
        struct Figures {
            wall_time_ms: u64,
            latency_ms: f64,
            mean_ms: f64,
            virtual_time_ms: f64,
        }
        let json = rounded_json(&Figures {
            wall_time_ms: 131,
            latency_ms: 6.628323,
            mean_ms: 239.29574466666668,
            virtual_time_ms: 17500.0,
        });
        assert_eq!(
            json,
            "{\n  \"wall_time_ms\": 131,\n  \"latency_ms\": 6.628,\n  \"mean_ms\": 239.296,\n  \"virtual_time_ms\": 17500.0\n}"
        );
    }
}
