//! The event queue: events ordered by virtual time, ties broken by insertion order, never by
//! address or hash. The heap holds only small keys; the events themselves wait in a slab, so that
//! reordering the heap moves a few bytes instead of whole events. A 4-ary heap halves the depth a
//! pop walks down, which is most of the engine's cost when processes do little.

use crate::time::SimTime;
use dary_heap::QuaternaryHeap;
use std::cmp::{Ordering, Reverse};

/// `(time, seq)` as one number, so that ordering two keys is one comparison; and the slab slot.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key {
    order: Reverse<u128>,
    slot: u32,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// Reversed, so that the max-heap pops the earliest (time, seq) first. `seq` is unique, so the
    /// slot never decides.
    fn cmp(&self, other: &Self) -> Ordering {
        self.order.cmp(&other.order)
    }
}

/// A priority queue of events of type `E`.
pub struct EventQueue<E> {
    heap: QuaternaryHeap<Key>,
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
        let order = Reverse(((time.as_nanos() as u128) << 64) | self.seq as u128);
        self.heap.push(Key { order, slot });
        self.seq += 1;
    }

    /// Takes the earliest event if it is due no later than `end`.
    pub fn pop_until(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        if SimTime((self.heap.peek()?.order.0 >> 64) as u64) > end {
            return None;
        }
        let key = self.heap.pop()?;
        let event = self.slab[key.slot as usize]
            .take()
            .expect("every key has its event");
        self.free.push(key.slot);
        Some((SimTime((key.order.0 >> 64) as u64), event))
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
