//! The `zksim` command: a thin layer that reads files and flags, calls the library crates, writes
//! outputs and maps verdicts to exit codes. Only this crate touches files, stdout and exit codes.

// The determinism bans of clippy.toml guard `sim` and `protocols`, which run inside a world. This
// crate drives worlds from outside: it times runs with the wall clock and runs seeds on threads.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    end_quietly_on_closed_pipe();
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            eprintln!("zksim: error: {err:#}");
            cli::Outcome::BadInput.exit_code()
        }
    }
}

/// Writing to a closed pipe (`zksim check ... | head -1`) ends the process quietly, as it does for
/// Unix tools, instead of panicking in `println!`: Rust ignores SIGPIPE by default, so restore the
/// default action. Everything a command computes is written to its files before it prints.
fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid
    // action for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
