//! The search for a linearization of one part of a history: Wing and Gong's backtracking search
//! with Lowe's memoization, laid out as Porcupine lays it out. Call and return entries sit in one
//! doubly linked list in time order; the search always tries the earliest pending call, "lifts" an
//! operation out of the list when it linearizes it, and relinks it on backtracking. A
//! configuration (the set of linearized operations, the model state) seen once is never explored
//! again. It owns the search and its memory; it never reads a clock or decides what to do about a
//! budget: it polls `Control` and stops when told to.
//!
//! Model states are interned: each distinct state is stored once and named by a `u32`, so the memo
//! compares two `u32`s and a few bitset words instead of two states, and memory grows with the
//! number of distinct states rather than with the number of configurations.

use super::budget::{Control, UnknownReason};
use super::{Model, Operation};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// How many search steps pass between two polls of the budget and of the abandon flag.
const POLL_EVERY: u64 = 1 << 10;

const NIL: u32 = u32::MAX;

/// How the search of one part ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Linearizable,
    Violation(Failure),
    /// The budget ran out (or the caller abandoned the part).
    Stopped(Option<UnknownReason>),
    /// The step limit given by the caller ran out (shrinking only).
    OutOfSteps,
}

/// What a failed search learned, in indices into the part's operation list.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The longest partial linearization reached, in order; the first one found at that length.
    pub longest: Vec<u32>,
    /// The operations whose call entry comes before the latest return entry at which the search
    /// backtracked. The search never looked past that entry, so these operations alone fail in
    /// exactly the same way: the start of the counterexample's shrinking.
    pub relevant: Vec<u32>,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Stats {
    /// Model steps tried.
    pub steps: u64,
    /// Configurations stored in the memo.
    pub configurations: u64,
    /// Distinct model states seen.
    pub states: u64,
    /// Bytes held by the memo and the state table at the end (the search never frees them early).
    pub bytes: usize,
}

/// Searches for a linearization of `ops[part[..]]`.
///
/// `max_steps` bounds the model steps (for shrinking); `abandon` is polled with the budget and
/// stops the search early when its answer can no longer matter.
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    control: &Control,
    max_steps: u64,
    abandon: &dyn Fn() -> bool,
) -> (Outcome, Stats) {
    let mut s = Search::new(model, ops, part);
    let outcome = s.run(control, max_steps, abandon);
    let bytes = s.bytes();
    control.shrink(s.reported_bytes);
    let stats = Stats {
        steps: s.steps,
        configurations: s.memo.entries.len() as u64,
        states: s.table.states.len() as u64,
        bytes,
    };
    (outcome, stats)
}

struct Search<'a, M: Model> {
    model: &'a M,
    ops: Vec<&'a Operation<M::Input, M::Output>>,
    /// Entries in time order: `entries[e]` describes list node `e`.
    entries: Vec<Entry>,
    /// Index of the first entry in the list, or NIL (the list's head pointer).
    head: u32,
    /// Operations whose answer is known and that must therefore be linearized.
    determinate: Vec<bool>,
    bits: Bitset,
    table: StateTable<M::State>,
    memo: Memo,
    steps: u64,
    /// Bytes already reported to `Control`.
    reported_bytes: usize,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    op: u32,
    is_call: bool,
    /// For a call entry, its return entry.
    partner: u32,
    prev: u32,
    next: u32,
}

impl<'a, M: Model> Search<'a, M> {
    fn new(model: &'a M, all: &'a [Operation<M::Input, M::Output>], part: &[usize]) -> Self {
        let ops: Vec<_> = part.iter().map(|&i| &all[i]).collect();
        // Sort keys: time, then calls before returns (an operation that returns at the instant
        // another is called is concurrent with it), then operation index for the returns of
        // indeterminate operations, which all sit at u64::MAX.
        let mut order: Vec<(u64, bool, u32)> = Vec::with_capacity(ops.len() * 2);
        for (k, op) in ops.iter().enumerate() {
            order.push((op.call, false, k as u32));
            order.push((op.ret, true, k as u32));
        }
        order.sort_unstable();
        let mut entries: Vec<Entry> = Vec::with_capacity(order.len());
        let mut call_entry = vec![NIL; ops.len()];
        for (e, &(_, is_return, k)) in order.iter().enumerate() {
            let e = e as u32;
            entries.push(Entry {
                op: k,
                is_call: !is_return,
                partner: NIL,
                prev: if e == 0 { NIL } else { e - 1 },
                next: if (e as usize) + 1 == order.len() {
                    NIL
                } else {
                    e + 1
                },
            });
            if is_return {
                entries[call_entry[k as usize] as usize].partner = e;
            } else {
                call_entry[k as usize] = e;
            }
        }
        let determinate = ops.iter().map(|op| op.ret != u64::MAX).collect();
        Search {
            model,
            entries,
            head: if order.is_empty() { NIL } else { 0 },
            determinate,
            bits: Bitset::new(ops.len()),
            table: StateTable::default(),
            memo: Memo::new(ops.len()),
            ops,
            steps: 0,
            reported_bytes: 0,
        }
    }

