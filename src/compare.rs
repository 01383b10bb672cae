//! Comparing configurations — protocols, variants of one protocol — on the same workload and faults:
//! every configuration runs the same seeds, and the runs are summed up into the figures a
//! researcher compares (latency quantiles of writes and reads, throughput, messages per write, the
//! protocol's own metrics such as time to a new leader, and which checks each configuration fails).
//! Seeds make the comparison fair: seed `s` draws the same workload and faults for every
//! configuration, as far as the protocols let the runs coincide.

use crate::report::{LossFigures, WriteCostFigures};
use crate::runner::{self, PROTOCOLS, Run, RunOptions, Verdict};
use crate::scenario::Scenario;
use crate::sweep::{SeedResult, Span, Sweep, SweepConfig};
use protocols::cluster::Metric;
use reports::{OpSample, Outcome};
use serde::Serialize;
use sim::nemesis::NodeRef;
use std::collections::BTreeMap;
use std::collections::BTreeSet;

/// Operations that change the tree; the rest are reads (and `sync`).
const WRITES: [&str; 6] = [
    "create",
    "delete",
    "set_data",
    "multi",
    "open_session",
    "close_session",
];

/// One figure over the seeds of a configuration: each seed's value, then their median and the
/// 2.5th and 97.5th percentiles (nearest rank, so with fewer than 40 seeds the 95% interval is the
/// range of the seeds), and their mean. Seeds that have no value (no write answered, no leader
/// lost) are left out and `seeds` says how many had one.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub p2_5: f64,
    pub p97_5: f64,
    pub mean: f64,
    pub seeds: usize,
}

impl Spread {
    /// The spread of `values`, one per seed; `None` if there are none.
    pub fn of(mut values: Vec<f64>) -> Option<Spread> {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        let q = |p| reports::quantile(&values, p);
        Some(Spread {
            median: median(&values)?,
            p2_5: q(0.025)?,
            p97_5: q(0.975)?,
            mean: values.iter().sum::<f64>() / values.len() as f64,
            seeds: values.len(),
        })
    }
}

/// The median of ascending `sorted` (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Per-seed latency quantiles of one class of operations (answered `ok`), each spread over the
/// seeds, in ms.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencySpread {
    /// Operations measured, over all seeds.
    pub count: usize,
    pub p50: Option<Spread>,
    pub p90: Option<Spread>,
    pub p99: Option<Spread>,
    pub max: Option<Spread>,
}

/// The probabilities a pooled latency CDF is given at past every percent: the tail.
const CDF_TAIL: &[f64] = &[0.995, 0.999, 0.9999, 1.0];

/// The latency CDF of one class of operations pooled over every seed, as `[probability, ms]`
/// points (every percent, then 99.9%, 99.99% and the maximum).
fn cdf(sorted: &[f64]) -> Vec<[f64; 2]> {
    if sorted.is_empty() {
        return Vec::new();
    }
    (0..100)
        .map(|i| f64::from(i) / 100.0)
        .chain(CDF_TAIL.iter().copied())
        .filter_map(|p| Some([p, reports::quantile(sorted, p.max(1e-9))?]))
        .collect()
}

/// The write path's cost against the protocol's theory (`Protocol::write_cost`), each per-seed
/// figure spread over the seeds.
#[derive(Clone, Debug, Serialize)]
pub struct WriteCostSpread {
    /// The theory: `formula` messages of `kinds` per committed transaction, `theory_messages`
    /// for this cluster.
    pub formula: String,
    pub theory_messages: u64,
    pub kinds: Vec<String>,
    /// Messages of `kinds` per committed log position (transaction or no-op): against the
    /// theory.
    pub messages_per_entry: Option<Spread>,
    /// Messages and bytes of `kinds` per committed transaction.
    pub messages_per_txn: Option<Spread>,
    pub bytes_per_txn: Option<Spread>,
    /// Every replica-to-replica message and byte per committed transaction.
    pub all_messages_per_txn: Option<Spread>,
    pub all_bytes_per_txn: Option<Spread>,
    /// Median over the seeds of each replica message kind per committed transaction.
    pub by_kind_median: BTreeMap<String, f64>,
}

/// How long the service was without a leader, and without an answered write, after each lost
/// leadership (`report::LossFigures`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Unavailability {
    /// Leaderships lost, over all seeds, and of those by a leader's crash.
    pub losses: usize,
    pub crashes: usize,
    /// Losses after which no leader was established before the run ended.
    pub unrecovered: usize,
    /// Each seed's longest window (loss to the next leader, loss to the first answered write
    /// under it), spread over the seeds that lost a leader.
    pub to_leader_ms: Option<Spread>,
    pub to_write_ms: Option<Spread>,
    /// Every window after a leader's crash, over all seeds (a crash is timed from the crash, so
    /// these include noticing it; other losses are timed from when the protocol noticed).
    pub per_crash_to_leader_ms: Option<Pooled>,
    pub per_crash_to_write_ms: Option<Pooled>,
    /// Every window of every seed, for strip plots.
    pub windows: Vec<Window>,
}

