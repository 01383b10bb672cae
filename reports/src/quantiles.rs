//! Latency quantiles per operation type: the numbers (for `results.json`) and the plot of them
//! come from the same code, so they always agree. A quantile is the nearest-rank one: the
//! `ceil(q·n)`-th smallest latency, always a latency that was actually observed.
//!
//! Only operations that got an answer (ok, error reply or fail) have a latency here; an info
//! operation's "latency" is how long the client waited before giving up, and an open one's how
//! long it waited until the run ended, which say nothing about the service, so they are counted
//! in the table but not ranked.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::{Deserialize, Serialize};

use crate::axis::{Axis, format_latency};
use crate::canvas::{self, AxisText, Drawn};
use crate::data::{self, FailedCheck, OpSample, Outcome, OutcomeCounts};
use crate::error::ReportError;
use crate::palette;
use crate::text::{self, Ink};

/// One operation type's nearest-rank latency quantiles, over its answered operations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyQuantiles {
    /// The operations ranked: those answered (ok, error reply or fail).
    pub answered_count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// The quantiles reported and marked on the plot, with their names.
const REPORTED: [(&str, f64); 4] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)];

/// The nearest-rank `q`-quantile (0 ≤ q ≤ 1) of ascending `sorted` values: the `ceil(q·n)`-th
/// smallest (the smallest for q = 0). `None` for no values.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    debug_assert!(
        sorted.is_sorted_by(|a, b| a <= b),
        "quantile needs ascending values"
    );
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // The epsilon keeps q·n = 99.00000000000001 from becoming rank 100.
    let rank = (q.clamp(0.0, 1.0) * n as f64 - 1e-9).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// The answered latencies of each operation type, ascending (empty for a type none of whose
/// operations was answered).
fn answered_latencies(samples: &[OpSample]) -> BTreeMap<&str, Vec<f64>> {
    let mut by_op: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for s in samples {
        let latencies = by_op.entry(s.op.as_str()).or_default();
        if s.outcome.answered() {
            latencies.push(s.latency_ms);
        }
    }
    for latencies in by_op.values_mut() {
        latencies.sort_by(f64::total_cmp);
    }
    by_op
}

/// Latency quantiles per operation type, keyed by operation name; a type none of whose operations
/// was answered has none.
pub fn quantiles(samples: &[OpSample]) -> BTreeMap<String, LatencyQuantiles> {
    answered_latencies(samples)
        .iter()
        .filter_map(|(op, sorted)| Some((op.to_string(), of_sorted(sorted)?)))
        .collect()
}

fn of_sorted(sorted: &[f64]) -> Option<LatencyQuantiles> {
    let max = *sorted.last()?;
    let q = |q| quantile(sorted, q).unwrap_or(max);
    Some(LatencyQuantiles {
        answered_count: sorted.len() as u64,
        p50_ms: q(REPORTED[0].1),
        p90_ms: q(REPORTED[1].1),
        p99_ms: q(REPORTED[2].1),
        p999_ms: q(REPORTED[3].1),
        max_ms: max,
    })
}

const WIDTH: u32 = 1400;
const CHART_HEIGHT: u32 = 540;
const TABLE_ROW: i32 = 28;

/// Writes a PNG of each operation type's latency against quantile (x: 0 %, 50 %, 90 %, 99 %,
/// 99.9 %, ..., max, spaced by "nines" like HdrHistogram and Jepsen plots), with the reported
/// quantiles marked on the curves and tabulated below them with each type's operations by outcome.
/// A run with `failures` says so under the title.
pub fn latency_quantiles(
    path: impl AsRef<Path>,
    title: &str,
    samples: &[OpSample],
    failures: &[FailedCheck],
) -> Result<(), ReportError> {
    data::check_samples(samples)?;
    data::check_failures(failures)?;
    let rows = data::op_types(samples).len() as u32;
    let verdict = if failures.is_empty() { 0 } else { 28 };
    let height = 44 + verdict + CHART_HEIGHT + 24 + (rows + 1) * TABLE_ROW as u32 + 16;
    canvas::png(path.as_ref(), (WIDTH, height), |root| {
        draw(root, title, samples, failures)
    })
}

