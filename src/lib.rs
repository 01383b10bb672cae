//! The `zksim` library behind the command: scenario files and the runner that turns a scenario and a
//! seed into a checked run. The binary in `main.rs` is a thin layer over it.

// The determinism bans of clippy.toml guard `sim` and `protocols`, which run inside a world. This
// crate drives worlds from outside: it times runs with the wall clock and runs seeds on threads.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod bench;
pub mod compare;
pub mod compare_page;
pub mod page;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod shrink;
pub mod store;
pub mod swarm;
pub mod sweep;
pub mod text;
