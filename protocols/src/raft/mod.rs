//! Raft (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm", USENIX ATC
//! 2014, cited as "§n" and "Fig. n"; Ongaro's thesis, 2014, cited as "thesis §n") as the ordering
//! protocol of a ZooKeeper service. A sans-IO replica that is, at any moment, a follower, a
//! candidate or the leader (`election`: §5.2, §5.4.1), replicates its log with AppendEntries
//! (`replication`: §5.3, §5.4.2, Fig. 2), keeps currentTerm, votedFor and the log on its disk
//! (`storage`), and serves ZooKeeper's client protocol through the shared front end
//! (`crate::zookeeper`): the log carries the front end's transactions, applied in log order when
//! committed, with zxid = (term << 32) | index so that zxid order is log order; a `sync` is a
//! ReadIndex barrier (`reads`, thesis §6.4). Its named variants (`variants`) each flip one rule.
//!
//! This module owns the replica's state, the dispatch of every input to the part that handles it,
//! and the transitions between roles. It must never read a clock, spawn, or draw randomness except
//! through its `Ctx`; and it never sends a message that vouches for its term, vote or log before
//! the fsync that makes them durable has completed (`send_durable`, released on `Input::Synced`).

pub mod checks;
mod election;
pub mod messages;
mod reads;
mod replication;
pub mod settings;
pub mod storage;
pub mod variants;

pub use checks::RaftEvent;
pub use messages::{Command, Entry, RaftMsg};
pub use settings::RaftSettings;
pub use variants::Variant;

use crate::cluster::{
    Node, Protocol, ProtocolReport, Replica, ReplicaCtx, ReplicaStatus, WriteCost,
};
use crate::znode::{SessionId, Zxid};
use crate::zookeeper::server::{self, Replication, Submitted, ZkServer};
use crate::zookeeper::{Db, ExpiryRule};
use sim::{Ctx, Input, NodeId, SimTime, World};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use storage::Storage;

pub(crate) type Cx<'a> = Ctx<'a, Node<Raft>>;

/// The replica's timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftTimer {
    /// The election timeout may have passed (the deadline moves without re-arming: the timer
    /// re-arms itself for the deadline when it fires early). A leader checks its quorum on it.
    Election,
    /// The leader of `term` sends its heartbeats.
    Heartbeat { term: u64 },
    /// ZooKeeper's tick: session expiry.
    Tick,
}

/// The leader's view of one follower (Fig. 2 "volatile state on leaders", plus etcd's
/// probe/replicate states for pipelining).
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    /// nextIndex: the next entry to send.
    pub next: u64,
    /// matchIndex: the highest entry known replicated on the follower.
    pub matched: u64,
    /// Probing: one AppendEntries at a time until the follower's log matches; otherwise entries
    /// are pipelined and `next` moves as they are sent.
    pub probing: bool,
    /// AppendEntries with entries sent and not yet answered (pipelining window).
    pub inflight: u64,
    /// The highest heartbeat round the follower answered (ReadIndex).
    pub acked_round: u64,
    /// The commit index last told to the follower.
    pub commit_sent: u64,
    /// When the follower last answered (CheckQuorum).
    pub last_heard: SimTime,
}

/// Who asked for a read index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadOrigin {
    Local,
    Follower(NodeId),
}

/// A `sync` waiting at the leader for its heartbeat round (thesis §6.4 step 3).
#[derive(Clone, Debug)]
pub(crate) struct PendingRead {
    pub origin: ReadOrigin,
    pub session: SessionId,
    pub xid: u64,
    /// The commit index when the request arrived (step 1).
    pub index: u64,
    /// The heartbeat round a majority must answer (step 2).
    pub round: u64,
}

/// The leader's state.
pub(crate) struct Leading {
    pub progress: BTreeMap<NodeId, Progress>,
    /// The index of the first entry of its term (its no-op, §8): applied, it is established.
    pub first_index: u64,
    pub established: bool,
    pub round: u64,
    pub reads: Vec<PendingRead>,
    /// `count-duplicate-acks`: every acknowledgement as (follower, index), repeats included.
    pub acks: Vec<(NodeId, u64)>,
}

