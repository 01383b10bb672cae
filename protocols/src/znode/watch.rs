//! One-shot watches, the per-server state a client's reads leave behind (FORMAT.md "Watches";
//! ZooKeeper's `DataTree.dataWatches`/`childWatches` and `WatchManager`). A client registers a
//! watch on the server it is connected to, so each server keeps its own `WatchTable`, apart from
//! the replicated tree; the table turns the changes a write reports (`tree::Change`) into the
//! notifications to deliver, and drops the watches of a session whose connection closes.
//!
//! It never decides what a write did (the tree does) and never delivers anything (the server
//! does): it only maps changes to (session, type, path).

use super::id::{SessionId, Zxid};
use super::op::{Outcome, Read, Reply, ZkError};
use super::path;
use super::tree::{Change, DataTree};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The two watch lists of a server. `exists` and `get_data` leave data watches; `get_children`
/// leaves child watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WatchKind {
    Data,
    Child,
}

/// What a notification says happened, under the trace's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "created")]
    NodeCreated,
    #[serde(rename = "deleted")]
    NodeDeleted,
    #[serde(rename = "changed")]
    NodeDataChanged,
    #[serde(rename = "child")]
    NodeChildrenChanged,
}

impl EventType {
    /// The trace's name for it: `created`, `deleted`, `changed` or `child`.
    pub fn name(self) -> &'static str {
        match self {
            EventType::NodeCreated => "created",
            EventType::NodeDeleted => "deleted",
            EventType::NodeDataChanged => "changed",
            EventType::NodeChildrenChanged => "child",
        }
    }
}

/// One notification for one session: an entry of a trace step's `events`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    pub session: SessionId,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub path: String,
}

impl Notification {
    /// The order of a trace's `events`: by session, then path, then type name (FORMAT.md
    /// "Watches"; strings by code point, which is their UTF-8 byte order).
    pub fn sort(notifications: &mut [Notification]) {
        notifications.sort_by(|a, b| {
            (a.session, &a.path, a.kind.name()).cmp(&(b.session, &b.path, b.kind.name()))
        });
    }
}

/// Which watch, if any, a read leaves (FORMAT.md "Watches"): `get_data` and `get_children` only
/// when they succeed; `exists` also when it answers `NoNode`, so that it can fire `created`.
pub fn watch_left_by<'r, Z>(
    read: &'r Read,
    outcome: &Outcome<Reply<Z>>,
) -> Option<(&'r str, WatchKind)> {
    match read {
        Read::GetData(r) if r.watch && outcome.is_ok() => Some((&r.path, WatchKind::Data)),
        Read::GetChildren(r) if r.watch && outcome.is_ok() => Some((&r.path, WatchKind::Child)),
        Read::Exists(r)
            if r.watch && matches!(outcome, Outcome::Ok(_) | Outcome::Err(ZkError::NoNode)) =>
        {
            Some((&r.path, WatchKind::Data))
        }
        _ => None,
    }
}

/// A server's watches: path → the sessions watching it, one list per kind. A session watches a
/// path at most once per kind, so leaving the same watch twice gives one notification.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchTable {
    data: BTreeMap<String, BTreeSet<SessionId>>,
    child: BTreeMap<String, BTreeSet<SessionId>>,
}

impl WatchTable {
    pub fn new() -> WatchTable {
        WatchTable::default()
    }

    pub fn register(&mut self, session: SessionId, path: &str, kind: WatchKind) {
        self.list_mut(kind)
            .entry(path.to_string())
            .or_default()
            .insert(session);
    }

    /// Whether `session` holds a watch of `kind` on `path`.
    pub fn is_watching(&self, session: SessionId, path: &str, kind: WatchKind) -> bool {
        self.list(kind)
            .get(path)
            .is_some_and(|s| s.contains(&session))
    }

