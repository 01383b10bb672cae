//! `zksim run`: one seed with its store folder, or a sweep of seeds in parallel with a summary.

use super::Outcome;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sim::trace::TraceLine;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use zksim::runner::{self, PROTOCOLS, Run, RunEnd, RunOptions, Verdict};
use zksim::scenario::Scenario;
use zksim::store;

/// Runs a scenario.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Runs a scenario for one seed (writing its store folder: scenario.json, history.jsonl, \
                  results.json, plots, and trace.txt with --trace) or for a range of seeds in parallel \
                  (each run single-threaded), printing a summary and the replay command of every failing \
                  seed. The same binary, scenario and seed always give the same trace hash."
)]
pub struct Args {
    /// The scenario file (JSON; see docs/scenario-format.md).
    pub scenario: PathBuf,
    /// Run this variant of the scenario's protocol instead of the one the file names.
    #[arg(long)]
    pub variant: Option<String>,
    /// The seed to run (default: the scenario's `seed`, or 1).
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// A range of seeds, `A..B` (B excluded) or `A..=B`.
    #[arg(long, value_parser = parse_seeds)]
    pub seeds: Option<SeedRange>,
    /// Parallel runs for --seeds (default: every core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// The store folder (one seed) or the folder of failing seeds' folders (--seeds).
    /// Default: store/<scenario name>/seed-<seed> or store/<scenario name>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write every event of the run to trace.txt (one seed only).
    #[arg(long, conflicts_with = "seeds")]
    pub trace: bool,
    /// Run each seed twice and report the first event where the two runs differ.
    #[arg(long)]
    pub check_determinism: bool,
    /// With --seeds, write a store folder for every seed, not only the failing ones.
    #[arg(long)]
    pub keep_all: bool,
    /// Do not draw plots in store folders (they take most of the time of a short run).
    #[arg(long)]
    pub no_plots: bool,
    /// Draw a message (space–time) diagram of the first N messages into messages.svg (one seed).
    #[arg(long, value_name = "N", conflicts_with = "seeds")]
    pub diagram: Option<usize>,
    /// Start the diagram's messages at this virtual time (ms).
    #[arg(long, value_name = "MS", requires = "diagram", default_value_t = 0.0)]
    pub diagram_from: f64,
}

