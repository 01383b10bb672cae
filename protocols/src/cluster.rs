//! How a protocol's replicas and the simulated clients share one world: the `Node` process that is
//! either a replica of protocol `R` or a client, the timers and observations of both, and the
//! history records clients report. Every protocol implements `Replica`; the client is the same for
//! all of them. This module routes inputs; it holds no protocol logic.

use crate::client::{Client, ClientTimer};
use crate::wire::{ToClient, Wire};
use crate::workload::WorkloadConfig;
use crate::znode::watch::EventType;
use crate::znode::{Outcome, Reply, Request, SessionId, Zxid};
use crate::zookeeper::server::{self, Replication};
use serde::Serialize;
use sim::disk::DiskConfig;
use sim::history::{Line, LineType};
use sim::nemesis::NemesisConfig;
use sim::net::NetworkConfig;
use sim::{
    Ctx, Input, Message, NodeId, NodeKind, Process, SimDuration, SimTime, TimerId, World,
    WorldConfig,
};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

/// A replica of a coordination protocol, serving ZooKeeper's client protocol.
pub trait Replica: Sized {
    /// Replica-to-replica messages.
    type Peer: Message;
    type Timer: Clone + Debug + Hash;
    /// What the replica writes to its disk.
    type Stored: Clone + Debug;
    /// Protocol milestones it reports for the run's checks and metrics (leadership, commits, ...).
    type Event: Debug;

    /// Reacts to its start or restart, a message from another replica, a timer, a completed
    /// fsync or a reset channel. What clients send it goes to the ZooKeeper front end
    /// (`zookeeper::server::on_client`), never here.
    fn on_input(&mut self, input: Input<Self::Peer, Self::Timer>, ctx: &mut Ctx<'_, Node<Self>>)
    where
        Self: Replication;

    /// Runs after the ZooKeeper front end handled a client's message on this replica
    /// (`zookeeper::server::on_client` may have submitted a write or a sync): what the replica
    /// does at the end of each of its own handlers, e.g. Raft's sending the entries due and its
    /// group-commit fsync. Nothing by default.
    fn after_client(&mut self, ctx: &mut Ctx<'_, Node<Self>>)
    where
        Self: Replication,
    {
        let _ = ctx;
    }

    /// The epoch in which this replica believes it leads, if it does.
    fn leadership(&self) -> Option<u64> {
        None
    }

    /// What this replica believes right now, as a run page shows it at each step.
    fn status(&self) -> ReplicaStatus;
}

/// A replica's own view of itself at one moment: what a student stepping through a run wants to
/// see beside each replica. Positions are the protocol's own (a zxid in hex for ZAB).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaStatus {
    /// `looking`, `following`, `leading`, `serving`, ..., with the stage where it matters
    /// (`leading (discovery)`).
    pub role: String,
    /// The epoch, term or ballot round it is in.
    pub term: u64,
    /// The last position in its log (durable or not).
    pub logged: String,
    /// The last position it knows to be committed.
    pub committed: String,
}

/// A process of a world running protocol `R`.
pub enum Node<R> {
    Replica(R),
    Client(Box<Client>),
}

/// The timers of a `Node`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeTimer<T> {
    Replica(T),
    Client(ClientTimer),
}

/// What a node reports.
#[derive(Clone)]
pub enum Obs<E> {
    /// A line of the run's history, from a client.
    History(Record),
    /// A replica's protocol milestone.
    Replica(E),
    /// A client broke one of its own rules (one operation open at a time): a bug in the client,
    /// reported as a finding of the run.
    ClientAssertion(String),
    /// An application-level event of a recipe client (`crate::recipes`), for the recipe log.
    Recipe(crate::recipes::RecipeRecord),
}

/// History `process` numbers from here on belong to servers, not clients (numbered from 0). A
/// server records the transactions it starts on its own in the history, so that checkers see
/// exactly when they took effect: a session expiry is a `close_session` of the expired session, an
/// operation of process `expiry_process(session)`.
pub const SERVER_PROCESS: u64 = 1 << 32;

/// The history process of the server-side expiry of `session`: one per session, since a session
/// ends once.
pub fn expiry_process(session: SessionId) -> u64 {
    SERVER_PROCESS | session.0
}

/// What a history record carries in `value`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    /// An invocation's request.
    Request(Request),
    /// A completion's answer.
    Outcome(Outcome<Reply>),
    /// A watch notification.
    Watch {
        kind: EventType,
        path: String,
    },
}

