//! The frame of every plot over virtual time (latency over time, throughput): title, the verdict
//! line of a run whose checks did not all pass, legend, the annotation strip that names failed
//! checks, fault windows and marks, and the chart itself with the fault windows shaded as
//! translucent bands, marks drawn as thin dashed lines and failed checks as solid red lines (or
//! red-edged spans) where their findings place them. Plots fill the chart this returns with their
//! own series; shading and labelling faults and failures is done here and only here.
//!
//! Labels never sit on the data: they go in the strip above the chart, packed into rows so that
//! overlapping windows stay readable, each fault's label inside its box; when even the rows run
//! out the note says how many labels were left out.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::{Axis, TimeAxis};
use crate::canvas::{self, AxisText, Drawn, Failure};
use crate::data::{FailedCheck, FaultWindow, Mark, OpSample};
use crate::layout::{LegendItem, Packer, Swatch, legend};
use crate::palette;
use crate::text::{self, Ink};

/// The chart a timeline plot draws its series on: x in virtual milliseconds, y in the plot's unit.
pub(crate) type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// Height of one row of labels in the strip, and how many rows it may grow to before labels are
/// left out (and counted in the note).
const STRIP_ROW: i32 = 22;
const STRIP_MAX_ROWS: usize = 5;

/// The time range a timeline covers: from the first invocation to the last completion, stretched
/// to show when checks failed. Fault windows and marks do not stretch it (a window that outlasts
/// the workload would squash the data); they are clipped to it. Without samples, the windows and
/// marks give the range.
pub(crate) fn time_range(
    samples: &[OpSample],
    windows: &[FaultWindow],
    marks: &[Mark],
    failures: &[FailedCheck],
) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for at in failures
        .iter()
        .flat_map(|f| [f.at_ms, f.until_ms])
        .flatten()
    {
        lo = lo.min(at);
        hi = hi.max(at);
    }
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
    /// Checks that did not pass: named in the verdict line, marked on the chart.
    pub(crate) failures: &'a [FailedCheck],
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
        let strip = Strip::lay_out(
            self.windows,
            self.marks,
            self.failures,
            &self.time.axis,
            plot,
        );

        let note = match (self.note.is_empty(), strip.hidden) {
            (_, 0) => self.note.clone(),
            (true, hidden) => format!("{hidden} overlapping labels not shown"),
            (false, hidden) => format!("{} · {hidden} overlapping labels not shown", self.note),
        };
        let body = canvas::title_bar(root, self.title, &note)?;
        let body = canvas::verdict_line(&body, self.failures)?;
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

/// What a strip entry stands for; it decides how the entry is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Kind<'a> {
    /// A fault window of a fault kind: a box in the strip, a translucent band over the chart.
    Fault(&'a str),
    /// An event: a tick in the strip, a dashed line over the chart.
    Mark,
    /// A check that did not pass: red text, and a solid red line over the chart (red edges around
    /// a span).
    Failure,
}

/// One label of the strip: what it names, over which time, and where it went.
struct Entry<'a> {
    kind: Kind<'a>,
    colour: RGBColor,
    label: String,
    start_ms: f64,
    /// Equal to `start_ms` for an instant.
    end_ms: f64,
    placed: Option<Placed>,
}

/// Where an entry's label went: its row, where its text is anchored (page pixels) and on which
/// side, and the box drawn around a span's label.
struct Placed {
    row: usize,
    text_x: i32,
    anchor: HPos,
    box_x: (i32, i32),
}

/// The box of a span's label in the strip: the span's pixels `x0..x1`, widened to hold the label
/// at `text_x` of `width` pixels when the span is too short for it, so a label never spills out
/// of its box.
fn label_box((x0, x1): (i32, i32), text_x: i32, width: i32) -> (i32, i32) {
    (x0.min(text_x - 5), x1.max(text_x + width + 5))
}

