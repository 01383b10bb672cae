//! The event queue: events ordered by virtual time, ties broken by insertion order, never by
//! address or hash. The heap holds only small keys; the events themselves wait in a slab, so that
//! reordering the heap moves a few bytes instead of whole events. A 4-ary heap halves the depth a
//! pop walks down, which is most of the engine's cost when processes do little.

use crate::time::SimTime;
use dary_heap::QuaternaryHeap;
use std::cmp::Reverse;

/// Bits of a key that hold the slab slot; the insertion sequence takes the 40 above them.
const SLOT_BITS: u32 = 24;
const SLOT_MASK: u128 = (1 << SLOT_BITS) - 1;

/// A key packs `(time, seq, slot)` into one number: time in the high 64 bits, then the insertion
/// sequence, then the slab slot. Ordering keys is one comparison, a key moves as 16 bytes, and
/// since `seq` is unique the slot never decides an order.
fn key(time: SimTime, seq: u64, slot: u32) -> u128 {
    ((time.as_nanos() as u128) << 64) | ((seq as u128) << SLOT_BITS) | slot as u128
}

fn time_of(key: u128) -> SimTime {
    SimTime((key >> 64) as u64)
}

/// A priority queue of events of type `E`.
pub struct EventQueue<E> {
    heap: QuaternaryHeap<Reverse<u128>>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> EventQueue<E> {
        EventQueue {
            heap: QuaternaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Queues `event` at `time`, after every event already queued at that time.
    pub fn push(&mut self, time: SimTime, event: E) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(event);
                s
            }
            None => {
                self.slab.push(Some(event));
                (self.slab.len() - 1) as u32
            }
        };
        assert!(
            (slot as u128) <= SLOT_MASK && self.seq < (1 << (64 - SLOT_BITS)),
            "more than 16 million pending events or a trillion events in one run"
        );
        self.heap.push(Reverse(key(time, self.seq, slot)));
        self.seq += 1;
    }

    /// Takes the earliest event if it is due no later than `end`.
    pub fn pop_until(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        if time_of(self.heap.peek()?.0) > end {
            return None;
        }
        let Reverse(key) = self.heap.pop()?;
        let slot = (key & SLOT_MASK) as u32;
        let event = self.slab[slot as usize]
            .take()
            .expect("every key has its event");
        self.free.push(slot);
        Some((time_of(key), event))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_time_then_insertion_order() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), "c");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "d");
        q.push(SimTime(1), "b");
        assert_eq!(q.pop_until(SimTime(0)), None, "nothing is due at 0");
        let order: Vec<&str> =
            std::iter::from_fn(|| q.pop_until(SimTime(5)).map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        q.push(SimTime(2), "e");
        assert_eq!(q.pop_until(SimTime::MAX), Some((SimTime(2), "e")));
        assert!(q.is_empty());
    }
}
