//! ZAB phase by phase, in small worlds: Fast Leader Election picks the most up-to-date peer and a
//! restarted peer joins the running ensemble; discovery makes each new epoch one more than the
//! highest accepted one; synchronisation sends DIFF, TRUNC or SNAP as the learner's history
//! requires; broadcast commits in zxid order; sessions expire by a transaction; a crashed replica
//! rebuilds from its disk. Every world also passes ZAB's own invariants (`zab::checks`).

use protocols::cluster::{ClusterConfig, Node, Obs, Protocol};
use protocols::workload::WorkloadConfig;
use protocols::zab::{PeerState, Variant, Zab, ZabEvent, ZabSettings};
use protocols::znode::{Reply, SessionId, Zxid};
use sim::nemesis::{FaultKind, FaultSpec, NemesisConfig};
use sim::{NodeId, SimTime, World};

struct Setup {
    replicas: usize,
    clients: usize,
    settings: ZabSettings,
    workload: &'static str,
    faults: Vec<FaultSpec>,
    seed: u64,
}

impl Setup {
    fn new(replicas: usize, clients: usize) -> Setup {
        Setup {
            replicas,
            clients,
            settings: ZabSettings::default(),
            workload: r#"{"clients": 0, "duration_ms": 3000, "think_ms": [1, 10], "watch": "1/4"}"#,
            faults: Vec::new(),
            seed: 1,
        }
    }

    fn fault(mut self, at_ms: f64, fault: FaultKind, node: u32, for_ms: Option<f64>) -> Setup {
        self.faults.push(FaultSpec {
            at_ms,
            for_ms,
            ..FaultSpec::new(fault).on(NodeId(node))
        });
        self
    }

    fn run(self, until_ms: u64) -> World<Node<Zab>> {
        let mut workload: WorkloadConfig = serde_json::from_str(self.workload).unwrap();
        workload.clients = self.clients as u32;
        let cluster = ClusterConfig {
            nemesis: NemesisConfig {
                scripted: self.faults,
                ..NemesisConfig::default()
            },
            ..ClusterConfig::new(self.seed, self.replicas, workload)
        };
        let mut world = cluster.world::<Zab>(&self.settings, Variant::Correct);
        world.run_until(SimTime::from_ms(until_ms), 50_000_000);
        let report = Zab::report(&world);
        for f in &report.findings {
            assert!(f.passed, "{}: {}", f.name, f.detail);
        }
        world
    }
}

fn replica(world: &World<Node<Zab>>, i: u32) -> &Zab {
    match world.process(NodeId(i)) {
        Some(Node::Replica(z)) => z,
        _ => panic!("n{i} is not a running replica"),
    }
}

fn events(world: &World<Node<Zab>>) -> Vec<(SimTime, NodeId, &ZabEvent)> {
    world
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Obs::Replica(e) => Some((o.time, o.node, e)),
            Obs::History(_) | Obs::ClientAssertion(_) | Obs::Recipe(_) => None,
        })
        .collect()
}

/// (epoch, leader) of every establishment, in order.
fn established(world: &World<Node<Zab>>) -> Vec<(u32, NodeId)> {
    events(world)
        .into_iter()
        .filter_map(|(_, n, e)| match e {
            ZabEvent::Established { epoch, .. } => Some((*epoch, n)),
            _ => None,
        })
        .collect()
}

fn sent(world: &World<Node<Zab>>, kind: &str) -> u64 {
    world.network().counts().get(kind).map_or(0, |c| c.sent)
}

/// Every replica that is up holds the same database.
fn assert_replicas_agree(world: &World<Node<Zab>>, replicas: u32) {
    let first = replica(world, 0).database();
    for i in 1..replicas {
        let db = replica(world, i).database();
        assert_eq!(
            db.last_processed, first.last_processed,
            "n{i} and n0 applied different prefixes"
        );
        assert_eq!(
            db.chain, first.chain,
            "n{i} and n0 hold different histories"
        );
        assert_eq!(db.tree, first.tree, "n{i} and n0 hold different trees");
    }
}

