//! The runner: turns a scenario and a seed into one run of the world, then checks it. It builds the
//! world (replicas of the scenario's protocol, then one process per client), runs it to the end of
//! the workload plus the drain, collects the history and the counters, and judges the run: the
//! history checks, the protocol's invariants, and liveness after the fault window. It reads no
//! file and prints nothing; the CLI does.

use crate::page::{PageRecorder, PageRecording, PageWindow};
use crate::report::{self, Metrics};
use crate::scenario::{ProtocolInfo, Scenario};
use protocols::checks::zookeeper::{self, Level};
use protocols::cluster::{ClusterConfig, Metric, Node, Obs, Protocol, Record, Variants};
use protocols::paxos::Paxos;
use protocols::raft::Raft;
use protocols::recipes::RecipeLine;
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
use sim::{SimTime, World};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

/// Every protocol a scenario may name: the one table a new protocol is added to (its name,
/// variants, settings type and constructor come with its `Protocol` implementation).
pub const PROTOCOLS: &[ProtocolInfo] = &[
    info::<ReferenceServer>(),
    info::<Zab>(),
    info::<Raft>(),
    info::<Paxos>(),
];

const fn info<P: Protocol + 'static>() -> ProtocolInfo {
    ProtocolInfo {
        name: P::NAME,
        variants: P::Variant::NAMES,
        resolve_settings: resolve_settings::<P>,
        linearizable_reads: P::LINEARIZABLE_READS,
        max_replicas: P::MAX_REPLICAS,
        message_kinds: P::MESSAGE_KINDS,
        run: run_protocol::<P>,
    }
}

/// A protocol's settings for a cluster of `replicas` with every default filled in, naming the
/// offending field on error.
fn resolve_settings<P: Protocol>(
    value: &serde_json::Value,
    replicas: usize,
) -> Result<serde_json::Value, (String, String)> {
    let settings = settings::<P>(value)?;
    P::check_settings(&settings, replicas)?;
    Ok(serde_json::to_value(settings).expect("settings serialize"))
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
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
    /// It stopped once clients had invoked `limits.max_ops` operations; `run-limits` is unknown.
    OpLimit,
    /// It stopped when its events outran `limits.max_event_rate` in a second of virtual time: a
    /// livelock, which fails `liveness`.
    Livelock,
}

impl RunEnd {
    /// What happened, in words for the run summary.
    pub fn describe(self) -> &'static str {
        match self {
            RunEnd::PlannedEnd => "ran to its planned end",
            RunEnd::NothingLeft => "stopped early: nothing was left to happen",
            RunEnd::EventLimit => "stopped early at the event limit",
            RunEnd::OpLimit => "stopped early at the operation limit",
            RunEnd::Livelock => "stopped early: a livelock (events outran limits.max_event_rate)",
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
    /// Run this protocol instead of the scenario's (named in the replay command).
    pub protocol: Option<String>,
    /// Run this variant of the protocol instead of the scenario's (named in the replay command).
    pub variant: Option<String>,
    /// Record this window of the run for its run page (`crate::page`).
    pub page: Option<PageWindow>,
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
            protocol: None,
            variant: None,
            page: None,
        }
    }
}

/// A run's history: the records its clients and servers typed, in order, each with its time. The
/// lines of `history.jsonl` are made from them (`Record::to_line`) only when something asks for
/// them, once: a sweep that writes no store folder never turns its runs' histories into JSON.
pub struct RunHistory {
    records: Vec<(SimTime, Record)>,
    lines: OnceLock<Vec<Line>>,
}

impl RunHistory {
    pub fn new(records: Vec<(SimTime, Record)>) -> RunHistory {
        RunHistory {
            records,
            lines: OnceLock::new(),
        }
    }

    pub fn records(&self) -> &[(SimTime, Record)] {
        &self.records
    }

