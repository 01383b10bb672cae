//! The client-facing side of a ZAB server: ZooKeeper's `ServerCnxn`s and request pipeline as far
//! as a client can observe them. A server serves only while it is an established leader or a
//! follower past UPTODATE; otherwise it closes client connections ("ZooKeeperServer not running").
//! It refuses a client that has seen a zxid newer than its own database, so no client sees time go
//! backwards. Sessions are created by a createSession transaction and revalidated with the leader
//! when a client reconnects. Writes go to the leader (forwarded as REQUEST by a follower) and are
//! answered when they commit here; reads are answered from the local tree, after the session's
//! earlier requests (`CommitProcessor`'s per-session order: FIFO client order, read-your-writes);
//! `sync` is answered once the leader has said so. Watches are per server, fired when a committed
//! transaction is applied here (before the writer's answer), dropped with the connection, and
//! re-armed by SetWatches on reconnect.
//!
//! It decides nothing about replication: writes and syncs are handed to broadcast.

use super::messages::ZabMsg;
use super::{Cx, FStage, State, SyncOrigin, Zab};
use crate::cluster::ReplicaCtx;
use crate::wire::{ToClient, ToServer};
use crate::znode::watch::{Notification, WatchTable, watch_left_by};
use crate::znode::{Applied, Read, Request, SessionId, Sync, Write, Zxid};
use sim::NodeId;
use std::collections::{BTreeMap, VecDeque};

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
    /// A sync, answered once the leader said so (`done`).
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

/// The connections of one server and their watches.
#[derive(Default)]
pub struct Serving {
    conns: BTreeMap<NodeId, Conn>,
    watches: WatchTable,
    /// The next session id this server hands out.
    pub next_session: u64,
}

impl Serving {
    fn client_of(&self, session: SessionId) -> Option<NodeId> {
        self.conns
            .iter()
            .find(|(_, c)| c.session == session)
            .map(|(n, _)| *n)
    }
}

impl Zab {
    /// Whether this server answers clients: an established leader, or a follower after UPTODATE.
    pub(crate) fn is_serving(&self) -> bool {
        match &self.state {
            State::Looking => false,
            State::Following(f) => f.stage == FStage::Broadcast,
            State::Leading(l) => l.established,
        }
    }

    /// Client activity keeps the session alive: in this server's tracker, and (on a learner) in
    /// the touch table the leader reads from the next ping answer.
    fn touch(&mut self, session: SessionId, ctx: &mut Cx<'_>) {
        self.tracker.touch(session, ctx.now());
        if matches!(self.state, State::Following(_)) {
            self.touches.touch(session);
        }
    }

    pub(crate) fn on_client(&mut self, from: NodeId, msg: ToServer, ctx: &mut Cx<'_>) {
        if !self.is_serving() {
            ctx.disconnect(from);
            self.serving.conns.remove(&from);
            return;
        }
        match msg {
            ToServer::Connect {
                session,
                last_zxid_seen,
                timeout_ms,
            } => {
                if last_zxid_seen > self.db.last_processed {
                    // "Refusing session request for client as it has seen zxid ... our last zxid
                    // is ...": the client must try another server.
                    ctx.disconnect(from);
                    self.serving.conns.remove(&from);
                    return;
                }
                let timeout_ms = self.settings.negotiate_timeout_ms(timeout_ms);
                match session {
                    None => {
                        let session = SessionId(self.serving.next_session);
                        self.serving.next_session += 1;
                        let conn = Conn {
                            session,
                            timeout_ms,
                            phase: Phase::Creating,
                            queue: VecDeque::new(),
                        };
                        self.serving.conns.insert(from, conn);
                        self.submit_write(session, 0, Write::OpenSession, timeout_ms, ctx);
                    }
                    Some(session) => {
                        let conn = Conn {
                            session,
                            timeout_ms,
                            phase: Phase::Revalidating,
                            queue: VecDeque::new(),
                        };
                        self.serving.conns.insert(from, conn);
                        // `revalidateSession`: a learner asks the leader, which touches it.
                        match &self.state {
                            State::Following(f) => ctx.send_peer(
                                f.leader,
                                ZabMsg::Revalidate {
                                    session,
                                    timeout_ms,
                                },
                            ),
                            _ => {
                                let valid = self.tracker.touch(session, ctx.now());
                                self.on_revalidated(session, valid, ctx);
                            }
                        }
                    }
                }
            }
            ToServer::Ping => {
                let Some(session) = self.open_session_of(from) else {
                    return;
                };
                self.touch(session, ctx);
                ctx.send_client(
                    from,
                    ToClient::Pong {
                        zxid: self.db.last_processed,
                    },
                );
            }
            ToServer::SetWatches {
                last_zxid_seen,
                data,
                exist,
                child,
            } => {
                let Some(session) = self.open_session_of(from) else {
                    return;
                };
                self.touch(session, ctx);
                let fired = self.serving.watches.set_watches(
                    &self.db.tree,
                    session,
                    last_zxid_seen,
                    &data,
                    &exist,
                    &child,
                );
                let zxid = self.db.last_processed;
                self.notify(fired, zxid, ctx);
            }
            ToServer::Request { xid, request } => {
                let Some(session) = self.open_session_of(from) else {
                    return;
                };
                self.touch(session, ctx);
                let conn = self.serving.conns.get_mut(&from).expect("open");
                match request {
                    Request::Write(write) => {
                        conn.queue.push_back(Queued::Write { xid });
                        self.submit_write(session, xid, write, 0, ctx);
                    }
                    Request::Read(Read::Sync(Sync { path })) => {
                        conn.queue.push_back(Queued::Sync {
                            xid,
                            path,
                            done: false,
                        });
                        self.submit_sync(session, xid, ctx);
                    }
                    Request::Read(read) => {
                        conn.queue.push_back(Queued::Read { xid, read });
                        self.drain(from, ctx);
                    }
                }
            }
        }
    }

