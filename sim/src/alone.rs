//! One process driven alone, for unit tests of a protocol's handlers: the test hands it one
//! `Input` at a time and reads back every effect the handler asked of its `Ctx` — sends, timers
//! set and cancelled, disk writes, fsyncs, observations — in the order it asked for them, as
//! etcd's raft and tikv's raft-rs test a node through its `Ready`. Nothing is delivered, fired or
//! completed unless the test says so: a message sent goes nowhere, a timer never fires, and an
//! fsync completes only when the test passes `Input::Synced` for it (then, as in a world, the
//! writes before it become durable on the process's disk first).
//!
//! It runs the same `Ctx` as a world, over the same state (`world::Core`) built the same way from
//! a `WorldConfig`, so a handler behaves here as it does in a run. It must never name a protocol.

use crate::disk::Disk;
use crate::id::{IoId, NodeId, TimerId};
use crate::process::{Input, Process};
use crate::time::{SimDuration, SimTime};
use crate::world::{Core, WorldConfig};

/// One effect a process asked of its `Ctx`.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect<M, T, S, O> {
    Send {
        to: NodeId,
        msg: M,
    },
    Disconnect {
        peer: NodeId,
    },
    SetTimer {
        id: TimerId,
        after: SimDuration,
        timer: T,
    },
    CancelTimer {
        id: TimerId,
    },
    Append {
        file: &'static str,
        record: S,
    },
    Truncate {
        file: &'static str,
        len: usize,
    },
    Replace {
        file: &'static str,
        records: Vec<S>,
    },
    Fsync {
        io: IoId,
    },
    /// An observation for the run's record (history lines, protocol milestones).
    Record(O),
}

/// The effects of process type `P`.
pub type EffectOf<P> = Effect<
    <P as Process>::Msg,
    <P as Process>::Timer,
    <P as Process>::Stored,
    <P as Process>::Observation,
>;

/// A process of a world described by a `WorldConfig`, driven alone: the other nodes exist only
/// as ids it may send to.
pub struct Alone<P: Process> {
    core: Core<P>,
    me: NodeId,
    process: P,
    /// Fsyncs asked for and not yet completed: `(io, durable up to this write)`.
    fsyncs: Vec<(IoId, u64)>,
}

impl<P: Process> Alone<P> {
    /// Drives `process` as node `me` of the world `config` describes (its nodes, seed, network
    /// and disk settings; its faults are never run).
    pub fn new(config: WorldConfig, me: NodeId, process: P) -> Alone<P> {
        assert!(
            me.index() < config.nodes.len(),
            "{me} is not a node of the world"
        );
        let mut core = Core::new(config);
        core.record_effects();
        Alone {
            core,
            me,
            process,
            fsyncs: Vec::new(),
        }
    }

    /// Hands the process one input and returns what it asked for, in order. For
    /// `Input::Synced { io }`, the writes the fsync covers become durable before the process hears
    /// of it, as in a world; an `io` never asked for panics (the test is wrong).
    pub fn input(&mut self, input: Input<P::Msg, P::Timer>) -> Vec<EffectOf<P>> {
        if let Input::Synced { io } = &input {
            let at = self
                .fsyncs
                .iter()
                .position(|(i, _)| i == io)
                .unwrap_or_else(|| panic!("fsync #{} was never asked for", io.0));
            let (_, upto) = self.fsyncs.remove(at);
            self.core.disk_mut(self.me).make_durable(upto);
        }
        let mut ctx = self.core.ctx(self.me);
        self.process.on_input(input, &mut ctx);
        let me = self.me;
        self.fsyncs.extend(
            self.core
                .drain_syncs()
                .into_iter()
                .filter(|(node, _, _)| *node == me)
                .map(|(_, io, upto)| (io, upto)),
        );
        self.core.take_effects()
    }

    /// Moves virtual time forward by `by` (timers do not fire; hand them over with `input`).
    pub fn advance(&mut self, by: SimDuration) {
        let now = self.core.now() + by;
        self.core.advance_to(now);
    }

    pub fn now(&self) -> SimTime {
        self.core.now()
    }

    pub fn process(&self) -> &P {
        &self.process
    }

    /// The process, to put it in the state a test starts from.
    pub fn process_mut(&mut self) -> &mut P {
        &mut self.process
    }

    /// The process's disk: what it wrote, and what of it is durable.
    pub fn disk(&self) -> &Disk<P::Stored> {
        self.core.disk(self.me)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;
    use crate::disk::DiskConfig;
    use crate::nemesis::NemesisConfig;
    use crate::net::NetworkConfig;
    use crate::world::{Ctx, NodeKind};

    #[derive(Clone, Debug, Hash, PartialEq)]
    struct Ping(u32);

    impl Message for Ping {
        fn kind(&self) -> &'static str {
            "PING"
        }
        fn size_bytes(&self) -> usize {
            4
        }
    }

    /// Logs every ping, and answers it only once the log is durable; ticks every 10 ms.
    struct Logger {
        waiting: Vec<(IoId, u32)>,
    }

    impl Process for Logger {
        type Msg = Ping;
        type Timer = ();
        type Stored = u32;
        type Observation = String;

        fn on_input(&mut self, input: Input<Ping, ()>, ctx: &mut Ctx<'_, Self>) {
            match input {
                Input::Start { .. } => {
                    ctx.set_timer(SimDuration::from_ms(10), ());
                }
                Input::Message { msg: Ping(n), .. } => {
                    ctx.append("log", n);
                    let io = ctx.fsync();
                    self.waiting.push((io, n));
                    ctx.record(format!("logged {n}"));
                }
                Input::Synced { io } => {
                    for (_, n) in self.waiting.iter().filter(|(i, _)| *i == io) {
                        ctx.send(NodeId(0), Ping(*n));
                    }
                }
                Input::Timer { .. } | Input::Disconnected { .. } => {}
            }
        }
    }

    fn config() -> WorldConfig {
        WorldConfig {
            seed: 3,
            nodes: vec![NodeKind::Replica; 2],
            network: NetworkConfig::default(),
            fifo: true,
            disk: DiskConfig::default(),
            nemesis: NemesisConfig::default(),
        }
    }

    #[test]
    fn effects_come_back_in_order_and_an_fsync_completes_only_when_told() {
        let mut alone = Alone::new(
            config(),
            NodeId(1),
            Logger {
                waiting: Vec::new(),
            },
        );
        let effects = alone.input(Input::Start { restarted: false });
        assert!(
            matches!(effects.as_slice(), [Effect::SetTimer { after, .. }] if *after == SimDuration::from_ms(10)),
            "{effects:?}"
        );
        alone.advance(SimDuration::from_ms(5));
        let effects = alone.input(Input::Message {
            from: NodeId(0),
            msg: Ping(4),
        });
        let io = match effects.as_slice() {
            [
                Effect::Append {
                    file: "log",
                    record: 4,
                },
                Effect::Fsync { io },
                Effect::Record(line),
            ] if line == "logged 4" => *io,
            other => panic!("{other:?}"),
        };
        assert_eq!(alone.disk().records("log"), [4]);
        assert!(alone.disk().durable_records("log").is_empty());
        assert_eq!(alone.now(), SimTime::from_ms(5));
        let effects = alone.input(Input::Synced { io });
        assert_eq!(
            effects,
            [Effect::Send {
                to: NodeId(0),
                msg: Ping(4)
            }]
        );
        assert_eq!(alone.disk().durable_records("log"), [4]);
    }
}
