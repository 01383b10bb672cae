//! The nemesis: which faults a run suffers and when. Scripted faults fire at given virtual times;
//! random faults are drawn from the nemesis stream at configured rates, only inside the fault window
//! and never beyond the fault budget (at most `max_down` replicas crashed or paused at once), so that
//! a failure is a real bug and not an impossible world. When the window closes everything heals and
//! the liveness phase begins. This module describes faults; the world carries them out.

use crate::disk::Unsynced;
use crate::rng::Ratio;
use crate::time::check_ms;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A node as a fault names it: a node id (replicas first, `0..replicas`, then clients), or a role
/// resolved when the fault fires.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeRef {
    Id(u32),
    /// The replica that leads in the highest epoch (lowest id on a tie); any replica if none leads.
    Leader,
    /// A random replica that is up.
    Random,
    /// A random replica that is up and is not the leader.
    Follower,
    /// The node an earlier fault bound to this name with `as` when it fired (`FaultSpec::bind`).
    Name(String),
}

/// The role names a node reference may use; a name bound with `as` cannot be one of them.
const ROLES: [&str; 3] = ["leader", "random", "follower"];

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Id(i) => write!(f, "n{i}"),
            NodeRef::Leader => f.write_str("leader"),
            NodeRef::Random => f.write_str("random"),
            NodeRef::Follower => f.write_str("follower"),
            NodeRef::Name(n) => f.write_str(n),
        }
    }
}

impl Serialize for NodeRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NodeRef::Id(i) => s.serialize_u32(*i),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<NodeRef, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Id(u32),
            Name(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected a node id (a number), one of \"leader\", \"random\", \"follower\", or a name bound with `as`",
            )
        })? {
            Raw::Id(i) => Ok(NodeRef::Id(i)),
            Raw::Name(n) => match n.as_str() {
                "leader" => Ok(NodeRef::Leader),
                "random" => Ok(NodeRef::Random),
                "follower" => Ok(NodeRef::Follower),
                // Whether an earlier fault binds it is checked with the list (`validate`).
                _ => Ok(NodeRef::Name(n)),
            },
        }
    }
}

/// What a scripted fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Stop `node`; its volatile state is gone, its disk keeps what the crash model allows.
    Crash,
    /// Start a crashed `node` again from its disk.
    Restart,
    /// Freeze `node`: it receives nothing and fires no timer; time moves on.
    Pause,
    Resume,
    /// Cut every link between different `groups` (both ways). Nodes in no group keep their links.
    Partition,
    /// Cut `node` off from every other replica (both ways); clients keep their links to it.
    Isolate,
    /// Cut the one-way link `from -> to`.
    Cut,
    /// Restore every cut link.
    Heal,
    /// Hold every message to and from `node` (or on the link `from -> to`) until unclogged.
    Clog,
    /// Release every clog (or the one on `node`, or on `from -> to`).
    Unclog,
}

impl FaultSpec {
    /// A fault of `kind` at time 0 with no field set; callers fill in what the kind takes.
    pub fn new(kind: FaultKind) -> FaultSpec {
        FaultSpec {
            at_ms: 0.0,
            fault: kind,
            node: None,
            groups: None,
            from: None,
            to: None,
            for_ms: None,
            unsynced: None,
            mid_handler: None,
            after_effects: None,
            after_send: None,
            nth: None,
            bind: None,
        }
    }

    /// The same fault naming `node` by its id.
    pub fn on(mut self, node: crate::NodeId) -> FaultSpec {
        self.node = Some(NodeRef::Id(node.0));
        self
    }

    /// The node this fault names whatever the roles are when it fires: its id, its name, or the
    /// name it binds its role to; `None` for an unbound role.
    fn fixed_node(&self) -> Option<NodeRef> {
        match (&self.node, &self.bind) {
            (Some(n @ (NodeRef::Id(_) | NodeRef::Name(_))), _) => Some(n.clone()),
            (Some(_), Some(b)) => Some(NodeRef::Name(b.clone())),
            _ => None,
        }
    }

    /// The same fault on the one-way link `from -> to`.
    pub fn link(mut self, from: crate::NodeId, to: crate::NodeId) -> FaultSpec {
        self.from = Some(NodeRef::Id(from.0));
        self.to = Some(NodeRef::Id(to.0));
        self
    }
}

