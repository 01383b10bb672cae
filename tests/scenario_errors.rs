//! Every kind of bad scenario gets its documented error: the file, the line and column, the field's
//! path and what was expected (docs/scenario-format.md, "Errors") — and `zksim run` exits with 2.

use std::path::Path;
use std::process::Command;
use zksim::runner::PROTOCOLS;
use zksim::scenario::{Scenario, ScenarioError};

const GOOD: &str = r#"{
  "name": "x",
  "cluster": { "replicas": 3, "protocol": "zab" },
  "workload": { "clients": 2, "duration_ms": 20000 }
}"#;

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(text, Path::new("s.json"), PROTOCOLS)
}

/// Replaces the first occurrence of `from` in the good scenario.
fn with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

#[track_caller]
fn expect_error(text: &str, line: usize, field: &str, message: &str) {
    let e = parse(text).expect_err("must be rejected");
    assert_eq!(e.file, Path::new("s.json"));
    assert_eq!(e.position.map(|p| p.0), Some(line), "{e}");
    assert_eq!(e.field, field, "{e}");
    assert!(e.message.contains(message), "{e}");
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("s.json:{line}:")), "{shown}");
}

#[test]
fn the_good_scenario_parses() {
    let s = parse(GOOD).unwrap();
    assert_eq!(s.cluster.replicas, 3);
}

#[test]
fn malformed_json_names_the_line() {
    expect_error(&GOOD[..GOOD.len() - 2], 4, "", "EOF while parsing");
    expect_error(&format!("{GOOD} extra"), 5, "", "trailing characters");
}

