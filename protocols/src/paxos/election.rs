//! Leader election by ballot (PMS §3: "a new leader is selected ... and executes phase 1";
//! PMMC's scouts and preemption; PML §2.2's master, chosen by running phase 1): a replica that
//! hears nothing from a leader for a timeout drawn from its own rng stream suspects it and starts
//! phase 1 with a ballot above every one it has seen. A proposer whose ballot an acceptor refuses
//! (NACK) or who hears a leader of a higher ballot steps down and follows. Followers know their
//! leader from its heartbeats and ACCEPTs.
//!
//! It decides who tries to lead and when; phase 1's outcome is the leader's (`leader`).

use super::ballot::Ballot;
use super::checks::PaxosEvent;
use super::messages::PaxosMsg;
use super::{Candidate, Cx, Paxos, Role};
use crate::cluster::ReplicaCtx;
use crate::zookeeper::server;
use sim::NodeId;
use std::collections::BTreeMap;

impl Paxos {
    /// Any ballot in a message: remembered, so that a new candidacy picks a higher round.
    pub(crate) fn saw_ballot(&mut self, ballot: Ballot, _ctx: &mut Cx<'_>) {
        self.highest_seen = self.highest_seen.max(ballot);
    }

    /// Every heartbeat period at a follower or candidate: a leader silent for the suspicion
    /// timeout is suspected, and a candidate whose phase 1 did not finish in that time tries again
    /// with a higher ballot (PMMC: a preempted or stalled scout is replaced by a new one).
    pub(crate) fn suspicion_tick(&mut self, ctx: &mut Cx<'_>) {
        let now = ctx.now();
        let since = match &self.role {
            Role::Candidate(c) => c.started,
            _ => self.last_heard,
        };
        if now.since(since) >= self.election_timeout {
            self.start_candidacy(ctx);
            return;
        }
        self.request_catch_up(ctx);
    }

    /// Starts phase 1 with a ballot above every one seen (PMS §2.2: "a proposer chooses a new
    /// proposal number n"). The proposer remembers the ballot durably before any PREPARE leaves
    /// (PMS §2.5), so that after a crash it never reuses it for a different value.
    pub(crate) fn start_candidacy(&mut self, ctx: &mut Cx<'_>) {
        if let Some((_, ballot)) = self.leader.take() {
            ctx.report(PaxosEvent::LeadershipLost {
                term: ballot.term(),
                why: "leader suspected",
            });
        }
        server::stop_serving(self, ctx);
        let round = self.highest_seen.round.max(self.store.promised.round) + 1;
        let ballot = Ballot::new(round, self.id);
        self.highest_seen = ballot;
        self.store.promise(ctx, ballot);
        ctx.report(PaxosEvent::Candidate {
            term: ballot.term(),
        });
        let from_slot = self.executed + 1;
        self.role = Role::Candidate(Box::new(Candidate {
            ballot,
            from_slot,
            promises: BTreeMap::new(),
            started: ctx.now(),
        }));
        self.draw_election_timeout(ctx);
        for to in self.all().collect::<Vec<_>>() {
            self.send_durable(to, PaxosMsg::Prepare { ballot, from_slot }, ctx);
        }
    }

    /// An acceptor refused our ballot: another proposer's is higher (PMMC's "preempted"). Step
    /// down and follow; the suspicion timeout decides whether to try again.
    pub(crate) fn on_nack(&mut self, promised: Ballot, ctx: &mut Cx<'_>) {
        self.saw_ballot(promised, ctx);
        let mine = match &self.role {
            Role::Follower => return,
            Role::Candidate(c) => c.ballot,
            Role::Leader(l) => l.ballot,
        };
        if promised > mine {
            self.step_down("preempted by a higher ballot", ctx);
        }
    }

    /// Leaves candidacy or leadership for the follower role.
    pub(crate) fn step_down(&mut self, why: &'static str, ctx: &mut Cx<'_>) {
        let old = std::mem::replace(&mut self.role, Role::Follower);
        if let Role::Leader(l) = old {
            if l.established {
                ctx.report(PaxosEvent::LeadershipLost {
                    term: l.ballot.term(),
                    why,
                });
            }
            server::stop_serving(self, ctx);
        }
        self.leader = None;
        self.last_heard = ctx.now();
        self.draw_election_timeout(ctx);
    }

    /// A message from `from` as the leader of `ballot` (a heartbeat or an ACCEPT at or above the
    /// promise): a proposer with a lower ballot steps down, and a follower follows it.
    pub(crate) fn heard_leader(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        decided_upto: u64,
        ctx: &mut Cx<'_>,
    ) {
        if from == self.id || from != ballot.leader() {
            return;
        }
        let mine = match &self.role {
            Role::Follower => None,
            Role::Candidate(c) => Some(c.ballot),
            Role::Leader(l) => Some(l.ballot),
        };
        match mine {
            Some(m) if m >= ballot => return,
            Some(_) => self.step_down("a higher ballot leads", ctx),
            None => {}
        }
        match self.leader {
            Some((_, b)) if b > ballot => return,
            Some((_, b)) if b < ballot => {
                ctx.report(PaxosEvent::LeadershipLost {
                    term: b.term(),
                    why: "a higher ballot leads",
                });
                // What this replica forwarded to the old leader (writes, syncs, revalidations)
                // may be lost with it: its clients reconnect and learn so (connection loss), as
                // a ZooKeeper follower's clients do when it re-syncs with a new leader.
                server::stop_serving(self, ctx);
            }
            _ => {}
        }
        self.leader = Some((from, ballot));
        self.last_heard = ctx.now();
        self.leader_decided = self.leader_decided.max(decided_upto);
    }

    /// The leader's heartbeat: it still leads. A heartbeat of a ballot below the promise is
    /// refused, so that a deposed leader learns it is.
    pub(crate) fn on_heartbeat(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        decided_upto: u64,
        ctx: &mut Cx<'_>,
    ) {
        self.saw_ballot(ballot, ctx);
        if ballot < self.store.promised {
            let promised = self.store.promised;
            ctx.send_peer(from, PaxosMsg::Nack { promised });
            return;
        }
        self.heard_leader(from, ballot, decided_upto, ctx);
        self.learn_piggybacked(ballot, decided_upto, ctx);
        let touches = self.zk.touches.take();
        let executed = self.executed;
        ctx.send_peer(
            from,
            PaxosMsg::HeartbeatAck {
                ballot,
                executed,
                touches,
            },
        );
    }
}