/// One scripted fault, as written in a scenario's `faults.scripted` list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When it fires, in virtual milliseconds from the start of the run.
    pub at_ms: f64,
    pub fault: FaultKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Vec<NodeRef>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NodeRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NodeRef>,
    /// Undo the fault this long after it fired (restart, resume, heal, unclog).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<f64>,
    /// Crash only: overrides the disk's model for unsynced writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsynced: Option<Unsynced>,
    /// Crash only: stop the node part-way through its next handler, between two of its effects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid_handler: Option<bool>,
    /// Mid-handler crash only: stop after this many of the handler's effects (0 to 3; drawn from
    /// the nemesis stream when absent). What a frozen random crash records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_effects: Option<u32>,
    /// Crash only: a triggered crash. From `at_ms` on, the fault waits for a replica that `node`
    /// matches to send a message of this kind (the protocol's own name for it, as message counts
    /// show it: `VOTE`, `PROMISE`, ...); the `nth` such send stops the sender right after it, in
    /// the middle of its handler (the rest of the handler's effects never happen, and a pending
    /// fsync never completes). `node` names the sender: an id, `leader` (it leads when it sends),
    /// `follower` (it does not) or `random` (any replica).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_send: Option<String>,
    /// Triggered crash only: which matching send stops the sender (1, the first, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u32>,
    /// Crash, pause, isolate or clog of a `node`: binds this name to the node the fault stopped
    /// (or cut off, or clogged) when it fired, so that later faults name the same node (`"node":
    /// "x"`, in `groups`, `from`, `to`) after roles have moved on: "the old leader", "the follower
    /// that holds the entry". A name is bound once; a `random` or `follower` drawn to bind one
    /// skips nodes bound to other names; a fault naming it before it is bound (a triggered crash
    /// that has not fired yet) is skipped, as a role with no node up is.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
}

/// Kinds of random fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RandomFault {
    /// Crash a random replica; it restarts after the fault's duration.
    Crash,
    /// Crash the leader.
    CrashLeader,
    /// Pause a random replica.
    Pause,
    /// Pause the leader (a GC pause of the primary).
    PauseLeader,
    /// Split the replicas into a random minority and majority.
    Partition,
    /// Cut the leader off from the other replicas (its clients still reach it).
    IsolateLeader,
    /// Cut one random one-way link between replicas.
    OneWay,
    /// Clog a random replica.
    Clog,
    /// Cut a random client off from every replica (its session must survive or expire cleanly).
    IsolateClient,
}

/// A closed range of milliseconds, written `[min, max]`.
pub type MsRange = [f64; 2];

/// Random faults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    /// Time between two faults, drawn uniformly from this range.
    pub every_ms: MsRange,
    /// How long each fault lasts before it is undone, drawn uniformly from this range.
    pub duration_ms: MsRange,
    /// Relative weights of the fault kinds to draw.
    pub kinds: BTreeMap<RandomFault, u32>,
    /// Fraction of crashes that stop the replica part-way through a handler.
    #[serde(default)]
    pub mid_handler: Ratio,
}

/// The scenario's fault model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemesisConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripted: Vec<FaultSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random: Option<RandomFaults>,
    /// When faults may happen: `[start, end]` in ms. At `end` every fault is healed (crashed replicas
    /// restart, paused ones resume, links heal and unclog) and the liveness phase begins. Random
    /// faults are drawn only inside the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<MsRange>,
    /// The fault budget: at most this many replicas crashed or paused at once by random faults.
    /// Defaults to a minority, `(replicas - 1) / 2`, so that a quorum stays up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_down: Option<u32>,
}

fn check_range(field: &str, r: MsRange) -> Result<(), (String, String)> {
    check_ms(&format!("{field}[0]"), r[0])?;
    check_ms(&format!("{field}[1]"), r[1])?;
    if r[0] > r[1] {
        return Err((
            field.into(),
            format!("expected [min, max] milliseconds with min <= max, got {r:?}"),
        ));
    }
    Ok(())
}

