//! The crate's one error type. Drawing never panics on bad or degenerate input: a value that
//! cannot be drawn honestly (a NaN, a negative latency, an arrow to a lane that does not exist) is
//! an [`ReportError::InvalidInput`] naming the field, and a failure inside plotters or the file
//! system is a [`ReportError::Draw`] naming the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The data given cannot be drawn; the message names the item and field, e.g.
    /// `samples[3].latency_ms is NaN`.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A PNG plot was asked for under a file name that does not end in `.png` (the encoder picks
    /// the format from the extension, so anything else would silently write another format).
    #[error("{}: a {expected} plot needs a file name ending in .{expected}", path.display())]
    WrongExtension {
        path: PathBuf,
        expected: &'static str,
    },
    /// The bundled font (assets/DejaVuSans.ttf) could not be parsed.
    #[error("the bundled font assets/DejaVuSans.ttf could not be loaded")]
    Font,
    /// Plotters or the file system failed while drawing or writing the file.
    #[error("{}: drawing failed: {message}", path.display())]
    Draw { path: PathBuf, message: String },
}
