//! A small EDN reader for the subset Jepsen, Knossos and Porcupine histories use: maps, vectors,
//! lists, keywords, integers, `nil`, booleans, strings with escapes, `;` comments and commas as
//! whitespace. It exists, rather than the `edn-format` crate, because reports must name the line
//! of each operation, and that crate gives positions only for errors. It never guesses: anything
//! outside the subset (sets, tags, floats, symbols) is an error naming its line, and so is nesting
//! deeper than `json::MAX_DEPTH`, the limit every reader shares, which keeps the recursion off the
//! end of the stack.

use super::datum::Datum;
use crate::json::MAX_DEPTH;

/// A parse error: the 1-based line and what was wrong.
pub type EdnError = (usize, String);

/// The operations of a history file, each with the line it starts on: the elements of a single
/// top-level vector or list (Knossos), or else the top-level forms themselves (one map per line,
/// as Porcupine's kv logs).
pub fn read_items(text: &str) -> Result<Vec<(usize, Datum)>, EdnError> {
    let mut p = Parser::new(text);
    p.skip_blank();
    let mut items = Vec::new();
    match p.peek() {
        Some(open @ (b'[' | b'(')) => {
            let close = if open == b'[' { b']' } else { b')' };
            let start = p.line;
            p.pos += 1;
            // The top-level collection is the outermost level of every operation in it.
            p.depth = 1;
            loop {
                p.skip_blank();
                match p.peek() {
                    None => return Err((start, "unclosed top-level collection".into())),
                    Some(c) if c == close => {
                        p.pos += 1;
                        break;
                    }
                    Some(_) => {
                        let line = p.line;
                        items.push((line, p.form()?));
                    }
                }
            }
            p.skip_blank();
            if p.peek().is_some() {
                return Err((p.line, "text after the top-level collection".into()));
            }
        }
        _ => {
            while p.peek().is_some() {
                let line = p.line;
                items.push((line, p.form()?));
                p.skip_blank();
            }
        }
    }
    Ok(items)
}

/// Reads the first form of `text` and ignores the rest (to tell formats apart).
pub fn read_first(text: &str) -> Result<Datum, EdnError> {
    let mut p = Parser::new(text);
    p.form()
}

