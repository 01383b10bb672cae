//! `zksim compare` and `zksim run --variant`: configurations side by side on the same seeds.

use std::process::Command;

fn zksim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zksim"))
}

#[test]
fn compare_writes_a_summary_per_configuration() {
    let out = std::env::temp_dir().join(format!("zksim-compare-{}", std::process::id()));
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/reference-calm.json");
    let status = zksim()
        .args([
            "compare", scenario, scenario, "--seeds", "0..2", "--jobs", "2", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        stdout.contains("configuration") && stdout.contains("reference-calm"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    let summaries = json.as_array().unwrap();
    assert_eq!(summaries.len(), 2);
    for s in summaries {
        assert_eq!(s["seeds"], 2);
        assert_eq!(s["pass"], 2);
        assert!(s["write_latency_ms"]["count"].as_u64().unwrap() > 0);
    }
    // The same seeds and scenario give the same figures.
    assert_eq!(
        summaries[0]["throughput_ops_per_s"],
        summaries[1]["throughput_ops_per_s"]
    );
    assert!(out.join("throughput.png").exists());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn an_unknown_variant_is_bad_input() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/calm-3.json");
    let run = zksim()
        .args(["run", scenario, "--variant", "no-such-variant"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown variant"));
    let compare = zksim()
        .args(["compare", scenario, "--variants", "correct,nope"])
        .output()
        .unwrap();
    assert_eq!(compare.status.code(), Some(2));
}

#[test]
fn compare_and_bench_run_the_protocol_asked_for_and_record_it() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/reference-calm.json");
    let out = std::env::temp_dir().join(format!("zksim-compare-protocol-{}", std::process::id()));
    let json = out.join("sweeps.json");
    std::fs::create_dir_all(&out).unwrap();
    let compare = zksim()
        .args([
            "compare",
            scenario,
            "--protocol",
            "reference,zab",
            "--seeds",
            "0..1",
            "--jobs",
            "1",
            "--out",
        ])
        .arg(&out)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        compare.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&compare.stderr)
    );
    let summaries: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    let ran: Vec<(&str, &str, &str)> = summaries
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["protocol"].as_str().unwrap(),
                s["variant"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ran,
        [
            ("reference-calm [reference]", "reference", "standalone"),
            ("reference-calm [zab]", "zab", "correct"),
        ]
    );
    let sweeps: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let zab = &sweeps["sweeps"][1];
    assert_eq!(zab["protocol"], "zab");
    assert_eq!(zab["protocol_override"], "zab");
    let replay = zab["runs"][0]["replay"].as_str().unwrap();
    assert!(replay.contains("--protocol zab"), "{replay}");
    std::fs::remove_dir_all(&out).ok();

    let unknown = zksim()
        .args(["compare", scenario, "--protocol", "nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("reference") && stderr.contains("zab") && stderr.contains("raft"),
        "{stderr}"
    );

    let bench = zksim()
        .args([
            "bench",
            "scenario",
            scenario,
            "--protocol",
            "zab",
            "--seeds",
            "0..1",
            "--jobs",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        bench.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    let stdout = String::from_utf8_lossy(&bench.stdout);
    assert!(stdout.contains("[zab correct]"), "{stdout}");
    assert!(stdout.contains("0 of 1 seeds did not pass"), "{stdout}");
    let unknown = zksim()
        .args(["bench", "scenario", scenario, "--protocol", "nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("reference") && stderr.contains("zab") && stderr.contains("raft"),
        "{stderr}"
    );
}
