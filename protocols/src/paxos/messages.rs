//! What Multi-Paxos replicas say to one another: phase 1 (P1a PREPARE, P1b PROMISE), phase 2
//! (P2a ACCEPT, P2b ACCEPTED), the rejection of a stale ballot (PMMC's "preempted"), decisions
//! (PMMC's DECISION), the leader's heartbeat (which also carries the decided prefix), catch-up of
//! a lagging replica, and the ZooKeeper traffic a non-leader hands to the leader (forwarded
//! writes, syncs, revalidation). It owns message shapes, their names as the world counts them and
//! their sizes on the wire, never behaviour.
//!
//! Slots carry `Value`s: a client's command as the front end submitted it (write, createSession,
//! closeSession), executed when its slot is decided, or a no-op (Paxos Made Simple §3: a new
//! leader fills the gaps it cannot resolve with "no-op" commands).

use super::ballot::Ballot;
use crate::wire::write_bytes;
use crate::znode::{SessionId, Write};
use sim::Message;

/// A command as the front end submitted it: the zxid is not part of it, since a command's zxid
/// follows from the slot it is decided in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Command {
    pub session: SessionId,
    /// The client's request id; 0 for createSession and the leader's closeSession at expiry.
    pub xid: u64,
    pub write: Write,
    /// createSession only: the negotiated timeout.
    pub timeout_ms: u64,
}

/// What a slot holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// Paxos Made Simple §3: "a special no-op command that leaves the state unchanged", proposed
    /// for a gap; also the barrier a `sync` waits for.
    Noop,
    Command(Command),
}

/// One slot's accepted (ballot, value), as an acceptor reports it in a promise.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AcceptedEntry {
    pub slot: u64,
    pub ballot: Ballot,
    pub value: Value,
}

/// A replica-to-replica message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaxosMsg {
    /// P1a: "prepare request with number n" (Paxos Made Simple §2.2), for every slot from
    /// `from_slot` on (§3: one phase 1 for infinitely many instances).
    Prepare {
        ballot: Ballot,
        from_slot: u64,
    },
    /// P1b: the promise not to accept a ballot below `ballot`, with every (slot, ballot, value)
    /// the acceptor accepted at or above `from_slot`.
    Promise {
        ballot: Ballot,
        accepted: Vec<AcceptedEntry>,
    },
    /// The acceptor has promised `promised`, above the ballot it was asked for (PMMC's
    /// "preempted"): the proposer gives up its ballot.
    Nack {
        promised: Ballot,
    },
    /// P2a: "accept request" for `value` in `slot` at `ballot`. `decided_upto` is the leader's
    /// decided prefix (every slot up to it decided), piggybacked.
    Accept {
        ballot: Ballot,
        slot: u64,
        value: Value,
        decided_upto: u64,
    },
    /// P2b: the acceptor accepted (slot, ballot), durably.
    Accepted {
        ballot: Ballot,
        slot: u64,
    },
    /// The value chosen in `slot` (PMMC's DECISION), to the learners.
    Decide {
        slot: u64,
        value: Value,
    },
    /// The leader's heartbeat: it still leads with `ballot`, and every slot up to `decided_upto`
    /// is decided.
    Heartbeat {
        ballot: Ballot,
        decided_upto: u64,
    },
    /// A replica's answer to a heartbeat: the sessions its clients touched since the last one
    /// (ZooKeeper's ping answer), and how far it has executed.
    HeartbeatAck {
        ballot: Ballot,
        executed: u64,
        touches: Vec<SessionId>,
    },
    /// A lagging replica asks for the decisions from `from_slot` on.
    CatchUp {
        from_slot: u64,
    },
    /// Decided slots, in slot order.
    Decisions {
        entries: Vec<(u64, Value)>,
    },
    /// A non-leader forwards a client's command.
    Forward(Command),
    /// A non-leader forwards a client's `sync`.
    Sync {
        session: SessionId,
        xid: u64,
    },
    /// The leader's answer to a `Sync`: it passes once `slot` (a barrier decided after the sync
    /// arrived) is executed here.
    SyncDone {
        session: SessionId,
        xid: u64,
        slot: u64,
    },
    /// A non-leader asks whether a reconnecting client's session is still valid (and touches it).
    Revalidate {
        session: SessionId,
    },
    Revalidated {
        session: SessionId,
        valid: bool,
    },
}

/// A packet's header: type, ballot, length.
const PACKET_BYTES: usize = 24;
/// A command's header: session, cxid, type, timeout.
const COMMAND_BYTES: usize = 28;

impl Value {
    pub fn size_bytes(&self) -> usize {
        match self {
            Value::Noop => 1,
            Value::Command(c) => COMMAND_BYTES + write_bytes(&c.write),
        }
    }
}

impl Message for PaxosMsg {
    fn kind(&self) -> &'static str {
        match self {
            PaxosMsg::Prepare { .. } => "PREPARE",
            PaxosMsg::Promise { .. } => "PROMISE",
            PaxosMsg::Nack { .. } => "NACK",
            PaxosMsg::Accept { .. } => "ACCEPT",
            PaxosMsg::Accepted { .. } => "ACCEPTED",
            PaxosMsg::Decide { .. } => "DECIDE",
            PaxosMsg::Heartbeat { .. } => "HEARTBEAT",
            PaxosMsg::HeartbeatAck { .. } => "HEARTBEAT_ACK",
            PaxosMsg::CatchUp { .. } => "CATCH_UP",
            PaxosMsg::Decisions { .. } => "DECISIONS",
            PaxosMsg::Forward(_) => "FORWARD",
            PaxosMsg::Sync { .. } => "SYNC",
            PaxosMsg::SyncDone { .. } => "SYNC_DONE",
            PaxosMsg::Revalidate { .. } => "REVALIDATE",
            PaxosMsg::Revalidated { .. } => "REVALIDATED",
        }
    }

    fn size_bytes(&self) -> usize {
        PACKET_BYTES
            + match self {
                PaxosMsg::Prepare { .. } => 8,
                PaxosMsg::Promise { accepted, .. } => accepted
                    .iter()
                    .map(|e| 20 + e.value.size_bytes())
                    .sum::<usize>(),
                PaxosMsg::Nack { .. } | PaxosMsg::Accepted { .. } => 8,
                PaxosMsg::Accept { value, .. } => 16 + value.size_bytes(),
                PaxosMsg::Decide { value, .. } => 8 + value.size_bytes(),
                PaxosMsg::Heartbeat { .. } => 8,
                PaxosMsg::HeartbeatAck { touches, .. } => 8 + 8 * touches.len(),
                PaxosMsg::CatchUp { .. } => 8,
                PaxosMsg::Decisions { entries } => entries
                    .iter()
                    .map(|(_, v)| 8 + v.size_bytes())
                    .sum::<usize>(),
                PaxosMsg::Forward(c) => Value::Command(c.clone()).size_bytes(),
                PaxosMsg::Sync { .. } | PaxosMsg::Revalidate { .. } => 16,
                PaxosMsg::SyncDone { .. } => 24,
                PaxosMsg::Revalidated { .. } => 9,
            }
    }
}
