//! `zksim merge`: joins the `--json` summaries of a sweep's shards (`zksim run --shard K/N`, on as
//! many machines as there are shards) into the summary of the whole sweep, prints it as a sweep
//! does (every seed that did not pass, with its replay command), and writes the merged summary and
//! its JUnit report. The merge itself is `zksim::sweep::merge`'s.

use super::Outcome;
use anyhow::{Context, Result};
use std::path::PathBuf;
use zksim::runner::Verdict;
use zksim::sweep::{self, SweepFile};

/// Merges shard summaries.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Joins the --json summaries written by `zksim run --seeds A..B --shard K/N --json FILE` \
                  (one per shard, in any order; every shard of a sweep must be there once) into the \
                  summary the unsharded sweep writes, seed for seed. Summaries of several sweeps may \
                  be merged at once; a summary that was not sharded passes through. Prints each \
                  sweep's counts and every seed that did not pass, with its replay command, and exits \
                  by the same contract as `zksim run`. See docs/ci.md."
)]
pub struct Args {
    /// The shards' summary files (`--json` of `zksim run` or `zksim compare`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write the merged summary here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the merged JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

pub fn main(args: Args) -> Result<Outcome> {
    let mut files = Vec::new();
    for path in &args.files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the file", path.display()))?;
        let file =
            SweepFile::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        files.push(file);
    }
    let merged = sweep::merge(files).map_err(anyhow::Error::msg)?;
    let mut outcome = Outcome::Pass;
    for s in &merged.sweeps {
        println!(
            "{} ({} {}), seeds {}..{}: {} seeds, {} pass, {} fail, {} unknown",
            s.scenario,
            s.protocol,
            s.variant,
            s.seeds.start,
            s.seeds.end,
            s.runs.len(),
            s.pass,
            s.fail,
            s.unknown
        );
        for r in s.runs.iter().filter(|r| r.verdict != Verdict::Pass) {
            println!(
                "seed {:>6} {} ({}): {}",
                r.seed,
                r.verdict.name(),
                r.failed_checks.join(", "),
                r.replay
            );
        }
        outcome = outcome.max(Outcome::from(s.verdict()));
    }
    if let Some(path) = &args.json {
        std::fs::write(path, merged.to_json())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, sweep::junit(&merged.sweeps))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(outcome)
}
