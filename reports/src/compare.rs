//! A labelled bar chart of one metric across variants (protocols, variants of one protocol,
//! configurations), for comparisons across runs. Bars are horizontal so long variant names such
//! as `ack-newleader-before-fsync` stay readable; each bar carries its value.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::{Axis, format_significant};
use crate::canvas::{self, AxisText, Drawn};
use crate::error::ReportError;
use crate::palette;
use crate::text::{self, Ink};

const WIDTH: u32 = 1100;
const BAR_ROW: u32 = 46;

/// Writes a PNG bar chart of `metric_name` for each `(variant, value)` in `series`, in the order
/// given.
pub fn comparison_bars(
    path: impl AsRef<Path>,
    title: &str,
    metric_name: &str,
    series: &[(String, f64)],
) -> Result<(), ReportError> {
    for (i, (name, value)) in series.iter().enumerate() {
        if !value.is_finite() {
            return Err(ReportError::InvalidInput(format!(
                "series[{i}] ({name}) is {value}"
            )));
        }
    }
    let height = (44 + 90 + BAR_ROW * series.len() as u32).max(320);
    canvas::png(path.as_ref(), (WIDTH, height), |root| {
        draw(root, title, metric_name, series)
    })
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    metric_name: &str,
    series: &[(String, f64)],
) -> Drawn {
    let body = canvas::title_bar(root, title, "")?;
    let ink = Ink::new(canvas::LABEL_SIZE, palette::TEXT);
    let name_width = series
        .iter()
        .map(|(name, _)| ink.width(name))
        .max()
        .unwrap_or(0)
        .clamp(60, 420);

    let n = series.len();
    let lowest = series.iter().map(|(_, v)| *v).fold(0.0, f64::min);
    let highest = series.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    // Room past the longest bar for its value label.
    let spread = (highest - lowest).max(f64::MIN_POSITIVE);
    let x = Axis::linear(
        lowest - if lowest < 0.0 { spread * 0.12 } else { 0.0 },
        highest + if highest > 0.0 { spread * 0.12 } else { 0.0 },
        8,
    );
    // Variant i sits in the band n-1-i..n-i, so the first variant is at the top.
    let centres = (0..n).map(|i| i as f64 + 0.5).collect();
    let y = Axis::with_ticks(0.0, n.max(1) as f64, centres);
    let name_of = |v: f64| {
        let from_top = n as f64 - 1.0 - v.floor();
        series
            .get(from_top as usize)
            .map_or(String::new(), |(name, _)| name.clone())
    };
    let x_format = |v: f64| x.format_plain(v);
    let mut chart = canvas::chart(&body, x.clone(), y.clone(), name_width + 24)?;
    canvas::draw_axes(
        root,
        &mut chart,
        AxisText {
            x: &x,
            y: &y,
            x_title: metric_name,
            y_title: "",
            x_format: &x_format,
            y_format: &name_of,
            y_grid: false,
        },
    )?;
    if series.is_empty() {
        return canvas::notice(root, &chart, "no data");
    }
    for (i, (_, value)) in series.iter().enumerate() {
        let band = (n - 1 - i) as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, band + 0.2), (*value, band + 0.8)],
            palette::BAR.filled(),
        )))?;
        let (h, pad) = if *value < 0.0 {
            (HPos::Right, -8)
        } else {
            (HPos::Left, 8)
        };
        let (px, py) = chart.backend_coord(&(*value, band + 0.5));
        let at = (px + pad, py);
        text::draw(
            root,
            &format_significant(*value, 4),
            at,
            ink.anchor(h, VPos::Center),
        )?;
    }
    Ok(())
}
