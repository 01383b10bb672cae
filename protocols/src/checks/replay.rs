//! A fast way to show that a history in zxid time is explained: replay its operations in order on
//! one znode-model state, changed in place (`ZnodeModel::apply`), and place the writes whose zxid
//! is unknown only where an answer needs them. A replay that reaches the end is a witness: an
//! order the model accepts, so the operations are explained. A replay that gets stuck proves
//! nothing — its choices of where to place unknown writes are heuristic — and the caller then asks
//! the exact search (`sim::check::check`). So this module only ever says "explained" or "don't
//! know"; it never decides a violation, and it never reads a clock: its effort is a count of model
//! steps.
//!
//! In zxid time every operation whose zxid is known is a point, and the points are already in
//! order. What is left to decide is where the *floating* writes go (answered without a zxid, or
//! not answered): at any place after their earliest position, or nowhere. The replay leaves each
//! one out until an answer cannot be explained without it. Then, for the point that failed, it
//! tries each floating write that changes something the point observes, at a few places: at the
//! gap of a zxid that no known write has and that the point's answer, or a later answer observing
//! what the write changes, shows (the floating write's own zxid, as an answer reveals it); just
//! before the point; just after the last operation that observed what the write changes; and
//! last, every place from its earliest on, skipping ahead past the operations that refuse it. Choices that lead nowhere are undone (depth-first, with the
//! order so far and copies of the state every `CHECKPOINT_EVERY` operations, made only once a
//! point needed a floating write). It tries one floating write per point first, then more
//! (iterative deepening, `PASSES`).

use crate::znode::model::{ZnodeModel, ZnodeState};
use crate::znode::path;
use crate::znode::{
    Create, Outcome, Read, Reply, Request, SessionId, SubOp, SubReply, Write, ZkInput, ZkOutput,
};
use sim::check::{Model, Operation};
use std::collections::BTreeSet;

/// A copy of the state is kept every this many operations of the order.
const CHECKPOINT_EVERY: usize = 64;

/// Entries of the order looked at (their footprints compared, or copied when a choice is saved or
/// undone) that cost as much as one model step. The replay's effort is counted in model steps, and
/// these scans count too: uncounted, on a history with thousands of floating writes they took ten
/// times the check's time limit (issue 7).
const SCANNED_PER_STEP: u64 = 32;

/// The replay's passes, each from the start: at most how many floating writes placed for one
/// point, and whether to scan for their places. Cheap choices first everywhere before costly ones
/// anywhere (iterative deepening): a choice that explains one point may only be undone once a
/// later point fails, and a costly search at that later point would be spent in vain.
const PASSES: [(usize, bool); 5] = [(1, false), (1, true), (2, false), (2, true), (3, true)];

type Op = Operation<ZkInput, ZkOutput>;

/// A piece of the tree an operation changes or observes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Aspect<'a> {
    /// A node: whether it exists, its data, version and zxids.
    Node(&'a str),
    /// A node's children: the list, their count, cversion, pzxid, the sequence counter.
    Kids(&'a str),
    /// Any node a sequential create under `parent` with name `prefix` makes (its name is not
    /// known): `parent/prefix` and ten digits.
    Family(&'a str, &'a str),
}

fn meet(a: Aspect<'_>, b: Aspect<'_>) -> bool {
    match (a, b) {
        (Aspect::Node(x), Aspect::Node(y)) | (Aspect::Kids(x), Aspect::Kids(y)) => x == y,
        (Aspect::Family(q, prefix), Aspect::Node(p))
        | (Aspect::Node(p), Aspect::Family(q, prefix)) => {
            path::parent(p) == Some(q)
                && path::name(p)
                    .strip_prefix(prefix)
                    .is_some_and(|suffix| suffix.len() == path::SEQUENTIAL_SUFFIX_LEN)
        }
        (Aspect::Family(q, x), Aspect::Family(r, y)) => q == r && x == y,
        _ => false,
    }
}

fn meets(a: &[Aspect<'_>], b: &[Aspect<'_>]) -> bool {
    a.iter().any(|&x| b.iter().any(|&y| meet(x, y)))
}

/// What an operation changes and what its answer depends on. Coarse (it errs towards meeting):
/// it only narrows which floating writes and places the replay tries.
#[derive(Clone, Debug, Default)]
struct Footprint<'a> {
    touches: Vec<Aspect<'a>>,
    observes: Vec<Aspect<'a>>,
}

