//! The charts of a comparison report (`zksim compare`), for papers: latency CDFs of several
//! configurations on one axis, the unavailability windows after lost leaders as a strip plot per
//! configuration, and messages per write against each protocol's theory. Each takes plain series
//! (names and numbers, already summed up across seeds by the caller) and writes one PNG or SVG,
//! chosen by the file's extension. They decide nothing; the same series always give the same bytes.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::{Axis, format_latency, format_significant};
use crate::canvas::{self, AxisText, Drawn};
use crate::error::ReportError;
use crate::palette;
use crate::text::{self, Ink};

const WIDTH: u32 = 1200;

/// One configuration's latency CDF: its name and `[probability, ms]` points, probability
/// ascending.
pub struct CdfSeries {
    pub name: String,
    pub points: Vec<[f64; 2]>,
}

/// One configuration's unavailability windows, in ms: from each lost leader to the next leader,
/// and to the first write answered under it.
pub struct Windows {
    pub name: String,
    pub to_leader_ms: Vec<f64>,
    pub to_write_ms: Vec<f64>,
}

/// One configuration's messages per write: the write path's per committed entry (median and its
/// 95% interval over seeds), the protocol's theory, and every replica message per committed
/// transaction.
pub struct Cost {
    pub name: String,
    pub median: f64,
    pub low: f64,
    pub high: f64,
    pub theory: f64,
    /// The theory as a formula, e.g. `3(n-1)`.
    pub formula: String,
    pub all: f64,
}

fn numbers_finite<'a>(
    what: &str,
    values: impl IntoIterator<Item = &'a f64>,
) -> Result<(), ReportError> {
    match values.into_iter().find(|v| !v.is_finite()) {
        Some(v) => Err(ReportError::InvalidInput(format!(
            "{what}: {v} is not a number"
        ))),
        None => Ok(()),
    }
}

/// Draws into a PNG or an SVG by `path`'s extension.
macro_rules! any_format {
    ($path:expr, $size:expr, |$root:ident| $draw:expr) => {{
        let path: &Path = $path.as_ref();
        let svg = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
        if svg {
            canvas::svg(path, $size, |$root| $draw)
        } else {
            canvas::png(path, $size, |$root| $draw)
        }
    }};
}

/// The colour of the `i`-th configuration.
fn colour(i: usize) -> RGBColor {
    palette::op(i)
}

/// A legend drawn down the right of the page: a swatch and a name per entry. Returns the area
/// left for the chart.
fn legend_column<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    body: &DrawingArea<DB, Shift>,
    names: &[(String, RGBColor, bool)],
) -> Result<DrawingArea<DB, Shift>, canvas::Failure> {
    let ink = Ink::new(canvas::SMALL_SIZE, palette::TEXT);
    let widest = names
        .iter()
        .map(|(n, _, _)| ink.width(n))
        .max()
        .unwrap_or(0);
    let column = (widest + 56).clamp(120, 520);
    let (w, _) = body.dim_in_pixel();
    let (chart, side) = body.split_horizontally(w as i32 - column);
    let (x0, y0) = side.get_base_pixel();
    for (i, (name, c, dashed)) in names.iter().enumerate() {
        let y = y0 + 24 + i as i32 * 22;
        let from = (x0 + 4, y);
        let to = (x0 + 34, y);
        if *dashed {
            root.draw(&DashedPathElement::new(
                vec![from, to],
                6,
                4,
                c.stroke_width(3),
            ))?;
        } else {
            root.draw(&PathElement::new(vec![from, to], c.stroke_width(3)))?;
        }
        text::draw(
            root,
            name,
            (x0 + 42, y),
            ink.anchor(HPos::Left, VPos::Center),
        )?;
    }
    Ok(chart)
}

/// Latency CDFs of several configurations on one axis (log latency when it spans more than two
/// decades); the protocols' names pick the colour and the scenario the dash when the caller says.
pub fn latency_cdfs(
    path: impl AsRef<Path>,
    title: &str,
    series: &[CdfSeries],
) -> Result<(), ReportError> {
    for s in series {
        numbers_finite(&s.name, s.points.iter().flatten())?;
    }
    let height = (560 + 22 * series.len() as u32).min(1400);
    any_format!(path, (WIDTH, height), |root| draw_cdfs(root, title, series))
}

