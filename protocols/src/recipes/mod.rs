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
pub mod queue;
pub mod resource;

use crate::znode::watch::EventType;
use crate::znode::{Create, CreateMode, Outcome, Reply, Request, SessionId, Write, Zxid};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim::rng::Ratio;
use sim::{SimDuration, SimRng, SimTime};

pub use lock::LockApp;
pub use queue::QueueApp;

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
    /// The same page's queue (persistent sequential children; a consumer owns an item when its
    /// delete succeeds), Curator's `DistributedQueue`.
    Queue,
}

impl RecipeKind {
    /// Every recipe.
    pub const ALL: [RecipeKind; 3] = [RecipeKind::Lock, RecipeKind::Election, RecipeKind::Queue];

    /// The prefix of the recipe's node names (`lock-<guid>-`, `leader-<guid>-`, `item-<guid>-`).
    pub fn node_prefix(self) -> &'static str {
        match self {
            RecipeKind::Lock => "lock",
            RecipeKind::Election => "leader",
            RecipeKind::Queue => "item",
        }
    }

    /// The variants a scenario may name for this recipe, the correct one first.
    pub fn variants(self) -> &'static [Variant] {
        use Variant::*;
        match self {
            RecipeKind::Lock | RecipeKind::Election => &[
                Correct,
                NoFencing,
                Herd,
                OrphanOnLostCreate,
                CheckThenCreate,
            ],
            RecipeKind::Queue => &[Correct, TakeByRead, ForgetLostDelete],
        }
    }

    /// The recipe's parent node when the scenario names none.
    fn default_path(self) -> &'static str {
        match self {
            RecipeKind::Lock | RecipeKind::Election => "/lock",
            RecipeKind::Queue => "/queue",
        }
    }

    /// As scenarios spell it.
    pub fn name(self) -> &'static str {
        match self {
            RecipeKind::Lock => "lock",
            RecipeKind::Election => "election",
            RecipeKind::Queue => "queue",
        }
    }
}

/// The recipes' variants: the correct one and, for each recipe, one rule flipped in each of the
/// others (`RecipeKind::variants` says which belong to which recipe).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The recipe as published; a lock's or leader's resource checks fencing tokens (rejects a
    /// token lower than the highest it has seen).
    #[default]
    Correct,
    /// Lock, election: the same recipe, but the resource takes every write: a holder paused
    /// past its session timeout writes after the next holder did (Kleppmann 2016; Jepsen, etcd
    /// 3.4.3, 2020).
    NoFencing,
    /// Lock, election: every waiter watches the lock's parent (`get_children(path, watch)`)
    /// instead of its predecessor: correct, but each release wakes every waiter (the recipe
    /// page's "herd effect"). Fencing on.
    Herd,
    /// Lock, election: a create whose answer was lost is simply sent again, without looking for
    /// the node the first one may have made: that node stays, owned by the live session, ahead
    /// of the client's new one: the client waits behind its own orphan (the reason for Curator's
    /// protected mode, CURATOR-45). Fencing on.
    OrphanOnLostCreate,
    /// Lock, election: check, then create, non-atomically: `get_children(path)`; if no one is
    /// there, create a node and take the lock without looking again. Two clients that both saw
    /// an empty lock both hold it. Fencing on (it cannot help: the lock itself is broken).
    CheckThenCreate,
    /// Queue: a consumer reads the lowest item (`get_data`) and takes it as its own, deleting
    /// it afterwards whatever the delete answers: two consumers that read the same item both
    /// take it.
    TakeByRead,
    /// Queue: a delete whose answer was lost is sent again, and its `NoNode` is taken to mean
    /// that another consumer owns the item, as a first delete's `NoNode` would: when the lost
    /// delete was the one that removed it, nobody has the item.
    ForgetLostDelete,
}

