//! Guarantee 6, only at level `zookeeper+sync`: a read that follows a completed `sync` on the same
//! session reflects every write completed before the sync was invoked. Rule `stale-after-sync`:
//! the read's reply zxid is at least the zxid of every write (with a known zxid, a server's
//! expiries included) whose completion precedes the sync's invocation in real time. Together with
//! guarantee 2 (the answer is the state at the read's zxid) that makes the answer include those
//! writes.
//!
//! ZooKeeper does not promise this: `sync` is not a quorum operation, and a leader that does not
//! yet know it was deposed answers it from its own, stale, state (ZOOKEEPER-1675). That is why it
//! is a separate, stricter level. It never judges the answer itself: guarantee 2 does.

use super::history::{History, Role, Step};
use super::report::{Found, Guarantee, GuaranteeResult, Involved, Violation};
use crate::znode::{Read, Request};

pub(crate) fn check_sync_reads(h: &History) -> (GuaranteeResult, Vec<Violation>) {
    let mut found = Found::new(Guarantee::SyncRead);
    for steps in h.sessions.values() {
        // The session's last completed operation, if it was a sync with an answer.
        let mut last_sync: Option<usize> = None;
        for step in steps {
            let Step::Complete(i) = *step else { continue };
            let op = &h.ops[i];
            if let (Some(s), Role::Read) = (last_sync, op.role) {
                found.checked += 1;
                let z = op.zxid.expect("an answered read has a zxid");
                if let Some((w, j)) = h.before[s].write
                    && z < w
                {
                    found.add(
                        "stale-after-sync",
                        format!(
                            "a read after sync answered at zxid {z}, before the write at zxid {w} \
                             that completed before the sync was invoked"
                        ),
                        format!("a zxid of at least {w}"),
                        format!("zxid {z}"),
                        vec![
                            Involved::op("completed before the sync", &h.ops[j]),
                            Involved::op("sync", &h.ops[s]),
                            Involved::op("read", op),
                        ],
                    );
                }
            }
            last_sync = match (&op.input.request, op.role) {
                (Request::Read(Read::Sync(_)), Role::Sync) => Some(i),
                _ => None,
            };
        }
    }
    found.finish("reads after a sync", None)
}
