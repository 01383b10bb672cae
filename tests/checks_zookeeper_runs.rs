//! ZooKeeper's contract checker on real runs, through the runner (checks `zookeeper` and
//! `zookeeper+sync`): the reference server keeps every guarantee, sync-read included, through
//! faults; correct ZAB keeps ZooKeeper's guarantees; and the staleness of ZooKeeper's own sync under
//! a deposed leader (ZOOKEEPER-1675, `sync-deposed-leader-5`) is caught by `zookeeper+sync`
//! only, while the strict sync (`sync-through-quorum`) passes both on the same seeds.
//!
//! Debug builds run shortened reference scenarios and a few seeds; the seeds below were chosen
//! knowing which of them meet the stale sync-read (the scenario's design puts one in reach on most
//! seeds; see docs/zab.md).

use std::path::{Path, PathBuf};
use zksim::runner::{self, CheckResult, PROTOCOLS, RunOptions, Verdict};
use zksim::scenario::Scenario;

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.json"))
}

fn load(name: &str) -> Scenario {
    Scenario::load(&path(name), PROTOCOLS).unwrap_or_else(|e| panic!("{e}"))
}

/// The ZooKeeper checks of one run, by name; every other check must pass (but liveness, in runs
/// whose clients stop early).
fn zookeeper_checks(s: &Scenario, seed: u64) -> Vec<CheckResult> {
    let shortened = s.workload.ops_per_client.is_some();
    let run = runner::run(s, RunOptions::new(seed, &s.name));
    let (ours, others): (Vec<CheckResult>, Vec<CheckResult>) = run
        .results
        .checks
        .into_iter()
        .partition(|c| c.name.starts_with("zookeeper"));
    for c in others
        .iter()
        .filter(|c| !(shortened && c.name == "liveness"))
    {
        assert_eq!(
            c.verdict,
            Verdict::Pass,
            "{} seed {seed}: {} {}",
            s.name,
            c.name,
            c.detail
        );
    }
    ours
}

fn verdict(checks: &[CheckResult], name: &str) -> Verdict {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .verdict
}

#[test]
fn the_reference_server_keeps_every_guarantee_through_faults() {
    for name in [
        "reference-calm",
        "reference-crash",
        "reference-partition",
        "reference-pause",
        "reference-lossy",
        "reference-nemesis",
    ] {
        let mut s = load(name);
        // Small runs: the faults stay where the scenario puts them, the clients do less.
        s.workload.ops_per_client = Some(300);
        s.checks.zookeeper = true;
        s.checks.sync_read = true;
        for seed in 0..2 {
            let checks = zookeeper_checks(&s, seed);
            assert_eq!(checks.len(), 2, "{name}");
            for c in &checks {
                assert_eq!(
                    c.verdict,
                    Verdict::Pass,
                    "{name} seed {seed}: {}\n{}",
                    c.name,
                    c.detail
                );
                assert!(c.detail.contains("reads-at-zxid: valid"), "{}", c.detail);
            }
        }
    }
}

#[test]
fn checks_follow_the_scenario_switches() {
    let mut s = load("reference-calm");
    s.workload.ops_per_client = Some(50);
    s.checks.linearizable = Some(false);
    let names = |s: &Scenario| -> Vec<String> {
        zookeeper_checks(s, 0).into_iter().map(|c| c.name).collect()
    };
    assert_eq!(names(&s), ["zookeeper"], "by default: zookeeper only");
    s.checks.sync_read = true;
    assert_eq!(names(&s), ["zookeeper", "zookeeper+sync"]);
    s.checks.zookeeper = false;
    assert_eq!(names(&s), ["zookeeper+sync"]);
    s.checks.sync_read = false;
    assert!(names(&s).is_empty());
}

#[test]
fn correct_zab_keeps_zookeepers_guarantees_under_faults() {
    for (name, seeds) in [("isolate-leader-3", 0..2), ("random-3", 0..2)] {
        let mut s = load(name);
        s.checks.sync_read = false;
        for seed in seeds {
            let checks = zookeeper_checks(&s, seed);
            let c = &checks[0];
            assert_eq!(
                c.verdict,
                Verdict::Pass,
                "{name} seed {seed}:\n{}",
                c.detail
            );
        }
    }
}

