//! Multi-Paxos for a replicated state machine ("Paxos Made Simple" §2–3, cited as PMS; van
//! Renesse and Altinbuken, "Paxos Made Moderately Complex", cited as PMMC; Chandra, Griesemer,
//! Redstone, "Paxos Made Live", cited as PML) behind the shared ZooKeeper front end. Every replica
//! plays every role: acceptor (`acceptor`: P1b promises and P2b accepts, durable before the
//! reply), learner (`learner`: decisions, execution strictly in slot order, catch-up from the
//! leader), and proposer, which is a follower, a candidate running phase 1 (`election`: a
//! replica that suspects the leader starts phase 1 with a higher ballot), or the leader
//! (`leader`: phase 1 once for all slots from its first undecided one, the highest-ballot value
//! adopted per slot and gaps filled with no-ops, then phase 2 with a window of α slots, decisions,
//! heartbeats). Its durable state lives in `storage`, its tuning in `settings`, its ballots in
//! `ballot`, its variants in `variants`, its milestones in `checks`.
//!
//! ZooKeeper semantics: a slot carries a front-end command (a write, createSession or
//! closeSession), executed when its slot is decided and every slot before it was executed. Its
//! zxid is its slot: zxids then follow slot order and grow for every client across leader changes
//! whatever the ballots (ballots are not monotone along slots: a gap filled by a later leader
//! carries a higher ballot than the slot after it), and every replica derives them from the
//! decided sequence alone. No-op slots leave a gap in the zxids; the checks need only their order.
//!
//! This module owns the replica's state, the dispatch of every input to the role that handles it,
//! and the front end's `Replication`. It must never read a clock, spawn, or draw randomness except
//! through its `Ctx`; and a message vouching for the acceptor's state leaves only after the fsync
//! that makes that state durable has completed (the outbox, released on `Input::Synced`).

mod acceptor;
pub mod ballot;
pub mod checks;
mod election;
mod leader;
mod learner;
pub mod messages;
pub mod settings;
pub mod storage;
pub mod variants;

pub use ballot::Ballot;
pub use checks::PaxosEvent;
pub use messages::{Command, PaxosMsg, Value};
pub use settings::PaxosSettings;
pub use variants::Variant;

use crate::cluster::{
    Node, Protocol, ProtocolReport, Replica, ReplicaCtx, ReplicaStatus, WriteCost,
};
use crate::znode::SessionId;
use crate::zookeeper::ExpiryRule;
use crate::zookeeper::server::{self, Replication, Submitted, ZkServer};
use rand::RngExt;
use sim::{Ctx, Input, IoId, NodeId, SimDuration, SimTime, World};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use storage::Storage;

pub(crate) type Cx<'a> = Ctx<'a, Node<Paxos>>;

/// The replica's timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaxosTimer {
    /// Every heartbeat period: the leader's heartbeats, resends and quorum check; a follower's or
    /// candidate's suspicion timeout; a lagging replica's catch-up request.
    Heartbeat,
    /// Every tick: session expiry at the leader.
    Tick,
}

/// Who asked for a `sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SyncOrigin {
    Local,
    Remote(NodeId),
}

/// A `sync` waiting for its barrier.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SyncWaiter {
    pub origin: SyncOrigin,
    pub session: SessionId,
    pub xid: u64,
}

/// What the leader has yet to propose, waiting for room in the window.
#[derive(Clone, Debug)]
pub(crate) enum Pending {
    Command(Command),
    /// A sync's barrier: a no-op whose decision proves the leader still led after the sync came.
    Barrier(SyncWaiter),
}

/// A slot the leader proposed in its ballot and has not seen chosen yet (PMMC's commander).
#[derive(Clone, Debug)]
pub(crate) struct Proposal {
    pub value: Value,
    /// The distinct acceptors that accepted it at the leader's ballot.
    pub acks: BTreeSet<NodeId>,
    /// ACCEPTED replies received, repeats included (what `count-duplicate-accepts` counts).
    pub replies: u64,
    /// When its ACCEPT was last sent.
    pub sent: SimTime,
}

