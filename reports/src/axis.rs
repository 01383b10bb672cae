//! Axes with ticks a person can read: a linear or base-10 log scale whose major ticks are "nice"
//! numbers (1, 2, 2.5, 5 × 10^k on a linear scale; decades, or 1-2-5 within few decades, on a log
//! scale), minor ticks for the grid, and the formatting of tick values (times in ms or s,
//! latencies with their unit). Plotters' own log axis picks labels like `10.000000001`, hence this
//! module. [`Axis`] implements plotters' `Ranged`, clamping every value into its range, so data
//! outside the axis (a zero latency on a log axis, a window past the data) lands on the edge
//! instead of outside the plot.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, KeyPointWeight, Ranged};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scale {
    Linear,
    Log10,
}

#[derive(Clone, Debug)]
pub(crate) struct Axis {
    lo: f64,
    hi: f64,
    scale: Scale,
    /// Labelled ticks, ascending.
    major: Vec<f64>,
    /// Grid-only ticks, ascending, none equal to a major tick.
    minor: Vec<f64>,
    /// Distance between major ticks on a linear axis; decides how many decimals labels need.
    step: f64,
}

/// Ratio of largest to smallest positive value beyond which latency goes on a log axis: past two
/// decades a linear axis squashes the common case into one pixel row.
const LOG_RATIO: f64 = 100.0;

impl Axis {
    /// A linear axis covering `lo..hi` with at most about `target` major ticks, widened outward to
    /// whole steps. A zero-width range is widened so the one value sits inside a sane axis.
    pub(crate) fn linear(lo: f64, hi: f64, target: usize) -> Axis {
        Axis::linear_ending(lo, hi, target, false)
    }

    /// Like [`Axis::linear`], but with `tight_end` the axis stops at `hi` instead of the next
    /// whole step (time axes: nothing happens after the run ends).
    fn linear_ending(lo: f64, hi: f64, target: usize, tight_end: bool) -> Axis {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else if lo == 0.0 {
            (0.0, 1.0)
        } else {
            let pad = lo.abs() * 0.1;
            (lo - pad, hi + pad)
        };
        let step = nice_step((hi - lo) / target.max(1) as f64);
        let first = (lo / step).floor() as i64;
        let mut last = (hi / step).ceil() as i64;
        if last == first {
            last += 1;
        }
        let end = if tight_end { hi } else { last as f64 * step };
        let within = |v: &f64| *v <= end + step * 1e-9;
        let major: Vec<f64> = (first..=last)
            .map(|i| i as f64 * step)
            .filter(within)
            .collect();
        // Five minor intervals per major one, four when the step is 2 × 10^k (so minors fall on
        // 0.5 × 10^k rather than 0.4).
        let divisions = if (step / 10f64.powf(step.log10().floor()) - 2.0).abs() < 1e-9 {
            4
        } else {
            5
        };
        let minor_step = step / divisions as f64;
        let minor = (first * divisions..=last * divisions)
            .filter(|i| i % divisions != 0)
            .map(|i| i as f64 * minor_step)
            .filter(within)
            .collect();
        Axis {
            lo: first as f64 * step,
            hi: end,
            scale: Scale::Linear,
            major,
            minor,
            step,
        }
    }

    /// A base-10 log axis from just below `min_positive` to just above `max`, both > 0.
    pub(crate) fn log(min_positive: f64, max: f64) -> Axis {
        let lo = floor_125(min_positive / 1.15);
        let hi = ceil_125(max * 1.15).max(lo * 10.0);
        let decades = (hi / lo).log10();
        let first = lo.log10().floor() as i32;
        let last = hi.log10().ceil() as i32;
        let mut major = Vec::new();
        let mut minor = Vec::new();
        for exponent in first..=last {
            let decade = 10f64.powi(exponent);
            for digit in 1..=9 {
                // Values like 3 × 10^-1 are built from integers, not by repeated multiplication,
                // so `0.3` formats as `0.3` and not `0.30000000000000004`.
                let v = if exponent >= 0 {
                    digit as f64 * decade
                } else {
                    digit as f64 / 10f64.powi(-exponent)
                };
                if v < lo * (1.0 - 1e-9) || v > hi * (1.0 + 1e-9) {
                    continue;
                }
                // Up to three and a half decades there is room to label 1, 2 and 5.
                let labelled = digit == 1 || (decades <= 3.5 && (digit == 2 || digit == 5));
                if labelled {
                    major.push(v)
                } else {
                    minor.push(v)
                }
            }
        }
        Axis {
            lo,
            hi,
            scale: Scale::Log10,
            major,
            minor,
            step: 0.0,
        }
    }

    /// An axis for latencies (ms): log when the positive values span more than two decades,
    /// otherwise linear from zero. Zero latencies sit on the bottom edge of a log axis.
    pub(crate) fn latency(values: impl IntoIterator<Item = f64>) -> Axis {
        let mut min_positive = f64::INFINITY;
        let mut max = 0.0f64;
        for v in values {
            if v > 0.0 {
                min_positive = min_positive.min(v);
            }
            max = max.max(v);
        }
        if max > 0.0 && max / min_positive > LOG_RATIO {
            Axis::log(min_positive, max)
        } else {
            // Four percent of headroom keeps the highest markers inside the plot.
            Axis::linear(0.0, max * 1.04, 8)
        }
    }