/// One history event as a client reports it, typed; `to_line` gives its file form.
#[derive(Clone, PartialEq)]
pub struct Record {
    pub kind: LineType,
    pub process: u64,
    pub session: Option<SessionId>,
    /// The operation's name (`create`, ...) or the event's (`watch`, `session_expired`).
    pub f: &'static str,
    pub value: Value,
    pub zxid: Option<Zxid>,
    pub server: Option<NodeId>,
    pub error: Option<&'static str>,
}

impl Record {
    /// The record as a line of `history.jsonl`, at virtual time `time`.
    pub fn to_line(&self, time: SimTime) -> Line {
        let value = match &self.value {
            Value::None => serde_json::Value::Null,
            Value::Request(r) => r.arguments(),
            Value::Outcome(o) => serde_json::to_value(o).expect("outcomes serialize"),
            Value::Watch { kind, path } => serde_json::json!({ "type": kind.name(), "path": path }),
        };
        Line {
            kind: self.kind,
            process: self.process,
            f: self.f.to_string(),
            value,
            time: time.as_nanos(),
            session: self.session.map(|s| s.0),
            zxid: self.zxid.map(|z| z.0),
            server: self.server.map(|n| n.0),
            error: self.error.map(str::to_string),
        }
    }
}

/// Trace lines show an observation briefly: a history record as its line reads.
impl<E: Debug> Debug for Obs<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Obs::History(r) => write!(f, "history {r:?}"),
            Obs::Replica(e) => write!(f, "{e:?}"),
            Obs::ClientAssertion(what) => write!(f, "client assertion: {what}"),
            Obs::Recipe(r) => write!(f, "recipe p{} {:?}", r.process, r.event),
        }
    }
}

/// `invoke create p0 session 3 {"path":"/k1",...}`, `ok create p0 session 3 zxid 42 {"ok":...}`.
impl Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = serde_json::to_value(self.kind).ok();
        let kind = kind.as_ref().and_then(|k| k.as_str()).unwrap_or("?");
        write!(f, "{kind} {} p{}", self.f, self.process)?;
        if let Some(s) = self.session {
            write!(f, " session {s}")?;
        }
        if let Some(z) = self.zxid {
            write!(f, " zxid {:#x}", z.0)?;
        }
        if let Some(e) = self.error {
            write!(f, " ({e})")?;
        }
        match &self.value {
            Value::None => Ok(()),
            Value::Request(r) => write!(f, " {}", r.arguments()),
            Value::Outcome(o) => write!(f, " {}", serde_json::to_value(o).unwrap_or_default()),
            Value::Watch { kind, path } => write!(f, " {} {path}", kind.name()),
        }
    }
}

impl<R: Replication> Process for Node<R> {
    type Msg = Wire<R::Peer>;
    type Timer = NodeTimer<R::Timer>;
    type Stored = R::Stored;
    type Observation = Obs<R::Event>;

    fn on_input(&mut self, input: Input<Self::Msg, Self::Timer>, ctx: &mut Ctx<'_, Self>) {
        match self {
            Node::Replica(r) => {
                let input = match input {
                    Input::Timer {
                        id,
                        timer: NodeTimer::Replica(t),
                    } => Input::Timer { id, timer: t },
                    Input::Timer {
                        timer: NodeTimer::Client(_),
                        ..
                    } => unreachable!("a replica sets no client timer"),
                    Input::Start { restarted } => Input::Start { restarted },
                    Input::Message {
                        from,
                        msg: Wire::Peer(msg),
                    } => Input::Message { from, msg },
                    // The ZooKeeper front end answers clients, whatever orders the writes.
                    Input::Message {
                        from,
                        msg: Wire::ToServer(msg),
                    } => {
                        server::on_client(r, from, msg, ctx);
                        return r.after_client(ctx);
                    }
                    // Only a client is sent what a server says to a client.
                    Input::Message {
                        msg: Wire::ToClient(_),
                        ..
                    } => return,
                    Input::Synced { io } => Input::Synced { io },
                    Input::Disconnected { peer } => Input::Disconnected { peer },
                };
                r.on_input(input, ctx)
            }
            Node::Client(c) => c.on_input(input, ctx),
        }
    }

    fn leadership(&self) -> Option<u64> {
        match self {
            Node::Replica(r) => r.leadership(),
            Node::Client(_) => None,
        }
    }
}

/// Shorthands a replica uses on its context.
pub trait ReplicaCtx<R: Replication> {
    fn set_replica_timer(&mut self, after: SimDuration, timer: R::Timer) -> TimerId;
    fn send_peer(&mut self, to: NodeId, msg: R::Peer);
    fn send_client(&mut self, to: NodeId, msg: ToClient);
    fn report(&mut self, event: R::Event);
}

