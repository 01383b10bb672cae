//! Same binary + scenario + seed = the same trace: in one process, across two invocations of the
//! binary, over 100 seeds; and different seeds give different traces.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use zksim::runner::{self, PROTOCOLS, RunOptions};
use zksim::scenario::Scenario;

/// A small scenario with every source of randomness in play: jitter, loss, a random nemesis with
/// mid-handler crashes and lost unsynced writes, on ZAB (3 replicas, in-order channels) .
const NOISY: &str = r#"{
  "name": "determinism",
  "cluster": { "replicas": 3, "protocol": "zab" },
  "network": { "latency": { "dist": "lognormal", "median_ms": 1, "sigma": 0.7, "cap_ms": 50 }, "loss": "2%" },
  "disk": { "unsynced_on_crash": "tear-last" },
  "workload": { "clients": 3, "duration_ms": 3000, "think_ms": [1, 10], "watch": "1/4" },
  "faults": {
    "window_ms": [0, 1500],
    "random": { "every_ms": [100, 400], "duration_ms": [50, 500],
                "kinds": { "crash": 1, "pause": 1, "partition": 1, "clog": 1 }, "mid_handler": "1/2" }
  },
  "checks": { "liveness_ms": 1000 },
  "limits": { "drain_ms": 500 }
}"#;

fn scenario() -> Scenario {
    Scenario::parse(NOISY, Path::new("determinism.json"), PROTOCOLS).unwrap()
}

fn hash(s: &Scenario, seed: u64) -> String {
    let opts = RunOptions::new(seed, "determinism.json");
    runner::run(s, opts).results.trace_hash
}

#[test]
fn one_process_same_seed_same_trace_over_100_seeds() {
    let s = scenario();
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..100 {
        let h = hash(&s, seed);
        assert_eq!(h, hash(&s, seed), "seed {seed}");
        distinct.insert(h);
    }
    assert_eq!(distinct.len(), 100, "different seeds give different traces");
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zksim-determinism-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary over seeds 0..100 and reads back each seed's trace hash.
fn sweep(scenario: &Path, out: &Path) -> BTreeMap<u64, String> {
    let status = Command::new(env!("CARGO_BIN_EXE_zksim"))
        .arg("run")
        .arg(scenario)
        .args([
            "--seeds",
            "0..100",
            "--keep-all",
            "--no-plots",
            "--jobs",
            "2",
            "--out",
        ])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        status.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    (0..100u64)
        .map(|seed| {
            let text =
                std::fs::read_to_string(out.join(format!("seed-{seed}/results.json"))).unwrap();
            let results: serde_json::Value = serde_json::from_str(&text).unwrap();
            (seed, results["trace_hash"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn two_invocations_of_the_binary_agree_over_100_seeds() {
    let dir = temp_dir("binary");
    let file = dir.join("determinism.json");
    std::fs::write(&file, NOISY).unwrap();
    let a = sweep(&file, &dir.join("a"));
    let b = sweep(&file, &dir.join("b"));
    assert_eq!(a, b);
    let s = scenario();
    assert_eq!(
        a[&7],
        hash(&s, 7),
        "the binary and the library run the same world"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_self_check_reports_identical_traces() {
    let dir = temp_dir("self-check");
    let file = dir.join("determinism.json");
    std::fs::write(&file, NOISY).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zksim"))
        .arg("run")
        .arg(&file)
        .args(["--seed", "3", "--check-determinism", "--out"])
        .arg(dir.join("store"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ran twice with identical traces"),
        "{stdout}"
    );
    let last = stdout.lines().last().unwrap();
    assert_eq!(
        last,
        format!("trace {}", hash(&scenario(), 3)),
        "the summary's last line holds the trace hash"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Listening to the trace (writing trace.txt) must not change the run: same hash, and the line
/// numbers the determinism self-check reports are the lines of the trace file.
#[test]
fn writing_a_trace_changes_nothing() {
    let s = scenario();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(0u64));
    let count = lines.clone();
    let mut o = RunOptions::new(5, "determinism.json");
    o.trace = Some(Box::new(move |_| *count.lock().unwrap() += 1));
    o.prefix_hashes = true;
    let traced = runner::run(&s, o);
    assert_eq!(traced.results.trace_hash, hash(&s, 5));
    let hashes = traced.prefix_hashes.unwrap();
    assert_eq!(
        hashes.len() as u64,
        *lines.lock().unwrap(),
        "one prefix hash per trace line"
    );
}

/// The engine alone, with long-tailed latencies computed by libm: pinned, so that a platform or
/// library whose arithmetic differs is caught (update deliberately if the engine changes).
#[test]
fn the_engine_trace_hash_is_pinned() {
    let latency = sim::net::Latency::Lognormal {
        median_ms: 1.0,
        sigma: 0.9,
        cap_ms: Some(40.0),
    };
    let mut world = zksim::bench::ring_world(42, 5, 3, latency);
    world.run_until(sim::SimTime::MAX, 50_000);
    assert_eq!(format!("{:016x}", world.trace_hash()), "59268791e3d458a1");
}
