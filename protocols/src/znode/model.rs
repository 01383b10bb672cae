//! The znode data model as a `sim::check::Model`: the sequential specification a history of
//! ZooKeeper client operations is checked against for linearizability. It owns what the checker
//! needs beyond the tree (which answers every request, see `tree`): the handling of zxids the
//! history has not revealed, sessions met without their `open_session`, and how a history splits
//! into independent parts. It never decides an answer the tree would decide differently.
//!
//! # Zxids: learned, never counted
//!
//! Every write consumes the next zxid of one global counter. A model that counted zxids itself
//! would make every write depend on every other, and no history could be split. So the model does
//! not count: it *learns* each write's zxid from what the history shows.
//!
//! - The zxid on a write's completion line (the reply header; for a write ZooKeeper puts that
//!   write's own zxid there) is the write's zxid.
//! - A write whose zxid the history does not show (an `info` or open operation, or a history
//!   without zxids) stores an *unknown*: a placeholder in every Stat field the write sets. A later
//!   answer that shows the field (a `get_data`'s mzxid, a `create`'s czxid...) binds the unknown,
//!   and every field holding it takes the value.
//! - Writes are linearized in zxid order (ZooKeeper's writes are linearizable, in the order of
//!   their zxids), so within one part the zxids of the writes, in the order the search places
//!   them, must increase strictly: a known zxid must exceed every zxid placed before it
//!   (`floor`), and each unknown keeps an open interval (`Bounds`) narrowed by its neighbours.
//! - Every zxid an answer shows is at most the zxid of its reply header (a server answers from a
//!   state it has applied).
//!
//! Reads are *not* ordered by their header zxid: placing a read by it would claim more than
//! linearizability of the answers (ZooKeeper serves reads from a possibly lagging server).
//!
//! # Sessions
//!
//! `open_session` touches no node, so it sits in a part of its own and the model does not track
//! which sessions exist: a session first met in an operation is taken as open (real-time order
//! already puts a session's operations after the open that created it). A session closed by a
//! `close_session` in the same part is closed for good: later operations answer
//! `SessionExpired`, and its ephemeral nodes are gone. An answer `SessionExpired` is always
//! accepted as "did nothing", since the closing transaction (an expiry) may lie in another part or
//! outside the history.
//!
//! # Partition (P-compositionality)
//!
//! Operations on unrelated paths are independent, but the tree couples paths in several ways:
//! create and delete change the parent's Stat (pzxid, cversion, numChildren) and children list;
//! get_children reads them; a sequential create reads the parent's creation counter and makes a
//! node whose name is known only from its answer; a multi touches several paths; close_session
//! deletes every ephemeral node of its session. The partition therefore works on *keys* of state,
//! each operation reading and writing some of them (derived from the invocations alone, since
//! answers may be unknown):
//!
//! - `Node(p)`: whether `p` exists, its data, version, kind and owner;
//! - `Children(p)`: `p`'s children, creation counter, cversion and pzxid;
//! - `Family(parent, prefix)`: every node a sequential create under `parent` with `prefix` can
//!   make, i.e. every `Node(parent/prefix + ten digits)`. Any node whose name ends in ten digits
//!   is read as its family key, so a read of a sequential node joins the creates that may make it.
//!
//! | operation | reads | writes |
//! |---|---|---|
//! | create p (parent q) | Node(q); Node(p) or, sequential, Family and Children(q) | Node(p) or Family; Children(q) |
//! | delete p | Node(q), Node(p), Children(p) | Node(p), Children(q) |
//! | set_data p | Node(p), Children(p) (its answer is a Stat) | Node(p) |
//! | check p | Node(p) | |
//! | get_data, exists, get_children p | Node(p), Children(p) | |
//! | close_session s | the Node/Family keys of every ephemeral create of s | those, and Children of their parents |
//! | multi | its sub-ops' keys | its sub-ops' keys |
//! | sync, open_session, requests refused for their path alone | | |
//!
//! Operations sharing a key that some operation reads and some operation writes are put in one
//! part (union-find). A key that nobody reads needs no joining: its writers' effects on it are
//! never observed, so each part's partial view of it cannot change an answer. A key that nobody
//! writes keeps its initial value in every part, so its readers need no joining either. (This is what lets creates and deletes under
//! a parent that nobody lists or stats be checked apart, the root included.) Within a part the
//! tree then holds exactly the part's effects on every key the part reads.
//!
//! # Not checked
//!
//! - Whether a session was opened before use, and session ids' uniqueness; `open_session` answers
//!   only have to have the right shape.
//! - `SessionExpired` answers, beyond doing nothing.
//! - That zxids of writes in different parts differ, and that unknown zxids fit between known
//!   neighbours as integers (only their order is kept).
//! - Watch notifications (history `event` lines): the ZooKeeper-guarantees checker reads those.
//! - Containers disappearing by themselves (the server's background reaper is not a request).

