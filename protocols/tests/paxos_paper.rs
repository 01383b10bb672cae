//! Multi-Paxos's rules, one test per claim of the papers, each on one replica driven alone
//! (`sim::Alone`): the test hands it one input at a time and reads back every effect it asked
//! for; nothing is delivered and no fsync completes unless the test says so.
//!
//! - PMS §2.5: a promise (P1b) and an accept (P2b) are answered only once durable;
//! - PMS §2.2 P1a: an acceptor refuses a ballot below its promise;
//! - PMS §2.2 P2c and §3: a new leader proposes, per slot, the value of the highest ballot its
//!   promise quorum reported, fills a gap with a no-op, and remembers its ballot durably before
//!   any PREPARE leaves;
//! - a value is chosen on accepts from a quorum of *distinct* acceptors;
//! - PMMC's replica: decisions are executed strictly in slot order, each command at the zxid of
//!   its slot.

use protocols::cluster::{ClusterConfig, Node, NodeTimer, Obs, Replica};
use protocols::paxos::messages::{AcceptedEntry, Command, PaxosMsg, Value};
use protocols::paxos::storage::{ACCEPTED, PROMISE, Stored};
use protocols::paxos::{Ballot, Paxos, PaxosEvent, PaxosSettings, PaxosTimer, Variant};
use protocols::wire::Wire;
use protocols::workload::WorkloadConfig;
use protocols::znode::{SessionId, Write, Zxid};
use sim::{Alone, Effect, EffectOf, Input, IoId, NodeId, SimDuration, TimerId};

type In = Input<Wire<PaxosMsg>, NodeTimer<PaxosTimer>>;
type Fx = EffectOf<Node<Paxos>>;

/// Replica `me` of `n`, started fresh.
fn replica(me: u32, n: usize) -> Alone<Node<Paxos>> {
    replica_with(me, n, PaxosSettings::default())
}

/// The same with `settings`.
fn replica_with(me: u32, n: usize, settings: PaxosSettings) -> Alone<Node<Paxos>> {
    let workload: WorkloadConfig =
        serde_json::from_str(r#"{"clients": 0, "duration_ms": 1000}"#).unwrap();
    let cluster = ClusterConfig::new(1, n, workload);
    let paxos = Paxos::new(NodeId(me), n, settings, Variant::Correct);
    let mut alone = Alone::new(
        cluster.world_config::<Paxos>(),
        NodeId(me),
        Node::Replica(paxos),
    );
    alone.input(Input::Start { restarted: false });
    alone
}

fn from(n: u32, msg: PaxosMsg) -> In {
    Input::Message {
        from: NodeId(n),
        msg: Wire::Peer(msg),
    }
}

fn b(round: u64, proposer: u32) -> Ballot {
    Ballot::new(round, NodeId(proposer))
}

/// The peer messages sent, with their destination.
fn sent(effects: &[Fx]) -> Vec<(NodeId, PaxosMsg)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                to,
                msg: Wire::Peer(m),
            } => Some((*to, m.clone())),
            _ => None,
        })
        .collect()
}

fn fsync(effects: &[Fx]) -> IoId {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Fsync { io } => Some(*io),
            _ => None,
        })
        .unwrap_or_else(|| panic!("an fsync was asked for: {effects:#?}"))
}

fn command(session: u64) -> Value {
    Value::Command(Command {
        session: SessionId(session),
        xid: 0,
        write: Write::OpenSession,
        timeout_ms: 4000,
    })
}

/// PMS §2.5: "an acceptor must remember ... the highest-numbered prepare request to which it has
/// responded", so the promise is written and fsynced, and the PROMISE leaves only after the fsync
/// completed.
#[test]
fn a_promise_leaves_only_after_the_promised_ballot_is_durable() {
    let mut alone = replica(1, 3);
    let effects = alone.input(from(
        0,
        PaxosMsg::Prepare {
            ballot: b(1, 0),
            from_slot: 1,
        },
    ));
    assert!(
        effects.iter().any(|e| matches!(e,
            Effect::Replace { file, records } if *file == PROMISE
                && records == &vec![Stored::Promise(b(1, 0))])),
        "the promise is written: {effects:#?}"
    );
    assert!(sent(&effects).is_empty(), "nothing sent before the fsync");
    let io = fsync(&effects);
    let effects = alone.input(Input::Synced { io });
    assert_eq!(
        sent(&effects),
        vec![(
            NodeId(0),
            PaxosMsg::Promise {
                ballot: b(1, 0),
                accepted: vec![]
            }
        )]
    );
    assert_eq!(alone.disk().durable_records(PROMISE).len(), 1);
}

