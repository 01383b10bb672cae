//! The reference service: one ZooKeeper server and no replication, as a standalone ZooKeeper runs.
//! It is the baseline the replicated protocols are compared with, and a working end-to-end service
//! for the engine, the client and the checkers.
//!
//! Each write gets the next zxid and is applied to the data tree at once, appended to the
//! transaction log, and answered only after the fsync that covers it completes (ZooKeeper's
//! `SyncRequestProcessor` before its `FinalRequestProcessor`). Every answer, watch notification and
//! pong leaves in the order the requests arrived, across all sessions, so no client ever sees a
//! write that a crash could still take back; what is still queued for a connection when it closes
//! is dropped with it. Sessions expire on the server's tick; a restart rebuilds the tree from the
//! log and gives every open session a fresh deadline.

use crate::cluster::{
    Node, Obs, Record, Replica, ReplicaCtx, ReplicaStatus, Value, expiry_process,
};
use crate::wire::{NoPeer, ToClient, ToServer, Wire};
use crate::znode::watch::{Notification, WatchTable, watch_left_by};
use crate::znode::{DataTree, Request, SessionId, Write, Zxid};
use serde::{Deserialize, Serialize};
use sim::history::LineType;
use sim::{Ctx, Input, IoId, NodeId, SimDuration, SimTime};
use std::collections::{BTreeMap, VecDeque};

fn default_tick_ms() -> u64 {
    200
}

/// The reference server's settings (`cluster.settings` in a scenario).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceSettings {
    /// ZooKeeper's tickTime: session expiry runs on it, and session timeouts are clamped to
    /// [2, 20] ticks.
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
}

impl Default for ReferenceSettings {
    fn default() -> ReferenceSettings {
        ReferenceSettings {
            tick_ms: default_tick_ms(),
        }
    }
}

/// A transaction as the log stores it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LoggedTxn {
    pub zxid: Zxid,
    pub session: SessionId,
    pub write: Write,
}

/// The log file.
const LOG: &str = "log";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Session expiry check, every tick.
    Tick,
}

/// What the reference server reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The server started, having recovered its log up to `zxid`.
    Recovered { zxid: Zxid },
}

#[derive(Clone, Debug)]
struct Session {
    timeout: SimDuration,
    deadline: SimTime,
}

/// Messages held until everything before them is durable.
struct Outgoing {
    /// The fsync this entry waits for; `None` if it waits only for the entries before it.
    io: Option<IoId>,
    messages: Vec<(NodeId, ToClient)>,
    /// Close this client's connection once the messages are out (its session ended).
    then_close: Option<NodeId>,
    /// History records to report once the messages are out (a server-initiated transaction's
    /// completion).
    records: Vec<Record>,
}

/// The reference server.
pub struct ReferenceServer {
    settings: ReferenceSettings,
    tree: DataTree,
    watches: WatchTable,
    last_zxid: Zxid,
    last_session: u64,
    sessions: BTreeMap<SessionId, Session>,
    /// Which session each connected client speaks for.
    connections: BTreeMap<NodeId, SessionId>,
    outgoing: VecDeque<Outgoing>,
    /// The last fsync that completed.
    synced: Option<IoId>,
}

impl ReferenceServer {
    pub fn new(settings: ReferenceSettings) -> ReferenceServer {
        ReferenceServer {
            settings,
            tree: DataTree::default(),
            watches: WatchTable::new(),
            last_zxid: Zxid::ZERO,
            last_session: 0,
            sessions: BTreeMap::new(),
            connections: BTreeMap::new(),
            outgoing: VecDeque::new(),
            synced: None,
        }
    }

    fn tick(&self) -> SimDuration {
        SimDuration::from_ms(self.settings.tick_ms)
    }

    /// ZooKeeper clamps the requested timeout to [2, 20] ticks.
    fn negotiate(&self, requested_ms: u64) -> u64 {
        requested_ms.clamp(2 * self.settings.tick_ms, 20 * self.settings.tick_ms)
    }

