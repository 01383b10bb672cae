//! The invariants every replication protocol must keep, judged once for all of them after a run,
//! and the recovery metrics, computed once. Each protocol maps its own events onto `Milestone`s
//! (`Milestones`): a leader established in a term with its history, a transaction committed at a
//! position, a transaction applied, leadership lost, a protocol assertion broken. The invariants
//! are those of the Zab paper and of ZooKeeper's TLA+ specifications, which Raft (§5.4, Leader
//! Completeness, State Machine Safety, Election Safety) and Multi-Paxos state alike:
//!
//! - **durability** (LeaderLogCompleteness + CommittedLogDurability): a transaction committed by a
//!   leader's quorum, and every transaction of a leader's history once it is established, is in
//!   the history of every leader established in a later term, at the same zxid, after the same
//!   transactions;
//! - **prefix agreement** (PrefixConsistency, Agreement, TotalOrder): any two replicas that
//!   applied a transaction at the same zxid applied the same history up to it (compared by the
//!   digest chain of transactions and their answers, see `zookeeper::database`);
//! - **one leader per term** (Leadership1/2, Election Safety): at most one replica is established
//!   in a term;
//! - **protocol assertions**: no replica met a state its protocol rules out; each is a finding.
//!
//! A protocol names its rounds (`epoch`, `term`, `ballot`): the findings and marks use its word.
//! This module reads finished runs and never changes them.

use crate::cluster::{Finding, LeaderLoss, Metric, Node, Obs, ProtocolReport};
use crate::znode::Zxid;
use crate::zookeeper::server::Replication;
use sim::{NodeId, SimDuration, SimTime, World};
use std::collections::BTreeMap;
use std::fmt;

/// The metric a protocol reports, beside `committed_txn_count`, for the log positions its leaders
/// committed that carry no transaction (a sync's barrier, a gap filled with a no-op): they cost
/// the write path's messages like a transaction (`Protocol::write_cost` counts per position).
pub const COMMITTED_NOOPS: &str = "committed_noop_count";

/// A protocol milestone, as the shared checks read it.
#[derive(Clone, Copy, Debug)]
pub enum Milestone<'a> {
    /// This replica is the established leader of `term`, holding `history`.
    Established { term: u64, history: &'a History },
    /// This replica won the election of `term` (a protocol whose leaders are elected before they
    /// are established reports both: Raft's Election Safety is about the election).
    Elected { term: u64 },
    /// The leader of `term` committed `zxid` with a quorum; `chain` digests the history up to it.
    Committed { term: u64, zxid: Zxid, chain: u64 },
    /// The replica applied `zxid` (or loaded a snapshot at it) after the history `chain`.
    Applied { zxid: Zxid, chain: u64 },
    /// The replica gave up the established leadership of `term`, as its leader or as a follower.
    LeadershipLost { term: u64 },
    /// A protocol assertion failed.
    Violation(&'a str),
}

/// A protocol's events as milestones: `None` for an event the shared checks do not read.
pub trait Milestones {
    fn milestone(&self) -> Option<Milestone<'_>>;
}

/// One milestone with where and when.
#[derive(Clone, Copy, Debug)]
pub struct At<'a> {
    pub time: SimTime,
    pub node: NodeId,
    pub milestone: Milestone<'a>,
}

/// The milestones the replicas of a finished world reported, in order.
pub fn milestones<R>(world: &World<Node<R>>) -> Vec<At<'_>>
where
    R: Replication,
    R::Event: Milestones,
{
    world
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Obs::Replica(event) => Some(At {
                time: o.time,
                node: o.node,
                milestone: event.milestone()?,
            }),
            Obs::History(_) | Obs::ClientAssertion(_) | Obs::Recipe(_) => None,
        })
        .collect()
}

/// The history a leader holds when it is established: (zxid, chain) of every transaction, oldest
/// first (a ghost value for the checks only).
#[derive(Clone, PartialEq, Eq)]
pub struct History(pub Vec<(Zxid, u64)>);

impl From<Vec<(Zxid, u64)>> for History {
    fn from(v: Vec<(Zxid, u64)>) -> History {
        History(v)
    }
}

