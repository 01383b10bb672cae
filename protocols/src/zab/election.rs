//! Fast Leader Election, ZooKeeper's `FastLeaderElection` (electionAlg 3): Zab's phase 0, the
//! leader oracle, which ZooKeeper implements so that it picks the peer with the most recent history
//! of a quorum. A vote names a leader and that leader's (currentEpoch, last zxid); votes are ordered
//! by (epoch, zxid, server id). A LOOKING peer broadcasts its vote, adopts any better vote it hears
//! in its round, decides once a quorum agrees with it and a finalize wait brings no better vote,
//! and joins an ensemble that already runs when a quorum of FOLLOWING/LEADING peers names the same
//! leader and that leader says it leads.
//!
//! This module owns the election state and the notification handling in every peer state (the
//! `WorkerReceiver` answers on behalf of peers that are not LOOKING). It never touches the log or
//! the epochs: it reads the replica's currentEpoch and last zxid, and hands the decision to
//! discovery.

use super::messages::{PeerState, ZabMsg};
use super::{Cx, State, Zab, ZabEvent, ZabTimer};
use crate::cluster::ReplicaCtx;
use crate::znode::Zxid;
use sim::{NodeId, SimDuration, TimerId};
use std::collections::BTreeMap;

/// A vote: the proposed leader and the history it would lead with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vote {
    pub leader: NodeId,
    /// The proposed leader's last zxid.
    pub zxid: Zxid,
    /// The proposed leader's currentEpoch (`peerEpoch`); once an ensemble runs, its new epoch.
    pub peer_epoch: u32,
}

impl Vote {
    /// `FastLeaderElection.totalOrderPredicate`: a higher epoch wins, then a higher zxid, then a
    /// higher server id. The epoch comes first because a peer's zxid alone does not say whether
    /// its history was adopted by a quorum (ZOOKEEPER-1082).
    pub fn beats(&self, other: &Vote) -> bool {
        (self.peer_epoch, self.zxid, self.leader) > (other.peer_epoch, other.zxid, other.leader)
    }
}

/// A vote as received, with the sender's round and state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Received {
    vote: Vote,
    round: u64,
    state: PeerState,
}

/// The election state. It outlives one election: the logical clock only grows, and the decided
/// vote is what this peer reports to LOOKING peers while it follows or leads.
pub struct Election {
    /// The round (`logicalclock`, a notification's `electionEpoch`).
    pub logical_clock: u64,
    /// While LOOKING the vote this peer proposes; afterwards the vote it decided on
    /// (`getCurrentVote`).
    pub vote: Vote,
    /// The round in which `vote` was decided.
    pub vote_round: u64,
    /// Votes of this round, by sender (`recvset`), this peer's own included.
    recv_set: BTreeMap<NodeId, Received>,
    /// Votes of peers that follow or lead, whatever their round (`outofelection`).
    out_of_election: BTreeMap<NodeId, Received>,
    /// The current wait for notifications; doubles on each silent wait (`notTimeout`).
    not_timeout: SimDuration,
    poll_timer: Option<TimerId>,
    finalize_timer: Option<TimerId>,
}

impl Election {
    pub fn new(me: NodeId, min_interval: SimDuration) -> Election {
        Election {
            logical_clock: 0,
            vote: Vote {
                leader: me,
                zxid: Zxid::ZERO,
                peer_epoch: 0,
            },
            vote_round: 0,
            recv_set: BTreeMap::new(),
            out_of_election: BTreeMap::new(),
            not_timeout: min_interval,
            poll_timer: None,
            finalize_timer: None,
        }
    }
}

impl Zab {
    /// This peer's state as notifications report it.
    pub fn peer_state(&self) -> PeerState {
        match self.state {
            State::Looking => PeerState::Looking,
            State::Following(_) => PeerState::Following,
            State::Leading(_) => PeerState::Leading,
        }
    }

    /// The vote for itself: its own currentEpoch and last logged zxid (`getInitId`,
    /// `getInitLastLoggedZxid`, `getPeerEpoch`).
    fn init_vote(&self) -> Vote {
        Vote {
            leader: self.id,
            zxid: self.zk.db.last_processed,
            peer_epoch: self.store.current_epoch,
        }
    }

    /// `lookForLeader`, step 1: a new round, a vote for itself, sent to every voter.
    pub(crate) fn look_for_leader(&mut self, ctx: &mut Cx<'_>) {
        let init = self.init_vote();
        let e = &mut self.election;
        e.logical_clock += 1;
        e.vote = init;
        e.recv_set.clear();
        e.out_of_election.clear();
        e.not_timeout = self.settings.min_notification_interval();
        if let Some(t) = e.finalize_timer.take() {
            ctx.cancel_timer(t);
        }
        self.send_notifications(ctx);
        self.arm_poll(ctx);
        self.check_proposal_quorum(ctx);
    }

