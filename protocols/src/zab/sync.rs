//! Synchronisation, Zab §5.1 phase 2 as ZooKeeper implements it (`LearnerHandler.syncFollower`,
//! `Learner.syncWithLeader`, `Leader.waitForNewLeaderAck`). The leader compares a learner's last
//! zxid with its own committed history and sends a DIFF (the transactions the learner misses), a
//! TRUNC (drop a suffix the leader never committed, then the missing ones) or a SNAP (its whole
//! committed tree), then its outstanding proposals, then NEWLEADER. The learner buffers what it
//! receives; on NEWLEADER it makes the synced transactions durable, then persists currentEpoch,
//! then acks — that order is what ZOOKEEPER-3911, -4643, -4646 and -4785 fixed. With a quorum of
//! NEWLEADER acks (its own included, once its currentEpoch is durable) the leader is established:
//! its whole history is committed, and UPTODATE (the paper's COMMIT-LD) lets the learners serve.
//!
//! This module owns the sync decision and the NEWLEADER write order; the variants
//! `sync-no-trunc`, `ack-newleader-before-fsync` and `epoch-before-log` live here. It never
//! proposes: broadcast does.

use super::messages::{Txn, ZabMsg};
use super::storage::Snapshot;
use super::{Cx, FStage, LStage, State, Variant, Zab, ZabEvent};
use crate::cluster::ReplicaCtx;
use crate::replication::is_quorum;
use crate::znode::Zxid;
use sim::NodeId;

/// What the leader sends first to bring a learner's history in line with its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPlan {
    /// The learner's history is a prefix of the leader's: send what follows `from`.
    Diff { from: Zxid },
    /// The learner holds transactions the leader never committed: drop what follows `to`, then
    /// send what follows it.
    Trunc { to: Zxid },
    /// Send the whole committed tree.
    Snap,
}

/// `LearnerHandler.syncFollower` / `queueCommittedProposals`: the plan for a learner whose last
/// zxid is `peer`, given the leader's snapshot zxid `base` and its committed zxids after it
/// (`committed`, ascending). `truncate` is false only under `sync-no-trunc`.
///
/// | learner's last zxid | plan |
/// |---|---|
/// | the leader's last committed | empty DIFF |
/// | after the leader's last committed | TRUNC to the last committed |
/// | before the snapshot the leader's log starts from | SNAP |
/// | in the leader's history | DIFF from it |
/// | not in it | TRUNC to the last common zxid, or SNAP if that crosses an epoch |
pub fn plan_sync(base: Zxid, committed: &[Zxid], peer: Zxid, truncate: bool) -> SyncPlan {
    let last = committed.last().copied().unwrap_or(base);
    if peer == last {
        return SyncPlan::Diff { from: peer };
    }
    if peer > last {
        return if truncate {
            SyncPlan::Trunc { to: last }
        } else {
            SyncPlan::Diff { from: peer }
        };
    }
    if peer < base {
        return SyncPlan::Snap;
    }
    if peer == base || committed.binary_search(&peer).is_ok() {
        return SyncPlan::Diff { from: peer };
    }
    // The learner's last zxid is not in the leader's history: it holds a suffix that was never
    // committed.
    if !truncate {
        // sync-no-trunc (ZOOKEEPER-1154): send what follows the learner's zxid and let it keep its
        // suffix.
        return SyncPlan::Diff { from: peer };
    }
    let prev = committed[..committed.partition_point(|z| *z < peer)]
        .last()
        .copied()
        .unwrap_or(base);
    if prev.epoch() == peer.epoch() {
        SyncPlan::Trunc { to: prev }
    } else {
        SyncPlan::Snap
    }
}

/// The learner's writes on NEWLEADER, step by step, each waiting for the previous to be durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NewLeaderStep {
    /// Correct: the synced transactions are written first; then the epoch.
    LogFirst { log_wseq: u64 },
    /// Correct: the epoch is written after the log was durable; then the ack.
    EpochAfterLog { epoch_wseq: u64 },
    /// `ack-newleader-before-fsync` and `epoch-before-log`: the epoch is written first.
    EpochFirst { epoch_wseq: u64 },
    /// `epoch-before-log`: the log is written after the epoch was durable; then the ack.
    LogAfterEpoch { log_wseq: u64 },
}

