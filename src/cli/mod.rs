//! Command-line definitions and the exit-code contract shared by every subcommand.

mod bench;
mod check;
mod compare;
mod conformance;
mod run;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::Path;
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

/// Why a file's text could not be read: the 1-based line, for bytes that are not UTF-8.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// The reason is part of the message, not a source, so that it is printed once.
    #[error("cannot read the file: {0}")]
    Io(std::io::Error),
    #[error("not valid UTF-8 (line {line}, byte {byte} of the line)")]
    Utf8 { line: usize, byte: usize },
}

/// Reads a file as UTF-8 text, naming the line of the first byte that is not.
pub fn read_text(path: &Path) -> Result<String, Unreadable> {
    let bytes = std::fs::read(path).map_err(Unreadable::Io)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        Unreadable::Utf8 {
            line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
            byte: valid.len() - line_start + 1,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_utf8_is_reported_with_its_line() {
        let path = std::env::temp_dir().join(format!("zksim-utf8-{}", std::process::id()));
        std::fs::write(&path, b"one\ntwo\nab\xffc\n").unwrap();
        let e = read_text(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not valid UTF-8 (line 3, byte 3 of the line)"
        );
        std::fs::write(&path, "é\n").unwrap();
        assert_eq!(read_text(&path).unwrap(), "é\n");
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(read_text(&path), Err(Unreadable::Io(_))));
        // Through anyhow, as the commands print it, the reason appears once.
        let e = anyhow::Error::from(read_text(&std::env::temp_dir()).unwrap_err());
        assert_eq!(format!("{e:#}").matches("directory").count(), 1, "{e:#}");
    }
}