/// Zab §5 phase 0 and ZooKeeper's FLE: with equal (epoch, zxid) everywhere, the highest server
/// id wins; it establishes epoch 1 (one more than every acceptedEpoch 0) and everyone adopts it.
#[test]
fn a_fresh_ensemble_elects_the_highest_id_which_establishes_epoch_one() {
    let world = Setup::new(3, 0).run(1_000);
    assert_eq!(established(&world), vec![(1, NodeId(2))]);
    assert_eq!(replica(&world, 2).peer_state(), PeerState::Leading);
    for i in 0..3 {
        assert_eq!(
            replica(&world, i).epochs(),
            (1, 1),
            "n{i}'s (acceptedEpoch, currentEpoch)"
        );
    }
    assert_eq!(replica(&world, 0).peer_state(), PeerState::Following);
}

/// FLE step 5 (ZOOKEEPER-1732/-1818): a restarted peer learns of the running leader from the
/// FOLLOWING/LEADING answers to its notifications and joins it, without a new epoch.
#[test]
fn a_restarted_follower_joins_the_running_leader_without_a_new_epoch() {
    let world = Setup::new(3, 2)
        .fault(500.0, FaultKind::Crash, 0, Some(300.0))
        .run(2_500);
    assert_eq!(
        established(&world),
        vec![(1, NodeId(2))],
        "the ensemble kept its leader"
    );
    let rejoined = events(&world).into_iter().any(|(t, n, e)| {
        n == NodeId(0)
            && t > SimTime::from_ms(800)
            && matches!(
                e,
                ZabEvent::Decided {
                    leader: NodeId(2),
                    ..
                }
            )
    });
    assert!(
        rejoined,
        "n0 decided for the running leader after its restart"
    );
    assert_eq!(replica(&world, 0).peer_state(), PeerState::Following);
}

/// Zab §5.1 phase 1 (`getEpochToPropose`): each new leader's epoch is one more than the highest
/// acceptedEpoch of the quorum that connected to it, and a leader loss leads to a new election.
#[test]
fn each_new_epoch_is_one_more_than_the_highest_accepted_one() {
    let world = Setup::new(3, 2)
        .fault(500.0, FaultKind::Crash, 2, Some(400.0))
        .fault(1_500.0, FaultKind::Crash, 1, Some(400.0))
        .run(3_000);
    let epochs: Vec<u32> = established(&world).iter().map(|(e, _)| *e).collect();
    assert_eq!(epochs, vec![1, 2, 3]);
    let leaders: Vec<NodeId> = established(&world).iter().map(|(_, n)| *n).collect();
    assert_eq!(
        leaders,
        vec![NodeId(2), NodeId(1), NodeId(2)],
        "the most up-to-date peer leads"
    );
}

/// Zab §5.1 phase 3 and `Leader.tryToCommit`: a leader commits strictly in zxid order, each
/// epoch's zxids are contiguous from (e, 1), and every replica applies them in that order.
#[test]
fn commits_are_contiguous_and_in_zxid_order_on_every_replica() {
    let world = Setup::new(3, 3)
        .fault(1_200.0, FaultKind::Crash, 2, Some(300.0))
        .run(3_000);
    let mut last: Vec<Option<Zxid>> = vec![None; 3];
    let mut commits = 0;
    for (_, node, e) in events(&world) {
        match e {
            ZabEvent::Committed { zxid, .. } => {
                commits += 1;
                let prev = last[node.index()].unwrap_or(Zxid::ZERO);
                let next_in_epoch =
                    zxid.epoch() == prev.epoch() && zxid.counter() == prev.counter() + 1;
                let epoch_start = zxid.epoch() > prev.epoch() && zxid.counter() == 1;
                assert!(
                    next_in_epoch || epoch_start,
                    "{node} committed {:#x} after {:#x}",
                    zxid.0,
                    prev.0
                );
                last[node.index()] = Some(*zxid);
            }
            ZabEvent::Looking { .. } => last[node.index()] = None,
            _ => {}
        }
    }
    assert!(
        commits > 100,
        "the workload committed transactions ({commits})"
    );
}

