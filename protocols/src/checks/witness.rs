//! A fast witness of linearizability for a znode history whose answers carry zxids: the order of
//! the zxids, checked against real time.
//!
//! A server that orders every write by zxid and answers each read at the zxid it has applied
//! (ZooKeeper's leader, the reference server) is linearizable exactly when that zxid order, with
//! the writes whose zxid nobody saw placed somewhere in it, is accepted by the model and respects
//! real time (an operation that returned before another was invoked comes first). The replay
//! (`replay`) finds such an order in one pass over the history for almost every history; the
//! exact search (`sim::check`) of the same history must instead consider every interleaving of the
//! operations that overlap in time, and of the unanswered writes with everything after them, and
//! a few unanswered writes among thousands of operations can exhaust its memory.
//!
//! So this module only ever says "linearizable, here is why" or "don't know", part by part: the
//! whole history is replayed first; if that fails, each independent part of the znode model's
//! partition (linearizability is compositional over them) is replayed on its own, and only the
//! parts no order explains are left to the exact search.

use super::order::ZxidTime;
use super::replay;
use crate::znode::model::ZnodeModel;
use crate::znode::{Request, Write, ZkInput, ZkOutput};
use sim::check::{Model, Operation};

type Op = Operation<ZkInput, ZkOutput>;

/// Model steps the first replay, of the whole history, may take per operation.
const WHOLE_STEPS_PER_OP: u64 = 4;

/// Model steps the replay of one part may take per operation of the part.
const PART_STEPS_PER_OP: u64 = 64;

/// The operations of `ops` (in real time) that the zxid order does not show linearizable: empty
/// if it shows them all, else whole parts of `model`'s partition, in increasing order (`model`:
/// `ZnodeModel::for_history(ops)`, the model the exact search uses). Every operation, when the
/// answers do not carry the zxids the order needs (an answered operation other than an open
/// session without one, two writes with one zxid).
pub fn unexplained(model: &ZnodeModel, ops: &[Op]) -> Vec<usize> {
    let everything = || (0..ops.len()).collect();
    let Some(timed) = Timed::of(ops) else {
        return everything();
    };
    // The whole history in one replay, with a model that knows nothing of parts.
    let all: Vec<usize> = (0..timed.ops.len()).collect();
    let limit = WHOLE_STEPS_PER_OP * all.len() as u64 + 10_000;
    if timed.linearizes(&ZnodeModel::default(), &all, limit, ops) {
        return Vec::new();
    }
    // Else part by part.
    let mut at = vec![usize::MAX; ops.len()];
    for (k, &i) in timed.chosen.iter().enumerate() {
        at[i] = k;
    }
    let mut left = Vec::new();
    for part in model.partition(ops) {
        let mine: Vec<usize> = part
            .iter()
            .map(|&i| at[i])
            .filter(|&k| k != usize::MAX)
            .collect();
        let limit = PART_STEPS_PER_OP * mine.len() as u64 + 10_000;
        if !timed.linearizes(model, &mine, limit, ops) {
            left.extend(part);
        }
    }
    left.sort_unstable();
    left
}

/// The operations that constrain an order, moved into zxid time.
struct Timed {
    /// `ops[k]` is `chosen[k]` of the history, with its call and return in zxid time.
    ops: Vec<Op>,
    chosen: Vec<usize>,
    /// The zxids of the answered writes, sorted.
    known: Vec<u64>,
}

impl Timed {
    fn of(ops: &[Op]) -> Option<Timed> {
        // Every answered operation's zxid; writes' distinct.
        let mut zxids: Vec<u64> = Vec::with_capacity(ops.len());
        let mut known: Vec<u64> = Vec::new();
        for op in ops.iter().filter(|op| op.ret != u64::MAX) {
            let Some(zxid) = op.output.as_ref().and_then(|o| o.zxid) else {
                if opens_session(op) {
                    continue;
                }
                return None;
            };
            zxids.push(zxid.0);
            if matches!(op.input.request, Request::Write(_)) {
                known.push(zxid.0);
            }
        }
        known.sort_unstable();
        if known.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        zxids.sort_unstable();
        zxids.dedup();

        // For an operation without a zxid: the largest zxid of an operation that returned before
        // it was invoked. It comes after that one.
        let mut by_return: Vec<(u64, u64)> = ops
            .iter()
            .filter(|op| op.ret != u64::MAX)
            .filter_map(|op| Some((op.ret, op.output.as_ref()?.zxid?.0)))
            .collect();
        by_return.sort_unstable();
        let mut highest = 0;
        for entry in &mut by_return {
            highest = highest.max(entry.1);
            entry.1 = highest;
        }
        let floor = |call: u64| {
            let n = by_return.partition_point(|&(ret, _)| ret < call);
            if n == 0 { 0 } else { by_return[n - 1].1 }
        };

        // Zxid time, as `order` builds it. Unanswered reads constrain nothing and are left out.
        let time = ZxidTime(&zxids);
        let mut chosen: Vec<usize> = Vec::with_capacity(ops.len());
        let mut timed: Vec<Op> = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let is_write = matches!(op.input.request, Request::Write(_));
            let (call, ret) = match op.output.as_ref().and_then(|o| o.zxid) {
                Some(z) if op.ret != u64::MAX => {
                    let at = if is_write {
                        time.write(z.0)
                    } else {
                        time.read(z.0)
                    };
                    (at, at)
                }
                // A session opened without a zxid shown: in the gap after everything that
                // returned before it was invoked (before its session's operations, where the
                // model needs it).
                _ if op.ret != u64::MAX => {
                    let at = time.gap_above(floor(op.call));
                    (at, at)
                }
                _ if is_write => (time.gap_above(floor(op.call)), u64::MAX),
                _ => continue,
            };
            chosen.push(i);
            timed.push(Operation {
                call,
                ret,
                ..op.clone()
            });
        }
        Some(Timed {
            ops: timed,
            chosen,
            known,
        })
    }

    /// Whether the replay finds an order of `part` (indices into `self.ops`) that `model` accepts
    /// and that respects the real time of `real`, the history: nothing comes after an operation
    /// that was invoked after it returned.
    fn linearizes(&self, model: &ZnodeModel, part: &[usize], limit: u64, real: &[Op]) -> bool {
        let Some(order) = replay::explains(model, &self.ops, part, &self.known, limit, &mut 0)
        else {
            return false;
        };
        let mut latest_call = 0;
        order.iter().all(|&k| {
            let op = &real[self.chosen[k]];
            latest_call = latest_call.max(op.call);
            latest_call <= op.ret
        })
    }
}

