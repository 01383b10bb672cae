//! The message (space–time) diagram, Lamport- and Maelstrom-style, for teaching and for reading a
//! short run: one vertical lane per process with time flowing down, one arrow per message from
//! the sender's lane at the send time to the receiver's lane at the receive time, labelled with
//! the message kind; a lost message ends in a red ✕ part-way across. Fault windows are bands
//! across the lanes and marks are dashed lines, both named in a column on the right.
//!
//! Time is drawn in order but not to scale: each gap between consecutive events gets a height
//! that grows with the gap but stays between a minimum (so simultaneous-looking events stay
//! apart) and a maximum (so idle stretches do not swallow the page); the left column gives the
//! real times. Only the first [`MESSAGE_DIAGRAM_MAX_ARROWS`] messages are drawn, and the picture
//! says so. The same drawing code writes the SVG and a PNG preview.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::format_significant;
use crate::canvas::{self, Drawn};
use crate::data::{self, Arrow, FaultWindow, Mark};
use crate::error::ReportError;
use crate::layout::Packer;
use crate::palette;
use crate::text::{self, Ink};

/// At most this many messages are drawn (the first ones by send time): past that a space–time
/// diagram is a hairball, and it is meant for short runs.
pub const MESSAGE_DIAGRAM_MAX_ARROWS: usize = 100;

/// Writes the diagram as SVG.
pub fn message_diagram(
    path: impl AsRef<Path>,
    title: &str,
    lanes: &[String],
    arrows: &[Arrow],
    windows: &[FaultWindow],
    marks: &[Mark],
) -> Result<(), ReportError> {
    let diagram = Diagram::new(lanes, arrows, windows, marks, true)?;
    canvas::svg(path.as_ref(), diagram.size(), |root| {
        diagram.draw(root, title)
    })
}

/// Writes the same diagram as PNG, for viewers without SVG support.
pub fn message_diagram_png(
    path: impl AsRef<Path>,
    title: &str,
    lanes: &[String],
    arrows: &[Arrow],
    windows: &[FaultWindow],
    marks: &[Mark],
) -> Result<(), ReportError> {
    let diagram = Diagram::new(lanes, arrows, windows, marks, false)?;
    canvas::png(path.as_ref(), diagram.size(), |root| {
        diagram.draw(root, title)
    })
}

// Geometry, in pixels.
const TIME_COLUMN: i32 = 130;
const LANE_WIDTH: i32 = 190;
const HEADER_TOP: i32 = 44 + 30;
const HEADER_HEIGHT: i32 = 32;
const FIRST_EVENT: i32 = HEADER_TOP + HEADER_HEIGHT + 26;
const BOTTOM: i32 = 70;
const GAP_MIN: f64 = 18.0;
const GAP_TYPICAL: f64 = 26.0;
const GAP_MAX: f64 = 70.0;
/// How far below its send point a lost message's ✕ sits.
const LOST_DROP: i32 = 20;
const ANNOTATION_COLUMN: i32 = 200;
const ANNOTATION_MAX_COLUMNS: usize = 3;
const LABEL_SIZE: f64 = 14.0;