use super::id::{SessionId, Zxid};
use super::op::{Create, Outcome, Read, Reply, Request, SubOp, Write, ZkError, ZkInput, ZkOutput};
use super::path;
use super::tree::DataTree;
use sim::check::{Model, Operation};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// A zxid as the model stores it in a Stat field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Zx {
    Known(Zxid),
    /// Not learned yet: an index into `ZnodeState::unknown`.
    Unknown(u32),
}

impl Zx {
    /// The index of an unknown zxid.
    fn unknown(self) -> Option<u32> {
        match self {
            Zx::Known(_) => None,
            Zx::Unknown(i) => Some(i),
        }
    }
}

/// Where an unknown zxid can still be: strictly between `above` and `below`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Bounds {
    above: u64,
    below: u64,
}

impl Bounds {
    fn is_empty(self) -> bool {
        self.above.saturating_add(1) >= self.below
    }
}

/// The state of one part of a history.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZnodeState {
    tree: DataTree<Zx>,
    /// Sessions closed by a `close_session` of this part.
    closed: BTreeSet<SessionId>,
    /// The largest known zxid of the writes placed so far: the next write's must exceed it.
    floor: u64,
    /// The unknown zxids still stored in the tree, in the order their writes were placed.
    unknown: Vec<Bounds>,
}

impl ZnodeState {
    pub fn tree(&self) -> &DataTree<Zx> {
        &self.tree
    }

    /// The zxid a write is placed with: the header's, which must exceed everything placed before,
    /// or a new unknown above the floor.
    fn place_write(&mut self, header: Option<Zxid>) -> Option<Zx> {
        match header {
            Some(zxid) => {
                if zxid.0 <= self.floor {
                    return None;
                }
                for bounds in &mut self.unknown {
                    bounds.below = bounds.below.min(zxid.0);
                    if bounds.is_empty() {
                        return None;
                    }
                }
                self.floor = zxid.0;
                Some(Zx::Known(zxid))
            }
            None => {
                self.unknown.push(Bounds {
                    above: self.floor,
                    below: u64::MAX,
                });
                Some(Zx::Unknown(self.unknown.len() as u32 - 1))
            }
        }
    }

    /// Whether the model's answer can be the observed one: equal up to zxids, and every zxid
    /// either equal or, if unknown, consistently bindable. Binds what it learns.
    fn unify(&mut self, model: &Outcome<Reply<Zx>>, seen: &Outcome<Reply>) -> Option<()> {
        let mut model_zxids = Vec::new();
        let mut seen_zxids = Vec::new();
        let model_shape = model.map(|r| r.map_zxids(&mut |z| model_zxids.push(z)));
        let seen_shape = seen.map(|r| r.map_zxids(&mut |z| seen_zxids.push(z)));
        if model_shape != seen_shape {
            return None;
        }
        let mut learned: BTreeMap<u32, Zxid> = BTreeMap::new();
        for (zx, seen) in model_zxids.into_iter().zip(seen_zxids) {
            match zx {
                Zx::Known(known) if known == seen => {}
                Zx::Known(_) => return None,
                Zx::Unknown(i) => match learned.get(&i) {
                    Some(&bound) if bound == seen => {}
                    Some(_) => return None,
                    None => {
                        self.learn(i as usize, seen.0)?;
                        learned.insert(i, seen);
                    }
                },
            }
        }
        if !learned.is_empty() {
            for zx in self.tree.zxids_mut() {
                if let Some(&value) = zx.unknown().and_then(|i| learned.get(&i)) {
                    *zx = Zx::Known(value);
                }
            }
        }
        Some(())
    }

