//! The leader (PMS §3; PMMC's leader with its scouts and commanders): phase 1 once for every slot
//! from its first unexecuted one; on a quorum of promises it adopts, for each slot, the value with
//! the highest accepted ballot (PMS P2c; PMMC `pmax`) and fills the slots nobody reported with
//! no-ops (PMS §3), proposes them all in its ballot, and then proposes new commands with at most
//! α slots in flight (PMMC's WINDOW). A slot is chosen once a quorum of distinct acceptors
//! accepted it at the leader's ballot; the leader then decides it (sending DECIDEs unless they are
//! piggybacked). It heartbeats, resends unanswered ACCEPTs, and steps down when a quorum has not
//! answered for the suspicion timeout (so that an isolated leader stops serving).
//!
//! It is established — it serves clients and expires sessions — once every slot phase 1
//! recovered is executed here.

use super::ballot::Ballot;
use super::checks::PaxosEvent;
use super::messages::{AcceptedEntry, PaxosMsg, Value};
use super::settings::Decisions;
use super::{Cx, Leader, Paxos, Pending, Proposal, Role, SyncWaiter, Variant};
use crate::cluster::ReplicaCtx;
use crate::replication::History;
use sim::NodeId;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

impl Paxos {
    /// P1b received. On a quorum of promises from distinct acceptors, phase 1 succeeded.
    pub(crate) fn on_promise(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        accepted: Vec<AcceptedEntry>,
        ctx: &mut Cx<'_>,
    ) {
        let Role::Candidate(c) = &mut self.role else {
            return;
        };
        if c.ballot != ballot {
            return;
        }
        c.promises.insert(from, accepted);
        // Distinct acceptors: the promises are keyed by acceptor.
        if c.promises.len() >= self.phase1_quorum() {
            self.become_leader(ctx);
        }
    }

    /// Phase 1 succeeded: adopt and re-propose (PMS §3, PMMC `pmax`).
    fn become_leader(&mut self, ctx: &mut Cx<'_>) {
        let Role::Candidate(c) = std::mem::replace(&mut self.role, Role::Follower) else {
            return;
        };
        let ballot = c.ballot;
        // P2c: for each slot, the value of the highest ballot any promise reported.
        let mut adopted: BTreeMap<u64, (Ballot, Value)> = BTreeMap::new();
        for entries in c.promises.into_values() {
            for e in entries {
                if e.slot < c.from_slot {
                    continue;
                }
                let higher = if self.variant == Variant::ValueNotHighestBallot {
                    // The variant's one flip: the first promise reporting the slot wins.
                    !adopted.contains_key(&e.slot)
                } else {
                    adopted.get(&e.slot).is_none_or(|(b, _)| e.ballot > *b)
                };
                if higher {
                    adopted.insert(e.slot, (e.ballot, e.value));
                }
            }
        }
        let last_adopted = adopted.keys().next_back().copied().unwrap_or(0);
        let last_decided = self.decided.keys().next_back().copied().unwrap_or(0);
        let mut recovered_upto = last_adopted.max(last_decided).max(self.executed);
        if self.variant == Variant::GapNoFill {
            // The variant's one flip: nothing is recovered; fresh commands go into open slots.
            adopted.clear();
            recovered_upto = self.executed;
        }
        let now = ctx.now();
        self.leader = None;
        self.role = Role::Leader(Box::new(Leader {
            ballot,
            recovered_upto,
            established: false,
            next_slot: recovered_upto + 1,
            proposals: BTreeMap::new(),
            chosen: BTreeSet::new(),
            queue: VecDeque::new(),
            barriers: BTreeMap::new(),
            last_ack: BTreeMap::new(),
            since: now,
        }));
        // Every open slot up to the last one recovered is proposed again in this ballot: the
        // adopted value, or a no-op for a gap (PMS §3). Slots already decided here need no vote.
        for slot in (self.executed + 1)..=recovered_upto {
            if self.decided.contains_key(&slot) {
                continue;
            }
            let value = adopted
                .remove(&slot)
                .map_or(Value::Noop, |(_, value)| value);
            self.propose_in(slot, value, ctx);
        }
        self.heartbeat(ctx);
        self.maybe_established(ctx);
    }

    /// P2a: proposes `value` in `slot` at the leader's ballot to every acceptor.
    fn propose_in(&mut self, slot: u64, value: Value, ctx: &mut Cx<'_>) {
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let ballot = l.ballot;
        l.proposals.insert(
            slot,
            Proposal {
                value: value.clone(),
                acks: BTreeSet::new(),
                replies: 0,
                sent: ctx.now(),
            },
        );
        let decided_upto = self.executed;
        for to in self.all().collect::<Vec<_>>() {
            let msg = PaxosMsg::Accept {
                ballot,
                slot,
                value: value.clone(),
                decided_upto,
            };
            self.send(to, msg, ctx);
        }
    }

    /// Proposes queued commands while fewer than α slots are in flight (PMMC's WINDOW).
    pub(crate) fn fill_window(&mut self, ctx: &mut Cx<'_>) {
        loop {
            let Role::Leader(l) = &mut self.role else {
                return;
            };
            if l.proposals.len() as u64 >= self.settings.window {
                return;
            }
            let Some(next) = l.queue.pop_front() else {
                return;
            };
            let slot = l.next_slot;
            l.next_slot += 1;
            let value = match next {
                Pending::Command(c) => Value::Command(c),
                Pending::Barrier(w) => {
                    l.barriers.entry(slot).or_default().push(w);
                    Value::Noop
                }
            };
            self.propose_in(slot, value, ctx);
        }
    }

