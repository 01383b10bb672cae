//! `zksim run`: one seed with its store folder, or a sweep of seeds in parallel with a summary.
//!
//! A sweep streams: each seed's run is checked, reduced to a row, and dropped, so a range of any
//! length runs in constant memory but for the rows of seeds that did not pass. Each seed's run is
//! isolated: a panic fails that seed (check `panic`, with its message and replay command) and the
//! sweep goes on.

use super::Outcome;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sim::trace::TraceLine;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use zksim::runner::{self, PROTOCOLS, Panicked, Run, RunEnd, RunOptions, Verdict};
use zksim::scenario::Scenario;
use zksim::store;
use zksim::sweep::{SeedResult, Shard, Span, Sweep, SweepConfig, SweepFile};

/// Runs a scenario.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Runs a scenario for one seed (writing its store folder: scenario.json, history.jsonl, \
                  results.json, plots, and trace.txt with --trace) or for a range of seeds in parallel \
                  (each run single-threaded), printing a summary and the replay command of every failing \
                  seed. The same binary, scenario and seed always give the same trace hash."
)]
pub struct Args {
    /// The scenario file (JSON; see docs/scenario-format.md). Not with --swarm.
    #[arg(required_unless_present = "swarm", conflicts_with = "swarm")]
    pub scenario: Option<PathBuf>,
    /// Draw a whole scenario from each seed (cluster size, network, disks, workload, faults)
    /// instead of reading a file: swarm testing, docs/swarm.md. The store folder's scenario.json
    /// holds what was drawn.
    #[arg(long)]
    pub swarm: bool,
    /// Run this protocol instead of the one the file names (with --swarm: draw scenarios for
    /// it; default zab). Its variant and settings are then its defaults unless --variant says.
    #[arg(long)]
    pub protocol: Option<String>,
    /// Run this variant of the scenario's protocol instead of the one the file names.
    #[arg(long)]
    pub variant: Option<String>,
    /// The seed to run (default: the scenario's `seed`, or 1).
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// A range of seeds, `A..B` (B excluded) or `A..=B`.
    #[arg(long, value_parser = parse_seeds)]
    pub seeds: Option<SeedRange>,
    /// Parallel runs for --seeds (default: every core; at most 1024).
    #[arg(long, value_parser = super::parse_jobs)]
    pub jobs: Option<usize>,
    /// The store folder (one seed) or the folder of the seeds' folders (--seeds).
    /// Default: store/<scenario name>/<protocol>-<variant>[/seed-<seed>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write every event of the run to trace.txt (one seed only).
    #[arg(long, conflicts_with = "seeds")]
    pub trace: bool,
    /// Run each seed twice and report the first event where the two runs differ.
    #[arg(long)]
    pub check_determinism: bool,
    /// With --seeds, write a store folder for every seed, not only those that did not pass.
    #[arg(long)]
    pub keep_all: bool,
    /// Do not draw plots in store folders (they take most of the time of a short run).
    #[arg(long)]
    pub no_plots: bool,
    /// Draw a message (space–time) diagram of the first N messages (1 to 100) into messages.svg
    /// and messages.png (one seed).
    #[arg(long, value_name = "N", conflicts_with_all = ["seeds", "no_plots"],
          value_parser = clap::value_parser!(u16).range(1..=reports::MESSAGE_DIAGRAM_MAX_ARROWS as i64))]
    pub diagram: Option<u16>,
    /// Start the diagram's messages at this virtual time (ms; before the run's end).
    #[arg(long, value_name = "MS", requires = "diagram", default_value_t = 0.0)]
    pub diagram_from: f64,
    /// Write run.html into the store folder: a self-contained page to step through the run in a
    /// browser (operations, faults, messages, every node's state at each event). With --seeds,
    /// into the folder of every seed that gets one (those that did not pass, or all with
    /// --keep-all).
    #[arg(long)]
    pub page: bool,
    /// Centre the page's window of events on this virtual time (ms, before the run's end).
    /// Default: where the first failing check places its failure, else the run's start.
    #[arg(long, value_name = "MS", requires = "page")]
    pub page_at: Option<f64>,
    /// How many trace lines (events) the page keeps around its centre, 100 to 1,000,000.
    #[arg(long, value_name = "N", requires = "page", default_value_t = zksim::page::DEFAULT_EVENTS as u64,
          value_parser = clap::value_parser!(u64).range(zksim::page::MIN_EVENTS as u64..=zksim::page::MAX_EVENTS as u64))]
    pub page_events: u64,
    /// Run only shard K of N of the --seeds range (seeds whose offset from the start is K-1
    /// modulo N); `zksim merge` joins the shards' --json summaries.
    #[arg(long, value_name = "K/N", requires = "seeds", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Write a machine-readable summary: every seed's verdict, trace hash, failing checks and
    /// replay command (docs/ci.md).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report: one test case per seed, a failure carrying the failing checks
    /// and the replay command.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// A range of seeds from the command line.