/// A candidate's phase 1 (PMMC's scout).
pub(crate) struct Candidate {
    pub ballot: Ballot,
    /// The first slot phase 1 covers: the candidate's first unexecuted slot.
    pub from_slot: u64,
    /// Promises from distinct acceptors, with what each had accepted.
    pub promises: BTreeMap<NodeId, Vec<messages::AcceptedEntry>>,
    pub started: SimTime,
}

/// The leader's state.
pub(crate) struct Leader {
    pub ballot: Ballot,
    /// Phase 1 adopted slots up to here; the leader is established once it executed them all.
    pub recovered_upto: u64,
    pub established: bool,
    pub next_slot: u64,
    pub proposals: BTreeMap<u64, Proposal>,
    /// Slots a quorum accepted at this ballot and not yet executed here: executing one is a
    /// commit in this ballot (a slot learned from a higher ballot's leader is not).
    pub chosen: BTreeSet<u64>,
    pub queue: VecDeque<Pending>,
    /// Syncs waiting for their barrier slot to be executed here.
    pub barriers: BTreeMap<u64, Vec<SyncWaiter>>,
    /// When each peer last answered.
    pub last_ack: BTreeMap<NodeId, SimTime>,
    pub since: SimTime,
}

/// The proposer's role.
pub(crate) enum Role {
    Follower,
    Candidate(Box<Candidate>),
    Leader(Box<Leader>),
}

/// One Multi-Paxos replica.
pub struct Paxos {
    pub(crate) id: NodeId,
    pub(crate) n: usize,
    pub(crate) settings: PaxosSettings,
    /// (phase-1, phase-2) quorum sizes: majorities, or Flexible Paxos's from the settings.
    pub(crate) quorums: (usize, usize),
    pub(crate) variant: Variant,
    /// Acceptor state, on disk.
    pub(crate) store: Storage,
    /// Learner: every decided value by slot (executed ones too, for catch-up).
    pub(crate) decided: BTreeMap<u64, Value>,
    /// Every slot up to here is executed.
    pub(crate) executed: u64,
    pub(crate) role: Role,
    /// The ZooKeeper server this replica runs.
    pub(crate) zk: ZkServer,
    /// Messages waiting for an fsync (durable before the reply, PMS §2.5).
    pub(crate) outbox: Vec<(IoId, NodeId, PaxosMsg)>,
    /// The highest ballot seen in any message, for picking a higher round.
    pub(crate) highest_seen: Ballot,
    /// The leader this replica follows (heard within its suspicion timeout), with its ballot.
    pub(crate) leader: Option<(NodeId, Ballot)>,
    pub(crate) last_heard: SimTime,
    pub(crate) election_timeout: SimDuration,
    /// The leader's decided prefix, from its heartbeats and accepts.
    pub(crate) leader_decided: u64,
    /// Syncs a follower waits to pass: (barrier slot, session, xid).
    pub(crate) follower_syncs: Vec<(u64, SessionId, u64)>,
}

impl Paxos {
    /// Replica `id` of `replicas`. The settings' quorum sizes must fit `replicas`
    /// (`PaxosSettings::quorums`, checked when a scenario is read); sizes that do not are replaced
    /// by majorities.
    pub fn new(id: NodeId, replicas: usize, settings: PaxosSettings, variant: Variant) -> Paxos {
        let majority = replicas / 2 + 1;
        Paxos {
            id,
            n: replicas,
            quorums: settings.quorums(replicas).unwrap_or((majority, majority)),
            store: Storage::empty(),
            decided: BTreeMap::new(),
            executed: 0,
            role: Role::Follower,
            zk: ZkServer::new(settings.session_limits(), ExpiryRule::Leader),
            outbox: Vec::new(),
            highest_seen: Ballot::ZERO,
            leader: None,
            last_heard: SimTime::ZERO,
            election_timeout: SimDuration::from_ms(settings.election_timeout_min_ms),
            leader_decided: 0,
            follower_syncs: Vec::new(),
            settings,
            variant,
        }
    }

    /// The in-memory database: for tests and tools, which must not change it.
    pub fn database(&self) -> &crate::zookeeper::Db {
        &self.zk.db
    }

