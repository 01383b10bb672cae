//! Guarantee 1, linearizable writes: the writes alone (every create, delete, set_data, multi and
//! close_session, a server's expiries and implied ones included; not open_session, whose answer
//! carries no zxid and which touches no node; no read, no sync) are linearizable under the znode
//! model, and their zxids follow real time. Three rules:
//!
//! - `zxid-order`: the writes in the order of their zxids explain every answer, with the writes
//!   whose zxid is unknown placed at any zxid above what was shown before their invocation, or
//!   nowhere (`order`: a replay, and the exact search where the replay cannot tell);
//! - `zxid-unique`: no two writes answered with the same zxid;
//! - `zxid-real-time`: a write's zxid is above every zxid an answer to another session showed
//!   before the write was invoked (a reply's zxid is committed when the reply leaves, and a write
//!   invoked later is ordered after every committed write). What the write's own session saw is
//!   guarantee 3's rule `write-after-seen`.
//!
//! It never looks at what reads answered: the read guarantees do.

use super::history::{History, Role};
use super::order::Explained;
use super::report::{Found, GuaranteeResult, Involved, Violation};
use std::collections::BTreeMap;

/// Guarantee 1, given what the zxid order of the writes alone says (`order::explain` without
/// reads).
/// `found` holds what `evident` convicted without a search.
pub(crate) fn check_writes(
    h: &History,
    mut found: Found,
    explained: Explained,
) -> (GuaranteeResult, Vec<Violation>) {
    zxid_rules(h, &mut found);
    found.checked = h.ops.iter().filter(|op| op.is_write()).count() as u64;
    let mut unknown = None;
    match explained {
        Explained::Yes | Explained::NotSearched => {}
        Explained::Unknown(reason) => unknown = Some(reason.to_string()),
        Explained::No(cx) => {
            let mut involved: Vec<Involved> = cx
                .core
                .iter()
                .map(|r| Involved::op("cannot be ordered", &h.ops[r.index]))
                .collect();
            // The write the search could not place, named even when the core leaves it out.
            if cx.core.iter().all(|r| r.index != cx.blocking.index) {
                let i = cx.blocking.index;
                involved.push(Involved::op("cannot be placed", &h.ops[i]));
            }
            found.add(
                "zxid-order",
                format!(
                    "no order of the writes by zxid explains their answers ({} writes in the \
                     failing part)",
                    cx.part_operations
                ),
                "the writes, in the order of their zxids, each answered as the znode model \
                 answers it; a write whose zxid is unknown may take effect at any zxid above what \
                 was shown before its invocation, or not at all"
                    .into(),
                format!(
                    "these {} writes cannot be ordered together (the search's counterexample \
                     follows; its order is by zxid)",
                    cx.core.len()
                ),
                involved,
            );
            if let Some(v) = found.listed.last_mut() {
                v.counterexample = Some(cx);
            }
        }
    }
    found.finish("writes", unknown)
}

/// `zxid-unique` and `zxid-real-time`.
fn zxid_rules(h: &History, found: &mut Found) {
    let mut by_zxid: BTreeMap<u64, usize> = BTreeMap::new();
    for (i, op) in h.ops.iter().enumerate() {
        if op.role != Role::Write {
            continue;
        }
        let zxid = op.zxid.expect("a placed write has a zxid");
        if let Some(&first) = by_zxid.get(&zxid) {
            found.add(
                "zxid-unique",
                format!("two writes were both answered with zxid {zxid}"),
                "every transaction has its own zxid".into(),
                format!("zxid {zxid} twice"),
                vec![
                    Involved::op("first write", &h.ops[first]),
                    Involved::op("second write", op),
                ],
            );
        } else {
            by_zxid.insert(zxid, i);
        }
        // What the write's own session saw before is guarantee 3's (`write-after-seen`).
        let session = op.session.filter(|_| !op.by_server());
        if let Some((seen, j)) = h.before[i].by_others(session)
            && seen >= zxid
        {
            found.add(
                "zxid-real-time",
                format!(
                    "a write took effect at zxid {zxid}, but an operation that completed before \
                     the write was invoked had already shown zxid {seen}"
                ),
                format!("a zxid above {seen}"),
                format!("zxid {zxid}"),
                vec![
                    Involved::op("completed earlier", &h.ops[j]),
                    Involved::op("write", op),
                ],
            );
        }
    }
}
