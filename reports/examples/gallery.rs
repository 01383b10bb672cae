//! Writes every plot of the `reports` crate from synthetic but realistic data, so anyone can see
//! what a run's store folder will hold and check changes to the drawing code by eye:
//!
//! ```text
//! cargo run -p reports --example gallery -- /tmp/gallery
//! ```
//!
//! The data imitate a 3-replica ZooKeeper run of three minutes: 1–5 ms operations, a leader crash
//! with an election (latency spikes to ~2 s, some clients give up), a minority partition with an
//! overlapping clog, a short pause; and a short message trace of one write going through ZAB.

use std::path::PathBuf;

use reports::{Arrow, FailedCheck, FaultWindow, Mark, OpSample, Outcome};

/// SplitMix64: a few lines of deterministic randomness, so the gallery is the same every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

fn window(start_s: f64, end_s: f64, label: &str, kind: &str) -> FaultWindow {
    FaultWindow {
        start_ms: start_s * 1000.0,
        end_ms: end_s * 1000.0,
        label: label.to_string(),
        kind: kind.to_string(),
    }
}

fn mark(at_s: f64, label: &str) -> Mark {
    Mark {
        at_ms: at_s * 1000.0,
        label: label.to_string(),
    }
}

/// Operations of nine clients over three minutes.
fn run_samples() -> Vec<OpSample> {
    // ZooKeeper's ten operation types, so the gallery shows every colour of the palette.
    const OPS: [(&str, f64); 10] = [
        ("get_data", 0.29),
        ("set_data", 0.17),
        ("create", 0.14),
        ("delete", 0.08),
        ("get_children", 0.08),
        ("exists", 0.07),
        ("sync", 0.06),
        ("multi", 0.06),
        ("close_session", 0.025),
        ("open_session", 0.025),
    ];
    const GIVE_UP_MS: f64 = 2500.0;
    let mut rng = Rng(7);
    let mut samples = Vec::new();
    for client in 0..9 {
        // Client c is connected to server c mod 3: n0 ends up in the minority partition, n1 is the
        // leader that crashes.
        let on_n0 = client % 3 == 0;
        let on_n1 = client % 3 == 1;
        let mut t = rng.unit() * 20.0;
        while t < 180_000.0 {
            let mut pick = rng.unit();
            let op = OPS
                .iter()
                .find(|(_, share)| {
                    pick -= share;
                    pick < 0.0
                })
                .map_or("get_data", |(op, _)| op);
            let is_read = matches!(op, "get_data" | "get_children" | "exists" | "sync");
            let mut latency = if is_read {
                0.4 + rng.exponential(0.8)
            } else {
                1.2 + rng.exponential(1.8)
            };
            // ZooKeeper answers some requests with an error (NoNode, BadVersion, ...).
            let mut outcome = if rng.unit() < 0.15 {
                Outcome::ErrorReply
            } else {
                Outcome::Ok
            };
            // Leader n1 crashes at 60 s: its clients lose their connection and give up; everyone
            // else's writes stall through the election (~2 s).
            if (60_000.0..62_100.0).contains(&t) && on_n1 {
                latency = GIVE_UP_MS;
                outcome = Outcome::Info;
            } else if (60_000.0..62_100.0).contains(&t) && !is_read {
                latency = 62_100.0 - t + 2.0 + rng.exponential(3.0);
            }
            // Minority partition of n0 from 110 s to 140 s: its writes time out.
            if on_n0 && (110_000.0..140_000.0).contains(&t) && !is_read {
                latency = GIVE_UP_MS;
                outcome = Outcome::Info;
            }
            // n2 clogged from 125 s to 135 s: the quorum is slower.
            if (125_000.0..135_000.0).contains(&t) && !is_read {
                latency += 15.0 + rng.exponential(20.0);
            }
            // n2 paused 150–155 s: a few clients stall to the timeout.
            if (150_000.0..155_000.0).contains(&t) && client % 3 == 2 && !is_read {
                latency = GIVE_UP_MS;
                outcome = Outcome::Info;
            }
            if latency > GIVE_UP_MS {
                latency = GIVE_UP_MS;
                outcome = Outcome::Info;
            }
            samples.push(OpSample {
                start_ms: t,
                latency_ms: latency,
                op: op.to_string(),
                outcome,
            });
            t += latency + rng.exponential(120.0);
        }
    }
    samples.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    samples
}

fn run_windows() -> Vec<FaultWindow> {
    vec![
        window(60.0, 75.0, "crash n1", "crash"),
        window(110.0, 140.0, "partition n0 | n1,n2", "partition"),
        window(125.0, 135.0, "clog n1->n2", "clog"),
        window(150.0, 155.0, "pause n2", "pause"),
        // A crash that was never healed before the workload stopped.
        window(172.0, 240.0, "crash n0", "crash"),
    ]
}