    /// A sync at the leader: a no-op barrier proposed after it arrived; it passes once the
    /// barrier is executed, which proves this leader's ballot was still unpreempted at a quorum.
    pub(crate) fn leader_sync(&mut self, waiter: SyncWaiter, ctx: &mut Cx<'_>) {
        if let Role::Leader(l) = &mut self.role {
            l.queue.push_back(Pending::Barrier(waiter));
            self.fill_window(ctx);
        }
    }

    /// P2b received: "a value is chosen when a large enough set of acceptors have accepted it"
    /// (PMS §2.2), here a quorum of distinct acceptors at the same (slot, ballot).
    pub(crate) fn on_accepted(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
        ctx: &mut Cx<'_>,
    ) {
        let now = ctx.now();
        let q2 = self.phase2_quorum();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.ballot != ballot {
            return;
        }
        l.last_ack.insert(from, now);
        let Some(p) = l.proposals.get_mut(&slot) else {
            return;
        };
        p.acks.insert(from);
        p.replies += 1;
        let chosen = if self.variant == Variant::CountDuplicateAccepts {
            // The variant's one flip: replies are counted, not distinct acceptors.
            2 * p.replies as usize > self.n
        } else {
            crate::replication::has_at_least(self.n, q2, p.acks.iter().copied())
        };
        if !chosen {
            return;
        }
        let p = l.proposals.remove(&slot).expect("found above");
        l.chosen.insert(slot);
        if self.settings.decisions == Decisions::Sent {
            for to in self.all().filter(|p| *p != self.id).collect::<Vec<_>>() {
                let value = p.value.clone();
                ctx.send_peer(to, PaxosMsg::Decide { slot, value });
            }
        }
        self.learn(slot, p.value, ctx);
        self.fill_window(ctx);
    }

    /// How many promises phase 1 needs: the phase-1 quorum (a majority unless the settings make
    /// quorums flexible); `flexible-nonintersecting` takes n − |Q2|, so that |Q1| + |Q2| = n.
    pub(crate) fn phase1_quorum(&self) -> usize {
        if self.variant == Variant::FlexibleNonintersecting {
            (self.n - self.phase2_quorum()).max(1)
        } else {
            self.quorums.0
        }
    }

    /// How many acceptors must accept a slot's value for it to be chosen (P2c's quorum).
    pub(crate) fn phase2_quorum(&self) -> usize {
        self.quorums.1
    }

    /// Every heartbeat period at the leader: heartbeats, resends, and the quorum check.
    pub(crate) fn leader_tick(&mut self, ctx: &mut Cx<'_>) {
        let now = ctx.now();
        let timeout = sim::SimDuration::from_ms(self.settings.election_timeout_min_ms);
        let q2 = self.phase2_quorum();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let me = self.id;
        let recent = l
            .last_ack
            .iter()
            .filter(|(_, t)| now.since(**t) < timeout)
            .map(|(n, _)| *n)
            .chain(std::iter::once(me));
        // A leader that cannot hear a phase-2 quorum can choose nothing: it steps down.
        if now.since(l.since) >= timeout && !crate::replication::has_at_least(self.n, q2, recent) {
            self.step_down("no quorum answered", ctx);
            return;
        }
        // Resend ACCEPTs a quorum has not answered (a reset channel lost them).
        let resend = self.settings.resend();
        let ballot = l.ballot;
        let decided_upto = self.executed;
        let mut again = Vec::new();
        for (&slot, p) in &mut l.proposals {
            if now.since(p.sent) >= resend {
                p.sent = now;
                for to in (0..self.n as u32).map(NodeId) {
                    if to != me && !p.acks.contains(&to) {
                        again.push((
                            to,
                            PaxosMsg::Accept {
                                ballot,
                                slot,
                                value: p.value.clone(),
                                decided_upto,
                            },
                        ));
                    }
                }
            }
        }
        for (to, msg) in again {
            ctx.send_peer(to, msg);
        }
        self.heartbeat(ctx);
    }

    fn heartbeat(&mut self, ctx: &mut Cx<'_>) {
        let Role::Leader(l) = &self.role else {
            return;
        };
        let ballot = l.ballot;
        let decided_upto = self.executed;
        for to in self.all().filter(|p| *p != self.id).collect::<Vec<_>>() {
            ctx.send_peer(
                to,
                PaxosMsg::Heartbeat {
                    ballot,
                    decided_upto,
                },
            );
        }
    }

    /// A follower answered a heartbeat: it is with this leader, and its clients' sessions live.
    pub(crate) fn on_heartbeat_ack(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        _executed: u64,
        touches: Vec<crate::znode::SessionId>,
        ctx: &mut Cx<'_>,
    ) {
        let now = ctx.now();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.ballot != ballot {
            return;
        }
        l.last_ack.insert(from, now);
        for s in touches {
            self.zk.tracker.touch(s, now);
        }
    }

    /// The leader is established once every slot phase 1 recovered is executed here: its history
    /// then holds everything chosen before its ballot.
    pub(crate) fn maybe_established(&mut self, ctx: &mut Cx<'_>) {
        let executed = self.executed;
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.established || executed < l.recovered_upto {
            return;
        }
        l.established = true;
        let term = l.ballot.term();
        self.zk.rebuild_sessions(ctx.now());
        ctx.report(PaxosEvent::Established {
            term,
            history: History(self.zk.db.history.clone()),
        });
        self.fill_window(ctx);
    }
}
