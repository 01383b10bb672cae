//! ZAB as ZooKeeper 3.x runs it: a sans-IO replica that is, at any moment, LOOKING (Fast Leader
//! Election, `election`), FOLLOWING or LEADING, and goes through Zab's phases in those roles:
//! discovery (`discovery`: FOLLOWERINFO / LEADERINFO / ACKEPOCH, Zab §5.1 phase 1), synchronisation
//! (`sync`: DIFF / TRUNC / SNAP, NEWLEADER, UPTODATE, phase 2) and broadcast (`broadcast`:
//! PROPOSAL / ACK / COMMIT, pings and quorum checks, phase 3). It serves ZooKeeper's client protocol
//! through the shared front end (`crate::zookeeper`: sessions, local reads, per-session order,
//! watches, the in-memory database), which it drives as a `Replication`; keeps its durable state in
//! a transaction log, a snapshot and two epoch files (`storage`), and reports what the checks need
//! (`checks`). Its named variants (`variants`)
//! each flip one rule. Paper: Junqueira, Reed, Serafini, "Zab: High-performance broadcast for
//! primary-backup systems", DSN 2011 (cited as "Zab §n"); implementation: ZooKeeper's
//! `QuorumPeer`, `FastLeaderElection`, `Leader`, `LearnerHandler`, `Learner`, `Follower`.
//!
//! This module owns the replica's state and the dispatch of every input to the phase that handles
//! it, and the transitions between roles. It must never read a clock, spawn, or draw randomness
//! except through its `Ctx`; and it never sends a message that vouches for state before the fsync
//! that makes the state durable has completed (the phases wait for `Input::Synced`).

mod broadcast;
pub mod checks;
mod discovery;
pub mod election;
pub mod messages;
pub mod settings;
pub mod storage;
pub mod sync;
pub mod variants;

pub use checks::ZabEvent;
pub use messages::{PeerState, Txn, ZabMsg};
pub use settings::ZabSettings;
pub use variants::Variant;

use crate::cluster::{
    Node, Protocol, ProtocolReport, Replica, ReplicaCtx, ReplicaStatus, WriteCost,
};
use crate::znode::{SessionId, Zxid};
use crate::zookeeper::server::{self, Replication, Submitted, ZkServer};
use crate::zookeeper::{Db, ExpiryRule};
use election::Election;
use rand::RngExt;
use sim::{Ctx, Input, NodeId, SimTime, TimerId, World};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use storage::{Snapshot, Storage, Stored};

pub(crate) type Cx<'a> = Ctx<'a, Node<Zab>>;

/// The replica's timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ZabTimer {
    /// Every half tick, for the whole life of the replica: the leader's pings, its quorum check and
    /// session expiry (every other half tick), a follower's read timeout, the phase deadlines.
    HalfTick,
    /// FLE: no notification arrived within the current notification interval.
    Poll,
    /// FLE: the finalize wait is over with no better vote.
    Finalize,
    /// A learner repeats its FOLLOWERINFO for connection `conn`.
    ConnectRetry { conn: u64 },
}

/// A follower's progress through discovery and synchronisation (`Learner.registerWithLeader`,
/// `Learner.syncWithLeader`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FStage {
    /// FOLLOWERINFO sent; waiting for LEADERINFO.
    Connecting,
    /// LEADERINFO accepted; acceptedEpoch is being written. ACKEPOCH leaves once it is durable.
    AckingEpoch { epoch_wseq: u64 },
    /// ACKEPOCH sent; waiting for DIFF, TRUNC or SNAP.
    AwaitSync,
    /// Receiving the leader's history.
    Syncing,
    /// NEWLEADER received; making the history and the epoch durable, in the variant's order.
    NewLeader(sync::NewLeaderStep),
    /// ACK(NEWLEADER) sent; waiting for UPTODATE.
    AwaitUpToDate,
    /// UPTODATE received: following and serving clients.
    Broadcast,
}

