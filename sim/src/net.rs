//! The simulated network: how long a message takes, whether it arrives, and the faults that cut or
//! slow links. It owns per-link state (partitions, clogs, in-order channels) and the message counters;
//! it never delivers anything itself — the world turns its decisions into queued events.
//!
//! Two kinds of channel:
//! - **datagram** (default): each message is delayed independently (so jitter reorders them), may be
//!   lost or duplicated;
//! - **in-order** (TCP-like, for protocols such as ZAB that assume FIFO channels): a link delivers a
//!   prefix of what was sent, in order. Packet loss costs a retransmission delay, not a message. A
//!   partition, a crash or an explicit close *resets* the channel: everything sent after the break is
//!   lost, both ends are told (`Input::Disconnected`) after `reset_detect_ms`, and the next message
//!   opens a new channel. So a receiver never sees a gap.

use crate::id::NodeId;
use crate::rng::{Ratio, SimRng};
use crate::time::{SimDuration, SimTime};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A distribution of one-way message delays. Times are in milliseconds in scenario files and may be
/// fractional (0.25 = 250 µs); they are turned into whole nanoseconds when read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Latency {
    /// Always the same delay.
    Constant { ms: f64 },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform { min_ms: f64, max_ms: f64 },
    /// Long-tailed: `median_ms * exp(sigma * Z)` with Z standard normal, capped at `cap_ms` if given.
    Lognormal {
        median_ms: f64,
        sigma: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cap_ms: Option<f64>,
    },
    /// `base_ms` plus an exponential tail of mean `mean_ms`, capped at `cap_ms` if given.
    Exponential {
        base_ms: f64,
        mean_ms: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cap_ms: Option<f64>,
    },
}

/// Milliseconds as read from a file to whole nanoseconds. Floats are only used here, to read the
/// configuration; the same text always gives the same integer.
pub fn ms_to_ns(ms: f64) -> u64 {
    (ms * 1e6).round() as u64
}

/// A uniform float in [0, 1) from 53 random bits: the same bits give the same float everywhere.
fn unit(rng: &mut SimRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Latency {
    pub fn constant_ms(ms: f64) -> Latency {
        Latency::Constant { ms }
    }

    /// Checks the parameters; the error names the offending field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let nonneg = crate::time::check_ms;
        match *self {
            Latency::Constant { ms } => nonneg("ms", ms),
            Latency::Uniform { min_ms, max_ms } => {
                nonneg("min_ms", min_ms)?;
                nonneg("max_ms", max_ms)?;
                if min_ms > max_ms {
                    return Err((
                        "max_ms".into(),
                        format!("must be >= min_ms ({min_ms}), got {max_ms}"),
                    ));
                }
                Ok(())
            }
            Latency::Lognormal {
                median_ms,
                sigma,
                cap_ms,
            } => {
                nonneg("median_ms", median_ms)?;
                if !(sigma.is_finite() && (0.0..=4.0).contains(&sigma)) {
                    return Err((
                        "sigma".into(),
                        format!("expected a number in [0, 4], got {sigma}"),
                    ));
                }
                if let Some(c) = cap_ms {
                    nonneg("cap_ms", c)?;
                }
                Ok(())
            }
            Latency::Exponential {
                base_ms,
                mean_ms,
                cap_ms,
            } => {
                nonneg("base_ms", base_ms)?;
                nonneg("mean_ms", mean_ms)?;
                if let Some(c) = cap_ms {
                    nonneg("cap_ms", c)?;
                }
                Ok(())
            }
        }
    }

    /// Draws one delay (see `Delay::sample`).
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        self.delay().sample(rng)
    }

    /// The model with its fixed times already in nanoseconds, ready to draw from many times.
    pub fn delay(&self) -> Delay {
        let cap_ns = |cap_ms: Option<f64>| cap_ms.map_or(u64::MAX, ms_to_ns);
        match *self {
            Latency::Constant { ms } => Delay::Uniform {
                lo: ms_to_ns(ms),
                hi: ms_to_ns(ms),
            },
            Latency::Uniform { min_ms, max_ms } => Delay::Uniform {
                lo: ms_to_ns(min_ms),
                hi: ms_to_ns(max_ms),
            },
            Latency::Lognormal {
                median_ms,
                sigma,
                cap_ms,
            } => Delay::Lognormal {
                median_ms,
                sigma,
                cap_ns: cap_ns(cap_ms),
            },
            Latency::Exponential {
                base_ms,
                mean_ms,
                cap_ms,
            } => Delay::Exponential {
                base_ms,
                mean_ms,
                cap_ns: cap_ns(cap_ms),
            },
        }
    }
}

