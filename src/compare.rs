//! Comparing configurations — protocols, variants of one protocol — on the same workload and faults:
//! every configuration runs the same seeds, and the runs are summed up into the figures a
//! researcher compares (latency quantiles of writes and reads, throughput, messages per write, the
//! protocol's own metrics such as time to a new leader, and which checks each configuration fails).
//! Seeds make the comparison fair: seed `s` draws the same workload and faults for every
//! configuration, as far as the protocols let the runs coincide.

use crate::runner::{self, PROTOCOLS, Run, RunOptions, Verdict};
use crate::scenario::Scenario;
use crate::sweep::{SeedResult, Span, Sweep, SweepConfig};
use protocols::cluster::Metric;
use reports::{OpSample, Outcome};
use serde::Serialize;
use std::collections::BTreeMap;

/// Operations that change the tree; the rest are reads (and `sync`).
const WRITES: [&str; 6] = [
    "create",
    "delete",
    "set_data",
    "multi",
    "open_session",
    "close_session",
];

/// Latency quantiles of one class of operations over all the runs of a configuration, in ms.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Latency {
    fn of(mut ms: Vec<f64>) -> Latency {
        ms.sort_by(f64::total_cmp);
        Latency {
            count: ms.len(),
            p50: reports::quantile(&ms, 0.5),
            p90: reports::quantile(&ms, 0.9),
            p99: reports::quantile(&ms, 0.99),
            max: ms.last().copied(),
        }
    }
}

/// A protocol metric over the runs of a configuration: its mean, and its largest value (a count
/// stays an integer).
#[derive(Clone, Debug, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub max: Metric,
    /// Runs that reported it.
    pub runs: usize,
}

/// What one configuration did over its seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// `scenario`, or `scenario [protocol variant]` with what the command line asked for.
    pub name: String,
    pub scenario: String,
    pub protocol: String,
    pub variant: String,
    pub seeds: usize,
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
    /// How many runs each check failed (or could not decide) in.
    pub failed_checks: BTreeMap<String, usize>,
    /// The first seeds that failed, with their replay commands.
    pub failing_seeds: Vec<String>,
    /// Answered (ok, error reply or fail) operations per second of workload, mean over runs.
    pub throughput_ops_per_s: f64,
    /// Latency of operations answered `ok`, over all runs.
    pub write_latency_ms: Latency,
    pub read_latency_ms: Latency,
    /// Operations given up (connection loss, timeout) per run.
    pub info_per_run: f64,
    /// Replica-to-replica messages and bytes per write completed `ok`, over all runs.
    pub peer_messages_per_write: Option<f64>,
    pub peer_bytes_per_write: Option<f64>,
    /// The protocol's own metrics, e.g. `leader_recovery_ms_max`.
    pub protocol_metrics: BTreeMap<String, Spread>,
}

/// Accumulates runs of one configuration.
pub struct Tally {
    scenario: Scenario,
    /// The protocol asked for on the command line, if any (it appears in replay commands).
    protocol: Option<String>,
    /// The variant asked for on the command line, if any (it appears in replay commands).
    variant: Option<String>,
    name: String,
    path: String,
    runs: Vec<RunDigest>,
}

/// What a summary needs of one run (a run itself is too big to keep for thousands of seeds).
pub struct RunDigest {
    /// The seed's verdict, trace hash, failing checks and replay command.
    result: SeedResult,
    throughput: f64,
    writes_ms: Vec<f64>,
    reads_ms: Vec<f64>,
    info: usize,
    writes_ok: u64,
    peer_messages: u64,
    peer_bytes: u64,
    protocol: BTreeMap<String, Metric>,
}

fn digest(run: &Run) -> RunDigest {
    let ok = |s: &&OpSample| s.outcome == Outcome::Ok;
    let latencies = |writes: bool| -> Vec<f64> {
        run.samples
            .iter()
            .filter(ok)
            .filter(|s| WRITES.contains(&s.op.as_str()) == writes)
            .map(|s| s.latency_ms)
            .collect()
    };
    let m = &run.results.metrics;
    RunDigest {
        result: SeedResult::of_run(run),
        throughput: m.throughput_ops_per_s,
        writes_ms: latencies(true),
        reads_ms: latencies(false),
        info: run
            .samples
            .iter()
            .filter(|s| s.outcome == Outcome::Info)
            .count(),
        writes_ok: m.writes_ok,
        peer_messages: m
            .peer_messages_per_write
            .map_or(0, |x| (x * m.writes_ok as f64).round() as u64),
        peer_bytes: m
            .peer_bytes_per_write
            .map_or(0, |x| (x * m.writes_ok as f64).round() as u64),
        protocol: run.results.protocol_metrics.clone(),
    }
}

