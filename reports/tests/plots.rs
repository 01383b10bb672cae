//! Every plot function, on normal and on degenerate data: it writes a non-empty file of the right
//! format and size, the same bytes for the same data, and refuses bad input with an error (and no
//! file) instead of panicking.

use std::path::{Path, PathBuf};

use reports::{Arrow, FailedCheck, FaultWindow, Mark, OpSample, Outcome, ReportError};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// A fresh directory for one test, so tests running in parallel never share files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zksim-reports-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Asserts `path` is a PNG of `width` × `height` and returns its bytes.
fn png(path: &Path, width: u32, height: u32) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(bytes[..8], PNG_SIGNATURE, "{} is not a PNG", path.display());
    // The IHDR chunk comes first: length, "IHDR", then width and height, big-endian.
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (width, height), "{}", path.display());
    bytes
}

/// The width and height of a PNG at `path`.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(bytes[..8], PNG_SIGNATURE, "{} is not a PNG", path.display());
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

fn svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.starts_with("<svg"), "{} is not an SVG", path.display());
    assert!(
        text.trim_end().ends_with("</svg>"),
        "{} is truncated",
        path.display()
    );
    text
}

fn op(start_ms: f64, latency_ms: f64, op: &str, outcome: Outcome) -> OpSample {
    OpSample {
        start_ms,
        latency_ms,
        op: op.to_string(),
        outcome,
    }
}

/// A small realistic run: 1–5 ms operations over 30 s, a crash with a 2 s stall and some info
/// operations, a partition.
fn samples() -> Vec<OpSample> {
    let mut samples = Vec::new();
    for i in 0..3000u32 {
        let t = f64::from(i) * 10.0;
        let kind = ["create", "get_data", "set_data"][(i % 3) as usize];
        let latency = 1.0 + f64::from(i % 17) / 4.0;
        let outcome = if i % 97 == 0 {
            Outcome::Fail
        } else if i % 7 == 0 {
            Outcome::ErrorReply
        } else {
            Outcome::Ok
        };
        samples.push(op(t, latency, kind, outcome));
    }
    for i in 0..5u32 {
        samples.push(op(
            10_000.0 + f64::from(i) * 300.0,
            2000.0,
            "set_data",
            Outcome::Info,
        ));
        samples.push(op(
            10_050.0 + f64::from(i) * 300.0,
            1900.0 - f64::from(i) * 200.0,
            "create",
            Outcome::Ok,
        ));
    }
    samples
}

fn windows() -> Vec<FaultWindow> {
    vec![
        FaultWindow {
            start_ms: 10_000.0,
            end_ms: 14_000.0,
            label: "crash n1".into(),
            kind: "crash".into(),
        },
        FaultWindow {
            start_ms: 12_000.0,
            end_ms: 20_000.0,
            label: "partition n0 | n1,n2".into(),
            kind: "partition".into(),
        },
    ]
}

/// A check that failed at a moment, one that failed over a span, and one that could not decide.
fn failures() -> Vec<FailedCheck> {
    vec![
        FailedCheck {
            check: "durability".into(),
            undecided: false,
            at_ms: Some(12_500.0),
            until_ms: None,
        },
        FailedCheck {
            check: "liveness".into(),
            undecided: false,
            at_ms: Some(20_000.0),
            until_ms: Some(25_000.0),
        },
        FailedCheck {
            check: "linearizable".into(),
            undecided: true,
            at_ms: None,
            until_ms: None,
        },
    ]
}

fn marks() -> Vec<Mark> {
    vec![
        Mark {
            at_ms: 11_500.0,
            label: "leader n2 (epoch 2)".into(),
        },
        Mark {
            at_ms: 20_000.0,
            label: "heal all".into(),
        },
    ]
}

