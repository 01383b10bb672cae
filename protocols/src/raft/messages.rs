//! Raft's messages between replicas (Raft §5, Fig. 2: RequestVote and AppendEntries with their
//! replies) and the few a ZooKeeper service adds (a follower forwards its clients' writes, syncs
//! and session revalidations to the leader), and the log entry they carry.
//!
//! This module owns shapes and sizes only; it never decides anything.

use crate::wire::write_bytes;
use crate::znode::{SessionId, Write};
use sim::Message;

/// What a log entry asks the state machine to do: ZooKeeper's transactions (a client's write,
/// createSession, closeSession), or nothing (the no-op a new leader appends, Raft §8).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    Noop,
    Txn {
        session: SessionId,
        /// The client's request id; 0 for createSession and the leader's own closeSession.
        xid: u64,
        write: Write,
        /// createSession only: the negotiated timeout.
        timeout_ms: u64,
    },
}

/// One log entry (Raft Fig. 2: "each entry contains command for state machine, and term when
/// entry was received by leader (first index is 1)").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    pub term: u64,
    pub index: u64,
    pub command: Command,
}

impl Entry {
    pub fn size_bytes(&self) -> usize {
        16 + match &self.command {
            Command::Noop => 0,
            Command::Txn { write, .. } => 20 + write_bytes(write),
        }
    }
}

/// A message between Raft replicas.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftMsg {
    /// Raft Fig. 2 RequestVote RPC (§5.2), or its Pre-Vote probe (thesis §9.6) when `pre_vote`.
    RequestVote {
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
        pre_vote: bool,
    },
    /// RequestVote's result.
    Vote {
        term: u64,
        granted: bool,
        pre_vote: bool,
    },
    /// Raft Fig. 2 AppendEntries RPC (§5.3); empty as a heartbeat (§5.2). `round` numbers the
    /// leader's heartbeat rounds for ReadIndex (thesis §6.4); `ack` is false on a notice that only
    /// carries a new commit index, which a follower answers only if it fails.
    AppendEntries {
        term: u64,
        prev_log_index: u64,
        prev_log_term: u64,
        entries: Vec<Entry>,
        leader_commit: u64,
        round: u64,
        ack: bool,
    },
    /// AppendEntries' result. On success `match_index` is prevLogIndex plus the entries sent; on
    /// failure `rejected` is the prevLogIndex refused and `last_index` the follower's last index
    /// (etcd's hint), with `conflict_term` and its first index for the conflict-term back-off
    /// (§5.3, "the follower can include the term of the conflicting entry"). A follower hands the
    /// leader its clients' session activity (`touches`), as ZooKeeper's learners do in pings.
    AppendReply {
        term: u64,
        success: bool,
        match_index: u64,
        rejected: u64,
        last_index: u64,
        conflict_term: u64,
        conflict_first: u64,
        round: u64,
        /// It answers an AppendEntries that carried no entries (a heartbeat): a message type of
        /// its own on the wire, as etcd's MsgHeartbeatResp, so that counts by kind tell the
        /// write path from the heartbeats. The leader handles both alike.
        heartbeat: bool,
        touches: Vec<SessionId>,
    },
    /// A follower forwards a transaction of its clients to the leader (ZooKeeper's REQUEST).
    Forward {
        session: SessionId,
        xid: u64,
        write: Write,
        timeout_ms: u64,
    },
    /// A follower asks the leader for a read index for its client's `sync` (thesis §6.4).
    ReadIndex {
        session: SessionId,
        xid: u64,
    },
    /// The leader's answer: once the follower has applied `index`, the sync has passed.
    ReadIndexAt {
        session: SessionId,
        xid: u64,
        index: u64,
    },
    /// A follower asks whether a reconnecting client's session is still valid (and touches it).
    Revalidate {
        session: SessionId,
        timeout_ms: u64,
    },
    Revalidated {
        session: SessionId,
        valid: bool,
    },
}

/// Header: type, term, and the sender's ids.
const HEADER_BYTES: usize = 16;

impl Message for RaftMsg {
    fn kind(&self) -> &'static str {
        match self {
            RaftMsg::RequestVote {
                pre_vote: false, ..
            } => "REQUEST_VOTE",
            RaftMsg::RequestVote { pre_vote: true, .. } => "PRE_VOTE",
            RaftMsg::Vote {
                pre_vote: false, ..
            } => "VOTE",
            RaftMsg::Vote { pre_vote: true, .. } => "PRE_VOTE_REPLY",
            // One RPC, three message types on the wire (etcd's MsgApp, MsgHeartbeat and an empty
            // MsgApp), so that counts by kind separate the write path (`Raft::write_cost`) from
            // the heartbeats and the eager commit notices.
            RaftMsg::AppendEntries { entries, ack, .. } => match (entries.is_empty(), ack) {
                (false, _) => "APPEND_ENTRIES",
                (true, true) => "HEARTBEAT",
                (true, false) => "COMMIT_NOTICE",
            },
            RaftMsg::AppendReply {
                heartbeat: false, ..
            } => "APPEND_REPLY",
            RaftMsg::AppendReply {
                heartbeat: true, ..
            } => "HEARTBEAT_REPLY",
            RaftMsg::Forward { .. } => "FORWARD",
            RaftMsg::ReadIndex { .. } => "READ_INDEX",
            RaftMsg::ReadIndexAt { .. } => "READ_INDEX_AT",
            RaftMsg::Revalidate { .. } => "REVALIDATE",
            RaftMsg::Revalidated { .. } => "REVALIDATED",
        }
    }

    fn size_bytes(&self) -> usize {
        HEADER_BYTES
            + match self {
                RaftMsg::RequestVote { .. } => 24,
                RaftMsg::Vote { .. } => 9,
                RaftMsg::AppendEntries { entries, .. } => {
                    40 + entries.iter().map(Entry::size_bytes).sum::<usize>()
                }
                RaftMsg::AppendReply { touches, .. } => 57 + 8 * touches.len(),
                RaftMsg::Forward { write, .. } => 24 + write_bytes(write),
                RaftMsg::ReadIndex { .. } | RaftMsg::Revalidate { .. } => 16,
                RaftMsg::ReadIndexAt { .. } => 24,
                RaftMsg::Revalidated { .. } => 9,
            }
    }
}
