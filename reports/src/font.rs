//! The one font every picture uses: DejaVu Sans, bundled in `assets/` (license beside it). It is
//! parsed once per process for our own text rasterizer (`text`) and registered once with plotters
//! under the family name `sans-serif`, so plotters' layout code and SVG `<text>` elements use the
//! same family name every viewer has. Never rely on a system font: output must be the same bytes on
//! every machine.

use std::sync::OnceLock;

use ab_glyph::FontRef;
use plotters::style::{FontStyle, register_font};

use crate::error::ReportError;

/// The family name all text in this crate uses.
pub(crate) const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The parsed font, or `None` if the bundled file does not parse (reported as
/// [`ReportError::Font`] before any drawing starts).
static PARSED: OnceLock<Option<FontRef<'static>>> = OnceLock::new();

/// Whether plotters accepted the font; registering once keeps its font-table lock out of every call.
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// The bundled font, parsed.
pub(crate) fn dejavu() -> Option<&'static FontRef<'static>> {
    PARSED
        .get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok())
        .as_ref()
}

/// Parses and registers the bundled font if this process has not done so yet.
pub(crate) fn ensure_registered() -> Result<(), ReportError> {
    let registered =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if registered && dejavu().is_some() {
        Ok(())
    } else {
        Err(ReportError::Font)
    }
}
