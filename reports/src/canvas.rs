//! Where pictures are made: opening a PNG or SVG file as a plotters drawing area, turning plotters'
//! errors into [`ReportError`], and the furniture every chart shares (the title bar, the axes with
//! their tick labels and titles, the "no operations" notice). It must never pick a system font or
//! write anything but the one file it was given.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::{Axis, format_latency};
use crate::data::FailedCheck;
use crate::error::ReportError;
use crate::font;
use crate::palette;
use crate::text::{self, Ink};

/// A drawing failure inside a plot, before it is tied to the file it was drawing.
pub(crate) struct Failure(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for Failure {
    fn from(e: DrawingAreaErrorKind<E>) -> Failure {
        Failure(e.to_string())
    }
}

/// What every drawing function returns.
pub(crate) type Drawn = Result<(), Failure>;

/// Draws a PNG of `size` pixels at `path` on a white page. The picture is drawn in memory and the
/// file written only when drawing succeeded, so a failure never leaves half a picture behind.
pub(crate) fn png<F>(path: &Path, size: (u32, u32), draw: F) -> Result<(), ReportError>
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Drawn,
{
    let is_png = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        return Err(ReportError::WrongExtension {
            path: path.to_path_buf(),
            expected: "png",
        });
    }
    font::ensure_registered()?;
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        finish(path, &root, draw)?;
    }
    encode_png(&rgb, size)
        .and_then(|bytes| std::fs::write(path, bytes).map_err(|e| e.to_string()))
        .map_err(|message| ReportError::Draw {
            path: path.to_path_buf(),
            message,
        })
}

/// RGB pixels as PNG bytes. One fixed filter (`Up` suits plots: long runs of identical rows of
/// background and grid) instead of adaptive filtering, which dominated the time to write a plot in
/// debug builds; the same pixels always give the same bytes.
fn encode_png(rgb: &[u8], (width, height): (u32, u32)) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Default);
    encoder.set_filter(png::FilterType::Up);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::NonAdaptive);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Draws an SVG of `size` pixels at `path` on a white page.
pub(crate) fn svg<F>(path: &Path, size: (u32, u32), draw: F) -> Result<(), ReportError>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Drawn,
{
    font::ensure_registered()?;
    let root = SVGBackend::new(path, size).into_drawing_area();
    finish(path, &root, draw)
}

fn finish<DB: DrawingBackend, F>(
    path: &Path,
    root: &DrawingArea<DB, Shift>,
    draw: F,
) -> Result<(), ReportError>
where
    F: FnOnce(&DrawingArea<DB, Shift>) -> Drawn,
{
    let drawn = root
        .fill(&WHITE)
        .map_err(Failure::from)
        .and_then(|()| draw(root))
        .and_then(|()| root.present().map_err(Failure::from));
    drawn.map_err(|Failure(message)| ReportError::Draw {
        path: path.to_path_buf(),
        message,
    })
}

/// Text sizes shared by all pictures.
pub(crate) const TITLE_SIZE: f64 = 24.0;
pub(crate) const NOTE_SIZE: f64 = 15.0;
pub(crate) const LABEL_SIZE: f64 = 16.0;
pub(crate) const SMALL_SIZE: f64 = 14.0;

/// Height of the title bar.
pub(crate) const TITLE_HEIGHT: i32 = 44;

/// Draws the page title at the top left and a muted note at the top right; returns the rest of
/// the page below them.
pub(crate) fn title_bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    note: &str,
) -> Result<DrawingArea<DB, Shift>, Failure> {
    let (bar, rest) = root.split_vertically(TITLE_HEIGHT);
    let (width, _) = bar.dim_in_pixel();
    let middle = TITLE_HEIGHT / 2 + 2;
    text::draw(
        &bar,
        title,
        (16, middle),
        Ink::new(TITLE_SIZE, palette::TEXT),
    )?;
    if !note.is_empty() {
        let ink = Ink::new(NOTE_SIZE, palette::MUTED).anchor(HPos::Right, VPos::Center);
        text::draw(&bar, note, (width as i32 - 18, middle), ink)?;
    }
    Ok(rest)
}

/// Height of the verdict line under the title of a run whose checks did not all pass.
const VERDICT_HEIGHT: i32 = 28;

/// Under the title of a run whose checks did not all pass, one line in the failed-check red that
/// says so, which checks, and when (see [`verdict_text`]); returns the rest of the page. A run
/// whose checks all passed gets no line.
pub(crate) fn verdict_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    failures: &[FailedCheck],
) -> Result<DrawingArea<DB, Shift>, Failure> {
    if failures.is_empty() {
        return Ok(area.clone());
    }
    let (line, rest) = area.split_vertically(VERDICT_HEIGHT);
    let (width, _) = line.dim_in_pixel();
    let ink = Ink::new(LABEL_SIZE, palette::FAILED_CHECK);
    let text = verdict_text(failures, |t| ink.width(t) <= width as i32 - 32);
    text::draw(&line, &text, (16, VERDICT_HEIGHT / 2), ink)?;
    Ok(rest)
}