/// Each degenerate input, with a name for messages.
fn degenerate_cases() -> Vec<(&'static str, Vec<OpSample>, Vec<FaultWindow>)> {
    let past_the_data = vec![FaultWindow {
        start_ms: 50.0,
        end_ms: 1_000_000.0,
        label: "crash n0".into(),
        kind: "crash".into(),
    }];
    let before_the_data = vec![FaultWindow {
        start_ms: -500.0,
        end_ms: -100.0,
        label: "pause n2".into(),
        kind: "pause".into(),
    }];
    vec![
        ("no samples", vec![], vec![]),
        ("no samples, windows only", vec![], windows()),
        (
            "one sample",
            vec![op(5.0, 3.0, "get_data", Outcome::Ok)],
            vec![],
        ),
        (
            "zero latency",
            vec![
                op(0.0, 0.0, "sync", Outcome::Ok),
                op(1.0, 0.0, "sync", Outcome::Ok),
            ],
            vec![],
        ),
        (
            "zero and huge latency",
            vec![
                op(0.0, 0.0, "sync", Outcome::Ok),
                op(1.0, 5000.0, "sync", Outcome::Info),
            ],
            vec![],
        ),
        (
            "all equal",
            (0..10)
                .map(|_| op(7.0, 2.5, "create", Outcome::Ok))
                .collect(),
            vec![],
        ),
        (
            "only info",
            vec![op(100.0, 2000.0, "create", Outcome::Info)],
            vec![],
        ),
        (
            "only open",
            vec![op(100.0, 2000.0, "create", Outcome::Open)],
            vec![],
        ),
        (
            "window past the data",
            vec![
                op(0.0, 1.0, "get_data", Outcome::Ok),
                op(100.0, 2.0, "get_data", Outcome::Fail),
            ],
            past_the_data,
        ),
        (
            "window before the data",
            vec![op(0.0, 1.0, "get_data", Outcome::Ok)],
            before_the_data,
        ),
        (
            "zero-width window",
            vec![
                op(0.0, 1.0, "get_data", Outcome::Ok),
                op(10.0, 1.0, "get_data", Outcome::Ok),
            ],
            vec![FaultWindow {
                start_ms: 5.0,
                end_ms: 5.0,
                label: "crash n1".into(),
                kind: "crash".into(),
            }],
        ),
    ]
}