    /// Fires and removes the watches `changes` trigger, in the order of the changes, and returns
    /// the notifications in firing order. This is ZooKeeper's `DataTree`:
    ///
    /// - a creation fires `created` for data watches on the node and `child` for child watches on
    ///   its parent;
    /// - a deletion fires `deleted` for data and child watches on the node, once per session even
    ///   when it held both, and `child` for child watches on its parent;
    /// - a data change fires `changed` for data watches on the node (never a child watch).
    ///
    /// Every watch is one-shot, so a multi that changes a node twice notifies a watcher once.
    pub fn trigger(&mut self, changes: &[Change]) -> Vec<Notification> {
        let mut fired = Vec::new();
        for change in changes {
            match change {
                Change::Created(p) => {
                    self.fire(WatchKind::Data, p, EventType::NodeCreated, &mut fired);
                    self.fire_parent(p, &mut fired);
                }
                Change::Deleted(p) => {
                    let first = fired.len();
                    self.fire(WatchKind::Data, p, EventType::NodeDeleted, &mut fired);
                    let notified: BTreeSet<SessionId> =
                        fired[first..].iter().map(|n| n.session).collect();
                    for session in self.child.remove(p).unwrap_or_default() {
                        if !notified.contains(&session) {
                            fired.push(Notification {
                                session,
                                kind: EventType::NodeDeleted,
                                path: p.clone(),
                            });
                        }
                    }
                    self.fire_parent(p, &mut fired);
                }
                Change::DataChanged(p) => {
                    self.fire(WatchKind::Data, p, EventType::NodeDataChanged, &mut fired)
                }
            }
        }
        fired
    }

    /// Answers `read` from `tree` for `session` and registers the watch the answer leaves, if any:
    /// what every server does with a read, standalone or replicated.
    pub fn read(
        &mut self,
        tree: &DataTree<Zxid>,
        session: SessionId,
        read: &Read,
    ) -> Outcome<Reply> {
        let outcome = tree.read(session, read);
        if let Some((path, kind)) = watch_left_by(read, &outcome) {
            self.register(session, path, kind);
        }
        outcome
    }

    /// The notifications a write applied by `session` fires, in firing order. A session's own
    /// close delivers its notifications to it as well; only then are its watches dropped
    /// (FORMAT.md "Sessions and ephemerals").
    pub fn fire_write(
        &mut self,
        session: SessionId,
        write: &super::op::Write,
        applied: &super::tree::Applied<Zxid>,
    ) -> Vec<Notification> {
        let fired = self.trigger(&applied.changes);
        if *write == super::op::Write::CloseSession && applied.outcome.is_ok() {
            self.remove_session(session);
        }
        fired
    }

    /// Drops every watch of `session`: its connection is gone (ZooKeeper's `removeCnxn`). A
    /// server calls this after delivering the notifications of the session's own close.
    pub fn remove_session(&mut self, session: SessionId) {
        for list in [&mut self.data, &mut self.child] {
            list.retain(|_, sessions| {
                sessions.remove(&session);
                !sessions.is_empty()
            });
        }
    }

    /// Re-registers the watches a client held before it reconnected to this server, given the
    /// last zxid the client saw (ZooKeeper's `DataTree.setWatches`, protocols.md §1.7). The client
    /// keeps three lists: data watches (`get_data`, or `exists` on a node that existed), exist
    /// watches (`exists` on a missing node) and child watches. A watch whose event the client
    /// missed fires at once instead of being registered:
    ///
    /// - a data watch: `deleted` if the node is gone, `changed` if its mzxid is newer than
    ///   `last_zxid_seen`;
    /// - an exist watch: `created` if the node now exists;
    /// - a child watch: `deleted` if the node is gone, `child` if its pzxid is newer.
    ///
    /// Not covered by the conformance traces. Returns the notifications in firing order.
    pub fn set_watches(
        &mut self,
        tree: &DataTree<Zxid>,
        session: SessionId,
        last_zxid_seen: Zxid,
        data: &[String],
        exist: &[String],
        child: &[String],
    ) -> Vec<Notification> {
        let mut fired = Vec::new();
        let mut notify = |kind, path: &String| {
            fired.push(Notification {
                session,
                kind,
                path: path.clone(),
            })
        };
        for p in data {
            match tree.node(p) {
                None => notify(EventType::NodeDeleted, p),
                Some(n) if n.mzxid > last_zxid_seen => notify(EventType::NodeDataChanged, p),
                Some(_) => self.register(session, p, WatchKind::Data),
            }
        }
        for p in exist {
            match tree.node(p) {
                Some(_) => notify(EventType::NodeCreated, p),
                None => self.register(session, p, WatchKind::Data),
            }
        }
        for p in child {
            match tree.node(p) {
                None => notify(EventType::NodeDeleted, p),
                Some(n) if n.pzxid > last_zxid_seen => notify(EventType::NodeChildrenChanged, p),
                Some(_) => self.register(session, p, WatchKind::Child),
            }
        }
        fired
    }

    fn fire(&mut self, kind: WatchKind, p: &str, event: EventType, fired: &mut Vec<Notification>) {
        for session in self.list_mut(kind).remove(p).unwrap_or_default() {
            fired.push(Notification {
                session,
                kind: event,
                path: p.to_string(),
            });
        }
    }