#[derive(Clone, Debug)]
pub struct SeedRange {
    pub start: u64,
    pub end: u64,
}

impl SeedRange {
    pub fn count(&self) -> u64 {
        self.end - self.start
    }
}

pub fn parse_seeds(s: &str) -> Result<SeedRange, String> {
    let bad = || format!("expected A..B or A..=B with A and B numbers, got {s:?}");
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = s.split_once("..") {
        (a, b, false)
    } else {
        return Err(bad());
    };
    let start: u64 = a.trim().parse().map_err(|_| bad())?;
    let end: u64 = b.trim().parse().map_err(|_| bad())?;
    let end = if inclusive {
        end.checked_add(1).ok_or_else(bad)?
    } else {
        end
    };
    if start >= end {
        return Err(format!("the range {s:?} holds no seed"));
    }
    Ok(SeedRange { start, end })
}

/// Where a run's scenarios come from: one file, or the swarm, which draws one per seed.
enum Source {
    File(Box<Scenario>),
    Swarm { protocol: String },
}

impl Source {
    /// The scenario seed `seed` runs, with the --variant asked for.
    fn for_seed(&self, seed: u64, o: &Overrides) -> Result<Scenario> {
        let scenario = match self {
            Source::File(s) => (**s).clone(),
            Source::Swarm { protocol } => zksim::swarm::draw(seed, protocol),
        };
        let scenario = match &o.protocol {
            Some(p) => scenario
                .with_protocol(p, PROTOCOLS)
                .map_err(|e| anyhow::anyhow!("--protocol: {e}"))?,
            None => scenario,
        };
        let variant = &o.variant;
        match variant {
            Some(v) => scenario
                .with_variant(v, PROTOCOLS)
                .map_err(|e| anyhow::anyhow!("--variant: {e}")),
            None => Ok(scenario),
        }
    }
}

pub fn main(args: Args) -> Result<Outcome> {
    let (source, scenario_path) = match &args.scenario {
        Some(path) => (
            Source::File(Box::new(Scenario::load(path, PROTOCOLS)?)),
            path.display().to_string(),
        ),
        None => {
            let protocol = args.protocol.clone().unwrap_or_else(|| "zab".into());
            if !PROTOCOLS.iter().any(|p| p.name == protocol) {
                let known: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
                bail!("--protocol: unknown protocol {protocol:?}: expected one of {known:?}");
            }
            (Source::Swarm { protocol }, "--swarm".to_string())
        }
    };
    let first = args
        .seeds
        .as_ref()
        .map(|r| r.start)
        .or(args.seed)
        .unwrap_or(1);
    // The scenario that names the run (its store folder, its header); a swarm's are all alike.
    let scenario = source
        .for_seed(first, &args.overrides())
        .map_err(|e| anyhow::anyhow!("{scenario_path}: {e}"))?;
    if args.diagram.is_some()
        && !(args.diagram_from.is_finite()
            && args.diagram_from >= 0.0
            && args.diagram_from < scenario.end_ms())
    {
        bail!(
            "--diagram-from: expected milliseconds from 0 to before the run's end ({} ms), got {}",
            scenario.end_ms(),
            args.diagram_from
        );
    }
    if let Some(at) = args.page_at
        && !(at.is_finite() && at >= 0.0 && at < scenario.end_ms())
    {
        bail!(
            "--page-at: expected milliseconds from 0 to before the run's end ({} ms), got {at}",
            scenario.end_ms()
        );
    }
    match &args.seeds {
        None => run_one(&args, &source, &scenario, &scenario_path),
        Some(range) => sweep(&args, &source, &scenario, &scenario_path, range.clone()),
    }
}

