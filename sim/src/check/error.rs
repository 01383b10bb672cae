//! The one error type of the checker area: everything that makes a history unreadable or a check
//! impossible to start. A history that is readable but not linearizable is not an error: it is a
//! verdict. Every variant that comes from a file names the 1-based line; the caller (the CLI) adds
//! the file name, since this crate never opens files.

use super::formats::Format;
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Error {
    /// The line is not valid in the file's format (bad JSON or EDN, a missing or mistyped field).
    #[error("line {line}: {reason}")]
    Syntax { line: usize, reason: String },

    /// The first line of a zksim history is not a valid header.
    #[error("line {line}: bad header: {reason}")]
    BadHeader { line: usize, reason: String },

    /// An operation name the model does not know.
    #[error("line {line}: unknown operation {f:?} for model {model}")]
    UnknownOp {
        line: usize,
        f: String,
        model: String,
    },

    /// An argument or an answer of the wrong shape for the operation.
    #[error("line {line}: bad value for {f}: {reason}")]
    BadValue {
        line: usize,
        f: String,
        reason: String,
    },

    /// A line type the format does not have, or one that cannot appear there.
    #[error("line {line}: unknown line type {kind:?}")]
    UnknownType { line: usize, kind: String },

    #[error("line {line}: process {process} completes an operation it never invoked")]
    CompletionWithoutInvocation { line: usize, process: u64 },

    #[error(
        "line {line}: process {process} invokes an operation while its operation from line \
         {open_line} is still open"
    )]
    SecondInvocation {
        line: usize,
        process: u64,
        open_line: usize,
    },

    #[error(
        "line {line}: process {process} completes {f:?} but invoked {invoked:?} on line {open_line}"
    )]
    MismatchedCompletion {
        line: usize,
        process: u64,
        f: String,
        invoked: String,
        open_line: usize,
    },

    #[error("line {line}: time {time} is before the previous line's time {previous}")]
    TimeBackwards {
        line: usize,
        time: u64,
        previous: u64,
    },

    /// The content matches none of the formats (and no `--format` was given).
    #[error("unrecognised history format: {0}")]
    UnknownFormat(String),

    /// The file reads, in this format, as no operation at all: checking it would decide nothing.
    #[error("no operation in the file (read as {0})")]
    NoOperations(Format),

    #[error(
        "unknown model {0:?} (known: register, cas-register, kv, multi-register, mutex, znode)"
    )]
    UnknownModel(String),

    /// The model exists but this checker cannot check it (the znode model lives in `protocols`).
    #[error("model {0} is not one of sim's models; it is checked by the protocols crate")]
    NotASimModel(String),

    #[error("bad initial state for {model}: {reason}")]
    BadInitial { model: String, reason: String },

    /// An `Operation` handed to the checker by code is inconsistent (e.g. it returns before it is
    /// called). Readers never produce these.
    #[error("operation {index}: {reason}")]
    InvalidOperation { index: usize, reason: String },
}

impl Error {
    /// The line the error is about, when it is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Syntax { line, .. }
            | Error::BadHeader { line, .. }
            | Error::UnknownOp { line, .. }
            | Error::BadValue { line, .. }
            | Error::UnknownType { line, .. }
            | Error::CompletionWithoutInvocation { line, .. }
            | Error::SecondInvocation { line, .. }
            | Error::MismatchedCompletion { line, .. }
            | Error::TimeBackwards { line, .. } => Some(*line),
            Error::UnknownFormat(_)
            | Error::NoOperations(_)
            | Error::UnknownModel(_)
            | Error::NotASimModel(_)
            | Error::BadInitial { .. }
            | Error::InvalidOperation { .. } => None,
        }
    }
}