    fn connection_of(&self, session: SessionId) -> Option<NodeId> {
        self.connections
            .iter()
            .find(|(_, s)| **s == session)
            .map(|(c, _)| *c)
    }

    /// Rebuilds the tree from the log: what a restarted standalone server loads.
    fn recover(&mut self, ctx: &mut Ctx<'_, Node<Self>>) {
        let log: Vec<LoggedTxn> = ctx.read(LOG).to_vec();
        if ctx.torn_tail(LOG) {
            // The torn record never completed: the log ends before it (real logs checksum records).
            ctx.truncate(LOG, log.len());
        }
        for txn in &log {
            self.tree.apply(txn.zxid, txn.session, &txn.write);
            self.last_zxid = txn.zxid;
            if let Write::OpenSession = txn.write {
                self.last_session = self.last_session.max(txn.session.0);
            }
        }
    }

    /// Applies a write at the next zxid and logs it; its effects leave once it is durable.
    fn write(
        &mut self,
        ctx: &mut Ctx<'_, Node<Self>>,
        session: SessionId,
        write: Write,
    ) -> (Zxid, crate::znode::Applied) {
        let zxid = Zxid(self.last_zxid.0 + 1);
        self.last_zxid = zxid;
        let applied = self.tree.apply(zxid, session, &write);
        ctx.append(
            LOG,
            LoggedTxn {
                zxid,
                session,
                write,
            },
        );
        (zxid, applied)
    }

    fn notify(&self, notifications: Vec<Notification>, zxid: Zxid) -> Vec<(NodeId, ToClient)> {
        notifications
            .into_iter()
            .filter_map(|n| {
                let to = self.connection_of(n.session)?;
                Some((
                    to,
                    ToClient::Notify {
                        kind: n.kind,
                        path: n.path,
                        zxid,
                    },
                ))
            })
            .collect()
    }

    /// Queues messages behind everything already queued, waiting also for `io` if given.
    fn queue(
        &mut self,
        ctx: &mut Ctx<'_, Node<Self>>,
        io: Option<IoId>,
        messages: Vec<(NodeId, ToClient)>,
        then_close: Option<NodeId>,
    ) {
        self.outgoing.push_back(Outgoing {
            io,
            messages,
            then_close,
            records: Vec::new(),
        });
        self.flush(ctx);
    }

    /// Sends every queued entry whose wait is over, in order.
    fn flush(&mut self, ctx: &mut Ctx<'_, Node<Self>>) {
        while let Some(front) = self.outgoing.front() {
            if front
                .io
                .is_some_and(|io| self.synced.is_none_or(|s| s < io))
            {
                return;
            }
            let entry = self.outgoing.pop_front().expect("checked");
            for (to, msg) in entry.messages {
                ctx.send_client(to, msg);
            }
            if let Some(client) = entry.then_close {
                ctx.disconnect(client);
            }
            for record in entry.records {
                ctx.record(Obs::History(record));
            }
        }
    }

    /// Drops what is still queued for `client`'s connection, which is gone: ZooKeeper writes an
    /// answer to the connection its request came on (`ServerCnxn`), and an answer to a closed one is
    /// lost. Everything queued before this moment was meant for the old connection, so none of it
    /// may reach the client's next one: after a pause, a connection's stale `Connected` would hand
    /// the client a session its new connection does not speak for (reference-nemesis seed 52), and
    /// a stale close would cut the new connection.
    fn forget_connection(&mut self, client: NodeId) {
        for entry in &mut self.outgoing {
            entry.messages.retain(|(to, _)| *to != client);
            if entry.then_close == Some(client) {
                entry.then_close = None;
            }
        }
    }

    fn touch(&mut self, session: SessionId, now: SimTime) {
        if let Some(s) = self.sessions.get_mut(&session) {
            s.deadline = now + s.timeout;
        }
    }