/// Checks relative weights (of fault kinds, of operation kinds): at least one positive, and a sum
/// that fits the `u32` a draw picks from.
pub fn check_weights(
    field: &str,
    weights: impl Iterator<Item = u32>,
    what: &str,
) -> Result<(), (String, String)> {
    let total: u64 = weights.map(u64::from).sum();
    if total == 0 {
        return Err((
            field.into(),
            format!("give at least one {what} a positive weight"),
        ));
    }
    if total > u64::from(u32::MAX) {
        return Err((
            field.into(),
            format!(
                "the weights sum to {total}; keep their sum at most {}",
                u32::MAX
            ),
        ));
    }
    Ok(())
}

impl NemesisConfig {
    /// Checks the fault model against a cluster of `replicas` replicas and `nodes` nodes in all,
    /// for a run that ends at `end_ms`. Errors name the field (relative to the fault model) and say
    /// what was expected. Besides each fault's own fields, it refuses impossible worlds: a fault
    /// after the run (or after the fault window) ends, a crash or restart of a client, a
    /// link from a node to itself, scripted crashes and pauses beyond the budget `max_down`, and,
    /// without a window, a fault that is never undone (the liveness phase would never begin).
    pub fn validate(&self, replicas: u32, nodes: u32, end_ms: f64) -> Result<(), (String, String)> {
        // Names bound by `as` so far, with when their fault fires.
        let mut bound: Vec<(&str, f64)> = Vec::new();
        for (i, f) in self.scripted.iter().enumerate() {
            let at = |name: &str| format!("scripted[{i}].{name}");
            check_ms(&at("at_ms"), f.at_ms)?;
            let check_ref = |field: String, r: &NodeRef| -> Result<(), (String, String)> {
                match r {
                    NodeRef::Id(i) if *i >= nodes => Err((
                        field,
                        format!("node {i} does not exist: ids run from 0 to {}", nodes - 1),
                    )),
                    NodeRef::Name(n) if !bound.iter().any(|(b, t)| b == n && *t <= f.at_ms) => {
                        let names: Vec<&str> = bound.iter().map(|(b, _)| *b).collect();
                        Err((
                            field,
                            format!(
                                "unknown node {n:?}: expected a node id, one of \"leader\", \"random\", \"follower\", or a name an earlier fault (listed before this one, firing no later) binds with `as` (bound so far: {names:?})"
                            ),
                        ))
                    }
                    _ => Ok(()),
                }
            };
            if let Some(d) = f.for_ms {
                check_ms(&at("for_ms"), d)?;
            }
            let needs_node = matches!(
                f.fault,
                FaultKind::Crash
                    | FaultKind::Restart
                    | FaultKind::Pause
                    | FaultKind::Resume
                    | FaultKind::Isolate
            );
            if needs_node && f.node.is_none() {
                return Err((
                    at("node"),
                    format!("a {:?} fault needs a node", f.fault).to_lowercase(),
                ));
            }
            for (name, r) in [("node", &f.node), ("from", &f.from), ("to", &f.to)] {
                if let Some(r) = r {
                    check_ref(at(name), r)?;
                }
            }
            let allowed: &[&str] = match f.fault {
                FaultKind::Crash => &[
                    "node",
                    "for_ms",
                    "unsynced",
                    "mid_handler",
                    "after_effects",
                    "after_send",
                    "nth",
                    "as",
                ],
                FaultKind::Restart | FaultKind::Resume => &["node"],
                FaultKind::Pause | FaultKind::Isolate => &["node", "for_ms", "as"],
                FaultKind::Partition => &["groups", "for_ms"],
                FaultKind::Cut => &["from", "to", "for_ms"],
                FaultKind::Heal => &[],
                FaultKind::Clog => &["node", "from", "to", "for_ms", "as"],
                FaultKind::Unclog => &["node", "from", "to"],
            };
            let present = [
                ("node", f.node.is_some()),
                ("groups", f.groups.is_some()),
                ("from", f.from.is_some()),
                ("to", f.to.is_some()),
                ("for_ms", f.for_ms.is_some()),
                ("unsynced", f.unsynced.is_some()),
                ("mid_handler", f.mid_handler.is_some()),
                ("after_effects", f.after_effects.is_some()),
                ("after_send", f.after_send.is_some()),
                ("nth", f.nth.is_some()),
                ("as", f.bind.is_some()),
            ];
            for (name, is) in present {
                if is && !allowed.contains(&name) {
                    return Err((
                        at(name),
                        format!(
                            "not a field of a {} fault (allowed: {allowed:?})",
                            kind_name(f.fault)
                        ),
                    ));
                }
            }
            if f.after_effects.is_some() && f.mid_handler != Some(true) {
                return Err((
                    at("after_effects"),
                    "after_effects needs mid_handler: true".into(),
                ));
            }
            if let Some(kind) = &f.after_send {
                if kind.is_empty() {
                    return Err((
                        at("after_send"),
                        "expected a message kind, e.g. \"VOTE\"".into(),
                    ));
                }
                if f.mid_handler.is_some() {
                    return Err((
                        at("mid_handler"),
                        "a triggered crash (after_send) already stops its node mid-handler, right after the send; leave mid_handler out".into(),
                    ));
                }
            }
            match f.nth {
                Some(_) if f.after_send.is_none() => {
                    return Err((at("nth"), "nth needs after_send".into()));
                }
                Some(0) => {
                    return Err((
                        at("nth"),
                        "expected 1 or more (1: the first matching send)".into(),
                    ));
                }
                _ => {}
            }
            match f.fault {
                FaultKind::Partition => {
                    let groups = f
                        .groups
                        .as_ref()
                        .ok_or_else(|| (at("groups"), "a partition needs groups".to_string()))?;
                    if groups.len() < 2 {
                        return Err((at("groups"), "a partition needs at least two groups".into()));
                    }
                    let mut seen = Vec::new();
                    for (g, group) in groups.iter().enumerate() {
                        for (k, r) in group.iter().enumerate() {
                            let field = format!("scripted[{i}].groups[{g}][{k}]");
                            check_ref(field.clone(), r)?;
                            if seen.contains(r) {
                                return Err((field, format!("{r} is in two groups")));
                            }
                            seen.push(r.clone());
                        }
                    }
                }
                FaultKind::Cut if f.from.is_none() || f.to.is_none() => {
                    return Err((
                        at(if f.from.is_none() { "from" } else { "to" }),
                        "a cut needs from and to".into(),
                    ));
                }
                FaultKind::Clog | FaultKind::Unclog
                    if f.node.is_some() && (f.from.is_some() || f.to.is_some()) =>
                {
                    return Err((at("node"), "give either node or from/to, not both".into()));
                }
                FaultKind::Clog if f.node.is_none() && (f.from.is_none() || f.to.is_none()) => {
                    return Err((at("node"), "a clog needs a node, or from and to".into()));
                }
                _ => {}
            }
            if let Some(name) = &f.bind {
                check_bind_name(name).map_err(|m| (at("as"), m))?;
                if f.node.is_none() {
                    return Err((
                        at("as"),
                        "`as` names the fault's node: give the fault a node".into(),
                    ));
                }
                if bound.iter().any(|(b, _)| b == name) {
                    return Err((
                        at("as"),
                        format!(
                            "{name:?} is already bound by an earlier fault: a name is bound once"
                        ),
                    ));
                }
                bound.push((name, f.at_ms));
            }
        }
        if let Some(r) = &self.random {
            check_range("random.every_ms", r.every_ms)?;
            check_range("random.duration_ms", r.duration_ms)?;
            if r.every_ms[1] < 1.0 {
                return Err((
                    "random.every_ms[1]".into(),
                    format!(
                        "the longest time between faults must be at least 1 ms, got {}",
                        r.every_ms[1]
                    ),
                ));
            }
            check_weights("random.kinds", r.kinds.values().copied(), "fault kind")?;
        }
        if let Some(w) = self.window_ms {
            check_range("window_ms", w)?;
        }
        if let Some(m) = self.max_down
            && m > replicas
        {
            return Err((
                "max_down".into(),
                format!("cannot exceed the number of replicas ({replicas}), got {m}"),
            ));
        }
        self.check_scripted_world(replicas, end_ms)?;
        Ok(())
    }

