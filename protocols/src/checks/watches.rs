//! Guarantee 5, watch order: a session gets a notification only for a watch it holds and a change
//! that fires it, and gets it before it sees the data change that fired it. It follows each
//! session's timeline and the watches the session holds, exactly as the client keeps them
//! (`client.rs`): a successful read with `watch` leaves one (`watch::watch_left_by`: `get_data`
//! and `exists` a data watch, `exists` answered `NoNode` too, `get_children` a child watch); a
//! notification consumes the watches it answers (`created`, `changed`: the data watch; `deleted`:
//! both; `child`: the child watch); the end of the session drops them all; a reconnect keeps them
//! (the client re-arms them with SetWatches). Five rules:
//!
//! - `no-watch-held`: a notification answers a watch the session holds (a read whose answer is
//!   unknown may have left one). A `deleted` that consumed a data and a child watch may come
//!   twice at one zxid: re-arming both on a reconnect, ZooKeeper's server answers each;
//! - `no-write-fires`: some write with a zxid above the watch's registration and up to the
//!   notification's zxid (or a write whose zxid is unknown) makes a change that fires this
//!   notification under `WatchTable::trigger`'s rules, or under SetWatches's (`changed` also for
//!   a node re-created, since its mzxid moved). The notification's own zxid need not be the
//!   write's: a server re-arming watches on a reconnect stamps what it fires with its latest zxid;
//! - `wrong-type`: the write the notification's zxid names, where its answer shows it changed the
//!   node, fired that type or leaves the tree that type says (a re-arm reads the tree at the
//!   server's last zxid): a `set_data` at that zxid rules out `deleted`, however many writes with
//!   unknown zxids could have deleted the node elsewhere;
//! - `notification-late`: no reply with a zxid at or above the notification's reached the session
//!   after the watch was left and before the notification;
//! - `missed-notification`: where the history decides it — a write with a known zxid whose answer
//!   shows the change surely fires a watch the session surely holds — the notification comes
//!   before any reply at or above that write's zxid. Not required for an `exists` watch on a
//!   missing node that was created and deleted again (ZooKeeper documents that a client
//!   disconnected meanwhile misses it).
//!
//! It never decides what a write did beyond its answer (creates, deletes and data sets answered
//! with success; a close deletes its session's ephemeral nodes known to exist then).

use super::history::{EventKind, History, Op, Role, Step};
use super::report::{Found, Guarantee, GuaranteeResult, Involved, Violation};
use crate::znode::path;
use crate::znode::watch::{EventType, WatchKind, watch_left_by};
use crate::znode::{Create, Outcome, Read, Reply, Request, SessionId, SubOp, SubReply, Write};
use std::collections::BTreeMap;

/// What a write does to one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Created,
    Deleted,
    DataChanged,
}

/// One change a write makes, or may make.
#[derive(Clone, Copy, Debug)]
struct Fx {
    change: Change,
    /// `None`: the write's zxid is unknown.
    zxid: Option<u64>,
    /// The write's answer shows it made this change (not only that it may have).
    sure: bool,
    op: usize,
}

/// Every change the history's writes make or may make, by node and by parent.
#[derive(Default)]
struct Effects {
    /// Node path → changes to it; those with known zxids sorted by zxid, then the others.
    node: BTreeMap<String, Vec<Fx>>,
    /// Parent path → creations and deletions of its children, sorted the same way.
    parent: BTreeMap<String, Vec<Fx>>,
    /// Changes a floating sequential create may make: any node named `parent/prefix` + suffix.
    families: Vec<(String, String, Change, usize)>,
}

impl Effects {
    fn add(&mut self, p: &str, fx: Fx) {
        self.node.entry(p.to_string()).or_default().push(fx);
        if fx.change != Change::DataChanged
            && let Some(q) = path::parent(p)
        {
            self.parent.entry(q.to_string()).or_default().push(fx);
        }
    }