/// The replica's role (§5.1, Fig. 4).
pub(crate) enum Role {
    Follower {
        /// The leader of the current term, once one was heard from.
        leader: Option<NodeId>,
    },
    /// A candidate of the current term, or with `pre`, of the Pre-Vote round that asks whether
    /// the next term's election could be won (thesis §9.6): its term is not yet incremented.
    Candidate {
        votes: BTreeSet<NodeId>,
        pre: bool,
    },
    Leader(Box<Leading>),
}

/// One Raft replica.
pub struct Raft {
    pub(crate) id: NodeId,
    pub(crate) n: usize,
    pub(crate) settings: RaftSettings,
    pub(crate) variant: Variant,
    pub(crate) store: Storage,
    pub(crate) role: Role,
    /// Fig. 2 volatile state: the highest entry known committed, and the highest applied.
    pub(crate) commit_index: u64,
    pub(crate) last_applied: u64,
    /// The ZooKeeper server this replica runs.
    pub(crate) zk: ZkServer,
    /// Messages that vouch for writes not yet durable, each with the write it waits for.
    outbox: VecDeque<(u64, NodeId, RaftMsg)>,
    /// When the election timeout passes; whether a timer is armed for it.
    election_deadline: SimTime,
    election_armed: bool,
    /// When this replica last heard from the leader of its current term (Pre-Vote refuses a
    /// candidate within the minimum election timeout of it).
    pub(crate) leader_heard: Option<SimTime>,
    /// Syncs whose read index is known, waiting to be applied here: (index, session, xid).
    pub(crate) read_waits: Vec<(u64, SessionId, u64)>,
}

impl Raft {
    pub fn new(id: NodeId, replicas: usize, settings: RaftSettings, variant: Variant) -> Raft {
        let mut zk = ZkServer::new(settings.session_limits(), ExpiryRule::Leader);
        zk.db = Db::empty();
        Raft {
            id,
            n: replicas,
            store: Storage::empty(),
            role: Role::Follower { leader: None },
            commit_index: 0,
            last_applied: 0,
            zk,
            outbox: VecDeque::new(),
            election_deadline: SimTime::ZERO,
            election_armed: false,
            leader_heard: None,
            read_waits: Vec::new(),
            settings,
            variant,
        }
    }

    /// The in-memory database: for tests and tools, which must not change it.
    pub fn database(&self) -> &Db {
        &self.zk.db
    }

    /// (currentTerm, votedFor, last log index, commitIndex) as this replica holds them.
    pub fn state(&self) -> (u64, Option<NodeId>, u64, u64) {
        (
            self.store.current_term,
            self.store.voted_for,
            self.store.last_index(),
            self.commit_index,
        )
    }

