//! The world: virtual time, the event queue and the loop that drives every process. Its loop pops the
//! earliest event (ties broken by insertion order), hands it to one process as an `Input`, and the
//! process's effects, asked of its `Ctx`, are applied at once: sends are routed by the network into
//! future deliveries, timers and fsync completions are queued, disk writes go to the page cache.
//! Nothing else mutates the world, and nothing in it reads a clock or an unseeded random source.

use crate::alone::{Effect, EffectOf};
use crate::disk::{CrashLoss, Disk, DiskConfig, Unsynced};
use crate::id::{IoId, NodeId, TimerId};
use crate::nemesis::{FaultKind, FaultSpec, NemesisConfig, NodeRef, RandomFault};
use crate::net::{Delay, DropReason, Network, NetworkConfig, Route, ms_to_ns};
use crate::process::{Input, Message, Process};
use crate::queue::EventQueue;
use crate::rng::{SimRng, Streams};
use crate::time::{SimDuration, SimTime};
use crate::trace::{Trace, TraceSink};
use rand::RngExt;
use rand::seq::{IndexedRandom, SliceRandom};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

/// What a node is: replicas suffer faults and count against the budget; clients do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Replica,
    Client,
}

/// Everything a world needs to start.
#[derive(Clone, Debug)]
pub struct WorldConfig {
    pub seed: u64,
    /// One entry per node; node `i` gets `NodeId(i)`. Replicas must come first.
    pub nodes: Vec<NodeKind>,
    pub network: NetworkConfig,
    /// Whether channels are in-order (TCP-like); the protocol decides, not the scenario.
    pub fifo: bool,
    pub disk: DiskConfig,
    pub nemesis: NemesisConfig,
}

/// A node's life state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Up,
    Paused,
    Down,
}

/// Something a process reported, with when and where.
#[derive(Clone, Debug)]
pub struct Observed<O> {
    pub time: SimTime,
    pub node: NodeId,
    pub observation: O,
}

/// A message a clog holds, with the generation of the in-order channel it was sent on.
struct Held<M> {
    from: NodeId,
    to: NodeId,
    msg: M,
    /// Its message-log entry, if it has one.
    log: Option<u32>,
    generation: u32,
}

/// One fault that fired.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRecord {
    pub time: SimTime,
    /// `crash`, `restart`, `pause`, `resume`, `partition`, `isolate`, `cut`, `heal`, `clog`, `unclog`.
    pub kind: &'static str,
    /// The fault as a scripted fault would state it, every node resolved to its id, at `time`:
    /// the scenario entry that does exactly this (what `zksim shrink` freezes random faults into).
    /// A mid-handler crash is stated at the time it was armed; a triggered crash
    /// (`after_send`) as the scenario wrote it, at the time it was armed.
    pub spec: FaultSpec,
    pub nodes: Vec<NodeId>,
    pub detail: String,
}

/// Counters of a run.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Events taken from the queue.
    pub events: u64,
    /// Faults that fired, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    /// Random faults not injected because they would have exceeded the fault budget.
    pub faults_skipped: u64,
    pub fault_log: Vec<FaultRecord>,
    /// Unsynced writes crashes discarded, kept, and tore.
    pub writes_lost: u64,
    pub writes_kept: u64,
    pub writes_torn: u64,
}

/// One message as the message log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageRecord {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: &'static str,
    pub sent: SimTime,
    /// When it arrived, if it did (a paused receiver handles it later).
    pub received: Option<SimTime>,
    /// Why it was lost, if it was (`loss`, `partition`, `target-down`, `channel-reset`).
    pub dropped: Option<&'static str>,
}

/// Why `run_until` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Nothing left to do.
    Quiescent,
    /// The time limit was reached.
    TimeLimit,
    /// The event limit was reached.
    EventLimit,
}

/// A fault ready to carry out.
#[derive(Clone, Debug)]
enum Action {
    Crash {
        node: NodeRef,
        unsynced: Option<Unsynced>,
        mid_handler: bool,
        /// For a mid-handler crash: after how many of the handler's effects (drawn if absent).
        after_effects: Option<usize>,
        /// For a triggered crash: the message kind whose `nth` send (by a node `node` matches)
        /// stops its sender.
        after_send: Option<(String, u32)>,
        undo_after: Option<SimDuration>,
        /// The name to bind to the node it stops (`FaultSpec::bind`).
        bind: Option<String>,
    },
    /// The fallback of a mid-handler crash: the node handled nothing in time, so it stops now.
    CrashArmed {
        node: NodeId,
        incarnation: u32,
    },
    Restart(NodeRef),
    Pause {
        node: NodeRef,
        undo_after: Option<SimDuration>,
        bind: Option<String>,
    },
    Resume(NodeRef),
    Partition {
        groups: Vec<Vec<NodeRef>>,
        undo_after: Option<SimDuration>,
    },
    Isolate {
        node: NodeRef,
        undo_after: Option<SimDuration>,
        bind: Option<String>,
    },
    Cut {
        from: NodeRef,
        to: NodeRef,
        undo_after: Option<SimDuration>,
    },
    Heal,
    Clog {
        target: ClogTarget,
        undo_after: Option<SimDuration>,
        bind: Option<String>,
    },
    Unclog(Option<ClogTarget>),
    /// The end of the fault window: undo every fault.
    HealAll,
}

#[derive(Clone, Debug)]
enum ClogTarget {
    Node(NodeRef),
    Link(NodeRef, NodeRef),
}

enum Event<P: Process> {
    Start {
        node: NodeId,
        restarted: bool,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: P::Msg,
        generation: u32,
        /// Its entry in the message log, if it has one.
        log: Option<u32>,
    },
    Timer {
        node: NodeId,
        id: TimerId,
        incarnation: u32,
        timer: P::Timer,
    },
    Synced {
        node: NodeId,
        io: IoId,
        incarnation: u32,
        upto: u64,
    },
    Reset {
        node: NodeId,
        peer: NodeId,
        generation: u32,
    },
    /// A channel closed on purpose now carries nothing more: reset it and tell both ends.
    Close {
        a: NodeId,
        b: NodeId,
    },
    /// An input held while its node was paused, handed over at resume.
    Parked {
        node: NodeId,
        incarnation: u32,
        input: Input<P::Msg, P::Timer>,
    },
    Fault(Action),
    NemesisTick,
}

struct Slot<P: Process> {
    kind: NodeKind,
    state: NodeState,
    /// Bumped at every crash; timers and fsyncs of an earlier life are void.
    incarnation: u32,
    rng: SimRng,
    disk: Disk<P::Stored>,
    /// Inputs that arrived while paused, in arrival order.
    parked: Vec<Input<P::Msg, P::Timer>>,
    /// A mid-handler crash is pending: stop after this many effects of the next handler.
    /// A mid-handler crash waiting for the next handler: after how many effects, what the crash
    /// does to unsynced writes, and when it was armed.
    crash_armed: Option<(usize, Option<Unsynced>, SimTime)>,
}

/// A triggered crash waiting for its send (`FaultSpec::after_send`).
#[derive(Clone, Debug)]
struct Trigger {
    /// Whose send counts, as the fault names it.
    node: NodeRef,
    kind: String,
    /// Matching sends still to come before the one that stops its sender (0: the next one).
    skip: u32,
    unsynced: Option<Unsynced>,
    undo_after: Option<SimDuration>,
    /// The name to bind to the sender it stops.
    bind: Option<String>,
    /// The fault as written, with the time it was armed, for the fault log.
    spec: FaultSpec,
}