/// Runs one seed, timing it with the wall clock (the CLI is outside any world).
fn timed_run(scenario: &Scenario, options: RunOptions) -> Result<Run, Panicked> {
    let started = std::time::Instant::now();
    let mut run = runner::run_isolated(scenario, options)?;
    run.results.wall_time_ms = started.elapsed().as_millis() as u64;
    Ok(run)
}

/// What the command line overrides in every scenario it runs.
struct Overrides {
    protocol: Option<String>,
    variant: Option<String>,
}

impl Args {
    fn overrides(&self) -> Overrides {
        Overrides {
            protocol: self.protocol.clone(),
            variant: self.variant.clone(),
        }
    }
}

fn options(seed: u64, scenario_path: &str, o: &Overrides) -> RunOptions {
    RunOptions {
        protocol: o.protocol.clone(),
        variant: o.variant.clone(),
        ..RunOptions::new(seed, scenario_path)
    }
}

/// The scenario's resolved variant, as store paths and headers name it.
fn variant_of(scenario: &Scenario) -> String {
    let resolved = scenario.resolved(0, PROTOCOLS);
    resolved.cluster.variant.unwrap_or_default()
}

/// `store/<scenario>/<protocol>-<variant>`: runs of different variants never share a folder.
fn default_store(scenario: &Scenario) -> PathBuf {
    Path::new("store").join(&scenario.name).join(format!(
        "{}-{}",
        scenario.cluster.protocol,
        variant_of(scenario)
    ))
}

fn run_one(
    args: &Args,
    source: &Source,
    template: &Scenario,
    scenario_path: &str,
) -> Result<Outcome> {
    let seed = args.seed.or(template.seed).unwrap_or(1);
    let scenario = &source.for_seed(seed, &args.overrides())?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_store(scenario).join(format!("seed-{seed}")));
    store::prepare(&dir)?;
    let mut opts = options(seed, scenario_path, &args.overrides());
    if let Some(n) = args.diagram {
        opts.message_log = Some((
            sim::SimTime(sim::net::ms_to_ns(args.diagram_from)),
            usize::from(n),
        ));
    }
    let trace_error = Arc::new(Mutex::new(None));
    if args.trace {
        let path = dir.join(store::TRACE_FILE);
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut out = BufWriter::new(file);
        let error = trace_error.clone();
        opts.trace = Some(Box::new(move |line: &TraceLine| {
            if let Err(e) = writeln!(out, "{}", line.format()) {
                error.lock().expect("not poisoned").get_or_insert(e);
            }
        }));
    }
    let run = match timed_run(scenario, opts) {
        Ok(run) => run,
        Err(panicked) => {
            write_reports(
                args,
                scenario,
                scenario_path,
                Span {
                    start: seed,
                    end: seed + 1,
                },
                vec![SeedResult::of_panic(&panicked)],
            )?;
            store::write_panicked(&dir, &scenario.resolved(seed, PROTOCOLS), &panicked)?;
            println!(
                "{} ({} {}), seed {seed}",
                scenario.name,
                scenario.cluster.protocol,
                variant_of(scenario)
            );
            println!("check panic: fail — {}", panicked.message);
            println!("verdict: fail");
            println!("store: {}", dir.display());
            println!("replay: {}", panicked.replay);
            return Ok(Outcome::Fail);
        }
    };
    if let Some(e) = trace_error.lock().expect("not poisoned").take() {
        bail!("cannot write the trace: {e}");
    }
    store::write(&dir, &run, !args.no_plots)?;
    write_reports(
        args,
        scenario,
        scenario_path,
        Span {
            start: seed,
            end: seed + 1,
        },
        vec![SeedResult::of_run(&run)],
    )?;
    print_summary(&run, &dir);
    if args.diagram.is_some() && run.messages.is_empty() {
        println!(
            "diagram: no message was sent from {} ms on (the run ended at {:.0} ms); none drawn",
            args.diagram_from, run.results.virtual_time_ms
        );
    } else if let Some(n) = args.diagram
        && run.messages.len() < usize::from(n)
    {
        println!(
            "diagram: only {} messages were sent from {} ms on; all drawn",
            run.messages.len(),
            args.diagram_from
        );
    }
    let mut outcome = Outcome::from(run.verdict);
    if args.page {
        match write_page(args, scenario, scenario_path, seed, &run, &dir)? {
            Ok(written) => println!("page: {written}"),
            Err(diverged) => {
                println!("page: NOT written: {diverged}");
                outcome = outcome.max(Outcome::Fail);
            }
        }
    }
    if args.check_determinism {
        let again = determinism(scenario, seed, scenario_path, &args.overrides());
        println!("{}", again.describe(seed));
        outcome = outcome.max(again.outcome());
    }
    println!("trace {}", run.results.trace_hash);
    Ok(outcome)
}

