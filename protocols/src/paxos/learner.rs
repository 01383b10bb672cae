//! The learner and the state machine (PMS §3; PMMC's replica): it learns decided values (a
//! DECIDE, a catch-up answer, or the decided prefix piggybacked on an ACCEPT or heartbeat for
//! slots it accepted at the leader's ballot), records them, and executes them strictly in slot
//! order (PMMC's `slot_out`): a command is handed to the front end as the transaction whose zxid
//! is its slot; a no-op only moves the slot on. A replica missing a decision asks the leader for
//! the decisions from its first unexecuted slot (catch-up).
//!
//! Two different values learned for one slot break agreement: a finding, never silently kept.

use super::ballot::Ballot;
use super::checks::PaxosEvent;
use super::messages::{PaxosMsg, Value};
use super::settings::Decisions;
use super::{Cx, Paxos, Role, SyncOrigin};
use crate::cluster::ReplicaCtx;
use crate::znode::Zxid;
use crate::zookeeper::Txn;
use crate::zookeeper::server;
use sim::NodeId;

impl Paxos {
    /// `value` is chosen in `slot` (PMS §2.3 "learning a chosen value").
    pub(crate) fn learn(&mut self, slot: u64, value: Value, ctx: &mut Cx<'_>) {
        if slot <= self.executed && !self.decided.contains_key(&slot) {
            return;
        }
        match self.decided.get(&slot) {
            Some(v) if *v == value => return,
            Some(v) => {
                let what = format!("slot {slot} decided as {v:?} here and as {value:?} elsewhere");
                self.violation(ctx, what);
                return;
            }
            None => {}
        }
        self.decided.insert(slot, value.clone());
        self.store.decided(ctx, slot, value);
        self.execute(ctx);
    }

    /// Piggybacked decisions: every slot up to `decided_upto` is chosen, and in a slot this
    /// replica accepted at the leader's `ballot`, the chosen value is the one it accepted (a
    /// leader proposes one value per slot in its ballot).
    pub(crate) fn learn_piggybacked(
        &mut self,
        ballot: Ballot,
        decided_upto: u64,
        ctx: &mut Cx<'_>,
    ) {
        if self.settings.decisions != Decisions::Piggybacked {
            return;
        }
        let mut slot = self.executed + 1;
        while slot <= decided_upto {
            if !self.decided.contains_key(&slot)
                && let Some((b, v)) = self.store.accepted.get(&slot)
                && *b == ballot
            {
                let v = v.clone();
                self.learn(slot, v, ctx);
            }
            slot += 1;
        }
    }

    /// Executes every decided slot after the executed prefix, in slot order (PMMC's perform).
    pub(crate) fn execute(&mut self, ctx: &mut Cx<'_>) {
        while let Some(value) = self.decided.get(&(self.executed + 1)).cloned() {
            let slot = self.executed + 1;
            self.executed = slot;
            if let Value::Command(c) = value {
                let txn = Txn {
                    zxid: Zxid(slot),
                    session: c.session,
                    xid: c.xid,
                    write: c.write,
                    timeout_ms: c.timeout_ms,
                };
                if let Err(e) = server::commit(self, &txn, ctx) {
                    self.violation(ctx, format!("executing slot {slot}: {e}"));
                }
                let chain = self.zk.db.chain;
                ctx.report(PaxosEvent::Applied {
                    zxid: txn.zxid,
                    chain,
                });
                if let Role::Leader(l) = &mut self.role
                    && l.chosen.remove(&slot)
                {
                    ctx.report(PaxosEvent::Committed {
                        term: l.ballot.term(),
                        zxid: txn.zxid,
                        chain,
                    });
                }
            } else if let Role::Leader(l) = &mut self.role
                && l.chosen.remove(&slot)
            {
                // A no-op its own quorum chose (a sync's barrier, a gap filled): it cost a slot's
                // phase 2 like a command, and the message figures count it so.
                ctx.report(PaxosEvent::NoopChosen {
                    term: l.ballot.term(),
                    slot,
                });
            }
            self.executed_at_leader(slot, ctx);
            self.pass_follower_syncs(ctx);
        }
    }

    /// Syncs whose barrier this replica has now executed pass.
    fn pass_follower_syncs(&mut self, ctx: &mut Cx<'_>) {
        let executed = self.executed;
        let (passed, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.follower_syncs)
            .into_iter()
            .partition(|(slot, _, _)| *slot <= executed);
        self.follower_syncs = waiting;
        for (_, session, xid) in passed {
            server::synced(self, session, xid, ctx);
        }
    }

    /// The leader executed `slot`: the syncs waiting for it pass, and the leader is established
    /// once it executed every slot phase 1 recovered.
    fn executed_at_leader(&mut self, slot: u64, ctx: &mut Cx<'_>) {
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let waiters = l.barriers.remove(&slot).unwrap_or_default();
        for w in waiters {
            match w.origin {
                SyncOrigin::Local => server::synced(self, w.session, w.xid, ctx),
                SyncOrigin::Remote(to) => ctx.send_peer(
                    to,
                    PaxosMsg::SyncDone {
                        session: w.session,
                        xid: w.xid,
                        slot,
                    },
                ),
            }
        }
        self.maybe_established(ctx);
    }

    /// A lagging follower (the leader's decided prefix is past its next slot, which it has not
    /// learned) asks the leader for the decisions from there.
    pub(crate) fn request_catch_up(&mut self, ctx: &mut Cx<'_>) {
        let Some((leader, _)) = self.leader else {
            return;
        };
        let next = self.executed + 1;
        if self.leader_decided >= next && !self.decided.contains_key(&next) {
            ctx.send_peer(leader, PaxosMsg::CatchUp { from_slot: next });
        }
    }

    /// Answers a catch-up with the decisions this replica holds from `from_slot` on, up to the
    /// batch size.
    pub(crate) fn on_catch_up(&mut self, from: NodeId, from_slot: u64, ctx: &mut Cx<'_>) {
        let entries: Vec<(u64, Value)> = self
            .decided
            .range(from_slot..)
            .take(self.settings.catch_up_batch as usize)
            .map(|(s, v)| (*s, v.clone()))
            .collect();
        if !entries.is_empty() {
            ctx.send_peer(from, PaxosMsg::Decisions { entries });
        }
    }
}
