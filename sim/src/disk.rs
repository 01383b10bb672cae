//! One simulated disk per process: named files of records, a page cache that holds every write at
//! once, and a durable image that holds only what an fsync made durable. A crash keeps the durable
//! image and, per the scenario's model, some of the writes that were not yet synced. This module
//! decides nothing by itself: the world asks it to write, sync and crash.

use crate::net::Latency;
use crate::rng::SimRng;
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// What a crash does to writes that no completed fsync covered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unsynced {
    /// All of them are lost.
    #[default]
    LoseAll,
    /// A random prefix of them (in write order, across files) reached the platter.
    KeepPrefix,
    /// A random prefix survives, and the write right after it was torn: its bytes are partly on
    /// disk and fail their checksum. The file reports a torn tail, which recovery must discard.
    TearLast,
}

fn default_fsync_latency() -> Latency {
    Latency::Uniform {
        min_ms: 0.5,
        max_ms: 2.0,
    }
}

/// The scenario's disk model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskConfig {
    /// How long an fsync takes. Fsyncs complete in the order they were issued.
    #[serde(default = "default_fsync_latency")]
    pub fsync_latency: Latency,
    /// What a crash does to unsynced writes.
    #[serde(default)]
    pub unsynced_on_crash: Unsynced,
}

impl Default for DiskConfig {
    fn default() -> DiskConfig {
        DiskConfig {
            fsync_latency: default_fsync_latency(),
            unsynced_on_crash: Unsynced::LoseAll,
        }
    }
}

impl DiskConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.fsync_latency
            .validate()
            .map_err(|(f, m)| (format!("fsync_latency.{f}"), m))
    }
}

/// A file: its records and whether a torn write follows them.
#[derive(Clone, Debug)]
pub struct File<R> {
    pub records: Vec<R>,
    pub torn_tail: bool,
}

impl<R> Default for File<R> {
    fn default() -> File<R> {
        File {
            records: Vec::new(),
            torn_tail: false,
        }
    }
}