#[test]
fn latency_over_time_draws_normal_and_degenerate_data() {
    let dir = scratch("latency");
    let full = dir.join("full.png");
    reports::latency_over_time(&full, "full", &samples(), &windows(), &marks(), &[]).unwrap();
    let full_bytes = png(&full, 1400, 760);

    let empty = dir.join("empty.png");
    reports::latency_over_time(&empty, "full", &[], &windows(), &marks(), &[]).unwrap();
    assert_ne!(
        png(&empty, 1400, 760),
        full_bytes,
        "the samples must show up in the picture"
    );

    for (i, (name, samples, windows)) in degenerate_cases().into_iter().enumerate() {
        let path = dir.join(format!("degenerate-{i}.png"));
        reports::latency_over_time(&path, name, &samples, &windows, &[], &[])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        png(&path, 1400, 760);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failing_run_says_so_on_its_plots() {
    let dir = scratch("failing");
    let (passed, failed) = (dir.join("passed.png"), dir.join("failed.png"));
    reports::latency_over_time(&passed, "t", &samples(), &windows(), &marks(), &[]).unwrap();
    reports::latency_over_time(&failed, "t", &samples(), &windows(), &marks(), &failures())
        .unwrap();
    assert_ne!(png(&passed, 1400, 760), png(&failed, 1400, 760));

    reports::throughput(&failed, "t", &samples(), &windows(), &failures(), 1000.0).unwrap();
    png(&failed, 1400, 700);

    // The quantile plot has no time axis: it names the checks in a line of its own.
    reports::latency_quantiles(&passed, "t", &samples(), &[]).unwrap();
    reports::latency_quantiles(&failed, "t", &samples(), &failures()).unwrap();
    let ((w, h_passed), (_, h_failed)) = (png_size(&passed), png_size(&failed));
    assert_eq!(w, 1400);
    assert!(h_failed > h_passed, "{h_failed} vs {h_passed}");

    // A check failing only after the last operation stretches the time axis rather than
    // vanishing off its end.
    let late = [FailedCheck {
        check: "prefix-agreement".into(),
        undecided: false,
        at_ms: Some(90_000.0),
        until_ms: None,
    }];
    reports::latency_over_time(&failed, "t", &samples(), &[], &[], &late).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn latency_quantiles_draws_normal_and_degenerate_data() {
    let dir = scratch("quantiles");
    let full = dir.join("full.png");
    reports::latency_quantiles(&full, "full", &samples(), &[]).unwrap();
    let (w, h) = png_size(&full);
    assert_eq!(w, 1400);
    assert!(
        h > 600,
        "room for the chart and a table of three operations: {h}"
    );

    for (i, (name, samples, _)) in degenerate_cases().into_iter().enumerate() {
        let path = dir.join(format!("degenerate-{i}.png"));
        reports::latency_quantiles(&path, name, &samples, &[])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (w, _) = png_size(&path);
        assert_eq!(w, 1400, "{name}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn throughput_draws_normal_and_degenerate_data() {
    let dir = scratch("throughput");
    let full = dir.join("full.png");
    reports::throughput(&full, "full", &samples(), &windows(), &[], 1000.0).unwrap();
    png(&full, 1400, 700);
    // A bucket far smaller than the run is widened, not drawn as 30 million buckets.
    let fine = dir.join("fine.png");
    reports::throughput(&fine, "fine", &samples(), &windows(), &[], 0.001).unwrap();
    png(&fine, 1400, 700);

    for (i, (name, samples, windows)) in degenerate_cases().into_iter().enumerate() {
        let path = dir.join(format!("degenerate-{i}.png"));
        reports::throughput(&path, name, &samples, &windows, &[], 1000.0)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        png(&path, 1400, 700);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn lanes() -> Vec<String> {
    ["c1", "n0", "n1", "n2"].map(String::from).to_vec()
}

fn arrow(from: usize, to: usize, sent_ms: f64, received_ms: Option<f64>, label: &str) -> Arrow {
    Arrow {
        from,
        to,
        sent_ms,
        received_ms,
        label: label.to_string(),
    }
}

fn arrows() -> Vec<Arrow> {
    vec![
        arrow(0, 2, 1.0, Some(2.0), "create /a"),
        arrow(2, 1, 2.5, Some(3.1), "REQUEST"),
        arrow(1, 2, 3.5, Some(4.2), "PROPOSAL"),
        arrow(1, 3, 3.5, None, "PROPOSAL"),
        arrow(2, 1, 4.5, Some(5.0), "ACK"),
        arrow(1, 1, 5.0, Some(6.0), "tick"),
        arrow(1, 2, 5.5, Some(5.5), "COMMIT"),
        arrow(2, 0, 6.0, Some(7.0), "reply ok"),
    ]
}

#[test]
fn message_diagram_draws_svg_and_png_on_normal_and_degenerate_data() {
    let dir = scratch("diagram");
    let crash = vec![FaultWindow {
        start_ms: 3.0,
        end_ms: 100.0,
        label: "crash n2".into(),
        kind: "crash".into(),
    }];
    let leader = vec![Mark {
        at_ms: 0.5,
        label: "leader n0 (epoch 1)".into(),
    }];
    let full = dir.join("full.svg");
    reports::message_diagram(&full, "a write", &lanes(), &arrows(), &crash, &leader).unwrap();
    let text = svg(&full);
    for word in ["PROPOSAL", "reply ok", "crash n2", "c1", "n2"] {
        assert!(text.contains(word), "the SVG should name {word}");
    }
    let full_png = dir.join("full.png");
    reports::message_diagram_png(&full_png, "a write", &lanes(), &arrows(), &crash, &leader)
        .unwrap();
    png_size(&full_png);

    let many: Vec<Arrow> = (0..500)
        .map(|i| arrow(i % 4, (i + 1) % 4, i as f64, Some(i as f64 + 0.5), "PING"))
        .collect();
    let capped = dir.join("capped.svg");
    reports::message_diagram(&capped, "many", &lanes(), &many, &[], &[]).unwrap();
    let text = svg(&capped);
    let shown = reports::MESSAGE_DIAGRAM_MAX_ARROWS;
    assert!(text.contains(&format!("showing the first {shown} of 500 messages")));

    let one_lane = vec!["n0".to_string()];
    let degenerate: Vec<(&str, Vec<String>, Vec<Arrow>)> = vec![
        ("no arrows", lanes(), vec![]),
        ("no lanes", vec![], vec![]),
        (
            "one arrow to itself",
            one_lane.clone(),
            vec![arrow(0, 0, 1.0, Some(1.0), "tick")],
        ),
        (
            "one lost arrow",
            one_lane,
            vec![arrow(0, 0, 1.0, None, "tick")],
        ),
        (
            "simultaneous",
            lanes(),
            vec![
                arrow(0, 1, 0.0, Some(0.0), "a"),
                arrow(1, 0, 0.0, Some(0.0), "b"),
            ],
        ),
    ];
    for (i, (name, lanes, arrows)) in degenerate.into_iter().enumerate() {
        let path = dir.join(format!("degenerate-{i}.svg"));
        reports::message_diagram(&path, name, &lanes, &arrows, &crash, &leader)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        svg(&path);
        let path = dir.join(format!("degenerate-{i}.png"));
        reports::message_diagram_png(&path, name, &lanes, &arrows, &crash, &leader)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        png_size(&path);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn comparison_bars_draws_normal_and_degenerate_data() {
    let dir = scratch("compare");
    let series: Vec<(String, f64)> = [("zab", 4.8), ("raft", 5.2), ("zab/ack-before-fsync", 2.9)]
        .map(|(n, v)| (n.to_string(), v))
        .to_vec();
    let full = dir.join("full.png");
    reports::comparison_bars(&full, "p99", "p99 latency (ms)", &series).unwrap();
    png_size(&full);

    let degenerate: Vec<(&str, Vec<(String, f64)>)> = vec![
        ("empty", vec![]),
        ("one", vec![("zab".into(), 1.0)]),
        ("zero", vec![("zab".into(), 0.0), ("raft".into(), 0.0)]),
        ("negative", vec![("zab".into(), -3.0), ("raft".into(), 2.0)]),
    ];
    for (i, (name, series)) in degenerate.into_iter().enumerate() {
        let path = dir.join(format!("degenerate-{i}.png"));
        reports::comparison_bars(&path, name, "metric", &series)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        png_size(&path);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn same_data_gives_the_same_bytes() {
    let dir = scratch("determinism");
    let (a, b) = (dir.join("a.png"), dir.join("b.png"));
    reports::latency_over_time(&a, "t", &samples(), &windows(), &marks(), &failures()).unwrap();
    reports::latency_over_time(&b, "t", &samples(), &windows(), &marks(), &failures()).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    let (a, b) = (dir.join("a.svg"), dir.join("b.svg"));
    reports::message_diagram(&a, "t", &lanes(), &arrows(), &windows(), &marks()).unwrap();
    reports::message_diagram(&b, "t", &lanes(), &arrows(), &windows(), &marks()).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_input_is_an_error_and_writes_nothing() {
    let dir = scratch("errors");
    let path = dir.join("bad.png");
    let nan = vec![op(f64::NAN, 1.0, "get_data", Outcome::Ok)];
    let negative = vec![op(0.0, -1.0, "get_data", Outcome::Ok)];
    let backwards = vec![FaultWindow {
        start_ms: 10.0,
        end_ms: 5.0,
        label: "crash n1".into(),
        kind: "crash".into(),
    }];

    let cases: Vec<(&str, Result<(), ReportError>)> = vec![
        (
            "NaN start",
            reports::latency_over_time(&path, "t", &nan, &[], &[], &[]),
        ),
        (
            "negative latency",
            reports::latency_quantiles(&path, "t", &negative, &[]),
        ),
        (
            "backwards window",
            reports::throughput(&path, "t", &samples(), &backwards, &[], 1000.0),
        ),
        (
            "zero bucket",
            reports::throughput(&path, "t", &samples(), &[], &[], 0.0),
        ),
        (
            "NaN bucket",
            reports::throughput(&path, "t", &samples(), &[], &[], f64::NAN),
        ),
        (
            "failure ending before it starts",
            reports::latency_over_time(
                &path,
                "t",
                &samples(),
                &[],
                &[],
                &[FailedCheck {
                    check: "liveness".into(),
                    undecided: false,
                    at_ms: Some(10.0),
                    until_ms: Some(5.0),
                }],
            ),
        ),
        (
            "NaN bar",
            reports::comparison_bars(&path, "t", "m", &[("zab".into(), f64::NAN)]),
        ),
        (
            "arrow to a missing lane",
            reports::message_diagram(
                dir.join("bad.svg"),
                "t",
                &lanes(),
                &[arrow(0, 9, 1.0, Some(2.0), "x")],
                &[],
                &[],
            ),
        ),
        (
            "received before sent",
            reports::message_diagram(
                dir.join("bad.svg"),
                "t",
                &lanes(),
                &[arrow(0, 1, 5.0, Some(2.0), "x")],
                &[],
                &[],
            ),
        ),
    ];
    for (name, result) in cases {
        assert!(
            matches!(result, Err(ReportError::InvalidInput(_))),
            "{name}: {result:?}"
        );
    }

    let wrong = reports::latency_over_time(dir.join("plot.svg"), "t", &samples(), &[], &[], &[]);
    assert!(
        matches!(
            wrong,
            Err(ReportError::WrongExtension {
                expected: "png",
                ..
            })
        ),
        "{wrong:?}"
    );

    let written: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(
        written.is_empty(),
        "refused input must not leave files: {written:?}"
    );

    let unwritable = reports::latency_over_time(
        dir.join("no/such/dir/plot.png"),
        "t",
        &samples(),
        &[],
        &[],
        &[],
    );
    assert!(
        matches!(unwritable, Err(ReportError::Draw { .. })),
        "{unwritable:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
