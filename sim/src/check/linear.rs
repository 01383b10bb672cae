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

/// How many search steps pass between two polls of the budget and of the step limit.
const POLL_EVERY: u64 = 1 << 10;

const NIL: u32 = u32::MAX;
const UNSTEPPED: u32 = u32::MAX;
const REJECTED: u32 = u32::MAX - 1;

/// Most transitions cached per part (4 bytes each).
const TRANSITIONS_MAX: usize = 1 << 18;

/// How the search of one part ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Linearizable,
    Violation(Failure),
    /// The budget ran out.
    Stopped(UnknownReason),
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

/// Searches for a linearization of `ops[part[..]]` in one go.
///
/// `max_steps` bounds the model steps (for shrinking).
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    control: &Control,
    max_steps: u64,
) -> (Outcome, Stats) {
    let mut s = Search::new(model, ops, part);
    let outcome = s.run(control, max_steps);
    let stats = s.finish(control);
    (outcome, stats)
}

/// One part's search, resumable: `run` may stop at a step limit and be called again with a
/// higher one, continuing exactly where it stopped.
pub(crate) struct Search<'a, M: Model> {
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
    /// `next[state * n + op]`: the state after `op` in `state` (UNSTEPPED until computed,
    /// REJECTED if the model refuses), for the first `TRANSITIONS_MAX / n` states. Models are
    /// functions, so each transition need be computed (and its result interned) only once.
    next: Vec<u32>,
    steps: u64,
    /// Bytes already reported to `Control`.
    reported_bytes: usize,
    /// The walk's position, kept between calls of `run`.
    walk: Option<Walk>,
}

