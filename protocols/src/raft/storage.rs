//! A Raft replica's persistent state (Raft Fig. 2, "persistent state on all servers, updated on
//! stable storage before responding to RPCs"): currentTerm and votedFor in one small file replaced
//! atomically, and the log, appended to and truncated at a conflict. Recovery after a restart reads
//! only these files. Every write gets a sequence number (`wseq`) in the order the disk sees it, and
//! is durable once an fsync issued after it completes (`Input::Synced`); the replica holds every
//! message that vouches for a write until then (`Raft::send_durable`).
//!
//! This module never decides what to write: election and replication do.

use super::messages::Entry;
use crate::cluster::Node;
use sim::{Ctx, IoId, NodeId};
use std::collections::VecDeque;

/// currentTerm and votedFor.
pub const STATE: &str = "state";
/// The log: one record per entry, index 1 first.
pub const LOG: &str = "log";

/// One record on the disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    State {
        term: u64,
        voted_for: Option<NodeId>,
    },
    Entry(Entry),
}

/// A log entry and the sequence number of the write that logged it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub entry: Entry,
    pub wseq: u64,
}

/// The mirror of the disk (its page cache) and the durability bookkeeping.
pub struct Storage {
    pub current_term: u64,
    pub voted_for: Option<NodeId>,
    /// The log; `log[i - 1]` holds index `i`.
    pub log: Vec<Logged>,
    /// Writes issued in this life; the next write gets this number.
    writes: u64,
    /// Every write numbered below this is durable.
    durable: u64,
    /// The highest write an fsync was asked for.
    requested: u64,
    /// Fsyncs in flight, each with the last write it covers, in issue order.
    in_flight: VecDeque<(IoId, u64)>,
}

type Cx<'a> = Ctx<'a, Node<super::Raft>>;

impl Storage {
    /// Nothing on disk.
    pub fn empty() -> Storage {
        Storage {
            current_term: 0,
            voted_for: None,
            log: Vec::new(),
            writes: 1,
            durable: 1,
            requested: 0,
            in_flight: VecDeque::new(),
        }
    }

    /// Reads the disk after a (re)start; returns the problems found (a log that is not a sequence
    /// of indexes from 1 with non-decreasing terms), which the replica reports as findings.
    pub fn recover(ctx: &mut Cx<'_>) -> (Storage, Vec<String>) {
        let mut s = Storage::empty();
        let mut problems = Vec::new();
        if let Some(Stored::State { term, voted_for }) = ctx.read(STATE).last() {
            s.current_term = *term;
            s.voted_for = *voted_for;
        }
        let records: Vec<Stored> = ctx.read(LOG).to_vec();
        let count = records.len();
        for (i, r) in records.into_iter().enumerate() {
            match r {
                Stored::Entry(e) => {
                    let prev_term = s.log.last().map_or(0, |l| l.entry.term);
                    if e.index != i as u64 + 1 || e.term < prev_term || e.term > s.current_term {
                        problems.push(format!(
                            "log record {i} is entry {} of term {} (after term {prev_term}, current term {})",
                            e.index, e.term, s.current_term
                        ));
                    }
                    // Read back after a crash: durable, numbered 0.
                    s.log.push(Logged { entry: e, wseq: 0 });
                }
                other => problems.push(format!("log record {i} is {other:?}, not an entry")),
            }
        }
        if ctx.torn_tail(LOG) {
            // The torn record never completed (real logs checksum records): the log ends before it.
            ctx.truncate(LOG, count);
            s.write();
        }
        (s, problems)
    }

    fn write(&mut self) -> u64 {
        let w = self.writes;
        self.writes += 1;
        w
    }

    /// The number of the last write (0, always durable, if none): waiting for it waits for
    /// everything written so far.
    pub fn last_write(&self) -> u64 {
        self.writes - 1
    }

    pub fn is_durable(&self, wseq: u64) -> bool {
        wseq < self.durable
    }

    pub fn last_index(&self) -> u64 {
        self.log.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.log.last().map_or(0, |l| l.entry.term)
    }

    /// The term of the entry at `index` (0 for index 0, before the log); `None` past the end.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        match index {
            0 => Some(0),
            i => self.log.get(i as usize - 1).map(|l| l.entry.term),
        }
    }

    pub fn entry(&self, index: u64) -> &Entry {
        &self.log[index as usize - 1].entry
    }

    /// The first index of the term of the entry at `index` (for the conflict-term hint).
    pub fn first_index_of_term_at(&self, index: u64) -> u64 {
        let term = self.term_at(index).unwrap_or(0);
        let mut i = index;
        while i > 1 && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// The last index of `term` in the log, if the log has an entry of that term.
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        self.log
            .iter()
            .rev()
            .find(|l| l.entry.term == term)
            .map(|l| l.entry.index)
    }

    /// The highest index up to which the log is durable. Writes are numbered in log order (a
    /// truncated suffix is rewritten with higher numbers), so this is a prefix.
    pub fn durable_index(&self) -> u64 {
        self.log.partition_point(|l| l.wseq < self.durable) as u64
    }

    /// Persists currentTerm and votedFor (one atomic replace).
    pub fn persist_state(&mut self, ctx: &mut Cx<'_>, term: u64, voted_for: Option<NodeId>) {
        assert!(term >= self.current_term, "terms never go back");
        self.current_term = term;
        self.voted_for = voted_for;
        ctx.replace(STATE, vec![Stored::State { term, voted_for }]);
        self.write();
    }

    /// Appends `entry`, which must be the next index.
    pub fn append(&mut self, ctx: &mut Cx<'_>, entry: Entry) {
        assert_eq!(entry.index, self.last_index() + 1, "the log has no gaps");
        assert!(
            entry.term >= self.last_term(),
            "terms in a log never decrease"
        );
        ctx.append(LOG, Stored::Entry(entry.clone()));
        let wseq = self.write();
        self.log.push(Logged { entry, wseq });
    }

    /// Deletes the entry at `index` and all that follow it (Fig. 2, AppendEntries receiver rule 3).
    pub fn truncate_from(&mut self, ctx: &mut Cx<'_>, index: u64) {
        assert!(index >= 1);
        let keep = (index - 1) as usize;
        if keep < self.log.len() {
            ctx.truncate(LOG, keep);
            self.log.truncate(keep);
            self.write();
        }
    }

    /// Asks for everything written so far to become durable, unless an fsync already covers it
    /// (group commit: one fsync covers all the writes of a handler).
    pub fn flush(&mut self, ctx: &mut Cx<'_>) {
        let last = self.last_write();
        if last > self.requested && !self.is_durable(last) {
            let io = ctx.fsync();
            self.in_flight.push_back((io, last));
            self.requested = last;
        }
    }

    /// An fsync completed: every write it covers is durable (fsyncs complete in issue order).
    pub fn on_synced(&mut self, io: IoId) {
        while let Some(&(id, upto)) = self.in_flight.front() {
            if id > io {
                break;
            }
            self.in_flight.pop_front();
            self.durable = self.durable.max(upto + 1);
        }
    }
}
