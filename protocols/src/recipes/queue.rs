//! The queue recipe as an application process: ZooKeeper's "Recipes and Solutions" queue, as
//! Curator's `DistributedQueue` runs it, and a variant that breaks its one rule.
//!
//! Whether a client produces or consumes follows from its number (`QueueConfig::produces`): the
//! `queue.producer_share` of the clients produce, spread evenly over their numbers, so every run
//! has the same producers and consumers, never none of either.
//!
//! A **producer** (the recipe page's "offer"): every `queue.produce_every_ms`,
//! `create(<path>/item-<guid>-, persistent-sequential)` with the guid as its payload. The guid
//! names the item, so that a create whose answer was lost is found again exactly as the lock's
//! is (`super::find_protected`: `sync`, list, look for the guid), and not made twice.
//!
//! A **consumer** (the page's "take"):
//! 1. `get_children(<path>, watch)`; no items: wait for the children notification, go to 1;
//! 2. try the items in sequence order: `get_data(item)`, then `delete(item)`. The consumer owns
//!    an item only if *its* delete succeeded; `NoNode` (at either step) means another consumer
//!    took it: try the next. It records `took` and pauses `think_ms`; out of items, go to 1.
//!
//! A delete whose answer was lost is sent again: `NoNode` then means that it, or another
//! consumer, took the item; it records that it may have taken it (`maybe_took`), and handles it
//! as its own (an at-most-once queue: the application must be able to tell, e.g. by the item's
//! guid, whether it processed it).
//!
//! When the workload ends every client lists the queue once more (without a watch) before it
//! closes its session: what is left in the queue, for the checkers (`check::queue_no_loss`).
//!
//! This module decides what to ask; it never sends, sets timers or reads a clock itself.

use super::{
    RecipeConfig, RecipeEvent, Step, Variant, create_parent, draw, find_protected, parent_done,
    sequence,
};
use crate::znode::watch::EventType;
use crate::znode::{
    Create, CreateMode, Delete, Outcome, Read, Reply, Request, Sync, Watched, Write, ZkError, Zxid,
};
use serde::{Deserialize, Serialize};
use sim::{SimRng, SimTime};

/// What a queue client does, drawn once per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Producer,
    Consumer,
}

/// Where the recipe stands. Each state names the request it sends next (or what it waits for).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Create the queue's parent (persistent); `NodeExists` is as good.
    Parent,
    /// Pausing until `until`: a producer before its next item, a consumer after a take.
    Idle {
        until: SimTime,
    },
    /// Producer: create the current item.
    Create,
    /// Producer: the create's answer was lost: `sync` the parent, then list it.
    RecoverSync,
    RecoverList,
    /// Consumer: list the queue, leaving a child watch.
    List,
    /// Consumer: the queue was empty; waiting for the children notification.
    Waiting,
    /// Consumer: `get_data(item)`.
    Read {
        item: String,
    },
    /// Consumer: `delete(item)`; `again`: a delete of it was sent before and its answer lost.
    Take {
        item: String,
        again: bool,
    },
    /// The workload is over: list what is left, then close.
    Census,
    /// The run is over for this client.
    Done,
}

/// A queue client's application process.
#[derive(Clone, Debug)]
pub struct QueueApp {
    config: RecipeConfig,
    process: u64,
    phase: Phase,
    role: Option<Role>,
    /// Items created so far, counting the current one: its guid is `c{process}i{items}`.
    items: u64,
    /// Consumer: the items of its last listing still to try, lowest first.
    candidates: Vec<String>,
    events: Vec<RecipeEvent>,
}

impl QueueApp {
    pub fn new(config: RecipeConfig, process: u64) -> QueueApp {
        QueueApp {
            config,
            process,
            phase: Phase::Parent,
            role: None,
            items: 0,
            candidates: Vec::new(),
            events: Vec::new(),
        }
    }

    /// The recorded events since the last call.
    pub fn take_events(&mut self) -> Vec<RecipeEvent> {
        std::mem::take(&mut self.events)
    }

