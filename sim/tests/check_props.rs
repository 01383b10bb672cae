//! Property tests of the linearizability checker against a brute-force oracle that tries every
//! order of the operations (no memo, no list tricks, no partitioning): histories made from a
//! random sequential execution with random interval overlap are accepted; the same histories with
//! one answer corrupted get the oracle's verdict; small random histories get the oracle's verdict;
//! and the same history always gets the same result, counterexample included.

use proptest::prelude::*;
use sim::check::models::kv::{KvInput, KvOutput};
use sim::check::models::register::{RegisterInput, RegisterOutput};
use sim::check::models::{Kv, Register, Value};
use sim::check::{Budget, CheckResult, Model, Operation, Verdict, check};
use std::sync::Arc;

/// Whether some order of `ops` respecting real time explains every answer, trying them all.
/// Indeterminate operations (`ret == u64::MAX`) may be left out.
fn brute_force<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> bool {
    fn go<M: Model>(
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
        placed: &mut Vec<bool>,
        state: &M::State,
    ) -> bool {
        let pending = |i: usize, placed: &Vec<bool>| !placed[i];
        if (0..ops.len()).all(|i| !pending(i, placed) || ops[i].ret == u64::MAX) {
            return true;
        }
        // An operation can go next if no pending operation completed before it was invoked.
        let first_ret = (0..ops.len())
            .filter(|&i| pending(i, placed))
            .map(|i| ops[i].ret)
            .min()
            .unwrap();
        for i in 0..ops.len() {
            if pending(i, placed)
                && ops[i].call <= first_ret
                && let Some(next) = model.step(state, &ops[i].input, ops[i].output.as_ref())
            {
                placed[i] = true;
                let ok = go(model, ops, placed, &next);
                placed[i] = false;
                if ok {
                    return true;
                }
            }
        }
        false
    }
    go(model, ops, &mut vec![false; ops.len()], &model.init())
}

fn fast<M>(model: &M, ops: &[Operation<M::Input, M::Output>]) -> CheckResult
where
    M: Model + Clone + Send + 'static,
    M::Input: 'static,
    M::Output: 'static,
{
    check(
        Arc::new(model.clone()),
        ops.to_vec().into(),
        &Budget::unlimited(),
    )
    .unwrap()
}

fn is_linearizable(result: &CheckResult) -> bool {
    match &result.verdict {
        Verdict::Linearizable => true,
        Verdict::Violation(_) => false,
        Verdict::Unknown(reason) => panic!("unlimited budget gave unknown: {reason}"),
    }
}

fn register() -> Register {
    Register {
        initial: Value::Nil,
        nil_read_unknown: false,
        cas: true,
    }
}

fn val(v: u8) -> Value {
    Value::Int(i64::from(v))
}

/// One operation of a generated execution: what it does, whether its answer is lost (`info`),
/// whether a lost one took effect, and how far its interval reaches around its instant.
#[derive(Clone, Debug)]
struct Planned {
    kind: u8,
    a: u8,
    b: u8,
    lost: bool,
    took_effect: bool,
    before: u64,
    after: u64,
}

fn planned() -> impl Strategy<Value = Planned> {
    (
        0u8..3,
        0u8..3,
        0u8..3,
        prop::bool::weighted(0.15),
        any::<bool>(),
        0u64..40,
        0u64..40,
    )
        .prop_map(|(kind, a, b, lost, took_effect, before, after)| Planned {
            kind,
            a,
            b,
            lost,
            took_effect,
            before,
            after,
        })
}

/// Runs the plan sequentially on a cas-register: operation i takes effect at instant 100 * i + 50,
/// inside an interval stretched randomly around it, so that the sequential order is one
/// linearization and intervals overlap at random.
fn register_history(plan: &[Planned]) -> Vec<Operation<RegisterInput, RegisterOutput>> {
    let model = register();
    let mut state = model.init();
    let mut ops = Vec::new();
    for (i, p) in plan.iter().enumerate() {
        let input = match p.kind {
            0 => RegisterInput::Read,
            1 => RegisterInput::Write(val(p.a)),
            _ => RegisterInput::Cas(val(p.a), val(p.b)),
        };
        let output = match &input {
            RegisterInput::Read => RegisterOutput::Read(state.clone()),
            RegisterInput::Write(_) => RegisterOutput::Written,
            RegisterInput::Cas(from, _) if *from == state => RegisterOutput::Swapped,
            RegisterInput::Cas(..) => RegisterOutput::CasFailed,
        };
        if !p.lost || p.took_effect {
            state = model.step(&state, &input, Some(&output)).unwrap();
        }
        let instant = 100 * i as u64 + 50;
        ops.push(Operation {
            process: i as u64,
            input,
            output: (!p.lost).then_some(output),
            call: instant - p.before,
            ret: if p.lost { u64::MAX } else { instant + p.after },
            line: i + 1,
        });
    }
    ops
}