/// The follower's side of one connection to its leader.
pub(crate) struct Following {
    pub leader: NodeId,
    pub conn: u64,
    pub stage: FStage,
    /// The epoch LEADERINFO proposed.
    pub epoch: u32,
    pub entered: SimTime,
    /// The last time anything arrived from the leader.
    pub last_heard: SimTime,
    /// SNAP received during sync: installed on disk at NEWLEADER.
    pub snap: Option<Box<Snapshot>>,
    /// Transactions received whose logging waits for NEWLEADER (ZooKeeper's `packetsNotLogged`).
    pub not_logged: Vec<Txn>,
    /// Transactions received and not yet committed, in zxid order.
    pub pending: VecDeque<Txn>,
    /// Logged transactions to ack once durable (and once NEWLEADER has been acked).
    pub unacked: VecDeque<(Zxid, u64)>,
    /// The last zxid received in this connection, for the contiguity check (ZOOKEEPER-4925).
    pub last_received: Zxid,
    pub retry_timer: Option<TimerId>,
}

/// The leader's view of one learner (ZooKeeper's `LearnerHandler`).
#[derive(Clone, Debug)]
pub(crate) struct Learner {
    pub conn: u64,
    pub stage: LStage,
    pub last_heard: SimTime,
    /// The learner's last zxid, from its ACKEPOCH.
    pub last_zxid: Zxid,
    /// The last ping round it answered.
    pub round_acked: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LStage {
    /// LEADERINFO due or sent; waiting for ACKEPOCH.
    AwaitAckEpoch,
    /// ACKEPOCH received; waiting for a quorum of them before syncing.
    AwaitElection,
    /// Its history was sent, then NEWLEADER; it is a forwarding follower from now on.
    Syncing,
    /// It acked NEWLEADER; UPTODATE follows once a quorum did.
    Synced,
    /// UPTODATE sent.
    Broadcast,
}

/// A proposal the leader has not committed yet.
#[derive(Clone, Debug)]
pub(crate) struct Proposal {
    pub txn: Txn,
    pub acks: BTreeSet<NodeId>,
    /// The write that logged it on the leader: the leader's own ack waits for it.
    pub wseq: u64,
}

/// Who asked for a `sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SyncOrigin {
    Learner(NodeId),
    Local,
}

/// A `sync` the leader has yet to answer.
#[derive(Clone, Debug)]
pub(crate) struct PendingSync {
    pub origin: SyncOrigin,
    pub session: SessionId,
    pub xid: u64,
    /// Answer once this proposal is committed (`Leader.processSync`: the last proposed one).
    pub wait: Zxid,
    /// sync-through-quorum: answer once a quorum has answered this ping round.
    pub round: Option<u64>,
}

/// The leader's state (ZooKeeper's `Leader`).
pub(crate) struct Leading {
    /// The epoch it proposes, once a quorum of FOLLOWERINFO fixed it (`getEpochToPropose`).
    pub epoch: Option<u32>,
    /// The write of acceptedEpoch = epoch; LEADERINFO leaves once it is durable.
    pub accepted_wseq: Option<u64>,
    pub epoch_durable: bool,
    /// acceptedEpoch of every participant connected during discovery, the leader included.
    pub connecting: BTreeMap<NodeId, u32>,
    /// Counted ACKEPOCHs, the leader's own included (`waitForEpochAck`).
    pub epoch_acks: BTreeSet<NodeId>,
    pub election_finished: bool,
    /// The write of currentEpoch = epoch; the leader's own NEWLEADER ack waits for it.
    pub current_wseq: Option<u64>,
    pub newleader_acks: BTreeSet<NodeId>,
    pub established: bool,
    /// Discovery and sync must be over by then (initLimit).
    pub deadline: SimTime,
    pub learners: BTreeMap<NodeId, Learner>,
    pub outstanding: BTreeMap<Zxid, Proposal>,
    pub last_proposed: Zxid,
    pub pending_syncs: Vec<PendingSync>,
    pub ping_round: u64,
}

/// The replica's role.
pub(crate) enum State {
    Looking,
    Following(Box<Following>),
    Leading(Box<Leading>),
}

/// One ZAB replica.
pub struct Zab {
    pub(crate) id: NodeId,
    pub(crate) n: usize,
    pub(crate) settings: ZabSettings,
    pub(crate) variant: Variant,
    pub(crate) store: Storage,
    pub(crate) election: Election,
    pub(crate) state: State,
    /// The ZooKeeper server this replica runs: client connections, sessions, watches and the
    /// in-memory database (ZooKeeper's `ZKDatabase`) that committed transactions are applied to.
    pub(crate) zk: ZkServer,
    /// Whether the database holds exactly a prefix of what the log holds (false while a sync
    /// has applied transactions not yet logged, or a snapshot not yet installed).
    pub(crate) db_from_disk: bool,
    half_ticks: u64,
    next_conn: u64,
    /// Compact the log once this many transactions follow its snapshot (snapCount, randomised).
    compact_after: u64,
}

