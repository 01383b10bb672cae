//! Colours, so that every plot speaks the same visual language: one colour per operation type
//! (never red, which means "the client gave up"), one per outcome, one per fault kind (light
//! enough to shade under data), and the greys of text and grids. Only colours live here; where
//! things go is the business of each plot.

use plotters::style::RGBColor;

/// Operation types, in the order of their sorted names. Red and grey are left out on purpose:
/// red marks info ops and grey is the colour of the page's furniture.
const OPS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),  // blue
    RGBColor(44, 160, 44),   // green
    RGBColor(148, 103, 189), // purple
    RGBColor(255, 127, 14),  // orange
    RGBColor(23, 190, 207),  // cyan
    RGBColor(140, 86, 75),   // brown
    RGBColor(227, 119, 194), // pink
    RGBColor(188, 189, 34),  // olive
];

/// The colour of the `index`-th operation type (sorted by name); cycles past eight types.
pub(crate) fn op(index: usize) -> RGBColor {
    OPS[index % OPS.len()]
}

/// Outcomes, for plots that colour by outcome rather than by operation (throughput).
pub(crate) const OK: RGBColor = RGBColor(44, 160, 44);
pub(crate) const FAIL: RGBColor = RGBColor(255, 127, 14);
/// Info (indeterminate) operations, in every plot.
pub(crate) const INFO: RGBColor = RGBColor(214, 39, 40);

/// A fault kind's colour. Bands are drawn translucent, so these are saturated; crash is a dark
/// grey rather than red so that the red info markers inside a crash window stay visible.
pub(crate) fn fault(kind: &str) -> RGBColor {
    match kind {
        "crash" | "restart" | "kill" => RGBColor(90, 90, 90),
        "partition" | "cut" => RGBColor(230, 159, 0),
        "pause" | "gc" => RGBColor(117, 87, 190),
        "clog" | "slow" => RGBColor(0, 150, 170),
        "disk" | "fsync" | "torn" => RGBColor(180, 70, 120),
        _ => RGBColor(150, 110, 60),
    }
}

/// How opaque a fault band is over the plot: light enough to read data through two overlapping
/// bands, dark enough to see one at a glance.
pub(crate) const BAND_ALPHA: f64 = 0.14;

/// Message kinds in the space–time diagram: dark enough to read as thin lines and small text.
const MESSAGES: [RGBColor; 8] = [
    RGBColor(31, 100, 170),
    RGBColor(30, 130, 50),
    RGBColor(130, 70, 170),
    RGBColor(200, 100, 0),
    RGBColor(0, 130, 140),
    RGBColor(140, 80, 60),
    RGBColor(190, 60, 140),
    RGBColor(100, 100, 30),
];

/// The colour of the `index`-th message kind (sorted by name).
pub(crate) fn message(index: usize) -> RGBColor {
    MESSAGES[index % MESSAGES.len()]
}

/// Main text (titles, labels).
pub(crate) const TEXT: RGBColor = RGBColor(30, 30, 30);
/// Secondary text (notes, tick labels of lesser axes).
pub(crate) const MUTED: RGBColor = RGBColor(100, 100, 100);
/// Marks (instantaneous events) and lane lines.
pub(crate) const MARK: RGBColor = RGBColor(70, 70, 70);
/// Major and minor grid lines.
pub(crate) const GRID_MAJOR: RGBColor = RGBColor(215, 215, 215);
pub(crate) const GRID_MINOR: RGBColor = RGBColor(238, 238, 238);
/// Bars of the comparison chart.
pub(crate) const BAR: RGBColor = RGBColor(70, 120, 180);