/// A latency model compiled for sampling: what the network and the disks hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Delay {
    Uniform {
        lo: u64,
        hi: u64,
    },
    Lognormal {
        median_ms: f64,
        sigma: f64,
        cap_ns: u64,
    },
    Exponential {
        base_ms: f64,
        mean_ms: f64,
        cap_ns: u64,
    },
}

impl Delay {
    /// Draws one delay. Transcendental functions come from `libm` (pure Rust), not the platform's
    /// math library, so every machine computes the same bits.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        let ns = match *self {
            Delay::Uniform { lo, hi } => {
                if lo == hi {
                    lo
                } else {
                    rng.random_range(lo..=hi)
                }
            }
            Delay::Lognormal {
                median_ms,
                sigma,
                cap_ns,
            } => {
                // Box–Muller: one standard normal from two uniforms.
                let u1 = 1.0 - unit(rng);
                let u2 = unit(rng);
                let z =
                    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2);
                ms_to_ns(median_ms * libm::exp(sigma * z)).min(cap_ns)
            }
            Delay::Exponential {
                base_ms,
                mean_ms,
                cap_ns,
            } => {
                let tail = -mean_ms * libm::log(1.0 - unit(rng));
                ms_to_ns(base_ms + tail).min(cap_ns)
            }
        };
        SimDuration(ns)
    }
}

fn default_replica_latency() -> Latency {
    Latency::Uniform {
        min_ms: 0.5,
        max_ms: 2.0,
    }
}

fn default_reset_detect_ms() -> f64 {
    200.0
}

fn default_retransmit_ms() -> f64 {
    200.0
}

/// The scenario's network model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Delay between replicas.
    #[serde(default = "default_replica_latency")]
    pub latency: Latency,
    /// Delay between a client and a replica; the replica latency if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_latency: Option<Latency>,
    /// Probability that a datagram is lost (on an in-order channel: that it needs a retransmission).
    #[serde(default)]
    pub loss: Ratio,
    /// Probability that a datagram is delivered twice (no effect on in-order channels).
    #[serde(default)]
    pub duplicate: Ratio,
    /// In-order channels only: how long a retransmission takes, added to the delay of a lost packet.
    #[serde(default = "default_retransmit_ms")]
    pub retransmit_ms: f64,
    /// In-order channels only: how long each end takes to notice that its channel was reset.
    #[serde(default = "default_reset_detect_ms")]
    pub reset_detect_ms: f64,
}

impl Default for NetworkConfig {
    fn default() -> NetworkConfig {
        NetworkConfig {
            latency: default_replica_latency(),
            client_latency: None,
            loss: Ratio::NEVER,
            duplicate: Ratio::NEVER,
            retransmit_ms: default_retransmit_ms(),
            reset_detect_ms: default_reset_detect_ms(),
        }
    }
}

impl NetworkConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.latency
            .validate()
            .map_err(|(f, m)| (format!("latency.{f}"), m))?;
        if let Some(l) = &self.client_latency {
            l.validate()
                .map_err(|(f, m)| (format!("client_latency.{f}"), m))?;
        }
        for (field, v) in [
            ("retransmit_ms", self.retransmit_ms),
            ("reset_detect_ms", self.reset_detect_ms),
        ] {
            crate::time::check_ms(field, v)?;
        }
        Ok(())
    }
}

/// Counters for one message type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MessageCount {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub bytes: u64,
}

/// Why a message did not arrive (shown in the trace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    Loss,
    Partition,
    TargetDown,
    ChannelReset,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::TargetDown => "target-down",
            DropReason::ChannelReset => "channel-reset",
        }
    }
}

/// The network's decision for one send.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Deliver at `at`, and a second copy at `duplicate_at` if the network duplicated it; stamped
    /// with the channel generation.
    Deliver {
        at: SimTime,
        duplicate_at: Option<SimTime>,
        generation: u32,
    },
    /// Hold until the link is unclogged; stamped with the channel generation, so that a reset in
    /// the meantime discards it.
    Hold { generation: u32 },
    /// Dropped; on an in-order channel the channel is reset as well.
    Drop(DropReason),
}

