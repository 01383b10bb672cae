//! ZAB's own invariants, judged after a run from the events the replicas reported, and its
//! metrics and plot marks. The invariants are those of the Zab paper and of ZooKeeper's TLA+
//! specifications:
//!
//! - **durability** (LeaderLogCompleteness + CommittedLogDurability): a transaction committed by a
//!   leader's quorum, and every transaction of a leader's history once it is established, is in
//!   the history of every leader established afterwards, at the same zxid, after the same
//!   transactions;
//! - **prefix agreement** (PrefixConsistency, Agreement, TotalOrder): any two replicas that
//!   applied a transaction at the same zxid applied the same history up to it (compared by the
//!   digest chain of transactions and their answers, see `database`);
//! - **one leader per epoch** (Leadership1/2): at most one replica is established in an epoch;
//! - **protocol assertions**: no replica met a state the protocol rules out (a COMMIT that is not
//!   the next pending proposal, a TRUNC below a snapshot, ...); each such event is a finding.
//!
//! This module reads a finished world and never changes it.

use super::Zab;
use crate::cluster::{Finding, Metric, Node, Obs, ProtocolReport};
use crate::znode::Zxid;
use sim::{NodeId, SimDuration, SimTime, World};
use std::collections::BTreeMap;
use std::fmt;

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

/// What a ZAB replica reports.
#[derive(Clone, Debug)]
pub enum ZabEvent {
    /// The replica looks for a leader. `lost_epoch` is the epoch of the established leadership it
    /// just lost (as leader, or as a follower past UPTODATE).
    Looking {
        why: &'static str,
        lost_epoch: Option<u32>,
    },
    /// Fast Leader Election decided for `leader` in `round`.
    Decided { leader: NodeId, round: u64 },
    /// This replica is the established leader of `epoch`: a quorum acked its NEWLEADER.
    Established { epoch: u32, history: History },
    /// The leader committed `zxid` with a quorum of acks.
    Committed { zxid: Zxid, chain: u64 },
    /// The replica applied the transaction `zxid` (or loaded a snapshot at it); `chain` digests its
    /// history up to there.
    Applied { zxid: Zxid, chain: u64 },
    /// A protocol assertion failed.
    Violation(String),
}

/// One event with where and when.
struct At<'a> {
    time: SimTime,
    node: NodeId,
    event: &'a ZabEvent,
}

