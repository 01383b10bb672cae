//! Throughput over virtual time: operations completed per second, counted in fixed buckets by the
//! time they completed and split by outcome (ok, error reply, fail, info; an operation still open
//! at the end never completed), drawn as step lines over the run's fault windows. It only counts
//! and draws; the frame comes from `timeline`.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{Axis, TimeAxis, format_latency};
use crate::canvas::{self, Drawn};
use crate::data::{self, FailedCheck, FaultWindow, OpSample, Outcome};
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
/// bucket the run covers for less than half its width is left out. Checks that did not pass are
/// named under the title and marked when they failed.
pub fn throughput(
    path: impl AsRef<Path>,
    title: &str,
    samples: &[OpSample],
    windows: &[FaultWindow],
    failures: &[FailedCheck],
    bucket_ms: f64,
) -> Result<(), ReportError> {
    if !(bucket_ms.is_finite() && bucket_ms > 0.0) {
        return Err(ReportError::InvalidInput(format!(
            "bucket_ms must be a positive number of milliseconds, not {bucket_ms}"
        )));
    }
    data::check_samples(samples)?;
    data::check_windows(windows)?;
    data::check_failures(failures)?;
    canvas::png(path.as_ref(), SIZE, |root| {
        draw(root, title, samples, windows, failures, bucket_ms)
    })
}

/// The outcomes of completed operations, each with its line's colour.
const OUTCOMES: [(Outcome, RGBColor); 4] = [
    (Outcome::Ok, palette::OK),
    (Outcome::ErrorReply, palette::ERROR_REPLY),
    (Outcome::Fail, palette::FAIL),
    (Outcome::Info, palette::INFO),
];

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    samples: &[OpSample],
    windows: &[FaultWindow],
    failures: &[FailedCheck],
    bucket_ms: f64,
) -> Drawn {
    let (lo, hi) = time_range(samples, windows, &[], failures);
    let bucket_ms = bucket_ms.max((hi - lo) / MAX_BUCKETS);
    let rates = bucket_rates(samples, lo, bucket_ms);
    let peak = rates.iter().flatten().copied().fold(0.0, f64::max);
    let y = Axis::linear(0.0, peak * 1.06, 8);

    let (counts, _) = data::outcome_counts(samples);
    let legend = OUTCOMES
        .iter()
        .filter(|(outcome, _)| counts.of(*outcome) > 0)
        .map(|(outcome, colour)| LegendItem {
            swatch: Swatch::Line(*colour),
            label: outcome.legend(counts.of(*outcome)),
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
        failures,
        time: TimeAxis::new(lo, hi, 12),
        y: y.clone(),
        y_title: "completed operations per second".to_string(),
        y_format: &y_format,
    };
    let mut chart = timeline.draw(root)?;
    if samples.is_empty() {
        return canvas::notice(root, &chart, "no operations");
    }
    for ((_, colour), rate) in OUTCOMES.iter().zip(&rates) {
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
fn bucket_rates(samples: &[OpSample], lo: f64, bucket_ms: f64) -> [Vec<f64>; 4] {
    let completed = || samples.iter().filter(|s| s.outcome != Outcome::Open);
    let last = completed()
        .map(|s| s.start_ms + s.latency_ms)
        .fold(lo, f64::max);
    let bucket_count = (((last - lo) / bucket_ms).floor() as usize + 1).max(1);
    let bucket_of = |ms: f64| (((ms - lo) / bucket_ms).floor() as usize).min(bucket_count - 1);
    let per_op = 1000.0 / bucket_ms;
    let mut rates = [(); 4].map(|()| vec![0.0; bucket_count]);
    for s in completed() {
        let row = OUTCOMES
            .iter()
            .position(|(o, _)| *o == s.outcome)
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
            done_at(1500.0, Outcome::ErrorReply),
            done_at(1600.0, Outcome::Fail),
            done_at(1800.0, Outcome::Ok),
            // Covers only 100 ms of the third bucket: that bucket is left out.
            done_at(2100.0, Outcome::Ok),
            // Never completed: not counted, and it does not stretch the buckets.
            done_at(5000.0, Outcome::Open),
        ];
        let [ok, error_reply, fail, info] = bucket_rates(&samples, 0.0, 1000.0);
        assert_eq!(ok, vec![2.0, 1.0]);
        assert_eq!(error_reply, vec![0.0, 1.0]);
        assert_eq!(fail, vec![0.0, 1.0]);
        assert_eq!(info, vec![1.0, 0.0]);

        // Half-second buckets: rates double per completion.
        let [ok, ..] = bucket_rates(&samples[..2], 0.0, 500.0);
        assert_eq!(ok, vec![2.0, 2.0]);

        // A run shorter than one bucket keeps its one bucket.
        let [ok, ..] = bucket_rates(&samples[..1], 0.0, 1000.0);
        assert_eq!(ok, vec![1.0]);
    }
}
