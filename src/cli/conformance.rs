//! `zksim conformance PATH...`: replays conformance traces recorded from a real ZooKeeper against
//! the znode model (`protocols::znode::conformance`). This file only finds and reads the files,
//! prints, and maps the result to an exit code; docs/conformance.md describes the command.

use super::Outcome;
use protocols::znode::conformance;
use std::path::{Path, PathBuf};

/// What `--help` says beyond the one-line summary.
const DESCRIPTION: &str = "Trace files, or folders whose *.jsonl files are all replayed (in name \
order).

Each trace was recorded from a real ZooKeeper 3.8.0 server (JSON Lines, \
../shared/conformance/FORMAT.md) and is replayed against zksim's znode model: every step's answer, \
zxid and watch notifications must match exactly. Every mismatch is printed as
  FILE:LINE: TRACE step N (OP): FIELD: expected X, got Y
and the last line is `N passed, M failed`, counting traces. Unreadable or malformed files are \
reported on stderr with file, line and field (exit code 2); the other files are still replayed. \
docs/conformance.md has the details.";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Trace files, or folders whose `*.jsonl` files are all replayed (in name order).
    #[arg(required = true, value_name = "PATH", long_help = DESCRIPTION)]
    pub paths: Vec<PathBuf>,
}

pub fn main(args: Args) -> anyhow::Result<Outcome> {
    let mut bad_input = false;
    let mut files = Vec::new();
    for path in &args.paths {
        match trace_files(path) {
            Ok(found) => files.extend(found),
            Err(reason) => {
                eprintln!("zksim: error: {}: {reason}", path.display());
                bad_input = true;
            }
        }
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let text = match zksim::text::read(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("zksim: error: {}: {e}", file.display());
                bad_input = true;
                continue;
            }
        };
        let trace = match conformance::parse_trace(&text) {
            Ok(trace) => trace,
            Err(e) => {
                eprintln!("zksim: error: {}:{}: {}", file.display(), e.line, e.error);
                bad_input = true;
                continue;
            }
        };
        let mismatches = conformance::replay(&trace);
        for mismatch in &mismatches {
            println!("{}:{}: {mismatch}", file.display(), mismatch.line);
        }
        if mismatches.is_empty() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if bad_input {
        Outcome::BadInput
    } else if failed > 0 {
        Outcome::Fail
    } else {
        Outcome::Pass
    })
}

/// `path` itself if it is a file, else the `*.jsonl` files directly inside it, in name order. A
/// folder without any is an error: replaying nothing must not look like a pass.
fn trace_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let metadata = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| e.to_string())? {
        let file = entry.map_err(|e| e.to_string())?.path();
        if file.extension().is_some_and(|e| e == "jsonl") && file.is_file() {
            files.push(file);
        }
    }
    if files.is_empty() {
        return Err("no .jsonl trace files in this folder".into());
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = concat!(
        r#"{"trace":"mini","seed":null,"zookeeper":"3.8.0","format":1,"steps":2}"#,
        "\n",
        r#"{"step":1,"op":"open_session","expect":{"ok":1},"zxid":1,"events":[]}"#,
        "\n",
        r#"{"step":2,"op":"delete","session":1,"path":"/","version":-1,"expect":{"err":"BadArguments"},"zxid":2,"events":[]}"#,
        "\n"
    );

    /// A scratch folder of its own for each test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("zksim-conformance-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn run(paths: &[&Path]) -> Outcome {
        main(Args {
            paths: paths.iter().map(|p| p.to_path_buf()).collect(),
        })
        .unwrap()
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        let dir = scratch("codes");
        let good = dir.join("good.jsonl");
        std::fs::write(&good, TRACE).unwrap();
        let wrong = dir.join("wrong.jsonl");
        std::fs::write(&wrong, TRACE.replace("BadArguments", "NoNode")).unwrap();
        let malformed = dir.join("malformed.jsonl");
        std::fs::write(&malformed, TRACE.replace(r#""version":-1,"#, "")).unwrap();
        let empty = scratch("codes-empty");

        assert_eq!(run(&[&good]), Outcome::Pass);
        assert_eq!(run(&[&good, &wrong]), Outcome::Fail);
        assert_eq!(run(&[&good, &malformed]), Outcome::BadInput);
        assert_eq!(run(&[&dir]), Outcome::BadInput);
        assert_eq!(run(&[&dir.join("missing.jsonl")]), Outcome::BadInput);
        assert_eq!(run(&[&empty]), Outcome::BadInput);
        std::fs::remove_file(&malformed).unwrap();
        assert_eq!(trace_files(&dir).unwrap(), vec![good, wrong]);
        assert_eq!(run(&[&dir]), Outcome::Fail);
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn the_shipped_traces_pass() {
        let traces = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/traces");
        if !traces.is_dir() {
            println!("SKIPPED: {} is absent", traces.display());
            return;
        }
        assert_eq!(run(&[&traces]), Outcome::Pass);
    }
}
