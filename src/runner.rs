//! The runner: turns a scenario and a seed into one run of the world, then checks it. It builds the
//! world (replicas of the scenario's protocol, then one process per client), runs it to the end of
//! the workload plus the drain, collects the history and the counters, and judges the run: the
//! history checks, the protocol's invariants, and liveness after the fault window. It reads no
//! file and prints nothing; the CLI does.

use crate::report::{self, Metrics};
use crate::scenario::{ProtocolInfo, Scenario};
use protocols::checks::zookeeper::{self, Level};
use protocols::client::Client;
use protocols::cluster::{Node, Obs, Protocol};
use protocols::reference::ReferenceServer;
use protocols::zab::Zab;
use protocols::znode;
use reports::OpSample;
use serde::Serialize;
use sim::check::formats;
use sim::check::{self, Budget};
use sim::history::{Header, Line, LineType};
use sim::net::{MessageCount, ms_to_ns};
use sim::trace::TraceSink;
use sim::world::{FaultRecord, MessageRecord, RunEnd};
use sim::{NodeId, NodeKind, SimTime, World, WorldConfig};
use std::collections::BTreeMap;
use std::time::Duration;

/// Every protocol a scenario may name.
pub const PROTOCOLS: &[ProtocolInfo] = &[info::<ReferenceServer>(), info::<Zab>()];

const fn info<P: Protocol>() -> ProtocolInfo {
    ProtocolInfo {
        name: P::NAME,
        variants: P::VARIANTS,
        check_settings: check_settings::<P>,
    }
}

/// Reads a protocol's settings, naming the offending field on error.
fn check_settings<P: Protocol>(value: &serde_json::Value) -> Result<(), (String, String)> {
    settings::<P>(value).map(|_| ())
}

fn settings<P: Protocol>(value: &serde_json::Value) -> Result<P::Settings, (String, String)> {
    if value.is_null() {
        return Ok(P::Settings::default());
    }
    serde_path_to_error::deserialize(value)
        .map_err(|e| (e.path().to_string(), e.into_inner().to_string()))
}

/// The verdict of one check, or of a whole run (the worst of its checks). Ordered from best to
/// worst: a check that failed outweighs one left undecided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Unknown,
    Fail,
}

/// One check's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub verdict: Verdict,
    /// What was found, in words; for a failure, what broke and the operations involved.
    pub detail: String,
}

/// Operations by how they ended.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OpCounts {
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    /// Still in flight when the run ended (as indeterminate as `info`).
    pub open: u64,
}

/// What `results.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub zksim_version: &'static str,
    pub rand_chacha: &'static str,
    pub seed: u64,
    pub scenario: String,
    pub protocol: String,
    pub variant: String,
    pub replicas: u32,
    pub clients: u32,
    pub ops: OpCounts,
    /// Operations by type and outcome.
    pub ops_by_type: BTreeMap<String, OpCounts>,
    pub events: u64,
    pub virtual_time_ms: f64,
    /// Filled in by the caller, which owns the wall clock.
    pub wall_time_ms: f64,
    pub run_end: &'static str,
    /// Faults that fired, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    pub faults_skipped: u64,
    /// Unsynced writes that crashes discarded, kept and tore.
    pub crash_writes: BTreeMap<&'static str, u64>,
    pub messages: BTreeMap<&'static str, MessageCount>,
    pub trace_hash: String,
    pub checks: Vec<CheckResult>,
    /// Latency, throughput and message figures.
    pub metrics: Metrics,
    /// The protocol's own measurements (e.g. time from leader loss to a new leader).
    pub protocol_metrics: BTreeMap<String, f64>,
    /// `true` if every check passed, `false` if one failed, `"unknown"` if none failed but one
    /// could not decide.
    pub valid: serde_json::Value,
    /// The command that replays this run.
    pub replay: String,
}

/// How a run is to be carried out.
pub struct RunOptions {
    pub seed: u64,
    /// Receives every trace line, if given.
    pub trace: Option<TraceSink>,
    /// Keep the running trace hash after every line (for the determinism self-check).
    pub prefix_hashes: bool,
    /// How the scenario file is named in the replay command.
    pub scenario_path: String,
    /// Log this many messages from this time on, for a message diagram.
    pub message_log: Option<(SimTime, usize)>,
    /// Run this variant of the protocol instead of the scenario's (named in the replay command).
    pub variant: Option<String>,
}

