//! The register and the compare-and-set register: one value, read, written and (for
//! cas-register) swapped. It owns the value type shared with multi-register and both sources'
//! semantics: Porcupine's etcd logs read nil strictly and count a failed cas as an observation;
//! Knossos treats a nil read as "not known". It never reads files.

use super::{Decode, ModelKind, abbreviate};
use crate::check::datum::Datum;
use crate::check::formats::{Format, RawOp};
use crate::check::{Error, Model};
use std::fmt;
use std::sync::Arc;

/// A register's value: nil (absent), an integer or a string. Strings are shared, so that copying
/// a state is cheap.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Nil,
    Int(i64),
    Str(Arc<str>),
}

impl Value {
    pub fn from_datum(d: &Datum) -> Result<Value, String> {
        match d {
            Datum::Nil => Ok(Value::Nil),
            Datum::Int(i) => Ok(Value::Int(*i)),
            Datum::Str(s) | Datum::Keyword(s) => Ok(Value::Str(s.as_str().into())),
            other => Err(format!(
                "{other} is not a register value (integer, string or nil)"
            )),
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Result<Value, String> {
        Value::from_datum(&Datum::from_json(v)?)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => f.write_str(&abbreviate(s)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterInput {
    Read,
    Write(Value),
    /// Compare with the first value; if equal, set the second.
    Cas(Value, Value),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// The value read.
    Read(Value),
    Written,
    /// The compare matched and the value was set.
    Swapped,
    /// The compare did not match; nothing changed. The register was observed not to hold the
    /// expected value.
    CasFailed,
}

/// A register (only read and write) or a cas-register.
#[derive(Clone, Debug)]
pub struct Register {
    pub initial: Value,
    /// Knossos: a read answering nil is always legal (nil means "value not known").
    pub nil_read_unknown: bool,
    /// Whether `cas` is an operation of this model (cas-register) or not (register).
    pub cas: bool,
}

impl Register {
    /// The register for `kind` (register or cas-register), with the initial value given or the
    /// format's default (Knossos: 0, as its tests use; otherwise nil).
    pub fn new(
        kind: ModelKind,
        initial: Option<&serde_json::Value>,
        format: Format,
    ) -> Result<Register, Error> {
        let initial = match initial {
            Some(v) => Value::from_json(v).map_err(|reason| Error::BadInitial {
                model: kind.name().into(),
                reason,
            })?,
            None if format == Format::KnossosEdn => Value::Int(0),
            None => Value::Nil,
        };
        Ok(Register {
            initial,
            nil_read_unknown: format == Format::KnossosEdn,
            cas: kind == ModelKind::CasRegister,
        })
    }
}

impl Model for Register {
    type State = Value;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn init(&self) -> Value {
        self.initial.clone()
    }

    fn step(
        &self,
        state: &Value,
        input: &RegisterInput,
        output: Option<&RegisterOutput>,
    ) -> Option<Value> {
        use RegisterOutput as O;
        match (input, output) {
            (RegisterInput::Read, None) => Some(state.clone()),
            (RegisterInput::Read, Some(O::Read(v))) => {
                (v == state || (self.nil_read_unknown && *v == Value::Nil)).then(|| state.clone())
            }
            (RegisterInput::Write(v), None | Some(O::Written)) => Some(v.clone()),
            // An indeterminate cas that takes effect swaps exactly when the compare matches.
            (RegisterInput::Cas(from, to), None) => {
                Some(if state == from { to } else { state }.clone())
            }
            (RegisterInput::Cas(from, to), Some(O::Swapped)) => (state == from).then(|| to.clone()),
            (RegisterInput::Cas(from, _), Some(O::CasFailed)) => {
                (state != from).then(|| state.clone())
            }
            _ => None,
        }
    }

    fn describe_operation(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let answer = match output {
            None => "?".to_string(),
            Some(RegisterOutput::Read(v)) => v.to_string(),
            Some(RegisterOutput::Written | RegisterOutput::Swapped) => "ok".into(),
            Some(RegisterOutput::CasFailed) => "failed (no match)".into(),
        };
        match input {
            RegisterInput::Read => format!("read -> {answer}"),
            RegisterInput::Write(v) => format!("write {v} -> {answer}"),
            RegisterInput::Cas(a, b) => format!("cas {a}->{b} -> {answer}"),
        }
    }

    fn describe_state(&self, state: &Value) -> String {
        state.to_string()
    }

    fn state_heap_bytes(&self, state: &Value) -> usize {
        match state {
            Value::Str(s) => s.len() + 16,
            _ => 0,
        }
    }
}

impl Decode for Register {
    fn name(&self) -> &'static str {
        if self.cas { "cas-register" } else { "register" }
    }

    fn input(&self, op: &RawOp) -> Result<RegisterInput, Error> {
        let value = |d: &Datum| Value::from_datum(d).map_err(|r| self.bad_value(op, op.line, r));
        match op.f.as_str() {
            "read" => Ok(RegisterInput::Read),
            "write" => Ok(RegisterInput::Write(value(&op.invoke)?)),
            "cas" if self.cas => match &op.invoke {
                Datum::Vec(pair) if pair.len() == 2 => {
                    Ok(RegisterInput::Cas(value(&pair[0])?, value(&pair[1])?))
                }
                other => {
                    Err(self.bad_value(op, op.line, format!("expected [from to], found {other}")))
                }
            },
            _ => Err(self.unknown_op(op)),
        }
    }

    fn output(
        &self,
        op: &RawOp,
        input: &RegisterInput,
        value: &Datum,
    ) -> Result<RegisterOutput, Error> {
        let line = op.completion_line.unwrap_or(op.line);
        match input {
            RegisterInput::Read => Value::from_datum(value)
                .map(RegisterOutput::Read)
                .map_err(|r| self.bad_value(op, line, r)),
            RegisterInput::Write(_) => Ok(RegisterOutput::Written),
            // zksim histories answer a cas with true (swapped) or false (no match); Jepsen and
            // Knossos repeat the arguments on success and report a mismatch as a fail.
            RegisterInput::Cas(..) => match value {
                Datum::Bool(false) => Ok(RegisterOutput::CasFailed),
                Datum::Bool(true) | Datum::Vec(_) | Datum::Nil => Ok(RegisterOutput::Swapped),
                other => Err(self.bad_value(
                    op,
                    line,
                    format!("a cas answers true or false, not {other}"),
                )),
            },
        }
    }

    fn failed(
        &self,
        _op: &RawOp,
        input: &RegisterInput,
        _value: &Datum,
        format: Format,
    ) -> Result<Option<RegisterOutput>, Error> {
        // Porcupine's etcd semantics: a failed cas completed and saw a different value. A failed
        // read there timed out with an unknown answer: it is always legal and changes nothing, so
        // dropping it cannot change the verdict. Everywhere else a fail did not take effect.
        Ok(match (format, input) {
            (Format::JepsenLog, RegisterInput::Cas(..)) => Some(RegisterOutput::CasFailed),
            _ => None,
        })
    }
}
