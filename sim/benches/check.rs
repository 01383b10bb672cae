//! Benchmark of the linearizability checker on the public histories in `../shared/histories`:
//! the 102 Porcupine etcd logs (total and slowest file) and the kv logs c50-ok and c50-bad, the
//! figures Porcupine publishes. Run with `cargo bench -p sim --bench check` (a criterion filter
//! that matches nothing, e.g. `-- summary-only`, prints the summary alone). It first prints a
//! summary table (best of several runs per file, memo estimate, peak RSS), then lets criterion
//! measure the same workloads, verdict only (what Porcupine's figures measure) and with the
//! counterexample shrinking `zksim check` does. Files are parsed before timing; the timed part is decoding for the
//! model plus the check, as `zksim check` runs it. It asserts nothing: figures go to
//! docs/PERFORMANCE.md by hand.

use criterion::Criterion;
use sim::check::formats::{self, RawHistory};
use sim::check::models::{self, ModelKind};
use sim::check::{Budget, CheckResult};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Workload {
    name: String,
    raw: RawHistory,
    kind: ModelKind,
}

fn load(path: &Path) -> Workload {
    let text = std::fs::read_to_string(path).expect("readable history");
    let raw = formats::read(&text, None).expect("well-formed history");
    let kind = ModelKind::of_history(&raw).expect("known model");
    Workload {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        raw,
        kind,
    }
}

fn check(w: &Workload, budget: &Budget) -> CheckResult {
    models::check_history(&w.raw, w.kind, None, budget).expect("checkable")
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
    (best, result.unwrap())
}

/// The process's peak resident set, from /proc (Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(etcd: &[Workload], kv: &[Workload]) {
    let with_cx = Budget::default();
    let verdict_only = Budget {
        shrink_steps: 0,
        ..Budget::default()
    };
    for (label, budget) in [
        ("verdict + counterexample", &with_cx),
        ("verdict only (no shrinking)", &verdict_only),
    ] {
        let mut total = Duration::ZERO;
        let mut slowest = (Duration::ZERO, "");
        let mut max_memo = 0usize;
        for w in etcd {
            let (t, r) = best_of(w, budget, 5);
            total += t;
            if t > slowest.0 {
                slowest = (t, &w.name);
            }
            max_memo = max_memo.max(r.stats.memo_bytes_max_part);
        }
        println!(
            "etcd ({} logs, {label}): total {:.1} ms (sum of per-file best of 5), slowest {} {:.1} ms, largest memo {:.1} MiB",
            etcd.len(),
            ms(total),
            slowest.1,
            ms(slowest.0),
            max_memo as f64 / (1 << 20) as f64
        );
    }
    for (w, (label, budget)) in kv.iter().flat_map(|w| {
        [
            ("verdict only", &verdict_only),
            ("with counterexample", &with_cx),
        ]
        .map(|b| (w, b))
    }) {
        let (t, r) = best_of(w, budget, 5);
        println!(
            "{} ({label}): {} in {:.1} ms (best of 5), {} ops, {} parts, {} steps, memo {:.1} MiB total",
            w.name,
            r.verdict.name(),
            ms(t),
            r.operations,
            r.parts,
            r.stats.steps,
            r.stats.memo_bytes_total as f64 / (1 << 20) as f64
        );
    }
    if let Some(mib) = peak_rss_mib() {
        println!("peak RSS of this benchmark process so far: {mib:.1} MiB");
    }
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/histories");
    if !dir.join("manifest.json").is_file() {
        println!("SKIPPED: ../shared/histories is absent; nothing to benchmark");
        return;
    }
    let mut etcd_paths: Vec<PathBuf> = std::fs::read_dir(dir.join("porcupine/jepsen"))
        .expect("etcd logs")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    etcd_paths.sort();
    let etcd: Vec<Workload> = etcd_paths.iter().map(|p| load(p)).collect();
    let kv: Vec<Workload> = ["c50-ok.txt", "c50-bad.txt"]
        .iter()
        .map(|f| load(&dir.join("porcupine/kv").join(f)))
        .collect();

    summary(&etcd, &kv);

    let with_cx = Budget::default();
    let verdict_only = Budget {
        shrink_steps: 0,
        ..Budget::default()
    };
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let slowest = etcd
        .iter()
        .find(|w| w.name == "etcd_002.log")
        .expect("etcd_002");
    for (label, budget) in [
        ("verdict only", &verdict_only),
        ("with counterexamples", &with_cx),
    ] {
        c.bench_function(&format!("etcd: all 102 logs, {label}"), |b| {
            b.iter(|| {
                etcd.iter()
                    .map(|w| check(w, budget).operations)
                    .sum::<usize>()
            })
        });
        c.bench_function(&format!("etcd: etcd_002.log, {label}"), |b| {
            b.iter(|| check(slowest, budget))
        });
        for w in &kv {
            c.bench_function(&format!("kv: {}, {label}", w.name), |b| {
                b.iter(|| check(w, budget))
            });
        }
    }
    c.final_summary();
}
