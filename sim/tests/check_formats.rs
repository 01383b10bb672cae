//! The history readers: each format read on a small sample, the per-source semantics that make
//! the same events mean different things, and every documented error for malformed input, with
//! its line (docs/history-format.md, "Errors").

use sim::check::formats::{self, Completion, Format};
use sim::check::models::{self, ModelKind};
use sim::check::{Budget, Error};

fn verdict(text: &str, initial: Option<serde_json::Value>) -> String {
    let raw = formats::read(text, None).unwrap();
    let kind = ModelKind::of_history(&raw).unwrap();
    models::check_history(&raw, kind, initial.as_ref(), &Budget::unlimited())
        .unwrap()
        .verdict
        .name()
        .to_string()
}

fn error(text: &str) -> Error {
    let raw = match formats::read(text, None) {
        Ok(raw) => raw,
        Err(e) => return e,
    };
    let kind = match ModelKind::of_history(&raw) {
        Ok(kind) => kind,
        Err(e) => return e,
    };
    models::check_history(&raw, kind, None, &Budget::unlimited()).unwrap_err()
}

const HEADER: &str = r#"{"format":"zksim-history","version":1,"model":"cas-register"}"#;

fn zksim(lines: &[&str]) -> String {
    std::iter::once(HEADER)
        .chain(lines.iter().copied())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn zksim_history_with_fail_info_and_cas_answers() {
    let text = zksim(&[
        r#"{"type":"invoke","process":0,"f":"write","value":1,"time":10}"#,
        r#"{"type":"ok","process":0,"f":"write","value":1,"time":20}"#,
        // A failed write never happened.
        r#"{"type":"invoke","process":1,"f":"write","value":7,"time":30,"session":5}"#,
        r#"{"type":"fail","process":1,"f":"write","time":40,"error":"not-leader"}"#,
        // A cas that found another value is an ok answer, false.
        r#"{"type":"invoke","process":2,"f":"cas","value":[3,4],"time":50}"#,
        r#"{"type":"ok","process":2,"f":"cas","value":false,"time":60}"#,
        // A timed-out write may take effect later...
        r#"{"type":"invoke","process":3,"f":"write","value":2,"time":70}"#,
        r#"{"type":"info","process":3,"f":"write","time":80,"error":"timeout"}"#,
        r#"{"type":"event","process":0,"f":"watch","value":{"path":"/a"},"time":85}"#,
        r#"{"type":"invoke","process":0,"f":"read","time":90}"#,
        r#"{"type":"ok","process":0,"f":"read","value":1,"time":100}"#,
        r#"{"type":"invoke","process":4,"f":"read","time":110}"#,
        r#"{"type":"ok","process":4,"f":"read","value":2,"time":120}"#,
    ]);
    let raw = formats::read(&text, None).unwrap();
    assert_eq!(raw.format, Format::Zksim);
    assert_eq!(raw.ops.len(), 6);
    assert_eq!(raw.ops[1].session, Some(5));
    assert!(matches!(raw.ops[1].completion, Completion::Fail(_)));
    assert_eq!(raw.ops[3].ret, u64::MAX);
    assert_eq!(verdict(&text, None), "linearizable");
    // ...but a read of the failed write's value is a violation.
    let text = text.replace(r#""value":2,"time":120"#, r#""value":7,"time":120"#);
    assert_eq!(verdict(&text, None), "violation");
}

#[test]
fn jepsen_logs_read_tabs_and_spaces_alike() {
    let tabs =
        "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 0\t:ok\t:cas\t[1 2]\n";
    let spaces = "INFO  jepsen.util - 0   :invoke :cas    [1 2]\nINFO  jepsen.util - 0   :ok :cas    [1 2]\n";
    let a = formats::read(tabs, None).unwrap();
    let b = formats::read(spaces, None).unwrap();
    assert_eq!(a.format, Format::JepsenLog);
    assert_eq!(a.ops, b.ops);
    // The register starts nil, so this cas could not have matched.
    assert_eq!(verdict(tabs, None), "violation");
    assert_eq!(verdict(tabs, Some(serde_json::json!(1))), "linearizable");
}

#[test]
fn a_failed_cas_is_an_observation_in_jepsen_logs_and_nothing_in_knossos() {
    // After write 1 completes, a cas 1->3 that fails saw a value other than 1: impossible.
    let log = "INFO jepsen.util - 0\t:invoke\t:write\t1\nINFO jepsen.util - 0\t:ok\t:write\t1\n\
               INFO jepsen.util - 1\t:invoke\t:cas\t[1 3]\nINFO jepsen.util - 1\t:fail\t:cas\t[1 3]\n";
    assert_eq!(verdict(log, None), "violation");
    let edn = "[{:process 0 :type :invoke :f :write :value 1} {:process 0 :type :ok :f :write :value 1}\n\
               {:process 1 :type :invoke :f :cas :value [1 3]} {:process 1 :type :fail :f :cas :value [1 3]}]";
    assert_eq!(verdict(edn, None), "linearizable");
}

#[test]
fn a_nil_read_is_strict_in_jepsen_logs_and_unconstrained_in_knossos() {
    let log = "INFO jepsen.util - 0\t:invoke\t:write\t1\nINFO jepsen.util - 0\t:ok\t:write\t1\n\
               INFO jepsen.util - 1\t:invoke\t:read\tnil\nINFO jepsen.util - 1\t:ok\t:read\tnil\n";
    assert_eq!(verdict(log, None), "violation");
    let edn = "; comment\n({:process 0, :type :invoke, :f :write, :value 1}\n {:process 0, :type :ok, :f :write, :value 1}\n\
               {:process :nemesis, :type :info, :f :start, :value nil}\n\
               {:process 1, :type :invoke, :f :read, :value nil}\n {:process 1, :type :ok, :f :read, :value nil})";
    assert_eq!(verdict(edn, None), "linearizable");
}

#[test]
fn knossos_models_are_inferred_from_the_operations() {
    let txn = "[{:process 0 :type :invoke :f :txn :value [[:write :x 1] [:read :y nil]]}\n\
               {:process 0 :type :ok :f :txn :value [[:write :x 1] [:read :y 0]]}]";
    let raw = formats::read(txn, None).unwrap();
    assert_eq!(
        ModelKind::of_history(&raw).unwrap(),
        ModelKind::MultiRegister
    );
    assert_eq!(verdict(txn, None), "linearizable");
    assert_eq!(
        verdict(txn, Some(serde_json::json!({"x": 0, "y": 5}))),
        "violation"
    );

    let mutex = "[{:process 0 :type :invoke :f :acquire} {:process 0 :type :ok :f :acquire}\n\
                 {:process 1 :type :invoke :f :acquire} {:process 1 :type :ok :f :acquire}]";
    let raw = formats::read(mutex, None).unwrap();
    assert_eq!(ModelKind::of_history(&raw).unwrap(), ModelKind::Mutex);
    assert_eq!(verdict(mutex, None), "violation");
}

#[test]
fn porcupine_kv_lines_split_by_key() {
    let text = "{:process 0, :type :invoke, :f :append, :key \"1\", :value \"a\"}\n\
                {:process 1, :type :invoke, :f :get, :key \"2\", :value nil}\n\
                {:process 0, :type :ok, :f :append, :key \"1\", :value \"a\"}\n\
                {:process 1, :type :ok, :f :get, :key \"2\", :value \"\"}\n\
                {:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n\
                {:process 0, :type :ok, :f :get, :key \"1\", :value \"a\"}\n";
    let raw = formats::read(text, None).unwrap();
    assert_eq!(raw.format, Format::PorcupineKv);
    let result = models::check_history(&raw, ModelKind::Kv, None, &Budget::unlimited()).unwrap();
    assert_eq!(result.parts, 2);
    assert_eq!(result.verdict.name(), "linearizable");
}

#[test]
fn malformed_input_names_the_line_and_reason() {
    type Case = (String, fn(&Error) -> bool, usize);
    let cases: Vec<Case> = vec![
        (zksim(&["{not json"]), |e| matches!(e, Error::Syntax { .. }), 2),
        (
            r#"{"format":"zksim-history","version":9,"model":"kv"}"#.into(),
            |e| matches!(e, Error::BadHeader { .. }),
            1,
        ),
        (
            zksim(&[r#"{"type":"invoke","process":0,"f":"frobnicate","time":1}"#]),
            |e| matches!(e, Error::UnknownOp { .. }),
            2,
        ),
        (
            zksim(&[r#"{"type":"invoke","process":0,"f":"write","value":[1],"time":1}"#]),
            |e| matches!(e, Error::BadValue { .. }),
            2,
        ),
        (
            zksim(&[r#"{"type":"ok","process":0,"f":"read","value":1,"time":1}"#]),
            |e| matches!(e, Error::CompletionWithoutInvocation { process: 0, .. }),
            2,
        ),
        (
            zksim(&[
                r#"{"type":"invoke","process":0,"f":"read","time":1}"#,
                r#"{"type":"invoke","process":0,"f":"read","time":2}"#,
            ]),
            |e| matches!(e, Error::SecondInvocation { open_line: 2, .. }),
            3,
        ),
        (
            zksim(&[
                r#"{"type":"invoke","process":0,"f":"read","time":5}"#,
                r#"{"type":"ok","process":0,"f":"read","time":4}"#,
            ]),
            |e| matches!(e, Error::TimeBackwards { time: 4, previous: 5, .. }),
            3,
        ),
        (
            zksim(&[
                r#"{"type":"invoke","process":0,"f":"read","time":5}"#,
                r#"{"type":"ok","process":0,"f":"write","time":6}"#,
            ]),
            |e| matches!(e, Error::MismatchedCompletion { .. }),
            3,
        ),
        (
            "INFO jepsen.util - 0\t:invoke\t:read\tnil\nINFO jepsen.util - 0\t:done\t:read\tnil\n".into(),
            |e| matches!(e, Error::UnknownType { .. }),
            2,
        ),
        (
            "[{:process 0 :type :invoke :f :read :value nil}\n {:process 0 :type :ok :f :read :value 1.5}]".into(),
            |e| matches!(e, Error::Syntax { .. }),
            2,
        ),
    ];
    for (text, is_expected, line) in cases {
        let e = error(&text);
        assert!(is_expected(&e), "unexpected error {e:?} for {text}");
        assert_eq!(e.line(), Some(line), "{e}");
        assert!(e.to_string().starts_with(&format!("line {line}: ")), "{e}");
    }
}

#[test]
fn unreadable_files_and_bad_choices_are_errors() {
    assert!(matches!(
        formats::read("", None),
        Err(Error::UnknownFormat(_))
    ));
    assert!(matches!(
        formats::read("hello\n", None),
        Err(Error::UnknownFormat(_))
    ));
    let one_read = "\n{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"time\":1}";
    let unknown_model =
        r#"{"format":"zksim-history","version":1,"model":"tree"}"#.to_string() + one_read;
    let raw = formats::read(&unknown_model, None).unwrap();
    assert!(matches!(
        ModelKind::of_history(&raw),
        Err(Error::UnknownModel(_))
    ));
    let raw = formats::read(&(HEADER.to_string() + one_read), None).unwrap();
    let bad = serde_json::json!([1]);
    assert!(matches!(
        models::check_history(
            &raw,
            ModelKind::CasRegister,
            Some(&bad),
            &Budget::unlimited()
        ),
        Err(Error::BadInitial { .. })
    ));
    assert!(matches!(
        models::check_history(&raw, ModelKind::Znode, None, &Budget::unlimited()),
        Err(Error::NotASimModel(_))
    ));
}

#[test]
fn a_file_of_no_operation_is_bad_input_in_every_format() {
    let edn = "[{:process 0 :type :invoke :f :read :value nil}]";
    let jepsen = "INFO jepsen.util - 0\t:invoke\t:read\tnil\n";
    let kv = "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n";
    let zksim_text = zksim(&[r#"{"type":"invoke","process":0,"f":"read","time":1}"#]);
    let own = [
        (Format::Zksim, zksim_text.as_str()),
        (Format::JepsenLog, jepsen),
        (Format::PorcupineKv, kv),
        (Format::KnossosEdn, edn),
    ];
    let texts = [
        zksim_text.as_str(),
        jepsen,
        kv,
        edn,
        "hello\n",
        "[]",
        "",
        HEADER,
    ];
    for format in Format::ALL {
        for text in texts {
            let read = formats::read(text, Some(format));
            // A kv log is EDN maps, which Knossos reads too.
            let readable =
                own.contains(&(format, text)) || (format, text) == (Format::KnossosEdn, kv);
            assert_eq!(read.is_ok(), readable, "{format} {text:?}: {read:?}");
        }
    }
    assert_eq!(
        formats::read("hello\n", Some(Format::JepsenLog)),
        Err(Error::Syntax {
            line: 1,
            reason: "not a log line (expected `LEVEL logger - message`, e.g. \
                     `INFO  jepsen.util - 0 :invoke :read nil`)"
                .into()
        })
    );
    assert_eq!(
        formats::read("INFO  jepsen.core - starting\n", Some(Format::JepsenLog)),
        Err(Error::NoOperations(Format::JepsenLog))
    );
    assert_eq!(
        formats::read(HEADER, None),
        Err(Error::NoOperations(Format::Zksim))
    );
    // The nemesis alone makes a history: Knossos has one and calls it valid.
    let nemesis = "[{:process :nemesis, :type :info, :f :kill, :value nil}]";
    assert_eq!(formats::read(nemesis, None).unwrap().other_lines, 1);
}

#[test]
fn jepsen_edn_one_map_per_line_is_read_as_knossos_edn() {
    // Jepsen's own history.edn: one map per line, no :key, Knossos's semantics.
    let text = "{:index 0, :type :invoke, :process 0, :f :read, :value nil}\n\
                {:index 1, :type :ok, :process 0, :f :read, :value 1}\n\
                {:index 2, :type :info, :process :nemesis, :f :start, :value nil}\n";
    assert_eq!(Format::detect(text), Some(Format::KnossosEdn));
    let raw = formats::read(text, None).unwrap();
    assert_eq!((raw.format, raw.ops.len()), (Format::KnossosEdn, 1));
    assert_eq!(ModelKind::of_history(&raw).unwrap(), ModelKind::CasRegister);
    // Knossos starts the register at 0 and takes a nil read as unconstrained.
    assert_eq!(verdict(text, Some(serde_json::json!(1))), "linearizable");
    assert_eq!(verdict(text, None), "violation");
    // With a :key, it is a Porcupine kv log; without one where the kv log needs it, an error.
    let kv = "{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n";
    assert_eq!(Format::detect(kv), Some(Format::PorcupineKv));
    let keyless = "{:process 0, :type :invoke, :f :get, :value nil}\n";
    assert_eq!(
        formats::read(keyless, Some(Format::PorcupineKv)),
        Err(Error::Syntax {
            line: 1,
            reason: "missing :key".into()
        })
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_an_error_in_every_format() {
    use sim::json::MAX_DEPTH;
    let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let limit = format!("nested deeper than {MAX_DEPTH} levels");
    for depth in [MAX_DEPTH + 1, 15_000] {
        let files = [
            (
                zksim(&[&format!(
                    r#"{{"type":"invoke","process":0,"f":"read","time":1,"value":{}}}"#,
                    deep(depth)
                )]),
                2,
            ),
            (
                format!("INFO jepsen.util - 0\t:invoke\t:read\t{}\n", deep(depth)),
                1,
            ),
            (
                format!(
                    "{{:process 0, :type :invoke, :f :get, :key \"1\", :value {}}}\n",
                    deep(depth)
                ),
                1,
            ),
            (
                format!(
                    "[{{:process 0 :type :invoke :f :read}}\n{{:process 0 :value {}}}]",
                    deep(depth)
                ),
                2,
            ),
        ];
        for (text, line) in &files {
            let e = formats::read(text, None).unwrap_err();
            assert!(e.to_string().contains(&limit), "{e}");
            assert_eq!(e.line(), Some(*line), "{e}");
        }
    }
}
