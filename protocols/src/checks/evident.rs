//! Convictions that need no search. Some answers no order by zxid can explain, whatever the
//! writes whose zxid is unknown did; they are found here in one pass, before the searches, so
//! that a history with many floating writes (each of which multiplies the search's work) cannot
//! leave them `unknown` when the budget runs out:
//!
//! - `never-written` (reads-at-zxid): a `get_data` answers data that no write of that node (nor
//!   the fresh tree) ever carried, or a `get_children` names a child no create can make;
//! - `from-the-future` (reads-at-zxid): a read answered at zxid `z` shows a Stat naming a zxid
//!   above `z` (a server answers a read with its last applied zxid, which is at or above every
//!   zxid in its tree: ZooKeeper's `FinalRequestProcessor` stamps `getDataTreeLastProcessedZxid`),
//!   or a data version above the number of `set_data`s of that node that can have a zxid at or
//!   below `z` (placed there, or floating from below it);
//! - `sequential-reused` (linearizable-writes): two creates answered with the same sequential
//!   name. The suffix is the parent's count of child creations, which only grows (ZooKeeper's
//!   `PrepRequestProcessor` takes it from the parent's cversion), so no name is given twice,
//!   even after the first node is deleted, unless the parent itself may have been deleted (and
//!   made again, its count starting afresh) between the two creates.
//!
//! Each is a necessary condition of the search's model (`ZnodeModel` at read zxids): whatever it
//! convicts, the search would too, given the time.

use super::history::{History, Op, Role};
use super::report::{Found, Involved};
use crate::znode::path;
use crate::znode::{Create, DataTree, Outcome, Read, Reply, Request, Stat, SubOp, SubReply, Write};
use std::collections::{BTreeMap, BTreeSet};

/// The nodes the history's creates may have made, with the data each gave them: by path, and
/// (a sequential create whose answer is unknown: any child of the parent named with the prefix
/// and a suffix) by parent. Indexed, because every read asks of it.
#[derive(Default)]
struct Created<'a> {
    paths: BTreeMap<&'a str, BTreeSet<&'a str>>,
    /// Parent → (prefix, data).
    families: BTreeMap<&'a str, Vec<(&'a str, &'a str)>>,
}

impl<'a> Created<'a> {
    fn add_path(&mut self, p: &'a str, data: &'a str) {
        self.paths.entry(p).or_default().insert(data);
    }

    fn add_family(&mut self, parent: &'a str, prefix: &'a str, data: &'a str) {
        self.families
            .entry(parent)
            .or_default()
            .push((prefix, data));
    }

    /// Whether a create may have made `p` (with `data`, if given).
    fn may_have_made(&self, p: &str, data: Option<&str>) -> bool {
        let exact = self
            .paths
            .get(p)
            .is_some_and(|d| data.is_none_or(|data| d.contains(data)));
        exact || {
            let name = path::name(p);
            let family = path::parent(p).and_then(|parent| self.families.get(parent));
            family.is_some_and(|f| {
                f.iter().any(|&(prefix, d)| {
                    data.is_none_or(|data| d == data)
                        && name.strip_prefix(prefix).is_some_and(|s| {
                            s.len() == path::SEQUENTIAL_SUFFIX_LEN
                                && s.bytes().all(|b| b.is_ascii_digit())
                        })
                })
            })
        }
    }
}

/// Everything the history's writes may have done that these rules need.
#[derive(Default)]
struct Written<'a> {
    /// Nodes a create may have made, with the data it gave them.
    created: Created<'a>,
    /// Data a `set_data` may have written, by node.
    set: BTreeMap<&'a str, BTreeSet<&'a str>>,
    /// By node: (the highest zxid of a placed `set_data`, or the floor of a floating one; placed).
    /// A floating write counts toward reads above its floor; a placed one toward reads at or
    /// above its zxid.
    set_at: BTreeMap<&'a str, Vec<(u64, bool)>>,
    /// Sequential names answered by successful creates: name → the op.
    sequential: Vec<(String, usize)>,
    /// Nodes a delete may have removed, with its zxid as in `set_at`.
    deleted: BTreeMap<&'a str, Vec<(u64, bool)>>,
}