fn draw_cdfs<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    series: &[CdfSeries],
) -> Drawn {
    let body = canvas::title_bar(root, title, "pooled over every seed")?;
    let names: Vec<(String, RGBColor, bool)> = series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), colour(i), i >= 12))
        .collect();
    let area = legend_column(root, &body, &names)?;
    let x = Axis::latency(series.iter().flat_map(|s| s.points.iter().map(|p| p[1])));
    let y = Axis::with_ticks(0.0, 1.0, vec![0.0, 0.25, 0.5, 0.75, 0.9, 1.0]);
    let x_format = |v: f64| format_latency(v);
    let y_format = |v: f64| format!("{}%", format_significant(v * 100.0, 3));
    let mut chart = canvas::chart(&area, x.clone(), y.clone(), canvas::Y_LABEL_AREA)?;
    canvas::draw_axes(
        root,
        &mut chart,
        AxisText {
            x: &x,
            y: &y,
            x_title: "latency (ms)",
            y_title: "fraction of operations answered ok",
            x_format: &x_format,
            y_format: &y_format,
            y_grid: true,
        },
    )?;
    if series.iter().all(|s| s.points.is_empty()) {
        return canvas::notice(root, &chart, "no operations");
    }
    let floor = x.lo();
    for (i, s) in series.iter().enumerate() {
        // A step: the fraction reaches p at the p-quantile.
        let mut steps = Vec::new();
        let mut last = 0.0;
        for &[p, ms] in &s.points {
            let ms = ms.max(floor);
            steps.push((ms, last));
            steps.push((ms, p));
            last = p;
        }
        let style = colour(i).stroke_width(2);
        if i >= 12 {
            let pixels: Vec<(i32, i32)> = steps.iter().map(|p| chart.backend_coord(p)).collect();
            root.draw(&DashedPathElement::new(pixels, 6, 4, style))?;
        } else {
            chart.draw_series(std::iter::once(PathElement::new(steps, style)))?;
        }
    }
    Ok(())
}

/// The unavailability windows of each configuration as a strip plot: one dot per lost leader, to
/// the next leader (left, blue) and to the first answered write (right, orange), with each
/// column's median as a bar.
pub fn unavailability_strips(
    path: impl AsRef<Path>,
    title: &str,
    groups: &[Windows],
) -> Result<(), ReportError> {
    for g in groups {
        numbers_finite(&g.name, g.to_leader_ms.iter().chain(&g.to_write_ms))?;
    }
    let height = 620;
    let width = (300 + 150 * groups.len() as u32).clamp(WIDTH, 3000);
    any_format!(path, (width, height), |root| draw_strips(
        root, title, groups
    ))
}

/// Where dot `i` of `n` sits across its column: spread evenly and deterministically.
fn jitter(i: usize, n: usize) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    // A fixed low-discrepancy sequence: neighbours in the data do not sit side by side.
    let golden = 0.618_033_988_75;
    ((i as f64 * golden).fract() - 0.5) * 0.8
}

fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

const TO_LEADER: RGBColor = RGBColor(31, 119, 180);
const TO_WRITE: RGBColor = RGBColor(255, 127, 14);