    fn build(h: &History) -> Effects {
        let mut fx = Effects::default();
        // Ephemeral nodes each session made or may have made, for its close.
        let mut ephemerals: BTreeMap<SessionId, Vec<(Target, Option<u64>, bool)>> = BTreeMap::new();
        let mut closes = Vec::new();
        for (i, op) in h.ops.iter().enumerate() {
            let Request::Write(write) = &op.input.request else {
                continue;
            };
            let session = op.input.session_or_none();
            let answer = match op.role {
                Role::Write => op.output.as_ref().map(|o| &o.outcome),
                Role::Floating => None,
                _ => continue,
            };
            if let Write::CloseSession = write {
                closes.push(i);
                continue;
            }
            let sure = answer.is_some();
            let zxid = if sure { op.zxid } else { None };
            for (target, change, ephemeral) in changes(write, answer) {
                if ephemeral {
                    ephemerals
                        .entry(session)
                        .or_default()
                        .push((target.clone(), zxid, sure));
                }
                let f = Fx {
                    change,
                    zxid,
                    sure,
                    op: i,
                };
                match target {
                    Target::Path(p) => fx.add(&p, f),
                    Target::Family(parent, prefix) => fx.families.push((parent, prefix, change, i)),
                }
            }
        }
        fx.sort();
        // A close deletes the ephemeral nodes of its session that exist then. It surely deletes
        // one its session surely made before it and that nothing deleted or may have deleted
        // since; it may delete any other.
        for i in closes {
            let op = &h.ops[i];
            let close_zxid = match (op.role, op.output.as_ref().map(|o| &o.outcome)) {
                (Role::Write, Some(Outcome::Ok(_))) => op.zxid,
                (Role::Floating, _) => None,
                _ => continue,
            };
            let owned = ephemerals
                .get(&op.input.session_or_none())
                .cloned()
                .unwrap_or_default();
            for (target, created, created_surely) in owned {
                let f = |sure| Fx {
                    change: Change::Deleted,
                    zxid: close_zxid,
                    sure,
                    op: i,
                };
                match target {
                    Target::Path(p) => {
                        let sure = match (close_zxid, created) {
                            (Some(z), Some(c)) if created_surely => {
                                if c >= z {
                                    continue;
                                }
                                fx.exists_throughout(&p, c, z)
                            }
                            _ => false,
                        };
                        fx.add(&p, f(sure));
                    }
                    Target::Family(parent, prefix) => {
                        fx.families.push((parent, prefix, Change::Deleted, i))
                    }
                }
            }
        }
        fx.sort();
        fx
    }

    fn sort(&mut self) {
        for list in self.node.values_mut().chain(self.parent.values_mut()) {
            list.sort_by_key(|f| (f.zxid.is_none(), f.zxid, f.op));
        }
    }

    /// Whether node `p`, created at `c`, surely still exists just before `z`: no deletion of it
    /// with a zxid in (c, z), and none with an unknown zxid.
    fn exists_throughout(&self, p: &str, c: u64, z: u64) -> bool {
        self.node.get(p).is_none_or(|list| {
            !list
                .iter()
                .any(|f| f.change == Change::Deleted && f.zxid.is_none_or(|d| c < d && d < z))
        })
    }

    /// Whether some write may fire notification `kind` on `p`, for a session holding watches of
    /// `kinds` on `p`, with a zxid in (`above`, `upto`] (or unknown).
    fn may_fire(
        &self,
        kind: EventType,
        p: &str,
        kinds: (bool, bool),
        above: u64,
        upto: u64,
    ) -> Option<usize> {
        let (data, child) = kinds;
        let wanted: &[Change] = match kind {
            EventType::NodeCreated if data => &[Change::Created],
            // SetWatches says `changed` when the node's mzxid moved, which a re-creation does.
            EventType::NodeDataChanged if data => &[Change::DataChanged, Change::Created],
            EventType::NodeDeleted if data || child => &[Change::Deleted],
            EventType::NodeChildrenChanged if child => &[Change::Created, Change::Deleted],
            _ => return None,
        };
        let by_parent = kind == EventType::NodeChildrenChanged;
        let list = if by_parent {
            self.parent.get(p)
        } else {
            self.node.get(p)
        };
        // A floating sequential create under `parent` may make `p`, or a child of `p`.
        let family_match = |parent: &str, prefix: &str| match by_parent {
            true => parent == p,
            false => family_has(parent, prefix, p),
        };
        let in_window =
            |f: &&Fx| wanted.contains(&f.change) && f.zxid.is_none_or(|z| above < z && z <= upto);
        if let Some(f) = list.and_then(|l| l.iter().find(in_window)) {
            return Some(f.op);
        }
        self.families
            .iter()
            .find(|(parent, prefix, change, _)| {
                wanted.contains(change) && family_match(parent, prefix)
            })
            .map(|&(.., op)| op)
    }

