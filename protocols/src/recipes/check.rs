//! The lock recipe's checkers, over virtual time: the recipe log (what each client believed and
//! did, with the resource's verdict on every write), the ZooKeeper history (when the servers
//! expired which session, which creates went unanswered) and the pauses the nemesis inflicted on
//! clients. Each violation names the clients, the times and the ZooKeeper events that explain it.
//!
//! - `lock-exclusion`: when a client acquires, every other client still acting as holder must
//!   have lost its node to ZooKeeper first: the listing the new holder decided on (`basis`, a
//!   zxid at or after the old node's creation) no longer showed the old node. Zxids, not times,
//!   say what ZooKeeper had done: a session's expiry is decided by a server the clients do not
//!   hear from, but every listing is a state of the tree at a known zxid. Two holders whose nodes
//!   both existed is the recipe's own fault, whatever the resource does.
//! - `resource-exclusion`: the resource never accepted a write from a stale holder: a write whose
//!   token is lower than one it had already accepted (the holders' writes interleaved).
//! - `lock-progress`: once the faults are over, no client waits for the lock through the whole
//!   liveness window.
//!
//! The queue's checkers (`queue-once`, `queue-no-loss`) are described at their functions.
//!
//! They read plain data and decide the same way every time; they never panic on a log they did
//! not expect (an event out of place is ignored, not trusted).

use super::{RecipeEvent, RecipeLine};
use crate::cluster::{Finding, SERVER_PROCESS};
use crate::znode::Zxid;
use sim::SimTime;
use sim::history::{Line, LineType};
use std::collections::BTreeMap;

/// How a recipe's checks and stories name things: a lock is acquired and held, a leader is
/// elected and leads. The rules are the same.
#[derive(Clone, Copy, Debug)]
pub struct Words {
    pub exclusion: &'static str,
    pub resource: &'static str,
    pub progress: &'static str,
    /// `acquired the lock`
    acquired: &'static str,
    /// `acquired`
    acquired_short: &'static str,
    /// `held the lock`
    held: &'static str,
    /// `held it since`
    held_since: &'static str,
    /// `wanted the lock`
    wanted: &'static str,
    /// `did not get it`
    not_got: &'static str,
    /// `acquisitions`
    acquisitions: &'static str,
    /// `holder`
    holder: &'static str,
}

impl Words {
    pub const LOCK: Words = Words {
        exclusion: "lock-exclusion",
        resource: "resource-exclusion",
        progress: "lock-progress",
        acquired: "acquired the lock",
        acquired_short: "acquired",
        held: "held the lock",
        held_since: "had held it since",
        wanted: "wanted the lock",
        not_got: "did not get it",
        acquisitions: "acquisitions",
        holder: "holder",
    };
    pub const ELECTION: Words = Words {
        exclusion: "leader-exclusion",
        resource: "leader-resource-exclusion",
        progress: "election-progress",
        acquired: "was elected",
        acquired_short: "was elected",
        held: "led",
        held_since: "had led since",
        wanted: "ran for leader",
        not_got: "was not elected",
        acquisitions: "elections",
        holder: "leader",
    };

    /// The words of a lock-like recipe; `None` for the others, which have checks of their own.
    pub fn of(kind: super::RecipeKind) -> Option<&'static Words> {
        match kind {
            super::RecipeKind::Lock => Some(&Words::LOCK),
            super::RecipeKind::Election => Some(&Words::ELECTION),
            super::RecipeKind::Queue => None,
        }
    }
}

/// A client paused by the nemesis (virtual ns; `to` is the resume, or the run's end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    pub process: u64,
    pub from: u64,
    pub to: u64,
}

/// What the checkers are given besides the logs.
#[derive(Clone, Debug)]
pub struct Window {
    /// The liveness window (virtual ns): faults are over, the lock must change hands.
    pub from: u64,
    pub to: u64,
}

/// A client's tenure as holder, from its `acquired` to its `released` or `lost` (or the run's end).
#[derive(Clone, Debug)]
struct Tenure {
    process: u64,
    session: Option<u64>,
    node: String,
    token: Zxid,
    basis: Zxid,
    seen: Vec<String>,
    from: u64,
    until: Option<u64>,
}

impl Tenure {
    /// Whether this holder's decision already showed `other`'s node gone.
    fn saw_gone(&self, other: &Tenure) -> bool {
        let name = other.node.rsplit('/').next().unwrap_or(&other.node);
        other.token <= self.basis && !self.seen.iter().any(|c| c == name)
    }
}

