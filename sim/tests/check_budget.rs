//! The checker's budget: a wall-clock limit or a memory limit ends in `Unknown`, never in a hang or
//! an out-of-memory, including when a single model step never returns in time. Nothing here
//! asserts how long anything took; a hang would show as a test that never finishes.

use sim::check::models::Register;
use sim::check::models::Value;
use sim::check::models::register::{RegisterInput, RegisterOutput};
use sim::check::{Budget, Model, Operation, UnknownReason, Verdict, check};
use std::sync::Arc;
use std::time::Duration;

/// `n` writes of distinct values, all concurrent, then a read of a value nobody wrote: refuting it
/// means trying every subset of the writes, 2^n configurations.
fn hard_history(n: u64) -> Vec<Operation<RegisterInput, RegisterOutput>> {
    let mut ops: Vec<_> = (0..n)
        .map(|i| Operation {
            process: i,
            input: RegisterInput::Write(Value::Int(i as i64)),
            output: Some(RegisterOutput::Written),
            call: i,
            ret: 10 * n + i,
            line: i as usize + 1,
        })
        .collect();
    ops.push(Operation {
        process: n,
        input: RegisterInput::Read,
        output: Some(RegisterOutput::Read(Value::Int(-1))),
        call: n,
        ret: 20 * n,
        line: n as usize + 1,
    });
    ops
}

fn register() -> Arc<Register> {
    Arc::new(Register {
        initial: Value::Nil,
        nil_read_unknown: false,
        cas: true,
    })
}

#[test]
fn a_hard_search_times_out_as_unknown() {
    let budget = Budget {
        timeout: Some(Duration::from_millis(300)),
        memory_bytes: None,
        ..Budget::default()
    };
    let result = check(register(), hard_history(60).into(), &budget).unwrap();
    assert!(
        matches!(
            result.verdict,
            Verdict::Unknown(UnknownReason::Timeout { .. })
        ),
        "{:?}",
        result.verdict
    );
}

#[test]
fn a_hard_search_hits_the_memory_limit_as_unknown() {
    let budget = Budget {
        timeout: None,
        memory_bytes: Some(2 << 20),
        ..Budget::default()
    };
    let result = check(register(), hard_history(60).into(), &budget).unwrap();
    assert_eq!(
        result.verdict,
        Verdict::Unknown(UnknownReason::Memory {
            limit_bytes: 2 << 20
        })
    );
}

#[test]
fn the_same_small_hard_history_without_limits_is_a_violation() {
    let result = check(register(), hard_history(8).into(), &Budget::unlimited()).unwrap();
    assert_eq!(result.verdict.name(), "violation");
}

/// A register whose every step takes far longer than the budget.
struct Sluggish;

impl Model for Sluggish {
    type State = u8;
    type Input = ();
    type Output = ();
    fn init(&self) -> u8 {
        0
    }
    fn step(&self, state: &u8, _: &(), _: Option<&()>) -> Option<u8> {
        std::thread::sleep(Duration::from_secs(30));
        Some(*state)
    }
}

#[test]
fn a_slow_model_step_cannot_hold_the_verdict_past_the_deadline() {
    let ops = vec![Operation {
        process: 0,
        input: (),
        output: Some(()),
        call: 0,
        ret: 1,
        line: 1,
    }];
    let budget = Budget {
        timeout: Some(Duration::from_millis(100)),
        ..Budget::default()
    };
    let result = check(Arc::new(Sluggish), ops.into(), &budget).unwrap();
    assert!(matches!(
        result.verdict,
        Verdict::Unknown(UnknownReason::Timeout { .. })
    ));
}

#[test]
fn inconsistent_operations_are_an_error_not_a_panic() {
    let mut ops = hard_history(2);
    ops[0].ret = 0;
    ops[0].call = 5;
    let err = check(register(), ops.into(), &Budget::unlimited()).unwrap_err();
    assert!(
        matches!(err, sim::check::Error::InvalidOperation { index: 0, .. }),
        "{err}"
    );
}
