//! The simple models public histories are written for (register, cas-register, kv,
//! multi-register, mutex), and the bridge from a read `RawHistory` to a check: choosing the model,
//! its initial state, and decoding each operation under its source's semantics (what a `fail`
//! means, whether a nil read constrains anything). The znode model is not here: it lives in
//! `protocols`, and `sim` never names it beyond refusing it with `Error::NotASimModel`.

pub mod kv;
pub mod multi_register;
pub mod mutex;
pub mod register;

use super::datum::Datum;
use super::formats::{Completion, Format, RawHistory, RawOp};
use super::{Budget, CheckResult, Error, History, Model, Operation, check};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

pub use kv::Kv;
pub use multi_register::MultiRegister;
pub use mutex::Mutex;
pub use register::{Register, Value};

/// Every model `zksim check` knows, including the znode model served by `protocols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModelKind {
    Register,
    CasRegister,
    Kv,
    MultiRegister,
    Mutex,
    Znode,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
            ModelKind::MultiRegister => "multi-register",
            ModelKind::Mutex => "mutex",
            ModelKind::Znode => "znode",
        }
    }

    /// The model a history is written for: the zksim header's, else the one its format implies
    /// (Jepsen logs: cas-register; Porcupine kv logs: kv; Knossos EDN: inferred from the operation
    /// names).
    pub fn of_history(raw: &RawHistory) -> Result<ModelKind, Error> {
        if let Some(name) = &raw.model {
            return name.parse();
        }
        Ok(match raw.format {
            Format::Zksim | Format::JepsenLog => ModelKind::CasRegister,
            Format::PorcupineKv => ModelKind::Kv,
            Format::KnossosEdn => {
                let has = |names: &[&str]| raw.ops.iter().any(|op| names.contains(&op.f.as_str()));
                if has(&["txn"]) {
                    ModelKind::MultiRegister
                } else if has(&["acquire", "release"]) {
                    ModelKind::Mutex
                } else {
                    ModelKind::CasRegister
                }
            }
        })
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<ModelKind, Error> {
        Ok(match s {
            "register" => ModelKind::Register,
            "cas-register" => ModelKind::CasRegister,
            "kv" => ModelKind::Kv,
            "multi-register" => ModelKind::MultiRegister,
            "mutex" => ModelKind::Mutex,
            "znode" => ModelKind::Znode,
            _ => return Err(Error::UnknownModel(s.into())),
        })
    }
}

/// Checks a read history for linearizability against one of sim's models.
///
/// `initial` (e.g. from `--initial`) overrides the file's initial state, which overrides the
/// format's default. `Error::NotASimModel` for the znode model.
pub fn check_history(
    raw: &RawHistory,
    kind: ModelKind,
    initial: Option<&serde_json::Value>,
    budget: &Budget,
) -> Result<CheckResult, Error> {
    let initial = initial.or(raw.initial.as_ref());
    match kind {
        ModelKind::Register => run(Register::new(kind, initial, raw.format)?, raw, budget),
        ModelKind::CasRegister => run(Register::new(kind, initial, raw.format)?, raw, budget),
        ModelKind::Kv => run(Kv::new(initial)?, raw, budget),
        ModelKind::MultiRegister => run(MultiRegister::new(initial, raw.format)?, raw, budget),
        ModelKind::Mutex => run(Mutex::new(initial)?, raw, budget),
        ModelKind::Znode => Err(Error::NotASimModel(kind.name().into())),
    }
}

/// Decodes every operation of a raw history for the model `M`.
pub fn decode<M: Decode>(model: &M, raw: &RawHistory) -> Result<History<M>, Error> {
    let mut ops = Vec::with_capacity(raw.ops.len());
    for op in &raw.ops {
        let input = model.input(op)?;
        let output = match &op.completion {
            Completion::Ok(value) => Some(model.output(op, &input, value)?),
            Completion::Fail(value) => match model.failed(op, &input, value, raw.format)? {
                Some(output) => Some(output),
                // Did not take effect: as if never invoked.
                None => continue,
            },
            Completion::Info(_) | Completion::Open => None,
        };
        ops.push(Operation {
            process: op.process,
            input,
            ret: if output.is_some() { op.ret } else { u64::MAX },
            output,
            call: op.call,
            line: op.line,
        });
    }
    Ok(ops)
}

fn run<M>(model: M, raw: &RawHistory, budget: &Budget) -> Result<CheckResult, Error>
where
    M: Decode + Send + 'static,
    M::Input: 'static,
    M::Output: 'static,
{
    let ops = decode(&model, raw)?;
    check(Arc::new(model), ops.into(), budget)
}

/// How a model reads its operations from a history file.
pub trait Decode: Model {
    /// The model's name in errors.
    fn name(&self) -> &'static str;

    /// The arguments of an invocation.
    fn input(&self, op: &RawOp) -> Result<Self::Input, Error>;

    /// The answer of an `ok` completion.
    fn output(&self, op: &RawOp, input: &Self::Input, value: &Datum)
    -> Result<Self::Output, Error>;

    /// A `fail` completion: `None` if the operation did not take effect (the default, and the
    /// meaning of `fail` in zksim and Knossos histories), or the answer it amounts to (Porcupine's
    /// etcd logs: a failed cas is a completed compare that did not match).
    fn failed(
        &self,
        _op: &RawOp,
        _input: &Self::Input,
        _value: &Datum,
        _format: Format,
    ) -> Result<Option<Self::Output>, Error> {
        Ok(None)
    }

    /// The error for an operation name this model does not have.
    fn unknown_op(&self, op: &RawOp) -> Error {
        Error::UnknownOp {
            line: op.line,
            f: op.f.clone(),
            model: self.name().into(),
        }
    }

    /// The error for a value of the wrong shape.
    fn bad_value(&self, op: &RawOp, line: usize, reason: impl Into<String>) -> Error {
        Error::BadValue {
            line,
            f: op.f.clone(),
            reason: reason.into(),
        }
    }
}

/// Shortens long strings in reports, keeping the end (where appends land) and the length.
pub(crate) fn abbreviate(s: &str) -> String {
    const KEEP: usize = 48;
    let chars = s.chars().count();
    if chars <= KEEP + 8 {
        format!("{s:?}")
    } else {
        let tail: String = s.chars().skip(chars - KEEP).collect();
        format!("\"…{}\" ({chars} chars)", tail.escape_debug())
    }
}