/// Runs the seed again, recording the page's window, and writes run.html; says where, or why the
/// page was not written. The page is a replay: its trace must be the first run's, or the page
/// would show another run.
fn write_page(
    args: &Args,
    scenario: &Scenario,
    scenario_path: &str,
    seed: u64,
    first: &Run,
    dir: &Path,
) -> Result<Result<String, String>> {
    let centre = match args.page_at {
        Some(ms) => sim::SimTime(sim::net::ms_to_ns(ms)),
        None => zksim::page::default_centre(first),
    };
    let mut opts = options(seed, scenario_path, &args.overrides());
    opts.page = Some(zksim::page::PageWindow {
        centre,
        events: args.page_events as usize,
    });
    let run = match runner::run_isolated(scenario, opts) {
        Ok(run) => run,
        Err(p) => bail!(
            "the run page's replay of seed {seed} panicked: {}",
            p.message
        ),
    };
    if run.results.trace_hash != first.results.trace_hash {
        return Ok(Err(format!(
            "replaying seed {seed} for the page gave trace {} instead of {} (a determinism bug)",
            run.results.trace_hash, first.results.trace_hash
        )));
    }
    let path = dir.join(zksim::page::PAGE_FILE);
    std::fs::write(&path, zksim::page::html(&run))
        .with_context(|| format!("cannot write {}", path.display()))?;
    let page = run.page.as_ref().expect("recorded");
    Ok(Ok(format!(
        "{} (events {} to {} of {})",
        path.display(),
        page.lines.first().map_or(0, |l| l.index + 1),
        page.lines.last().map_or(0, |l| l.index + 1),
        page.total_lines
    )))
}

/// How many lines of a check's detail the summary shows; results.json has them all.
const SUMMARY_DETAIL_LINES: usize = 6;

