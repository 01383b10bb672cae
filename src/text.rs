//! Reading the text files users hand to the command (scenarios, histories, traces): bytes that
//! are not UTF-8 are refused with the line they are on, and an unreadable file with its reason
//! once. It reads whole files and never interprets them.

use std::path::Path;

/// Why a file's text could not be read: the 1-based line, for bytes that are not UTF-8.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// The reason is part of the message, not a source, so that it is printed once.
    #[error("cannot read the file: {0}")]
    Io(std::io::Error),
    #[error("not valid UTF-8 (line {line}, byte {byte} of the line)")]
    Utf8 { line: usize, byte: usize },
}

/// Reads a file as UTF-8 text, naming the line of the first byte that is not.
pub fn read(path: &Path) -> Result<String, Unreadable> {
    let bytes = std::fs::read(path).map_err(Unreadable::Io)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        Unreadable::Utf8 {
            line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
            byte: valid.len() - line_start + 1,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_utf8_is_reported_with_its_line() {
        let path = std::env::temp_dir().join(format!("zksim-utf8-{}", std::process::id()));
        std::fs::write(&path, b"one\ntwo\nab\xffc\n").unwrap();
        let e = read(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not valid UTF-8 (line 3, byte 3 of the line)"
        );
        std::fs::write(&path, "é\n").unwrap();
        assert_eq!(read(&path).unwrap(), "é\n");
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(read(&path), Err(Unreadable::Io(_))));
        // Through anyhow, as the command prints it, the reason appears once.
        let e = anyhow::Error::from(read(&std::env::temp_dir()).unwrap_err());
        assert_eq!(format!("{e:#}").matches("directory").count(), 1, "{e:#}");
    }
}
