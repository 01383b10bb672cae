//! The readers every fuzz target feeds, one entry per target, so that the fuzz targets and the
//! regression test that CI runs (`tests/fuzz_readers.rs`, which includes this file) exercise the
//! same code. A reader may refuse any input with an error; it must never panic, abort or hang.
//! What a reader accepts is taken one step further, the way `zksim check` and `zksim conformance`
//! would take it: decoded for its model and, when small, checked, or replayed.

use protocols::checks::zookeeper::{self, Level};
use sim::check::Budget;
use sim::check::formats::{self, Format};
use sim::check::models::{self, ModelKind};
use std::path::Path;

/// One reader of untrusted text, as a fuzz target names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Scenario files (`zksim::scenario::Scenario::parse`).
    Scenario,
    /// A history file in one format, read as `zksim check --format` reads it, and again with
    /// its format detected, as without `--format`.
    History(Format),
    /// Conformance traces (`protocols::znode::conformance::parse_trace`), replayed when read.
    Conformance,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::Scenario,
        Target::History(Format::Zksim),
        Target::History(Format::JepsenLog),
        Target::History(Format::PorcupineKv),
        Target::History(Format::KnossosEdn),
        Target::Conformance,
    ];

    /// The fuzz target's name, which is also its corpus folder under `fuzz/corpus/`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Scenario => "scenario",
            Target::History(Format::Zksim) => "zksim",
            Target::History(Format::JepsenLog) => "jepsen_log",
            Target::History(Format::PorcupineKv) => "porcupine_kv",
            Target::History(Format::KnossosEdn) => "knossos_edn",
            Target::Conformance => "conformance",
        }
    }
}

/// Histories with at most this many operations are also checked: enough for every model's
/// decoding and the checks' corner cases, small enough that the search never dominates a run.
const CHECKED_OPS: usize = 8;

/// Feeds `bytes` to the reader of `target`, as the command would. Bytes that are not UTF-8 never
/// reach a reader (the command refuses them first, naming the line).
pub fn read(target: Target, bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match target {
        Target::Scenario => {
            let _ = zksim::scenario::Scenario::parse(
                text,
                Path::new("fuzz.json"),
                zksim::runner::PROTOCOLS,
            );
        }
        Target::History(format) => {
            history(text, Some(format));
            history(text, None);
        }
        Target::Conformance => {
            if let Ok(trace) = protocols::znode::conformance::parse_trace(text) {
                let _ = protocols::znode::conformance::replay(&trace);
            }
        }
    }
}

fn history(text: &str, format: Option<Format>) {
    let Ok(raw) = formats::read(text, format) else {
        return;
    };
    let Ok(kind) = ModelKind::of_history(&raw) else {
        return;
    };
    if raw.ops.len() > CHECKED_OPS {
        return;
    }
    // Unlimited: the check runs on this thread, and the history is small.
    let budget = Budget::unlimited();
    if kind == ModelKind::Znode {
        let _ = protocols::znode::history::check_history(&raw, None, &budget);
        let _ = zookeeper::check(&raw, Level::ZookeeperSync, &budget);
    } else {
        let _ = models::check_history(&raw, kind, None, &budget);
    }
}