impl<R: Replication> ReplicaCtx<R> for Ctx<'_, Node<R>> {
    fn set_replica_timer(&mut self, after: SimDuration, timer: R::Timer) -> TimerId {
        self.set_timer(after, NodeTimer::Replica(timer))
    }
    fn send_peer(&mut self, to: NodeId, msg: R::Peer) {
        self.send(to, Wire::Peer(msg))
    }
    fn send_client(&mut self, to: NodeId, msg: ToClient) {
        self.send(to, Wire::ToClient(msg))
    }
    fn report(&mut self, event: R::Event) {
        self.record(Obs::Replica(event))
    }
}

/// A protocol as a scenario names it: how to build its replicas and what it promises.
pub trait Protocol: Replication {
    /// The scenario's `cluster.protocol`.
    const NAME: &'static str;
    /// Its variants as values, each with its name in scenarios: the first is the correct one and
    /// the default; each other flips one rule (see `Replica`'s modules).
    type Variant: Variants;
    /// Whether it assumes in-order (TCP-like) channels between replicas.
    const FIFO: bool;
    /// Whether its reads are linearizable (so a whole history, reads included, must be).
    const LINEARIZABLE_READS: bool;
    /// The most replicas it can run (an unreplicated server runs one).
    const MAX_REPLICAS: u32 = 31;
    /// The kinds of its messages between replicas (`sim::Message::kind`), which a scenario's
    /// triggered crash may name (`after_send`) beside the client protocol's
    /// (`wire::SERVER_KINDS`).
    const MESSAGE_KINDS: &'static [&'static str] = &[];
    /// Its tuning (`cluster.settings`).
    type Settings: serde::de::DeserializeOwned + serde::Serialize + Default + Clone;

    /// Replica `id` of a cluster of `replicas`, running `variant`.
    fn new(id: NodeId, replicas: usize, settings: &Self::Settings, variant: Self::Variant) -> Self;

    /// Whether the settings fit a cluster of `replicas` (sizes that depend on it, such as quorum
    /// sizes); an error names the field and says why. Checked when a scenario is read.
    fn check_settings(settings: &Self::Settings, replicas: usize) -> Result<(), (String, String)> {
        let _ = (settings, replicas);
        Ok(())
    }

    /// Judges a finished run by the protocol's own invariants (no committed write lost, logs that
    /// are prefixes of one another, one leader per epoch, ...) and measures it, from the replicas'
    /// reported events, their final state and their disks.
    fn report(world: &World<Node<Self>>) -> ProtocolReport {
        let _ = world;
        ProtocolReport::default()
    }

    /// What one committed transaction costs between `replicas` replicas with these settings, in
    /// theory: the message kinds of its write path and how many of them it takes with a stable
    /// leader. `None` for a protocol that replicates nothing.
    fn write_cost(replicas: usize, settings: &Self::Settings) -> Option<WriteCost> {
        let _ = (replicas, settings);
        None
    }
}

/// The messages a committed transaction costs, in theory (`Protocol::write_cost`). A run measures
/// the same kinds per committed transaction (the leader's commits), so the two compare; every
/// other message between replicas (heartbeats, elections, forwarded writes, reads, eager commit
/// notices) is overhead, measured beside it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WriteCost {
    /// The message kinds of the write path, as `sim::Message::kind` names them.
    pub kinds: Vec<&'static str>,
    /// The number of those messages per transaction as a formula of n, e.g. `3(n-1)`.
    pub formula: &'static str,
    /// That number for this cluster.
    pub messages: u64,
}

/// A leadership that ended, and how long the service took to get a leader again: what
/// `replication::invariants::judge` decides once for every protocol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeaderLoss {
    /// The round (epoch, term, ballot) whose leadership was lost.
    pub term: u64,
    pub lost_at: SimTime,
    /// True if the leader crashed; false if it stepped down or lost its quorum.
    pub crashed: bool,
    /// When a leader of a later round was established, if one was.
    pub recovered_at: Option<SimTime>,
}

/// A protocol's named variants (a scenario's `cluster.variant`): the one list of them, and their
/// names, in one order.
pub trait Variants: Copy + Debug + PartialEq + 'static {
    /// Every variant, the correct one (the default) first.
    const ALL: &'static [Self];
    /// Their names in scenarios, in the order of `ALL`.
    const NAMES: &'static [&'static str];

    fn name(self) -> &'static str {
        let i = Self::ALL
            .iter()
            .position(|v| *v == self)
            .expect("every variant is in ALL");
        Self::NAMES[i]
    }

    /// The variant named `name`; `None` for a name the protocol does not know.
    fn parse(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }
}

