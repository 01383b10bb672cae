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
//! - A model built for its history (`ZnodeModel::for_history`) knows, for each write whose zxid
//!   the history shows, the zxid of the previous such write in its part, and places a write only
//!   right after that one. Without this the search would try the writes of a part in every order
//!   the zxid floor allows and only find out much later that a skipped write no longer fits.
//! - Every zxid an answer shows is at most the zxid of its reply header (a server answers from a
//!   state it has applied).
//!
//! Reads are *not* ordered by their header zxid: placing a read by it would claim more than
//! linearizability of the answers (ZooKeeper serves reads from a possibly lagging server). The
//! ZooKeeper contract checker (`protocols::checks`) asks for exactly that claim instead, in a
//! history it has put in zxid order: `ZnodeModel::at_read_zxids` places each read at its header
//! zxid, after every write up to it and before every write above it.
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
//! each operation reading and writing some of them (derived from the invocations, since answers
//! may be unknown):
//!
//! - `Exists(n)`: whether node `n` exists, its kind and owner;
//! - `Data(n)`: its data, version, czxid and mzxid;
//! - `Children(p)`: `p`'s children, creation counter, cversion and pzxid.
//!
//! `n` is a path, or the *family* of a sequential create: every node a sequential create under
//! parent `q` with prefix `x` can make (`q/x` + ten digits). Any node whose name ends in ten digits
//! is taken as its family, so a read of a sequential node joins the creates that may make it.
//!
//! | operation | reads | writes |
//! |---|---|---|
//! | create n (parent q) | Exists(q), Exists(n); sequential: Children(q) | Exists(n), Data(n), Children(q) |
//! | delete n | Exists(q), Exists(n), Data(n), Children(n) | Exists(n), Children(q) |
//! | set_data n | Exists(n), Data(n), Children(n) (its answer is a Stat) | Data(n) |
//! | check n | Exists(n), Data(n) | |
//! | get_data, exists, get_children n | Exists(n), Data(n), Children(n) | |
//! | close_session s | Exists of every ephemeral create of s | those, Children of their parents |
//! | multi | its sub-ops' keys | its sub-ops' keys |
//! | sync, open_session, requests refused for their path alone | | |
//!
//! Operations sharing a key that some operation reads and some operation writes are put in one
//! part (union-find). A key that nobody reads needs no joining: its writers' effects on it are
//! never observed, so each part's partial view of it cannot change an answer. A key that nobody
//! writes keeps its initial value in every part, so its readers need no joining either. Within a
//! part the tree then holds exactly the part's effects on every key the part reads.
//!
//! One more refinement keeps the usual workload, a parent created once and children created and
//! deleted under it by many clients, from becoming one part: a create or delete of a child does
//! not read `Exists(q)` when the parent `q` is *settled* for it: nothing in the history can delete
//! `q`, and a create of `q` succeeded before the child's operation was invoked. `q` then exists at
//! every point where the operation can take effect, whatever the order, and `step` makes it exist
//! in a part that does not hold its create (`DataTree::materialize`). Nobody in such a part reads
//! `q`'s data or Stat, or the part would hold the create, and `q`'s child counter starts at 0 there
//! as the real one did, all the child creates that count being in the part of whoever reads it.
//! The model learns which parents are settled for which write from the history
//! (`ZnodeModel::for_history`), by the write's zxid; the default model settles nothing.
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
use super::tree::{self, Change, DataTree, Name};
use sim::check::{Model, Operation};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

/// A zxid as the model stores it in a Stat field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Zx {
    Known(Zxid),
    /// Not learned yet: an index into `ZnodeState::unknown`.
    Unknown(u32),
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

/// A zxid not learned yet, still stored in the tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Unknown {
    bounds: Bounds,
    /// The paths of the nodes that hold it, sorted. Only the write that made it stores it, in the
    /// nodes that write changed, so these are the only nodes binding or renumbering it must visit:
    /// the rest of the tree stays shared with the states before.
    holders: Arc<[Name]>,
}

/// The state of one part of a history.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZnodeState {
    tree: DataTree<Zx>,
    /// Sessions closed by a `close_session` of this part.
    closed: BTreeSet<SessionId>,
    /// The largest known zxid of the writes placed so far: the next write's must exceed it.
    floor: u64,
    /// The header zxid of the last write placed with one (0 before any).
    last_write: u64,
    /// The unknown zxids still stored in the tree, in the order their writes were placed.
    unknown: Vec<Unknown>,
}

impl ZnodeState {
    pub fn tree(&self) -> &DataTree<Zx> {
        &self.tree
    }

    /// Whether a write with header zxid `zxid` may be placed now: above everything placed before
    /// and, when its part's chain of known zxids is given, right after its predecessor in it.
    fn may_place(&self, zxid: Zxid, previous: Option<u64>) -> bool {
        zxid.0 > self.floor
            && previous.is_none_or(|p| p == self.last_write)
            && self.unknown.iter().all(|u| {
                let narrowed = Bounds {
                    below: u.bounds.below.min(zxid.0),
                    ..u.bounds
                };
                !narrowed.is_empty()
            })
    }

    /// The zxid a write is placed with: the header's, if it may be placed now, or a new unknown
    /// above the floor, held by no node until `held_by`. Every unknown placed before lies below a
    /// known zxid placed after it.
    fn place_write(&mut self, header: Option<Zxid>, previous: Option<u64>) -> Option<Zx> {
        match header {
            Some(zxid) => {
                if !self.may_place(zxid, previous) {
                    return None;
                }
                for u in &mut self.unknown {
                    u.bounds.below = u.bounds.below.min(zxid.0);
                }
                self.last_write = zxid.0;
                self.floor = zxid.0;
                Some(Zx::Known(zxid))
            }
            None => {
                self.unknown.push(Unknown {
                    bounds: Bounds {
                        above: self.floor,
                        below: u64::MAX,
                    },
                    holders: Arc::new([]),
                });
                Some(Zx::Unknown(self.unknown.len() as u32 - 1))
            }
        }
    }

