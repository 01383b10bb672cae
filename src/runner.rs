//! The runner: turns a scenario and a seed into one run of the world, then checks it. It builds the
//! world (replicas of the scenario's protocol, then one process per client), runs it to the end of
//! the workload plus the drain, collects the history and the counters, and judges the run: the
//! history checks, the protocol's invariants, and liveness after the fault window. It reads no
//! file and prints nothing; the CLI does.

use crate::report::{self, Metrics};
use crate::scenario::{ProtocolInfo, Scenario};
use protocols::checks::zookeeper::{self, Level};
use protocols::client::Client;
use protocols::cluster::{Metric, Node, Obs, Protocol};
use protocols::reference::ReferenceServer;
use protocols::zab::Zab;
use protocols::znode;
use reports::{OpSample, OutcomeCounts};
use serde::Serialize;
use sim::check::formats;
use sim::check::{self, Budget};
use sim::history::{Header, Line, LineType};
use sim::net::{MessageCount, ms_to_ns};
use sim::trace::TraceSink;
use sim::world::{FaultRecord, MessageRecord};
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

impl Verdict {
    /// The verdict's word in results.json and the run summary: `pass`, `unknown` or `fail`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Unknown => "unknown",
            Verdict::Fail => "fail",
        }
    }
}

/// One check's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub verdict: Verdict,
    /// For a check that did not pass, when its finding places the failure, in virtual ms: the
    /// first operation of a counterexample, the first problem an invariant met, the start of the
    /// liveness window, the moment the event limit stopped the run. Absent when the check passed
    /// or its finding has no time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<f64>,
    /// The end of the span the finding covers (the liveness window), when it is a span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<f64>,
    /// What was found, in words; for a failure, what broke and the operations involved.
    pub detail: String,
}

impl CheckResult {
    /// A check's outcome with no time attached.
    fn new(name: impl Into<String>, verdict: Verdict, detail: String) -> CheckResult {
        CheckResult {
            name: name.into(),
            verdict,
            at_ms: None,
            until_ms: None,
            detail,
        }
    }

    /// The same outcome, failing over `span` (virtual nanoseconds; an instant if both ends are
    /// equal). A check that passed keeps no time.
    fn during(self, span: Option<(u64, u64)>) -> CheckResult {
        // To the microsecond, as virtual times read in traces and in checks' details.
        let ms = |ns: u64| (ns / 1_000) as f64 / 1e3;
        match span.filter(|_| self.verdict != Verdict::Pass) {
            Some((from, to)) => CheckResult {
                at_ms: Some(ms(from)),
                until_ms: (to > from).then(|| ms(to)),
                ..self
            },
            None => self,
        }
    }
}

/// How a run ended, in the words of results.json.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunEnd {
    /// It ran to its planned end (the workload's end plus the drain): the normal case.
    PlannedEnd,
    /// Nothing was left to happen before the planned end: every process was idle, with no
    /// message, timer or fault to come.
    NothingLeft,
    /// It stopped at the scenario's event limit (`limits.max_events`) before its planned end; the
    /// `run-limits` check is then unknown.
    EventLimit,
}

impl RunEnd {
    /// What happened, in words for the run summary.
    pub fn describe(self) -> &'static str {
        match self {
            RunEnd::PlannedEnd => "ran to its planned end",
            RunEnd::NothingLeft => "stopped early: nothing was left to happen",
            RunEnd::EventLimit => "stopped early at the event limit",
        }
    }
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
    /// The clients' operations by outcome (`ok` and `error_reply` together are the history's
    /// `ok` lines).
    pub ops: OutcomeCounts,
    /// Operations by type and outcome.
    pub ops_by_type: BTreeMap<String, OutcomeCounts>,
    pub events: u64,
    pub virtual_time_ms: f64,
    /// Whole milliseconds; filled in by the caller, which owns the wall clock.
    pub wall_time_ms: u64,
    pub run_end: RunEnd,
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
    /// The protocol's own measurements: counts (`election_count`) and times in milliseconds
    /// (`leader_recovery_ms_max`).
    pub protocol_metrics: BTreeMap<String, Metric>,
    /// The worst verdict of the checks: `pass` if every check passed, `fail` if one failed,
    /// `unknown` if none failed but one could not decide.
    pub verdict: Verdict,
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
    let run_end = match world.run_until(end, scenario.limits.max_events) {
        sim::world::RunEnd::TimeLimit => RunEnd::PlannedEnd,
        sim::world::RunEnd::Quiescent => RunEnd::NothingLeft,
        sim::world::RunEnd::EventLimit => RunEnd::EventLimit,
    };

    let mut history = Vec::new();
    for o in world.observations() {
        if let Obs::History(record) = &o.observation {
            history.push(record.to_line(o.time));
        }
    }
    let samples = report::samples(&history, world.now().as_ms_f64());
    let (ops, ops_by_type) = reports::outcome_counts(&samples);
    let mut checks = Vec::new();
    if run_end == RunEnd::EventLimit {
        let now = world.now().as_nanos();
        let detail = format!(
            "the run reached its event limit ({}) before its end time",
            scenario.limits.max_events
        );
        checks.push(
            CheckResult::new("run-limits", Verdict::Unknown, detail).during(Some((now, now))),
        );
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
            let verdict = if f.passed {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            let at = f.at.map(|t| (t.as_nanos(), t.as_nanos()));
            checks.push(CheckResult::new(f.name.clone(), verdict, f.detail.clone()).during(at));
        }
    }
    let verdict = checks
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Pass);
    let stats = world.stats();
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
        wall_time_ms: 0,
        run_end,
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
        verdict,
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

