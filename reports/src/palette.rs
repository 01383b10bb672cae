//! Colours, so that every plot speaks the same visual language: one colour per operation type
//! (never red, which means "the client gave up" or "a check failed"), one per outcome, one per
//! fault kind (light enough to shade under data), and the greys of text and grids. Only colours
//! live here; where things go is the business of each plot.

use plotters::style::RGBColor;

/// Operation types, in the order of their sorted names: twelve colours, so that ZooKeeper's ten
/// operation types never share one. The first eight are Tableau's; the last four add a deep blue,
/// a dark green, a magenta and an indigo, each far enough from the others to tell apart in a
/// legend (every pair is at least 25 apart in CIELAB, see the test). Red and grey are left out on
/// purpose: red marks info operations and failed checks, grey is the colour of the page's
/// furniture.
const OPS: [RGBColor; 12] = [
    RGBColor(31, 119, 180),  // blue
    RGBColor(255, 127, 14),  // orange
    RGBColor(44, 160, 44),   // green
    RGBColor(148, 103, 189), // purple
    RGBColor(140, 86, 75),   // brown
    RGBColor(227, 119, 194), // pink
    RGBColor(188, 189, 34),  // olive
    RGBColor(23, 190, 207),  // cyan
    RGBColor(30, 30, 210),   // deep blue
    RGBColor(0, 90, 50),     // dark green
    RGBColor(210, 40, 210),  // magenta
    RGBColor(100, 20, 160),  // indigo
];

/// The colour of the `index`-th operation type (sorted by name); cycles past twelve types.
pub(crate) fn op(index: usize) -> RGBColor {
    OPS[index % OPS.len()]
}

/// Outcomes, for plots that colour by outcome rather than by operation (throughput).
pub(crate) const OK: RGBColor = RGBColor(44, 160, 44);
pub(crate) const ERROR_REPLY: RGBColor = RGBColor(255, 127, 14);
pub(crate) const FAIL: RGBColor = RGBColor(148, 103, 189);
/// Info (indeterminate) operations, in every plot.
pub(crate) const INFO: RGBColor = RGBColor(214, 39, 40);
/// Operations still open when the run ended.
pub(crate) const OPEN: RGBColor = RGBColor(100, 100, 100);

/// Checks that did not pass: the verdict line under the title and the marks on the chart. A
/// darker red than info's, and drawn as lines and text rather than rings.
pub(crate) const FAILED_CHECK: RGBColor = RGBColor(170, 0, 20);

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

#[cfg(test)]
mod tests {
    use super::*;

    /// CIE 1976 L*a*b* of an sRGB colour (D65 white).
    fn lab(RGBColor(r, g, b): RGBColor) -> [f64; 3] {
        let linear = |u: u8| {
            let u = f64::from(u) / 255.0;
            if u <= 0.04045 {
                u / 12.92
            } else {
                ((u + 0.055) / 1.055).powf(2.4)
            }
        };
        let (r, g, b) = (linear(r), linear(g), linear(b));
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        let f = |t: f64| {
            if t > 0.008856 {
                t.cbrt()
            } else {
                7.787 * t + 16.0 / 116.0
            }
        };
        let (fx, fy, fz) = (f(x), f(y), f(z));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    fn distance(a: RGBColor, b: RGBColor) -> f64 {
        let (a, b) = (lab(a), lab(b));
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// ZooKeeper's ten operation types (open_session, close_session, create, delete, set_data,
    /// multi, get_data, exists, get_children, sync) get ten colours that can be told apart, none
    /// of them the red of info operations.
    #[test]
    fn ten_operation_types_get_ten_distinct_colours() {
        for i in 0..10 {
            for j in i + 1..10 {
                let d = distance(op(i), op(j));
                assert!(d >= 25.0, "operation colours {i} and {j} are {d:.1} apart");
            }
            let d = distance(op(i), INFO);
            assert!(d >= 35.0, "operation colour {i} is {d:.1} from info's red");
        }
    }
}