    /// In a few words, for a run page.
    pub fn status(&self) -> String {
        let role = match self.role {
            Some(Role::Producer) => "producer",
            Some(Role::Consumer) => "consumer",
            None => "starting",
        };
        let doing = match &self.phase {
            Phase::Waiting => "waiting for items".to_string(),
            Phase::Read { item } | Phase::Take { item, .. } => format!("taking {item}"),
            Phase::Create | Phase::RecoverSync | Phase::RecoverList => "offering an item".into(),
            Phase::Done => "done".into(),
            _ => "idle".into(),
        };
        format!("queue: {role}, {doing}")
    }

    /// The part of an item's name that names it: `item-c3i1-`.
    fn guid_name(&self) -> String {
        format!(
            "{}-c{}i{}-",
            self.config.kind.node_prefix(),
            self.process,
            self.items
        )
    }

    fn full(&self, child: &str) -> String {
        format!("{}/{child}", self.config.path())
    }

    /// The next thing to do, when the client is connected, has a session and nothing in flight.
    /// `ending`: the workload is over: list what is left, then close.
    pub fn next(&mut self, now: SimTime, ending: bool) -> Step {
        if ending && !matches!(self.phase, Phase::Census | Phase::Done) {
            self.phase = Phase::Census;
        }
        let request = match &self.phase {
            Phase::Parent => create_parent(self.config.path()),
            Phase::Idle { until } if now < *until => return Step::Sleep(until.since(now)),
            Phase::Idle { .. } => {
                self.phase = match self.role {
                    Some(Role::Producer) => {
                        self.items += 1;
                        Phase::Create
                    }
                    _ => Phase::List,
                };
                return self.next(now, ending);
            }
            Phase::Create => Request::Write(Write::Create(Create {
                path: self.full(&self.guid_name()),
                data: format!("c{}i{}", self.process, self.items),
                mode: CreateMode::PersistentSequential,
            })),
            Phase::RecoverSync => Request::Read(Read::Sync(Sync {
                path: self.config.path().to_string(),
            })),
            Phase::RecoverList | Phase::List | Phase::Census => {
                Request::Read(Read::GetChildren(Watched {
                    path: self.config.path().to_string(),
                    watch: self.phase == Phase::List,
                }))
            }
            Phase::Waiting => return Step::Wait,
            Phase::Read { item } => Request::Read(Read::GetData(Watched {
                path: item.clone(),
                watch: false,
            })),
            Phase::Take { item, .. } => Request::Write(Write::Delete(Delete {
                path: item.clone(),
                version: -1,
            })),
            Phase::Done => return Step::Close,
        };
        Step::Send(request)
    }

    /// A consumer tries the next item of its listing, or lists again.
    fn try_next(&mut self) {
        self.phase = if self.candidates.is_empty() {
            Phase::List
        } else {
            Phase::Read {
                item: self.candidates.remove(0),
            }
        };
    }

