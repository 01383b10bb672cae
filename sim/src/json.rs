//! Reading untrusted JSON: the one place that turns serde_json's errors into what a reader
//! reports. Every error names the field's path when the value was valid JSON of the wrong shape,
//! or the column when it was not JSON, and never a second line number (a JSON Lines reader parses
//! one line at a time, so serde_json's own "line 1" would only mislead). It also owns the nesting
//! limit that every reader of history and trace files shares, JSON or EDN, so that no file can
//! overflow the stack.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// The deepest nesting of collections (arrays, objects, EDN vectors, lists and maps) a reader
/// accepts, counting the line's or the file's outermost one. It is serde_json's own limit, which
/// cannot be raised without risking the stack, so that every format refuses at the same depth.
pub const MAX_DEPTH: usize = 127;

/// Why some JSON text could not be read as the value expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// The path of the field at fault (`value.ops[2].path`), when the text was JSON.
    pub field: Option<String>,
    /// The 1-based column (in bytes) on the line, when the text was not JSON.
    pub column: Option<usize>,
    pub reason: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        if let Some(column) = self.column {
            write!(f, "column {column}: ")?;
        }
        f.write_str(&self.reason)
    }
}

/// Parses one line (or document) of JSON text as a `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(with_path)?;
    de.end().map_err(|e| error(".", &e))?;
    Ok(value)
}

/// Reads an already parsed JSON value as a `T`, naming the field at fault.
pub fn from_value<'a, T: Deserialize<'a>>(value: &'a serde_json::Value) -> Result<T, JsonError> {
    serde_path_to_error::deserialize(value).map_err(with_path)
}

impl JsonError {
    /// The same error, for a value that sat in the field `parent`: the field's path is prefixed.
    pub fn under(self, parent: &str) -> JsonError {
        let field = match self.field {
            None => parent.to_string(),
            Some(path) if path.starts_with('[') => format!("{parent}{path}"),
            Some(path) => format!("{parent}.{path}"),
        };
        JsonError {
            field: Some(field),
            ..self
        }
    }
}

fn with_path(e: serde_path_to_error::Error<serde_json::Error>) -> JsonError {
    error(&e.path().to_string(), e.inner())
}

fn error(path: &str, inner: &serde_json::Error) -> JsonError {
    let reason = reason(inner);
    if is_about_a_field(inner) {
        JsonError {
            // "." is the whole value; a "?" segment is a key serde_path_to_error could not name.
            field: (path != "." && !path.contains('?')).then(|| path.to_string()),
            column: None,
            reason,
        }
    } else {
        JsonError {
            field: None,
            column: (inner.line() > 0).then(|| inner.column().max(1)),
            reason,
        }
    }
}

/// Whether the text was JSON, and the error is about a value's shape (so a field is at fault,
/// not a position).
pub fn is_about_a_field(e: &serde_json::Error) -> bool {
    e.classify() == serde_json::error::Category::Data
}

/// serde_json's message without the position it appends (" at line L column C"), and with the
/// nesting limit named.
pub fn reason(e: &serde_json::Error) -> String {
    let reason = e.to_string();
    let reason = match reason.rfind(" at line ") {
        Some(i) => &reason[..i],
        None => &reason,
    };
    if reason == "recursion limit exceeded" {
        format!("nested deeper than {MAX_DEPTH} levels")
    } else {
        reason.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u64,
    }

    #[test]
    fn a_wrong_type_names_the_field_path_and_no_position() {
        let e =
            from_str::<Outer>(r#"{"name":"a","inner":[{"count":1},{"count":"x"}]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner[1].count"));
        assert_eq!(e.column, None);
        assert_eq!(
            e.to_string(),
            r#"field `inner[1].count`: invalid type: string "x", expected u64"#
        );
        let e = from_value::<Outer>(&serde_json::json!({"name": 3, "inner": []})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("name"));
        assert_eq!(
            e.clone().under("value").field.as_deref(),
            Some("value.name")
        );
        let e = from_value::<Vec<Inner>>(&serde_json::json!([{"count": -1}])).unwrap_err();
        assert_eq!(e.under("events").field.as_deref(), Some("events[0].count"));
    }

    #[test]
    fn bad_json_names_the_column() {
        let e = from_str::<Outer>(r#"{"name":"a",}"#).unwrap_err();
        assert_eq!((e.field, e.column), (None, Some(13)), "{}", e.reason);
        assert!(!e.reason.contains("line"), "{}", e.reason);
        let e = from_str::<Outer>(r#"{"name":"a","inner":[]} x"#).unwrap_err();
        assert_eq!(e.to_string(), "column 25: trailing characters");
    }

    #[test]
    fn nesting_is_limited_to_max_depth() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(from_str::<serde_json::Value>(&nested(MAX_DEPTH)).is_ok());
        for depth in [MAX_DEPTH + 1, 20_000] {
            let e = from_str::<serde_json::Value>(&nested(depth)).unwrap_err();
            assert_eq!(e.reason, format!("nested deeper than {MAX_DEPTH} levels"));
        }
    }
}