impl Zab {
    /// Phase 2, leader: sends learner `peer` its history (`syncFollower`), the outstanding
    /// proposals (`startForwarding`: from now on it receives every proposal and commit) and
    /// NEWLEADER.
    pub(crate) fn start_sync(&mut self, peer: NodeId, ctx: &mut Cx<'_>) {
        let last_committed = self.zk.db.last_processed;
        let upto = self
            .store
            .log
            .partition_point(|l| l.txn.zxid <= last_committed);
        let committed: Vec<Zxid> = self.store.log[..upto].iter().map(|l| l.txn.zxid).collect();
        let truncate = self.variant != Variant::SyncNoTrunc;
        let State::Leading(l) = &mut self.state else {
            return;
        };
        let Some(h) = l.learners.get_mut(&peer) else {
            return;
        };
        let epoch = l.epoch.expect("sync follows discovery");
        let plan = plan_sync(self.store.base.zxid, &committed, h.last_zxid, truncate);
        let from = match plan {
            SyncPlan::Diff { from } => {
                ctx.send_peer(
                    peer,
                    ZabMsg::Diff {
                        zxid: last_committed,
                    },
                );
                from
            }
            SyncPlan::Trunc { to } => {
                ctx.send_peer(peer, ZabMsg::Trunc { zxid: to });
                to
            }
            SyncPlan::Snap => {
                ctx.send_peer(peer, ZabMsg::Snap(Box::new(self.zk.db.snapshot())));
                last_committed
            }
        };
        for logged in &self.store.log[..upto] {
            if logged.txn.zxid > from {
                ctx.send_peer(peer, ZabMsg::Proposal(logged.txn.clone()));
                ctx.send_peer(
                    peer,
                    ZabMsg::Commit {
                        zxid: logged.txn.zxid,
                    },
                );
            }
        }
        for logged in &self.store.log[upto..] {
            if logged.txn.zxid > from {
                ctx.send_peer(peer, ZabMsg::Proposal(logged.txn.clone()));
            }
        }
        ctx.send_peer(
            peer,
            ZabMsg::NewLeader {
                zxid: Zxid::new(epoch, 0),
            },
        );
        h.stage = LStage::Syncing;
    }

    /// Phase 2, learner: DIFF. What follows is the leader's history after our last zxid.
    pub(crate) fn on_diff(&mut self, _zxid: Zxid, _ctx: &mut Cx<'_>) {
        let last = self.zk.db.last_processed;
        if let State::Following(f) = &mut self.state
            && f.stage == FStage::AwaitSync
        {
            f.stage = FStage::Syncing;
            f.last_received = last;
        }
    }

    /// Phase 2, learner: TRUNC. Drop every logged transaction after `zxid` and reload the database
    /// (`ZKDatabase.truncateLog`).
    pub(crate) fn on_trunc(&mut self, zxid: Zxid, ctx: &mut Cx<'_>) {
        if !matches!(&self.state, State::Following(f) if f.stage == FStage::AwaitSync) {
            return;
        }
        if let Err(e) = self.store.truncate_after(ctx, zxid) {
            self.violation(ctx, e);
            self.enter_looking(ctx, "cannot truncate the log", None);
            return;
        }
        self.reload(ctx);
        let last = self.zk.db.last_processed;
        if let State::Following(f) = &mut self.state {
            f.stage = FStage::Syncing;
            f.last_received = last;
        }
    }

    /// Phase 2, learner: SNAP. The database becomes the leader's committed tree now; the snapshot
    /// replaces the log on disk at NEWLEADER.
    pub(crate) fn on_snap(&mut self, snapshot: Box<Snapshot>, ctx: &mut Cx<'_>) {
        if !matches!(&self.state, State::Following(f) if f.stage == FStage::AwaitSync) {
            return;
        }
        self.zk.db = crate::zookeeper::Db::from_snapshot(&snapshot);
        self.db_from_disk = false;
        self.report_applied(ctx);
        let last = self.zk.db.last_processed;
        if let State::Following(f) = &mut self.state {
            f.stage = FStage::Syncing;
            f.last_received = last;
            f.snap = Some(snapshot);
        }
    }

    /// Whether proposals received now must wait for NEWLEADER's log write (they are buffered in
    /// `not_logged`) rather than be logged at once.
    pub(crate) fn logging_deferred(stage: &FStage) -> bool {
        matches!(
            stage,
            FStage::Syncing | FStage::NewLeader(NewLeaderStep::EpochFirst { .. })
        )
    }

    /// Writes what sync left in memory: the snapshot, if one came, then every buffered
    /// transaction; the uncommitted ones are acked once durable. Returns the last write's number.
    fn log_synced(&mut self, ctx: &mut Cx<'_>) -> u64 {
        let State::Following(f) = &mut self.state else {
            return self.store.last_write();
        };
        if let Some(s) = f.snap.take() {
            self.store.install_snapshot(ctx, s);
        }
        let buffered: Vec<Txn> = std::mem::take(&mut f.not_logged);
        for txn in buffered {
            let zxid = txn.zxid;
            let w = self.store.append(ctx, txn);
            if f.pending.iter().any(|t| t.zxid == zxid) {
                f.unacked.push_back((zxid, w));
            }
        }
        self.store.sync(ctx);
        // Everything applied during sync is now logged.
        self.db_from_disk = true;
        self.store.last_write()
    }

