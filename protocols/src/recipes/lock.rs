//! The lock recipe as an application process: ZooKeeper's "Recipes and Solutions" lock, as
//! Curator's `InterProcessMutex` runs it, and the variants that break one of its rules.
//!
//! To acquire (the recipe's steps, correct variant):
//! 1. `create(<path>/lock-<guid>-, ephemeral-sequential)`; the guid names this attempt, so that a
//!    create whose answer was lost can be found again: after a connection loss with the create
//!    in flight, `sync(<path>)` then `get_children(<path>)` and look for a child carrying the
//!    guid (Curator's "protected" mode); none: create again with the same guid;
//! 2. `get_children(<path>)`; if its node is the lowest, it holds the lock;
//! 3. else `exists(predecessor, watch)`; on the notification (or if the predecessor is already
//!    gone) go to 2.
//!
//! The holder writes to the guarded resource every `write_every_ms`, presenting its fencing token
//! (the czxid of its node), until its drawn hold time is over; then it records `released`,
//! stops, and deletes its node. A holder whose connection is lost stops acting (`suspended`) until
//! it reconnects within its session (`resumed`: its ephemeral node is still there) or learns that
//! its session expired (`lost`). It cannot notice what happens while it is paused: a paused
//! holder whose session expires writes once it resumes, before its client notices: the case
//! fencing tokens exist for (Kleppmann, "How to do distributed locking", 2016).
//!
//! This module decides what to ask; it never sends, sets timers or reads a clock itself.

use super::{
    RecipeConfig, RecipeEvent, RecipeKind, Step, Variant, create_parent, draw, find_protected, ms,
    parent_done, sequence,
};
use crate::znode::watch::EventType;
use crate::znode::{
    Create, CreateMode, Delete, Outcome, Read, Reply, Request, Sync, Watched, Write, ZkError, Zxid,
};
use sim::{SimRng, SimTime};

/// Where the recipe stands. Each state names the request it sends next (or what it waits for);
/// the answer moves it on.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Create the lock's parent (persistent); `NodeExists` is as good.
    Parent,
    /// Thinking until `until`, then set out for the lock.
    Idle {
        until: SimTime,
    },
    /// Create this attempt's node.
    Create,
    /// A create's answer was lost: `sync` the parent, then list it (`RecoverList`).
    RecoverSync,
    RecoverList,
    /// Delete a node of this attempt made by a create sent again (found by its guid).
    CleanUp {
        node: String,
    },
    /// List the lock's children.
    List,
    /// `exists(pred, watch)`.
    Watch {
        pred: String,
    },
    /// Waiting for a notification about `pred`.
    Waiting {
        pred: String,
    },
    /// Learn the czxid of this client's node (found by its guid, so the create's answer is
    /// unknown): `exists(node)`.
    Token,
    /// Holding until `until`, next resource write at `next_write`.
    Held {
        until: SimTime,
        next_write: SimTime,
    },
    /// Delete the node after releasing.
    Release,
    /// The run is over for this client.
    Done,
}

/// A lock client's application process.
#[derive(Clone, Debug)]
pub struct LockApp {
    config: RecipeConfig,
    variant: Variant,
    process: u64,
    phase: Phase,
    /// Acquisition attempts so far; the current one's guid is `c{process}a{attempts}`.
    attempts: u64,
    /// This client's node in the current attempt (full path), once known.
    node: Option<String>,
    /// Its czxid, once known: the fencing token.
    token: Option<Zxid>,
    /// Holding, but the connection is lost: do not act.
    suspended: bool,
    /// The listing it decided to take the lock on: its zxid and children.
    basis: Option<(Zxid, Vec<String>)>,
    /// Events to record, drained by the client after each call.
    events: Vec<RecipeEvent>,
}

impl LockApp {
    pub fn new(config: RecipeConfig, process: u64) -> LockApp {
        LockApp {
            variant: config.variant,
            config,
            process,
            phase: Phase::Parent,
            attempts: 0,
            node: None,
            token: None,
            suspended: false,
            basis: None,
            events: Vec::new(),
        }
    }

    /// The recorded events since the last call.
    pub fn take_events(&mut self) -> Vec<RecipeEvent> {
        std::mem::take(&mut self.events)
    }