    /// The variant this replica runs.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The promised ballot.
    pub fn promised(&self) -> Ballot {
        self.store.promised
    }

    /// Every slot up to here is executed.
    pub fn executed(&self) -> u64 {
        self.executed
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.n as u32).map(NodeId)
    }

    /// Sends `msg` to `to`; to itself, it is handled at once (a replica's roles talk in memory).
    pub(crate) fn send(&mut self, to: NodeId, msg: PaxosMsg, ctx: &mut Cx<'_>) {
        if to == self.id {
            self.on_peer(to, msg, ctx);
        } else {
            ctx.send_peer(to, msg);
        }
    }

    /// Sends `msg` once everything written so far is durable (PMS §2.5).
    pub(crate) fn send_durable(&mut self, to: NodeId, msg: PaxosMsg, ctx: &mut Cx<'_>) {
        match self.store.durable_point(ctx) {
            Some(io) => self.outbox.push((io, to, msg)),
            None => self.send(to, msg, ctx),
        }
    }

    /// A protocol assertion failed: a finding for the run, not a panic.
    pub(crate) fn violation(&self, ctx: &mut Cx<'_>, what: String) {
        ctx.report(PaxosEvent::Violation(what));
    }

    pub(crate) fn draw_election_timeout(&mut self, ctx: &mut Cx<'_>) {
        let (lo, hi) = self.settings.election_timeout_range_ms();
        let ms = ctx.rng().random_range(lo..=hi);
        self.election_timeout = SimDuration::from_ms(ms);
    }

    /// Start-up, fresh or after a crash: rebuild from the disk and follow whoever leads.
    fn start(&mut self, ctx: &mut Cx<'_>) {
        let (store, decided, problems) = Storage::recover(ctx);
        self.store = store;
        self.decided = decided;
        self.highest_seen = self.store.promised;
        for p in problems {
            self.violation(ctx, format!("recovery: {p}"));
        }
        // Session ids: the server id in the high bits and the start time below, so that no two
        // servers, and no two lives of one server, hand out the same id (as ZAB's replicas do).
        self.zk.next_session =
            ((u64::from(self.id.0) + 1) << 45) | ((ctx.now().as_ms() & 0x1fff_ffff) << 16);
        self.execute(ctx);
        self.last_heard = ctx.now();
        self.draw_election_timeout(ctx);
        ctx.set_replica_timer(self.settings.heartbeat(), PaxosTimer::Heartbeat);
        ctx.set_replica_timer(self.settings.tick(), PaxosTimer::Tick);
    }

    fn on_synced(&mut self, io: IoId, ctx: &mut Cx<'_>) {
        self.store.on_synced(io);
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.outbox)
            .into_iter()
            .partition(|(w, _, _)| self.store.is_durable(*w));
        self.outbox = waiting;
        for (_, to, msg) in ready {
            self.send(to, msg, ctx);
        }
    }

    fn on_heartbeat_timer(&mut self, ctx: &mut Cx<'_>) {
        match &self.role {
            Role::Leader(_) => self.leader_tick(ctx),
            Role::Candidate(_) | Role::Follower => self.suspicion_tick(ctx),
        }
        ctx.set_replica_timer(self.settings.heartbeat(), PaxosTimer::Heartbeat);
    }

    pub(crate) fn on_peer(&mut self, from: NodeId, msg: PaxosMsg, ctx: &mut Cx<'_>) {
        if from.index() >= self.n {
            return;
        }
        match msg {
            PaxosMsg::Prepare { ballot, from_slot } => {
                self.on_prepare(from, ballot, from_slot, ctx)
            }
            PaxosMsg::Promise { ballot, accepted } => self.on_promise(from, ballot, accepted, ctx),
            PaxosMsg::Nack { promised } => self.on_nack(promised, ctx),
            PaxosMsg::Accept {
                ballot,
                slot,
                value,
                decided_upto,
            } => self.on_accept(from, ballot, slot, value, decided_upto, ctx),
            PaxosMsg::Accepted { ballot, slot } => self.on_accepted(from, ballot, slot, ctx),
            PaxosMsg::Decide { slot, value } => self.learn(slot, value, ctx),
            PaxosMsg::Heartbeat {
                ballot,
                decided_upto,
            } => self.on_heartbeat(from, ballot, decided_upto, ctx),
            PaxosMsg::HeartbeatAck {
                ballot,
                executed,
                touches,
            } => self.on_heartbeat_ack(from, ballot, executed, touches, ctx),
            PaxosMsg::CatchUp { from_slot } => self.on_catch_up(from, from_slot, ctx),
            PaxosMsg::Decisions { entries } => {
                for (slot, value) in entries {
                    self.learn(slot, value, ctx);
                }
            }
            PaxosMsg::Forward(cmd) => {
                if let Role::Leader(l) = &mut self.role {
                    l.queue.push_back(Pending::Command(cmd));
                    self.fill_window(ctx);
                }
            }
            PaxosMsg::Sync { session, xid } => {
                let waiter = SyncWaiter {
                    origin: SyncOrigin::Remote(from),
                    session,
                    xid,
                };
                self.leader_sync(waiter, ctx);
            }
            PaxosMsg::SyncDone { session, xid, slot } => {
                if self.executed >= slot {
                    server::synced(self, session, xid, ctx);
                } else {
                    self.follower_syncs.push((slot, session, xid));
                }
            }
            PaxosMsg::Revalidate { session } => {
                if self.is_established_leader() {
                    let valid = self.zk.tracker.touch(session, ctx.now());
                    ctx.send_peer(from, PaxosMsg::Revalidated { session, valid });
                }
            }
            PaxosMsg::Revalidated { session, valid } => {
                server::revalidated(self, session, valid, ctx)
            }
        }
    }

    pub(crate) fn is_established_leader(&self) -> bool {
        matches!(&self.role, Role::Leader(l) if l.established)
    }

    /// The leader a non-leader hands client traffic to.
    fn known_leader(&self) -> Option<NodeId> {
        match &self.role {
            Role::Follower => self.leader.map(|(l, _)| l),
            _ => None,
        }
    }
}