    /// Records which nodes the write placed with unknown `zx` stored it in: those it changed and
    /// their parents (a create or delete sets the parent's pzxid).
    fn held_by(&mut self, zx: Zx, changes: &[Change]) {
        let Zx::Unknown(i) = zx else {
            return;
        };
        let mut holders: Vec<Name> = Vec::new();
        for change in changes {
            match change {
                Change::Created(p) | Change::Deleted(p) => {
                    holders.push(Name::from(p.as_str()));
                    holders.extend(path::parent(p).map(Name::from));
                }
                Change::DataChanged(p) => holders.push(Name::from(p.as_str())),
            }
        }
        holders.sort_unstable();
        holders.dedup();
        self.unknown[i as usize].holders = holders.into();
    }

    /// Places a read answered at header zxid `zxid` (`ZnodeModel::at_read_zxids`): every write
    /// placed so far must have a zxid up to `zxid`, and every write placed later one above it.
    fn place_read(&mut self, zxid: Zxid) -> Option<()> {
        if self.floor > zxid.0 {
            return None;
        }
        for u in &mut self.unknown {
            u.bounds.below = u.bounds.below.min(zxid.0.saturating_add(1));
            if u.bounds.is_empty() {
                return None;
            }
        }
        self.floor = zxid.0;
        Some(())
    }

    /// Binds the unknown zxids an answer showed (`bindings`), in the order it showed them, and
    /// rewrites the nodes that hold them; `None` if a value does not fit its unknown's bounds.
    fn bind(&mut self, bound: &[(u32, Zxid)]) -> Option<()> {
        for &(i, value) in bound {
            self.learn(i as usize, value.0)?;
        }
        for &(i, _) in bound {
            for p in self.unknown[i as usize].holders.iter() {
                self.tree.map_zxids(p, |zx| match zx {
                    Zx::Unknown(j) => bound
                        .iter()
                        .find(|&&(k, _)| k == j)
                        .map_or(zx, |&(_, value)| Zx::Known(value)),
                    Zx::Known(_) => zx,
                });
            }
        }
        Some(())
    }

    /// Binds unknown `i` to `value`: it must lie in its bounds, and it narrows the others, which
    /// were placed before (smaller) or after (larger) it.
    fn learn(&mut self, i: usize, value: u64) -> Option<()> {
        let bounds = self.unknown[i].bounds;
        if value <= bounds.above || value >= bounds.below {
            return None;
        }
        for (j, other) in self.unknown.iter_mut().enumerate() {
            let other = &mut other.bounds;
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

    /// Forgets unknowns no node holds any more and renumbers the rest in order, so that states
    /// that differ only in forgotten unknowns compare equal. Keeps each unknown's holders exact
    /// (the nodes that still hold it), so that they too are the same in equal states.
    fn prune(&mut self) {
        if self.unknown.is_empty() {
            return;
        }
        let tree = &self.tree;
        let holds = |p: &Name, i: usize| {
            let zx = Zx::Unknown(i as u32);
            tree.node(p)
                .is_some_and(|n| n.czxid == zx || n.mzxid == zx || n.pzxid == zx)
        };
        let mut renamed: Vec<(u32, u32)> = Vec::new();
        let mut kept: Vec<Unknown> = Vec::with_capacity(self.unknown.len());
        for (i, u) in self.unknown.iter().enumerate() {
            let held = u.holders.iter().filter(|p| holds(p, i)).count();
            if held == 0 {
                continue;
            }
            let holders = match held == u.holders.len() {
                true => Arc::clone(&u.holders),
                false => u.holders.iter().filter(|p| holds(p, i)).cloned().collect(),
            };
            if kept.len() != i {
                renamed.push((i as u32, kept.len() as u32));
            }
            kept.push(Unknown {
                bounds: u.bounds,
                holders,
            });
        }
        // In increasing order, each new index is free when it is taken: the unknowns that held
        // it were forgotten or renamed to a smaller index already.
        for &(old, new) in &renamed {
            for p in kept[new as usize].holders.iter() {
                self.tree.map_zxids(p, |zx| match zx == Zx::Unknown(old) {
                    true => Zx::Unknown(new),
                    false => zx,
                });
            }
        }
        self.unknown = kept;
    }
}

/// What `ZnodeModel::step` does once its cheap checks pass.
enum Plan {
    /// Nothing changes.
    Same,
    Write,
    /// A read whose answer matched, with the unknown zxids it binds.
    Read(Vec<(u32, Zxid)>),
}

/// The znode model. A znode history always starts from a fresh server's tree; the only thing the
/// model may know about its history is the order of the zxids it shows (see `for_history`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZnodeModel {
    /// Header zxid of a write → header zxid of the previous write with one in the same part (0 for
    /// the first). Zxids that occur more than once in the history are left out.
    previous_write: BTreeMap<u64, u64>,
    /// Header zxid of a write → the parents whose existence is settled for it
    /// (`settled_parents`).
    settled: BTreeMap<u64, Vec<String>>,
    /// Place each read at its header zxid (`at_read_zxids`).
    reads_at_zxid: bool,
}

impl ZnodeModel {
    /// The model for `ops`, knowing the order of the writes whose zxid the history shows, part by
    /// part (see the module documentation). Any other history may be checked with it too, but a
    /// history whose writes show different zxids is then refused; the default model knows no
    /// order and accepts the same histories, more slowly.
    pub fn for_history(ops: &[Operation<ZkInput, ZkOutput>]) -> ZnodeModel {
        let mut count: BTreeMap<u64, usize> = BTreeMap::new();
        for op in ops {
            if let Some(zxid) = chained_zxid(op) {
                *count.entry(zxid).or_default() += 1;
            }
        }
        let settled = settled_parents(ops);
        let mut previous_write = BTreeMap::new();
        for part in partition_with(ops, &settled) {
            let mut zxids: Vec<u64> = part.iter().filter_map(|&i| chained_zxid(&ops[i])).collect();
            zxids.sort_unstable();
            let mut previous = 0;
            for zxid in zxids {
                if count[&zxid] == 1 {
                    previous_write.insert(zxid, previous);
                }
                previous = zxid;
            }
        }
        ZnodeModel {
            previous_write,
            settled,
            reads_at_zxid: false,
        }
    }

