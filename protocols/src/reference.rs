//! The reference service: one ZooKeeper server and no replication, as a standalone ZooKeeper runs.
//! It is the baseline the replicated protocols are compared with, and a working end-to-end service
//! for the engine, the client and the checkers.
//!
//! It runs the shared front end (`crate::zookeeper`) with the simplest replication there is: each
//! transaction gets the next zxid and is appended to the transaction log, and it commits once the
//! fsync that covers it completes (ZooKeeper's `SyncRequestProcessor` before its
//! `FinalRequestProcessor`); only then is it applied to the tree and answered. No client ever sees
//! a write that a crash could still take back. An answer belongs to the connection its request came
//! on: what commits after the connection closed finds no connection for its session and is not
//! sent. Sessions expire on the server's tick, recorded in the history; a restart rebuilds the tree
//! from the log and gives every open session a fresh deadline.

use crate::cluster::{Node, Replica, ReplicaCtx, ReplicaStatus};
use crate::wire::NoPeer;
use crate::znode::{SessionId, Write, Zxid};
use crate::zookeeper::server::{self, Replication, Submitted, ZkCtx, ZkServer};
use crate::zookeeper::{ExpiryRule, SessionLimits, Txn};
use serde::{Deserialize, Serialize};
use sim::{Ctx, Input, IoId, NodeId, SimDuration};
use std::collections::VecDeque;

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
pub type LoggedTxn = Txn;

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
    /// A protocol assertion broke (its own log does not replay, a commit out of order): a
    /// finding, not a panic.
    Violation(String),
}

/// The reference server's one variant: a standalone ZooKeeper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standalone;

impl crate::cluster::Variants for Standalone {
    const ALL: &'static [Standalone] = &[Standalone];
    const NAMES: &'static [&'static str] = &["standalone"];
}

/// A `sync` waiting for the transactions logged before it to commit.
struct PendingSync {
    wait: Zxid,
    session: SessionId,
    xid: u64,
}

/// The reference server.
pub struct ReferenceServer {
    settings: ReferenceSettings,
    zk: ZkServer,
    /// The last zxid logged (durable or not).
    last_logged: Zxid,
    /// Logged transactions waiting for their fsync, in zxid order.
    unsynced: VecDeque<(IoId, Txn)>,
    syncs: VecDeque<PendingSync>,
}

impl ReferenceServer {
    pub fn new(settings: ReferenceSettings) -> ReferenceServer {
        let limits = SessionLimits::default_for_tick(settings.tick_ms);
        ReferenceServer {
            zk: ZkServer::new(limits, ExpiryRule::Leader).recording_expiry(),
            settings,
            last_logged: Zxid::ZERO,
            unsynced: VecDeque::new(),
            syncs: VecDeque::new(),
        }
    }

    fn tick(&self) -> SimDuration {
        SimDuration::from_ms(self.settings.tick_ms)
    }

    /// Rebuilds the tree from the log: what a restarted standalone server loads.
    fn recover(&mut self, ctx: &mut Ctx<'_, Node<Self>>) {
        let log: Vec<LoggedTxn> = ctx.read(LOG).to_vec();
        if ctx.torn_tail(LOG) {
            // The torn record never completed: the log ends before it (real logs checksum records).
            ctx.truncate(LOG, log.len());
        }
        for txn in &log {
            if let Err(e) = self.zk.db.apply(txn) {
                ctx.report(Event::Violation(format!("recovering the log: {e}")));
                break;
            }
            if txn.write == Write::OpenSession {
                self.zk.next_session = self.zk.next_session.max(txn.session.0 + 1);
            }
        }
        self.last_logged = self.zk.db.last_processed;
    }

    /// Answers the syncs whose transactions all committed.
    fn release_syncs(&mut self, ctx: &mut Ctx<'_, Node<Self>>) {
        while let Some(s) = self.syncs.front() {
            if s.wait > self.zk.db.last_processed {
                return;
            }
            let s = self.syncs.pop_front().expect("checked");
            server::synced(self, s.session, s.xid, ctx);
        }
    }
}

/// One server is its own quorum: it leads, it serves, and a transaction commits when it is
/// durable on its disk.
impl Replication for ReferenceServer {
    fn zk(&self) -> &ZkServer {
        &self.zk
    }

    fn zk_mut(&mut self) -> &mut ZkServer {
        &mut self.zk
    }