/// Zab §5.1 phase 2 (`syncFollower`): a follower that fell behind the leader's snapshot is sent
/// a SNAP (and the transactions after it); once synced it holds the same database.
#[test]
fn a_follower_behind_the_leaders_snapshot_is_sent_a_snap() {
    let mut setup = Setup::new(3, 3).fault(300.0, FaultKind::Crash, 0, Some(1_500.0));
    setup.settings.snap_count = 20;
    let world = setup.run(4_500);
    assert!(
        sent(&world, "SNAP") >= 1,
        "n0 was brought up to date by a snapshot"
    );
    assert_replicas_agree(&world, 3);
}

/// Zab §5.1 phase 2 and ZOOKEEPER-1154: a leader cut off from its followers keeps proposing what
/// its clients send; the new leader truncates that uncommitted suffix when the old one rejoins.
#[test]
fn a_deposed_leaders_uncommitted_suffix_is_truncated_when_it_rejoins() {
    let setup = Setup::new(3, 3).fault(500.0, FaultKind::Isolate, 2, Some(1_500.0));
    let world = setup.run(4_500);
    assert!(
        sent(&world, "TRUNC") + sent(&world, "SNAP") >= 1,
        "n2's suffix was discarded"
    );
    assert_eq!(established(&world).len(), 2);
    assert_replicas_agree(&world, 3);
}

/// Sessions are quorum state (ZooKeeper's `SessionTrackerImpl`): a client silent for longer than
/// its timeout is expired by the leader with a closeSession transaction, which every replica
/// applies, taking the session's ephemeral nodes with it.
#[test]
fn an_idle_session_expires_by_a_transaction_on_every_replica() {
    let mut setup = Setup::new(3, 2).fault(800.0, FaultKind::Pause, 3, Some(2_000.0));
    setup.workload = r#"{"clients": 0, "duration_ms": 3500, "think_ms": [1, 10], "session_timeout_ms": 600,
        "mix": {"create_ephemeral": 5, "set_data": 5, "get_data": 5}}"#;
    let world = setup.run(5_500);
    let sessions: Vec<SessionId> = world
        .observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Obs::History(r) if r.process == 0 && r.f == "open_session" => match &r.value {
                protocols::cluster::Value::Outcome(protocols::znode::Outcome::Ok(
                    Reply::Session(s),
                )) => Some(*s),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let first = *sessions.first().expect("client 0 opened a session");
    for i in 0..3 {
        let db = replica(&world, i).database();
        assert!(
            !db.tree.is_open(first),
            "n{i} still holds client 0's first session"
        );
        assert_eq!(
            db.tree.ephemerals(first).count(),
            0,
            "n{i} kept its ephemerals"
        );
    }
    assert!(
        sessions.len() >= 2,
        "client 0 learned its session expired and opened another"
    );
    assert_replicas_agree(&world, 3);
}

/// Durable state only through the disk: after the whole ensemble crashes and restarts, every
/// replica rebuilds its log and epochs from disk and the history committed before is kept
/// (the durability invariant checks every later leader holds it).
#[test]
fn a_whole_ensemble_restarts_from_its_disks() {
    let world = Setup::new(3, 3)
        .fault(1_000.0, FaultKind::Crash, 0, Some(200.0))
        .fault(1_000.0, FaultKind::Crash, 1, Some(200.0))
        .fault(1_000.0, FaultKind::Crash, 2, Some(200.0))
        .run(3_000);
    let established = established(&world);
    assert_eq!(
        established.len(),
        2,
        "one leader before the crash, one after: {established:?}"
    );
    let (before, after) = (established[0].0, established[1].0);
    assert_eq!(after, before + 1);
    assert!(
        replica(&world, 0).database().last_processed > Zxid::new(after, 0),
        "the new epoch commits"
    );
}
