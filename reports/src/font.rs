//! The one font every picture uses: DejaVu Sans, bundled in `assets/` (license beside it) and
//! registered with plotters once per process. It is registered under the family name
//! `sans-serif`, so plotters' own defaults resolve to it too and SVG files name a family every
//! viewer has. Never rely on a system font: output must be the same bytes on every machine.

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use crate::error::ReportError;

/// The family name all text styles in this crate use.
pub(crate) const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Whether registration succeeded; registering twice would only replace the same font, but doing
/// it once keeps plotters' font table lock out of every call.
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the bundled font if this process has not done so yet.
pub(crate) fn ensure_registered() -> Result<(), ReportError> {
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok { Ok(()) } else { Err(ReportError::Font) }
}