    /// Whether it acts as the lock's holder right now.
    pub fn holding(&self) -> bool {
        matches!(self.phase, Phase::Held { .. }) && !self.suspended
    }

    /// In a few words, for a run page.
    pub fn status(&self) -> String {
        match &self.phase {
            Phase::Held { .. } if self.suspended => "lock: holder, suspended".into(),
            Phase::Held { .. } => "lock: holder".into(),
            Phase::Waiting { pred } => format!("lock: waiting behind {pred}"),
            Phase::Idle { .. } | Phase::Parent => "lock: idle".into(),
            Phase::Done => "lock: done".into(),
            _ => "lock: acquiring".into(),
        }
    }

    fn guid(&self) -> String {
        format!("c{}a{}", self.process, self.attempts)
    }

    fn prefix(&self) -> String {
        format!("{}/{}", self.config.path(), self.guid_name())
    }

    /// The part of a node's name that names this attempt: `lock-c3a1-`.
    fn guid_name(&self) -> String {
        format!("{}-{}-", self.config.kind.node_prefix(), self.guid())
    }

    fn name_of(&self, node: &str) -> String {
        node.rsplit('/').next().unwrap_or(node).to_string()
    }

    fn full(&self, child: &str) -> String {
        format!("{}/{child}", self.config.path())
    }

    /// Starts a new acquisition attempt.
    fn set_out(&mut self) {
        self.attempts += 1;
        self.node = None;
        self.token = None;
        self.suspended = false;
        self.events.push(RecipeEvent::Want);
        self.phase = match self.variant {
            Variant::CheckThenCreate => Phase::List,
            _ => Phase::Create,
        };
    }

    /// The next thing to do, when the client is connected, has a session and nothing in flight.
    /// `ending`: the workload is over, stop (a holder releases first).
    pub fn next(&mut self, now: SimTime, ending: bool) -> Step {
        if ending {
            return self.finish();
        }
        loop {
            let step = match &self.phase {
                Phase::Parent => Step::Send(create_parent(self.config.path())),
                Phase::Idle { until } if now < *until => Step::Sleep(until.since(now)),
                Phase::Idle { .. } => {
                    self.set_out();
                    continue;
                }
                Phase::Create => Step::Send(Request::Write(Write::Create(Create {
                    path: self.prefix(),
                    data: format!("{}", self.process),
                    mode: CreateMode::EphemeralSequential,
                }))),
                Phase::RecoverSync => Step::Send(Request::Read(Read::Sync(Sync {
                    path: self.config.path().to_string(),
                }))),
                Phase::RecoverList | Phase::List => {
                    let watch = matches!(self.phase, Phase::List)
                        && matches!(self.variant, Variant::Herd | Variant::CheckThenCreate);
                    Step::Send(Request::Read(Read::GetChildren(Watched {
                        path: self.config.path().to_string(),
                        watch,
                    })))
                }
                Phase::CleanUp { node } => Step::Send(Request::Write(Write::Delete(Delete {
                    path: node.clone(),
                    version: -1,
                }))),
                Phase::Watch { pred } => Step::Send(Request::Read(Read::Exists(Watched {
                    path: pred.clone(),
                    watch: true,
                }))),
                Phase::Waiting { .. } => Step::Wait,
                Phase::Token => Step::Send(Request::Read(Read::Exists(Watched {
                    path: self
                        .node
                        .clone()
                        .expect("a token is looked up for a known node"),
                    watch: false,
                }))),
                Phase::Held { .. } if self.suspended => Step::Wait,
                Phase::Held { until, next_write } => {
                    let (until, next_write) = (*until, *next_write);
                    // A write that fell due while it held is made even if the hold time has
                    // run out since: the application was in the middle of using the resource
                    // (a paused process carries on where it stopped).
                    let due = now >= next_write && next_write < until;
                    if now >= until && !due {
                        self.release();
                        continue;
                    }
                    if due {
                        let token = self.token.expect("a holder knows its token");
                        self.events.push(RecipeEvent::Write {
                            token,
                            accepted: None,
                        });
                        let next_write = now + ms(self.config.write_every_ms);
                        self.phase = Phase::Held { until, next_write };
                        continue;
                    }
                    Step::Sleep(next_write.min(until).since(now))
                }
                Phase::Release => Step::Send(Request::Write(Write::Delete(Delete {
                    path: self.node.clone().expect("a holder knows its node"),
                    version: -1,
                }))),
                Phase::Done => Step::Close,
            };
            return step;
        }
    }