    /// Phase 2, learner: NEWLEADER. Make the synced history durable, then persist currentEpoch,
    /// then ack (`Learner.syncWithLeader`, after ZOOKEEPER-3911/-4643). The two buggy variants
    /// persist the epoch first.
    pub(crate) fn on_new_leader(&mut self, zxid: Zxid, ctx: &mut Cx<'_>) {
        let State::Following(f) = &mut self.state else {
            return;
        };
        if f.stage != FStage::Syncing {
            return;
        }
        if zxid != Zxid::new(f.epoch, 0) {
            let what = format!("NEWLEADER {:#x} in epoch {}", zxid.0, f.epoch);
            self.violation(ctx, what);
            self.enter_looking(ctx, "NEWLEADER for another epoch", None);
            return;
        }
        let epoch = f.epoch;
        let step = match self.variant {
            Variant::AckNewleaderBeforeFsync | Variant::EpochBeforeLog => {
                let epoch_wseq = self.store.write_current_epoch(ctx, epoch);
                self.store.sync(ctx);
                NewLeaderStep::EpochFirst { epoch_wseq }
            }
            _ => NewLeaderStep::LogFirst {
                log_wseq: self.log_synced(ctx),
            },
        };
        if let State::Following(f) = &mut self.state {
            f.stage = FStage::NewLeader(step);
        }
        self.follower_new_leader_durable(ctx);
    }

    /// Phase 2, learner: the NEWLEADER steps, each once the previous write is durable.
    pub(crate) fn follower_new_leader_durable(&mut self, ctx: &mut Cx<'_>) {
        loop {
            let State::Following(f) = &self.state else {
                return;
            };
            let FStage::NewLeader(step) = f.stage else {
                return;
            };
            let epoch = f.epoch;
            let next = match step {
                NewLeaderStep::LogFirst { log_wseq } if self.store.is_durable(log_wseq) => {
                    let epoch_wseq = self.store.write_current_epoch(ctx, epoch);
                    self.store.sync(ctx);
                    FStage::NewLeader(NewLeaderStep::EpochAfterLog { epoch_wseq })
                }
                NewLeaderStep::EpochAfterLog { epoch_wseq }
                    if self.store.is_durable(epoch_wseq) =>
                {
                    self.ack_new_leader(ctx);
                    FStage::AwaitUpToDate
                }
                NewLeaderStep::EpochFirst { epoch_wseq } if self.store.is_durable(epoch_wseq) => {
                    if self.variant == Variant::AckNewleaderBeforeFsync {
                        // Pre-ZOOKEEPER-3911: ack now; the synced transactions go to the
                        // asynchronous log afterwards.
                        self.ack_new_leader(ctx);
                        self.log_synced(ctx);
                        FStage::AwaitUpToDate
                    } else {
                        let log_wseq = self.log_synced(ctx);
                        FStage::NewLeader(NewLeaderStep::LogAfterEpoch { log_wseq })
                    }
                }
                NewLeaderStep::LogAfterEpoch { log_wseq } if self.store.is_durable(log_wseq) => {
                    self.ack_new_leader(ctx);
                    FStage::AwaitUpToDate
                }
                _ => return,
            };
            let done = next == FStage::AwaitUpToDate;
            if let State::Following(f) = &mut self.state {
                f.stage = next;
            }
            if done {
                self.flush_acks(ctx);
                return;
            }
        }
    }

    fn ack_new_leader(&mut self, ctx: &mut Cx<'_>) {
        if let State::Following(f) = &self.state {
            ctx.send_peer(
                f.leader,
                ZabMsg::Ack {
                    zxid: Zxid::new(f.epoch, 0),
                },
            );
        }
    }

    /// Phase 2 ends for a learner: UPTODATE. It serves clients from now on, and reports the new
    /// epoch in elections (`updateElectionVote`, ZOOKEEPER-1732).
    pub(crate) fn on_up_to_date(&mut self, ctx: &mut Cx<'_>) {
        let now = ctx.now();
        let State::Following(f) = &mut self.state else {
            return;
        };
        if f.stage != FStage::AwaitUpToDate {
            return;
        }
        f.stage = FStage::Broadcast;
        let epoch = f.epoch;
        ctx.send_peer(
            f.leader,
            ZabMsg::Ack {
                zxid: Zxid::new(epoch, 0),
            },
        );
        self.update_election_vote(epoch);
        if self.variant == Variant::LocalSessionExpiry {
            self.zk.rebuild_sessions(now);
        }
    }