impl<'a> Footprint<'a> {
    fn of(op: &'a Op, ephemeral: &[(SessionId, &'a str)]) -> Footprint<'a> {
        let mut fp = Footprint::default();
        let made = |k: Option<usize>| -> Option<&'a str> {
            match op.output.as_ref().map(|o| &o.outcome) {
                Some(Outcome::Ok(Reply::Created(c))) => Some(&c.path),
                Some(Outcome::Ok(Reply::Multi(entries))) => match entries.get(k?) {
                    Some(Outcome::Ok(SubReply::Created(c))) => Some(&c.path),
                    _ => None,
                },
                _ => None,
            }
        };
        match &op.input.request {
            Request::Read(Read::GetData(w) | Read::Exists(w) | Read::GetChildren(w)) => {
                fp.observes.push(Aspect::Node(&w.path));
                fp.observes.push(Aspect::Kids(&w.path));
            }
            Request::Read(Read::Sync(_)) | Request::Write(Write::OpenSession) => {}
            Request::Write(Write::Create(c)) => fp.create(c, made(None)),
            Request::Write(Write::Delete(d)) => fp.delete(&d.path),
            Request::Write(Write::SetData(s)) => fp.set(&s.path),
            Request::Write(Write::Multi(m)) => {
                for (k, sub) in m.ops.iter().enumerate() {
                    match sub {
                        SubOp::Create(c) => fp.create(c, made(Some(k))),
                        SubOp::Delete(d) => fp.delete(&d.path),
                        SubOp::SetData(s) => fp.set(&s.path),
                        SubOp::Check(c) => fp.observes.push(Aspect::Node(&c.path)),
                    }
                }
            }
            Request::Write(Write::CloseSession) => {
                let session = op.input.session_or_none();
                for &(owner, p) in ephemeral {
                    if owner == session {
                        fp.delete(p);
                    }
                }
            }
        }
        fp
    }

    fn create(&mut self, c: &'a Create, made: Option<&'a str>) {
        let parent = path::parent(&c.path).unwrap_or("/");
        let node = match (made, c.mode.is_sequential()) {
            (Some(p), _) => Aspect::Node(p),
            (None, false) => Aspect::Node(&c.path),
            (None, true) => Aspect::Family(parent, path::name(&c.path)),
        };
        self.touches.extend([node, Aspect::Kids(parent)]);
        self.observes.extend([node, Aspect::Node(parent)]);
        if c.mode.is_sequential() {
            self.observes.push(Aspect::Kids(parent));
        }
    }

    fn delete(&mut self, p: &'a str) {
        let parent = path::parent(p).unwrap_or("/");
        self.touches.extend([Aspect::Node(p), Aspect::Kids(parent)]);
        self.observes.extend([Aspect::Node(p), Aspect::Kids(p)]);
    }

    fn set(&mut self, p: &'a str) {
        self.touches.push(Aspect::Node(p));
        self.observes.extend([Aspect::Node(p), Aspect::Kids(p)]);
    }
}

/// Where to try a floating write.
#[derive(Clone, Copy, Debug)]
struct Opt {
    float: usize,
    /// The log position to try next.
    at: usize,
    /// After a failure go on at the next place that might work, rather than give up.
    scan: bool,
}

/// A choice made for a point: the order and placements before it, and what is left to try.
struct Frame {
    point: usize,
    saved_log: Vec<usize>,
    saved_placed: Vec<bool>,
    options: Vec<Opt>,
    next: usize,
    /// The floating write this choice placed, once it placed one.
    chosen: Option<usize>,
    /// Floating writes placed for this point so far (this choice included).
    depth: usize,
}

