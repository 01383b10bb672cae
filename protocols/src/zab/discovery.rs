//! Discovery, Zab §5.1 phase 1 as ZooKeeper implements it (`Learner.registerWithLeader`,
//! `Leader.getEpochToPropose`, `Leader.waitForEpochAck`): a learner connects and reports its
//! acceptedEpoch (FOLLOWERINFO, the paper's CEPOCH); once a quorum including itself has connected,
//! the prospective leader proposes one more than the highest of their accepted epochs, persists it
//! as its own acceptedEpoch, and sends it (LEADERINFO, NEWEPOCH); a learner whose acceptedEpoch is
//! lower persists the new one and then promises it (ACKEPOCH with its currentEpoch and last zxid,
//! ACK-E); one that had already accepted that epoch answers with -1, which does not count. With a
//! quorum of promises the leader persists currentEpoch and moves to synchronisation.
//!
//! ZooKeeper replaces the paper's history collection with FLE's choice of the most up-to-date
//! peer: history flows from leader to learners only, and a leader that hears from a learner more
//! recent than itself gives up. Both epochs are on disk before anything that vouches for them is
//! sent. This module never touches the log.

use super::messages::ZabMsg;
use super::{Cx, FStage, Following, LStage, Leading, Learner, State, Variant, Zab, ZabTimer};
use crate::cluster::ReplicaCtx;
use crate::replication::is_quorum;
use crate::znode::Zxid;
use sim::{NodeId, SimDuration};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

impl Zab {
    /// FLE chose `leader`: connect to it (`Follower.followLeader` → `connectToLeader`).
    pub(crate) fn become_follower(&mut self, leader: NodeId, ctx: &mut Cx<'_>) {
        self.next_conn += 1;
        let now = ctx.now();
        self.state = State::Following(Box::new(Following {
            leader,
            conn: self.next_conn,
            stage: FStage::Connecting,
            epoch: 0,
            entered: now,
            last_heard: now,
            snap: None,
            not_logged: Vec::new(),
            pending: VecDeque::new(),
            unacked: VecDeque::new(),
            last_received: self.zk.db.last_processed,
            retry_timer: None,
        }));
        self.send_follower_info(ctx);
    }

    /// Phase 1, learner step 1: FOLLOWERINFO carries the acceptedEpoch (as the zxid
    /// `(acceptedEpoch, 0)` in ZooKeeper). Repeated until the leader answers, since it may still
    /// be finishing its own election and not yet listening.
    fn send_follower_info(&mut self, ctx: &mut Cx<'_>) {
        let accepted_epoch = self.store.accepted_epoch;
        let retry = SimDuration::from_ms(self.settings.connect_retry_ms);
        let State::Following(f) = &mut self.state else {
            return;
        };
        ctx.send_peer(
            f.leader,
            ZabMsg::FollowerInfo {
                accepted_epoch,
                conn: f.conn,
            },
        );
        f.retry_timer = Some(ctx.set_replica_timer(retry, ZabTimer::ConnectRetry { conn: f.conn }));
    }

    pub(crate) fn on_connect_retry(&mut self, conn: u64, ctx: &mut Cx<'_>) {
        if let State::Following(f) = &mut self.state
            && f.conn == conn
            && f.stage == FStage::Connecting
        {
            f.retry_timer = None;
            self.send_follower_info(ctx);
        }
    }

    /// Phase 1, learner step 2: the leader's proposed epoch. A new epoch is persisted as
    /// acceptedEpoch before ACKEPOCH leaves (`follower_epoch_durable`); an epoch already accepted
    /// is answered with -1 at once; an older one means this leader is stale.
    pub(crate) fn on_leader_info(&mut self, from: NodeId, epoch: u32, conn: u64, ctx: &mut Cx<'_>) {
        let accepted = self.store.accepted_epoch;
        let last_zxid = self.zk.db.last_processed;
        let State::Following(f) = &mut self.state else {
            return;
        };
        if f.leader != from || f.conn != conn || f.stage != FStage::Connecting {
            return;
        }
        f.last_heard = ctx.now();
        if let Some(t) = f.retry_timer.take() {
            ctx.cancel_timer(t);
        }
        f.epoch = epoch;
        if epoch > accepted {
            match self.persist_accepted_epoch(ctx, epoch) {
                Some(epoch_wseq) => {
                    if let State::Following(f) = &mut self.state {
                        f.stage = FStage::AckingEpoch { epoch_wseq };
                    }
                }
                None => {
                    // ackepoch-reuse: nothing to wait for.
                    let current_epoch = Some(self.store.current_epoch);
                    ctx.send_peer(
                        from,
                        ZabMsg::AckEpoch {
                            current_epoch,
                            last_zxid,
                            conn,
                        },
                    );
                    if let State::Following(f) = &mut self.state {
                        f.stage = FStage::AwaitSync;
                    }
                }
            }
        } else if epoch == accepted {
            ctx.send_peer(
                from,
                ZabMsg::AckEpoch {
                    current_epoch: None,
                    last_zxid,
                    conn,
                },
            );
            f.stage = FStage::AwaitSync;
        } else {
            self.enter_looking(
                ctx,
                "the leader proposes an epoch below our acceptedEpoch",
                None,
            );
        }
    }