impl Zab {
    pub fn new(id: NodeId, replicas: usize, settings: ZabSettings, variant: Variant) -> Zab {
        // `local-session-expiry` flips the one rule of who acts on a session's expiry.
        let expiry = if variant == Variant::LocalSessionExpiry {
            ExpiryRule::EveryServerLocally
        } else {
            ExpiryRule::Leader
        };
        let mut zk = ZkServer::new(settings.session_limits(), expiry);
        zk.db = Db::from_snapshot(&Snapshot::empty());
        Zab {
            id,
            n: replicas,
            store: Storage::empty(),
            election: Election::new(id, settings.min_notification_interval()),
            state: State::Looking,
            zk,
            db_from_disk: false,
            half_ticks: 0,
            next_conn: 0,
            compact_after: settings.snap_count,
            settings,
            variant,
        }
    }

    /// The in-memory database: for tests and tools, which must not change it.
    pub fn database(&self) -> &Db {
        &self.zk.db
    }

    /// (acceptedEpoch, currentEpoch) as this replica holds them.
    pub fn epochs(&self) -> (u32, u32) {
        (self.store.accepted_epoch, self.store.current_epoch)
    }

    /// Whether `voters` (this replica included, where it counts itself) are a quorum: a strict
    /// majority of the ensemble's distinct members.
    pub(crate) fn is_quorum(&self, voters: impl IntoIterator<Item = NodeId>) -> bool {
        crate::replication::is_quorum(self.n, voters)
    }

    pub(crate) fn peers(&self) -> impl Iterator<Item = NodeId> + use<> {
        let me = self.id;
        (0..self.n as u32).map(NodeId).filter(move |p| *p != me)
    }

    pub(crate) fn report_applied(&self, ctx: &mut Cx<'_>) {
        ctx.report(ZabEvent::Applied {
            zxid: self.zk.db.last_processed,
            chain: self.zk.db.chain,
        });
    }

    /// A protocol assertion failed: a finding for the run, not a panic.
    pub(crate) fn violation(&self, ctx: &mut Cx<'_>, what: String) {
        ctx.report(ZabEvent::Violation(what));
    }

    /// Start-up, fresh or after a crash: rebuild from the disk (`QuorumPeer.loadDataBase`) and
    /// look for a leader.
    fn start(&mut self, ctx: &mut Cx<'_>) {
        let (store, problems) = Storage::recover(ctx);
        self.store = store;
        for p in problems {
            self.violation(ctx, format!("recovery: {p}"));
        }
        self.reload(ctx);
        // Session ids: the server id in the high bits and the start time below, so that no two
        // servers, and no two lives of one server, hand out the same id (ZooKeeper's
        // `SessionTrackerImpl.initializeNextSessionId`, on virtual time).
        self.zk.next_session =
            ((u64::from(self.id.0) + 1) << 45) | ((ctx.now().as_ms() & 0x1fff_ffff) << 16);
        self.schedule_compaction(ctx);
        let half = self.settings.half_tick();
        ctx.set_replica_timer(half, ZabTimer::HalfTick);
        self.look_for_leader(ctx);
    }

    /// Discards the in-memory database and loads it again from the disk: at start-up, and every
    /// time the replica stops following or leading (the fix of ZOOKEEPER-2845 and -3642: what a
    /// replica advertises in the next election is what it logged, and nothing a sync left only in
    /// memory survives it). When the database already holds a prefix of the log, applying the
    /// rest of the log gives the same database, and that is what is done.
    pub(crate) fn reload(&mut self, ctx: &mut Cx<'_>) {
        let last = self.zk.db.last_processed;
        let prefix = self.db_from_disk
            && (last == self.store.base.zxid || self.store.position(last).is_some());
        if prefix {
            let from = self.store.log.partition_point(|l| l.txn.zxid <= last);
            for i in from..self.store.log.len() {
                let txn = self.store.log[i].txn.clone();
                if let Err(e) = self.zk.db.apply(&txn) {
                    self.violation(ctx, format!("reloading the database: {e}"));
                    break;
                }
                self.report_applied(ctx);
            }
        } else {
            let mut applied = Vec::new();
            match self
                .store
                .load(|db| applied.push((db.last_processed, db.chain)))
            {
                Ok(db) => self.zk.db = db,
                Err(e) => self.violation(ctx, format!("reloading the database: {e}")),
            }
            for (zxid, chain) in applied {
                if zxid != Zxid::ZERO {
                    ctx.report(ZabEvent::Applied { zxid, chain });
                }
            }
        }
        self.db_from_disk = true;
    }