    /// The same model, with every read placed at its header zxid: a read answered at zxid `z`
    /// must show exactly the writes with zxids up to `z`, so nothing placed before it may have a
    /// larger zxid and nothing placed after it a smaller one. This is ZooKeeper's promise for
    /// reads served by a possibly lagging server (`protocols::checks`), not linearizability:
    /// the caller orders operations by zxid, not by real time.
    pub fn at_read_zxids(self) -> ZnodeModel {
        ZnodeModel {
            reads_at_zxid: true,
            ..self
        }
    }

    /// `Model::step` in place: applies the operation to `state` and says whether the model
    /// accepts it. After a refusal `state` is unspecified; a caller that goes on keeps a copy.
    /// For checkers that replay long histories mostly in order (`protocols::checks`), where
    /// copying the state at every step would cost more than the step.
    pub fn apply(
        &self,
        state: &mut ZnodeState,
        input: &ZkInput,
        output: Option<&ZkOutput>,
    ) -> bool {
        match self.plan(state, input, output) {
            Some(plan) => self.carry_out(state, plan, input, output).is_some(),
            None => false,
        }
    }

    /// The answer the model gives to `input` in `state`, in words, zxids it has not learned
    /// shown as `?`: what a report says was expected.
    pub fn expected_answer(&self, state: &ZnodeState, input: &ZkInput) -> String {
        let session = input.session_or_none();
        let open = session != SessionId::NONE && !state.closed.contains(&session);
        let outcome = match (&input.request, open) {
            (Request::Write(Write::OpenSession), _) => return "a new session".into(),
            (_, false) => Outcome::Err(ZkError::SessionExpired),
            (Request::Read(read), true) => state.tree.answer(read),
            (Request::Write(write), true) => {
                let mut tree = state.tree.clone();
                if !tree.is_open(session) {
                    tree.adopt_session(session);
                }
                tree.apply(Zx::Unknown(u32::MAX), session, write).outcome
            }
        };
        let shown = outcome.map(|r| {
            r.map_zxids(&mut |z| match z {
                Zx::Known(zxid) => zxid.to_string(),
                Zx::Unknown(_) => "?".to_string(),
            })
        });
        serde_json::to_string(&shown).expect("answers serialize")
    }

    /// The checks of `step` that need no copy of the state: `None` refuses the operation.
    fn plan(&self, state: &ZnodeState, input: &ZkInput, output: Option<&ZkOutput>) -> Option<Plan> {
        if let Some(output) = output {
            if !within_header(output) {
                return None;
            }
            if output.outcome == Outcome::Err(ZkError::SessionExpired) {
                return Some(Plan::Same);
            }
        }
        let session = input.session_or_none();
        let seen = output.map(|o| &o.outcome);
        if let Request::Write(Write::OpenSession) = input.request {
            return match seen {
                None | Some(Outcome::Ok(Reply::Session(_))) => Some(Plan::Same),
                Some(_) => None,
            };
        }
        let header = output.and_then(|o| o.zxid);
        let previous = header.and_then(|z| self.previous_write.get(&z.0).copied());
        match &input.request {
            // A write that cannot go here is refused before the state is copied.
            Request::Write(_) => {
                match header.is_some_and(|zxid| !state.may_place(zxid, previous)) {
                    true => None,
                    false => Some(Plan::Write),
                }
            }
            Request::Read(read) => {
                // A read changes nothing: answer it from `state`, so that a copy is made only for
                // an answer that can match.
                let open = session != SessionId::NONE && !state.closed.contains(&session);
                let view = match open {
                    true => state.tree.view(read),
                    false => Outcome::Err(ZkError::SessionExpired),
                };
                match seen {
                    Some(seen) => bindings(seen, |seen, pair| match (&view, seen) {
                        (Outcome::Ok(view), Outcome::Ok(seen)) => view.same_but_zxids(seen, pair),
                        (Outcome::Err(a), Outcome::Err(b)) => a == b,
                        _ => false,
                    })
                    .map(Plan::Read),
                    None => Some(Plan::Read(Vec::new())),
                }
            }
        }
    }

