//! Throughput over virtual time: operations completed per second, counted in fixed buckets by the
//! time they completed and split by outcome (ok, failed, gave up), drawn as step lines over the
//! run's fault windows. It only counts and draws; the frame comes from `timeline`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{Axis, TimeAxis, format_latency};
use crate::canvas::{self, Drawn};
use crate::data::{self, FaultWindow, OpSample, Outcome};
use crate::error::ReportError;
use crate::layout::{LegendItem, Swatch};
use crate::palette;
use crate::timeline::{Timeline, time_range};

const SIZE: (u32, u32) = (1400, 700);

/// More buckets than this cannot be told apart on a 1400-pixel plot; the bucket is widened (and
/// the plot says so) rather than drawing noise.
const MAX_BUCKETS: f64 = 1000.0;

/// Writes a PNG of completed operations per second over virtual time, one line per outcome,
/// counted in buckets of `bucket_ms` (widened if the run would need more than 1000 of them). A last
/// bucket the run covers for less than half its width is left out.
pub fn throughput(
    path: impl AsRef<Path>,
    title: &str,
    samples: &[OpSample],
    windows: &[FaultWindow],
    bucket_ms: f64,
) -> Result<(), ReportError> {
    if !(bucket_ms.is_finite() && bucket_ms > 0.0) {
        return Err(ReportError::InvalidInput(format!(
            "bucket_ms must be a positive number of milliseconds, not {bucket_ms}"
        )));
    }
    data::check_samples(samples)?;
    data::check_windows(windows)?;
    canvas::png(path.as_ref(), SIZE, |root| {
        draw(root, title, samples, windows, bucket_ms)
    })
}

const OUTCOMES: [(Outcome, &str, RGBColor); 3] = [
    (Outcome::Ok, "ok", palette::OK),
    (Outcome::Fail, "failed", palette::FAIL),
    (Outcome::Info, "client gave up", palette::INFO),
];

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    samples: &[OpSample],
    windows: &[FaultWindow],
    bucket_ms: f64,
) -> Drawn {
    let (lo, hi) = time_range(samples, windows, &[]);
    let bucket_ms = bucket_ms.max((hi - lo) / MAX_BUCKETS);
    let rates = bucket_rates(samples, lo, bucket_ms);
    let peak = rates.iter().flatten().copied().fold(0.0, f64::max);
    let y = Axis::linear(0.0, peak * 1.06, 8);

    let legend = OUTCOMES
        .iter()
        .map(|(outcome, name, colour)| {
            let count = samples.iter().filter(|s| s.outcome == *outcome).count();
            (count, name, colour)
        })
        .filter(|(count, _, _)| *count > 0)
        .map(|(count, name, colour)| LegendItem {
            swatch: Swatch::Line(*colour),
            label: format!("{name} ({count})"),
        })
        .collect();
    let y_format = |v: f64| y.format_plain(v);
    let timeline = Timeline {
        title,
        note: format!(
            "completions per {} bucket, by completion time",
            format_latency(bucket_ms)
        ),
        legend,
        windows,
        marks: &[],
        time: TimeAxis::new(lo, hi, 12),
        y: y.clone(),
        y_title: "completed operations per second".to_string(),
        y_format: &y_format,
    };
    let mut chart = timeline.draw(root)?;
    if samples.is_empty() {
        return canvas::notice(root, &chart, "no operations");
    }
    for ((_, _, colour), rate) in OUTCOMES.iter().zip(&rates) {
        if rate.iter().all(|v| *v == 0.0) {
            continue;
        }
        // A step line: each bucket's rate holds across the whole bucket.
        let steps = rate.iter().enumerate().flat_map(|(i, r)| {
            let start = lo + i as f64 * bucket_ms;
            [(start, *r), (start + bucket_ms, *r)]
        });
        chart.draw_series(LineSeries::new(steps, colour.stroke_width(2)))?;
    }
    Ok(())
}

/// Completions per second of each outcome (in [`OUTCOMES`] order) in buckets of `bucket_ms`
/// starting at `lo`, up to the last completion. A last bucket the run covers for less than half its
/// width would show a false collapse, so it is left out.
fn bucket_rates(samples: &[OpSample], lo: f64, bucket_ms: f64) -> [Vec<f64>; 3] {
    let last = samples
        .iter()
        .map(|s| s.start_ms + s.latency_ms)
        .fold(lo, f64::max);
    let bucket_count = (((last - lo) / bucket_ms).floor() as usize + 1).max(1);
    let bucket_of = |ms: f64| (((ms - lo) / bucket_ms).floor() as usize).min(bucket_count - 1);
    let per_op = 1000.0 / bucket_ms;
    let mut rates = [
        vec![0.0; bucket_count],
        vec![0.0; bucket_count],
        vec![0.0; bucket_count],
    ];
    for s in samples {
        let row = OUTCOMES
            .iter()
            .position(|(o, _, _)| *o == s.outcome)
            .unwrap_or(0);
        rates[row][bucket_of(s.start_ms + s.latency_ms)] += per_op;
    }
    let last_covered = last - (lo + (bucket_count - 1) as f64 * bucket_ms);
    if bucket_count > 1 && last_covered < bucket_ms / 2.0 {
        for rate in &mut rates {
            rate.truncate(bucket_count - 1);
        }
    }
    rates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done_at(ms: f64, outcome: Outcome) -> OpSample {
        OpSample {
            start_ms: ms - 1.0,
            latency_ms: 1.0,
            op: "create".to_string(),
            outcome,
        }
    }

    #[test]
    fn rates_count_completions_per_second_by_outcome() {
        let samples = [
            done_at(100.0, Outcome::Ok),
            done_at(900.0, Outcome::Ok),
            done_at(950.0, Outcome::Info),
            done_at(1500.0, Outcome::Fail),
            done_at(1800.0, Outcome::Ok),
            // Covers only 100 ms of the third bucket: that bucket is left out.
            done_at(2100.0, Outcome::Ok),
        ];
        let [ok, fail, info] = bucket_rates(&samples, 0.0, 1000.0);
        assert_eq!(ok, vec![2.0, 1.0]);
        assert_eq!(fail, vec![0.0, 1.0]);
        assert_eq!(info, vec![1.0, 0.0]);

        // Half-second buckets: rates double per completion.
        let [ok, _, _] = bucket_rates(&samples[..2], 0.0, 500.0);
        assert_eq!(ok, vec![2.0, 2.0]);

        // A run shorter than one bucket keeps its one bucket.
        let [ok, _, _] = bucket_rates(&samples[..1], 0.0, 1000.0);
        assert_eq!(ok, vec![1.0]);
    }
}