    fn may_serve(&self) -> bool {
        true
    }

    fn is_leader(&self) -> bool {
        true
    }

    fn submit(&mut self, txn: Submitted, ctx: &mut ZkCtx<'_, Self>) {
        let zxid = Zxid(self.last_logged.0 + 1);
        self.last_logged = zxid;
        let txn = Txn {
            zxid,
            session: txn.session,
            xid: txn.xid,
            write: txn.write,
            timeout_ms: txn.timeout_ms,
        };
        ctx.append(LOG, txn.clone());
        let io = ctx.fsync();
        self.unsynced.push_back((io, txn));
    }

    fn sync(&mut self, session: SessionId, xid: u64, ctx: &mut ZkCtx<'_, Self>) {
        self.syncs.push_back(PendingSync {
            wait: self.last_logged,
            session,
            xid,
        });
        self.release_syncs(ctx);
    }
}

impl Replica for ReferenceServer {
    type Peer = NoPeer;
    type Timer = Timer;
    type Stored = LoggedTxn;
    type Event = Event;

    fn status(&self) -> ReplicaStatus {
        ReplicaStatus {
            role: "serving".to_string(),
            term: 0,
            logged: format!("{:#x}", self.last_logged.0),
            committed: format!("{:#x}", self.zk.db.last_processed.0),
        }
    }

    fn on_input(&mut self, input: Input<NoPeer, Timer>, ctx: &mut Ctx<'_, Node<Self>>) {
        match input {
            Input::Start { restarted } => {
                if restarted {
                    self.recover(ctx);
                    // A restarted server gives every open session a fresh deadline.
                    self.zk.rebuild_sessions(ctx.now());
                }
                ctx.report(Event::Recovered {
                    zxid: self.zk.db.last_processed,
                });
                let tick = self.tick();
                ctx.set_replica_timer(tick, Timer::Tick);
            }
            Input::Message { msg, .. } => match msg {},
            Input::Synced { io } => {
                // Everything logged before this fsync is durable: it commits, in zxid order.
                while self.unsynced.front().is_some_and(|(w, _)| *w <= io) {
                    let (_, txn) = self.unsynced.pop_front().expect("checked");
                    if let Err(e) = server::commit(self, &txn, ctx) {
                        ctx.report(Event::Violation(format!("committing: {e}")));
                    }
                }
                self.release_syncs(ctx);
            }
            Input::Timer {
                timer: Timer::Tick, ..
            } => {
                server::expire_sessions(self, ctx);
                let tick = self.tick();
                ctx.set_replica_timer(tick, Timer::Tick);
            }
            Input::Disconnected { peer } => server::client_gone(self, peer),
        }
    }

    fn leadership(&self) -> Option<u64> {
        Some(0)
    }
}

impl crate::cluster::Protocol for ReferenceServer {
    const NAME: &'static str = "reference";
    type Variant = Standalone;
    const FIFO: bool = true;
    const LINEARIZABLE_READS: bool = true;
    const MAX_REPLICAS: u32 = 1;
    type Settings = ReferenceSettings;

    fn new(
        _id: NodeId,
        _replicas: usize,
        settings: &ReferenceSettings,
        _variant: Standalone,
    ) -> ReferenceServer {
        ReferenceServer::new(settings.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Client;
    use crate::cluster::Obs;
    use crate::cluster::Protocol;
    use crate::workload::WorkloadConfig;
    use sim::disk::DiskConfig;
    use sim::history::LineType;
    use sim::nemesis::{FaultKind, FaultSpec, NemesisConfig};
    use sim::net::NetworkConfig;
    use sim::{NodeKind, SimTime, World, WorldConfig};

    /// One server paused from the start for `pause_ms`, one client asking for a 2 s session.
    fn paused_world(pause_ms: f64) -> World<Node<ReferenceServer>> {
        let workload: WorkloadConfig = serde_json::from_str(
            r#"{"clients": 1, "duration_ms": 8000, "session_timeout_ms": 2000,
                "mix": {"create_ephemeral": 1, "get_data": 1}}"#,
        )
        .unwrap();
        let pause = FaultSpec {
            for_ms: Some(pause_ms),
            ..FaultSpec::new(FaultKind::Pause).on(NodeId(0))
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
        let held = server.zk.session_of(NodeId(1));
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
