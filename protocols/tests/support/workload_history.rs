//! Znode histories for the checker's tests and benchmark, made the way the performance
//! target describes them: many concurrent sessions running zksim's client mix (`workload`'s
//! generator, plus an occasional reconnect) against one sequential server (`Standalone`), so that
//! the history is linearizable by construction, with overlapping intervals and some `info`
//! operations. It writes the history as a `zksim-history` file, exactly as a run records one, so
//! that the checker reads it the way `zksim check` does. It never checks anything itself.
//!
//! Shared by `tests/znode_model.rs` and `benches/znode_check.rs` (included with `#[path]`).

use protocols::workload::{Generator, OpKind, Planned, WorkloadConfig};
use protocols::znode::history::{invoke_line, ok_line};
use protocols::znode::server::Standalone;
use protocols::znode::{Outcome, Read, Reply, Request, SessionId, Watched, Write, ZkInput};
use rand::RngExt;
use sim::history::{Header, Line, LineType};
use sim::{SimRng, Streams};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The shape of a generated history.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Operations to invoke in total (open and close of sessions included).
    pub operations: usize,
    /// Concurrent clients, each with one session and one operation in flight at a time.
    pub sessions: u32,
    pub seed: u64,
    /// One operation in `info_one_in` loses its answer (`info`); half of those never reach the
    /// server. 0 for none.
    pub info_one_in: u32,
}

/// What one client is doing.
struct Client {
    generator: Generator,
    rng: SimRng,
    /// `None` until its `open_session` has been answered.
    session: Option<SessionId>,
    /// A request to issue as soon as the current one answers: the read after a `sync`, or the
    /// `open_session` after a reconnect's `close_session`.
    then: Option<Request>,
}

/// What happens next in the simulated world, ordered by time, then by the order of scheduling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Invoke,
    /// The server executes the request in flight.
    Execute,
    Complete,
}

/// The request a client has in flight, and its answer once executed.
struct InFlight {
    input: ZkInput,
    /// The answer and the header zxid, once the server executed it.
    answer: Option<(Outcome<Reply>, protocols::znode::Zxid)>,
    /// Never reaches the server.
    lost_before: bool,
    /// Reaches it, but the answer is lost.
    lost_after: bool,
}

/// Times are in microseconds; the history's `time` field is in nanoseconds.
const NS_PER_US: u64 = 1_000;