    /// Carries out `plan` on `next`: the state `plan` was made in, or a copy of it.
    fn carry_out(
        &self,
        next: &mut ZnodeState,
        plan: Plan,
        input: &ZkInput,
        output: Option<&ZkOutput>,
    ) -> Option<()> {
        let session = input.session_or_none();
        let seen = output.map(|o| &o.outcome);
        let header = output.and_then(|o| o.zxid);
        match (plan, &input.request) {
            (Plan::Same, _) => return Some(()),
            (Plan::Write, Request::Write(write)) => {
                let previous = header.and_then(|z| self.previous_write.get(&z.0).copied());
                // A session this part has not seen closed is open (see "Sessions" above).
                let open = session != SessionId::NONE && !next.closed.contains(&session);
                if open && !next.tree.is_open(session) {
                    next.tree.adopt_session(session);
                }
                // Parents settled for this write exist even if this part never created them.
                if let Some(parents) = header.and_then(|z| self.settled.get(&z.0)) {
                    for parent in parents {
                        next.tree.materialize(parent, Zx::Known(Zxid::ZERO));
                    }
                }
                let zx = next.place_write(header, previous)?;
                let applied = next.tree.apply(zx, session, write);
                next.held_by(zx, &applied.changes);
                if let (Write::CloseSession, true) = (write, applied.outcome.is_ok()) {
                    next.closed.insert(session);
                }
                if let Some(seen) = seen {
                    let bound = bindings(seen, |seen, pair| {
                        applied.outcome.same_but_zxids(seen, pair)
                    })?;
                    next.bind(&bound)?;
                }
            }
            (Plan::Read(bound), _) => {
                if let (true, Some(zxid)) = (self.reads_at_zxid, header) {
                    next.place_read(zxid)?;
                }
                next.bind(&bound)?;
            }
            (Plan::Write, Request::Read(_)) => unreachable!("a write plan is made for writes"),
        }
        next.prune();
        Some(())
    }
}

/// The header zxid of a write that `step` places by it: answered, with a zxid, by a session the
/// answer does not call expired, and not `open_session` (which `step` does not place).
fn chained_zxid(op: &Operation<ZkInput, ZkOutput>) -> Option<u64> {
    let output = op.output.as_ref()?;
    let is_placed_write = matches!(&op.input.request, Request::Write(w) if *w != Write::OpenSession)
        && output.outcome != Outcome::Err(ZkError::SessionExpired);
    output.zxid.filter(|_| is_placed_write).map(|z| z.0)
}

impl Model for ZnodeModel {
    type State = ZnodeState;
    type Input = ZkInput;
    type Output = ZkOutput;

    fn init(&self) -> ZnodeState {
        ZnodeState {
            tree: DataTree::new(Zx::Known(Zxid::ZERO)),
            closed: BTreeSet::new(),
            floor: 0,
            last_write: 0,
            unknown: Vec::new(),
        }
    }

    fn step(
        &self,
        state: &ZnodeState,
        input: &ZkInput,
        output: Option<&ZkOutput>,
    ) -> Option<ZnodeState> {
        // Most of the search's tries are refused by `plan`, before the state is copied.
        let plan = self.plan(state, input, output)?;
        let mut next = state.clone();
        self.carry_out(&mut next, plan, input, output)?;
        Some(next)
    }

    /// The order of the zxids and the settled parents came from determinate answers; a relaxed
    /// write shows no zxid, so both are learned again from `ops` (else the chain would still
    /// demand the relaxed write between its neighbours, and the shrinking would keep a "core"
    /// that fails only because of that). Parents settled by creates `ops` lacks stay settled:
    /// they are in other parts, which the shrinking of this part never relaxes.
    fn relaxed(&self, ops: &[Operation<ZkInput, ZkOutput>]) -> Option<ZnodeModel> {
        let mut model = ZnodeModel::for_history(ops);
        model.reads_at_zxid = self.reads_at_zxid;
        let created_here: BTreeSet<&str> = ops
            .iter()
            .flat_map(|op| creates_and_deletes(&op.input.request).0)
            .map(|c| c.path.as_str())
            .collect();
        let placed: BTreeSet<u64> = ops.iter().filter_map(chained_zxid).collect();
        for (zxid, parents) in &self.settled {
            if !placed.contains(zxid) {
                continue;
            }
            for q in parents {
                if created_here.contains(q.as_str()) {
                    continue;
                }
                let list = model.settled.entry(*zxid).or_default();
                if !list.contains(q) {
                    list.push(q.clone());
                }
            }
        }
        Some(model)
    }

    fn partition(&self, ops: &[Operation<ZkInput, ZkOutput>]) -> Vec<Vec<usize>> {
        partition_with(ops, &self.settled)
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
        let mut text = String::new();
        for (p, node) in state.tree.nodes() {
            text.push_str(&describe_node(p, Some(node)));
            text.push_str("; ");
        }
        if !state.closed.is_empty() {
            let closed: Vec<String> = state.closed.iter().map(ToString::to_string).collect();
            let _ = write!(text, "closed sessions {}; ", closed.join(","));
        }
        text.push_str(&describe_zxids(state));
        text
    }

    /// The nodes a read looked at, the nodes a write made, changed or deleted, the sessions it
    /// closed, and the zxids: not the whole tree at every step.
    fn describe_change(&self, before: &ZnodeState, after: &ZnodeState, input: &ZkInput) -> String {
        let mut text = String::new();
        let read = match &input.request {
            Request::Read(Read::GetData(w) | Read::Exists(w) | Read::GetChildren(w)) => {
                Some(w.path.as_str())
            }
            _ => None,
        };
        let mut shown = BTreeSet::new();
        for (p, node) in after.tree.nodes() {
            if read == Some(p) || before.tree.node(p) != Some(node) {
                shown.insert(p);
                text.push_str(&describe_node(p, Some(node)));
                text.push_str("; ");
            }
        }
        for (p, _) in before.tree.nodes() {
            if after.tree.node(p).is_none() {
                let _ = write!(text, "{p} deleted; ");
            }
        }
        if let Some(p) = read.filter(|p| !shown.contains(p) && after.tree.node(p).is_none()) {
            let _ = write!(text, "{p} absent; ");
        }
        let closed: Vec<String> = after
            .closed
            .difference(&before.closed)
            .map(ToString::to_string)
            .collect();
        if !closed.is_empty() {
            let _ = write!(text, "session {} closed; ", closed.join(","));
        }
        text.push_str(&describe_zxids(after));
        text
    }

