//! The replicated state: ZooKeeper 3.8's data tree with its sessions, ephemeral nodes and per-parent
//! creation counters, as a sequential state machine. A write is applied at a zxid the caller gives
//! by a session the caller gives, and reports what it changed so that a server's watch table
//! (`watch`, which is per-server state and lives outside) can fire notifications. Reads take no
//! zxid and change nothing.
//!
//! This module decides every answer. It never counts zxids, never reads a clock, and never holds
//! watches: the same tree serves the standalone conformance replay, a replica applying committed
//! proposals, and the linearizability model, which stores zxids it has not learned yet (the type
//! parameter `Z`).
//!
//! The order of the checks in each request is the one FORMAT.md "Semantics observed on ZooKeeper
//! 3.8.0" gives; each check cites its step.
//!
//! # Representation: persistent, with a running digest
//!
//! The linearizability model keeps one tree per search state, and a search makes one state per
//! step: so a copy of the tree must cost O(1), a write must copy only what it changes, and
//! hashing and comparing two trees must not walk them. The nodes, each node's children, the
//! sessions and the ephemeral index are therefore persistent ordered maps and sets (`imbl`'s B+
//! trees, which share unchanged subtrees between copies; each node sits behind an `Arc`), and the
//! tree keeps a digest up to date as it changes: the sum of a hash of every (path, node) and of
//! every open session. `Hash` writes only the digest; `Eq` compares digests first and then the
//! maps, which skip the subtrees two trees share. A node's children and the ephemeral index are
//! left out of both: they follow from the paths of the nodes (`check_invariants`). A replica pays a
//! few hashes per write for this and gets snapshots that cost O(1).

use super::id::{SessionId, Zxid};
use super::multi;
use super::op::{
    Check, Children, Create, CreateMode, Created, Data, Delete, Outcome, Read, Reply, SetData,
    Write, ZkError,
};
use super::path;
use super::stat::Stat;
use imbl::{OrdMap, OrdSet};
use sim::trace::StableHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A path or a child's name, shared by every copy of the tree that holds it.
pub type Name = Arc<str>;

/// One znode. Its Stat is derived on demand (`stat`), so that the stored fields are exactly the
/// ones the server keeps: in particular the creation counter C, not the reported cversion.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node<Z = Zxid> {
    pub data: String,
    /// Child names, sorted by code point (UTF-8 byte order), as the traces list them. Persistent,
    /// so that a copy of a node with many children shares them.
    pub children: OrdSet<Name>,
    pub czxid: Z,
    pub mzxid: Z,
    pub pzxid: Z,
    pub version: i32,
    pub aversion: i32,
    /// C: successful child creations, ever (FORMAT.md "Stat fields", "Sequential nodes"). It
    /// gives both the sequential suffix and the reported `cversion = 2*C - numChildren`.
    pub creations: i32,
    pub kind: NodeKind,
}

/// What kind of node: it decides `ephemeralOwner` and whether children are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Persistent,
    /// Deleted with its session; may not have children.
    Ephemeral(SessionId),
    /// Reported like a persistent node (`ephemeralOwner` 0), may have children of any mode.
    Container,
}

impl<Z: Copy> Node<Z> {
    fn new(zxid: Z, data: String, kind: NodeKind) -> Node<Z> {
        Node {
            data,
            children: OrdSet::new(),
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            version: 0,
            aversion: 0,
            creations: 0,
            kind,
        }
    }

    /// The Stat a client sees. `cversion` is `2*C - numChildren` (the server's `copyStat`), with
    /// Java's wrapping `int` arithmetic.
    pub fn stat(&self) -> Stat<Z> {
        let num_children = self.children.len() as i32;
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            pzxid: self.pzxid,
            version: self.version,
            cversion: self.creations.wrapping_mul(2).wrapping_sub(num_children),
            aversion: self.aversion,
            ephemeral_owner: self.ephemeral_owner(),
            data_length: self.data.len() as i32,
            num_children,
        }
    }

    /// The owning session for an ephemeral node, `SessionId::NONE` for the others, containers
    /// included (FORMAT.md "Stat fields").
    pub fn ephemeral_owner(&self) -> SessionId {
        match self.kind {
            NodeKind::Ephemeral(owner) => owner,
            NodeKind::Persistent | NodeKind::Container => SessionId::NONE,
        }
    }
}