/// Everything but the process objects, so that a process and its context can be borrowed at once.
pub(crate) struct Core<P: Process> {
    now: SimTime,
    queue: EventQueue<Event<P>>,
    net: Network,
    net_rng: SimRng,
    disk_rng: SimRng,
    nemesis_rng: SimRng,
    disk_config: DiskConfig,
    fsync_delay: Delay,
    nemesis: NemesisConfig,
    replicas: u32,
    slots: Vec<Slot<P>>,
    live_timers: BTreeSet<u64>,
    next_timer: u64,
    next_io: u64,
    last_sync_done: Vec<SimTime>,
    /// Messages held on clogged links, in send order.
    held: Vec<Held<P::Msg>>,
    /// Triggered crashes waiting for their send, in the order they were armed.
    triggers: Vec<Trigger>,
    /// Names scripted faults bound with `as` (`FaultSpec::bind`), to the nodes they hit.
    names: BTreeMap<String, NodeId>,
    /// A trigger that fired during the current handler: its sender stops when the handler returns.
    fired: Option<Trigger>,
    /// Whether the node whose handler runs leads (worked out only while a trigger waits).
    sender_leads: bool,
    /// Channels of a node a triggered crash stopped, closing once what it sent has arrived
    /// (lowest id first): a message to the dead node meanwhile does not reset them.
    draining: BTreeSet<(NodeId, NodeId)>,
    /// The message log, if asked for: its capacity and the messages sent from `log_from` on.
    message_log: Option<(usize, Vec<MessageRecord>)>,
    log_from: SimTime,
    observations: Vec<Observed<P::Observation>>,
    trace: Trace,
    stats: Stats,
    /// Every effect asked of a `Ctx`, in order, when a process is driven alone (`crate::alone`);
    /// `None` in a world, which applies effects and keeps no list of them.
    effects: Option<Vec<EffectOf<P>>>,
}

/// The deterministic world.
pub struct World<P: Process> {
    core: Core<P>,
    procs: Vec<Option<P>>,
    factory: Box<dyn FnMut(NodeId) -> P>,
}

/// Cuts long renderings of messages so that trace lines stay readable.
fn clip(mut s: String) -> String {
    const MAX: usize = 240;
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn ms(v: f64) -> SimDuration {
    SimDuration(ms_to_ns(v))
}

impl<P: Process> Core<P> {
    /// The world's state before anything is queued: every node up with an empty disk, its random
    /// streams drawn from `config.seed`.
    pub(crate) fn new(config: WorldConfig) -> Core<P> {
        let streams = Streams::new(config.seed);
        let replicas = config
            .nodes
            .iter()
            .filter(|k| **k == NodeKind::Replica)
            .count() as u32;
        assert!(
            config.nodes[..replicas as usize]
                .iter()
                .all(|k| *k == NodeKind::Replica),
            "replicas must come before clients"
        );
        let slots = config
            .nodes
            .iter()
            .enumerate()
            .map(|(i, &kind)| Slot {
                kind,
                state: NodeState::Up,
                incarnation: 0,
                rng: streams.stream(&format!("node/{i}")),
                disk: Disk::default(),
                parked: Vec::new(),
                crash_armed: None,
            })
            .collect::<Vec<_>>();
        let n = slots.len();
        let is_client = config
            .nodes
            .iter()
            .map(|k| *k == NodeKind::Client)
            .collect();
        Core {
            now: SimTime::ZERO,
            queue: EventQueue::default(),
            net: Network::new(config.network, config.fifo, is_client),
            net_rng: streams.stream("network"),
            disk_rng: streams.stream("disk"),
            nemesis_rng: streams.stream("nemesis"),
            fsync_delay: config.disk.fsync_latency.delay(),
            disk_config: config.disk,
            nemesis: config.nemesis,
            replicas,
            slots,
            live_timers: BTreeSet::new(),
            next_timer: 0,
            next_io: 0,
            last_sync_done: vec![SimTime::ZERO; n],
            held: Vec::new(),
            triggers: Vec::new(),
            names: BTreeMap::new(),
            fired: None,
            sender_leads: false,
            draining: BTreeSet::new(),
            message_log: None,
            log_from: SimTime::ZERO,
            observations: Vec::new(),
            trace: Trace::default(),
            stats: Stats::default(),
            effects: None,
        }
    }

    /// Starts keeping every effect asked of a `Ctx` (see `crate::alone`).
    pub(crate) fn record_effects(&mut self) {
        self.effects = Some(Vec::new());
    }

    /// The effects recorded since the last call, in the order they were asked for.
    pub(crate) fn take_effects(&mut self) -> Vec<EffectOf<P>> {
        self.effects
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Empties the queue, returning the fsync completions it held as `(node, io, upto)`: a process
    /// driven alone hears of them only when its test says so.
    pub(crate) fn drain_syncs(&mut self) -> Vec<(NodeId, IoId, u64)> {
        let mut syncs = Vec::new();
        while let Some((_, event)) = self.queue.pop_until(SimTime::MAX) {
            if let Event::Synced { node, io, upto, .. } = event {
                syncs.push((node, io, upto));
            }
        }
        syncs
    }

    pub(crate) fn now(&self) -> SimTime {
        self.now
    }

    pub(crate) fn disk(&self, node: NodeId) -> &Disk<P::Stored> {
        &self.slots[node.index()].disk
    }

    /// Node `node`'s disk.
    pub(crate) fn disk_mut(&mut self, node: NodeId) -> &mut Disk<P::Stored> {
        &mut self.slots[node.index()].disk
    }

    /// Moves virtual time to `now` (never back).
    pub(crate) fn advance_to(&mut self, now: SimTime) {
        assert!(now >= self.now, "time never runs back");
        self.now = now;
    }

    /// The context through which node `me` handles one input.
    pub(crate) fn ctx(&mut self, me: NodeId) -> Ctx<'_, P> {
        Ctx {
            core: self,
            me,
            effects: 0,
            crash_after: None,
            stopped: false,
        }
    }

    fn push(&mut self, time: SimTime, event: Event<P>) {
        self.queue.push(time, event);
    }

    fn fault(&mut self, mut spec: FaultSpec, nodes: Vec<NodeId>, detail: String) {
        let now = self.now;
        let kind = spec.fault.name();
        spec.at_ms = now.as_ms_f64();
        self.trace.event(
            now,
            None,
            "nemesis",
            |h| {
                h.write(kind.as_bytes());
                nodes.hash(h);
                h.write(detail.as_bytes());
            },
            || clip(format!("{kind} {}", detail)),
        );
        *self.stats.faults.entry(kind).or_default() += 1;
        self.stats.fault_log.push(FaultRecord {
            time: now,
            kind,
            spec,
            nodes,
            detail,
        });
    }

    /// Sends one message `from -> to` now: counts it, logs it if the log has room, routes it.
    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        self.net.count_sent(msg.kind(), msg.size_bytes());
        let log = self.log_message(from, to, msg.kind());
        self.route(from, to, msg, log);
    }

    /// Decides the fate of a message sent now: delivered later, held, or dropped.
    fn route(&mut self, from: NodeId, to: NodeId, msg: P::Msg, log: Option<u32>) {
        let kind = msg.kind();
        let now = self.now;
        match self.net.route(from, to, now, &mut self.net_rng) {
            Route::Deliver {
                at,
                duplicate_at,
                generation,
            } => {
                if let Some(dup) = duplicate_at {
                    self.net.count(kind).duplicated += 1;
                    let log = self.log_message(from, to, kind);
                    let msg = msg.clone();
                    self.push(
                        dup,
                        Event::Deliver {
                            from,
                            to,
                            msg,
                            generation,
                            log,
                        },
                    );
                }
                self.push(
                    at,
                    Event::Deliver {
                        from,
                        to,
                        msg,
                        generation,
                        log,
                    },
                );
            }
            Route::Hold { generation } => self.held.push(Held {
                from,
                to,
                msg,
                log,
                generation,
            }),
            Route::Drop(reason) => self.drop_message(from, to, &msg, reason, log),
        }
    }

    /// Starts a message-log entry, if the log is on and has room.
    fn log_message(&mut self, from: NodeId, to: NodeId, kind: &'static str) -> Option<u32> {
        let (limit, log) = self.message_log.as_mut()?;
        if log.len() >= *limit || self.now < self.log_from {
            return None;
        }
        let sent = self.now;
        log.push(MessageRecord {
            from,
            to,
            kind,
            sent,
            received: None,
            dropped: None,
        });
        Some((log.len() - 1) as u32)
    }

    fn log_outcome(&mut self, log: Option<u32>, outcome: Result<SimTime, &'static str>) {
        if let (Some(i), Some((_, records))) = (log, &mut self.message_log) {
            let r = &mut records[i as usize];
            match outcome {
                Ok(t) => r.received = Some(t),
                Err(why) => r.dropped = Some(why),
            }
        }
    }

    fn drop_message(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: &P::Msg,
        reason: DropReason,
        log: Option<u32>,
    ) {
        self.net.count(msg.kind()).dropped += 1;
        self.log_outcome(log, Err(reason.as_str()));
        let now = self.now;
        self.trace.event(
            now,
            Some(from),
            "drop",
            |h| {
                to.hash(h);
                msg.hash(h);
                h.write(reason.as_str().as_bytes());
            },
            || clip(format!("-> {to} {msg:?} ({})", reason.as_str())),
        );
        let draining = reason == DropReason::TargetDown
            && self.draining.contains(&(from.min(to), from.max(to)));
        if self.net.fifo && reason != DropReason::ChannelReset && !draining {
            self.reset_channel(from, to);
        }
    }

    /// Breaks the in-order channel between `a` and `b`; each end hears of it after the detection
    /// delay.
    fn reset_channel(&mut self, a: NodeId, b: NodeId) {
        if a == b {
            return;
        }
        let generation = self.net.reset_channel(a, b);
        let at = self.now + self.net.reset_detect();
        self.push(
            at,
            Event::Reset {
                node: a,
                peer: b,
                generation,
            },
        );
        self.push(
            at,
            Event::Reset {
                node: b,
                peer: a,
                generation,
            },
        );
    }

    /// Closes the in-order channel between `a` and `b` the way TCP's FIN does: what is already on
    /// the wire still arrives, then both ends hear that the channel is gone.
    fn close_channel(&mut self, a: NodeId, b: NodeId) {
        if a == b {
            return;
        }
        let drained = self
            .now
            .max(self.net.last_arrival(a, b))
            .max(self.net.last_arrival(b, a));
        self.push(drained, Event::Close { a, b });
    }

    /// A fault the nemesis meant to inject and did not: a trace line, no effect.
    fn trace_skip(&mut self, detail: String) {
        let now = self.now;
        self.trace
            .event(now, None, "nemesis", |h| h.write(b"skip"), || detail);
    }

    fn count_down(&self) -> u32 {
        self.slots
            .iter()
            .filter(|s| s.kind == NodeKind::Replica && s.state != NodeState::Up)
            .count() as u32
    }

    fn up_replicas(&self) -> Vec<NodeId> {
        (0..self.replicas)
            .map(NodeId)
            .filter(|n| self.slots[n.index()].state == NodeState::Up)
            .collect()
    }
}