    /// Binds unknown `i` to `value`: it must lie in its bounds, and it narrows the others, which
    /// were placed before (smaller) or after (larger) it.
    fn learn(&mut self, i: usize, value: u64) -> Option<()> {
        let bounds = self.unknown[i];
        if value <= bounds.above || value >= bounds.below {
            return None;
        }
        for (j, other) in self.unknown.iter_mut().enumerate() {
            match j.cmp(&i) {
                std::cmp::Ordering::Less => other.below = other.below.min(value),
                std::cmp::Ordering::Greater => other.above = other.above.max(value),
                std::cmp::Ordering::Equal => {
                    *other = Bounds {
                        above: value - 1,
                        below: value + 1,
                    }
                }
            }
            if other.is_empty() {
                return None;
            }
        }
        self.floor = self.floor.max(value);
        Some(())
    }

    /// Forgets unknowns no field holds any more and renumbers the rest in order, so that states
    /// that differ only in forgotten unknowns compare equal.
    fn prune(&mut self) {
        if self.unknown.is_empty() {
            return;
        }
        let mut used = vec![false; self.unknown.len()];
        for zx in self.tree.zxids_mut() {
            if let Zx::Unknown(i) = *zx {
                used[i as usize] = true;
            }
        }
        let mut renumbered = vec![0u32; self.unknown.len()];
        let mut kept = Vec::new();
        for (i, bounds) in self.unknown.iter().enumerate() {
            if used[i] {
                renumbered[i] = kept.len() as u32;
                kept.push(*bounds);
            }
        }
        if kept.len() != self.unknown.len() {
            for zx in self.tree.zxids_mut() {
                if let Zx::Unknown(i) = *zx {
                    *zx = Zx::Unknown(renumbered[i as usize]);
                }
            }
            self.unknown = kept;
        }
    }
}

/// The znode model. It has no parameters: a znode history always starts from a fresh server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZnodeModel;

impl Model for ZnodeModel {
    type State = ZnodeState;
    type Input = ZkInput;
    type Output = ZkOutput;

    fn init(&self) -> ZnodeState {
        ZnodeState {
            tree: DataTree::new(Zx::Known(Zxid::ZERO)),
            closed: BTreeSet::new(),
            floor: 0,
            unknown: Vec::new(),
        }
    }

    fn step(
        &self,
        state: &ZnodeState,
        input: &ZkInput,
        output: Option<&ZkOutput>,
    ) -> Option<ZnodeState> {
        if let Some(output) = output {
            if !within_header(output) {
                return None;
            }
            if output.outcome == Outcome::Err(ZkError::SessionExpired) {
                return Some(state.clone());
            }
        }
        let session = input.session_or_none();
        let seen = output.map(|o| &o.outcome);
        if let Request::Write(Write::OpenSession) = input.request {
            return match seen {
                None | Some(Outcome::Ok(Reply::Session(_))) => Some(state.clone()),
                Some(_) => None,
            };
        }
        let mut next = state.clone();
        if session != SessionId::NONE
            && !next.tree.is_open(session)
            && !next.closed.contains(&session)
        {
            next.tree.adopt_session(session);
        }
        let outcome = match &input.request {
            Request::Write(write) => {
                let zx = next.place_write(output.and_then(|o| o.zxid))?;
                let applied = next.tree.apply(zx, session, write);
                if let (Write::CloseSession, true) = (write, applied.outcome.is_ok()) {
                    next.closed.insert(session);
                }
                applied.outcome
            }
            Request::Read(read) => next.tree.read(session, read),
        };
        if let Some(seen) = seen {
            next.unify(&outcome, seen)?;
        }
        next.prune();
        Some(next)
    }

    fn partition(&self, ops: &[Operation<ZkInput, ZkOutput>]) -> Vec<Vec<usize>> {
        partition(ops.iter().map(|op| &op.input))
    }

    fn describe_operation(&self, input: &ZkInput, output: Option<&ZkOutput>) -> String {
        let mut text = String::new();
        match input.session {
            Some(session) => write!(text, "session {session}: "),
            None => Ok(()),
        }
        .expect("writing to a String");
        text.push_str(&serde_json::to_string(&input.request).expect("requests serialize"));
        text.push_str(" -> ");
        match output {
            Some(output) => {
                text.push_str(&serde_json::to_string(&output.outcome).expect("answers serialize"));
                if let Some(zxid) = output.zxid {
                    write!(text, " at zxid {zxid}").expect("writing to a String");
                }
            }
            None => text.push('?'),
        }
        text
    }

