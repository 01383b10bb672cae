//! The `zksim` library behind the command: scenario files and the runner that turns a scenario and a
//! seed into a checked run. The binary in `main.rs` is a thin layer over it.

pub mod scenario;
pub mod report;
pub mod runner;
pub mod store;
pub mod bench;
