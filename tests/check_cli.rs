//! `zksim check` as a user runs it: the built binary, its output and its exit codes (0 valid,
//! 1 violation, 2 bad input, 3 unknown; the worst over all files).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Writes `text` to a fresh file under the system's temp folder and returns its path.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zksim-check-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn zksim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zksim"))
        .arg("check")
        .args(args)
        .output()
        .expect("the zksim binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const GOOD: &str = r#"{"format":"zksim-history","version":1,"model":"register","initial":0}
{"type":"invoke","process":0,"f":"write","value":1,"time":1}
{"type":"invoke","process":1,"f":"read","time":2}
{"type":"ok","process":0,"f":"write","time":3}
{"type":"ok","process":1,"f":"read","value":0,"time":4}
"#;

const BAD: &str = r#"{"format":"zksim-history","version":1,"model":"register","initial":0}
{"type":"invoke","process":0,"f":"write","value":1,"time":1}
{"type":"ok","process":0,"f":"write","time":2}
{"type":"invoke","process":1,"f":"read","time":3}
{"type":"ok","process":1,"f":"read","value":0,"time":4}
"#;

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn exit_codes_follow_the_worst_verdict() {
    let good = temp_file("good.jsonl", GOOD);
    let bad = temp_file("bad.jsonl", BAD);
    let broken = temp_file("broken.jsonl", &GOOD.replace("\"time\":4", "\"time\":0"));

    let out = zksim(&[path_str(&good)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("linearizable "));
    assert!(stdout(&out).contains("1 files in "));

    let out = zksim(&[path_str(&good), path_str(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("violation "), "{text}");
    assert!(
        text.contains("answers and real-time order cannot all hold"),
        "{text}"
    );
    assert!(
        text.contains("1 linearizable, 1 violation, 0 unknown, 0 bad input"),
        "{text}"
    );

    let out = zksim(&[path_str(&good), path_str(&bad), path_str(&broken)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("broken.jsonl: line 5: time 0 is before the previous line's time 3"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_exhausted_budget_exits_3() {
    // Sixty concurrent writes and a read of a value nobody wrote: 2^60 subsets to refute.
    let mut text =
        String::from("{\"format\":\"zksim-history\",\"version\":1,\"model\":\"register\"}\n");
    for p in 0..60 {
        text += &format!(
            "{{\"type\":\"invoke\",\"process\":{p},\"f\":\"write\",\"value\":{p},\"time\":1}}\n"
        );
    }
    text += "{\"type\":\"invoke\",\"process\":99,\"f\":\"read\",\"time\":1}\n";
    for p in 0..60 {
        text += &format!("{{\"type\":\"ok\",\"process\":{p},\"f\":\"write\",\"time\":2}}\n");
    }
    text += "{\"type\":\"ok\",\"process\":99,\"f\":\"read\",\"value\":-1,\"time\":2}\n";
    let hard = temp_file("hard.jsonl", &text);
    let good = temp_file("good2.jsonl", GOOD);
    let out = zksim(&[path_str(&good), path_str(&hard), "--timeout", "0.3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).contains("unknown "), "{}", stdout(&out));
    let out = zksim(&[path_str(&hard), "--timeout", "0", "--memory-mib", "2"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).contains("memory limit"), "{}", stdout(&out));
}

#[test]
fn json_output_has_one_object_per_file_and_a_summary() {
    let bad = temp_file("bad-json.jsonl", BAD);
    let out = zksim(&[path_str(&bad), "--json", "-"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["result"]["verdict"]["verdict"], "violation");
    let core = lines[0]["result"]["verdict"]["core"].as_array().unwrap();
    assert_eq!(core.len(), 2, "the write and the stale read");
    assert_eq!(lines[1]["summary"]["violation"], 1);
}

#[test]
fn flags_choose_the_model_the_initial_state_and_the_format() {
    let log = temp_file(
        "cas.log",
        "INFO jepsen.util - 0\t:invoke\t:read\tnil\nINFO jepsen.util - 0\t:ok\t:read\t3\n",
    );
    assert_eq!(zksim(&[path_str(&log)]).status.code(), Some(1));
    assert_eq!(
        zksim(&[path_str(&log), "--initial", "3"]).status.code(),
        Some(0)
    );
    assert_eq!(
        zksim(&[
            path_str(&log),
            "--initial",
            "3",
            "--format",
            "jepsen-log",
            "--model",
            "register"
        ])
        .status
        .code(),
        Some(0)
    );
    let out = zksim(&[path_str(&log), "--format", "knossos-edn"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let out = zksim(&[path_str(&log), "--model", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown model"));
}

const ZNODE: &str = r#"{"format":"zksim-history","version":1,"model":"znode"}
{"type":"invoke","process":1,"f":"open_session","time":1}
{"type":"ok","process":1,"f":"open_session","value":{"ok":1},"time":2,"session":1,"zxid":1}
{"type":"invoke","process":1,"f":"create","value":{"path":"/a","data":"x","mode":"persistent"},"time":3,"session":1}
{"type":"ok","process":1,"f":"create","value":{"ok":{"path":"/a","stat":{"czxid":2,"mzxid":2,"pzxid":2,"version":0,"cversion":0,"aversion":0,"ephemeralOwner":0,"dataLength":1,"numChildren":0}}},"time":4,"session":1,"zxid":2}
{"type":"invoke","process":2,"f":"get_data","value":{"path":"/a","watch":false},"time":5,"session":1}
{"type":"ok","process":2,"f":"get_data","value":{"ok":{"data":"x","stat":{"czxid":2,"mzxid":2,"pzxid":2,"version":0,"cversion":0,"aversion":0,"ephemeralOwner":0,"dataLength":1,"numChildren":0}}},"time":6,"session":1,"zxid":2}
"#;

#[test]
fn znode_histories_are_checked_by_the_protocols_model() {
    let good = temp_file("znode.jsonl", ZNODE);
    let out = zksim(&[path_str(&good)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("[znode, 3 ops"), "{}", stdout(&out));
    let stale = temp_file(
        "znode-stale.jsonl",
        &ZNODE.replace(r#"{"ok":{"data":"x""#, r#"{"ok":{"data":"y""#),
    );
    assert_eq!(zksim(&[path_str(&stale)]).status.code(), Some(1));
    // A register history is not a znode history.
    let register = temp_file("register.jsonl", GOOD);
    let out = zksim(&[path_str(&register), "--model", "znode"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).starts_with("bad-input"), "{}", stdout(&out));
}

#[test]
fn zookeeper_consistency_is_not_for_register_histories() {
    // ZooKeeper's guarantees are about znode histories: a register history is bad input.
    let good = temp_file("good3.jsonl", GOOD);
    let out = zksim(&[path_str(&good), "--consistency", "zookeeper"]);
    assert_eq!(out.status.code(), Some(2));
    let said = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("--consistency zookeeper"), "{said}");
}

#[test]
fn a_public_history_gets_its_verdict_through_the_cli() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/histories");
    if !dir.is_dir() {
        println!("SKIPPED: ../shared/histories is absent");
        return;
    }
    let bad = dir.join("knossos/cas-register/bad/rethink-fail-minimal.edn");
    let good = dir.join("knossos/multi-register/good/multi-register.edn");
    assert_eq!(zksim(&[path_str(&good)]).status.code(), Some(0));
    let out = zksim(&[path_str(&good), path_str(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("[cas-register, "), "{}", stdout(&out));
    let help = Command::new(env!("CARGO_BIN_EXE_zksim"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    let help = stdout(&help);
    assert!(
        help.contains("Exit codes") && help.contains("--consistency"),
        "{help}"
    );
}

#[test]
fn garbage_is_bad_input_in_every_format_with_one_position() {
    let hello = temp_file("hello.txt", "hello\n");
    for format in ["zksim", "jepsen-log", "porcupine-kv", "knossos-edn"] {
        let out = zksim(&[path_str(&hello), "--format", format]);
        assert_eq!(out.status.code(), Some(2), "{format}: {}", stdout(&out));
        assert!(stdout(&out).starts_with("bad-input"), "{}", stdout(&out));
    }
    // A zksim history read as a Jepsen log holds no log line.
    let good = temp_file("good4.jsonl", GOOD);
    let out = zksim(&[path_str(&good), "--format", "jepsen-log"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    // A type error names the field, and the file line only.
    let typed = temp_file(
        "typed.jsonl",
        &GOOD.replace(r#""process":1"#, r#""process":"1""#),
    );
    let text = stdout(&zksim(&[path_str(&typed)]));
    assert!(
        text.contains(
            r#"typed.jsonl: line 3: field `process`: invalid type: string "1", expected u64"#
        ),
        "{text}"
    );
    assert!(!text.contains("column"), "{text}");
    let utf8 = temp_file("utf8.jsonl", "");
    std::fs::write(&utf8, [GOOD.as_bytes(), b"\xff\n"].concat()).unwrap();
    let text = stdout(&zksim(&[path_str(&utf8)]));
    assert!(
        text.contains("not valid UTF-8 (line 6, byte 1 of the line)"),
        "{text}"
    );
}

#[test]
fn deep_nesting_is_bad_input_naming_the_limit() {
    let deep = format!("{}{}", "[".repeat(15_000), "]".repeat(15_000));
    let log = temp_file(
        "deep.log",
        &format!("INFO jepsen.util - 0\t:invoke\t:read\t{deep}\n"),
    );
    let out = zksim(&[path_str(&log)]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("line 1: bad value for read: nested deeper than 127 levels"),
        "{}",
        stdout(&out)
    );
    let good = temp_file("good5.jsonl", GOOD);
    let out = zksim(&[path_str(&good), "--initial", &deep]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--initial is not valid JSON: column 128: nested deeper than 127 levels"),
        "{said}"
    );
    // A bare word is still a string.
    let mutex = temp_file(
        "mutex.edn",
        "[{:process 0 :type :invoke :f :acquire} {:process 0 :type :ok :f :acquire}]",
    );
    assert_eq!(
        zksim(&[path_str(&mutex), "--initial", "free"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn jepsen_history_edn_is_checked_with_knossos_semantics() {
    let edn = temp_file(
        "history.edn",
        "{:type :invoke, :f :read, :value nil, :process 0, :index 0}\n\
         {:type :ok, :f :read, :value 0, :process 0, :index 1}\n",
    );
    let out = zksim(&[path_str(&edn)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("[cas-register, 1 ops"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn json_and_junit_files_hold_every_history_file() {
    let good = temp_file("good-ci.jsonl", GOOD);
    let bad = temp_file("bad-ci.jsonl", BAD);
    let dir = std::env::temp_dir().join(format!("zksim-check-ci-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, junit) = (dir.join("check.jsonl"), dir.join("check.xml"));
    let out = zksim(&[
        path_str(&good),
        path_str(&bad),
        "--json",
        path_str(&json),
        "--junit",
        path_str(&junit),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("violation "), "text still on stdout");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["result"]["verdict"]["verdict"], "violation");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"tests="2""#) && xml.contains(r#"failures="1""#),
        "{xml}"
    );
    assert!(
        xml.contains("answers and real-time order cannot all hold"),
        "{xml}"
    );
}
