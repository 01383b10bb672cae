//! Latency quantiles per operation type: the numbers (for `results.json`) and the plot of them
//! come from the same code, so they always agree. A quantile is the nearest-rank one: the
//! `ceil(q·n)`-th smallest latency, always a latency that was actually observed.
//!
//! Only operations that got a response (ok or fail) have a latency here; an info operation's
//! "latency" is how long the client waited before giving up, which says nothing about the
//! service, so info operations are counted but not ranked.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use serde::{Deserialize, Serialize};

use crate::axis::{Axis, format_latency};
use crate::canvas::{self, AxisText, Drawn};
use crate::data::{self, OpSample, Outcome};
use crate::error::ReportError;
use crate::palette;
use crate::text::{self, Ink};

/// One operation type's counts and latency quantiles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub ok_count: usize,
    pub fail_count: usize,
    /// Operations the client gave up on; not part of the latency quantiles.
    pub info_count: usize,
    /// Quantiles over the ok and fail operations; `None` when none of them got a response.
    pub latency_ms: Option<LatencyQuantiles>,
}

/// Nearest-rank latency quantiles in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyQuantiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
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

/// The responded latencies of each operation type, ascending.
fn responded_latencies(samples: &[OpSample]) -> BTreeMap<&str, Vec<f64>> {
    let mut by_op: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for s in samples {
        let latencies = by_op.entry(s.op.as_str()).or_default();
        if s.outcome != Outcome::Info {
            latencies.push(s.latency_ms);
        }
    }
    for latencies in by_op.values_mut() {
        latencies.sort_by(f64::total_cmp);
    }
    by_op
}

/// Counts and latency quantiles per operation type, keyed by operation name.
pub fn quantiles(samples: &[OpSample]) -> BTreeMap<String, Quantiles> {
    let latencies = responded_latencies(samples);
    latencies
        .iter()
        .map(|(op, sorted)| {
            let count = |outcome| {
                samples
                    .iter()
                    .filter(|s| s.op == *op && s.outcome == outcome)
                    .count()
            };
            let latency_ms = sorted.last().map(|&max| {
                let q = |q| quantile(sorted, q).unwrap_or(max);
                LatencyQuantiles {
                    p50: q(REPORTED[0].1),
                    p90: q(REPORTED[1].1),
                    p99: q(REPORTED[2].1),
                    p999: q(REPORTED[3].1),
                    max,
                }
            });
            let entry = Quantiles {
                ok_count: count(Outcome::Ok),
                fail_count: count(Outcome::Fail),
                info_count: count(Outcome::Info),
                latency_ms,
            };
            (op.to_string(), entry)
        })
        .collect()
}

const WIDTH: u32 = 1400;
const CHART_HEIGHT: u32 = 540;
const TABLE_ROW: i32 = 28;

