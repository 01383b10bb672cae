//! The frame of every plot over virtual time (latency over time, throughput): title, legend,
//! the annotation strip that names fault windows and marks, and the chart itself with the fault
//! windows shaded as translucent bands and marks drawn as thin dashed lines. Plots fill the chart
//! this returns with their own series; shading and labelling faults is done here and only here.
//!
//! Labels never sit on the data: they go in the strip above the chart, packed into rows so that
//! overlapping windows stay readable, and when even the rows run out the note says how many
//! labels were left out.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::{Axis, TimeAxis};
use crate::canvas::{self, AxisText, Drawn, Failure};
use crate::data::{FaultWindow, Mark, OpSample};
use crate::layout::{LegendItem, Packer, Swatch, legend};
use crate::palette;
use crate::text::{self, Ink};

/// The chart a timeline plot draws its series on: x in virtual milliseconds, y in the plot's unit.
pub(crate) type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// Height of one row of labels in the strip, and how many rows it may grow to before labels are
/// left out (and counted in the note).
const STRIP_ROW: i32 = 22;
const STRIP_MAX_ROWS: usize = 5;

/// The time range a timeline covers: from the first invocation to the last completion. Fault
/// windows and marks do not stretch it (a window that outlasts the workload would squash the
/// data); they are clipped to it. Without samples, the windows and marks give the range.
pub(crate) fn time_range(
    samples: &[OpSample],
    windows: &[FaultWindow],
    marks: &[Mark],
) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    if samples.is_empty() {
        for w in windows {
            lo = lo.min(w.start_ms);
            hi = hi.max(w.end_ms);
        }
        for m in marks {
            lo = lo.min(m.at_ms);
            hi = hi.max(m.at_ms);
        }
    } else {
        for s in samples {
            lo = lo.min(s.start_ms);
            hi = hi.max(s.start_ms + s.latency_ms);
        }
    }
    if !lo.is_finite() {
        return (0.0, 1000.0);
    }
    // A little room at both ends, so the first and last points do not sit on the frame; never
    // before time zero for a run that starts there.
    let pad = (hi - lo) * 0.02;
    let padded_lo = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    (padded_lo, hi + pad)
}

pub(crate) struct Timeline<'a> {
    pub(crate) title: &'a str,
    /// Muted text at the top right (e.g. the bucket width); the strip may add to it.
    pub(crate) note: String,
    /// The plot's own legend entries; fault kinds and marks are appended here.
    pub(crate) legend: Vec<LegendItem>,
    pub(crate) windows: &'a [FaultWindow],
    pub(crate) marks: &'a [Mark],
    pub(crate) time: TimeAxis,
    pub(crate) y: Axis,
    pub(crate) y_title: String,
    pub(crate) y_format: &'a dyn Fn(f64) -> String,
}

impl Timeline<'_> {
    /// Draws the frame on `root` (the whole page) and returns the chart for the plot's series.
    pub(crate) fn draw<'c, DB: DrawingBackend>(
        self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<TimeChart<'c, DB>, Failure> {
        let (page_width, _) = root.dim_in_pixel();
        // The chart's plot spans these page pixels; the strip is laid out against them.
        let plot = (
            canvas::MARGIN_LEFT + canvas::Y_LABEL_AREA,
            page_width as i32 - canvas::MARGIN_RIGHT,
        );
        // Lay out the strip first: its height decides where the chart starts.
        let strip = Strip::lay_out(self.windows, self.marks, &self.time.axis, plot);

        let note = match (self.note.is_empty(), strip.hidden) {
            (_, 0) => self.note.clone(),
            (true, hidden) => format!("{hidden} overlapping labels not shown"),
            (false, hidden) => format!("{} · {hidden} overlapping labels not shown", self.note),
        };
        let body = canvas::title_bar(root, self.title, &note)?;
        let body = legend(&body, &strip.legend(self.legend), plot.0)?;
        let (strip_area, chart_area) = body.split_vertically(strip.height());

        let y_area = canvas::Y_LABEL_AREA;
        let mut chart = canvas::chart(&chart_area, self.time.axis.clone(), self.y.clone(), y_area)?;
        let x_format = |ms: f64| self.time.format(ms);
        canvas::draw_axes(
            root,
            &mut chart,
            AxisText {
                x: &self.time.axis,
                y: &self.y,
                x_title: &self.time.title(),
                y_title: &self.y_title,
                x_format: &x_format,
                y_format: self.y_format,
                y_grid: true,
            },
        )?;
        strip.shade(root, &mut chart)?;
        strip.draw(root, &chart, strip_area.get_base_pixel().1 + 2)?;
        Ok(chart)
    }
}

