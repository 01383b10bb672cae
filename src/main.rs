//! The `zksim` command: a thin layer that reads files and flags, calls the library crates, writes
//! outputs and maps verdicts to exit codes. Only this crate touches files, stdout and exit codes.

// The determinism bans of clippy.toml guard `sim` and `protocols`, which run inside a world. This
// crate drives worlds from outside: it times runs with the wall clock and runs seeds on threads.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            eprintln!("zksim: error: {err:#}");
            cli::Outcome::BadInput.exit_code()
        }
    }
}