    fn describe_state(&self, state: &ZnodeState) -> String {
        let zx = |z: Zx| match z {
            Zx::Known(zxid) => zxid.to_string(),
            Zx::Unknown(i) => format!("z{i}"),
        };
        let mut text = String::new();
        for (p, node) in state.tree.nodes() {
            let stat = node.stat();
            let _ = write!(
                text,
                "{p} {:?} version={} cversion={} czxid={} mzxid={} pzxid={}",
                node.data,
                stat.version,
                stat.cversion,
                zx(stat.czxid),
                zx(stat.mzxid),
                zx(stat.pzxid)
            );
            if stat.ephemeral_owner != SessionId::NONE {
                let _ = write!(text, " owner={}", stat.ephemeral_owner);
            }
            text.push_str("; ");
        }
        if !state.closed.is_empty() {
            let closed: Vec<String> = state.closed.iter().map(ToString::to_string).collect();
            let _ = write!(text, "closed sessions {}; ", closed.join(","));
        }
        let _ = write!(text, "last zxid {}", state.floor);
        for (i, b) in state.unknown.iter().enumerate() {
            let _ = write!(text, "; {} < z{i} < {}", b.above, b.below);
        }
        text
    }

    fn state_heap_bytes(&self, state: &ZnodeState) -> usize {
        const PER_NODE: usize = 160;
        state
            .tree
            .nodes()
            .map(|(p, n)| {
                PER_NODE
                    + 2 * p.len()
                    + n.data.len()
                    + n.children.iter().map(String::len).sum::<usize>()
            })
            .sum::<usize>()
            + state.unknown.len() * std::mem::size_of::<Bounds>()
    }
}

/// Every zxid an answer shows is at most the zxid of its reply header.
fn within_header(output: &ZkOutput) -> bool {
    let Some(header) = output.zxid else {
        return true;
    };
    let mut within = true;
    output
        .outcome
        .map(|r| r.map_zxids(&mut |z| within &= z <= header));
    within
}

/// A piece of state operations read and write (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Node(String),
    Family { parent: String, prefix: String },
    Children(String),
}

/// The key of node `p`'s existence and data: its family's when its name could be a sequential
/// create's (it ends in ten digits, or a sign and nine), else its own.
fn node_key(p: &str) -> Key {
    let name = path::name(p);
    let suffix_at = name.len().saturating_sub(path::SEQUENTIAL_SUFFIX_LEN);
    let sequential = name.len() >= path::SEQUENTIAL_SUFFIX_LEN
        && name.as_bytes()[suffix_at..]
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b'-');
    match path::parent(p) {
        Some(parent) if sequential => Key::Family {
            parent: parent.to_string(),
            prefix: name[..suffix_at].to_string(),
        },
        _ => Key::Node(p.to_string()),
    }
}

/// The keys one operation reads and writes.
#[derive(Default)]
struct Footprint {
    reads: Vec<Key>,
    writes: Vec<Key>,
}

impl Footprint {
    fn read_write(&mut self, key: Key) {
        self.reads.push(key.clone());
        self.writes.push(key);
    }

    /// A create: the parent's existence and kind, the node (or its family, for a sequential
    /// create, which also reads the parent's counter), and the parent's children. Returns the
    /// node's key, for close_session.
    fn create(&mut self, create: &Create) -> Option<(Key, String)> {
        let parent = path::parent(&create.path).filter(|_| !path::has_nul(&create.path))?;
        self.reads.push(node_key(parent));
        let node = if create.mode.is_sequential() {
            self.reads.push(Key::Children(parent.to_string()));
            Key::Family {
                parent: parent.to_string(),
                prefix: path::name(&create.path).to_string(),
            }
        } else {
            node_key(&create.path)
        };
        self.read_write(node.clone());
        self.writes.push(Key::Children(parent.to_string()));
        Some((node, parent.to_string()))
    }

    fn delete(&mut self, p: &str) {
        let Some(parent) = path::parent(p) else {
            return;
        };
        if path::has_nul(p) || path::is_undeletable(p) {
            return;
        }
        self.reads.push(node_key(parent));
        self.read_write(node_key(p));
        self.reads.push(Key::Children(p.to_string()));
        self.writes.push(Key::Children(parent.to_string()));
    }

    /// A request that reads (and, for set_data, writes) node `p` and answers its Stat.
    fn stat_of(&mut self, p: &str, writes: bool) {
        if writes {
            self.read_write(node_key(p));
        } else {
            self.reads.push(node_key(p));
        }
        self.reads.push(Key::Children(p.to_string()));
    }

