//! `zksim run`, `compare` and `bench` as a user runs them: the built binary, what it prints, what it
//! writes and its exit codes. Every replay command a sweep prints is run, and its trace hash
//! compared with the sweep's.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn zksim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zksim"))
}

fn run(args: &[&str]) -> Output {
    zksim().args(args).output().expect("the zksim binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder for one test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zksim-run-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.json"))
        .display()
        .to_string()
}

/// A short calm scenario written into `dir`, with `extra` fields spliced into its top level.
fn small_scenario(dir: &Path, extra: &str) -> String {
    let path = dir.join("small.json");
    std::fs::write(
        &path,
        format!(
            r#"{{ "name": "small", {extra}
  "cluster": {{ "replicas": 3, "protocol": "zab" }},
  "workload": {{ "clients": 2, "duration_ms": 3000 }},
  "checks": {{ "liveness_ms": 2000 }} }}"#
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// The value of the line `trace <hash>` a single run prints last.
fn trace_hash(out: &Output) -> String {
    text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("trace "))
        .unwrap_or_else(|| panic!("no trace line in {}", text(&out.stdout)))
        .to_string()
}

#[test]
fn a_closed_pipe_ends_the_command_quietly_after_its_results_are_written() {
    let dir = temp_dir("pipe");
    let out_dir = dir.join("store");
    let mut child = zksim()
        .args(["run", &scenario("calm-3"), "--seed", "1", "--no-plots"])
        .arg("--out")
        .arg(&out_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the run (a tenth of a second at least) prints anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    assert!(out_dir.join("results.json").is_file());
}

#[test]
fn a_seed_range_of_any_length_streams() {
    let dir = temp_dir("huge-range");
    for range in ["0..18446744073709551615", "0..99999999999"] {
        let mut child = zksim()
            .args(["run", &scenario("calm-3"), "--seeds", range])
            .args(["--jobs", "1", "--no-plots", "--out"])
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The sweep has started: nothing was allocated per seed up front.
        assert!(
            first.starts_with("calm-3 (zab correct), seeds 0.."),
            "{first:?}"
        );
        assert!(child.try_wait().unwrap().is_none(), "still running");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn numbers_beyond_their_limits_are_refused() {
    let calm = scenario("calm-3");
    let out = run(&["run", &calm, "--seeds", "0..2", "--jobs", "1000000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("from 1 to 1024"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["check", "--timeout", "18446744073709551615", &calm]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--timeout"),
        "{}",
        text(&out.stderr)
    );
    for diagram in [
        &["--diagram", "0"][..],
        &["--diagram", "101"],
        &["--diagram", "5", "--no-plots"],
        &["--diagram", "5", "--diagram-from", "1e9"],
    ] {
        let out = run(&[&["run", calm.as_str(), "--seed", "1"][..], diagram].concat());
        assert_eq!(out.status.code(), Some(2), "{diagram:?}");
    }
}

/// A sweep of a buggy variant: the header names the variant, and every replay command it prints
/// replays its seed bit for bit (the trace hash in the seed's store folder).
#[test]
fn every_replay_command_a_sweep_prints_replays_its_seed() {
    let dir = temp_dir("replay");
    let out = run(&[
        "run",
        &scenario("calm-3"),
        "--variant",
        "local-session-expiry",
        "--seeds",
        "0..2",
        "--no-plots",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("calm-3 (zab local-session-expiry), seeds 0..2"),
        "{stdout}"
    );
    let replays: Vec<(u64, Vec<String>)> = stdout
        .lines()
        .filter(|l| l.starts_with("seed "))
        .map(|l| {
            let seed = l.split_whitespace().nth(1).unwrap().parse().unwrap();
            let command = &l[l.find("): ").unwrap() + 3..];
            (seed, shlex::split(command).unwrap())
        })
        .collect();
    assert_eq!(replays.len(), 2, "{stdout}");
    for (seed, command) in replays {
        assert_eq!(command[0], "zksim");
        assert!(command.contains(&"--variant".to_string()), "{command:?}");
        let replayed = zksim().args(&command[1..]).output().unwrap();
        assert_eq!(replayed.status.code(), Some(1));
        let results: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("seed-{seed}/results.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(trace_hash(&replayed), results["trace_hash"], "seed {seed}");
        assert_eq!(
            results["replay"].as_str().unwrap(),
            shlex::try_join(command.iter().map(String::as_str)).unwrap()
        );
    }
}

#[test]
fn the_store_folder_holds_the_whole_scenario_as_run_and_it_replays_the_run() {
    let dir = temp_dir("resolved");
    let out = run(&[
        "run",
        &scenario("leader-crash-3"),
        "--seed",
        "3",
        "--no-plots",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("scenario.json")).unwrap()).unwrap();
    assert_eq!(written["seed"], 3);
    assert_eq!(written["cluster"]["variant"], "correct");
    assert_eq!(written["cluster"]["settings"]["tick_ms"], 200);
    assert!(written["network"]["client_latency"].is_object());
    assert_eq!(written["checks"]["linearizable"], false);
    assert_eq!(written["faults"]["max_down"], 1);
    // The file alone (its seed included) replays the run.
    let again = run(&[
        "run",
        dir.join("scenario.json").to_str().unwrap(),
        "--no-plots",
        "--out",
        dir.join("again").to_str().unwrap(),
    ]);
    assert_eq!(trace_hash(&again), trace_hash(&out));
}

#[test]
fn store_folders_are_per_variant_and_hold_nothing_stale() {
    let dir = temp_dir("store");
    let calm = scenario("calm-3");
    let in_dir = |args: &[&str]| zksim().current_dir(&dir).args(args).output().unwrap();
    in_dir(&["run", &calm, "--seed", "1", "--trace", "--no-plots"]);
    let folder = dir.join("store/calm-3/zab-correct/seed-1");
    assert!(folder.join("trace.txt").is_file());
    in_dir(&["run", &calm, "--seed", "1", "--no-plots"]);
    assert!(
        !folder.join("trace.txt").exists(),
        "the earlier run's trace is gone"
    );
    assert!(folder.join("results.json").is_file());
    in_dir(&[
        "run",
        &calm,
        "--seed",
        "1",
        "--no-plots",
        "--variant",
        "sync-through-quorum",
    ]);
    assert!(
        dir.join("store/calm-3/zab-sync-through-quorum/seed-1/results.json")
            .is_file()
    );
    // A sweep removes the folder an earlier sweep left for a seed it no longer keeps.
    in_dir(&["run", &calm, "--seeds", "0..2", "--keep-all", "--no-plots"]);
    let seed0 = dir.join("store/calm-3/zab-correct/seed-0");
    assert!(seed0.join("results.json").is_file());
    in_dir(&["run", &calm, "--seeds", "0..2", "--no-plots"]);
    assert!(!seed0.exists());
}

#[test]
fn a_sweep_with_check_determinism_gives_its_verdict() {
    let out = run(&[
        "run",
        &scenario("calm-3"),
        "--seeds",
        "0..2",
        "--check-determinism",
        "--no-plots",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout)
            .contains("determinism: every seed ran twice with identical traces (2 seeds)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_run_cut_short_by_its_event_limit_is_unknown_not_a_liveness_failure() {
    let dir = temp_dir("event-limit");
    let path = small_scenario(&dir, r#""limits": { "max_events": 2000 },"#);
    let out = run(&["run", &path, "--no-plots", "--out", dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("check run-limits: unknown"), "{stdout}");
    assert!(!stdout.contains("check liveness"), "{stdout}");
}

#[test]
fn a_run_cut_short_by_its_operation_limit_is_unknown() {
    let dir = temp_dir("op-limit");
    let path = small_scenario(&dir, r#""limits": { "max_ops": 50 },"#);
    let out = run(&["run", &path, "--no-plots", "--out", dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("operations, the limit (limits.max_ops)"),
        "{stdout}"
    );
}

#[test]
fn a_run_that_makes_no_progress_fails_even_without_faults() {
    let dir = temp_dir("no-progress");
    // Clients reach the servers only after a minute: nothing can complete in a 3-second run.
    let path = small_scenario(
        &dir,
        r#""network": { "client_latency": { "dist": "constant", "ms": 60000 } },"#,
    );
    let out = run(&["run", &path, "--no-plots", "--out", dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("check liveness: fail from 0.000 ms to 2000.000 ms — 2 of 2 clients completed no operation"),
        "{stdout}"
    );
}

#[test]
fn compare_exits_by_the_contract() {
    let dir = temp_dir("compare");
    let out_dir = dir.to_str().unwrap();
    let calm = scenario("calm-3");
    let out = run(&["compare", &calm, "--seeds", "0..1", "--out", out_dir]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = run(&[
        "compare",
        &calm,
        "--variants",
        "correct,local-session-expiry",
        "--seeds",
        "0..1",
        "--out",
        out_dir,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}

#[test]
fn bench_takes_a_seed_range_as_run_does() {
    let out = run(&["bench", "scenario", &scenario("calm-3"), "--seeds", "5..7"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 seeds"),
        "{}",
        text(&out.stdout)
    );
}

/// A sweep sharded three ways and merged is the unsharded sweep, seed for seed and byte for byte
/// (verdicts, trace hashes, failing checks, replay commands), in JSON and in JUnit; a merge with a
/// shard missing or given twice is refused.
#[test]
fn the_merge_of_a_sweeps_shards_is_the_unsharded_sweep() {
    let dir = temp_dir("shards");
    let calm = scenario("calm-3");
    let base = [
        "run",
        calm.as_str(),
        "--variant",
        "local-session-expiry",
        "--seeds",
        "0..7",
        "--no-plots",
    ];
    let file = |name: &str| dir.join(name).display().to_string();
    let whole = run(&[
        &base[..],
        &[
            "--out",
            &file("whole"),
            "--json",
            &file("whole.json"),
            "--junit",
            &file("whole.xml"),
        ],
    ]
    .concat());
    assert_eq!(whole.status.code(), Some(1));
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let out = run(&[
            &base[..],
            &[
                "--shard",
                &shard,
                "--out",
                &file(&format!("s{k}")),
                "--json",
                &file(&format!("s{k}.json")),
            ],
        ]
        .concat());
        assert!(
            text(&out.stdout).contains(&format!("shard {k}/3")),
            "{}",
            text(&out.stdout)
        );
    }
    let merged = run(&[
        "merge",
        &file("s3.json"),
        &file("s1.json"),
        &file("s2.json"),
        "--json",
        &file("merged.json"),
        "--junit",
        &file("merged.xml"),
    ]);
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged.stderr));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert_eq!(read("merged.json"), read("whole.json"));
    assert_eq!(read("merged.xml"), read("whole.xml"));
    let summary: serde_json::Value = serde_json::from_str(&read("whole.json")).unwrap();
    let runs = summary["sweeps"][0]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 7);
    assert!(
        runs.iter()
            .all(|r| r["trace_hash"].is_string() && r["replay"].is_string())
    );
    assert!(read("whole.xml").contains("--variant local-session-expiry"));
    let missing = run(&["merge", &file("s1.json"), &file("s2.json")]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("missing shards 3/3"),
        "{}",
        text(&missing.stderr)
    );
    let twice = run(&[
        "merge",
        &file("s1.json"),
        &file("s1.json"),
        &file("s2.json"),
        &file("s3.json"),
    ]);
    assert_eq!(twice.status.code(), Some(2));
    std::fs::write(dir.join("garbage.json"), "hello").unwrap();
    let garbage = run(&["merge", &file("garbage.json")]);
    assert_eq!(garbage.status.code(), Some(2));
    assert!(
        text(&garbage.stderr).contains("garbage.json: line 1"),
        "{}",
        text(&garbage.stderr)
    );
}

/// A buggy variant's failure shrinks to a much smaller scenario that fails the same check (five
/// replicas to three, the isolated leader renumbered with them), and the printed replay command
/// replays the shrunk run bit for bit.
#[test]
fn a_failure_shrinks_and_the_shrunk_scenario_replays_it() {
    let dir = temp_dir("shrink");
    let out_file = dir.join("shrunk.json");
    let out = run(&[
        "shrink",
        &scenario("isolate-leader-5"),
        "--seed",
        "0",
        "--variant",
        "sync-no-trunc",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("(fails prefix-agreement)"), "{stdout}");
    assert!(stdout.contains("5 clients → 1"), "{stdout}");
    assert!(stdout.contains("5 replicas → 3"), "{stdout}");
    let shrunk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(shrunk["cluster"]["variant"], "sync-no-trunc");
    assert_eq!(
        shrunk["faults"]["scripted"].as_array().unwrap().len(),
        2,
        "one isolate and its heal"
    );
    let replay = stdout
        .lines()
        .find_map(|l| l.strip_prefix("replay: "))
        .unwrap();
    let command = shlex::split(replay).unwrap();
    let replayed = zksim()
        .args(&command[1..])
        .args([
            "--no-plots",
            "--out",
            dir.join("replayed").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(replayed.status.code(), Some(1));
    assert_eq!(trace_hash(&replayed), trace_hash(&out));
    assert!(text(&replayed.stdout).contains("check prefix-agreement: fail"));
}

/// A swarm draws a scenario per seed: its replay command and the scenario.json it wrote both
/// replay the run bit for bit.
#[test]
fn a_swarm_seed_replays_from_its_command_and_from_its_scenario_file() {
    let dir = temp_dir("swarm");
    let out = run(&[
        "run",
        "--swarm",
        "--seeds",
        "0..3",
        "--keep-all",
        "--no-plots",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        text(&out.stdout).starts_with("swarm (zab correct), seeds 0..3"),
        "{}",
        text(&out.stdout)
    );
    for seed in 0..3 {
        let folder = dir.join(format!("seed-{seed}"));
        let results: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(
            results["replay"],
            format!("zksim run --swarm --seed {seed}")
        );
        let by_command = run(&[
            "run",
            "--swarm",
            "--seed",
            &seed.to_string(),
            "--no-plots",
            "--out",
            dir.join(format!("again-{seed}")).to_str().unwrap(),
        ]);
        assert_eq!(trace_hash(&by_command), results["trace_hash"]);
        let by_file = run(&[
            "run",
            folder.join("scenario.json").to_str().unwrap(),
            "--no-plots",
            "--out",
            dir.join(format!("file-{seed}")).to_str().unwrap(),
        ]);
        assert_eq!(trace_hash(&by_file), results["trace_hash"]);
    }
}

/// `--protocol` runs a scenario under another protocol, as `--variant` runs another variant: the
/// store records the protocol and variant actually run, and the replay command names the
/// override. An unknown protocol, or one that cannot run the cluster, is exit 2 naming why.
#[test]
fn protocol_overrides_the_scenarios_and_is_recorded() {
    let dir = temp_dir("protocol");
    let out = run(&[
        "run",
        &scenario("reference-calm"),
        "--protocol",
        "zab",
        "--seed",
        "1",
        "--no-plots",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["protocol"], "zab");
    assert_eq!(results["variant"], "correct");
    assert!(
        results["replay"]
            .as_str()
            .unwrap()
            .contains("--protocol zab"),
        "{}",
        results["replay"]
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("scenario.json")).unwrap()).unwrap();
    assert_eq!(written["cluster"]["protocol"], "zab");

    let unknown = run(&["run", &scenario("calm-3"), "--protocol", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    let stderr = text(&unknown.stderr);
    assert!(
        stderr.contains("reference") && stderr.contains("zab") && stderr.contains("raft"),
        "{stderr}"
    );
    let swarm = run(&["run", "--swarm", "--seeds", "0..1", "--protocol", "nope"]);
    assert_eq!(swarm.status.code(), Some(2), "{}", text(&swarm.stderr));
    assert!(
        text(&swarm.stderr)
            .contains("expected one of [\"reference\", \"zab\", \"raft\", \"paxos\"]"),
        "{}",
        text(&swarm.stderr)
    );
    let shrink = run(&[
        "shrink",
        &scenario("calm-3"),
        "--seed",
        "0",
        "--protocol",
        "nope",
    ]);
    assert_eq!(shrink.status.code(), Some(2), "{}", text(&shrink.stderr));
    let too_many = run(&["run", &scenario("calm-3"), "--protocol", "reference"]);
    assert_eq!(too_many.status.code(), Some(2));
    assert!(
        text(&too_many.stderr).contains("one unreplicated server"),
        "{}",
        text(&too_many.stderr)
    );
}
