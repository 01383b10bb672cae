//! Benchmarks of the engine itself, behind `zksim bench`: how many events per second the world
//! handles when its processes do almost nothing, and how many seeds per second a scenario runs.
//! Figures go to `docs/PERFORMANCE.md`; tests never assert them.

use sim::net::{Latency, NetworkConfig};
use sim::{Ctx, Input, Message, NodeId, NodeKind, Process, SimTime, World, WorldConfig};

/// A token passed around a ring: the cheapest process that still exercises the queue, the network
/// and the trace hash on every event.
#[derive(Clone, Debug, Hash)]
pub struct Token(pub u64);

impl Message for Token {
    fn kind(&self) -> &'static str {
        "TOKEN"
    }
    fn size_bytes(&self) -> usize {
        8
    }
}

/// Each node forwards every token it receives to the next node of the ring.
pub struct RingNode {
    n: u32,
    /// Tokens this node starts with.
    tokens: u64,
}

impl Process for RingNode {
    type Msg = Token;
    type Timer = ();
    type Stored = ();
    type Observation = ();

    fn on_input(&mut self, input: Input<Token, ()>, ctx: &mut Ctx<'_, Self>) {
        let next = NodeId((ctx.me().0 + 1) % self.n);
        match input {
            Input::Start { .. } => {
                for t in 0..self.tokens {
                    ctx.send(next, Token(t));
                }
            }
            Input::Message { msg, .. } => ctx.send(next, Token(msg.0 + 1)),
            _ => {}
        }
    }
}

/// A ring of `nodes` processes with `tokens` tokens each, on a network with `latency`.
pub fn ring_world(seed: u64, nodes: u32, tokens: u64, latency: Latency) -> World<RingNode> {
    let config = WorldConfig {
        seed,
        nodes: vec![NodeKind::Replica; nodes as usize],
        network: NetworkConfig { latency, ..NetworkConfig::default() },
        fifo: false,
        disk: Default::default(),
        nemesis: Default::default(),
    };
    World::new(config, move |_| RingNode { n: nodes, tokens })
}

/// Runs a ring world for `events` events; returns the trace hash (so the work cannot be skipped).
pub fn run_ring(seed: u64, nodes: u32, tokens: u64, events: u64) -> u64 {
    let mut world = ring_world(seed, nodes, tokens, Latency::Uniform { min_ms: 0.1, max_ms: 2.0 });
    world.run_until(SimTime::MAX, events);
    debug_assert!(world.stats().events == events);
    world.trace_hash()
}