impl Run {
    /// The names of the checks that did not pass.
    pub fn failed_checks(&self) -> Vec<String> {
        self.results
            .checks
            .iter()
            .filter(|c| c.verdict != Verdict::Pass)
            .map(|c| c.name.clone())
            .collect()
    }
}

impl RunOptions {
    /// Options for a plain run of `seed`.
    pub fn new(seed: u64, scenario_path: &str) -> RunOptions {
        RunOptions {
            seed,
            trace: None,
            prefix_hashes: false,
            scenario_path: scenario_path.to_string(),
            message_log: None,
            variant: None,
        }
    }
}

/// A finished, checked run.
pub struct Run {
    pub results: Results,
    pub history: Vec<Line>,
    pub fault_log: Vec<FaultRecord>,
    pub prefix_hashes: Option<Vec<u64>>,
    pub verdict: Verdict,
    /// Moments the protocol asked to mark on plots.
    pub marks: Vec<(SimTime, String)>,
    /// The clients' operations, for plots.
    pub samples: Vec<OpSample>,
    /// The logged messages, if asked for, and the names of the nodes they travel between.
    pub messages: Vec<MessageRecord>,
    pub node_names: Vec<String>,
}

/// Runs `scenario` once with `options.seed` and checks it.
pub fn run(scenario: &Scenario, options: RunOptions) -> Run {
    if let Some(v) = &options.variant {
        let mut scenario = scenario.clone();
        scenario.cluster.variant = Some(v.clone());
        return run_scenario(&scenario, options);
    }
    run_scenario(scenario, options)
}

fn run_scenario(scenario: &Scenario, options: RunOptions) -> Run {
    match scenario.cluster.protocol.as_str() {
        ReferenceServer::NAME => run_protocol::<ReferenceServer>(scenario, options),
        Zab::NAME => run_protocol::<Zab>(scenario, options),
        other => unreachable!("scenario validation admits only known protocols, not {other}"),
    }
}