    /// The write at zxid `z` when its answer shows it changed `p` and it can have fired neither
    /// a `kind` notification on `p` itself nor one stamped with its zxid on a re-arm.
    ///
    /// A notification's zxid names a write: the one that fired it (`WatchTable::trigger` runs as
    /// the transaction is applied), or, on a re-arm, the last write the server had applied
    /// (ZooKeeper's `DataTree.setWatches` decides from the tree at that zxid). Either way the
    /// type must fit that write: fired by it (`created` by a creation of `p`, `changed` by a
    /// data change, `deleted` by a deletion, `child` by a creation or deletion of a child), or
    /// fitting the tree it leaves (`deleted` only if `p` is gone after it; `created`, `changed`
    /// and `child` only if `p` exists). A write that does not change `p` says nothing about it.
    fn contradicted_by(&self, kind: EventType, p: &str, z: u64) -> Option<usize> {
        let at_z = |list: Option<&Vec<Fx>>| -> Vec<Fx> {
            list.into_iter()
                .flatten()
                .filter(|f| f.sure && f.zxid == Some(z))
                .copied()
                .collect()
        };
        let own = at_z(self.node.get(p));
        // Sorted stably by (zxid, op): a multi's changes to `p` stay in its order, so the last
        // one is what the tree holds after it.
        let last = own.last()?;
        let exists_after = last.change != Change::Deleted;
        let fired = |c: Change| own.iter().any(|f| f.change == c);
        let fits = match kind {
            EventType::NodeCreated => fired(Change::Created) || exists_after,
            EventType::NodeDataChanged => fired(Change::DataChanged) || exists_after,
            EventType::NodeDeleted => fired(Change::Deleted) || !exists_after,
            EventType::NodeChildrenChanged => !at_z(self.parent.get(p)).is_empty() || exists_after,
        };
        (!fits).then_some(last.op)
    }

    /// The first change with a known zxid above `r` that surely fires watch `kind` on `p`, and
    /// for an `exists` watch on a missing node, the excuse that lets it be missed: a deletion of
    /// the node at or after that creation (its zxid; 0 when a deletion's zxid is unknown).
    fn first_sure_fire(&self, p: &str, kind: Held, r: u64) -> Option<(u64, usize, Option<u64>)> {
        let after_r = |list: Option<&Vec<Fx>>, node_changes: &[Change]| {
            list.and_then(|l| {
                l.iter()
                    .find(|f| {
                        f.sure && f.zxid.is_some_and(|z| z > r) && node_changes.contains(&f.change)
                    })
                    .map(|f| (f.zxid.expect("known"), f.op))
            })
        };
        let all = [Change::Created, Change::Deleted, Change::DataChanged];
        let first = match kind {
            Held::Data { .. } => after_r(self.node.get(p), &all),
            Held::Child => {
                let own = after_r(self.node.get(p), &[Change::Created, Change::Deleted]);
                let children = after_r(self.parent.get(p), &all);
                own.into_iter().chain(children).min()
            }
        }?;
        let excuse = match kind {
            Held::Data { existed: false } => self.node.get(p).and_then(|l| {
                l.iter()
                    // At the creation's own zxid too: a multi that creates the node and
                    // deletes it again.
                    .filter(|f| f.change == Change::Deleted && f.zxid.is_none_or(|d| d >= first.0))
                    .map(|f| f.zxid.unwrap_or(0))
                    .min()
            }),
            _ => None,
        };
        Some((first.0, first.1, excuse))
    }
}

/// Whether `p` is a node a sequential create of `prefix` under `parent` can name.
fn family_has(parent: &str, prefix: &str, p: &str) -> bool {
    path::parent(p) == Some(parent)
        && path::name(p)
            .strip_prefix(prefix)
            .is_some_and(|suffix| suffix.len() == path::SEQUENTIAL_SUFFIX_LEN)
}

#[derive(Clone, Debug)]
enum Target {
    Path(String),
    /// The nodes a sequential create under `parent` with name `prefix` may make.
    Family(String, String),
}