    fn open_session_of(&self, client: NodeId) -> Option<SessionId> {
        self.serving
            .conns
            .get(&client)
            .filter(|c| c.phase == Phase::Open)
            .map(|c| c.session)
    }

    /// A write goes to the leader: proposed here if this is the leader, forwarded otherwise.
    fn submit_write(
        &mut self,
        session: SessionId,
        xid: u64,
        write: Write,
        timeout_ms: u64,
        ctx: &mut Cx<'_>,
    ) {
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

    fn submit_sync(&mut self, session: SessionId, xid: u64, ctx: &mut Cx<'_>) {
        match &self.state {
            State::Following(f) => ctx.send_peer(f.leader, ZabMsg::Sync { session, xid }),
            State::Leading(_) => self.leader_sync(SyncOrigin::Local, session, xid, ctx),
            State::Looking => {}
        }
    }

    /// A committed transaction was applied here: fire the watches it triggers, then answer its
    /// client if it is connected here (`FinalRequestProcessor`), and close the connection of a
    /// session it closed.
    pub(crate) fn deliver(&mut self, txn: &super::Txn, applied: &Applied, ctx: &mut Cx<'_>) {
        let fired = self.serving.watches.trigger(&applied.changes);
        self.notify(fired, txn.zxid, ctx);
        let client = self.serving.client_of(txn.session);
        if let Some(client) = client {
            let conn = self.serving.conns.get_mut(&client).expect("found");
            match (&txn.write, conn.phase) {
                (Write::OpenSession, Phase::Creating) => {
                    conn.phase = Phase::Open;
                    let timeout_ms = conn.timeout_ms;
                    ctx.send_client(
                        client,
                        crate::wire::ToClient::Connected {
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
            self.serving.watches.remove_session(txn.session);
            let closed: Vec<NodeId> = self
                .serving
                .conns
                .iter()
                .filter(|(_, c)| c.session == txn.session)
                .map(|(n, _)| *n)
                .collect();
            for c in closed {
                self.serving.conns.remove(&c);
                ctx.disconnect(c);
            }
        } else if let Some(client) = client {
            self.drain(client, ctx);
        }
    }

    /// Answers the reads (and finished syncs) at the head of a session's queue, from the local
    /// tree as it is now.
    fn drain(&mut self, client: NodeId, ctx: &mut Cx<'_>) {
        let zxid = self.db.last_processed;
        let Some(conn) = self.serving.conns.get_mut(&client) else {
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
            let outcome = self.db.tree.read(conn.session, &read);
            if let Some((path, kind)) = watch_left_by(&read, &outcome) {
                self.serving.watches.register(conn.session, path, kind);
            }
            ctx.send_client(client, ToClient::Reply { xid, zxid, outcome });
        }
    }

    /// The leader answered a sync of `session`: it may be answered in its turn.
    pub(crate) fn sync_done(&mut self, session: SessionId, xid: u64, ctx: &mut Cx<'_>) {
        let Some(client) = self.serving.client_of(session) else {
            return;
        };
        let conn = self.serving.conns.get_mut(&client).expect("found");
        for q in &mut conn.queue {
            if let Queued::Sync { xid: x, done, .. } = q
                && *x == xid
            {
                *done = true;
            }
        }
        self.drain(client, ctx);
    }

    /// The leader said whether a reconnecting client's session is still valid
    /// (`finishSessionInit`).
    pub(crate) fn on_revalidated(&mut self, session: SessionId, valid: bool, ctx: &mut Cx<'_>) {
        let Some(client) = self.serving.client_of(session) else {
            return;
        };
        let conn = self.serving.conns.get_mut(&client).expect("found");
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
            self.serving.conns.remove(&client);
            ctx.send_client(client, ToClient::Expired { session });
            ctx.disconnect(client);
        }
    }

    fn notify(&mut self, fired: Vec<Notification>, zxid: Zxid, ctx: &mut Cx<'_>) {
        for n in fired {
            if let Some(client) = self.serving.client_of(n.session) {
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

    /// The server stops serving: every client connection is closed, and their watches go with
    /// them.
    pub(crate) fn stop_serving(&mut self, ctx: &mut Cx<'_>) {
        for client in std::mem::take(&mut self.serving.conns).into_keys() {
            ctx.disconnect(client);
        }
        self.serving.watches = WatchTable::new();
    }

    /// A client's connection closed: its watches go (`removeCnxn`); the session lives on until it
    /// expires or is closed.
    pub(crate) fn client_gone(&mut self, client: NodeId, _ctx: &mut Cx<'_>) {
        if let Some(conn) = self.serving.conns.remove(&client)
            && self.serving.client_of(conn.session).is_none()
        {
            self.serving.watches.remove_session(conn.session);
        }
    }

    /// `local-session-expiry`: the session's ephemerals are deleted in this server's tree alone.
    pub(crate) fn close_session_locally(&mut self, session: SessionId, ctx: &mut Cx<'_>) {
        let applied = self.db.close_locally(session);
        self.db_from_disk = false;
        self.tracker.remove(session);
        let fired = self.serving.watches.trigger(&applied.changes);
        let zxid = self.db.last_processed;
        self.notify(fired, zxid, ctx);
        self.serving.watches.remove_session(session);
        let closed: Vec<NodeId> = self
            .serving
            .conns
            .iter()
            .filter(|(_, c)| c.session == session)
            .map(|(n, _)| *n)
            .collect();
        for c in closed {
            self.serving.conns.remove(&c);
            ctx.disconnect(c);
        }
    }
}