    /// The workload is over: a holder releases (its session's close deletes the node), a waiter
    /// gives up.
    fn finish(&mut self) -> Step {
        match &self.phase {
            Phase::Held { .. } => {
                let node = self.node.clone().expect("a holder knows its node");
                self.events.push(RecipeEvent::Released { node });
            }
            Phase::Parent | Phase::Idle { .. } | Phase::Done => {}
            Phase::Release => {}
            _ => self.events.push(RecipeEvent::Abandoned {
                why: "the workload ended".into(),
            }),
        }
        self.phase = Phase::Done;
        Step::Close
    }

    /// The holder stops acting as holder, then deletes its node.
    fn release(&mut self) {
        let node = self.node.clone().expect("a holder knows its node");
        self.events.push(RecipeEvent::Released { node });
        self.phase = Phase::Release;
    }

    fn acquired(&mut self, now: SimTime, rng: &mut SimRng) {
        let node = self.node.clone().expect("the holder's node is known");
        let (basis, seen) = self.basis.take().unwrap_or_default();
        if self.config.kind == RecipeKind::Election {
            // A leader's token is the zxid at which it won (the issue's "zxid when it won").
            self.token = Some(basis);
        }
        let token = self.token.expect("the holder's token is known");
        self.events.push(RecipeEvent::Acquired {
            node,
            token,
            basis,
            seen,
        });
        let until = now + draw(rng, self.config.hold_ms);
        self.phase = Phase::Held {
            until,
            next_write: now,
        };
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
        if outcome == &Outcome::Err(ZkError::SessionExpired) {
            return; // The client reports the expiry next (`on_session_expired`).
        }
        let _ = request;
        match (self.phase.clone(), outcome) {
            (Phase::Parent, outcome) if parent_done(outcome) => {
                self.phase = Phase::Idle { until: now };
            }
            (Phase::Create, Outcome::Ok(Reply::Created(c))) => {
                self.node = Some(c.path.clone());
                self.token = Some(c.stat.czxid);
                if self.variant == Variant::CheckThenCreate {
                    // It looked before it created: it takes the lock without looking again.
                    self.acquired(now, rng);
                } else {
                    self.phase = Phase::List;
                }
            }
            (Phase::RecoverSync, Outcome::Ok(_)) => self.phase = Phase::RecoverList,
            (Phase::RecoverList, Outcome::Ok(Reply::Children(c))) => {
                match find_protected(&c.children, &self.guid_name()) {
                    Some(n) => {
                        self.node = Some(self.full(n));
                        self.token = None;
                        self.phase = Phase::List;
                    }
                    None => self.phase = Phase::Create,
                }
            }
            (Phase::CleanUp { .. }, Outcome::Ok(_) | Outcome::Err(ZkError::NoNode)) => {
                self.phase = Phase::List;
            }
            (Phase::List, Outcome::Ok(Reply::Children(c))) => {
                self.basis = Some((zxid, c.children.clone()));
                self.on_children(now, &c.children, rng)
            }
            (Phase::Watch { pred }, Outcome::Ok(_)) => self.phase = Phase::Waiting { pred },
            (Phase::Watch { .. }, Outcome::Err(ZkError::NoNode)) => self.phase = Phase::List,
            (Phase::Token, Outcome::Ok(Reply::Stat(s))) => {
                self.token = Some(s.czxid);
                self.acquired(now, rng);
            }
            (Phase::Token, Outcome::Err(ZkError::NoNode)) => {
                // Its node is gone (only an expiry removes it, which the client reports too).
                self.set_out();
            }
            (Phase::Release, Outcome::Ok(_) | Outcome::Err(ZkError::NoNode)) => {
                self.node = None;
                self.token = None;
                self.phase = Phase::Idle {
                    until: now + draw(rng, think),
                };
            }
            // Any other answer: ask again (the phase still names the request).
            _ => {}
        }
    }