impl Replica for Paxos {
    type Peer = PaxosMsg;
    type Timer = PaxosTimer;
    type Stored = storage::Stored;
    type Event = PaxosEvent;

    fn on_input(&mut self, input: Input<PaxosMsg, PaxosTimer>, ctx: &mut Cx<'_>) {
        match input {
            Input::Start { .. } => self.start(ctx),
            Input::Message { from, msg } => self.on_peer(from, msg, ctx),
            Input::Timer { timer, .. } => match timer {
                PaxosTimer::Heartbeat => self.on_heartbeat_timer(ctx),
                PaxosTimer::Tick => {
                    server::expire_sessions(self, ctx);
                    ctx.set_replica_timer(self.settings.tick(), PaxosTimer::Tick);
                }
            },
            Input::Synced { io } => self.on_synced(io, ctx),
            Input::Disconnected { peer } => {
                if peer.index() >= self.n {
                    server::client_gone(self, peer);
                } else if self.known_leader() == Some(peer) {
                    // What was forwarded to the leader on the reset channel (writes, syncs and
                    // their answers) may be lost: the clients reconnect and learn so.
                    server::stop_serving(self, ctx);
                }
                // Otherwise a reset channel between replicas only loses messages: the leader
                // resends unanswered ACCEPTs, heartbeats repeat, a lagging replica asks again.
            }
        }
    }

    fn leadership(&self) -> Option<u64> {
        match &self.role {
            Role::Leader(l) if l.established => Some(l.ballot.term()),
            _ => None,
        }
    }

    fn status(&self) -> ReplicaStatus {
        let role = match &self.role {
            Role::Follower => match self.leader {
                Some((l, _)) => format!("following {l}"),
                None => "follower (no leader)".to_string(),
            },
            Role::Candidate(c) => format!("candidate {:?}", c.ballot),
            Role::Leader(l) if l.established => format!("leading {:?}", l.ballot),
            Role::Leader(l) => format!("leading {:?} (recovering)", l.ballot),
        };
        ReplicaStatus {
            role,
            term: self.store.promised.term(),
            logged: format!(
                "{}",
                self.store.accepted.keys().next_back().copied().unwrap_or(0)
            ),
            committed: format!("{}", self.executed),
        }
    }
}