    pub fn max_down(&self, replicas: u32) -> u32 {
        self.max_down.unwrap_or(replicas.saturating_sub(1) / 2)
    }

    /// When every fault is undone and the liveness phase begins: the window's end if there is a
    /// window, else the latest end of a scripted fault, else 0 (there are no faults). A scenario
    /// that passed `validate` has no fault that is never undone.
    pub fn heal_ms(&self) -> f64 {
        if let Some(w) = self.window_ms {
            return w[1];
        }
        self.scripted_spans()
            .iter()
            .filter_map(|span| span.until_ms)
            .fold(0.0, f64::max)
    }

    /// Whether the scenario has no fault and no fault window at all (its liveness phase then
    /// starts with the workload).
    pub fn is_empty(&self) -> bool {
        self.scripted.is_empty() && self.random.is_none() && self.window_ms.is_none()
    }

    /// Each scripted fault that does harm, with when it is undone: by its own `for_ms`, by the
    /// first later entry that undoes it (restart, resume, heal, unclog), or at the window's end.
    fn scripted_spans(&self) -> Vec<Span> {
        let undoes = |undo: &FaultSpec, f: &FaultSpec| match (f.fault, undo.fault) {
            // A role names a node only when the fault fires, so only an id or a name can be
            // undone by name. A paused node that then crashes is up again once it restarts.
            (FaultKind::Crash, FaultKind::Restart)
            | (FaultKind::Pause, FaultKind::Resume | FaultKind::Restart) => {
                f.fixed_node().is_some() && undo.node == f.fixed_node()
            }
            (FaultKind::Partition | FaultKind::Isolate | FaultKind::Cut, FaultKind::Heal) => true,
            (FaultKind::Clog, FaultKind::Unclog) => {
                let all = undo.node.is_none() && undo.from.is_none() && undo.to.is_none();
                all || (undo.node == f.node && undo.from == f.from && undo.to == f.to)
            }
            _ => false,
        };
        self.scripted
            .iter()
            .enumerate()
            .filter(|(_, f)| f.fault.is_fault())
            .map(|(index, f)| {
                let by_entry = self
                    .scripted
                    .iter()
                    .filter(|u| u.at_ms >= f.at_ms && undoes(u, f))
                    .map(|u| u.at_ms)
                    .fold(None, |a: Option<f64>, t| Some(a.map_or(t, |a| a.min(t))));
                let until_ms = [
                    f.for_ms.map(|d| f.at_ms + d),
                    by_entry,
                    self.window_ms.map(|w| w[1]),
                ]
                .into_iter()
                .flatten()
                .fold(None, |a: Option<f64>, t| Some(a.map_or(t, |a| a.min(t))));
                Span { index, until_ms }
            })
            .collect()
    }