    /// The history as the lines of its file (`lines()[i]` is line `i + 2`, after the header).
    pub fn lines(&self) -> &[Line] {
        self.lines
            .get_or_init(|| self.records.iter().map(|(t, r)| r.to_line(*t)).collect())
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The time of the history line on `line` of the history file (the header is line 1), where
    /// checkers' findings point.
    fn time_of_line(&self, line: usize) -> Option<u64> {
        let (time, _) = self.records.get(line.checked_sub(2)?)?;
        Some(time.as_nanos())
    }

    /// The moment of the earliest of `lines`, as a span of one instant.
    fn first_of_lines(&self, lines: impl IntoIterator<Item = usize>) -> Option<(u64, u64)> {
        let first = lines
            .into_iter()
            .filter_map(|l| self.time_of_line(l))
            .min()?;
        Some((first, first))
    }
}

/// A finished, checked run.
pub struct Run {
    /// The scenario as run: every default filled in (`Scenario::resolved`).
    pub scenario: Scenario,
    pub results: Results,
    pub history: RunHistory,
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
    /// What the run page shows, if one was asked for.
    pub page: Option<PageRecording>,
    /// The recipe clients' application log (`recipe.jsonl`), with the guarded resource's verdict
    /// on every write; empty unless the workload runs a recipe.
    pub recipe_log: Vec<RecipeLine>,
}

/// Runs `scenario` once with `options.seed` and checks it.
pub fn run(scenario: &Scenario, options: RunOptions) -> Run {
    let mut scenario = scenario.clone();
    if let Some(p) = &options.protocol {
        scenario.switch_protocol(p);
    }
    if let Some(v) = &options.variant {
        scenario.cluster.variant = Some(v.clone());
    }
    run_scenario(&scenario.resolved(options.seed, PROTOCOLS), options)
}

fn run_scenario(scenario: &Scenario, options: RunOptions) -> Run {
    let protocol = PROTOCOLS
        .iter()
        .find(|p| p.name == scenario.cluster.protocol)
        .expect("scenario validation admits only known protocols");
    (protocol.run)(scenario, options)
}

fn run_protocol<P: Protocol + 'static>(scenario: &Scenario, options: RunOptions) -> Run {
    let settings = settings::<P>(&scenario.cluster.settings).expect("validated with the scenario");
    let variant = scenario
        .cluster
        .variant
        .clone()
        .unwrap_or_else(|| P::Variant::NAMES[0].to_string());
    let cluster = ClusterConfig {
        seed: options.seed,
        replicas: scenario.cluster.replicas as usize,
        workload: scenario.workload.clone(),
        network: scenario.network.clone(),
        disk: scenario.disk.clone(),
        nemesis: scenario.faults.clone(),
    };
    let typed =
        P::Variant::parse(&variant).expect("scenario validation admits only known variants");
    let mut world: World<Node<P>> = cluster.world(&settings, typed);
    let recorder = options
        .page
        .map(|window| PageRecorder::new(window, world.node_count()));
    match (&recorder, options.trace) {
        (Some(recorder), inner) => world.set_trace_sink(recorder.sink(inner)),
        (None, Some(sink)) => world.set_trace_sink(sink),
        (None, None) => {}
    }
    if options.prefix_hashes {
        world.keep_prefix_hashes();
    }
    if let Some((from, limit)) = options.message_log {
        world.log_messages(from, limit);
    } else if recorder.is_some() {
        // The page draws the messages of its window; it picks them from all of them.
        world.log_messages(SimTime::ZERO, PAGE_MESSAGES);
    }
    let (run_end, client_assertions, mut recipe_log, livelock) =
        run_world(&mut world, scenario, recorder.as_ref());
    // The protocol's report reads the replicas' observations; then the history's records move out
    // of the world.
    let mut report = P::report(&world);
    let history = RunHistory::new(
        world
            .take_observations()
            .into_iter()
            .filter_map(|o| match o.observation {
                Obs::History(record) => Some((o.time, record)),
                _ => None,
            })
            .collect(),
    );
    let samples = report::samples(history.records(), world.now().as_ms_f64());
    let (ops, ops_by_type) = reports::outcome_counts(&samples);
    let mut checks = Vec::new();
    let stopped_ms = world.now().as_ms_f64();
    let limit = match run_end {
        RunEnd::EventLimit => Some(format!(
            "the run reached its event limit (limits.max_events = {}) at {stopped_ms:.0} ms, before its end at {} ms",
            scenario.limits.max_events,
            scenario.end_ms()
        )),
        RunEnd::OpLimit => Some(format!(
            "clients invoked {} operations, the limit (limits.max_ops), by {stopped_ms:.0} ms, before the run's end at {} ms: fewer clients or a shorter workload, or raise the limit",
            scenario.limits.max_ops,
            scenario.end_ms()
        )),
        RunEnd::PlannedEnd | RunEnd::NothingLeft | RunEnd::Livelock => None,
    };
    match limit {
        // What the history shows is still judged (a violation in a prefix is one), but a run cut
        // short owes no progress.
        Some(detail) => {
            let now = world.now().as_nanos();
            checks.push(
                CheckResult::new("run-limits", Verdict::Unknown, detail).during(Some((now, now))),
            );
        }
        None => match livelock {
            Some(storm) => checks.push(storm.check(scenario, world.node_count())),
            None => checks.push(liveness(history.records(), scenario)),
        },
    }
    let linearizable = scenario
        .checks
        .linearizable
        .unwrap_or(P::LINEARIZABLE_READS);
    if linearizable {
        checks.push(linearizability(&history, scenario));
    }
    checks.extend(zookeeper_contract(&history, scenario));
    let stats = world.stats();
    if let Some(recipe) = &scenario.workload.recipe {
        checks.extend(recipe_checks(
            recipe,
            scenario,
            history.lines(),
            &mut recipe_log,
            &stats.fault_log,
            world.now(),
            &mut report.metrics,
        ));
    }
    if scenario.checks.invariants {
        checks.push(client_check(&client_assertions));
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
        replay: replay_command(
            &options.scenario_path,
            options.seed,
            options.protocol.as_deref(),
            options.variant.as_deref(),
        ),
    };
    let mut run = Run {
        scenario: scenario.clone(),
        results,
        history,
        fault_log: stats.fault_log.clone(),
        prefix_hashes: world.prefix_hashes().map(<[u64]>::to_vec),
        verdict,
        marks: report.marks,
        samples,
        messages: world.message_log().to_vec(),
        node_names: (0..scenario.cluster.replicas)
            .map(|i| format!("replica {i}"))
            .chain((0..scenario.workload.clients).map(|c| format!("client {c}")))
            .collect(),
        page: recorder.map(PageRecorder::finish),
        recipe_log,
    };
    run.results.metrics = report::metrics(
        &run,
        &run.samples,
        scenario.workload.duration_ms - scenario.workload.start_ms,
        P::write_cost(scenario.cluster.replicas as usize, &settings),
        &report.leader_losses,
    );
    run
}