impl<P: Process> World<P> {
    /// Builds the world and queues every node's first start and the scripted faults. The
    /// configuration must have been validated (`NemesisConfig::validate`, ...).
    pub fn new(config: WorldConfig, factory: impl FnMut(NodeId) -> P + 'static) -> World<P> {
        let mut core = Core::new(config);
        let n = core.slots.len();
        for i in 0..n {
            core.push(
                SimTime::ZERO,
                Event::Start {
                    node: NodeId(i as u32),
                    restarted: false,
                },
            );
        }
        for spec in core.nemesis.scripted.clone() {
            core.push(
                SimTime::ZERO + ms(spec.at_ms),
                Event::Fault(action_of(&spec)),
            );
        }
        if let Some(window) = core.nemesis.window_ms {
            if let Some(random) = &core.nemesis.random {
                let first =
                    SimTime::ZERO + ms(window[0]) + draw_ms(&mut core.nemesis_rng, random.every_ms);
                core.push(first, Event::NemesisTick);
            }
            core.push(SimTime::ZERO + ms(window[1]), Event::Fault(Action::HealAll));
        }
        World {
            core,
            procs: (0..n).map(|_| None).collect(),
            factory: Box::new(factory),
        }
    }

    pub fn now(&self) -> SimTime {
        self.core.now
    }

    pub fn node_count(&self) -> usize {
        self.procs.len()
    }

    pub fn replica_count(&self) -> usize {
        self.core.replicas as usize
    }

    /// The process at `node`, if it is not crashed.
    pub fn process(&self, node: NodeId) -> Option<&P> {
        self.procs[node.index()].as_ref()
    }

    pub fn state(&self, node: NodeId) -> NodeState {
        self.core.slots[node.index()].state
    }

    pub fn disk(&self, node: NodeId) -> &Disk<P::Stored> {
        &self.core.slots[node.index()].disk
    }

    pub fn observations(&self) -> &[Observed<P::Observation>] {
        &self.core.observations
    }

    pub fn take_observations(&mut self) -> Vec<Observed<P::Observation>> {
        std::mem::take(&mut self.core.observations)
    }

    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    pub fn network(&self) -> &Network {
        &self.core.net
    }

    /// The hash of every event so far: it identifies the run.
    pub fn trace_hash(&self) -> u64 {
        self.core.trace.hash()
    }

    /// Number of trace lines so far (events plus drops and faults).
    pub fn trace_len(&self) -> u64 {
        self.core.trace.count()
    }

    /// Hands every trace line to `sink` as it happens.
    pub fn set_trace_sink(&mut self, sink: TraceSink) {
        self.core.trace.set_sink(sink);
    }

    /// Keeps the running hash after each trace line, so that two runs can be compared line by line.
    pub fn keep_prefix_hashes(&mut self) {
        self.core.trace.keep_prefix_hashes();
    }

    pub fn prefix_hashes(&self) -> Option<&[u64]> {
        self.core.trace.prefix_hashes()
    }

    /// Keeps a log of the first `limit` messages sent from `from` on (for message diagrams).
    pub fn log_messages(&mut self, from: SimTime, limit: usize) {
        self.core.message_log = Some((limit, Vec::new()));
        self.core.log_from = from;
    }

    /// The message log, if it was asked for.
    pub fn message_log(&self) -> &[MessageRecord] {
        self.core
            .message_log
            .as_ref()
            .map_or(&[], |(_, log)| log.as_slice())
    }