    /// Phase 2, leader: a learner acked NEWLEADER (matched by zxid: ZOOKEEPER-4685 was taking a
    /// proposal's ACK for it).
    pub(crate) fn on_new_leader_ack(&mut self, from: NodeId, ctx: &mut Cx<'_>) {
        let State::Leading(l) = &mut self.state else {
            return;
        };
        let Some(h) = l.learners.get_mut(&from) else {
            return;
        };
        h.stage = LStage::Synced;
        if l.established {
            ctx.send_peer(from, ZabMsg::UpToDate);
            h.stage = LStage::Broadcast;
        } else {
            l.newleader_acks.insert(from);
            self.maybe_establish(ctx);
        }
    }

    /// The leader's currentEpoch is durable: it acks its own NEWLEADER.
    pub(crate) fn leader_current_epoch_durable(&mut self, ctx: &mut Cx<'_>) {
        let me = self.id;
        let State::Leading(l) = &mut self.state else {
            return;
        };
        if let Some(w) = l.current_wseq
            && self.store.is_durable(w)
            && !l.newleader_acks.contains(&me)
        {
            l.newleader_acks.insert(me);
            self.maybe_establish(ctx);
        }
    }

    /// `waitForNewLeaderAck`: a quorum acked NEWLEADER, so the leader's history is on a quorum and
    /// committed; the leader is established (`startZkServer`), serves clients, and sends UPTODATE.
    fn maybe_establish(&mut self, ctx: &mut Cx<'_>) {
        let (me, n, now) = (self.id, self.n, ctx.now());
        let State::Leading(l) = &mut self.state else {
            return;
        };
        if l.established
            || !l.newleader_acks.contains(&me)
            || !is_quorum(n, l.newleader_acks.iter().copied())
        {
            return;
        }
        let epoch = l.epoch.expect("established in a fixed epoch");
        l.established = true;
        l.last_proposed = Zxid::new(epoch, 0);
        for (&peer, h) in &mut l.learners {
            if h.stage == LStage::Synced {
                ctx.send_peer(peer, ZabMsg::UpToDate);
                h.stage = LStage::Broadcast;
            }
        }
        ctx.report(ZabEvent::Established {
            epoch,
            history: self.zk.db.history.clone().into(),
        });
        self.update_election_vote(epoch);
        self.zk.rebuild_sessions(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(epoch: u32, counter: u32) -> Zxid {
        Zxid::new(epoch, counter)
    }

    #[test]
    fn a_learner_up_to_date_or_behind_gets_a_diff() {
        let log = [z(1, 1), z(1, 2), z(2, 1)];
        assert_eq!(
            plan_sync(Zxid::ZERO, &log, z(2, 1), true),
            SyncPlan::Diff { from: z(2, 1) }
        );
        assert_eq!(
            plan_sync(Zxid::ZERO, &log, z(1, 2), true),
            SyncPlan::Diff { from: z(1, 2) }
        );
        assert_eq!(
            plan_sync(Zxid::ZERO, &log, Zxid::ZERO, true),
            SyncPlan::Diff { from: Zxid::ZERO }
        );
    }

    #[test]
    fn a_learner_ahead_of_the_committed_log_is_truncated() {
        let log = [z(1, 1), z(1, 2)];
        assert_eq!(
            plan_sync(Zxid::ZERO, &log, z(1, 4), true),
            SyncPlan::Trunc { to: z(1, 2) }
        );
    }

    #[test]
    fn an_uncommitted_suffix_is_truncated_to_the_last_common_zxid() {
        // ZOOKEEPER-1154: the learner logged (7,74), which no one else has; the leader moved on.
        let log = [z(7, 72), z(7, 73), z(8, 1)];
        assert_eq!(
            plan_sync(Zxid::ZERO, &log, z(7, 74), true),
            SyncPlan::Trunc { to: z(7, 73) }
        );
        // A TRUNC that would cross an epoch boundary becomes a SNAP.
        let log = [z(6, 9), z(8, 1)];
        assert_eq!(plan_sync(Zxid::ZERO, &log, z(7, 3), true), SyncPlan::Snap);
    }

    #[test]
    fn a_learner_older_than_the_snapshot_gets_a_snap() {
        assert_eq!(
            plan_sync(z(3, 40), &[z(3, 41)], z(3, 12), true),
            SyncPlan::Snap
        );
        assert_eq!(
            plan_sync(z(3, 40), &[z(3, 41)], z(3, 40), true),
            SyncPlan::Diff { from: z(3, 40) }
        );
    }

    #[test]
    fn sync_no_trunc_never_truncates() {
        let log = [z(7, 73), z(8, 1)];
        assert_eq!(
            plan_sync(Zxid::ZERO, &log, z(7, 74), false),
            SyncPlan::Diff { from: z(7, 74) }
        );
        assert_eq!(
            plan_sync(Zxid::ZERO, &log, z(8, 5), false),
            SyncPlan::Diff { from: z(8, 5) }
        );
    }
}
