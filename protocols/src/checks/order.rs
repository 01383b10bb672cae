//! The zxid order: whether one order of the history's writes (and, for guarantee 2, its reads) by
//! zxid explains every answer under the znode model. Shared by guarantees 1 and 2.
//!
//! The history is moved into *zxid time*: a write answered with zxid `w` is a point at `w`; a read
//! answered at `z` is a point just after `z` (after the write at `z`, before any write above it),
//! placed there by the model too (`ZnodeModel::at_read_zxids`); a write whose zxid the history
//! does not show *floats*: it may take effect at any zxid above the largest one shown before it
//! was invoked — by an operation that had completed, or to its own session — or not at all.
//! The znode model splits the result into independent parts. Each part is first replayed
//! (`replay`), which finds an order quickly when there is one and floating writes are few; a part
//! the replay cannot explain goes to the exact search (`sim::check::check`), which decides it and
//! gives the counterexample. It decides nothing on its own beyond that plumbing.

use super::history::{History, Role, Step};
use super::remap_counterexample;
use super::replay;
use crate::znode::model::ZnodeModel;
use crate::znode::path;
use crate::znode::{Create, Outcome, Read, Reply, Request, Stat, SubOp, Write};
use crate::znode::{ZkInput, ZkOutput};
use sim::check::{Budget, Counterexample, Error, Model, Operation, UnknownReason, Verdict, check};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What the zxid order says.
pub(crate) enum Explained {
    Yes,
    /// No order explains the answers: the search's counterexample, pointed at the history.
    No(Box<Counterexample>),
    Unknown(UnknownReason),
    /// Not searched: a conviction that needs no search (`evident`) already decides the
    /// guarantee.
    NotSearched,
}

/// How the work went, for reports and benchmarks.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Effort {
    pub parts: usize,
    /// Parts the replay could not explain, handed to the exact search.
    pub searched: usize,
    pub replay_steps: u64,
}

/// Model steps the replay may take per operation of a part before it gives the part to the
/// search (a replay that needs more is guessing badly).
const REPLAY_STEPS_PER_OP: u64 = 64;

/// The same for the first replay, of the whole history at once: kept short, since the replays of
/// the parts that follow it when it gives up are cheaper per try.
const WHOLE_REPLAY_STEPS_PER_OP: u64 = 4;

/// Whether the writes (and with `with_reads`, the reads at their zxid) of `h` are explained by
/// one order by zxid.
pub(crate) fn explain(
    h: &History,
    with_reads: bool,
    budget: &Budget,
) -> Result<(Explained, Effort), Error> {
    let floor = floating_floors(h);
    let pins = revealed(h, with_reads, &floor);
    let mut zxids: Vec<u64> = h
        .ops
        .iter()
        .filter(|op| op.role == Role::Write || (with_reads && op.role == Role::Read))
        .filter_map(|op| op.zxid)
        .chain(pins.values().copied())
        .collect();
    zxids.sort_unstable();
    zxids.dedup();
    let time = ZxidTime(&zxids);

    let mut chosen = Vec::new();
    let mut ops: Vec<Operation<ZkInput, ZkOutput>> = Vec::new();
    for (i, op) in h.ops.iter().enumerate() {
        let (call, ret, output) = match op.role {
            Role::Write => {
                let at = time.write(op.zxid.expect("placed"));
                (at, at, op.output.clone())
            }
            Role::Read if with_reads => {
                let at = time.read(op.zxid.expect("placed"));
                (at, at, op.output.clone())
            }
            // An answer revealed its zxid: it took effect there, whatever it answered.
            Role::Floating if pins.contains_key(&i) => {
                let at = time.write(pins[&i]);
                (at, at, None)
            }
            // An answer without a zxid places nothing: the write floats like an unanswered one.
            Role::Floating => (time.gap_above(floor[i]), u64::MAX, None),
            Role::Read | Role::Sync | Role::Other => continue,
        };
        chosen.push(i);
        ops.push(Operation {
            process: op.process,
            input: op.input.clone(),
            output,
            call,
            ret,
            line: op.line,
        });
    }
    let mut known: Vec<u64> = h
        .ops
        .iter()
        .filter(|op| op.role == Role::Write)
        .filter_map(|op| op.zxid)
        .collect();
    known.sort_unstable();
    let mut effort = Effort::default();

    // First the whole history in one replay, with a model that knows nothing of parts: no split
    // to compute, and for most histories nothing more to do.
    let mut plain = ZnodeModel::default();
    if with_reads {
        plain = plain.at_read_zxids();
    }
    let everything: Vec<usize> = (0..ops.len()).collect();
    let limit = WHOLE_REPLAY_STEPS_PER_OP * ops.len() as u64 + 10_000;
    if replay::explains(
        &plain,
        &ops,
        &everything,
        &known,
        limit,
        &mut effort.replay_steps,
    )
    .is_some()
    {
        return Ok((Explained::Yes, effort));
    }
    // Else part by part, and the exact search for the parts the replay cannot explain.
    let mut model = ZnodeModel::for_history(&ops);
    if with_reads {
        model = model.at_read_zxids();
    }
    let parts = model.partition(&ops);
    effort.parts = parts.len();
    let mut stuck: Vec<usize> = Vec::new();
    for part in &parts {
        let limit = REPLAY_STEPS_PER_OP * part.len() as u64 + 10_000;
        if replay::explains(&model, &ops, part, &known, limit, &mut effort.replay_steps).is_none() {
            effort.searched += 1;
            stuck.extend(part);
        }
    }
    if stuck.is_empty() {
        return Ok((Explained::Yes, effort));
    }
    // The search sees only the parts the replay could not explain, with the model built for the
    // whole history (which parents are settled, the order of the known zxids of each part).
    stuck.sort_unstable();
    let sub: Vec<Operation<ZkInput, ZkOutput>> = stuck.iter().map(|&k| ops[k].clone()).collect();
    let sub_chosen: Vec<usize> = stuck.iter().map(|&k| chosen[k]).collect();
    let result = check(Arc::new(model), sub.into(), budget)?;
    Ok((
        match result.verdict {
            Verdict::Linearizable => Explained::Yes,
            Verdict::Unknown(reason) => Explained::Unknown(reason),
            Verdict::Violation(mut cx) => {
                remap_counterexample(&mut cx, &sub_chosen, h);
                Explained::No(cx)
            }
        },
        effort,
    ))
}