/// Writes a PNG of each operation type's latency against quantile (x: 0 %, 50 %, 90 %, 99 %,
/// 99.9 %, ..., max, spaced by "nines" like HdrHistogram and Jepsen plots), with the reported
/// quantiles marked on the curves and tabulated below them.
pub fn latency_quantiles(
    path: impl AsRef<Path>,
    title: &str,
    samples: &[OpSample],
) -> Result<(), ReportError> {
    data::check_samples(samples)?;
    let rows = data::op_types(samples).len() as u32;
    let height = 44 + CHART_HEIGHT + 24 + (rows + 1) * TABLE_ROW as u32 + 16;
    canvas::png(path.as_ref(), (WIDTH, height), |root| {
        draw(root, title, samples)
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
) -> Drawn {
    let table = quantiles(samples);
    let latencies = responded_latencies(samples);
    let responded: usize = latencies.values().map(Vec::len).sum();
    let note = format!(
        "{responded} operations with a response · nearest-rank quantiles · gave-up operations not ranked"
    );
    let body = canvas::title_bar(root, title, &note)?;
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
    if responded == 0 {
        canvas::notice(root, &chart, "no operation got a response")?;
    }

    for (i, (op, sorted)) in latencies.iter().enumerate() {
        let Some(q) = table[*op].latency_ms else {
            continue;
        };
        let colour = palette::op(i);
        let steps = (last_nines * 100.0) as i32;
        let curve = (0..=steps)
            .map(|step| {
                let at = f64::from(step) / 100.0;
                (at, quantile(sorted, 1.0 - 10f64.powf(-at)).unwrap_or(q.max))
            })
            .chain(std::iter::once((x_end, q.max)));
        chart.draw_series(LineSeries::new(curve, colour.stroke_width(2)))?;
        let marked = [
            (nines(0.5), q.p50),
            (nines(0.9), q.p90),
            (nines(0.99), q.p99),
            (nines(0.999), q.p999),
            (x_end, q.max),
        ];
        chart.draw_series(
            marked
                .into_iter()
                .map(|point| Circle::new(point, 5, colour.filled())),
        )?;
    }

    draw_table(&table_area, &table)
}

/// The numbers under the plot, one row per operation type; its swatches double as the legend.
fn draw_table<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    table: &BTreeMap<String, Quantiles>,
) -> Drawn {
    let header = Ink::new(canvas::SMALL_SIZE, palette::MUTED);
    let cell = Ink::new(canvas::LABEL_SIZE, palette::TEXT);
    let right = |ink: Ink| ink.anchor(HPos::Right, VPos::Center);
    // Right edges of the numeric columns; the operation name is left-aligned at 150.
    let columns: [(&str, i32); 8] = [
        ("ok", 520),
        ("failed", 620),
        ("gave up", 720),
        (REPORTED[0].0, 840),
        (REPORTED[1].0, 960),
        (REPORTED[2].0, 1080),
        (REPORTED[3].0, 1200),
        ("max", 1320),
    ];
    let top = 24 + TABLE_ROW / 2;
    text::draw(area, "operation", (150, top), header)?;
    for (name, x) in columns {
        text::draw(area, name, (x, top), right(header))?;
    }
    for (i, (op, q)) in table.iter().enumerate() {
        let y = top + (i as i32 + 1) * TABLE_ROW;
        area.draw(&Circle::new((134, y), 6, palette::op(i).filled()))?;
        text::draw(area, op, (150, y), cell)?;
        let latency = |pick: fn(&LatencyQuantiles) -> f64| {
            q.latency_ms
                .as_ref()
                .map_or("–".to_string(), |l| format_latency(pick(l)))
        };
        let values = [
            q.ok_count.to_string(),
            q.fail_count.to_string(),
            q.info_count.to_string(),
            latency(|l| l.p50),
            latency(|l| l.p90),
            latency(|l| l.p99),
            latency(|l| l.p999),
            latency(|l| l.max),
        ];
        for (value, (_, x)) in values.iter().zip(columns) {
            text::draw(area, value, (x, y), right(cell))?;
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
    fn quantiles_per_op_count_outcomes_and_rank_only_responses() {
        let mut samples: Vec<OpSample> = (1..=10)
            .map(|ms| op("get_data", f64::from(ms), Outcome::Ok))
            .collect();
        samples.push(op("get_data", 2000.0, Outcome::Info));
        samples.push(op("create", 7.0, Outcome::Fail));
        samples.push(op("create", 3.0, Outcome::Ok));
        samples.push(op("delete", 5000.0, Outcome::Info));

        let q = quantiles(&samples);
        assert_eq!(
            q.keys().collect::<Vec<_>>(),
            ["create", "delete", "get_data"]
        );

        let get = &q["get_data"];
        assert_eq!((get.ok_count, get.fail_count, get.info_count), (10, 0, 1));
        let l = get.latency_ms.unwrap();
        // The 2 s info op is not a latency: max stays 10 ms.
        assert_eq!(
            (l.p50, l.p90, l.p99, l.p999, l.max),
            (5.0, 9.0, 10.0, 10.0, 10.0)
        );

        let create = &q["create"];
        assert_eq!((create.ok_count, create.fail_count), (1, 1));
        let l = create.latency_ms.unwrap();
        assert_eq!((l.p50, l.max), (3.0, 7.0));

        let delete = &q["delete"];
        assert_eq!((delete.info_count, delete.latency_ms), (1, None));

        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(json["get_data"]["latency_ms"]["p90"], 9.0);
        assert!(json["delete"]["latency_ms"].is_null());
    }
}
