//! The nemesis: which faults a run suffers and when. Scripted faults fire at given virtual times;
//! random faults are drawn from the nemesis stream at configured rates, only inside the fault window
//! and never beyond the fault budget (at most `max_down` replicas crashed or paused at once), so that
//! a failure is a real bug and not an impossible world. When the window closes everything heals and
//! the liveness phase begins. This module describes faults; the world carries them out.

use crate::disk::Unsynced;
use crate::rng::Ratio;
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
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Id(i) => write!(f, "n{i}"),
            NodeRef::Leader => f.write_str("leader"),
            NodeRef::Random => f.write_str("random"),
            NodeRef::Follower => f.write_str("follower"),
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
                "expected a node id (a number) or one of \"leader\", \"random\", \"follower\"",
            )
        })? {
            Raw::Id(i) => Ok(NodeRef::Id(i)),
            Raw::Name(n) => match n.as_str() {
                "leader" => Ok(NodeRef::Leader),
                "random" => Ok(NodeRef::Random),
                "follower" => Ok(NodeRef::Follower),
                other => Err(serde::de::Error::custom(format!(
                    "unknown node {other:?}: expected a node id or one of \"leader\", \"random\", \"follower\""
                ))),
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
    if !(r[0].is_finite() && r[1].is_finite() && r[0] >= 0.0 && r[0] <= r[1]) {
        return Err((
            field.into(),
            format!("expected [min, max] milliseconds with 0 <= min <= max, got {r:?}"),
        ));
    }
    Ok(())
}

impl NemesisConfig {
    /// Checks the fault model against a cluster of `replicas` replicas and `nodes` nodes in all.
    /// Errors name the field (relative to the fault model) and say what was expected.
    pub fn validate(&self, replicas: u32, nodes: u32) -> Result<(), (String, String)> {
        let check_ref = |field: String, r: &NodeRef| -> Result<(), (String, String)> {
            match r {
                NodeRef::Id(i) if *i >= nodes => Err((
                    field,
                    format!("node {i} does not exist: ids run from 0 to {}", nodes - 1),
                )),
                _ => Ok(()),
            }
        };
        for (i, f) in self.scripted.iter().enumerate() {
            let at = |name: &str| format!("scripted[{i}].{name}");
            if !(f.at_ms.is_finite() && f.at_ms >= 0.0) {
                return Err((
                    at("at_ms"),
                    format!("expected milliseconds >= 0, got {}", f.at_ms),
                ));
            }
            if let Some(d) = f.for_ms
                && !(d.is_finite() && d >= 0.0)
            {
                return Err((at("for_ms"), format!("expected milliseconds >= 0, got {d}")));
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
                FaultKind::Crash => &["node", "for_ms", "unsynced", "mid_handler"],
                FaultKind::Restart | FaultKind::Resume => &["node"],
                FaultKind::Pause | FaultKind::Isolate => &["node", "for_ms"],
                FaultKind::Partition => &["groups", "for_ms"],
                FaultKind::Cut => &["from", "to", "for_ms"],
                FaultKind::Heal => &[],
                FaultKind::Clog => &["node", "from", "to", "for_ms"],
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
        }
        if let Some(r) = &self.random {
            check_range("random.every_ms", r.every_ms)?;
            check_range("random.duration_ms", r.duration_ms)?;
            if r.every_ms[1] <= 0.0 {
                return Err((
                    "random.every_ms".into(),
                    "the time between faults must be positive".into(),
                ));
            }
            if r.kinds.values().all(|&w| w == 0) {
                return Err((
                    "random.kinds".into(),
                    "give at least one fault kind a positive weight".into(),
                ));
            }
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
        Ok(())
    }

    pub fn max_down(&self, replicas: u32) -> u32 {
        self.max_down.unwrap_or(replicas.saturating_sub(1) / 2)
    }
}

fn kind_name(k: FaultKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
