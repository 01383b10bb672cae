//! Knossos's mutex: a lock that is free or held, acquired only when free and released only when
//! held. It does not track the owner, as Knossos's does not. It owns the model and its decoding;
//! it never reads files.

use super::Decode;
use crate::check::datum::Datum;
use crate::check::formats::RawOp;
use crate::check::{Error, Model};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MutexInput {
    Acquire,
    Release,
}

/// A lock operation answers nothing but success; a refused one is a `fail` and did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Granted;

#[derive(Clone, Copy, Debug)]
pub struct Mutex {
    pub initially_held: bool,
}

impl Mutex {
    /// `initial`: "free" (the default) or "held"; also `false`/`true` or null.
    pub fn new(initial: Option<&serde_json::Value>) -> Result<Mutex, Error> {
        use serde_json::Value as J;
        let initially_held = match initial {
            None | Some(J::Null) | Some(J::Bool(false)) => false,
            Some(J::Bool(true)) => true,
            Some(J::String(s)) if s == "free" => false,
            Some(J::String(s)) if s == "held" => true,
            Some(other) => {
                return Err(Error::BadInitial {
                    model: "mutex".into(),
                    reason: format!("{other} is not \"free\" or \"held\""),
                });
            }
        };
        Ok(Mutex { initially_held })
    }
}

impl Model for Mutex {
    /// Whether the lock is held.
    type State = bool;
    type Input = MutexInput;
    type Output = Granted;

    fn init(&self) -> bool {
        self.initially_held
    }

    /// The same whether the answer is known or not: an acquire that could not take effect now
    /// cannot be placed here, and the search leaves an indeterminate one out if it fits nowhere.
    fn step(&self, held: &bool, input: &MutexInput, _output: Option<&Granted>) -> Option<bool> {
        match input {
            MutexInput::Acquire => (!held).then_some(true),
            MutexInput::Release => held.then_some(false),
        }
    }

    fn describe_operation(&self, input: &MutexInput, output: Option<&Granted>) -> String {
        let name = match input {
            MutexInput::Acquire => "acquire",
            MutexInput::Release => "release",
        };
        match output {
            Some(_) => format!("{name} -> ok"),
            None => format!("{name} -> ?"),
        }
    }

    fn describe_state(&self, held: &bool) -> String {
        if *held { "held" } else { "free" }.into()
    }
}

impl Decode for Mutex {
    fn name(&self) -> &'static str {
        "mutex"
    }

    fn input(&self, op: &RawOp) -> Result<MutexInput, Error> {
        match op.f.as_str() {
            "acquire" => Ok(MutexInput::Acquire),
            "release" => Ok(MutexInput::Release),
            _ => Err(self.unknown_op(op)),
        }
    }

    fn output(&self, _op: &RawOp, _input: &MutexInput, _value: &Datum) -> Result<Granted, Error> {
        Ok(Granted)
    }
}
