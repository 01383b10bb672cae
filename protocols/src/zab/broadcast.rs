//! Broadcast, Zab §5.1 phase 3 as ZooKeeper implements it (`Leader.propose`, `processAck`,
//! `tryToCommit`; `Follower.processPacket`, `FollowerZooKeeperServer.logRequest` / `commit`):
//! the established leader stamps each write with the next zxid and sends it as a PROPOSAL to every
//! forwarding learner; every replica, the leader included, logs it and acks it once it is durable;
//! with a quorum of acks the leader commits — strictly in zxid order, never a proposal whose
//! predecessor is still outstanding — and sends COMMIT; every replica applies committed
//! transactions to its database in zxid order. Liveness: the leader pings every half tick and
//! steps down when, at a tick, fewer than a quorum have been heard from within syncLimit; a
//! follower goes back to LOOKING when its leader is silent that long. The leader holds no lease.
//!
//! Also here: ZooKeeper's `sync` at the leader (`Leader.processSync`), session expiry as a
//! closeSession transaction, and the variants `ack-before-fsync` (a follower's ack) and
//! `sync-through-quorum` (the leader's answer to SYNC). This module never decides how a learner
//! is synced: that is `sync`.

use super::messages::{Txn, ZabMsg};
use super::{Cx, FStage, LStage, PendingSync, Proposal, State, SyncOrigin, Variant, Zab, ZabEvent};
use crate::cluster::ReplicaCtx;
use crate::replication::is_quorum;
use crate::znode::{SessionId, Write, Zxid};
use crate::zookeeper::server;
use sim::NodeId;
use std::collections::BTreeSet;

/// ZOOKEEPER-4925: within an epoch zxids are contiguous, and an epoch's first is `(e, 1)`.
pub fn contiguous(prev: Zxid, next: Zxid) -> bool {
    next > prev
        && if next.epoch() == prev.epoch() {
            next.counter() == prev.counter() + 1
        } else {
            next.counter() == 1
        }
}

impl Zab {
    /// Phase 3, leader: a write becomes a proposal with the next zxid, logged and sent to every
    /// forwarding learner (`Leader.propose`).
    pub(crate) fn propose(
        &mut self,
        session: SessionId,
        xid: u64,
        write: Write,
        timeout_ms: u64,
        ctx: &mut Cx<'_>,
    ) {
        let State::Leading(l) = &mut self.state else {
            return;
        };
        if !l.established {
            return;
        }
        if l.last_proposed.counter() == u32::MAX {
            // ZOOKEEPER-1277: the counter would roll over into the epoch; a new election starts.
            self.enter_looking(ctx, "zxid counter exhausted", None);
            return;
        }
        let zxid = Zxid(l.last_proposed.0 + 1);
        l.last_proposed = zxid;
        let txn = Txn {
            zxid,
            session,
            xid,
            write,
            timeout_ms,
        };
        for (&peer, h) in &l.learners {
            if h.stage >= LStage::Syncing {
                ctx.send_peer(peer, ZabMsg::Proposal(txn.clone()));
            }
        }
        let wseq = self.store.append(ctx, txn.clone());
        l.outstanding.insert(
            zxid,
            Proposal {
                txn,
                acks: BTreeSet::new(),
                wseq,
            },
        );
        self.store.sync(ctx);
    }

    /// The leader's own ack comes from its log pipeline, once the proposal is durable.
    pub(crate) fn leader_self_acks(&mut self, ctx: &mut Cx<'_>) {
        let me = self.id;
        let State::Leading(l) = &mut self.state else {
            return;
        };
        let mut any = false;
        for p in l.outstanding.values_mut() {
            if !p.acks.contains(&me) && self.store.is_durable(p.wseq) {
                p.acks.insert(me);
                any = true;
            }
        }
        if any {
            self.try_commit(ctx);
        }
    }

    /// A learner's ACK: of NEWLEADER (phase 2), or of a proposal (`processAck`).
    pub(crate) fn on_ack(&mut self, from: NodeId, zxid: Zxid, ctx: &mut Cx<'_>) {
        let State::Leading(l) = &mut self.state else {
            return;
        };
        let Some(h) = l.learners.get(&from) else {
            return;
        };
        if h.stage == LStage::Syncing && l.epoch.is_some_and(|e| zxid == Zxid::new(e, 0)) {
            self.on_new_leader_ack(from, ctx);
            return;
        }
        if let Some(p) = l.outstanding.get_mut(&zxid) {
            p.acks.insert(from);
            self.try_commit(ctx);
        }
    }