/// Values pooled over every seed (not one per seed): median, 2.5th and 97.5th percentiles
/// (nearest rank) and how many.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pooled {
    pub median: f64,
    pub p2_5: f64,
    pub p97_5: f64,
    pub count: usize,
}

impl Pooled {
    fn of(values: Vec<f64>) -> Option<Pooled> {
        let s = Spread::of(values)?;
        Some(Pooled {
            median: s.median,
            p2_5: s.p2_5,
            p97_5: s.p97_5,
            count: s.seeds,
        })
    }
}

/// One lost leadership of one seed.
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    pub seed: u64,
    pub crashed: bool,
    pub to_leader_ms: Option<f64>,
    pub to_write_ms: Option<f64>,
}

/// What one configuration did over its seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// `scenario`, or `scenario [protocol variant]` with what the command line asked for.
    pub name: String,
    pub scenario: String,
    pub protocol: String,
    pub variant: String,
    pub replicas: u32,
    pub seeds: usize,
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
    /// How many seeds each check failed (or could not decide) in.
    pub failed_checks: BTreeMap<String, usize>,
    /// The first seed, in the order run, that did not pass, and how many seeds it took to find
    /// it (1 if the first seed failed).
    pub first_failing_seed: Option<u64>,
    pub seeds_to_first_failure: Option<u64>,
    /// The first seeds that did not pass, with their replay commands.
    pub failing_seeds: Vec<String>,
    /// Answered (ok, error reply or fail) operations per second of workload.
    pub throughput_ops_per_s: Option<Spread>,
    /// Latency of operations answered `ok`.
    pub write_latency_ms: LatencySpread,
    pub read_latency_ms: LatencySpread,
    /// The latency CDFs pooled over every seed, `[probability, ms]`.
    pub write_latency_cdf_ms: Vec<[f64; 2]>,
    pub read_latency_cdf_ms: Vec<[f64; 2]>,
    /// Operations given up (connection loss, timeout: `info`) per run.
    pub given_up_per_run: Option<Spread>,
    /// Replica-to-replica messages and bytes per write completed `ok`.
    pub peer_messages_per_write: Option<Spread>,
    pub peer_bytes_per_write: Option<Spread>,
    /// Messages per committed transaction against the protocol's theory.
    pub write_cost: Option<WriteCostSpread>,
    /// Leaders established per run.
    pub elections: Option<Spread>,
    pub unavailability: Unavailability,
    /// The protocol's own metrics, e.g. `leader_recovery_ms_max`, spread over the seeds.
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
    /// `None` for a run that panicked.
    figures: Option<RunFigures>,
}

struct RunFigures {
    throughput: f64,
    writes_ms: Vec<f64>,
    reads_ms: Vec<f64>,
    info: usize,
    peer_messages_per_write: Option<f64>,
    peer_bytes_per_write: Option<f64>,
    write_cost: Option<WriteCostFigures>,
    losses: Vec<LossFigures>,
    protocol: BTreeMap<String, Metric>,
}