fn draw_strips<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    groups: &[Windows],
) -> Drawn {
    let body = canvas::title_bar(
        root,
        title,
        "one dot per crash of the leader, every seed; bar: median",
    )?;
    let n = groups.len();
    let highest = groups
        .iter()
        .flat_map(|g| g.to_leader_ms.iter().chain(&g.to_write_ms))
        .fold(0.0f64, |a, &b| a.max(b));
    let x = Axis::with_ticks(
        0.0,
        n.max(1) as f64,
        (0..n).map(|i| i as f64 + 0.5).collect(),
    );
    let y = Axis::linear(0.0, (highest * 1.08).max(1.0), 8);
    let name_of = |v: f64| {
        groups
            .get(v.floor().max(0.0) as usize)
            .map_or(String::new(), |g| g.name.clone())
    };
    let y_format = |v: f64| format_latency(v);
    let (w, h) = body.dim_in_pixel();
    let (chart_area, key) = body.split_vertically(h as i32 - 34);
    let mut chart = canvas::chart(&chart_area, x.clone(), y.clone(), canvas::Y_LABEL_AREA)?;
    canvas::draw_axes(
        root,
        &mut chart,
        AxisText {
            x: &x,
            y: &y,
            x_title: "",
            y_title: "ms after the leader was lost",
            x_format: &name_of,
            y_format: &y_format,
            y_grid: true,
        },
    )?;
    let (kx, ky) = key.get_base_pixel();
    let ink = Ink::new(canvas::LABEL_SIZE, palette::TEXT).anchor(HPos::Left, VPos::Center);
    let cy = ky + 16;
    let mid = kx + w as i32 / 2 - 260;
    root.draw(&Circle::new((mid, cy), 6, TO_LEADER.filled()))?;
    text::draw(root, "to a new established leader", (mid + 12, cy), ink)?;
    root.draw(&Circle::new((mid + 270, cy), 6, TO_WRITE.filled()))?;
    text::draw(
        root,
        "to the first write answered under it",
        (mid + 282, cy),
        ink,
    )?;
    if groups.iter().all(|g| g.to_leader_ms.is_empty()) {
        return canvas::notice(root, &chart, "no leader was lost");
    }
    for (i, g) in groups.iter().enumerate() {
        for (values, offset, c) in [
            (&g.to_leader_ms, -0.2, TO_LEADER),
            (&g.to_write_ms, 0.2, TO_WRITE),
        ] {
            let centre = i as f64 + 0.5 + offset;
            for (k, &v) in values.iter().enumerate() {
                let at = chart.backend_coord(&(centre + jitter(k, values.len()) * 0.2, v));
                root.draw(&Circle::new(at, 4, c.mix(0.55).filled()))?;
            }
            if let Some(m) = median(values) {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(centre - 0.13, m), (centre + 0.13, m)],
                    palette::TEXT.stroke_width(3),
                )))?;
                let (px, py) = chart.backend_coord(&(centre + 0.13, m));
                text::draw(
                    root,
                    &format_significant(m, 3),
                    (px + 4, py),
                    Ink::new(canvas::SMALL_SIZE, palette::TEXT).anchor(HPos::Left, VPos::Center),
                )?;
            }
        }
    }
    Ok(())
}

const ROW: u32 = 52;
const ALL_BAR: RGBColor = RGBColor(190, 208, 228);

/// Messages per write of each configuration against its protocol's theory: a dark bar for the
/// write path's messages per committed entry (median, with its 95% interval as a whisker), a
/// black tick at the theory, and a light bar behind for every replica message per committed
/// transaction.
pub fn cost_against_theory(
    path: impl AsRef<Path>,
    title: &str,
    rows: &[Cost],
) -> Result<(), ReportError> {
    for r in rows {
        numbers_finite(&r.name, [r.median, r.low, r.high, r.theory, r.all].iter())?;
    }
    let height = (44 + 130 + ROW * rows.len() as u32).max(360);
    any_format!(path, (WIDTH, height), |root| draw_cost(root, title, rows))
}