/// One invariant's verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// E.g. `durability`, `prefix-agreement`, `one-leader-per-epoch`.
    pub name: String,
    pub passed: bool,
    /// When the first problem happened (e.g. the leader established without a committed
    /// transaction); `None` for a finding that passed.
    pub at: Option<SimTime>,
    /// What was found; for a violation, the replicas, zxids and times involved.
    pub detail: String,
}

/// One protocol measurement: a count, or a time or duration in milliseconds (its name says which,
/// e.g. `leader_recovery_ms_max`). In `results.json` a count is an integer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Metric {
    Count(u64),
    Ms(f64),
}

impl Metric {
    /// A duration or time in milliseconds of virtual time, exact to the nanosecond.
    pub fn ms(d: SimDuration) -> Metric {
        Metric::Ms(d.as_ms_f64())
    }

    /// The value as a number, e.g. to average it over runs.
    pub fn value(self) -> f64 {
        match self {
            Metric::Count(n) => n as f64,
            Metric::Ms(ms) => ms,
        }
    }
}

/// A count as an integer; milliseconds to the formatter's precision (three decimals, the
/// microsecond, unless asked otherwise).
impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Metric::Count(n) => write!(f, "{n}"),
            Metric::Ms(ms) => write!(f, "{ms:.*}", f.precision().unwrap_or(3)),
        }
    }
}

/// What a protocol says about a finished run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProtocolReport {
    pub findings: Vec<Finding>,
    /// Protocol metrics for results.json, e.g. `election_count`, `leader_recovery_ms_max`.
    pub metrics: BTreeMap<String, Metric>,
    /// Moments worth marking on plots, e.g. "n2 leads epoch 3".
    pub marks: Vec<(SimTime, String)>,
    /// Every leadership lost, oldest first, with when a new leader was established.
    pub leader_losses: Vec<LeaderLoss>,
}

/// What a cluster's world is made of besides its protocol: `replicas` replicas (ids
/// `0..replicas`) followed by the workload's clients, on the given network and disks, with the
/// given faults. The runner and the tests build their worlds here, so that a test's world is a
/// run's world.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub seed: u64,
    pub replicas: usize,
    /// The clients' workload; `workload.clients` is how many clients there are.
    pub workload: WorkloadConfig,
    pub network: NetworkConfig,
    pub disk: DiskConfig,
    pub nemesis: NemesisConfig,
}

impl ClusterConfig {
    /// `replicas` replicas and the workload's clients, on the default network and disks, without
    /// faults.
    pub fn new(seed: u64, replicas: usize, workload: WorkloadConfig) -> ClusterConfig {
        ClusterConfig {
            seed,
            replicas,
            workload,
            network: NetworkConfig::default(),
            disk: DiskConfig::default(),
            nemesis: NemesisConfig::default(),
        }
    }

    /// The world's configuration for protocol `P` (its channels are in-order if `P` assumes so).
    pub fn world_config<P: Protocol>(&self) -> WorldConfig {
        let mut nodes = vec![NodeKind::Replica; self.replicas];
        nodes.extend(std::iter::repeat_n(
            NodeKind::Client,
            self.workload.clients as usize,
        ));
        WorldConfig {
            seed: self.seed,
            nodes,
            network: self.network.clone(),
            fifo: P::FIFO,
            disk: self.disk.clone(),
            nemesis: self.nemesis.clone(),
        }
    }

    /// The world: every replica `P::new(id, replicas, settings, variant)`, every client running
    /// the workload against all the replicas. Nothing has run yet.
    pub fn world<P: Protocol + 'static>(
        &self,
        settings: &P::Settings,
        variant: P::Variant,
    ) -> World<Node<P>> {
        let replicas = self.replicas;
        let servers: Vec<NodeId> = (0..replicas as u32).map(NodeId).collect();
        let workload = self.workload.clone();
        let settings = settings.clone();
        World::new(self.world_config::<P>(), move |id| {
            if id.index() < replicas {
                Node::Replica(P::new(id, replicas, &settings, variant))
            } else {
                let process = (id.index() - replicas) as u64;
                Node::Client(Box::new(Client::new(
                    process,
                    servers.clone(),
                    workload.clone(),
                )))
            }
        })
    }
}