    /// Whether this replica leads.
    pub fn is_leader_role(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// Whether `voters` are a quorum: a strict majority of distinct members.
    pub(crate) fn is_quorum(&self, voters: impl IntoIterator<Item = NodeId>) -> bool {
        crate::replication::is_quorum(self.n, voters)
    }

    pub(crate) fn peers(&self) -> impl Iterator<Item = NodeId> + use<> {
        let me = self.id;
        (0..self.n as u32).map(NodeId).filter(move |p| *p != me)
    }

    /// A protocol assertion failed: a finding for the run, not a panic.
    pub(crate) fn violation(&self, ctx: &mut Cx<'_>, what: String) {
        ctx.report(RaftEvent::Violation(what));
    }

    /// Sends `msg` once every write made so far is durable (Fig. 2: persistent state is updated
    /// on stable storage before responding to RPCs). Messages leave in the order they were asked.
    pub(crate) fn send_durable(&mut self, ctx: &mut Cx<'_>, to: NodeId, msg: RaftMsg) {
        let wseq = self.store.last_write();
        if self.outbox.is_empty() && self.store.is_durable(wseq) {
            ctx.send_peer(to, msg);
        } else {
            self.outbox.push_back((wseq, to, msg));
        }
    }

    /// Some writes became durable: release what waited for them, and let the leader count its
    /// own copy.
    fn on_durable(&mut self, ctx: &mut Cx<'_>) {
        while let Some((wseq, _, _)) = self.outbox.front() {
            if !self.store.is_durable(*wseq) {
                break;
            }
            let (_, to, msg) = self.outbox.pop_front().expect("checked");
            ctx.send_peer(to, msg);
        }
        if self.is_leader_role() {
            self.advance_commit(ctx);
        }
    }

    /// Start-up, fresh or after a crash: rebuild from the disk and wait for a leader as a
    /// follower (§5.2: "when servers start up, they begin as followers").
    fn start(&mut self, ctx: &mut Cx<'_>) {
        let (store, problems) = Storage::recover(ctx);
        self.store = store;
        for p in problems {
            self.violation(ctx, format!("recovery: {p}"));
        }
        // Session ids: the server id in the high bits and the start time below, so that no two
        // servers, and no two lives of one server, hand out the same id (as ZAB's).
        self.zk.next_session =
            ((u64::from(self.id.0) + 1) << 45) | ((ctx.now().as_ms() & 0x1fff_ffff) << 16);
        self.reset_election_timer(ctx);
        let tick = self.settings.tick();
        ctx.set_replica_timer(tick, RaftTimer::Tick);
    }

    /// Leaves the current role for follower (in the current term) with `leader`: a leader or a
    /// follower of an established leader reports the leadership lost; a server that served stops.
    pub(crate) fn become_follower(
        &mut self,
        ctx: &mut Cx<'_>,
        leader: Option<NodeId>,
        why: &'static str,
    ) {
        let old = std::mem::replace(&mut self.role, Role::Follower { leader });
        let term = self.store.current_term;
        let lost = match &old {
            Role::Leader(l) => l.established,
            Role::Follower { leader: Some(old) } => Some(*old) != leader,
            _ => false,
        };
        if lost {
            ctx.report(RaftEvent::LeadershipLost { term, why });
        }
        let served = match &old {
            Role::Leader(l) => l.established,
            Role::Follower { leader: Some(_) } => true,
            _ => false,
        };
        if served && !self.may_serve() {
            server::stop_serving(self, ctx);
            self.read_waits.clear();
        }
    }

    /// Fig. 2 "all servers": if an RPC request or response contains term T > currentTerm, set
    /// currentTerm = T and convert to follower. Returns whether the term moved.
    pub(crate) fn observe_term(&mut self, term: u64, ctx: &mut Cx<'_>) -> bool {
        if term <= self.store.current_term {
            return false;
        }
        // The leadership of the old term is lost whatever the role was.
        let old_term = self.store.current_term;
        let was_serving = self.may_serve();
        let lost = match &self.role {
            Role::Leader(l) => l.established,
            Role::Follower { leader } => leader.is_some(),
            Role::Candidate { .. } => false,
        };
        if lost {
            ctx.report(RaftEvent::LeadershipLost {
                term: old_term,
                why: "a newer term",
            });
        }
        self.role = Role::Follower { leader: None };
        self.leader_heard = None;
        self.store.persist_state(ctx, term, None);
        if was_serving {
            server::stop_serving(self, ctx);
            self.read_waits.clear();
        }
        true
    }

    fn on_peer(&mut self, from: NodeId, msg: RaftMsg, ctx: &mut Cx<'_>) {
        if from.index() >= self.n || from == self.id {
            return;
        }
        match msg {
            RaftMsg::RequestVote {
                term,
                last_log_index,
                last_log_term,
                pre_vote,
            } => self.on_request_vote(from, term, last_log_index, last_log_term, pre_vote, ctx),
            RaftMsg::Vote {
                term,
                granted,
                pre_vote,
            } => self.on_vote(from, term, granted, pre_vote, ctx),
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                round,
                ack,
            } => self.on_append_entries(
                from,
                replication::Append {
                    term,
                    prev_log_index,
                    prev_log_term,
                    entries,
                    leader_commit,
                    round,
                    ack,
                },
                ctx,
            ),
            RaftMsg::AppendReply {
                term,
                success,
                match_index,
                rejected,
                last_index,
                conflict_term,
                conflict_first,
                round,
                heartbeat: _,
                touches,
            } => self.on_append_reply(
                from,
                replication::Reply {
                    term,
                    success,
                    match_index,
                    rejected,
                    last_index,
                    conflict_term,
                    conflict_first,
                    round,
                },
                touches,
                ctx,
            ),
            RaftMsg::Forward {
                session,
                xid,
                write,
                timeout_ms,
            } => {
                if self.is_leader_role() {
                    let command = Command::Txn {
                        session,
                        xid,
                        write,
                        timeout_ms,
                    };
                    self.leader_append(command, ctx);
                }
            }
            RaftMsg::ReadIndex { session, xid } => {
                self.leader_read_index(ReadOrigin::Follower(from), session, xid, ctx)
            }
            RaftMsg::ReadIndexAt {
                session,
                xid,
                index,
            } => self.follower_read_index(from, session, xid, index, ctx),
            RaftMsg::Revalidate { session, .. } => {
                if self.is_established_leader() {
                    let valid = self.zk.tracker.touch(session, ctx.now());
                    ctx.send_peer(from, RaftMsg::Revalidated { session, valid });
                }
            }
            RaftMsg::Revalidated { session, valid } => {
                if matches!(self.role, Role::Follower { leader: Some(l) } if l == from) {
                    server::revalidated(self, session, valid, ctx);
                }
            }
        }
    }