/// The changes of `write`, each with whether it makes an ephemeral node: from its answer when it
/// is known (nothing if it failed), else every change its request may make.
fn changes(write: &Write, answer: Option<&Outcome<Reply>>) -> Vec<(Target, Change, bool)> {
    let create_target = |c: &Create, made: Option<&str>| match (made, c.mode.is_sequential()) {
        (Some(p), _) => Target::Path(p.to_string()),
        (None, false) => Target::Path(c.path.clone()),
        (None, true) => Target::Family(
            path::parent(&c.path).unwrap_or("/").to_string(),
            path::name(&c.path).to_string(),
        ),
    };
    let mut out = Vec::new();
    match (write, answer) {
        (_, Some(Outcome::Err(_))) => {}
        (Write::Create(c), Some(Outcome::Ok(Reply::Created(made)))) => out.push((
            create_target(c, Some(&made.path)),
            Change::Created,
            c.mode.is_ephemeral(),
        )),
        (Write::Create(c), None) => out.push((
            create_target(c, None),
            Change::Created,
            c.mode.is_ephemeral(),
        )),
        (Write::Delete(d), _) => out.push((Target::Path(d.path.clone()), Change::Deleted, false)),
        (Write::SetData(s), _) => {
            out.push((Target::Path(s.path.clone()), Change::DataChanged, false))
        }
        (Write::Multi(m), answer) => {
            let entries = match answer {
                Some(Outcome::Ok(Reply::Multi(entries))) => {
                    if !entries.iter().all(Outcome::is_ok) {
                        return out; // a failed multi changes nothing
                    }
                    Some(entries)
                }
                _ => None,
            };
            for (k, sub) in m.ops.iter().enumerate() {
                let made = match entries.and_then(|e| e.get(k)) {
                    Some(Outcome::Ok(SubReply::Created(c))) => Some(c.path.as_str()),
                    _ => None,
                };
                match sub {
                    SubOp::Create(c) => out.push((
                        create_target(c, made),
                        Change::Created,
                        c.mode.is_ephemeral(),
                    )),
                    SubOp::Delete(d) => {
                        out.push((Target::Path(d.path.clone()), Change::Deleted, false))
                    }
                    SubOp::SetData(s) => {
                        out.push((Target::Path(s.path.clone()), Change::DataChanged, false))
                    }
                    SubOp::Check(_) => {}
                }
            }
        }
        // An answer of another shape (the model refuses it; guarantee 1 reports it).
        (Write::Create(_), Some(_)) => {}
        (Write::OpenSession | Write::CloseSession, _) => {}
    }
    out
}

/// The kind of a held watch, as the client keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    /// Left by `get_data` or `exists`; `existed`: the node existed then (an `exists` answered
    /// `NoNode` leaves a watch for its creation).
    Data {
        existed: bool,
    },
    Child,
}

/// A watch the session holds.
#[derive(Clone, Debug)]
struct Watch {
    /// The lowest reply zxid of the reads that left it (for an unanswered read, the session's
    /// zxid before it): only a change above it can fire it.
    since_zxid: u64,
    /// The read that surely left it, if one did (else only unanswered reads may have).
    sure: Option<Sure>,
}

#[derive(Clone, Debug)]
struct Sure {
    op: usize,
    /// The first write that surely fires it: its zxid, the write, and the excuse (see
    /// `Effects::first_sure_fire`).
    fires: Option<(u64, usize, Option<u64>)>,
    /// The largest reply zxid the session has seen since the watch was left.
    max_reply: Option<(u64, usize)>,
    /// A violation about this watch was already reported.
    reported: bool,
}

pub(crate) fn check_watches(h: &History) -> (GuaranteeResult, Vec<Violation>) {
    let mut found = Found::new(Guarantee::WatchOrder);
    let fx = Effects::build(h);
    for steps in h.sessions.values() {
        check_session(h, &fx, steps, &mut found);
    }
    found.finish("notifications and watches", None)
}