/// The command that replays a run: the scenario file, the seed, and every override the run was
/// given on the command line, quoted for a POSIX shell. Every replay command zksim prints or
/// records comes from here.
pub fn replay_command(
    scenario_path: &str,
    seed: u64,
    protocol: Option<&str>,
    variant: Option<&str>,
) -> String {
    let quote = |s: &str| shlex::try_quote(s).map_or_else(|_| format!("{s:?}"), |q| q.into_owned());
    let mut command = format!("zksim run {} --seed {seed}", quote(scenario_path));
    if let Some(p) = protocol {
        command += &format!(" --protocol {}", quote(p));
    }
    if let Some(v) = variant {
        command += &format!(" --variant {}", quote(v));
    }
    command
}

/// A run that panicked instead of finishing: a bug in zksim or in the protocol under test, and a
/// failure of its seed.
#[derive(Clone, Debug)]
pub struct Panicked {
    pub seed: u64,
    /// The panic's message and where it was raised.
    pub message: String,
    pub replay: String,
}

/// Runs like [`run`], but a panic inside the run becomes [`Panicked`] instead of unwinding
/// further, so that one seed's panic fails that seed and a sweep goes on. The panic message is
/// kept (not printed) while the run is caught; panics elsewhere print as usual.
pub fn run_isolated(scenario: &Scenario, options: RunOptions) -> Result<Run, Panicked> {
    let (seed, replay) = (
        options.seed,
        replay_command(
            &options.scenario_path,
            options.seed,
            options.protocol.as_deref(),
            options.variant.as_deref(),
        ),
    );
    panics::catch(|| run(scenario, options)).map_err(|message| Panicked {
        seed,
        message,
        replay,
    })
}