struct Diagram<'a> {
    lanes: &'a [String],
    /// The messages drawn, in send order.
    shown: Vec<&'a Arrow>,
    total: usize,
    /// Distinct event times, ascending, and the height of each.
    times: Vec<f64>,
    ys: Vec<i32>,
    /// Fault windows clipped to the drawn time range, with their annotation column.
    windows: Vec<(&'a FaultWindow, f64, f64, Option<usize>)>,
    marks: Vec<(&'a Mark, Option<usize>)>,
    /// Message kinds, sorted: their positions pick their colours.
    kinds: Vec<&'a str>,
    annotation_columns: usize,
    hidden_annotations: usize,
    /// SVG: text as `<text>` elements rather than pixels.
    native: bool,
}

impl<'a> Diagram<'a> {
    fn new(
        lanes: &'a [String],
        arrows: &'a [Arrow],
        windows: &'a [FaultWindow],
        marks: &'a [Mark],
        native: bool,
    ) -> Result<Diagram<'a>, ReportError> {
        data::check_arrows(lanes.len(), arrows)?;
        data::check_windows(windows)?;
        data::check_marks(marks)?;

        let mut shown: Vec<&Arrow> = arrows.iter().collect();
        shown.sort_by(|a, b| a.sent_ms.total_cmp(&b.sent_ms));
        shown.truncate(MESSAGE_DIAGRAM_MAX_ARROWS);

        // The drawn time range: the shown messages', or without messages the annotations'.
        let mut times: Vec<f64> = shown
            .iter()
            .flat_map(|a| std::iter::once(a.sent_ms).chain(a.received_ms))
            .collect();
        if times.is_empty() {
            times.extend(windows.iter().flat_map(|w| [w.start_ms, w.end_ms]));
            times.extend(marks.iter().map(|m| m.at_ms));
        }
        let lo = times.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut clipped: Vec<(&FaultWindow, f64, f64, Option<usize>)> = windows
            .iter()
            .filter(|w| w.end_ms >= lo && w.start_ms <= hi)
            .map(|w| (w, w.start_ms.max(lo), w.end_ms.min(hi), None))
            .collect();
        clipped.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut kept_marks: Vec<(&Mark, Option<usize>)> = marks
            .iter()
            .filter(|m| m.at_ms >= lo && m.at_ms <= hi)
            .map(|m| (m, None))
            .collect();
        kept_marks.sort_by(|a, b| a.0.at_ms.total_cmp(&b.0.at_ms));
        times.extend(clipped.iter().flat_map(|(_, s, e, _)| [*s, *e]));
        times.extend(kept_marks.iter().map(|(m, _)| m.at_ms));
        times.sort_by(f64::total_cmp);
        times.dedup();

        let ys = event_heights(&times);

        // Annotation columns right of the lanes: windows first, then marks.
        let y_of = |t: f64| ys[times.partition_point(|x| *x < t).min(ys.len() - 1)];
        let mut packer = Packer::new(ANNOTATION_MAX_COLUMNS);
        let mut hidden = 0;
        for (_, start, end, column) in &mut clipped {
            let (y0, y1) = (y_of(*start), y_of(*end));
            *column = packer.place(f64::from(y0 - 10), f64::from(y1.max(y0 + 20)));
            hidden += usize::from(column.is_none());
        }
        for (mark, column) in &mut kept_marks {
            let y = y_of(mark.at_ms);
            *column = packer.place(f64::from(y - 11), f64::from(y + 11));
            hidden += usize::from(column.is_none());
        }

        let mut kinds: Vec<&str> = shown.iter().map(|a| a.label.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        Ok(Diagram {
            lanes,
            shown,
            total: arrows.len(),
            times,
            ys,
            windows: clipped,
            marks: kept_marks,
            kinds,
            annotation_columns: packer.row_count(),
            hidden_annotations: hidden,
            native,
        })
    }

    fn lanes_right(&self) -> i32 {
        TIME_COLUMN + self.lanes.len() as i32 * LANE_WIDTH
    }

    fn size(&self) -> (u32, u32) {
        let width =
            self.lanes_right() + 16 + self.annotation_columns as i32 * ANNOTATION_COLUMN + 16;
        let last = self.ys.last().copied().unwrap_or(FIRST_EVENT);
        let height = last
            + LOST_DROP
            + BOTTOM
            + if self.repeat_headers() {
                HEADER_HEIGHT
            } else {
                0
            };
        (width.max(760) as u32, height.max(300) as u32)
    }

    /// Tall diagrams name the lanes again at the bottom, so a reader never scrolls to find them.
    fn repeat_headers(&self) -> bool {
        self.ys.last().copied().unwrap_or(0) > 900
    }

    fn lane_x(&self, lane: usize) -> i32 {
        TIME_COLUMN + LANE_WIDTH / 2 + lane as i32 * LANE_WIDTH
    }

    fn y(&self, t: f64) -> i32 {
        let i = self.times.partition_point(|x| *x < t);
        self.ys[i.min(self.ys.len() - 1)]
    }

    /// Text in the diagram's mode: native `<text>` in SVG, rasterized in PNG.
    fn ink(&self, size: f64, colour: RGBColor) -> Ink {
        Ink::new(size, colour).native(self.native)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Drawn {
        let (_, height) = root.dim_in_pixel();
        let height = height as i32;
        let title_ink = self.ink(canvas::TITLE_SIZE, palette::TEXT);
        text::draw(root, title, (16, canvas::TITLE_HEIGHT / 2 + 2), title_ink)?;
        let mut note = "time flows down; quiet gaps are shortened (the left column gives real times); ✕ = message lost".to_string();
        if self.shown.len() < self.total {
            note = format!(
                "showing the first {} of {} messages · {note}",
                self.shown.len(),
                self.total
            );
        }
        if self.hidden_annotations > 0 {
            note = format!("{note} · {} labels not shown", self.hidden_annotations);
        }
        let note_ink = self.ink(canvas::SMALL_SIZE, palette::MUTED);
        text::draw(root, &note, (16, canvas::TITLE_HEIGHT + 12), note_ink)?;
        let centre = |y| {
            (
                (TIME_COLUMN + self.lanes_right().max(TIME_COLUMN + 400)) / 2,
                y,
            )
        };
        let notice = self
            .ink(20.0, palette::MUTED)
            .anchor(HPos::Center, VPos::Center);
        if self.lanes.is_empty() {
            return text::draw(root, "no processes", centre(FIRST_EVENT + 40), notice);
        }

        let bottom = self.ys.last().copied().unwrap_or(FIRST_EVENT) + LOST_DROP;
        self.draw_windows(root)?;
        for lane in 0..self.lanes.len() {
            let x = self.lane_x(lane);
            root.draw(&PathElement::new(
                vec![(x, HEADER_TOP + HEADER_HEIGHT), (x, bottom)],
                palette::MARK.mix(0.55).stroke_width(2),
            ))?;
        }
        self.draw_marks(root)?;
        self.draw_time_column(root)?;
        if self.shown.is_empty() {
            // Below the lanes, where nothing else is drawn.
            text::draw(root, "no messages", centre(bottom + 28), notice)?;
        }
        self.draw_arrows(root)?;
        self.draw_headers(root, HEADER_TOP)?;
        if self.repeat_headers() {
            self.draw_headers(root, height - BOTTOM + 10)?;
        }
        Ok(())
    }

    fn draw_headers<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, top: i32) -> Drawn {
        let ink = self
            .ink(16.0, palette::TEXT)
            .anchor(HPos::Center, VPos::Center);
        for (lane, name) in self.lanes.iter().enumerate() {
            let x = self.lane_x(lane);
            let half = (ink.width(name) / 2 + 14).max(40);
            let corners = [(x - half, top), (x + half, top + HEADER_HEIGHT)];
            root.draw(&Rectangle::new(corners, RGBColor(242, 242, 242).filled()))?;
            root.draw(&Rectangle::new(corners, palette::MARK.stroke_width(1)))?;
            text::draw(root, name, (x, top + HEADER_HEIGHT / 2), ink)?;
        }
        Ok(())
    }

    /// Real times of events down the left, skipping any too close to the previous label.
    fn draw_time_column<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let right = |ink: Ink| ink.anchor(HPos::Right, VPos::Center);
        let header = right(self.ink(canvas::SMALL_SIZE, palette::MUTED));
        let at = (TIME_COLUMN - 16, HEADER_TOP + HEADER_HEIGHT / 2);
        text::draw(root, "time (ms)", at, header)?;
        let ink = right(self.ink(13.0, palette::MUTED));
        let mut last: Option<i32> = None;
        for (t, &y) in self.times.iter().zip(&self.ys) {
            if last.is_some_and(|last| y - last < 17) {
                continue;
            }
            last = Some(y);
            text::draw(root, &format_time(*t), (TIME_COLUMN - 16, y), ink)?;
            root.draw(&PathElement::new(
                vec![(TIME_COLUMN - 10, y), (TIME_COLUMN - 4, y)],
                palette::MUTED.stroke_width(1),
            ))?;
        }
        Ok(())
    }

    fn annotation_x(&self, column: usize) -> i32 {
        self.lanes_right() + 16 + column as i32 * ANNOTATION_COLUMN
    }

    fn draw_windows<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let ink = self.ink(13.0, palette::TEXT);
        for (w, start, end, column) in &self.windows {
            let colour = palette::fault(&w.kind);
            let (y0, y1) = (self.y(*start), self.y(*end).max(self.y(*start) + 2));
            root.draw(&Rectangle::new(
                [(TIME_COLUMN, y0), (self.lanes_right(), y1)],
                colour.mix(palette::BAND_ALPHA).filled(),
            ))?;
            for y in [y0, y1] {
                root.draw(&PathElement::new(
                    vec![(TIME_COLUMN, y), (self.lanes_right(), y)],
                    colour.mix(0.45).stroke_width(1),
                ))?;
            }
            let Some(column) = column else { continue };
            let x = self.annotation_x(*column);
            root.draw(&Rectangle::new(
                [(x, y0), (x + 6, y1)],
                colour.mix(0.7).filled(),
            ))?;
            text::draw(root, &w.label, (x + 12, y0 + 8), ink)?;
        }
        Ok(())
    }

    fn draw_marks<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let ink = self.ink(13.0, palette::TEXT);
        for (mark, column) in &self.marks {
            let y = self.y(mark.at_ms);
            let end = column.map_or(self.lanes_right(), |c| self.annotation_x(c));
            root.draw(&DashedPathElement::new(
                vec![(TIME_COLUMN, y), (end, y)],
                5,
                4,
                palette::MARK.mix(0.7).stroke_width(1),
            ))?;
            if let Some(column) = column {
                text::draw(root, &mark.label, (self.annotation_x(*column) + 12, y), ink)?;
            }
        }
        Ok(())
    }

    fn draw_arrows<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn {
        let label_ink = self
            .ink(LABEL_SIZE, palette::TEXT)
            .anchor(HPos::Center, VPos::Center);
        let mut taken: Vec<[i32; 4]> = Vec::new();
        let mut labels = Vec::new();
        for arrow in &self.shown {
            let kind = self.kinds.binary_search(&arrow.label.as_str()).unwrap_or(0);
            let colour = palette::message(kind);
            let from = (self.lane_x(arrow.from), self.y(arrow.sent_ms));
            let path = match arrow.received_ms {
                Some(received) if arrow.from == arrow.to => {
                    // A message to oneself loops out to the right of the lane and back.
                    let y1 = self.y(received).max(from.1 + 14);
                    vec![from, (from.0 + 30, from.1), (from.0 + 30, y1), (from.0, y1)]
                }
                Some(received) => vec![from, (self.lane_x(arrow.to), self.y(received))],
                None => {
                    // Lost: most of the way toward the receiver, so the ✕ is clearly on the way to
                    // that lane and not to a lane in between, and shallow, so it does not lie on a
                    // delivered sibling sent at the same moment.
                    let toward = if arrow.from == arrow.to {
                        from.0 + 60
                    } else {
                        self.lane_x(arrow.to)
                    };
                    let x = from.0 + (toward - from.0) * 62 / 100;
                    vec![from, (x, from.1 + LOST_DROP)]
                }
            };
            root.draw(&PathElement::new(path.clone(), colour.stroke_width(2)))?;
            root.draw(&Circle::new(from, 3, colour.filled()))?;
            let tip = path[path.len() - 1];
            let before = path[path.len() - 2];
            if arrow.received_ms.is_some() {
                root.draw(&arrow_head(before, tip, colour))?;
            } else {
                for (dx, dy) in [(7, 7), (7, -7)] {
                    root.draw(&PathElement::new(
                        vec![(tip.0 - dx, tip.1 - dy), (tip.0 + dx, tip.1 + dy)],
                        palette::INFO.stroke_width(3),
                    ))?;
                }
            }
            let spot = place_label(&path, &arrow.label, &label_ink, &mut taken);
            labels.push((spot, arrow.label.as_str(), colour));
        }
        // Labels last, each on a white patch, so no line crosses a word.
        for ((x, y, w, h), label, colour) in labels {
            root.draw(&Rectangle::new(
                [
                    (x - w / 2 - 4, y - h / 2 - 1),
                    (x + w / 2 + 4, y + h / 2 + 1),
                ],
                WHITE.mix(0.9).filled(),
            ))?;
            text::draw(root, label, (x, y), label_ink.colour(colour))?;
        }
        Ok(())
    }
}

