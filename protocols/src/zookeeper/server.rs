//! The client-facing side of every ZooKeeper server, whatever replicates it: ZooKeeper's
//! `ServerCnxn`s, session tracker and request pipeline as far as a client can observe them.
//!
//! - A server serves only while its protocol says it may (`Replication::may_serve`: an
//!   established leader, a follower past UPTODATE, the standalone server); otherwise it closes
//!   client connections ("ZooKeeperServer not running").
//! - It refuses a client that has seen a zxid newer than its own database, so no client sees time
//!   go backwards (`ZooKeeperServer.processConnectRequest`), and clamps the timeout a client asks
//!   for (`SessionLimits::negotiate_ms`, the one place).
//! - Sessions are created by a createSession transaction, answered when it commits here, and
//!   revalidated with the leader when a client reconnects (`revalidateSession`).
//! - Writes are handed to the protocol (`Replication::submit`) and answered when they commit here;
//!   reads are answered from the local tree after the session's earlier requests
//!   (`CommitProcessor`'s per-session order: FIFO client order, read-your-writes); `sync` is
//!   answered once the protocol's barrier says so (`Replication::sync`, then `synced`).
//! - Watches are per server, fired when a committed transaction is applied here (before the
//!   writer's answer), dropped with the connection, and re-armed by SetWatches on reconnect.
//! - The session tracker (`sessions`) is quorum state: sessions open and close by transactions
//!   applied here. Only the leader acts on expiry, by submitting a closeSession
//!   (`ExpiryRule::Leader`); `ExpiryRule::EveryServerLocally` is the rule the `local-session-expiry`
//!   variant flips.
//!
//! A protocol implements `Replication` and calls the functions of this module: `on_client` for
//! client traffic, `commit` for each transaction it commits here, in zxid order, `synced` when a
//! sync barrier passed, `revalidated` when the leader answered, `expire_sessions` every tick,
//! `client_gone` when a client's connection closes and `stop_serving` when it stops serving. This
//! module decides nothing about replication: it never assigns a zxid, and it never answers a write
//! before the protocol committed it.

use super::database::{Db, Txn};
use super::sessions::{SessionLimits, SessionTracker, TouchTable};
use crate::cluster::{Node, Obs, Record, Replica, ReplicaCtx, Value, expiry_process};
use crate::wire::{ToClient, ToServer};
use crate::znode::watch::{Notification, WatchTable};
use crate::znode::{Applied, Read, Request, SessionId, Sync, Write, Zxid};
use sim::history::LineType;
use sim::{Ctx, NodeId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The context every front-end function acts through.
pub type ZkCtx<'a, P> = Ctx<'a, Node<P>>;

/// A transaction a server asks its protocol to order: a client's write, a new session's
/// createSession (with its negotiated timeout) or a closeSession. The protocol stamps the zxid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    pub session: SessionId,
    /// The client's request id; 0 for createSession and for the leader's own closeSession.
    pub xid: u64,
    pub write: Write,
    /// createSession only: the negotiated timeout.
    pub timeout_ms: u64,
}

/// Who acts on a session's expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryRule {
    /// ZooKeeper: only the leader, by submitting a closeSession transaction.
    Leader,
    /// `local-session-expiry`: every serving server deletes the session's ephemerals in its own
    /// tree, with no transaction.
    EveryServerLocally,
}

