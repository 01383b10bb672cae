//! Every shipped replicated scenario (`scenarios/*.json` but `reference-*`), run once under
//! Multi-Paxos (`--protocol paxos`, the correct replica), passes every check the scenario enables:
//! a leader is established, the workload commits through ACCEPT/ACCEPTED, and the faults fire.
//! The many-seed evidence is a release-mode sweep (`docs/paxos.md`); this is its debug-mode smoke
//! test.

use std::path::{Path, PathBuf};
use zksim::runner::{self, PROTOCOLS, Run, RunOptions, Verdict};
use zksim::scenario::Scenario;

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("reference-")
        })
        .collect();
    files.sort();
    files
}

fn run_paxos(path: &Path, seed: u64) -> (Scenario, Run) {
    let scenario = Scenario::load(path, PROTOCOLS)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_protocol("paxos", PROTOCOLS)
        .unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions::new(seed, &path.display().to_string());
    let run = runner::run(&scenario, options);
    (scenario, run)
}

fn sent(run: &Run, kind: &str) -> u64 {
    run.results.messages.get(kind).map_or(0, |c| c.sent)
}

#[test]
fn every_replicated_scenario_passes_under_paxos() {
    let paths = scenarios();
    assert!(paths.len() >= 20, "the shipped scenarios are found");
    for path in paths {
        let (scenario, run) = run_paxos(&path, 0);
        assert_eq!(run.results.protocol, "paxos");
        let failed: Vec<String> = run
            .results
            .checks
            .iter()
            .filter(|c| c.verdict != Verdict::Pass)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        assert!(failed.is_empty(), "{} seed 0: {failed:?}", path.display());
        let m = &run.results.protocol_metrics;
        assert!(
            m["election_count"].value() >= 1.0,
            "{}: a leader was established",
            path.display()
        );
        assert!(
            m["committed_txn_count"].value() > 100.0,
            "{}: the workload committed",
            path.display()
        );
        assert!(sent(&run, "ACCEPT") > 0 && sent(&run, "ACCEPTED") > 0);
        if scenario.faults.window_ms.is_some() {
            assert!(
                !run.fault_log.is_empty(),
                "{}: faults fired",
                path.display()
            );
        }
    }
}

/// A leader crash is followed by phase 1 at a higher ballot and a new established leader every
/// time (no leader loss left unrecovered).
#[test]
fn every_leader_crash_is_recovered_by_a_higher_ballot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let (_, run) = run_paxos(&dir.join("leader-crash-3.json"), 1);
    let m = &run.results.protocol_metrics;
    assert!(m["leader_loss_count"].value() >= 3.0);
    assert_eq!(m["unrecovered_leader_loss_count"].value(), 0.0);
    assert!(m["election_count"].value() >= 4.0);
    assert!(sent(&run, "PREPARE") > 0 && sent(&run, "PROMISE") > 0);
}
