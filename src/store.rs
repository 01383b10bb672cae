//! A run's store folder, in the spirit of Jepsen's `store/`: the scenario as run (every default
//! filled in), the history, the results and, when asked for, the trace. This module only writes
//! files; what goes in them is decided by the runner. Before a run writes a folder, the files an
//! earlier run wrote there are removed (and only those), so that nothing stale stays beside new
//! results.

use crate::runner::{Panicked, Run};
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
/// The recipe clients' application log (docs/history-format.md, "Recipe log").
pub const RECIPE_FILE: &str = "recipe.jsonl";

/// Every file a run may write into its store folder.
const RUN_FILES: &[&str] = &[
    SCENARIO_FILE,
    HISTORY_FILE,
    RESULTS_FILE,
    TRACE_FILE,
    RECIPE_FILE,
    crate::report::LATENCY_PLOT,
    crate::report::QUANTILES_PLOT,
    crate::report::THROUGHPUT_PLOT,
    crate::report::MESSAGE_DIAGRAM,
    crate::report::MESSAGE_DIAGRAM_PNG,
];

/// Creates `dir` if needed and removes what an earlier run wrote there; other files stay.
pub fn prepare(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the store folder {}", dir.display()))?;
    for name in RUN_FILES {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Removes the folder of one seed of a sweep that an earlier sweep left and this one does not
/// keep: its run files, then the folder if nothing else is in it.
pub fn remove_stale(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    prepare(dir)?;
    // A folder that still holds a file zksim did not write is the user's: leave it.
    let _ = fs::remove_dir(dir);
    Ok(())
}

/// Writes `run` into `dir` (created if needed, cleared of an earlier run's files), with its plots
/// if `plots`. The trace, if the run wrote one, is written while it runs (call `prepare` first).
pub fn write(dir: &Path, run: &Run, plots: bool) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the store folder {}", dir.display()))?;
    let scenario = &run.scenario;
    let resolved = serde_json::to_string_pretty(scenario).expect("a scenario serializes");
    write_file(&dir.join(SCENARIO_FILE), resolved.as_bytes())?;
    write_history(&dir.join(HISTORY_FILE), scenario, run)?;
    if scenario.workload.recipe.is_some() {
        let mut text = String::new();
        for line in &run.recipe_log {
            text += &serde_json::to_string(line).expect("a recipe line serializes");
            text.push('\n');
        }
        write_file(&dir.join(RECIPE_FILE), text.as_bytes())?;
    }
    let results = crate::report::rounded_json(&run.results);
    write_file(&dir.join(RESULTS_FILE), results.as_bytes())?;
    if !plots {
        return Ok(());
    }
    let title = format!("{} (seed {})", scenario.name, run.results.seed);
    crate::report::plots(dir, &title, run, &run.samples, run.results.virtual_time_ms)
        .with_context(|| format!("cannot draw the plots in {}", dir.display()))
}

/// Writes what is known of a run that panicked: the scenario and a results file whose one check,
/// `panic`, holds the message and the replay command.
pub fn write_panicked(dir: &Path, scenario: &Scenario, panicked: &Panicked) -> Result<()> {
    prepare(dir)?;
    let resolved = serde_json::to_string_pretty(scenario).expect("a scenario serializes");
    write_file(&dir.join(SCENARIO_FILE), resolved.as_bytes())?;
    let results = serde_json::json!({
        "seed": panicked.seed,
        "scenario": scenario.name,
        "verdict": "fail",
        "checks": [{ "name": "panic", "verdict": "fail", "detail": panicked.message }],
        "replay": panicked.replay,
    });
    let text = serde_json::to_string_pretty(&results).expect("results serialize");
    write_file(&dir.join(RESULTS_FILE), text.as_bytes())
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
    for line in run.history.lines() {
        write_line(serde_json::to_string(line).expect("a history line serializes"))?;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}
