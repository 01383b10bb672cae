//! The ZooKeeper contract checker's entry point: `check` judges a read znode history at a level
//! (`zookeeper`, or `zookeeper+sync`, which adds the sync-read guarantee) and returns a `Report`
//! with one verdict per guarantee and the violations found; `check_lines` does the same for a
//! history still in memory as lines (a run's). It owns the order of the checks and the split of
//! the budget between the two searches; the guarantees themselves live in the sibling modules.
//!
//! It returns an error only for a history the znode model cannot read (bad arguments or answers,
//! the errors `zksim check` reports as bad input); every other oddity is a note in the report.

use super::history::History;
use super::order::{self, Explained};
use super::report::Found;
pub use super::report::{
    Guarantee, GuaranteeResult, Involved, Level, MAX_LISTED, Report, Verdict, Violation,
};
use super::{evident, reads, sessions, sync_read, watches, writes};
use crate::cluster::Record;
use sim::SimTime;
use sim::check::formats::RawHistory;
use sim::check::{Budget, Deadline, Error, UnknownReason};
use sim::history::Line;
use std::time::Duration;

/// Checks `raw`, a znode history, for ZooKeeper's guarantees at `level`.
///
/// Two guarantees (linearizable writes, reads at their zxid) are decided by the linearizability
/// search, each with half of `budget`'s time; past it they answer `unknown`. The others are single
/// passes over the history and always decide.
pub fn check(raw: &RawHistory, level: Level, budget: &Budget) -> Result<Report, Error> {
    let deadline = Deadline::start(budget);
    if let Some(model) = raw.model.as_deref().filter(|m| *m != "znode") {
        return Err(Error::BadInitial {
            model: model.into(),
            reason: "ZooKeeper's guarantees are checked on znode histories only".into(),
        });
    }
    if let Some(initial) = raw.initial.as_ref().filter(|v| !v.is_null()) {
        return Err(Error::BadInitial {
            model: "znode".into(),
            reason: format!("a znode history starts from a fresh server's tree; got {initial}"),
        });
    }
    check_history(&History::read(raw)?, level, &deadline)
}

/// `check` for a history held as lines (header on line 1, `lines[i]` on line `i + 2`, as in the
/// file a run writes), read straight from them: nothing is written out and parsed back.
pub fn check_lines(lines: &[Line], level: Level, budget: &Budget) -> Result<Report, Error> {
    let deadline = Deadline::start(budget);
    check_history(&History::from_lines(lines)?, level, &deadline)
}

/// `check_lines` for a run's history as its typed records, each with its time (`records[i]` is
/// what becomes line `i + 2`): the same report, without the JSON of the lines.
pub fn check_records(
    records: &[(SimTime, Record)],
    level: Level,
    budget: &Budget,
) -> Result<Report, Error> {
    let deadline = Deadline::start(budget);
    check_history(&History::from_records(records)?, level, &deadline)
}

/// The searches get the time the passes before them left, so that the whole check, reading
/// included, ends near `deadline`.
fn check_history(history: &History, level: Level, deadline: &Deadline) -> Result<Report, Error> {
    // Convictions that need no search first: however many floating writes make the searches
    // slow, these are decided (`evident`), and a guarantee they decide needs no search.
    let floor = order::floating_floors(history);
    let mut writes_found = Found::new(Guarantee::LinearizableWrites);
    evident::check_writes(history, &floor, &mut writes_found);
    let mut reads_found = Found::new(Guarantee::ReadsAtZxid);
    evident::check_reads(history, &floor, &mut reads_found);
    let writes_convicted = writes_found.count > 0;
    let reads_convicted = reads_found.count > 0;
    let half = deadline.whole().timeout.map(|t| t / 2);
    // The writes and reads together first: if one order by zxid explains them all, it explains
    // the writes alone too (reads only narrow where writes can go), so the common case orders the
    // history once, in at most half the time. Otherwise the writes alone say whether guarantee 1
    // holds, in the time left. A search whose guarantee is already convicted is skipped.
    let with_reads = match writes_convicted || reads_convicted {
        true => Explained::NotSearched,
        false => search(history, true, deadline, half)?,
    };
    let writes_alone = match (&with_reads, writes_convicted, reads_convicted) {
        (Explained::Yes, ..) => Explained::Yes,
        (_, true, _) => Explained::NotSearched,
        (_, false, _) => search(history, false, deadline, None)?,
    };
    let writes_ordered = !writes_convicted && !matches!(writes_alone, Explained::No(_));
    let mut results = vec![
        writes::check_writes(history, writes_found, writes_alone),
        reads::check_reads(history, reads_found, with_reads, writes_ordered),
    ];
    results.extend(sessions::check_sessions(history));
    results.push(watches::check_watches(history));
    if level == Level::ZookeeperSync {
        results.push(sync_read::check_sync_reads(history));
    }
    Ok(Report::new(level, history, results))
}

/// `order::explain` in at most `share` of the check's time and never past its end; out of time,
/// it says so with the whole check's limit (the share is an internal matter).
fn search(
    history: &History,
    with_reads: bool,
    deadline: &Deadline,
    share: Option<Duration>,
) -> Result<Explained, Error> {
    let budget = deadline.budget(share);
    let out_of_time = || {
        let seconds = deadline.whole().timeout.map_or(0.0, |t| t.as_secs_f64());
        Explained::Unknown(UnknownReason::Timeout { seconds })
    };
    if budget.timeout.is_some_and(|t| t.is_zero()) {
        return Ok(out_of_time());
    }
    Ok(match order::explain(history, with_reads, &budget)?.0 {
        Explained::Unknown(UnknownReason::Timeout { .. }) => out_of_time(),
        other => other,
    })
}