fn opens_session(op: &Op) -> bool {
    matches!(op.input.request, Request::Write(Write::OpenSession))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::znode::{
        Create, CreateMode, Created, Outcome, Reply, SessionId, SetData, Stat, Zxid,
    };

    const S: Option<SessionId> = Some(SessionId(1));

    /// A persistent node's Stat, with no data and no children.
    fn stat(czxid: u64, mzxid: u64, version: i32) -> Stat {
        Stat {
            czxid: Zxid(czxid),
            mzxid: Zxid(mzxid),
            pzxid: Zxid(czxid),
            version,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: SessionId::NONE,
            data_length: 0,
            num_children: 0,
        }
    }

    fn create(path: &str, call: u64, answer: Option<(u64, u64)>) -> Op {
        let made = |zxid: u64| Created {
            path: path.into(),
            stat: stat(zxid, zxid, 0),
        };
        Operation {
            process: call,
            input: ZkInput::new(
                S,
                Request::Write(Write::Create(Create {
                    path: path.into(),
                    data: String::new(),
                    mode: CreateMode::Persistent,
                })),
            )
            .unwrap(),
            output: answer.map(|(zxid, _)| ZkOutput {
                outcome: Outcome::Ok(Reply::Created(made(zxid))),
                zxid: Some(Zxid(zxid)),
            }),
            call,
            ret: answer.map_or(u64::MAX, |(_, ret)| ret),
            line: call as usize,
        }
    }

    fn holds(ops: &[Op]) -> bool {
        unexplained(&ZnodeModel::for_history(ops), ops).is_empty()
    }

    #[test]
    fn the_zxid_order_is_a_witness_when_it_respects_real_time() {
        // /a at zxid 1 returned before /b (zxid 2) was invoked; /c was never answered.
        let ops = [
            create("/a", 10, Some((1, 20))),
            create("/b", 30, Some((2, 40))),
            create("/c", 35, None),
        ];
        assert!(holds(&ops));
    }

    /// A set of /a, answered at `zxid` with `version`, in `[call, ret]`.
    fn set(call: u64, zxid: u64, version: i32, ret: u64) -> Op {
        let stat = stat(1, zxid, version);
        Operation {
            process: call,
            input: ZkInput::new(
                S,
                Request::Write(Write::SetData(SetData {
                    path: "/a".into(),
                    data: String::new(),
                    version: -1,
                })),
            )
            .unwrap(),
            output: Some(ZkOutput {
                outcome: Outcome::Ok(Reply::Stat(stat)),
                zxid: Some(Zxid(zxid)),
            }),
            call,
            ret,
            line: call as usize,
        }
    }

    #[test]
    fn a_zxid_order_against_real_time_is_no_witness() {
        // The set at zxid 2 was invoked after the set at zxid 3 had returned.
        let ops = [
            create("/a", 0, Some((1, 5))),
            set(10, 3, 2, 20),
            set(30, 2, 1, 40),
        ];
        assert!(!holds(&ops));
        // In the other real-time order, the zxid order is a witness.
        let ops = [
            create("/a", 0, Some((1, 5))),
            set(30, 3, 2, 40),
            set(10, 2, 1, 20),
        ];
        assert!(holds(&ops));
        // Without zxids there is nothing to go by.
        let mut blind = create("/a", 10, Some((1, 20)));
        blind.output.as_mut().unwrap().zxid = None;
        assert!(!holds(&[blind]));
    }
}
