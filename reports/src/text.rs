//! Text: every word in every picture is drawn by [`draw`], in the bundled font.
//!
//! On bitmaps we rasterize glyphs ourselves with `ab_glyph`, because plotters 0.3.7's ab_glyph
//! text drops each glyph's left side bearing (its `px_bounds().min.x`), which glues letters
//! together: "clog" reads as "dog". In SVG we emit plotters' native `<text>` elements, so the text
//! stays text. This module only draws and measures strings; where they go is the caller's job.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::canvas::Drawn;
use crate::font;

/// How a label looks and where its anchor sits on it.
#[derive(Clone, Copy)]
pub(crate) struct Ink {
    size: f64,
    colour: RGBColor,
    h: HPos,
    v: VPos,
    /// Reads bottom to top (a y-axis title).
    rotated: bool,
    /// Emit backend text (SVG `<text>`) instead of rasterized pixels.
    native: bool,
}

impl Ink {
    /// Left-anchored, vertically centred, upright, rasterized.
    pub(crate) fn new(size: f64, colour: RGBColor) -> Ink {
        Ink {
            size,
            colour,
            h: HPos::Left,
            v: VPos::Center,
            rotated: false,
            native: false,
        }
    }

    pub(crate) fn anchor(self, h: HPos, v: VPos) -> Ink {
        Ink { h, v, ..self }
    }

    pub(crate) fn colour(self, colour: RGBColor) -> Ink {
        Ink { colour, ..self }
    }

    pub(crate) fn rotated(self) -> Ink {
        Ink {
            rotated: true,
            ..self
        }
    }

    /// Draw as the backend's own text (for SVG) rather than as pixels.
    pub(crate) fn native(self, native: bool) -> Ink {
        Ink { native, ..self }
    }

    /// The label's height in pixels (the font's ascent to descent).
    pub(crate) fn height(&self) -> i32 {
        font::dejavu().map_or(self.size as i32, |f| {
            let s = f.as_scaled(PxScale::from(self.size as f32));
            (s.ascent() - s.descent()).round() as i32
        })
    }

    /// The advance width of `text` in pixels, kerning included.
    pub(crate) fn width(&self, text: &str) -> i32 {
        font::dejavu().map_or(0, |f| {
            let (_, width) = lay_out(f, PxScale::from(self.size as f32), text);
            width.round() as i32
        })
    }

    /// The equivalent plotters style, for native text.
    fn style(&self) -> TextStyle<'static> {
        // Plotters writes `font-size = size / 1.24` into SVG, while our raster text makes `size` the
        // font's ascent-to-descent height; scale so both render the same glyph size.
        let line_em = font::dejavu().map_or(1.24, |f| {
            f.height_unscaled() / f.units_per_em().unwrap_or(f.height_unscaled())
        });
        let size = self.size * 1.24 / f64::from(line_em);
        let font = FontDesc::new(FontFamily::Name(font::FAMILY), size, FontStyle::Normal);
        let font = if self.rotated {
            font.transform(FontTransform::Rotate270)
        } else {
            font
        };
        TextStyle {
            font,
            color: self.colour.to_backend_color(),
            pos: Pos::new(self.h, self.v),
        }
    }
}

/// Draws `text` in `area` (pixel coordinates relative to the area) with its anchor at `at`.
pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    ink: Ink,
) -> Drawn {
    if ink.native {
        area.draw_text(text, &ink.style(), at)?;
        return Ok(());
    }
    rasterize(text, at, &ink, |x, y, coverage| {
        area.draw_pixel((x, y), &ink.colour.mix(coverage))
    })?;
    Ok(())
}

/// Each glyph of `text` with the pen position it starts at (kerning applied), and the advance
/// width of the whole text.
fn lay_out(f: &FontRef<'static>, scale: PxScale, text: &str) -> (Vec<(GlyphId, f32)>, f32) {
    let s = f.as_scaled(scale);
    let mut glyphs = Vec::with_capacity(text.len());
    let mut pen = 0.0f32;
    let mut previous = None;
    for c in text.chars() {
        let id = s.glyph_id(c);
        if let Some(p) = previous {
            pen += s.kern(p, id);
        }
        glyphs.push((id, pen));
        pen += s.h_advance(id);
        previous = Some(id);
    }
    (glyphs, pen)
}