/// A label placed in a row of the strip.
struct Placed {
    row: usize,
    /// Where the label text is anchored (page pixels) and on which side.
    text_x: i32,
    anchor: HPos,
}

/// The fault windows and marks inside the time range, with where their labels go.
struct Strip<'a> {
    windows: Vec<(&'a FaultWindow, Option<Placed>)>,
    marks: Vec<(&'a Mark, Option<Placed>)>,
    rows: usize,
    hidden: usize,
    ink: Ink,
}

impl<'a> Strip<'a> {
    /// Places labels for the windows and marks that fall in `time`, whose plot spans the page
    /// pixels `plot_left..plot_right`. Windows are placed first: a fault's name matters more than
    /// an event's.
    fn lay_out(
        windows: &'a [FaultWindow],
        marks: &'a [Mark],
        time: &Axis,
        (plot_left, plot_right): (i32, i32),
    ) -> Strip<'a> {
        let ink = Ink::new(canvas::SMALL_SIZE, palette::TEXT);
        let (lo, hi) = (time.lo(), time.hi());
        let px =
            |ms: f64| plot_left + (time.fraction(ms) * f64::from(plot_right - plot_left)) as i32;
        let mut packer = Packer::new(STRIP_MAX_ROWS);

        let mut in_range: Vec<&FaultWindow> = windows
            .iter()
            .filter(|w| w.end_ms >= lo && w.start_ms <= hi)
            .collect();
        in_range.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
        let windows: Vec<(&FaultWindow, Option<Placed>)> = in_range
            .into_iter()
            .map(|w| {
                let (x0, x1) = (px(w.start_ms), px(w.end_ms));
                let width = ink.width(&w.label);
                // A label that would run off the right edge is pulled back inside the plot.
                let text_x = (x0 + 5).min(plot_right - width - 2).max(plot_left);
                let end = x1.max(text_x + width) + 10;
                let row = packer.place(f64::from(x0.min(text_x)), f64::from(end));
                let placed = row.map(|row| Placed {
                    row,
                    text_x,
                    anchor: HPos::Left,
                });
                (w, placed)
            })
            .collect();

        let mut in_range: Vec<&Mark> = marks
            .iter()
            .filter(|m| m.at_ms >= lo && m.at_ms <= hi)
            .collect();
        in_range.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        let marks: Vec<(&Mark, Option<Placed>)> = in_range
            .into_iter()
            .map(|m| {
                let x = px(m.at_ms);
                let width = ink.width(&m.label);
                // Near the right edge the label goes to the left of its line.
                let (start, end, text_x, anchor) = if x + 5 + width > plot_right {
                    (x - 5 - width - 8, x + 2, x - 5, HPos::Right)
                } else {
                    (x - 2, x + 5 + width + 8, x + 5, HPos::Left)
                };
                let row = packer.place(f64::from(start), f64::from(end));
                (
                    m,
                    row.map(|row| Placed {
                        row,
                        text_x,
                        anchor,
                    }),
                )
            })
            .collect();

        let hidden = windows.iter().filter(|(_, p)| p.is_none()).count()
            + marks.iter().filter(|(_, p)| p.is_none()).count();
        Strip {
            windows,
            marks,
            rows: packer.row_count(),
            hidden,
            ink,
        }
    }

    fn height(&self) -> i32 {
        if self.rows == 0 {
            0
        } else {
            self.rows as i32 * STRIP_ROW + 4
        }
    }

    /// The plot's legend followed by the fault kinds present and, if any, marks.
    fn legend(&self, mut items: Vec<LegendItem>) -> Vec<LegendItem> {
        let mut kinds: Vec<&str> = self.windows.iter().map(|(w, _)| w.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            items.push(LegendItem {
                swatch: Swatch::Band(palette::fault(kind)),
                label: kind.to_string(),
            });
        }
        if !self.marks.is_empty() {
            items.push(LegendItem {
                swatch: Swatch::Mark,
                label: "event".to_string(),
            });
        }
        items
    }

    /// Shades the windows over the whole height of the chart and draws marks as dashed lines.
    fn shade<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &mut TimeChart<'_, DB>,
    ) -> Drawn {
        let (y_lo, y_hi) = {
            let range = chart.y_range();
            (range.start, range.end)
        };
        for (w, _) in &self.windows {
            let colour = palette::fault(&w.kind);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(w.start_ms, y_lo), (w.end_ms, y_hi)],
                colour.mix(palette::BAND_ALPHA).filled(),
            )))?;
            // Edges keep two adjacent or overlapping windows apart.
            for edge in [w.start_ms, w.end_ms] {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(edge, y_lo), (edge, y_hi)],
                    colour.mix(0.45).stroke_width(1),
                )))?;
            }
        }
        let (_, pixels_y) = chart.plotting_area().get_pixel_range();
        for (m, _) in &self.marks {
            let (x, _) = chart.backend_coord(&(m.at_ms, y_lo));
            root.draw(&DashedPathElement::new(
                vec![(x, pixels_y.start), (x, pixels_y.end)],
                5,
                4,
                palette::MARK.mix(0.7).stroke_width(1),
            ))?;
        }
        Ok(())
    }

    /// Draws the strip's rows from page pixel `top` down, with the chart's own mapping for x.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &TimeChart<'_, DB>,
        top: i32,
    ) -> Drawn {
        let y_lo = chart.y_range().start;
        let x_of = |ms: f64| chart.backend_coord(&(ms, y_lo)).0;
        let row_top = |row: usize| top + row as i32 * STRIP_ROW;
        for (w, placed) in &self.windows {
            let Some(placed) = placed else { continue };
            let colour = palette::fault(&w.kind);
            let top = row_top(placed.row);
            let (x0, x1) = (x_of(w.start_ms), x_of(w.end_ms).max(x_of(w.start_ms) + 2));
            let corners = [(x0, top + 1), (x1, top + STRIP_ROW - 3)];
            root.draw(&Rectangle::new(corners, colour.mix(0.22).filled()))?;
            root.draw(&Rectangle::new(corners, colour.mix(0.7).stroke_width(1)))?;
            text::draw(
                root,
                &w.label,
                (placed.text_x, top + STRIP_ROW / 2),
                self.ink,
            )?;
        }
        for (m, placed) in &self.marks {
            let Some(placed) = placed else { continue };
            let top = row_top(placed.row);
            let x = x_of(m.at_ms);
            root.draw(&PathElement::new(
                vec![(x, top + 1), (x, top + STRIP_ROW - 3)],
                palette::MARK.stroke_width(2),
            ))?;
            let ink = self.ink.anchor(placed.anchor, VPos::Center);
            text::draw(root, &m.label, (placed.text_x, top + STRIP_ROW / 2), ink)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Outcome;

    fn op(start_ms: f64, latency_ms: f64) -> OpSample {
        OpSample {
            start_ms,
            latency_ms,
            op: "get_data".to_string(),
            outcome: Outcome::Ok,
        }
    }

    #[test]
    fn time_range_spans_the_operations_with_a_margin() {
        let w = FaultWindow {
            start_ms: 50.0,
            end_ms: 1e6,
            label: "crash n0".to_string(),
            kind: "crash".to_string(),
        };
        // From the first invocation to the last completion, 2 % margin, never below zero; the
        // window outlasting the run does not stretch it.
        let (lo, hi) = time_range(
            &[op(10.0, 5.0), op(100.0, 100.0)],
            std::slice::from_ref(&w),
            &[],
        );
        // 10 .. 200 ms spans 190 ms: 3.8 ms of margin on each side.
        assert!(
            (lo - 6.2).abs() < 1e-9 && (hi - 203.8).abs() < 1e-9,
            "{lo} .. {hi}"
        );
        assert_eq!(time_range(&[op(0.0, 100.0)], &[], &[]), (0.0, 102.0));
        // Without operations the annotations give the range; without anything, one second.
        assert_eq!(time_range(&[], &[w], &[]).0, 0.0);
        assert_eq!(time_range(&[], &[], &[]), (0.0, 1000.0));
    }
}