    /// An axis with ticks chosen by the caller (e.g. percentiles, category names), linear in value.
    pub(crate) fn with_ticks(lo: f64, hi: f64, major: Vec<f64>) -> Axis {
        Axis {
            lo,
            hi,
            scale: Scale::Linear,
            major,
            minor: Vec::new(),
            step: 0.0,
        }
    }

    /// The labelled ticks, ascending.
    pub(crate) fn major(&self) -> &[f64] {
        &self.major
    }

    pub(crate) fn is_log(&self) -> bool {
        self.scale == Scale::Log10
    }

    pub(crate) fn lo(&self) -> f64 {
        self.lo
    }

    pub(crate) fn hi(&self) -> f64 {
        self.hi
    }

    /// Where `value` falls between the ends of the axis, clamped to 0..=1.
    pub(crate) fn fraction(&self, value: f64) -> f64 {
        let f = match self.scale {
            Scale::Linear => (value - self.lo) / (self.hi - self.lo),
            Scale::Log10 if value <= 0.0 => 0.0,
            Scale::Log10 => (value / self.lo).log10() / (self.hi / self.lo).log10(),
        };
        if f.is_finite() {
            f.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Formats a tick of a linear axis with as many decimals as its step needs.
    pub(crate) fn format_plain(&self, value: f64) -> String {
        format_stepped(value, self.step)
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (self.fraction(*value) * span).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        match hint.weight() {
            KeyPointWeight::Bold => self.major.clone(),
            KeyPointWeight::Any => {
                let mut all: Vec<f64> = self.major.iter().chain(&self.minor).copied().collect();
                all.sort_by(f64::total_cmp);
                all
            }
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw > 0.0 && raw.is_finite()) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let mantissa = raw / magnitude;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| mantissa <= *m * (1.0 + 1e-9))
        .unwrap_or(10.0);
    nice * magnitude
}

/// The largest of 1, 2, 5 × 10^k not above `x` (> 0).
fn floor_125(x: f64) -> f64 {
    let magnitude = 10f64.powf(x.log10().floor());
    let mantissa = x / magnitude;
    let m = [5.0, 2.0, 1.0]
        .into_iter()
        .find(|m| mantissa >= *m * (1.0 - 1e-9))
        .unwrap_or(1.0);
    m * magnitude
}

/// The smallest of 1, 2, 5 × 10^k not below `x` (> 0).
fn ceil_125(x: f64) -> f64 {
    let magnitude = 10f64.powf(x.log10().floor());
    let mantissa = x / magnitude;
    let m = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .find(|m| mantissa <= *m * (1.0 + 1e-9))
        .unwrap_or(10.0);
    m * magnitude
}

/// `value` with the decimals a tick step of `step` needs (step 0.25 → two, step 5 → none).
fn format_stepped(value: f64, step: f64) -> String {
    let mut decimals = 0usize;
    if step > 0.0 {
        while decimals < 6
            && ((step * 10f64.powi(decimals as i32)).round() - step * 10f64.powi(decimals as i32))
                .abs()
                > 1e-6
        {
            decimals += 1;
        }
    }
    // Ticks computed as i × step can land on -0.0 or 1e-17; they read as 0.
    let value = if value.abs() < step.abs() * 1e-9 {
        0.0
    } else {
        value
    };
    format!("{value:.decimals$}")
}

/// A number with at most `significant` significant digits and no trailing zeros: 2.5, 120, 0.05.
pub(crate) fn format_significant(value: f64, significant: i32) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (significant - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A latency with its unit, for log-axis ticks and tables: `250 µs`, `3.2 ms`, `1.5 s`.
pub(crate) fn format_latency(ms: f64) -> String {
    if ms == 0.0 {
        "0".to_string()
    } else if ms >= 1000.0 {
        format!("{} s", format_significant(ms / 1000.0, 3))
    } else if ms >= 1.0 {
        format!("{} ms", format_significant(ms, 3))
    } else {
        format!("{} µs", format_significant(ms * 1000.0, 3))
    }
}

/// The unit a time axis is labelled in, picked from the span it covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum TimeUnit {
    Ms,
    S,
}

impl TimeUnit {
    /// Seconds once the span reaches ten seconds, where millisecond labels get five digits long.
    pub(crate) fn for_span(span_ms: f64) -> TimeUnit {
        if span_ms >= 10_000.0 {
            TimeUnit::S
        } else {
            TimeUnit::Ms
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            TimeUnit::Ms => "ms",
            TimeUnit::S => "s",
        }
    }

    pub(crate) fn in_unit(self, ms: f64) -> f64 {
        match self {
            TimeUnit::Ms => ms,
            TimeUnit::S => ms / 1000.0,
        }
    }
}

/// A time axis over `lo_ms..hi_ms`: values stay in milliseconds, but the ticks are nice numbers
/// in the display unit (every 20 s, not every 20000 ms) and are labelled in that unit.
#[derive(Clone, Debug)]
pub(crate) struct TimeAxis {
    pub(crate) axis: Axis,
    pub(crate) unit: TimeUnit,
    step_in_unit: f64,
}

impl TimeAxis {
    pub(crate) fn new(lo_ms: f64, hi_ms: f64, target: usize) -> TimeAxis {
        let unit = TimeUnit::for_span(hi_ms - lo_ms);
        let in_unit = Axis::linear_ending(unit.in_unit(lo_ms), unit.in_unit(hi_ms), target, true);
        let to_ms = |v: f64| match unit {
            TimeUnit::Ms => v,
            TimeUnit::S => v * 1000.0,
        };
        let axis = Axis {
            lo: to_ms(in_unit.lo),
            hi: to_ms(in_unit.hi),
            scale: Scale::Linear,
            major: in_unit.major.iter().map(|v| to_ms(*v)).collect(),
            minor: in_unit.minor.iter().map(|v| to_ms(*v)).collect(),
            step: to_ms(in_unit.step),
        };
        TimeAxis {
            axis,
            unit,
            step_in_unit: in_unit.step,
        }
    }

    /// A tick label: the time in the axis's unit, without the unit (the axis title carries it).
    pub(crate) fn format(&self, ms: f64) -> String {
        format_stepped(self.unit.in_unit(ms), self.step_in_unit)
    }

    /// The axis title, e.g. `virtual time (s)`.
    pub(crate) fn title(&self) -> String {
        format!("virtual time ({})", self.unit.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_nice_and_cover_the_data() {
        let a = Axis::linear(0.0, 4.7, 10);
        assert_eq!(
            a.major,
            vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
        );
        assert_eq!(a.format_plain(1.5), "1.5");
        assert_eq!(a.format_plain(2.0), "2.0");

        let b = Axis::linear(3.0, 187.0, 10);
        assert_eq!(b.lo(), 0.0);
        assert_eq!(b.hi(), 200.0);
        assert_eq!(b.format_plain(40.0), "40");
    }

    #[test]
    fn degenerate_linear_ranges_are_widened() {
        let zero = Axis::linear(0.0, 0.0, 8);
        assert!(zero.lo() == 0.0 && zero.hi() >= 1.0);
        let one = Axis::linear(5.0, 5.0, 8);
        assert!(one.lo() < 5.0 && one.hi() > 5.0, "{one:?}");
    }

    #[test]
    fn log_axis_labels_decades_and_1_2_5_within_few_decades() {
        let wide = Axis::log(0.8, 2100.0);
        assert!(wide.is_log());
        assert_eq!(wide.lo(), 0.5);
        assert_eq!(wide.hi(), 5000.0);
        // 0.5 .. 5000 is four decades: only powers of ten are labelled.
        assert_eq!(wide.major, vec![1.0, 10.0, 100.0, 1000.0]);
        assert!(wide.minor.contains(&0.5) && wide.minor.contains(&2000.0));

        let narrow = Axis::log(1.0, 300.0);
        assert_eq!(narrow.major.first(), Some(&0.5));
        assert!(narrow.major.contains(&2.0) && narrow.major.contains(&200.0));
        assert!(Axis::log(0.03, 10.0).major.contains(&0.1));
    }

    #[test]
    fn latency_axis_goes_log_past_two_decades() {
        assert!(!Axis::latency([1.0, 5.0, 50.0]).is_log());
        assert!(Axis::latency([1.0, 5.0, 2000.0]).is_log());
        assert!(!Axis::latency([0.0, 0.0]).is_log());
        assert!(!Axis::latency([]).is_log());
    }

    #[test]
    fn clamping_keeps_everything_on_the_axis() {
        let log = Axis::log(1.0, 1000.0);
        assert_eq!(log.fraction(0.0), 0.0);
        assert_eq!(log.fraction(1e9), 1.0);
        assert_eq!(log.map(&log.lo(), (0, 100)), 0);
        assert_eq!(log.map(&log.hi(), (600, 0)), 0);
    }

    #[test]
    fn latencies_read_with_their_unit() {
        assert_eq!(format_latency(0.25), "250 µs");
        assert_eq!(format_latency(3.21), "3.21 ms");
        assert_eq!(format_latency(20.0), "20 ms");
        assert_eq!(format_latency(1500.0), "1.5 s");
        assert_eq!(format_latency(0.0), "0");
    }

    #[test]
    fn time_axis_ticks_in_seconds_for_long_runs() {
        let t = TimeAxis::new(0.0, 180_000.0, 12);
        assert_eq!(t.unit, TimeUnit::S);
        assert_eq!(t.format(20_000.0), "20");
        assert_eq!(t.title(), "virtual time (s)");
        // The axis ends where the run ends, not at the next whole step.
        assert_eq!(t.axis.hi(), 180_000.0);
        assert_eq!(TimeAxis::new(0.0, 183_400.0, 12).axis.hi(), 183_400.0);
        let short = TimeAxis::new(0.0, 120.0, 12);
        assert_eq!(short.unit, TimeUnit::Ms);
        assert_eq!(short.format(10.0), "10");
    }
}