/// What each write may have done: from its answer where known (nothing, if it failed), else
/// everything its request may do.
fn written<'a>(h: &'a History, floor: &[u64]) -> Written<'a> {
    let mut w = Written::default();
    for (i, op) in h.ops.iter().enumerate() {
        let Request::Write(write) = &op.input.request else {
            continue;
        };
        let (answer, at) = match op.role {
            Role::Write => (
                op.output.as_ref().map(|o| &o.outcome),
                (op.zxid.unwrap_or(0), true),
            ),
            Role::Floating => (None, (floor[i], false)),
            _ => continue,
        };
        let mut create = |c: &'a Create, made: Option<&'a str>| match (made, c.mode.is_sequential())
        {
            (Some(p), seq) => {
                if seq {
                    w.sequential.push((p.to_string(), i));
                }
                w.created.add_path(p, &c.data);
            }
            (None, false) => w.created.add_path(&c.path, &c.data),
            (None, true) => w.created.add_family(
                path::parent(&c.path).unwrap_or("/"),
                path::name(&c.path),
                &c.data,
            ),
        };
        let mut set = |p: &'a str, data: &'a str| {
            w.set.entry(p).or_default().insert(data);
            w.set_at.entry(p).or_default().push(at);
        };
        match (write, answer) {
            (_, Some(Outcome::Err(_))) => {}
            (Write::Create(c), Some(Outcome::Ok(Reply::Created(made)))) => {
                create(c, Some(made.path.as_str()))
            }
            (Write::Create(c), None) => create(c, None),
            (Write::SetData(s), _) => set(&s.path, &s.data),
            (Write::Delete(d), _) => w.deleted.entry(d.path.as_str()).or_default().push(at),
            (Write::Multi(m), answer) => {
                let entries = match answer {
                    Some(Outcome::Ok(Reply::Multi(e))) if e.iter().all(Outcome::is_ok) => Some(e),
                    Some(_) => continue, // a failed multi changes nothing
                    None => None,
                };
                for (k, sub) in m.ops.iter().enumerate() {
                    match sub {
                        SubOp::Create(c) => {
                            let made = match entries.and_then(|e| e.get(k)) {
                                Some(Outcome::Ok(SubReply::Created(c))) => Some(c.path.as_str()),
                                _ => None,
                            };
                            create(c, made);
                        }
                        SubOp::SetData(s) => set(&s.path, &s.data),
                        SubOp::Delete(d) => w.deleted.entry(d.path.as_str()).or_default().push(at),
                        SubOp::Check(_) => {}
                    }
                }
            }
            _ => {}
        }
    }
    w
}

/// What a read's answer shows: its Stat, and the data or the children's names.
struct Shown<'a> {
    read: &'a Read,
    stat: &'a Stat,
    data: Option<&'a str>,
    children: &'a [String],
}

fn shown(op: &Op) -> Option<Shown<'_>> {
    let Request::Read(read) = &op.input.request else {
        return None;
    };
    let (stat, data, children) = match &op.output.as_ref()?.outcome {
        Outcome::Ok(Reply::Data(d)) => (&d.stat, Some(d.data.as_str()), &[][..]),
        Outcome::Ok(Reply::Stat(s)) => (s, None, &[][..]),
        Outcome::Ok(Reply::Children(c)) => (&c.stat, None, &c.children[..]),
        _ => return None,
    };
    Some(Shown {
        read,
        stat,
        data,
        children,
    })
}

fn child_path(parent: &str, name: &str) -> String {
    match parent {
        "/" => format!("/{name}"),
        _ => format!("{parent}/{name}"),
    }
}

fn read_path(read: &Read) -> &str {
    match read {
        Read::GetData(w) | Read::Exists(w) | Read::GetChildren(w) => &w.path,
        Read::Sync(s) => &s.path,
    }
}