impl Tally {
    /// A configuration: `scenario` (from the file `path`, already switched to `protocol` and
    /// `variant` if the command line asked for them; they are named in replay commands).
    pub fn new(
        scenario: Scenario,
        protocol: Option<String>,
        variant: Option<String>,
        path: String,
    ) -> Tally {
        let asked: Vec<&str> = [&protocol, &variant]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let name = if asked.is_empty() {
            scenario.name.clone()
        } else {
            format!("{} [{}]", scenario.name, asked.join(" "))
        };
        Tally {
            scenario,
            protocol,
            variant,
            name,
            path,
            runs: Vec::new(),
        }
    }

    /// Runs seed `seed` of this configuration and keeps what the summary needs (safe to call from
    /// several threads at once).
    pub fn run(&self, seed: u64) -> RunDigest {
        let options = RunOptions {
            protocol: self.protocol.clone(),
            variant: self.variant.clone(),
            ..RunOptions::new(seed, &self.path)
        };
        match runner::run_isolated(&self.scenario, options) {
            Ok(run) => digest(&run),
            Err(panicked) => RunDigest {
                result: SeedResult::of_panic(&panicked),
                throughput: 0.0,
                writes_ms: Vec::new(),
                reads_ms: Vec::new(),
                info: 0,
                writes_ok: 0,
                peer_messages: 0,
                peer_bytes: 0,
                protocol: BTreeMap::new(),
            },
        }
    }

    pub fn add(&mut self, run: RunDigest) {
        self.runs.push(run);
    }

    /// This configuration's runs as a sweep of `seeds`, for `--json` and `--junit`.
    pub fn sweep(&self, seeds: Span) -> Sweep {
        let resolved = self.scenario.resolved(0, PROTOCOLS);
        let config = SweepConfig {
            scenario: self.scenario.name.clone(),
            scenario_path: self.path.clone(),
            protocol: self.scenario.cluster.protocol.clone(),
            variant: resolved.cluster.variant.unwrap_or_default(),
            protocol_override: self.protocol.clone(),
            variant_override: self.variant.clone(),
            seeds,
            shard: None,
        };
        Sweep::new(config, self.runs.iter().map(|r| r.result.clone()).collect())
    }

    pub fn summary(&self) -> Summary {
        let mut runs: Vec<&RunDigest> = self.runs.iter().collect();
        runs.sort_by_key(|r| r.result.seed);
        let n = runs.len().max(1) as f64;
        let count = |v: Verdict| runs.iter().filter(|r| r.result.verdict == v).count();
        let mut failed_checks = BTreeMap::new();
        for name in runs.iter().flat_map(|r| &r.result.failed_checks) {
            *failed_checks.entry(name.clone()).or_insert(0) += 1;
        }
        let variant = self
            .scenario
            .resolved(0, PROTOCOLS)
            .cluster
            .variant
            .unwrap_or_default();
        let writes_ok: u64 = runs.iter().map(|r| r.writes_ok).sum();
        let per_write = |total: u64| (writes_ok > 0).then(|| total as f64 / writes_ok as f64);
        let mut protocol_metrics: BTreeMap<String, Spread> = BTreeMap::new();
        for r in &runs {
            for (k, &v) in &r.protocol {
                let s = protocol_metrics.entry(k.clone()).or_insert(Spread {
                    mean: 0.0,
                    max: v,
                    runs: 0,
                });
                s.mean += v.value();
                if v.value() > s.max.value() {
                    s.max = v;
                }
                s.runs += 1;
            }
        }
        for s in protocol_metrics.values_mut() {
            s.mean /= s.runs.max(1) as f64;
        }
        Summary {
            name: self.name.clone(),
            scenario: self.scenario.name.clone(),
            protocol: self.scenario.cluster.protocol.clone(),
            variant,
            seeds: runs.len(),
            pass: count(Verdict::Pass),
            fail: count(Verdict::Fail),
            unknown: count(Verdict::Unknown),
            failed_checks,
            failing_seeds: runs
                .iter()
                .filter(|r| r.result.verdict != Verdict::Pass)
                .take(5)
                .map(|r| r.result.replay.clone())
                .collect(),
            throughput_ops_per_s: runs.iter().map(|r| r.throughput).sum::<f64>() / n,
            write_latency_ms: Latency::of(
                runs.iter()
                    .flat_map(|r| r.writes_ms.iter().copied())
                    .collect(),
            ),
            read_latency_ms: Latency::of(
                runs.iter()
                    .flat_map(|r| r.reads_ms.iter().copied())
                    .collect(),
            ),
            info_per_run: runs.iter().map(|r| r.info).sum::<usize>() as f64 / n,
            peer_messages_per_write: per_write(runs.iter().map(|r| r.peer_messages).sum()),
            peer_bytes_per_write: per_write(runs.iter().map(|r| r.peer_bytes).sum()),
            protocol_metrics,
        }
    }
}
