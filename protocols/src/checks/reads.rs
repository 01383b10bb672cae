//! Guarantee 2, reads at their zxid (ZooKeeper's sequentially consistent reads): a read answered
//! with reply zxid `z` shows exactly the state after the writes with zxids up to `z`, whichever
//! server answered it and however far behind that server was. Rule `read-at-zxid`: one order of
//! the writes and reads by zxid explains every answer (`order`, with reads), the writes whose zxid
//! is unknown taking any zxid above what was shown before their invocation, or none.
//!
//! Syncs, `open_session` and answers without a zxid are left out: they show no state, or cannot be
//! placed. The writes' own answers are in the order too, so a read is explained only by writes
//! that could answer as they did; when the writes alone cannot be ordered (guarantee 1 fails and
//! names them), this guarantee is left undecided.

use super::history::{History, Role};
use super::order::Explained;
use super::report::{Found, GuaranteeResult, Involved, Violation};

/// Guarantee 2, given what the zxid order of writes and reads says (`order::explain` with
/// reads) and whether the writes alone have an order (guarantee 1): if they have none, no order of
/// the reads can be judged, and the verdict is unknown rather than a violation blamed on reads.
///
/// `found` holds what `evident` convicted without a search: those stand even when the writes
/// have no order or the search runs out of budget.
pub(crate) fn check_reads(
    h: &History,
    mut found: Found,
    explained: Explained,
    writes_ordered: bool,
) -> (GuaranteeResult, Vec<Violation>) {
    found.checked = h.ops.iter().filter(|op| op.role == Role::Read).count() as u64;
    if !writes_ordered {
        let why = "the writes alone have no order by zxid (linearizable-writes), so the reads \
                   cannot be placed in one";
        return found.finish("reads", Some(why.into()));
    }
    let mut unknown = None;
    match explained {
        Explained::Yes | Explained::NotSearched => {}
        Explained::Unknown(reason) => unknown = Some(reason.to_string()),
        Explained::No(cx) => {
            let role = |i: usize| match h.ops[i].role {
                Role::Read => "read",
                Role::Write => "write",
                _ => "write, zxid unknown",
            };
            let mut involved: Vec<Involved> = cx
                .core
                .iter()
                .map(|r| Involved::op(role(r.index), &h.ops[r.index]))
                .collect();
            // The operation the search could not place, named even when the core leaves it out.
            if cx.core.iter().all(|r| r.index != cx.blocking.index) {
                let i = cx.blocking.index;
                involved.push(Involved::op(
                    &format!("{} that cannot be placed", role(i)),
                    &h.ops[i],
                ));
            }
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