    /// Phase 1, learner step 2, continued: acceptedEpoch is durable, so the promise may leave.
    pub(crate) fn follower_epoch_durable(&mut self, ctx: &mut Cx<'_>) {
        let current_epoch = Some(self.store.current_epoch);
        let last_zxid = self.zk.db.last_processed;
        let State::Following(f) = &mut self.state else {
            return;
        };
        if let FStage::AckingEpoch { epoch_wseq } = f.stage
            && self.store.is_durable(epoch_wseq)
        {
            ctx.send_peer(
                f.leader,
                ZabMsg::AckEpoch {
                    current_epoch,
                    last_zxid,
                    conn: f.conn,
                },
            );
            f.stage = FStage::AwaitSync;
        }
    }

    /// FLE chose this replica: wait for a quorum of learners (`Leader.lead`).
    pub(crate) fn become_leader(&mut self, ctx: &mut Cx<'_>) {
        let now = ctx.now();
        let deadline = now + self.settings.init_limit();
        let last = self.zk.db.last_processed;
        self.state = State::Leading(Box::new(Leading {
            epoch: None,
            accepted_wseq: None,
            epoch_durable: false,
            // getEpochToPropose(self.getId(), self.getAcceptedEpoch()): the leader is a participant.
            connecting: BTreeMap::from([(self.id, self.store.accepted_epoch)]),
            epoch_acks: BTreeSet::new(),
            election_finished: false,
            current_wseq: None,
            newleader_acks: BTreeSet::new(),
            established: false,
            deadline,
            learners: BTreeMap::new(),
            outstanding: BTreeMap::new(),
            last_proposed: last,
            pending_syncs: Vec::new(),
            ping_round: 0,
        }));
        self.maybe_fix_epoch(ctx);
    }

    /// Phase 1, leader step 1: a learner connected (a new `LearnerHandler`). A repeat of the same
    /// connection attempt is ignored; a new attempt replaces the old handler.
    pub(crate) fn on_follower_info(
        &mut self,
        from: NodeId,
        accepted_epoch: u32,
        conn: u64,
        ctx: &mut Cx<'_>,
    ) {
        let now = ctx.now();
        let State::Leading(l) = &mut self.state else {
            return;
        };
        if l.learners.get(&from).is_some_and(|h| h.conn == conn) {
            return;
        }
        l.learners.insert(
            from,
            Learner {
                conn,
                stage: LStage::AwaitAckEpoch,
                last_heard: now,
                last_zxid: Zxid::ZERO,
                round_acked: 0,
            },
        );
        match l.epoch {
            None => {
                l.connecting.insert(from, accepted_epoch);
                self.maybe_fix_epoch(ctx);
            }
            Some(epoch) if l.epoch_durable => {
                ctx.send_peer(from, ZabMsg::LeaderInfo { epoch, conn })
            }
            // LEADERINFO leaves once the leader's acceptedEpoch is durable.
            Some(_) => {}
        }
    }

    /// `getEpochToPropose`: once a quorum including the leader has connected, the new epoch is one
    /// more than the highest acceptedEpoch among them, and the leader persists it as its own
    /// acceptedEpoch before proposing it (ZOOKEEPER-1291).
    fn maybe_fix_epoch(&mut self, ctx: &mut Cx<'_>) {
        let (me, n) = (self.id, self.n);
        let State::Leading(l) = &mut self.state else {
            return;
        };
        if l.epoch.is_some()
            || !l.connecting.contains_key(&me)
            || !is_quorum(n, l.connecting.keys().copied())
        {
            return;
        }
        let epoch = l
            .connecting
            .values()
            .max()
            .expect("the leader is connecting")
            + 1;
        l.epoch = Some(epoch);
        // Under ackepoch-reuse there is no write to wait for: the write number 0 is durable.
        let w = self.persist_accepted_epoch(ctx, epoch).unwrap_or(0);
        if let State::Leading(l) = &mut self.state {
            l.accepted_wseq = Some(w);
        }
        self.leader_epoch_durable(ctx);
    }

