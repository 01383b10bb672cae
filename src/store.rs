//! A run's store folder, in the spirit of Jepsen's `store/`: the scenario as run (every default
//! filled in), the history, the results and, when asked for, the trace. This module only writes
//! files; what goes in them is decided by the runner.

use crate::runner::Run;
use crate::scenario::Scenario;
use anyhow::{Context, Result};
use sim::history::Header;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Files of a store folder.
pub const SCENARIO_FILE: &str = "scenario.json";
pub const HISTORY_FILE: &str = "history.jsonl";
pub const RESULTS_FILE: &str = "results.json";
pub const TRACE_FILE: &str = "trace.txt";

/// Writes `run` into `dir` (created if needed), with its plots if `plots`.
pub fn write(dir: &Path, scenario: &Scenario, run: &Run, plots: bool) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the store folder {}", dir.display()))?;
    let resolved = serde_json::to_string_pretty(scenario).expect("a scenario serializes");
    write_file(&dir.join(SCENARIO_FILE), resolved.as_bytes())?;
    write_history(&dir.join(HISTORY_FILE), scenario, run)?;
    let results = crate::report::rounded_json(&run.results);
    write_file(&dir.join(RESULTS_FILE), results.as_bytes())?;
    if !plots {
        return Ok(());
    }
    let title = format!("{} (seed {})", scenario.name, run.results.seed);
    crate::report::plots(dir, &title, run, &run.samples, run.results.virtual_time_ms)
        .with_context(|| format!("cannot draw the plots in {}", dir.display()))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn write_history(path: &Path, scenario: &Scenario, run: &Run) -> Result<()> {
    let file =
        fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut header = Header::new("znode");
    header.source = Some(serde_json::json!({
        "scenario": scenario.name,
        "seed": run.results.seed,
        "protocol": run.results.protocol,
        "variant": run.results.variant,
        "trace_hash": run.results.trace_hash,
    }));
    let mut write_line = |value: String| -> Result<()> {
        out.write_all(value.as_bytes())?;
        out.write_all(b"\n")?;
        Ok(())
    };
    write_line(serde_json::to_string(&header).expect("a header serializes"))?;
    for line in &run.history {
        write_line(serde_json::to_string(line).expect("a history line serializes"))?;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}