/// The time of the history line on `line` of the run's history file (the header is line 1, so
/// `history[i]` is on line `i + 2`), where checkers' findings point.
fn time_of_line(history: &[Line], line: usize) -> Option<u64> {
    history.get(line.checked_sub(2)?).map(|l| l.time)
}

/// The moment of the earliest of `lines`, as a span of one instant.
fn first_of_lines(history: &[Line], lines: impl IntoIterator<Item = usize>) -> Option<(u64, u64)> {
    let first = lines
        .into_iter()
        .filter_map(|l| time_of_line(history, l))
        .min()?;
    Some((first, first))
}

/// Every operation, reads included, linearizable with respect to the znode model. A violation
/// fails at the first operation of its counterexample.
fn linearizability(history: &[Line], scenario: &Scenario) -> CheckResult {
    let name = "linearizable";
    let raw = match formats::read_lines(&Header::new("znode"), history) {
        Ok(raw) => raw,
        Err(e) => {
            let detail = format!("the history is malformed: {e}");
            return CheckResult::new(name, Verdict::Fail, detail);
        }
    };
    match znode::history::check_history(&raw, None, &budget(scenario)) {
        Err(e) => CheckResult::new(
            name,
            Verdict::Fail,
            format!("the history is malformed: {e}"),
        ),
        Ok(result) => match result.verdict {
            check::Verdict::Linearizable => CheckResult::new(
                name,
                Verdict::Pass,
                format!(
                    "{} operations in {} independent parts",
                    result.operations, result.parts
                ),
            ),
            check::Verdict::Violation(counterexample) => {
                let first = first_of_lines(history, counterexample.core.iter().map(|op| op.line));
                CheckResult::new(name, Verdict::Fail, counterexample.to_string()).during(first)
            }
            check::Verdict::Unknown(reason) => {
                CheckResult::new(name, Verdict::Unknown, reason.to_string())
            }
        },
    }
}

/// ZooKeeper's documented guarantees (check `zookeeper`, `checks.zookeeper`) and the stricter
/// sync-then-read (check `zookeeper+sync`, `checks.sync_read`), from one check of the history at
/// the strictest level asked for (`protocols::checks::zookeeper`). A check that fails does so at
/// the first operation or notification its violations involve.
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
                .map(|l| {
                    let detail = format!("the history is malformed: {e}");
                    CheckResult::new(l.name(), Verdict::Fail, detail)
                })
                .collect();
        }
    };
    levels
        .iter()
        .map(|level| {
            let only = level.guarantees();
            let verdict = match report.verdict_of(only) {
                zookeeper::Verdict::Valid => Verdict::Pass,
                zookeeper::Verdict::Violation => Verdict::Fail,
                zookeeper::Verdict::Unknown => Verdict::Unknown,
            };
            let involved = report
                .violations
                .iter()
                .filter(|v| only.contains(&v.guarantee))
                .flat_map(|v| &v.involved)
                .map(|i| i.line);
            let first = first_of_lines(history, involved);
            CheckResult::new(level.name(), verdict, report.describe(only)).during(first)
        })
        .collect()
}

/// After the fault window closes and everything heals, every client must complete an operation
/// within the liveness bound (the VOPR's liveness mode: a healed cluster must make progress). A
/// failure spans that window.
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
        let detail = format!(
            "every client completed an operation within {bound_ms} ms of the heal at {heal_ms} ms"
        );
        CheckResult::new("liveness", Verdict::Pass, detail)
    } else {
        let detail = format!(
            "{} completed no operation between the heal at {heal_ms} ms and {} ms",
            stuck.join(", "),
            heal_ms + bound_ms
        );
        // It fails over the whole window in which the stuck clients should have progressed.
        CheckResult::new("liveness", Verdict::Fail, detail).during(Some((from, to)))
    }
}
