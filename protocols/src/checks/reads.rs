//! Guarantee 2, reads at their zxid (ZooKeeper's sequentially consistent reads): a read answered
//! with reply zxid `z` shows exactly the state after the writes with zxids up to `z`, whichever
//! server answered it and however far behind that server was. Rule `read-at-zxid`: one order of
//! the writes and reads by zxid explains every answer (`order`, with reads), the writes whose zxid
//! is unknown taking any zxid above what was shown before their invocation, or none.
//!
//! Syncs, `open_session` and answers without a zxid are left out: they show no state, or cannot be
//! placed. The writes' own answers are in the order too, so a read is explained only by writes
//! that could answer as they did; a history whose writes alone cannot be ordered fails guarantee
//! 1 as well, which names the writes.

use super::history::{History, Role};
use super::order::Explained;
use super::report::{Found, Guarantee, GuaranteeResult, Involved, Violation};

/// Guarantee 2, given what the zxid order of writes and reads says (`order::explain` with reads).
pub(crate) fn check_reads(h: &History, explained: Explained) -> (GuaranteeResult, Vec<Violation>) {
    let mut found = Found::new(Guarantee::ReadsAtZxid);
    found.checked = h.ops.iter().filter(|op| op.role == Role::Read).count() as u64;
    let mut unknown = None;
    match explained {
        Explained::Yes => {}
        Explained::Unknown(reason) => unknown = Some(reason),
        Explained::No(cx) => {
            let involved = cx
                .core
                .iter()
                .map(|r| {
                    let op = &h.ops[r.index];
                    let role = match op.role {
                        Role::Read => "read",
                        Role::Write => "write",
                        _ => "write, zxid unknown",
                    };
                    Involved::op(role, op)
                })
                .collect();
            let blocking = &h.ops[cx.blocking.index];
            found.add(
                "read-at-zxid",
                format!(
                    "no order by zxid explains these answers: the {} at line {} cannot be placed \
                     at its zxid",
                    if blocking.is_write() { "write" } else { "read" },
                    blocking.line
                ),
                "every read answered at zxid z shows the state after exactly the writes with \
                 zxids up to z (a write whose zxid is unknown taking any zxid above what was \
                 shown before its invocation, or none)"
                    .into(),
                format!(
                    "these {} operations cannot be ordered by zxid (the search's counterexample \
                     follows; its order is by zxid, not real time)",
                    cx.core.len()
                ),
                involved,
            );
            if let Some(v) = found.listed.last_mut() {
                v.counterexample = Some(cx);
            }
        }
    }
    found.finish("reads", unknown)
}