impl Variant {
    /// As scenarios spell it.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

fn default_hold_ms() -> [f64; 2] {
    [20.0, 200.0]
}

fn default_write_every_ms() -> f64 {
    10.0
}

fn default_producer_share() -> Ratio {
    Ratio { num: 1, den: 2 }
}

fn default_produce_every_ms() -> [f64; 2] {
    [20.0, 100.0]
}

/// `workload.recipe.queue`: who produces and how often.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The share of the clients that produce, spread evenly over the client numbers
    /// (`produces`); the others consume.
    #[serde(default = "default_producer_share")]
    pub producer_share: Ratio,
    /// A producer's pause between two items, uniform in `[min, max]` ms.
    #[serde(default = "default_produce_every_ms")]
    pub produce_every_ms: [f64; 2],
}

impl QueueConfig {
    /// Whether client `process` (numbered from 0) produces: the clients below `n` hold
    /// `floor(n * share)` producers for every `n`, so a share of 1/2 makes every second client a
    /// producer and 1/3 every third. Not drawn from the seed: a draw could leave a run without a
    /// producer (all six clients of a seed of `queue-crash-3` once consumed, and waited for
    /// items through the whole run).
    pub fn produces(&self, process: u64) -> bool {
        let below = |n: u64| n * self.producer_share.num / self.producer_share.den.max(1);
        below(process + 1) > below(process)
    }

    /// Checks that `clients` clients hold at least one producer and one consumer; the error
    /// names the field (relative to `workload.recipe`).
    pub fn check_roles(&self, clients: u64) -> Result<(), (String, String)> {
        let producers = (0..clients).filter(|&p| self.produces(p)).count() as u64;
        if producers == 0 || producers == clients {
            let Ratio { num, den } = self.producer_share;
            return Err((
                "queue.producer_share".into(),
                format!(
                    "{num}/{den} of {clients} clients makes {producers} producers and {} consumers; a queue needs at least one of each",
                    clients - producers
                ),
            ));
        }
        Ok(())
    }
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig {
            producer_share: default_producer_share(),
            produce_every_ms: default_produce_every_ms(),
        }
    }
}

/// The scenario's `workload.recipe`: every client runs this recipe instead of the random mix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeConfig {
    pub kind: RecipeKind,
    /// The recipe's variant (`RecipeKind::variants`); the first is the correct one.
    #[serde(default)]
    pub variant: Variant,
    /// How long a holder keeps the lock (a leader its leadership, before it abdicates and runs
    /// again) once it has it, uniform in `[min, max]` ms.
    #[serde(default = "default_hold_ms")]
    pub hold_ms: [f64; 2],
    /// While it holds the lock, the holder writes to the guarded resource this often (ms).
    #[serde(default = "default_write_every_ms")]
    pub write_every_ms: f64,
    /// The recipe's parent node (`RecipeKind::default_path` if unset); created (persistent) by
    /// the first client to get there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The queue's own settings (kind `queue` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueConfig>,
}

/// Checks a `[min, max]` range of milliseconds named `field`.
fn check_range(field: &str, range: [f64; 2]) -> Result<(), (String, String)> {
    let ms = sim::time::check_ms;
    ms(&format!("{field}[0]"), range[0])?;
    ms(&format!("{field}[1]"), range[1])?;
    if range[0] > range[1] {
        return Err((
            field.into(),
            format!("expected [min, max] with min <= max, got {range:?}"),
        ));
    }
    Ok(())
}