    /// Leaves FOLLOWING or LEADING (or restarts an election) and looks for a leader again
    /// (`QuorumPeer.run`: any error, timeout or loss of quorum ends in LOOKING). `why` is logged
    /// with the event; `reset_by` names a peer whose channel already broke (no need to close it).
    pub(crate) fn enter_looking(
        &mut self,
        ctx: &mut Cx<'_>,
        why: &'static str,
        reset_by: Option<NodeId>,
    ) {
        let state = std::mem::replace(&mut self.state, State::Looking);
        let lost = match &state {
            State::Looking => None,
            State::Following(f) => {
                if let Some(t) = f.retry_timer {
                    ctx.cancel_timer(t);
                }
                // Learner.shutdown closes the socket to the leader.
                if reset_by != Some(f.leader) {
                    ctx.disconnect(f.leader);
                }
                (f.stage == FStage::Broadcast).then_some(f.epoch)
            }
            State::Leading(l) => {
                // Leader.shutdown closes every learner's socket.
                for &peer in l.learners.keys() {
                    if reset_by != Some(peer) {
                        ctx.disconnect(peer);
                    }
                }
                l.established
                    .then(|| l.epoch.expect("an established leader has an epoch"))
            }
        };
        ctx.report(ZabEvent::Looking {
            why,
            lost_epoch: lost,
        });
        server::stop_serving(self, ctx);
        self.reload(ctx);
        self.look_for_leader(ctx);
    }

    /// Draws the next snapshot point: snapCount/2 plus a random part, as ZooKeeper's
    /// `SyncRequestProcessor` randomises it so that replicas do not snapshot together.
    fn schedule_compaction(&mut self, ctx: &mut Cx<'_>) {
        let half = (self.settings.snap_count / 2).max(1);
        self.compact_after = half + ctx.rng().random_range(0..=half);
    }

    /// After a commit in broadcast: snapshot and compact once enough transactions piled up.
    pub(crate) fn maybe_compact(&mut self, ctx: &mut Cx<'_>) {
        let since =
            self.store
                .log
                .partition_point(|l| l.txn.zxid <= self.zk.db.last_processed) as u64;
        if since >= self.compact_after {
            self.store.compact(ctx, &self.zk.db);
            self.store.sync(ctx);
            self.schedule_compaction(ctx);
        }
    }

    /// Some writes became durable: every phase waiting for one may proceed, in protocol order.
    fn on_durable(&mut self, ctx: &mut Cx<'_>) {
        match &self.state {
            State::Looking => {}
            State::Following(_) => {
                self.follower_epoch_durable(ctx);
                self.follower_new_leader_durable(ctx);
                self.flush_acks(ctx);
            }
            State::Leading(_) => {
                self.leader_epoch_durable(ctx);
                self.leader_current_epoch_durable(ctx);
                self.leader_self_acks(ctx);
            }
        }
    }

    fn on_half_tick(&mut self, ctx: &mut Cx<'_>) {
        self.half_ticks += 1;
        let full_tick = self.half_ticks.is_multiple_of(2);
        match &self.state {
            State::Looking => {}
            State::Following(_) => self.follower_tick(ctx),
            State::Leading(_) => self.leader_tick(ctx, full_tick),
        }
        if full_tick {
            self.expire_sessions(ctx);
        }
        let half = self.settings.half_tick();
        ctx.set_replica_timer(half, ZabTimer::HalfTick);
    }