    /// Schedules a fault from outside, as if it were scripted.
    pub fn schedule(&mut self, spec: &FaultSpec) {
        let at = SimTime::ZERO + ms(spec.at_ms);
        self.core.push(at, Event::Fault(action_of(spec)));
    }

    /// Runs until the queue is empty, the next event is later than `end`, or `max_events` events
    /// have been taken in all.
    pub fn run_until(&mut self, end: SimTime, max_events: u64) -> RunEnd {
        loop {
            if self.core.stats.events >= max_events {
                return RunEnd::EventLimit;
            }
            match self.core.queue.pop_until(end) {
                Some((time, event)) => self.step(time, event),
                None if self.core.queue.is_empty() => return RunEnd::Quiescent,
                None => {
                    self.core.now = end;
                    return RunEnd::TimeLimit;
                }
            }
        }
    }

    /// Carries out one event taken from the queue.
    fn step(&mut self, time: SimTime, event: Event<P>) {
        debug_assert!(time >= self.core.now, "time never goes backwards");
        self.core.now = time;
        self.core.stats.events += 1;
        match event {
            Event::Start { node, restarted } => self.start(node, restarted),
            Event::Deliver {
                from,
                to,
                msg,
                generation,
                log,
            } => self.deliver(from, to, msg, generation, log),
            Event::Timer {
                node,
                id,
                incarnation,
                timer,
            } => {
                let live = self.core.live_timers.remove(&id.0);
                if live && self.core.slots[node.index()].incarnation == incarnation {
                    self.input(node, Input::Timer { id, timer });
                }
            }
            Event::Synced {
                node,
                io,
                incarnation,
                upto,
            } => {
                let slot = &mut self.core.slots[node.index()];
                if slot.incarnation == incarnation {
                    slot.disk.make_durable(upto);
                    self.input(node, Input::Synced { io });
                }
            }
            Event::Reset {
                node,
                peer,
                generation,
            } => {
                if self.core.slots[node.index()].state != NodeState::Down
                    && self.core.net.learn_reset(node, peer, generation)
                {
                    self.input(node, Input::Disconnected { peer });
                }
            }
            Event::Close { a, b } => {
                self.core.draining.remove(&(a.min(b), a.max(b)));
                let generation = self.core.net.reset_channel(a, b);
                for (node, peer) in [(a, b), (b, a)] {
                    if self.core.slots[node.index()].state != NodeState::Down
                        && self.core.net.learn_reset(node, peer, generation)
                    {
                        self.input(node, Input::Disconnected { peer });
                    }
                }
            }
            Event::Parked {
                node,
                incarnation,
                input,
            } => {
                if self.core.slots[node.index()].incarnation == incarnation {
                    self.input(node, input);
                }
            }
            Event::Fault(action) => self.apply(action),
            Event::NemesisTick => self.nemesis_tick(),
        }
    }

    fn start(&mut self, node: NodeId, restarted: bool) {
        let i = node.index();
        self.core.slots[i].state = NodeState::Up;
        self.core.net.forget_channels(node);
        self.procs[i] = Some((self.factory)(node));
        self.input(node, Input::Start { restarted });
    }

    fn deliver(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: P::Msg,
        generation: u32,
        log: Option<u32>,
    ) {
        if self.core.slots[to.index()].state == NodeState::Down {
            self.core
                .drop_message(from, to, &msg, DropReason::TargetDown, log);
            return;
        }
        if !self.core.net.channel_alive(from, to, generation) {
            self.core
                .drop_message(from, to, &msg, DropReason::ChannelReset, log);
            return;
        }
        if self.core.net.fifo
            && let Some(g) = self.core.net.reset_pending(to, from)
        {
            // The peer already speaks on a new channel: this end learns of the reset first.
            self.core.net.learn_reset(to, from, g);
            self.input(to, Input::Disconnected { peer: from });
        }
        self.core.net.count(msg.kind()).delivered += 1;
        let now = self.core.now;
        self.core.log_outcome(log, Ok(now));
        self.input(to, Input::Message { from, msg });
    }

    /// Hands one input to a node: parked if it is paused, dropped if it is down.
    fn input(&mut self, node: NodeId, input: Input<P::Msg, P::Timer>) {
        let i = node.index();
        match self.core.slots[i].state {
            NodeState::Down => return,
            NodeState::Paused => {
                self.core.slots[i].parked.push(input);
                return;
            }
            NodeState::Up => {}
        }
        let now = self.core.now;
        trace_input(&mut self.core.trace, now, node, &input);
        let armed = self.core.slots[i].crash_armed;
        if !self.core.triggers.is_empty() {
            self.core.sender_leads = self.leader() == Some(node);
        }
        let Some(process) = self.procs[i].as_mut() else {
            return;
        };
        let mut ctx = Ctx {
            core: &mut self.core,
            me: node,
            effects: 0,
            crash_after: armed.map(|a| a.0),
            stopped: false,
        };
        process.on_input(input, &mut ctx);
        if let Some(trigger) = self.core.fired.take() {
            self.crash_triggered(node, trigger);
        }
        if let Some((after, unsynced, at)) = armed {
            // The handler ran as far as its crash point (or to its end, if it had fewer effects).
            self.core.slots[i].crash_armed = None;
            self.crash(node, unsynced, "mid-handler", Some((at, after)));
        }
    }

    fn resolve(&mut self, r: &NodeRef) -> Option<NodeId> {
        let core = &mut self.core;
        match r {
            NodeRef::Id(i) => Some(NodeId(*i)),
            NodeRef::Random => core.up_replicas().choose(&mut core.nemesis_rng).copied(),
            NodeRef::Leader => self.leader().or_else(|| {
                let up = self.core.up_replicas();
                up.choose(&mut self.core.nemesis_rng).copied()
            }),
            NodeRef::Follower => {
                let leader = self.leader();
                let candidates: Vec<NodeId> = self
                    .core
                    .up_replicas()
                    .into_iter()
                    .filter(|n| Some(*n) != leader)
                    .collect();
                candidates.choose(&mut self.core.nemesis_rng).copied()
            }
            NodeRef::Name(name) => self.core.names.get(name).copied(),
        }
    }

    /// `resolve` for a fault that binds a name: a random replica or follower is drawn among the
    /// nodes no other name is bound to, so that names bound by role name different nodes ("two
    /// different followers"). Without `as`, exactly `resolve`.
    fn resolve_to_bind(&mut self, r: &NodeRef, bind: &Option<String>) -> Option<NodeId> {
        if bind.is_none() || !matches!(r, NodeRef::Random | NodeRef::Follower) {
            return self.resolve(r);
        }
        let leader = self.leader();
        let core = &mut self.core;
        let candidates: Vec<NodeId> = core
            .up_replicas()
            .into_iter()
            .filter(|n| *r == NodeRef::Random || Some(*n) != leader)
            .filter(|n| !core.names.values().any(|b| b == n))
            .collect();
        candidates.choose(&mut core.nemesis_rng).copied()
    }

    /// Binds `name` (if the fault has one) to the node the fault hit.
    fn bind(&mut self, name: Option<String>, node: NodeId) {
        if let Some(name) = name {
            self.core.names.entry(name).or_insert(node);
        }
    }