fn run_marks() -> Vec<Mark> {
    vec![
        mark(0.4, "leader n1 (epoch 1)"),
        mark(62.1, "leader n2 (epoch 2)"),
        mark(140.0, "heal all"),
    ]
}

/// One client write through ZAB on three replicas (leader n0), a ping round, a lost ACK and a
/// crash of n2.
fn trace() -> (Vec<String>, Vec<Arrow>, Vec<FaultWindow>, Vec<Mark>) {
    let lanes = ["client c1", "n0", "n1", "n2"].map(String::from).to_vec();
    let mut arrows = Vec::new();
    let mut send = |from: usize, to: usize, sent: f64, delay: Option<f64>, label: &str| {
        arrows.push(Arrow {
            from,
            to,
            sent_ms: sent,
            received_ms: delay.map(|d| sent + d),
            label: label.to_string(),
        });
    };
    // Election settled; n0 leads. A write from c1 arrives at follower n1.
    send(0, 2, 10.0, Some(1.2), "create /a");
    send(2, 1, 11.4, Some(0.9), "REQUEST");
    send(1, 2, 12.5, Some(1.1), "PROPOSAL");
    send(1, 3, 12.5, Some(1.6), "PROPOSAL");
    send(2, 1, 14.0, Some(0.8), "ACK");
    send(3, 1, 14.6, None, "ACK");
    send(1, 2, 15.0, Some(1.0), "COMMIT");
    send(1, 3, 15.0, Some(1.3), "COMMIT");
    send(2, 0, 16.2, Some(1.1), "reply ok");
    // Pings.
    send(1, 2, 20.0, Some(0.9), "PING");
    send(1, 3, 20.0, Some(1.0), "PING");
    send(2, 1, 21.1, Some(0.9), "PING");
    send(3, 1, 21.2, Some(1.2), "PING");
    // A second write while n2 is down: the quorum is n0 and n1.
    send(0, 2, 30.0, Some(1.0), "set_data /a");
    send(2, 1, 31.1, Some(0.9), "REQUEST");
    send(1, 2, 32.2, Some(1.0), "PROPOSAL");
    send(1, 3, 32.2, None, "PROPOSAL");
    send(2, 1, 33.6, Some(0.9), "ACK");
    send(1, 2, 34.7, Some(1.0), "COMMIT");
    send(2, 0, 35.9, Some(1.1), "reply ok");
    send(2, 2, 36.0, Some(4.0), "session tick");
    let windows = vec![window(0.029, 0.040, "crash n2", "crash")];
    let marks = vec![
        mark(0.005, "leader n0 (epoch 1)"),
        mark(0.040, "restart n2"),
    ];
    (lanes, arrows, windows, marks)
}

/// A busy trace of `count` messages among five replicas.
fn busy_trace(count: u32) -> (Vec<String>, Vec<Arrow>) {
    let lanes = ["n0", "n1", "n2", "n3", "n4"].map(String::from).to_vec();
    let mut rng = Rng(11);
    let arrows = (0..count)
        .map(|i| {
            let from = (rng.next() % 5) as usize;
            let to = (from + 1 + (rng.next() % 4) as usize) % 5;
            let sent = f64::from(i) * 3.0 + rng.unit();
            let lost = rng.unit() < 0.05;
            Arrow {
                from,
                to,
                sent_ms: sent,
                received_ms: (!lost).then(|| sent + 0.5 + rng.exponential(1.5)),
                label: ["APPEND", "APPEND_OK", "VOTE", "HEARTBEAT"][(rng.next() % 4) as usize]
                    .to_string(),
            }
        })
        .collect();
    (lanes, arrows)
}

/// Pictures of data with almost nothing in it, which must still read sensibly.
fn degenerate(dir: &std::path::Path) -> Result<(), reports::ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| reports::ReportError::Draw {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let one = [OpSample {
        start_ms: 1200.0,
        latency_ms: 3.5,
        op: "create".to_string(),
        outcome: Outcome::Ok,
    }];
    let zero: Vec<OpSample> = (0..20)
        .map(|i| OpSample {
            start_ms: f64::from(i) * 50.0,
            latency_ms: if i == 7 { 800.0 } else { 0.0 },
            op: "sync".to_string(),
            outcome: if i == 7 { Outcome::Info } else { Outcome::Ok },
        })
        .collect();
    let past = [window(1.0, 60.0, "crash n0", "crash")];
    reports::latency_over_time(
        dir.join("one-sample.png"),
        "one sample",
        &one,
        &past,
        &[],
        &[],
    )?;
    reports::latency_quantiles(
        dir.join("one-sample-quantiles.png"),
        "one sample",
        &one,
        &[],
    )?;
    reports::throughput(
        dir.join("one-sample-throughput.png"),
        "one sample",
        &one,
        &past,
        &[],
        1000.0,
    )?;
    reports::latency_over_time(
        dir.join("zero-latency.png"),
        "zero latencies and one give-up",
        &zero,
        &[],
        &[],
        &[],
    )?;
    let lanes = ["n0", "n1", "n2"].map(String::from);
    reports::message_diagram_png(
        dir.join("no-messages.png"),
        "no messages",
        &lanes,
        &[],
        &past,
        &[],
    )?;
    reports::comparison_bars(dir.join("no-bars.png"), "nothing to compare", "metric", &[])
}