/// The successful answer to a read, borrowed from the tree (`DataTree::view`).
#[derive(Clone, Copy, Debug)]
pub enum ReadView<'a, Z> {
    /// get_data: the node's data and Stat.
    Data(&'a Node<Z>),
    /// get_children: its children's names and Stat.
    Children(&'a Node<Z>),
    /// exists: its Stat.
    Stat(&'a Node<Z>),
    /// sync: the path, echoed.
    Synced(&'a str),
}

impl<Z: Copy> ReadView<'_, Z> {
    /// The reply a server sends.
    pub fn reply(&self) -> Reply<Z> {
        match *self {
            ReadView::Data(node) => Reply::Data(Data {
                data: node.data.clone(),
                stat: node.stat(),
            }),
            ReadView::Children(node) => Reply::Children(Children {
                children: node.children.iter().map(|c| String::from(&**c)).collect(),
                stat: node.stat(),
            }),
            ReadView::Stat(node) => Reply::Stat(node.stat()),
            ReadView::Synced(p) => Reply::Synced(p.to_string()),
        }
    }

    /// `Reply::same_but_zxids` between this answer and `other`, without copying this one.
    pub fn same_but_zxids<Y: Copy>(
        &self,
        other: &Reply<Y>,
        pair: &mut (impl FnMut(Z, Y) -> bool + ?Sized),
    ) -> bool {
        match (*self, other) {
            (ReadView::Data(node), Reply::Data(d)) => {
                node.data == d.data && node.stat().same_but_zxids(&d.stat, pair)
            }
            (ReadView::Children(node), Reply::Children(c)) => {
                node.children.len() == c.children.len()
                    && node
                        .children
                        .iter()
                        .zip(&c.children)
                        .all(|(a, b)| **a == **b)
                    && node.stat().same_but_zxids(&c.stat, pair)
            }
            (ReadView::Stat(node), Reply::Stat(s)) => node.stat().same_but_zxids(s, pair),
            (ReadView::Synced(p), Reply::Synced(q)) => p == q,
            _ => false,
        }
    }
}

/// What one write did to the tree, in the order it did it: what a watch table needs to decide
/// which notifications fire (ZooKeeper's `DataTree.createNode`, `deleteNode`, `setData`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// A node was created; its parent's children changed.
    Created(String),
    /// A node was deleted; its parent's children changed.
    Deleted(String),
    /// A node's data was set.
    DataChanged(String),
}

/// The result of applying one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied<Z = Zxid> {
    pub outcome: Outcome<Reply<Z>>,
    /// Empty when the write failed: a failed write changes nothing (FORMAT.md "zxid
    /// consumption"), not even inside a multi.
    pub changes: Vec<Change>,
}

impl<Z> Applied<Z> {
    pub(super) fn failed(error: ZkError) -> Applied<Z> {
        Applied {
            outcome: Outcome::Err(error),
            changes: Vec::new(),
        }
    }
}

/// The data tree: nodes by path, the open sessions, and each session's ephemeral nodes. Every
/// change goes through `put`, `take`, `change` and `set_session`, which keep `digest` exact.
#[derive(Clone, Debug)]
pub struct DataTree<Z = Zxid> {
    nodes: OrdMap<Name, Arc<Node<Z>>>,
    sessions: OrdSet<SessionId>,
    /// Session → paths of its ephemeral nodes (ZooKeeper's `DataTree.ephemerals`), so that
    /// closing a session finds them without a scan.
    ephemerals: OrdMap<SessionId, OrdSet<Name>>,
    /// The wrapping sum of `node_digest` over the nodes and `session_digest` over the sessions.
    digest: u64,
}

/// Equal trees have equal digests, so the digest is the whole hash.
impl<Z> Hash for DataTree<Z> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.digest.hash(state);
    }
}

/// Exact: the nodes (children included) and the sessions. The ephemeral index is not compared: it
/// is a function of the nodes (each ephemeral node under its owner).
impl<Z: PartialEq> PartialEq for DataTree<Z> {
    fn eq(&self, other: &DataTree<Z>) -> bool {
        self.digest == other.digest && self.nodes == other.nodes && self.sessions == other.sessions
    }
}

impl<Z: Eq> Eq for DataTree<Z> {}

/// A node's share of the digest. Its children are left out: they are the names of the nodes
/// whose parent it is, which the other nodes' shares cover.
fn node_digest<Z: Hash>(p: &str, node: &Node<Z>) -> u64 {
    let mut h = StableHasher::new();
    p.hash(&mut h);
    node.data.hash(&mut h);
    node.czxid.hash(&mut h);
    node.mzxid.hash(&mut h);
    node.pzxid.hash(&mut h);
    node.version.hash(&mut h);
    node.aversion.hash(&mut h);
    node.creations.hash(&mut h);
    node.kind.hash(&mut h);
    h.finish()
}

/// An open session's share of the digest, unlike any node's.
fn session_digest(session: SessionId) -> u64 {
    StableHasher::of(&("session", session))
}

impl Default for DataTree<Zxid> {
    fn default() -> DataTree<Zxid> {
        DataTree::new(Zxid::ZERO)
    }
}

