//! Every shipped reference scenario (`scenarios/reference-*.json`) passes every check with the one
//! standalone server, held to the ZAB scenarios' standard and more: the server is one copy of the
//! tree, so the whole history, reads included, must be linearizable, and a read right after a
//! `sync` must see every write completed before it (`zookeeper+sync`). Each fault scenario does
//! what its description says, and the seeds on which a sweep found the server or the runner wrong
//! stay as regression tests.
//!
//! Debug builds run seed 0 of each scenario; release builds run seeds 0..10. The 1,000-seed
//! evidence is a release-mode sweep (`docs/reference.md`, "Evidence").

use std::path::{Path, PathBuf};
use zksim::runner::{self, PROTOCOLS, Run, RunOptions};
use zksim::scenario::Scenario;

const SEEDS: u64 = if cfg!(debug_assertions) { 1 } else { 10 };

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("reference-") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    files
}

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.json"))
}

/// The scenario as shipped, with the strict sync-read check turned on as well.
fn load(path: &Path) -> Scenario {
    let mut s = Scenario::load(path, PROTOCOLS).unwrap_or_else(|e| panic!("{e}"));
    s.checks.sync_read = true;
    s
}

/// Runs one seed and asserts that every check passed, linearizability included.
fn run_passing(s: &Scenario, seed: u64) -> Run {
    let run = runner::run(s, RunOptions::new(seed, &s.name));
    let failed: Vec<String> = run.failed_checks();
    let details: Vec<&str> = run
        .results
        .checks
        .iter()
        .filter(|c| failed.contains(&c.name))
        .map(|c| c.detail.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "{} seed {seed}: {failed:?}\n{details:#?}",
        s.name
    );
    let names: Vec<&str> = run.results.checks.iter().map(|c| c.name.as_str()).collect();
    for check in ["linearizable", "zookeeper", "zookeeper+sync"] {
        assert!(names.contains(&check), "{} ran no {check} check", s.name);
    }
    run
}

#[test]
fn every_reference_scenario_passes_every_check() {
    let files = scenarios();
    assert_eq!(files.len(), 6, "{files:?}");
    for file in files {
        let s = load(&file);
        assert_eq!(s.cluster.protocol, "reference");
        assert_eq!(
            s.checks.linearizable, None,
            "{}: the protocol's claim",
            s.name
        );
        for seed in 0..SEEDS {
            let run = run_passing(&s, seed);
            if s.faults.window_ms.is_some() {
                assert!(
                    !run.fault_log.is_empty(),
                    "{} seed {seed}: faults fired",
                    s.name
                );
            }
        }
    }
}

/// The fault scenarios exercise what they are named for.
#[test]
fn fault_scenarios_take_the_paths_they_exist_for() {
    let expiries = |run: &Run| {
        run.history
            .lines()
            .iter()
            .filter(|l| l.f == "session_expired")
            .count()
    };
    let crash = run_passing(&load(&path("reference-crash")), 0);
    assert_eq!(crash.results.faults["crash"], 2);
    let w = &crash.results.crash_writes;
    assert!(w["lost"] + w["kept"] + w["torn"] > 0, "{w:?}");
    let pause = run_passing(&load(&path("reference-pause")), 0);
    assert!(
        expiries(&pause) >= 1,
        "a session expired while the server was frozen"
    );
    let partition = run_passing(&load(&path("reference-partition")), 0);
    assert!(
        expiries(&partition) >= 2,
        "the two cut-off clients' sessions expired"
    );
    let lossy = run_passing(&load(&path("reference-lossy")), 0);
    assert!(lossy.results.ops.ok > 1000);
    let nemesis = run_passing(&load(&path("reference-nemesis")), 0);
    // A client cut off from every replica shows as a partition.
    for kind in ["crash", "pause", "clog", "partition"] {
        assert!(
            nemesis.results.faults.get(kind).is_some_and(|n| *n > 0),
            "{kind}: {:?}",
            nemesis.results.faults
        );
    }
}

/// `reference-nemesis` seeds on which the history showed a create owned by a session that was not
/// its client's. Seed 52: a paused server answered a closed connection's Connect on the client's
/// next connection. Seeds 84, 166, 263: a clog held a connection attempt the client then
/// abandoned, and released it onto the client's next connection (`sim`, `release_held`).
#[test]
fn the_seeds_that_found_the_reference_server_wrong_pass() {
    let s = load(&path("reference-nemesis"));
    for seed in [52, 84, 166, 263] {
        let run = run_passing(&s, seed);
        assert!(
            run.history
                .lines()
                .iter()
                .any(|l| l.process >= protocols::cluster::SERVER_PROCESS),
            "seed {seed}: the server recorded a session expiry"
        );
    }
}