fn s(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// ZooKeeper's side of the story: when each session's expiry began (the server's
/// `close_session` invocation, `cluster::expiry_process`), and each client's unanswered creates.
struct ZkFacts {
    expiry: BTreeMap<u64, u64>,
    /// When a session's client learned it had expired.
    learned: BTreeMap<u64, u64>,
    /// Per process: (time of the create's invocation, its path, why it got no answer).
    lost_creates: BTreeMap<u64, Vec<(u64, String, String)>>,
    /// Paths that an answered create reported, with the creating process and time.
    created: BTreeMap<String, (u64, u64)>,
}

/// One client operation of the ZooKeeper history: its invocation with its completion, if it had
/// one. The recipe checks' one pairing of the history's lines.
struct ZkOp<'a> {
    process: u64,
    f: &'a str,
    /// The invocation's arguments.
    args: &'a serde_json::Value,
    invoked: u64,
    done: Option<&'a Line>,
}

impl ZkOp<'_> {
    fn path(&self) -> &str {
        self.args["path"].as_str().unwrap_or("?")
    }

    /// The answer, if it succeeded (an error answer is an `ok` line whose value is `err`).
    fn ok(&self) -> Option<&serde_json::Value> {
        self.done
            .filter(|d| d.kind == LineType::Ok)
            .and_then(|d| d.value.get("ok"))
    }

    /// The zxid of a successful answer.
    fn ok_zxid(&self) -> Option<u64> {
        self.ok().and(self.done.and_then(|d| d.zxid))
    }

    fn at(&self) -> u64 {
        self.done.map_or(self.invoked, |d| d.time)
    }

    /// Its answer, in words.
    fn answer(&self) -> String {
        match self.done {
            None => "no answer before the run ended".into(),
            Some(d) => match d.kind {
                LineType::Ok => match (d.value["err"].as_str(), d.zxid) {
                    (Some(e), _) => e.to_string(),
                    (None, Some(z)) => format!("ok at zxid {z:#x}"),
                    (None, None) => "ok".into(),
                },
                LineType::Info => format!(
                    "no answer ({})",
                    d.error.as_deref().unwrap_or("indeterminate")
                ),
                _ => d
                    .error
                    .clone()
                    .or_else(|| d.value["error"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "failed".into()),
            },
        }
    }
}

/// The clients' operations, in invocation order (a process has one open at a time).
fn client_ops(history: &[Line]) -> Vec<ZkOp<'_>> {
    let mut ops: Vec<ZkOp> = Vec::new();
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for line in history {
        if line.process >= SERVER_PROCESS {
            continue;
        }
        match line.kind {
            LineType::Invoke => {
                open.insert(line.process, ops.len());
                ops.push(ZkOp {
                    process: line.process,
                    f: &line.f,
                    args: &line.value,
                    invoked: line.time,
                    done: None,
                });
            }
            LineType::Ok | LineType::Fail | LineType::Info => {
                if let Some(i) = open.remove(&line.process) {
                    ops[i].done = Some(line);
                }
            }
            LineType::Event => {}
        }
    }
    ops
}

impl ZkFacts {
    fn new(history: &[Line]) -> ZkFacts {
        let mut expiry = BTreeMap::new();
        let mut learned = BTreeMap::new();
        for line in history {
            if line.process >= SERVER_PROCESS {
                if line.kind == LineType::Invoke && line.f == "close_session" {
                    let s = line.process & !SERVER_PROCESS;
                    expiry.entry(s).or_insert(line.time);
                }
            } else if line.kind == LineType::Event
                && line.f == "session_expired"
                && let Some(s) = line.session
            {
                learned.entry(s).or_insert(line.time);
            }
        }
        let mut lost_creates: BTreeMap<u64, Vec<(u64, String, String)>> = BTreeMap::new();
        let mut created = BTreeMap::new();
        for op in client_ops(history) {
            let Some(done) = op.done.filter(|_| op.f == "create") else {
                continue;
            };
            if done.kind == LineType::Info {
                let why = done.error.clone().unwrap_or_else(|| "no answer".into());
                lost_creates.entry(op.process).or_default().push((
                    op.invoked,
                    op.path().to_string(),
                    why,
                ));
            } else if let Some(p) = op.ok().and_then(|v| v["path"].as_str()) {
                created.insert(p.to_string(), (op.process, done.time));
            }
        }
        ZkFacts {
            expiry,
            learned,
            lost_creates,
            created,
        }
    }

    /// How `session` ended, in words: when a server expired it (if the protocol records
    /// expiries) and when its client learned of it.
    fn expiry_story(&self, session: Option<u64>) -> Option<String> {
        let s = session?;
        let server = self.expiry.get(&s).map(|t| format!(" at {}", self::s(*t)));
        let learned = self
            .learned
            .get(&s)
            .map(|t| format!("its client learned so at {}", self::s(*t)));
        if server.is_none() && learned.is_none() {
            return None;
        }
        Some(format!(
            "its session {s:#x} expired{}{}",
            server.unwrap_or_default(),
            learned.map(|l| format!(" ({l})")).unwrap_or_default()
        ))
    }
}