    /// It owns `item`; a consumer pauses before its next take.
    fn took(&mut self, now: SimTime, item: String, zxid: Zxid, think: [f64; 2], rng: &mut SimRng) {
        self.events.push(RecipeEvent::Took { item, zxid });
        self.phase = Phase::Idle {
            until: now + draw(rng, think),
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
        let queue = self.config.queue();
        let by_read = self.config.variant == Variant::TakeByRead;
        match (self.phase.clone(), outcome) {
            (Phase::Parent, outcome) if parent_done(outcome) => {
                let role = if queue.produces(self.process) {
                    Role::Producer
                } else {
                    Role::Consumer
                };
                self.role = Some(role);
                self.events.push(RecipeEvent::Role { role });
                self.phase = match role {
                    Role::Producer => Phase::Idle {
                        until: now + draw(rng, queue.produce_every_ms),
                    },
                    Role::Consumer => Phase::List,
                };
            }
            (Phase::Create, Outcome::Ok(Reply::Created(c))) => self.produced(now, &c.path, rng),
            (Phase::RecoverSync, Outcome::Ok(_)) => self.phase = Phase::RecoverList,
            (Phase::RecoverList, Outcome::Ok(Reply::Children(c))) => {
                match find_protected(&c.children, &self.guid_name()) {
                    Some(n) => {
                        let item = self.full(n);
                        self.produced(now, &item, rng);
                    }
                    // The lost create made nothing: make the item now, under the same guid.
                    None => self.phase = Phase::Create,
                }
            }
            (Phase::List, Outcome::Ok(Reply::Children(c))) => {
                let mut items: Vec<&String> = c.children.iter().collect();
                items.sort_by_key(|n| sequence(n));
                self.candidates = items.into_iter().map(|n| self.full(n)).collect();
                if self.candidates.is_empty() {
                    self.phase = Phase::Waiting;
                } else {
                    self.try_next();
                }
            }
            (Phase::Read { item }, Outcome::Ok(_)) => {
                if by_read {
                    // The mistake: what it read is taken to be its own; the delete that
                    // follows is housekeeping, whatever it answers.
                    self.events.push(RecipeEvent::Took {
                        item: item.clone(),
                        zxid,
                    });
                }
                self.phase = Phase::Take { item, again: false };
            }
            (Phase::Read { .. }, Outcome::Err(ZkError::NoNode)) => self.try_next(),
            (Phase::Take { item, .. }, Outcome::Ok(_)) if !by_read => {
                self.took(now, item, zxid, think, rng);
            }
            (Phase::Take { item, again: true }, Outcome::Err(ZkError::NoNode))
                if self.config.variant == Variant::Correct =>
            {
                // Its first delete may have been the one that removed the item.
                self.events.push(RecipeEvent::MaybeTook { item });
                self.phase = Phase::Idle {
                    until: now + draw(rng, think),
                };
            }
            // Another consumer's delete came first: that one owns the item.
            (Phase::Take { .. }, Outcome::Err(ZkError::NoNode)) if !by_read => self.try_next(),
            // Take-by-read: the delete was housekeeping.
            (Phase::Take { .. }, Outcome::Ok(_) | Outcome::Err(ZkError::NoNode)) => {
                self.phase = Phase::Idle {
                    until: now + draw(rng, think),
                };
            }
            (Phase::Census, Outcome::Ok(_)) => self.phase = Phase::Done,
            // Any other answer: ask again (the phase still names the request).
            _ => {}
        }
    }

    /// The producer's item `item` is in the queue.
    fn produced(&mut self, now: SimTime, item: &str, rng: &mut SimRng) {
        self.events.push(RecipeEvent::Produced {
            item: item.to_string(),
        });
        self.phase = Phase::Idle {
            until: now + draw(rng, self.config.queue().produce_every_ms),
        };
    }

    /// A watch notification: a waiting consumer lists again.
    pub fn on_watch(&mut self, kind: EventType, path: &str) {
        if self.phase == Phase::Waiting
            && kind == EventType::NodeChildrenChanged
            && path == self.config.path()
        {
            self.phase = Phase::List;
        }
    }

    /// The connection is lost; `in_flight` was the request without an answer.
    pub fn on_connection_lost(&mut self, in_flight: Option<&Request>) {
        match (in_flight, &self.phase) {
            (Some(Request::Write(Write::Create(_))), Phase::Create) => {
                self.phase = Phase::RecoverSync;
            }
            (Some(Request::Write(Write::Delete(_))), Phase::Take { item, .. }) => {
                self.phase = Phase::Take {
                    item: item.clone(),
                    again: true,
                };
            }
            _ => {}
        }
    }

    /// Connected again within the same session: a waiting consumer lists again (a notification
    /// sent while it was away is re-armed, but looking costs one read and misses nothing).
    pub fn on_reconnected(&mut self) {
        if self.phase == Phase::Waiting {
            self.phase = Phase::List;
        }
    }

    /// The session expired. Its items are persistent: nothing of the queue is lost with it; a
    /// create or delete in flight is recovered as after a connection loss (the phase says so),
    /// and a consumer waiting on its watch lists again.
    pub fn on_session_expired(&mut self, now: SimTime) {
        let _ = now;
        if self.phase == Phase::Waiting {
            self.phase = Phase::List;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::znode::{Children, Data, Stat};
    use rand::SeedableRng;

    fn app(variant: &str, share: &str) -> QueueApp {
        let config: RecipeConfig = serde_json::from_str(&format!(
            r#"{{"kind": "queue", "variant": "{variant}", "queue": {{"producer_share": "{share}"}}}}"#
        ))
        .unwrap();
        QueueApp::new(config, 3)
    }

    fn stat(czxid: u64) -> Stat {
        Stat {
            czxid: Zxid(czxid),
            mzxid: Zxid(czxid),
            pzxid: Zxid(czxid),
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: crate::znode::SessionId(0),
            data_length: 0,
            num_children: 0,
        }
    }

    fn send(app: &mut QueueApp, now: SimTime) -> Request {
        match app.next(now, false) {
            Step::Send(r) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn answer(app: &mut QueueApp, request: &Request, zxid: u64, outcome: Outcome<Reply>) {
        let mut rng = SimRng::seed_from_u64(1);
        app.on_reply(
            SimTime::ZERO,
            request,
            Zxid(zxid),
            &outcome,
            [0.0, 0.0],
            &mut rng,
        );
    }

    fn children(names: &[&str]) -> Outcome<Reply> {
        Outcome::Ok(Reply::Children(Children {
            children: names.iter().map(|s| s.to_string()).collect(),
            stat: stat(1),
        }))
    }

    fn data() -> Outcome<Reply> {
        Outcome::Ok(Reply::Data(Data {
            data: "c1i1".into(),
            stat: stat(2),
        }))
    }

    /// A consumer, past the parent's create, with its first listing sent.
    fn consumer(variant: &str) -> (QueueApp, Request) {
        let mut a = app(variant, "0");
        let parent = send(&mut a, SimTime::ZERO);
        answer(&mut a, &parent, 1, Outcome::Ok(Reply::Done));
        let list = send(&mut a, SimTime::ZERO);
        assert!(matches!(&list, Request::Read(Read::GetChildren(w)) if w.watch));
        (a, list)
    }

    /// Take step 2: the lowest item first; a `NoNode` on the delete means another consumer owns
    /// it, so the next item is tried; a successful delete is a take.
    #[test]
    fn a_consumer_owns_an_item_only_when_its_delete_succeeds() {
        let (mut a, list) = consumer("correct");
        answer(
            &mut a,
            &list,
            5,
            children(&["item-c1i2-0000000007", "item-c1i1-0000000003"]),
        );
        let read = send(&mut a, SimTime::ZERO);
        assert!(
            matches!(&read, Request::Read(Read::GetData(w)) if w.path == "/queue/item-c1i1-0000000003")
        );
        answer(&mut a, &read, 6, data());
        let delete = send(&mut a, SimTime::ZERO);
        answer(&mut a, &delete, 7, Outcome::Err(ZkError::NoNode));
        assert!(a.take_events().iter().all(|e| e.name() != "took"));
        let read = send(&mut a, SimTime::ZERO);
        assert!(
            matches!(&read, Request::Read(Read::GetData(w)) if w.path == "/queue/item-c1i2-0000000007")
        );
        answer(&mut a, &read, 8, data());
        let delete = send(&mut a, SimTime::ZERO);
        answer(&mut a, &delete, 9, Outcome::Ok(Reply::Done));
        assert_eq!(
            a.take_events(),
            [RecipeEvent::Took {
                item: "/queue/item-c1i2-0000000007".into(),
                zxid: Zxid(9)
            }]
        );
    }

    /// The mistake: the read alone is the take.
    #[test]
    fn take_by_read_takes_on_the_read() {
        let (mut a, list) = consumer("take-by-read");
        answer(&mut a, &list, 5, children(&["item-c1i1-0000000003"]));
        let read = send(&mut a, SimTime::ZERO);
        answer(&mut a, &read, 6, data());
        assert!(
            a.take_events()
                .iter()
                .any(|e| matches!(e, RecipeEvent::Took { zxid, .. } if *zxid == Zxid(6)))
        );
        let delete = send(&mut a, SimTime::ZERO);
        answer(&mut a, &delete, 7, Outcome::Err(ZkError::NoNode));
        assert!(a.take_events().is_empty());
    }

    /// An empty queue: wait for the children notification, then list again.
    #[test]
    fn an_empty_queue_is_waited_on_with_a_child_watch() {
        let (mut a, list) = consumer("correct");
        answer(&mut a, &list, 5, children(&[]));
        assert_eq!(a.next(SimTime::ZERO, false), Step::Wait);
        a.on_watch(EventType::NodeChildrenChanged, "/queue");
        assert!(matches!(
            send(&mut a, SimTime::ZERO),
            Request::Read(Read::GetChildren(_))
        ));
    }

    /// A delete whose answer was lost is sent again; `NoNode` then is a possible take.
    #[test]
    fn a_lost_delete_answered_no_node_is_a_possible_take() {
        let (mut a, list) = consumer("correct");
        answer(&mut a, &list, 5, children(&["item-c1i1-0000000003"]));
        let read = send(&mut a, SimTime::ZERO);
        answer(&mut a, &read, 6, data());
        let delete = send(&mut a, SimTime::ZERO);
        a.on_connection_lost(Some(&delete));
        let again = send(&mut a, SimTime::ZERO);
        assert_eq!(again, delete);
        answer(&mut a, &again, 8, Outcome::Err(ZkError::NoNode));
        let names: Vec<&str> = a.take_events().iter().map(|e| e.name()).collect();
        assert_eq!(names, ["role", "maybe_took"]);
    }

    /// The mistake: the second `NoNode` is read as another consumer's take, and the consumer
    /// moves on with no record of the item.
    #[test]
    fn forget_lost_delete_moves_on_without_a_record() {
        let (mut a, list) = consumer("forget-lost-delete");
        answer(&mut a, &list, 5, children(&["item-c1i1-0000000003"]));
        let read = send(&mut a, SimTime::ZERO);
        answer(&mut a, &read, 6, data());
        let delete = send(&mut a, SimTime::ZERO);
        a.on_connection_lost(Some(&delete));
        let again = send(&mut a, SimTime::ZERO);
        answer(&mut a, &again, 8, Outcome::Err(ZkError::NoNode));
        let names: Vec<&str> = a.take_events().iter().map(|e| e.name()).collect();
        assert_eq!(names, ["role"]);
        assert!(matches!(
            send(&mut a, SimTime::ZERO),
            Request::Read(Read::GetChildren(_))
        ));
    }

    /// A producer's lost create is found again by its guid and not made twice.
    #[test]
    fn a_producer_finds_a_lost_create_by_its_guid() {
        let mut a = app("correct", "1");
        let parent = send(&mut a, SimTime::ZERO);
        answer(&mut a, &parent, 1, Outcome::Ok(Reply::Done));
        let later = SimTime::from_ms(1_000);
        let create = send(&mut a, later);
        assert!(
            matches!(&create, Request::Write(Write::Create(c)) if c.path == "/queue/item-c3i1-" && c.mode == CreateMode::PersistentSequential)
        );
        a.on_connection_lost(Some(&create));
        let sync = send(&mut a, later);
        assert!(matches!(sync, Request::Read(Read::Sync(_))));
        answer(
            &mut a,
            &sync,
            2,
            Outcome::Ok(Reply::Synced("/queue".into())),
        );
        let list = send(&mut a, later);
        answer(&mut a, &list, 3, children(&["item-c3i1-0000000004"]));
        let events = a.take_events();
        assert_eq!(
            events.last(),
            Some(&RecipeEvent::Produced {
                item: "/queue/item-c3i1-0000000004".into()
            })
        );
        // Had the listing not shown it, the same item is created again.
        let mut b = a.clone();
        b.phase = Phase::RecoverList;
        answer(&mut b, &list, 3, children(&[]));
        assert_eq!(send(&mut b, later), create);
    }
}