/// PMS §2.2 P1a: "an acceptor can accept a proposal numbered n iff it has not responded to a
/// prepare request having a number greater than n". A lower ballot is refused with the promise,
/// and nothing is written.
#[test]
fn an_acceptor_refuses_an_accept_below_its_promise() {
    let mut alone = replica(1, 3);
    let effects = alone.input(from(
        2,
        PaxosMsg::Prepare {
            ballot: b(2, 2),
            from_slot: 1,
        },
    ));
    alone.input(Input::Synced {
        io: fsync(&effects),
    });
    let effects = alone.input(from(
        0,
        PaxosMsg::Accept {
            ballot: b(1, 0),
            slot: 1,
            value: command(7),
            decided_upto: 0,
        },
    ));
    assert_eq!(
        sent(&effects),
        vec![(NodeId(0), PaxosMsg::Nack { promised: b(2, 2) })]
    );
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Append { .. })),
        "nothing accepted: {effects:#?}"
    );
    // The same ballot as the promise is accepted (b ≥ promise), durably first.
    let effects = alone.input(from(
        2,
        PaxosMsg::Accept {
            ballot: b(2, 2),
            slot: 1,
            value: command(7),
            decided_upto: 0,
        },
    ));
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Append { file, record: Stored::Accepted(AcceptedEntry { slot: 1, .. }) }
            if *file == ACCEPTED)));
    assert!(sent(&effects).is_empty(), "ACCEPTED waits for the fsync");
    let effects = alone.input(Input::Synced {
        io: fsync(&effects),
    });
    assert_eq!(
        sent(&effects),
        vec![(
            NodeId(2),
            PaxosMsg::Accepted {
                ballot: b(2, 2),
                slot: 1
            }
        )]
    );
}

/// Replica 1 of 5 suspects the silent leader and starts phase 1; returns it with its ballot once
/// its PREPAREs left.
fn candidate() -> (Alone<Node<Paxos>>, Ballot) {
    candidate_with(PaxosSettings::default())
}

/// The same with `settings`.
fn candidate_with(settings: PaxosSettings) -> (Alone<Node<Paxos>>, Ballot) {
    let mut alone = replica_with(1, 5, settings);
    alone.advance(SimDuration::from_ms(700));
    let effects = alone.input(Input::Timer {
        id: TimerId(0),
        timer: NodeTimer::Replica(PaxosTimer::Heartbeat),
    });
    let ballot = b(1, 1);
    assert!(
        effects.iter().any(|e| matches!(e,
            Effect::Replace { file, records } if *file == PROMISE
                && records == &vec![Stored::Promise(ballot)])),
        "the candidate remembers its ballot: {effects:#?}"
    );
    assert!(
        sent(&effects).is_empty(),
        "PMS §2.5: no PREPARE before the ballot is durable"
    );
    let effects = alone.input(Input::Synced {
        io: fsync(&effects),
    });
    let prepares: Vec<NodeId> = sent(&effects)
        .into_iter()
        .filter(|(_, m)| matches!(m, PaxosMsg::Prepare { ballot: x, from_slot: 1 } if *x == ballot))
        .map(|(to, _)| to)
        .collect();
    assert_eq!(prepares, vec![NodeId(0), NodeId(2), NodeId(3), NodeId(4)]);
    (alone, ballot)
}

/// A follower forwards a client's createSession to the leader.
fn open_session_forwarded() -> PaxosMsg {
    PaxosMsg::Forward(Command {
        session: SessionId(7),
        xid: 0,
        write: Write::OpenSession,
        timeout_ms: 4000,
    })
}

fn entry(slot: u64, ballot: Ballot, value: Value) -> AcceptedEntry {
    AcceptedEntry {
        slot,
        ballot,
        value,
    }
}

/// PMS §2.2 P2c (PMMC's pmax) and §3: with promises from itself, n0 and n2 (a quorum of five),
/// the new leader proposes in slot 1 the value reported, in slot 3 the value of the *higher*
/// of the two ballots reported (b1.0 over b0.2), and in slot 2, which nobody reported, a no-op.
#[test]
fn a_new_leader_adopts_the_highest_ballot_value_per_slot_and_fills_gaps_with_noops() {
    let (mut alone, ballot) = candidate();
    let (v, w, x) = (command(7), command(8), command(9));
    let effects = alone.input(from(
        0,
        PaxosMsg::Promise {
            ballot,
            accepted: vec![entry(1, b(1, 0), v.clone()), entry(3, b(0, 2), w)],
        },
    ));
    assert!(sent(&effects).is_empty(), "two promises of five: no quorum");
    let effects = alone.input(from(
        2,
        PaxosMsg::Promise {
            ballot,
            accepted: vec![entry(3, b(1, 0), x.clone())],
        },
    ));
    let accepts: Vec<(u64, Value)> = sent(&effects)
        .into_iter()
        .filter(|(to, _)| *to == NodeId(0))
        .filter_map(|(_, m)| match m {
            PaxosMsg::Accept {
                ballot: at,
                slot,
                value,
                ..
            } if at == ballot => Some((slot, value)),
            _ => None,
        })
        .collect();
    assert_eq!(accepts, vec![(1, v), (2, Value::Noop), (3, x)]);
}

