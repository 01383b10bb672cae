//! What a linearizability check answers: the verdict, the counterexample of a violation, and the
//! effort spent. Everything here is plain data (strings from the model's `describe_*`), so it
//! serializes to JSON and renders as text without knowing the model. It never computes anything.

use super::budget::UnknownReason;
use serde::Serialize;
use std::fmt::{self, Write as _};

/// The answer of one check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    pub verdict: Verdict,
    /// Operations in the history (after the reader dropped those that never took effect).
    pub operations: usize,
    /// Independent parts the model split the history into.
    pub parts: usize,
    pub stats: CheckStats,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    Linearizable,
    Violation(Box<Counterexample>),
    Unknown(UnknownReason),
}

impl Verdict {
    /// The verdict's name: `linearizable`, `violation` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::Violation(_) => "violation",
            Verdict::Unknown(_) => "unknown",
        }
    }
}

/// Effort, summed over the parts that were searched (not over the shrinking of a counterexample).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckStats {
    /// Model steps tried.
    pub steps: u64,
    /// Configurations (linearized set, state) stored in the memo.
    pub configurations: u64,
    /// Distinct model states stored.
    pub states: u64,
    /// Estimated bytes of memo and state table, summed over parts. Parts run in parallel, so this
    /// bounds the search's peak from above.
    pub memo_bytes_total: usize,
    /// The largest single part's estimated bytes.
    pub memo_bytes_max_part: usize,
}

/// Why a history is not linearizable.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Counterexample {
    /// The failing part and how many there are. Parts are searched in rounds of growing step
    /// limits; this is the lowest-numbered part found failing in the first round that found any,
    /// which does not depend on timing.
    pub part: usize,
    pub parts: usize,
    pub part_operations: usize,
    /// Operations of the failing part that cannot be ordered: their answers and their real-time
    /// order cannot all hold, even if every other operation of the part may have taken effect at
    /// any time after its invocation, or never. Sorted by invocation.
    pub core: Vec<OpRef>,
    /// Whether treating any one operation of `core` like the others makes the part linearizable.
    /// False when the shrinking budget ran out first (the core is then still a valid explanation,
    /// only perhaps larger than needed).
    pub core_minimal: bool,
    /// The model's initial state.
    pub initial_state: String,
    /// The longest prefix of a linearization of the failing part the search reached, each
    /// operation with the model state after it. The first such prefix in search order.
    pub longest: Vec<LinearizedStep>,
    /// After `longest`: the operation whose completion was reached without it being placed.
    pub blocking: OpRef,
    /// After `longest`: every pending operation the search could have placed next, and why none
    /// of them leads anywhere.
    pub stuck: Vec<StuckOp>,
}

/// One operation, as reports show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpRef {
    /// Index in the history's operation list.
    pub index: usize,
    /// Line of the invocation in the source file.
    pub line: usize,
    pub process: u64,
    /// The operation in words (the model's `describe_operation`).
    pub op: String,
    /// Positions of the invocation and completion in the history's event order; `ret` is absent
    /// for an indeterminate operation.
    pub call: u64,
    pub ret: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinearizedStep {
    pub op: OpRef,
    /// The model state after the operation (the model's `describe_state`).
    pub state: String,
    /// What the operation read or changed of that state (the model's `describe_change`): what
    /// the text shows.
    pub change: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StuckOp {
    pub op: OpRef,
    pub why: StuckReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StuckReason {
    /// The model rejects the operation's answer in the state reached.
    Rejected,
    /// The model accepts it, but every continuation from there was already shown to fail.
    DeadEnd,
}

/// How many steps of the longest partial linearization the text shows (the JSON has them all).
const TEXT_STEPS: usize = 12;

/// How many core operations the text shows (the JSON has them all).
const TEXT_CORE: usize = 24;

impl fmt::Display for OpRef {
    /// The operation at its line of the source: the one numbering a reader can look up (the
    /// positions in event order are in the JSON form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {:>5}  process {:>3}  {}{}",
            self.line,
            self.process,
            self.op,
            if self.ret.is_none() { "  (open)" } else { "" }
        )
    }
}

impl fmt::Display for Counterexample {
    /// A readable multi-line account: the unorderable operations, then the longest partial
    /// linearization and where it got stuck.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        let where_ = if self.parts > 1 {
            format!(" (part {} of {})", self.part + 1, self.parts)
        } else {
            String::new()
        };
        let what = match self.core.len() {
            1 => "this operation's answer cannot hold in its interval".to_string(),
            n => format!("these {n} operations' answers and real-time order cannot all hold"),
        };
        let _ = writeln!(
            s,
            "not linearizable{where_}: {what}, even if every other operation took effect at any \
             time after its invocation or not at all{}:",
            if self.core_minimal {
                ""
            } else {
                " (shrinking stopped early: perhaps not minimal)"
            }
        );
        for op in self.core.iter().take(TEXT_CORE) {
            let _ = writeln!(s, "  {op}");
        }
        if self.core.len() > TEXT_CORE {
            let _ = writeln!(
                s,
                "  ... {} more (all of them in --json)",
                self.core.len() - TEXT_CORE
            );
        }
        let _ = writeln!(
            s,
            "longest partial linearization: {} of the part's {} operations, from the initial \
             state; each step shows what it read or changed (--json has every state in full)",
            self.longest.len(),
            self.part_operations,
        );
        let skipped = self.longest.len().saturating_sub(TEXT_STEPS);
        if skipped > 0 {
            let _ = writeln!(s, "  ... {skipped} earlier steps (all of them in --json)");
        }
        for (i, step) in self.longest.iter().enumerate().skip(skipped) {
            let _ = writeln!(s, "  {:>4}. {}  => {}", i + 1, step.op, step.change);
        }
        let _ = writeln!(
            s,
            "then stuck: {} completed without being placed; no pending operation can go next:",
            self.blocking
        );
        for stuck in &self.stuck {
            let why = match stuck.why {
                StuckReason::Rejected => "the model rejects it here",
                StuckReason::DeadEnd => "accepted, but every continuation fails",
            };
            let _ = writeln!(s, "  {}: {why}", stuck.op);
        }
        f.write_str(s.trim_end())
    }
}