fn check_session(h: &History, fx: &Effects, steps: &[Step], found: &mut Found) {
    let mut held: BTreeMap<(String, WatchKind), Watch> = BTreeMap::new();
    let mut echoes = Echoes::new();
    let mut seen = 0u64;
    let mut at_invoke = BTreeMap::new();
    for step in steps {
        match *step {
            Step::Invoke(i) => {
                at_invoke.insert(i, seen);
            }
            Step::Complete(i) => {
                let op = &h.ops[i];
                if let Some(y) = op.seen_zxid() {
                    missed(h, &mut held, i, y, found);
                    for w in held.values_mut() {
                        if let Some(s) = &mut w.sure
                            && s.max_reply.is_none_or(|(m, _)| y > m)
                        {
                            s.max_reply = Some((y, i));
                        }
                    }
                    seen = seen.max(y);
                }
                if ends_session(op) {
                    held.clear();
                    continue;
                }
                let before = at_invoke.get(&i).copied().unwrap_or(seen);
                leave(fx, &mut held, op, i, before);
            }
            Step::Event(e) => {
                let event = &h.events[e];
                match &event.kind {
                    EventKind::SessionExpired => held.clear(),
                    EventKind::Watch { kind, path } => {
                        found.checked += 1;
                        let echo = *kind == EventType::NodeDeleted
                            && echoes.remove(&(path.clone(), event.zxid));
                        if !echo {
                            notified(h, fx, &mut held, &mut echoes, e, *kind, path, found);
                        }
                    }
                }
            }
        }
    }
}

/// Whether the operation's answer ends its session: its own close, or `SessionExpired`.
fn ends_session(op: &Op) -> bool {
    let Some(output) = &op.output else {
        return false;
    };
    match output.outcome {
        Outcome::Err(crate::znode::ZkError::SessionExpired) => true,
        Outcome::Ok(_) => op.input.request == Request::Write(Write::CloseSession),
        Outcome::Err(_) => false,
    }
}

/// The watch a read leaves: surely if it was answered (per `watch_left_by`), perhaps if its
/// answer is unknown.
fn leave(
    fx: &Effects,
    held: &mut BTreeMap<(String, WatchKind), Watch>,
    op: &Op,
    i: usize,
    before: u64,
) {
    let Request::Read(read) = &op.input.request else {
        return;
    };
    let (p, kind, sure, since) = match (&op.output, op.zxid) {
        (Some(output), Some(z)) => {
            let Some((p, kind)) = watch_left_by(read, &output.outcome) else {
                return;
            };
            let held_kind = match kind {
                WatchKind::Data => Held::Data {
                    existed: output.outcome.is_ok(),
                },
                WatchKind::Child => Held::Child,
            };
            (p, kind, Some(held_kind), z)
        }
        // Answered without a zxid, or not answered: the watch may be there, since when is
        // not known, so it justifies a notification but none is required of it.
        (Some(output), None) => match watch_left_by(read, &output.outcome) {
            Some((p, kind)) => (p, kind, None, before),
            None => return,
        },
        (None, _) => match read {
            Read::GetData(w) | Read::Exists(w) if w.watch => {
                (w.path.as_str(), WatchKind::Data, None, before)
            }
            Read::GetChildren(w) if w.watch => (w.path.as_str(), WatchKind::Child, None, before),
            _ => return,
        },
    };
    let watch = held.entry((p.to_string(), kind)).or_insert(Watch {
        since_zxid: since,
        sure: None,
    });
    watch.since_zxid = watch.since_zxid.min(since);
    if let (Some(held_kind), None) = (sure, &watch.sure) {
        watch.sure = Some(Sure {
            op: i,
            fires: fx.first_sure_fire(p, held_kind, since),
            max_reply: None,
            reported: false,
        });
    }
}

/// `missed-notification`: reply `y` (operation `i`) reached the session while it still held a
/// watch that a write at or below `y` surely fired.
fn missed(
    h: &History,
    held: &mut BTreeMap<(String, WatchKind), Watch>,
    i: usize,
    y: u64,
    found: &mut Found,
) {
    for ((p, _), w) in held.iter_mut() {
        let Some(s) = &mut w.sure else { continue };
        let Some((z, write, excuse)) = s.fires else {
            continue;
        };
        if s.reported || y < z || excuse.is_some_and(|d| d <= y) {
            continue;
        }
        s.reported = true;
        found.add(
            "missed-notification",
            format!(
                "the session saw zxid {y} without the notification for its watch on {p}, which \
                 the write at zxid {z} fired"
            ),
            format!("a notification on {p} before any reply at zxid {z} or above"),
            format!("a reply at zxid {y} first"),
            vec![
                Involved::op("left the watch", &h.ops[s.op]),
                Involved::op("fired it", &h.ops[write]),
                Involved::op("reply before the notification", &h.ops[i]),
            ],
        );
    }
}