    fn on_peer(&mut self, from: NodeId, msg: ZabMsg, ctx: &mut Cx<'_>) {
        if from.index() >= self.n {
            return;
        }
        match msg {
            ZabMsg::Notification { vote, round, state } => {
                self.on_notification(from, vote, round, state, ctx)
            }
            ZabMsg::FollowerInfo {
                accepted_epoch,
                conn,
            } => self.on_follower_info(from, accepted_epoch, conn, ctx),
            ZabMsg::AckEpoch {
                current_epoch,
                last_zxid,
                conn,
            } => self.on_ack_epoch(from, current_epoch, last_zxid, conn, ctx),
            ZabMsg::LeaderInfo { epoch, conn } => self.on_leader_info(from, epoch, conn, ctx),
            other => {
                // Everything else travels on an established learner connection.
                match &mut self.state {
                    State::Following(f) if f.leader == from => {
                        f.last_heard = ctx.now();
                        self.on_from_leader(other, ctx);
                    }
                    State::Leading(l) => {
                        let Some(learner) = l.learners.get_mut(&from) else {
                            return;
                        };
                        learner.last_heard = ctx.now();
                        self.on_from_learner(from, other, ctx);
                    }
                    _ => {}
                }
            }
        }
    }

    fn on_from_leader(&mut self, msg: ZabMsg, ctx: &mut Cx<'_>) {
        match msg {
            ZabMsg::Diff { zxid } => self.on_diff(zxid, ctx),
            ZabMsg::Trunc { zxid } => self.on_trunc(zxid, ctx),
            ZabMsg::Snap(s) => self.on_snap(s, ctx),
            ZabMsg::Proposal(txn) => self.on_proposal(txn, ctx),
            ZabMsg::Commit { zxid } => self.on_commit(zxid, ctx),
            ZabMsg::NewLeader { zxid } => self.on_new_leader(zxid, ctx),
            ZabMsg::UpToDate => self.on_up_to_date(ctx),
            ZabMsg::Ping { round, .. } => self.on_leader_ping(round, ctx),
            ZabMsg::SyncDone { session, xid } => server::synced(self, session, xid, ctx),
            ZabMsg::Revalidated { session, valid } => {
                server::revalidated(self, session, valid, ctx)
            }
            _ => {}
        }
    }

    fn on_from_learner(&mut self, from: NodeId, msg: ZabMsg, ctx: &mut Cx<'_>) {
        match msg {
            ZabMsg::Ack { zxid } => self.on_ack(from, zxid, ctx),
            ZabMsg::Ping { round, touches } => self.on_learner_ping(from, round, touches, ctx),
            // Client traffic from a learner is served only by an established leader.
            _ if !self.is_established_leader() => {}
            ZabMsg::Request {
                session,
                xid,
                write,
                timeout_ms,
            } => self.propose(session, xid, write, timeout_ms, ctx),
            ZabMsg::Sync { session, xid } => {
                self.leader_sync(SyncOrigin::Learner(from), session, xid, ctx)
            }
            ZabMsg::Revalidate { session, .. } => {
                let valid = self.zk.tracker.touch(session, ctx.now());
                ctx.send_peer(from, ZabMsg::Revalidated { session, valid });
            }
            _ => {}
        }
    }

    /// Whether this server answers clients: an established leader, or a follower after UPTODATE.
    pub(crate) fn is_serving(&self) -> bool {
        match &self.state {
            State::Looking => false,
            State::Following(f) => f.stage == FStage::Broadcast,
            State::Leading(l) => l.established,
        }
    }

    pub(crate) fn is_established_leader(&self) -> bool {
        matches!(&self.state, State::Leading(l) if l.established)
    }

    fn on_disconnected(&mut self, peer: NodeId, ctx: &mut Cx<'_>) {
        if peer.index() >= self.n {
            server::client_gone(self, peer);
            return;
        }
        match &mut self.state {
            // ZAB assumes FIFO channels that lose nothing in the middle: a broken connection to the
            // leader is the loss of the leader (Follower.followLeader's read fails).
            State::Following(f) if f.leader == peer => {
                self.enter_looking(ctx, "connection to the leader reset", Some(peer))
            }
            // The LearnerHandler dies with its socket.
            State::Leading(l) => {
                l.learners.remove(&peer);
            }
            _ => {}
        }
    }
}

impl Replica for Zab {
    type Peer = ZabMsg;
    type Timer = ZabTimer;
    type Stored = Stored;
    type Event = ZabEvent;