fn digest(run: &Run) -> RunDigest {
    let ok = |s: &&OpSample| s.outcome == Outcome::Ok;
    let latencies = |writes: bool| -> Vec<f64> {
        let mut ms: Vec<f64> = run
            .samples
            .iter()
            .filter(ok)
            .filter(|s| WRITES.contains(&s.op.as_str()) == writes)
            .map(|s| s.latency_ms)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let m = &run.results.metrics;
    RunDigest {
        result: SeedResult::of_run(run),
        figures: Some(RunFigures {
            throughput: m.throughput_ops_per_s,
            writes_ms: latencies(true),
            reads_ms: latencies(false),
            info: run
                .samples
                .iter()
                .filter(|s| s.outcome == Outcome::Info)
                .count(),
            peer_messages_per_write: m.peer_messages_per_write,
            peer_bytes_per_write: m.peer_bytes_per_write,
            write_cost: m.write_cost.clone(),
            losses: m.leader_losses.clone(),
            protocol: run.results.protocol_metrics.clone(),
        }),
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
                figures: None,
            },
        }
    }

    /// The scenario as this configuration runs it.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
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
        let count = |v: Verdict| runs.iter().filter(|r| r.result.verdict == v).count();
        let mut failed_checks = BTreeMap::new();
        for name in runs.iter().flat_map(|r| &r.result.failed_checks) {
            *failed_checks.entry(name.clone()).or_insert(0) += 1;
        }
        let resolved = self.scenario.resolved(0, PROTOCOLS);
        let first_failure = runs.iter().position(|r| r.result.verdict != Verdict::Pass);
        let figures: Vec<(u64, &RunFigures)> = runs
            .iter()
            .filter_map(|r| Some((r.result.seed, r.figures.as_ref()?)))
            .collect();
        let spread = |f: &dyn Fn(&RunFigures) -> Option<f64>| {
            Spread::of(figures.iter().filter_map(|(_, r)| f(r)).collect())
        };
        let latency = |of: &dyn Fn(&RunFigures) -> &Vec<f64>| {
            let quantile = |p: f64| spread(&|r| reports::quantile(of(r), p));
            LatencySpread {
                count: figures.iter().map(|(_, r)| of(r).len()).sum(),
                p50: quantile(0.5),
                p90: quantile(0.9),
                p99: quantile(0.99),
                max: spread(&|r| of(r).last().copied()),
            }
        };
        let pooled = |of: &dyn Fn(&RunFigures) -> &Vec<f64>| {
            let mut all: Vec<f64> = figures
                .iter()
                .flat_map(|(_, r)| of(r).iter().copied())
                .collect();
            all.sort_by(f64::total_cmp);
            cdf(&all)
        };
        let write_cost = figures
            .iter()
            .find_map(|(_, r)| r.write_cost.as_ref())
            .map(|theory| {
                let cost = |f: &dyn Fn(&WriteCostFigures) -> Option<f64>| {
                    spread(&|r| r.write_cost.as_ref().and_then(f))
                };
                let kinds: std::collections::BTreeSet<&str> = figures
                    .iter()
                    .filter_map(|(_, r)| r.write_cost.as_ref())
                    .flat_map(|c| c.by_kind.keys().copied())
                    .collect();
                let by_kind_median = kinds
                    .into_iter()
                    .filter_map(|k| {
                        // A seed that sent none of a kind counts as zero.
                        let s = cost(&|c| {
                            (c.committed_txns > 0).then(|| c.by_kind.get(k).copied().unwrap_or(0.0))
                        })?;
                        Some((k.to_string(), s.median))
                    })
                    .collect();
                WriteCostSpread {
                    formula: theory.formula.to_string(),
                    theory_messages: theory.theory_messages,
                    kinds: theory.kinds.iter().map(|k| k.to_string()).collect(),
                    messages_per_entry: cost(&|c| c.messages_per_entry),
                    messages_per_txn: cost(&|c| c.messages_per_txn),
                    bytes_per_txn: cost(&|c| c.bytes_per_txn),
                    all_messages_per_txn: cost(&|c| c.all_messages_per_txn),
                    all_bytes_per_txn: cost(&|c| c.all_bytes_per_txn),
                    by_kind_median,
                }
            });
        let losses = figures.iter().flat_map(|(seed, r)| {
            r.losses.iter().map(move |l| Window {
                seed: *seed,
                crashed: l.crashed,
                to_leader_ms: l.to_leader_ms,
                to_write_ms: l.to_write_ms,
            })
        });
        let longest = |f: &dyn Fn(&LossFigures) -> Option<f64>| {
            spread(&|r| r.losses.iter().filter_map(f).reduce(f64::max))
        };
        let unavailability = Unavailability {
            losses: losses.clone().count(),
            crashes: losses.clone().filter(|l| l.crashed).count(),
            unrecovered: losses.clone().filter(|l| l.to_leader_ms.is_none()).count(),
            to_leader_ms: longest(&|l| l.to_leader_ms),
            to_write_ms: longest(&|l| l.to_write_ms),
            per_crash_to_leader_ms: Pooled::of(
                losses
                    .clone()
                    .filter(|l| l.crashed)
                    .filter_map(|l| l.to_leader_ms)
                    .collect(),
            ),
            per_crash_to_write_ms: Pooled::of(
                losses
                    .clone()
                    .filter(|l| l.crashed)
                    .filter_map(|l| l.to_write_ms)
                    .collect(),
            ),
            windows: losses.collect(),
        };
        let mut metric_names: Vec<&String> = figures
            .iter()
            .flat_map(|(_, r)| r.protocol.keys())
            .collect();
        metric_names.sort();
        metric_names.dedup();
        let protocol_metrics = metric_names
            .into_iter()
            .filter_map(|k| {
                Some((
                    k.clone(),
                    spread(&|r| r.protocol.get(k).map(|v| v.value()))?,
                ))
            })
            .collect();
        let metric = |name: &str| spread(&|r| r.protocol.get(name).map(|v| v.value()));
        Summary {
            name: self.name.clone(),
            scenario: self.scenario.name.clone(),
            protocol: self.scenario.cluster.protocol.clone(),
            variant: resolved.cluster.variant.unwrap_or_default(),
            replicas: self.scenario.cluster.replicas,
            seeds: runs.len(),
            pass: count(Verdict::Pass),
            fail: count(Verdict::Fail),
            unknown: count(Verdict::Unknown),
            failed_checks,
            first_failing_seed: first_failure.map(|i| runs[i].result.seed),
            seeds_to_first_failure: first_failure.map(|i| i as u64 + 1),
            failing_seeds: runs
                .iter()
                .filter(|r| r.result.verdict != Verdict::Pass)
                .take(5)
                .map(|r| r.result.replay.clone())
                .collect(),
            throughput_ops_per_s: spread(&|r| Some(r.throughput)),
            write_latency_ms: latency(&|r| &r.writes_ms),
            read_latency_ms: latency(&|r| &r.reads_ms),
            write_latency_cdf_ms: pooled(&|r| &r.writes_ms),
            read_latency_cdf_ms: pooled(&|r| &r.reads_ms),
            given_up_per_run: spread(&|r| Some(r.info as f64)),
            peer_messages_per_write: spread(&|r| r.peer_messages_per_write),
            peer_bytes_per_write: spread(&|r| r.peer_bytes_per_write),
            write_cost,
            elections: metric("election_count"),
            unavailability,
            protocol_metrics,
        }
    }
}

