//! Knossos's multi-register: named registers read and written by transactions, each applied
//! atomically, its micro-operations in order. It owns the model and its decoding; it never reads
//! files. Transactions span keys, so the history is not split.

use super::Decode;
use super::register::Value;
use crate::check::datum::Datum;
use crate::check::formats::{Format, RawOp};
use crate::check::{Error, Model};
use std::sync::Arc;

pub type Key = Arc<str>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Micro {
    /// Read a key; in an answer, the value read.
    Read(Key, Value),
    Write(Key, Value),
}

/// A transaction's micro-operations: as invoked (reads carry nil), or as answered (reads carry
/// what they read).
pub type Txn = Vec<Micro>;

/// Registers written so far, sorted by key; other keys hold their initial value.
pub type MultiState = Vec<(Key, Value)>;

#[derive(Clone, Debug)]
pub struct MultiRegister {
    pub initial: Vec<(Key, Value)>,
    /// The initial value of keys not in `initial`.
    pub default: Value,
    /// Knossos: reading nil is always legal.
    pub nil_read_unknown: bool,
}

impl MultiRegister {
    /// `initial`: an object of key → value (other keys nil), or one value for every key. Default:
    /// every key 0 for Knossos histories (its test uses `{:x 0 :y 0}`), nil otherwise.
    pub fn new(
        initial: Option<&serde_json::Value>,
        format: Format,
    ) -> Result<MultiRegister, Error> {
        let bad = |reason: String| Error::BadInitial {
            model: "multi-register".into(),
            reason,
        };
        let knossos = format == Format::KnossosEdn;
        let (mut initial, default) = match initial {
            None if knossos => (Vec::new(), Value::Int(0)),
            None => (Vec::new(), Value::Nil),
            Some(serde_json::Value::Object(map)) => (
                map.iter()
                    .map(|(k, v)| Ok((Key::from(k.as_str()), Value::from_json(v).map_err(bad)?)))
                    .collect::<Result<Vec<_>, Error>>()?,
                Value::Nil,
            ),
            Some(v) => (Vec::new(), Value::from_json(v).map_err(bad)?),
        };
        initial.sort();
        Ok(MultiRegister {
            initial,
            default,
            nil_read_unknown: knossos,
        })
    }

    fn value<'a>(&'a self, state: &'a MultiState, key: &Key) -> &'a Value {
        match state.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => &state[i].1,
            Err(_) => match self.initial.binary_search_by(|(k, _)| k.cmp(key)) {
                Ok(i) => &self.initial[i].1,
                Err(_) => &self.default,
            },
        }
    }
}

impl Model for MultiRegister {
    type State = MultiState;
    type Input = Txn;
    type Output = Txn;

    fn init(&self) -> MultiState {
        Vec::new()
    }

    /// Applies the answered transaction (or, when the answer is unknown, the invoked one with its
    /// reads unchecked).
    fn step(&self, state: &MultiState, input: &Txn, output: Option<&Txn>) -> Option<MultiState> {
        let mut next = state.clone();
        for micro in output.unwrap_or(input) {
            match micro {
                Micro::Read(k, v) => {
                    let unchecked = output.is_none() || (self.nil_read_unknown && *v == Value::Nil);
                    if !unchecked && self.value(&next, k) != v {
                        return None;
                    }
                }
                Micro::Write(k, v) => match next.binary_search_by(|(key, _)| key.cmp(k)) {
                    Ok(i) => next[i].1 = v.clone(),
                    Err(i) => next.insert(i, (k.clone(), v.clone())),
                },
            }
        }
        Some(next)
    }

    fn describe_operation(&self, input: &Txn, output: Option<&Txn>) -> String {
        let show = |t: &Txn| {
            t.iter()
                .map(|m| match m {
                    Micro::Read(k, v) => format!("r {k} {v}"),
                    Micro::Write(k, v) => format!("w {k} {v}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match output {
            Some(out) => format!("txn [{}]", show(out)),
            None => format!("txn [{}] -> ?", show(input)),
        }
    }

    fn describe_state(&self, state: &MultiState) -> String {
        let mut keys: Vec<&Key> = self
            .initial
            .iter()
            .chain(state.iter())
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        keys.dedup();
        let shown: Vec<String> = keys
            .into_iter()
            .map(|k| format!("{k}={}", self.value(state, k)))
            .collect();
        format!("{{{}}}", shown.join(", "))
    }

    fn state_heap_bytes(&self, state: &MultiState) -> usize {
        state.iter().map(|(k, _)| 40 + k.len()).sum()
    }
}

impl MultiRegister {
    fn txn(&self, op: &RawOp, line: usize, value: &Datum) -> Result<Txn, Error> {
        let bad = |r: String| self.bad_value(op, line, r);
        let Datum::Vec(items) = value else {
            return Err(bad(format!(
                "a txn is a list of micro-operations, not {value}"
            )));
        };
        items
            .iter()
            .map(|m| match m {
                Datum::Vec(parts) if parts.len() == 3 => {
                    let key = parts[1]
                        .name()
                        .ok_or_else(|| bad(format!("key {} is not a name", parts[1])))?;
                    let v = Value::from_datum(&parts[2]).map_err(&bad)?;
                    match parts[0].name() {
                        Some("read" | "r") => Ok(Micro::Read(key.into(), v)),
                        Some("write" | "w") => Ok(Micro::Write(key.into(), v)),
                        _ => Err(bad(format!("unknown micro-operation {}", parts[0]))),
                    }
                }
                other => Err(bad(format!("expected [f key value], found {other}"))),
            })
            .collect()
    }
}

impl Decode for MultiRegister {
    fn name(&self) -> &'static str {
        "multi-register"
    }

    fn input(&self, op: &RawOp) -> Result<Txn, Error> {
        if op.f != "txn" {
            return Err(self.unknown_op(op));
        }
        self.txn(op, op.line, &op.invoke)
    }

    /// The answer repeats the transaction with the values read; it must match the invocation in
    /// everything else.
    fn output(&self, op: &RawOp, input: &Txn, value: &Datum) -> Result<Txn, Error> {
        let line = op.completion_line.unwrap_or(op.line);
        let out = self.txn(op, line, value)?;
        let same_shape = out.len() == input.len()
            && out.iter().zip(input).all(|pair| match pair {
                (Micro::Read(a, _), Micro::Read(b, _)) => a == b,
                (Micro::Write(a, x), Micro::Write(b, y)) => a == b && x == y,
                _ => false,
            });
        if !same_shape {
            return Err(self.bad_value(
                op,
                line,
                "the answer's micro-operations differ from the invocation's",
            ));
        }
        Ok(out)
    }
}
