//! What a sweep tells a machine: every seed's verdict, trace hash, failing checks and replay
//! command (`--json FILE`, a [`SweepFile`]), the same as JUnit XML for CI systems (`--junit FILE`),
//! the split of a seed range into shards (`--shard K/N`), and the merge of the shards' summaries
//! into the summary of the whole range (`zksim merge`).
//!
//! Everything here is a pure function of the runs' results: no wall time and no host name, so
//! that the merge of N shards is byte for byte the summary of the unsharded sweep. This module
//! builds values and text; the CLI writes the files.

use crate::runner::{self, Run, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The format name and version written in every summary file.
pub const FORMAT: &str = "zksim-sweep";
pub const VERSION: u32 = 1;

/// A summary file: one or more sweeps (a `zksim run --seeds` writes one, a `zksim compare` one per
/// configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    pub format: String,
    pub version: u32,
    pub sweeps: Vec<Sweep>,
}

impl SweepFile {
    pub fn new(sweeps: Vec<Sweep>) -> SweepFile {
        SweepFile {
            format: FORMAT.into(),
            version: VERSION,
            sweeps,
        }
    }

    /// Reads a summary file's text; the error says what is wrong (the caller names the file).
    pub fn parse(text: &str) -> Result<SweepFile, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        let file: SweepFile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let field = match path.as_str() {
                "." | "" => String::new(),
                p => format!(" field `{p}`:"),
            };
            format!(
                "line {}:{field} {}",
                inner.line(),
                strip_position(&inner.to_string())
            )
        })?;
        if file.format != FORMAT || file.version != VERSION {
            return Err(format!(
                "not a zksim sweep summary (format {:?} version {}; expected {FORMAT:?} version {VERSION})",
                file.format, file.version
            ));
        }
        Ok(file)
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a summary serializes");
        text.push('\n');
        text
    }
}

/// serde_json appends " at line L column C" to its messages; the caller reports the position.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
}

/// Which part of a seed range a sweep ran: shard `index` (1-based) of `count` runs the seeds
/// whose offset from the range's start is `index - 1` modulo `count`, so that every shard gets
/// an even share of early and late seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("expected K/N with 1 <= K <= N (e.g. 2/8), got {s:?}");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if !(1..=count).contains(&index) {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn holds(&self, start: u64, seed: u64) -> bool {
        (seed - start) % self.count == self.index - 1
    }

    /// How many seeds of `start..end` this shard runs.
    pub fn len(&self, start: u64, end: u64) -> u64 {
        let total = end - start;
        total / self.count + u64::from(total % self.count >= self.index)
    }
}

/// The seeds a sweep covers: `start..end` (end excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

/// One configuration run over a range of seeds (or one shard of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    pub zksim_version: String,
    pub scenario: String,
    /// The scenario file as the replay commands name it.
    pub scenario_path: String,
    pub protocol: String,
    pub variant: String,
    /// The protocol given on the command line, if any (replay commands name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_override: Option<String>,
    /// The variant given on the command line, if any (replay commands name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_override: Option<String>,
    pub seeds: Span,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    pub pass: u64,
    pub fail: u64,
    pub unknown: u64,
    /// Every seed run, in seed order.
    pub runs: Vec<SeedResult>,
}

/// One seed's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedResult {
    pub seed: u64,
    pub verdict: Verdict,
    /// Absent when the run panicked (it has no trace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_hash: Option<String>,
    /// The checks that did not pass, with a short reason each (`panic: ...` for a panic).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_checks: Vec<String>,
    pub replay: String,
}

impl SeedResult {
    pub fn of_run(run: &Run) -> SeedResult {
        SeedResult {
            seed: run.results.seed,
            verdict: run.verdict,
            trace_hash: Some(run.results.trace_hash.clone()),
            failed_checks: run.failed_checks(),
            replay: run.results.replay.clone(),
        }
    }

    pub fn of_panic(p: &runner::Panicked) -> SeedResult {
        SeedResult {
            seed: p.seed,
            verdict: Verdict::Fail,
            trace_hash: None,
            failed_checks: vec![format!("panic: {}", p.message)],
            replay: p.replay.clone(),
        }
    }
}

impl Sweep {
    /// A sweep from its configuration and its seeds' results (in any order).
    pub fn new(config: SweepConfig, mut runs: Vec<SeedResult>) -> Sweep {
        runs.sort_by_key(|r| r.seed);
        let count = |v: Verdict| runs.iter().filter(|r| r.verdict == v).count() as u64;
        Sweep {
            zksim_version: env!("CARGO_PKG_VERSION").into(),
            pass: count(Verdict::Pass),
            fail: count(Verdict::Fail),
            unknown: count(Verdict::Unknown),
            scenario: config.scenario,
            scenario_path: config.scenario_path,
            protocol: config.protocol,
            variant: config.variant,
            protocol_override: config.protocol_override,
            variant_override: config.variant_override,
            seeds: config.seeds,
            shard: config.shard,
            runs,
        }
    }

    /// The worst verdict of its seeds.
    pub fn verdict(&self) -> Verdict {
        self.runs
            .iter()
            .map(|r| r.verdict)
            .max()
            .unwrap_or(Verdict::Pass)
    }