impl<Z: Copy + Eq + Hash> DataTree<Z> {
    /// The tree of a fresh server (FORMAT.md "The reserved `/zookeeper` subtree"): `/`,
    /// `/zookeeper`, `/zookeeper/config` and `/zookeeper/quota`, all carrying the zxid `initial`
    /// (`Zxid::ZERO` for a real tree). They were created without counting creations, so C is 0
    /// everywhere: `/` reports cversion -1 and `/zookeeper` -2. `/zookeeper/config` has aversion
    /// -1.
    pub fn new(initial: Z) -> DataTree<Z> {
        let mut tree = DataTree {
            nodes: OrdMap::new(),
            sessions: OrdSet::new(),
            ephemerals: OrdMap::new(),
            digest: 0,
        };
        let empty = |children: &[&str]| {
            let mut node = Node::new(initial, String::new(), NodeKind::Persistent);
            node.children = children.iter().map(|&c| Name::from(c)).collect();
            node
        };
        tree.put(path::ROOT, empty(&["zookeeper"]));
        tree.put(path::ZOOKEEPER, empty(&["config", "quota"]));
        let mut config = empty(&[]);
        config.aversion = -1;
        tree.put(path::CONFIG, config);
        tree.put(path::QUOTA, empty(&[]));
        tree
    }

    pub fn node(&self, path: &str) -> Option<&Node<Z>> {
        self.nodes.get(path).map(|n| &**n)
    }