    /// Whether this replica leads and has applied the first entry of its term (§8).
    pub(crate) fn is_established_leader(&self) -> bool {
        matches!(&self.role, Role::Leader(l) if l.established)
    }

    /// The leader this replica follows, if it knows one.
    pub(crate) fn leader(&self) -> Option<NodeId> {
        match self.role {
            Role::Follower { leader } => leader,
            Role::Leader(_) => Some(self.id),
            Role::Candidate { .. } => None,
        }
    }

    fn on_tick(&mut self, ctx: &mut Cx<'_>) {
        server::expire_sessions(self, ctx);
        let tick = self.settings.tick();
        ctx.set_replica_timer(tick, RaftTimer::Tick);
    }

    /// What every handler ends with: the leader sends what is due, and one fsync covers the
    /// handler's writes (group commit).
    fn end_of_handler(&mut self, ctx: &mut Cx<'_>) {
        if self.is_leader_role() {
            self.replicate(ctx);
        }
        self.store.flush(ctx);
    }
}

impl Replica for Raft {
    type Peer = RaftMsg;
    type Timer = RaftTimer;
    type Stored = storage::Stored;
    type Event = RaftEvent;

    fn on_input(&mut self, input: Input<RaftMsg, RaftTimer>, ctx: &mut Cx<'_>) {
        match input {
            Input::Start { .. } => self.start(ctx),
            Input::Message { from, msg } => self.on_peer(from, msg, ctx),
            Input::Timer { timer, .. } => match timer {
                RaftTimer::Election => self.on_election_timer(ctx),
                RaftTimer::Heartbeat { term } => self.on_heartbeat(term, ctx),
                RaftTimer::Tick => self.on_tick(ctx),
            },
            Input::Synced { io } => {
                self.store.on_synced(io);
                self.on_durable(ctx);
            }
            Input::Disconnected { peer } => {
                if peer.index() >= self.n {
                    server::client_gone(self, peer);
                } else if self.leader() == Some(peer) && peer != self.id {
                    // Raft itself needs no connection: a reset channel only lost messages, which
                    // the leader's heartbeats and the election timeout make good. But the
                    // clients' writes, syncs and revalidations forwarded on it may be lost,
                    // and nothing would ever answer them: as a ZooKeeper learner does when its
                    // connection to the leader breaks, close the clients' connections so that
                    // they learn it (connection loss) and retry.
                    server::stop_serving(self, ctx);
                    self.read_waits.clear();
                }
            }
        }
        self.end_of_handler(ctx);
    }

    /// A client's write or sync the front end submitted is replicated and made durable at once,
    /// as at the end of every handler (the front end's handler is one of this replica's).
    fn after_client(&mut self, ctx: &mut Cx<'_>) {
        self.end_of_handler(ctx);
    }

    fn leadership(&self) -> Option<u64> {
        self.is_established_leader()
            .then_some(self.store.current_term)
    }

    fn status(&self) -> ReplicaStatus {
        let role = match &self.role {
            Role::Follower { leader: Some(l) } => format!("following {l}"),
            Role::Follower { leader: None } => "follower".to_string(),
            Role::Candidate { votes, pre: false } => format!("candidate ({} votes)", votes.len()),
            Role::Candidate { votes, pre: true } => {
                format!("pre-candidate ({} pre-votes)", votes.len())
            }
            Role::Leader(l) if l.established => "leading".to_string(),
            Role::Leader(_) => "leading (no-op not yet applied)".to_string(),
        };
        let zxid = |i: u64| match i {
            0 => Zxid::ZERO,
            i => Zxid::new(self.store.entry(i).term as u32, i as u32),
        };
        ReplicaStatus {
            role,
            term: self.store.current_term,
            logged: format!("{:#x}", zxid(self.store.last_index()).0),
            committed: format!("{:#x}", zxid(self.commit_index).0),
        }
    }
}