#[test]
fn unknown_fields_are_rejected_with_their_path() {
    expect_error(
        &with(r#""clients": 2"#, r#""client": 2"#),
        4,
        "workload.client",
        "unknown field `client`",
    );
    expect_error(
        &with(r#""name": "x","#, r#""name": "x", "seeds": 3,"#),
        2,
        "seeds",
        "unknown field",
    );
}

#[test]
fn wrong_types_name_the_field_and_the_expected_type() {
    expect_error(
        &with(r#""replicas": 3"#, r#""replicas": "three""#),
        3,
        "cluster.replicas",
        "expected u32",
    );
    expect_error(
        &with(r#""clients": 2"#, r#""clients": -1"#),
        4,
        "workload.clients",
        "expected u32",
    );
}

#[test]
fn missing_fields_are_named() {
    expect_error(
        &with(r#""protocol": "zab" "#, r#""protocl": "zab" "#),
        3,
        "cluster.protocl",
        "unknown field",
    );
    let no_workload =
        "{\n  \"name\": \"x\",\n  \"cluster\": { \"replicas\": 3, \"protocol\": \"zab\" }\n}";
    expect_error(no_workload, 4, "", "missing field `workload`");
}

#[test]
fn impossible_values_name_the_field() {
    expect_error(
        &with(r#""replicas": 3"#, r#""replicas": 0"#),
        3,
        "cluster.replicas",
        "1 to 31 replicas",
    );
    expect_error(
        &with(r#""protocol": "zab""#, r#""protocol": "nope""#),
        3,
        "cluster.protocol",
        "unknown protocol",
    );
    expect_error(
        &with(
            r#""protocol": "zab""#,
            r#""protocol": "zab", "variant": "nope""#,
        ),
        3,
        "cluster.variant",
        "unknown variant",
    );
    expect_error(
        &with(
            r#""protocol": "zab""#,
            r#""protocol": "zab", "settings": {"tick_ms": "fast"}"#,
        ),
        3,
        "cluster.settings.tick_ms",
        "invalid type",
    );
    expect_error(
        &with(
            r#""cluster""#,
            r#""network": {"latency": {"dist": "uniform", "min_ms": 5, "max_ms": 1}}, "cluster""#,
        ),
        3,
        "network.latency.max_ms",
        "must be >= min_ms",
    );
    expect_error(
        &with(r#""cluster""#, r#""network": {"loss": "150%"}, "cluster""#),
        3,
        "network.loss",
        "at most 1",
    );
    expect_error(
        &with(
            r#""cluster""#,
            r#""network": {"latency": {"dist": "gamma"}}, "cluster""#,
        ),
        3,
        "network.latency.dist",
        "unknown variant `gamma`",
    );
    expect_error(
        &with(
            r#""duration_ms": 20000"#,
            r#""duration_ms": 20000, "think_ms": [5, 1]"#,
        ),
        4,
        "workload.think_ms",
        "min <= max",
    );
}

#[test]
fn impossible_faults_name_the_fault() {
    let faults = |f: &str| {
        with(
            r#""workload""#,
            &format!(r#""faults": {{ "window_ms": [0, 5000], "scripted": [{f}] }}, "workload""#),
        )
    };
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "crash", "node": 9}"#),
        4,
        "faults.scripted[0].node",
        "node 9 does not exist",
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "crash"}"#),
        4,
        "faults.scripted[0].node",
        "needs a node",
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "heal", "node": 1}"#),
        4,
        "faults.scripted[0].node",
        "not a field of a heal fault",
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "partition", "groups": [[0, 1], [1, 2]]}"#),
        4,
        "faults.scripted[0].groups[1][0]",
        "in two groups",
    );
    // Triggered crashes: the message kind is the protocol's, and nth counts from 1.
    expect_error(
        &faults(
            r#"{"at_ms": 10, "fault": "crash", "node": "random", "for_ms": 5, "after_send": "VOTE"}"#,
        ),
        4,
        "faults.scripted[0].after_send",
        "\"VOTE\" is not a message a zab replica sends",
    );
    expect_error(
        &faults(
            r#"{"at_ms": 10, "fault": "crash", "node": 1, "for_ms": 5, "after_send": "ACK", "nth": 0}"#,
        ),
        4,
        "faults.scripted[0].nth",
        "expected 1 or more",
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "crash", "node": 1, "for_ms": 5, "nth": 2}"#),
        4,
        "faults.scripted[0].nth",
        "nth needs after_send",
    );
    expect_error(
        &faults(
            r#"{"at_ms": 10, "fault": "crash", "node": 1, "for_ms": 5, "after_send": "ACK", "mid_handler": true}"#,
        ),
        4,
        "faults.scripted[0].mid_handler",
        "already stops its node mid-handler",
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "pause", "node": 1, "for_ms": 5, "after_send": "ACK"}"#),
        4,
        "faults.scripted[0].after_send",
        "not a field of a pause fault",
    );
    assert!(
        parse(&faults(
            r#"{"at_ms": 10, "fault": "crash", "node": "follower", "for_ms": 5, "after_send": "ACK", "nth": 2}"#
        ))
        .is_ok()
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "explode"}"#),
        4,
        "faults.scripted[0].fault",
        "unknown variant `explode`",
    );
    let late = with(
        r#""workload""#,
        r#""faults": { "window_ms": [0, 15000] }, "workload""#,
    );
    expect_error(
        &late,
        4,
        "faults.window_ms",
        "must end before the workload does",
    );
    let random = with(
        r#""workload""#,
        r#""faults": { "random": { "every_ms": [1, 2], "duration_ms": [1, 2], "kinds": { "crash": 1 } } }, "workload""#,
    );
    expect_error(
        &random,
        4,
        "faults.window_ms",
        "random faults need a window_ms",
    );
}

/// Names bound with `as`: bound once, by a fault that names a node, before any fault uses them;
/// a bound name undoes like an id (a restart of the name ends a crash of its role).
#[test]
fn names_bound_with_as_are_checked_where_they_are_used() {
    let faults = |f: &str| {
        with(
            r#""workload""#,
            &format!(r#""faults": {{ "max_down": 3, "scripted": [{f}] }}, "workload""#),
        )
    };
    let crash_x = r#"{"at_ms": 10, "fault": "crash", "node": "leader", "as": "x"}"#;
    assert!(
        parse(&faults(&format!(
            r#"{crash_x}, {{"at_ms": 20, "fault": "restart", "node": "x"}}"#
        )))
        .is_ok(),
        "a restart of the name undoes the crash"
    );
    expect_error(
        &faults(
            r#"{"at_ms": 10, "fault": "crash", "node": "leader", "for_ms": 5}, {"at_ms": 20, "fault": "restart", "node": "x"}"#,
        ),
        4,
        "faults.scripted[1].node",
        "unknown node \"x\"",
    );
    expect_error(
        &faults(&format!(
            r#"{{"at_ms": 5, "fault": "restart", "node": "x"}}, {crash_x}"#
        )),
        4,
        "faults.scripted[0].node",
        "an earlier fault",
    );
    expect_error(
        &faults(&format!(
            r#"{crash_x}, {{"at_ms": 20, "fault": "crash", "node": "follower", "as": "x", "for_ms": 5}}"#
        )),
        4,
        "faults.scripted[1].as",
        "already bound",
    );
    expect_error(
        &faults(
            r#"{"at_ms": 10, "fault": "crash", "node": "follower", "as": "leader", "for_ms": 5}"#,
        ),
        4,
        "faults.scripted[0].as",
        "is a role",
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "crash", "node": "follower", "as": "9x", "for_ms": 5}"#),
        4,
        "faults.scripted[0].as",
        "cannot be a name",
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "restart", "node": 1, "as": "x"}"#),
        4,
        "faults.scripted[0].as",
        "not a field of a restart fault",
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "clog", "from": 0, "to": 1, "as": "x", "for_ms": 5}"#),
        4,
        "faults.scripted[0].as",
        "give the fault a node",
    );
    expect_error(
        &faults(r#"{"at_ms": 10, "fault": "crash", "node": "follower", "as": "x"}"#),
        4,
        "faults.scripted[0]",
        "never undone",
    );
}

