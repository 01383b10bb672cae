//! The plot every run gets: each operation's latency against the virtual time it was invoked,
//! one colour per operation type: answered operations as dots, error replies as crosses, failed
//! (did not take effect) ones as hollow squares, info ones as red rings at the latency where the
//! client gave up and open ones as grey rings where the run ended, over the fault windows, marks
//! and failed checks of the run. It only draws; the frame (title, verdict, legend, fault shading,
//! axes) comes from `timeline`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{Axis, TimeAxis, format_latency};
use crate::canvas::{self, Drawn};
use crate::data::{self, FailedCheck, FaultWindow, Mark, OpSample, Outcome};
use crate::error::ReportError;
use crate::layout::{LegendItem, Swatch};
use crate::palette;
use crate::timeline::{Timeline, time_range};

const SIZE: (u32, u32) = (1400, 760);

/// Writes a PNG of every operation's latency over virtual time, with fault windows shaded, marks
/// drawn, and the checks that did not pass named under the title and marked when they failed.
/// Latency goes on a log axis when it spans more than two decades.
pub fn latency_over_time(
    path: impl AsRef<Path>,
    title: &str,
    samples: &[OpSample],
    windows: &[FaultWindow],
    marks: &[Mark],
    failures: &[FailedCheck],
) -> Result<(), ReportError> {
    data::check_samples(samples)?;
    data::check_windows(windows)?;
    data::check_marks(marks)?;
    data::check_failures(failures)?;
    canvas::png(path.as_ref(), SIZE, |root| {
        draw(root, title, samples, windows, marks, failures)
    })
}

/// The legend: each operation type with its colour and count, then how each outcome other than
/// ok is drawn, for the outcomes present.
fn legend(samples: &[OpSample]) -> Vec<LegendItem> {
    let (counts, by_type) = data::outcome_counts(samples);
    let mut legend: Vec<LegendItem> = by_type
        .iter()
        .enumerate()
        .map(|(i, (op, c))| LegendItem {
            swatch: Swatch::Dot(palette::op(i)),
            label: format!("{op} ({})", c.total()),
        })
        .collect();
    for outcome in Outcome::ALL {
        let swatch = match outcome {
            Outcome::Ok => continue,
            Outcome::ErrorReply => Swatch::Cross(palette::MUTED),
            Outcome::Fail => Swatch::Square(palette::MUTED),
            Outcome::Info => Swatch::Ring(palette::INFO),
            Outcome::Open => Swatch::Ring(palette::OPEN),
        };
        if counts.of(outcome) > 0 {
            legend.push(LegendItem {
                swatch,
                label: outcome.legend(counts.of(outcome)),
            });
        }
    }
    legend
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    samples: &[OpSample],
    windows: &[FaultWindow],
    marks: &[Mark],
    failures: &[FailedCheck],
) -> Drawn {
    let (lo, hi) = time_range(samples, windows, marks, failures);
    let y = Axis::latency(samples.iter().map(|s| s.latency_ms));
    let ops = data::op_types(samples);

    let plain = |v: f64| y.format_plain(v);
    let y_format: &dyn Fn(f64) -> String = if y.is_log() { &format_latency } else { &plain };
    let timeline = Timeline {
        title,
        note: format!("{} operations", samples.len()),
        legend: legend(samples),
        windows,
        marks,
        failures,
        time: TimeAxis::new(lo, hi, 12),
        y: y.clone(),
        y_title: if y.is_log() {
            "latency (log scale)".to_string()
        } else {
            "latency (ms)".to_string()
        },
        y_format,
    };
    let mut chart = timeline.draw(root)?;
    if samples.is_empty() {
        return canvas::notice(root, &chart, "no operations");
    }

    // Answered operations first, so the rarer squares and rings are drawn on top of them. Dense
    // runs get small translucent dots so that clusters show as darker; sparse ones get bigger dots
    // so each can be seen.
    let (radius, opacity) = if samples.len() > 1000 {
        (2, 0.55)
    } else {
        (3, 0.8)
    };
    for (i, op) in ops.iter().enumerate() {
        let colour = palette::op(i);
        chart.draw_series(
            samples
                .iter()
                .filter(|s| s.op == *op && s.outcome == Outcome::Ok)
                .map(|s| {
                    let at = (s.start_ms, s.latency_ms);
                    Circle::new(at, radius, colour.mix(opacity).filled())
                }),
        )?;
    }
    for (i, op) in ops.iter().enumerate() {
        let colour = palette::op(i);
        let of = |outcome| {
            samples
                .iter()
                .filter(move |s| s.op == *op && s.outcome == outcome)
                .map(|s| (s.start_ms, s.latency_ms))
        };
        // Error replies are normal outcomes: crosses as light as the dots, not alarms.
        chart.draw_series(
            of(Outcome::ErrorReply)
                .map(|at| Cross::new(at, radius + 1, colour.mix(opacity).stroke_width(1))),
        )?;
        chart.draw_series(of(Outcome::Fail).map(|(x, y)| {
            EmptyElement::at((x, y)) + Rectangle::new([(-4, -4), (4, 4)], colour.stroke_width(2))
        }))?;
    }
    for (outcome, colour) in [
        (Outcome::Info, palette::INFO),
        (Outcome::Open, palette::OPEN),
    ] {
        chart.draw_series(
            samples
                .iter()
                .filter(|s| s.outcome == outcome)
                .map(|s| Circle::new((s.start_ms, s.latency_ms), 5, colour.stroke_width(2))),
        )?;
    }
    Ok(())
}
