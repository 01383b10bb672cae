//! The key-value store of Porcupine's kv histories: `get`, `put` and `append` on string values,
//! keys independent of each other, so a history splits by key (P-compositionality). It owns the
//! model and its decoding; it never reads files.

use super::{Decode, abbreviate};
use crate::check::datum::Datum;
use crate::check::formats::RawOp;
use crate::check::{Error, Model, Operation};
use std::collections::BTreeMap;
use std::sync::Arc;

pub type Key = Arc<str>;
pub type Text = Arc<str>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvInput {
    Get(Key),
    Put(Key, Text),
    Append(Key, Text),
}

impl KvInput {
    pub fn key(&self) -> &Key {
        match self {
            KvInput::Get(k) | KvInput::Put(k, _) | KvInput::Append(k, _) => k,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOutput {
    /// What a get returned; `None` for an absent key.
    Got(Option<Text>),
    Done,
}

/// The values of the keys written so far, sorted by key; every other key holds its initial value.
/// A part of a split history touches one key, so this is usually one entry.
pub type KvState = Vec<(Key, Option<Text>)>;

#[derive(Clone, Debug)]
pub struct Kv {
    /// Initial values of particular keys.
    pub initial: BTreeMap<Key, Option<Text>>,
    /// Initial value of every other key (`None`: absent).
    pub default: Option<Text>,
}

impl Kv {
    /// `initial`: a string (every key's value), an object of key → string or null (other keys are
    /// absent), or null (every key absent). Default: every key holds "" (Porcupine's kv model).
    pub fn new(initial: Option<&serde_json::Value>) -> Result<Kv, Error> {
        use serde_json::Value as J;
        let bad = |reason: String| Error::BadInitial {
            model: "kv".into(),
            reason,
        };
        let text = |v: &J| match v {
            J::String(s) => Ok(Some(Text::from(s.as_str()))),
            J::Null => Ok(None),
            other => Err(bad(format!("{other} is not a string or null"))),
        };
        Ok(match initial {
            None => Kv {
                initial: BTreeMap::new(),
                default: Some("".into()),
            },
            Some(J::Object(map)) => Kv {
                initial: map
                    .iter()
                    .map(|(k, v)| Ok((Key::from(k.as_str()), text(v)?)))
                    .collect::<Result<_, Error>>()?,
                default: None,
            },
            Some(v) => Kv {
                initial: BTreeMap::new(),
                default: text(v)?,
            },
        })
    }

    fn value<'a>(&'a self, state: &'a KvState, key: &Key) -> Option<&'a Text> {
        match state.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => state[i].1.as_ref(),
            Err(_) => self.initial.get(key).unwrap_or(&self.default).as_ref(),
        }
    }
}

fn set(state: &KvState, key: &Key, value: Text) -> KvState {
    let mut next = state.clone();
    match next.binary_search_by(|(k, _)| k.cmp(key)) {
        Ok(i) => next[i].1 = Some(value),
        Err(i) => next.insert(i, (key.clone(), Some(value))),
    }
    next
}

impl Model for Kv {
    type State = KvState;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> KvState {
        Vec::new()
    }

    fn step(&self, state: &KvState, input: &KvInput, output: Option<&KvOutput>) -> Option<KvState> {
        match (input, output) {
            (KvInput::Get(_), None) => Some(state.clone()),
            (KvInput::Get(k), Some(KvOutput::Got(v))) => {
                (self.value(state, k) == v.as_ref()).then(|| state.clone())
            }
            (KvInput::Put(k, v), None | Some(KvOutput::Done)) => Some(set(state, k, v.clone())),
            (KvInput::Append(k, v), None | Some(KvOutput::Done)) => {
                let joined = match self.value(state, k) {
                    Some(old) => Text::from(format!("{old}{v}")),
                    None => v.clone(),
                };
                Some(set(state, k, joined))
            }
            _ => None,
        }
    }

    /// One part per key, in key order.
    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Vec<usize>> {
        let mut parts: BTreeMap<&Key, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            parts.entry(op.input.key()).or_default().push(i);
        }
        parts.into_values().collect()
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let answer = match output {
            None => "?".to_string(),
            Some(KvOutput::Got(Some(v))) => abbreviate(v),
            Some(KvOutput::Got(None)) => "nil".into(),
            Some(KvOutput::Done) => "ok".into(),
        };
        match input {
            KvInput::Get(k) => format!("get {k:?} -> {answer}"),
            KvInput::Put(k, v) => format!("put {k:?} {} -> {answer}", abbreviate(v)),
            KvInput::Append(k, v) => format!("append {k:?} {} -> {answer}", abbreviate(v)),
        }
    }

    fn describe_state(&self, state: &KvState) -> String {
        let entries: Vec<String> = state
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k:?}: {}", abbreviate(v)),
                None => format!("{k:?}: nil"),
            })
            .collect();
        format!("{{{}}}", entries.join(", "))
    }

    fn state_heap_bytes(&self, state: &KvState) -> usize {
        state
            .iter()
            .map(|(k, v)| 48 + k.len() + v.as_ref().map_or(0, |v| v.len() + 16))
            .sum()
    }
}

impl Decode for Kv {
    fn name(&self) -> &'static str {
        "kv"
    }

    /// Arguments: `{"key": k}` for get, `{"key": k, "value": s}` for put and append.
    fn input(&self, op: &RawOp) -> Result<KvInput, Error> {
        let bad = |r: String| self.bad_value(op, op.line, r);
        let key = match op.invoke.get("key") {
            Some(Datum::Str(k)) => Key::from(k.as_str()),
            Some(other) => return Err(bad(format!("key {other} is not a string"))),
            None => return Err(bad("missing key".into())),
        };
        let text = || match op.invoke.get("value") {
            Some(Datum::Str(v)) => Ok(Text::from(v.as_str())),
            Some(other) => Err(bad(format!("value {other} is not a string"))),
            None => Err(bad("missing value".into())),
        };
        match op.f.as_str() {
            "get" => Ok(KvInput::Get(key)),
            "put" => Ok(KvInput::Put(key, text()?)),
            "append" => Ok(KvInput::Append(key, text()?)),
            _ => Err(self.unknown_op(op)),
        }
    }

    /// A get answers the string (or null for an absent key); put and append answer anything.
    fn output(&self, op: &RawOp, input: &KvInput, value: &Datum) -> Result<KvOutput, Error> {
        match input {
            KvInput::Get(_) => match value {
                Datum::Str(s) => Ok(KvOutput::Got(Some(Text::from(s.as_str())))),
                Datum::Nil => Ok(KvOutput::Got(None)),
                other => Err(self.bad_value(
                    op,
                    op.completion_line.unwrap_or(op.line),
                    format!("a get answers a string or nil, not {other}"),
                )),
            },
            KvInput::Put(..) | KvInput::Append(..) => Ok(KvOutput::Done),
        }
    }
}
