//! `zksim check`: reads history files, checks each against a model, prints one verdict line per
//! file (with the counterexample of a violation) and a summary, and returns the worst outcome as
//! the exit code. It owns the files, the output and the flags; the checking itself is
//! `sim::check`'s (and, for the znode model, `protocols::znode::history`'s; for ZooKeeper's own
//! guarantees, `--consistency zookeeper|zookeeper+sync`, `protocols::checks::zookeeper`'s).

use super::Outcome;
use anyhow::Context as _;
use protocols::checks::zookeeper::{self, Level, Report};
use serde_json::json;
use sim::check::formats::{self, Format};
use sim::check::models::{self, ModelKind};
use sim::check::{Budget, CheckResult, Verdict};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Appends a line to a file's text.
macro_rules! say {
    ($text:expr, $($arg:tt)*) => {{
        let _ = writeln!($text, $($arg)*);
    }};
}

/// `--help` text. The subcommand's one-line description and short help come from `cli::Command`;
/// `after_long_help` is the part `--help` adds.
const LONG_HELP: &str = "\
Checks each history FILE against a sequential model and prints one verdict line per file with
its check time, then a summary. A violation is explained by the operations that cannot be
ordered, the longest partial linearization the search reached, and what each of its steps read
or changed, by the file's line numbers (--json has the full model state after every step).

Formats (detected from the content unless --format is given):
  zksim         zksim JSON Lines: a header line, then one event per line (docs/history-format.md)
  jepsen-log    Jepsen log lines `INFO jepsen.util - PROCESS :TYPE :F VALUE`, Porcupine's etcd
                semantics (a failed cas observed another value; a nil read means nil)
  porcupine-kv  one EDN map per line with a :key (Porcupine's kv logs)
  knossos-edn   an EDN vector or list of operation maps, Knossos's semantics (a fail never
                happened; a nil read is unconstrained)

The model comes from the zksim header, or from the format (jepsen-log: cas-register,
porcupine-kv: kv, knossos-edn: inferred from the operation names), unless --model is given.
`info` operations, and operations never completed, may have taken effect at any time after
their invocation, or never.

--consistency zookeeper checks a znode history for what ZooKeeper documents instead of
linearizability (its reads are served by the server a client is connected to): linearizable
writes, reads consistent with their reply zxid, session order, a single system image across
reconnects, and watch order. --consistency zookeeper+sync adds that a read after sync sees every
write completed before the sync, which ZooKeeper does not promise under a deposed leader
(ZOOKEEPER-1675). Each violation names the guarantee, the rule, and the lines, processes,
sessions and zxids involved (docs/checks.md).

Examples:
  zksim check store/run-1/history.jsonl
  zksim check store/run-1/history.jsonl --consistency zookeeper+sync
  zksim check ../shared/histories/porcupine/jepsen/*.log --timeout 10
  zksim check history.edn --model cas-register --initial 0 --json -
  zksim check store/*/*/seed-*/history.jsonl --consistency zookeeper --junit check.xml