    fn on_client(&mut self, from: NodeId, msg: ToServer, ctx: &mut Ctx<'_, Node<Self>>) {
        let now = ctx.now();
        match msg {
            ToServer::Connect {
                session: None,
                timeout_ms,
                ..
            } => {
                self.last_session += 1;
                let session = SessionId(self.last_session);
                let timeout_ms = self.negotiate(timeout_ms);
                let timeout = SimDuration::from_ms(timeout_ms);
                self.sessions.insert(
                    session,
                    Session {
                        timeout,
                        deadline: now + timeout,
                    },
                );
                self.connections.insert(from, session);
                self.write(ctx, session, Write::OpenSession);
                let io = ctx.fsync();
                self.queue(
                    ctx,
                    Some(io),
                    vec![(
                        from,
                        ToClient::Connected {
                            session,
                            timeout_ms,
                        },
                    )],
                    None,
                );
            }
            ToServer::Connect {
                session: Some(session),
                last_zxid_seen,
                timeout_ms,
            } => {
                if last_zxid_seen > self.last_zxid {
                    // "Refusing session request for client as it has seen zxid ... our last zxid
                    // is ...": the client must try another server.
                    ctx.disconnect(from);
                    return;
                }
                if self.tree.is_open(session) && self.sessions.contains_key(&session) {
                    self.connections.insert(from, session);
                    self.touch(session, now);
                    let timeout_ms = self.negotiate(timeout_ms);
                    self.queue(
                        ctx,
                        None,
                        vec![(
                            from,
                            ToClient::Connected {
                                session,
                                timeout_ms,
                            },
                        )],
                        None,
                    );
                } else {
                    self.queue(
                        ctx,
                        None,
                        vec![(from, ToClient::Expired { session })],
                        Some(from),
                    );
                }
            }
            ToServer::Ping => {
                if let Some(&s) = self.connections.get(&from) {
                    self.touch(s, now);
                    let zxid = self.last_zxid;
                    self.queue(ctx, None, vec![(from, ToClient::Pong { zxid })], None);
                }
            }
            ToServer::SetWatches {
                last_zxid_seen,
                data,
                exist,
                child,
            } => {
                let Some(&session) = self.connections.get(&from) else {
                    return;
                };
                self.touch(session, now);
                let fired = self.watches.set_watches(
                    &self.tree,
                    session,
                    last_zxid_seen,
                    &data,
                    &exist,
                    &child,
                );
                let messages = self.notify(fired, self.last_zxid);
                self.queue(ctx, None, messages, None);
            }
            ToServer::Request { xid, request } => {
                let Some(&session) = self.connections.get(&from) else {
                    return;
                };
                self.touch(session, now);
                match request {
                    Request::Write(write) => {
                        let closing = write == Write::CloseSession;
                        let (zxid, applied) = self.write(ctx, session, write);
                        let fired = self.watches.trigger(&applied.changes);
                        let mut messages = self.notify(fired, zxid);
                        let mut then_close = None;
                        if closing && applied.outcome.is_ok() {
                            self.watches.remove_session(session);
                            self.sessions.remove(&session);
                            self.connections.remove(&from);
                            then_close = Some(from);
                        }
                        messages.push((
                            from,
                            ToClient::Reply {
                                xid,
                                zxid,
                                outcome: applied.outcome,
                            },
                        ));
                        let io = ctx.fsync();
                        self.queue(ctx, Some(io), messages, then_close);
                    }
                    Request::Read(read) => {
                        let outcome = self.tree.read(session, &read);
                        if let Some((path, kind)) = watch_left_by(&read, &outcome) {
                            self.watches.register(session, path, kind);
                        }
                        let zxid = self.last_zxid;
                        self.queue(
                            ctx,
                            None,
                            vec![(from, ToClient::Reply { xid, zxid, outcome })],
                            None,
                        );
                    }
                }
            }
        }
    }