    /// Persists acceptedEpoch (`QuorumPeer.setAcceptedEpoch`, an atomic file replaced and
    /// fsynced) and returns the write to wait for; under `ackepoch-reuse` the epoch is kept in
    /// memory only and there is nothing to wait for.
    fn persist_accepted_epoch(&mut self, ctx: &mut Cx<'_>, epoch: u32) -> Option<u64> {
        if self.variant == Variant::AckepochReuse {
            self.store.accepted_epoch = epoch;
            return None;
        }
        let w = self.store.write_accepted_epoch(ctx, epoch);
        self.store.sync(ctx);
        Some(w)
    }

    /// The leader's acceptedEpoch is durable: LEADERINFO goes to every connected learner, and the
    /// leader counts its own promise (`waitForEpochAck(self.getId(), ...)`).
    pub(crate) fn leader_epoch_durable(&mut self, ctx: &mut Cx<'_>) {
        let me = self.id;
        let State::Leading(l) = &mut self.state else {
            return;
        };
        let (Some(epoch), Some(w)) = (l.epoch, l.accepted_wseq) else {
            return;
        };
        if l.epoch_durable || !self.store.is_durable(w) {
            return;
        }
        l.epoch_durable = true;
        for (&peer, h) in &l.learners {
            if h.stage == LStage::AwaitAckEpoch {
                ctx.send_peer(
                    peer,
                    ZabMsg::LeaderInfo {
                        epoch,
                        conn: h.conn,
                    },
                );
            }
        }
        l.epoch_acks.insert(me);
        self.maybe_finish_election(ctx);
    }

    /// Phase 1, leader step 2: a learner's promise (`waitForEpochAck`). A learner more recent than
    /// the leader (by currentEpoch, then last zxid) means FLE should have chosen it: the leader
    /// gives up. Only an ack for an epoch the learner accepted just now counts.
    pub(crate) fn on_ack_epoch(
        &mut self,
        from: NodeId,
        current_epoch: Option<u32>,
        last_zxid: Zxid,
        conn: u64,
        ctx: &mut Cx<'_>,
    ) {
        let summary = (self.store.current_epoch, self.zk.db.last_processed);
        let State::Leading(l) = &mut self.state else {
            return;
        };
        let Some(h) = l.learners.get_mut(&from) else {
            return;
        };
        if h.conn != conn || h.stage != LStage::AwaitAckEpoch {
            return;
        }
        h.last_zxid = last_zxid;
        h.stage = LStage::AwaitElection;
        if l.election_finished {
            self.start_sync(from, ctx);
            return;
        }
        if let Some(c) = current_epoch {
            if (c, last_zxid) > summary {
                self.enter_looking(ctx, "a follower is ahead of the leader", None);
                return;
            }
            l.epoch_acks.insert(from);
        }
        self.maybe_finish_election(ctx);
    }

    /// Phase 1 ends with a quorum of promises, the leader's included: it persists
    /// currentEpoch = e (`Leader.lead` → `setCurrentEpoch`) and starts syncing every learner that
    /// promised (counted or not).
    fn maybe_finish_election(&mut self, ctx: &mut Cx<'_>) {
        let (me, n) = (self.id, self.n);
        let State::Leading(l) = &mut self.state else {
            return;
        };
        if l.election_finished
            || !l.epoch_acks.contains(&me)
            || !is_quorum(n, l.epoch_acks.iter().copied())
        {
            return;
        }
        l.election_finished = true;
        let epoch = l.epoch.expect("promises are for a fixed epoch");
        let ready: Vec<NodeId> = l
            .learners
            .iter()
            .filter(|(_, h)| h.stage == LStage::AwaitElection)
            .map(|(p, _)| *p)
            .collect();
        l.current_wseq = Some(self.store.write_current_epoch(ctx, epoch));
        self.store.sync(ctx);
        for peer in ready {
            self.start_sync(peer, ctx);
        }
    }
}
