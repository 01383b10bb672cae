//! `Datum`: the one value tree every history reader produces, whether the file was JSON or EDN, so
//! that the models decode operation arguments and answers once, whatever the source. It owns only
//! the conversions into and out of that tree; it never interprets what a value means for a model.

use std::fmt;

/// A value read from a history file. EDN keywords (`:read`) and JSON strings stay distinguishable,
/// but `name()` treats them alike, because `:read` in EDN and `"read"` in JSON name the same thing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datum {
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    Keyword(String),
    /// An EDN vector or list, or a JSON array.
    Vec(Vec<Datum>),
    /// An EDN or JSON map, in file order.
    Map(Vec<(Datum, Datum)>),
}

impl Datum {
    /// The text of a keyword or a string: what names an operation, a key or a line type.
    pub fn name(&self) -> Option<&str> {
        match self {
            Datum::Keyword(s) | Datum::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` in a map, looked up by name (`:f` and `"f"` alike).
    pub fn get(&self, key: &str) -> Option<&Datum> {
        match self {
            Datum::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Datum::Nil)
    }

    /// Converts a JSON value. Fractional numbers have no meaning in any model and are refused.
    pub fn from_json(value: &serde_json::Value) -> Result<Datum, String> {
        use serde_json::Value;
        Ok(match value {
            Value::Null => Datum::Nil,
            Value::Bool(b) => Datum::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Datum::Int(i),
                None => return Err(format!("number {n} is not a 64-bit integer")),
            },
            Value::String(s) => Datum::Str(s.clone()),
            Value::Array(items) => Datum::Vec(
                items
                    .iter()
                    .map(Datum::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Datum::Map(
                map.iter()
                    .map(|(k, v)| Ok((Datum::Str(k.clone()), Datum::from_json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    /// Converts to JSON, for callers (such as the znode checker) that take JSON arguments. Keywords
    /// become strings; map keys become their names, or their EDN text when they have none.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Datum::Nil => Value::Null,
            Datum::Bool(b) => Value::Bool(*b),
            Datum::Int(i) => Value::from(*i),
            Datum::Str(s) | Datum::Keyword(s) => Value::String(s.clone()),
            Datum::Vec(items) => Value::Array(items.iter().map(Datum::to_json).collect()),
            Datum::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let key = k.name().map_or_else(|| k.to_string(), str::to_string);
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }
}

/// EDN-like text, used in error messages and counterexamples.
impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datum::Nil => write!(f, "nil"),
            Datum::Bool(b) => write!(f, "{b}"),
            Datum::Int(i) => write!(f, "{i}"),
            Datum::Str(s) => write!(f, "{s:?}"),
            Datum::Keyword(k) => write!(f, ":{k}"),
            Datum::Vec(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
            Datum::Map(entries) => {
                write!(f, "{{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}