    /// `tryToCommit`: commit the oldest outstanding proposal once a quorum acked it, and repeat.
    /// A later proposal with a quorum waits for the earlier ones: commits go strictly in zxid
    /// order.
    fn try_commit(&mut self, ctx: &mut Cx<'_>) {
        let mut committed = false;
        loop {
            let n = self.n;
            let State::Leading(l) = &mut self.state else {
                return;
            };
            let Some((&zxid, p)) = l.outstanding.first_key_value() else {
                break;
            };
            if !is_quorum(n, p.acks.iter().copied()) {
                break;
            }
            let p = l.outstanding.remove(&zxid).expect("just seen");
            for (&peer, h) in &l.learners {
                if h.stage >= LStage::Syncing {
                    ctx.send_peer(peer, ZabMsg::Commit { zxid });
                }
            }
            self.apply_committed(p.txn, ctx);
            ctx.report(ZabEvent::Committed {
                zxid,
                chain: self.zk.db.chain,
            });
            committed = true;
        }
        if committed {
            self.release_syncs(ctx);
            self.maybe_compact(ctx);
        }
    }

    /// Applies a committed transaction (Zab's deliver) through the front end, which keeps the
    /// session tracker in step and answers the clients of this server.
    pub(crate) fn apply_committed(&mut self, txn: Txn, ctx: &mut Cx<'_>) {
        match server::commit(self, &txn, ctx) {
            Err(e) => self.violation(ctx, e),
            Ok(_) => self.report_applied(ctx),
        }
    }

    /// The write number a follower's ack of a proposal logged by write `w` waits for: the write
    /// itself, or nothing under `ack-before-fsync`.
    pub(crate) fn ack_point(&self, w: u64) -> u64 {
        if self.variant == Variant::AckBeforeFsync {
            0
        } else {
            w
        }
    }

    /// Phase 3, follower: a PROPOSAL is logged, then acked once durable. During sync it waits in
    /// memory for NEWLEADER's log write.
    pub(crate) fn on_proposal(&mut self, txn: Txn, ctx: &mut Cx<'_>) {
        let State::Following(f) = &mut self.state else {
            return;
        };
        if matches!(
            f.stage,
            FStage::Connecting | FStage::AckingEpoch { .. } | FStage::AwaitSync
        ) {
            return;
        }
        if !contiguous(f.last_received, txn.zxid) {
            let what = format!(
                "proposal {:#x} does not follow {:#x}",
                txn.zxid.0, f.last_received.0
            );
            self.violation(ctx, what);
            self.enter_looking(ctx, "discontiguous proposal", None);
            return;
        }
        f.last_received = txn.zxid;
        f.pending.push_back(txn.clone());
        if Self::logging_deferred(&f.stage) {
            f.not_logged.push(txn);
            return;
        }
        let zxid = txn.zxid;
        let w = self.store.append(ctx, txn);
        let at = self.ack_point(w);
        if let State::Following(f) = &mut self.state {
            f.unacked.push_back((zxid, at));
        }
        self.store.sync(ctx);
        self.flush_acks(ctx);
    }

    /// Sends the acks whose proposals are durable, in order; never before NEWLEADER's ack.
    pub(crate) fn flush_acks(&mut self, ctx: &mut Cx<'_>) {
        let State::Following(f) = &mut self.state else {
            return;
        };
        if !matches!(f.stage, FStage::AwaitUpToDate | FStage::Broadcast) {
            return;
        }
        while let Some(&(zxid, w)) = f.unacked.front() {
            if !self.store.is_durable(w) {
                break;
            }
            f.unacked.pop_front();
            ctx.send_peer(f.leader, ZabMsg::Ack { zxid });
        }
    }