/// Catching a run's panic with its message: one process-wide hook that, on a thread inside
/// [`catch`], keeps the message for the caller instead of printing it.
mod panics {
    use std::cell::{Cell, RefCell};
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::Once;

    thread_local! {
        static CATCHING: Cell<bool> = const { Cell::new(false) };
        static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if !CATCHING.get() {
                    return previous(info);
                }
                let payload = info.payload();
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(a panic without a message)".into());
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                MESSAGE.set(Some(format!("{text}{at}")));
            }));
        });
        let was = CATCHING.replace(true);
        // The run's state is dropped with the unwind; nothing of it is used afterwards.
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        CATCHING.set(was);
        result.map_err(|_| {
            MESSAGE
                .take()
                .unwrap_or_else(|| "(a panic without a message)".into())
        })
    }
}

/// A livelock the run stopped at: `events` events between `from` and `to` (ns of virtual time).
#[derive(Clone, Copy, Debug)]
struct Livelock {
    events: u64,
    from: u64,
    to: u64,
}

impl Livelock {
    /// The failed `liveness` check that reports it, over the stretch of virtual time it filled.
    fn check(self, scenario: &Scenario, nodes: usize) -> CheckResult {
        let ms = |ns: u64| ns as f64 / 1e6;
        let detail = format!(
            "livelock: {} events in {:.3} simulated ms (from {:.3} to {:.3} ms), beyond limits.max_event_rate = {} events per node per simulated second for {nodes} nodes; the run stopped there, before its end at {} ms",
            self.events,
            ms(self.to - self.from),
            ms(self.from),
            ms(self.to),
            scenario.limits.max_event_rate,
            scenario.end_ms()
        );
        CheckResult::new("liveness", Verdict::Fail, detail).during(Some((self.from, self.to)))
    }
}

/// What `run_world` returns: how the run ended, the client assertions that broke (with when),
/// the recipe log, and the livelock it stopped at, if it did.
type WorldRun = (RunEnd, Vec<String>, Vec<RecipeLine>, Option<Livelock>);

/// Runs the world to the scenario's end, in steps of one second of virtual time so that the
/// clients' history can be counted against `limits.max_ops` as it grows, and the events of each
/// step against `limits.max_event_rate` (a step that takes more events than the rate allows is a
/// livelock). The steps change nothing in the run: the world carries on from where a step ended.
fn run_world<P: Protocol>(
    world: &mut World<Node<P>>,
    scenario: &Scenario,
    recorder: Option<&PageRecorder>,
) -> WorldRun {
    use sim::world::RunEnd as WorldEnd;
    const STEP: u64 = 1_000_000_000;
    let end = SimTime(ms_to_ns(scenario.end_ms()));
    let (mut seen, mut invoked) = (0, 0);
    let mut client_assertions = Vec::new();
    let mut recipe_log = Vec::new();
    let per_step = scenario
        .limits
        .max_event_rate
        .saturating_mul(world.node_count() as u64);
    loop {
        let (start, start_events) = (world.now(), world.stats().events);
        let until = SimTime(start.0.saturating_add(STEP).min(end.0));
        // The rate bound for this step, prorated when the last step is shorter than a second
        // (at least one event, so that a run always moves on).
        let allowed =
            (u128::from(per_step) * u128::from(until.0 - start.0) / u128::from(STEP)).max(1) as u64;
        let cap = start_events.saturating_add(allowed);
        let limit = scenario.limits.max_events.min(cap);
        let step_end = advance(world, until, limit, recorder);
        let observations = world.observations();
        for o in &observations[seen..] {
            match &o.observation {
                Obs::History(record) => invoked += u64::from(record.kind == LineType::Invoke),
                Obs::ClientAssertion(what) => {
                    client_assertions.push(format!("{what} at {:.3} ms", o.time.as_ms_f64()));
                }
                Obs::Recipe(record) => recipe_log.push(record.to_line(o.time)),
                Obs::Replica(_) => {}
            }
        }
        seen = observations.len();
        let mut livelock = None;
        let run_end = match step_end {
            _ if invoked >= scenario.limits.max_ops => RunEnd::OpLimit,
            WorldEnd::TimeLimit if until < end => continue,
            WorldEnd::TimeLimit => RunEnd::PlannedEnd,
            WorldEnd::Quiescent => RunEnd::NothingLeft,
            WorldEnd::EventLimit if limit == cap && cap < scenario.limits.max_events => {
                livelock = Some(Livelock {
                    events: world.stats().events - start_events,
                    from: start.0,
                    to: world.now().0,
                });
                RunEnd::Livelock
            }
            WorldEnd::EventLimit => RunEnd::EventLimit,
        };
        return (run_end, client_assertions, recipe_log, livelock);
    }
}