/// The x position of quantile `q`: how many nines it has, -log10(1 - q).
fn nines(q: f64) -> f64 {
    -(1.0 - q).log10()
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    samples: &[OpSample],
    failures: &[FailedCheck],
) -> Drawn {
    let latencies = answered_latencies(samples);
    let answered: usize = latencies.values().map(Vec::len).sum();
    let note = format!(
        "{answered} answered operations · nearest-rank quantiles · info and open operations not ranked"
    );
    let body = canvas::title_bar(root, title, &note)?;
    let body = canvas::verdict_line(&body, failures)?;
    let (chart_area, table_area) = body.split_vertically(CHART_HEIGHT);

    // Enough nines to reach the largest type's single worst sample, at least to 99.9 %.
    let most = latencies.values().map(Vec::len).max().unwrap_or(0);
    let last_nines = (most.max(1) as f64).log10().ceil().clamp(3.0, 6.0);
    let x_end = last_nines + 0.45;
    let mut ticks = vec![0.0, nines(0.5)];
    ticks.extend((1..=last_nines as i32).map(f64::from));
    ticks.push(x_end);
    let x = Axis::with_ticks(0.0, x_end, ticks);
    let y = Axis::latency(latencies.values().flatten().copied());

    let x_format = |v: f64| {
        if (v - x_end).abs() < 1e-9 {
            "max".to_string()
        } else {
            let percent = format!("{:.4}", (1.0 - 10f64.powf(-v)) * 100.0);
            format!("{}%", percent.trim_end_matches('0').trim_end_matches('.'))
        }
    };
    let plain = |v: f64| y.format_plain(v);
    let y_format: &dyn Fn(f64) -> String = if y.is_log() { &format_latency } else { &plain };
    let mut chart = canvas::chart(&chart_area, x.clone(), y.clone(), canvas::Y_LABEL_AREA)?;
    canvas::draw_axes(
        root,
        &mut chart,
        AxisText {
            x: &x,
            y: &y,
            x_title: "quantile",
            y_title: if y.is_log() {
                "latency (log scale)"
            } else {
                "latency (ms)"
            },
            x_format: &x_format,
            y_format,
            y_grid: true,
        },
    )?;

    if samples.is_empty() {
        return canvas::notice(root, &chart, "no operations");
    }
    if answered == 0 {
        canvas::notice(root, &chart, "no operation was answered")?;
    }

    for (i, sorted) in latencies.values().enumerate() {
        let Some(q) = of_sorted(sorted) else {
            continue;
        };
        let colour = palette::op(i);
        let steps = (last_nines * 100.0) as i32;
        let curve = (0..=steps)
            .map(|step| {
                let at = f64::from(step) / 100.0;
                (
                    at,
                    quantile(sorted, 1.0 - 10f64.powf(-at)).unwrap_or(q.max_ms),
                )
            })
            .chain(std::iter::once((x_end, q.max_ms)));
        chart.draw_series(LineSeries::new(curve, colour.stroke_width(2)))?;
        let marked = [
            (nines(0.5), q.p50_ms),
            (nines(0.9), q.p90_ms),
            (nines(0.99), q.p99_ms),
            (nines(0.999), q.p999_ms),
            (x_end, q.max_ms),
        ];
        chart.draw_series(
            marked
                .into_iter()
                .map(|point| Circle::new(point, 5, colour.filled())),
        )?;
    }

    let (_, counts) = data::outcome_counts(samples);
    draw_table(&table_area, &counts, &latencies)
}