/// Heights for ascending distinct `times`: gaps are scaled so the median gap gets
/// [`GAP_TYPICAL`] pixels, then clamped to [`GAP_MIN`]..[`GAP_MAX`].
fn event_heights(times: &[f64]) -> Vec<i32> {
    let mut gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let mut sorted = gaps.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted
        .get(sorted.len() / 2)
        .copied()
        .unwrap_or(1.0)
        .max(f64::MIN_POSITIVE);
    let mut y = f64::from(FIRST_EVENT);
    let mut ys = Vec::with_capacity(times.len());
    if !times.is_empty() {
        ys.push(FIRST_EVENT);
    }
    for gap in &mut gaps {
        y += (*gap / median * GAP_TYPICAL).clamp(GAP_MIN, GAP_MAX);
        ys.push(y.round() as i32);
    }
    ys
}

/// Milliseconds with up to three decimals, no trailing zeros: `12`, `12.5`, `1034.257`.
fn format_time(ms: f64) -> String {
    let text = format!("{ms:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".to_string()
    } else if ms.abs() >= 1e6 {
        format_significant(ms, 7)
    } else {
        text.to_string()
    }
}

/// A filled triangle pointing from `before` to `tip`, its point on `tip`.
fn arrow_head(before: (i32, i32), tip: (i32, i32), colour: RGBColor) -> Polygon<(i32, i32)> {
    let (dx, dy) = (f64::from(tip.0 - before.0), f64::from(tip.1 - before.1));
    let length = dx.hypot(dy).max(1.0);
    let (ux, uy) = (dx / length, dy / length);
    let base = (f64::from(tip.0) - 11.0 * ux, f64::from(tip.1) - 11.0 * uy);
    let (px, py) = (-uy * 4.5, ux * 4.5);
    Polygon::new(
        vec![
            tip,
            ((base.0 + px).round() as i32, (base.1 + py).round() as i32),
            ((base.0 - px).round() as i32, (base.1 - py).round() as i32),
        ],
        colour.filled(),
    )
}