fn tenures(log: &[RecipeLine], end: u64) -> Vec<Tenure> {
    let mut all: Vec<Tenure> = Vec::new();
    let mut current: BTreeMap<u64, usize> = BTreeMap::new();
    for line in log {
        match &line.event {
            RecipeEvent::Acquired {
                node,
                token,
                basis,
                seen,
            } => {
                if let Some(i) = current.remove(&line.process) {
                    all[i].until = Some(line.time);
                }
                current.insert(line.process, all.len());
                all.push(Tenure {
                    process: line.process,
                    session: line.session,
                    node: node.clone(),
                    token: *token,
                    basis: *basis,
                    seen: seen.clone(),
                    from: line.time,
                    until: None,
                });
            }
            RecipeEvent::Released { .. } | RecipeEvent::Lost { .. } => {
                if let Some(i) = current.remove(&line.process) {
                    all[i].until = Some(line.time);
                }
            }
            _ => {}
        }
    }
    for t in &mut all {
        t.until.get_or_insert(end);
    }
    all
}

/// `lock-exclusion`: see the module doc.
pub fn lock_exclusion(log: &[RecipeLine], end: u64, w: &Words) -> Finding {
    let name = w.exclusion.to_string();
    let all = tenures(log, end);
    let mut problems = Vec::new();
    let mut first: Option<u64> = None;
    for b in &all {
        for a in &all {
            let a_until = a.until.unwrap_or(end);
            // `a` acts as holder when `b` acquires.
            if a.process == b.process || !(a.from <= b.from && b.from < a_until) {
                continue;
            }
            if a.from == b.from && a.token > b.token {
                continue; // reported once, from the later token's side
            }
            if b.saw_gone(a) {
                continue; // ZooKeeper had already taken `a`'s node away
            }
            first = Some(first.map_or(b.from, |f| f.min(b.from)));
            let why = if a.token > b.basis {
                format!(
                    "client {} decided on a listing at zxid {:#x} ({}), before client {}'s node was created at zxid {:#x}",
                    b.process,
                    b.basis.0,
                    listed(&b.seen),
                    a.process,
                    a.token.0
                )
            } else {
                format!(
                    "the listing client {} decided on (zxid {:#x}) still showed client {}'s node",
                    b.process, b.basis.0, a.process
                )
            };
            problems.push(format!(
                "client {} {} at {} (node {}, token {:#x}) while client {} {} {} (node {}, token {:#x}) and still did until {}; both nodes existed at once: {why}",
                b.process,
                w.acquired,
                s(b.from),
                b.node,
                b.token.0,
                a.process,
                w.held_since,
                s(a.from),
                a.node,
                a.token.0,
                s(a_until),
            ));
        }
    }
    finding(name, problems, first, || {
        format!(
            "{} {}; whenever a client {}, the listing it decided on no longer showed any other {}'s node",
            all.len(),
            w.acquisitions,
            w.acquired_short,
            w.holder
        )
    })
}

fn listed(children: &[String]) -> String {
    if children.is_empty() {
        "no children".into()
    } else {
        children.join(", ")
    }
}

fn finding(
    name: String,
    problems: Vec<String>,
    first: Option<u64>,
    passed: impl FnOnce() -> String,
) -> Finding {
    if problems.is_empty() {
        return Finding {
            name,
            passed: true,
            at: None,
            detail: passed(),
        };
    }
    let shown = 5;
    let mut detail = problems
        .iter()
        .take(shown)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if problems.len() > shown {
        detail += &format!("\n(and {} more)", problems.len() - shown);
    }
    Finding {
        name,
        passed: false,
        at: first.map(SimTime),
        detail,
    }
}