/// Reads exactly one form from `text` (e.g. the value field of a Jepsen log line).
pub fn read_one(text: &str) -> Result<Datum, String> {
    let mut p = Parser::new(text);
    p.skip_blank();
    if p.peek().is_none() {
        return Err("empty value".into());
    }
    let d = p.form().map_err(|(_, e)| e)?;
    p.skip_blank();
    if p.peek().is_some() {
        return Err(format!("unexpected text after {d}"));
    }
    Ok(d)
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
    /// How many collections enclose the current position.
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser {
            bytes: text.as_bytes(),
            text,
            pos: 0,
            line: 1,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips whitespace, commas and `;` comments, counting lines.
    fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b',' => self.pos += 1,
                b';' => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, EdnError> {
        Err((self.line, msg.into()))
    }

    fn form(&mut self) -> Result<Datum, EdnError> {
        self.skip_blank();
        match self.peek() {
            None => self.err("unexpected end of input"),
            Some(b'{') => {
                self.pos += 1;
                let items = self.seq(b'}')?;
                if items.len() % 2 != 0 {
                    return self.err("map with an odd number of forms");
                }
                let mut it = items.into_iter();
                let mut entries = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Ok(Datum::Map(entries))
            }
            Some(b'[') => {
                self.pos += 1;
                Ok(Datum::Vec(self.seq(b']')?))
            }
            Some(b'(') => {
                self.pos += 1;
                Ok(Datum::Vec(self.seq(b')')?))
            }
            Some(b'"') => self.string(),
            Some(b'#') => self.err("EDN sets and tagged values are not supported in histories"),
            Some(c @ (b'}' | b']' | b')')) => self.err(format!("unexpected '{}'", c as char)),
            Some(_) => self.atom(),
        }
    }

    fn seq(&mut self, close: u8) -> Result<Vec<Datum>, EdnError> {
        let start = self.line;
        if self.depth == MAX_DEPTH {
            return self.err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.depth += 1;
        let items = self.items(close, start);
        self.depth -= 1;
        items
    }

    fn items(&mut self, close: u8, start: usize) -> Result<Vec<Datum>, EdnError> {
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            match self.peek() {
                None => {
                    return Err((
                        start,
                        format!("unclosed collection (expected '{}')", close as char),
                    ));
                }
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.form()?),
            }
        }
    }

    fn string(&mut self) -> Result<Datum, EdnError> {
        let start = self.line;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(i) = rest.find(['"', '\\', '\n']) else {
                return Err((start, "unterminated string".into()));
            };
            out.push_str(&rest[..i]);
            self.pos += i;
            match self.bytes[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(Datum::Str(out));
                }
                b'\n' => {
                    out.push('\n');
                    self.line += 1;
                    self.pos += 1;
                }
                _ => {
                    let escaped = self.bytes.get(self.pos + 1).copied();
                    out.push(match escaped {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'n') => '\n',
                        Some(b't') => '\t',
                        Some(b'r') => '\r',
                        _ => return self.err("unsupported escape in string"),
                    });
                    self.pos += 2;
                }
            }
        }
    }

    /// A token up to the next delimiter: a keyword, an integer, `nil`, `true` or `false`.
    fn atom(&mut self) -> Result<Datum, EdnError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || b",;{}[]()\"".contains(&c) {
                break;
            }
            self.pos += 1;
        }
        let token = &self.text[start..self.pos];
        if let Some(k) = token.strip_prefix(':') {
            if k.is_empty() {
                return self.err("empty keyword");
            }
            return Ok(Datum::Keyword(k.to_string()));
        }
        match token {
            "nil" => return Ok(Datum::Nil),
            "true" => return Ok(Datum::Bool(true)),
            "false" => return Ok(Datum::Bool(false)),
            _ => {}
        }
        // Clojure writes big integers with an `N` suffix; the histories' values all fit in i64.
        let digits = token.strip_suffix('N').unwrap_or(token);
        match digits.parse::<i64>() {
            Ok(i) => Ok(Datum::Int(i)),
            Err(_) => self.err(format!("unsupported EDN token {token:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_commented_vector_with_lines() {
        let text = "; a comment\n[{:process 1, :f :read, :value nil}\n ; between\n {:process :nemesis, :value [1 2], :s \"a\\\"b\"}]\n";
        let items = read_items(text).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].0, 2);
        assert_eq!(items[1].0, 4);
        assert_eq!(items[0].1.get("process"), Some(&Datum::Int(1)));
        assert_eq!(items[1].1.get("process").unwrap().name(), Some("nemesis"));
        assert_eq!(
            items[1].1.get("value"),
            Some(&Datum::Vec(vec![Datum::Int(1), Datum::Int(2)]))
        );
        assert_eq!(items[1].1.get("s"), Some(&Datum::Str("a\"b".into())));
    }

    #[test]
    fn reads_a_list_and_top_level_maps() {
        assert_eq!(read_items("({:a 1} {:a 2})").unwrap().len(), 2);
        let items = read_items("{:a 1}\n{:a 2}\n").unwrap();
        assert_eq!(items.iter().map(|i| i.0).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(read_items("[{:a 1}\n{:a}]").unwrap_err().0, 2);
        assert_eq!(read_items("[{:a 1}\n\n{:a 2.5}]").unwrap_err().0, 3);
        assert!(read_items("[{:a 1}").is_err());
        assert!(read_one("[1 2] 3").is_err());
        assert_eq!(read_one(" [1 2] ").unwrap().to_string(), "[1 2]");
    }

    #[test]
    fn nesting_is_limited_to_max_depth() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let limit = format!("nested deeper than {MAX_DEPTH} levels");
        assert!(read_one(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(read_one(&nested(MAX_DEPTH + 1)), Err(limit.clone()));
        assert_eq!(read_one(&nested(15_000)), Err(limit.clone()));
        // In a file, the top-level vector is the first level, and the error names the line.
        let file = |depth: usize| format!("[{{:a 1}}\n{{:a {}}}]", nested(depth - 2));
        assert_eq!(read_items(&file(MAX_DEPTH)).unwrap().len(), 2);
        assert_eq!(read_items(&file(MAX_DEPTH + 1)), Err((2, limit.clone())));
        let maps = |depth: usize| format!("{{:a 1}}\n{{:a {}}}", nested(depth - 1));
        assert_eq!(read_items(&maps(MAX_DEPTH)).unwrap().len(), 2);
        assert_eq!(read_items(&maps(15_000)), Err((2, limit)));
    }
}
