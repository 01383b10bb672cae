//! What ZAB replicas say to one another: Fast Leader Election notifications and ZooKeeper's quorum
//! packets (FOLLOWERINFO, LEADERINFO, ACKEPOCH, DIFF, TRUNC, SNAP, PROPOSAL, COMMIT, NEWLEADER,
//! ACK, UPTODATE, PING, REQUEST, SYNC, REVALIDATE), and the replicated transaction they carry. It
//! owns message shapes, their names as the world counts them and their sizes on the wire, never
//! behaviour.
//!
//! Sizes follow ZooKeeper's jute encoding roughly: a quorum packet is a type, a zxid and a length
//! (16 bytes) plus its payload; a transaction adds its header (session, cxid, zxid, time, type).

use super::election::Vote;
use super::storage::Snapshot;
use crate::wire::write_bytes;
use crate::znode::{SessionId, Write, Zxid};
use sim::Message;

pub use crate::zookeeper::Txn;

/// A peer's state as a notification reports it (ZooKeeper's `ServerState`, without observers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerState {
    Looking,
    Following,
    Leading,
}

/// A replica-to-replica message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ZabMsg {
    /// FLE: the sender's vote, its round (`electionEpoch`, the logical clock) and its state.
    Notification {
        vote: Vote,
        round: u64,
        state: PeerState,
    },
    /// Discovery: a learner connects, reporting its acceptedEpoch. `conn` names this connection
    /// attempt (a TCP connection in ZooKeeper) so that a repeated FOLLOWERINFO is recognised.
    FollowerInfo {
        accepted_epoch: u32,
        conn: u64,
    },
    /// Discovery: the epoch the prospective leader proposes (Zab's NEWEPOCH).
    LeaderInfo {
        epoch: u32,
        conn: u64,
    },
    /// Discovery: the learner's promise. `current_epoch` is `None` (ZooKeeper's -1) when the
    /// learner had already accepted this epoch: such an ack does not count toward the quorum.
    AckEpoch {
        current_epoch: Option<u32>,
        last_zxid: Zxid,
        conn: u64,
    },
    /// Sync: what follows are the transactions after `zxid`.
    Diff {
        zxid: Zxid,
    },
    /// Sync: drop every logged transaction after `zxid`; what follows are the ones after it.
    Trunc {
        zxid: Zxid,
    },
    /// Sync: replace everything with this snapshot; what follows are the transactions after it.
    Snap(Box<Snapshot>),
    Proposal(Txn),
    Commit {
        zxid: Zxid,
    },
    /// Sync done: the marker `(e, 0)` the learner acks once the synced history is durable and its
    /// current epoch is e.
    NewLeader {
        zxid: Zxid,
    },
    /// A learner's ack of NEWLEADER (zxid `(e, 0)`) or of a proposal.
    Ack {
        zxid: Zxid,
    },
    /// A quorum acked NEWLEADER: the learner may serve clients (Zab's COMMIT-LD).
    UpToDate,
    /// The leader's heartbeat, and the learner's answer carrying the sessions its clients touched
    /// since the last one. `round` numbers the leader's heartbeats (used by sync-through-quorum).
    Ping {
        round: u64,
        touches: Vec<SessionId>,
    },
    /// A learner forwards a client's write to the leader.
    Request {
        session: SessionId,
        xid: u64,
        write: Write,
        timeout_ms: u64,
    },
    /// A learner forwards a client's `sync`.
    Sync {
        session: SessionId,
        xid: u64,
    },
    /// The leader's answer to a `Sync`, sent after the COMMITs it had to wait for.
    SyncDone {
        session: SessionId,
        xid: u64,
    },
    /// A learner asks whether a reconnecting client's session is still valid (and touches it).
    Revalidate {
        session: SessionId,
        timeout_ms: u64,
    },
    Revalidated {
        session: SessionId,
        valid: bool,
    },
}

/// A quorum packet's header: type, zxid, payload length.
const PACKET_BYTES: usize = 16;
/// A transaction header: session, cxid, zxid, time, type.
const TXN_HEADER_BYTES: usize = 32;

impl Txn {
    pub fn size_bytes(&self) -> usize {
        TXN_HEADER_BYTES + write_bytes(&self.write) + 4
    }
}

impl Message for ZabMsg {
    fn kind(&self) -> &'static str {
        match self {
            ZabMsg::Notification { .. } => "NOTIFICATION",
            ZabMsg::FollowerInfo { .. } => "FOLLOWERINFO",
            ZabMsg::LeaderInfo { .. } => "LEADERINFO",
            ZabMsg::AckEpoch { .. } => "ACKEPOCH",
            ZabMsg::Diff { .. } => "DIFF",
            ZabMsg::Trunc { .. } => "TRUNC",
            ZabMsg::Snap(_) => "SNAP",
            ZabMsg::Proposal(_) => "PROPOSAL",
            ZabMsg::Commit { .. } => "COMMIT",
            ZabMsg::NewLeader { .. } => "NEWLEADER",
            ZabMsg::Ack { .. } => "ACK",
            ZabMsg::UpToDate => "UPTODATE",
            // ZooKeeper calls these PING and REQUEST; the prefix keeps them apart from the client
            // protocol's PING and REQUEST in the world's message counts.
            ZabMsg::Ping { .. } => "QUORUM_PING",
            ZabMsg::Request { .. } => "QUORUM_REQUEST",
            ZabMsg::Sync { .. } => "SYNC",
            ZabMsg::SyncDone { .. } => "SYNC_DONE",
            ZabMsg::Revalidate { .. } => "REVALIDATE",
            ZabMsg::Revalidated { .. } => "REVALIDATED",
        }
    }

    fn size_bytes(&self) -> usize {
        PACKET_BYTES
            + match self {
                // sid, leader, zxid, electionEpoch, peerEpoch, state, config version.
                ZabMsg::Notification { .. } => 44,
                ZabMsg::FollowerInfo { .. } => 20,
                ZabMsg::LeaderInfo { .. } => 4,
                ZabMsg::AckEpoch { .. } => 4,
                ZabMsg::Diff { .. } | ZabMsg::Trunc { .. } | ZabMsg::Commit { .. } => 0,
                ZabMsg::NewLeader { .. } | ZabMsg::Ack { .. } | ZabMsg::UpToDate => 0,
                ZabMsg::Snap(s) => s.size_bytes(),
                ZabMsg::Proposal(txn) => txn.size_bytes(),
                ZabMsg::Ping { touches, .. } => 4 + 12 * touches.len(),
                ZabMsg::Request { write, .. } => TXN_HEADER_BYTES + write_bytes(write),
                ZabMsg::Sync { .. } | ZabMsg::SyncDone { .. } => 12,
                ZabMsg::Revalidate { .. } | ZabMsg::Revalidated { .. } => 12,
            }
    }
}
