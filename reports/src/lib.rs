//! `reports`: a run's pictures. It draws, from plain data, the plots a run's store folder holds:
//! latency over time with fault windows shaded, latency quantiles (and the quantile numbers and
//! outcome counts that go into `results.json`, computed by the same code), throughput, a message
//! space–time diagram, a bar chart for comparing protocol variants, and the comparison report's
//! charts (latency CDFs on one axis, unavailability strips, messages against theory). A run whose checks did not
//! all pass says so on its plots: which checks, and when their findings place the failure. It
//! runs outside any simulated world, so it may use the file system and floats freely; it never
//! decides anything a run depends on, and it depends on neither `sim` nor `protocols`: callers
//! convert their history, trace and checks into the types of [`data`].
//!
//! Every function writes one file and returns [`ReportError`] instead of panicking; empty or
//! degenerate data still gives a picture that says what it lacks ("no operations"). The same data
//! always gives the same bytes: all text uses the bundled DejaVu Sans font, never a system font.
//!
//! To see every plot drawn from realistic synthetic data (and check a change by eye):
//! `cargo run -p reports --example gallery -- /tmp/gallery`.

mod axis;
mod canvas;
mod compare;
mod compare_charts;
pub mod data;
mod diagram;
mod error;
mod font;
mod latency;
mod layout;
mod palette;
mod quantiles;
mod text;
mod throughput;
mod timeline;

pub use compare::comparison_bars;
pub use compare_charts::{
    CdfSeries, Cost, Windows, cost_against_theory, latency_cdfs, unavailability_strips,
};
pub use data::{
    Arrow, FailedCheck, FaultWindow, Mark, OpSample, Outcome, OutcomeCounts, outcome_counts,
};
pub use diagram::{MESSAGE_DIAGRAM_MAX_ARROWS, message_diagram, message_diagram_png};
pub use error::ReportError;
pub use latency::latency_over_time;
pub use quantiles::{LatencyQuantiles, latency_quantiles, quantile, quantiles};
pub use throughput::throughput;