#[test]
fn a_stale_sync_read_under_a_deposed_leader_fails_only_zookeeper_sync() {
    let scenario = |variant: &str| {
        let mut s = load("sync-deposed-leader-5");
        s.cluster.variant = Some(variant.into());
        s.checks.zookeeper = true;
        s.checks.sync_read = true;
        s.validate(PROTOCOLS).unwrap();
        s
    };
    // ZooKeeper's own sync: answered by the deposed leader, a sync-read misses a write the new
    // majority completed. Seed 2 meets it (docs/zab.md counts how often).
    let zk = scenario("correct");
    let checks = zookeeper_checks(&zk, 2);
    assert_eq!(verdict(&checks, "zookeeper"), Verdict::Pass);
    assert_eq!(verdict(&checks, "zookeeper+sync"), Verdict::Fail);
    let detail = &checks[1].detail;
    assert!(detail.contains("sync-read (stale-after-sync)"), "{detail}");
    assert!(detail.contains("completed before the sync"), "{detail}");
    // The strict sync passes both on the same seed.
    let strict = scenario("sync-through-quorum");
    let checks = zookeeper_checks(&strict, 2);
    assert_eq!(verdict(&checks, "zookeeper"), Verdict::Pass);
    assert_eq!(
        verdict(&checks, "zookeeper+sync"),
        Verdict::Pass,
        "{}",
        checks[1].detail
    );
}

/// The correct ZAB's seeds on which the 1,000-seed sweeps found the checker wrong (docs/zab.md,
/// "Evidence"): an `exists` watch missing a node one multi created and deleted; a `deleted`
/// answered once per re-armed watch; a part whose exact search ran out of memory until the lost
/// write an answer revealed was pinned at its zxid (without the pin it ends `unknown`, after
/// 28 s in release). They stay as regression tests while the simulation reproduces them.
#[test]
fn the_seeds_that_found_the_checker_wrong_pass() {
    for (name, seed) in [
        ("crash-unsynced-3", 14),
        ("catch-up-crash-3", 705),
        ("random-3", 108),
    ] {
        let mut s = load(name);
        s.checks.timeout_s = 20.0;
        for c in zookeeper_checks(&s, seed) {
            assert_eq!(c.verdict, Verdict::Pass, "{name} seed {seed}: {}", c.detail);
        }
    }
}