fn events(world: &World<Node<Zab>>) -> Vec<At<'_>> {
    world
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Obs::Replica(event) => Some(At {
                time: o.time,
                node: o.node,
                event,
            }),
            Obs::History(_) | Obs::ClientAssertion(_) => None,
        })
        .collect()
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
fn durability(events: &[At<'_>]) -> Finding {
    /// What is known committed by the end of epoch `e`, as (zxid → chain, when, by whom).
    struct Committed {
        zxid: Zxid,
        chain: u64,
        epoch: u32,
        time: SimTime,
        node: NodeId,
    }
    let mut committed: Vec<Committed> = Vec::new();
    let mut leaders: Vec<(u32, SimTime, NodeId, &History)> = Vec::new();
    for e in events {
        match e.event {
            ZabEvent::Committed { zxid, chain } => {
                committed.push(Committed {
                    zxid: *zxid,
                    chain: *chain,
                    epoch: zxid.epoch(),
                    time: e.time,
                    node: e.node,
                });
            }
            ZabEvent::Established { epoch, history } => {
                leaders.push((*epoch, e.time, e.node, history));
                if let Some(&(zxid, chain)) = history.0.last() {
                    // The chain is cumulative: the last entry stands for the whole history.
                    committed.push(Committed {
                        zxid,
                        chain,
                        epoch: *epoch,
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
    committed.sort_by_key(|c| (c.epoch, c.zxid));
    let mut problems = Vec::new();
    for (epoch, time, node, history) in &leaders {
        let before = committed.partition_point(|c| c.epoch < *epoch);
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
                    "{node} established epoch {epoch} at {time} without zxid {:#x}, committed in epoch {} by {} at {} (its history ends at {:#x})",
                    first.zxid.0,
                    first.epoch,
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
            "{} leader establishments each held every transaction committed in an earlier epoch",
            leaders.len()
        ),
    )
}

/// Prefix agreement: at each zxid, one history.
fn prefix_agreement(events: &[At<'_>]) -> Finding {
    let mut first: BTreeMap<Zxid, (u64, NodeId, SimTime)> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in events {
        let (ZabEvent::Applied { zxid, chain } | ZabEvent::Committed { zxid, chain }) = e.event
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

/// At most one established leader per epoch.
fn one_leader_per_epoch(events: &[At<'_>]) -> Finding {
    let mut leaders: BTreeMap<u32, (NodeId, SimTime)> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in events {
        let ZabEvent::Established { epoch, .. } = e.event else {
            continue;
        };
        match leaders.get(epoch) {
            None => {
                leaders.insert(*epoch, (e.node, e.time));
            }
            Some((n, t)) if *n != e.node => problems.push((
                e.time,
                format!(
                    "{n} (at {t}) and {} (at {}) were both established in epoch {epoch}",
                    e.node, e.time
                ),
            )),
            Some(_) => {}
        }
    }
    finding(
        "one-leader-per-epoch",
        &problems,
        format!("{} epochs, one established leader each", leaders.len()),
    )
}

fn protocol_assertions(events: &[At<'_>]) -> Finding {
    let problems: Vec<(SimTime, String)> = events
        .iter()
        .filter_map(|e| match e.event {
            ZabEvent::Violation(what) => {
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

/// The invariants, metrics and plot marks of a finished run.
pub fn report(world: &World<Node<Zab>>) -> ProtocolReport {
    let events = events(world);
    let findings = vec![
        durability(&events),
        prefix_agreement(&events),
        one_leader_per_epoch(&events),
        protocol_assertions(&events),
    ];
    let mut metrics = BTreeMap::new();
    let mut marks = Vec::new();
    let count = |f: &dyn Fn(&ZabEvent) -> bool| {
        Metric::Count(events.iter().filter(|e| f(e.event)).count() as u64)
    };
    metrics.insert(
        "election_count".to_string(),
        count(&|e| matches!(e, ZabEvent::Established { .. })),
    );
    metrics.insert(
        "fle_decision_count".to_string(),
        count(&|e| matches!(e, ZabEvent::Decided { .. })),
    );
    metrics.insert(
        "committed_txn_count".to_string(),
        count(&|e| matches!(e, ZabEvent::Committed { .. })),
    );
    metrics.insert(
        "protocol_violation_count".to_string(),
        count(&|e| matches!(e, ZabEvent::Violation(_))),
    );
    // Leader loss → next established leader. The leadership of epoch e is lost at the first of:
    // its leader steps down; its leader crashes; so many of its followers gave up on it that it
    // no longer has a quorum with it.
    let n = world.replica_count();
    let gone = n - (n / 2 + 1) + 1;
    let mut established: Vec<(SimTime, u32, NodeId)> = Vec::new();
    let mut lost: BTreeMap<u32, SimTime> = BTreeMap::new();
    let mut deserters: BTreeMap<u32, Vec<NodeId>> = BTreeMap::new();
    for e in &events {
        match e.event {
            ZabEvent::Established { epoch, .. } => {
                established.push((e.time, *epoch, e.node));
                marks.push((e.time, format!("{} leads epoch {epoch}", e.node)));
            }
            ZabEvent::Looking {
                lost_epoch: Some(epoch),
                ..
            } => {
                let leader = established
                    .iter()
                    .rev()
                    .find(|(_, ep, _)| ep == epoch)
                    .map(|(_, _, n)| *n);
                let d = deserters.entry(*epoch).or_default();
                if !d.contains(&e.node) {
                    d.push(e.node);
                }
                if Some(e.node) == leader
                    || d.iter().filter(|n| Some(**n) != leader).count() >= gone
                {
                    lost.entry(*epoch).or_insert(e.time);
                }
            }
            _ => {}
        }
    }
    for f in &world.stats().fault_log {
        if f.kind != "crash" {
            continue;
        }
        // The leadership the crashed replica held at that moment, if any.
        let held = established
            .iter()
            .filter(|(t, _, n)| *t <= f.time && f.nodes.contains(n))
            .max_by_key(|(t, _, _)| *t)
            .map(|(_, ep, _)| *ep);
        if let Some(epoch) = held {
            let newer = established
                .iter()
                .any(|(t, ep, _)| *t <= f.time && *ep > epoch);
            let at = lost.entry(epoch).or_insert(f.time);
            if !newer && f.time < *at {
                *at = f.time;
            }
        }
    }
    for (&epoch, &at) in &lost {
        marks.push((at, format!("leader of epoch {epoch} lost")));
    }
    if let Some((t, _, _)) = established.first() {
        metrics.insert("first_leader_ms".to_string(), Metric::Ms(t.as_ms_f64()));
    }
    let mut recoveries: Vec<SimDuration> = Vec::new();
    let mut unrecovered = 0;
    for (&epoch, &at) in &lost {
        match established.iter().find(|(t, e, _)| *t >= at && *e > epoch) {
            Some((t, _, _)) => recoveries.push(t.since(at)),
            None => unrecovered += 1,
        }
    }
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
    }
}
