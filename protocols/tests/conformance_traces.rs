//! The conformance traces recorded from a real ZooKeeper 3.8.0 server, replayed against the znode
//! model, read directly from ../shared/conformance/traces (never copied into the project).

use protocols::znode::conformance::{self, Field};
use std::path::{Path, PathBuf};

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/traces")
}

/// The trace files in name order, or `None` (after saying so) when ../shared is absent.
fn trace_files() -> Option<Vec<PathBuf>> {
    let dir = traces_dir();
    if !dir.is_dir() {
        println!(
            "SKIPPED: {} is absent, so the conformance traces were not replayed",
            dir.display()
        );
        return None;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the traces folder is readable")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    Some(files)
}

#[test]
fn every_shipped_trace_replays_without_mismatch() {
    let Some(files) = trace_files() else { return };
    // 45 traces were shipped; fewer means the folder is not the one this test was written for.
    assert!(files.len() >= 45, "only {} traces found", files.len());
    let mut failures = Vec::new();
    let mut steps = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable trace");
        let trace =
            conformance::parse_trace(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            Some(trace.header.trace.as_str()),
            file.file_stem().and_then(|s| s.to_str()),
            "a trace is named after its file"
        );
        steps += trace.steps.len();
        failures.extend(conformance::replay(&trace));
    }
    let report: Vec<String> = failures.iter().map(ToString::to_string).collect();
    assert!(
        report.is_empty(),
        "{} mismatches:\n{}",
        report.len(),
        report.join("\n")
    );
    println!("{} traces, {steps} steps, 0 mismatches", files.len());
}

/// Alters one recorded value in a real trace and expects exactly that step to be reported.
#[test]
fn an_altered_recorded_value_is_reported_at_its_step() {
    let Some(_) = trace_files() else { return };
    let text = std::fs::read_to_string(traces_dir().join("tour-multi.jsonl")).unwrap();
    // Step 14 sets /m twice in one multi; the second Stat has version 3.
    let lines: Vec<&str> = text.lines().collect();
    let cases = [
        (
            r#""version":3,"cversion":5"#,
            r#""version":4,"cversion":5"#,
            Field::Expect,
        ),
        (
            r#""zxid":11,"events""#,
            r#""zxid":12,"events""#,
            Field::Zxid,
        ),
        (
            r#""events":[{"session":1,"type":"changed""#,
            r#""events":[{"session":2,"type":"changed""#,
            Field::Events,
        ),
    ];
    for (from, to, field) in cases {
        let mut altered: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert!(altered[14].starts_with(r#"{"step":14,"#) && altered[14].contains(from));
        altered[14] = altered[14].replacen(from, to, 1);
        let trace = conformance::parse_trace(&altered.join("\n")).unwrap();
        let mismatches = conformance::replay(&trace);
        assert_eq!(mismatches.len(), 1, "{to}: {mismatches:#?}");
        let m = &mismatches[0];
        assert_eq!(
            (m.trace.as_str(), m.step, m.line, m.op, m.field),
            ("tour-multi", 14, 15, "multi", field)
        );
    }
}
