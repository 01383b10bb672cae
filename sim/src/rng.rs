//! Named random streams derived from one master seed.
//!
//! Every consumer of randomness in a run (the network, the disks, the nemesis, each process) draws
//! from its own ChaCha8 stream: the key comes from the run's seed, the stream number from the
//! consumer's name. Adding a consumer therefore never shifts the numbers another one sees. This module
//! must never offer a source of randomness that is not derived from the seed.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The exact `rand_chacha` version every stream comes from; recorded in each run's results, because a
/// different version could give different numbers for the same seed.
pub const RAND_CHACHA_VERSION: &str = "0.10.0";

/// The generator every stream uses.
pub type SimRng = ChaCha8Rng;

/// Derives one stream per name from a master seed.
#[derive(Clone, Copy, Debug)]
pub struct Streams {
    seed: u64,
}

impl Streams {
    pub fn new(seed: u64) -> Streams {
        Streams { seed }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The stream called `name`: same seed and name, same numbers, on any machine.
    pub fn stream(&self, name: &str) -> SimRng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(xxhash_rust::xxh64::xxh64(name.as_bytes(), 0));
        rng
    }
}

/// A probability as an integer ratio `num / den`, so that no float decides an event.
///
/// In scenario files it is written as `"1/100"`, `"2.5%"`, or a number in `[0, 1]` such as `0.01`;
/// decimals are converted exactly to parts per billion when the file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

impl Ratio {
    pub const NEVER: Ratio = Ratio { num: 0, den: 1 };
    pub const ALWAYS: Ratio = Ratio { num: 1, den: 1 };

    pub fn new(num: u64, den: u64) -> Result<Ratio, String> {
        if den == 0 {
            return Err("the denominator of a probability must not be 0".into());
        }
        if num > den {
            return Err(format!("a probability must be at most 1, got {num}/{den}"));
        }
        Ok(Ratio { num, den })
    }

    pub fn is_never(&self) -> bool {
        self.num == 0
    }

    /// Draws one Bernoulli trial from `rng`. Draws nothing when the outcome is certain, so that a
    /// zero probability leaves the stream untouched.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> bool {
        if self.num == 0 {
            false
        } else if self.num >= self.den {
            true
        } else {
            rng.random_range(0..self.den) < self.num
        }
    }
}

impl Default for Ratio {
    fn default() -> Ratio {
        Ratio::NEVER
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

const BILLION: u64 = 1_000_000_000;

/// Parses a decimal such as `0.015` exactly into parts per `scale` (no float involved).
fn parse_decimal(s: &str, scale: u64) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut value = int.checked_mul(scale)?;
    let mut unit = scale;
    for c in frac.chars() {
        unit /= 10;
        if unit == 0 {
            // Finer than the scale resolves: digits beyond it must be zero.
            if c != '0' {
                return None;
            }
            continue;
        }
        value = value.checked_add(unit * c.to_digit(10)? as u64)?;
    }
    Some(value)
}

impl FromStr for Ratio {
    type Err = String;
    fn from_str(s: &str) -> Result<Ratio, String> {
        let s = s.trim();
        let bad = || format!("expected a probability such as \"1/100\", \"1%\" or 0.01, got {s:?}");
        if let Some((n, d)) = s.split_once('/') {
            let num = n.trim().parse::<u64>().map_err(|_| bad())?;
            let den = d.trim().parse::<u64>().map_err(|_| bad())?;
            return Ratio::new(num, den);
        }
        if let Some(p) = s.strip_suffix('%') {
            let num = parse_decimal(p.trim(), BILLION / 100).ok_or_else(bad)?;
            return Ratio::new(num, BILLION);
        }
        let num = parse_decimal(s, BILLION).ok_or_else(bad)?;
        Ratio::new(num, BILLION)
    }
}

impl Serialize for Ratio {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ratio, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(serde_json::Number),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(t) => t,
            // The number's own decimal text, so that 0.1 stays exactly one tenth.
            Raw::Number(n) => n.to_string(),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let s = Streams::new(42);
        let a1: Vec<u64> = (0..4).map(|_| s.stream("network").random()).collect();
        let mut n = s.stream("network");
        let a2: Vec<u64> = (0..4).map(|_| n.random()).collect();
        let mut other = s.stream("nemesis");
        let b: u64 = other.random();
        assert_eq!(a2[0], a1[0]);
        assert_ne!(a2[0], b);
        assert_ne!(
            Streams::new(43).stream("network").random::<u64>(),
            Streams::new(42).stream("network").random::<u64>()
        );
    }

    #[test]
    fn ratios_parse_exactly() {
        assert_eq!(
            "1/100".parse::<Ratio>().unwrap(),
            Ratio { num: 1, den: 100 }
        );
        assert_eq!(
            "1%".parse::<Ratio>().unwrap(),
            Ratio {
                num: 10_000_000,
                den: BILLION
            }
        );
        assert_eq!(
            "0.1".parse::<Ratio>().unwrap(),
            Ratio {
                num: 100_000_000,
                den: BILLION
            }
        );
        assert_eq!(
            "1".parse::<Ratio>().unwrap(),
            Ratio {
                num: BILLION,
                den: BILLION
            }
        );
        assert!("1.5".parse::<Ratio>().is_err());
        assert!("3/2".parse::<Ratio>().is_err());
        assert!("1/0".parse::<Ratio>().is_err());
        assert!("-0.1".parse::<Ratio>().is_err());
        assert!("abc".parse::<Ratio>().is_err());
        let r: Ratio = serde_json::from_str("0.25").unwrap();
        assert_eq!(
            r,
            Ratio {
                num: 250_000_000,
                den: BILLION
            }
        );
    }

    #[test]
    fn zero_probability_draws_nothing() {
        let s = Streams::new(1);
        let mut a = s.stream("x");
        let mut b = s.stream("x");
        assert!(!Ratio::NEVER.sample(&mut a));
        assert_eq!(a.random::<u64>(), b.random::<u64>());
    }
}