    fn sub_op(&mut self, op: &SubOp) {
        match op {
            SubOp::Create(c) => {
                self.create(c);
            }
            SubOp::Delete(d) => self.delete(&d.path),
            SubOp::SetData(s) => self.stat_of(&s.path, true),
            SubOp::Check(c) => self.reads.push(node_key(&c.path)),
        }
    }
}

/// The creates of a request that make ephemeral nodes.
fn ephemeral_creates(request: &Request) -> Vec<&Create> {
    match request {
        Request::Write(Write::Create(c)) if c.mode.is_ephemeral() => vec![c],
        Request::Write(Write::Multi(m)) => m
            .ops
            .iter()
            .filter_map(|op| match op {
                SubOp::Create(c) if c.mode.is_ephemeral() => Some(c),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Splits operations into independent parts (see the module documentation): lists of indices,
/// each in increasing order, the parts ordered by their first index.
pub fn partition<'a>(inputs: impl Iterator<Item = &'a ZkInput>) -> Vec<Vec<usize>> {
    let inputs: Vec<&ZkInput> = inputs.collect();
    // What close_session(s) touches: the nodes every ephemeral create of s may have made.
    let mut ephemeral: BTreeMap<SessionId, Footprint> = BTreeMap::new();
    for input in &inputs {
        for create in ephemeral_creates(&input.request) {
            let footprint = ephemeral.entry(input.session_or_none()).or_default();
            if let Some((node, parent)) = Footprint::default().create(create) {
                footprint.read_write(node);
                footprint.writes.push(Key::Children(parent));
            }
        }
    }
    let footprints: Vec<Footprint> = inputs
        .iter()
        .map(|input| {
            let mut fp = Footprint::default();
            match &input.request {
                Request::Write(Write::OpenSession) | Request::Read(Read::Sync(_)) => {}
                Request::Write(Write::CloseSession) => {
                    if let Some(owned) = ephemeral.get(&input.session_or_none()) {
                        fp.reads.extend(owned.reads.iter().cloned());
                        fp.writes.extend(owned.writes.iter().cloned());
                    }
                }
                Request::Write(Write::Create(c)) => {
                    fp.create(c);
                }
                Request::Write(Write::Delete(d)) => fp.delete(&d.path),
                Request::Write(Write::SetData(s)) => fp.stat_of(&s.path, true),
                Request::Write(Write::Multi(m)) => m.ops.iter().for_each(|op| fp.sub_op(op)),
                Request::Read(Read::GetData(r) | Read::Exists(r) | Read::GetChildren(r)) => {
                    fp.stat_of(&r.path, false)
                }
            }
            fp
        })
        .collect();

    // Only a key that is both read and written couples operations.
    let read: BTreeSet<&Key> = footprints.iter().flat_map(|fp| &fp.reads).collect();
    let written: BTreeSet<&Key> = footprints.iter().flat_map(|fp| &fp.writes).collect();
    let mut sets = UnionFind::new(inputs.len());
    let mut first_with_key: BTreeMap<&Key, usize> = BTreeMap::new();
    for (index, fp) in footprints.iter().enumerate() {
        for key in fp.reads.iter().chain(&fp.writes) {
            if read.contains(key) && written.contains(key) {
                let first = *first_with_key.entry(key).or_insert(index);
                sets.union(first, index);
            }
        }
    }
    let mut parts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for index in 0..inputs.len() {
        parts.entry(sets.find(index)).or_default().push(index);
    }
    let mut parts: Vec<Vec<usize>> = parts.into_values().collect();
    parts.sort_by_key(|part| part[0]);
    parts
}

/// Disjoint sets over `0..n`, with path halving.
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Joins the sets of `a` and `b`; the smaller root stays the root, so roots are deterministic.
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        let (root, child) = if a < b { (a, b) } else { (b, a) };
        self.parent[child] = root;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::znode::op::{CreateMode, Delete, SetData, Watched};
    use crate::znode::{Children, Created, Data, Stat};

    const S1: Option<SessionId> = Some(SessionId(1));

    fn input(session: Option<SessionId>, request: Request) -> ZkInput {
        ZkInput::new(session, request).unwrap()
    }

    fn create(path: &str, mode: CreateMode) -> Request {
        Request::Write(Write::Create(Create {
            path: path.into(),
            data: "d".into(),
            mode,
        }))
    }

    fn set(path: &str, data: &str) -> Request {
        Request::Write(Write::SetData(SetData {
            path: path.into(),
            data: data.into(),
            version: -1,
        }))
    }

    fn get(path: &str) -> Request {
        Request::Read(Read::GetData(Watched {
            path: path.into(),
            watch: false,
        }))
    }

    fn stat(czxid: u64, mzxid: u64, version: i32) -> Stat {
        Stat {
            czxid: Zxid(czxid),
            mzxid: Zxid(mzxid),
            pzxid: Zxid(czxid),
            version,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: SessionId::NONE,
            data_length: 1,
            num_children: 0,
        }
    }

    fn ok(reply: Reply, zxid: u64) -> ZkOutput {
        ZkOutput {
            outcome: Outcome::Ok(reply),
            zxid: Some(Zxid(zxid)),
        }
    }

    fn data(data: &str, stat: Stat) -> Reply {
        Reply::Data(Data {
            data: data.into(),
            stat,
        })
    }

    /// Runs `steps` in order from the initial state; `None` if one is refused.
    fn run(steps: &[(ZkInput, Option<ZkOutput>)]) -> Option<ZnodeState> {
        let model = ZnodeModel;
        let mut state = model.init();
        for (input, output) in steps {
            state = model.step(&state, input, output.as_ref())?;
        }
        Some(state)
    }

    fn created(path: &str, czxid: u64) -> ZkOutput {
        ok(
            Reply::Created(Created {
                path: path.into(),
                stat: stat(czxid, czxid, 0),
            }),
            czxid,
        )
    }

    #[test]
    fn known_zxids_must_match_and_increase() {
        let make = (
            input(S1, create("/a", CreateMode::Persistent)),
            Some(created("/a", 5)),
        );
        let read = |mzxid| {
            (
                input(S1, get("/a")),
                Some(ok(data("d", stat(5, mzxid, 0)), 9)),
            )
        };
        assert!(run(&[make.clone(), read(5)]).is_some());
        assert!(
            run(&[make.clone(), read(6)]).is_none(),
            "mzxid differs from czxid"
        );
        // A second write with a zxid not above the first cannot come after it.
        let set_at = |zxid| {
            let stat = stat(5, zxid, 1);
            (input(S1, set("/a", "x")), Some(ok(Reply::Stat(stat), zxid)))
        };
        assert!(run(&[make.clone(), set_at(7)]).is_some());
        assert!(run(&[make.clone(), set_at(5)]).is_none());
        // An answer showing a zxid above its own header is refused.
        let late = (input(S1, get("/a")), Some(ok(data("d", stat(5, 5, 0)), 4)));
        assert!(run(&[make, late]).is_none());
    }

    #[test]
    fn unknown_zxids_are_learned_once_and_ordered() {
        let make = (
            input(S1, create("/a", CreateMode::Persistent)),
            Some(created("/a", 5)),
        );
        let lost = (input(S1, set("/a", "x")), None);
        let known = |zxid| {
            let stat = stat(5, zxid, 2);
            (input(S1, set("/a", "y")), Some(ok(Reply::Stat(stat), zxid)))
        };
        let read = |data_: &str, mzxid, version| {
            let reply = data(data_, stat(5, mzxid, version));
            (input(S1, get("/a")), Some(ok(reply, 20)))
        };
        // The lost write's zxid is learned from a read, then must stay the same.
        let state = run(&[make.clone(), lost.clone(), read("x", 8, 1)]).unwrap();
        assert_eq!(state.tree().node("/a").unwrap().mzxid, Zx::Known(Zxid(8)));
        assert!(run(&[make.clone(), lost.clone(), read("x", 8, 1), read("x", 9, 1)]).is_none());
        // It lies between its neighbours: above /a's creation and below the next known write.
        assert!(run(&[make.clone(), lost.clone(), read("x", 5, 1)]).is_none());
        assert!(run(&[make.clone(), lost.clone(), known(12), read("y", 12, 2)]).is_some());
        // Unlearned and overwritten, the unknown is forgotten.
        let state = run(&[make.clone(), lost.clone(), known(12)]).unwrap();
        assert_eq!(state.unknown, vec![]);
        assert_eq!(state.tree().node("/a").unwrap().mzxid, Zx::Known(Zxid(12)));
        // The later known write must be above the unknown's lower bound: 6 is too small when the
        // unknown needs a zxid in (5, 6).
        assert!(run(&[make, lost, known(6)]).is_none());
    }

    #[test]
    fn sessions_met_without_open_are_open_until_closed_here() {
        let s2 = Some(SessionId(2));
        let eph = (input(s2, create("/e", CreateMode::Ephemeral)), None);
        let close = (input(s2, Request::Write(Write::CloseSession)), None);
        let exists = |answer| {
            let request = Request::Read(Read::Exists(Watched {
                path: "/e".into(),
                watch: false,
            }));
            (input(S1, request), Some(answer))
        };
        let gone = ZkOutput {
            outcome: Outcome::Err(ZkError::NoNode),
            zxid: None,
        };
        assert!(run(&[eph.clone(), close.clone(), exists(gone)]).is_some());
        // After its close, the session's writes answer SessionExpired; any other answer is refused.
        let again = |outcome| {
            (
                input(s2, create("/f", CreateMode::Persistent)),
                Some(outcome),
            )
        };
        let expired = ZkOutput {
            outcome: Outcome::Err(ZkError::SessionExpired),
            zxid: None,
        };
        assert!(run(&[eph.clone(), close.clone(), again(expired.clone())]).is_some());
        assert!(run(&[eph.clone(), close, again(created("/f", 9))]).is_none());
        // SessionExpired is accepted without the close in the part.
        assert!(run(&[eph, again(expired)]).is_some());
    }

    #[test]
    fn partition_joins_what_one_operation_can_observe_of_another() {
        let s2 = Some(SessionId(2));
        let children = |path: &str| {
            Request::Read(Read::GetChildren(Watched {
                path: path.into(),
                watch: false,
            }))
        };
        let delete = |path: &str| {
            Request::Write(Write::Delete(Delete {
                path: path.into(),
                version: -1,
            }))
        };
        let inputs = [
            input(None, Request::Write(Write::OpenSession)), // 0: alone
            input(S1, create("/a", CreateMode::Persistent)), // 1: /a
            input(S1, create("/b", CreateMode::Persistent)), // 2: /b (nobody lists /)
            input(S1, get("/a")),                            // 3: /a
            input(S1, create("/a/q-", CreateMode::PersistentSequential)), // 4: /a's family
            input(S1, get("/a/q-0000000003")),               // 5: the family
            input(s2, create("/b/e", CreateMode::Ephemeral)), // 6: /b (its parent)
            input(s2, Request::Write(Write::CloseSession)),  // 7: deletes /b/e
            input(S1, get("/c")),                            // 8: alone
            input(S1, delete("/b")),                         // 9: reads /b's children
            input(S1, children("/d")),                       // 10: /d's children
            input(S1, create("/d/x", CreateMode::Persistent)), // 11: listed by 10
            input(S1, create("/z/y", CreateMode::Persistent)), // 12: /z unread
            input(S1, create("/z/w", CreateMode::Persistent)), // 13: /z unread
        ];
        let parts = partition(inputs.iter());
        assert_eq!(
            parts,
            vec![
                vec![0],
                vec![1, 3, 4, 5],
                vec![2, 6, 7, 9],
                vec![8],
                vec![10, 11],
                vec![12],
                vec![13],
            ]
        );
        // Listing the root joins every create and delete directly under it.
        let mut with_root = inputs.to_vec();
        with_root.push(input(S1, children("/")));
        let parts = partition(with_root.iter());
        assert!(
            parts
                .iter()
                .any(|p| [1, 2, 14].iter().all(|i| p.contains(i)))
        );
    }

    #[test]
    fn a_listed_child_set_is_checked_whole() {
        let list = |names: &[&str], pzxid: u64, cversion: i32| {
            let mut stat = stat(0, 0, 0);
            stat.pzxid = Zxid(pzxid);
            stat.cversion = cversion;
            stat.data_length = 0;
            stat.num_children = names.len() as i32;
            let reply = Reply::Children(Children {
                children: names.iter().map(|n| n.to_string()).collect(),
                stat,
            });
            let request = Request::Read(Read::GetChildren(Watched {
                path: "/".into(),
                watch: false,
            }));
            (input(S1, request), Some(ok(reply, 30)))
        };
        let make = (
            input(S1, create("/a", CreateMode::Persistent)),
            Some(created("/a", 5)),
        );
        assert!(run(&[make.clone(), list(&["a", "zookeeper"], 5, 0)]).is_some());
        assert!(run(&[make.clone(), list(&["a", "zookeeper"], 4, 0)]).is_none());
        assert!(run(&[make, list(&["zookeeper"], 0, -1)]).is_none());
    }
}