    /// Phase 3, follower: COMMIT applies the next pending proposal, which must be that one.
    pub(crate) fn on_commit(&mut self, zxid: Zxid, ctx: &mut Cx<'_>) {
        let State::Following(f) = &mut self.state else {
            return;
        };
        if matches!(
            f.stage,
            FStage::Connecting | FStage::AckingEpoch { .. } | FStage::AwaitSync
        ) {
            return;
        }
        if zxid <= self.zk.db.last_processed {
            // Logged before this connection and applied when the database was loaded.
            return;
        }
        match f.pending.front() {
            Some(t) if t.zxid == zxid => {
                let txn = f.pending.pop_front().expect("checked");
                let broadcast = f.stage == FStage::Broadcast;
                if Self::logging_deferred(&f.stage) {
                    // Applied before it is logged (ZooKeeper's SNAP/TRUNC path).
                    self.db_from_disk = false;
                }
                self.apply_committed(txn, ctx);
                if broadcast {
                    self.maybe_compact(ctx);
                }
            }
            other => {
                let next = other
                    .map(|t| format!("{:#x}", t.zxid.0))
                    .unwrap_or_else(|| "none".into());
                self.violation(
                    ctx,
                    format!(
                        "COMMIT {:#x} but the next pending proposal is {next}",
                        zxid.0
                    ),
                );
                self.enter_looking(ctx, "commit out of order", None);
            }
        }
    }

    /// Every half tick at the leader: before it is established, the initLimit deadline; after,
    /// pings to every learner and, every tick, the check that a quorum is still synced
    /// (`Leader.lead`'s loop). A learner counts while it was heard from within syncLimit (within
    /// initLimit + syncLimit while it is still being synced).
    pub(crate) fn leader_tick(&mut self, ctx: &mut Cx<'_>, full_tick: bool) {
        let now = ctx.now();
        let (sync_limit, init_limit, n, me) = (
            self.settings.sync_limit(),
            self.settings.init_limit(),
            self.n,
            self.id,
        );
        let State::Leading(l) = &mut self.state else {
            return;
        };
        if !l.established {
            if now >= l.deadline {
                self.enter_looking(ctx, "no quorum within initLimit", None);
            }
            return;
        }
        l.ping_round += 1;
        let round = l.ping_round;
        for (&peer, h) in &l.learners {
            if h.stage >= LStage::Syncing {
                ctx.send_peer(
                    peer,
                    ZabMsg::Ping {
                        round,
                        touches: Vec::new(),
                    },
                );
            }
        }
        if full_tick {
            let synced = l
                .learners
                .iter()
                .filter(|(_, h)| {
                    let limit = if h.stage == LStage::Broadcast {
                        sync_limit
                    } else {
                        init_limit + sync_limit
                    };
                    h.stage >= LStage::Syncing && now.since(h.last_heard) <= limit
                })
                .map(|(&id, _)| id);
            if !is_quorum(n, std::iter::once(me).chain(synced)) {
                self.enter_looking(ctx, "not sufficient followers synced", None);
            }
        }
    }

    /// A learner answered a ping: its clients' sessions are touched.
    pub(crate) fn on_learner_ping(
        &mut self,
        from: NodeId,
        round: u64,
        touches: Vec<SessionId>,
        ctx: &mut Cx<'_>,
    ) {
        let now = ctx.now();
        if let State::Leading(l) = &mut self.state
            && let Some(h) = l.learners.get_mut(&from)
        {
            h.round_acked = h.round_acked.max(round);
        }
        for s in touches {
            self.zk.tracker.touch(s, now);
        }
        self.release_syncs(ctx);
    }

    /// The leader's ping: answered with the sessions this learner's clients touched.
    pub(crate) fn on_leader_ping(&mut self, round: u64, ctx: &mut Cx<'_>) {
        let State::Following(f) = &self.state else {
            return;
        };
        let leader = f.leader;
        let touches = self.zk.touches.take();
        ctx.send_peer(leader, ZabMsg::Ping { round, touches });
    }

    /// Every half tick at a follower: a leader silent for syncLimit (initLimit while syncing) is
    /// lost.
    pub(crate) fn follower_tick(&mut self, ctx: &mut Cx<'_>) {
        let now = ctx.now();
        let State::Following(f) = &self.state else {
            return;
        };
        let (since, limit, why) = match f.stage {
            FStage::Connecting => (
                f.entered,
                self.settings.init_limit(),
                "could not connect to the leader",
            ),
            FStage::AwaitUpToDate | FStage::Broadcast => (
                f.last_heard,
                self.settings.sync_limit(),
                "the leader is silent",
            ),
            _ => (
                f.last_heard,
                self.settings.init_limit(),
                "sync with the leader timed out",
            ),
        };
        if now.since(since) > limit {
            self.enter_looking(ctx, why, None);
        }
    }

