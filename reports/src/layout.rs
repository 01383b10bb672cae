//! Placing labels so they never overlap: a first-fit packer of intervals into a bounded number of
//! rows (fault-window and mark labels above a time chart, annotation columns beside the message
//! diagram), and the horizontal legend drawn above a chart rather than over its data. It decides
//! positions only; colours come from `palette` and text styles from `canvas`.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::canvas::{self, Drawn};
use crate::palette;
use crate::text::{self, Ink};

/// Assigns intervals to rows so that no two in a row overlap, trying rows in order (first fit).
/// Intervals are placed in the order they are offered, so callers offer the important ones first.
pub(crate) struct Packer {
    rows: Vec<Vec<(f64, f64)>>,
    max_rows: usize,
}

impl Packer {
    pub(crate) fn new(max_rows: usize) -> Packer {
        Packer {
            rows: Vec::new(),
            max_rows,
        }
    }

    /// The row `start..end` goes into, or `None` if every allowed row is taken there.
    pub(crate) fn place(&mut self, start: f64, end: f64) -> Option<usize> {
        let free = |row: &Vec<(f64, f64)>| row.iter().all(|(s, e)| end <= *s || start >= *e);
        let index = match self.rows.iter().position(free) {
            Some(i) => i,
            None if self.rows.len() < self.max_rows => {
                self.rows.push(Vec::new());
                self.rows.len() - 1
            }
            None => return None,
        };
        self.rows[index].push((start, end));
        Some(index)
    }

    /// How many rows are in use.
    pub(crate) fn row_count(&self) -> usize {
        self.rows.len()
    }
}

/// The little picture before a legend entry, matching how the plot draws that thing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Swatch {
    /// A filled dot: a completed operation.
    Dot(RGBColor),
    /// A hollow ring: an operation the client gave up on, or one still open at the end.
    Ring(RGBColor),
    /// A cross: an error reply.
    Cross(RGBColor),
    /// A hollow square: an operation that did not take effect.
    Square(RGBColor),
    /// A translucent block: a fault window.
    Band(RGBColor),
    /// A short line: a series drawn as a line.
    Line(RGBColor),
    /// A short dashed vertical line: marks.
    Mark,
    /// A short solid vertical line: a failed check.
    Rule(RGBColor),
}

pub(crate) struct LegendItem {
    pub(crate) swatch: Swatch,
    pub(crate) label: String,
}

const LEGEND_ROW: i32 = 24;
const SWATCH: i32 = 16;

/// Where each legend item goes within `width` pixels, wrapping to new rows as needed; returns the
/// positions and the height the legend needs.
fn legend_layout(items: &[LegendItem], width: i32, left: i32) -> (Vec<(i32, i32)>, i32) {
    let ink = Ink::new(canvas::SMALL_SIZE, palette::TEXT);
    let mut positions = Vec::with_capacity(items.len());
    let (mut x, mut row) = (left, 0);
    for item in items {
        let w = SWATCH + 6 + ink.width(&item.label) + 22;
        if x + w > width && x > left {
            x = left;
            row += 1;
        }
        positions.push((x, row * LEGEND_ROW + LEGEND_ROW / 2));
        x += w;
    }
    let height = if items.is_empty() {
        0
    } else {
        (row + 1) * LEGEND_ROW + 4
    };
    (positions, height)
}

/// Draws the legend across the top of `area` starting `left` pixels in; returns the area below it.
pub(crate) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[LegendItem],
    left: i32,
) -> Result<DrawingArea<DB, Shift>, canvas::Failure> {
    let (width, _) = area.dim_in_pixel();
    let (positions, height) = legend_layout(items, width as i32 - 16, left);
    if height == 0 {
        return Ok(area.clone());
    }
    let (strip, rest) = area.split_vertically(height);
    let ink = Ink::new(canvas::SMALL_SIZE, palette::TEXT);
    for (item, &(x, y)) in items.iter().zip(&positions) {
        draw_swatch(&strip, item.swatch, (x + SWATCH / 2, y))?;
        text::draw(&strip, &item.label, (x + SWATCH + 6, y), ink)?;
    }
    Ok(rest)
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    (x, y): (i32, i32),
) -> Drawn {
    let half = SWATCH / 2;
    match swatch {
        Swatch::Dot(c) => area.draw(&Circle::new((x, y), 5, c.filled()))?,
        Swatch::Ring(c) => area.draw(&Circle::new((x, y), 5, c.stroke_width(2)))?,
        Swatch::Cross(c) => area.draw(&Cross::new((x, y), 5, c.stroke_width(2)))?,
        Swatch::Square(c) => area.draw(&Rectangle::new(
            [(x - 4, y - 4), (x + 4, y + 4)],
            c.stroke_width(2),
        ))?,
        Swatch::Band(c) => {
            area.draw(&Rectangle::new(
                [(x - half, y - half + 2), (x + half, y + half - 2)],
                c.mix(0.35).filled(),
            ))?;
            area.draw(&Rectangle::new(
                [(x - half, y - half + 2), (x + half, y + half - 2)],
                c.mix(0.8).stroke_width(1),
            ))?
        }
        Swatch::Line(c) => area.draw(&PathElement::new(
            vec![(x - half, y), (x + half, y)],
            c.stroke_width(3),
        ))?,
        Swatch::Rule(c) => area.draw(&PathElement::new(
            vec![(x, y - half), (x, y + half)],
            c.stroke_width(3),
        ))?,
        Swatch::Mark => area.draw(&DashedPathElement::new(
            vec![(x, y - half), (x, y + half)],
            3,
            2,
            palette::MARK.stroke_width(1),
        ))?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packer_stacks_overlaps_and_reuses_free_rows() {
        let mut p = Packer::new(2);
        assert_eq!(p.place(0.0, 10.0), Some(0));
        assert_eq!(p.place(5.0, 15.0), Some(1));
        assert_eq!(p.place(10.0, 20.0), Some(0), "touching is not overlapping");
        assert_eq!(p.place(12.0, 13.0), None, "both rows are taken at 12");
        assert_eq!(p.place(30.0, 40.0), Some(0));
        assert_eq!(p.row_count(), 2);
    }
}
