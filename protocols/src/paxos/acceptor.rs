//! The acceptor (PMS §2.2; PMMC's acceptor): it promises not to accept ballots below one it was
//! prepared with (P1b), accepts a value at a ballot at or above its promise (P2b), and answers
//! only once what it promised or accepted is durable (PMS §2.5). A ballot below the promise is
//! refused with a NACK naming the promise (PMMC's "preempted"), so that the stale proposer stops.
//!
//! It never decides a value; it only remembers and answers.

use super::ballot::Ballot;
use super::messages::{PaxosMsg, Value};
use super::{Cx, Paxos};
use sim::NodeId;

impl Paxos {
    /// P1a received → P1b: "if an acceptor receives a prepare request with number n greater than
    /// that of any prepare request to which it has already responded, then it responds with a
    /// promise not to accept any more proposals numbered less than n and with the
    /// highest-numbered proposal (if any) that it has accepted" (PMS §2.2), for every slot from
    /// `from_slot` (PMS §3). A repeated prepare of the promised ballot is answered again.
    pub(crate) fn on_prepare(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        from_slot: u64,
        ctx: &mut Cx<'_>,
    ) {
        self.saw_ballot(ballot, ctx);
        if ballot < self.store.promised {
            let promised = self.store.promised;
            self.send(from, PaxosMsg::Nack { promised }, ctx);
            return;
        }
        if ballot > self.store.promised {
            self.store.promise(ctx, ballot);
        }
        let accepted = self.store.accepted_from(from_slot);
        // PMS §2.5: the promise is on disk before the proposer hears of it.
        self.send_durable(from, PaxosMsg::Promise { ballot, accepted }, ctx);
    }

    /// P2a received → P2b: "an acceptor can accept a proposal numbered n iff it has not responded
    /// to a prepare request having a number greater than n" (PMS §2.2, P1a). The accepted
    /// (slot, ballot, value) is on disk before the ACCEPTED leaves (PMS §2.5).
    pub(crate) fn on_accept(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
        value: Value,
        decided_upto: u64,
        ctx: &mut Cx<'_>,
    ) {
        self.saw_ballot(ballot, ctx);
        if ballot < self.store.promised {
            let promised = self.store.promised;
            self.send(from, PaxosMsg::Nack { promised }, ctx);
            return;
        }
        self.heard_leader(from, ballot, decided_upto, ctx);
        let already = self.store.accepted.get(&slot) == Some(&(ballot, value.clone()));
        if !already {
            if let Some((b, v)) = self.store.accepted.get(&slot)
                && *b == ballot
                && *v != value
            {
                self.violation(
                    ctx,
                    format!("two values proposed in slot {slot} at ballot {ballot:?}"),
                );
            }
            self.store.accept(ctx, slot, ballot, value);
        }
        self.send_durable(from, PaxosMsg::Accepted { ballot, slot }, ctx);
        self.learn_piggybacked(ballot, decided_upto, ctx);
    }
}
