//! Command-line definitions and the exit-code contract shared by every subcommand.

mod bench;
mod check;
mod compare;
mod conformance;
mod merge;
mod run;
mod shrink;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Printed under every `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  every check passed
  1  a check failed (a violation, a mismatch, a failing or panicking seed)
  2  bad input or usage (unreadable or malformed file, unknown option)
  3  no verdict could be reached (a time, memory or event budget ran out)
Where several apply, the highest wins except 3: bad input (2) over a failure (1) over no
verdict (3) over a pass (0).";

#[derive(Parser, Debug)]
#[command(
    name = "zksim",
    version,
    about = "Deterministic simulation testbed for ZooKeeper-style coordination services",
    long_about = "zksim runs replicated coordination protocols (ZAB, and later Paxos and Raft) as \
                  deterministic state machines on a seeded virtual clock, injects network, disk and \
                  process faults, and checks every history against ZooKeeper's data model and \
                  guarantees. The same binary, scenario and seed always give the same run.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario for one seed or many, and check every run.
    #[command(after_help = EXIT_CODES)]
    Run(run::Args),
    /// Compare protocols and variants on the same seeds, workload and faults.
    #[command(after_help = EXIT_CODES)]
    Compare(compare::Args),
    /// Measure the engine and scenarios (figures for docs/PERFORMANCE.md).
    Bench(bench::Args),
    /// Check histories for linearizability or ZooKeeper's guarantees.
    #[command(after_help = EXIT_CODES)]
    Check(check::Args),
    /// Replay conformance traces recorded from a real ZooKeeper against the znode model.
    #[command(after_help = EXIT_CODES)]
    Conformance(conformance::Args),
    /// Shrink a failing seed's run to a much smaller scenario that fails the same check.
    #[command(after_help = EXIT_CODES)]
    Shrink(shrink::Args),
    /// Merge the --json summaries of a sweep's shards into the whole sweep's summary.
    #[command(after_help = EXIT_CODES)]
    Merge(merge::Args),
}

/// The result of a subcommand, ordered from best to worst, as `runner::Verdict` is: a failure
/// outweighs an undecided check, and bad input (something the user must mend before any result
/// can be trusted) outweighs both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Unknown,
    Fail,
    BadInput,
}

impl From<zksim::runner::Verdict> for Outcome {
    fn from(v: zksim::runner::Verdict) -> Outcome {
        use zksim::runner::Verdict;
        match v {
            Verdict::Pass => Outcome::Pass,
            Verdict::Unknown => Outcome::Unknown,
            Verdict::Fail => Outcome::Fail,
        }
    }
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::BadInput => 2,
            Outcome::Unknown => 3,
        })
    }
}

pub fn dispatch(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Run(args) => run::main(args),
        Command::Bench(args) => bench::main(args),
        Command::Compare(args) => compare::main(args),
        Command::Check(args) => check::main(args),
        Command::Conformance(args) => conformance::main(args),
        Command::Merge(args) => merge::main(args),
        Command::Shrink(args) => shrink::main(args),
    }
}

/// The most parallel runs `--jobs` may ask for: more threads than this help no machine, and
/// a million of them never start.
const MAX_JOBS: usize = 1024;

/// `--jobs N`: 1 to `MAX_JOBS` parallel runs.
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of parallel runs from 1 to {MAX_JOBS}, got {s:?}"
        )),
    }
}

/// The pool that runs seeds in parallel, each run single-threaded: `jobs` workers, or one per
/// core.
pub fn worker_pool(jobs: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start worker threads")
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn a_failure_outweighs_an_undecided_check_and_bad_input_both() {
        assert_eq!(Outcome::Fail.max(Outcome::Unknown), Outcome::Fail);
        assert_eq!(Outcome::Unknown.max(Outcome::Pass), Outcome::Unknown);
        assert_eq!(Outcome::BadInput.max(Outcome::Fail), Outcome::BadInput);
        let codes: Vec<_> = [
            Outcome::Pass,
            Outcome::Fail,
            Outcome::BadInput,
            Outcome::Unknown,
        ]
        .map(Outcome::exit_code)
        .to_vec();
        assert_eq!(
            codes,
            [0u8, 1, 2, 3].map(std::process::ExitCode::from).to_vec()
        );
    }
}
