//! ZooKeeper recipes as application processes on top of the shared simulated client
//! (`crate::client`): the scenario's `workload.recipe` section, the application-level events a
//! recipe records beside the ZooKeeper history (`RecipeRecord`, written as `recipe.jsonl`), the
//! guarded resource its holders write to (`resource.rs`) and the checkers that judge a run by the
//! recipe's own promise (`check.rs`).
//!
//! A recipe decides which ZooKeeper request to send next and what an answer, a watch
//! notification, a connection loss or a session expiry means for it; the client carries the
//! requests, sessions and watches exactly as it does for the random workload. A recipe is sans-IO:
//! it is handed the virtual time and the client's random stream, and never touches the world.

pub mod check;
pub mod lock;
pub mod resource;

use crate::znode::{SessionId, Zxid};
use serde::{Deserialize, Serialize};

pub use lock::{LockApp, LockVariant};

/// The recipes a workload may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipeKind {
    /// ZooKeeper's "Recipes and Solutions" lock (ephemeral sequential children, watch the
    /// predecessor), Curator's `InterProcessMutex`.
    Lock,
    /// The same page's leader election (ephemeral sequential, the lowest leads, watch the
    /// predecessor), Curator's `LeaderLatch`. Its fencing token is the zxid at which it won: the
    /// zxid of the listing that showed its node the lowest.
    Election,
}

impl RecipeKind {
    /// The prefix of the recipe's node names (`lock-<guid>-`, `leader-<guid>-`).
    pub fn node_prefix(self) -> &'static str {
        match self {
            RecipeKind::Lock => "lock",
            RecipeKind::Election => "leader",
        }
    }
}

fn default_hold_ms() -> [f64; 2] {
    [20.0, 200.0]
}

fn default_write_every_ms() -> f64 {
    10.0
}

fn default_lock_path() -> String {
    "/lock".to_string()
}

/// The scenario's `workload.recipe`: every client runs this recipe instead of the random mix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeConfig {
    pub kind: RecipeKind,
    /// The recipe's variant (`LockVariant::NAMES`); the first is the correct one.
    #[serde(default)]
    pub variant: LockVariant,
    /// How long a holder keeps the lock (a leader its leadership, before it abdicates and runs
    /// again) once it has it, uniform in `[min, max]` ms.
    #[serde(default = "default_hold_ms")]
    pub hold_ms: [f64; 2],
    /// While it holds the lock, the holder writes to the guarded resource this often (ms).
    #[serde(default = "default_write_every_ms")]
    pub write_every_ms: f64,
    /// The lock's parent node; created (persistent) by the first client to get there.
    #[serde(default = "default_lock_path")]
    pub path: String,
}

impl RecipeConfig {
    /// Checks the section; errors name the field (relative to `workload.recipe`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let ms = sim::time::check_ms;
        ms("hold_ms[0]", self.hold_ms[0])?;
        ms("hold_ms[1]", self.hold_ms[1])?;
        if self.hold_ms[0] > self.hold_ms[1] {
            return Err((
                "hold_ms".into(),
                format!(
                    "expected [min, max] with min <= max, got {:?}",
                    self.hold_ms
                ),
            ));
        }
        ms("write_every_ms", self.write_every_ms)?;
        if self.write_every_ms < 0.001 {
            return Err((
                "write_every_ms".into(),
                format!(
                    "expected at least 0.001 ms between writes, got {}",
                    self.write_every_ms
                ),
            ));
        }
        let p = &self.path;
        let valid = p.len() > 1
            && p.starts_with('/')
            && !p.ends_with('/')
            && !p.contains("//")
            && p[1..].split('/').all(|s| s != "." && s != "..")
            && !p.starts_with("/zookeeper");
        if !valid {
            return Err((
                "path".into(),
                format!("expected an absolute znode path below / (not /zookeeper), got {p:?}"),
            ));
        }
        Ok(())
    }

    /// Whether the guarded resource checks fencing tokens.
    pub fn fencing(&self) -> bool {
        self.variant.fencing()
    }
}

/// What a recipe client records beside its ZooKeeper history: the application's view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RecipeEvent {
    /// The client sets out to take the lock.
    Want,
    /// It waits until `pred`, the node before its own `node`, is gone (or, herd-style, until the
    /// lock's children change: `pred` is then the parent).
    Wait { node: String, pred: String },
    /// It holds the lock: its node `node` is the lowest, created by transaction `token` (the
    /// fencing token it presents to the resource). `basis` is the zxid of the `get_children`
    /// answer it decided on and `seen` the children that answer listed: what ZooKeeper showed
    /// it when it took the lock.
    Acquired {
        node: String,
        token: Zxid,
        basis: Zxid,
        seen: Vec<String>,
    },
    /// It writes to the guarded resource as the holder, presenting `token`. `accepted` is filled
    /// in when the resource is replayed after the run (`resource::replay`).
    Write {
        token: Zxid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accepted: Option<bool>,
    },
    /// Its connection is lost while it holds: it stops acting as holder until it knows.
    Suspended { node: String },
    /// Reconnected within its session: its node is still there, it acts as holder again.
    Resumed { node: String },
    /// It stops acting as holder, then deletes its node (or closes its session).
    Released { node: String },
    /// It learns it lost the lock: its session expired.
    Lost { node: String, why: String },
    /// It gives up waiting (its session expired, or the run ended).
    Abandoned { why: String },
}

impl RecipeEvent {
    /// The event's name, as `recipe.jsonl` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            RecipeEvent::Want => "want",
            RecipeEvent::Wait { .. } => "wait",
            RecipeEvent::Acquired { .. } => "acquired",
            RecipeEvent::Write { .. } => "write",
            RecipeEvent::Suspended { .. } => "suspended",
            RecipeEvent::Resumed { .. } => "resumed",
            RecipeEvent::Released { .. } => "released",
            RecipeEvent::Lost { .. } => "lost",
            RecipeEvent::Abandoned { .. } => "abandoned",
        }
    }
}

/// One recipe event as a client reports it (the client's history process and session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipeRecord {
    pub process: u64,
    pub session: Option<SessionId>,
    pub event: RecipeEvent,
}

/// A line of `recipe.jsonl` (docs/history-format.md, "Recipe log"): a record at its virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeLine {
    /// Virtual nanoseconds.
    pub time: u64,
    pub process: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
    #[serde(flatten)]
    pub event: RecipeEvent,
}

impl RecipeRecord {
    pub fn to_line(&self, time: sim::SimTime) -> RecipeLine {
        RecipeLine {
            time: time.as_nanos(),
            process: self.process,
            session: self.session.map(|s| s.0),
            event: self.event.clone(),
        }
    }
}

/// What a recipe asks its client to do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Send this request.
    Send(crate::znode::Request),
    /// Nothing to send until this much time has passed (or something happens).
    Sleep(sim::SimDuration),
    /// Nothing to send until a notification, a reconnection or a new session.
    Wait,
    /// The recipe is done: close the session.
    Close,
}
