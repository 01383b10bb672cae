//! Guarantees 3 and 4, read along each session's own timeline (its client's invocations,
//! replies and notifications, in file order; a server's expiry of the session is not the
//! session's own step).
//!
//! Session order (3), FIFO client order, two rules:
//! - `write-after-seen`: a write takes effect after everything its session saw before issuing it:
//!   its zxid is above every reply and notification zxid the session had received;
//! - `read-your-writes`: a reply's zxid is at least that of every earlier write of the session, so
//!   the answer includes the session's own writes.
//!
//! Single system image (4), two rules:
//! - `reply-went-back`: a read's or sync's reply zxid is at least that of every earlier read or sync
//!   reply of the session, whichever server answered each (reconnects included);
//! - `notification-went-back`: a notification's zxid is at least that of every earlier
//!   notification of the session.
//!
//! A reply after a notification may carry a smaller zxid: ZooKeeper's client reconnects with the
//! zxid of its last *reply* (`lastZxidSeen`), so a server that is behind the notification may take
//! it; that is not checked. Only determinate answers with a zxid are compared; it never looks at
//! what an answer says, only where it is in the zxid order.

use super::history::{History, Role, Step};
use super::report::{Found, Guarantee, GuaranteeResult, Involved, Violation};
use std::collections::BTreeMap;

/// What the session saw last: a zxid and where it came from.
#[derive(Clone, Copy)]
enum From {
    Op(usize),
    Event(usize),
}

pub(crate) fn check_sessions(h: &History) -> [(GuaranteeResult, Vec<Violation>); 2] {
    let mut order = Found::new(Guarantee::SessionOrder);
    let mut image = Found::new(Guarantee::SingleSystemImage);
    for steps in h.sessions.values() {
        check_session(h, steps, &mut order, &mut image);
    }
    [
        order.finish(
            "replies after an earlier write or reply of their session",
            None,
        ),
        image.finish(
            "read, sync and notification zxids after an earlier one",
            None,
        ),
    ]
}

fn check_session(h: &History, steps: &[Step], order: &mut Found, image: &mut Found) {
    let involved = |role: &str, from: From| match from {
        From::Op(i) => Involved::op(role, &h.ops[i]),
        From::Event(e) => Involved::event(role, &h.events[e]),
    };
    // The largest zxid seen (replies and notifications), of the session's writes, of its reads
    // and syncs, and of its notifications.
    let mut seen: Option<(u64, From)> = None;
    let mut write: Option<(u64, usize)> = None;
    let mut read: Option<(u64, usize)> = None;
    let mut note: Option<(u64, usize)> = None;
    let mut at_invoke: BTreeMap<usize, Option<(u64, From)>> = BTreeMap::new();
    let raise = |slot: &mut Option<(u64, From)>, z: u64, from: From| {
        if slot.is_none_or(|(m, _)| z > m) {
            *slot = Some((z, from));
        }
    };
    for step in steps {
        match *step {
            Step::Invoke(i) => {
                at_invoke.insert(i, seen);
            }
            Step::Complete(i) => {
                let op = &h.ops[i];
                let Some(z) = op.seen_zxid() else { continue };
                match op.role {
                    Role::Write => {
                        order.checked += 1;
                        if let Some(&Some((m, from))) = at_invoke.get(&i)
                            && m >= z
                        {
                            order.add(
                                "write-after-seen",
                                format!(
                                    "the session's write took effect at zxid {z}, not after zxid \
                                     {m}, which the session had seen before issuing it"
                                ),
                                format!("a zxid above {m}"),
                                format!("zxid {z}"),
                                vec![involved("seen before", from), Involved::op("write", op)],
                            );
                        }
                    }
                    _ => {
                        if let Some((w, j)) = write {
                            order.checked += 1;
                            if z < w {
                                order.add(
                                    "read-your-writes",
                                    format!(
                                        "a reply at zxid {z} came after the session's own write \
                                         at zxid {w}: it does not include that write"
                                    ),
                                    format!("a zxid of at least {w}"),
                                    format!("zxid {z}"),
                                    vec![
                                        Involved::op("earlier write", &h.ops[j]),
                                        Involved::op("later reply", op),
                                    ],
                                );
                            }
                        }
                        if let Some((r, j)) = read {
                            image.checked += 1;
                            if z < r {
                                let earlier = &h.ops[j];
                                let moved = match (earlier.server, op.server) {
                                    (Some(a), Some(b)) if a != b => {
                                        format!(" (server {a}, then server {b})")
                                    }
                                    _ => String::new(),
                                };
                                image.add(
                                    "reply-went-back",
                                    format!(
                                        "the session saw zxid {r} and then an older state, zxid \
                                         {z}{moved}"
                                    ),
                                    format!("a zxid of at least {r}"),
                                    format!("zxid {z}"),
                                    vec![
                                        Involved::op("earlier reply", earlier),
                                        Involved::op("later reply", op),
                                    ],
                                );
                            }
                        }
                    }
                }
                if op.role == Role::Write {
                    if write.is_none_or(|(m, _)| z > m) {
                        write = Some((z, i));
                    }
                } else if read.is_none_or(|(m, _)| z > m) {
                    read = Some((z, i));
                }
                raise(&mut seen, z, From::Op(i));
            }
            Step::Event(e) => {
                let Some(z) = h.events[e].zxid else { continue };
                if let Some((m, j)) = note {
                    image.checked += 1;
                    if z < m {
                        image.add(
                            "notification-went-back",
                            format!(
                                "a notification at zxid {z} came after one at zxid {m}: \
                                 notifications follow the order of the changes"
                            ),
                            format!("a zxid of at least {m}"),
                            format!("zxid {z}"),
                            vec![
                                Involved::event("earlier notification", &h.events[j]),
                                Involved::event("later notification", &h.events[e]),
                            ],
                        );
                    }
                }
                if note.is_none_or(|(m, _)| z > m) {
                    note = Some((z, e));
                }
                raise(&mut seen, z, From::Event(e));
            }
        }
    }
}