fn run_protocol<P: Protocol + 'static>(scenario: &Scenario, options: RunOptions) -> Run {
    let settings = settings::<P>(&scenario.cluster.settings).expect("validated with the scenario");
    let variant = scenario
        .cluster
        .variant
        .clone()
        .unwrap_or_else(|| P::VARIANTS[0].to_string());
    let replicas = scenario.cluster.replicas as usize;
    let clients = scenario.workload.clients as usize;
    let mut nodes = vec![NodeKind::Replica; replicas];
    nodes.extend(std::iter::repeat_n(NodeKind::Client, clients));
    let config = WorldConfig {
        seed: options.seed,
        nodes,
        network: scenario.network.clone(),
        fifo: P::FIFO,
        disk: scenario.disk.clone(),
        nemesis: scenario.faults.clone(),
    };
    let servers: Vec<NodeId> = (0..replicas as u32).map(NodeId).collect();
    let workload = scenario.workload.clone();
    let factory_variant = variant.clone();
    let mut world: World<Node<P>> = World::new(config, move |id| {
        if id.index() < replicas {
            Node::Replica(P::new(id, replicas, &settings, &factory_variant))
        } else {
            let process = (id.index() - replicas) as u64;
            Node::Client(Box::new(Client::new(
                process,
                servers.clone(),
                workload.clone(),
            )))
        }
    });
    if let Some(sink) = options.trace {
        world.set_trace_sink(sink);
    }
    if options.prefix_hashes {
        world.keep_prefix_hashes();
    }
    if let Some((from, limit)) = options.message_log {
        world.log_messages(from, limit);
    }
    let end = SimTime(ms_to_ns(scenario.end_ms()));
    let run_end = world.run_until(end, scenario.limits.max_events);

    let mut history = Vec::new();
    for o in world.observations() {
        if let Obs::History(record) = &o.observation {
            history.push(record.to_line(o.time));
        }
    }
    let (ops, ops_by_type) = count_ops(&history);
    let mut checks = Vec::new();
    if run_end == RunEnd::EventLimit {
        checks.push(CheckResult {
            name: "run-limits".into(),
            verdict: Verdict::Unknown,
            detail: format!(
                "the run reached its event limit ({}) before its end time",
                scenario.limits.max_events
            ),
        });
    }
    if let Some(heal_ms) = scenario.heal_ms() {
        checks.push(liveness(&history, scenario, heal_ms));
    }
    let linearizable = scenario
        .checks
        .linearizable
        .unwrap_or(P::LINEARIZABLE_READS);
    if linearizable {
        checks.push(linearizability(&history, scenario));
    }
    checks.extend(zookeeper_contract(&history, scenario));
    let report = P::report(&world);
    if scenario.checks.invariants {
        for f in &report.findings {
            checks.push(CheckResult {
                name: f.name.clone(),
                verdict: if f.passed {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                },
                detail: f.detail.clone(),
            });
        }
    }
    let verdict = checks
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Pass);
    let stats = world.stats();
    let samples = report::samples(&history, world.now().as_ms_f64());
    let results = Results {
        zksim_version: env!("CARGO_PKG_VERSION"),
        rand_chacha: sim::rng::RAND_CHACHA_VERSION,
        seed: options.seed,
        scenario: scenario.name.clone(),
        protocol: P::NAME.to_string(),
        variant,
        replicas: scenario.cluster.replicas,
        clients: scenario.workload.clients,
        ops,
        ops_by_type,
        events: stats.events,
        virtual_time_ms: world.now().as_ms_f64(),
        wall_time_ms: 0.0,
        run_end: match run_end {
            RunEnd::Quiescent => "quiescent",
            RunEnd::TimeLimit => "time-limit",
            RunEnd::EventLimit => "event-limit",
        },
        faults: stats.faults.clone(),
        faults_skipped: stats.faults_skipped,
        crash_writes: [
            ("lost", stats.writes_lost),
            ("kept", stats.writes_kept),
            ("torn", stats.writes_torn),
        ]
        .into_iter()
        .collect(),
        messages: world.network().counts(),
        trace_hash: format!("{:016x}", world.trace_hash()),
        checks,
        metrics: Metrics::default(),
        protocol_metrics: report.metrics.clone(),
        valid: match verdict {
            Verdict::Pass => true.into(),
            Verdict::Fail => false.into(),
            Verdict::Unknown => "unknown".into(),
        },
        replay: format!(
            "zksim run {} --seed {}{}",
            options.scenario_path,
            options.seed,
            options
                .variant
                .as_ref()
                .map(|v| format!(" --variant {v}"))
                .unwrap_or_default()
        ),
    };
    let mut run = Run {
        results,
        history,
        fault_log: stats.fault_log.clone(),
        prefix_hashes: world.prefix_hashes().map(<[u64]>::to_vec),
        verdict,
        marks: report.marks,
        samples,
        messages: world.message_log().to_vec(),
        node_names: (0..replicas)
            .map(|i| format!("replica {i}"))
            .chain((0..clients).map(|c| format!("client {c}")))
            .collect(),
    };
    run.results.metrics = report::metrics(
        &run,
        &run.samples,
        scenario.workload.duration_ms - scenario.workload.start_ms,
    );
    run
}

fn budget(scenario: &Scenario) -> Budget {
    Budget {
        timeout: Some(Duration::from_secs_f64(scenario.checks.timeout_s)),
        ..Budget::default()
    }
}

/// Every operation, reads included, linearizable with respect to the znode model.
fn linearizability(history: &[Line], scenario: &Scenario) -> CheckResult {
    let name = "linearizable".to_string();
    let raw = match formats::read_lines(&Header::new("znode"), history) {
        Ok(raw) => raw,
        Err(e) => {
            return CheckResult {
                name,
                verdict: Verdict::Fail,
                detail: format!("the history is malformed: {e}"),
            };
        }
    };
    match znode::history::check_history(&raw, None, &budget(scenario)) {
        Err(e) => CheckResult {
            name,
            verdict: Verdict::Fail,
            detail: format!("the history is malformed: {e}"),
        },
        Ok(result) => match result.verdict {
            check::Verdict::Linearizable => CheckResult {
                name,
                verdict: Verdict::Pass,
                detail: format!(
                    "{} operations in {} independent parts",
                    result.operations, result.parts
                ),
            },
            check::Verdict::Violation(counterexample) => CheckResult {
                name,
                verdict: Verdict::Fail,
                detail: counterexample.to_string(),
            },
            check::Verdict::Unknown(reason) => CheckResult {
                name,
                verdict: Verdict::Unknown,
                detail: reason.to_string(),
            },
        },
    }
}