/// A range of seeds from the command line.
#[derive(Clone, Debug)]
pub struct SeedRange {
    pub start: u64,
    pub end: u64,
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

pub fn main(args: Args) -> Result<Outcome> {
    let mut scenario = Scenario::load(&args.scenario, PROTOCOLS)?;
    if let Some(v) = &args.variant {
        scenario = scenario
            .with_variant(v, PROTOCOLS)
            .map_err(|e| anyhow::anyhow!("{}: --variant: {e}", args.scenario.display()))?;
    }
    let scenario_path = args.scenario.display().to_string();
    match &args.seeds {
        None => run_one(&args, &scenario, &scenario_path),
        Some(range) => sweep(&args, &scenario, &scenario_path, range.clone()),
    }
}

fn outcome_of(v: Verdict) -> Outcome {
    match v {
        Verdict::Pass => Outcome::Pass,
        Verdict::Fail => Outcome::Fail,
        Verdict::Unknown => Outcome::Unknown,
    }
}

/// Runs one seed, timing it with the wall clock (the CLI is outside any world).
fn timed_run(scenario: &Scenario, options: RunOptions) -> Run {
    let started = std::time::Instant::now();
    let mut run = runner::run(scenario, options);
    run.results.wall_time_ms = started.elapsed().as_millis() as u64;
    run
}

fn options(seed: u64, scenario_path: &str, variant: &Option<String>) -> RunOptions {
    RunOptions {
        variant: variant.clone(),
        ..RunOptions::new(seed, scenario_path)
    }
}

fn run_one(args: &Args, scenario: &Scenario, scenario_path: &str) -> Result<Outcome> {
    let seed = args.seed.or(scenario.seed).unwrap_or(1);
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_store(scenario).join(format!("seed-{seed}")));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the store folder {}", dir.display()))?;
    let mut opts = options(seed, scenario_path, &args.variant);
    if let Some(n) = args.diagram {
        if !(args.diagram_from.is_finite() && args.diagram_from >= 0.0) {
            bail!("--diagram-from must be a number of milliseconds >= 0");
        }
        opts.message_log = Some((sim::SimTime(sim::net::ms_to_ns(args.diagram_from)), n));
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
    let run = timed_run(scenario, opts);
    if let Some(e) = trace_error.lock().expect("not poisoned").take() {
        bail!("cannot write the trace: {e}");
    }
    store::write(&dir, scenario, &run, !args.no_plots)?;
    print_summary(scenario, &run, &dir);
    let mut outcome = outcome_of(run.verdict);
    if args.check_determinism {
        outcome = outcome.max(check_determinism(scenario, seed, scenario_path)?);
    }
    println!("trace {}", run.results.trace_hash);
    Ok(outcome)
}

fn default_store(scenario: &Scenario) -> PathBuf {
    Path::new("store").join(&scenario.name)
}

/// How many lines of a check's detail the summary shows; results.json has them all.
const SUMMARY_DETAIL_LINES: usize = 6;

fn print_summary(scenario: &Scenario, run: &Run, dir: &Path) {
    let r = &run.results;
    println!(
        "{} ({} {}, {} replicas, {} clients), seed {}",
        scenario.name, r.protocol, r.variant, r.replicas, r.clients, r.seed
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

/// Runs `seed` twice, keeping the running hash after every trace line, and reports the first line
/// where the two runs part.
fn check_determinism(scenario: &Scenario, seed: u64, scenario_path: &str) -> Result<Outcome> {
    let hashes = |()| {
        let mut o = options(seed, scenario_path, &None);
        o.prefix_hashes = true;
        runner::run(scenario, o).prefix_hashes.expect("asked for")
    };
    let (a, b) = (hashes(()), hashes(()));
    let Some(index) = first_difference(&a, &b) else {
        println!(
            "determinism: seed {seed} ran twice with identical traces ({} lines)",
            a.len()
        );
        return Ok(Outcome::Pass);
    };
    let line_at = |()| {
        let seen: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let keep = seen.clone();
        let mut o = options(seed, scenario_path, &None);
        o.trace = Some(Box::new(move |l: &TraceLine| {
            if l.index == index as u64 {
                *keep.lock().expect("not poisoned") = Some(l.format());
            }
        }));
        runner::run(scenario, o);
        let line = seen.lock().expect("not poisoned").take();
        line.unwrap_or_else(|| "(the run ended before this line)".into())
    };
    println!("determinism: seed {seed} is NOT deterministic: the runs part at trace line {index}");
    println!("  first run:  {}", line_at(()));
    println!("  second run: {}", line_at(()));
    Ok(Outcome::Fail)
}

fn first_difference(a: &[u64], b: &[u64]) -> Option<usize> {
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    common.or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// One row of a sweep.
struct SeedResult {
    seed: u64,
    verdict: Verdict,
    ops: u64,
    events: u64,
    failed_checks: Vec<String>,
    deterministic: bool,
}

fn sweep(
    args: &Args,
    scenario: &Scenario,
    scenario_path: &str,
    range: SeedRange,
) -> Result<Outcome> {
    let pool = super::worker_pool(args.jobs)?;
    let dir = args.out.clone().unwrap_or_else(|| default_store(scenario));
    let count = range.end - range.start;
    let bar = ProgressBar::new(count);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {per_sec}, eta {eta} {msg}")
            .expect("a valid template"),
    );
    let started = std::time::Instant::now();
    let store_errors = Mutex::new(Vec::new());
    let rows: Vec<SeedResult> = pool.install(|| {
        (range.start..range.end)
            .into_par_iter()
            .map(|seed| {
                let run = timed_run(scenario, options(seed, scenario_path, &args.variant));
                let deterministic = !args.check_determinism || {
                    let again = runner::run(scenario, options(seed, scenario_path, &args.variant));
                    again.results.trace_hash == run.results.trace_hash
                };
                let keep = run.verdict != Verdict::Pass || args.keep_all || !deterministic;
                if keep
                    && let Err(e) = store::write(
                        &dir.join(format!("seed-{seed}")),
                        scenario,
                        &run,
                        !args.no_plots,
                    )
                {
                    store_errors
                        .lock()
                        .expect("not poisoned")
                        .push(format!("seed {seed}: {e:#}"));
                }
                if run.verdict == Verdict::Fail {
                    bar.set_message(format!("(seed {seed} failed)"));
                }
                bar.inc(1);
                SeedResult {
                    seed,
                    verdict: run.verdict,
                    ops: run.results.ops.completed(),
                    events: run.results.events,
                    failed_checks: run.failed_checks(),
                    deterministic,
                }
            })
            .collect()
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let mut outcome = Outcome::Pass;
    let (pass, fail, unknown) = rows.iter().fold((0, 0, 0), |(p, f, u), r| match r.verdict {
        Verdict::Pass => (p + 1, f, u),
        Verdict::Fail => (p, f + 1, u),
        Verdict::Unknown => (p, f, u + 1),
    });
    let ops: u64 = rows.iter().map(|r| r.ops).sum();
    let events: u64 = rows.iter().map(|r| r.events).sum();
    println!(
        "{} ({}), seeds {}..{}",
        scenario.name, scenario.cluster.protocol, range.start, range.end
    );
    println!(
        "{:>8} {:>8} {:>8} {:>8} {:>12} {:>14} {:>10}",
        "seeds", "pass", "fail", "unknown", "ops", "events", "seeds/s"
    );
    println!(
        "{:>8} {:>8} {:>8} {:>8} {:>12} {:>14} {:>10.1}",
        count,
        pass,
        fail,
        unknown,
        ops,
        events,
        count as f64 / elapsed.max(1e-9)
    );
    for r in rows
        .iter()
        .filter(|r| r.verdict != Verdict::Pass || !r.deterministic)
    {
        outcome = outcome.max(outcome_of(r.verdict));
        let what = if r.deterministic {
            r.failed_checks.join(", ")
        } else {
            "NOT DETERMINISTIC".to_string()
        };
        if !r.deterministic {
            outcome = outcome.max(Outcome::Fail);
        }
        println!(
            "seed {:>6} {:?} ({what}): zksim run {} --seed {}",
            r.seed, r.verdict, scenario_path, r.seed
        );
    }
    if fail + unknown > 0 {
        println!("store: {}", dir.display());
    }
    let errors = store_errors.into_inner().expect("not poisoned");
    if !errors.is_empty() {
        bail!(
            "some store folders could not be written:\n{}",
            errors.join("\n")
        );
    }
    Ok(outcome)
}