    /// The replica that leads in the highest epoch, lowest id first on a tie.
    pub fn leader(&self) -> Option<NodeId> {
        (0..self.core.replicas)
            .map(NodeId)
            .filter(|n| self.core.slots[n.index()].state != NodeState::Down)
            .filter_map(|n| self.procs[n.index()].as_ref()?.leadership().map(|e| (e, n)))
            .max_by(|(e1, n1), (e2, n2)| e1.cmp(e2).then(n2.cmp(n1)))
            .map(|(_, n)| n)
    }

    fn undo_later(&mut self, after: Option<SimDuration>, action: Action) {
        if let Some(d) = after {
            let at = self.core.now + d;
            self.core.push(at, Event::Fault(action));
        }
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Crash {
                node,
                unsynced,
                mid_handler,
                after_effects,
                after_send,
                undo_after,
                bind,
            } => {
                if let Some((kind, nth)) = after_send {
                    return self.arm_trigger(node, kind, nth, unsynced, undo_after, bind);
                }
                let Some(n) = self.resolve_to_bind(&node, &bind) else {
                    return self.skip("crash", &node);
                };
                if self.core.slots[n.index()].state == NodeState::Down {
                    return;
                }
                self.bind(bind, n);
                if mid_handler {
                    let k = match after_effects {
                        Some(k) => k,
                        None => self.core.nemesis_rng.random_range(0..4usize),
                    };
                    let now = self.core.now;
                    let slot = &mut self.core.slots[n.index()];
                    slot.crash_armed = Some((k, unsynced, now));
                    let incarnation = slot.incarnation;
                    let at = self.core.now + SimDuration::from_ms(50);
                    self.core.push(
                        at,
                        Event::Fault(Action::CrashArmed {
                            node: n,
                            incarnation,
                        }),
                    );
                } else {
                    self.crash(n, unsynced, "", None);
                }
                self.undo_later(undo_after, Action::Restart(NodeRef::Id(n.0)));
            }
            Action::CrashArmed { node, incarnation } => {
                let slot = &mut self.core.slots[node.index()];
                if slot.incarnation == incarnation
                    && let Some((after, unsynced, at)) = slot.crash_armed.take()
                {
                    self.crash(node, unsynced, "between handlers", Some((at, after)));
                }
            }
            Action::Restart(node) => {
                let Some(n) = self.resolve(&node) else { return };
                if self.core.slots[n.index()].state != NodeState::Down {
                    return;
                }
                let spec = FaultSpec::new(FaultKind::Restart).on(n);
                self.core.fault(spec, vec![n], format!("{n}"));
                self.start(n, true);
            }
            Action::Pause {
                node,
                undo_after,
                bind,
            } => {
                let Some(n) = self.resolve_to_bind(&node, &bind) else {
                    return self.skip("pause", &node);
                };
                if self.core.slots[n.index()].state != NodeState::Up {
                    return;
                }
                self.bind(bind, n);
                self.core.slots[n.index()].state = NodeState::Paused;
                let spec = FaultSpec::new(FaultKind::Pause).on(n);
                self.core.fault(spec, vec![n], format!("{n}"));
                self.undo_later(undo_after, Action::Resume(NodeRef::Id(n.0)));
            }
            Action::Resume(node) => {
                let Some(n) = self.resolve(&node) else { return };
                self.resume(n);
            }
            Action::Partition { groups, undo_after } => {
                let groups: Vec<Vec<NodeId>> = groups
                    .iter()
                    .map(|g| g.iter().filter_map(|r| self.resolve(r)).collect())
                    .collect();
                for (gi, a) in groups.iter().enumerate() {
                    for (gj, b) in groups.iter().enumerate() {
                        if gi != gj {
                            for &x in a {
                                for &y in b {
                                    self.core.net.set_cut(x, y, true);
                                }
                            }
                        }
                    }
                }
                let text = groups
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|n| n.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .collect::<Vec<_>>()
                    .join(" | ");
                let spec = FaultSpec {
                    groups: Some(
                        groups
                            .iter()
                            .map(|g| g.iter().map(|n| NodeRef::Id(n.0)).collect())
                            .collect(),
                    ),
                    ..FaultSpec::new(FaultKind::Partition)
                };
                self.core.fault(spec, groups.concat(), text);
                self.undo_later(undo_after, Action::Heal);
            }
            Action::Isolate {
                node,
                undo_after,
                bind,
            } => {
                let Some(n) = self.resolve_to_bind(&node, &bind) else {
                    return self.skip("isolate", &node);
                };
                self.bind(bind, n);
                for r in (0..self.core.replicas).map(NodeId).filter(|&r| r != n) {
                    self.core.net.set_cut(n, r, true);
                    self.core.net.set_cut(r, n, true);
                }
                let spec = FaultSpec::new(FaultKind::Isolate).on(n);
                self.core
                    .fault(spec, vec![n], format!("{n} from the other replicas"));
                self.undo_later(undo_after, Action::Heal);
            }
            Action::Cut {
                from,
                to,
                undo_after,
            } => {
                let (Some(a), Some(b)) = (self.resolve(&from), self.resolve(&to)) else {
                    return;
                };
                self.core.net.set_cut(a, b, true);
                let spec = FaultSpec::new(FaultKind::Cut).link(a, b);
                self.core.fault(spec, vec![a, b], format!("{a} -> {b}"));
                self.undo_later(undo_after, Action::Heal);
            }
            Action::Heal => {
                if self.core.net.any_cut() {
                    self.core.net.heal();
                    let spec = FaultSpec::new(FaultKind::Heal);
                    self.core.fault(spec, vec![], "all links".into());
                }
            }
            Action::Clog {
                target,
                undo_after,
                bind,
            } => match &target {
                ClogTarget::Node(r) => {
                    let Some(n) = self.resolve_to_bind(r, &bind) else {
                        return self.skip("clog", r);
                    };
                    self.bind(bind, n);
                    self.core.net.set_node_clog(n, true);
                    let spec = FaultSpec::new(FaultKind::Clog).on(n);
                    self.core.fault(spec, vec![n], format!("{n}"));
                    self.undo_later(
                        undo_after,
                        Action::Unclog(Some(ClogTarget::Node(NodeRef::Id(n.0)))),
                    );
                }
                ClogTarget::Link(f, t) => {
                    let (Some(a), Some(b)) = (self.resolve(f), self.resolve(t)) else {
                        return;
                    };
                    self.core.net.set_link_clog(a, b, true);
                    let spec = FaultSpec::new(FaultKind::Clog).link(a, b);
                    self.core.fault(spec, vec![a, b], format!("{a} -> {b}"));
                    let undo = ClogTarget::Link(NodeRef::Id(a.0), NodeRef::Id(b.0));
                    self.undo_later(undo_after, Action::Unclog(Some(undo)));
                }
            },
            Action::Unclog(target) => {
                let unclog = FaultSpec::new(FaultKind::Unclog);
                let (spec, detail) = match &target {
                    None => {
                        if !self.core.net.any_clog() {
                            return;
                        }
                        self.core.net.unclog_all();
                        (unclog, "all".to_string())
                    }
                    Some(ClogTarget::Node(r)) => {
                        let Some(n) = self.resolve(r) else { return };
                        self.core.net.set_node_clog(n, false);
                        (unclog.on(n), format!("{n}"))
                    }
                    Some(ClogTarget::Link(f, t)) => {
                        let (Some(a), Some(b)) = (self.resolve(f), self.resolve(t)) else {
                            return;
                        };
                        self.core.net.set_link_clog(a, b, false);
                        (unclog.link(a, b), format!("{a} -> {b}"))
                    }
                };
                self.core.fault(spec, vec![], detail);
                self.release_held();
            }
            Action::HealAll => self.heal_all(),
        }
    }

    /// Arms a triggered crash: from now on, the `nth` send of `kind` by a node `node` matches stops
    /// its sender (`Ctx::send`, then `crash_triggered`).
    fn arm_trigger(
        &mut self,
        node: NodeRef,
        kind: String,
        nth: u32,
        unsynced: Option<Unsynced>,
        undo_after: Option<SimDuration>,
        bind: Option<String>,
    ) {
        // A name stands for the node bound to it now: the trigger waits for that node's send.
        let node = match node {
            NodeRef::Name(_) => match self.resolve(&node) {
                Some(n) => NodeRef::Id(n.0),
                None => return self.skip("crash", &node),
            },
            other => other,
        };
        let now = self.core.now;
        let spec = FaultSpec {
            at_ms: now.as_ms_f64(),
            node: Some(node.clone()),
            unsynced,
            for_ms: undo_after.map(|d| d.as_ms_f64()),
            after_send: Some(kind.clone()),
            nth: (nth != 1).then_some(nth),
            ..FaultSpec::new(FaultKind::Crash)
        };
        let detail = format!("arm: crash {node} after its send #{nth} of {kind}");
        self.core.trace.event(
            now,
            None,
            "nemesis",
            |h| {
                h.write(b"arm");
                h.write(detail.as_bytes());
            },
            || detail.clone(),
        );
        self.core.triggers.push(Trigger {
            node,
            kind,
            skip: nth.saturating_sub(1),
            unsynced,
            undo_after,
            bind,
            spec,
        });
    }

    /// Stops `node`, whose handler just sent the message `trigger` waited for (the rest of the
    /// handler was discarded), and restarts it after the fault's `for_ms`.
    fn crash_triggered(&mut self, node: NodeId, trigger: Trigger) {
        let how = format!("after sending {}", trigger.kind);
        self.bind(trigger.bind.clone(), node);
        let logged = self.core.stats.fault_log.len();
        self.crash_as(node, trigger.unsynced, &how, None, true);
        if self.core.stats.fault_log.len() > logged {
            // What the scenario wrote, armed when it was: replaying it stops the same send.
            let record = self.core.stats.fault_log.last_mut().expect("just logged");
            record.spec = trigger.spec;
        }
        self.undo_later(trigger.undo_after, Action::Restart(NodeRef::Id(node.0)));
    }

    fn skip(&mut self, what: &str, node: &NodeRef) {
        self.core
            .trace_skip(format!("skip {what} {node}: no such node up"));
    }

    /// The end of the fault window: every fault is undone, in a fixed order.
    fn heal_all(&mut self) {
        self.core.nemesis.random = None;
        // A triggered crash that has not fired by the window's end never will.
        self.core.triggers.clear();
        self.apply(Action::Heal);
        self.apply(Action::Unclog(None));
        for i in 0..self.core.replicas {
            let n = NodeId(i);
            match self.core.slots[n.index()].state {
                NodeState::Paused => self.resume(n),
                NodeState::Down => {
                    let spec = FaultSpec::new(FaultKind::Restart).on(n);
                    self.core.fault(spec, vec![n], format!("{n}"));
                    self.start(n, true);
                }
                NodeState::Up => {}
            }
        }
    }

    /// Stops `node`: its process object is dropped, its disk loses what the crash model says, its
    /// channels reset, and every timer and fsync of this life is void. `armed` is, for a
    /// mid-handler crash, when it was armed and after how many effects it was to stop.
    fn crash(
        &mut self,
        node: NodeId,
        unsynced: Option<Unsynced>,
        how: &str,
        armed: Option<(SimTime, usize)>,
    ) {
        self.crash_as(node, unsynced, how, armed, false)
    }

    /// `crash`, and with `drain` the messages the node already sent still arrive before its
    /// channels close (a triggered crash stops a node right after a send: that message is on the
    /// wire); without it, its channels reset at once and what is in flight is lost.
    fn crash_as(
        &mut self,
        node: NodeId,
        unsynced: Option<Unsynced>,
        how: &str,
        armed: Option<(SimTime, usize)>,
        drain: bool,
    ) {
        let i = node.index();
        if self.core.slots[i].state == NodeState::Down {
            return;
        }
        let model = unsynced.unwrap_or(self.core.disk_config.unsynced_on_crash);
        let slot = &mut self.core.slots[i];
        slot.state = NodeState::Down;
        slot.incarnation += 1;
        slot.parked.clear();
        slot.crash_armed = None;
        let loss: CrashLoss = slot.disk.crash(model, &mut self.core.disk_rng);
        self.procs[i] = None;
        self.core.stats.writes_lost += loss.lost as u64;
        self.core.stats.writes_kept += loss.kept as u64;
        self.core.stats.writes_torn += loss.torn as u64;
        let how = if how.is_empty() {
            String::new()
        } else {
            format!(" {how}")
        };
        let detail = format!(
            "{node}{how}: unsynced writes {} kept, {} lost{}",
            loss.kept,
            loss.lost,
            if loss.torn { ", next one torn" } else { "" }
        );
        let spec = FaultSpec {
            unsynced: unsynced.filter(|u| *u != self.core.disk_config.unsynced_on_crash),
            mid_handler: armed.map(|_| true),
            after_effects: armed.map(|(_, k)| k as u32),
            ..FaultSpec::new(FaultKind::Crash).on(node)
        };
        self.core.fault(spec, vec![node], detail);
        if let Some((at, _)) = armed {
            // The scripted equivalent arms the crash when this one was armed.
            let record = self.core.stats.fault_log.last_mut().expect("just logged");
            record.spec.at_ms = at.as_ms_f64();
        }
        if self.core.net.fifo {
            for peer in (0..self.procs.len() as u32)
                .map(NodeId)
                .filter(|&p| p != node)
            {
                if drain {
                    self.core.draining.insert((node.min(peer), node.max(peer)));
                    self.core.close_channel(node, peer);
                } else {
                    self.core.reset_channel(node, peer);
                }
            }
        }
    }

    fn resume(&mut self, node: NodeId) {
        let i = node.index();
        if self.core.slots[i].state != NodeState::Paused {
            return;
        }
        self.core.slots[i].state = NodeState::Up;
        let spec = FaultSpec::new(FaultKind::Resume).on(node);
        self.core.fault(spec, vec![node], format!("{node}"));
        let incarnation = self.core.slots[i].incarnation;
        let now = self.core.now;
        for input in std::mem::take(&mut self.core.slots[i].parked) {
            self.core.push(
                now,
                Event::Parked {
                    node,
                    incarnation,
                    input,
                },
            );
        }
    }

    /// Sends again, in their original order, the held messages whose link is no longer clogged.
    /// A message whose in-order channel was reset while it was held died with that channel: sent
    /// now, it would arrive on the next channel as if sent there.
    fn release_held(&mut self) {
        for h in std::mem::take(&mut self.core.held) {
            if self.core.net.is_clogged(h.from, h.to) {
                self.core.held.push(h);
            } else if !self.core.net.channel_alive(h.from, h.to, h.generation) {
                self.core
                    .drop_message(h.from, h.to, &h.msg, DropReason::ChannelReset, h.log);
            } else {
                // Counted and logged when first sent: only routed now.
                self.core.route(h.from, h.to, h.msg, h.log);
            }
        }
    }

    fn nemesis_tick(&mut self) {
        let Some(random) = self.core.nemesis.random.clone() else {
            return;
        };
        let total: u32 = random.kinds.values().sum();
        let mut pick = self.core.nemesis_rng.random_range(0..total);
        let kind = *random
            .kinds
            .iter()
            .find(|&(_, &w)| {
                if pick < w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .expect("weights sum to total")
            .0;
        let duration = Some(draw_ms(&mut self.core.nemesis_rng, random.duration_ms));
        let within_budget = self.core.count_down() < self.core.nemesis.max_down(self.core.replicas);
        let action = match kind {
            RandomFault::Crash | RandomFault::CrashLeader if within_budget => {
                let node = if kind == RandomFault::Crash {
                    NodeRef::Random
                } else {
                    NodeRef::Leader
                };
                let mid_handler = random.mid_handler.sample(&mut self.core.nemesis_rng);
                Some(Action::Crash {
                    node,
                    unsynced: None,
                    mid_handler,
                    after_effects: None,
                    after_send: None,
                    undo_after: duration,
                    bind: None,
                })
            }
            RandomFault::Pause | RandomFault::PauseLeader if within_budget => {
                let node = if kind == RandomFault::Pause {
                    NodeRef::Random
                } else {
                    NodeRef::Leader
                };
                Some(Action::Pause {
                    node,
                    undo_after: duration,
                    bind: None,
                })
            }
            RandomFault::Crash
            | RandomFault::CrashLeader
            | RandomFault::Pause
            | RandomFault::PauseLeader => None,
            // One partition at a time: a new cut would blur when the first one heals.
            _ if self.core.net.any_cut() && kind != RandomFault::Clog => None,
            // Cutting replicas apart needs two of them.
            RandomFault::Partition | RandomFault::IsolateLeader | RandomFault::OneWay
                if self.core.replicas < 2 =>
            {
                None
            }
            RandomFault::Partition => {
                let mut replicas: Vec<NodeRef> = (0..self.core.replicas).map(NodeRef::Id).collect();
                replicas.shuffle(&mut self.core.nemesis_rng);
                let minority = self
                    .core
                    .nemesis_rng
                    .random_range(1..=(self.core.replicas as usize).div_ceil(2).max(1));
                let majority = replicas.split_off(minority.min(replicas.len()));
                Some(Action::Partition {
                    groups: vec![replicas, majority],
                    undo_after: duration,
                })
            }
            RandomFault::IsolateLeader => Some(Action::Isolate {
                node: NodeRef::Leader,
                undo_after: duration,
                bind: None,
            }),
            RandomFault::OneWay => {
                let r = self.core.replicas;
                let from = self.core.nemesis_rng.random_range(0..r);
                let to = (from + self.core.nemesis_rng.random_range(1..r.max(2))) % r;
                Some(Action::Cut {
                    from: NodeRef::Id(from),
                    to: NodeRef::Id(to),
                    undo_after: duration,
                })
            }
            RandomFault::Clog => Some(Action::Clog {
                target: ClogTarget::Node(NodeRef::Random),
                undo_after: duration,
                bind: None,
            }),
            RandomFault::IsolateClient => {
                let clients = self.procs.len() as u32 - self.core.replicas;
                (clients > 0).then(|| {
                    let client =
                        self.core.replicas + self.core.nemesis_rng.random_range(0..clients);
                    let replicas = (0..self.core.replicas).map(NodeRef::Id).collect();
                    Action::Partition {
                        groups: vec![vec![NodeRef::Id(client)], replicas],
                        undo_after: duration,
                    }
                })
            }
        };
        match action {
            Some(a) => self.apply(a),
            None => {
                self.core.stats.faults_skipped += 1;
                self.core
                    .trace_skip(format!("skip {kind:?}: outside the fault budget"));
            }
        }
        let next = self.core.now + draw_ms(&mut self.core.nemesis_rng, random.every_ms);
        self.core.push(next, Event::NemesisTick);
    }
}

fn draw_ms(rng: &mut SimRng, range: [f64; 2]) -> SimDuration {
    let (lo, hi) = (ms_to_ns(range[0]), ms_to_ns(range[1]));
    SimDuration(if lo >= hi {
        lo
    } else {
        rng.random_range(lo..=hi)
    })
}

fn action_of(spec: &FaultSpec) -> Action {
    let undo_after = spec.for_ms.map(ms);
    let node = || spec.node.clone().expect("validated: this fault has a node");
    match spec.fault {
        FaultKind::Crash => Action::Crash {
            node: node(),
            unsynced: spec.unsynced,
            mid_handler: spec.mid_handler.unwrap_or(false),
            after_effects: spec.after_effects.map(|k| k as usize),
            after_send: spec
                .after_send
                .clone()
                .map(|kind| (kind, spec.nth.unwrap_or(1))),
            undo_after,
            bind: spec.bind.clone(),
        },
        FaultKind::Restart => Action::Restart(node()),
        FaultKind::Pause => Action::Pause {
            node: node(),
            undo_after,
            bind: spec.bind.clone(),
        },
        FaultKind::Resume => Action::Resume(node()),
        FaultKind::Partition => Action::Partition {
            groups: spec
                .groups
                .clone()
                .expect("validated: a partition has groups"),
            undo_after,
        },
        FaultKind::Isolate => Action::Isolate {
            node: node(),
            undo_after,
            bind: spec.bind.clone(),
        },
        FaultKind::Cut => Action::Cut {
            from: spec.from.clone().expect("validated"),
            to: spec.to.clone().expect("validated"),
            undo_after,
        },
        FaultKind::Heal => Action::Heal,
        FaultKind::Clog => Action::Clog {
            target: clog_target(spec).expect("validated: a clog has a target"),
            undo_after,
            bind: spec.bind.clone(),
        },
        FaultKind::Unclog => Action::Unclog(clog_target(spec)),
    }
}

fn clog_target(spec: &FaultSpec) -> Option<ClogTarget> {
    match (&spec.node, &spec.from, &spec.to) {
        (Some(n), _, _) => Some(ClogTarget::Node(n.clone())),
        (None, Some(f), Some(t)) => Some(ClogTarget::Link(f.clone(), t.clone())),
        _ => None,
    }
}

fn trace_input<M: Message, T: std::fmt::Debug + Hash>(
    trace: &mut Trace,
    now: SimTime,
    node: NodeId,
    input: &Input<M, T>,
) {
    match input {
        Input::Start { restarted } => trace.event(
            now,
            Some(node),
            if *restarted { "restart" } else { "start" },
            |_| {},
            String::new,
        ),
        Input::Message { from, msg } => trace.event(
            now,
            Some(node),
            "recv",
            |h| {
                from.hash(h);
                msg.hash(h);
            },
            || clip(format!("{from} -> {msg:?}")),
        ),
        Input::Timer { id, timer } => trace.event(
            now,
            Some(node),
            "timer",
            |h| {
                id.0.hash(h);
                timer.hash(h);
            },
            || clip(format!("{timer:?}")),
        ),
        Input::Synced { io } => trace.event(
            now,
            Some(node),
            "synced",
            |h| io.0.hash(h),
            || format!("fsync #{}", io.0),
        ),
        Input::Disconnected { peer } => trace.event(
            now,
            Some(node),
            "reset",
            |h| peer.hash(h),
            || format!("channel with {peer} reset"),
        ),
    }
}

/// What a process may ask of the world while it handles one input.
///
/// If the nemesis crashes the process part-way through this handler, every effect after the crash
/// point is silently discarded: the rest of the handler runs, but nothing it asks for happens.
pub struct Ctx<'a, P: Process> {
    core: &'a mut Core<P>,
    me: NodeId,
    effects: usize,
    crash_after: Option<usize>,
    stopped: bool,
}