/// The history's text: a header line, then invocation and completion lines in time order.
pub fn generate(spec: Spec) -> String {
    let streams = Streams::new(spec.seed);
    let mut config: WorkloadConfig = serde_json::from_value(serde_json::json!({
        "clients": spec.sessions,
        "duration_ms": 1.0,
        "watch": "1/4",
    }))
    .expect("a valid workload");
    // Sessions come and go in real runs (expiry, reconnects): one operation in a thousand or so
    // is a reconnect, which closes the session with its ephemeral nodes.
    for weight in config.mix.values_mut() {
        *weight *= 10;
    }
    config.mix.insert(OpKind::Reconnect, 1);
    let mut clients: Vec<Client> = (0..spec.sessions)
        .map(|i| Client {
            generator: Generator::new(config.clone(), u64::from(i)),
            rng: streams.stream(&format!("client/{i}")),
            session: None,
            then: Some(Request::Write(Write::OpenSession)),
        })
        .collect();
    let mut net = streams.stream("network");
    let mut server = Standalone::new();
    let mut in_flight: Vec<Option<InFlight>> = (0..spec.sessions).map(|_| None).collect();
    let mut queue: BinaryHeap<Reverse<(u64, u64, Event, u32)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut schedule = |queue: &mut BinaryHeap<_>, at: u64, event: Event, client: u32| {
        seq += 1;
        queue.push(Reverse((at, seq, event, client)));
    };
    for c in 0..spec.sessions {
        schedule(&mut queue, 0, Event::Invoke, c);
    }
    let mut header = Header::new("znode");
    header.source = Some(serde_json::json!({
        "generator": "workload_history",
        "seed": spec.seed,
        "sessions": spec.sessions,
    }));
    let mut text = serde_json::to_string(&header).expect("headers serialize");
    let mut push = |line: Line| {
        text.push('\n');
        text.push_str(&serde_json::to_string(&line).expect("lines serialize"));
    };
    let mut invoked = 0usize;
    // One network delay, 200 µs to 1.5 ms; think time 1 to 20 ms.
    let delay = |rng: &mut SimRng| rng.random_range(200..1_500u64);
    while let Some(Reverse((now, _, event, c))) = queue.pop() {
        let ci = c as usize;
        let process = u64::from(c);
        match event {
            Event::Invoke => {
                if invoked == spec.operations {
                    continue;
                }
                invoked += 1;
                let client = &mut clients[ci];
                let request = match client.then.take() {
                    Some(request) => request,
                    None => match client.generator.next(&mut client.rng) {
                        Planned::One(request) => request,
                        Planned::SyncRead(path) => {
                            client.then = Some(Request::Read(Read::GetData(Watched {
                                path: path.clone(),
                                watch: false,
                            })));
                            Request::Read(Read::Sync(protocols::znode::Sync { path }))
                        }
                        Planned::Reconnect => {
                            client.then = Some(Request::Write(Write::OpenSession));
                            Request::Write(Write::CloseSession)
                        }
                    },
                };
                let opens = request == Request::Write(Write::OpenSession);
                let session = if opens { None } else { client.session };
                let input = ZkInput::new(session, request).expect("a session once opened");
                push(invoke_line(process, now * NS_PER_US, &input));
                // A lost open_session would leave the client without a session: keep those.
                let lost =
                    !opens && spec.info_one_in > 0 && net.random_range(0..spec.info_one_in) == 0;
                let lost_before = lost && net.random_range(0..2u32) == 0;
                in_flight[ci] = Some(InFlight {
                    input,
                    answer: None,
                    lost_before,
                    lost_after: lost && !lost_before,
                });
                let at = now + delay(&mut net);
                schedule(&mut queue, at, Event::Execute, c);
            }
            Event::Execute => {
                let op = in_flight[ci].as_mut().expect("a request in flight");
                if !op.lost_before {
                    let answer = server.execute(&op.input);
                    op.answer = Some((answer.outcome, answer.zxid));
                }
                let at = now + delay(&mut net);
                schedule(&mut queue, at, Event::Complete, c);
            }
            Event::Complete => {
                let op = in_flight[ci].take().expect("a request in flight");
                let client = &mut clients[ci];
                match (&op.answer, op.lost_before || op.lost_after) {
                    (Some((outcome, zxid)), false) => {
                        push(ok_line(process, now * NS_PER_US, &op.input, outcome, *zxid));
                        client.generator.observe(&op.input.request, outcome);
                        if let Outcome::Ok(Reply::Session(s)) = outcome {
                            client.session = Some(*s);
                        }
                    }
                    _ => push(Line {
                        kind: LineType::Info,
                        process,
                        f: op.input.request.name().into(),
                        value: serde_json::Value::Null,
                        time: now * NS_PER_US,
                        session: op.input.session.map(|s| s.0),
                        zxid: None,
                        server: None,
                        error: Some("connection-loss".into()),
                    }),
                }
                // A lost close_session may have closed the session: start a new one, as the
                // client would after SessionExpired.
                if op.answer.is_none() && op.input.request == Request::Write(Write::CloseSession) {
                    client.then = Some(Request::Write(Write::OpenSession));
                }
                let think = match client.then {
                    Some(_) => 0,
                    None => net.random_range(1_000..20_000u64),
                };
                schedule(&mut queue, now + think, Event::Invoke, c);
            }
        }
    }
    text.push('\n');
    text
}

/// The same history with one answer corrupted so that no order can explain it: the first
/// successful `get_data` past the middle answers data that no write ever wrote. Returns the
/// corrupted text and the line number of the corrupted answer.
pub fn corrupt_one_read(text: &str) -> (String, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let at = (lines.len() / 2..lines.len())
        .find(|&i| {
            let line: Line = serde_json::from_str(lines[i]).expect("a history line");
            line.kind == LineType::Ok && line.f == "get_data" && line.value.get("ok").is_some()
        })
        .expect("a successful get_data in the second half");
    let mut line: Line = serde_json::from_str(lines[at]).expect("a history line");
    line.value["ok"]["data"] = "never written".into();
    let corrupted = serde_json::to_string(&line).expect("lines serialize");
    let mut out: Vec<&str> = lines.clone();
    out[at] = &corrupted;
    (out.join("\n") + "\n", at + 1)
}