    /// Every node with its path, in path order.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Node<Z>)> {
        self.nodes.iter().map(|(p, n)| (&**p, &**n))
    }

    /// How many nodes there are.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_open(&self, session: SessionId) -> bool {
        self.sessions.contains(&session)
    }

    pub fn sessions(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.sessions.iter().copied()
    }

    /// The paths of `session`'s ephemeral nodes, in path order.
    pub fn ephemerals(&self, session: SessionId) -> impl Iterator<Item = &str> {
        self.ephemerals
            .get(&session)
            .into_iter()
            .flatten()
            .map(|p| &**p)
    }

    /// Sets node `p` to `node`, returning what was there.
    fn put(&mut self, p: &str, node: Node<Z>) -> Option<Arc<Node<Z>>> {
        self.digest = self.digest.wrapping_add(node_digest(p, &node));
        let before = self.nodes.insert(Name::from(p), Arc::new(node));
        if let Some(before) = &before {
            self.digest = self.digest.wrapping_sub(node_digest(p, before));
        }
        before
    }

    /// Removes node `p`, returning it.
    fn take(&mut self, p: &str) -> Option<Arc<Node<Z>>> {
        let before = self.nodes.remove(p)?;
        self.digest = self.digest.wrapping_sub(node_digest(p, &before));
        Some(before)
    }

    /// Changes node `p` in place (copying it first if another tree shares it); `None` if there is
    /// no such node.
    fn change<R>(&mut self, p: &str, f: impl FnOnce(&mut Node<Z>) -> R) -> Option<R> {
        let node = self.nodes.get_mut(p)?;
        let before = node_digest(p, node);
        let node = Arc::make_mut(node);
        let result = f(node);
        let after = node_digest(p, node);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        Some(result)
    }

    /// Opens or closes `session`.
    fn set_session(&mut self, session: SessionId, open: bool) {
        let changed = match open {
            true => self.sessions.insert(session).is_none(),
            false => self.sessions.remove(&session).is_some(),
        };
        if changed {
            let share = session_digest(session);
            self.digest = match open {
                true => self.digest.wrapping_add(share),
                false => self.digest.wrapping_sub(share),
            };
        }
    }

    /// Applies one write as the transaction `zxid`, issued by `session`. For `open_session`,
    /// `session` is the new session's id, which the caller assigns.
    ///
    /// A write from a session that is not open answers `SessionExpired` and changes nothing
    /// (ZooKeeper's `PrepRequestProcessor` checks the session before anything else and turns the
    /// failure into an error transaction, which still consumes its zxid). The traces never show
    /// this; see docs/conformance.md.
    pub fn apply(&mut self, zxid: Z, session: SessionId, write: &Write) -> Applied<Z> {
        match write {
            Write::OpenSession => self.open_session(session),
            _ if !self.sessions.contains(&session) => Applied::failed(ZkError::SessionExpired),
            Write::Multi(m) => multi::apply(Txn::new(self, zxid, session, true), &m.ops),
            Write::CloseSession => Txn::new(self, zxid, session, false).run(&mut |txn| {
                txn.close_session();
                Ok(Reply::Done)
            }),
            Write::Create(c) => Txn::new(self, zxid, session, false).run(&mut |txn| {
                let (path, stat) = txn.create(c)?;
                Ok(Reply::Created(Created { path, stat }))
            }),
            Write::Delete(d) => Txn::new(self, zxid, session, false)
                .run(&mut |txn| txn.delete(d).map(|()| Reply::Done)),
            Write::SetData(s) => Txn::new(self, zxid, session, false)
                .run(&mut |txn| txn.set_data(s).map(Reply::Stat)),
        }
    }

    fn open_session(&mut self, session: SessionId) -> Applied<Z> {
        // Session ids are the caller's to assign, and never reused (FORMAT.md "Operations").
        assert!(
            session != SessionId::NONE && !self.sessions.contains(&session),
            "session {session} is 0 or already open"
        );
        self.set_session(session, true);
        Applied {
            outcome: Outcome::Ok(Reply::Session(session)),
            changes: Vec::new(),
        }
    }

    /// Answers one read from `session`, as a server answers it from its own copy of the tree.
    /// Leaving a watch is the server's business, not the tree's (see `watch::watch_left_by`).
    pub fn read(&self, session: SessionId, read: &Read) -> Outcome<Reply<Z>> {
        if !self.sessions.contains(&session) {
            return Outcome::Err(ZkError::SessionExpired);
        }
        self.answer(read)
    }

    /// The answer to `read` from a session that is open.
    pub(super) fn answer(&self, read: &Read) -> Outcome<Reply<Z>> {
        self.view(read).map(ReadView::reply)
    }

    /// What answers `read` from a session that is open, borrowed from the tree: `answer` copies
    /// it into a reply; the linearizability model compares it with an observed answer as it is.
    pub(super) fn view<'a>(&'a self, read: &'a Read) -> Outcome<ReadView<'a, Z>> {
        let node = |p: &str| self.node(p).ok_or(ZkError::NoNode);
        let view = match read {
            // FORMAT.md "Reads and sync": get_data and get_children do not validate the path.
            Read::GetData(r) => node(&r.path).map(ReadView::Data),
            Read::GetChildren(r) => node(&r.path).map(ReadView::Children),
            // exists refuses only U+0000, before looking the path up.
            Read::Exists(r) if path::has_nul(&r.path) => Err(ZkError::BadArguments),
            Read::Exists(r) => node(&r.path).map(ReadView::Stat),
            // sync echoes its path without any check.
            Read::Sync(s) => Ok(ReadView::Synced(&s.path)),
        };
        match view {
            Ok(view) => Outcome::Ok(view),
            Err(error) => Outcome::Err(error),
        }
    }

    /// Makes `session` open without a transaction: for the linearizability model, which meets a
    /// session's operations without the `open_session` that created it (see `model`).
    pub(super) fn adopt_session(&mut self, session: SessionId) {
        self.set_session(session, true);
    }

    /// Makes the node `p` and its missing ancestors exist as persistent nodes with the zxid
    /// `zxid`, without counting them as child creations: for the linearizability model, in a part
    /// of a history that uses a node created in another part (see `model`, "settled parents").
    /// `p` must be a valid path.
    pub(super) fn materialize(&mut self, p: &str, zxid: Z) {
        if self.nodes.contains_key(p) {
            return;
        }
        let parent = path::parent(p).expect("a valid path has a parent");
        self.materialize(parent, zxid);
        self.put(p, Node::new(zxid, String::new(), NodeKind::Persistent));
        self.change(parent, |parent| {
            parent.children.insert(Name::from(path::name(p)))
        })
        .expect("materialized above");
    }

    /// Passes the zxids node `p` stores (czxid, mzxid, pzxid) through `f`, for the model to bind
    /// or rename the zxids it had not learned. The node is copied only if one of them changes.
    pub(super) fn map_zxids(&mut self, p: &str, mut f: impl FnMut(Z) -> Z) {
        let Some(node) = self.nodes.get(p) else {
            return;
        };
        let before = [node.czxid, node.mzxid, node.pzxid];
        let after = before.map(&mut f);
        if after != before {
            self.change(p, |node| [node.czxid, node.mzxid, node.pzxid] = after);
        }
    }

    /// Checks the tree's structural invariants: every node but the root is listed by its parent
    /// and every listed child exists, ephemeral nodes have no children and are indexed under
    /// their open owner, and the digest is the sum of its shares. For tests; O(nodes).
    pub fn check_invariants(&self) -> Result<(), String> {
        let digest = self
            .nodes()
            .map(|(p, n)| node_digest(p, n))
            .chain(self.sessions().map(session_digest))
            .fold(0u64, u64::wrapping_add);
        if digest != self.digest {
            return Err(format!("digest {:#x}, recomputed {digest:#x}", self.digest));
        }
        for (p, node) in self.nodes() {
            if p != path::ROOT {
                let parent = path::parent(p).ok_or(format!("{p}: no parent"))?;
                let listed = self
                    .nodes
                    .get(parent)
                    .is_some_and(|n| n.children.contains(path::name(p)));
                if !listed {
                    return Err(format!("{p} is not listed by its parent"));
                }
            }
            for child in &node.children {
                let child_path = join(p, child);
                if !self.nodes.contains_key(child_path.as_str()) {
                    return Err(format!("{p} lists {child}, which does not exist"));
                }
            }
            if let NodeKind::Ephemeral(owner) = node.kind {
                if !node.children.is_empty() {
                    return Err(format!("ephemeral {p} has children"));
                }
                if !self.sessions.contains(&owner) {
                    return Err(format!("ephemeral {p} outlived its session {owner}"));
                }
                if !self.ephemerals.get(&owner).is_some_and(|e| e.contains(p)) {
                    return Err(format!("ephemeral {p} is not indexed under {owner}"));
                }
            }
        }
        for (owner, paths) in &self.ephemerals {
            for p in paths {
                let indexed = self.node(p).map(|n| n.kind);
                if indexed != Some(NodeKind::Ephemeral(*owner)) {
                    return Err(format!("{p} is indexed as {owner}'s but is not"));
                }
            }
        }
        Ok(())
    }
}