    /// What a state adds to the states before it, which it shares everything else with: the path
    /// its write copied in the tree's persistent maps (a B+ tree node of at most 16 entries per
    /// level, in the node map and in a parent's child set), the node it changed and its parent,
    /// and its own list of unknowns.
    fn state_heap_bytes(&self, state: &ZnodeState) -> usize {
        const BTREE_NODE_BYTES: usize = 16 * 24 + 32;
        const NODE_BYTES: usize = 192;
        let levels = 1 + state.tree.node_count().max(1).ilog(16) as usize;
        let unknown_bytes = state
            .unknown
            .iter()
            .map(|u| std::mem::size_of::<Unknown>() + 16 + 16 * u.holders.len())
            .sum::<usize>();
        2 * levels * BTREE_NODE_BYTES + 2 * NODE_BYTES + unknown_bytes
    }
}

/// The unknown zxids `seen` binds if it is the model's answer, in the order it shows them:
/// `None` if it cannot be (it differs but for zxids, shows another value for a known zxid, or two
/// values for one unknown). `same` compares the model's answer with `seen` (`same_but_zxids`),
/// passing each pair of zxids to the given function. Whether the values fit the unknowns' bounds
/// is `ZnodeState::bind`'s to decide.
fn bindings(
    seen: &Outcome<Reply>,
    same: impl FnOnce(&Outcome<Reply>, &mut dyn FnMut(Zx, Zxid) -> bool) -> bool,
) -> Option<Vec<(u32, Zxid)>> {
    let mut bound: Vec<(u32, Zxid)> = Vec::new();
    let same = same(seen, &mut |zx, seen| match zx {
        Zx::Known(known) => known == seen,
        Zx::Unknown(i) => match bound.iter().find(|&&(j, _)| j == i) {
            Some(&(_, value)) => value == seen,
            None => {
                bound.push((i, seen));
                true
            }
        },
    });
    same.then_some(bound)
}

/// Every zxid an answer shows is at most the zxid of its reply header.
fn within_header(output: &ZkOutput) -> bool {
    match (output.zxid, &output.outcome) {
        (Some(header), Outcome::Ok(reply)) => reply
            .stats()
            .all(|s| s.czxid <= header && s.mzxid <= header && s.pzxid <= header),
        _ => true,
    }
}

/// A node, or every node a sequential create under `parent` with `prefix` can make. Borrowed from
/// the operations' paths, so that splitting a large history allocates little.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target<'a> {
    Path(&'a str),
    Family { parent: &'a str, prefix: &'a str },
}

impl<'a> Target<'a> {
    /// The target of node `p`: its family's when its name could be a sequential create's (it
    /// ends in ten digits, or a sign and nine), else its own.
    fn of(p: &'a str) -> Target<'a> {
        let name = path::name(p);
        let suffix_at = name.len().saturating_sub(path::SEQUENTIAL_SUFFIX_LEN);
        let sequential = name.len() >= path::SEQUENTIAL_SUFFIX_LEN
            && name.as_bytes()[suffix_at..]
                .iter()
                .all(|b| b.is_ascii_digit() || *b == b'-');
        match path::parent(p) {
            Some(parent) if sequential => Target::Family {
                parent,
                prefix: &name[..suffix_at],
            },
            _ => Target::Path(p),
        }
    }

    /// The target of the node a create of `create.path` under `parent` makes.
    fn created(create: &'a Create, parent: &'a str) -> Target<'a> {
        match create.mode.is_sequential() {
            true => Target::Family {
                parent,
                prefix: path::name(&create.path),
            },
            false => Target::of(&create.path),
        }
    }
}

/// A piece of state operations read and write (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    /// Whether the node exists, and its kind and owner.
    Exists(Target<'a>),
    /// Its data, version, czxid and mzxid.
    Data(Target<'a>),
    /// Its children, creation counter, cversion and pzxid.
    Children(&'a str),
}

/// The keys one operation reads and writes. `settled` are parents whose existence the operation
/// does not read, because it is the same in every order real time allows (`settled_parents`).
#[derive(Clone, Default)]
struct Footprint<'a> {
    reads: Vec<Key<'a>>,
    writes: Vec<Key<'a>>,
}

impl<'a> Footprint<'a> {
    fn read_write(&mut self, key: Key<'a>) {
        self.reads.push(key);
        self.writes.push(key);
    }

    /// Reading a parent's existence (and kind), for a create or delete of one of its children.
    fn parent(&mut self, parent: &'a str, settled: &[String]) {
        if !settled.iter().any(|s| s == parent) {
            self.reads.push(Key::Exists(Target::of(parent)));
        }
    }

    fn create(&mut self, create: &'a Create, settled: &[String]) {
        let Some(parent) = path::parent(&create.path).filter(|_| !path::has_nul(&create.path))
        else {
            return;
        };
        self.parent(parent, settled);
        if create.mode.is_sequential() {
            self.reads.push(Key::Children(parent));
        }
        let node = Target::created(create, parent);
        self.read_write(Key::Exists(node));
        self.writes.push(Key::Data(node));
        self.writes.push(Key::Children(parent));
    }

    fn delete(&mut self, p: &'a str, settled: &[String]) {
        let Some(parent) = path::parent(p) else {
            return;
        };
        if path::has_nul(p) || path::is_undeletable(p) {
            return;
        }
        self.parent(parent, settled);
        self.read_write(Key::Exists(Target::of(p)));
        self.reads.push(Key::Data(Target::of(p)));
        self.reads.push(Key::Children(p));
        self.writes.push(Key::Children(parent));
    }

    /// A request that reads node `p` whole (its answer is a Stat) and, for set_data, writes its
    /// data.
    fn stat_of(&mut self, p: &'a str, sets_data: bool) {
        self.reads.push(Key::Exists(Target::of(p)));
        match sets_data {
            true => self.read_write(Key::Data(Target::of(p))),
            false => self.reads.push(Key::Data(Target::of(p))),
        }
        self.reads.push(Key::Children(p));
    }

    fn check(&mut self, p: &'a str) {
        self.reads.push(Key::Exists(Target::of(p)));
        self.reads.push(Key::Data(Target::of(p)));
    }

    /// `input`'s keys; `ephemeral` gives, per session, what its close touches.
    fn of(
        input: &'a ZkInput,
        settled: &[String],
        ephemeral: &BTreeMap<SessionId, Footprint<'a>>,
    ) -> Footprint<'a> {
        let mut fp = Footprint::default();
        match &input.request {
            Request::Write(Write::OpenSession) | Request::Read(Read::Sync(_)) => {}
            Request::Write(Write::CloseSession) => {
                if let Some(owned) = ephemeral.get(&input.session_or_none()) {
                    fp = owned.clone();
                }
            }
            Request::Write(Write::Create(c)) => fp.create(c, settled),
            Request::Write(Write::Delete(d)) => fp.delete(&d.path, settled),
            Request::Write(Write::SetData(s)) => fp.stat_of(&s.path, true),
            Request::Write(Write::Multi(m)) => {
                for op in &m.ops {
                    match op {
                        SubOp::Create(c) => fp.create(c, settled),
                        SubOp::Delete(d) => fp.delete(&d.path, settled),
                        SubOp::SetData(s) => fp.stat_of(&s.path, true),
                        SubOp::Check(c) => fp.check(&c.path),
                    }
                }
            }
            Request::Read(Read::GetData(r) | Read::Exists(r) | Read::GetChildren(r)) => {
                fp.stat_of(&r.path, false)
            }
        }
        fp
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

/// Every create and delete a request makes, single or inside a multi.
fn creates_and_deletes(request: &Request) -> (Vec<&Create>, Vec<&str>) {
    let (mut creates, mut deletes) = (Vec::new(), Vec::new());
    match request {
        Request::Write(Write::Create(c)) => creates.push(c),
        Request::Write(Write::Delete(d)) => deletes.push(d.path.as_str()),
        Request::Write(Write::Multi(m)) => {
            for op in &m.ops {
                match op {
                    SubOp::Create(c) => creates.push(c),
                    SubOp::Delete(d) => deletes.push(d.path.as_str()),
                    SubOp::SetData(_) | SubOp::Check(_) => {}
                }
            }
        }
        _ => {}
    }
    (creates, deletes)
}

/// The parents whose existence is settled for each write with a known, unique header zxid: by
/// that zxid, the parents of the nodes it creates or deletes that exist, as non-ephemeral nodes,
/// at every point where real time lets the write take effect. A parent `q` qualifies when
///
/// - no operation of the history can delete it: no delete of `q`, no ephemeral create of `q` (its
///   session's close would delete it), no sequential create that could name it;
/// - a create of `q` answered success and completed before the write was invoked.
///
/// Then `q` exists from that create on and forever, so the write's answer does not depend on
/// where `create q` is placed: the write need not join the part of `q`'s create, and `step`
/// makes `q` exist in a part that lacks it (`DataTree::materialize`).
fn settled_parents(ops: &[Operation<ZkInput, ZkOutput>]) -> BTreeMap<u64, Vec<String>> {
    // Paths some operation may delete, or whose creation settles nothing.
    let mut unsettled: BTreeSet<&str> = BTreeSet::new();
    // Path → the earliest completion of a successful create of it.
    let mut created_by: BTreeMap<&str, u64> = BTreeMap::new();
    for op in ops {
        let (creates, deletes) = creates_and_deletes(&op.input.request);
        unsettled.extend(deletes);
        let answers: Vec<bool> = match op.output.as_ref().map(|o| &o.outcome) {
            Some(Outcome::Ok(Reply::Multi(entries))) => {
                entries.iter().map(Outcome::is_ok).collect()
            }
            Some(Outcome::Ok(Reply::Created(_))) => vec![true],
            _ => vec![false; creates.len()],
        };
        for (create, succeeded) in creates.iter().zip(answers) {
            // A sequential create names nodes of a family, which are never settled.
            if create.mode.is_sequential() {
                continue;
            }
            if create.mode.is_ephemeral() {
                unsettled.insert(&create.path);
                continue;
            }
            if succeeded {
                let completed = created_by.entry(&create.path).or_insert(op.ret);
                *completed = (*completed).min(op.ret);
            }
        }
    }
    let mut zxid_count: BTreeMap<u64, usize> = BTreeMap::new();
    for op in ops {
        if let Some(zxid) = chained_zxid(op) {
            *zxid_count.entry(zxid).or_default() += 1;
        }
    }
    let mut settled = BTreeMap::new();
    for op in ops {
        let Some(zxid) = chained_zxid(op).filter(|z| zxid_count[z] == 1) else {
            continue;
        };
        let (creates, deletes) = creates_and_deletes(&op.input.request);
        let children = creates.iter().map(|c| c.path.as_str()).chain(deletes);
        let mut parents: Vec<String> = children
            .filter_map(path::parent)
            .filter(|q| {
                !unsettled.contains(q)
                    && matches!(Target::of(q), Target::Path(_))
                    && created_by.get(q).is_some_and(|&done| done < op.call)
            })
            .map(str::to_string)
            .collect();
        parents.sort();
        parents.dedup();
        if !parents.is_empty() {
            settled.insert(zxid, parents);
        }
    }
    settled
}

/// One node in words, for counterexamples.
fn describe_node(p: &str, node: Option<&tree::Node<Zx>>) -> String {
    let Some(node) = node else {
        return format!("{p} absent");
    };
    let zx = |z: Zx| match z {
        Zx::Known(zxid) => zxid.to_string(),
        Zx::Unknown(i) => format!("z{i}"),
    };
    let stat = node.stat();
    let mut text = format!(
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
    text
}

/// The last zxid of a state and the bounds of the zxids it does not know yet.
fn describe_zxids(state: &ZnodeState) -> String {
    let mut text = format!("last zxid {}", state.floor);
    for (i, u) in state.unknown.iter().enumerate() {
        let _ = write!(text, "; {} < z{i} < {}", u.bounds.above, u.bounds.below);
    }
    text
}

/// Splits operations into independent parts (see the module documentation): lists of indices,
/// each in increasing order, the parts ordered by their first index. `settled` is
/// `settled_parents`'s answer (or empty).
fn partition_with(
    ops: &[Operation<ZkInput, ZkOutput>],
    settled: &BTreeMap<u64, Vec<String>>,
) -> Vec<Vec<usize>> {
    // What close_session(s) touches: the nodes every ephemeral create of s may have made.
    let mut ephemeral: BTreeMap<SessionId, Footprint> = BTreeMap::new();
    for op in ops {
        for create in ephemeral_creates(&op.input.request) {
            let Some(parent) = path::parent(&create.path) else {
                continue;
            };
            let footprint = ephemeral.entry(op.input.session_or_none()).or_default();
            footprint.read_write(Key::Exists(Target::created(create, parent)));
            footprint.writes.push(Key::Children(parent));
        }
    }
    // Each key once, as a number, with whether anyone reads it and anyone writes it.
    let mut ids: BTreeMap<Key, usize> = BTreeMap::new();
    let mut read: Vec<bool> = Vec::new();
    let mut written: Vec<bool> = Vec::new();
    let no_parents = Vec::new();
    let touched: Vec<Vec<usize>> = ops
        .iter()
        .map(|op| {
            let parents = chained_zxid(op)
                .and_then(|z| settled.get(&z))
                .unwrap_or(&no_parents);
            let fp = Footprint::of(&op.input, parents, &ephemeral);
            let reads = fp.reads.into_iter().map(|key| (key, true));
            let writes = fp.writes.into_iter().map(|key| (key, false));
            reads
                .chain(writes)
                .map(|(key, is_read)| {
                    let next = ids.len();
                    let id = *ids.entry(key).or_insert(next);
                    if id == next {
                        read.push(false);
                        written.push(false);
                    }
                    read[id] |= is_read;
                    written[id] |= !is_read;
                    id
                })
                .collect()
        })
        .collect();

    // Only a key that is both read and written couples operations.
    let mut sets = UnionFind::new(ops.len());
    let mut first_with_key: Vec<Option<usize>> = vec![None; ids.len()];
    for (index, keys) in touched.iter().enumerate() {
        for &id in keys {
            if read[id] && written[id] {
                let first = *first_with_key[id].get_or_insert(index);
                sets.union(first, index);
            }
        }
    }
    let mut parts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for index in 0..ops.len() {
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
        let model = ZnodeModel::default();
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
    fn forgotten_unknowns_renumber_the_rest_and_leave_equal_states() {
        let make = |p: &str, zxid| {
            (
                input(S1, create(p, CreateMode::Persistent)),
                Some(created(p, zxid)),
            )
        };
        let lost = |p: &str, data| (input(S1, set(p, data)), None);
        let known = (
            input(S1, set("/a", "z")),
            Some(ok(Reply::Stat(stat(5, 10, 2)), 10)),
        );
        let a_then_b = [
            make("/a", 5),
            make("/b", 6),
            lost("/a", "x"),
            lost("/b", "y"),
            known.clone(),
        ];
        let b_then_a = [
            make("/a", 5),
            make("/b", 6),
            lost("/b", "y"),
            lost("/a", "x"),
            known,
        ];
        // /a's unknown is overwritten and forgotten; /b's is renumbered to 0 and its holder kept.
        let first = run(&a_then_b).unwrap();
        assert_eq!(first.unknown.len(), 1);
        assert_eq!(&*first.unknown[0].holders, &[Name::from("/b")]);
        assert_eq!(first.tree().node("/b").unwrap().mzxid, Zx::Unknown(0));
        let second = run(&b_then_a).unwrap();
        assert_eq!(first, second);
        assert_eq!(
            sim::trace::StableHasher::of(&first),
            sim::trace::StableHasher::of(&second)
        );
        // A read binds the renumbered unknown, within its bounds (6, 10).
        let read = |mzxid| {
            let reply = data(
                "y",
                Stat {
                    pzxid: Zxid(6),
                    ..stat(6, mzxid, 1)
                },
            );
            (input(S1, get("/b")), Some(ok(reply, 20)))
        };
        let mut steps = a_then_b.to_vec();
        steps.push(read(8));
        let bound = run(&steps).unwrap();
        assert_eq!(bound.tree().node("/b").unwrap().mzxid, Zx::Known(Zxid(8)));
        assert!(bound.unknown.is_empty());
        steps.pop();
        steps.push(read(11));
        assert!(run(&steps).is_none(), "11 is above the later known write");
    }

    #[test]
    fn reads_at_their_zxid_pin_unknown_writes() {
        let make = (
            input(S1, create("/a", CreateMode::Persistent)),
            Some(created("/a", 5)),
        );
        let lost = (input(S1, set("/a", "x")), None);
        let read = |data_: &str, mzxid, version, header| {
            let reply = data(data_, stat(5, mzxid, version));
            (input(S1, get("/a")), Some(ok(reply, header)))
        };
        let run_at = |steps: &[(ZkInput, Option<ZkOutput>)]| {
            let model = ZnodeModel::default().at_read_zxids();
            let mut state = model.init();
            for (input, output) in steps {
                state = model.step(&state, input, output.as_ref())?;
            }
            Some(state)
        };
        // The old data at zxid 6, then the lost write's data at zxid 9 with mzxid 8: the lost
        // write lies in (6, 9].
        let steps = [
            make.clone(),
            read("d", 5, 0, 6),
            lost.clone(),
            read("x", 8, 1, 9),
        ];
        assert!(run_at(&steps).is_some());
        // With mzxid 6 it would have to precede the read at 6, which did not see it.
        let steps = [
            make.clone(),
            read("d", 5, 0, 6),
            lost.clone(),
            read("x", 6, 1, 9),
        ];
        assert!(run_at(&steps).is_none());
        assert!(run(&steps).is_some(), "without reads at their zxid it fits");
        // A write placed before a read must not be above the read's zxid.
        let other = (
            input(S1, create("/b", CreateMode::Persistent)),
            Some(created("/b", 7)),
        );
        let steps = [make.clone(), other.clone(), read("d", 5, 0, 7)];
        assert!(run_at(&steps).is_some());
        let steps = [make, other, read("d", 5, 0, 6)];
        assert!(run_at(&steps).is_none());
        assert!(run(&steps).is_some(), "without reads at their zxid it fits");
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

    /// One operation after another, each answered (by `answers`, else as unknown) with the
    /// header zxid `index + 1`.
    fn history(inputs: &[ZkInput], answers: &[(usize, Outcome<Reply>)]) -> Vec<Op> {
        inputs
            .iter()
            .enumerate()
            .map(|(i, input)| Operation {
                process: i as u64,
                input: input.clone(),
                output: answers
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map(|(_, outcome)| ZkOutput {
                        outcome: outcome.clone(),
                        zxid: Some(Zxid(i as u64 + 1)),
                    }),
                call: 2 * i as u64,
                ret: 2 * i as u64 + 1,
                line: i + 1,
            })
            .collect()
    }

    type Op = Operation<ZkInput, ZkOutput>;

    fn children(path: &str) -> Request {
        Request::Read(Read::GetChildren(Watched {
            path: path.into(),
            watch: false,
        }))
    }

    fn delete(path: &str) -> Request {
        Request::Write(Write::Delete(Delete {
            path: path.into(),
            version: -1,
        }))
    }

    #[test]
    fn partition_joins_what_one_operation_can_observe_of_another() {
        let s2 = Some(SessionId(2));
        let inputs = [
            input(None, Request::Write(Write::OpenSession)), // 0: alone
            input(S1, create("/a", CreateMode::Persistent)), // 1: /a
            input(S1, create("/b", CreateMode::Persistent)), // 2: /b (nobody lists /)
            input(S1, get("/a")),                            // 3: /a
            input(S1, create("/a/q-", CreateMode::PersistentSequential)), // 4: /a's child
            input(S1, get("/a/q-0000000003")),               // 5: the family
            input(s2, create("/b/e", CreateMode::Ephemeral)), // 6: /b (its parent)
            input(s2, Request::Write(Write::CloseSession)),  // 7: deletes /b/e
            input(S1, get("/c")),                            // 8: alone
            input(S1, delete("/b")),                         // 9: reads /b's children
            input(S1, children("/d")),                       // 10: /d's children
            input(S1, create("/d/x", CreateMode::Persistent)), // 11: listed by 10
            input(S1, create("/z/y", CreateMode::Persistent)), // 12: /z never written
            input(S1, create("/z/w", CreateMode::Persistent)), // 13: /z never written
            input(S1, set("/a", "x")),                       // 14: /a's data, read by 3
            input(S1, set("/d", "x")),                       // 15: /d's data, unread
        ];
        let ops = history(&inputs, &[]);
        let parts = ZnodeModel::default().partition(&ops);
        assert_eq!(
            parts,
            vec![
                vec![0],
                vec![1, 3, 4, 5, 14],
                vec![2, 6, 7, 9],
                vec![8],
                vec![10, 11, 15],
                vec![12],
                vec![13],
            ]
        );
        // Listing the root joins every create and delete directly under it.
        let mut with_root = inputs.to_vec();
        with_root.push(input(S1, children("/")));
        let parts = ZnodeModel::default().partition(&history(&with_root, &[]));
        assert!(
            parts
                .iter()
                .any(|p| [1, 2, 16].iter().all(|i| p.contains(i)))
        );
    }

    #[test]
    fn a_parent_created_for_good_does_not_join_its_children() {
        let made = |path: &str, zxid| {
            Outcome::Ok(Reply::Created(Created {
                path: path.into(),
                stat: Stat {
                    data_length: 0,
                    ..stat(zxid, zxid, 0)
                },
            }))
        };
        let mut inputs = vec![
            input(S1, create("/app", CreateMode::Persistent)), // 0
            input(S1, create("/app/x", CreateMode::Persistent)), // 1
            input(S1, create("/app/y", CreateMode::Persistent)), // 2
            input(S1, delete("/app/x")),                       // 3
        ];
        for input in &mut inputs {
            if let Request::Write(Write::Create(c)) = &mut input.request {
                c.data = String::new();
            }
        }
        let answers = [
            (0, made("/app", 1)),
            (1, made("/app/x", 2)),
            (2, made("/app/y", 3)),
            (3, Outcome::Ok(Reply::Done)),
        ];
        let ops = history(&inputs, &answers);
        let model = ZnodeModel::for_history(&ops);
        assert_eq!(model.partition(&ops), vec![vec![0], vec![1, 3], vec![2]]);
        // Each part checks on its own: /app exists in the parts that never create it.
        for part in model.partition(&ops) {
            let mut state = model.init();
            for i in part {
                state = model
                    .step(&state, &ops[i].input, ops[i].output.as_ref())
                    .unwrap();
            }
        }
        // Without the create's success, or if /app may be deleted, the parts stay joined.
        let unanswered = history(&inputs, &answers[1..]);
        assert_eq!(
            ZnodeModel::for_history(&unanswered)
                .partition(&unanswered)
                .len(),
            1
        );
        inputs.push(input(S1, delete("/app")));
        let deletable = history(&inputs, &answers);
        assert_eq!(
            ZnodeModel::for_history(&deletable)
                .partition(&deletable)
                .len(),
            1
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