    /// ZooKeeper's session tracker: a session not heard from within its timeout is closed by a
    /// transaction, which deletes its ephemerals.
    fn expire_sessions(&mut self, ctx: &mut Ctx<'_, Node<Self>>) {
        let now = ctx.now();
        let expired: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for session in expired {
            self.sessions.remove(&session);
            // The expiry is a transaction of the server's own: the history shows it as a
            // close_session of process SERVER_PROCESS, from now until it is durable.
            let me = ctx.me();
            let record = |kind, value, zxid| Record {
                kind,
                process: expiry_process(session),
                session: Some(session),
                f: "close_session",
                value,
                zxid,
                server: Some(me),
                error: None,
            };
            let invoke = record(
                LineType::Invoke,
                Value::Request(Request::Write(Write::CloseSession)),
                None,
            );
            ctx.record(Obs::History(invoke));
            let (zxid, applied) = self.write(ctx, session, Write::CloseSession);
            let done = record(
                LineType::Ok,
                Value::Outcome(applied.outcome.clone()),
                Some(zxid),
            );
            let fired = self.watches.trigger(&applied.changes);
            let messages = self.notify(fired, zxid);
            self.watches.remove_session(session);
            let client = self.connection_of(session);
            if let Some(c) = client {
                self.connections.remove(&c);
            }
            let io = ctx.fsync();
            self.outgoing.push_back(Outgoing {
                io: Some(io),
                messages,
                then_close: client,
                records: vec![done],
            });
        }
        self.flush(ctx);
    }
}

impl Replica for ReferenceServer {
    type Peer = NoPeer;
    type Timer = Timer;
    type Stored = LoggedTxn;
    type Event = Event;

    fn status(&self) -> ReplicaStatus {
        // One server: everything it logged is committed once it is durable.
        ReplicaStatus {
            role: "serving".to_string(),
            term: 0,
            logged: format!("{:#x}", self.last_zxid.0),
            committed: format!("{:#x}", self.last_zxid.0),
        }
    }

    fn on_input(&mut self, input: Input<Wire<NoPeer>, Timer>, ctx: &mut Ctx<'_, Node<Self>>) {
        match input {
            Input::Start { restarted } => {
                if restarted {
                    self.recover(ctx);
                    // A restarted server gives every open session a fresh deadline.
                    let now = ctx.now();
                    let timeout = SimDuration::from_ms(self.negotiate(u64::MAX));
                    for session in self.tree.sessions().collect::<Vec<_>>() {
                        self.sessions.insert(
                            session,
                            Session {
                                timeout,
                                deadline: now + timeout,
                            },
                        );
                    }
                }
                ctx.report(Event::Recovered {
                    zxid: self.last_zxid,
                });
                let tick = self.tick();
                ctx.set_replica_timer(tick, Timer::Tick);
            }
            Input::Message {
                from,
                msg: Wire::ToServer(m),
            } => self.on_client(from, m, ctx),
            Input::Message { .. } => {}
            Input::Synced { io } => {
                self.synced = Some(io);
                self.flush(ctx);
            }
            Input::Timer {
                timer: Timer::Tick, ..
            } => {
                self.expire_sessions(ctx);
                let tick = self.tick();
                ctx.set_replica_timer(tick, Timer::Tick);
            }
            Input::Disconnected { peer } => {
                // The connection's watches go with it; the session lives on until it expires.
                if let Some(session) = self.connections.remove(&peer) {
                    self.watches.remove_session(session);
                }
                self.forget_connection(peer);
            }
        }
    }

    fn leadership(&self) -> Option<u64> {
        Some(0)
    }
}

