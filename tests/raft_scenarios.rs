//! Every shipped replicated scenario (`scenarios/*.json` but `reference-*`), run under Raft
//! (`--protocol raft`) once with the correct replica, passes every check the scenario enables
//! and does what its description says: faults fire, leaders are established, transactions
//! commit over AppendEntries. The sweeps over many seeds are release-mode runs (`docs/raft.md`);
//! this is their debug-mode smoke test.

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

fn run(path: &Path, seed: u64) -> Run {
    let scenario = Scenario::load(path, PROTOCOLS).unwrap_or_else(|e| panic!("{e}"));
    let mut options = RunOptions::new(seed, &path.display().to_string());
    options.protocol = Some("raft".to_string());
    runner::run(&scenario, options)
}

fn sent(run: &Run, kind: &str) -> u64 {
    run.results.messages.get(kind).map_or(0, |c| c.sent)
}

#[test]
fn every_replicated_scenario_passes_under_raft() {
    for path in scenarios() {
        let run = run(&path, 0);
        assert_eq!(run.results.protocol, "raft");
        assert_eq!(run.results.variant, "correct");
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
        assert!(sent(&run, "REQUEST_VOTE") > 0 && sent(&run, "APPEND_ENTRIES") > 0);
        assert_eq!(sent(&run, "PROPOSAL"), 0, "no ZAB message under Raft");
        if run.scenario.faults.window_ms.is_some() {
            assert!(
                !run.fault_log.is_empty(),
                "{}: faults fired",
                path.display()
            );
        }
    }
}

/// The leader-crash scenario loses its leader three times and Raft recovers each time, in about
/// an election timeout.
#[test]
fn raft_recovers_from_every_leader_crash() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/leader-crash-3.json");
    let run = run(&path, 1);
    let m = &run.results.protocol_metrics;
    assert!(m["leader_loss_count"].value() >= 3.0, "{m:?}");
    assert_eq!(m["unrecovered_leader_loss_count"].value(), 0.0, "{m:?}");
    assert!(m["candidacy_count"].value() >= 3.0, "{m:?}");
}