/// What a replication protocol offers the front end. The front end owns connections, sessions,
/// watches and the database; the protocol owns only the order of transactions.
pub trait Replication: Replica {
    fn zk(&self) -> &ZkServer;
    fn zk_mut(&mut self) -> &mut ZkServer;
    /// Whether this replica answers clients now.
    fn may_serve(&self) -> bool;
    /// Whether this replica is the established leader: it decides expiry and revalidation.
    fn is_leader(&self) -> bool;
    /// Orders `txn`; the protocol calls `commit` when (and if) it commits here.
    fn submit(&mut self, txn: Submitted, ctx: &mut ZkCtx<'_, Self>);
    /// A barrier for `session`'s sync `xid`: the protocol calls `synced` once everything committed
    /// anywhere before the barrier is applied here.
    fn sync(&mut self, session: SessionId, xid: u64, ctx: &mut ZkCtx<'_, Self>);
    /// A client reconnected with `session` to a server that does not lead: ask the leader, which
    /// answers through `revalidated`. The default suits a protocol whose every server leads.
    fn revalidate_at_leader(
        &mut self,
        session: SessionId,
        timeout_ms: u64,
        ctx: &mut ZkCtx<'_, Self>,
    ) {
        let _ = timeout_ms;
        let valid = self.zk_mut().tracker.touch(session, ctx.now());
        revalidated(self, session, valid, ctx);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the createSession transaction to commit.
    Creating,
    /// Waiting for the leader to say whether the session is still valid.
    Revalidating,
    Open,
}

/// A request of the session, queued behind the ones before it.
#[derive(Clone, Debug)]
enum Queued {
    /// A write, answered when it commits here.
    Write { xid: u64 },
    /// A sync, answered once the barrier passed (`done`).
    Sync { xid: u64, path: String, done: bool },
    /// A read, answered from the local tree when it reaches the head.
    Read { xid: u64, read: Read },
}

#[derive(Clone, Debug)]
struct Conn {
    session: SessionId,
    timeout_ms: u64,
    phase: Phase,
    queue: VecDeque<Queued>,
}

/// One server's front end: its database, its client connections and their watches, its session
/// tracker.
pub struct ZkServer {
    /// The database committed transactions are applied to, in zxid order.
    pub db: Db,
    conns: BTreeMap<NodeId, Conn>,
    watches: WatchTable,
    /// The next session id this server hands out.
    pub next_session: u64,
    /// Session deadlines: acted on by the leader only (every server under
    /// `ExpiryRule::EveryServerLocally`).
    pub tracker: SessionTracker,
    /// A non-leader's clients' activity, for the leader (ZAB hands it over in ping answers).
    pub touches: TouchTable,
    limits: SessionLimits,
    expiry: ExpiryRule,
    /// Whether this server records the expiries it starts in the history.
    record_expiry: bool,
    /// Sessions whose expiry this server recorded as invoked and not yet as done.
    expiring: BTreeSet<SessionId>,
}

impl ZkServer {
    pub fn new(limits: SessionLimits, expiry: ExpiryRule) -> ZkServer {
        ZkServer {
            db: Db::empty(),
            conns: BTreeMap::new(),
            watches: WatchTable::new(),
            next_session: 1,
            tracker: SessionTracker::new(limits.tick()),
            touches: TouchTable::default(),
            limits,
            expiry,
            record_expiry: false,
            expiring: BTreeSet::new(),
        }
    }

    /// Records every expiry this server starts in the history, as a `close_session` of process
    /// `expiry_process(session)` from the moment it is decided until it is applied here, so that
    /// checkers see exactly when it took effect.
    pub fn recording_expiry(mut self) -> ZkServer {
        self.record_expiry = true;
        self
    }

    /// The connected client speaking for `session`, if any.
    pub fn client_of(&self, session: SessionId) -> Option<NodeId> {
        self.conns
            .iter()
            .find(|(_, c)| c.session == session)
            .map(|(n, _)| *n)
    }

    /// The session `client`'s connection speaks for, open or not yet.
    pub fn session_of(&self, client: NodeId) -> Option<SessionId> {
        self.conns.get(&client).map(|c| c.session)
    }

    /// A new leader (or, under `ExpiryRule::EveryServerLocally`, any server that starts serving)
    /// tracks every open session of its database, each with a fresh deadline.
    pub fn rebuild_sessions(&mut self, now: sim::SimTime) {
        self.tracker.rebuild(&self.db.timeouts, now);
    }

    fn open_session_of(&self, client: NodeId) -> Option<SessionId> {
        self.conns
            .get(&client)
            .filter(|c| c.phase == Phase::Open)
            .map(|c| c.session)
    }
}

/// Client activity keeps the session alive: in this server's tracker, and (off the leader) in the
/// touch table the leader reads.
fn touch<P: Replication>(p: &mut P, session: SessionId, ctx: &mut ZkCtx<'_, P>) {
    let leader = p.is_leader();
    let zk = p.zk_mut();
    zk.tracker.touch(session, ctx.now());
    if !leader {
        zk.touches.touch(session);
    }
}

/// A client's message.
pub fn on_client<P: Replication>(p: &mut P, from: NodeId, msg: ToServer, ctx: &mut ZkCtx<'_, P>) {
    if !p.may_serve() {
        ctx.disconnect(from);
        p.zk_mut().conns.remove(&from);
        return;
    }
    match msg {
        ToServer::Connect {
            session,
            last_zxid_seen,
            timeout_ms,
        } => {
            if last_zxid_seen > p.zk().db.last_processed {
                // "Refusing session request for client as it has seen zxid ... our last zxid
                // is ...": the client must try another server.
                ctx.disconnect(from);
                p.zk_mut().conns.remove(&from);
                return;
            }
            let timeout_ms = p.zk().limits.negotiate_ms(timeout_ms);
            let (session, phase) = match session {
                None => {
                    let zk = p.zk_mut();
                    let session = SessionId(zk.next_session);
                    zk.next_session += 1;
                    (session, Phase::Creating)
                }
                Some(session) => (session, Phase::Revalidating),
            };
            let conn = Conn {
                session,
                timeout_ms,
                phase,
                queue: VecDeque::new(),
            };
            p.zk_mut().conns.insert(from, conn);
            match phase {
                Phase::Creating => {
                    let txn = Submitted {
                        session,
                        xid: 0,
                        write: Write::OpenSession,
                        timeout_ms,
                    };
                    p.submit(txn, ctx);
                }
                // `revalidateSession`: the leader touches the session; another server asks it.
                _ if p.is_leader() => {
                    let valid = p.zk_mut().tracker.touch(session, ctx.now());
                    revalidated(p, session, valid, ctx);
                }
                _ => p.revalidate_at_leader(session, timeout_ms, ctx),
            }
        }
        ToServer::Ping => {
            let Some(session) = p.zk().open_session_of(from) else {
                return;
            };
            touch(p, session, ctx);
            let zxid = p.zk().db.last_processed;
            ctx.send_client(from, ToClient::Pong { zxid });
        }
        ToServer::SetWatches {
            last_zxid_seen,
            data,
            exist,
            child,
        } => {
            let Some(session) = p.zk().open_session_of(from) else {
                return;
            };
            touch(p, session, ctx);
            let zk = p.zk_mut();
            let fired =
                zk.watches
                    .set_watches(&zk.db.tree, session, last_zxid_seen, &data, &exist, &child);
            let zxid = zk.db.last_processed;
            notify(zk, fired, zxid, ctx);
        }
        ToServer::Request { xid, request } => {
            let Some(session) = p.zk().open_session_of(from) else {
                return;
            };
            touch(p, session, ctx);
            let conn = p.zk_mut().conns.get_mut(&from).expect("open");
            match request {
                Request::Write(write) => {
                    conn.queue.push_back(Queued::Write { xid });
                    let txn = Submitted {
                        session,
                        xid,
                        write,
                        timeout_ms: 0,
                    };
                    p.submit(txn, ctx);
                }
                Request::Read(Read::Sync(Sync { path })) => {
                    conn.queue.push_back(Queued::Sync {
                        xid,
                        path,
                        done: false,
                    });
                    p.sync(session, xid, ctx);
                }
                Request::Read(read) => {
                    conn.queue.push_back(Queued::Read { xid, read });
                    drain(p.zk_mut(), from, ctx);
                }
            }
        }
    }
}

/// A committed transaction, the next in zxid order, is applied here (Zab's deliver,
/// `FinalRequestProcessor`): the session tracker follows it, and while this server serves, the
/// watches it triggers fire, its client (if connected here) gets its answer, and the connection of
/// a session it closed is closed. An error is a protocol assertion broken (out of order, a
/// session opened twice): the caller reports it.
pub fn commit<P: Replication>(
    p: &mut P,
    txn: &Txn,
    ctx: &mut ZkCtx<'_, P>,
) -> Result<Applied, String> {
    let serving = p.may_serve();
    let me = ctx.me();
    let zk = p.zk_mut();
    let applied = zk.db.apply(txn)?;
    match txn.write {
        Write::OpenSession => zk.tracker.add(txn.session, txn.timeout_ms, ctx.now()),
        Write::CloseSession if applied.outcome.is_ok() => zk.tracker.remove(txn.session),
        _ => {}
    }
    if serving {
        deliver(zk, txn, &applied, ctx);
    }
    if txn.write == Write::CloseSession && zk.expiring.remove(&txn.session) {
        let done = expiry_record(
            me,
            txn.session,
            LineType::Ok,
            Value::Outcome(applied.outcome.clone()),
            Some(txn.zxid),
        );
        ctx.record(Obs::History(done));
    }
    Ok(applied)
}

fn deliver<P: Replication>(
    zk: &mut ZkServer,
    txn: &Txn,
    applied: &Applied,
    ctx: &mut ZkCtx<'_, P>,
) {
    let fired = zk.watches.fire_write(txn.session, &txn.write, applied);
    notify(zk, fired, txn.zxid, ctx);
    let client = zk.client_of(txn.session);
    if let Some(client) = client {
        let conn = zk.conns.get_mut(&client).expect("found");
        match (&txn.write, conn.phase) {
            (Write::OpenSession, Phase::Creating) => {
                conn.phase = Phase::Open;
                let timeout_ms = conn.timeout_ms;
                ctx.send_client(
                    client,
                    ToClient::Connected {
                        session: txn.session,
                        timeout_ms,
                    },
                );
            }
            (_, Phase::Open) if matches!(conn.queue.front(), Some(Queued::Write { xid }) if *xid == txn.xid) =>
            {
                conn.queue.pop_front();
                let reply = ToClient::Reply {
                    xid: txn.xid,
                    zxid: txn.zxid,
                    outcome: applied.outcome.clone(),
                };
                ctx.send_client(client, reply);
            }
            _ => {}
        }
    }
    if txn.write == Write::CloseSession && applied.outcome.is_ok() {
        close_connections(zk, txn.session, ctx);
    } else if let Some(client) = client {
        drain(zk, client, ctx);
    }
}

/// Closes every connection speaking for `session`, which ended.
fn close_connections<P: Replication>(
    zk: &mut ZkServer,
    session: SessionId,
    ctx: &mut ZkCtx<'_, P>,
) {
    let closed: Vec<NodeId> = zk
        .conns
        .iter()
        .filter(|(_, c)| c.session == session)
        .map(|(n, _)| *n)
        .collect();
    for c in closed {
        zk.conns.remove(&c);
        ctx.disconnect(c);
    }
}

/// Answers the reads (and passed syncs) at the head of a session's queue, from the local tree as
/// it is now.
fn drain<P: Replication>(zk: &mut ZkServer, client: NodeId, ctx: &mut ZkCtx<'_, P>) {
    let zxid = zk.db.last_processed;
    let Some(conn) = zk.conns.get_mut(&client) else {
        return;
    };
    loop {
        let (xid, read) = match conn.queue.front() {
            Some(Queued::Read { xid, read }) => (*xid, read.clone()),
            Some(Queued::Sync {
                xid,
                path,
                done: true,
            }) => (*xid, Read::Sync(Sync { path: path.clone() })),
            _ => return,
        };
        conn.queue.pop_front();
        let outcome = zk.watches.read(&zk.db.tree, conn.session, &read);
        ctx.send_client(client, ToClient::Reply { xid, zxid, outcome });
    }
}

/// The barrier of `session`'s sync `xid` passed: it may be answered in its turn.
pub fn synced<P: Replication>(p: &mut P, session: SessionId, xid: u64, ctx: &mut ZkCtx<'_, P>) {
    let zk = p.zk_mut();
    let Some(client) = zk.client_of(session) else {
        return;
    };
    let conn = zk.conns.get_mut(&client).expect("found");
    for q in &mut conn.queue {
        if let Queued::Sync { xid: x, done, .. } = q
            && *x == xid
        {
            *done = true;
        }
    }
    drain(zk, client, ctx);
}

/// The leader said whether a reconnecting client's session is still valid
/// (`finishSessionInit`).
pub fn revalidated<P: Replication>(
    p: &mut P,
    session: SessionId,
    valid: bool,
    ctx: &mut ZkCtx<'_, P>,
) {
    let zk = p.zk_mut();
    let Some(client) = zk.client_of(session) else {
        return;
    };
    let conn = zk.conns.get_mut(&client).expect("found");
    if conn.phase != Phase::Revalidating {
        return;
    }
    if valid {
        conn.phase = Phase::Open;
        let timeout_ms = conn.timeout_ms;
        ctx.send_client(
            client,
            ToClient::Connected {
                session,
                timeout_ms,
            },
        );
    } else {
        zk.conns.remove(&client);
        ctx.send_client(client, ToClient::Expired { session });
        ctx.disconnect(client);
    }
}

fn notify<P: Replication>(
    zk: &ZkServer,
    fired: Vec<Notification>,
    zxid: Zxid,
    ctx: &mut ZkCtx<'_, P>,
) {
    for n in fired {
        if let Some(client) = zk.client_of(n.session) {
            ctx.send_client(
                client,
                ToClient::Notify {
                    kind: n.kind,
                    path: n.path,
                    zxid,
                },
            );
        }
    }
}

/// The server stops serving: every client connection is closed, and their watches go with them.
pub fn stop_serving<P: Replication>(p: &mut P, ctx: &mut ZkCtx<'_, P>) {
    let zk = p.zk_mut();
    for client in std::mem::take(&mut zk.conns).into_keys() {
        ctx.disconnect(client);
    }
    zk.watches = WatchTable::new();
}

/// A client's connection closed: its watches go (`removeCnxn`); the session lives on until it
/// expires or is closed. What was still to be sent on the connection is lost with it: an answer
/// that comes later finds no connection for its session.
pub fn client_gone<P: Replication>(p: &mut P, client: NodeId) {
    let zk = p.zk_mut();
    if let Some(conn) = zk.conns.remove(&client)
        && zk.client_of(conn.session).is_none()
    {
        zk.watches.remove_session(conn.session);
    }
}

/// Every tick: the sessions past their deadline expire, by the rule of this server. Under
/// `ExpiryRule::Leader` the leader submits a closeSession for each (`SessionTrackerImpl` →
/// `PrepRequestProcessor`); under `ExpiryRule::EveryServerLocally` every serving server deletes
/// them in its own tree. Returns whether this server changed its tree on its own.
pub fn expire_sessions<P: Replication>(p: &mut P, ctx: &mut ZkCtx<'_, P>) -> bool {
    let now = ctx.now();
    match p.zk().expiry {
        ExpiryRule::EveryServerLocally => {
            if !p.may_serve() {
                return false;
            }
            let expired = p.zk_mut().tracker.expire(now);
            for &s in &expired {
                close_session_locally(p.zk_mut(), s, ctx);
            }
            !expired.is_empty()
        }
        ExpiryRule::Leader => {
            if p.is_leader() {
                for session in p.zk_mut().tracker.expire(now) {
                    if p.zk().record_expiry {
                        let invoke = expiry_record(
                            ctx.me(),
                            session,
                            LineType::Invoke,
                            Value::Request(Request::Write(Write::CloseSession)),
                            None,
                        );
                        ctx.record(Obs::History(invoke));
                        p.zk_mut().expiring.insert(session);
                    }
                    let txn = Submitted {
                        session,
                        xid: 0,
                        write: Write::CloseSession,
                        timeout_ms: 0,
                    };
                    p.submit(txn, ctx);
                }
            }
            false
        }
    }
}

/// The history record of this server's expiry of `session`.
fn expiry_record(
    me: NodeId,
    session: SessionId,
    kind: LineType,
    value: Value,
    zxid: Option<Zxid>,
) -> Record {
    Record {
        kind,
        process: expiry_process(session),
        session: Some(session),
        f: "close_session",
        value,
        zxid,
        server: Some(me),
        error: None,
    }
}

/// `local-session-expiry`: the session's ephemerals are deleted in this server's tree alone.
fn close_session_locally<P: Replication>(
    zk: &mut ZkServer,
    session: SessionId,
    ctx: &mut ZkCtx<'_, P>,
) {
    let applied = zk.db.close_locally(session);
    zk.tracker.remove(session);
    let fired = zk
        .watches
        .fire_write(session, &Write::CloseSession, &applied);
    let zxid = zk.db.last_processed;
    notify(zk, fired, zxid, ctx);
    zk.watches.remove_session(session);
    close_connections(zk, session, ctx);
}