/// `never-written` and `from-the-future`, added to reads-at-zxid's `found`.
pub(crate) fn check_reads(h: &History, floor: &[u64], found: &mut Found) {
    let w = written(h, floor);
    let fresh = DataTree::default();
    let may_hold = |p: &str, data: &str| {
        fresh.node(p).is_some_and(|n| n.data == data)
            || w.set.get(p).is_some_and(|s| s.contains(data))
            || w.created.may_have_made(p, Some(data))
    };
    let may_exist = |p: &str| fresh.node(p).is_some() || w.created.may_have_made(p, None);
    for op in &h.ops {
        let (Role::Read, Some(z)) = (op.role, op.zxid) else {
            continue;
        };
        let Some(Shown {
            read,
            stat,
            data,
            children,
        }) = shown(op)
        else {
            continue;
        };
        let p = read_path(read);
        let involved = || vec![Involved::op("read", op)];
        if let Some(data) = data.filter(|d| !may_hold(p, d)) {
            found.add(
                "never-written",
                format!("a read of {p} answered data {data:?}, which no write of {p} carries"),
                format!("data that some create or set_data of {p} wrote"),
                format!("{data:?}"),
                involved(),
            );
            continue;
        }
        if let Some(c) = children.iter().find(|c| !may_exist(&child_path(p, c))) {
            found.add(
                "never-written",
                format!("a read of {p}'s children names {c:?}, which no create makes"),
                format!("children that some create of a child of {p} made"),
                format!("child {c:?}"),
                involved(),
            );
            continue;
        }
        let newest = [stat.czxid.0, stat.mzxid.0, stat.pzxid.0]
            .into_iter()
            .max()
            .expect("three");
        if newest > z {
            found.add(
                "from-the-future",
                format!(
                    "a read of {p} answered at zxid {z} shows a Stat naming zxid {newest}, a \
                     transaction after the state it answers from"
                ),
                format!("a Stat whose czxid, mzxid and pzxid are at most {z}"),
                format!("zxid {newest}"),
                involved(),
            );
            continue;
        }
        // Writes that can be at or below z: placed at or below it, or floating from below it
        // (a floating write takes a zxid above its floor).
        let sets = w.set_at.get(p).map_or(0, |l| {
            l.iter()
                .filter(|&&(at, placed)| if placed { at <= z } else { at < z })
                .count()
        });
        if i64::from(stat.version) > sets as i64 {
            found.add(
                "from-the-future",
                format!(
                    "a read of {p} answered at zxid {z} shows data version {}, but only {sets} \
                     set_data of {p} can have a zxid at or below {z}",
                    stat.version
                ),
                format!("a data version of at most {sets}"),
                format!("version {}", stat.version),
                involved(),
            );
        }
    }
}

/// `sequential-reused`, added to linearizable-writes's `found`.
pub(crate) fn check_writes(h: &History, floor: &[u64], found: &mut Found) {
    let w = written(h, floor);
    // Whether the parent of `name` may have been deleted between the zxids of creates `j` and
    // `i`: a delete placed strictly between them, or a floating one whose floor is below the
    // later (it may have taken any zxid above its floor).
    let parent_may_be_remade = |name: &str, j: usize, i: usize| {
        let (a, b) = (h.ops[j].zxid.unwrap_or(0), h.ops[i].zxid.unwrap_or(0));
        let (lo, hi) = (a.min(b), a.max(b));
        path::parent(name)
            .and_then(|p| w.deleted.get(p))
            .is_some_and(|at| {
                at.iter().any(
                    |&(z, placed)| {
                        if placed { lo < z && z < hi } else { z < hi }
                    },
                )
            })
    };
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, i) in &w.sequential {
        match first.get(name.as_str()) {
            Some(&j) if j != *i && !parent_may_be_remade(name, j, *i) => found.add(
                "sequential-reused",
                format!("two creates were both answered with the sequential name {name}"),
                "a new suffix for every sequential create under a parent (the parent's count of \
                 child creations only grows)"
                    .into(),
                format!("{name} twice"),
                vec![
                    Involved::op("first create", &h.ops[j]),
                    Involved::op("second create", &h.ops[*i]),
                ],
            ),
            _ => {
                first.entry(name.as_str()).or_insert(*i);
            }
        }
    }
}
