//! The trace: every event of a run, in order, folded into a 64-bit hash that identifies the run, and
//! optionally written out as fixed-column lines. The hash must not depend on the machine: every
//! integer is fed little-endian and every `usize` as a `u64`, so the same run hashes the same on any
//! platform. Building the text of a line costs time, so it is done only when someone listens.
//!
//! Line layout (columns separated by spaces):
//!
//! | column | width | content |
//! |---|---|---|
//! | time   | 14, right-aligned | virtual time in ms with µs resolution (`1234.567`) |
//! | node   | 6  | the process the event happened at (`n3`), or `-` for world-wide events |
//! | event  | 10 | `start`, `restart`, `recv`, `drop`, `timer`, `synced`, `reset`, `crash`, `pause`, `resume`, `partition`, `heal`, `clog`, `unclog`, `observe`, `nemesis` |
//! | detail | rest | what happened, e.g. `n0 -> PROPOSAL { zxid: 0x100000003 }` |

use crate::id::NodeId;
use crate::time::SimTime;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

/// A hasher whose output depends only on the values hashed, not on the platform.
#[derive(Clone, Copy, Debug)]
pub struct StableHasher {
    state: u64,
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

impl StableHasher {
    pub fn new() -> StableHasher {
        StableHasher {
            state: 0x243F_6A88_85A3_08D3,
        }
    }

    #[inline]
    fn mix(&mut self, word: u64) {
        self.state = (self.state.rotate_left(23) ^ word).wrapping_mul(MULTIPLIER);
    }

    /// The hash of one value on its own.
    pub fn of<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut h = StableHasher::new();
        value.hash(&mut h);
        h.finish()
    }
}

impl Default for StableHasher {
    fn default() -> StableHasher {
        StableHasher::new()
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        // splitmix64's finaliser, so that nearby states give unrelated hashes.
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 59));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.mix(i as u64);
    }
    fn write_u16(&mut self, i: u16) {
        self.mix(i as u64);
    }
    fn write_u32(&mut self, i: u32) {
        self.mix(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    fn write_u128(&mut self, i: u128) {
        self.mix(i as u64);
        self.mix((i >> 64) as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    fn write_i8(&mut self, i: i8) {
        self.mix(i as u64);
    }
    fn write_i16(&mut self, i: i16) {
        self.mix(i as u64);
    }
    fn write_i32(&mut self, i: i32) {
        self.mix(i as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.mix(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.mix(i as u64);
    }
}

/// One line of the trace, handed to a listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    /// 0-based position in the event stream.
    pub index: u64,
    pub time: SimTime,
    pub node: Option<NodeId>,
    pub event: &'static str,
    pub detail: String,
}

impl TraceLine {
    /// The line in the fixed-column layout described in this module's documentation.
    pub fn format(&self) -> String {
        let mut s = String::with_capacity(48 + self.detail.len());
        let node = match self.node {
            Some(n) => n.to_string(),
            None => "-".to_string(),
        };
        let _ = write!(
            s,
            "{:>14} {:<6} {:<10} {}",
            self.time.to_string(),
            node,
            self.event,
            self.detail
        );
        s
    }
}

/// Listens to trace lines as the run produces them.
pub type TraceSink = Box<dyn FnMut(&TraceLine)>;

/// The running trace of a world.
#[derive(Default)]
pub struct Trace {
    hasher: StableHasher,
    count: u64,
    sink: Option<TraceSink>,
    /// The running hash after each event, kept only for the determinism self-check.
    prefix_hashes: Option<Vec<u64>>,
}

impl Trace {
    pub fn set_sink(&mut self, sink: TraceSink) {
        self.sink = Some(sink);
    }

    pub fn keep_prefix_hashes(&mut self) {
        self.prefix_hashes = Some(Vec::new());
    }

    pub fn prefix_hashes(&self) -> Option<&[u64]> {
        self.prefix_hashes.as_deref()
    }

    /// Records one event: `hash_fields` feeds its content to the hash; `detail` renders it, and is
    /// called only when a listener wants the text.
    #[inline]
    pub fn event(
        &mut self,
        time: SimTime,
        node: Option<NodeId>,
        event: &'static str,
        hash_fields: impl FnOnce(&mut StableHasher),
        detail: impl FnOnce() -> String,
    ) {
        self.hasher.write_u64(time.0);
        self.hasher.write_u64(node.map_or(u64::MAX, |n| n.0 as u64));
        self.hasher.write(event.as_bytes());
        hash_fields(&mut self.hasher);
        if let Some(p) = &mut self.prefix_hashes {
            p.push(self.hasher.finish());
        }
        if let Some(sink) = &mut self.sink {
            sink(&TraceLine {
                index: self.count,
                time,
                node,
                event,
                detail: detail(),
            });
        }
        self.count += 1;
    }

    /// The hash of every event so far.
    pub fn hash(&self) -> u64 {
        self.hasher.finish()
    }

    /// Number of events so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_hash_has_fixed_values() {
        // Pinned: if these change, every recorded trace hash changes with them.
        assert_eq!(StableHasher::of(&0u64), StableHasher::of(&0usize));
        assert_eq!(StableHasher::of(&-1i32), StableHasher::of(&(u64::MAX)));
        assert_ne!(StableHasher::of("ab"), StableHasher::of("ba"));
        assert_eq!(
            StableHasher::of(&(1u32, "x")),
            0x87c4_1d8b_a4a9_40b0,
            "{:#x}",
            StableHasher::of(&(1u32, "x"))
        );
    }

    #[test]
    fn lines_have_fixed_columns() {
        let line = TraceLine {
            index: 0,
            time: SimTime(1_234_567_000),
            node: Some(NodeId(3)),
            event: "recv",
            detail: "n0 -> PING".into(),
        };
        assert_eq!(line.format(), "      1234.567 n3     recv       n0 -> PING");
    }
}