/// What Raft offers the ZooKeeper front end: writes go to the leader's log (forwarded by a
/// follower) and are answered when applied; a `sync` is a ReadIndex barrier (thesis §6.4); a
/// follower asks the leader to revalidate a reconnecting client's session.
impl Replication for Raft {
    fn zk(&self) -> &ZkServer {
        &self.zk
    }

    fn zk_mut(&mut self) -> &mut ZkServer {
        &mut self.zk
    }

    /// A follower serves while it knows the leader of its term; a leader once established.
    fn may_serve(&self) -> bool {
        match &self.role {
            Role::Follower { leader } => leader.is_some(),
            Role::Candidate { .. } => false,
            Role::Leader(l) => l.established,
        }
    }

    fn is_leader(&self) -> bool {
        self.is_established_leader()
    }

    fn submit(&mut self, txn: Submitted, ctx: &mut Cx<'_>) {
        let Submitted {
            session,
            xid,
            write,
            timeout_ms,
        } = txn;
        match &self.role {
            Role::Follower {
                leader: Some(leader),
            } => {
                let leader = *leader;
                ctx.send_peer(
                    leader,
                    RaftMsg::Forward {
                        session,
                        xid,
                        write,
                        timeout_ms,
                    },
                )
            }
            Role::Leader(_) => {
                let command = Command::Txn {
                    session,
                    xid,
                    write,
                    timeout_ms,
                };
                self.leader_append(command, ctx);
            }
            _ => {}
        }
    }

    fn sync(&mut self, session: SessionId, xid: u64, ctx: &mut Cx<'_>) {
        match &self.role {
            Role::Follower {
                leader: Some(leader),
            } => {
                let leader = *leader;
                ctx.send_peer(leader, RaftMsg::ReadIndex { session, xid });
            }
            Role::Leader(_) => self.leader_read_index(ReadOrigin::Local, session, xid, ctx),
            _ => {}
        }
    }

    fn revalidate_at_leader(&mut self, session: SessionId, timeout_ms: u64, ctx: &mut Cx<'_>) {
        if let Role::Follower {
            leader: Some(leader),
        } = self.role
        {
            ctx.send_peer(
                leader,
                RaftMsg::Revalidate {
                    session,
                    timeout_ms,
                },
            );
        }
    }
}

impl Protocol for Raft {
    const NAME: &'static str = "raft";
    const MESSAGE_KINDS: &'static [&'static str] = messages::KINDS;
    type Variant = Variant;
    /// Replicas talk over TCP-like channels, as etcd's and most Raft deployments do; Raft needs
    /// no more than datagrams, but the shared ZooKeeper client does.
    const FIFO: bool = true;
    /// Reads are served from the local tree of the server a client is connected to, as ZooKeeper
    /// serves them; `sync` makes a following read up to date.
    const LINEARIZABLE_READS: bool = false;
    type Settings = RaftSettings;

    fn new(id: NodeId, replicas: usize, settings: &RaftSettings, variant: Variant) -> Raft {
        Raft::new(id, replicas, settings.clone(), variant)
    }

    fn report(world: &World<Node<Raft>>) -> ProtocolReport {
        checks::report(world)
    }

    /// Raft §5.3: the leader sends each follower an AppendEntries carrying the entry and each
    /// answers it: 2(n−1) messages; the new commit index rides on the next AppendEntries or
    /// heartbeat. Batching (`max_entries_per_append`) only lowers it. The eager commit notices
    /// (`commit_notice`, COMMIT_NOTICE) are not in the theory: they are what zksim's Raft spends
    /// to answer followers' clients a heartbeat sooner, and a run reports them beside it.
    fn write_cost(replicas: usize, _: &RaftSettings) -> Option<WriteCost> {
        Some(WriteCost {
            kinds: vec!["APPEND_ENTRIES", "APPEND_REPLY"],
            formula: "2(n-1)",
            messages: 2 * (replicas as u64).saturating_sub(1),
        })
    }
}