    fn on_input(&mut self, input: Input<ZabMsg, ZabTimer>, ctx: &mut Cx<'_>) {
        match input {
            Input::Start { .. } => self.start(ctx),
            Input::Message { from, msg } => self.on_peer(from, msg, ctx),
            Input::Timer { timer, .. } => match timer {
                ZabTimer::HalfTick => self.on_half_tick(ctx),
                ZabTimer::Poll => self.on_poll_timeout(ctx),
                ZabTimer::Finalize => self.on_finalize(ctx),
                ZabTimer::ConnectRetry { conn } => self.on_connect_retry(conn, ctx),
            },
            Input::Synced { io } => {
                if let Err(e) = self.store.on_synced(ctx, io) {
                    self.violation(ctx, e);
                }
                self.on_durable(ctx);
            }
            Input::Disconnected { peer } => self.on_disconnected(peer, ctx),
        }
    }

    fn leadership(&self) -> Option<u64> {
        match &self.state {
            State::Leading(l) if l.established => l.epoch.map(u64::from),
            _ => None,
        }
    }

    fn status(&self) -> ReplicaStatus {
        let role = match &self.state {
            State::Looking => "looking".to_string(),
            State::Following(f) if f.stage == FStage::Broadcast => {
                format!("following {}", f.leader)
            }
            State::Following(f) => format!("following {} (syncing)", f.leader),
            State::Leading(l) if l.established => "leading".to_string(),
            State::Leading(l) if l.epoch.is_none() => "leading (discovery)".to_string(),
            State::Leading(_) => "leading (syncing)".to_string(),
        };
        ReplicaStatus {
            role,
            term: u64::from(self.store.current_epoch),
            logged: format!("{:#x}", self.store.last_zxid().0),
            committed: format!("{:#x}", self.zk.db.last_processed.0),
        }
    }
}

/// What ZAB offers the ZooKeeper front end: writes go to the leader (forwarded as REQUEST by a
/// follower) and are proposed there; a `sync` is answered by the leader after the proposals
/// outstanding when it arrived (`Leader.processSync`); a learner asks the leader to revalidate a
/// reconnecting client's session (REVALIDATE).
impl Replication for Zab {
    fn zk(&self) -> &ZkServer {
        &self.zk
    }

    fn zk_mut(&mut self) -> &mut ZkServer {
        &mut self.zk
    }

    fn may_serve(&self) -> bool {
        self.is_serving()
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
        match &self.state {
            State::Following(f) => ctx.send_peer(
                f.leader,
                ZabMsg::Request {
                    session,
                    xid,
                    write,
                    timeout_ms,
                },
            ),
            State::Leading(_) => self.propose(session, xid, write, timeout_ms, ctx),
            State::Looking => {}
        }
    }

    fn sync(&mut self, session: SessionId, xid: u64, ctx: &mut Cx<'_>) {
        match &self.state {
            State::Following(f) => ctx.send_peer(f.leader, ZabMsg::Sync { session, xid }),
            State::Leading(_) => self.leader_sync(SyncOrigin::Local, session, xid, ctx),
            State::Looking => {}
        }
    }

    fn revalidate_at_leader(&mut self, session: SessionId, timeout_ms: u64, ctx: &mut Cx<'_>) {
        if let State::Following(f) = &self.state {
            ctx.send_peer(
                f.leader,
                ZabMsg::Revalidate {
                    session,
                    timeout_ms,
                },
            );
        }
    }
}

impl Protocol for Zab {
    const NAME: &'static str = "zab";
    const MESSAGE_KINDS: &'static [&'static str] = messages::KINDS;
    type Variant = Variant;
    const FIFO: bool = true;
    /// Reads are served from the local tree of the server a client is connected to.
    const LINEARIZABLE_READS: bool = false;
    type Settings = ZabSettings;

    fn new(id: NodeId, replicas: usize, settings: &ZabSettings, variant: Variant) -> Zab {
        Zab::new(id, replicas, settings.clone(), variant)
    }

    fn report(world: &World<Node<Zab>>) -> ProtocolReport {
        checks::report(world)
    }

    /// Zab §5.2 phase 3 (broadcast): the leader sends a PROPOSAL to each follower, each acks it
    /// after its fsync, and the leader sends each a COMMIT once a quorum acked: 3(n−1) messages,
    /// the explicit COMMIT that Raft and Paxos piggyback or replace.
    fn write_cost(replicas: usize, _: &ZabSettings) -> Option<WriteCost> {
        Some(WriteCost {
            kinds: vec!["PROPOSAL", "ACK", "COMMIT"],
            formula: "3(n-1)",
            messages: 3 * (replicas as u64).saturating_sub(1),
        })
    }
}
