//! Raft's rules, one test per claim of the paper (Ongaro and Ousterhout, USENIX ATC 2014; "§n",
//! "Fig. n"), each on one replica driven alone (`sim::Alone`): the test hands it inputs one at a
//! time and reads back every effect it asked for — sends, disk writes, fsyncs — in order, so a
//! message that leaves before the fsync it depends on is visible as such. Variants that break a
//! rule are driven through the same steps to show the rule is the one the test pins.

use protocols::cluster::{ClusterConfig, Node, NodeTimer};
use protocols::raft::storage::{LOG, STATE, Stored};
use protocols::raft::{Command, Entry, Raft, RaftMsg, RaftSettings, RaftTimer, Variant};
use protocols::wire::Wire;
use sim::{Alone, Effect, EffectOf, Input, IoId, NodeId, SimDuration, TimerId};

type N = Node<Raft>;
type Effects = Vec<EffectOf<N>>;

/// Replica `me` of three, started on an empty disk, as a follower in term 0.
fn replica(me: u32, variant: Variant) -> (Alone<N>, TimerId) {
    replica_with(me, variant, RaftSettings::default())
}

/// The same with `settings`.
fn replica_with(me: u32, variant: Variant, settings: RaftSettings) -> (Alone<N>, TimerId) {
    let workload = serde_json::from_str(r#"{"clients": 0, "duration_ms": 1000}"#).unwrap();
    let cluster = ClusterConfig::new(1, 3, workload);
    let raft = Raft::new(NodeId(me), 3, settings, variant);
    let mut alone = Alone::new(
        cluster.world_config::<Raft>(),
        NodeId(me),
        Node::Replica(raft),
    );
    let effects = alone.input(Input::Start { restarted: false });
    let election = effects
        .iter()
        .find_map(|e| match e {
            Effect::SetTimer {
                id,
                timer: NodeTimer::Replica(RaftTimer::Election),
                ..
            } => Some(*id),
            _ => None,
        })
        .expect("a follower arms its election timer at start (§5.2)");
    (alone, election)
}

fn raft(alone: &Alone<N>) -> &Raft {
    match alone.process() {
        Node::Replica(r) => r,
        Node::Client(_) => unreachable!(),
    }
}

fn from(peer: u32, msg: RaftMsg) -> Input<Wire<RaftMsg>, NodeTimer<RaftTimer>> {
    Input::Message {
        from: NodeId(peer),
        msg: Wire::Peer(msg),
    }
}

fn sent(effects: &Effects) -> Vec<(NodeId, RaftMsg)> {
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

fn fsync(effects: &Effects) -> Option<IoId> {
    effects.iter().find_map(|e| match e {
        Effect::Fsync { io } => Some(*io),
        _ => None,
    })
}

/// Completes the fsync the effects asked for, returning what followed.
fn sync(alone: &mut Alone<N>, effects: &Effects) -> Effects {
    let io = fsync(effects).expect("an fsync was asked for");
    alone.input(Input::Synced { io })
}

fn request_vote(term: u64, last_log_index: u64, last_log_term: u64) -> RaftMsg {
    RaftMsg::RequestVote {
        term,
        last_log_index,
        last_log_term,
        pre_vote: false,
    }
}

fn vote_of(effects: &Effects) -> Option<(u64, bool)> {
    sent(effects).into_iter().find_map(|(_, m)| match m {
        RaftMsg::Vote { term, granted, .. } => Some((term, granted)),
        _ => None,
    })
}

/// Entries of the given (term, index), no-ops: what a log test needs.
fn entries(of: &[(u64, u64)]) -> Vec<Entry> {
    of.iter()
        .map(|&(term, index)| Entry {
            term,
            index,
            command: Command::Noop,
        })
        .collect()
}

fn append(term: u64, prev: (u64, u64), new: &[(u64, u64)], leader_commit: u64) -> RaftMsg {
    RaftMsg::AppendEntries {
        term,
        prev_log_index: prev.1,
        prev_log_term: prev.0,
        entries: entries(new),
        leader_commit,
        round: 0,
        ack: true,
    }
}

/// (success, match_index, rejected, last_index) of the reply among the effects.
fn reply_of(effects: &Effects) -> Option<(bool, u64, u64, u64)> {
    sent(effects).into_iter().find_map(|(_, m)| match m {
        RaftMsg::AppendReply {
            success,
            match_index,
            rejected,
            last_index,
            ..
        } => Some((success, match_index, rejected, last_index)),
        _ => None,
    })
}

/// Delivers an AppendEntries from replica 1 and completes its fsync if it asked for one;
/// returns every effect.
fn deliver(alone: &mut Alone<N>, msg: RaftMsg) -> Effects {
    let mut effects = alone.input(from(1, msg));
    if fsync(&effects).is_some() {
        let more = sync(alone, &effects);
        effects.extend(more);
    }
    effects
}

fn log_terms(alone: &Alone<N>) -> Vec<u64> {
    alone
        .disk()
        .records(LOG)
        .iter()
        .map(|r| match r {
            Stored::Entry(e) => e.term,
            other => panic!("not an entry: {other:?}"),
        })
        .collect()
}

/// Fig. 2, "persistent state on all servers (updated on stable storage before responding to
/// RPCs)", §5.2: a vote leaves only once the vote and its term are durable.
#[test]
fn fig2_a_vote_leaves_only_after_the_vote_is_durable() {
    let (mut alone, _) = replica(0, Variant::Correct);
    let effects = alone.input(from(1, request_vote(1, 0, 0)));
    assert_eq!(vote_of(&effects), None, "nothing sent before the fsync");
    assert!(matches!(
        alone.disk().records(STATE),
        [Stored::State {
            term: 1,
            voted_for: Some(NodeId(1))
        }]
    ));
    assert!(alone.disk().durable_records(STATE).is_empty());
    let after = sync(&mut alone, &effects);
    assert_eq!(vote_of(&after), Some((1, true)));
    assert_eq!(alone.disk().durable_records(STATE).len(), 1);

    // `vote-not-durable` breaks exactly this rule.
    let (mut buggy, _) = replica(0, Variant::VoteNotDurable);
    let effects = buggy.input(from(1, request_vote(1, 0, 0)));
    assert_eq!(vote_of(&effects), Some((1, true)));
    assert!(buggy.disk().durable_records(STATE).is_empty());
}

/// §5.2: "each server will vote for at most one candidate in a given term, on a first-come-
/// first-served basis"; it may repeat its vote to the same candidate.
#[test]
fn s5_2_one_vote_per_term() {
    let (mut alone, _) = replica(0, Variant::Correct);
    let first = alone.input(from(1, request_vote(1, 0, 0)));
    assert_eq!(vote_of(&sync(&mut alone, &first)), Some((1, true)));
    let second = alone.input(from(2, request_vote(1, 0, 0)));
    assert_eq!(
        vote_of(&second),
        Some((1, false)),
        "n2 asked second in term 1"
    );
    let again = alone.input(from(1, request_vote(1, 0, 0)));
    assert_eq!(vote_of(&again), Some((1, true)), "the same candidate again");
    let next = alone.input(from(2, request_vote(2, 0, 0)));
    assert_eq!(
        vote_of(&sync(&mut alone, &next)),
        Some((2, true)),
        "a new term"
    );
}

/// §5.4.1: a vote goes only to a candidate whose log is at least as up to date: a later last
/// term wins, then, with equal last terms, the longer log.
#[test]
fn s5_4_1_votes_only_for_an_up_to_date_log() {
    let (mut alone, _) = replica(0, Variant::Correct);
    deliver(&mut alone, append(2, (0, 0), &[(1, 1), (2, 2)], 0));
    assert_eq!(raft(&alone).state().2, 2);
    let shorter = alone.input(from(2, request_vote(3, 1, 2)));
    let shorter = [shorter.clone(), sync(&mut alone, &shorter)].concat();
    assert_eq!(
        vote_of(&shorter),
        Some((3, false)),
        "same last term, shorter"
    );
    let older = alone.input(from(2, request_vote(4, 9, 1)));
    let older = [older.clone(), sync(&mut alone, &older)].concat();
    assert_eq!(
        vote_of(&older),
        Some((4, false)),
        "longer but an older last term"
    );
    let newer = alone.input(from(2, request_vote(5, 1, 3)));
    let newer = [newer.clone(), sync(&mut alone, &newer)].concat();
    assert_eq!(vote_of(&newer), Some((5, true)), "a later last term");
}

/// Fig. 2 AppendEntries receiver, rule 1: "reply false if term < currentTerm".
#[test]
fn fig2_rule1_a_stale_leader_is_refused() {
    let (mut alone, _) = replica(0, Variant::Correct);
    deliver(&mut alone, append(3, (0, 0), &[], 0));
    let effects = deliver(&mut alone, append(2, (0, 0), &[(2, 1)], 0));
    assert_eq!(reply_of(&effects).map(|r| r.0), Some(false));
    assert!(log_terms(&alone).is_empty());
}

/// Fig. 2 rule 2: "reply false if log doesn't contain an entry at prevLogIndex whose term matches
/// prevLogTerm"; the rejection names the follower's last index so the leader can back off.
#[test]
fn fig2_rule2_the_consistency_check_refuses_a_gap_and_a_mismatch() {
    let (mut alone, _) = replica(0, Variant::Correct);
    deliver(&mut alone, append(1, (0, 0), &[(1, 1)], 0));
    let gap = deliver(&mut alone, append(1, (1, 3), &[(1, 4)], 0));
    assert_eq!(reply_of(&gap), Some((false, 0, 3, 1)));
    let mismatch = deliver(&mut alone, append(2, (2, 1), &[(2, 2)], 0));
    assert_eq!(reply_of(&mismatch), Some((false, 0, 1, 1)));
    assert_eq!(log_terms(&alone), vec![1]);
}

/// Fig. 2 rule 3: "if an existing entry conflicts with a new one (same index but different
/// terms), delete the existing entry and all that follow it" — and only then: an old or repeated
/// AppendEntries must not erase entries after the ones it carries. `truncate-on-any-append`
/// breaks the "only then".
#[test]
fn fig2_rule3_entries_are_deleted_only_on_a_conflict() {
    for (variant, kept) in [
        (Variant::Correct, vec![1, 1, 1]),
        (Variant::TruncateOnAnyAppend, vec![1]),
    ] {
        let (mut alone, _) = replica(0, variant);
        deliver(&mut alone, append(1, (0, 0), &[(1, 1), (1, 2), (1, 3)], 0));
        let old = deliver(&mut alone, append(1, (0, 0), &[(1, 1)], 0));
        assert_eq!(reply_of(&old).map(|r| (r.0, r.1)), Some((true, 1)));
        assert_eq!(log_terms(&alone), kept, "{variant:?}");
    }
    // A real conflict at index 2 deletes 2 and 3.
    let (mut alone, _) = replica(0, Variant::Correct);
    deliver(&mut alone, append(1, (0, 0), &[(1, 1), (1, 2), (1, 3)], 0));
    let conflict = deliver(&mut alone, append(2, (1, 1), &[(2, 2)], 0));
    assert_eq!(reply_of(&conflict).map(|r| (r.0, r.1)), Some((true, 2)));
    assert_eq!(log_terms(&alone), vec![1, 2]);
    assert_eq!(alone.disk().durable_records(LOG).len(), 2);
}

/// Fig. 2 rule 5: "if leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of
/// last new entry)": entries of the follower's log past what this AppendEntries vouched for are
/// not committed by it. `commitindex-unbounded` breaks the min.
#[test]
fn fig2_rule5_commit_index_is_bounded_by_the_last_new_entry() {
    for (variant, commit) in [(Variant::Correct, 1), (Variant::CommitindexUnbounded, 3)] {
        let (mut alone, _) = replica(0, variant);
        // Three entries of term 1 from a leader that never committed them...
        deliver(&mut alone, append(1, (0, 0), &[(1, 1), (1, 2), (1, 3)], 0));
        // ...then the leader of term 2 (which holds only index 1) commits up to 5.
        deliver(&mut alone, append(2, (1, 1), &[], 5));
        assert_eq!(raft(&alone).state().3, commit, "{variant:?}");
    }
}

/// Fig. 2: a follower acknowledges entries only once they are durable in its log.
#[test]
fn fig2_entries_are_acknowledged_only_once_durable() {
    let (mut alone, _) = replica(0, Variant::Correct);
    let effects = alone.input(from(1, append(1, (0, 0), &[(1, 1), (1, 2)], 0)));
    assert_eq!(reply_of(&effects), None, "no reply before the fsync");
    assert_eq!(alone.disk().records(LOG).len(), 2);
    assert!(alone.disk().durable_records(LOG).is_empty());
    let after = sync(&mut alone, &effects);
    assert_eq!(reply_of(&after).map(|r| (r.0, r.1)), Some((true, 2)));
}

/// Makes replica 0 (holding one entry of term 1 from leader 1) the leader of term 2 with n2's
/// vote; its no-op (index 2) is durable on its own disk. Returns it.
fn leader_of_term_2(variant: Variant) -> Alone<N> {
    let (mut alone, election) = replica(0, variant);
    deliver(&mut alone, append(1, (0, 0), &[(1, 1)], 0));
    alone.advance(SimDuration::from_ms(400));
    let effects = alone.input(Input::Timer {
        id: election,
        timer: NodeTimer::Replica(RaftTimer::Election),
    });
    // §5.2: the candidate's term and vote for itself are durable before it asks for votes.
    assert!(sent(&effects).is_empty(), "{effects:#?}");
    let after = sync(&mut alone, &effects);
    let asked = sent(&after);
    assert_eq!(asked.len(), 2);
    assert!(
        asked.iter().all(|(_, m)| *m == request_vote(2, 1, 1)),
        "{asked:?}"
    );
    let won = alone.input(from(
        2,
        RaftMsg::Vote {
            term: 2,
            granted: true,
            pre_vote: false,
        },
    ));
    assert!(raft(&alone).is_leader_role());
    assert_eq!(raft(&alone).state().2, 2, "§8: the no-op of its term");
    sync(&mut alone, &won);
    alone
}

fn ack(term: u64, match_index: u64) -> RaftMsg {
    RaftMsg::AppendReply {
        term,
        success: true,
        match_index,
        rejected: 0,
        last_index: match_index,
        conflict_term: 0,
        conflict_first: 0,
        round: 0,
        heartbeat: false,
        touches: Vec::new(),
    }
}

/// §5.4.2, Fig. 8: "Raft never commits log entries from previous terms by counting replicas";
/// the entry of term 1 commits only with the leader's no-op of term 2. A majority holding index
/// 1 (the leader and n2) is not enough. `commit-prev-term-by-count` commits it.
#[test]
fn s5_4_2_entries_of_earlier_terms_do_not_commit_by_counting() {
    let mut alone = leader_of_term_2(Variant::Correct);
    alone.input(from(2, ack(2, 1)));
    assert_eq!(raft(&alone).state().3, 0, "index 1 is of term 1");
    alone.input(from(2, ack(2, 2)));
    assert_eq!(
        raft(&alone).state().3,
        2,
        "the no-op commits, and index 1 with it"
    );

    let mut buggy = leader_of_term_2(Variant::CommitPrevTermByCount);
    buggy.input(from(2, ack(2, 1)));
    assert_eq!(raft(&buggy).state().3, 1);
}

/// §5.3: "after a rejection, the leader decrements nextIndex and retries the AppendEntries RPC";
/// with the follower's last index in the rejection, it goes straight to what the follower lacks.
#[test]
fn s5_3_a_rejection_backs_next_index_off_to_what_the_follower_holds() {
    let mut alone = leader_of_term_2(Variant::Correct);
    let rejection = RaftMsg::AppendReply {
        term: 2,
        success: false,
        match_index: 0,
        rejected: 1,
        last_index: 0,
        conflict_term: 0,
        conflict_first: 0,
        round: 0,
        heartbeat: false,
        touches: Vec::new(),
    };
    let effects = alone.input(from(2, rejection));
    let retried: Vec<(u64, Vec<u64>)> = sent(&effects)
        .into_iter()
        .filter(|(to, _)| *to == NodeId(2))
        .filter_map(|(_, m)| match m {
            RaftMsg::AppendEntries {
                prev_log_index,
                entries,
                ..
            } => Some((prev_log_index, entries.iter().map(|e| e.term).collect())),
            _ => None,
        })
        .collect();
    assert_eq!(retried, vec![(0, vec![1, 2])], "the whole log from index 1");
}

/// §5.3 with `replication::quorum`: a majority is of distinct replicas; the same follower
/// acknowledging twice is one copy. `count-duplicate-acks` counts it twice.
#[test]
fn s5_3_a_repeated_acknowledgement_counts_once() {
    for (variant, commit) in [(Variant::Correct, 0), (Variant::CountDuplicateAcks, 1)] {
        // Five replicas: the leader and n2 are not a majority, however often n2 answers.
        let workload = serde_json::from_str(r#"{"clients": 0, "duration_ms": 1000}"#).unwrap();
        let cluster = ClusterConfig::new(1, 5, workload);
        let raft5 = Raft::new(NodeId(0), 5, RaftSettings::default(), variant);
        let mut alone = Alone::new(
            cluster.world_config::<Raft>(),
            NodeId(0),
            Node::Replica(raft5),
        );
        let start = alone.input(Input::Start { restarted: false });
        let election = start
            .iter()
            .find_map(|e| match e {
                Effect::SetTimer { id, .. } => Some(*id),
                _ => None,
            })
            .unwrap();
        alone.advance(SimDuration::from_ms(400));
        let effects = alone.input(Input::Timer {
            id: election,
            timer: NodeTimer::Replica(RaftTimer::Election),
        });
        sync(&mut alone, &effects);
        let vote = |from_peer| {
            from(
                from_peer,
                RaftMsg::Vote {
                    term: 1,
                    granted: true,
                    pre_vote: false,
                },
            )
        };
        alone.input(vote(1));
        let won = alone.input(vote(2));
        assert!(raft(&alone).is_leader_role());
        sync(&mut alone, &won);
        alone.input(from(2, ack(1, 1)));
        alone.input(from(2, ack(1, 1)));
        assert_eq!(raft(&alone).state().3, commit, "{variant:?}");
    }
}

/// §5.2: a follower that hears from no leader within its election timeout becomes a candidate of
/// the next term, and its timeout is drawn anew each time (randomised, from its own stream).
#[test]
fn s5_2_a_silent_leader_starts_an_election_with_a_fresh_timeout() {
    let (mut alone, election) = replica(1, Variant::Correct);
    alone.advance(SimDuration::from_ms(400));
    let effects = alone.input(Input::Timer {
        id: election,
        timer: NodeTimer::Replica(RaftTimer::Election),
    });
    assert_eq!(raft(&alone).state().0, 1);
    assert_eq!(
        raft(&alone).state().1,
        Some(NodeId(1)),
        "it votes for itself"
    );
    let after = effects
        .iter()
        .find_map(|e| match e {
            Effect::SetTimer {
                after,
                timer: NodeTimer::Replica(RaftTimer::Election),
                ..
            } => Some(*after),
            _ => None,
        })
        .expect("a new election timeout");
    assert!(
        (150..300).contains(&after.as_ms()),
        "drawn from [150, 300) ms: {after:?}"
    );
}

fn pre_vote(term: u64, last_log_index: u64, last_log_term: u64) -> RaftMsg {
    RaftMsg::RequestVote {
        term,
        last_log_index,
        last_log_term,
        pre_vote: true,
    }
}

/// Thesis §9.6, the voter: a pre-vote is granted only to an up-to-date log, and only while no
/// leader was heard within the minimum election timeout; answering changes neither the voter's
/// term nor its vote, and writes nothing.
#[test]
fn thesis_9_6_a_pre_vote_changes_nothing_and_is_refused_while_a_leader_is_heard() {
    let (mut alone, _) = replica(0, Variant::Correct);
    deliver(&mut alone, append(1, (0, 0), &[(1, 1)], 0));
    let writes = alone.disk().records(STATE).len();
    let refused = alone.input(from(2, pre_vote(2, 1, 1)));
    assert_eq!(
        vote_of(&refused),
        Some((1, false)),
        "leader 1 was just heard"
    );
    alone.advance(SimDuration::from_ms(200));
    let granted = alone.input(from(2, pre_vote(2, 1, 1)));
    assert_eq!(
        vote_of(&granted),
        Some((2, true)),
        "no leader heard for the minimum timeout (150 ms): granted, in the asked term"
    );
    let behind = alone.input(from(2, pre_vote(2, 0, 0)));
    assert_eq!(
        vote_of(&behind),
        Some((1, false)),
        "§5.4.1 holds for pre-votes"
    );
    assert_eq!(raft(&alone).state().0, 1, "the term did not move");
    assert_eq!(raft(&alone).state().1, None, "no vote was cast");
    assert_eq!(alone.disk().records(STATE).len(), writes, "nothing written");
    assert!(fsync(&granted).is_none() && fsync(&refused).is_none());
}

/// Thesis §9.6, the candidate: with `pre_vote`, an election timeout sends pre-votes for the next
/// term without incrementing its own; only a majority of them starts the real election, whose
/// term and self-vote are durable before it asks (§5.2).
#[test]
fn thesis_9_6_the_term_moves_only_after_a_majority_of_pre_votes() {
    let settings = RaftSettings {
        pre_vote: true,
        ..RaftSettings::default()
    };
    let (mut alone, election) = replica_with(0, Variant::Correct, settings);
    alone.advance(SimDuration::from_ms(400));
    let effects = alone.input(Input::Timer {
        id: election,
        timer: NodeTimer::Replica(RaftTimer::Election),
    });
    let asked = sent(&effects);
    assert_eq!(asked.len(), 2, "sent at once: nothing to make durable");
    assert!(
        asked.iter().all(|(_, m)| *m == pre_vote(1, 0, 0)),
        "{asked:?}"
    );
    assert_eq!(
        raft(&alone).state().0,
        0,
        "the term stays until a majority agrees"
    );
    assert!(alone.disk().records(STATE).is_empty());
    let won = alone.input(from(
        1,
        RaftMsg::Vote {
            term: 1,
            granted: true,
            pre_vote: true,
        },
    ));
    assert_eq!(raft(&alone).state().0, 1, "the real election of term 1");
    assert_eq!(raft(&alone).state().1, Some(NodeId(0)));
    assert!(sent(&won).is_empty(), "the self-vote is durable first");
    let after = sync(&mut alone, &won);
    assert_eq!(sent(&after).len(), 2);
    assert!(
        sent(&after)
            .iter()
            .all(|(_, m)| *m == request_vote(1, 0, 0))
    );
}