/// The numbers under the plot, one row per operation type: its operations by outcome (a column
/// for each outcome present in the run, `ok` always) and its latency quantiles. Its swatches
/// double as the legend.
fn draw_table<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    counts: &BTreeMap<String, OutcomeCounts>,
    latencies: &BTreeMap<&str, Vec<f64>>,
) -> Drawn {
    let header = Ink::new(canvas::SMALL_SIZE, palette::MUTED);
    let cell = Ink::new(canvas::LABEL_SIZE, palette::TEXT);
    let right = |ink: Ink| ink.anchor(HPos::Right, VPos::Center);
    let outcomes: Vec<Outcome> = Outcome::ALL
        .into_iter()
        .filter(|&o| o == Outcome::Ok || counts.values().any(|c| c.of(o) > 0))
        .collect();
    // Right edges of the columns: counts from the left after the operation's name (left-aligned
    // at 150), latencies from the right edge of the page.
    let count_x = |i: usize| 420 + 90 * i as i32;
    let latency_x = |j: usize| WIDTH as i32 - 80 - 112 * (4 - j as i32);
    let top = 24 + TABLE_ROW / 2;
    text::draw(area, "operation", (150, top), header)?;
    for (i, o) in outcomes.iter().enumerate() {
        text::draw(area, o.name(), (count_x(i), top), right(header))?;
    }
    let latency_names = REPORTED.iter().map(|(name, _)| *name).chain(["max"]);
    for (j, name) in latency_names.enumerate() {
        text::draw(area, name, (latency_x(j), top), right(header))?;
    }
    for (i, (op, c)) in counts.iter().enumerate() {
        let y = top + (i as i32 + 1) * TABLE_ROW;
        area.draw(&Circle::new((134, y), 6, palette::op(i).filled()))?;
        text::draw(area, op, (150, y), cell)?;
        for (k, o) in outcomes.iter().enumerate() {
            text::draw(area, &c.of(*o).to_string(), (count_x(k), y), right(cell))?;
        }
        let q = latencies.get(op.as_str()).and_then(|l| of_sorted(l));
        let values = q.map_or([None; 5], |q| {
            [q.p50_ms, q.p90_ms, q.p99_ms, q.p999_ms, q.max_ms].map(Some)
        });
        for (j, value) in values.into_iter().enumerate() {
            let shown = value.map_or("–".to_string(), format_latency);
            text::draw(area, &shown, (latency_x(j), y), right(cell))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(op: &str, latency_ms: f64, outcome: Outcome) -> OpSample {
        OpSample {
            start_ms: 0.0,
            latency_ms,
            op: op.to_string(),
            outcome,
        }
    }

    #[test]
    fn nearest_rank_quantiles_by_hand() {
        // 1..=10 ms: p50 is the 5th value, p90 the 9th, p99 and p99.9 the 10th.
        let sorted: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.5), Some(5.0));
        assert_eq!(quantile(&sorted, 0.9), Some(9.0));
        assert_eq!(quantile(&sorted, 0.99), Some(10.0));
        assert_eq!(quantile(&sorted, 0.0), Some(1.0));
        assert_eq!(quantile(&sorted, 1.0), Some(10.0));
        assert_eq!(quantile(&[], 0.5), None);

        // 1..=1000: p99 is exactly the 990th value, not the 991st (q·n rounding).
        let thousand: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(quantile(&thousand, 0.99), Some(990.0));
        assert_eq!(quantile(&thousand, 0.999), Some(999.0));
        assert_eq!(quantile(&thousand, 0.9), Some(900.0));
    }

    #[test]
    fn quantiles_per_op_rank_only_answered_operations() {
        let mut samples: Vec<OpSample> = (1..=10)
            .map(|ms| op("get_data", f64::from(ms), Outcome::Ok))
            .collect();
        samples.push(op("get_data", 2000.0, Outcome::Info));
        samples.push(op("get_data", 9000.0, Outcome::Open));
        samples.push(op("create", 7.0, Outcome::ErrorReply));
        samples.push(op("create", 3.0, Outcome::Ok));
        samples.push(op("create", 4.0, Outcome::Fail));
        samples.push(op("delete", 5000.0, Outcome::Info));

        let q = quantiles(&samples);
        // No delete was answered: it has no quantiles (its info operation is in its counts).
        assert_eq!(q.keys().collect::<Vec<_>>(), ["create", "get_data"]);

        let get = &q["get_data"];
        // The 2 s info and 9 s open operations are not latencies: max stays 10 ms.
        assert_eq!(
            (
                get.answered_count,
                get.p50_ms,
                get.p90_ms,
                get.p99_ms,
                get.p999_ms,
                get.max_ms
            ),
            (10, 5.0, 9.0, 10.0, 10.0, 10.0)
        );

        // An error reply and a fail were answered: they are ranked with the ok one.
        let create = &q["create"];
        assert_eq!(
            (create.answered_count, create.p50_ms, create.max_ms),
            (3, 4.0, 7.0)
        );

        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(json["get_data"]["p90_ms"], 9.0);
        assert_eq!(json["create"]["answered_count"], 3);
    }
}
