//! Benchmark of the linearizability check of znode histories: the target workload (a
//! 100,000-operation history from 50 concurrent sessions running zksim's client mix, made from a
//! sequential execution so that it is linearizable, and the same history with one corrupted
//! answer), a 10,000-operation one in which one operation in 200 is `info`, plus any history
//! files named in `ZKSIM_HISTORIES` (space-separated; e.g. the `history.jsonl` of `zksim run
//! scenarios/reference-nemesis.json`). `ZNODE_BENCH_INFO_ONE_IN=N` gives the 100,000-operation
//! history `info` operations too (one in N).
//!
//! Run with `cargo bench -p protocols --bench znode_check` (a criterion filter that matches
//! nothing, e.g. `-- summary-only`, prints the summary alone). The summary gives the best of
//! several checks per history, with the search's effort and the process's peak RSS; the generated
//! histories are also written to `target/znode-bench/` so that `/usr/bin/time -f %M zksim check`
//! can measure a check's peak memory on its own. Times exclude reading the file (parsing the JSON
//! lines) and include decoding for the model, partitioning, the search and, where said, the
//! counterexample, as `zksim check` runs them. It asserts nothing: figures go to
//! docs/PERFORMANCE.md by hand.

#[path = "../tests/support/workload_history.rs"]
#[allow(dead_code)]
mod workload_history;

use criterion::Criterion;
use protocols::znode::history::check_history;
use sim::check::formats::{self, RawHistory};
use sim::check::{Budget, CheckResult};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use workload_history::{Spec, corrupt_one_read, generate};

struct Workload {
    name: String,
    raw: RawHistory,
}

impl Workload {
    fn from_text(name: &str, text: &str) -> Workload {
        Workload {
            name: name.into(),
            raw: formats::read(text, None).expect("a well-formed history"),
        }
    }
}

fn check(w: &Workload, budget: &Budget) -> CheckResult {
    check_history(&w.raw, None, budget).expect("a checkable history")
}

/// Best wall time of `runs` checks, and the last result.
fn best_of(w: &Workload, budget: &Budget, runs: usize) -> (Duration, CheckResult) {
    let mut best = Duration::MAX;
    let mut result = None;
    for _ in 0..runs {
        // The benchmark runs outside any simulated world; it measures wall time by design.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let r = check(w, budget);
        best = best.min(start.elapsed());
        result = Some(r);
    }
    (best, result.expect("at least one run"))
}

/// The process's peak resident set, from /proc (Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// A generated history and, if `violation`, the same with one answer corrupted, written to
/// `target/znode-bench/` as (name, text).
fn generated(spec: Spec, violation: bool) -> Vec<(String, String)> {
    let mut base = format!("znode-{}k-{}", spec.operations / 1000, spec.sessions);
    if spec.info_one_in > 0 {
        base.push_str(&format!("-info{}", spec.info_one_in));
    }
    let text = generate(spec);
    let mut histories = Vec::new();
    if violation {
        let (bad, line) = corrupt_one_read(&text);
        println!("{base}-violation: the get_data answer on line {line} is corrupted");
        histories.push((format!("{base}-violation.jsonl"), bad));
    }
    histories.insert(0, (format!("{base}.jsonl"), text));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/znode-bench");
    if std::fs::create_dir_all(&dir).is_ok() {
        for (name, text) in &histories {
            let path = dir.join(name);
            if std::fs::write(&path, text).is_ok() {
                println!("wrote {}", path.display());
            }
        }
    }
    histories
}

fn summary(workloads: &[Workload]) {
    let with_cx = Budget::default();
    let verdict_only = Budget {
        shrink_steps: 0,
        ..Budget::default()
    };
    for w in workloads {
        for (label, budget) in [
            ("verdict only", &verdict_only),
            ("with counterexample", &with_cx),
        ] {
            let (t, r) = best_of(w, budget, 3);
            println!(
                "{} ({label}): {} in {:.1} ms (best of 3), {} ops, {} parts, {} steps, {} states, \
                 memo {:.1} MiB total, {:.1} MiB largest part",
                w.name,
                r.verdict.name(),
                t.as_secs_f64() * 1e3,
                r.operations,
                r.parts,
                r.stats.steps,
                r.stats.states,
                mib(r.stats.memo_bytes_total),
                mib(r.stats.memo_bytes_max_part),
            );
            if !matches!(r.verdict, sim::check::Verdict::Violation(_)) {
                // Without a violation there is no counterexample to build.
                break;
            }
        }
    }
    if let Some(peak) = peak_rss_mib() {
        println!("peak RSS of this benchmark process so far: {peak:.1} MiB");
    }
}

fn main() {
    let info_one_in = std::env::var("ZNODE_BENCH_INFO_ONE_IN")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let target = Spec {
        operations: 100_000,
        sessions: 50,
        seed: 1,
        info_one_in,
    };
    let with_info = Spec {
        operations: 10_000,
        info_one_in: 200,
        ..target
    };
    let mut workloads: Vec<Workload> = generated(target, true)
        .into_iter()
        .chain(generated(with_info, false))
        .map(|(name, text)| Workload::from_text(&name, &text))
        .collect();
    for path in std::env::var("ZKSIM_HISTORIES")
        .unwrap_or_default()
        .split_whitespace()
    {
        let text = std::fs::read_to_string(Path::new(path)).expect("a readable history");
        workloads.push(Workload::from_text(path, &text));
    }
    summary(&workloads);

    // Criterion measures a tenth of the target, so that its samples take seconds, not minutes.
    let small = Spec {
        operations: 10_000,
        info_one_in: 0,
        ..target
    };
    let text = generate(small);
    let (bad, _) = corrupt_one_read(&text);
    let small = [
        Workload::from_text("10k ops, 50 sessions", &text),
        Workload::from_text("10k ops, 50 sessions, one corrupted answer", &bad),
    ];
    let verdict_only = Budget {
        shrink_steps: 0,
        ..Budget::default()
    };
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    for w in &small {
        c.bench_function(&format!("znode: {}, verdict only", w.name), |b| {
            b.iter(|| check(w, &verdict_only))
        });
    }
    c.bench_function(
        &format!("znode: {}, with counterexample", small[1].name),
        |b| b.iter(|| check(&small[1], &Budget::default())),
    );
    c.final_summary();
}