/// Changes the answer of the `which`-th determinate operation to a different one.
fn corrupt(ops: &mut [Operation<RegisterInput, RegisterOutput>], which: usize, to: u8) -> bool {
    let determinate: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].output.is_some())
        .collect();
    let Some(&i) = determinate.get(which % determinate.len().max(1)) else {
        return false;
    };
    let new = match (&ops[i].input, ops[i].output.as_ref().unwrap()) {
        (RegisterInput::Read, RegisterOutput::Read(v)) => {
            let mut w = if to == 3 { Value::Nil } else { val(to) };
            if w == *v {
                w = val(to + 1);
            }
            RegisterOutput::Read(w)
        }
        (RegisterInput::Cas(..), RegisterOutput::Swapped) => RegisterOutput::CasFailed,
        (RegisterInput::Cas(..), _) => RegisterOutput::Swapped,
        // A write has nothing to corrupt; move its interval instead, to before everything.
        (RegisterInput::Write(_), _) => {
            ops[i].call = 0;
            ops[i].ret = 1;
            return true;
        }
        _ => unreachable!(),
    };
    ops[i].output = Some(new);
    true
}

/// The counterexample core's claim, checked by brute force: with every other operation relaxed
/// (made indeterminate) the history is still not linearizable; when the core is marked minimal,
/// relaxing any one of its operations too makes it linearizable.
fn core_claims_hold(
    result: &CheckResult,
    ops: &[Operation<RegisterInput, RegisterOutput>],
) -> Result<(), TestCaseError> {
    let Verdict::Violation(cx) = &result.verdict else {
        return Ok(());
    };
    let core: Vec<usize> = cx.core.iter().map(|op| op.index).collect();
    let relaxed_but = |keep: &dyn Fn(usize) -> bool| {
        let mut relaxed = ops.to_vec();
        for (i, op) in relaxed.iter_mut().enumerate() {
            if !keep(i) {
                op.output = None;
                op.ret = u64::MAX;
            }
        }
        relaxed
    };
    prop_assert!(!core.is_empty());
    prop_assert!(!brute_force(
        &register(),
        &relaxed_but(&|i| core.contains(&i))
    ));
    if cx.core_minimal {
        for &c in &core {
            let history = relaxed_but(&|i| i != c && core.contains(&i));
            prop_assert!(
                brute_force(&register(), &history),
                "core operation {} is not needed",
                c
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn sequential_executions_with_overlap_are_accepted(plan in prop::collection::vec(planned(), 0..40)) {
        let ops = register_history(&plan);
        let result = fast(&register(), &ops);
        prop_assert!(is_linearizable(&result), "{:?}", result.verdict);
    }

    #[test]
    fn one_corrupted_answer_is_rejected_unless_still_explainable(
        plan in prop::collection::vec(planned(), 1..8),
        which in 0usize..8,
        to in 0u8..4,
    ) {
        let mut ops = register_history(&plan);
        prop_assume!(corrupt(&mut ops, which, to));
        let result = fast(&register(), &ops);
        prop_assert_eq!(is_linearizable(&result), brute_force(&register(), &ops));
        core_claims_hold(&result, &ops)?;
        // Deterministic, counterexample and effort included.
        prop_assert_eq!(&result, &fast(&register(), &ops));
    }

    #[test]
    fn fast_agrees_with_brute_force_on_small_random_histories(
        raw in prop::collection::vec((0u8..3, 0u8..3, 0u8..3, 0u8..4, 0u64..60, 0u64..30, prop::bool::weighted(0.2)), 0..7),
    ) {
        // Random answers, random intervals: most of these are not linearizable.
        let ops: Vec<_> = raw.iter().enumerate().map(|(i, &(kind, a, b, answer, call, len, lost))| {
            let input = match kind {
                0 => RegisterInput::Read,
                1 => RegisterInput::Write(val(a)),
                _ => RegisterInput::Cas(val(a), val(b)),
            };
            let output = match kind {
                0 => RegisterOutput::Read(if answer == 3 { Value::Nil } else { val(answer) }),
                1 => RegisterOutput::Written,
                _ if answer % 2 == 0 => RegisterOutput::Swapped,
                _ => RegisterOutput::CasFailed,
            };
            Operation {
                process: i as u64,
                input,
                output: (!lost).then_some(output),
                call,
                ret: if lost { u64::MAX } else { call + len },
                line: i + 1,
            }
        }).collect();
        let result = fast(&register(), &ops);
        prop_assert_eq!(is_linearizable(&result), brute_force(&register(), &ops));
        core_claims_hold(&result, &ops)?;
    }

    #[test]
    fn kv_split_by_key_agrees_with_brute_force_on_the_whole(
        raw in prop::collection::vec((0u8..3, 0u8..2, 0u8..3, 0u64..60, 0u64..30), 0..7),
    ) {
        let kv = Kv::new(None).unwrap();
        let key = |k: u8| Arc::<str>::from(k.to_string());
        let text = |t: u8| Arc::<str>::from(["", "a", "ab"][t as usize]);
        let ops: Vec<_> = raw.iter().enumerate().map(|(i, &(kind, k, t, call, len))| {
            let (input, output) = match kind {
                0 => (KvInput::Get(key(k)), KvOutput::Got(Some(text(t)))),
                1 => (KvInput::Put(key(k), text(t)), KvOutput::Done),
                _ => (KvInput::Append(key(k), text(t)), KvOutput::Done),
            };
            Operation { process: i as u64, input, output: Some(output), call, ret: call + len, line: i + 1 }
        }).collect();
        let result = fast(&kv, &ops);
        prop_assert_eq!(is_linearizable(&result), brute_force(&kv, &ops));
    }
}
