//! (to be written)
use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn main(_args: Args) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