/// Calls `put` for every pixel `text` covers, with its coverage (0..=1), honouring the anchor and
/// rotation; stops at the first error `put` returns.
fn rasterize<E>(
    text: &str,
    (x0, y0): (i32, i32),
    ink: &Ink,
    mut put: impl FnMut(i32, i32, f64) -> Result<(), E>,
) -> Result<(), E> {
    let Some(f) = font::dejavu() else {
        return Ok(());
    };
    let scale = PxScale::from(ink.size as f32);
    let s = f.as_scaled(scale);
    let (glyphs, width) = lay_out(f, scale, text);
    let height = s.ascent() - s.descent();
    // Offsets from the anchor to the top-left of the text's line box.
    let dx = match ink.h {
        HPos::Left => 0.0,
        HPos::Center => -width / 2.0,
        HPos::Right => -width,
    };
    let dy = match ink.v {
        VPos::Top => 0.0,
        VPos::Center => -height / 2.0,
        VPos::Bottom => -height,
    };
    let mut result = Ok(());
    for (id, pen) in glyphs {
        let glyph = id.with_scale_and_position(scale, point(pen + dx, s.ascent() + dy));
        let Some(outline) = f.outline_glyph(glyph) else {
            continue;
        };
        // The bounds carry the glyph's bearings: this is the step plotters 0.3.7 leaves out.
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            if result.is_err() || coverage <= 0.0 {
                return;
            }
            let lx = bounds.min.x as i32 + gx as i32;
            let ly = bounds.min.y as i32 + gy as i32;
            let (x, y) = if ink.rotated {
                (x0 + ly, y0 - lx)
            } else {
                (x0 + lx, y0 + ly)
            };
            result = put(x, y, f64::from(coverage.min(1.0)));
        });
        if result.is_err() {
            break;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leftmost column `text` inks (coverage over one half) when drawn at x = 0.
    fn first_inked_column(text: &str, ink: &Ink) -> i32 {
        crate::font::ensure_registered().unwrap();
        let mut first = i32::MAX;
        rasterize::<()>(text, (0, 0), ink, |x, _, c| {
            if c > 0.5 {
                first = first.min(x);
            }
            Ok(())
        })
        .unwrap();
        first
    }

    #[test]
    fn glyphs_start_at_their_left_side_bearing() {
        // Plotters 0.3.7 draws every glyph's ink from the pen position, dropping the bearing, which
        // glues "cl" into "d". DejaVu's l has a left bearing of about 0.094 em: 3.2 px at this size.
        let ink = Ink::new(40.0, RGBColor(0, 0, 0));
        let alone = first_inked_column("l", &ink);
        assert!((2..=4).contains(&alone), "l inks from column {alone}");
        // After a c, the l's ink starts one c-advance further, bearing kept.
        let after_c = first_inked_column("l", &ink) + ink.width("c");
        let mut columns = Vec::new();
        rasterize::<()>("cl", (0, 0), &ink, |x, _, c| {
            if c > 0.5 {
                columns.push(x);
            }
            Ok(())
        })
        .unwrap();
        columns.sort_unstable();
        columns.dedup();
        let l_start = columns
            .windows(2)
            .find(|w| w[1] - w[0] > 1)
            .map(|w| w[1])
            .expect("a blank column between c and l");
        assert!(
            (l_start - after_c).abs() <= 1,
            "l starts at {l_start}, expected {after_c}"
        );
    }

    #[test]
    fn width_grows_with_text_and_anchor_centres() {
        crate::font::ensure_registered().unwrap();
        let ink = Ink::new(16.0, RGBColor(0, 0, 0));
        assert_eq!(ink.width(""), 0);
        assert!(ink.width("partition n0 | n1,n2") > ink.width("pause n1"));
        let centred = ink.anchor(HPos::Center, VPos::Center);
        let mut xs = Vec::new();
        rasterize::<()>("MMMM", (100, 100), &centred, |x, _, _| {
            xs.push(x);
            Ok(())
        })
        .unwrap();
        let (lo, hi) = (xs.iter().min().unwrap(), xs.iter().max().unwrap());
        assert!(
            (lo + hi) / 2 - 100 <= 2 && 100 - (lo + hi) / 2 <= 2,
            "{lo}..{hi}"
        );
    }
}