    /// ZooKeeper's `sync` at the leader (`Leader.processSync`): answered once the proposals
    /// outstanding when it arrived are committed. The answer to a learner leaves after the COMMITs
    /// on the same FIFO channel, so the learner has applied them when it answers its client. A
    /// sync from the leader's own client needs no wait (its `CommitProcessor` does not match
    /// syncs). Under `sync-through-quorum` every sync also waits for a quorum to answer a ping
    /// round started after it arrived, which a deposed leader cannot get.
    pub(crate) fn leader_sync(
        &mut self,
        origin: SyncOrigin,
        session: SessionId,
        xid: u64,
        ctx: &mut Cx<'_>,
    ) {
        let through_quorum = self.variant == Variant::SyncThroughQuorum;
        if origin == SyncOrigin::Local && !through_quorum {
            server::synced(self, session, xid, ctx);
            return;
        }
        let State::Leading(l) = &mut self.state else {
            return;
        };
        let wait = l
            .outstanding
            .last_key_value()
            .map_or(Zxid::ZERO, |(z, _)| *z);
        let round = through_quorum.then(|| {
            l.ping_round += 1;
            let round = l.ping_round;
            for (&peer, h) in &l.learners {
                if h.stage >= LStage::Syncing {
                    ctx.send_peer(
                        peer,
                        ZabMsg::Ping {
                            round,
                            touches: Vec::new(),
                        },
                    );
                }
            }
            round
        });
        l.pending_syncs.push(PendingSync {
            origin,
            session,
            xid,
            wait,
            round,
        });
        self.release_syncs(ctx);
    }

    /// Answers, in arrival order, the pending syncs whose conditions hold.
    pub(crate) fn release_syncs(&mut self, ctx: &mut Cx<'_>) {
        let (n, me, committed) = (self.n, self.id, self.zk.db.last_processed);
        let State::Leading(l) = &mut self.state else {
            return;
        };
        let quorum_since = |r: u64| {
            let answered = l
                .learners
                .iter()
                .filter(|(_, h)| h.stage >= LStage::Syncing && h.round_acked >= r)
                .map(|(&id, _)| id);
            is_quorum(n, std::iter::once(me).chain(answered))
        };
        let ready_count = l
            .pending_syncs
            .iter()
            .take_while(|p| p.wait <= committed && p.round.is_none_or(quorum_since))
            .count();
        let ready: Vec<PendingSync> = l.pending_syncs.drain(..ready_count).collect();
        for p in ready {
            match p.origin {
                SyncOrigin::Learner(peer) => ctx.send_peer(
                    peer,
                    ZabMsg::SyncDone {
                        session: p.session,
                        xid: p.xid,
                    },
                ),
                SyncOrigin::Local => server::synced(self, p.session, p.xid, ctx),
            }
        }
    }