/// What `compare.json` holds: the seeds, how the spreads are taken, where the configurations'
/// runs cannot coincide, and each configuration's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub seeds: Span,
    /// How every `Spread` is taken, in words.
    pub spread: &'static str,
    /// Where runs of different configurations on one seed cannot be the same run.
    pub coincidence: Vec<String>,
    pub configurations: Vec<Summary>,
}

/// How `Spread` is taken, as the report says it.
pub const SPREAD: &str = "each figure is computed per seed; median, then the 2.5th and 97.5th percentiles (nearest rank: with fewer than 40 seeds, the range) and the mean over the seeds that have it";

/// Where the runs of these configurations on one seed part, in words: what the seed shares
/// between them and what it cannot. `configurations` are the scenarios as each configuration runs
/// them.
pub fn coincidence(configurations: &[&Scenario]) -> Vec<String> {
    let mut notes = Vec::new();
    let protocols: BTreeSet<&str> = configurations
        .iter()
        .map(|s| s.cluster.protocol.as_str())
        .collect();
    notes.push(
        "Seed s gives every configuration the same named random streams (each client's, the network's, each disk's, the nemesis's) and so the same workload to start with; a draw is the same only while the runs are: once a protocol sends other messages or answers at another time, later draws fall on other messages and operations, so per-seed figures are paired by seed but are not one run under different protocols."
            .to_string(),
    );
    if protocols.len() > 1 {
        notes.push(format!(
            "Under different protocols ({}) the first leader is elected at a different time and is often a different replica (each protocol's election: its timers and tie-breaks), so the same scripted time finds the clusters in different states.",
            protocols.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let mut seen = BTreeSet::new();
    for s in configurations {
        if !seen.insert(s.name.as_str()) {
            continue;
        }
        for f in &s.faults.scripted {
            let refs: Vec<&NodeRef> = f
                .node
                .iter()
                .chain(f.from.iter())
                .chain(f.to.iter())
                .chain(f.groups.iter().flatten().flatten())
                .collect();
            let what = format!("{}: `{}` at {} ms", s.name, f.fault.name(), f.at_ms);
            if refs.iter().any(|r| **r == NodeRef::Leader) {
                notes.push(format!(
                    "{what} names the leader: each configuration's own leader at that moment, so a different replica (with a different log) from one configuration to another."
                ));
            } else if refs
                .iter()
                .any(|r| matches!(r, NodeRef::Random | NodeRef::Follower | NodeRef::Name(_)))
            {
                notes.push(format!(
                    "{what} names a random replica (or follower, or a node an earlier fault bound by its role): drawn from the nemesis stream among the replicas up (and not leading) at that moment, which differ between configurations."
                ));
            } else if !refs.is_empty() {
                notes.push(format!(
                    "{what} hits the same replicas in every configuration, but the role each holds (leader or follower) is each protocol's."
                ));
            }
        }
        if s.faults.random.is_some() {
            notes.push(format!(
                "{}: random faults are drawn from the nemesis stream at the same times and of the same kinds for every configuration while its draws coincide; a fault aimed at the leader or a random up replica hits each configuration's own, and a draw the budget (max_down) refuses in one run may be taken in another.",
                s.name
            ));
        }
    }
    notes
}
