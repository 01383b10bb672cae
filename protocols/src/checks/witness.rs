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
//! So this module only ever says "linearizable, here is why" or "don't know": an order it finds
//! is a linearization (the model accepted it, real time is checked here), and when it finds none
//! the caller runs the exact search, which decides.

use super::replay;
use crate::znode::model::ZnodeModel;
use crate::znode::{Request, Write, ZkInput, ZkOutput};
use sim::check::Operation;

type Op = Operation<ZkInput, ZkOutput>;

/// Model steps the replay may take per operation before the exact search is asked instead.
const STEPS_PER_OP: u64 = 16;

/// Whether `ops` (in real time) are linearizable by an order of their
/// zxids that the replay finds. `false` means only that no such order was found: every answered
/// operation must show a zxid, and writes must show distinct ones.
pub fn linearizable_by_zxid(ops: &[Op]) -> bool {
    // Every answered operation's zxid; writes' distinct.
    let mut zxids: Vec<u64> = Vec::with_capacity(ops.len());
    let mut known: Vec<u64> = Vec::new();
    for op in ops.iter().filter(|op| op.ret != u64::MAX) {
        let Some(zxid) = op.output.as_ref().and_then(|o| o.zxid) else {
            if opens_session(op) {
                continue;
            }
            return false;
        };
        zxids.push(zxid.0);
        if matches!(op.input.request, Request::Write(_)) {
            known.push(zxid.0);
        }
    }
    known.sort_unstable();
    if known.windows(2).any(|w| w[0] == w[1]) {
        return false;
    }
    zxids.sort_unstable();
    zxids.dedup();

    // For an unanswered write: the largest zxid of an operation that returned before it was
    // invoked. It must come after that one.
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

    // Zxid time, as `order` builds it: the write at the r-th zxid is at 3r+1, the reads at it at
    // 3r+2, and 3r is the gap before it, where a write floating above the (r-1)-th begins.
    // Unanswered reads constrain nothing and are left out.
    let rank = |z: u64| zxids.partition_point(|&x| x < z) as u64;
    let mut chosen: Vec<usize> = Vec::with_capacity(ops.len());
    let mut timed: Vec<Op> = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let is_write = matches!(op.input.request, Request::Write(_));
        let (call, ret) = match op.output.as_ref().and_then(|o| o.zxid) {
            Some(z) if op.ret != u64::MAX => {
                let at = 3 * rank(z.0) + if is_write { 1 } else { 2 };
                (at, at)
            }
            // A session opened without a zxid shown: in the gap after everything that returned
            // before it was invoked (where the model needs it: before its session's operations).
            _ if op.ret != u64::MAX && opens_session(op) => {
                let at = 3 * zxids.partition_point(|&x| x <= floor(op.call)) as u64;
                (at, at)
            }
            _ if is_write => {
                let above = zxids.partition_point(|&x| x <= floor(op.call)) as u64;
                (3 * above, u64::MAX)
            }
            _ => continue,
        };
        chosen.push(i);
        timed.push(Operation {
            call,
            ret,
            ..op.clone()
        });
    }
    let all: Vec<usize> = (0..timed.len()).collect();
    let limit = STEPS_PER_OP * timed.len() as u64 + 10_000;
    // One replay of everything: a model that knows nothing of parts, so takes any order.
    let model = ZnodeModel::default();
    let Some(order) = replay::explains(&model, &timed, &all, &known, limit, &mut 0) else {
        return false;
    };

    // Real time: nothing may come after an operation that returned before it was invoked.
    let mut latest_call = 0;
    order.iter().all(|&k| {
        let op = &ops[chosen[k]];
        latest_call = latest_call.max(op.call);
        latest_call <= op.ret
    })
}

fn opens_session(op: &Op) -> bool {
    matches!(op.input.request, Request::Write(Write::OpenSession))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::znode::{Create, CreateMode, Created, Outcome, Reply, SessionId, Stat, Zxid};

    const S: Option<SessionId> = Some(SessionId(1));

    fn create(path: &str, call: u64, answer: Option<(u64, u64)>) -> Op {
        let made = |zxid: u64| Created {
            path: path.into(),
            stat: Stat {
                czxid: Zxid(zxid),
                mzxid: Zxid(zxid),
                pzxid: Zxid(zxid),
                version: 0,
                cversion: 0,
                aversion: 0,
                ephemeral_owner: SessionId::NONE,
                data_length: 0,
                num_children: 0,
            },
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
        linearizable_by_zxid(ops)
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

    #[test]
    fn a_zxid_order_against_real_time_is_no_witness() {
        // /a took zxid 1 but was invoked after /b, which took zxid 2, had returned.
        let ops = [
            create("/b", 10, Some((2, 20))),
            create("/a", 30, Some((1, 40))),
        ];
        assert!(!holds(&ops));
        // Without zxids there is nothing to go by.
        let mut blind = create("/a", 10, Some((1, 20)));
        blind.output.as_mut().unwrap().zxid = None;
        assert!(!holds(&[blind]));
    }
}