    fn unlink(&mut self, e: u32) {
        let Entry { prev, next, .. } = self.entries[e as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }

    /// Puts `e` back where it was; valid only in the reverse order of `unlink`s.
    fn relink(&mut self, e: u32) {
        let Entry { prev, next, .. } = self.entries[e as usize];
        if prev == NIL {
            self.head = e;
        } else {
            self.entries[prev as usize].next = e;
        }
        if next != NIL {
            self.entries[next as usize].prev = e;
        }
    }

    fn lift(&mut self, call: u32) {
        self.unlink(call);
        self.unlink(self.entries[call as usize].partner);
    }

    fn unlift(&mut self, call: u32) {
        self.relink(self.entries[call as usize].partner);
        self.relink(call);
    }

    fn bytes(&self) -> usize {
        self.table.bytes + self.memo.bytes()
    }

    fn run(&mut self, control: &Control, max_steps: u64, abandon: &dyn Fn() -> bool) -> Outcome {
        let init = self.model.init();
        let init_bytes = self.model.state_heap_bytes(&init);
        let (mut state, _) = self.table.intern(init, init_bytes);
        let mut remaining = self.determinate.iter().filter(|&&d| d).count();
        // (call entry of a linearized operation, the state before it)
        let mut stack: Vec<(u32, u32)> = Vec::new();
        let mut longest: Vec<u32> = Vec::new();
        // The stack has not dropped below this length since `longest` was last copied from it.
        let mut low_water = 0usize;
        let mut frontier: u32 = 0;
        let mut cursor = self.head;
        let mut next_poll = POLL_EVERY;
        loop {
            if remaining == 0 {
                // Every operation with a known answer is placed; the indeterminate ones left over
                // never took effect.
                return Outcome::Linearizable;
            }
            if self.steps >= next_poll {
                next_poll = self.steps + POLL_EVERY;
                let bytes = self.bytes();
                if bytes > self.reported_bytes {
                    control.grow(bytes - self.reported_bytes);
                    self.reported_bytes = bytes;
                }
                if let Some(reason) = control.stopped() {
                    return Outcome::Stopped(Some(reason));
                }
                if abandon() {
                    return Outcome::Stopped(None);
                }
                if self.steps >= max_steps {
                    return Outcome::OutOfSteps;
                }
            }
            // While a determinate operation is unplaced its return entry is in the list, and the
            // cursor stops there at the latest, so it never runs off the end.
            debug_assert!(cursor != NIL);
            let entry = self.entries[cursor as usize];
            if entry.is_call {
                let k = entry.op;
                let op = self.ops[k as usize];
                self.steps += 1;
                let next = self
                    .model
                    .step(self.table.get(state), &op.input, op.output.as_ref());
                if let Some(next) = next {
                    let heap = self.model.state_heap_bytes(&next);
                    let (next, _) = self.table.intern(next, heap);
                    self.bits.flip(k);
                    if self.memo.insert(&self.bits, next) {
                        stack.push((cursor, state));
                        state = next;
                        self.lift(cursor);
                        if self.determinate[k as usize] {
                            remaining -= 1;
                        }
                        if stack.len() > longest.len() {
                            longest.truncate(low_water);
                            longest.extend(
                                stack[low_water..]
                                    .iter()
                                    .map(|&(c, _)| self.entries[c as usize].op),
                            );
                            low_water = stack.len();
                        }
                        cursor = self.head;
                        continue;
                    }
                    self.bits.flip(k);
                }
                cursor = entry.next;
            } else {
                // A return entry: its operation should have been linearized by now and was not,
                // so this branch is dead.
                frontier = frontier.max(cursor);
                let Some((call, previous)) = stack.pop() else {
                    return Outcome::Violation(self.failure(longest, frontier));
                };
                low_water = low_water.min(stack.len());
                let k = self.entries[call as usize].op;
                self.bits.flip(k);
                state = previous;
                self.unlift(call);
                if self.determinate[k as usize] {
                    remaining += 1;
                }
                cursor = self.entries[call as usize].next;
            }
        }
    }

    fn failure(&self, longest: Vec<u32>, frontier: u32) -> Failure {
        let relevant = self
            .entries
            .iter()
            .enumerate()
            .filter(|&(e, entry)| entry.is_call && (e as u32) < frontier)
            .map(|(_, entry)| entry.op)
            .collect();
        Failure { longest, relevant }
    }
}

/// The set of linearized operations, with a hash kept up to date on every change (the XOR of a
/// fixed random-looking key per operation) so that the memo never rehashes the words.
struct Bitset {
    words: Vec<u64>,
    hash: u64,
}

impl Bitset {
    fn new(n: usize) -> Bitset {
        Bitset {
            words: vec![0; n.div_ceil(64).max(1)],
            hash: 0,
        }
    }