impl History {
    /// The chain at `zxid`, if the history holds it.
    pub fn chain_at(&self, zxid: Zxid) -> Option<u64> {
        self.0
            .binary_search_by_key(&zxid, |e| e.0)
            .ok()
            .map(|i| self.0[i].1)
    }
}

impl fmt::Debug for History {
    /// Short, so that traces stay readable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.last() {
            Some((z, _)) => write!(f, "History({} txns up to {:#x})", self.0.len(), z.0),
            None => f.write_str("History(empty)"),
        }
    }
}

/// An invariant's finding from the problems found, each with when it happened: passed if there are
/// none, else failed at the earliest, with the first few problems in words.
fn finding(name: &str, problems: &[(SimTime, String)], ok: String) -> Finding {
    const SHOWN: usize = 5;
    if problems.is_empty() {
        return Finding {
            name: name.into(),
            passed: true,
            at: None,
            detail: ok,
        };
    }
    let mut detail = problems
        .iter()
        .take(SHOWN)
        .map(|(_, p)| p.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    if problems.len() > SHOWN {
        detail.push_str(&format!("; and {} more", problems.len() - SHOWN));
    }
    Finding {
        name: name.into(),
        passed: false,
        at: problems.iter().map(|(t, _)| *t).min(),
        detail,
    }
}

/// Durability: every transaction committed in an epoch — by that epoch's leader with a quorum of
/// acks, or as part of the history that leader was established with — is in the history of every
/// leader established in a later epoch, at its zxid, after the same history. "Later" is by epoch,
/// not by time: a deposed leader may still complete its establishment or a commit after a newer
/// leader was established (ZAB's leaders hold no lease), and the newer one must hold it all the
/// same.
pub fn durability(events: &[At<'_>], term_word: &str) -> Finding {
    /// What is known committed by the end of epoch `e`, as (zxid → chain, when, by whom).
    struct Committed {
        zxid: Zxid,
        chain: u64,
        term: u64,
        time: SimTime,
        node: NodeId,
    }
    let mut committed: Vec<Committed> = Vec::new();
    let mut leaders: Vec<(u64, SimTime, NodeId, &History)> = Vec::new();
    for e in events {
        match &e.milestone {
            Milestone::Committed { term, zxid, chain } => {
                committed.push(Committed {
                    zxid: *zxid,
                    chain: *chain,
                    term: *term,
                    time: e.time,
                    node: e.node,
                });
            }
            Milestone::Established {
                term: epoch,
                history,
            } => {
                leaders.push((*epoch, e.time, e.node, history));
                if let Some(&(zxid, chain)) = history.0.last() {
                    // The chain is cumulative: the last entry stands for the whole history.
                    committed.push(Committed {
                        zxid,
                        chain,
                        term: *epoch,
                        time: e.time,
                        node: e.node,
                    });
                }
            }
            _ => {}
        }
    }
    // For each epoch, the newest transaction committed before it: since chains are cumulative,
    // holding that one at the same chain holds every older one.
    committed.sort_by_key(|c| (c.term, c.zxid));
    let mut problems = Vec::new();
    for (epoch, time, node, history) in &leaders {
        let before = committed.partition_point(|c| c.term < *epoch);
        let holds = |c: &Committed| history.chain_at(c.zxid) == Some(c.chain);
        let Some(newest) = committed[..before].iter().max_by_key(|c| c.zxid) else {
            continue;
        };
        if !holds(newest) {
            let first = committed[..before]
                .iter()
                .filter(|c| !holds(c))
                .min_by_key(|c| c.zxid)
                .unwrap_or(newest);
            problems.push((
                *time,
                format!(
                    "{node} established {term_word} {epoch} at {time} without zxid {:#x}, committed in {term_word} {} by {} at {} (its history ends at {:#x})",
                    first.zxid.0,
                    first.term,
                    first.node,
                    first.time,
                    history.0.last().map_or(0, |h| h.0.0),
                ),
            ));
        }
    }
    finding(
        "durability",
        &problems,
        format!(
            "{} leader establishments each held every transaction committed in an earlier {term_word}",
            leaders.len()
        ),
    )
}

/// Prefix agreement: at each zxid, one history.
pub fn prefix_agreement(events: &[At<'_>]) -> Finding {
    let mut first: BTreeMap<Zxid, (u64, NodeId, SimTime)> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in events {
        let (Milestone::Applied { zxid, chain } | Milestone::Committed { zxid, chain, .. }) =
            &e.milestone
        else {
            continue;
        };
        match first.get(zxid) {
            None => {
                first.insert(*zxid, (*chain, e.node, e.time));
            }
            Some((c, n, t)) if c != chain => problems.push((
                e.time,
                format!(
                    "{} at {} applied zxid {:#x} after a different history than {n} at {t}",
                    e.node, e.time, zxid.0
                ),
            )),
            Some(_) => {}
        }
    }
    finding(
        "prefix-agreement",
        &problems,
        format!(
            "every replica that applied one of {} zxids applied the same history up to it",
            first.len()
        ),
    )
}

/// At most one leader per term (epoch, ballot): elected (where the protocol reports elections)
/// or established.
pub fn one_leader_per_term(events: &[At<'_>], term_word: &str) -> Finding {
    let mut leaders: BTreeMap<u64, (NodeId, SimTime, &str)> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in events {
        let (epoch, how) = match &e.milestone {
            Milestone::Established { term, .. } => (term, "established"),
            Milestone::Elected { term } => (term, "elected"),
            _ => continue,
        };
        match leaders.get(epoch) {
            None => {
                leaders.insert(*epoch, (e.node, e.time, how));
            }
            Some((n, t, first)) if *n != e.node => problems.push((
                e.time,
                format!(
                    "{n} ({first} at {t}) and {} ({how} at {}) both led {term_word} {epoch}",
                    e.node, e.time
                ),
            )),
            Some(_) => {}
        }
    }
    finding(
        &format!("one-leader-per-{term_word}"),
        &problems,
        format!(
            "{} {term_word}s, one leader each (elected or established)",
            leaders.len()
        ),
    )
}

pub fn protocol_assertions(events: &[At<'_>]) -> Finding {
    let problems: Vec<(SimTime, String)> = events
        .iter()
        .filter_map(|e| match &e.milestone {
            Milestone::Violation(what) => {
                Some((e.time, format!("{} at {}: {what}", e.node, e.time)))
            }
            _ => None,
        })
        .collect();
    finding(
        "protocol-assertions",
        &problems,
        "no replica met a state the protocol rules out".into(),
    )
}

/// The invariants, metrics and plot marks of a finished world, in the protocol's word for a term.
pub fn report<R>(world: &World<Node<R>>, term_word: &str) -> ProtocolReport
where
    R: Replication,
    R::Event: Milestones,
{
    let events = milestones(world);
    let crashes: Vec<(SimTime, &[NodeId])> = world
        .stats()
        .fault_log
        .iter()
        .filter(|f| f.kind == "crash")
        .map(|f| (f.time, f.nodes.as_slice()))
        .collect();
    judge(&events, world.replica_count(), &crashes, term_word)
}

/// The invariants, metrics and marks of a run of `n` replicas from its milestones and its crashes.
pub fn judge(
    events: &[At<'_>],
    n: usize,
    crashes: &[(SimTime, &[NodeId])],
    term_word: &str,
) -> ProtocolReport {
    let findings = vec![
        durability(events, term_word),
        prefix_agreement(events),
        one_leader_per_term(events, term_word),
        protocol_assertions(events),
    ];
    let mut metrics = BTreeMap::new();
    let mut marks = Vec::new();
    let count = |f: &dyn Fn(&Milestone<'_>) -> bool| {
        Metric::Count(events.iter().filter(|e| f(&e.milestone)).count() as u64)
    };
    metrics.insert(
        "election_count".to_string(),
        count(&|e| matches!(e, Milestone::Established { .. })),
    );
    metrics.insert(
        "committed_txn_count".to_string(),
        count(&|e| matches!(e, Milestone::Committed { .. })),
    );
    metrics.insert(
        "protocol_violation_count".to_string(),
        count(&|e| matches!(e, Milestone::Violation(_))),
    );
    // Leader loss → next established leader. The leadership of term t is lost at the first of:
    // its leader gives it up; its leader crashes; so many of its followers gave up on it that it
    // no longer has a quorum with it.
    let gone = n - (n / 2 + 1) + 1;
    let mut established: Vec<(SimTime, u64, NodeId)> = Vec::new();
    // The time each round's leadership was lost, and whether by its leader's crash.
    let mut lost: BTreeMap<u64, (SimTime, bool)> = BTreeMap::new();
    let mut deserters: BTreeMap<u64, Vec<NodeId>> = BTreeMap::new();
    for e in events {
        match e.milestone {
            Milestone::Established { term, .. } => {
                established.push((e.time, term, e.node));
                marks.push((e.time, format!("{} leads {term_word} {term}", e.node)));
            }
            Milestone::LeadershipLost { term } => {
                let leader = established
                    .iter()
                    .rev()
                    .find(|(_, t, _)| *t == term)
                    .map(|(_, _, n)| *n);
                let d = deserters.entry(term).or_default();
                if !d.contains(&e.node) {
                    d.push(e.node);
                }
                if Some(e.node) == leader
                    || d.iter().filter(|n| Some(**n) != leader).count() >= gone
                {
                    lost.entry(term).or_insert((e.time, false));
                }
            }
            _ => {}
        }
    }
    for &(time, nodes) in crashes {
        // The leadership the crashed replica held at that moment, if any.
        let held = established
            .iter()
            .filter(|(t, _, n)| *t <= time && nodes.contains(n))
            .max_by_key(|(t, _, _)| *t)
            .map(|(_, term, _)| *term);
        if let Some(term) = held {
            let newer = established
                .iter()
                .any(|(t, later, _)| *t <= time && *later > term);
            let at = lost.entry(term).or_insert((time, true));
            if !newer && time < at.0 {
                *at = (time, true);
            }
        }
    }
    for (&term, &(at, _)) in &lost {
        marks.push((at, format!("leader of {term_word} {term} lost")));
    }
    if let Some((t, _, _)) = established.first() {
        metrics.insert("first_leader_ms".to_string(), Metric::Ms(t.as_ms_f64()));
    }
    let mut recoveries: Vec<SimDuration> = Vec::new();
    let mut unrecovered = 0;
    let mut leader_losses = Vec::new();
    for (&term, &(at, crashed)) in &lost {
        let recovered_at = established
            .iter()
            .find(|(t, e, _)| *t >= at && *e > term)
            .map(|(t, _, _)| *t);
        match recovered_at {
            Some(t) => recoveries.push(t.since(at)),
            None => unrecovered += 1,
        }
        leader_losses.push(LeaderLoss {
            term,
            lost_at: at,
            crashed,
            recovered_at,
        });
    }
    leader_losses.sort_by_key(|l| (l.lost_at, l.term));
    metrics.insert(
        "leader_loss_count".to_string(),
        Metric::Count(lost.len() as u64),
    );
    metrics.insert(
        "unrecovered_leader_loss_count".to_string(),
        Metric::Count(unrecovered),
    );
    if let Some(&max) = recoveries.iter().max() {
        // The mean in whole nanoseconds, like every virtual time.
        let total = recoveries.iter().fold(SimDuration::ZERO, |sum, &d| sum + d);
        let mean = total.div(recoveries.len() as u64);
        metrics.insert("leader_recovery_ms_max".to_string(), Metric::ms(max));
        metrics.insert("leader_recovery_ms_mean".to_string(), Metric::ms(mean));
    }
    marks.sort_by_key(|(t, _)| *t);
    ProtocolReport {
        findings,
        metrics,
        marks,
        leader_losses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(term: u32, counter: u32) -> Zxid {
        Zxid::new(term, counter)
    }

    fn at(ms: u64, node: u32, milestone: Milestone<'_>) -> At<'_> {
        At {
            time: SimTime::from_ms(ms),
            node: NodeId(node),
            milestone,
        }
    }

    /// The names of the findings that failed.
    fn failed(events: &[At<'_>]) -> Vec<String> {
        judge(events, 3, &[], "term")
            .findings
            .into_iter()
            .filter(|f| !f.passed)
            .map(|f| f.name)
            .collect()
    }

    #[test]
    fn a_correct_stream_passes_and_measures_the_recovery() {
        let empty = History(vec![]);
        let one = History(vec![(z(1, 1), 11)]);
        let events = [
            at(
                10,
                0,
                Milestone::Established {
                    term: 1,
                    history: &empty,
                },
            ),
            at(
                20,
                0,
                Milestone::Committed {
                    term: 1,
                    zxid: z(1, 1),
                    chain: 11,
                },
            ),
            at(
                21,
                1,
                Milestone::Applied {
                    zxid: z(1, 1),
                    chain: 11,
                },
            ),
            at(100, 0, Milestone::LeadershipLost { term: 1 }),
            at(
                300,
                1,
                Milestone::Established {
                    term: 2,
                    history: &one,
                },
            ),
        ];
        assert!(failed(&events).is_empty());
        let report = judge(&events, 3, &[], "term");
        assert_eq!(report.metrics["leader_recovery_ms_max"], Metric::Ms(200.0));
        assert_eq!(report.metrics["election_count"], Metric::Count(2));
        assert_eq!(report.metrics["leader_loss_count"], Metric::Count(1));
        assert_eq!(
            report.leader_losses,
            [LeaderLoss {
                term: 1,
                lost_at: SimTime::from_ms(100),
                crashed: false,
                recovered_at: Some(SimTime::from_ms(300)),
            }]
        );
        assert_eq!(report.marks[0].1, "n0 leads term 1");
    }

    /// The leader's crash ends its leadership at the crash, and the loss says so.
    #[test]
    fn a_crashed_leader_is_a_loss_by_crash_until_the_next_leader() {
        let empty = History(vec![]);
        let events = [
            at(
                10,
                0,
                Milestone::Established {
                    term: 1,
                    history: &empty,
                },
            ),
            at(
                250,
                1,
                Milestone::Established {
                    term: 2,
                    history: &empty,
                },
            ),
        ];
        let crashed = [NodeId(0)];
        let report = judge(&events, 3, &[(SimTime::from_ms(100), &crashed)], "term");
        assert_eq!(
            report.leader_losses,
            [LeaderLoss {
                term: 1,
                lost_at: SimTime::from_ms(100),
                crashed: true,
                recovered_at: Some(SimTime::from_ms(250)),
            }]
        );
        assert_eq!(report.metrics["leader_recovery_ms_max"], Metric::Ms(150.0));
    }

    /// A later leader without a committed transaction: durability alone fails.
    #[test]
    fn a_leader_missing_a_committed_transaction_breaks_durability_only() {
        let empty = History(vec![]);
        let events = [
            at(
                10,
                0,
                Milestone::Established {
                    term: 1,
                    history: &empty,
                },
            ),
            at(
                20,
                0,
                Milestone::Committed {
                    term: 1,
                    zxid: z(1, 1),
                    chain: 11,
                },
            ),
            at(
                300,
                1,
                Milestone::Established {
                    term: 2,
                    history: &empty,
                },
            ),
        ];
        assert_eq!(failed(&events), vec!["durability"]);
    }

    /// Two replicas applied one zxid after different histories: prefix agreement alone fails.
    #[test]
    fn two_histories_at_one_zxid_break_prefix_agreement_only() {
        let events = [
            at(
                10,
                0,
                Milestone::Applied {
                    zxid: z(1, 1),
                    chain: 11,
                },
            ),
            at(
                11,
                1,
                Milestone::Applied {
                    zxid: z(1, 1),
                    chain: 99,
                },
            ),
        ];
        assert_eq!(failed(&events), vec!["prefix-agreement"]);
    }

    /// Two replicas established in one term: that invariant alone fails, named in the
    /// protocol's word.
    #[test]
    fn two_leaders_in_one_term_break_one_leader_per_term_only() {
        let empty = History(vec![]);
        let events = [
            at(
                10,
                0,
                Milestone::Established {
                    term: 1,
                    history: &empty,
                },
            ),
            at(
                12,
                2,
                Milestone::Established {
                    term: 1,
                    history: &empty,
                },
            ),
        ];
        assert_eq!(failed(&events), vec!["one-leader-per-term"]);
    }

    #[test]
    fn a_broken_assertion_is_a_finding_of_its_own() {
        let events = [at(5, 1, Milestone::Violation("COMMIT out of order"))];
        assert_eq!(failed(&events), vec!["protocol-assertions"]);
    }
}