/// `resource-exclusion`: see the module doc. `fencing` only words the explanation.
pub fn resource_exclusion(
    log: &[RecipeLine],
    history: &[Line],
    pauses: &[Pause],
    fencing: bool,
    end: u64,
    w: &Words,
) -> Finding {
    let name = w.resource.to_string();
    let zk = ZkFacts::new(history);
    let all = tenures(log, end);
    let tenure_of = |process: u64, token: Zxid| {
        all.iter()
            .find(|t| t.process == process && t.token == token)
    };
    // The highest accepted token so far, its writer and the time of its first accepted write.
    let mut highest: Option<(Zxid, u64, u64)> = None;
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut problems = Vec::new();
    let mut first = None;
    let mut first_write: BTreeMap<(u64, Zxid), u64> = BTreeMap::new();
    for line in log {
        let RecipeEvent::Write {
            token,
            accepted: ok,
        } = &line.event
        else {
            continue;
        };
        if *ok != Some(true) {
            rejected += 1;
            continue;
        }
        accepted += 1;
        first_write
            .entry((line.process, *token))
            .or_insert(line.time);
        match highest {
            Some((h, writer, since)) if *token < h => {
                first.get_or_insert(line.time);
                let stale = tenure_of(line.process, *token);
                // The first holder after the stale one that the resource heard from.
                let newer = all
                    .iter()
                    .filter(|n| n.token > *token && first_write.contains_key(&(n.process, n.token)))
                    .min_by_key(|n| n.from)
                    .or_else(|| tenure_of(writer, h));
                let since = newer
                    .and_then(|n| first_write.get(&(n.process, n.token)).copied())
                    .unwrap_or(since);
                let mut story = String::new();
                if let Some(t) = stale {
                    story += &format!(
                        "client {} {} from {} (node {}, token {:#x})",
                        t.process,
                        w.held,
                        s(t.from),
                        t.node,
                        t.token.0
                    );
                    if let Some(p) = pauses
                        .iter()
                        .find(|p| p.process == t.process && p.to > t.from && p.from <= line.time)
                    {
                        story += &format!("; it was paused from {} to {}", s(p.from), s(p.to));
                    }
                    if let Some(e) = zk.expiry_story(t.session) {
                        story += &format!("; {e}");
                    }
                } else {
                    story += &format!("client {} wrote with token {:#x}", line.process, token.0);
                }
                if let Some(n) = newer {
                    let gone = match stale {
                        Some(t) if n.saw_gone(t) => format!(
                            ", on a listing at zxid {:#x} that no longer showed client {}'s node",
                            n.basis.0, t.process
                        ),
                        _ => String::new(),
                    };
                    story += &format!(
                        "; client {} {} at {} (token {:#x}){gone} and wrote at {}",
                        n.process,
                        w.acquired_short,
                        s(n.from),
                        n.token.0,
                        s(since)
                    );
                }
                let resumed = pauses
                    .iter()
                    .filter(|p| p.process == line.process && p.to <= line.time)
                    .max_by_key(|p| p.to)
                    .filter(|p| stale.is_some_and(|t| p.to > t.from));
                let how = if resumed.is_some() {
                    format!("client {} resumed and wrote", line.process)
                } else {
                    format!("client {} wrote", line.process)
                };
                story += &format!(
                    "; {how} at {} with token {:#x}, and the resource accepted it ({})",
                    s(line.time),
                    token.0,
                    if fencing {
                        "with fencing on: a resource bug"
                    } else {
                        "no fencing"
                    }
                );
                problems.push(story);
            }
            Some((h, _, _)) if *token == h => {}
            _ => highest = Some((*token, line.process, line.time)),
        }
    }
    finding(name, problems, first, || {
        format!(
            "{accepted} writes accepted in token order, {rejected} stale writes rejected by fencing"
        )
    })
}

/// `lock-progress`: see the module doc. `window` is the liveness window.
pub fn lock_progress(log: &[RecipeLine], history: &[Line], window: &Window, w: &Words) -> Finding {
    let name = w.progress.to_string();
    let zk = ZkFacts::new(history);
    // Each process's open attempt: (when it set out, what it last waited behind).
    let mut open: BTreeMap<u64, (u64, Option<String>)> = BTreeMap::new();
    let mut stuck: Vec<(u64, u64, Option<String>)> = Vec::new();
    let mut acquisitions = 0;
    let mut close = |p: u64, at: u64, open: &mut BTreeMap<u64, (u64, Option<String>)>| {
        if let Some((since, pred)) = open.remove(&p)
            && since <= window.from
            && at >= window.to
        {
            stuck.push((p, since, pred));
        }
    };
    for line in log {
        match &line.event {
            RecipeEvent::Want => {
                close(line.process, line.time, &mut open);
                open.insert(line.process, (line.time, None));
            }
            RecipeEvent::Wait { pred, .. } => {
                if let Some(o) = open.get_mut(&line.process) {
                    o.1 = Some(pred.clone());
                }
            }
            RecipeEvent::Acquired { .. } => {
                acquisitions += 1;
                open.remove(&line.process);
            }
            RecipeEvent::Abandoned { .. } => close(line.process, line.time, &mut open),
            _ => {}
        }
    }
    let rest: Vec<u64> = open.keys().copied().collect();
    for p in rest {
        close(p, u64::MAX, &mut open);
    }
    let problems: Vec<String> = stuck
        .iter()
        .map(|(p, since, pred)| {
            let mut story = format!(
                "client {p} {} from {} and {} from {} to {}",
                w.wanted,
                s(*since),
                w.not_got,
                s(window.from),
                s(window.to)
            );
            if let Some(pred) = pred {
                story += &format!(", waiting behind {pred}");
                let orphan = zk.lost_creates.iter().find_map(|(q, lost)| {
                    lost.iter()
                        .find(|(_, path, _)| pred.starts_with(path.as_str()))
                        .map(|(t, path, why)| (*q, *t, path, why))
                });
                match (orphan, zk.created.get(pred)) {
                    (_, Some((q, t))) => story += &format!(" (created by client {q} at {})", s(*t)),
                    (Some((q, t, path, why)), None) => {
                        story += &format!(
                            ", an orphan: client {q}'s create of {path} at {} got no answer ({why}); client {q} created another node instead of looking for that one, which its live session still owns, ahead of its own new node",
                            s(t)
                        );
                    }
                    (None, None) => story += ", which no answered create named",
                }
            }
            story
        })
        .collect();
    // The root of a stuck queue first: the waiter behind an orphan.
    let mut problems = problems;
    problems.sort_by_key(|p| !p.contains(", an orphan: "));
    let first = (!problems.is_empty()).then_some(window.from);

    finding(name, problems, first, || {
        format!(
            "{acquisitions} {}; no client waited through the liveness window ({} to {})",
            w.acquisitions,
            s(window.from),
            s(window.to)
        )
    })
}

