//! `zksim bench`: measures the engine (events per second with trivial processes) and a scenario
//! (seeds per second). Prints figures; asserts nothing.

use super::Outcome;
use anyhow::Result;
use rayon::prelude::*;
use std::path::PathBuf;
use zksim::bench::run_ring;
use zksim::runner::{self, PROTOCOLS, RunOptions, Verdict};
use zksim::scenario::Scenario;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand, Debug)]
pub enum What {
    /// Events per second of the bare engine: tokens passed around a ring of processes that do
    /// nothing else, on one core.
    Engine {
        /// Events per measurement.
        #[arg(long, default_value_t = 20_000_000)]
        events: u64,
        /// Processes in the ring.
        #[arg(long, default_value_t = 16)]
        nodes: u32,
        /// Tokens each process starts with (how many events are queued at once).
        #[arg(long, default_value_t = 64)]
        tokens: u64,
        /// Measurements; the best and the median are reported.
        #[arg(long, default_value_t = 5)]
        repeat: u32,
    },
    /// Seeds per second of a scenario, each run single-threaded, on `--jobs` cores.
    Scenario {
        scenario: PathBuf,
        /// Run this protocol instead of the one the file names (its default variant and settings
        /// unless --variant says), as `zksim run --protocol`.
        #[arg(long)]
        protocol: Option<String>,
        /// Run this variant of the protocol instead of the one the file names.
        #[arg(long)]
        variant: Option<String>,
        /// Seeds, `A..B` or `A..=B`, as for `zksim run --seeds`.
        #[arg(long, default_value = "0..200", value_parser = super::run::parse_seeds)]
        seeds: super::run::SeedRange,
        /// Parallel runs (default: every core). At most 1024.
        #[arg(long, value_parser = super::parse_jobs)]
        jobs: Option<usize>,
    },
}

fn now() -> std::time::Instant {
    std::time::Instant::now()
}

pub fn main(args: Args) -> Result<Outcome> {
    match args.what {
        What::Engine {
            events,
            nodes,
            tokens,
            repeat,
        } => {
            let mut rates = Vec::new();
            for i in 0..repeat.max(1) {
                let started = now();
                let hash = run_ring(i as u64, nodes, tokens, events);
                let secs = started.elapsed().as_secs_f64();
                rates.push(events as f64 / secs);
                println!(
                    "run {i}: {events} events in {secs:.3} s = {:.2} M events/s (trace {hash:016x})",
                    events as f64 / secs / 1e6
                );
            }
            rates.sort_by(|a, b| a.total_cmp(b));
            println!(
                "engine: best {:.2} M events/s, median {:.2} M events/s ({nodes} nodes, {tokens} tokens each, one core)",
                rates[rates.len() - 1] / 1e6,
                rates[rates.len() / 2] / 1e6
            );
            Ok(Outcome::Pass)
        }
        What::Scenario {
            scenario: path,
            protocol,
            variant,
            seeds,
            jobs,
        } => {
            let mut scenario = Scenario::load(&path, PROTOCOLS)?;
            if let Some(p) = &protocol {
                scenario = scenario
                    .with_protocol(p, PROTOCOLS)
                    .map_err(|e| anyhow::anyhow!("{}: --protocol: {e}", path.display()))?;
            }
            if let Some(v) = &variant {
                scenario = scenario
                    .with_variant(v, PROTOCOLS)
                    .map_err(|e| anyhow::anyhow!("{}: --variant: {e}", path.display()))?;
            }
            let resolved = scenario.resolved(0, PROTOCOLS).cluster;
            let pool = super::worker_pool(jobs)?;
            let jobs = pool.current_num_threads();
            let started = now();
            let runs: Vec<(Verdict, u64, f64, u64)> = pool.install(|| {
                (seeds.start..seeds.end)
                    .into_par_iter()
                    .map(|seed| {
                        let opts = RunOptions {
                            protocol: protocol.clone(),
                            variant: variant.clone(),
                            ..RunOptions::new(seed, &path.display().to_string())
                        };
                        let r = runner::run(&scenario, opts);
                        let ops = r.results.ops.completed();
                        (r.verdict, r.results.events, r.results.virtual_time_ms, ops)
                    })
                    .collect()
            });
            let secs = started.elapsed().as_secs_f64();
            let seeds = seeds.count();
            let events: u64 = runs.iter().map(|r| r.1).sum();
            let virtual_s: f64 = runs.iter().map(|r| r.2).sum::<f64>() / 1e3;
            let ops: u64 = runs.iter().map(|r| r.3).sum();
            let failed = runs.iter().filter(|r| r.0 != Verdict::Pass).count();
            println!(
                "scenario {} [{} {}]: {seeds} seeds on {jobs} cores in {secs:.2} s",
                scenario.name,
                resolved.protocol,
                resolved.variant.unwrap_or_default()
            );
            println!(
                "  {:.1} seeds/s, {:.0} ops/seed, {:.2} M events/s in all",
                seeds as f64 / secs,
                ops as f64 / seeds as f64,
                events as f64 / secs / 1e6
            );
            println!(
                "  simulated/wall time: {:.0}x ({:.1} virtual s per wall s)",
                virtual_s / secs,
                virtual_s / secs
            );
            println!("  {failed} of {seeds} seeds did not pass");
            Ok(Outcome::Pass)
        }
    }
}