    /// `sendNotifications`: this peer's proposal to every voter; its own copy goes straight into
    /// its receive set (ZooKeeper loops it back through the queue).
    fn send_notifications(&mut self, ctx: &mut Cx<'_>) {
        let (vote, round) = (self.election.vote, self.election.logical_clock);
        for peer in self.peers() {
            ctx.send_peer(
                peer,
                ZabMsg::Notification {
                    vote,
                    round,
                    state: PeerState::Looking,
                },
            );
        }
        self.election.recv_set.insert(
            self.id,
            Received {
                vote,
                round,
                state: PeerState::Looking,
            },
        );
    }

    /// `lookForLeader`, step 2: wait `notTimeout` for the next notification.
    fn arm_poll(&mut self, ctx: &mut Cx<'_>) {
        if let Some(t) = self.election.poll_timer.take() {
            ctx.cancel_timer(t);
        }
        let after = self.election.not_timeout;
        self.election.poll_timer = Some(ctx.set_replica_timer(after, ZabTimer::Poll));
    }

    /// Step 2, on a timeout: send the vote again and double the wait, up to
    /// maxNotificationInterval.
    pub(crate) fn on_poll_timeout(&mut self, ctx: &mut Cx<'_>) {
        self.election.poll_timer = None;
        if !matches!(self.state, State::Looking) || self.election.finalize_timer.is_some() {
            return;
        }
        self.send_notifications(ctx);
        let max = SimDuration::from_ms(self.settings.max_notification_interval_ms);
        self.election.not_timeout = self.election.not_timeout.mul(2).min(max);
        self.arm_poll(ctx);
    }

    /// One notification, in any state.
    pub(crate) fn on_notification(
        &mut self,
        from: NodeId,
        vote: Vote,
        round: u64,
        state: PeerState,
        ctx: &mut Cx<'_>,
    ) {
        // WorkerReceiver: a peer that follows or leads answers a LOOKING peer with the vote it
        // decided on, so that the latter can join (ZOOKEEPER-1732).
        let mine = self.peer_state();
        if mine != PeerState::Looking {
            if state == PeerState::Looking {
                let msg = ZabMsg::Notification {
                    vote: self.election.vote,
                    round: self.election.vote_round,
                    state: mine,
                };
                ctx.send_peer(from, msg);
            }
            return;
        }
        // WorkerReceiver: a LOOKING peer lagging a round behind gets this peer's current proposal.
        if state == PeerState::Looking && round < self.election.logical_clock {
            let msg = ZabMsg::Notification {
                vote: self.election.vote,
                round: self.election.logical_clock,
                state: PeerState::Looking,
            };
            ctx.send_peer(from, msg);
        }
        // A notification arrived: the poll of step 2 returns.
        self.arm_poll(ctx);
        // Step 4, during the finalize wait: only a better vote interrupts it (and is then handled
        // as usual); any other notification is consumed and the wait starts over.
        if self.election.finalize_timer.is_some() {
            if vote.beats(&self.election.vote) {
                let t = self.election.finalize_timer.take().expect("checked");
                ctx.cancel_timer(t);
            } else {
                self.arm_finalize(ctx);
                return;
            }
        }
        match state {
            PeerState::Looking => self.on_looking_notification(from, vote, round, ctx),
            PeerState::Following | PeerState::Leading => {
                self.on_established_notification(from, vote, round, state, ctx)
            }
        }
    }

    /// Step 3: a notification from a LOOKING peer, handled by its round.
    fn on_looking_notification(&mut self, from: NodeId, vote: Vote, round: u64, ctx: &mut Cx<'_>) {
        let clock = self.election.logical_clock;
        if round > clock {
            // A later round: adopt it, forget this round's votes, and propose the better of the
            // sender's vote and our own initial vote.
            let init = self.init_vote();
            let e = &mut self.election;
            e.logical_clock = round;
            e.recv_set.clear();
            e.vote = if vote.beats(&init) { vote } else { init };
            self.send_notifications(ctx);
        } else if round < clock {
            return;
        } else if vote.beats(&self.election.vote) {
            self.election.vote = vote;
            self.send_notifications(ctx);
        }
        self.election.recv_set.insert(
            from,
            Received {
                vote,
                round,
                state: PeerState::Looking,
            },
        );
        self.check_proposal_quorum(ctx);
    }

    /// Step 4: if a quorum of this round agrees with our proposal, wait finalizeWait for a better
    /// vote before deciding.
    fn check_proposal_quorum(&mut self, ctx: &mut Cx<'_>) {
        let e = &self.election;
        let agree = e
            .recv_set
            .iter()
            .filter(|(_, r)| r.vote == e.vote && r.round == e.logical_clock)
            .map(|(&id, _)| id);
        if self.is_quorum(agree) && e.finalize_timer.is_none() {
            if let Some(t) = self.election.poll_timer.take() {
                ctx.cancel_timer(t);
            }
            self.arm_finalize(ctx);
        }
    }