/// Replays `part` of `ops` (operations in zxid time: determinate ones are points, in order of
/// `call`; indeterminate ones float from their `call`) on `model`, which must not expect the
/// operations split any other way (a model built for the whole history knows the order of each of
/// its own parts' zxids; `ZnodeModel::default()` knows none and takes any set). `known` holds the
/// zxids of the writes whose zxid is known, sorted. Returns the order the model accepts (indices
/// into `ops`; the floating writes left out did not take effect), if it found one within `limit`
/// model steps, and adds the steps it took to `steps`.
pub(crate) fn explains(
    model: &ZnodeModel,
    ops: &[Op],
    part: &[usize],
    known: &[u64],
    limit: u64,
    steps: &mut u64,
) -> Option<Vec<usize>> {
    let mut points: Vec<usize> = part
        .iter()
        .copied()
        .filter(|&i| ops[i].ret != u64::MAX)
        .collect();
    points.sort_by_key(|&i| (ops[i].call, i));
    let floats: Vec<usize> = part
        .iter()
        .copied()
        .filter(|&i| ops[i].ret == u64::MAX)
        .collect();
    let mut ephemeral: Vec<(SessionId, &str)> = Vec::new();
    for &i in part {
        let op = &ops[i];
        let creates: Vec<&Create> = match &op.input.request {
            Request::Write(Write::Create(c)) => vec![c],
            Request::Write(Write::Multi(m)) => m
                .ops
                .iter()
                .filter_map(|s| match s {
                    SubOp::Create(c) => Some(c),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for c in creates.into_iter().filter(|c| c.mode.is_ephemeral()) {
            ephemeral.push((op.input.session_or_none(), c.path.as_str()));
        }
    }
    let float_prints: Vec<Footprint> = floats
        .iter()
        .map(|&f| Footprint::of(&ops[f], &ephemeral))
        .collect();
    let point_prints: Vec<Footprint> = points
        .iter()
        .map(|&i| Footprint::of(&ops[i], &ephemeral))
        .collect();
    // The zxids each point's answer shows that no known write has: floating writes' own.
    let mut revealing: Vec<(usize, Vec<u64>)> = Vec::new();
    for (p, &i) in points.iter().enumerate() {
        let mut zxids = Vec::new();
        if let Some(output) = &ops[i].output {
            output.outcome.map(|r| {
                r.map_zxids(&mut |z| {
                    if z.0 != 0 && known.binary_search(&z.0).is_err() && !zxids.contains(&z.0) {
                        zxids.push(z.0);
                    }
                })
            });
        }
        if !zxids.is_empty() {
            revealing.push((p, zxids));
        }
    }
    // For each floating write, the points that reveal a zxid and observe what it changes, with
    // the zxids they reveal.
    let revealed_to: Vec<Vec<(usize, &[u64])>> = float_prints
        .iter()
        .map(|print| {
            revealing
                .iter()
                .filter(|(p, _)| meets(&print.touches, &point_prints[*p].observes))
                .map(|(p, zxids)| (*p, zxids.as_slice()))
                .collect()
        })
        .collect();
    let mut spent = 0;
    for (max_depth, scans) in PASSES {
        let mut r = Replay {
            model,
            ops,
            points: &points,
            point_prints: &point_prints,
            floats: &floats,
            float_prints: &float_prints,
            revealed_to: &revealed_to,
            placed: vec![false; floats.len()],
            log: Vec::new(),
            checkpoints: vec![(0, model.init())],
            steps: spent,
            scanned: 0,
            limit,
            max_depth,
            scans,
        };
        let explained = r.run();
        spent = r.steps;
        if explained {
            *steps += spent;
            return Some(r.log.iter().map(|&e| r.index(e)).collect());
        }
        // Without floating writes there is nothing to choose: one replay decides.
        if floats.is_empty() || spent > limit {
            break;
        }
    }
    *steps += spent;
    None
}

struct Replay<'a> {
    model: &'a ZnodeModel,
    ops: &'a [Op],
    /// Points (indices into `ops`) in order, and their footprints.
    points: &'a [usize],
    point_prints: &'a [Footprint<'a>],
    /// Floating writes (indices into `ops`) and their footprints.
    floats: &'a [usize],
    float_prints: &'a [Footprint<'a>],
    /// For each floating write, the points (in order) whose answers show zxids no known write
    /// has and observe what the write changes, and those zxids.
    revealed_to: &'a [Vec<(usize, &'a [u64])>],
    placed: Vec<bool>,
    /// The order so far: point `k` is entry `2k`, floating write `k` is entry `2k + 1`.
    log: Vec<usize>,
    /// (length of the log, the state after that prefix), by increasing length.
    checkpoints: Vec<(usize, ZnodeState)>,
    steps: u64,
    /// Entries scanned since the last step they were charged as (`SCANNED_PER_STEP`).
    scanned: u64,
    limit: u64,
    /// At most this many floating writes placed for one point.
    max_depth: usize,
    /// Whether to try scanning for a floating write's place (costly) after the single tries.
    scans: bool,
}

