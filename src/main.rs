//! The `zksim` command.
fn main() {}
