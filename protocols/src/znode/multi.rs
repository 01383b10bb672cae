//! `multi`: several writes applied as one transaction, all or nothing (FORMAT.md "Multi";
//! ZooKeeper's `PrepRequestProcessor` for `OpCode.multi`). It owns only the sequencing and the
//! shape of the answer; each sub-op is checked and applied by the same code as the single request
//! (`tree::Txn`), so that it fails under exactly the same rules.

use super::op::{MultiCreated, Outcome, Reply, SubOp, SubReply, ZkError};
use super::tree::{Applied, Txn};
use std::hash::Hash;

/// Applies `ops` in order, each seeing the effects of the earlier ones, all at the transaction's
/// one zxid. On the first failure everything is undone and every entry answers an error: `Ok`
/// before the failing sub-op, its own error, `RuntimeInconsistency` after it. The reply itself is
/// never an error, and an empty multi succeeds with no entries.
pub(super) fn apply<Z: Copy + Eq + Hash>(mut txn: Txn<'_, Z>, ops: &[SubOp]) -> Applied<Z> {
    let mut replies = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        match sub_op(&mut txn, op) {
            Ok(reply) => replies.push(Outcome::Ok(reply)),
            Err(error) => {
                txn.roll_back();
                return Applied {
                    outcome: Outcome::Ok(Reply::Multi(failed_entries(ops.len(), index, error))),
                    changes: Vec::new(),
                };
            }
        }
    }
    Applied {
        outcome: Outcome::Ok(Reply::Multi(replies)),
        changes: txn.changes,
    }
}

fn sub_op<Z: Copy + Eq + Hash>(txn: &mut Txn<'_, Z>, op: &SubOp) -> Result<SubReply<Z>, ZkError> {
    Ok(match op {
        // The server reports a Stat only for container creates inside a multi; the Stat is the
        // node's state right after this sub-op, not after the whole multi.
        SubOp::Create(create) => {
            let (path, stat) = txn.create(create)?;
            let stat = (create.mode == super::op::CreateMode::Container).then_some(stat);
            SubReply::Created(MultiCreated { path, stat })
        }
        SubOp::Delete(delete) => {
            txn.delete(delete)?;
            SubReply::Done
        }
        SubOp::SetData(set) => SubReply::Stat(txn.set_data(set)?),
        SubOp::Check(check) => {
            txn.check(check)?;
            SubReply::Done
        }
    })
}

/// The entries of a multi whose sub-op `failed` answered `error`.
fn failed_entries<Z>(count: usize, failed: usize, error: ZkError) -> Vec<Outcome<SubReply<Z>>> {
    (0..count)
        .map(|i| {
            Outcome::Err(match i.cmp(&failed) {
                std::cmp::Ordering::Less => ZkError::Ok,
                std::cmp::Ordering::Equal => error,
                std::cmp::Ordering::Greater => ZkError::RuntimeInconsistency,
            })
        })
        .collect()
}