#[derive(Clone, Debug)]
enum Write<R> {
    Append(&'static str, R),
    Truncate(&'static str, usize),
    Replace(&'static str, Vec<R>),
}

impl<R: Clone> Write<R> {
    fn apply(self, files: &mut BTreeMap<&'static str, File<R>>) {
        match self {
            Write::Append(name, r) => {
                let f = files.entry(name).or_default();
                f.torn_tail = false;
                f.records.push(r);
            }
            Write::Truncate(name, len) => {
                let f = files.entry(name).or_default();
                f.torn_tail = false;
                f.records.truncate(len);
            }
            Write::Replace(name, records) => {
                files.insert(
                    name,
                    File {
                        records,
                        torn_tail: false,
                    },
                );
            }
        }
    }
}

/// What a crash did to the unsynced writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashLoss {
    pub kept: usize,
    pub lost: usize,
    pub torn: bool,
}

/// A process's disk.
#[derive(Clone, Debug)]
pub struct Disk<R> {
    /// What the process reads: every write, synced or not (the page cache).
    current: BTreeMap<&'static str, File<R>>,
    /// What survives any crash.
    durable: BTreeMap<&'static str, File<R>>,
    /// Writes not yet covered by a completed fsync, with their sequence numbers.
    pending: VecDeque<(u64, Write<R>)>,
    next_seq: u64,
    pub writes_count: u64,
    pub fsyncs_count: u64,
}

impl<R> Default for Disk<R> {
    fn default() -> Disk<R> {
        Disk {
            current: BTreeMap::new(),
            durable: BTreeMap::new(),
            pending: VecDeque::new(),
            next_seq: 0,
            writes_count: 0,
            fsyncs_count: 0,
        }
    }
}

impl<R: Clone> Disk<R> {
    /// The records of `file` as the process sees them now (empty if it does not exist).
    pub fn records(&self, file: &str) -> &[R] {
        self.current
            .get(file)
            .map(|f| f.records.as_slice())
            .unwrap_or(&[])
    }

    /// Whether a torn write follows the records of `file`.
    pub fn torn_tail(&self, file: &str) -> bool {
        self.current.get(file).is_some_and(|f| f.torn_tail)
    }

    /// The records of `file` that are durable now.
    pub fn durable_records(&self, file: &str) -> &[R] {
        self.durable
            .get(file)
            .map(|f| f.records.as_slice())
            .unwrap_or(&[])
    }

    /// Number of writes not yet covered by a completed fsync.
    pub fn unsynced_count(&self) -> usize {
        self.pending.len()
    }

    fn write(&mut self, w: Write<R>) {
        self.writes_count += 1;
        w.clone().apply(&mut self.current);
        self.pending.push_back((self.next_seq, w));
        self.next_seq += 1;
    }

    pub(crate) fn append(&mut self, file: &'static str, record: R) {
        self.write(Write::Append(file, record));
    }

    pub(crate) fn truncate(&mut self, file: &'static str, len: usize) {
        self.write(Write::Truncate(file, len));
    }

    /// Replaces the whole file at once, as writing a temporary file and renaming it over the old
    /// one does: after a crash the file is wholly old or wholly new.
    pub(crate) fn replace(&mut self, file: &'static str, records: Vec<R>) {
        self.write(Write::Replace(file, records));
    }

    /// The point an fsync issued now will make durable: every write so far.
    pub(crate) fn sync_point(&mut self) -> u64 {
        self.fsyncs_count += 1;
        self.next_seq
    }

    /// An fsync covering the writes before `upto` completed.
    pub(crate) fn make_durable(&mut self, upto: u64) {
        while self.pending.front().is_some_and(|(seq, _)| *seq < upto) {
            let (_, w) = self.pending.pop_front().expect("checked non-empty");
            w.apply(&mut self.durable);
        }
    }

    /// The machine stops: the page cache is gone and the disk holds the durable image plus what the
    /// crash model lets through of the unsynced writes.
    pub(crate) fn crash(&mut self, model: Unsynced, rng: &mut SimRng) -> CrashLoss {
        let total = self.pending.len();
        let kept = match model {
            Unsynced::LoseAll => 0,
            Unsynced::KeepPrefix | Unsynced::TearLast if total == 0 => 0,
            Unsynced::KeepPrefix | Unsynced::TearLast => rng.random_range(0..=total),
        };
        let mut loss = CrashLoss {
            kept,
            lost: total - kept,
            torn: false,
        };
        for _ in 0..kept {
            let (_, w) = self.pending.pop_front().expect("kept <= pending");
            w.apply(&mut self.durable);
        }
        if model == Unsynced::TearLast
            && let Some((_, Write::Append(name, _))) = self.pending.front()
        {
            self.durable.entry(name).or_default().torn_tail = true;
            loss.torn = true;
        }
        self.pending.clear();
        self.current = self.durable.clone();
        loss
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;

    fn disk_with(writes: &[u32], synced: usize) -> Disk<u32> {
        let mut d = Disk::default();
        for (i, &w) in writes.iter().enumerate() {
            d.append("log", w);
            if i + 1 == synced {
                let p = d.sync_point();
                d.make_durable(p);
            }
        }
        d
    }

    #[test]
    fn lose_all_keeps_exactly_the_synced_writes() {
        let mut d = disk_with(&[1, 2, 3, 4, 5], 2);
        assert_eq!(d.records("log"), &[1, 2, 3, 4, 5]);
        let loss = d.crash(Unsynced::LoseAll, &mut Streams::new(1).stream("d"));
        assert_eq!(d.records("log"), &[1, 2]);
        assert_eq!(
            loss,
            CrashLoss {
                kept: 0,
                lost: 3,
                torn: false
            }
        );
    }

    #[test]
    fn keep_prefix_keeps_a_prefix_of_the_unsynced_writes() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..64 {
            let mut d = disk_with(&[1, 2, 3, 4, 5], 2);
            let loss = d.crash(Unsynced::KeepPrefix, &mut Streams::new(seed).stream("d"));
            let expect: Vec<u32> = (1..=2 + loss.kept as u32).collect();
            assert_eq!(d.records("log"), expect.as_slice());
            assert_eq!(loss.kept + loss.lost, 3);
            seen.insert(loss.kept);
        }
        assert_eq!(seen.len(), 4, "every prefix length 0..=3 occurs");
    }

    #[test]
    fn tear_last_marks_the_write_after_the_kept_prefix() {
        let mut torn = 0;
        for seed in 0..64 {
            let mut d = disk_with(&[1, 2, 3, 4, 5], 2);
            let loss = d.crash(Unsynced::TearLast, &mut Streams::new(seed).stream("d"));
            assert_eq!(d.records("log").len(), 2 + loss.kept);
            assert_eq!(d.torn_tail("log"), loss.torn);
            assert_eq!(loss.torn, loss.kept < 3);
            torn += loss.torn as u32;
        }
        assert!(torn > 0);
    }

    #[test]
    fn replace_is_atomic_and_truncate_is_a_write() {
        let mut d: Disk<u32> = Disk::default();
        d.replace("epoch", vec![1]);
        let p = d.sync_point();
        d.make_durable(p);
        d.replace("epoch", vec![2]);
        d.append("log", 7);
        d.truncate("log", 0);
        assert_eq!(d.records("epoch"), &[2]);
        d.crash(Unsynced::LoseAll, &mut Streams::new(1).stream("d"));
        assert_eq!(d.records("epoch"), &[1]);
        assert!(d.records("log").is_empty());
    }
}