/// Where the search stands.
struct Walk {
    state: u32,
    /// Determinate operations not yet linearized.
    remaining: usize,
    /// (call entry of a linearized operation, the state before it)
    stack: Vec<(u32, u32)>,
    longest: Vec<u32>,
    /// The stack has not dropped below this length since `longest` was last copied from it.
    low_water: usize,
    /// The latest return entry at which the search backtracked.
    frontier: u32,
    cursor: u32,
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
    /// A search over `all[part[..]]`.
    pub(crate) fn new(
        model: &'a M,
        all: &'a [Operation<M::Input, M::Output>],
        part: &[usize],
    ) -> Self {
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
            next: Vec::new(),
            ops,
            steps: 0,
            reported_bytes: 0,
            walk: None,
        }
    }

    /// Stops accounting this search's memory and returns its effort.
    pub(crate) fn finish(&mut self, control: &Control) -> Stats {
        control.shrink(self.reported_bytes);
        self.reported_bytes = 0;
        Stats {
            steps: self.steps,
            configurations: self.memo.len as u64,
            states: self.table.states.len() as u64,
            bytes: self.bytes(),
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
        self.table.bytes + self.memo.bytes() + self.next.capacity() * 4
    }

    /// The state after operation `k` in `state`, or None if the model refuses it.
    fn step(&mut self, state: u32, k: u32) -> Option<u32> {
        let n = self.ops.len();
        let slot = state as usize * n + k as usize;
        if let Some(&cached) = self.next.get(slot)
            && cached != UNSTEPPED
        {
            return (cached != REJECTED).then_some(cached);
        }
        let op = self.ops[k as usize];
        let next = self
            .model
            .step(self.table.get(state), &op.input, op.output.as_ref())
            .map(|next| {
                let heap = self.model.state_heap_bytes(&next);
                self.table.intern(next, heap).0
            });
        if slot < TRANSITIONS_MAX {
            if slot >= self.next.len() {
                let states = (self.table.states.len()).min(TRANSITIONS_MAX / n.max(1));
                self.next.resize((states * n).max(slot + 1), UNSTEPPED);
            }
            self.next[slot] = next.unwrap_or(REJECTED);
        }
        next
    }

    /// Searches on until a verdict, or until `max_steps` model steps have been taken in total
    /// (then `OutOfSteps`, and a later call continues), or until told to stop.
    pub(crate) fn run(&mut self, control: &Control, max_steps: u64) -> Outcome {
        let mut w = match self.walk.take() {
            Some(w) => w,
            None => {
                let init = self.model.init();
                let init_bytes = self.model.state_heap_bytes(&init);
                let (state, _) = self.table.intern(init, init_bytes);
                Walk {
                    state,
                    remaining: self.determinate.iter().filter(|&&d| d).count(),
                    stack: Vec::new(),
                    longest: Vec::new(),
                    low_water: 0,
                    frontier: 0,
                    cursor: self.head,
                }
            }
        };
        let mut next_poll = self.steps + POLL_EVERY;
        loop {
            if w.remaining == 0 {
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
                    return Outcome::Stopped(reason);
                }
                if self.steps >= max_steps {
                    self.walk = Some(w);
                    return Outcome::OutOfSteps;
                }
            }
            // While a determinate operation is unplaced its return entry is in the list, and the
            // cursor stops there at the latest, so it never runs off the end.
            debug_assert!(w.cursor != NIL);
            let entry = self.entries[w.cursor as usize];
            if entry.is_call {
                let k = entry.op;
                self.steps += 1;
                let next = self.step(w.state, k).filter(|&next| {
                    // An indeterminate operation that would change nothing here is better left
                    // unplaced: every continuation after placing it is open without it too (it
                    // may take effect later, or never), and it constrains nothing in between.
                    self.determinate[k as usize] || next != w.state
                });
                if let Some(next) = next {
                    self.bits.flip(k);
                    if self.memo.insert(&self.bits, next) {
                        w.stack.push((w.cursor, w.state));
                        w.state = next;
                        self.lift(w.cursor);
                        if self.determinate[k as usize] {
                            w.remaining -= 1;
                        }
                        if w.stack.len() > w.longest.len() {
                            w.longest.truncate(w.low_water);
                            let entries = &self.entries;
                            w.longest.extend(
                                w.stack[w.low_water..]
                                    .iter()
                                    .map(|&(c, _)| entries[c as usize].op),
                            );
                            w.low_water = w.stack.len();
                        }
                        w.cursor = self.head;
                        continue;
                    }
                    self.bits.flip(k);
                }
                w.cursor = entry.next;
            } else {
                // A return entry: its operation should have been linearized by now and was not,
                // so this branch is dead.
                w.frontier = w.frontier.max(w.cursor);
                let Some((call, previous)) = w.stack.pop() else {
                    return Outcome::Violation(self.failure(w.longest, w.frontier));
                };
                w.low_water = w.low_water.min(w.stack.len());
                let k = self.entries[call as usize].op;
                self.bits.flip(k);
                w.state = previous;
                self.unlift(call);
                if self.determinate[k as usize] {
                    w.remaining += 1;
                }
                w.cursor = self.entries[call as usize].next;
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
    keys: Vec<u64>,
}

impl Bitset {
    fn new(n: usize) -> Bitset {
        Bitset {
            words: vec![0; n.div_ceil(64).max(1)],
            hash: 0,
            keys: (0..n as u64).map(|k| mix(k + 1)).collect(),
        }
    }

    fn flip(&mut self, k: u32) {
        self.words[(k / 64) as usize] ^= 1 << (k % 64);
        self.hash ^= self.keys[k as usize];
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

/// The set of configurations (linearized set, state id) already explored: an open-addressing
/// table (linear probing, at most half full) whose slots hold the configuration's 64-bit hash and
/// state id, so that a lookup usually touches one slot and, on a match, one bitset.
struct Memo {
    words: usize,
    slots: Vec<Slot>,
    /// log2 of `slots.len()`.
    shift: u32,
    len: usize,
    /// `words` bitset words per configuration, in insertion order.
    sets: Vec<u64>,
}

#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    state: u32,
    /// Index of the configuration's bitset in `sets`, or NIL for an empty slot.
    entry: u32,
}

const EMPTY: Slot = Slot {
    hash: 0,
    state: 0,
    entry: NIL,
};

impl Memo {
    fn new(n: usize) -> Memo {
        let bits = 10;
        Memo {
            words: n.div_ceil(64).max(1),
            slots: vec![EMPTY; 1 << bits],
            shift: 64 - bits,
            len: 0,
            sets: Vec::new(),
        }
    }

    fn bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>() + self.sets.len() * 8
    }

    fn index(&self, hash: u64) -> usize {
        (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// Adds the configuration; false if it was already there.
    fn insert(&mut self, bits: &Bitset, state: u32) -> bool {
        let hash = bits.hash ^ mix(u64::from(state));
        let mask = self.slots.len() - 1;
        let mut i = self.index(hash);
        loop {
            let slot = self.slots[i];
            if slot.entry == NIL {
                break;
            }
            if slot.hash == hash && slot.state == state {
                let at = slot.entry as usize * self.words;
                if self.sets[at..at + self.words]
                    .iter()
                    .zip(&bits.words)
                    .all(|(a, b)| a == b)
                {
                    return false;
                }
            }
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot {
            hash,
            state,
            entry: self.len as u32,
        };
        self.len += 1;
        self.sets.extend_from_slice(&bits.words);
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    fn grow(&mut self) {
        let doubled = vec![EMPTY; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.shift -= 1;
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.entry != NIL) {
            let mut i = self.index(slot.hash);
            while self.slots[i].entry != NIL {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}