impl<'a, P: Process> Ctx<'a, P> {
    /// Counts one effect; false if the process has already been stopped part-way through.
    fn effect(&mut self) -> bool {
        if self.crash_after.is_some_and(|k| self.effects >= k) {
            self.stopped = true;
            return false;
        }
        self.effects += 1;
        true
    }

    /// Virtual time now.
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// This process's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// The number of replicas (ids `0..replicas`); clients follow them.
    pub fn replica_count(&self) -> usize {
        self.core.replicas as usize
    }

    /// This process's own random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.core.slots[self.me.index()].rng
    }

    /// Sends `msg` to `to` over the simulated network.
    pub fn send(&mut self, to: NodeId, msg: P::Msg) {
        if self.effect() {
            if let Some(log) = &mut self.core.effects {
                log.push(Effect::Send {
                    to,
                    msg: msg.clone(),
                });
            }
            let kind = msg.kind();
            self.core.send(self.me, to, msg);
            if !self.core.triggers.is_empty() && self.core.fired.is_none() {
                self.trigger(kind);
            }
        }
    }

    /// Counts a send of `kind` against the triggered crashes waiting for one; the trigger it
    /// completes stops this handler here (nothing after this send happens) and the world stops
    /// the node when the handler returns.
    fn trigger(&mut self, kind: &str) {
        let me = self.me;
        if me.0 >= self.core.replicas {
            return;
        }
        let leads = self.core.sender_leads;
        let mut fired = None;
        for (i, t) in self.core.triggers.iter_mut().enumerate() {
            let matches = t.kind == kind
                && match t.node {
                    NodeRef::Id(n) => n == me.0,
                    NodeRef::Leader => leads,
                    NodeRef::Follower => !leads,
                    NodeRef::Random => true,
                    // `arm_trigger` resolves a name to its node's id.
                    NodeRef::Name(_) => false,
                };
            if !matches {
                continue;
            }
            if t.skip > 0 {
                t.skip -= 1;
            } else if fired.is_none() {
                fired = Some(i);
            }
        }
        if let Some(i) = fired {
            self.core.fired = Some(self.core.triggers.remove(i));
            self.crash_after = Some(self.effects);
        }
    }

    /// Closes the in-order channel with `peer`: what was already sent on it still arrives, then
    /// both ends hear `Disconnected`. No effect on datagram networks.
    pub fn disconnect(&mut self, peer: NodeId) {
        if self.effect() && self.core.net.fifo {
            if let Some(log) = &mut self.core.effects {
                log.push(Effect::Disconnect { peer });
            }
            self.core.close_channel(self.me, peer);
        }
    }

    /// Fires `timer` after `after`, unless cancelled first.
    pub fn set_timer(&mut self, after: SimDuration, timer: P::Timer) -> TimerId {
        let id = TimerId(self.core.next_timer);
        self.core.next_timer += 1;
        if self.effect() {
            if let Some(log) = &mut self.core.effects {
                log.push(Effect::SetTimer {
                    id,
                    after,
                    timer: timer.clone(),
                });
            }
            self.core.live_timers.insert(id.0);
            let incarnation = self.core.slots[self.me.index()].incarnation;
            let at = self.core.now + after;
            self.core.push(
                at,
                Event::Timer {
                    node: self.me,
                    id,
                    incarnation,
                    timer,
                },
            );
        }
        id
    }

    /// Cancels a timer; nothing happens if it already fired.
    pub fn cancel_timer(&mut self, id: TimerId) {
        if let Some(log) = &mut self.core.effects {
            log.push(Effect::CancelTimer { id });
        }
        self.core.live_timers.remove(&id.0);
    }

    /// Appends a record to `file` (in the page cache; durable after the next fsync completes).
    pub fn append(&mut self, file: &'static str, record: P::Stored) {
        if self.effect() {
            if let Some(log) = &mut self.core.effects {
                log.push(Effect::Append {
                    file,
                    record: record.clone(),
                });
            }
            self.core.slots[self.me.index()].disk.append(file, record);
        }
    }

    /// Keeps the first `len` records of `file`.
    pub fn truncate(&mut self, file: &'static str, len: usize) {
        if self.effect() {
            if let Some(log) = &mut self.core.effects {
                log.push(Effect::Truncate { file, len });
            }
            self.core.slots[self.me.index()].disk.truncate(file, len);
        }
    }

    /// Replaces `file` atomically (write a temporary file, rename it over the old one).
    pub fn replace(&mut self, file: &'static str, records: Vec<P::Stored>) {
        if self.effect() {
            if let Some(log) = &mut self.core.effects {
                log.push(Effect::Replace {
                    file,
                    records: records.clone(),
                });
            }
            self.core.slots[self.me.index()].disk.replace(file, records);
        }
    }

    /// Asks for every write so far to become durable; `Input::Synced(io)` reports completion.
    /// Fsyncs complete in the order they were issued.
    pub fn fsync(&mut self) -> IoId {
        let io = IoId(self.core.next_io);
        self.core.next_io += 1;
        if self.effect() {
            if let Some(log) = &mut self.core.effects {
                log.push(Effect::Fsync { io });
            }
            let i = self.me.index();
            let upto = self.core.slots[i].disk.sync_point();
            let latency = self.core.fsync_delay.sample(&mut self.core.disk_rng);
            let done = (self.core.now + latency).max(self.core.last_sync_done[i]);
            self.core.last_sync_done[i] = done;
            let incarnation = self.core.slots[i].incarnation;
            self.core.push(
                done,
                Event::Synced {
                    node: self.me,
                    io,
                    incarnation,
                    upto,
                },
            );
        }
        io
    }

    /// The records of `file` as this process sees them (written, synced or not).
    pub fn read(&self, file: &str) -> &[P::Stored] {
        self.core.slots[self.me.index()].disk.records(file)
    }

    /// Whether a torn write follows the records of `file` (only after a crash with the tear-last
    /// model); recovery should truncate or rewrite the file.
    pub fn torn_tail(&self, file: &str) -> bool {
        self.core.slots[self.me.index()].disk.torn_tail(file)
    }

    /// Reports an observation to the run's record (history lines, protocol milestones).
    pub fn record(&mut self, observation: P::Observation) {
        if self.crash_after.is_some_and(|k| self.effects >= k) {
            return;
        }
        let now = self.core.now;
        // Always a trace event, whether anyone listens or not, so that writing a trace never
        // changes the hash or the numbering of lines. Its content follows from the events before
        // it, so only its time and node are hashed, and it is rendered only for a listener.
        let me = self.me;
        self.core.trace.event(
            now,
            Some(me),
            "observe",
            |_| {},
            || clip(format!("{observation:?}")),
        );
        match &mut self.core.effects {
            Some(log) => log.push(Effect::Record(observation)),
            None => self.core.observations.push(Observed {
                time: now,
                node: self.me,
                observation,
            }),
        }
    }

    /// Whether this handler was cut short by a mid-handler crash (its effects are being discarded).
    pub fn stopped(&self) -> bool {
        self.stopped
    }
}