/// Mutants of real histories: every `changed` notification at the zxid of the successful
/// `set_data` that fired it, turned into `deleted`. That write leaves the node in place, so no
/// mutant may pass, even where a delete of the same node with an unknown zxid exists elsewhere
/// in the history (which once let 26 of 56 such mutants through).
#[test]
fn a_notification_turned_into_another_type_fails_watch_order() {
    use protocols::checks::zookeeper::{Level, Verdict as ZkVerdict, check_lines};
    use sim::check::Budget;
    use sim::history::LineType;
    let budget = Budget {
        timeout: Some(std::time::Duration::from_secs(20)),
        ..Budget::default()
    };
    let (mut mutants, mut beside_a_floating_delete) = (0, 0);
    for (name, seeds) in [("lossy-3", 0..2), ("reference-nemesis", 0..2)] {
        let mut s = load(name);
        s.workload.ops_per_client = Some(300);
        for seed in seeds {
            let history = runner::run(&s, RunOptions::new(seed, &s.name))
                .history
                .lines()
                .to_vec();
            // The path each process's open operation names, and the zxid → path of every
            // successful set_data.
            let mut open = std::collections::BTreeMap::new();
            let mut sets = std::collections::BTreeMap::new();
            let mut lost_deletes = std::collections::BTreeSet::new();
            for line in &history {
                let p = line.value["path"].as_str().map(str::to_string);
                match line.kind {
                    LineType::Invoke => {
                        open.insert(line.process, (line.f.clone(), p));
                    }
                    LineType::Ok | LineType::Info => {
                        let Some((f, Some(p))) = open.remove(&line.process) else {
                            continue;
                        };
                        match (line.kind, f.as_str(), line.zxid) {
                            (LineType::Ok, "set_data", Some(z))
                                if line.value.get("ok").is_some() =>
                            {
                                sets.insert(z, p);
                            }
                            (LineType::Info, "delete", _) => {
                                lost_deletes.insert(p);
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
            for (i, line) in history.iter().enumerate() {
                let p = line.value["path"].as_str();
                let fired_by_set = line
                    .zxid
                    .and_then(|z| sets.get(&z))
                    .is_some_and(|q| Some(q.as_str()) == p);
                if line.kind != LineType::Event || line.value["type"] != "changed" || !fired_by_set
                {
                    continue;
                }
                let mut mutant = history.clone();
                mutant[i].value["type"] = "deleted".into();
                let report = check_lines(&mutant, Level::Zookeeper, &budget)
                    .unwrap_or_else(|e| panic!("{name} seed {seed}: {e}"));
                assert_eq!(
                    report.verdict,
                    ZkVerdict::Violation,
                    "{name} seed {seed}, `deleted` at history line {}:\n{report}",
                    i + 2
                );
                // Where no write may delete the node, no write fires it at all; else the zxid
                // names the set, which cannot.
                assert!(
                    report
                        .violations
                        .iter()
                        .any(|v| ["wrong-type", "no-write-fires"].contains(&v.rule)),
                    "{report}"
                );
                mutants += 1;
                beside_a_floating_delete += usize::from(lost_deletes.contains(p.unwrap_or("")));
            }
        }
    }
    assert!(mutants >= 10, "only {mutants} mutants");
    assert!(
        beside_a_floating_delete >= 1,
        "{beside_a_floating_delete} of {mutants}"
    );
    eprintln!("{mutants} mutants, {beside_a_floating_delete} beside a lost delete of their node");
}

/// The runner checks a run's history from the records its clients and servers typed
/// (`check_records`), not from the JSON lines it writes: on runs of every protocol, correct and
/// buggy, through faults, both give the same report, violations included.
#[test]
fn a_runs_typed_records_and_its_lines_give_the_same_report() {
    use protocols::checks::zookeeper::{Level, Verdict as ZkVerdict, check_lines, check_records};
    use protocols::cluster::{ClusterConfig, Obs, Protocol, Record, Variants};
    use protocols::{paxos::Paxos, raft::Raft, zab::Zab};
    use sim::check::Budget;
    use sim::net::ms_to_ns;
    use sim::{SimTime, history::Line};

    /// The ZooKeeper report of one run from its lines and from its records.
    fn reports<P: Protocol + 'static>(s: &Scenario, seed: u64, variant: &str) -> [ZkVerdict; 2] {
        let s = s.resolved(seed, PROTOCOLS);
        let cluster = ClusterConfig {
            seed,
            replicas: s.cluster.replicas as usize,
            workload: s.workload.clone(),
            network: s.network.clone(),
            disk: s.disk.clone(),
            nemesis: s.faults.clone(),
        };
        let variant = P::Variant::parse(variant).unwrap();
        let mut world = cluster.world::<P>(&P::Settings::default(), variant);
        world.run_until(SimTime(ms_to_ns(s.end_ms())), s.limits.max_events);
        let records: Vec<(SimTime, Record)> = world
            .observations()
            .iter()
            .filter_map(|o| match &o.observation {
                Obs::History(r) => Some((o.time, r.clone())),
                _ => None,
            })
            .collect();
        let lines: Vec<Line> = records.iter().map(|(t, r)| r.to_line(*t)).collect();
        let budget = Budget::unlimited();
        let typed = check_records(&records, Level::ZookeeperSync, &budget).unwrap();
        let read = check_lines(&lines, Level::ZookeeperSync, &budget).unwrap();
        assert_eq!(typed, read, "{} seed {seed} {variant:?}", s.name);
        [typed.verdict, read.verdict]
    }

    let mut violations = 0;
    for (name, seeds) in [("random-5", 0..3), ("chaos-5", 0..2), ("lossy-3", 0..2)] {
        let mut s = load(name);
        s.workload.ops_per_client = Some(300);
        for seed in seeds {
            for variant in ["correct", "local-session-expiry"] {
                let [v, _] = reports::<Zab>(&s, seed, variant);
                violations += usize::from(v == ZkVerdict::Violation);
            }
            reports::<Raft>(&s, seed, <Raft as Protocol>::Variant::NAMES[0]);
            reports::<Paxos>(&s, seed, <Paxos as Protocol>::Variant::NAMES[0]);
        }
    }
    // The buggy variant's violations were compared too.
    assert!(violations > 0, "no run violated a guarantee");
}