    fn flip(&mut self, k: u32) {
        self.words[(k / 64) as usize] ^= 1 << (k % 64);
        self.hash ^= mix(u64::from(k) + 1);
    }
}

/// SplitMix64's finalizer: spreads nearby integers over all 64 bits.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A small, fast, deterministic hasher for model states (FxHash's multiply-rotate). Deterministic
/// matters only for reproducible memory figures; the memo's answers never depend on the hash.
#[derive(Default)]
struct StateHasher(u64);

impl Hasher for StateHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.write_u64(u64::from_le_bytes(tail) ^ (rest.len() as u64) << 56);
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }

    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }

    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }

    fn write_i64(&mut self, x: i64) {
        self.write_u64(x as u64);
    }

    fn finish(&self) -> u64 {
        mix(self.0)
    }
}

/// A hasher for keys that are already well-mixed 64-bit hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed")
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

// The memo and the state table are looked up by key and never iterated, so the order of a std
// HashMap cannot reach a verdict or a counterexample.
#[allow(clippy::disallowed_types)]
type U64Map = std::collections::HashMap<u64, u32, BuildHasherDefault<PassThrough>>;

/// Every distinct model state seen, stored once and named by its index.
struct StateTable<S> {
    states: Vec<S>,
    hashes: Vec<u64>,
    /// The next state with the same hash, or NIL.
    chain: Vec<u32>,
    index: U64Map,
    bytes: usize,
}

impl<S> Default for StateTable<S> {
    fn default() -> Self {
        StateTable {
            states: Vec::new(),
            hashes: Vec::new(),
            chain: Vec::new(),
            index: U64Map::default(),
            bytes: 0,
        }
    }
}

impl<S: Hash + Eq> StateTable<S> {
    fn get(&self, id: u32) -> &S {
        &self.states[id as usize]
    }

    /// The id of `state`, adding it if it is new; `heap_bytes` is what it owns beyond its size.
    fn intern(&mut self, state: S, heap_bytes: usize) -> (u32, bool) {
        let mut h = StateHasher::default();
        state.hash(&mut h);
        let hash = h.finish();
        let first = self.index.get(&hash).copied().unwrap_or(NIL);
        let mut id = first;
        while id != NIL {
            if self.hashes[id as usize] == hash && self.states[id as usize] == state {
                return (id, false);
            }
            id = self.chain[id as usize];
        }
        let id = self.states.len() as u32;
        self.states.push(state);
        self.hashes.push(hash);
        self.chain.push(first);
        self.index.insert(hash, id);
        self.bytes += std::mem::size_of::<S>() + 8 + 4 + 24 + heap_bytes;
        (id, true)
    }
}

/// The set of configurations (linearized set, state id) already explored.
struct Memo {
    words: usize,
    index: U64Map,
    entries: Vec<MemoEntry>,
    /// `words` bitset words per entry, in entry order.
    sets: Vec<u64>,
}

struct MemoEntry {
    state: u32,
    /// The next entry with the same key hash, or NIL.
    next: u32,
}

impl Memo {
    fn new(n: usize) -> Memo {
        Memo {
            words: n.div_ceil(64).max(1),
            index: U64Map::default(),
            entries: Vec::new(),
            sets: Vec::new(),
        }
    }

    fn bytes(&self) -> usize {
        // Entry, bitset words, and a map slot (key, value, control byte, load-factor slack).
        self.entries.len() * (8 + self.words * 8 + 24)
    }

    /// Adds the configuration; false if it was already there.
    fn insert(&mut self, bits: &Bitset, state: u32) -> bool {
        let key = mix(bits.hash ^ u64::from(state).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let first = self.index.get(&key).copied().unwrap_or(NIL);
        let mut e = first;
        while e != NIL {
            let entry = &self.entries[e as usize];
            let at = e as usize * self.words;
            if entry.state == state && self.sets[at..at + self.words] == bits.words[..] {
                return false;
            }
            e = entry.next;
        }
        let id = self.entries.len() as u32;
        self.entries.push(MemoEntry { state, next: first });
        self.sets.extend_from_slice(&bits.words);
        self.index.insert(key, id);
        true
    }
}