impl crate::cluster::Protocol for ReferenceServer {
    const NAME: &'static str = "reference";
    const VARIANTS: &'static [&'static str] = &["standalone"];
    const FIFO: bool = true;
    const LINEARIZABLE_READS: bool = true;
    const MAX_REPLICAS: u32 = 1;
    type Settings = ReferenceSettings;

    fn new(
        _id: NodeId,
        _replicas: usize,
        settings: &ReferenceSettings,
        _variant: &str,
    ) -> ReferenceServer {
        ReferenceServer::new(settings.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Client;
    use crate::cluster::Protocol;
    use crate::workload::WorkloadConfig;
    use sim::disk::DiskConfig;
    use sim::nemesis::{FaultKind, FaultSpec, NemesisConfig, NodeRef};
    use sim::net::NetworkConfig;
    use sim::{NodeKind, World, WorldConfig};

    /// One server paused from the start for `pause_ms`, one client asking for a 2 s session.
    fn paused_world(pause_ms: f64) -> World<Node<ReferenceServer>> {
        let workload: WorkloadConfig = serde_json::from_str(
            r#"{"clients": 1, "duration_ms": 8000, "session_timeout_ms": 2000,
                "mix": {"create_ephemeral": 1, "get_data": 1}}"#,
        )
        .unwrap();
        let pause = FaultSpec {
            at_ms: 0.0,
            fault: FaultKind::Pause,
            node: Some(NodeRef::Id(0)),
            groups: None,
            from: None,
            to: None,
            for_ms: Some(pause_ms),
            unsynced: None,
            mid_handler: None,
            after_effects: None,
        };
        let config = WorldConfig {
            seed: 1,
            nodes: vec![NodeKind::Replica, NodeKind::Client],
            network: NetworkConfig::default(),
            fifo: ReferenceServer::FIFO,
            disk: DiskConfig::default(),
            nemesis: NemesisConfig {
                scripted: vec![pause],
                ..NemesisConfig::default()
            },
        };
        World::new(config, move |id| {
            if id.index() == 0 {
                Node::Replica(ReferenceServer::new(ReferenceSettings::default()))
            } else {
                Node::Client(Box::new(Client::new(0, vec![NodeId(0)], workload.clone())))
            }
        })
    }

    /// The sessions of the `f` operations completed `ok`, in order.
    fn completed(world: &World<Node<ReferenceServer>>, f: &str) -> Vec<SessionId> {
        world
            .observations()
            .iter()
            .filter_map(|o| match &o.observation {
                Obs::History(r) if r.f == f && r.kind == LineType::Ok => r.session,
                _ => None,
            })
            .collect()
    }

    /// The client's connection attempts time out (2 s / one server) while the server is paused;
    /// on resume the server handles every parked Connect, each on a connection that was closed
    /// after it but the last. Only the last one's session may reach the client; the first
    /// attempt's `Connected`, sent on the new connection, had the client work in a session the
    /// server did not tie to it, its ephemerals owned by another (reference-nemesis seed 52).
    #[test]
    fn an_answer_queued_for_a_closed_connection_never_reaches_the_next_one() {
        let mut world = paused_world(5000.0);
        world.run_until(SimTime::from_ms(4900), 1_000_000);
        let attempts = world
            .observations()
            .iter()
            .filter(|o| {
                matches!(&o.observation, Obs::History(r)
                    if r.f == "open_session" && r.kind == LineType::Invoke)
            })
            .count();
        assert!(
            attempts >= 3,
            "{attempts} connection attempts before the resume"
        );
        // Past the stale sessions' deadlines (2 s after the resume) and the tick that sees them.
        world.run_until(SimTime::from_ms(7500), 1_000_000);
        let opened = completed(&world, "open_session");
        let Some(Node::Replica(server)) = world.process(NodeId(0)) else {
            panic!("the server runs");
        };
        let held = server.connections.get(&NodeId(1)).copied();
        assert_eq!(opened.len(), 1, "one session opened: {opened:?}");
        assert_eq!(
            Some(opened[0]),
            held,
            "the client's session is its connection's"
        );
        // The stale attempts' sessions were created all the same, and the server expired them.
        let expired = completed(&world, "close_session");
        let stale: Vec<SessionId> = (1..opened[0].0).map(SessionId).collect();
        assert_eq!(expired, stale);
    }
}