/// The failed checks, fault windows and marks inside the time range, with where their labels go.
struct Strip<'a> {
    entries: Vec<Entry<'a>>,
    rows: usize,
    hidden: usize,
}

impl<'a> Strip<'a> {
    /// Places labels for the failures, windows and marks that fall in `time`, whose plot spans the
    /// page pixels `plot_left..plot_right`, in that order: which check failed matters most, then a
    /// fault's name, then an event's.
    fn lay_out(
        windows: &'a [FaultWindow],
        marks: &[Mark],
        failures: &[FailedCheck],
        time: &Axis,
        (plot_left, plot_right): (i32, i32),
    ) -> Strip<'a> {
        let ink = Ink::new(canvas::SMALL_SIZE, palette::TEXT);
        let (lo, hi) = (time.lo(), time.hi());
        let px =
            |ms: f64| plot_left + (time.fraction(ms) * f64::from(plot_right - plot_left)) as i32;
        let entry = |kind: Kind<'a>, colour, label: String, start_ms, end_ms| Entry {
            kind,
            colour,
            label,
            start_ms,
            end_ms,
            placed: None,
        };

        let mut failed: Vec<Entry<'a>> = failures
            .iter()
            .filter_map(|f| {
                let at = f.at_ms?;
                let until = f.until_ms.unwrap_or(at).max(at);
                let label = if f.undecided {
                    format!("{}: no verdict", f.check)
                } else {
                    format!("{} fails", f.check)
                };
                Some(entry(
                    Kind::Failure,
                    palette::FAILED_CHECK,
                    label,
                    at,
                    until,
                ))
            })
            .collect();
        let mut faults: Vec<Entry<'a>> = windows
            .iter()
            .map(|w| {
                let (kind, colour) = (Kind::Fault(&w.kind), palette::fault(&w.kind));
                entry(kind, colour, w.label.clone(), w.start_ms, w.end_ms)
            })
            .collect();
        let mut events: Vec<Entry<'a>> = marks
            .iter()
            .map(|m| entry(Kind::Mark, palette::MARK, m.label.clone(), m.at_ms, m.at_ms))
            .collect();
        let mut entries = Vec::new();
        for group in [&mut failed, &mut faults, &mut events] {
            group.retain(|e| e.end_ms >= lo && e.start_ms <= hi);
            group.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
            entries.append(group);
        }

        let mut packer = Packer::new(STRIP_MAX_ROWS);
        for e in &mut entries {
            let clamp = |x: i32| x.clamp(plot_left, plot_right);
            let (x0, x1) = (clamp(px(e.start_ms)), clamp(px(e.end_ms)));
            let width = ink.width(&e.label);
            let (text_x, anchor, box_x) =
                if e.start_ms < e.end_ms || matches!(e.kind, Kind::Fault(_)) {
                    // A span's label starts inside its box; one that would run off the right
                    // edge is pulled back inside the plot, and the box widens to hold it.
                    let text_x = (x0 + 5).min(plot_right - width - 7).max(plot_left + 5);
                    (text_x, HPos::Left, label_box((x0, x1), text_x, width))
                } else if x0 + 5 + width > plot_right {
                    // Near the right edge an instant's label goes to the left of its line.
                    (x0 - 5, HPos::Right, (x0 - 5 - width, x0))
                } else {
                    (x0 + 5, HPos::Left, (x0, x0 + 5 + width))
                };
            let row = packer.place(f64::from(box_x.0 - 2), f64::from(box_x.1 + 8));
            e.placed = row.map(|row| Placed {
                row,
                text_x,
                anchor,
                box_x,
            });
        }
        let hidden = entries.iter().filter(|e| e.placed.is_none()).count();
        Strip {
            entries,
            rows: packer.row_count(),
            hidden,
        }
    }

    fn height(&self) -> i32 {
        if self.rows == 0 {
            0
        } else {
            self.rows as i32 * STRIP_ROW + 4
        }
    }

    /// The plot's legend followed by the fault kinds present, marks and failed checks, if any.
    fn legend(&self, mut items: Vec<LegendItem>) -> Vec<LegendItem> {
        let mut kinds: Vec<&str> = self
            .entries
            .iter()
            .filter_map(|e| match e.kind {
                Kind::Fault(kind) => Some(kind),
                _ => None,
            })
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            items.push(LegendItem {
                swatch: Swatch::Band(palette::fault(kind)),
                label: kind.to_string(),
            });
        }
        let has = |kind| self.entries.iter().any(|e| e.kind == kind);
        if has(Kind::Mark) {
            items.push(LegendItem {
                swatch: Swatch::Mark,
                label: "event".to_string(),
            });
        }
        if has(Kind::Failure) {
            items.push(LegendItem {
                swatch: Swatch::Rule(palette::FAILED_CHECK),
                label: "check did not pass".to_string(),
            });
        }
        items
    }

    /// Over the whole height of the chart: fault windows shaded, marks as dashed lines, failed
    /// checks as solid lines (a span as a faint band between two).
    fn shade<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &mut TimeChart<'_, DB>,
    ) -> Drawn {
        let (y_lo, y_hi) = {
            let range = chart.y_range();
            (range.start, range.end)
        };
        let (_, pixels_y) = chart.plotting_area().get_pixel_range();
        // Bands first, failures last, so that their lines lie over everything else.
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by_key(|e| match e.kind {
            Kind::Fault(_) => 0,
            Kind::Mark => 1,
            Kind::Failure => 2,
        });
        for e in entries {
            let span = e.end_ms > e.start_ms;
            let band = match e.kind {
                Kind::Fault(_) => Some(palette::BAND_ALPHA),
                Kind::Failure if span => Some(0.06),
                _ => None,
            };
            if let Some(alpha) = band {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(e.start_ms, y_lo), (e.end_ms, y_hi)],
                    e.colour.mix(alpha).filled(),
                )))?;
            }
            let edges: &[f64] = if span {
                &[e.start_ms, e.end_ms]
            } else {
                &[e.start_ms]
            };
            for &edge in edges {
                let (x, _) = chart.backend_coord(&(edge, y_lo));
                let line = vec![(x, pixels_y.start), (x, pixels_y.end)];
                match e.kind {
                    // Edges keep two adjacent or overlapping windows apart.
                    Kind::Fault(_) => {
                        root.draw(&PathElement::new(line, e.colour.mix(0.45).stroke_width(1)))?
                    }
                    Kind::Mark => root.draw(&DashedPathElement::new(
                        line,
                        5,
                        4,
                        palette::MARK.mix(0.7).stroke_width(1),
                    ))?,
                    Kind::Failure => {
                        root.draw(&PathElement::new(line, e.colour.stroke_width(2)))?
                    }
                }
            }
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
        let ink = Ink::new(canvas::SMALL_SIZE, palette::TEXT);
        for e in &self.entries {
            let Some(placed) = &e.placed else { continue };
            let top = top + placed.row as i32 * STRIP_ROW;
            let (x0, x1) = (x_of(e.start_ms), x_of(e.end_ms));
            let (y0, y1) = (top + 1, top + STRIP_ROW - 3);
            match e.kind {
                Kind::Fault(_) => {
                    // The box holds the label; the window's own time is the darker part of it.
                    let (b0, b1) = placed.box_x;
                    root.draw(&Rectangle::new(
                        [(b0, y0), (b1, y1)],
                        e.colour.mix(0.08).filled(),
                    ))?;
                    let (w0, w1) = (x0.max(b0), x1.max(x0 + 2).min(b1));
                    root.draw(&Rectangle::new(
                        [(w0, y0), (w1, y1)],
                        e.colour.mix(0.22).filled(),
                    ))?;
                    root.draw(&Rectangle::new(
                        [(b0, y0), (b1, y1)],
                        e.colour.mix(0.7).stroke_width(1),
                    ))?;
                }
                Kind::Failure if e.end_ms > e.start_ms => {
                    let (b0, b1) = placed.box_x;
                    root.draw(&Rectangle::new(
                        [(b0, y0), (b1, y1)],
                        e.colour.stroke_width(1),
                    ))?;
                }
                Kind::Mark | Kind::Failure => {
                    let width = if e.kind == Kind::Failure { 3 } else { 2 };
                    root.draw(&PathElement::new(
                        vec![(x0, y0), (x0, y1)],
                        e.colour.stroke_width(width),
                    ))?;
                }
            }
            let colour = if e.kind == Kind::Failure {
                palette::FAILED_CHECK
            } else {
                palette::TEXT
            };
            let ink = ink.colour(colour).anchor(placed.anchor, VPos::Center);
            text::draw(root, &e.label, (placed.text_x, top + STRIP_ROW / 2), ink)?;
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
            &[],
        );
        // 10 .. 200 ms spans 190 ms: 3.8 ms of margin on each side.
        assert!(
            (lo - 6.2).abs() < 1e-9 && (hi - 203.8).abs() < 1e-9,
            "{lo} .. {hi}"
        );
        assert_eq!(time_range(&[op(0.0, 100.0)], &[], &[], &[]), (0.0, 102.0));
        // A failed check stretches it: when it failed must be on the plot.
        let late = FailedCheck {
            check: "durability".into(),
            undecided: false,
            at_ms: Some(200.0),
            until_ms: None,
        };
        assert_eq!(
            time_range(&[op(0.0, 100.0)], &[], &[], &[late]),
            (0.0, 204.0)
        );
        // Without operations the annotations give the range; without anything, one second.
        assert_eq!(time_range(&[], &[w], &[], &[]).0, 0.0);
        assert_eq!(time_range(&[], &[], &[], &[]), (0.0, 1000.0));
    }

    /// Each fault's label stays inside its box, however short the window or near the edge; failed
    /// checks are placed first and say whether they failed or could not decide.
    #[test]
    fn labels_stay_inside_their_boxes_and_failures_come_first() {
        let window = |start_ms: f64, end_ms: f64, label: &str| FaultWindow {
            start_ms,
            end_ms,
            label: label.to_string(),
            kind: "pause".to_string(),
        };
        let windows = [
            window(100.0, 102.0, "pause n2"),
            window(400.0, 900.0, "partition n0 | n1,n2"),
            window(990.0, 1000.0, "clog n1->n2"),
        ];
        let failures = [
            FailedCheck {
                check: "liveness".into(),
                undecided: false,
                at_ms: Some(500.0),
                until_ms: Some(700.0),
            },
            FailedCheck {
                check: "linearizable".into(),
                undecided: true,
                at_ms: None,
                until_ms: None,
            },
        ];
        let time = Axis::linear(0.0, 1000.0, 10);
        let strip = Strip::lay_out(&windows, &[], &failures, &time, (100, 1300));
        let ink = Ink::new(canvas::SMALL_SIZE, palette::TEXT);
        let labels: Vec<&str> = strip.entries.iter().map(|e| e.label.as_str()).collect();
        // A failure without a time has nothing to mark: the verdict line names it instead.
        assert_eq!(
            labels,
            [
                "liveness fails",
                "pause n2",
                "partition n0 | n1,n2",
                "clog n1->n2"
            ]
        );
        for e in &strip.entries {
            let placed = e.placed.as_ref().expect("room for four labels");
            let (b0, b1) = placed.box_x;
            let text = (placed.text_x, placed.text_x + ink.width(&e.label));
            assert!(
                b0 < text.0 && text.1 < b1 && (100..=1300).contains(&b0) && b1 <= 1300,
                "{}: text {text:?} box {:?}",
                e.label,
                placed.box_x
            );
        }
        let text = canvas::verdict_text(&failures, |_| true);
        assert_eq!(
            text,
            "FAILED: liveness from 500 ms to 700 ms · NO VERDICT: linearizable (no time in its finding)"
        );
    }
}