    /// The impossible worlds `validate` refuses, for scripted faults.
    fn check_scripted_world(&self, replicas: u32, end_ms: f64) -> Result<(), (String, String)> {
        for (i, f) in self.scripted.iter().enumerate() {
            let at = |name: &str| format!("scripted[{i}].{name}");
            let verb = kind_name(f.fault);
            // A client may pause (a GC pause of the application: its session may expire), but a
            // crashed client would leave its operation open forever and start again under the same
            // process number, a history no checker can read.
            if let (FaultKind::Crash | FaultKind::Restart, Some(NodeRef::Id(n))) =
                (f.fault, &f.node)
                && *n >= replicas
            {
                return Err((
                    at("node"),
                    format!(
                        "node {n} is a client: {verb} applies to replicas (0 to {}); pause a client, or cut or partition its links, instead",
                        replicas - 1
                    ),
                ));
            }
            if f.from.is_some() && f.from == f.to {
                return Err((
                    at("to"),
                    format!("a {verb} from a node to itself cuts nothing"),
                ));
            }
            if !f.fault.is_fault() {
                continue;
            }
            if f.at_ms >= end_ms {
                return Err((
                    at("at_ms"),
                    format!("fires at {} ms, after the run ends at {end_ms} ms", f.at_ms),
                ));
            }
            if let Some(w) = self.window_ms
                && f.at_ms >= w[1]
            {
                return Err((
                    at("at_ms"),
                    format!(
                        "fires at {} ms, after the fault window closes at {} ms (every fault is undone there and the liveness phase runs); move it into the window or widen window_ms",
                        f.at_ms, w[1]
                    ),
                ));
            }
        }
        let spans = self.scripted_spans();
        if let Some(span) = spans.iter().find(|s| s.until_ms.is_none()) {
            let f = &self.scripted[span.index];
            return Err((
                format!("scripted[{}]", span.index),
                format!(
                    "this {} is never undone, so the cluster never heals and its liveness cannot be checked: give it for_ms, a later {}, or give the faults a window_ms (whose end undoes every fault)",
                    kind_name(f.fault),
                    match f.fault {
                        FaultKind::Crash if f.fixed_node().is_some() => "restart of the same node",
                        FaultKind::Pause if f.fixed_node().is_some() => "resume of the same node",
                        FaultKind::Crash | FaultKind::Pause =>
                            "for_ms (a role names a node only when the fault fires), or bind it with `as` and restart or resume that name",
                        FaultKind::Clog => "unclog",
                        _ => "heal",
                    }
                ),
            ));
        }
        // The budget: at every instant, how many replicas scripted crashes and pauses hold down.
        // A role counts as one more replica (it may name one already down: this errs on the side
        // of refusing), an id or a name counts once however often it is stopped.
        let budget = self.max_down(replicas);
        let replica = |f: &FaultSpec| !matches!(f.node, Some(NodeRef::Id(n)) if n >= replicas);
        let stops: Vec<(&Span, &FaultSpec)> = spans
            .iter()
            .map(|s| (s, &self.scripted[s.index]))
            .filter(|(_, f)| matches!(f.fault, FaultKind::Crash | FaultKind::Pause) && replica(f))
            .collect();
        for &(span, f) in &stops {
            let t = f.at_ms;
            let down_at =
                |(s, g): &(&Span, &FaultSpec)| g.at_ms <= t && s.until_ms.is_some_and(|u| u > t);
            let mut ids: Vec<NodeRef> = Vec::new();
            let mut roles = 0;
            for entry in stops.iter().filter(|e| down_at(e)) {
                match entry.1.fixed_node() {
                    Some(n) if !ids.contains(&n) => ids.push(n),
                    Some(_) => {}
                    None => roles += 1,
                }
            }
            let down = ids.len() as u32 + roles;
            if down > budget {
                return Err((
                    format!("scripted[{}]", span.index),
                    format!(
                        "at {t} ms scripted crashes and pauses hold {down} replicas down, beyond the fault budget max_down = {budget}{}; to simulate losing a quorum on purpose, set faults.max_down to {down} (the cluster is unavailable meanwhile, and liveness is checked after every fault is undone)",
                        if self.max_down.is_none() {
                            " (a minority, the default)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A name `as` may bind: a letter, then letters, digits, `-` and `_`, at most 32 characters, and
/// not a role.
fn check_bind_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if !ok {
        return Err(format!(
            "{name:?} cannot be a name: start with a letter, then letters, digits, '-' or '_', at most 32 characters"
        ));
    }
    if ROLES.contains(&name) {
        return Err(format!(
            "{name:?} is a role; bind another name (e.g. \"old-{name}\")"
        ));
    }
    Ok(())
}

/// A scripted fault and when it is undone (`None`: never).
struct Span {
    index: usize,
    until_ms: Option<f64>,
}

impl FaultKind {
    /// Its name in scenario files and traces (`crash`, `restart`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Restart => "restart",
            FaultKind::Pause => "pause",
            FaultKind::Resume => "resume",
            FaultKind::Partition => "partition",
            FaultKind::Isolate => "isolate",
            FaultKind::Cut => "cut",
            FaultKind::Heal => "heal",
            FaultKind::Clog => "clog",
            FaultKind::Unclog => "unclog",
        }
    }

    /// Whether it does harm (as opposed to undoing harm: restart, resume, heal, unclog).
    fn is_fault(self) -> bool {
        !matches!(
            self,
            FaultKind::Restart | FaultKind::Resume | FaultKind::Heal | FaultKind::Unclog
        )
    }
}

fn kind_name(k: FaultKind) -> &'static str {
    k.name()
}