/// Network state for `n` nodes: matrices indexed `[from][to]`, and the in-order channels.
pub struct Network {
    pub config: NetworkConfig,
    pub fifo: bool,
    replica_delay: Delay,
    client_delay: Delay,
    n: usize,
    is_client: Vec<bool>,
    cut: Vec<bool>,
    clogged_link: Vec<bool>,
    clogged_node: Vec<bool>,
    /// Per unordered pair (stored at `[min][max]`): the current channel generation.
    generation: Vec<u32>,
    /// `[node][peer]`: the generation `node` knows of; below `generation` it has not yet been told
    /// of the reset, and what it sends is lost.
    known_generation: Vec<u32>,
    /// `[from][to]`: the arrival time of the last message on an in-order channel.
    last_arrival: Vec<SimTime>,
    /// Counters per message kind, in order of first appearance. A handful of kinds, looked up on
    /// every message: a short vector matched by the name's address beats a map of strings.
    counts: Vec<(&'static str, MessageCount)>,
}

impl Network {
    pub fn new(config: NetworkConfig, fifo: bool, is_client: Vec<bool>) -> Network {
        let n = is_client.len();
        let replica_delay = config.latency.delay();
        let client_delay = config
            .client_latency
            .as_ref()
            .unwrap_or(&config.latency)
            .delay();
        Network {
            config,
            replica_delay,
            client_delay,
            fifo,
            n,
            is_client,
            cut: vec![false; n * n],
            clogged_link: vec![false; n * n],
            clogged_node: vec![false; n],
            generation: vec![0; n * n],
            known_generation: vec![0; n * n],
            last_arrival: vec![SimTime::ZERO; n * n],
            counts: Vec::new(),
        }
    }

    fn at(&self, a: NodeId, b: NodeId) -> usize {
        a.index() * self.n + b.index()
    }

    fn pair(&self, a: NodeId, b: NodeId) -> usize {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        self.at(lo, hi)
    }

    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut[self.at(from, to)]
    }

    pub fn is_clogged(&self, from: NodeId, to: NodeId) -> bool {
        self.clogged_link[self.at(from, to)]
            || self.clogged_node[from.index()]
            || self.clogged_node[to.index()]
    }

    /// Cuts (or restores) the one-way link `from -> to`.
    pub fn set_cut(&mut self, from: NodeId, to: NodeId, cut: bool) {
        let i = self.at(from, to);
        self.cut[i] = cut;
    }

    pub fn heal(&mut self) {
        self.cut.fill(false);
    }

    pub fn any_cut(&self) -> bool {
        self.cut.iter().any(|&c| c)
    }

    pub fn set_link_clog(&mut self, from: NodeId, to: NodeId, clogged: bool) {
        let i = self.at(from, to);
        self.clogged_link[i] = clogged;
    }

    pub fn set_node_clog(&mut self, node: NodeId, clogged: bool) {
        self.clogged_node[node.index()] = clogged;
    }

    pub fn unclog_all(&mut self) {
        self.clogged_link.fill(false);
        self.clogged_node.fill(false);
    }

    pub fn any_clog(&self) -> bool {
        self.clogged_link.iter().any(|&c| c) || self.clogged_node.iter().any(|&c| c)
    }

    fn latency(&self, from: NodeId, to: NodeId) -> Delay {
        if self.is_client[from.index()] || self.is_client[to.index()] {
            self.client_delay
        } else {
            self.replica_delay
        }
    }

    /// Counts a send of `kind` with `bytes` on the wire.
    pub fn count_sent(&mut self, kind: &'static str, bytes: usize) {
        let c = self.count(kind);
        c.sent += 1;
        c.bytes += bytes as u64;
    }

    /// The counters of `kind`.
    pub fn count(&mut self, kind: &'static str) -> &mut MessageCount {
        let found = self
            .counts
            .iter()
            .position(|(k, _)| std::ptr::eq(*k, kind) || *k == kind);
        let i = found.unwrap_or_else(|| {
            self.counts.push((kind, MessageCount::default()));
            self.counts.len() - 1
        });
        &mut self.counts[i].1
    }

