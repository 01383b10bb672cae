//! Every public history in `../shared/histories/manifest.json` gets the verdict its source asserts,
//! read in its own format with its own semantics (see `../shared/histories/README.md`). The files
//! are read where they are, never copied; without `../shared` the test says so and checks nothing.

use sim::check::formats::{self, Format};
use sim::check::models::{self, ModelKind};
use sim::check::{Budget, Verdict};
use std::path::PathBuf;
use std::time::Duration;

fn shared_histories() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/histories");
    dir.join("manifest.json").is_file().then_some(dir)
}

#[test]
fn every_manifest_history_gets_its_verdict() {
    let Some(dir) = shared_histories() else {
        println!(
            "SKIPPED: ../shared/histories is absent; the 230 public histories were not checked"
        );
        return;
    };
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), 230, "the manifest lists 230 histories");
    let budget = Budget {
        timeout: Some(Duration::from_secs(300)),
        ..Budget::default()
    };
    let mut wrong = Vec::new();
    for entry in files {
        let path = entry["path"].as_str().unwrap();
        let text = std::fs::read_to_string(dir.join(path)).unwrap();
        let format: Format = entry["format"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            Format::detect(&text),
            Some(format),
            "{path}: detected format"
        );
        let raw = formats::read(&text, None).unwrap_or_else(|e| panic!("{path}: {e}"));
        let kind = ModelKind::of_history(&raw).unwrap();
        assert_eq!(
            kind.name(),
            entry["model"].as_str().unwrap(),
            "{path}: inferred model"
        );
        let initial = &entry["initial_state"];
        let result = models::check_history(&raw, kind, Some(initial), &budget)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let expected = entry["linearizable"].as_bool().unwrap();
        let got = match &result.verdict {
            Verdict::Linearizable => Some(true),
            Verdict::Violation(cx) => {
                // The counterexample names operations of the failing part, and serializes.
                assert!(!cx.core.is_empty(), "{path}: empty core");
                assert!(
                    cx.part < cx.parts && cx.longest.len() < cx.part_operations,
                    "{path}"
                );
                assert!(
                    cx.stuck.iter().any(|s| s.op == cx.blocking),
                    "{path}: blocking op not stuck"
                );
                serde_json::to_string(&result).unwrap();
                Some(false)
            }
            Verdict::Unknown(_) => None,
        };
        if got != Some(expected) {
            wrong.push(format!(
                "{path}: expected linearizable={expected}, got {}",
                result.verdict.name()
            ));
        }
    }
    println!(
        "{}/{} verdicts as the manifest lists them",
        files.len() - wrong.len(),
        files.len()
    );
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

#[test]
fn the_same_history_gets_the_same_result_every_time() {
    let Some(dir) = shared_histories() else {
        println!("SKIPPED: ../shared/histories is absent");
        return;
    };
    // Histories split into parts searched in parallel, and one with indeterminate operations.
    for path in [
        "porcupine/kv/c10-bad.txt",
        "porcupine/kv/c01-bad.txt",
        "porcupine/jepsen/etcd_001.log",
    ] {
        let text = std::fs::read_to_string(dir.join(path)).unwrap();
        let raw = formats::read(&text, None).unwrap();
        let kind = ModelKind::of_history(&raw).unwrap();
        let run = || models::check_history(&raw, kind, None, &Budget::default()).unwrap();
        let first = run();
        assert_eq!(first.verdict.name(), "violation", "{path}");
        for _ in 0..3 {
            assert_eq!(run(), first, "{path}: a second check differs");
        }
    }
}