impl RecipeConfig {
    /// Checks the section; errors name the field (relative to `workload.recipe`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        check_range("hold_ms", self.hold_ms)?;
        sim::time::check_ms("write_every_ms", self.write_every_ms)?;
        if self.write_every_ms < 0.001 {
            return Err((
                "write_every_ms".into(),
                format!(
                    "expected at least 0.001 ms between writes, got {}",
                    self.write_every_ms
                ),
            ));
        }
        let variants = self.kind.variants();
        if !variants.contains(&self.variant) {
            let names: Vec<String> = variants.iter().map(|v| v.name()).collect();
            return Err((
                "variant".into(),
                format!(
                    "{:?} is not a variant of the {} recipe; expected one of {}",
                    self.variant.name(),
                    self.kind.name(),
                    names.join(", ")
                ),
            ));
        }
        let p = self.path();
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
        if let Some(q) = &self.queue {
            if self.kind != RecipeKind::Queue {
                return Err((
                    "queue".into(),
                    format!(
                        "the queue's settings, but the recipe is {}",
                        self.kind.name()
                    ),
                ));
            }
            check_range("queue.produce_every_ms", q.produce_every_ms)?;
            if q.produce_every_ms[1] < 0.001 {
                return Err((
                    "queue.produce_every_ms".into(),
                    format!(
                        "expected a pause of at least 0.001 ms between items, got {:?}",
                        q.produce_every_ms
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether the guarded resource checks fencing tokens.
    pub fn fencing(&self) -> bool {
        self.variant != Variant::NoFencing
    }

    /// The recipe's parent node.
    pub fn path(&self) -> &str {
        self.path
            .as_deref()
            .unwrap_or_else(|| self.kind.default_path())
    }

    /// The queue's settings (their defaults if the scenario gives none).
    pub fn queue(&self) -> QueueConfig {
        self.queue.clone().unwrap_or_default()
    }
}

/// The sequence suffix ZooKeeper appends to a sequential node's name: ten digits.
pub(crate) fn sequence(name: &str) -> Option<u64> {
    let digits = name.get(name.len().checked_sub(10)?..)?;
    digits.parse().ok()
}

pub(crate) fn ms(ms: f64) -> SimDuration {
    SimDuration(sim::net::ms_to_ns(ms))
}

/// A time drawn uniformly from `[min, max]` ms.
pub(crate) fn draw(rng: &mut SimRng, range: [f64; 2]) -> SimDuration {
    let (lo, hi) = (ms(range[0]).0, ms(range[1]).0);
    SimDuration(lo + rng.random_range(0..=hi - lo))
}

/// The request that creates a recipe's parent node (persistent; `NodeExists` is as good).
pub(crate) fn create_parent(path: &str) -> Request {
    Request::Write(Write::Create(Create {
        path: path.to_string(),
        data: String::new(),
        mode: CreateMode::Persistent,
    }))
}

/// Whether the parent's create is done (made now, or already there).
pub(crate) fn parent_done(outcome: &Outcome<Reply>) -> bool {
    matches!(
        outcome,
        Outcome::Ok(_) | Outcome::Err(crate::znode::ZkError::NodeExists)
    )
}

/// Curator's "protected" create: a sequential node's name carries a guid naming the attempt
/// (`<prefix>-<guid>-`), so that after a create whose answer was lost the client lists the parent
/// and finds the node the create made, if it made one. The lowest such child, if any.
pub(crate) fn find_protected<'a>(children: &'a [String], guid_name: &str) -> Option<&'a String> {
    children
        .iter()
        .filter(|n| n.contains(guid_name))
        .min_by_key(|n| sequence(n))
}

/// A client's recipe process: the one the scenario names.
#[derive(Clone, Debug)]
pub enum App {
    /// The lock, or leader election (the same steps).
    Lock(LockApp),
    Queue(QueueApp),
}

/// Calls the same method on whichever recipe runs.
macro_rules! each {
    ($self:expr, $app:ident => $call:expr) => {
        match $self {
            App::Lock($app) => $call,
            App::Queue($app) => $call,
        }
    };
}

impl App {
    pub fn new(config: RecipeConfig, process: u64) -> App {
        match config.kind {
            RecipeKind::Lock | RecipeKind::Election => App::Lock(LockApp::new(config, process)),
            RecipeKind::Queue => App::Queue(QueueApp::new(config, process)),
        }
    }

    /// The recorded events since the last call.
    pub fn take_events(&mut self) -> Vec<RecipeEvent> {
        each!(self, a => a.take_events())
    }

    /// In a few words, for a run page.
    pub fn status(&self) -> String {
        each!(self, a => a.status())
    }

    /// The next thing to do, when the client is connected, has a session and nothing in flight.
    /// `ending`: the workload is over.
    pub fn next(&mut self, now: SimTime, ending: bool) -> Step {
        each!(self, a => a.next(now, ending))
    }

    /// What an answer means for the recipe.
    pub fn on_reply(
        &mut self,
        now: SimTime,
        request: &Request,
        zxid: Zxid,
        outcome: &Outcome<Reply>,
        think: [f64; 2],
        rng: &mut SimRng,
    ) {
        each!(self, a => a.on_reply(now, request, zxid, outcome, think, rng))
    }

    /// A watch notification.
    pub fn on_watch(&mut self, kind: EventType, path: &str) {
        each!(self, a => a.on_watch(kind, path))
    }

    /// The connection is lost; `in_flight` was the request without an answer.
    pub fn on_connection_lost(&mut self, in_flight: Option<&Request>) {
        each!(self, a => a.on_connection_lost(in_flight))
    }

    /// Connected again within the same session.
    pub fn on_reconnected(&mut self) {
        each!(self, a => a.on_reconnected())
    }

    /// The session expired.
    pub fn on_session_expired(&mut self, now: SimTime) {
        each!(self, a => a.on_session_expired(now))
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
    /// Queue: the client's role, drawn once.
    Role { role: queue::Role },
    /// Queue: a producer's item is in the queue (its create answered, or its lost create found
    /// again by its guid).
    Produced { item: String },
    /// Queue: a consumer owns `item`: its delete succeeded, by transaction `zxid` (under
    /// `take-by-read`, it read it at `zxid`).
    Took { item: String, zxid: Zxid },
    /// Queue: a consumer's delete of `item` lost its answer, and sent again found the item gone:
    /// it may be the one that took it.
    MaybeTook { item: String },
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
            RecipeEvent::Role { .. } => "role",
            RecipeEvent::Produced { .. } => "produced",
            RecipeEvent::Took { .. } => "took",
            RecipeEvent::MaybeTook { .. } => "maybe_took",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(json: &str) -> Result<(), (String, String)> {
        serde_json::from_str::<RecipeConfig>(json)
            .unwrap()
            .validate()
    }

    /// A variant of another recipe, or another recipe's settings, is named by its field.
    #[test]
    fn a_variant_or_section_of_another_recipe_is_refused_by_field() {
        let (field, why) = validate(r#"{"kind": "queue", "variant": "herd"}"#).unwrap_err();
        assert_eq!(field, "variant");
        assert_eq!(
            why,
            r#""herd" is not a variant of the queue recipe; expected one of correct, take-by-read, forget-lost-delete"#
        );
        let (field, _) = validate(r#"{"kind": "lock", "queue": {}}"#).unwrap_err();
        assert_eq!(field, "queue");
        let (field, _) =
            validate(r#"{"kind": "queue", "queue": {"produce_every_ms": [5, 1]}}"#).unwrap_err();
        assert_eq!(field, "queue.produce_every_ms");
        assert!(validate(r#"{"kind": "queue", "queue": {"producer_share": "1/3"}}"#).is_ok());
        assert_eq!(
            serde_json::from_str::<RecipeConfig>(r#"{"kind": "queue"}"#)
                .unwrap()
                .path(),
            "/queue"
        );
    }

    fn queue(share: &str) -> QueueConfig {
        serde_json::from_str(&format!(r#"{{"producer_share": "{share}"}}"#)).unwrap()
    }

    /// Roles follow the client numbers: the share of every prefix of them produces, so no run
    /// is left without a producer or a consumer, whatever its seed.
    #[test]
    fn the_producers_are_a_share_of_the_clients_spread_over_their_numbers() {
        let producers = |share: &str, n: u64| -> Vec<u64> {
            (0..n).filter(|&p| queue(share).produces(p)).collect()
        };
        assert_eq!(producers("1/2", 6), [1, 3, 5]);
        assert_eq!(producers("1/3", 6), [2, 5]);
        assert_eq!(producers("2/3", 6), [1, 2, 4, 5]);
        assert!(queue("1/2").check_roles(2).is_ok());
        let (field, why) = queue("1/2").check_roles(1).unwrap_err();
        assert_eq!(field, "queue.producer_share");
        assert_eq!(
            why,
            "1/2 of 1 clients makes 0 producers and 1 consumers; a queue needs at least one of each"
        );
        assert!(queue("1").check_roles(4).is_err());
        assert!(queue("0").check_roles(4).is_err());
    }
}