/// A value is chosen when a quorum of distinct acceptors accepted it: the same acceptor's
/// ACCEPTED twice (a duplicated message) does not count twice.
#[test]
fn a_value_is_chosen_only_by_a_quorum_of_distinct_acceptors() {
    let (mut alone, ballot) = candidate();
    alone.input(from(
        0,
        PaxosMsg::Promise {
            ballot,
            accepted: vec![],
        },
    ));
    let effects = alone.input(from(
        2,
        PaxosMsg::Promise {
            ballot,
            accepted: vec![],
        },
    ));
    assert!(
        !sent(&effects)
            .iter()
            .any(|(_, m)| matches!(m, PaxosMsg::Accept { .. })),
        "nothing to recover"
    );
    // A forwarded command: proposed in slot 1, accepted by the leader itself once durable.
    let effects = alone.input(from(3, open_session_forwarded()));
    assert_eq!(
        sent(&effects)
            .iter()
            .filter(|(_, m)| matches!(m, PaxosMsg::Accept { slot: 1, .. }))
            .count(),
        4
    );
    alone.input(Input::Synced {
        io: fsync(&effects),
    });
    let accepted = PaxosMsg::Accepted { ballot, slot: 1 };
    let decided = |effects: &[Fx]| {
        sent(effects)
            .iter()
            .any(|(_, m)| matches!(m, PaxosMsg::Decide { slot: 1, .. }))
    };
    let first = alone.input(from(0, accepted.clone()));
    let again = alone.input(from(0, accepted.clone()));
    assert!(
        !decided(&first) && !decided(&again),
        "itself and n0 (twice) are two acceptors of five"
    );
    let third = alone.input(from(2, accepted));
    assert!(decided(&third), "itself, n0 and n2 are a quorum");
}

/// The zxids of the commands this replica executed, in order.
fn applied(effects: &[Fx]) -> Vec<Zxid> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Record(Obs::Replica(PaxosEvent::Applied { zxid, .. })) => Some(*zxid),
            _ => None,
        })
        .collect()
}

/// PMMC's replica: decisions are executed strictly in slot order (`slot_out`), whatever order
/// they arrive in, each command at the zxid of its slot; a no-op moves the slot on and leaves a
/// gap in the zxids.
#[test]
fn decisions_are_executed_strictly_in_slot_order() {
    let mut alone = replica(1, 3);
    let decide = |slot, value| from(0, PaxosMsg::Decide { slot, value });
    assert!(applied(&alone.input(decide(3, command(8)))).is_empty());
    assert_eq!(applied(&alone.input(decide(1, command(7)))), vec![Zxid(1)]);
    let effects = alone.input(decide(2, Value::Noop));
    assert_eq!(
        applied(&effects),
        vec![Zxid(3)],
        "slot 2 is a no-op, then 3"
    );
    let Node::Replica(r) = alone.process() else {
        unreachable!()
    };
    assert_eq!(r.executed(), 3);
    assert_eq!(r.database().last_processed, Zxid(3));
}

/// Flexible Paxos (Howard, Malkhi and Spiegelman, 2016): with |Q1| = 4 and |Q2| = 2 of five,
/// phase 1 needs four promises (three, a majority, are not enough), and a value is chosen by two
/// acceptors, the leader and one other.
#[test]
fn flexible_quorums_phase_one_needs_q1_promises_and_a_value_is_chosen_by_q2_acceptors() {
    let settings = PaxosSettings {
        phase1_quorum: Some(4),
        phase2_quorum: Some(2),
        ..PaxosSettings::default()
    };
    let (mut alone, ballot) = candidate_with(settings);
    let leads = |alone: &Alone<Node<Paxos>>| match alone.process() {
        Node::Replica(p) => p.leadership().is_some(),
        Node::Client(_) => unreachable!(),
    };
    let promise = PaxosMsg::Promise {
        ballot,
        accepted: vec![],
    };
    alone.input(from(0, promise.clone()));
    alone.input(from(2, promise.clone()));
    assert!(
        !leads(&alone),
        "itself, n0 and n2: a majority, not |Q1| = 4"
    );
    alone.input(from(3, promise));
    assert!(leads(&alone), "four promises");
    let effects = alone.input(from(4, open_session_forwarded()));
    alone.input(Input::Synced {
        io: fsync(&effects),
    });
    let chosen = alone.input(from(0, PaxosMsg::Accepted { ballot, slot: 1 }));
    assert!(
        sent(&chosen)
            .iter()
            .any(|(_, m)| matches!(m, PaxosMsg::Decide { slot: 1, .. })),
        "the leader and n0 are |Q2| = 2"
    );
}
