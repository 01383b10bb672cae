//! What the scenario and variant tests share: the shipped scenarios, a scenario loaded under a
//! chosen protocol and variant, one run of it, and the smoke test every replicated protocol passes
//! on every shipped scenario. Each test crate uses its own part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use zksim::runner::{self, PROTOCOLS, Run, RunOptions};
use zksim::scenario::Scenario;

/// `scenarios/NAME.json`.
pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.json"))
}

/// Every shipped replicated scenario (`scenarios/*.json` but `reference-*`), in name order.
pub fn replicated_scenarios() -> Vec<PathBuf> {
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
    assert!(files.len() >= 20, "the shipped scenarios are found");
    files
}

/// The scenario file at `path`, under `protocol` and `variant` instead of the ones it names, as
/// `zksim run --protocol P --variant V` loads it.
pub fn load(path: &Path, protocol: Option<&str>, variant: Option<&str>) -> Scenario {
    let mut s = Scenario::load(path, PROTOCOLS).unwrap_or_else(|e| panic!("{e}"));
    if let Some(p) = protocol {
        s = s
            .with_protocol(p, PROTOCOLS)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    if let Some(v) = variant {
        s = s
            .with_variant(v, PROTOCOLS)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    s
}

/// `scenarios/NAME.json` under `protocol` with `variant`.
pub fn named(name: &str, protocol: &str, variant: &str) -> Scenario {
    load(&scenario_path(name), Some(protocol), Some(variant))
}

/// One run of `scenario` on `seed`.
pub fn run(scenario: &Scenario, seed: u64) -> Run {
    runner::run(scenario, RunOptions::new(seed, &scenario.name))
}

/// Messages of `kind` sent in the run.
pub fn sent(run: &Run, kind: &str) -> u64 {
    run.results.messages.get(kind).map_or(0, |c| c.sent)
}

/// The smoke test of a replicated protocol: every shipped replicated scenario, run once under
/// `protocol` with its correct replica, passes every check it enables and does what its
/// description says: a leader is established, the workload commits, its faults fire, and
/// messages of each of `kinds` (the protocol's own) are sent.
pub fn every_replicated_scenario_passes(protocol: &str, kinds: &[&str]) {
    for path in replicated_scenarios() {
        let scenario = load(&path, Some(protocol), None);
        let run = run(&scenario, 0);
        assert_eq!(run.results.protocol, protocol);
        let failed: Vec<String> = run
            .results
            .checks
            .iter()
            .filter(|c| c.verdict != zksim::runner::Verdict::Pass)
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
        for kind in kinds {
            assert!(sent(&run, kind) > 0, "{}: no {kind} sent", path.display());
        }
        if scenario.faults.window_ms.is_some() {
            assert!(
                !run.fault_log.is_empty(),
                "{}: faults fired",
                path.display()
            );
        }
    }
}