#[test]
fn the_command_exits_2_and_names_the_file() {
    let dir = std::env::temp_dir().join(format!("zksim-bad-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(&path, with(r#""replicas": 3"#, r#""replicas": "three""#)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zksim"))
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.json:3:") && stderr.contains("cluster.replicas"),
        "{stderr}"
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_zksim"))
        .args(["run", "no-such-file.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("no-such-file.json: cannot read the file")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn names_that_cannot_name_a_store_folder_are_refused() {
    expect_error(
        &with(r#""name": "x""#, r#""name": "../../x""#),
        2,
        "name",
        "cannot name a folder inside store/",
    );
    expect_error(
        &with(
            r#""name": "x""#,
            &format!(r#""name": "{}""#, "a".repeat(300)),
        ),
        2,
        "name",
        "at most 100 characters",
    );
    assert!(parse(&with(r#""name": "x""#, r#""name": "leader-crash_3.v2""#)).is_ok());
}

#[test]
fn a_protocol_runs_only_as_many_replicas_as_it_can() {
    let reference = with(r#""protocol": "zab""#, r#""protocol": "reference""#);
    expect_error(
        &reference,
        3,
        "cluster.replicas",
        "reference runs one unreplicated server: expected 1 replica, got 3",
    );
    assert!(parse(&reference.replacen(r#""replicas": 3"#, r#""replicas": 1"#, 1)).is_ok());
}

#[test]
fn numbers_too_large_or_too_small_to_serve_are_refused_with_the_limit() {
    expect_error(
        &with(r#""clients": 2"#, r#""clients": 10000"#),
        4,
        "workload.clients",
        "at most 1000 clients",
    );
    expect_error(
        &with(r#""duration_ms": 20000"#, r#""duration_ms": 1e13"#),
        4,
        "workload.duration_ms",
        "from 0 to 86400000",
    );
    // 1e-10 ms is 0 ns: a client would ping at one instant forever.
    expect_error(
        &with(
            r#""duration_ms": 20000"#,
            r#""duration_ms": 20000, "session_timeout_ms": 1e-10"#,
        ),
        4,
        "workload.session_timeout_ms",
        "at least 100 ms",
    );
    expect_error(
        &with(
            r#""cluster""#,
            r#""checks": {"timeout_s": 1e20}, "cluster""#,
        ),
        3,
        "checks.timeout_s",
        "at most 86400",
    );
    expect_error(
        &with(
            r#""cluster""#,
            r#""network": {"latency": {"dist": "constant", "ms": 1e300}}, "cluster""#,
        ),
        3,
        "network.latency.ms",
        "from 0 to 86400000",
    );
    expect_error(
        &with(
            r#""duration_ms": 20000"#,
            r#""duration_ms": 20000, "ops_per_client": 0"#,
        ),
        4,
        "workload.ops_per_client",
        "at least 1 operation",
    );
}

#[test]
fn weights_name_their_map_and_must_sum_within_range() {
    expect_error(
        &with(
            r#""duration_ms": 20000"#,
            r#""duration_ms": 20000, "mix": {"create": -1}"#,
        ),
        4,
        "workload.mix",
        "expected u32",
    );
    expect_error(
        &with(
            r#""duration_ms": 20000"#,
            r#""duration_ms": 20000, "mix": {"create": 4294967295, "delete": 1}"#,
        ),
        4,
        "workload.mix",
        "keep their sum at most",
    );
    let kinds = |k: &str| {
        with(
            r#""workload""#,
            &format!(
                r#""faults": {{ "window_ms": [0, 5000], "random": {{ "every_ms": [1, 2], "duration_ms": [1, 2], "kinds": {k} }} }}, "workload""#
            ),
        )
    };
    expect_error(
        &kinds(r#"{"crash": -1}"#),
        4,
        "faults.random.kinds",
        "expected u32",
    );
    expect_error(
        &kinds(r#"{"crash": 0}"#),
        4,
        "faults.random.kinds",
        "at least one fault kind",
    );
}

#[test]
fn impossible_worlds_are_refused_with_the_reason() {
    let faults = |window: &str, f: &str| {
        with(
            r#""workload""#,
            &format!(r#""faults": {{ {window} "scripted": [{f}] }}, "workload""#),
        )
    };
    let window = r#""window_ms": [0, 5000],"#;
    // Node 3 is the first client of a 3-replica cluster.
    expect_error(
        &faults(
            window,
            r#"{"at_ms": 10, "fault": "crash", "node": 3, "for_ms": 5}"#,
        ),
        4,
        "faults.scripted[0].node",
        "node 3 is a client",
    );
    assert!(
        parse(&faults(
            window,
            r#"{"at_ms": 10, "fault": "pause", "node": 3, "for_ms": 5}"#
        ))
        .is_ok(),
        "a client may pause"
    );
    expect_error(
        &faults(
            window,
            r#"{"at_ms": 10, "fault": "cut", "from": 1, "to": 1, "for_ms": 5}"#,
        ),
        4,
        "faults.scripted[0].to",
        "from a node to itself",
    );
    expect_error(
        &faults(
            window,
            r#"{"at_ms": 6000, "fault": "crash", "node": 1, "for_ms": 5}"#,
        ),
        4,
        "faults.scripted[0].at_ms",
        "after the fault window closes",
    );
    expect_error(
        &faults(
            "",
            r#"{"at_ms": 30000, "fault": "crash", "node": 1, "for_ms": 5}"#,
        ),
        4,
        "faults.scripted[0].at_ms",
        "after the run ends",
    );
    // Two of three replicas down at once is beyond the default budget (a minority)...
    let quorum = r#"{"at_ms": 10, "fault": "crash", "node": 0, "for_ms": 500}, {"at_ms": 20, "fault": "pause", "node": "leader", "for_ms": 5}"#;
    expect_error(
        &faults(window, quorum),
        4,
        "faults.scripted[1]",
        "set faults.max_down to 2",
    );
    // ...and allowed when the scenario says so.
    assert!(parse(&faults(&format!("{window} \"max_down\": 2,"), quorum)).is_ok());
    // A paused replica that crashes is up again once it restarts: not down until the window ends.
    assert!(
        parse(&faults(
            window,
            r#"{"at_ms": 10, "fault": "pause", "node": 0}, {"at_ms": 20, "fault": "crash", "node": 0}, {"at_ms": 30, "fault": "restart", "node": 0}, {"at_ms": 40, "fault": "pause", "node": 1, "for_ms": 5}"#
        ))
        .is_ok()
    );
    // Without a window, every fault must be undone for the liveness phase to begin.
    expect_error(
        &faults("", r#"{"at_ms": 10, "fault": "crash", "node": 1}"#),
        4,
        "faults.scripted[0]",
        "never undone",
    );
    assert!(
        parse(&faults(
            "",
            r#"{"at_ms": 10, "fault": "crash", "node": 1}, {"at_ms": 900, "fault": "restart", "node": 1}"#
        ))
        .is_ok()
    );
    expect_error(
        &faults(
            "",
            r#"{"at_ms": 10, "fault": "crash", "node": "leader"}, {"at_ms": 900, "fault": "restart", "node": "leader"}"#,
        ),
        4,
        "faults.scripted[0]",
        "a role names a node only when the fault fires",
    );
    expect_error(
        &faults(
            "",
            r#"{"at_ms": 10, "fault": "crash", "node": 1, "for_ms": 15000}"#,
        ),
        4,
        "faults.scripted",
        "after the last scripted fault is undone at 15010 ms",
    );
}

#[test]
fn deep_nesting_and_bytes_that_are_not_utf8_name_their_line() {
    let deep = format!("{}{}", "[".repeat(15_000), "]".repeat(15_000));
    let text = with(
        r#""protocol": "zab" }"#,
        &format!(r#""protocol": "zab", "settings": {deep} }}"#),
    );
    expect_error(&text, 3, "", "nested deeper than 127 levels");
    let path =
        std::env::temp_dir().join(format!("zksim-scenario-utf8-{}.json", std::process::id()));
    std::fs::write(&path, [GOOD.as_bytes(), b"\n\xff"].concat()).unwrap();
    let e = Scenario::load(&path, PROTOCOLS).unwrap_err();
    assert!(
        e.message
            .contains("not valid UTF-8 (line 6, byte 1 of the line)"),
        "{e}"
    );
    std::fs::remove_file(&path).unwrap();
}