/// The path of `name` under `parent`.
fn join(parent: &str, name: &str) -> String {
    if parent == path::ROOT {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Before-images of the nodes a transaction touched, so that a failed multi can be undone.
type Undo<Z> = Vec<(String, Option<Arc<Node<Z>>>)>;

/// One transaction being applied: the tree, its zxid and session, the changes made so far and,
/// inside a multi, what to restore if a later sub-op fails. Every request's checks live here, so
/// that a multi's sub-ops fail under exactly the rules of the single requests (FORMAT.md "Multi").
pub(super) struct Txn<'a, Z> {
    tree: &'a mut DataTree<Z>,
    zxid: Z,
    session: SessionId,
    pub(super) changes: Vec<Change>,
    undo: Option<Undo<Z>>,
}

impl<'a, Z: Copy + Eq + Hash> Txn<'a, Z> {
    /// `undoable`: keep before-images so that `roll_back` can restore them (multi only; a single
    /// request checks everything before it changes anything).
    pub(super) fn new(
        tree: &'a mut DataTree<Z>,
        zxid: Z,
        session: SessionId,
        undoable: bool,
    ) -> Txn<'a, Z> {
        Txn {
            tree,
            zxid,
            session,
            changes: Vec::new(),
            undo: undoable.then(Vec::new),
        }
    }

    /// Runs one single request. A single request checks everything before it changes anything,
    /// so a failure leaves the tree untouched.
    fn run(
        mut self,
        request: &mut dyn FnMut(&mut Self) -> Result<Reply<Z>, ZkError>,
    ) -> Applied<Z> {
        match request(&mut self) {
            Ok(reply) => Applied {
                outcome: Outcome::Ok(reply),
                changes: self.changes,
            },
            Err(error) => {
                debug_assert!(self.changes.is_empty(), "a failed request changed the tree");
                Applied::failed(error)
            }
        }
    }

    /// `create`, FORMAT.md "create": returns the created path and the new node's Stat.
    pub(super) fn create(&mut self, create: &Create) -> Result<(String, Stat<Z>), ZkError> {
        let tree = &*self.tree;
        // Step 1: a path without `/` has no parent to look up; U+0000 is refused outright.
        let parent_path = match path::parent(&create.path) {
            Some(parent) if !path::has_nul(&create.path) => parent,
            _ => return Err(ZkError::BadArguments),
        };
        // Step 2: the parent, as the text before the last `/`, must exist.
        let parent = tree.nodes.get(parent_path).ok_or(ZkError::NoNode)?;
        // Step 3: /zookeeper/config's ACL allows reading only.
        if parent_path == path::CONFIG {
            return Err(ZkError::NoAuth);
        }
        // Step 4: the suffix is the parent's creation counter; only then is the path validated,
        // so a sequential `/a/` is fine and a sequential `/.` becomes `/.0000000001`.
        let created = if create.mode.is_sequential() {
            format!(
                "{}{}",
                create.path,
                path::sequential_suffix(parent.creations)
            )
        } else {
            create.path.clone()
        };
        if !path::is_valid(&created) {
            return Err(ZkError::BadArguments);
        }
        // Step 5.
        if tree.nodes.contains_key(created.as_str()) {
            return Err(ZkError::NodeExists);
        }
        // Step 6: for every mode; a container parent is not ephemeral.
        if let NodeKind::Ephemeral(_) = parent.kind {
            return Err(ZkError::NoChildrenForEphemerals);
        }

        let kind = match create.mode {
            CreateMode::Persistent | CreateMode::PersistentSequential => NodeKind::Persistent,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential => {
                NodeKind::Ephemeral(self.session)
            }
            CreateMode::Container => NodeKind::Container,
        };
        let parent_path = parent_path.to_string();
        self.save(&parent_path);
        self.save(&created);
        let zxid = self.zxid;
        let node = Node::new(zxid, create.data.clone(), kind);
        let stat = node.stat();
        let previous = self.tree.put(&created, node);
        debug_assert!(previous.is_none(), "{created} existed");
        // ZooKeeper's DataTree.createNode: the parent gains a child, its counter C and its pzxid.
        let added = self
            .tree
            .change(&parent_path, |parent| {
                parent.creations = parent.creations.wrapping_add(1);
                parent.pzxid = zxid;
                parent.children.insert(Name::from(path::name(&created)))
            })
            .expect("checked above");
        debug_assert!(added.is_none(), "{parent_path} already listed {created}");
        if let NodeKind::Ephemeral(owner) = kind {
            self.tree
                .ephemerals
                .entry(owner)
                .or_default()
                .insert(Name::from(created.as_str()));
        }
        self.changes.push(Change::Created(created.clone()));
        Ok((created, stat))
    }

    /// `delete`, FORMAT.md "delete".
    pub(super) fn delete(&mut self, delete: &Delete) -> Result<(), ZkError> {
        let tree = &*self.tree;
        // Step 1.
        let parent_path = match path::parent(&delete.path) {
            Some(parent) if !path::has_nul(&delete.path) && !path::is_undeletable(&delete.path) => {
                parent
            }
            _ => return Err(ZkError::BadArguments),
        };
        // Step 2.
        if !tree.nodes.contains_key(parent_path) {
            return Err(ZkError::NoNode);
        }
        // Step 3: whether or not the node exists.
        if parent_path == path::CONFIG {
            return Err(ZkError::NoAuth);
        }
        // Step 4: no other syntax check, so `/a/` is simply not found.
        let node = tree
            .nodes
            .get(delete.path.as_str())
            .ok_or(ZkError::NoNode)?;
        // Step 5, before emptiness.
        if delete.version != -1 && delete.version != node.version {
            return Err(ZkError::BadVersion);
        }
        // Step 6.
        if !node.children.is_empty() {
            return Err(ZkError::NotEmpty);
        }
        let parent_path = parent_path.to_string();
        self.remove_leaf(&parent_path, &delete.path);
        Ok(())
    }

    /// `set_data`, FORMAT.md "set_data": returns the Stat after the write.
    pub(super) fn set_data(&mut self, set: &SetData) -> Result<Stat<Z>, ZkError> {
        // Steps 1 and 2.
        let node = self.tree.existing(&set.path)?;
        // Step 3, before the version check.
        if set.path == path::CONFIG {
            return Err(ZkError::NoAuth);
        }
        // Step 4.
        if set.version != -1 && set.version != node.version {
            return Err(ZkError::BadVersion);
        }
        self.save(&set.path);
        let zxid = self.zxid;
        let stat = self
            .tree
            .change(&set.path, |node| {
                node.data = set.data.clone();
                // Identical data still counts as a new version (FORMAT.md "Stat fields").
                node.version = node.version.wrapping_add(1);
                node.mzxid = zxid;
                node.stat()
            })
            .expect("checked above");
        self.changes.push(Change::DataChanged(set.path.clone()));
        Ok(stat)
    }

    /// The `check` sub-op: the path rules of set_data, then the version (FORMAT.md "Multi").
    pub(super) fn check(&mut self, check: &Check) -> Result<(), ZkError> {
        let node = self.tree.existing(&check.path)?;
        if check.version != -1 && check.version != node.version {
            return Err(ZkError::BadVersion);
        }
        Ok(())
    }

    /// `close_session` (and a session's expiry, which the leader turns into the same
    /// transaction): deletes every ephemeral node of the session in this one transaction, then
    /// forgets the session (FORMAT.md "Sessions and ephemerals"; ZooKeeper's
    /// `DataTree.killSession`). An ephemeral node has no children, so each deletion is a leaf's.
    pub(super) fn close_session(&mut self) {
        let session = self.session;
        let owned = self.tree.ephemerals.remove(&session).unwrap_or_default();
        for p in &owned {
            let parent = path::parent(p)
                .expect("an existing node has a parent")
                .to_string();
            self.remove_leaf(&parent, p);
        }
        self.tree.set_session(session, false);
    }

    /// Removes the childless node `p` from the tree and from its parent, which records the
    /// deletion in its pzxid (not in C).
    fn remove_leaf(&mut self, parent_path: &str, p: &str) {
        self.save(parent_path);
        self.save(p);
        let node = self.tree.take(p).expect("the caller checked it exists");
        debug_assert!(node.children.is_empty(), "{p} has children");
        if let NodeKind::Ephemeral(owner) = node.kind {
            self.tree.unindex_ephemeral(owner, p);
        }
        let zxid = self.zxid;
        let removed = self
            .tree
            .change(parent_path, |parent| {
                parent.pzxid = zxid;
                parent.children.remove(path::name(p))
            })
            .expect("a node's parent exists");
        debug_assert!(removed.is_some(), "{parent_path} did not list {p}");
        self.changes.push(Change::Deleted(p.to_string()));
    }

    /// Keeps the before-image of `p` when this transaction may have to be undone.
    fn save(&mut self, p: &str) {
        if let Some(undo) = &mut self.undo {
            undo.push((p.to_string(), self.tree.nodes.get(p).cloned()));
        }
    }

    /// Restores every before-image, latest first, leaving the tree as it was before the
    /// transaction; the changes are dropped, since nothing changed.
    pub(super) fn roll_back(mut self) {
        let undo = self
            .undo
            .take()
            .expect("roll_back needs an undoable transaction");
        for (p, before) in undo.into_iter().rev() {
            let now = match &before {
                Some(node) => self.tree.put(&p, Node::clone(node)),
                None => self.tree.take(&p),
            };
            if let Some(NodeKind::Ephemeral(owner)) = now.map(|n| n.kind) {
                self.tree.unindex_ephemeral(owner, &p);
            }
            if let Some(NodeKind::Ephemeral(owner)) = before.map(|n| n.kind) {
                self.tree
                    .ephemerals
                    .entry(owner)
                    .or_default()
                    .insert(Name::from(p));
            }
        }
    }
}