/// The most messages a run page's run logs (a page draws those of its window).
const PAGE_MESSAGES: usize = 5_000_000;

/// Runs the world until `until` like `World::run_until`; while a page recorder's window is open,
/// one event at a time, letting it look at every node after each.
fn advance<P: Protocol>(
    world: &mut World<Node<P>>,
    until: SimTime,
    max_events: u64,
    recorder: Option<&PageRecorder>,
) -> sim::world::RunEnd {
    let Some(recorder) = recorder else {
        return world.run_until(until, max_events);
    };
    loop {
        if recorder.done() {
            return world.run_until(until, max_events);
        }
        let next = world.stats().events.saturating_add(1).min(max_events);
        let end = world.run_until(until, next);
        recorder.observe(world);
        match end {
            sim::world::RunEnd::EventLimit if next < max_events => continue,
            end => return end,
        }
    }
}

fn budget(scenario: &Scenario) -> Budget {
    Budget {
        timeout: Some(Duration::from_secs_f64(scenario.checks.timeout_s)),
        ..Budget::default()
    }
}

/// Every operation, reads included, linearizable with respect to the znode model. A violation
/// fails at the first operation of its counterexample.
fn linearizability(history: &RunHistory, scenario: &Scenario) -> CheckResult {
    let name = "linearizable";
    let raw = match formats::read_lines(&Header::new("znode"), history.lines()) {
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
                let first = history.first_of_lines(counterexample.core.iter().map(|op| op.line));
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
fn zookeeper_contract(history: &RunHistory, scenario: &Scenario) -> Vec<CheckResult> {
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
    let report = match zookeeper::check_records(history.records(), strictest, &budget(scenario)) {
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
            let first = history.first_of_lines(involved);
            CheckResult::new(level.name(), verdict, report.describe(only)).during(first)
        })
        .collect()
}

/// Once every fault is undone (or from the workload's start, if there are none), every client
/// must complete an operation within `checks.liveness_ms` (the VOPR's liveness mode: a healed
/// cluster must make progress). A client that finished its operations before then (its last
/// operation closed its session) owes nothing. Server-recorded lines (expiries) are not clients'.
fn liveness<E: report::Entry>(history: &[E], scenario: &Scenario) -> CheckResult {
    let (from_ms, to_ms) = scenario.liveness_window_ms();
    let (from, to) = (ms_to_ns(from_ms), ms_to_ns(to_ms));
    let clients = scenario.workload.clients as usize;
    let mut progressed = vec![false; clients];
    // Each client's last invocation: (time, whether it closed the session).
    let mut last_invoke: Vec<Option<(u64, bool)>> = vec![None; clients];
    for line in history {
        let Some(c) = usize::try_from(line.process())
            .ok()
            .filter(|&c| c < clients)
        else {
            continue;
        };
        match line.kind() {
            LineType::Ok if (from..=to).contains(&line.time()) => progressed[c] = true,
            LineType::Invoke => last_invoke[c] = Some((line.time(), line.f() == "close_session")),
            _ => {}
        }
    }
    let finished = |c: usize| matches!(last_invoke[c], Some((t, true)) if t < from);
    let stuck: Vec<String> = (0..clients)
        .filter(|&c| !progressed[c] && !finished(c))
        .map(|c| format!("client {c}"))
        .collect();
    let since = if scenario.faults.is_empty() {
        format!("the workload's start at {from_ms} ms")
    } else {
        format!("every fault was undone at {from_ms} ms")
    };
    if stuck.is_empty() {
        let detail = format!(
            "every client completed an operation (or had finished) between {since} and {to_ms} ms"
        );
        CheckResult::new("liveness", Verdict::Pass, detail)
    } else {
        let detail = format!(
            "{} of {clients} clients completed no operation between {since} and {to_ms} ms: {}",
            stuck.len(),
            stuck.join(", ")
        );
        // It fails over the whole window in which the stuck clients should have progressed.
        CheckResult::new("liveness", Verdict::Fail, detail).during(Some((from, to)))
    }
}

/// The recipe's checks (`protocols::recipes::check`). A lock or leader election: the guarded
/// resource replayed over the recipe log (which fills in each write's verdict), then mutual
/// exclusion on the lock and on the resource and the lock's progress after the faults. A queue:
/// no item taken twice, none lost. Also the recipe's figures (acquisitions, writes accepted and
/// rejected, messages per acquisition; items produced and taken) and, for every recipe, its
/// requests and watch notifications.
fn recipe_checks(
    recipe: &protocols::recipes::RecipeConfig,
    scenario: &Scenario,
    history: &[Line],
    log: &mut [RecipeLine],
    faults: &[FaultRecord],
    now: SimTime,
    metrics: &mut BTreeMap<String, Metric>,
) -> Vec<CheckResult> {
    use protocols::recipes::RecipeKind;
    use protocols::recipes::check as rc;
    let count = |log: &[RecipeLine], name: &str| {
        log.iter().filter(|l| l.event.name() == name).count() as u64
    };
    let (findings, done) = match recipe.kind {
        RecipeKind::Lock | RecipeKind::Election => {
            let findings = lock_checks(recipe, scenario, history, log, faults, now, metrics);
            let counted = if recipe.kind == RecipeKind::Lock {
                "lock_acquisitions"
            } else {
                "leader_elections"
            };
            let acquisitions = count(log, "acquired");
            metrics.insert(counted.into(), Metric::Count(acquisitions));
            (findings, acquisitions)
        }
        RecipeKind::Queue => {
            let findings = vec![
                rc::queue_once(log, history),
                rc::queue_no_loss(log, history, recipe.path()),
            ];
            metrics.insert(
                "queue_items_produced".into(),
                Metric::Count(count(log, "produced")),
            );
            let took = count(log, "took");
            metrics.insert("queue_items_taken".into(), Metric::Count(took));
            (findings, took)
        }
    };
    let notifications = history
        .iter()
        .filter(|l| l.kind == LineType::Event && l.f == "watch")
        .count() as u64;
    let requests = history
        .iter()
        .filter(|l| l.kind == LineType::Invoke && l.process < protocols::cluster::SERVER_PROCESS)
        .count() as u64;
    metrics.insert("recipe_requests".into(), Metric::Count(requests));
    metrics.insert("watch_notifications".into(), Metric::Count(notifications));
    if done > 0 && matches!(recipe.kind, RecipeKind::Lock | RecipeKind::Election) {
        let per = |n: u64| Metric::Ms(((n as f64 / done as f64) * 1000.0).round() / 1000.0);
        metrics.insert("requests_per_acquisition".into(), per(requests));
        metrics.insert("notifications_per_acquisition".into(), per(notifications));
    }
    findings
        .into_iter()
        .map(|f| {
            let verdict = if f.passed {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            let at = f.at.map(|t| (t.as_nanos(), t.as_nanos()));
            CheckResult::new(f.name, verdict, f.detail).during(at)
        })
        .collect()
}

/// A lock's or leader election's checks: the resource replayed, then `lock-exclusion`,
/// `resource-exclusion` and `lock-progress` (in the recipe's words).
fn lock_checks(
    recipe: &protocols::recipes::RecipeConfig,
    scenario: &Scenario,
    history: &[Line],
    log: &mut [RecipeLine],
    faults: &[FaultRecord],
    now: SimTime,
    metrics: &mut BTreeMap<String, Metric>,
) -> Vec<protocols::cluster::Finding> {
    use protocols::recipes::check::{self as rc, Pause, Window, Words};
    use protocols::recipes::resource;
    let words = Words::of(recipe.kind).expect("a lock-like recipe");
    let rejected = resource::replay(log, recipe.fencing());
    let replicas = u64::from(scenario.cluster.replicas);
    let end = now.as_nanos();
    let mut pauses: Vec<Pause> = Vec::new();
    for f in faults {
        for node in &f.nodes {
            let Some(process) = u64::from(node.0).checked_sub(replicas) else {
                continue;
            };
            match f.kind {
                "pause" => pauses.push(Pause {
                    process,
                    from: f.time.as_nanos(),
                    to: end,
                }),
                "resume" | "restart" => {
                    if let Some(p) = pauses
                        .iter_mut()
                        .rev()
                        .find(|p| p.process == process && p.to == end)
                    {
                        p.to = f.time.as_nanos();
                    }
                }
                _ => {}
            }
        }
    }
    let (from_ms, to_ms) = scenario.liveness_window_ms();
    let window = Window {
        from: ms_to_ns(from_ms),
        to: ms_to_ns(to_ms),
    };
    let writes = log.iter().filter(|l| l.event.name() == "write").count() as u64;
    metrics.insert("resource_writes".into(), Metric::Count(writes));
    metrics.insert("resource_writes_rejected".into(), Metric::Count(rejected));
    vec![
        rc::lock_exclusion(log, end, words),
        rc::resource_exclusion(log, history, &pauses, recipe.fencing(), end, words),
        rc::lock_progress(log, history, &window, words),
    ]
}

/// The clients' own rules (`protocols::client`): a broken one is a bug in the client, and the
/// history it wrote cannot be trusted.
fn client_check(broken: &[String]) -> CheckResult {
    if broken.is_empty() {
        let detail = "every client kept one operation open at a time".to_string();
        CheckResult::new("client-assertions", Verdict::Pass, detail)
    } else {
        CheckResult::new("client-assertions", Verdict::Fail, broken.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_keeps_its_message_and_place_and_later_runs_go_on() {
        let caught = panics::catch(|| -> u32 { panic!("replica 2 met an impossible state") });
        let message = caught.unwrap_err();
        assert!(
            message.starts_with("replica 2 met an impossible state at "),
            "{message}"
        );
        assert!(message.contains("runner.rs"), "{message}");
        let formatted = panics::catch(|| -> u32 { panic!("seed {}", 7) }).unwrap_err();
        assert!(formatted.starts_with("seed 7 at "), "{formatted}");
        assert_eq!(panics::catch(|| 5), Ok(5));
    }

    use protocols::cluster::expiry_process;
    use protocols::znode::SessionId;
    use std::path::Path;

    fn scenario() -> Scenario {
        let text = r#"{
            "name": "liveness",
            "cluster": { "replicas": 1, "protocol": "reference" },
            "workload": { "clients": 2, "duration_ms": 3000 },
            "faults": { "window_ms": [0, 1000] },
            "checks": { "liveness_ms": 1000 }
        }"#;
        Scenario::parse(text, Path::new("liveness.json"), PROTOCOLS).unwrap()
    }

    fn ok(process: u64, time_ms: f64) -> Line {
        Line {
            kind: LineType::Ok,
            process,
            f: "get_data".into(),
            value: serde_json::Value::Null,
            time: ms_to_ns(time_ms),
            session: None,
            zxid: None,
            server: None,
            error: None,
        }
    }

    /// A session expiry the server records after the heal is no client's progress, and no
    /// client's index (`zksim run scenarios/reference-nemesis.json --seeds 0..200` panicked here).
    #[test]
    fn liveness_counts_clients_only_and_ignores_server_recorded_expiries() {
        let s = scenario();
        let expiry = expiry_process(SessionId(7));
        let history = vec![ok(0, 1500.0), ok(expiry, 1600.0)];
        let check = liveness(&history, &s);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.detail.ends_with("completed no operation between every fault was undone at 1000 ms and 2000 ms: client 1"),
            "{}",
            check.detail
        );
        let history = vec![ok(0, 1500.0), ok(expiry, 1600.0), ok(1, 1900.0)];
        assert_eq!(liveness(&history, &s).verdict, Verdict::Pass);
    }
}