fn print_summary(run: &Run, dir: &Path) {
    let r = &run.results;
    println!(
        "{} ({} {}, {} replicas, {} clients), seed {}",
        r.scenario, r.protocol, r.variant, r.replicas, r.clients, r.seed
    );
    // The outcomes in the words and order of the plots' legends (`reports::Outcome::name`).
    let ops: Vec<String> = reports::Outcome::ALL
        .iter()
        .map(|o| format!("{} {}", r.ops.of(*o), o.name()))
        .collect();
    println!(
        "ops: {}; {} events, {:.1} s virtual in {} ms",
        ops.join(", "),
        r.events,
        r.virtual_time_ms / 1e3,
        r.wall_time_ms
    );
    if r.run_end != RunEnd::PlannedEnd {
        println!("run: {}", r.run_end.describe());
    }
    if !r.faults.is_empty() {
        let faults: Vec<String> = r.faults.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("faults: {}", faults.join(", "));
    }
    for c in &r.checks {
        let when = match (c.at_ms, c.until_ms) {
            (Some(at), Some(until)) => format!(" from {at:.3} ms to {until:.3} ms"),
            (Some(at), None) => format!(" at {at:.3} ms"),
            _ => String::new(),
        };
        let lines: Vec<&str> = c.detail.lines().collect();
        let shown = lines.len().min(SUMMARY_DETAIL_LINES);
        println!(
            "check {}: {}{when} — {}",
            c.name,
            c.verdict.name(),
            lines[..shown].join("\n")
        );
        if lines.len() > shown {
            println!("  ... {} more lines in results.json", lines.len() - shown);
        }
    }
    println!("verdict: {}", r.verdict.name());
    println!("store: {}", dir.display());
    if run.verdict != Verdict::Pass {
        println!("replay: {}", r.replay);
    }
}

/// Writes the `--json` and `--junit` reports of a run or sweep, if asked for.
fn write_reports(
    args: &Args,
    scenario: &Scenario,
    scenario_path: &str,
    seeds: Span,
    runs: Vec<SeedResult>,
) -> Result<()> {
    if args.json.is_none() && args.junit.is_none() {
        return Ok(());
    }
    let config = SweepConfig {
        scenario: scenario.name.clone(),
        scenario_path: scenario_path.to_string(),
        protocol: scenario.cluster.protocol.clone(),
        variant: variant_of(scenario),
        protocol_override: args.protocol.clone(),
        variant_override: args.variant.clone(),
        seeds,
        shard: args.shard,
    };
    let sweeps = [Sweep::new(config, runs)];
    if let Some(path) = &args.json {
        let text = SweepFile::new(sweeps.to_vec()).to_json();
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, zksim::sweep::junit(&sweeps))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// What running a seed a second time showed.
enum Determinism {
    Same {
        lines: usize,
    },
    /// The two runs part at this trace line, shown as each run wrote it.
    Parted {
        index: usize,
        first: String,
        second: String,
    },
    /// One of the runs panicked.
    Panicked(Panicked),
}

impl Determinism {
    fn outcome(&self) -> Outcome {
        match self {
            Determinism::Same { .. } => Outcome::Pass,
            _ => Outcome::Fail,
        }
    }

    fn describe(&self, seed: u64) -> String {
        match self {
            Determinism::Same { lines } => {
                format!("determinism: seed {seed} ran twice with identical traces ({lines} lines)")
            }
            Determinism::Parted {
                index,
                first,
                second,
            } => format!(
                "determinism: seed {seed} is NOT deterministic: the runs part at trace line {index}\n  first run:  {first}\n  second run: {second}"
            ),
            Determinism::Panicked(p) => format!(
                "determinism: seed {seed} panicked when run again: {}",
                p.message
            ),
        }
    }
}

/// Runs `seed` twice, keeping the running hash after every trace line, and finds the first line
/// where the two runs part.
fn determinism(
    scenario: &Scenario,
    seed: u64,
    scenario_path: &str,
    overrides: &Overrides,
) -> Determinism {
    let hashes = || -> Result<Vec<u64>, Panicked> {
        let mut o = options(seed, scenario_path, overrides);
        o.prefix_hashes = true;
        Ok(runner::run_isolated(scenario, o)?
            .prefix_hashes
            .expect("asked for"))
    };
    let (a, b) = match (hashes(), hashes()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(p), _) | (_, Err(p)) => return Determinism::Panicked(p),
    };
    let Some(index) = first_difference(&a, &b) else {
        return Determinism::Same { lines: a.len() };
    };
    let line_at = || {
        let seen: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let keep = seen.clone();
        let mut o = options(seed, scenario_path, overrides);
        o.trace = Some(Box::new(move |l: &TraceLine| {
            if l.index == index as u64 {
                *keep.lock().expect("not poisoned") = Some(l.format());
            }
        }));
        let _ = runner::run_isolated(scenario, o);
        let line = seen.lock().expect("not poisoned").take();
        line.unwrap_or_else(|| "(the run ended before this line)".into())
    };
    Determinism::Parted {
        index,
        first: line_at(),
        second: line_at(),
    }
}

