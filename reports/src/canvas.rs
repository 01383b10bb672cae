//! Where pictures are made: opening a PNG or SVG file as a plotters drawing area, turning plotters'
//! errors into [`ReportError`], and the text helpers every plot uses (styles in the bundled font,
//! measuring text, the page title, the "no operations" notice). It owns no layout decisions beyond
//! those; it must never pick a system font or write anything but the one file it was given.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::ReportError;
use crate::font;
use crate::palette;

/// A drawing failure inside a plot, before it is tied to the file it was drawing.
pub(crate) struct Failure(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for Failure {
    fn from(e: DrawingAreaErrorKind<E>) -> Failure {
        Failure(e.to_string())
    }
}

/// What every drawing function returns.
pub(crate) type Drawn = Result<(), Failure>;

/// Draws a PNG of `size` pixels at `path` on a white page.
pub(crate) fn png<F>(path: &Path, size: (u32, u32), draw: F) -> Result<(), ReportError>
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Drawn,
{
    let is_png = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        return Err(ReportError::WrongExtension {
            path: path.to_path_buf(),
            expected: "png",
        });
    }
    font::ensure_registered()?;
    let root = BitMapBackend::new(path, size).into_drawing_area();
    finish(path, &root, draw)
}

/// Draws an SVG of `size` pixels at `path` on a white page.
pub(crate) fn svg<F>(path: &Path, size: (u32, u32), draw: F) -> Result<(), ReportError>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Drawn,
{
    font::ensure_registered()?;
    let root = SVGBackend::new(path, size).into_drawing_area();
    finish(path, &root, draw)
}

fn finish<DB: DrawingBackend, F>(
    path: &Path,
    root: &DrawingArea<DB, Shift>,
    draw: F,
) -> Result<(), ReportError>
where
    F: FnOnce(&DrawingArea<DB, Shift>) -> Drawn,
{
    let drawn = root
        .fill(&WHITE)
        .map_err(Failure::from)
        .and_then(|()| draw(root))
        .and_then(|()| root.present().map_err(Failure::from));
    drawn.map_err(|Failure(message)| ReportError::Draw {
        path: path.to_path_buf(),
        message,
    })
}

/// A text style in the bundled font, anchored at its left edge and vertical centre.
pub(crate) fn text(size: f64, colour: RGBColor) -> TextStyle<'static> {
    TextStyle {
        font: FontDesc::new(FontFamily::Name(font::FAMILY), size, FontStyle::Normal),
        color: colour.to_backend_color(),
        pos: Pos::new(HPos::Left, VPos::Center),
    }
}

/// The same style anchored elsewhere.
pub(crate) fn anchored(style: &TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// Width in pixels of `label` in `style` (0 if the font cannot measure it, which only happens
/// before registration).
pub(crate) fn text_width(label: &str, style: &TextStyle<'_>) -> i32 {
    style
        .font
        .box_size(label)
        .map(|(w, _)| w as i32)
        .unwrap_or(0)
}

/// Title sizes shared by all plots.
pub(crate) const TITLE_SIZE: f64 = 24.0;
pub(crate) const NOTE_SIZE: f64 = 15.0;
pub(crate) const LABEL_SIZE: f64 = 16.0;
pub(crate) const SMALL_SIZE: f64 = 14.0;

/// Draws the page title at the top left and a muted note at the top right; returns the rest of
/// the page below them.
pub(crate) fn title_bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    note: &str,
) -> Result<DrawingArea<DB, Shift>, Failure> {
    const HEIGHT: i32 = 44;
    let (bar, rest) = root.split_vertically(HEIGHT);
    let (width, _) = bar.dim_in_pixel();
    bar.draw(&Text::new(
        title.to_string(),
        (16, HEIGHT / 2 + 2),
        text(TITLE_SIZE, palette::TEXT),
    ))?;
    if !note.is_empty() {
        let style = anchored(&text(NOTE_SIZE, palette::MUTED), HPos::Right, VPos::Center);
        bar.draw(&Text::new(
            note.to_string(),
            (width as i32 - 18, HEIGHT / 2 + 2),
            style,
        ))?;
    }
    Ok(rest)
}

/// A notice centred in `area`, for plots with nothing to show ("no operations").
pub(crate) fn notice<DB: DrawingBackend, CT: plotters::coord::CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    message: &str,
) -> Drawn {
    let area = area.strip_coord_spec();
    let (w, h) = area.dim_in_pixel();
    let style = anchored(&text(26.0, palette::MUTED), HPos::Center, VPos::Center);
    area.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))?;
    Ok(())
}