impl<Z: Copy + Eq + Hash> DataTree<Z> {
    /// Removes `p` from `owner`'s ephemeral nodes.
    fn unindex_ephemeral(&mut self, owner: SessionId, p: &str) {
        if let Some(owned) = self.ephemerals.get_mut(&owner) {
            owned.remove(p);
            if owned.is_empty() {
                self.ephemerals.remove(&owner);
            }
        }
    }

    /// The node at a valid path: `BadArguments` for an invalid path whether or not a node by that
    /// name could exist, else `NoNode` when it is missing (set_data steps 1 and 2; check).
    fn existing(&self, p: &str) -> Result<&Node<Z>, ZkError> {
        if !path::is_valid(p) {
            return Err(ZkError::BadArguments);
        }
        self.node(p).ok_or(ZkError::NoNode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::znode::op::{Multi, Watched};

    fn create(path: &str, mode: CreateMode) -> Write {
        Write::Create(Create {
            path: path.into(),
            data: "d".into(),
            mode,
        })
    }

    fn delete(path: &str) -> Write {
        Write::Delete(Delete {
            path: path.into(),
            version: -1,
        })
    }

    /// A tree with session 1 open at zxid 1; writes then use zxids from 2.
    fn tree() -> DataTree {
        let mut tree = DataTree::default();
        tree.apply(Zxid(1), SessionId(1), &Write::OpenSession);
        tree
    }

    fn stat(tree: &DataTree, p: &str) -> Stat {
        tree.node(p).unwrap().stat()
    }

    #[test]
    fn start_up_nodes_report_the_recorded_stats() {
        let tree = DataTree::default();
        assert_eq!(stat(&tree, "/").cversion, -1);
        assert_eq!(stat(&tree, "/").num_children, 1);
        assert_eq!(stat(&tree, "/zookeeper").cversion, -2);
        assert_eq!(stat(&tree, "/zookeeper/config").aversion, -1);
        assert_eq!(stat(&tree, "/zookeeper/quota").aversion, 0);
        tree.check_invariants().unwrap();
    }

    #[test]
    fn cversion_is_twice_the_creations_minus_the_children() {
        let mut tree = tree();
        tree.apply(Zxid(2), SessionId(1), &create("/q", CreateMode::Persistent));
        tree.apply(
            Zxid(3),
            SessionId(1),
            &create("/q/a", CreateMode::Persistent),
        );
        tree.apply(
            Zxid(4),
            SessionId(1),
            &create("/q/b", CreateMode::Persistent),
        );
        tree.apply(Zxid(5), SessionId(1), &delete("/q/a"));
        let q = stat(&tree, "/q");
        assert_eq!((q.cversion, q.num_children, q.pzxid), (3, 1, Zxid(5)));
        // The next suffix is C = 2, not cversion.
        let seq = tree.apply(
            Zxid(6),
            SessionId(1),
            &create("/q/", CreateMode::PersistentSequential),
        );
        let Outcome::Ok(Reply::Created(created)) = seq.outcome else {
            panic!("{seq:?}")
        };
        assert_eq!(created.path, "/q/0000000002");
        tree.check_invariants().unwrap();
    }

    #[test]
    fn failed_writes_change_nothing() {
        let mut tree = tree();
        let before = tree.clone();
        for (write, error) in [
            (create("/a/b", CreateMode::Persistent), ZkError::NoNode),
            (
                create("/zookeeper", CreateMode::Persistent),
                ZkError::NodeExists,
            ),
            (
                create("/zookeeper/config/x", CreateMode::Persistent),
                ZkError::NoAuth,
            ),
            (delete("/zookeeper"), ZkError::BadArguments),
            (delete("/zookeeper/config/x"), ZkError::NoAuth),
            (delete("/zookeeper/quota/x"), ZkError::NoNode),
        ] {
            let applied = tree.apply(Zxid(2), SessionId(1), &write);
            assert_eq!(applied.outcome, Outcome::Err(error), "{write:?}");
            assert!(applied.changes.is_empty());
            assert_eq!(tree, before);
        }
    }

    /// The StableHasher hash of a tree, which is its digest's.
    fn hash_of(tree: &DataTree) -> u64 {
        StableHasher::of(tree)
    }

    #[test]
    fn copies_share_nodes_and_compare_by_content() {
        let mut tree = tree();
        tree.apply(Zxid(2), SessionId(1), &create("/a", CreateMode::Persistent));
        let copy = tree.clone();
        tree.apply(
            Zxid(3),
            SessionId(1),
            &create("/a/b", CreateMode::Ephemeral),
        );
        // The copy kept what it had, and the node the write did not touch is shared.
        assert!(copy.node("/a/b").is_none());
        assert!(std::ptr::eq(
            copy.node("/zookeeper").unwrap(),
            tree.node("/zookeeper").unwrap()
        ));
        assert_ne!(tree, copy);
        assert_ne!(hash_of(&tree), hash_of(&copy));
        tree.check_invariants().unwrap();
        copy.check_invariants().unwrap();

        // The same content reached in another order is equal and hashes alike.
        let set = |data: &str| {
            Write::SetData(SetData {
                path: "/a".into(),
                data: data.into(),
                version: -1,
            })
        };
        let mut left = copy.clone();
        left.apply(Zxid(4), SessionId(1), &set("x"));
        left.apply(Zxid(5), SessionId(1), &create("/c", CreateMode::Persistent));
        let mut right = copy.clone();
        right.apply(Zxid(5), SessionId(1), &create("/c", CreateMode::Persistent));
        right.apply(Zxid(4), SessionId(1), &set("x"));
        assert_eq!(
            left.node("/").unwrap().pzxid,
            right.node("/").unwrap().pzxid
        );
        assert_eq!(left, right);
        assert_eq!(hash_of(&left), hash_of(&right));
        // A difference in one field, or in the sessions, is seen by both.
        let mut other = copy.clone();
        other.apply(Zxid(4), SessionId(1), &set("y"));
        other.apply(Zxid(5), SessionId(1), &create("/c", CreateMode::Persistent));
        assert_ne!(left, other);
        assert_ne!(hash_of(&left), hash_of(&other));
        let mut opened = left.clone();
        opened.apply(Zxid(6), SessionId(9), &Write::OpenSession);
        assert_ne!(left, opened);
        assert_ne!(hash_of(&left), hash_of(&opened));
        for t in [&left, &right, &other, &opened] {
            t.check_invariants().unwrap();
        }
    }

    #[test]
    fn closing_a_session_deletes_its_ephemerals_at_its_zxid() {
        let mut tree = tree();
        tree.apply(Zxid(2), SessionId(2), &Write::OpenSession);
        tree.apply(
            Zxid(3),
            SessionId(1),
            &create("/app", CreateMode::Container),
        );
        tree.apply(
            Zxid(4),
            SessionId(2),
            &create("/app/a", CreateMode::Ephemeral),
        );
        tree.apply(
            Zxid(5),
            SessionId(2),
            &create("/app/b-", CreateMode::EphemeralSequential),
        );
        tree.apply(
            Zxid(6),
            SessionId(1),
            &create("/app/c", CreateMode::Ephemeral),
        );
        assert_eq!(stat(&tree, "/app/a").ephemeral_owner, SessionId(2));
        assert_eq!(stat(&tree, "/app").ephemeral_owner, SessionId::NONE);
        let closed = tree.apply(Zxid(7), SessionId(2), &Write::CloseSession);
        assert_eq!(closed.outcome, Outcome::Ok(Reply::Done));
        assert_eq!(
            closed.changes,
            vec![
                Change::Deleted("/app/a".into()),
                Change::Deleted("/app/b-0000000001".into())
            ]
        );
        let app = stat(&tree, "/app");
        assert_eq!((app.pzxid, app.cversion, app.num_children), (Zxid(7), 5, 1));
        assert!(!tree.is_open(SessionId(2)));
        let late = tree.apply(Zxid(8), SessionId(2), &create("/x", CreateMode::Persistent));
        assert_eq!(late.outcome, Outcome::Err(ZkError::SessionExpired));
        let read = Read::Exists(Watched {
            path: "/".into(),
            watch: false,
        });
        assert_eq!(
            tree.read(SessionId(2), &read),
            Outcome::Err(ZkError::SessionExpired)
        );
        tree.check_invariants().unwrap();
    }

    #[test]
    fn a_failed_multi_is_undone_completely() {
        let mut tree = tree();
        tree.apply(Zxid(2), SessionId(1), &create("/m", CreateMode::Persistent));
        tree.apply(
            Zxid(3),
            SessionId(1),
            &create("/m/e", CreateMode::Ephemeral),
        );
        let before = tree.clone();
        let multi = Write::Multi(Multi {
            ops: vec![
                crate::znode::op::SubOp::Delete(Delete {
                    path: "/m/e".into(),
                    version: -1,
                }),
                crate::znode::op::SubOp::Create(Create {
                    path: "/m/e".into(),
                    data: "again".into(),
                    mode: CreateMode::Persistent,
                }),
                crate::znode::op::SubOp::Create(Create {
                    path: "/m/n-".into(),
                    data: String::new(),
                    mode: CreateMode::EphemeralSequential,
                }),
                crate::znode::op::SubOp::SetData(SetData {
                    path: "/m".into(),
                    data: "x".into(),
                    version: 0,
                }),
                crate::znode::op::SubOp::Delete(Delete {
                    path: "/m".into(),
                    version: -1,
                }),
            ],
        });
        let applied = tree.apply(Zxid(4), SessionId(1), &multi);
        let expected: Vec<Outcome<crate::znode::op::SubReply>> = [
            ZkError::Ok,
            ZkError::Ok,
            ZkError::Ok,
            ZkError::Ok,
            ZkError::NotEmpty,
        ]
        .into_iter()
        .map(Outcome::Err)
        .collect();
        assert_eq!(applied.outcome, Outcome::Ok(Reply::Multi(expected)));
        assert!(applied.changes.is_empty());
        assert_eq!(tree, before);
        assert_eq!(hash_of(&tree), hash_of(&before));
        tree.check_invariants().unwrap();
    }
}