    /// Every counter, by message kind.
    pub fn counts(&self) -> BTreeMap<&'static str, MessageCount> {
        self.counts.iter().copied().collect()
    }

    /// Decides the fate of one message sent at `now`. Draws from `rng` only for what the
    /// configuration makes uncertain.
    pub fn route(&mut self, from: NodeId, to: NodeId, now: SimTime, rng: &mut SimRng) -> Route {
        if from == to {
            // A process talking to itself bypasses the wire.
            return Route::Deliver {
                at: now,
                duplicate_at: None,
                generation: 0,
            };
        }
        let p = self.pair(from, to);
        if self.fifo && self.known_generation[self.at(from, to)] < self.generation[p] {
            // Written into a channel that is already dead; the sender will be told shortly.
            return Route::Drop(DropReason::ChannelReset);
        }
        if self.is_cut(from, to) {
            return Route::Drop(DropReason::Partition);
        }
        if self.is_clogged(from, to) {
            return Route::Hold {
                generation: self.generation[p],
            };
        }
        let lost = self.config.loss.sample(rng);
        if lost && !self.fifo {
            return Route::Drop(DropReason::Loss);
        }
        let mut delay = self.latency(from, to).sample(rng);
        if lost {
            delay = delay + SimDuration(ms_to_ns(self.config.retransmit_ms));
        }
        let mut arrival = now + delay;
        if self.fifo {
            let i = self.at(from, to);
            arrival = arrival.max(self.last_arrival[i]);
            self.last_arrival[i] = arrival;
            return Route::Deliver {
                at: arrival,
                duplicate_at: None,
                generation: self.generation[p],
            };
        }
        let duplicate_at = self
            .config
            .duplicate
            .sample(rng)
            .then(|| now + self.latency(from, to).sample(rng));
        Route::Deliver {
            at: arrival,
            duplicate_at,
            generation: 0,
        }
    }

    /// When the last message sent so far on the in-order channel `from -> to` arrives.
    pub fn last_arrival(&self, from: NodeId, to: NodeId) -> SimTime {
        self.last_arrival[self.at(from, to)]
    }

    /// Whether a message stamped `generation` may still be delivered on `from -> to`.
    pub fn channel_alive(&self, from: NodeId, to: NodeId, generation: u32) -> bool {
        !self.fifo || from == to || self.generation[self.pair(from, to)] == generation
    }

    /// Resets the in-order channel between `a` and `b`; returns its new generation.
    pub fn reset_channel(&mut self, a: NodeId, b: NodeId) -> u32 {
        let p = self.pair(a, b);
        self.generation[p] += 1;
        self.generation[p]
    }

    pub fn reset_detect(&self) -> SimDuration {
        SimDuration(ms_to_ns(self.config.reset_detect_ms))
    }

    /// Records that `node` learned of the reset of its channel with `peer` up to `generation`;
    /// returns whether this is news to it.
    pub fn learn_reset(&mut self, node: NodeId, peer: NodeId, generation: u32) -> bool {
        let i = self.at(node, peer);
        if self.known_generation[i] < generation {
            self.known_generation[i] = generation;
            true
        } else {
            false
        }
    }

    /// Whether `node` has yet to be told of a reset of its channel with `peer`.
    pub fn reset_pending(&self, node: NodeId, peer: NodeId) -> Option<u32> {
        let g = self.generation[self.pair(node, peer)];
        (self.known_generation[self.at(node, peer)] < g).then_some(g)
    }

    /// A restarted node knows no old channel: it starts with the current generations.
    pub fn forget_channels(&mut self, node: NodeId) {
        for peer in 0..self.n {
            let peer = NodeId(peer as u32);
            let g = self.generation[self.pair(node, peer)];
            let i = self.at(node, peer);
            self.known_generation[i] = g;
        }
    }

    pub fn node_count(&self) -> usize {
        self.n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;

    #[test]
    fn latency_models_stay_in_range_and_reproduce() {
        let mut rng = Streams::new(7).stream("t");
        let u = Latency::Uniform {
            min_ms: 1.0,
            max_ms: 3.0,
        };
        for _ in 0..1000 {
            let d = u.sample(&mut rng).as_nanos();
            assert!((1_000_000..=3_000_000).contains(&d));
        }
        let ln = Latency::Lognormal {
            median_ms: 2.0,
            sigma: 0.5,
            cap_ms: Some(50.0),
        };
        let mut samples: Vec<u64> = (0..2001).map(|_| ln.sample(&mut rng).as_nanos()).collect();
        samples.sort();
        let median = samples[1000] as f64 / 1e6;
        assert!((1.7..2.3).contains(&median), "median {median}");
        assert!(samples.iter().all(|&s| s <= 50_000_000));
        let e = Latency::Exponential {
            base_ms: 1.0,
            mean_ms: 2.0,
            cap_ms: None,
        };
        let mean = (0..4000)
            .map(|_| e.sample(&mut rng).as_nanos() as f64)
            .sum::<f64>()
            / 4000e6;
        assert!((2.8..3.2).contains(&mean), "mean {mean}");
        let mut a = Streams::new(9).stream("t");
        let mut b = Streams::new(9).stream("t");
        assert_eq!(ln.sample(&mut a), ln.sample(&mut b));
    }

    #[test]
    fn validation_names_the_field() {
        let bad = Latency::Uniform {
            min_ms: 5.0,
            max_ms: 1.0,
        };
        assert_eq!(bad.validate().unwrap_err().0, "max_ms");
        let cfg = NetworkConfig {
            latency: Latency::Constant { ms: -1.0 },
            ..Default::default()
        };
        assert_eq!(cfg.validate().unwrap_err().0, "latency.ms");
    }

    #[test]
    fn unknown_fields_and_distributions_are_rejected() {
        assert!(serde_json::from_str::<Latency>(r#"{"dist":"constant","ms":1,"x":2}"#).is_err());
        assert!(serde_json::from_str::<Latency>(r#"{"dist":"gamma","ms":1}"#).is_err());
        let l: Latency =
            serde_json::from_str(r#"{"dist":"uniform","min_ms":1,"max_ms":2}"#).unwrap();
        assert_eq!(
            l,
            Latency::Uniform {
                min_ms: 1.0,
                max_ms: 2.0
            }
        );
    }
}