Exit codes (the worst over all files):
  0  every history is linearizable (or keeps ZooKeeper's guarantees)
  1  a history is not (a violation)
  2  bad input or usage (unreadable or malformed file, unknown option or model)
  3  no verdict (the time or memory budget ran out)";

/// The longest `--timeout` (use 0 for none).
const MAX_TIMEOUT_S: f64 = 86_400.0;

#[derive(clap::Args, Debug)]
#[command(after_long_help = LONG_HELP)]
pub struct Args {
    /// History files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Model: register, cas-register, kv, multi-register, mutex or znode. Default: from the file.
    #[arg(long, value_name = "M")]
    model: Option<String>,

    /// Initial state as JSON (e.g. 0, null, '""', '{"x":0,"y":0}'); a bare word is taken as a
    /// string (e.g. free). Default: the file's header, else the format's default.
    #[arg(long, value_name = "VALUE")]
    initial: Option<String>,

    /// Input format: zksim, jepsen-log, porcupine-kv or knossos-edn. Default: detected.
    #[arg(long, value_name = "F")]
    format: Option<Format>,

    /// What to check: linearizable, zookeeper (ZooKeeper's documented guarantees, znode
    /// histories only) or zookeeper+sync (also: a read after sync sees every write completed
    /// before the sync).
    #[arg(long, value_name = "C", default_value = "linearizable")]
    consistency: Consistency,

    /// Wall-clock limit per file, in seconds; 0 for none. Past it the verdict is unknown.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    timeout: f64,

    /// Limit on the search's memo per file, in MiB; 0 for none. Past it the verdict is unknown.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    memory_mib: usize,

    /// Write JSON Lines to FILE (`-`: instead of the text on stdout): one object per file
    /// (verdict, time, counterexample), then a summary object.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Write a JUnit XML report to FILE: one test case per history file, a failure carrying the
    /// violation's first lines.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// One history file's result, in every form the command writes it.
struct Checked {
    outcome: Outcome,
    /// Its JSON Lines object.
    object: serde_json::Value,
    /// Its text for stdout.
    text: String,
    /// A short account for a JUnit failure (the first lines of the text).
    message: String,
}

/// Where each file's result goes as soon as it is known: the JSON Lines file is appended and the
/// JUnit report rewritten before anything is printed, so that a closed stdout (which ends the
/// command) loses no result already computed.
struct Outputs {
    json_to_stdout: bool,
    json: Option<std::io::BufWriter<std::fs::File>>,
    junit: Option<(PathBuf, Vec<JunitCase>)>,
}

impl Outputs {
    fn open(args: &Args) -> anyhow::Result<Outputs> {
        let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
        let json = match &args.json {
            Some(path) if !json_to_stdout => Some(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot write {}", path.display()))?,
            )),
            _ => None,
        };
        Ok(Outputs {
            json_to_stdout,
            json,
            junit: args.junit.clone().map(|p| (p, Vec::new())),
        })
    }

    fn json_line(&mut self, object: &serde_json::Value) -> anyhow::Result<()> {
        use std::io::Write;
        if let Some(out) = &mut self.json {
            writeln!(out, "{object}")
                .and_then(|()| out.flush())
                .context("cannot write the --json file")?;
        }
        if self.json_to_stdout {
            println!("{object}");
        }
        Ok(())
    }

    fn file(&mut self, path: &Path, checked: &Checked) -> anyhow::Result<()> {
        self.json_line(&checked.object)?;
        if let Some((junit, cases)) = &mut self.junit {
            cases.push((
                path.display().to_string(),
                checked.outcome,
                checked.message.clone(),
            ));
            std::fs::write(&*junit, junit_report(cases))
                .with_context(|| format!("cannot write {}", junit.display()))?;
        }
        if !self.json_to_stdout {
            print!("{}", checked.text);
        }
        Ok(())
    }
}

/// A history file's JUnit test case: its path, outcome and message.
type JunitCase = (String, Outcome, String);

/// JUnit XML of the files checked so far: one suite, one test case per file.
fn junit_report(cases: &[JunitCase]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("zksim check");
    for (file, outcome, message) in cases {
        let status = match outcome {
            Outcome::Pass => TestCaseStatus::success(),
            other => {
                let kind = if *other == Outcome::Fail {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut status = TestCaseStatus::non_success(kind);
                status.set_message(message.clone());
                status
            }
        };
        suite.add_test_case(TestCase::new(file.clone(), status));
    }
    let mut report = Report::new("zksim");
    report.add_test_suite(suite);
    report.to_string().expect("a JUnit report serializes")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Consistency {
    Linearizable,
    Zookeeper,
    #[value(name = "zookeeper+sync")]
    ZookeeperSync,
}

impl Consistency {
    /// The level of ZooKeeper's guarantees it names, if it names one.
    fn level(self) -> Option<Level> {
        match self {
            Consistency::Linearizable => None,
            Consistency::Zookeeper => Some(Level::Zookeeper),
            Consistency::ZookeeperSync => Some(Level::ZookeeperSync),
        }
    }
}

pub fn main(args: Args) -> anyhow::Result<Outcome> {
    let model = args
        .model
        .as_deref()
        .map(str::parse::<ModelKind>)
        .transpose()?;
    let initial = args.initial.as_deref().map(initial_value).transpose()?;
    if !(args.timeout.is_finite() && (0.0..=MAX_TIMEOUT_S).contains(&args.timeout)) {
        anyhow::bail!(
            "--timeout: expected seconds from 0 (no limit) to {MAX_TIMEOUT_S} (one day), got {}",
            args.timeout
        );
    }
    let budget = Budget {
        timeout: (args.timeout > 0.0).then(|| Duration::from_secs_f64(args.timeout)),
        memory_bytes: (args.memory_mib > 0).then(|| args.memory_mib.saturating_mul(1 << 20)),
        ..Budget::default()
    };

    let started = Instant::now();
    let mut counts = [0usize; 4];
    let mut worst = Outcome::Pass;
    let mut outputs = Outputs::open(&args)?;
    for path in &args.files {
        let checked = check_file(path, &args, model, initial.as_ref(), &budget);
        outputs.file(path, &checked)?;
        counts[checked.outcome as usize] += 1;
        worst = worst.max(checked.outcome);
    }
    let total_ms = started.elapsed().as_secs_f64() * 1e3;
    // Indexed by `Outcome` in its order: pass, unknown, fail, bad input.
    let [pass, unknown, fail, bad] = counts;
    // What a passing file is called: the verdict's name at this consistency.
    let passed = match args.consistency.level() {
        None => "linearizable",
        Some(_) => "valid",
    };
    let mut summary = json!({"files": args.files.len(), "violation": fail,
        "bad_input": bad, "unknown": unknown, "ms": round_ms(total_ms)});
    summary[passed] = pass.into();
    outputs.json_line(&json!({ "summary": summary }))?;
    if !outputs.json_to_stdout {
        println!(
            "{} files in {:.1} ms: {pass} {passed}, {fail} violation, {unknown} unknown, \
             {bad} bad input",
            args.files.len(),
            total_ms
        );
    }
    Ok(worst)
}

/// The `--initial` value: JSON, or a bare word (`free`) taken as a string. Text that starts like a
/// JSON array, object, string or number must be valid JSON, so that a typo or a value nested
/// past `sim::json::MAX_DEPTH` is an error rather than a string no model expects.
fn initial_value(text: &str) -> anyhow::Result<serde_json::Value> {
    let json_like = text
        .trim_start()
        .starts_with(|c: char| matches!(c, '[' | '{' | '"' | '-') || c.is_ascii_digit());
    match sim::json::from_str(text) {
        Ok(value) => Ok(value),
        Err(e) if json_like => Err(anyhow::anyhow!("--initial is not valid JSON: {e}")),
        Err(_) => Ok(serde_json::Value::String(text.to_string())),
    }
}

fn round_ms(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

fn check_file(
    path: &Path,
    args: &Args,
    model: Option<ModelKind>,
    initial: Option<&serde_json::Value>,
    budget: &Budget,
) -> Checked {
    if let Some(level) = args.consistency.level() {
        return check_file_zookeeper(path, args, model, initial, level, budget);
    }
    let started = Instant::now();
    let result = read_and_check(path, args.format, model, initial, budget);
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let shown = path.display();
    let outcome = match &result {
        Ok((_, r)) => match r.verdict {
            Verdict::Linearizable => Outcome::Pass,
            Verdict::Violation(_) => Outcome::Fail,
            Verdict::Unknown(_) => Outcome::Unknown,
        },
        Err(_) => Outcome::BadInput,
    };
    let mut text = String::new();
    let object = match &result {
        Ok((kind, r)) => json!({
            "file": shown.to_string(), "model": kind.name(), "ms": round_ms(ms),
            "operations": r.operations, "parts": r.parts, "result": r,
        }),
        Err(e) => json!({
            "file": shown.to_string(), "ms": round_ms(ms),
            "result": {"verdict": "bad-input", "error": format!("{e:#}")},
        }),
    };
    {
        match &result {
            Ok((kind, r)) => {
                let detail = match &r.verdict {
                    Verdict::Unknown(reason) => format!(" ({reason})"),
                    _ => String::new(),
                };
                say!(
                    text,
                    "{:<12} {shown}  [{kind}, {} ops, {} part{}, {ms:.1} ms]{detail}",
                    r.verdict.name(),
                    r.operations,
                    r.parts,
                    if r.parts == 1 { "" } else { "s" },
                );
                if let Verdict::Violation(cx) = &r.verdict {
                    for line in cx.to_string().lines() {
                        say!(text, "    {line}");
                    }
                }
            }
            Err(e) => say!(text, "{:<12} {shown}: {e:#}", "bad-input"),
        }
    }
    finish(outcome, object, text)
}

/// A file's result from its outcome, JSON object and text; the JUnit message is the text's first
/// lines.
fn finish(outcome: Outcome, object: serde_json::Value, text: String) -> Checked {
    let message: Vec<&str> = text.lines().take(12).collect();
    Checked {
        outcome,
        object,
        message: message.join("\n"),
        text,
    }
}

fn read_and_check(
    path: &Path,
    format: Option<Format>,
    model: Option<ModelKind>,
    initial: Option<&serde_json::Value>,
    budget: &Budget,
) -> anyhow::Result<(ModelKind, CheckResult)> {
    let text = zksim::text::read(path)?;
    let raw = formats::read(&text, format)?;
    let kind = match model {
        Some(k) => k,
        None => ModelKind::of_history(&raw)?,
    };
    let result = if kind == ModelKind::Znode {
        // The znode model is the protocols crate's; sim only reads the file for it.
        protocols::znode::history::check_history(&raw, initial, budget)?
    } else {
        models::check_history(&raw, kind, initial, budget)?
    };
    Ok((kind, result))
}

/// `check_file` for ZooKeeper's guarantees: one verdict line with the guarantees under it, then
/// every listed violation and the notes.
fn check_file_zookeeper(
    path: &Path,
    args: &Args,
    model: Option<ModelKind>,
    initial: Option<&serde_json::Value>,
    level: Level,
    budget: &Budget,
) -> Checked {
    let started = Instant::now();
    let result = read_and_check_zookeeper(path, args.format, model, initial, level, budget);
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let shown = path.display();
    let outcome = match &result {
        Ok(r) => match r.verdict {
            zookeeper::Verdict::Valid => Outcome::Pass,
            zookeeper::Verdict::Violation => Outcome::Fail,
            zookeeper::Verdict::Unknown => Outcome::Unknown,
        },
        Err(_) => Outcome::BadInput,
    };
    let mut text = String::new();
    let object = match &result {
        Ok(r) => json!({
            "file": shown.to_string(), "consistency": level.name(), "ms": round_ms(ms),
            "operations": r.operations, "result": r,
        }),
        Err(e) => json!({
            "file": shown.to_string(), "consistency": level.name(), "ms": round_ms(ms),
            "result": {"verdict": "bad-input", "error": format!("{e:#}")},
        }),
    };
    {
        match &result {
            Ok(r) => {
                say!(
                    text,
                    "{:<12} {shown}  [{}, {} ops, {} events, {} sessions, {ms:.1} ms]",
                    r.verdict.name(),
                    level.name(),
                    r.operations,
                    r.events,
                    r.sessions,
                );
                for line in r.summary().lines() {
                    say!(text, "    {line}");
                }
                for v in &r.violations {
                    for line in v.to_string().lines() {
                        say!(text, "    {line}");
                    }
                }
                let listed = r.violations.len();
                let total: usize = r.guarantees.iter().map(|g| g.violations).sum();
                if total > listed {
                    say!(
                        text,
                        "    ({} more violations not listed; at most {} per guarantee)",
                        total - listed,
                        zookeeper::MAX_LISTED
                    );
                }
                for note in &r.notes {
                    say!(text, "    note: {note}");
                }
            }
            Err(e) => say!(text, "{:<12} {shown}: {e:#}", "bad-input"),
        }
    }
    finish(outcome, object, text)
}

fn read_and_check_zookeeper(
    path: &Path,
    format: Option<Format>,
    model: Option<ModelKind>,
    initial: Option<&serde_json::Value>,
    level: Level,
    budget: &Budget,
) -> anyhow::Result<Report> {
    let text = zksim::text::read(path)?;
    let raw = formats::read(&text, format)?;
    let kind = match model {
        Some(k) => k,
        None => ModelKind::of_history(&raw)?,
    };
    if kind != ModelKind::Znode {
        anyhow::bail!(
            "--consistency {} checks znode histories; this one is a {} history",
            level.name(),
            kind.name()
        );
    }
    if let Some(initial) = initial.filter(|v| !v.is_null()) {
        anyhow::bail!("a znode history starts from a fresh server's tree; got --initial {initial}");
    }
    Ok(zookeeper::check(&raw, level, budget)?)
}