/// What Multi-Paxos offers the ZooKeeper front end: commands go to the leader (forwarded by a
/// follower) and are proposed there; a `sync` is a no-op barrier the leader proposes after the
/// sync arrived, passed once it is executed here (so a deposed leader cannot pass it); a
/// follower asks the leader to revalidate a reconnecting client's session.
impl Replication for Paxos {
    fn zk(&self) -> &ZkServer {
        &self.zk
    }

    fn zk_mut(&mut self) -> &mut ZkServer {
        &mut self.zk
    }

    /// An established leader, or a follower that hears from one.
    fn may_serve(&self) -> bool {
        self.is_established_leader() || self.known_leader().is_some()
    }

    fn is_leader(&self) -> bool {
        self.is_established_leader()
    }

    fn submit(&mut self, txn: Submitted, ctx: &mut Cx<'_>) {
        let cmd = Command {
            session: txn.session,
            xid: txn.xid,
            write: txn.write,
            timeout_ms: txn.timeout_ms,
        };
        if let Role::Leader(l) = &mut self.role {
            l.queue.push_back(Pending::Command(cmd));
            self.fill_window(ctx);
        } else if let Some(leader) = self.known_leader() {
            ctx.send_peer(leader, PaxosMsg::Forward(cmd));
        }
    }

    fn sync(&mut self, session: SessionId, xid: u64, ctx: &mut Cx<'_>) {
        if matches!(self.role, Role::Leader(_)) {
            let waiter = SyncWaiter {
                origin: SyncOrigin::Local,
                session,
                xid,
            };
            self.leader_sync(waiter, ctx);
        } else if let Some(leader) = self.known_leader() {
            ctx.send_peer(leader, PaxosMsg::Sync { session, xid });
        }
    }

    fn revalidate_at_leader(&mut self, session: SessionId, _timeout_ms: u64, ctx: &mut Cx<'_>) {
        if let Some(leader) = self.known_leader() {
            ctx.send_peer(leader, PaxosMsg::Revalidate { session });
        }
    }
}

impl Protocol for Paxos {
    const NAME: &'static str = "paxos";
    const MESSAGE_KINDS: &'static [&'static str] = messages::KINDS;
    type Variant = Variant;
    const FIFO: bool = true;
    /// Reads are served from the local tree of the server a client is connected to.
    const LINEARIZABLE_READS: bool = false;
    type Settings = PaxosSettings;

    fn new(id: NodeId, replicas: usize, settings: &PaxosSettings, variant: Variant) -> Paxos {
        Paxos::new(id, replicas, settings.clone(), variant)
    }

    fn report(world: &World<Node<Paxos>>) -> ProtocolReport {
        checks::report(world)
    }

    fn check_settings(settings: &PaxosSettings, replicas: usize) -> Result<(), (String, String)> {
        settings.quorums(replicas).map(|_| ())
    }

    /// Paxos Made Simple §3 with a stable leader: phase 2 only, an ACCEPT (P2a) to each other
    /// acceptor and an ACCEPTED (P2b) back, 2(n−1) messages; with `decisions: sent` the leader
    /// then tells each other learner with a DECIDE, (n−1) more (PMMC's decision messages). With
    /// `piggybacked` the decided prefix rides on the next ACCEPT or heartbeat.
    fn write_cost(replicas: usize, settings: &PaxosSettings) -> Option<WriteCost> {
        let others = (replicas as u64).saturating_sub(1);
        Some(match settings.decisions {
            settings::Decisions::Sent => WriteCost {
                kinds: vec!["ACCEPT", "ACCEPTED", "DECIDE"],
                formula: "3(n-1)",
                messages: 3 * others,
            },
            settings::Decisions::Piggybacked => WriteCost {
                kinds: vec!["ACCEPT", "ACCEPTED"],
                formula: "2(n-1)",
                messages: 2 * others,
            },
        })
    }
}