fn first_difference(a: &[u64], b: &[u64]) -> Option<usize> {
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    common.or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// A seed of a sweep that did not pass (or did not replay identically).
struct Row {
    seed: u64,
    verdict: Verdict,
    /// The checks that did not pass, or the panic, or the determinism finding.
    what: String,
    replay: String,
}

impl Row {
    /// How a sweep shows it: `seed N fail (checks): replay command`.
    fn line(&self) -> String {
        format!(
            "seed {:>6} {} ({}): {}",
            self.seed,
            self.verdict.name(),
            self.what,
            self.replay
        )
    }
}

/// A sweep's figures so far: counts for every seed, rows only for seeds that did not pass.
#[derive(Default)]
struct Tally {
    pass: u64,
    fail: u64,
    unknown: u64,
    ops: u64,
    events: u64,
    not_deterministic: u64,
    rows: Vec<Row>,
    /// Every seed's result, kept only for --json and --junit (about 100 bytes a seed).
    results: Vec<SeedResult>,
    store_errors: Vec<String>,
}

fn sweep(
    args: &Args,
    source: &Source,
    scenario: &Scenario,
    scenario_path: &str,
    range: SeedRange,
) -> Result<Outcome> {
    let pool = super::worker_pool(args.jobs)?;
    let dir = args.out.clone().unwrap_or_else(|| default_store(scenario));
    let shard = args.shard.unwrap_or(Shard { index: 1, count: 1 });
    let count = shard.len(range.start, range.end);
    if count == 0 {
        bail!(
            "--shard {}/{}: the range {}..{} has no seed for this shard",
            shard.index,
            shard.count,
            range.start,
            range.end
        );
    }
    let keep_results = args.json.is_some() || args.junit.is_some();
    let bar = ProgressBar::new(count);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {per_sec}, eta {eta} {msg}")
            .expect("a valid template"),
    );
    println!(
        "{} ({} {}), seeds {}..{}{}",
        scenario.name,
        scenario.cluster.protocol,
        variant_of(scenario),
        range.start,
        range.end,
        args.shard
            .map(|s| format!(", shard {}/{} ({count} seeds)", s.index, s.count))
            .unwrap_or_default()
    );
    let started = std::time::Instant::now();
    let tally = Mutex::new(Tally::default());
    pool.install(|| {
        (range.start..range.end)
            .into_par_iter()
            .filter(|&seed| shard.holds(range.start, seed))
            .for_each(|seed| {
                let done = sweep_seed(args, source, scenario_path, &dir, seed);
                let mut t = tally.lock().expect("not poisoned");
                if keep_results {
                    t.results.push(done.result.clone());
                }
                match done.verdict {
                    Verdict::Pass => t.pass += 1,
                    Verdict::Fail => t.fail += 1,
                    Verdict::Unknown => t.unknown += 1,
                }
                t.ops += done.ops;
                t.events += done.events;
                t.not_deterministic += u64::from(!done.deterministic);
                t.store_errors.extend(done.store_error);
                if let Some(row) = done.row {
                    bar.println(row.line());
                    t.rows.push(row);
                }
                drop(t);
                bar.inc(1);
            })
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let mut t = tally.into_inner().expect("not poisoned");
    t.rows.sort_by_key(|r| r.seed);
    // The reports are written before anything is printed: a closed pipe ends the command at its
    // first print, and no result already computed may be lost.
    write_reports(
        args,
        scenario,
        scenario_path,
        Span {
            start: range.start,
            end: range.end,
        },
        std::mem::take(&mut t.results),
    )?;
    println!(
        "{:>8} {:>8} {:>8} {:>8} {:>12} {:>14} {:>10}",
        "seeds", "pass", "fail", "unknown", "ops", "events", "seeds/s"
    );
    println!(
        "{:>8} {:>8} {:>8} {:>8} {:>12} {:>14} {:>10.1}",
        count,
        t.pass,
        t.fail,
        t.unknown,
        t.ops,
        t.events,
        count as f64 / elapsed.max(1e-9)
    );
    let mut outcome = Outcome::Pass;
    for r in &t.rows {
        outcome = outcome.max(Outcome::from(r.verdict));
        println!("{}", r.line());
    }
    if args.check_determinism {
        if t.not_deterministic == 0 {
            println!("determinism: every seed ran twice with identical traces ({count} seeds)");
        } else {
            println!(
                "determinism: {} of {count} seeds are NOT deterministic (listed above)",
                t.not_deterministic
            );
            outcome = outcome.max(Outcome::Fail);
        }
    }
    if !t.rows.is_empty() || args.keep_all {
        println!("store: {}", dir.display());
    }
    if !t.store_errors.is_empty() {
        bail!(
            "some store folders could not be written:\n{}",
            t.store_errors.join("\n")
        );
    }
    Ok(outcome)
}

/// One seed of a sweep, reduced to what the summary needs.
struct SeedDone {
    verdict: Verdict,
    ops: u64,
    events: u64,
    deterministic: bool,
    /// For a seed that did not pass or did not replay identically.
    row: Option<Row>,
    result: SeedResult,
    store_error: Option<String>,
}

/// Runs one seed of a sweep (twice with --check-determinism), writes its store folder if it is
/// kept and removes a stale one an earlier sweep left if not.
fn sweep_seed(
    args: &Args,
    source: &Source,
    scenario_path: &str,
    dir: &Path,
    seed: u64,
) -> SeedDone {
    let seed_dir = dir.join(format!("seed-{seed}"));
    let scenario = &source
        .for_seed(seed, &args.overrides())
        .expect("the variant was checked on the first seed's scenario, of the same protocol");
    let run = match timed_run(scenario, options(seed, scenario_path, &args.overrides())) {
        Ok(run) => run,
        Err(panicked) => {
            let store_error =
                store::write_panicked(&seed_dir, &scenario.resolved(seed, PROTOCOLS), &panicked)
                    .err()
                    .map(|e| format!("seed {seed}: {e:#}"));
            return SeedDone {
                result: SeedResult::of_panic(&panicked),
                verdict: Verdict::Fail,
                ops: 0,
                events: 0,
                deterministic: true,
                row: Some(Row {
                    seed,
                    verdict: Verdict::Fail,
                    what: format!("panic: {}", panicked.message),
                    replay: panicked.replay,
                }),
                store_error,
            };
        }
    };
    let again = args
        .check_determinism
        .then(|| determinism(scenario, seed, scenario_path, &args.overrides()));
    let deterministic = again.as_ref().is_none_or(|d| d.outcome() == Outcome::Pass);
    let ops = run.results.ops.completed();
    let events = run.results.events;
    let keep = run.verdict != Verdict::Pass || args.keep_all || !deterministic;
    let stored = if keep {
        store::prepare(&seed_dir)
            .and_then(|()| store::write(&seed_dir, &run, !args.no_plots))
            .and_then(|()| {
                if !args.page {
                    return Ok(());
                }
                write_page(args, scenario, scenario_path, seed, &run, &seed_dir)?
                    .map(drop)
                    .map_err(|diverged| anyhow::anyhow!("run.html not written: {diverged}"))
            })
    } else {
        store::remove_stale(&seed_dir)
    };
    let store_error = stored.err().map(|e| format!("seed {seed}: {e:#}"));
    let row = (run.verdict != Verdict::Pass || !deterministic).then(|| {
        let mut what = run.failed_checks();
        if let Some(d) = again.filter(|_| !deterministic) {
            what.push(d.describe(seed));
        }
        Row {
            seed,
            verdict: run.verdict,
            what: what.join(", "),
            replay: run.results.replay.clone(),
        }
    });
    SeedDone {
        result: SeedResult::of_run(&run),
        verdict: run.verdict,
        ops,
        events,
        deterministic,
        row,
        store_error,
    }
}