    fn fire_parent(&mut self, p: &str, fired: &mut Vec<Notification>) {
        let parent = path::parent(p).expect("a created or deleted node has a parent");
        self.fire(
            WatchKind::Child,
            parent,
            EventType::NodeChildrenChanged,
            fired,
        );
    }

    fn list(&self, kind: WatchKind) -> &BTreeMap<String, BTreeSet<SessionId>> {
        match kind {
            WatchKind::Data => &self.data,
            WatchKind::Child => &self.child,
        }
    }

    fn list_mut(&mut self, kind: WatchKind) -> &mut BTreeMap<String, BTreeSet<SessionId>> {
        match kind {
            WatchKind::Data => &mut self.data,
            WatchKind::Child => &mut self.child,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::znode::op::{Create, CreateMode, SetData, Write};

    fn note(session: u64, kind: EventType, path: &str) -> Notification {
        Notification {
            session: SessionId(session),
            kind,
            path: path.into(),
        }
    }

    #[test]
    fn a_deleted_node_notifies_each_session_once() {
        let mut table = WatchTable::new();
        table.register(SessionId(1), "/w/c", WatchKind::Data);
        table.register(SessionId(1), "/w/c", WatchKind::Child);
        table.register(SessionId(2), "/w/c", WatchKind::Child);
        table.register(SessionId(2), "/w", WatchKind::Child);
        table.register(SessionId(2), "/w", WatchKind::Child);
        let fired = table.trigger(&[Change::Deleted("/w/c".into())]);
        assert_eq!(
            fired,
            vec![
                note(1, EventType::NodeDeleted, "/w/c"),
                note(2, EventType::NodeDeleted, "/w/c"),
                note(2, EventType::NodeChildrenChanged, "/w"),
            ]
        );
        assert_eq!(table, WatchTable::new(), "every watch fired was removed");
    }

    #[test]
    fn watches_are_one_shot_and_kinds_do_not_mix() {
        let mut table = WatchTable::new();
        table.register(SessionId(1), "/w", WatchKind::Data);
        table.register(SessionId(1), "/", WatchKind::Child);
        let changes = [
            Change::Created("/w/x".into()),
            Change::DataChanged("/w".into()),
            Change::DataChanged("/w".into()),
            Change::Created("/w".into()),
        ];
        let fired = table.trigger(&changes);
        assert_eq!(
            fired,
            vec![
                note(1, EventType::NodeDataChanged, "/w"),
                note(1, EventType::NodeChildrenChanged, "/"),
            ]
        );
    }

    #[test]
    fn removing_a_session_drops_only_its_watches() {
        let mut table = WatchTable::new();
        table.register(SessionId(1), "/a", WatchKind::Data);
        table.register(SessionId(2), "/a", WatchKind::Data);
        table.remove_session(SessionId(1));
        assert!(!table.is_watching(SessionId(1), "/a", WatchKind::Data));
        assert!(table.is_watching(SessionId(2), "/a", WatchKind::Data));
    }

    #[test]
    fn set_watches_fires_what_the_client_missed() {
        let mut tree = DataTree::default();
        let s = SessionId(1);
        tree.apply(Zxid(1), s, &Write::OpenSession);
        for (zxid, p) in [(2, "/a"), (3, "/b"), (4, "/b/c")] {
            let create = Create {
                path: p.into(),
                data: String::new(),
                mode: CreateMode::Persistent,
            };
            tree.apply(Zxid(zxid), s, &Write::Create(create));
        }
        let set = SetData {
            path: "/a".into(),
            data: "x".into(),
            version: -1,
        };
        tree.apply(Zxid(5), s, &Write::SetData(set));
        let mut table = WatchTable::new();
        let strings = |v: &[&str]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let fired = table.set_watches(
            &tree,
            s,
            Zxid(3),
            &strings(&["/a", "/b", "/gone"]),
            &strings(&["/b/c", "/later"]),
            &strings(&["/b", "/a", "/gone"]),
        );
        assert_eq!(
            fired,
            vec![
                note(1, EventType::NodeDataChanged, "/a"),
                note(1, EventType::NodeDeleted, "/gone"),
                note(1, EventType::NodeCreated, "/b/c"),
                note(1, EventType::NodeChildrenChanged, "/b"),
                note(1, EventType::NodeDeleted, "/gone"),
            ]
        );
        assert!(table.is_watching(s, "/b", WatchKind::Data));
        assert!(table.is_watching(s, "/later", WatchKind::Data));
        assert!(table.is_watching(s, "/a", WatchKind::Child));
        assert!(!table.is_watching(s, "/b", WatchKind::Child));
    }
}
