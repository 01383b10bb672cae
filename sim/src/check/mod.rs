//! History checkers. This module owns the generic linearizability checker and the `Model` trait every
//! sequential specification implements; the simple models (register, cas-register, kv,
//! multi-register, mutex) live beside it. It checks a finished history and never runs inside a world,
//! so it is the one part of `sim` that may use threads and a wall-clock budget; it must still give
//! the same verdict and counterexample for the same history every time.
//!
//! Map: `run::check` is the entry point (budget, parts in parallel, counterexample); `linear` is
//! the search over one part; `verdict` the answer; `models` the simple models and the dispatch
//! from a read history to them; `formats` (with `edn` and `datum`) reads history files.

pub mod budget;
pub mod datum;
pub mod edn;
pub mod error;
pub mod formats;
mod linear;
pub mod models;
pub mod run;
pub mod verdict;

pub use budget::{Budget, Deadline, UnknownReason};
pub use error::Error;
pub use run::check;
pub use verdict::{CheckResult, CheckStats, Counterexample, Verdict};

use std::fmt::Debug;
use std::hash::Hash;

/// One operation of a history, as the checker sees it: what was asked, what was answered, and the
/// interval in which it happened.
///
/// `call` and `ret` are positions in the history's event order (not wall or virtual times), so that
/// two events at the same virtual instant keep the order in which they were recorded. Operation A
/// precedes B in real time iff `a.ret < b.call`.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation<I, O> {
    /// The client process that issued it.
    pub process: u64,
    pub input: I,
    /// `None` when the answer is unknown (an `info` completion, or no completion at all): the
    /// operation may have taken effect once at any point after `call`, or never.
    pub output: Option<O>,
    pub call: u64,
    /// `u64::MAX` when the outcome is unknown. This, not `output`, is what lets the search leave
    /// the operation out: an operation with a finite `ret` and no `output` completed with an
    /// answer nobody saw, so it took effect inside its interval.
    pub ret: u64,
    /// Where the operation's invocation is in its source (line number, 1-based), for reports.
    pub line: usize,
}

/// The operations of a history, decoded for the model `M`.
pub type History<M> = Vec<Operation<<M as Model>::Input, <M as Model>::Output>>;

impl<I, O> Operation<I, O> {
    /// May have taken effect at any point after its invocation, or never.
    pub fn is_indeterminate(&self) -> bool {
        self.ret == u64::MAX
    }
}

/// A sequential specification: the state machine a history must be explainable by.
pub trait Model: Sync {
    /// The model's state. `Hash` serves the checker's memo only, within one process.
    type State: Clone + Eq + Hash + Debug + Send + Sync;
    type Input: Clone + Debug + Send + Sync;
    type Output: Clone + Debug + Send + Sync;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Applies one operation to `state`. Returns the next state if `output` is a possible answer of
    /// `input` in `state`, `None` if it is not. `output` is `None` for an operation whose answer is
    /// unknown: the step then returns the state the operation would leave, or `None` if the
    /// operation cannot take effect in `state` at all (e.g. acquiring a held lock); the search
    /// then places it elsewhere or, being indeterminate, nowhere.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Splits a history into parts that can be checked independently (P-compositionality): each
    /// part is a list of indices into `ops`. The default keeps the history whole.
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..ops.len()).collect()]
    }

    /// One operation in words, for counterexamples.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(o) => format!("{input:?} -> {o:?}"),
            None => format!("{input:?} -> ?"),
        }
    }

    /// A state in words, for counterexamples.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }

    /// What operation `input` read or changed, stepping from `before` to `after`, in words: what
    /// a counterexample's text shows at each step (a model with a large state shows only the part
    /// the operation touches; by default, the whole state after it).
    fn describe_change(
        &self,
        before: &Self::State,
        after: &Self::State,
        input: &Self::Input,
    ) -> String {
        let _ = (before, input);
        self.describe_state(after)
    }

    /// The model to check `ops` with, a history like the one this model was built for but with
    /// some operations made indeterminate (the counterexample's shrinking). A model that learned
    /// facts from its history's answers must forget those the relaxed operations gave: else it
    /// refuses orders the relaxed history allows, and the shrinking blames too few operations.
    /// `None` (the default): this model suits any history.
    fn relaxed(&self, _ops: &[Operation<Self::Input, Self::Output>]) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }

    /// Heap bytes `state` owns beyond `size_of::<State>()` (strings, maps), for the memory budget.
    /// An estimate is enough; the default suits states that own no heap memory.
    fn state_heap_bytes(&self, _state: &Self::State) -> usize {
        0
    }
}