    fn arm_finalize(&mut self, ctx: &mut Cx<'_>) {
        if let Some(t) = self.election.finalize_timer.take() {
            ctx.cancel_timer(t);
        }
        let after = SimDuration::from_ms(self.settings.finalize_wait_ms);
        self.election.finalize_timer = Some(ctx.set_replica_timer(after, ZabTimer::Finalize));
    }

    /// Step 4: the finalize wait brought no better vote: decide.
    pub(crate) fn on_finalize(&mut self, ctx: &mut Cx<'_>) {
        if self.election.finalize_timer.take().is_none() || !matches!(self.state, State::Looking) {
            return;
        }
        let (vote, round) = (self.election.vote, self.election.logical_clock);
        self.decide(vote, round, ctx);
    }

    /// Step 5: a notification from a peer that follows or leads.
    fn on_established_notification(
        &mut self,
        from: NodeId,
        vote: Vote,
        round: u64,
        state: PeerState,
        ctx: &mut Cx<'_>,
    ) {
        let received = Received { vote, round, state };
        if round == self.election.logical_clock {
            // Same round: it counts like any vote of this round.
            self.election.recv_set.insert(from, received);
            let agree = self
                .election
                .recv_set
                .iter()
                .filter(|(_, r)| r.vote == vote && r.round == round)
                .map(|(&id, _)| id);
            if self.is_quorum(agree)
                && self.check_leader(&self.election.recv_set, vote.leader, round)
            {
                self.decide(vote, round, ctx);
                return;
            }
        }
        // Before joining an established ensemble, a quorum must follow the same leader in the same
        // epoch, and that leader must say it leads (`outofelection`, `checkLeader`).
        self.election.out_of_election.insert(from, received);
        let same =
            |r: &Received| r.vote.leader == vote.leader && r.vote.peer_epoch == vote.peer_epoch;
        let agree = self
            .election
            .out_of_election
            .iter()
            .filter(|(_, r)| same(r))
            .map(|(&id, _)| id);
        if self.is_quorum(agree)
            && self.check_leader(&self.election.out_of_election, vote.leader, round)
        {
            self.election.logical_clock = round;
            self.decide(vote, round, ctx);
        }
    }

    /// `checkLeader`: the proposed leader is known to lead, or it is this peer and the round is
    /// its own.
    fn check_leader(&self, votes: &BTreeMap<NodeId, Received>, leader: NodeId, round: u64) -> bool {
        if leader != self.id {
            votes
                .get(&leader)
                .is_some_and(|r| r.state == PeerState::Leading)
        } else {
            self.election.logical_clock == round
        }
    }

    /// The election is over: LEADING if the vote names this peer, FOLLOWING otherwise.
    fn decide(&mut self, vote: Vote, round: u64, ctx: &mut Cx<'_>) {
        for t in [
            self.election.poll_timer.take(),
            self.election.finalize_timer.take(),
        ]
        .into_iter()
        .flatten()
        {
            ctx.cancel_timer(t);
        }
        self.election.vote = vote;
        self.election.vote_round = round;
        self.election.recv_set.clear();
        self.election.out_of_election.clear();
        ctx.report(ZabEvent::Decided {
            leader: vote.leader,
            round,
        });
        if vote.leader == self.id {
            self.become_leader(ctx);
        } else {
            self.become_follower(vote.leader, ctx);
        }
    }

    /// `updateElectionVote`: once an ensemble runs in a new epoch, every member reports that epoch
    /// to peers that look for a leader, so that they agree on what to join (ZOOKEEPER-1732).
    pub(crate) fn update_election_vote(&mut self, epoch: u32) {
        self.election.vote.peer_epoch = epoch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(leader: u32, zxid: u64, epoch: u32) -> Vote {
        Vote {
            leader: NodeId(leader),
            zxid: Zxid(zxid),
            peer_epoch: epoch,
        }
    }

    #[test]
    fn votes_are_ordered_by_epoch_then_zxid_then_server_id() {
        assert!(
            v(0, 1, 3).beats(&v(2, 100, 2)),
            "a higher epoch wins whatever the zxid"
        );
        assert!(v(0, 101, 2).beats(&v(2, 100, 2)), "then a higher zxid");
        assert!(v(2, 100, 2).beats(&v(1, 100, 2)), "then a higher id");
        assert!(
            !v(1, 100, 2).beats(&v(1, 100, 2)),
            "a vote does not beat itself"
        );
    }
}
