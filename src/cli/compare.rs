//! `zksim compare`: protocols and variants side by side on the same seeds, workload and faults.

use super::Outcome;
use super::run::SeedRange;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::PathBuf;
use zksim::compare::{Report, RunDigest, Spread, Summary, Tally};
use zksim::runner::PROTOCOLS;
use zksim::scenario::Scenario;

/// Compares configurations: each scenario as written, or under each of `--protocol`, with each of
/// `--variants`.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Runs every configuration (each SCENARIO, under each of --protocol if given, with each \
                  of --variants if given) on \
                  the same seeds and prints their figures side by side, each a median over the seeds \
                  (compare.json adds the 2.5th and 97.5th percentiles): which checks failed, on how \
                  many seeds and after how many, latency quantiles of writes and reads, throughput, \
                  operations given up, messages per committed transaction against the protocol's \
                  theory, elections, and the unavailability after each lost leader (to a new leader, \
                  to the first answered write). Writes compare.json and charts to --out \
                  (docs/compare.md). --protocols is another name for --protocol."
)]
pub struct Args {
    /// Scenario files to compare.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Protocols to run each scenario under instead of the one it names, comma-separated (each
    /// with its default variant and settings unless --variants says). Recorded in every
    /// configuration's name, summary and replay command.
    #[arg(long, value_delimiter = ',', alias = "protocols")]
    pub protocol: Vec<String>,
    /// Variants to run each scenario with, comma-separated (`all` for every variant of its protocol).
    #[arg(long, value_delimiter = ',')]
    pub variants: Vec<String>,
    /// Seeds, `A..B` or `A..=B`.
    #[arg(long, default_value = "0..20", value_parser = super::run::parse_seeds)]
    pub seeds: SeedRange,
    /// Parallel runs (default: every core). At most 1024.
    #[arg(long, value_parser = super::parse_jobs)]
    pub jobs: Option<usize>,
    /// Where compare.json and the charts go.
    #[arg(long, default_value = "store/compare")]
    pub out: PathBuf,
    /// Also write a machine-readable summary of every run: one sweep per configuration, each
    /// seed's verdict, trace hash, failing checks and replay command (docs/ci.md).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a JUnit XML report: one suite per configuration, one test case per seed.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

pub fn main(args: Args) -> Result<Outcome> {
    let mut tallies = Vec::new();
    for path in &args.scenarios {
        let file = Scenario::load(path, PROTOCOLS)?;
        let path_text = path.display().to_string();
        let protocols: Vec<Option<&String>> = if args.protocol.is_empty() {
            vec![None]
        } else {
            args.protocol.iter().map(Some).collect()
        };
        for protocol in protocols {
            let scenario = match protocol {
                Some(p) => file
                    .with_protocol(p, PROTOCOLS)
                    .map_err(|e| anyhow::anyhow!("{path_text}: --protocol: {e}"))?,
                None => file.clone(),
            };
            let known = PROTOCOLS
                .iter()
                .find(|p| p.name == scenario.cluster.protocol)
                .map(|p| p.variants)
                .unwrap_or_default();
            let variants: Vec<String> = match args.variants.as_slice() {
                [] => vec![],
                [all] if all == "all" => known.iter().map(|v| v.to_string()).collect(),
                list => list.to_vec(),
            };
            let protocol = protocol.cloned();
            if variants.is_empty() {
                tallies.push(Tally::new(scenario, protocol, None, path_text.clone()));
                continue;
            }
            for v in variants {
                let s = scenario
                    .with_variant(&v, PROTOCOLS)
                    .map_err(|e| anyhow::anyhow!("{path_text}: --variants: {e}"))?;
                tallies.push(Tally::new(s, protocol.clone(), Some(v), path_text.clone()));
            }
        }
    }
    let runs = args.seeds.count().saturating_mul(tallies.len() as u64);
    if runs > MAX_RUNS {
        anyhow::bail!(
            "--seeds: {} seeds of {} configurations make {runs} runs; compare keeps every run's figures in memory and runs at most {MAX_RUNS} (use zksim run --seeds for long sweeps)",
            args.seeds.count(),
            tallies.len()
        );
    }
    let pool = super::worker_pool(args.jobs)?;
    let seeds: Vec<u64> = (args.seeds.start..args.seeds.end).collect();
    let bar = ProgressBar::new((seeds.len() * tallies.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {per_sec}, eta {eta}")
            .expect("a valid template"),
    );
    let work: Vec<(usize, u64)> = (0..tallies.len())
        .flat_map(|t| seeds.iter().map(move |&s| (t, s)))
        .collect();
    let digests: Vec<(usize, RunDigest)> = pool.install(|| {
        work.into_par_iter()
            .map(|(t, seed)| {
                let digest = tallies[t].run(seed);
                bar.inc(1);
                (t, digest)
            })
            .collect()
    });
    bar.finish_and_clear();
    for (t, digest) in digests {
        tallies[t].add(digest);
    }
    let summaries: Vec<Summary> = tallies.iter().map(Tally::summary).collect();
    let report = Report {
        seeds: zksim::sweep::Span {
            start: args.seeds.start,
            end: args.seeds.end,
        },
        spread: zksim::compare::SPREAD,
        coincidence: zksim::compare::coincidence(
            &tallies.iter().map(Tally::scenario).collect::<Vec<_>>(),
        ),
        configurations: summaries,
    };
    let summaries = &report.configurations;
    let span = zksim::sweep::Span {
        start: args.seeds.start,
        end: args.seeds.end,
    };
    let sweeps: Vec<_> = tallies.iter().map(|t| t.sweep(span)).collect();
    if let Some(path) = &args.json {
        std::fs::write(path, zksim::sweep::SweepFile::new(sweeps.clone()).to_json())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, zksim::sweep::junit(&sweeps))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    remove_old_charts(&args.out)?;
    let json = zksim::report::rounded_json(&report);
    let file = args.out.join("compare.json");
    std::fs::write(&file, json).with_context(|| format!("cannot write {}", file.display()))?;
    let page = args.out.join(zksim::compare_page::PAGE_FILE);
    std::fs::write(&page, zksim::compare_page::html(&report))
        .with_context(|| format!("cannot write {}", page.display()))?;
    charts(&args.out, summaries)?;
    paper_charts(&args.out, summaries)?;
    // Printed after every file is written: a closed pipe ends the command at its first print.
    print_table(summaries);
    for note in &report.coincidence {
        println!("note: {note}");
    }
    println!(
        "written: {}, {} and charts in {}",
        file.display(),
        page.display(),
        args.out.display()
    );
    let outcome = summaries
        .iter()
        .map(|s| {
            if s.fail > 0 {
                Outcome::Fail
            } else if s.unknown > 0 {
                Outcome::Unknown
            } else {
                Outcome::Pass
            }
        })
        .max()
        .unwrap_or(Outcome::Pass);
    Ok(outcome)
}

/// The most runs (seeds times configurations) one comparison keeps.
const MAX_RUNS: u64 = 100_000;

/// Removes the charts an earlier comparison drew in `dir` (the chart files this command writes,
/// and nothing else), so that a configuration or metric no longer compared leaves no stale chart.
fn remove_old_charts(dir: &std::path::Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stem = name
            .strip_suffix(".png")
            .or_else(|| name.strip_suffix(".svg"));
        let ours = name == "compare.json"
            || name == zksim::compare_page::PAGE_FILE
            || stem.is_some_and(|stem| {
                CHARTS.contains(&stem)
                    || PAPER_CHARTS.contains(&stem)
                    || stem.starts_with("metric-")
                    || stem.starts_with("cdf-")
            });
        if ours {
            let path = entry.path();
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// The charts for papers (as PNG and SVG) besides `cdf-<writes|reads>-<scenario>`.
const PAPER_CHARTS: &[&str] = &["unavailability", "messages-vs-theory"];

/// The charts every comparison draws (besides one `metric-<name>.png` per protocol metric).
const CHARTS: &[&str] = &[
    "write-latency-p99",
    "read-latency-p99",
    "throughput",
    "messages-per-write",
    "failed-runs",
];

fn median(x: &Option<Spread>) -> String {
    x.as_ref()
        .map_or("-".into(), |s| format!("{:.1}", s.median))
}

fn print_table(summaries: &[Summary]) {
    let width = summaries
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(10)
        .max(13);
    println!(
        "{:width$}  {:>4} {:>4} {:>4}  {:>7} {:>7} {:>7} {:>7}  {:>7} {:>6}  {:>13}  {:>5} {:>8} {:>8}",
        "configuration",
        "pass",
        "fail",
        "unkn",
        "w p50",
        "w p99",
        "r p50",
        "r p99",
        "ops/s",
        "given",
        "msg/entry(th)",
        "elect",
        "→leader",
        "→write"
    );
    for s in summaries {
        let cost = s.write_cost.as_ref().map_or("-".into(), |c| {
            format!("{} ({})", median(&c.messages_per_entry), c.theory_messages)
        });
        println!(
            "{:width$}  {:>4} {:>4} {:>4}  {:>7} {:>7} {:>7} {:>7}  {:>7} {:>6}  {:>13}  {:>5} {:>8} {:>8}",
            s.name,
            s.pass,
            s.fail,
            s.unknown,
            median(&s.write_latency_ms.p50),
            median(&s.write_latency_ms.p99),
            median(&s.read_latency_ms.p50),
            median(&s.read_latency_ms.p99),
            median(&s.throughput_ops_per_s),
            median(&s.given_up_per_run),
            cost,
            median(&s.elections),
            median(&s.unavailability.to_leader_ms),
            median(&s.unavailability.to_write_ms),
        );
    }
    println!(
        "(medians over seeds of per-seed figures, 95% intervals in compare.json; latency in ms of operations answered ok; given = operations given up per run; msg/entry = write-path messages per committed log entry, (th) the protocol's theory; elect = leaders established per run; →leader, →write = per run, the longest time in ms from a lost leader to the next one and to the first write answered under it)"
    );
    for s in summaries {
        if !s.failed_checks.is_empty() {
            let failed: Vec<String> = s
                .failed_checks
                .iter()
                .map(|(k, n)| format!("{k} on {n} seeds"))
                .collect();
            println!(
                "{}: failed {} (first at seed {}, the {} seed run)",
                s.name,
                failed.join(", "),
                s.first_failing_seed.unwrap_or_default(),
                ordinal(s.seeds_to_first_failure.unwrap_or_default())
            );
            for r in &s.failing_seeds {
                println!("    {r}");
            }
        }
    }
}

/// 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// One bar chart per figure, configurations side by side.
fn charts(dir: &std::path::Path, summaries: &[Summary]) -> Result<()> {
    let figure = |name: &str, title: &str, f: &dyn Fn(&Summary) -> Option<f64>| -> Result<()> {
        let series: Vec<(String, f64)> = summaries
            .iter()
            .filter_map(|s| Some((s.name.clone(), f(s)?)))
            .collect();
        if series.is_empty() {
            return Ok(());
        }
        let path = dir.join(format!("{name}.png"));
        reports::comparison_bars(&path, title, title, &series)
            .with_context(|| format!("cannot draw {}", path.display()))
    };
    let med = |x: &Option<Spread>| x.as_ref().map(|s| s.median);
    figure(
        "write-latency-p99",
        "write latency p99 (ms), median over seeds",
        &|s| med(&s.write_latency_ms.p99),
    )?;
    figure(
        "read-latency-p99",
        "read latency p99 (ms), median over seeds",
        &|s| med(&s.read_latency_ms.p99),
    )?;
    figure(
        "throughput",
        "answered operations per second, median over seeds",
        &|s| med(&s.throughput_ops_per_s),
    )?;
    figure(
        "messages-per-write",
        "replica messages per write, median over seeds",
        &|s| med(&s.peer_messages_per_write),
    )?;
    figure("failed-runs", "runs failing a check", &|s| {
        Some(s.fail as f64)
    })?;
    let metrics: std::collections::BTreeSet<&String> = summaries
        .iter()
        .flat_map(|s| s.protocol_metrics.keys())
        .collect();
    for m in metrics {
        figure(
            &format!("metric-{m}"),
            &format!("{m} (median over seeds)"),
            &|s| s.protocol_metrics.get(m).map(|v| v.median),
        )?;
    }
    Ok(())
}

/// The charts for papers, each as PNG and SVG: latency CDFs of each scenario's configurations on
/// one axis, the unavailability windows after lost leaders, and messages per write against theory.
fn paper_charts(dir: &std::path::Path, summaries: &[Summary]) -> Result<()> {
    let both = |name: &str,
                draw: &dyn Fn(&std::path::Path) -> Result<(), reports::ReportError>|
     -> Result<()> {
        for ext in ["png", "svg"] {
            let path = dir.join(format!("{name}.{ext}"));
            draw(&path).with_context(|| format!("cannot draw {}", path.display()))?;
        }
        Ok(())
    };
    let mut scenarios: Vec<&str> = summaries.iter().map(|s| s.scenario.as_str()).collect();
    scenarios.dedup();
    for scenario in scenarios {
        let of: Vec<&Summary> = summaries
            .iter()
            .filter(|s| s.scenario == scenario)
            .collect();
        for (class, pick) in [
            (
                "writes",
                &(|s: &Summary| s.write_latency_cdf_ms.clone())
                    as &dyn Fn(&Summary) -> Vec<[f64; 2]>,
            ),
            ("reads", &|s: &Summary| s.read_latency_cdf_ms.clone()),
        ] {
            let series: Vec<reports::CdfSeries> = of
                .iter()
                .map(|s| reports::CdfSeries {
                    name: s.name.clone(),
                    points: pick(s),
                })
                .collect();
            let title = format!("{scenario}: latency of {class} answered ok (CDF)");
            both(&format!("cdf-{class}-{}", file_name(scenario)), &|p| {
                reports::latency_cdfs(p, &title, &series)
            })?;
        }
    }
    // Crashes only: a crash is timed from the crash, other losses from when they were noticed.
    let windows: Vec<reports::Windows> = summaries
        .iter()
        .filter(|s| s.unavailability.crashes > 0)
        .map(|s| {
            let crashes = || s.unavailability.windows.iter().filter(|w| w.crashed);
            reports::Windows {
                name: s.name.clone(),
                to_leader_ms: crashes().filter_map(|w| w.to_leader_ms).collect(),
                to_write_ms: crashes().filter_map(|w| w.to_write_ms).collect(),
            }
        })
        .collect();
    if !windows.is_empty() {
        both("unavailability", &|p| {
            reports::unavailability_strips(p, "unavailability after a leader crash", &windows)
        })?;
    }
    let costs: Vec<reports::Cost> = summaries
        .iter()
        .filter_map(|s| {
            let c = s.write_cost.as_ref()?;
            let e = c.messages_per_entry.as_ref()?;
            Some(reports::Cost {
                name: s.name.clone(),
                median: e.median,
                low: e.p2_5,
                high: e.p97_5,
                theory: c.theory_messages as f64,
                formula: c.formula.clone(),
                all: c.all_messages_per_txn.as_ref().map_or(0.0, |a| a.median),
            })
        })
        .collect();
    if !costs.is_empty() {
        both("messages-vs-theory", &|p| {
            reports::cost_against_theory(
                p,
                "replica messages per committed write against theory",
                &costs,
            )
        })?;
    }
    Ok(())
}

/// `name` with every character but letters, digits, `-` and `_` as `_`, for a file name.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