    /// Every tick: the established leader expires sessions by proposing closeSession
    /// (`SessionTrackerImpl` → `PrepRequestProcessor`); under `local-session-expiry` every serving
    /// server deletes them locally instead (the front end's `ExpiryRule`), and its database is
    /// then no longer a prefix of its log.
    pub(crate) fn expire_sessions(&mut self, ctx: &mut Cx<'_>) {
        if server::expire_sessions(self, ctx) {
            self.db_from_disk = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ClusterConfig, Node};
    use crate::wire::Wire;
    use crate::zab::storage::{LOG, Stored};
    use crate::zab::{Following, ZabSettings, ZabTimer};
    use sim::{Alone, Effect, Input, SimTime};
    use std::collections::VecDeque;

    /// Replica 1 of three, following replica 2 in epoch 1, in broadcast with nothing logged yet:
    /// the state UPTODATE leaves a follower in, set up directly (as etcd's raft tests call
    /// `becomeFollower`) and driven alone.
    fn follower(variant: Variant) -> Alone<Node<Zab>> {
        let workload = serde_json::from_str(r#"{"clients": 0, "duration_ms": 1000}"#).unwrap();
        let cluster = ClusterConfig::new(1, 3, workload);
        let mut zab = Zab::new(NodeId(1), 3, ZabSettings::default(), variant);
        zab.store.accepted_epoch = 1;
        zab.store.current_epoch = 1;
        zab.state = State::Following(Box::new(Following {
            leader: NodeId(2),
            conn: 0,
            stage: FStage::Broadcast,
            epoch: 1,
            entered: SimTime::ZERO,
            last_heard: SimTime::ZERO,
            snap: None,
            not_logged: Vec::new(),
            pending: VecDeque::new(),
            unacked: VecDeque::new(),
            last_received: Zxid::new(1, 0),
            retry_timer: None,
        }));
        Alone::new(cluster.world_config::<Zab>(), NodeId(1), Node::Replica(zab))
    }

    fn proposal(zxid: Zxid) -> Txn {
        Txn {
            zxid,
            session: SessionId(7),
            xid: 0,
            write: Write::OpenSession,
            timeout_ms: 4000,
        }
    }

    fn from_leader(msg: ZabMsg) -> Input<Wire<ZabMsg>, crate::cluster::NodeTimer<ZabTimer>> {
        Input::Message {
            from: NodeId(2),
            msg: Wire::Peer(msg),
        }
    }

    /// Zab §5.2 phase 3 (and ZooKeeper's `SyncRequestProcessor` before `SendAckRequestProcessor`):
    /// a follower logs a PROPOSAL and fsyncs it, and acks it only once the fsync has completed;
    /// the leader may count the ack as a durable copy.
    #[test]
    fn a_follower_acks_a_proposal_only_after_its_fsync_completes() {
        let mut alone = follower(Variant::Correct);
        let txn = proposal(Zxid::new(1, 1));
        let effects = alone.input(from_leader(ZabMsg::Proposal(txn.clone())));
        let io = match effects.as_slice() {
            [
                Effect::Append {
                    file,
                    record: Stored::Txn(logged),
                },
                Effect::Fsync { io },
            ] if *file == LOG && *logged == txn => *io,
            other => panic!("expected the append and its fsync, nothing sent: {other:#?}"),
        };
        assert_eq!(alone.disk().records(LOG).len(), 1);
        assert!(alone.disk().durable_records(LOG).is_empty());

        let effects = alone.input(Input::Synced { io });
        match effects.as_slice() {
            [Effect::Send { to, msg }]
                if *to == NodeId(2) && *msg == Wire::Peer(ZabMsg::Ack { zxid: txn.zxid }) => {}
            other => panic!("expected the ACK alone: {other:#?}"),
        }
        assert_eq!(alone.disk().durable_records(LOG).len(), 1);
    }

    /// The same exchange under `ack-before-fsync`: the ACK leaves in the handler that logged the
    /// proposal, before its fsync completes, which is the rule that variant breaks.
    #[test]
    fn ack_before_fsync_acks_before_the_fsync_completes() {
        let mut alone = follower(Variant::AckBeforeFsync);
        let txn = proposal(Zxid::new(1, 1));
        let effects = alone.input(from_leader(ZabMsg::Proposal(txn.clone())));
        assert!(
            matches!(
                effects.as_slice(),
                [Effect::Append { .. }, Effect::Fsync { .. }, Effect::Send { msg, .. }]
                    if *msg == Wire::Peer(ZabMsg::Ack { zxid: txn.zxid })
            ),
            "{effects:#?}"
        );
    }

    #[test]
    fn zxids_are_contiguous_within_an_epoch_and_start_at_one() {
        assert!(contiguous(Zxid::new(3, 4), Zxid::new(3, 5)));
        assert!(
            !contiguous(Zxid::new(3, 4), Zxid::new(3, 6)),
            "a gap inside an epoch"
        );
        assert!(!contiguous(Zxid::new(3, 4), Zxid::new(3, 4)), "a repeat");
        assert!(
            contiguous(Zxid::new(3, 4), Zxid::new(5, 1)),
            "a new epoch starts at 1"
        );
        assert!(!contiguous(Zxid::new(3, 4), Zxid::new(5, 2)));
        assert!(
            !contiguous(Zxid::new(5, 1), Zxid::new(3, 5)),
            "never backwards"
        );
    }
}