/// ZooKeeper's documented guarantees (check `zookeeper`, `checks.zookeeper`) and the stricter
/// sync-then-read (check `zookeeper+sync`, `checks.sync_read`), from one check of the history at
/// the strictest level asked for (`protocols::checks::zookeeper`).
fn zookeeper_contract(history: &[Line], scenario: &Scenario) -> Vec<CheckResult> {
    let asked = [
        (scenario.checks.zookeeper, Level::Zookeeper),
        (scenario.checks.sync_read, Level::ZookeeperSync),
    ];
    let levels: Vec<Level> = asked
        .iter()
        .filter(|(on, _)| *on)
        .map(|&(_, l)| l)
        .collect();
    let Some(&strictest) = levels.last() else {
        return Vec::new();
    };
    let report = match zookeeper::check_lines(history, strictest, &budget(scenario)) {
        Ok(report) => report,
        Err(e) => {
            return levels
                .iter()
                .map(|l| CheckResult {
                    name: l.name().into(),
                    verdict: Verdict::Fail,
                    detail: format!("the history is malformed: {e}"),
                })
                .collect();
        }
    };
    levels
        .iter()
        .map(|level| {
            let only = level.guarantees();
            CheckResult {
                name: level.name().into(),
                verdict: match report.verdict_of(only) {
                    zookeeper::Verdict::Valid => Verdict::Pass,
                    zookeeper::Verdict::Violation => Verdict::Fail,
                    zookeeper::Verdict::Unknown => Verdict::Unknown,
                },
                detail: report.describe(only),
            }
        })
        .collect()
}

/// Counts operations by outcome: every invocation is matched with the process's next completion.
fn count_ops(history: &[Line]) -> (OpCounts, BTreeMap<String, OpCounts>) {
    let mut total = OpCounts::default();
    let mut by_type: BTreeMap<String, OpCounts> = BTreeMap::new();
    let mut open: BTreeMap<u64, String> = BTreeMap::new();
    for line in history {
        match line.kind {
            LineType::Invoke => {
                open.insert(line.process, line.f.clone());
            }
            LineType::Ok | LineType::Fail | LineType::Info => {
                let Some(f) = open.remove(&line.process) else {
                    continue;
                };
                let t = by_type.entry(f).or_default();
                let (a, b) = match line.kind {
                    LineType::Ok => (&mut total.ok, &mut t.ok),
                    LineType::Fail => (&mut total.fail, &mut t.fail),
                    _ => (&mut total.info, &mut t.info),
                };
                *a += 1;
                *b += 1;
            }
            LineType::Event => {}
        }
    }
    for f in open.into_values() {
        total.open += 1;
        by_type.entry(f).or_default().open += 1;
    }
    (total, by_type)
}

/// After the fault window closes and everything heals, every client must complete an operation
/// within the liveness bound (the VOPR's liveness mode: a healed cluster must make progress).
fn liveness(history: &[Line], scenario: &Scenario, heal_ms: f64) -> CheckResult {
    let bound_ms = scenario.checks.liveness_ms;
    let (from, to) = (ms_to_ns(heal_ms), ms_to_ns(heal_ms + bound_ms));
    let mut progressed = vec![false; scenario.workload.clients as usize];
    for line in history {
        if line.kind == LineType::Ok && (from..=to).contains(&line.time) {
            progressed[line.process as usize] = true;
        }
    }
    let stuck: Vec<String> = progressed
        .iter()
        .enumerate()
        .filter(|(_, p)| !**p)
        .map(|(c, _)| format!("client {c}"))
        .collect();
    if stuck.is_empty() {
        CheckResult {
            name: "liveness".into(),
            verdict: Verdict::Pass,
            detail: format!(
                "every client completed an operation within {bound_ms} ms of the heal at {heal_ms} ms"
            ),
        }
    } else {
        CheckResult {
            name: "liveness".into(),
            verdict: Verdict::Fail,
            detail: format!(
                "{} completed no operation between the heal at {heal_ms} ms and {} ms",
                stuck.join(", "),
                heal_ms + bound_ms
            ),
        }
    }
}
