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
use crate::canvas::{self, AxisText, Failure};
use crate::data::{FaultWindow, Mark, OpSample};
use crate::layout::{LegendItem, Packer, Swatch, legend};
use crate::palette;
use crate::text::{self, Ink};

/// The chart a timeline plot draws its series on: x in virtual milliseconds, y in the plot's unit.
pub(crate) type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// Pixel geometry shared by the strip and the chart, so a window's bar in the strip lines up with
/// its band in the chart.
const MARGIN_LEFT: i32 = 14;
const MARGIN_RIGHT: i32 = 36;
const Y_LABEL_AREA: i32 = 104;
const X_LABEL_AREA: i32 = 60;
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
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1000.0)
    }
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

/// One label in the strip, placed in a row.
struct Placed {
    row: usize,
    /// Where the label text starts (pixels, page coordinates) and how it is anchored.
    text_x: i32,
    anchor: HPos,
}

impl Timeline<'_> {
    /// Draws the frame on `root` (the whole page) and returns the chart for the plot's series.
    pub(crate) fn draw<'c, DB: DrawingBackend>(
        self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<TimeChart<'c, DB>, Failure> {
        let (page_width, _) = root.dim_in_pixel();
        let plot_left = MARGIN_LEFT + Y_LABEL_AREA;
        let plot_right = page_width as i32 - MARGIN_RIGHT;
        let (lo, hi) = (self.time.axis.lo(), self.time.axis.hi());
        let px = |ms: f64| {
            plot_left + (self.time.axis.fraction(ms) * f64::from(plot_right - plot_left)) as i32
        };

        // Lay out the strip first: its height decides where the chart starts.
        let ink = Ink::new(canvas::SMALL_SIZE, palette::TEXT);
        let mut packer = Packer::new(STRIP_MAX_ROWS);
        let mut windows: Vec<&FaultWindow> = self
            .windows
            .iter()
            .filter(|w| w.end_ms >= lo && w.start_ms <= hi)
            .collect();
        windows.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
        let mut marks: Vec<&Mark> = self
            .marks
            .iter()
            .filter(|m| m.at_ms >= lo && m.at_ms <= hi)
            .collect();
        marks.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        let mut hidden = 0usize;
        // Windows go first: a fault's name matters more than an event's.
        let placed_windows: Vec<Option<Placed>> = windows
            .iter()
            .map(|w| {
                let (x0, x1) = (px(w.start_ms), px(w.end_ms));
                let tw = ink.width(&w.label);
                // A label that would run off the right edge is pulled back inside the plot.
                let text_x = (x0 + 5).min(plot_right - tw - 2).max(plot_left);
                let end = x1.max(text_x + tw) + 10;
                let placed = packer.place(f64::from(x0.min(text_x)), f64::from(end));
                hidden += usize::from(placed.is_none());
                placed.map(|row| Placed {
                    row,
                    text_x,
                    anchor: HPos::Left,
                })
            })
            .collect();
        let placed_marks: Vec<Option<Placed>> = marks
            .iter()
            .map(|m| {
                let x = px(m.at_ms);
                let tw = ink.width(&m.label);
                // Near the right edge the label goes to the left of its line.
                let (start, end, text_x, anchor) = if x + 5 + tw > plot_right {
                    (x - 5 - tw - 8, x + 2, x - 5, HPos::Right)
                } else {
                    (x - 2, x + 5 + tw + 8, x + 5, HPos::Left)
                };
                let placed = packer.place(f64::from(start), f64::from(end));
                hidden += usize::from(placed.is_none());
                placed.map(|row| Placed {
                    row,
                    text_x,
                    anchor,
                })
            })
            .collect();

        let mut note = self.note.clone();
        if hidden > 0 {
            let hidden_note = format!("{hidden} overlapping labels not shown");
            note = if note.is_empty() {
                hidden_note
            } else {
                format!("{note} · {hidden_note}")
            };
        }
        let body = canvas::title_bar(root, self.title, &note)?;

        let mut items = self.legend;
        let mut kinds: Vec<&str> = windows.iter().map(|w| w.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            items.push(LegendItem {
                swatch: Swatch::Band(palette::fault(kind)),
                label: kind.to_string(),
            });
        }
        if !marks.is_empty() {
            items.push(LegendItem {
                swatch: Swatch::Mark,
                label: "event".to_string(),
            });
        }
        let body = legend(&body, &items, plot_left)?;

        let strip_height = if packer.row_count() == 0 {
            0
        } else {
            packer.row_count() as i32 * STRIP_ROW + 4
        };
        let (strip, chart_area) = body.split_vertically(strip_height);

        let mut chart = ChartBuilder::on(&chart_area)
            .margin_left(MARGIN_LEFT)
            .margin_right(MARGIN_RIGHT)
            .margin_top(4)
            .margin_bottom(10)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(self.time.axis.clone(), self.y.clone())?;
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

        // Bands and their edges: the edges keep two adjacent or overlapping windows apart.
        let (y_lo, y_hi) = (self.y.lo(), self.y.hi());
        for w in &windows {
            let colour = palette::fault(&w.kind);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(w.start_ms, y_lo), (w.end_ms, y_hi)],
                colour.mix(palette::BAND_ALPHA).filled(),
            )))?;
            for edge in [w.start_ms, w.end_ms] {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(edge, y_lo), (edge, y_hi)],
                    colour.mix(0.45).stroke_width(1),
                )))?;
            }
        }
        let (_, chart_pixels_y) = chart.plotting_area().get_pixel_range();
        for m in &marks {
            let (x, _) = chart.backend_coord(&(m.at_ms, y_lo));
            root.draw(&DashedPathElement::new(
                vec![(x, chart_pixels_y.start), (x, chart_pixels_y.end)],
                5,
                4,
                palette::MARK.mix(0.7).stroke_width(1),
            ))?;
        }

        // The strip, in page pixels, using the chart's own mapping for x.
        let strip_top = strip.get_base_pixel().1 + 2;
        let row_top = |row: usize| strip_top + row as i32 * STRIP_ROW;
        let x_of = |ms: f64| chart.backend_coord(&(ms, y_lo)).0;
        for (w, placed) in windows.iter().zip(&placed_windows) {
            let Some(placed) = placed else { continue };
            let colour = palette::fault(&w.kind);
            let top = row_top(placed.row);
            let (x0, x1) = (x_of(w.start_ms), x_of(w.end_ms).max(x_of(w.start_ms) + 2));
            root.draw(&Rectangle::new(
                [(x0, top + 1), (x1, top + STRIP_ROW - 3)],
                colour.mix(0.22).filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x0, top + 1), (x1, top + STRIP_ROW - 3)],
                colour.mix(0.7).stroke_width(1),
            ))?;
            let at = (placed.text_x, top + STRIP_ROW / 2);
            text::draw(root, &w.label, at, ink)?;
        }
        for (m, placed) in marks.iter().zip(&placed_marks) {
            let Some(placed) = placed else { continue };
            let top = row_top(placed.row);
            let x = x_of(m.at_ms);
            root.draw(&PathElement::new(
                vec![(x, top + 1), (x, top + STRIP_ROW - 3)],
                palette::MARK.stroke_width(2),
            ))?;
            let at = (placed.text_x, top + STRIP_ROW / 2);
            text::draw(root, &m.label, at, ink.anchor(placed.anchor, VPos::Center))?;
        }
        Ok(chart)
    }
}