fn main() -> Result<(), reports::ReportError> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/gallery".to_string()),
    );
    std::fs::create_dir_all(&out).map_err(|e| reports::ReportError::Draw {
        path: out.clone(),
        message: e.to_string(),
    })?;
    let samples = run_samples();
    let windows = run_windows();
    let marks = run_marks();
    let title = "zab-3 · leader crash, partition, clog, pause · seed 42";

    reports::latency_over_time(
        out.join("latency.png"),
        title,
        &samples,
        &windows,
        &marks,
        &[],
    )?;
    reports::latency_quantiles(out.join("latency-quantiles.png"), title, &samples, &[])?;
    reports::throughput(
        out.join("throughput.png"),
        title,
        &samples,
        &windows,
        &[],
        1000.0,
    )?;

    // The same run judged failing: a durability violation at a moment, a liveness window, and a
    // check that could not decide.
    let failures = [
        FailedCheck {
            check: "durability".to_string(),
            undecided: false,
            at_ms: Some(61_200.0),
            until_ms: None,
        },
        FailedCheck {
            check: "liveness".to_string(),
            undecided: false,
            at_ms: Some(140_000.0),
            until_ms: Some(150_000.0),
        },
        FailedCheck {
            check: "linearizable".to_string(),
            undecided: true,
            at_ms: None,
            until_ms: None,
        },
    ];
    let failing = "zab-3 · the same run, failing · seed 42";
    reports::latency_over_time(
        out.join("latency-failing.png"),
        failing,
        &samples,
        &windows,
        &marks,
        &failures,
    )?;
    reports::latency_quantiles(
        out.join("latency-quantiles-failing.png"),
        failing,
        &samples,
        &failures,
    )?;
    reports::throughput(
        out.join("throughput-failing.png"),
        failing,
        &samples,
        &windows,
        &failures,
        1000.0,
    )?;

    // A calm run: latency stays on a linear axis.
    let calm: Vec<OpSample> = samples
        .iter()
        .filter(|s| s.start_ms < 55_000.0 && s.outcome != Outcome::Info)
        .cloned()
        .collect();
    reports::latency_over_time(
        out.join("latency-calm.png"),
        "zab-3 · calm · seed 1",
        &calm,
        &[],
        &[],
        &[],
    )?;
    reports::latency_over_time(
        out.join("latency-empty.png"),
        "zab-3 · no operations",
        &[],
        &windows,
        &marks,
        &[],
    )?;

    let (lanes, arrows, trace_windows, trace_marks) = trace();
    let diagram_title = "zab-3 · two writes, a lost ACK, n2 crashes and restarts";
    reports::message_diagram(
        out.join("messages.svg"),
        diagram_title,
        &lanes,
        &arrows,
        &trace_windows,
        &trace_marks,
    )?;
    reports::message_diagram_png(
        out.join("messages.png"),
        diagram_title,
        &lanes,
        &arrows,
        &trace_windows,
        &trace_marks,
    )?;
    // A busy stretch at full scale, and a long run to show the cap.
    let (busy_lanes, busy_arrows) = busy_trace(30);
    reports::message_diagram_png(
        out.join("messages-busy.png"),
        "raft-5 · a busy stretch",
        &busy_lanes,
        &busy_arrows,
        &[],
        &[],
    )?;
    let (long_lanes, long_arrows) = busy_trace(400);
    reports::message_diagram_png(
        out.join("messages-capped.png"),
        "raft-5 · a long run",
        &long_lanes,
        &long_arrows,
        &[],
        &[],
    )?;

    let p99: Vec<(String, f64)> = [
        ("zab", 4.8),
        ("zab/sync-through-quorum", 6.1),
        ("zab/ack-before-fsync", 2.9),
        ("raft", 5.2),
        ("multi-paxos", 5.7),
    ]
    .map(|(name, v)| (name.to_string(), v))
    .to_vec();
    reports::comparison_bars(
        out.join("compare.png"),
        "p99 write latency by variant",
        "p99 latency (ms)",
        &p99,
    )?;

    degenerate(&out.join("degenerate"))?;

    let json = serde_json::to_string_pretty(&reports::quantiles(&samples)).unwrap_or_default();
    println!("{json}");
    println!("wrote the gallery to {}", out.display());
    Ok(())
}