impl<'a> Replay<'a> {
    /// The index into `ops` of an entry of the log.
    fn index(&self, entry: usize) -> usize {
        match entry % 2 {
            0 => self.points[entry / 2],
            _ => self.floats[entry / 2],
        }
    }

    fn op(&self, entry: usize) -> &'a Op {
        &self.ops[self.index(entry)]
    }

    fn footprint(&self, entry: usize) -> &'a Footprint<'a> {
        match entry % 2 {
            0 => &self.point_prints[entry / 2],
            _ => &self.float_prints[entry / 2],
        }
    }

    /// Charges `entries` looked at or copied to the step count.
    fn scan(&mut self, entries: usize) {
        self.scanned += entries as u64;
        self.steps += self.scanned / SCANNED_PER_STEP;
        self.scanned %= SCANNED_PER_STEP;
    }

    fn apply(&mut self, state: &mut ZnodeState, entry: usize) -> bool {
        self.steps += 1;
        let op = self.op(entry);
        self.model.apply(state, &op.input, op.output.as_ref())
    }

    fn out_of_steps(&self) -> bool {
        self.steps > self.limit
    }

    /// The state after `log[..n]`, from the nearest checkpoint (adding checkpoints on the way).
    /// `None` if an entry is refused, which only an inconsistent log can cause.
    fn state_at(&mut self, n: usize) -> Option<ZnodeState> {
        let at = self.checkpoints.partition_point(|(len, _)| *len <= n) - 1;
        let (mut len, mut state) = (self.checkpoints[at].0, self.checkpoints[at].1.clone());
        while len < n {
            let entry = self.log[len];
            if !self.apply(&mut state, entry) {
                return None;
            }
            len += 1;
            self.checkpoint(len, &state);
        }
        Some(state)
    }

    fn checkpoint(&mut self, len: usize, state: &ZnodeState) {
        if len.is_multiple_of(CHECKPOINT_EVERY)
            && self.checkpoints.last().is_some_and(|(l, _)| *l < len)
        {
            self.checkpoints.push((len, state.clone()));
        }
    }

    /// Forgets the checkpoints of prefixes longer than `n` (the log changed after it).
    fn invalidate_after(&mut self, n: usize) {
        while self.checkpoints.last().is_some_and(|(len, _)| *len > n) {
            self.checkpoints.pop();
        }
    }

    fn run(&mut self) -> bool {
        let mut frames: Vec<Frame> = Vec::new();
        let mut next_point = 0;
        let mut state = self.model.init();
        loop {
            // Advance through the points while they are accepted. No copies on the way: most
            // replays never look back, and `state_at` makes them when one first must.
            let mut stuck = false;
            while next_point < self.points.len() {
                if self.out_of_steps() {
                    return false;
                }
                let entry = 2 * next_point;
                if self.apply(&mut state, entry) {
                    self.log.push(entry);
                    next_point += 1;
                } else {
                    stuck = true;
                    break;
                }
            }
            if !stuck {
                return true;
            }
            // Point `next_point` needs a floating write placed before it. A further one for the
            // same point is taken among the floating writes after the last one chosen, so that a
            // set of them is tried once, not in every order.
            let (depth, after) = match frames.last() {
                Some(f) if f.point == next_point => (f.depth + 1, f.chosen),
                _ => (1, None),
            };
            if depth <= self.max_depth {
                self.scan(self.log.len() + self.placed.len());
                let options = self.options(next_point, after);
                frames.push(Frame {
                    point: next_point,
                    saved_log: self.log.clone(),
                    saved_placed: self.placed.clone(),
                    options,
                    next: 0,
                    chosen: None,
                    depth,
                });
            }
            // Try options, backtracking through earlier choices when one runs out.
            loop {
                if self.out_of_steps() {
                    return false;
                }
                let Some(frame) = frames.last() else {
                    return false;
                };
                let Some(opt) = frame.options.get(frame.next).copied() else {
                    let frame = frames.pop().expect("checked");
                    self.restore(frame.saved_log, frame.saved_placed);
                    continue;
                };
                let point = frame.point;
                let (saved_log, saved_placed) =
                    (frame.saved_log.clone(), frame.saved_placed.clone());
                let end = saved_log.len();
                self.scan(end + saved_placed.len());
                self.restore(saved_log, saved_placed);
                let tried = self.place(opt.float, opt.at);
                // Where a scan goes on if this try fails, or leads nowhere.
                let resume = match &tried {
                    Ok(_) => self.next_meeting(opt.float, opt.at, &frames, end),
                    Err(at) => Some(*at),
                };
                let frame = frames.last_mut().expect("still there");
                match resume {
                    Some(at) if opt.scan && at <= end => frame.options[frame.next].at = at,
                    _ => frame.next += 1,
                }
                if let Ok(s) = tried {
                    // The log again holds exactly the points before `point`.
                    frame.chosen = Some(opt.float);
                    state = s;
                    next_point = point;
                    break;
                }
            }
        }
    }

    /// After floating write `f` was placed at `at` of the top frame's log and accepted there: the
    /// next place where it could make a difference, after the next entry that observes what it
    /// changes or changes what it observes.
    fn next_meeting(&mut self, f: usize, at: usize, frames: &[Frame], end: usize) -> Option<usize> {
        let log = &frames.last()?.saved_log;
        let print = &self.float_prints[f];
        let found = log.iter().enumerate().skip(at).find_map(|(n, &e)| {
            let other = self.footprint(e);
            let meeting =
                meets(&print.touches, &other.observes) || meets(&other.touches, &print.observes);
            meeting.then_some(n + 1)
        });
        self.scan(found.unwrap_or(end).saturating_sub(at));
        found
    }

    /// Puts back an earlier order and placements.
    fn restore(&mut self, log: Vec<usize>, placed: Vec<bool>) {
        let common = self
            .log
            .iter()
            .zip(&log)
            .take_while(|(a, b)| a == b)
            .count();
        self.invalidate_after(common);
        self.log = log;
        self.placed = placed;
    }

    /// Inserts floating write `f` at position `k` of the log and replays from there: the state
    /// after the whole log if every entry is still accepted, else the first position after `k`
    /// (in the log as it was) where `f` might go instead: after the entry that refused, or after
    /// `k` if `f` itself was refused or would change nothing there (an error answer: placing it
    /// cannot explain anything).
    fn place(&mut self, f: usize, k: usize) -> Result<ZnodeState, usize> {
        self.invalidate_after(k);
        self.log.insert(k, 2 * f + 1);
        self.placed[f] = true;
        let mut state = self.state_at(k).ok_or(k + 1)?;
        let before = state.clone();
        if !self.apply(&mut state, 2 * f + 1) || state == before {
            return Err(k + 1);
        }
        self.checkpoint(k + 1, &state);
        for n in k + 1..self.log.len() {
            let entry = self.log[n];
            if !self.apply(&mut state, entry) {
                // Entry `n` of the new log is entry `n - 1` of the old one.
                return Err(n);
            }
            self.checkpoint(n + 1, &state);
        }
        Ok(state)
    }

    /// Where floating writes may go to explain point `p` (only those after `after`, if given),
    /// most likely first.
    fn options(&mut self, p: usize, after: Option<usize>) -> Vec<Opt> {
        let point = &self.ops[self.points[p]];
        let observed = &self.point_prints[p].observes;
        let mut scanned = self.floats.len();
        // Single tries of every floating write come before the scans, which cost more.
        let mut options = Vec::new();
        let mut scans = Vec::new();
        for (k, &f) in self.floats.iter().enumerate() {
            let float = &self.ops[f];
            let print = &self.float_prints[k];
            if self.placed[k]
                || float.call >= point.call
                || after.is_some_and(|a| k <= a)
                || !meets(&print.touches, observed)
            {
                continue;
            }
            // The earliest place: after every point that comes before the write's start.
            let earliest = self
                .log
                .iter()
                .rposition(|&e| e % 2 == 0 && self.op(e).call < float.call)
                .map_or(0, |n| n + 1);
            scanned += self.log.len() - earliest;
            // First the gaps of the zxids that this point's answer, or a later answer that
            // observes what the write changes, shows and no known write has: the floating
            // write's own zxid, maybe. A gap a later answer shows is where the write must be for
            // that answer, so trying it first spares undoing this choice when that answer comes.
            // The gap of zxid `v` is before the first point at or above it.
            let mut at = Vec::new();
            for &(_, zxids) in self.revealed_to[k].iter().filter(|(q, _)| *q >= p) {
                for &v in zxids {
                    let n = self.log.iter().position(|&e| {
                        e % 2 == 0
                            && (self.op(e).output.as_ref())
                                .and_then(|o| o.zxid)
                                .is_some_and(|z| z.0 >= v)
                    });
                    scanned += n.unwrap_or(self.log.len());
                    at.push(n.unwrap_or(self.log.len()));
                }
            }
            // Then just before the point.
            at.push(self.log.len());
            // Then just after the last operation that observed what the write changes.
            let last = self
                .log
                .iter()
                .rposition(|&e| meets(&print.touches, &self.footprint(e).observes));
            scanned += self.log.len() - last.unwrap_or(0);
            if let Some(n) = last {
                at.push(n + 1);
            }
            let mut seen = BTreeSet::new();
            for n in at {
                if n >= earliest && seen.insert(n) {
                    options.push(Opt {
                        float: k,
                        at: n,
                        scan: false,
                    });
                }
            }
            scans.push(Opt {
                float: k,
                at: earliest,
                scan: true,
            });
        }
        if self.scans {
            options.extend(scans);
        }
        self.scan(scanned);
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::znode::{Children, CreateMode, Created, Data, Delete, SetData, Stat, Watched, Zxid};

    const S: Option<SessionId> = Some(SessionId(1));

    /// Operations in zxid time: `point(zxid, ..)` at the zxid's place, `float(after, ..)` from
    /// after zxid `after`; reads come after the write with the same zxid.
    struct Ops(Vec<Op>);

    fn stat(czxid: u64, mzxid: u64, pzxid: u64, version: i32, cversion: i32, kids: i32) -> Stat {
        Stat {
            czxid: Zxid(czxid),
            mzxid: Zxid(mzxid),
            pzxid: Zxid(pzxid),
            version,
            cversion,
            aversion: 0,
            ephemeral_owner: SessionId::NONE,
            data_length: 1,
            num_children: kids,
        }
    }

    fn create(path: &str) -> Request {
        Request::Write(Write::Create(Create {
            path: path.into(),
            data: "x".into(),
            mode: CreateMode::Persistent,
        }))
    }

    fn set(path: &str) -> Request {
        Request::Write(Write::SetData(SetData {
            path: path.into(),
            data: "x".into(),
            version: -1,
        }))
    }

    fn delete(path: &str) -> Request {
        Request::Write(Write::Delete(Delete {
            path: path.into(),
            version: -1,
        }))
    }

    fn read(path: &str) -> Request {
        Request::Read(Read::GetData(Watched {
            path: path.into(),
            watch: false,
        }))
    }

    fn children(path: &str) -> Request {
        Request::Read(Read::GetChildren(Watched {
            path: path.into(),
            watch: false,
        }))
    }

    impl Ops {
        fn at(zxid: u64, is_read: bool) -> u64 {
            3 * zxid + if is_read { 2 } else { 1 }
        }

        fn point(mut self, zxid: u64, request: Request, reply: Outcome<Reply>) -> Ops {
            let at = Ops::at(zxid, matches!(request, Request::Read(_)));
            self.0.push(Operation {
                process: 0,
                input: ZkInput::new(S, request).unwrap(),
                output: Some(ZkOutput {
                    outcome: reply,
                    zxid: Some(Zxid(zxid)),
                }),
                call: at,
                ret: at,
                line: self.0.len() + 1,
            });
            self
        }

        fn float(mut self, after: u64, request: Request) -> Ops {
            self.0.push(Operation {
                process: 1,
                input: ZkInput::new(S, request).unwrap(),
                output: None,
                call: 3 * (after + 1),
                ret: u64::MAX,
                line: self.0.len() + 1,
            });
            self
        }

        fn explained(&self) -> (bool, u64) {
            let known: Vec<u64> = self
                .0
                .iter()
                .filter(|op| matches!(op.input.request, Request::Write(_)))
                .filter_map(|op| op.output.as_ref()?.zxid.map(|z| z.0))
                .collect();
            let model = ZnodeModel::default().at_read_zxids();
            let all: Vec<usize> = (0..self.0.len()).collect();
            let mut steps = 0;
            let ok = explains(&model, &self.0, &all, &known, 10_000, &mut steps).is_some();
            (ok, steps)
        }
    }

    fn made(path: &str, zxid: u64) -> Outcome<Reply> {
        Outcome::Ok(Reply::Created(Created {
            path: path.into(),
            stat: stat(zxid, zxid, zxid, 0, 0, 0),
        }))
    }

    fn data(s: Stat) -> Outcome<Reply> {
        Outcome::Ok(Reply::Data(Data {
            data: "x".into(),
            stat: s,
        }))
    }

    #[test]
    fn points_in_order_are_replayed_and_a_wrong_answer_is_not_explained() {
        let ops = Ops(Vec::new())
            .point(1, create("/a"), made("/a", 1))
            .point(
                2,
                set("/a"),
                Outcome::Ok(Reply::Stat(stat(1, 2, 1, 1, 0, 0))),
            )
            .point(2, read("/a"), data(stat(1, 2, 1, 1, 0, 0)));
        assert_eq!(ops.explained(), (true, 3));
        let stale = Ops(Vec::new())
            .point(1, create("/a"), made("/a", 1))
            .point(
                2,
                set("/a"),
                Outcome::Ok(Reply::Stat(stat(1, 2, 1, 1, 0, 0))),
            )
            .point(2, read("/a"), data(stat(1, 1, 1, 0, 0, 0)));
        assert!(!stale.explained().0);
    }

    #[test]
    fn a_floating_write_goes_just_before_the_answer_that_needs_it() {
        // The delete of /a, answer unknown, explains the NoNode at zxid 4.
        let ops = Ops(Vec::new())
            .point(1, create("/a"), made("/a", 1))
            .float(1, delete("/a"))
            .point(2, create("/b"), made("/b", 2))
            .point(4, read("/a"), Outcome::Err(crate::znode::ZkError::NoNode));
        assert!(ops.explained().0);
        // Not before a read that still saw /a.
        let ops = Ops(Vec::new())
            .point(1, create("/a"), made("/a", 1))
            .float(1, delete("/a"))
            .point(4, read("/a"), Outcome::Err(crate::znode::ZkError::NoNode))
            .point(5, read("/a"), data(stat(1, 1, 1, 0, 0, 0)));
        assert!(!ops.explained().0);
    }

    #[test]
    fn a_floating_write_goes_to_the_zxid_an_answer_reveals() {
        // The set of /a took zxid 3 (its mzxid), before the create of /b at 5 that the read at 6
        // also reflects.
        let ops = Ops(Vec::new())
            .point(1, create("/a"), made("/a", 1))
            .float(1, set("/a"))
            .point(5, create("/b"), made("/b", 5))
            .point(6, read("/a"), data(stat(1, 3, 1, 1, 0, 0)));
        assert!(ops.explained().0);
    }

    #[test]
    fn a_floating_write_goes_first_to_the_zxid_a_later_answer_reveals() {
        // The delete of /a/c (answer unknown) is needed by the NoNode at zxid 1,000, and a later
        // read of /a shows that it took zxid 300 (the pzxid of /a), among many unrelated creates.
        // Placed just before the NoNode, the read would refuse it, and scanning back for its place
        // costs a replay of the whole log per place: more than the replay may spend here.
        let mut ops = Ops(Vec::new())
            .point(1, create("/a"), made("/a", 1))
            .point(2, create("/a/c"), made("/a/c", 2))
            .float(2, delete("/a/c"));
        for z in (3..1_000).filter(|&z| z != 300) {
            let b = format!("/b{z}");
            ops = ops.point(z, create(&b), made(&b, z));
        }
        let ops = ops
            .point(
                1_000,
                delete("/a/c"),
                Outcome::Err(crate::znode::ZkError::NoNode),
            )
            .point(
                1_001,
                children("/a"),
                Outcome::Ok(Reply::Children(Children {
                    children: vec![],
                    stat: stat(1, 1, 300, 0, 2, 0),
                })),
            );
        let (explained, steps) = ops.explained();
        assert!(explained);
        // One replay of the points, and one of those after the placed write.
        assert!(steps < 3_000, "{steps} steps");
    }

    #[test]
    fn a_floating_write_goes_after_the_last_operation_that_saw_without_it() {
        // /a's child c is deleted by a floating write: after the set of /a at 3 (which still
        // counts it), before the create of /a/d at 5 (pzxid 5 at the end).
        let ops = Ops(Vec::new())
            .point(1, create("/a"), made("/a", 1))
            .point(2, create("/a/c"), made("/a/c", 2))
            .float(2, delete("/a/c"))
            .point(
                3,
                set("/a"),
                Outcome::Ok(Reply::Stat(stat(1, 3, 2, 1, 1, 1))),
            )
            .point(5, create("/a/d"), made("/a/d", 5))
            .point(
                6,
                children("/a"),
                Outcome::Ok(Reply::Children(Children {
                    children: vec!["d".into()],
                    stat: stat(1, 3, 5, 1, 3, 1),
                })),
            );
        assert!(ops.explained().0);
    }

    #[test]
    fn two_floating_writes_may_be_needed_for_one_answer() {
        let ops = Ops(Vec::new())
            .point(1, create("/a"), made("/a", 1))
            .float(1, set("/a"))
            .float(1, set("/a"))
            .point(9, read("/a"), data(stat(1, 7, 1, 2, 0, 0)));
        assert!(ops.explained().0);
        // Three are not there.
        let ops = Ops(Vec::new())
            .point(1, create("/a"), made("/a", 1))
            .float(1, set("/a"))
            .float(1, set("/a"))
            .point(9, read("/a"), data(stat(1, 7, 1, 3, 0, 0)));
        assert!(!ops.explained().0);
    }
}