    /// What identifies the configuration and range, shard aside: the merge joins sweeps whose key
    /// is equal.
    fn key(
        &self,
    ) -> (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        u64,
        u64,
    ) {
        (
            self.zksim_version.clone(),
            self.scenario.clone(),
            self.scenario_path.clone(),
            self.protocol.clone(),
            self.variant.clone(),
            self.protocol_override.clone(),
            self.variant_override.clone(),
            self.seeds.start,
            self.seeds.end,
        )
    }

    /// The JUnit suite: one test case per seed, a failure carrying the failing checks and the
    /// replay command, an undecided run an error.
    pub fn junit_suite(&self) -> quick_junit::TestSuite {
        use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new(format!(
            "{} [{} {}]",
            self.scenario, self.protocol, self.variant
        ));
        for r in &self.runs {
            let status = match r.verdict {
                Verdict::Pass => TestCaseStatus::success(),
                other => {
                    let kind = if other == Verdict::Fail {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut status = TestCaseStatus::non_success(kind);
                    let what = if other == Verdict::Fail {
                        "failed"
                    } else {
                        "no verdict"
                    };
                    status.set_message(format!(
                        "{what}: {}; replay: {}",
                        r.failed_checks.join(", "),
                        r.replay
                    ));
                    status.set_type(other.name());
                    status
                }
            };
            let mut case = TestCase::new(format!("seed-{}", r.seed), status);
            case.set_classname(format!(
                "{}.{}.{}",
                self.scenario, self.protocol, self.variant
            ));
            suite.add_test_case(case);
        }
        suite
    }
}

/// What a sweep ran, besides its results.
pub struct SweepConfig {
    pub scenario: String,
    pub scenario_path: String,
    pub protocol: String,
    pub variant: String,
    pub protocol_override: Option<String>,
    pub variant_override: Option<String>,
    pub seeds: Span,
    pub shard: Option<Shard>,
}

/// JUnit XML of some sweeps, one suite each.
pub fn junit(sweeps: &[Sweep]) -> String {
    let mut report = quick_junit::Report::new("zksim");
    for s in sweeps {
        report.add_test_suite(s.junit_suite());
    }
    report.to_string().expect("a JUnit report serializes")
}

/// Merges the summaries of the shards of one or more sweeps: the sweeps of one configuration and
/// range are joined if their shards, all of one count, are each present exactly once; the result
/// is what the unsharded sweep writes. Sweeps that were not sharded pass through. On error, what
/// is missing or inconsistent.
pub fn merge(files: Vec<SweepFile>) -> Result<SweepFile, String> {
    type Key = (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        u64,
        u64,
    );
    let mut groups: BTreeMap<Key, Vec<Sweep>> = BTreeMap::new();
    let mut order: Vec<Key> = Vec::new();
    for sweep in files.into_iter().flat_map(|f| f.sweeps) {
        let key = sweep.key();
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(sweep);
    }
    let mut merged = Vec::new();
    for key in order {
        let mut parts = groups.remove(&key).expect("grouped");
        let name = format!(
            "{} [{} {}] seeds {}..{}",
            parts[0].scenario, parts[0].protocol, parts[0].variant, key.7, key.8
        );
        if parts.len() == 1 && parts[0].shard.is_none() {
            merged.push(parts.pop().expect("one"));
            continue;
        }
        let count = match parts[0].shard {
            Some(s) => s.count,
            None => {
                return Err(format!(
                    "{name}: an unsharded summary given twice, or beside shards"
                ));
            }
        };
        if let Some(p) = parts
            .iter()
            .find(|p| p.shard.is_none_or(|s| s.count != count))
        {
            return Err(format!(
                "{name}: shards of {count} mixed with {}",
                p.shard
                    .map_or("an unsharded summary".to_string(), |s| format!(
                        "shards of {}",
                        s.count
                    ))
            ));
        }
        parts.sort_by_key(|p| p.shard.expect("checked").index);
        for w in parts.windows(2) {
            if w[0].shard == w[1].shard {
                let s = w[0].shard.expect("checked");
                return Err(format!("{name}: shard {}/{} given twice", s.index, s.count));
            }
        }
        let present: Vec<u64> = parts
            .iter()
            .map(|p| p.shard.expect("checked").index)
            .collect();
        let missing: Vec<String> = (1..=count)
            .filter(|i| !present.contains(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        if !missing.is_empty() {
            return Err(format!("{name}: missing shards {}", missing.join(", ")));
        }
        let first = &parts[0];
        let config = SweepConfig {
            scenario: first.scenario.clone(),
            scenario_path: first.scenario_path.clone(),
            protocol: first.protocol.clone(),
            variant: first.variant.clone(),
            protocol_override: first.protocol_override.clone(),
            variant_override: first.variant_override.clone(),
            seeds: first.seeds,
            shard: None,
        };
        let runs: Vec<SeedResult> = parts.into_iter().flat_map(|p| p.runs).collect();
        merged.push(Sweep::new(config, runs));
    }
    Ok(SweepFile::new(merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_a_range_evenly_and_exactly() {
        for count in 1..6u64 {
            let mut seen = [0; 23];
            for index in 1..=count {
                let shard = Shard { index, count };
                let held: Vec<u64> = (7..30).filter(|&s| shard.holds(7, s)).collect();
                assert_eq!(held.len() as u64, shard.len(7, 30));
                for s in held {
                    seen[(s - 7) as usize] += 1;
                }
            }
            assert!(
                seen.iter().all(|&n| n == 1),
                "every seed in exactly one shard"
            );
        }
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
    }
}