/// `queue-once`: no item was taken twice. Two `took` records of one item name both consumers,
/// their times and zxids, and whose delete of the item ZooKeeper actually carried out.
pub fn queue_once(log: &[RecipeLine], history: &[Line]) -> Finding {
    let mut takes: BTreeMap<&str, Vec<(u64, u64, Zxid)>> = BTreeMap::new();
    for line in log {
        if let RecipeEvent::Took { item, zxid } = &line.event {
            takes
                .entry(item)
                .or_default()
                .push((line.process, line.time, *zxid));
        }
    }
    let ops = client_ops(history);
    let mut problems = Vec::new();
    let mut first: Option<u64> = None;
    for (item, t) in &takes {
        if t.len() < 2 {
            continue;
        }
        first = Some(first.map_or(t[1].1, |f| f.min(t[1].1)));
        let who: Vec<String> = t
            .iter()
            .map(|(p, at, z)| format!("client {p} at {} (zxid {:#x})", s(*at), z.0))
            .collect();
        let deleted: Vec<String> = ops
            .iter()
            .filter(|o| o.f == "delete" && o.path() == *item && o.ok().is_some())
            .map(|o| {
                format!(
                    "client {}'s delete of it at {} ({})",
                    o.process,
                    s(o.at()),
                    o.answer()
                )
            })
            .collect();
        let deleted = match deleted.as_slice() {
            [] => "no delete of it succeeded".to_string(),
            d => format!("only {} succeeded", d.join(", ")),
        };
        problems.push(format!(
            "item {item} was taken {} times: by {}; {deleted}",
            t.len(),
            who.join(" and by ")
        ));
    }
    let total: usize = takes.values().map(Vec::len).sum();
    finding("queue-once".into(), problems, first, || {
        format!(
            "{total} takes of {} items; no item taken twice",
            takes.len()
        )
    })
}

/// An item of the queue as the ZooKeeper history shows it.
struct Item {
    /// The zxid from which it is known to exist: its czxid, or the first listing that showed it.
    known: u64,
    /// How it came to be known, in words.
    origin: String,
    /// The first evidence that it was gone: (zxid, time, in words).
    gone: Option<(u64, u64, String)>,
}