fn draw_cost<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    rows: &[Cost],
) -> Drawn {
    let body = canvas::title_bar(root, title, "medians over seeds")?;
    let ink = Ink::new(canvas::LABEL_SIZE, palette::TEXT);
    let name_width = rows
        .iter()
        .map(|r| ink.width(&r.name))
        .max()
        .unwrap_or(0)
        .clamp(60, 420);
    let n = rows.len();
    let highest = rows
        .iter()
        .map(|r| r.all.max(r.high).max(r.theory))
        .fold(0.0f64, f64::max);
    let x = Axis::linear(0.0, (highest * 1.2).max(1.0), 8);
    let y = Axis::with_ticks(
        0.0,
        n.max(1) as f64,
        (0..n).map(|i| i as f64 + 0.5).collect(),
    );
    let name_of = |v: f64| {
        let from_top = n as f64 - 1.0 - v.floor();
        rows.get(from_top as usize)
            .map_or(String::new(), |r| r.name.clone())
    };
    let x_format = |v: f64| x.format_plain(v);
    let (_, h) = body.dim_in_pixel();
    let (chart_area, key) = body.split_vertically(h as i32 - 34);
    let mut chart = canvas::chart(&chart_area, x.clone(), y.clone(), name_width + 24)?;
    canvas::draw_axes(
        root,
        &mut chart,
        AxisText {
            x: &x,
            y: &y,
            x_title: "replica messages per committed write",
            y_title: "",
            x_format: &x_format,
            y_format: &name_of,
            y_grid: false,
        },
    )?;
    let (kx, ky) = key.get_base_pixel();
    let small = Ink::new(canvas::SMALL_SIZE, palette::TEXT).anchor(HPos::Left, VPos::Center);
    let cy = ky + 16;
    let kx = kx + name_width + 40;
    root.draw(&Rectangle::new(
        [(kx, cy - 7), (kx + 24, cy + 7)],
        palette::BAR.filled(),
    ))?;
    text::draw(
        root,
        "write path per entry (95% interval)",
        (kx + 30, cy),
        small,
    )?;
    root.draw(&Rectangle::new(
        [(kx + 330, cy - 9), (kx + 333, cy + 9)],
        BLACK.filled(),
    ))?;
    text::draw(root, "theory", (kx + 340, cy), small)?;
    root.draw(&Rectangle::new(
        [(kx + 420, cy - 7), (kx + 444, cy + 7)],
        ALL_BAR.filled(),
    ))?;
    text::draw(
        root,
        "all replica messages per transaction",
        (kx + 450, cy),
        small,
    )?;
    for (i, r) in rows.iter().enumerate() {
        let band = (n - 1 - i) as f64;
        chart.draw_series([
            Rectangle::new([(0.0, band + 0.12), (r.all, band + 0.88)], ALL_BAR.filled()),
            Rectangle::new(
                [(0.0, band + 0.3), (r.median, band + 0.7)],
                palette::BAR.filled(),
            ),
        ])?;
        chart.draw_series([
            PathElement::new(
                vec![(r.low, band + 0.5), (r.high, band + 0.5)],
                BLACK.stroke_width(2),
            ),
            PathElement::new(
                vec![(r.theory, band + 0.08), (r.theory, band + 0.92)],
                BLACK.stroke_width(3),
            ),
        ])?;
        let (px, py) = chart.backend_coord(&(r.all.max(r.theory).max(r.high), band + 0.5));
        text::draw(
            root,
            &format!(
                "{} (theory {} = {}; all {})",
                format_significant(r.median, 4),
                r.formula,
                format_significant(r.theory, 3),
                format_significant(r.all, 3)
            ),
            (px + 8, py),
            small,
        )?;
    }
    if rows.is_empty() {
        return canvas::notice(root, &chart, "no data");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("reports-compare-charts-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn every_chart_draws_as_png_and_svg_and_refuses_a_nan() {
        let d = dir();
        let cdf = [CdfSeries {
            name: "calm-3 [zab]".into(),
            points: vec![[0.0, 2.0], [0.5, 7.0], [1.0, 11.0]],
        }];
        let windows = [Windows {
            name: "leader-crash-3 [raft]".into(),
            to_leader_ms: vec![200.0, 240.0],
            to_write_ms: vec![250.0, 300.0],
        }];
        let cost = [Cost {
            name: "calm-3 [zab]".into(),
            median: 6.0,
            low: 6.0,
            high: 6.0,
            theory: 6.0,
            formula: "3(n-1)".into(),
            all: 7.2,
        }];
        for ext in ["png", "svg"] {
            latency_cdfs(d.join(format!("cdf.{ext}")), "t", &cdf).unwrap();
            unavailability_strips(d.join(format!("strips.{ext}")), "t", &windows).unwrap();
            cost_against_theory(d.join(format!("cost.{ext}")), "t", &cost).unwrap();
            assert!(d.join(format!("cost.{ext}")).metadata().unwrap().len() > 1000);
        }
        let bad = [Cost {
            all: f64::NAN,
            ..cost.into_iter().next().unwrap()
        }];
        assert!(cost_against_theory(d.join("bad.png"), "t", &bad).is_err());
        assert!(!d.join("bad.png").exists());
        std::fs::remove_dir_all(&d).ok();
    }
}
