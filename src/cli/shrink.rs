//! `zksim shrink`: from a failing seed to a much smaller scenario that fails the same check with
//! the same seed (`zksim::shrink`), written as a scenario file that `zksim run` replays.

use super::Outcome;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use zksim::runner::PROTOCOLS;
use zksim::scenario::Scenario;
use zksim::shrink::{self, Target};

/// Shrinks a failing run.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Runs SCENARIO with --seed and, if a check fails, searches for a much smaller scenario \
                  that fails the same check with the same seed: the random faults that fired are frozen \
                  into a script, then faults are dropped and shortened, clients and replicas dropped, the \
                  workload and the run shortened, operation kinds and watches dropped and the network \
                  calmed, each step kept only if the check still fails. The search is bounded by a number \
                  of runs (--max-runs), never by time, so it finds the same scenario on every machine. \
                  Writes the shrunk scenario (its seed and variant in it) and prints what shrank and the \
                  command that replays it."
)]
pub struct Args {
    /// The scenario whose run fails.
    pub scenario: PathBuf,
    /// The failing seed.
    #[arg(long)]
    pub seed: u64,
    /// Run this protocol instead of the scenario's (as `zksim run --protocol`).
    #[arg(long)]
    pub protocol: Option<String>,
    /// Run this variant of the scenario's protocol (as `zksim run --variant`).
    #[arg(long)]
    pub variant: Option<String>,
    /// The check that must keep failing (default: the first check the run fails).
    #[arg(long, value_name = "NAME")]
    pub check: Option<String>,
    /// The most runs the search may make.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_runs: u32,
    /// Where to write the shrunk scenario (default: beside the run's store folder,
    /// store/<scenario>/<protocol>-<variant>/seed-<seed>-shrunk.json).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Parallel runs while searching (default: every core; the result does not depend on it).
    #[arg(long, value_parser = super::parse_jobs)]
    pub jobs: Option<usize>,
}

pub fn main(args: Args) -> Result<Outcome> {
    let mut scenario = Scenario::load(&args.scenario, PROTOCOLS)?;
    if let Some(p) = &args.protocol {
        scenario = scenario
            .with_protocol(p, PROTOCOLS)
            .map_err(|e| anyhow::anyhow!("{}: --protocol: {e}", args.scenario.display()))?;
    }
    if let Some(v) = &args.variant {
        scenario = scenario
            .with_variant(v, PROTOCOLS)
            .map_err(|e| anyhow::anyhow!("{}: --variant: {e}", args.scenario.display()))?;
    }
    let target = Target {
        seed: args.seed,
        variant: args.variant.clone(),
        check: args.check.clone(),
        max_runs: args.max_runs as usize,
    };
    let pool = super::worker_pool(args.jobs)?;
    let shrunk = pool
        .install(|| shrink::shrink(&scenario, &target))
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.scenario.display()))?;
    let resolved = &shrunk.scenario;
    let out = args.out.clone().unwrap_or_else(|| {
        Path::new("store")
            .join(&scenario.name)
            .join(format!(
                "{}-{}",
                resolved.cluster.protocol,
                resolved.cluster.variant.clone().unwrap_or_default()
            ))
            .join(format!("seed-{}-shrunk.json", args.seed))
    });
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut written = resolved.clone();
    written.description = format!(
        "Shrunk by `zksim shrink {} --seed {}{}{}` in {} runs: fails check {} ({}). Steps: {}.",
        args.scenario.display(),
        args.seed,
        args.protocol
            .as_ref()
            .map(|p| format!(" --protocol {p}"))
            .unwrap_or_default(),
        args.variant
            .as_ref()
            .map(|v| format!(" --variant {v}"))
            .unwrap_or_default(),
        shrunk.runs,
        shrunk.check,
        shrunk.reductions(),
        shrunk.steps.join("; ")
    );
    let text = serde_json::to_string_pretty(&written).expect("a scenario serializes") + "\n";
    std::fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "shrunk {} seed {} (fails {}) in {} runs:",
        scenario.name, args.seed, shrunk.check, shrunk.runs
    );
    println!("  {}", shrunk.reductions());
    for step in &shrunk.steps {
        println!("  - {step}");
    }
    println!("written: {}", out.display());
    println!(
        "replay: {}",
        zksim::runner::replay_command(&out.display().to_string(), args.seed, None, None)
    );
    println!("trace {}", shrunk.trace_hash);
    Ok(Outcome::Fail)
}