    /// `get_children` of the lock's parent answered while acquiring.
    fn on_children(&mut self, now: SimTime, children: &[String], rng: &mut SimRng) {
        if self.variant == Variant::CheckThenCreate && self.node.is_none() {
            // Step 1 of the mistaken recipe: an empty lock is taken to be free.
            if children.is_empty() {
                self.phase = Phase::Create;
            } else {
                let pred = self.config.path().to_string();
                self.events.push(RecipeEvent::Wait {
                    node: String::new(),
                    pred: pred.clone(),
                });
                self.phase = Phase::Waiting { pred };
            }
            return;
        }
        let Some(node) = self.node.clone() else {
            self.phase = Phase::Create;
            return;
        };
        let me = self.name_of(&node);
        let mut sorted: Vec<&String> = children.iter().collect();
        sorted.sort_by_key(|n| sequence(n));
        if !sorted.iter().any(|n| **n == me) {
            // Its node is gone: its session expired (the client reports it) or it never was.
            self.set_out();
            return;
        }
        if self.variant != Variant::OrphanOnLostCreate {
            // A second node of this attempt (a create sent again whose first try had succeeded
            // after all) goes before anything else, or it would block every later client.
            let guid = self.guid_name();
            if let Some(extra) = sorted.iter().find(|n| n.contains(&guid) && ***n != me) {
                self.phase = Phase::CleanUp {
                    node: self.full(extra),
                };
                return;
            }
        }
        let position = sorted.iter().position(|n| **n == me).expect("checked");
        if position == 0 {
            if self.token.is_some() {
                self.acquired(now, rng);
            } else {
                self.phase = Phase::Token;
            }
            return;
        }
        let pred = match self.variant {
            Variant::Herd => self.config.path().to_string(),
            _ => self.full(sorted[position - 1]),
        };
        self.events.push(RecipeEvent::Wait {
            node: node.clone(),
            pred: pred.clone(),
        });
        self.phase = match self.variant {
            Variant::Herd => Phase::Waiting { pred },
            _ => Phase::Watch { pred },
        };
    }

    /// A watch notification: a waiter looks again.
    pub fn on_watch(&mut self, kind: EventType, path: &str) {
        let _ = kind;
        if let Phase::Waiting { pred } = &self.phase
            && (pred == path || path == self.config.path())
        {
            self.phase = Phase::List;
        }
    }

    /// The connection is lost; `in_flight` was the request without an answer.
    pub fn on_connection_lost(&mut self, in_flight: Option<&Request>) {
        if let Phase::Held { .. } = self.phase
            && !self.suspended
        {
            self.suspended = true;
            let node = self.node.clone().expect("a holder knows its node");
            self.events.push(RecipeEvent::Suspended { node });
        }
        let lost_create = matches!(
            (in_flight, &self.phase),
            (Some(Request::Write(Write::Create(_))), Phase::Create)
        );
        if lost_create {
            self.phase = match self.variant {
                // Sent again blindly: a node the lost create made stays behind.
                Variant::OrphanOnLostCreate => {
                    self.attempts += 1;
                    Phase::Create
                }
                // It never looked before; it does not look now either.
                Variant::CheckThenCreate => Phase::List,
                _ => Phase::RecoverSync,
            };
        }
    }

    /// Connected again within the same session: its ephemeral node, if it had one, is still
    /// there.
    pub fn on_reconnected(&mut self) {
        if let Phase::Held { .. } = self.phase
            && self.suspended
        {
            self.suspended = false;
            let node = self.node.clone().expect("a holder knows its node");
            self.events.push(RecipeEvent::Resumed { node });
        }
        // A notification sent while it was away arrives through the re-armed watch; looking
        // again costs one read and misses nothing.
        if let Phase::Waiting { .. } = self.phase {
            self.phase = Phase::List;
        }
    }