/// Where a label goes on `path`: the first of a few spots along its first segment (middle
/// first) whose box overlaps no label placed so far. Returns centre and size.
fn place_label(
    path: &[(i32, i32)],
    label: &str,
    ink: &Ink,
    taken: &mut Vec<[i32; 4]>,
) -> (i32, i32, i32, i32) {
    let w = ink.width(label);
    let h = ink.height();
    // A loop's label sits on its outer vertical segment; other paths have one segment.
    let (a, b) = if path.len() > 2 {
        (path[1], path[2])
    } else {
        (path[0], path[1])
    };
    let at = |f: f64| {
        (
            a.0 + (f64::from(b.0 - a.0) * f).round() as i32,
            a.1 + (f64::from(b.1 - a.1) * f).round() as i32,
        )
    };
    let boxed = |(x, y): (i32, i32)| [x - w / 2 - 5, y - h / 2 - 3, x + w / 2 + 5, y + h / 2 + 3];
    let overlaps = |r: &[i32; 4]| {
        taken
            .iter()
            .any(|t| r[0] < t[2] && t[0] < r[2] && r[1] < t[3] && t[1] < r[3])
    };
    let spot = [0.5, 0.35, 0.65, 0.22, 0.78]
        .into_iter()
        .map(at)
        .find(|p| !overlaps(&boxed(*p)))
        .unwrap_or_else(|| at(0.5));
    taken.push(boxed(spot));
    (spot.0, spot.1, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_heights_keep_order_and_bound_every_gap() {
        let ys = event_heights(&[0.0, 0.001, 1.0, 2.0, 3.0, 1000.0]);
        assert_eq!(ys[0], FIRST_EVENT);
        for pair in ys.windows(2) {
            let gap = pair[1] - pair[0];
            assert!((GAP_MIN as i32..=GAP_MAX as i32).contains(&gap), "{ys:?}");
        }
        assert_eq!(event_heights(&[]), Vec::<i32>::new());
        assert_eq!(event_heights(&[5.0]), vec![FIRST_EVENT]);
    }

    #[test]
    fn times_read_without_trailing_zeros() {
        assert_eq!(format_time(12.0), "12");
        assert_eq!(format_time(12.5), "12.5");
        assert_eq!(format_time(1034.2571), "1034.257");
        assert_eq!(format_time(0.0), "0");
    }
}
