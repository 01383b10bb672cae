//! The read paths. Reads are ZooKeeper's: answered from the local tree of the server the client
//! is connected to, after the session's earlier requests (sequentially consistent, not
//! linearizable), by the shared front end. A `sync` is a ReadIndex barrier (thesis §6.4): the
//! leader notes its commit index (step 1), confirms it still leads with a heartbeat round a
//! majority answers (step 2), and the server the client is on answers the sync once it has applied
//! that index (steps 3–4; a follower asks the leader for the index, thesis §6.4 "reads from
//! followers"). The leader serves read indexes only once established, with an entry of its term
//! committed (§8), so its commit index covers every earlier commit.
//!
//! This module never answers a sync before a majority confirmed the leader after the sync
//! arrived.

use super::{Cx, PendingRead, Raft, RaftMsg, ReadOrigin, Role};
use crate::cluster::ReplicaCtx;
use crate::znode::SessionId;
use crate::zookeeper::server;
use sim::NodeId;

impl Raft {
    /// Thesis §6.4 steps 1–2 at the leader: record the commit index and start a heartbeat round.
    pub(crate) fn leader_read_index(
        &mut self,
        origin: ReadOrigin,
        session: SessionId,
        xid: u64,
        ctx: &mut Cx<'_>,
    ) {
        if !self.is_established_leader() {
            // Not yet sure of its commit index: the client's sync times out and it retries.
            return;
        }
        let index = self.commit_index;
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        l.round += 1;
        let round = l.round;
        l.reads.push(PendingRead {
            origin,
            session,
            xid,
            index,
            round,
        });
        for peer in self.peers() {
            self.send_append(peer, true, ctx);
        }
        // A cluster of one confirms itself.
        self.release_reads(ctx);
    }

    /// Step 2 done for every read whose round a majority (the leader included) has answered:
    /// the leader waits to apply the index itself, or hands it to the follower that asked.
    pub(crate) fn release_reads(&mut self, ctx: &mut Cx<'_>) {
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.reads.is_empty() {
            return;
        }
        let me = self.id;
        let n = self.n;
        let acked = |round: u64| {
            crate::replication::is_quorum(
                n,
                l.progress
                    .iter()
                    .filter(|(_, p)| p.acked_round >= round)
                    .map(|(id, _)| *id)
                    .chain(std::iter::once(me)),
            )
        };
        let (done, waiting): (Vec<PendingRead>, Vec<PendingRead>) =
            l.reads.drain(..).partition(|r| acked(r.round));
        l.reads = waiting;
        for r in done {
            match r.origin {
                ReadOrigin::Local => self.read_waits.push((r.index, r.session, r.xid)),
                ReadOrigin::Follower(f) => ctx.send_peer(
                    f,
                    RaftMsg::ReadIndexAt {
                        session: r.session,
                        xid: r.xid,
                        index: r.index,
                    },
                ),
            }
        }
        self.release_read_waits(ctx);
    }

    /// The leader's read index for a follower's sync: answered once applied here (step 4).
    pub(crate) fn follower_read_index(
        &mut self,
        from: NodeId,
        session: SessionId,
        xid: u64,
        index: u64,
        ctx: &mut Cx<'_>,
    ) {
        if self.leader() != Some(from) {
            return;
        }
        self.read_waits.push((index, session, xid));
        self.release_read_waits(ctx);
    }

    /// Step 4: every sync whose read index is applied here passes its barrier.
    pub(crate) fn release_read_waits(&mut self, ctx: &mut Cx<'_>) {
        if self.read_waits.is_empty() {
            return;
        }
        let applied = self.last_applied;
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .read_waits
            .drain(..)
            .partition(|(index, _, _)| *index <= applied);
        self.read_waits = waiting;
        for (_, session, xid) in ready {
            server::synced(self, session, xid, ctx);
        }
    }
}