/// `queue-no-loss`: every item whose create succeeded, or that a listing showed (a create whose
/// answer was lost but that took effect), is either taken by a consumer (`took`, or `maybe_took`
/// after a delete whose answer was lost) or still in the queue at the end. An item is gone once a
/// listing of the queue at a zxid at or after the one it is known from no longer shows it, or a
/// delete of it succeeded: zxids, not times, say what ZooKeeper had done. The clients list the
/// queue once more when the workload ends, after the faults, so what is left is seen. An item
/// whose delete was still unanswered when the run ended is in a consumer's hands, not lost.
pub fn queue_no_loss(log: &[RecipeLine], history: &[Line], path: &str) -> Finding {
    let ops = client_ops(history);
    let prefix = format!("{path}/");
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    let mut know = |name: String, zxid: u64, origin: String| {
        let item = items.entry(name).or_insert(Item {
            known: zxid,
            origin: origin.clone(),
            gone: None,
        });
        if zxid < item.known {
            item.known = zxid;
            item.origin = origin;
        }
    };
    let listings: Vec<(&ZkOp, u64, Vec<&str>)> = ops
        .iter()
        .filter(|o| o.f == "get_children" && o.path() == path)
        .filter_map(|o| {
            let children = o.ok()?["children"].as_array()?;
            let names = children.iter().filter_map(|c| c.as_str()).collect();
            Some((o, o.ok_zxid()?, names))
        })
        .collect();
    for o in ops.iter().filter(|o| o.f == "create") {
        let Some(ok) = o.ok() else { continue };
        let (Some(p), Some(czxid)) = (ok["path"].as_str(), ok["stat"]["czxid"].as_u64()) else {
            continue;
        };
        if p.starts_with(&prefix) {
            let origin = format!(
                "created by client {} at {} (zxid {czxid:#x})",
                o.process,
                s(o.at())
            );
            know(p.to_string(), czxid, origin);
        }
    }
    for (o, zxid, names) in &listings {
        for n in names {
            let origin = format!(
                "first seen in client {}'s listing at {} (zxid {zxid:#x}); its create's answer was lost",
                o.process,
                s(o.at())
            );
            know(format!("{prefix}{n}"), *zxid, origin);
        }
    }
    let gone = |items: &mut BTreeMap<String, Item>, name: &str, zxid: u64, at: u64, why: String| {
        if let Some(item) = items.get_mut(name)
            && item.gone.as_ref().is_none_or(|g| zxid < g.0)
        {
            item.gone = Some((zxid, at, why));
        }
    };
    for (o, zxid, names) in &listings {
        let absent: Vec<String> = items
            .iter()
            .filter(|(name, item)| {
                item.known <= *zxid && !names.iter().any(|n| name.strip_prefix(&prefix) == Some(n))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in absent {
            let why = format!(
                "client {}'s listing at {} (zxid {zxid:#x}) no longer showed it",
                o.process,
                s(o.at())
            );
            gone(&mut items, &name, *zxid, o.at(), why);
        }
    }
    for o in ops.iter().filter(|o| o.f == "delete") {
        if let Some(zxid) = o.ok_zxid() {
            let why = format!(
                "client {}'s delete of it succeeded at {}",
                o.process,
                s(o.at())
            );
            gone(&mut items, o.path(), zxid, o.at(), why);
        }
    }
    let mut taken: BTreeMap<&str, bool> = BTreeMap::new();
    for line in log {
        match &line.event {
            RecipeEvent::Took { item, .. } => {
                taken.insert(item, true);
            }
            RecipeEvent::MaybeTook { item } => {
                taken.entry(item).or_insert(false);
            }
            _ => {}
        }
    }
    let in_hand = |name: &str| {
        ops.iter()
            .any(|o| o.f == "delete" && o.path() == name && o.done.is_none())
    };
    let mut problems = Vec::new();
    let mut first: Option<u64> = None;
    let (mut remain, mut held, mut certain, mut maybe) = (0, 0, 0, 0);
    for (name, item) in &items {
        let Some((zxid, at, why)) = &item.gone else {
            remain += 1;
            continue;
        };
        match taken.get(name.as_str()) {
            Some(true) => certain += 1,
            Some(false) => maybe += 1,
            None => {}
        }
        if taken.contains_key(name.as_str()) {
            continue;
        }
        if in_hand(name) {
            held += 1;
            continue;
        }
        first = Some(first.map_or(*at, |f| f.min(*at)));
        let deletes: Vec<String> = ops
            .iter()
            .filter(|o| o.f == "delete" && o.path() == name)
            .map(|o| {
                format!(
                    "client {} deleted it at {} ({})",
                    o.process,
                    s(o.invoked),
                    o.answer()
                )
            })
            .collect();
        let deletes = if deletes.is_empty() {
            "no client deleted it".to_string()
        } else {
            deletes.join("; ")
        };
        problems.push(format!(
            "item {name}, {}, was gone by zxid {zxid:#x} ({why}) and no consumer took it: {deletes}",
            item.origin
        ));
    }
    finding("queue-no-loss".into(), problems, first, || {
        format!(
            "{} items: {certain} taken, {maybe} possibly taken after a lost answer, {held} in a consumer's hands at the end, {remain} still in the queue",
            items.len(),
        )
    })
}

#[cfg(test)]
mod tests {
    //! Unit histories, each breaking exactly one checker: the other two pass it.
    use super::*;

    const MS: u64 = 1_000_000;

    fn at(ms: u64, process: u64, event: RecipeEvent) -> RecipeLine {
        RecipeLine {
            time: ms * MS,
            process,
            session: Some(100 + process),
            event,
        }
    }

    fn acquired(node: &str, token: u64, basis: u64, seen: &[&str]) -> RecipeEvent {
        RecipeEvent::Acquired {
            node: format!("/lock/{node}"),
            token: Zxid(token),
            basis: Zxid(basis),
            seen: seen.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn write(token: u64, accepted: bool) -> RecipeEvent {
        RecipeEvent::Write {
            token: Zxid(token),
            accepted: Some(accepted),
        }
    }

    fn released(node: &str) -> RecipeEvent {
        RecipeEvent::Released {
            node: format!("/lock/{node}"),
        }
    }

    const WINDOW: Window = Window {
        from: 1_000 * MS,
        to: 2_000 * MS,
    };
    const END: u64 = 3_000 * MS;

    fn verdicts(log: &[RecipeLine], pauses: &[Pause]) -> [bool; 3] {
        [
            lock_exclusion(log, END, &Words::LOCK).passed,
            resource_exclusion(log, &[], pauses, false, END, &Words::LOCK).passed,
            lock_progress(log, &[], &WINDOW, &Words::LOCK).passed,
        ]
    }

    /// The check-then-create race: client 1 took the lock on a listing made before client 0's
    /// node existed, and both acted as holder; their writes happen not to interleave.
    #[test]
    fn two_holders_whose_nodes_both_existed_break_only_lock_exclusion() {
        let log = vec![
            at(10, 0, RecipeEvent::Want),
            at(10, 1, RecipeEvent::Want),
            at(12, 0, acquired("a-0000000000", 7, 6, &[])),
            at(13, 0, write(7, true)),
            at(14, 1, acquired("b-0000000001", 8, 6, &[])),
            at(15, 0, released("a-0000000000")),
            at(16, 1, write(8, true)),
            at(17, 1, released("b-0000000001")),
        ];
        assert_eq!(verdicts(&log, &[]), [false, true, true]);
        let f = lock_exclusion(&log, END, &Words::LOCK);
        assert_eq!(f.at, Some(SimTime(14 * MS)));
        assert!(
            f.detail.contains("client 1 decided on a listing at zxid 0x6 (no children), before client 0's node was created at zxid 0x7"),
            "{}",
            f.detail
        );
    }

    /// The paused holder: ZooKeeper removed client 0's node (client 1's listing no longer shows
    /// it), client 1 acquired and wrote, then client 0 resumed and wrote with its old token, and
    /// the resource, without fencing, took it.
    #[test]
    fn a_stale_write_accepted_breaks_only_resource_exclusion_and_is_explained() {
        let log = vec![
            at(10, 0, RecipeEvent::Want),
            at(12, 0, acquired("a-0000000000", 7, 8, &["a-0000000000"])),
            at(13, 0, write(7, true)),
            at(20, 1, RecipeEvent::Want),
            at(2_300, 1, acquired("b-0000000001", 9, 10, &["b-0000000001"])),
            at(2_301, 1, write(9, true)),
            at(2_500, 0, write(7, true)),
            at(2_500, 0, released("a-0000000000")),
            at(2_600, 1, released("b-0000000001")),
        ];
        let pauses = [Pause {
            process: 0,
            from: 100 * MS,
            to: 2_500 * MS,
        }];
        assert_eq!(verdicts(&log, &pauses), [true, false, true]);
        let f = resource_exclusion(&log, &[], &pauses, false, END, &Words::LOCK);
        assert_eq!(f.at, Some(SimTime(2_500 * MS)));
        assert_eq!(
            f.detail,
            "client 0 held the lock from 0.012 s (node /lock/a-0000000000, token 0x7); it was paused from 0.100 s to 2.500 s; client 1 acquired at 2.300 s (token 0x9), on a listing at zxid 0xa that no longer showed client 0's node and wrote at 2.301 s; client 0 resumed and wrote at 2.500 s with token 0x7, and the resource accepted it (no fencing)"
        );
        // With fencing the resource rejects it: nothing stale was accepted.
        let mut fenced = log.clone();
        for l in &mut fenced {
            if let RecipeEvent::Write { accepted, .. } = &mut l.event {
                *accepted = None;
            }
        }
        assert_eq!(super::super::resource::replay(&mut fenced, true), 1);
        assert_eq!(verdicts(&fenced, &pauses), [true, true, true]);
    }

    /// Client 0 waits from before the liveness window to its end: the lock is stuck.
    #[test]
    fn a_waiter_stuck_through_the_liveness_window_breaks_only_lock_progress() {
        let log = vec![
            at(10, 1, RecipeEvent::Want),
            at(11, 1, acquired("b-0000000000", 5, 6, &["b-0000000000"])),
            at(12, 1, write(5, true)),
            at(20, 1, released("b-0000000000")),
            at(900, 0, RecipeEvent::Want),
            at(
                901,
                0,
                RecipeEvent::Wait {
                    node: "/lock/lock-c0a2-0000000003".into(),
                    pred: "/lock/lock-c0a1-0000000002".into(),
                },
            ),
        ];
        assert_eq!(verdicts(&log, &[]), [true, true, false]);
        let history: Vec<Line> = serde_json::from_str(
            r#"[{"type":"invoke","process":0,"f":"create","value":{"path":"/lock/lock-c0a1-","data":"0","mode":"ephemeral_sequential"},"time":800000000},
                {"type":"info","process":0,"f":"create","time":850000000,"error":"connection-loss"}]"#,
        )
        .unwrap();
        let f = lock_progress(&log, &history, &WINDOW, &Words::LOCK);
        assert!(
            f.detail.contains("an orphan: client 0's create of /lock/lock-c0a1- at 0.800 s got no answer (connection-loss)"),
            "{}",
            f.detail
        );
        // Had it acquired within the window, the lock moved.
        let mut moved = log.clone();
        moved.push(at(1_500, 0, acquired("lock-c0a2-0000000003", 9, 10, &[])));
        assert!(lock_progress(&moved, &[], &WINDOW, &Words::LOCK).passed);
    }

    /// The queue's ZooKeeper history: client 5 creates item 1 (zxid 0x10); client 2 lists the
    /// queue at zxid 0x11 (the item there), deletes it (zxid 0x12), lists again at 0x13 (gone).
    fn queue_history() -> Vec<Line> {
        serde_json::from_str(
            r#"[{"type":"invoke","process":5,"f":"create","value":{"path":"/queue/item-c5i1-","data":"c5i1","mode":"persistent_sequential"},"time":1000000},
                {"type":"ok","process":5,"f":"create","value":{"ok":{"path":"/queue/item-c5i1-0000000001","stat":{"czxid":16}}},"time":2000000,"zxid":16},
                {"type":"invoke","process":2,"f":"get_children","value":{"path":"/queue","watch":true},"time":3000000},
                {"type":"ok","process":2,"f":"get_children","value":{"ok":{"children":["item-c5i1-0000000001"]}},"time":4000000,"zxid":17},
                {"type":"invoke","process":2,"f":"delete","value":{"path":"/queue/item-c5i1-0000000001","version":-1},"time":5000000},
                {"type":"ok","process":2,"f":"delete","value":{"ok":null},"time":6000000,"zxid":18},
                {"type":"invoke","process":2,"f":"get_children","value":{"path":"/queue","watch":true},"time":7000000},
                {"type":"ok","process":2,"f":"get_children","value":{"ok":{"children":[]}},"time":8000000,"zxid":19}]"#,
        )
        .unwrap()
    }

    const ITEM: &str = "/queue/item-c5i1-0000000001";

    fn took(zxid: u64) -> RecipeEvent {
        RecipeEvent::Took {
            item: ITEM.into(),
            zxid: Zxid(zxid),
        }
    }

    fn queue_verdicts(log: &[RecipeLine], history: &[Line]) -> [bool; 2] {
        [
            queue_once(log, history).passed,
            queue_no_loss(log, history, "/queue").passed,
        ]
    }

    #[test]
    fn an_item_taken_once_passes_both_queue_checks() {
        let log = vec![at(6, 2, took(18))];
        assert_eq!(queue_verdicts(&log, &queue_history()), [true, true]);
        let f = queue_no_loss(&log, &queue_history(), "/queue");
        assert!(f.detail.starts_with("1 items: 1 taken"), "{}", f.detail);
    }

    /// Take-by-read: client 3 read the item and took it too, though only client 2's delete
    /// removed it.
    #[test]
    fn an_item_taken_twice_breaks_only_queue_once_and_names_both_takes() {
        let log = vec![at(5, 3, took(17)), at(6, 2, took(18))];
        assert_eq!(queue_verdicts(&log, &queue_history()), [false, true]);
        let f = queue_once(&log, &queue_history());
        assert_eq!(f.at, Some(SimTime(6 * MS)));
        assert_eq!(
            f.detail,
            "item /queue/item-c5i1-0000000001 was taken 2 times: by client 3 at 0.005 s (zxid 0x11) and by client 2 at 0.006 s (zxid 0x12); only client 2's delete of it at 0.006 s (ok at zxid 0x12) succeeded"
        );
    }

    /// The item was deleted and a later listing no longer shows it, but no consumer recorded a
    /// take: lost. A `maybe_took` (a lost delete's answer) accounts for it.
    #[test]
    fn an_item_gone_and_taken_by_no_one_breaks_only_queue_no_loss() {
        let history = queue_history();
        assert_eq!(queue_verdicts(&[], &history), [true, false]);
        let f = queue_no_loss(&[], &history, "/queue");
        assert_eq!(
            f.detail,
            "item /queue/item-c5i1-0000000001, created by client 5 at 0.002 s (zxid 0x10), was gone by zxid 0x12 (client 2's delete of it succeeded at 0.006 s) and no consumer took it: client 2 deleted it at 0.005 s (ok at zxid 0x12)"
        );
        let maybe = vec![at(9, 2, RecipeEvent::MaybeTook { item: ITEM.into() })];
        assert_eq!(queue_verdicts(&maybe, &history), [true, true]);
    }

    /// An item no listing has shown gone is still in the queue; one a create whose answer was
    /// lost made, once a listing shows it, counts as much as an answered one.
    #[test]
    fn an_item_still_in_the_queue_or_only_listed_is_accounted_for() {
        let history = &queue_history()[..4];
        assert_eq!(queue_verdicts(&[], history), [true, true]);
        let f = queue_no_loss(&[], history, "/queue");
        assert!(f.detail.ends_with("1 still in the queue"), "{}", f.detail);
        // Only a listing knows of it (the create's answer was lost); a later listing at a higher
        // zxid without it, and no take: lost.
        let mut listed: Vec<Line> = history[2..4].to_vec();
        listed.extend(queue_history()[6..].iter().cloned());
        let f = queue_no_loss(&[], &listed, "/queue");
        assert!(!f.passed);
        assert!(
            f.detail
                .contains("first seen in client 2's listing at 0.004 s (zxid 0x11)"),
            "{}",
            f.detail
        );
    }
}