/// The verdict line's words: `FAILED: durability at 5.61 s, liveness from 7.5 s to 12.5 s · NO
/// VERDICT: linearizable (no time in its finding)`. Checks are named in the order given for as
/// long as the line `fits`; the rest are counted.
pub(crate) fn verdict_text(failures: &[FailedCheck], fits: impl Fn(&str) -> bool) -> String {
    let describe = |f: &FailedCheck| match (f.at_ms, f.until_ms) {
        (Some(at), Some(until)) if until > at => format!(
            "{} from {} to {}",
            f.check,
            format_latency(at),
            format_latency(until)
        ),
        (Some(at), _) => format!("{} at {}", f.check, format_latency(at)),
        (None, _) => format!("{} (no time in its finding)", f.check),
    };
    let mut text = String::new();
    for (undecided, heading) in [(false, "FAILED"), (true, "NO VERDICT")] {
        let named: Vec<String> = failures
            .iter()
            .filter(|f| f.undecided == undecided)
            .map(describe)
            .collect();
        if named.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push_str(" · ");
        }
        text.push_str(heading);
        text.push_str(": ");
        for (i, name) in named.iter().enumerate() {
            let longer = if i == 0 {
                format!("{text}{name}")
            } else {
                format!("{text}, {name}")
            };
            if i > 0 && !fits(&longer) {
                text.push_str(&format!(" and {} more", named.len() - i));
                break;
            }
            text = longer;
        }
    }
    text
}

/// A notice centred in the chart's plotting area, for charts with nothing to show.
pub(crate) fn notice<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<Axis, Axis>>,
    message: &str,
) -> Drawn {
    let (x, y) = chart.plotting_area().get_pixel_range();
    let centre = ((x.start + x.end) / 2, (y.start + y.end) / 2);
    let ink = Ink::new(26.0, palette::MUTED).anchor(HPos::Center, VPos::Center);
    text::draw(root, message, centre, ink)
}

/// Chart geometry shared by every chart, so that things drawn outside a chart (the timeline's
/// strip) can line up with it.
pub(crate) const MARGIN_LEFT: i32 = 14;
pub(crate) const MARGIN_RIGHT: i32 = 36;
/// Room left of the plot for latency tick labels (`100 ms`) and the rotated axis title.
pub(crate) const Y_LABEL_AREA: i32 = 104;
/// Room under the plot for tick labels and the axis title.
const X_LABEL_AREA: i32 = 64;

/// A chart of `x` against `y` filling `area`, with `y_label_area` pixels left of the plot.
pub(crate) fn chart<'c, DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: Axis,
    y: Axis,
    y_label_area: i32,
) -> Result<ChartContext<'c, DB, Cartesian2d<Axis, Axis>>, Failure> {
    let chart = ChartBuilder::on(area)
        .margin_left(MARGIN_LEFT)
        .margin_right(MARGIN_RIGHT)
        .margin_top(8)
        .margin_bottom(8)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(x, y)?;
    Ok(chart)
}

/// How a chart's axes are labelled.
pub(crate) struct AxisText<'a> {
    pub(crate) x: &'a Axis,
    pub(crate) y: &'a Axis,
    pub(crate) x_title: &'a str,
    pub(crate) y_title: &'a str,
    pub(crate) x_format: &'a dyn Fn(f64) -> String,
    pub(crate) y_format: &'a dyn Fn(f64) -> String,
    /// Horizontal grid lines (off for bar charts, where they would cross the bars' names).
    pub(crate) y_grid: bool,
}

/// Draws a chart's grid, axis lines and tick marks (plotters) and its tick labels and axis titles
/// (ours, for the font reason `text` gives). `root` is the whole page.
pub(crate) fn draw_axes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &mut ChartContext<'_, DB, Cartesian2d<Axis, Axis>>,
    axes: AxisText<'_>,
) -> Drawn {
    let no_label = |_: &f64| String::new();
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&no_label)
        .y_label_formatter(&no_label)
        .bold_line_style(palette::GRID_MAJOR.stroke_width(1))
        .light_line_style(palette::GRID_MINOR.stroke_width(1))
        .axis_style(palette::MUTED.stroke_width(1));
    if !axes.y_grid {
        mesh.disable_y_mesh();
    }
    mesh.draw()?;

    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let label = Ink::new(LABEL_SIZE, palette::TEXT);
    for &v in axes.x.major() {
        let (x, _) = chart.backend_coord(&(v, axes.y.lo()));
        let at = (x, ys.end + 12);
        text::draw(
            root,
            &(axes.x_format)(v),
            at,
            label.anchor(HPos::Center, VPos::Top),
        )?;
    }
    let mut widest = 0;
    for &v in axes.y.major() {
        let (_, y) = chart.backend_coord(&(axes.x.lo(), v));
        let text = (axes.y_format)(v);
        widest = widest.max(label.width(&text));
        text::draw(
            root,
            &text,
            (xs.start - 12, y),
            label.anchor(HPos::Right, VPos::Center),
        )?;
    }
    let centre_x = (xs.start + xs.end) / 2;
    let x_title = label.anchor(HPos::Center, VPos::Top);
    text::draw(root, axes.x_title, (centre_x, ys.end + 40), x_title)?;
    let y_title = label.anchor(HPos::Center, VPos::Bottom).rotated();
    let y_title_x = (xs.start - widest - 26).max(label.height() + 4);
    text::draw(
        root,
        axes.y_title,
        (y_title_x, (ys.start + ys.end) / 2),
        y_title,
    )?;
    Ok(())
}