/// `deleted` notifications a session may get a second time: a server re-arming watches on a
/// reconnect (ZooKeeper's `DataTree.setWatches`) answers a data watch and a child watch on a
/// deleted node with one `deleted` each, and the first already consumed both (the client drops
/// every watch on the node with it). By (path, zxid) of the first.
type Echoes = std::collections::BTreeSet<(String, Option<u64>)>;

/// A notification `e` of `kind` on `p`: it consumes the watches it answers, and is checked
/// against them.
#[allow(clippy::too_many_arguments)]
fn notified(
    h: &History,
    fx: &Effects,
    held: &mut BTreeMap<(String, WatchKind), Watch>,
    echoes: &mut Echoes,
    e: usize,
    kind: EventType,
    p: &str,
    found: &mut Found,
) {
    let event = &h.events[e];
    let consumes: &[WatchKind] = match kind {
        EventType::NodeCreated | EventType::NodeDataChanged => &[WatchKind::Data],
        EventType::NodeDeleted => &[WatchKind::Data, WatchKind::Child],
        EventType::NodeChildrenChanged => &[WatchKind::Child],
    };
    let consumed: Vec<(WatchKind, Watch)> = consumes
        .iter()
        .filter_map(|&k| held.remove(&(p.to_string(), k)).map(|w| (k, w)))
        .collect();
    if consumed.len() == 2 {
        echoes.insert((p.to_string(), event.zxid));
    }
    if consumed.is_empty() {
        found.add(
            "no-watch-held",
            format!(
                "a {} notification on {p} reached a session that held no watch it answers",
                kind.name()
            ),
            format!(
                "a {} watch on {p}, left by an earlier read and not yet consumed",
                match kind {
                    EventType::NodeChildrenChanged => "child",
                    EventType::NodeDeleted => "data or child",
                    _ => "data",
                }
            ),
            "none".into(),
            vec![Involved::event("notification", event)],
        );
        return;
    }
    let kinds = (
        consumed.iter().any(|(k, _)| *k == WatchKind::Data),
        consumed.iter().any(|(k, _)| *k == WatchKind::Child),
    );
    let since = consumed
        .iter()
        .map(|(_, w)| w.since_zxid)
        .min()
        .expect("non-empty");
    let upto = event.zxid.unwrap_or(u64::MAX);
    let left_by = consumed.iter().find_map(|(_, w)| w.sure.as_ref());
    let left = |involved: &mut Vec<Involved>| {
        if let Some(s) = left_by {
            involved.insert(0, Involved::op("left the watch", &h.ops[s.op]));
        }
    };
    if fx.may_fire(kind, p, kinds, since, upto).is_none() {
        let mut involved = vec![Involved::event("notification", event)];
        left(&mut involved);
        found.add(
            "no-write-fires",
            format!(
                "no write makes the change this {} notification on {p} reports",
                kind.name()
            ),
            format!(
                "a write with a zxid above {since} (when the watch was left) and up to {} that \
                 fires {} on {p}",
                event
                    .zxid
                    .map_or("the notification".into(), |z| z.to_string()),
                kind.name()
            ),
            "none in the history".into(),
            involved,
        );
        return;
    }
    let Some(z) = event.zxid else { return };
    if let Some(write) = fx.contradicted_by(kind, p, z) {
        let mut involved = vec![
            Involved::op("the write at its zxid", &h.ops[write]),
            Involved::event("notification", event),
        ];
        left(&mut involved);
        found.add(
            "wrong-type",
            format!(
                "the {} notification on {p} at zxid {z} does not fit the write at zxid {z}, \
                 which changed {p} otherwise",
                kind.name()
            ),
            format!(
                "a notification the write at zxid {z} fires on {p}, or one that fits the tree it \
                 leaves"
            ),
            format!("{} on {p}", kind.name()),
            involved,
        );
        return;
    }
    for (_, w) in &consumed {
        let Some(s) = &w.sure else { continue };
        if s.reported {
            continue;
        }
        if let Some((y, reply)) = s.max_reply
            && y >= z
        {
            let mut involved = vec![
                Involved::op("reply before the notification", &h.ops[reply]),
                Involved::event("notification", event),
            ];
            left(&mut involved);
            found.add(
                "notification-late",
                format!(
                    "the {} notification on {p} at zxid {z} came after the session had seen \
                     zxid {y}",
                    kind.name()
                ),
                format!("the notification before any reply at zxid {z} or above"),
                format!("a reply at zxid {y} first"),
                involved,
            );
            return;
        }
    }
}