/// Positions in zxid time over the sorted, distinct zxids of a history: the write at the r-th
/// zxid is at 3r+1, the reads at it at 3r+2, and 3r is the gap before it, where a write floating
/// above the (r-1)-th zxid begins.
pub(crate) struct ZxidTime<'a>(pub &'a [u64]);

impl ZxidTime<'_> {
    fn rank(&self, z: u64) -> u64 {
        self.0.partition_point(|&x| x < z) as u64
    }

    pub fn write(&self, z: u64) -> u64 {
        3 * self.rank(z) + 1
    }

    pub fn read(&self, z: u64) -> u64 {
        3 * self.rank(z) + 2
    }

    /// The gap after zxid `z` and the reads at it: where a write that follows `z` begins.
    pub fn gap_above(&self, z: u64) -> u64 {
        3 * self.0.partition_point(|&x| x <= z) as u64
    }
}

/// For each floating write, the largest zxid shown before it was invoked: by an operation that
/// had completed, or to its own session (replies and notifications). It takes a zxid above that.
/// An implied expiry began with its session; it follows every write its session made.
pub(crate) fn floating_floors(h: &History) -> Vec<u64> {
    let mut floor: Vec<u64> = h
        .before
        .iter()
        .map(|b| b.any.map_or(0, |(z, _)| z))
        .collect();
    for steps in h.sessions.values() {
        let mut seen = 0u64;
        for step in steps {
            match *step {
                Step::Invoke(i) => floor[i] = floor[i].max(seen),
                Step::Complete(i) => seen = seen.max(h.ops[i].seen_zxid().unwrap_or(0)),
                Step::Event(e) => seen = seen.max(h.events[e].zxid.unwrap_or(0)),
            }
        }
    }
    let implied: Vec<usize> = (0..h.ops.len())
        .filter(|&i| h.ops[i].is_implied())
        .collect();
    for i in implied {
        let own = h
            .ops
            .iter()
            .filter(|o| o.session == h.ops[i].session && o.role == Role::Write)
            .filter_map(|o| o.zxid)
            .max()
            .unwrap_or(0);
        floor[i] = floor[i].max(own);
    }
    floor
}

/// What an answer shows about the write at one zxid: it set `path`'s data (to `data`, where the
/// answer shows the data), or it created `path`.
struct Reveal<'a> {
    path: &'a str,
    zxid: u64,
    data: Option<&'a str>,
    created: bool,
}

