//! A replica's durable state on its simulated disk: the acceptor's promised ballot (one record,
//! replaced atomically), its accepted (slot, ballot, value) records (appended; the last one of a
//! slot wins), and the learner's decided values (appended, so that a restarted replica executes
//! what it had learned without asking again). Recovery after a restart reads only these files.
//!
//! It also tracks which writes an fsync has made durable, so that every message vouching for the
//! acceptor's state leaves only after the fsync-done input ("an acceptor must remember, in stable
//! storage, the highest-numbered proposal it has accepted and the highest-numbered prepare
//! request to which it has responded" before responding, Paxos Made Simple §2.5). A reply gated
//! on an fsync waits in the replica's outbox until `Input::Synced` says that fsync completed.
//!
//! This module never decides what to write: the acceptor and learner do.

use super::ballot::Ballot;
use super::messages::{AcceptedEntry, Value};
use crate::cluster::Node;
use sim::{Ctx, IoId};
use std::collections::BTreeMap;

/// The promised ballot (atomically replaced).
pub const PROMISE: &str = "promise";
/// Accepted (slot, ballot, value) records.
pub const ACCEPTED: &str = "accepted";
/// Decided (slot, value) records.
pub const DECIDED: &str = "decided";

/// One record on the disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    Promise(Ballot),
    Accepted(AcceptedEntry),
    Decided { slot: u64, value: Value },
}

/// The acceptor's state as the disk (page cache) holds it, plus durability bookkeeping.
pub struct Storage {
    /// The highest ballot promised (P1b) or accepted (P2b).
    pub promised: Ballot,
    /// Per slot, the highest-ballot (ballot, value) accepted.
    pub accepted: BTreeMap<u64, (Ballot, Value)>,
    /// Whether some write an answer may depend on is not yet covered by an fsync issued.
    dirty: bool,
    /// The last fsync issued.
    issued: Option<IoId>,
    /// The last fsync completed.
    completed: Option<IoId>,
}

type Cx<'a> = Ctx<'a, Node<super::Paxos>>;

impl Storage {
    pub fn empty() -> Storage {
        Storage {
            promised: Ballot::ZERO,
            accepted: BTreeMap::new(),
            dirty: false,
            issued: None,
            completed: None,
        }
    }

    /// Reads the disk after a (re)start: the acceptor's state and the decided values. A torn
    /// record (the last one, written when the replica crashed) never completed and is dropped.
    pub fn recover(ctx: &mut Cx<'_>) -> (Storage, BTreeMap<u64, Value>, Vec<String>) {
        let mut problems = Vec::new();
        let mut storage = Storage::empty();
        let mut decided = BTreeMap::new();
        for file in [PROMISE, ACCEPTED, DECIDED] {
            let records: Vec<Stored> = ctx.read(file).to_vec();
            if ctx.torn_tail(file) {
                ctx.truncate(file, records.len());
            }
            for (i, record) in records.into_iter().enumerate() {
                match (file, record) {
                    (PROMISE, Stored::Promise(b)) => storage.promised = storage.promised.max(b),
                    (ACCEPTED, Stored::Accepted(e)) => {
                        // An acceptor accepts only at or above its promise, so an accepted ballot
                        // is a promise too.
                        storage.promised = storage.promised.max(e.ballot);
                        storage.accepted.insert(e.slot, (e.ballot, e.value));
                    }
                    (DECIDED, Stored::Decided { slot, value }) => {
                        if let Some(v) = decided.get(&slot)
                            && *v != value
                        {
                            problems.push(format!("slot {slot} decided twice, differently"));
                        }
                        decided.insert(slot, value);
                    }
                    (file, other) => problems.push(format!("{file} record {i} is {other:?}")),
                }
            }
        }
        (storage, decided, problems)
    }

    /// Promises `ballot` (P1b): an atomic replace of the promise file.
    pub fn promise(&mut self, ctx: &mut Cx<'_>, ballot: Ballot) {
        assert!(ballot >= self.promised, "promises only go up");
        self.promised = ballot;
        ctx.replace(PROMISE, vec![Stored::Promise(ballot)]);
        self.dirty = true;
    }

    /// Accepts (slot, ballot, value) (P2b): appended; it raises the promise to `ballot` too.
    pub fn accept(&mut self, ctx: &mut Cx<'_>, slot: u64, ballot: Ballot, value: Value) {
        assert!(
            ballot >= self.promised,
            "P2b: accept only at or above the promise"
        );
        self.promised = ballot;
        self.accepted.insert(slot, (ballot, value.clone()));
        ctx.append(
            ACCEPTED,
            Stored::Accepted(AcceptedEntry {
                slot,
                ballot,
                value,
            }),
        );
        self.dirty = true;
    }

    /// Records a decision. Nothing is sent on its strength, so it waits for whatever fsync comes
    /// next.
    pub fn decided(&mut self, ctx: &mut Cx<'_>, slot: u64, value: Value) {
        ctx.append(DECIDED, Stored::Decided { slot, value });
    }

    /// The fsync a message vouching for the state written so far must wait for: a new one if
    /// something was written since the last, the one in flight if it has not completed, `None` if
    /// everything is durable already.
    pub fn durable_point(&mut self, ctx: &mut Cx<'_>) -> Option<IoId> {
        if self.dirty {
            self.dirty = false;
            let io = ctx.fsync();
            self.issued = Some(io);
            return Some(io);
        }
        match (self.issued, self.completed) {
            (Some(i), Some(c)) if i <= c => None,
            (Some(i), _) => Some(i),
            (None, _) => None,
        }
    }

    /// An fsync completed: every write issued before it is durable.
    pub fn on_synced(&mut self, io: IoId) {
        self.completed = Some(self.completed.map_or(io, |c| c.max(io)));
    }

    /// Whether the fsync `io` has completed.
    pub fn is_durable(&self, io: IoId) -> bool {
        self.completed.is_some_and(|c| io <= c)
    }

    /// The accepted entries at or above `from_slot`, for a promise.
    pub fn accepted_from(&self, from_slot: u64) -> Vec<AcceptedEntry> {
        self.accepted
            .range(from_slot..)
            .map(|(&slot, (ballot, value))| AcceptedEntry {
                slot,
                ballot: *ballot,
                value: value.clone(),
            })
            .collect()
    }
}
