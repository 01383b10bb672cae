//! What a run reports, as a user reads it: the `results.json` of `zksim run` and the summary it
//! prints. Each word means one thing: an operation answered with a ZooKeeper error is an "error
//! reply", never a "fail" (which is the history's "did not take effect"); the verdict is one word
//! of one type; counts are integers and times carry their unit; a failing check says when.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A finished `zksim run`: its results.json, its history lines and what it printed.
struct Ran {
    results: Value,
    history: Vec<Value>,
    stdout: String,
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.json"))
}

/// Runs `zksim run SCENARIO --seed SEED [extra...]` into a fresh store folder.
fn zksim_run(test: &str, scenario: &Path, seed: u64, extra: &[&str]) -> Ran {
    let out = std::env::temp_dir().join(format!("zksim-run-report-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_zksim"))
        .arg("run")
        .arg(scenario)
        .args(["--seed", &seed.to_string(), "--no-plots", "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .expect("the zksim binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        matches!(output.status.code(), Some(0 | 1 | 3)),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |file: &str| std::fs::read_to_string(out.join(file)).unwrap();
    let results = serde_json::from_str(&read("results.json")).unwrap();
    let history = read("history.jsonl")
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    std::fs::remove_dir_all(&out).ok();
    Ran {
        results,
        history,
        stdout,
    }
}

/// History completions of client operations of type `kind`, split by whether the answer is a
/// ZooKeeper error.
fn completions(history: &[Value], kind: &str, error: Option<bool>) -> u64 {
    history
        .iter()
        .filter(|l| l["type"] == kind && l["process"].as_u64().unwrap() < 1 << 32)
        .filter(|l| error.is_none_or(|e| l["value"].get("err").is_some() == e))
        .count() as u64
}

#[test]
fn error_replies_are_named_apart_from_fail_and_info() {
    let ran = zksim_run("error-replies", &scenario("leader-crash-3"), 1, &[]);
    let ops = &ran.results["ops"];
    let ok = completions(&ran.history, "ok", Some(false));
    let error_reply = completions(&ran.history, "ok", Some(true));
    let fail = completions(&ran.history, "fail", None);
    let info = completions(&ran.history, "info", None);
    assert!(
        error_reply > 100,
        "the workload meets NoNode and BadVersion"
    );
    assert_eq!(ops["ok"], ok, "{ops}");
    assert_eq!(ops["error_reply"], error_reply, "{ops}");
    assert_eq!(ops["fail"], fail, "{ops}");
    assert_eq!(ops["info"], info, "{ops}");

    // The latency figures rank every answered operation and count nothing under another name.
    let by_type = ran.results["ops_by_type"].as_object().unwrap();
    for (op, latency) in ran.results["metrics"]["latency"].as_object().unwrap() {
        let counts = &by_type[op];
        let answered = ["ok", "error_reply", "fail"]
            .iter()
            .map(|k| counts[k].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(latency["answered_count"], answered, "{op}: {latency}");
        assert!(latency.get("fail_count").is_none(), "{op}: {latency}");
    }

    // The summary uses the same words, with the same numbers.
    let line = format!("{ok} ok, {error_reply} error reply, {fail} fail, {info} info");
    assert!(ran.stdout.contains(&line), "{line:?} in\n{}", ran.stdout);
}

/// A copy of `name` whose run stops at the event limit after its liveness window but before its
/// planned end (leader-crash-3 seed 1 needs 29,593 events).
fn event_limited(name: &str) -> PathBuf {
    let mut s: Value =
        serde_json::from_str(&std::fs::read_to_string(scenario(name)).unwrap()).unwrap();
    s["limits"] = serde_json::json!({ "max_events": 27000 });
    let path = std::env::temp_dir().join(format!(
        "zksim-run-report-{}-event-limited.json",
        std::process::id()
    ));
    std::fs::write(&path, s.to_string()).unwrap();
    path
}

#[test]
fn the_verdict_is_one_word_and_the_run_end_says_what_happened() {
    let pass = zksim_run("pass", &scenario("leader-crash-3"), 1, &[]);
    let fail = zksim_run(
        "fail",
        &scenario("isolate-leader-3"),
        0,
        &["--variant", "sync-no-trunc"],
    );
    let limited = event_limited("leader-crash-3");
    let unknown = zksim_run("unknown", &limited, 1, &[]);
    std::fs::remove_file(limited).ok();
    for (ran, verdict, run_end) in [
        (&pass, "pass", "planned-end"),
        (&fail, "fail", "planned-end"),
        (&unknown, "unknown", "event-limit"),
    ] {
        assert_eq!(ran.results["verdict"], verdict, "{}", ran.stdout);
        assert!(ran.results.get("valid").is_none());
        assert_eq!(ran.results["run_end"], run_end);
        assert!(
            ran.stdout.contains(&format!("\nverdict: {verdict}\n")),
            "{}",
            ran.stdout
        );
        for check in ran.results["checks"].as_array().unwrap() {
            let v = check["verdict"].as_str().unwrap();
            assert!(["pass", "fail", "unknown"].contains(&v), "{check}");
        }
    }
    assert!(unknown.stdout.contains("event limit"), "{}", unknown.stdout);
}

/// Every number in `value` with a fraction, with where it is.
fn fractions(value: &Value, at: &str, found: &mut Vec<(String, f64)>) {
    match value {
        Value::Number(n) if !n.is_u64() && !n.is_i64() => {
            found.push((at.into(), n.as_f64().unwrap()))
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| fractions(v, &format!("{at}[{i}]"), found)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, v)| fractions(v, &format!("{at}.{k}"), found)),
        _ => {}
    }
}

#[test]
fn counts_are_integers_and_times_are_rounded_with_their_unit() {
    let ran = zksim_run("numbers", &scenario("leader-crash-3"), 1, &[]);
    let metrics = ran.results["protocol_metrics"].as_object().unwrap();
    assert!(metrics["election_count"].as_u64().unwrap() >= 4);
    for (name, value) in metrics {
        if name.ends_with("_count") {
            assert!(value.is_u64(), "{name}: {value}");
        } else {
            assert!(name.contains("_ms"), "{name} names no unit");
        }
    }
    assert!(ran.results["wall_time_ms"].is_u64());
    let mut found = Vec::new();
    fractions(&ran.results, "results", &mut found);
    for (at, x) in found {
        assert_eq!(
            (x * 1000.0).round() / 1000.0,
            x,
            "{at} is not rounded to three decimals"
        );
    }
}

#[test]
fn a_failing_check_says_when_it_failed() {
    let ran = zksim_run(
        "when",
        &scenario("isolate-leader-3"),
        0,
        &["--variant", "sync-no-trunc"],
    );
    let checks = ran.results["checks"].as_array().unwrap();
    let failed = checks
        .iter()
        .find(|c| c["name"] == "prefix-agreement")
        .unwrap();
    assert_eq!(failed["verdict"], "fail");
    // n1 applied zxid 0x300000001 after a different history at 6069.651 ms (the detail says so).
    assert_eq!(failed["at_ms"], 6069.651, "{failed}");
    assert!(
        ran.stdout
            .contains("check prefix-agreement: fail at 6069.651 ms"),
        "{}",
        ran.stdout
    );
    for passed in checks.iter().filter(|c| c["verdict"] == "pass") {
        assert!(passed.get("at_ms").is_none(), "{passed}");
    }
}