/// The floating writes whose zxid an answer reveals, each with that zxid. A node's Stat names the
/// transaction that last set its data (`mzxid`) and the one that created it (`czxid`); when no
/// write with a known zxid holds that zxid, the write there is one of the floating writes, and
/// when exactly one of them can have made that change (set that node's data, to the data shown
/// where the answer shows it; create that node), every order that explains the history puts it
/// there. Pinning it spares the replay and the search trying it everywhere else. A write is only
/// pinned where it may float to (above its floor), and not at all when answers disagree on its
/// zxid or on the write at one zxid. Writes' answers always reveal; reads' only `with_reads`,
/// since the writes alone must not be judged by what reads say.
fn revealed(h: &History, with_reads: bool, floor: &[u64]) -> BTreeMap<usize, u64> {
    let floating: Vec<usize> = (0..h.ops.len())
        .filter(|&i| h.ops[i].role == Role::Floating && !h.ops[i].is_implied())
        .filter(|&i| h.ops[i].output.as_ref().is_none_or(|o| o.outcome.is_ok()))
        .collect();
    if floating.is_empty() {
        return BTreeMap::new();
    }
    let known: BTreeSet<u64> = h
        .ops
        .iter()
        .filter(|op| op.role == Role::Write)
        .filter_map(|op| op.zxid)
        .collect();
    let mut reveals: Vec<Reveal> = Vec::new();
    for op in &h.ops {
        let trusted = op.role == Role::Write || (with_reads && op.role == Role::Read);
        let Some(Outcome::Ok(reply)) = op.output.as_ref().map(|o| &o.outcome) else {
            continue;
        };
        if !trusted {
            continue;
        }
        let (path, stat, data): (&str, &Stat, Option<&str>) = match (&op.input.request, reply) {
            (Request::Read(Read::GetData(w)), Reply::Data(d)) => (&w.path, &d.stat, Some(&d.data)),
            (Request::Read(Read::Exists(w)), Reply::Stat(s)) => (&w.path, s, None),
            (Request::Read(Read::GetChildren(w)), Reply::Children(c)) => (&w.path, &c.stat, None),
            (Request::Write(Write::SetData(d)), Reply::Stat(s)) => (&d.path, s, None),
            _ => continue,
        };
        for (zxid, created) in [(stat.mzxid.0, false), (stat.czxid.0, true)] {
            if zxid != 0 && !known.contains(&zxid) {
                reveals.push(Reveal {
                    path,
                    zxid,
                    data: data.filter(|_| !created),
                    created,
                });
            }
        }
    }
    // zxid → the floating writes that can be there, by every answer that shows it.
    let mut at: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for r in &reveals {
        let can = |f: &usize| makes(&h.ops[*f].input.request, r);
        match at.get_mut(&r.zxid) {
            Some(candidates) => candidates.retain(can),
            None => {
                at.insert(r.zxid, floating.iter().copied().filter(can).collect());
            }
        }
    }
    // write → its zxid, unless it was revealed at two.
    let mut pins: BTreeMap<usize, Option<u64>> = BTreeMap::new();
    for (&zxid, candidates) in &at {
        if let &[f] = candidates.as_slice()
            && zxid > floor[f]
        {
            let entry = pins.entry(f).or_insert(Some(zxid));
            if *entry != Some(zxid) {
                *entry = None;
            }
        }
    }
    pins.into_iter()
        .filter_map(|(f, z)| z.map(|z| (f, z)))
        .collect()
}

/// Whether `request`, taking effect, can make the change `r` shows.
fn makes(request: &Request, r: &Reveal) -> bool {
    let creates = |c: &Create| {
        let names = if c.mode.is_sequential() {
            path::parent(r.path) == path::parent(&c.path)
                && path::name(r.path)
                    .strip_prefix(path::name(&c.path))
                    .is_some_and(|suffix| suffix.len() == path::SEQUENTIAL_SUFFIX_LEN)
        } else {
            c.path == r.path
        };
        names && r.data.is_none_or(|d| d == c.data)
    };
    let sets =
        |path: &str, data: &str| !r.created && path == r.path && r.data.is_none_or(|d| d == data);
    match request {
        Request::Write(Write::Create(c)) => creates(c),
        Request::Write(Write::SetData(s)) => sets(&s.path, &s.data),
        Request::Write(Write::Multi(m)) => m.ops.iter().any(|sub| match sub {
            SubOp::Create(c) => creates(c),
            SubOp::SetData(s) => sets(&s.path, &s.data),
            SubOp::Delete(_) | SubOp::Check(_) => false,
        }),
        _ => false,
    }
}