    /// The session expired: its node is gone. A holder has lost the lock; anyone else starts
    /// again.
    pub fn on_session_expired(&mut self, now: SimTime) {
        match &self.phase {
            Phase::Parent | Phase::Idle { .. } | Phase::Done => return,
            Phase::Held { .. } => {
                let node = self.node.clone().expect("a holder knows its node");
                self.events.push(RecipeEvent::Lost {
                    node,
                    why: "session expired".into(),
                });
            }
            Phase::Release => {}
            _ => self.events.push(RecipeEvent::Abandoned {
                why: "session expired".into(),
            }),
        }
        self.node = None;
        self.token = None;
        self.suspended = false;
        self.phase = Phase::Idle { until: now };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::znode::{Children, Created, Stat};
    use rand::SeedableRng;

    fn app(variant: Variant) -> LockApp {
        let config: RecipeConfig = serde_json::from_str(&format!(
            r#"{{"kind": "lock", "variant": {}}}"#,
            serde_json::to_string(&variant).unwrap()
        ))
        .unwrap();
        LockApp::new(config, 3)
    }

    fn rng() -> SimRng {
        SimRng::seed_from_u64(1)
    }

    fn stat(czxid: u64) -> Stat {
        Stat {
            czxid: Zxid(czxid),
            mzxid: Zxid(czxid),
            pzxid: Zxid(czxid),
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: crate::znode::SessionId(9),
            data_length: 0,
            num_children: 0,
        }
    }

    fn children(names: &[&str]) -> Outcome<Reply> {
        Outcome::Ok(Reply::Children(Children {
            children: names.iter().map(|s| s.to_string()).collect(),
            stat: stat(1),
        }))
    }

    /// Drives `app` to its first create of an attempt: parent created, thinking over.
    fn to_create(app: &mut LockApp) -> Request {
        let t = SimTime::ZERO;
        let Step::Send(parent) = app.next(t, false) else {
            panic!("the parent first")
        };
        answer(app, &parent, Zxid(1), &Outcome::Ok(Reply::Done));
        match app.next(t, false) {
            Step::Send(r) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    /// `app` is told, at time zero, that `request` was answered `outcome` at `zxid`.
    fn answer(app: &mut LockApp, request: &Request, zxid: Zxid, outcome: &Outcome<Reply>) {
        app.on_reply(
            SimTime::ZERO,
            request,
            zxid,
            outcome,
            [1.0, 1.0],
            &mut rng(),
        );
    }

    fn send(app: &mut LockApp) -> Request {
        match app.next(SimTime::ZERO, false) {
            Step::Send(r) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    /// Recipe step 1b (Curator's protected mode): after a connection loss with the create in
    /// flight, the client syncs, lists, finds its node by the guid in its name and asks for its
    /// czxid (the token) rather than creating another.
    #[test]
    fn a_lost_create_is_found_again_by_its_guid() {
        let mut a = app(Variant::Correct);
        let create = to_create(&mut a);
        let Request::Write(Write::Create(c)) = &create else {
            panic!("{create:?}")
        };
        assert_eq!(c.path, "/lock/lock-c3a1-");
        assert_eq!(c.mode, CreateMode::EphemeralSequential);
        a.on_connection_lost(Some(&create));
        assert!(matches!(send(&mut a), Request::Read(Read::Sync(_))));
        answer(
            &mut a,
            &create,
            Zxid(2),
            &Outcome::Ok(Reply::Synced("/lock".into())),
        );
        let list = send(&mut a);
        answer(&mut a, &list, Zxid(3), &children(&["lock-c3a1-0000000000"]));
        let list = send(&mut a);
        assert!(matches!(&list, Request::Read(Read::GetChildren(w)) if !w.watch));
        answer(&mut a, &list, Zxid(3), &children(&["lock-c3a1-0000000000"]));
        let token = send(&mut a);
        assert!(
            matches!(&token, Request::Read(Read::Exists(w)) if w.path == "/lock/lock-c3a1-0000000000")
        );
        answer(&mut a, &token, Zxid(3), &Outcome::Ok(Reply::Stat(stat(2))));
        assert!(a.holding());
        let events = a.take_events();
        assert!(
            events.contains(&RecipeEvent::Acquired {
                node: "/lock/lock-c3a1-0000000000".into(),
                token: Zxid(2),
                basis: Zxid(3),
                seen: vec!["lock-c3a1-0000000000".into()],
            }),
            "{events:?}"
        );
    }

    /// Leader election: the same steps under `leader-` names, and the token is the zxid at
    /// which it won (the listing's), not its node's czxid.
    #[test]
    fn a_leader_s_token_is_the_zxid_at_which_it_won() {
        let config: RecipeConfig =
            serde_json::from_str(r#"{"kind": "election", "path": "/election"}"#).unwrap();
        let mut a = LockApp::new(config, 3);
        let create = to_create(&mut a);
        assert!(
            matches!(&create, Request::Write(Write::Create(c)) if c.path == "/election/leader-c3a1-")
        );
        let created = Outcome::Ok(Reply::Created(Created {
            path: "/election/leader-c3a1-0000000000".into(),
            stat: stat(5),
        }));
        answer(&mut a, &create, Zxid(5), &created);
        let list = send(&mut a);
        answer(
            &mut a,
            &list,
            Zxid(8),
            &children(&["leader-c3a1-0000000000"]),
        );
        assert!(a.holding());
        let events = a.take_events();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, RecipeEvent::Acquired { token, .. } if *token == Zxid(8))),
            "{events:?}"
        );
    }

    /// The orphan mistake: the create is sent again at once, under a new name.
    #[test]
    fn the_orphan_variant_sends_a_lost_create_again_without_looking() {
        let mut a = app(Variant::OrphanOnLostCreate);
        let create = to_create(&mut a);
        a.on_connection_lost(Some(&create));
        let again = send(&mut a);
        assert!(matches!(&again, Request::Write(Write::Create(c)) if c.path == "/lock/lock-c3a2-"));
    }

    /// Recipe step 3: a waiter watches only its predecessor; the herd variant watches the
    /// parent's children instead.
    #[test]
    fn a_waiter_watches_its_predecessor_and_the_herd_the_parent() {
        for (variant, herd) in [(Variant::Correct, false), (Variant::Herd, true)] {
            let mut a = app(variant);
            let create = to_create(&mut a);
            let created = Outcome::Ok(Reply::Created(Created {
                path: "/lock/lock-c3a1-0000000005".into(),
                stat: stat(9),
            }));
            answer(&mut a, &create, Zxid(9), &created);
            let list = send(&mut a);
            assert!(matches!(&list, Request::Read(Read::GetChildren(w)) if w.watch == herd));
            let listed = children(&[
                "lock-c1a1-0000000004",
                "lock-c2a1-0000000002",
                "lock-c3a1-0000000005",
            ]);
            answer(&mut a, &list, Zxid(10), &listed);
            if herd {
                assert_eq!(a.next(SimTime::ZERO, false), Step::Wait);
                a.on_watch(EventType::NodeChildrenChanged, "/lock");
                assert!(matches!(send(&mut a), Request::Read(Read::GetChildren(_))));
            } else {
                let watch = send(&mut a);
                assert!(
                    matches!(&watch, Request::Read(Read::Exists(w)) if w.watch && w.path == "/lock/lock-c1a1-0000000004")
                );
            }
        }
    }

    /// The check-then-create mistake: an empty listing is taken as the lock being free, and the
    /// create's answer as the lock being held, with no second look.
    #[test]
    fn check_then_create_holds_right_after_its_create() {
        let mut a = app(Variant::CheckThenCreate);
        let list = to_create(&mut a);
        assert!(matches!(&list, Request::Read(Read::GetChildren(_))));
        answer(&mut a, &list, Zxid(4), &children(&[]));
        let create = send(&mut a);
        let created = Outcome::Ok(Reply::Created(Created {
            path: "/lock/lock-c3a1-0000000000".into(),
            stat: stat(5),
        }));
        answer(&mut a, &create, Zxid(5), &created);
        assert!(a.holding());
    }

    /// A holder whose connection is lost stops writing until it reconnects within its session;
    /// one whose session expired has lost the lock.
    #[test]
    fn a_holder_suspends_on_connection_loss_and_loses_on_expiry() {
        let mut a = app(Variant::Correct);
        let create = to_create(&mut a);
        let created = Outcome::Ok(Reply::Created(Created {
            path: "/lock/lock-c3a1-0000000000".into(),
            stat: stat(5),
        }));
        answer(&mut a, &create, Zxid(5), &created);
        let list = send(&mut a);
        answer(&mut a, &list, Zxid(6), &children(&["lock-c3a1-0000000000"]));
        assert!(a.holding());
        a.on_connection_lost(None);
        assert!(!a.holding());
        assert_eq!(a.next(SimTime::from_ms(1), false), Step::Wait);
        a.on_reconnected();
        assert!(a.holding());
        a.on_session_expired(SimTime::from_ms(2));
        assert!(!a.holding());
        let names: Vec<&str> = a.take_events().iter().map(|e| e.name()).collect();
        assert_eq!(names, ["want", "acquired", "suspended", "resumed", "lost"]);
    }
}
