//! Command-line definitions and the exit-code contract shared by every subcommand.

mod bench;
mod check;
mod compare;
mod conformance;
mod run;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Printed under every `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  every check passed
  1  a check failed (a violation, a mismatch, a failing seed)
  2  bad input or usage (unreadable or malformed file, unknown option)
  3  no verdict could be reached (a time or memory budget ran out)";

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
}

/// The result of a subcommand, ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Fail,
    BadInput,
    Unknown,
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
