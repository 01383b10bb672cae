//! Leader election (Raft §5.2, §5.4.1): randomised election timeouts drawn from the replica's own
//! random stream, RequestVote with the up-to-date check, one vote per term kept on disk, the
//! no-op a new leader appends (§8), CheckQuorum (a leader that heard from no majority within an
//! election timeout steps down; etcd, thesis §6.2) and Pre-Vote (thesis §9.6: a server first asks
//! whether it could win, and only then increments its term).
//!
//! It must never grant a vote before the vote is durable (`send_durable`), nor count a vote twice
//! (`replication::is_quorum` counts distinct members).

use super::{Command, Cx, Leading, Progress, Raft, RaftEvent, RaftMsg, RaftTimer, Role, Variant};
use crate::cluster::ReplicaCtx;
use rand::RngExt;
use sim::{NodeId, SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

impl Raft {
    /// §5.2: a new election timeout, drawn uniformly from [min, max) out of this replica's stream.
    /// One timer is armed at a time; when it fires early (the deadline moved), it re-arms itself.
    pub(crate) fn reset_election_timer(&mut self, ctx: &mut Cx<'_>) {
        let ms = ctx.rng().random_range(
            self.settings.election_timeout_min_ms..self.settings.election_timeout_max_ms,
        );
        // Sub-millisecond spread too, so that two replicas rarely draw the same instant.
        let ns = ctx.rng().random_range(0..1_000_000u64);
        self.election_deadline = ctx.now() + SimDuration::from_ms(ms) + SimDuration(ns);
        if !self.election_armed {
            let after = self.election_deadline.since(ctx.now());
            ctx.set_replica_timer(after, RaftTimer::Election);
            self.election_armed = true;
        }
    }

    pub(crate) fn on_election_timer(&mut self, ctx: &mut Cx<'_>) {
        self.election_armed = false;
        let now = ctx.now();
        if now < self.election_deadline {
            ctx.set_replica_timer(self.election_deadline.since(now), RaftTimer::Election);
            self.election_armed = true;
            return;
        }
        match &self.role {
            Role::Leader(l) => {
                // CheckQuorum: a majority (the leader included) must have answered within the
                // last election timeout, or the leader steps down and stops serving.
                let since = SimTime(
                    now.as_nanos()
                        .saturating_sub(self.settings.election_timeout_max().as_nanos()),
                );
                let heard: Vec<NodeId> = l
                    .progress
                    .iter()
                    .filter(|(_, p)| p.last_heard >= since)
                    .map(|(id, _)| *id)
                    .chain(std::iter::once(self.id))
                    .collect();
                if self.settings.check_quorum && !self.is_quorum(heard) {
                    self.become_follower(ctx, None, "check-quorum: no majority heard");
                }
                self.reset_election_timer(ctx);
            }
            // §5.2: "If election timeout elapses without receiving AppendEntries RPC from current
            // leader or granting vote to candidate: convert to candidate"; a candidate whose
            // election timed out starts a new one.
            // With Pre-Vote, every new attempt begins with the Pre-Vote round (thesis §9.6).
            Role::Follower { .. } | Role::Candidate { .. } if self.settings.pre_vote => {
                self.start_pre_vote(ctx)
            }
            Role::Follower { .. } | Role::Candidate { .. } => self.start_election(ctx),
        }
    }

    /// Thesis §9.6: "a candidate only increments its term if it first learns from a majority of
    /// the cluster that they would be willing to grant the candidate their votes". The probe names
    /// the term it would stand in; nothing is written, so nothing waits for the disk.
    fn start_pre_vote(&mut self, ctx: &mut Cx<'_>) {
        self.stand(true, ctx);
    }

    /// §5.2 "on conversion to candidate, start election: increment currentTerm, vote for self,
    /// reset election timer, send RequestVote RPCs to all other servers". The vote for itself is
    /// durable before any RequestVote leaves.
    fn start_election(&mut self, ctx: &mut Cx<'_>) {
        self.stand(false, ctx);
    }

    /// Stands for the next term: a real candidacy, or with `pre` its Pre-Vote probe, which
    /// neither moves the term nor writes anything.
    fn stand(&mut self, pre: bool, ctx: &mut Cx<'_>) {
        self.become_follower(ctx, None, "election timeout");
        let term = self.store.current_term + 1;
        if !pre {
            self.store.persist_state(ctx, term, Some(self.id));
        }
        self.role = Role::Candidate {
            votes: BTreeSet::from([self.id]),
            pre,
        };
        ctx.report(if pre {
            RaftEvent::PreCandidate { term }
        } else {
            RaftEvent::Candidate { term }
        });
        self.reset_election_timer(ctx);
        let msg = RaftMsg::RequestVote {
            term,
            last_log_index: self.store.last_index(),
            last_log_term: self.store.last_term(),
            pre_vote: pre,
        };
        for peer in self.peers() {
            if pre {
                ctx.send_peer(peer, msg.clone());
            } else {
                self.send_durable(ctx, peer, msg.clone());
            }
        }
        // A cluster of one is its own majority.
        self.maybe_win(ctx);
    }

    /// §5.4.1: the candidate's log is at least as up to date as ours: a later last term, or the
    /// same last term and at least as long.
    pub(crate) fn up_to_date(&self, last_log_term: u64, last_log_index: u64) -> bool {
        let (my_term, my_index) = (self.store.last_term(), self.store.last_index());
        last_log_term > my_term || (last_log_term == my_term && last_log_index >= my_index)
    }

    /// Fig. 2 RequestVote receiver: reply false if term < currentTerm; grant if votedFor is null
    /// or the candidate, and the candidate's log is at least as up to date (§5.2, §5.4.1).
    pub(crate) fn on_request_vote(
        &mut self,
        from: NodeId,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
        pre_vote: bool,
        ctx: &mut Cx<'_>,
    ) {
        if pre_vote {
            self.on_pre_vote(from, term, last_log_index, last_log_term, ctx);
            return;
        }
        self.observe_term(term, ctx);
        let current = self.store.current_term;
        let free = self.store.voted_for.is_none() || self.store.voted_for == Some(from);
        let granted = term == current && free && self.up_to_date(last_log_term, last_log_index);
        if granted {
            if self.store.voted_for != Some(from) {
                self.store.persist_state(ctx, current, Some(from));
            }
            self.reset_election_timer(ctx);
        }
        let reply = RaftMsg::Vote {
            term: current,
            granted,
            pre_vote: false,
        };
        if self.variant == Variant::VoteNotDurable {
            // The rule this variant breaks: the vote leaves before it is on stable storage.
            ctx.send_peer(from, reply);
        } else {
            self.send_durable(ctx, from, reply);
        }
    }

    /// Thesis §9.6, the voter's side of Pre-Vote: it would vote for `from` in `term` if that term
    /// is newer than its own, the candidate's log is at least as up to date (§5.4.1), and it has
    /// not heard from a leader within the minimum election timeout (a leader hears itself). It
    /// changes nothing: not its term, not its vote, not its election timer. A granted answer
    /// carries the asked term, a refusal this replica's own (so a stale candidate learns it).
    fn on_pre_vote(
        &mut self,
        from: NodeId,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
        ctx: &mut Cx<'_>,
    ) {
        let current = self.store.current_term;
        let leader_recent = self.is_leader_role()
            || self
                .leader_heard
                .is_some_and(|at| ctx.now().since(at) < self.settings.election_timeout_min());
        let granted =
            term > current && !leader_recent && self.up_to_date(last_log_term, last_log_index);
        let reply = RaftMsg::Vote {
            term: if granted { term } else { current },
            granted,
            pre_vote: true,
        };
        ctx.send_peer(from, reply);
    }

    /// A vote arrived: a candidate that has votes from a majority of distinct servers becomes
    /// leader (§5.2); a pre-candidate with a majority of pre-votes starts the real election
    /// (thesis §9.6).
    pub(crate) fn on_vote(
        &mut self,
        from: NodeId,
        term: u64,
        granted: bool,
        pre_vote: bool,
        ctx: &mut Cx<'_>,
    ) {
        if pre_vote {
            // A granted pre-vote carries the term asked for, not one the voter holds: only a
            // refusal tells of a newer term.
            let asked = self.store.current_term + 1;
            if !granted {
                self.observe_term(term, ctx);
            } else if term == asked
                && let Role::Candidate { votes, pre: true } = &mut self.role
            {
                votes.insert(from);
                self.maybe_win(ctx);
            }
            return;
        }
        if self.observe_term(term, ctx) {
            return;
        }
        if term != self.store.current_term || !granted {
            return;
        }
        if let Role::Candidate { votes, pre: false } = &mut self.role {
            votes.insert(from);
            self.maybe_win(ctx);
        }
    }

    fn maybe_win(&mut self, ctx: &mut Cx<'_>) {
        let (won, pre) = match &self.role {
            Role::Candidate { votes, pre } => (self.is_quorum(votes.iter().copied()), *pre),
            _ => (false, false),
        };
        match (won, pre) {
            (true, true) => self.start_election(ctx),
            (true, false) => self.become_leader(ctx),
            (false, _) => {}
        }
    }

    /// §5.3: "when a leader first comes to power, it initializes all nextIndex values to the index
    /// just after the last one in its log"; §8: it appends a blank no-op entry of its term, and it
    /// is established once that entry is applied (`replication::apply_committed`).
    fn become_leader(&mut self, ctx: &mut Cx<'_>) {
        let term = self.store.current_term;
        debug_assert_eq!(
            self.store.voted_for,
            Some(self.id),
            "a leader voted for itself"
        );
        let next = self.store.last_index() + 1;
        let progress: BTreeMap<NodeId, Progress> = self
            .peers()
            .map(|p| {
                (
                    p,
                    Progress {
                        next,
                        matched: 0,
                        probing: true,
                        inflight: 0,
                        acked_round: 0,
                        commit_sent: 0,
                        last_heard: ctx.now(),
                    },
                )
            })
            .collect();
        // `no-noop-on-election` breaks §8: it counts itself established once its last entry
        // (of an earlier term) is applied.
        let first_index = if self.variant == Variant::NoNoopOnElection {
            self.store.last_index()
        } else {
            next
        };
        self.role = Role::Leader(Box::new(Leading {
            progress,
            first_index,
            established: false,
            round: 0,
            reads: Vec::new(),
            acks: Vec::new(),
        }));
        ctx.report(RaftEvent::Elected { term });
        if self.variant != Variant::NoNoopOnElection {
            self.leader_append(Command::Noop, ctx);
        }
        for peer in self.peers() {
            self.send_append(peer, true, ctx);
        }
        let hb = self.settings.heartbeat();
        ctx.set_replica_timer(hb, RaftTimer::Heartbeat { term });
        self.reset_election_timer(ctx);
        // A leader whose first entry is already applied (a cluster of one, or the variant with an
        // empty log) is established at once.
        self.apply_committed(ctx);
    }

    /// §5.2: the leader sends heartbeats to keep its authority; a probing follower gets its next
    /// entries again.
    pub(crate) fn on_heartbeat(&mut self, term: u64, ctx: &mut Cx<'_>) {
        if !self.is_leader_role() || term != self.store.current_term {
            return;
        }
        for peer in self.peers() {
            self.send_append(peer, true, ctx);
        }
        let hb = self.settings.heartbeat();
        ctx.set_replica_timer(hb, RaftTimer::Heartbeat { term });
    }
}
