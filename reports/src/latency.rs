//! The plot every run gets: each operation's latency against the virtual time it was invoked,
//! one colour per operation type, failed operations as crosses and indeterminate (info) ones as
//! red rings at the latency where the client gave up, over the fault windows and marks of the run.
//! It only draws; the frame (title, legend, fault shading, axes) comes from `timeline`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{Axis, TimeAxis, format_latency};
use crate::canvas::{self, Drawn};
use crate::data::{self, FaultWindow, Mark, OpSample, Outcome};
use crate::error::ReportError;
use crate::layout::{LegendItem, Swatch};
use crate::palette;
use crate::timeline::{Timeline, time_range};

const SIZE: (u32, u32) = (1400, 760);

/// Writes a PNG of every operation's latency over virtual time, with fault windows shaded and
/// marks drawn. Latency goes on a log axis when it spans more than two decades.
pub fn latency_over_time(
    path: impl AsRef<Path>,
    title: &str,
    samples: &[OpSample],
    windows: &[FaultWindow],
    marks: &[Mark],
) -> Result<(), ReportError> {
    data::check_samples(samples)?;
    data::check_windows(windows)?;
    data::check_marks(marks)?;
    canvas::png(path.as_ref(), SIZE, |root| {
        draw(root, title, samples, windows, marks)
    })
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    samples: &[OpSample],
    windows: &[FaultWindow],
    marks: &[Mark],
) -> Drawn {
    let (lo, hi) = time_range(samples, windows, marks);
    let y = Axis::latency(samples.iter().map(|s| s.latency_ms));
    let ops = data::op_types(samples);
    let count = |f: &dyn Fn(&OpSample) -> bool| samples.iter().filter(|s| f(s)).count();

    let mut legend: Vec<LegendItem> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| LegendItem {
            swatch: Swatch::Dot(palette::op(i)),
            label: format!("{op} ({})", count(&|s| s.op == *op)),
        })
        .collect();
    let fails = count(&|s| s.outcome == Outcome::Fail);
    if fails > 0 {
        legend.push(LegendItem {
            swatch: Swatch::Cross(palette::MUTED),
            label: format!("failed ({fails})"),
        });
    }
    let infos = count(&|s| s.outcome == Outcome::Info);
    if infos > 0 {
        legend.push(LegendItem {
            swatch: Swatch::Ring(palette::INFO),
            label: format!("client gave up ({infos})"),
        });
    }

    let plain = |v: f64| y.format_plain(v);
    let y_format: &dyn Fn(f64) -> String = if y.is_log() { &format_latency } else { &plain };
    let timeline = Timeline {
        title,
        note: format!("{} operations", samples.len()),
        legend,
        windows,
        marks,
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

    // Completed operations first, so the rarer crosses and rings are drawn on top of them. Dense
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
        chart.draw_series(
            samples
                .iter()
                .filter(|s| s.op == *op && s.outcome == Outcome::Fail)
                .map(|s| Cross::new((s.start_ms, s.latency_ms), 4, colour.stroke_width(2))),
        )?;
    }
    chart.draw_series(
        samples
            .iter()
            .filter(|s| s.outcome == Outcome::Info)
            .map(|s| Circle::new((s.start_ms, s.latency_ms), 5, palette::INFO.stroke_width(2))),
    )?;
    Ok(())
}
