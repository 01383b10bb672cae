//! The entry point of a linearizability check: it splits the history with the model's
//! `partition`, searches the parts in parallel, keeps to the budget, picks the reported violation
//! deterministically (the lowest-numbered failing part), shrinks it and writes the counterexample.
//! It is the only code in `sim` that starts threads or reads the wall clock: a check runs on a
//! finished history, outside any simulated world, so neither can leak into a run.

use super::budget::{Budget, Control, UnknownReason};
use super::linear::{self, Failure, Outcome, Search};
use super::verdict::{
    CheckResult, CheckStats, Counterexample, LinearizedStep, OpRef, StuckOp, StuckReason, Verdict,
};
use super::{Error, Model, Operation};
use rayon::prelude::*;
use std::sync::Arc;

/// Model steps each part may take in the first round; each later round allows four times more.
const FIRST_ROUND_STEPS: u64 = 1 << 14;

/// The least step limit of one shrinking check (see `counterexample`).
const SHRINK_CHECK_MIN_STEPS: u64 = 20_000;

/// Shrinking may spend this many times the steps of the search that found the violation, and at
/// least `SHRINK_TOTAL_MIN_STEPS` (within `Budget::shrink_steps`).
const SHRINK_TOTAL_FACTOR: u64 = 32;
const SHRINK_TOTAL_MIN_STEPS: u64 = 200_000;

struct PartRun<'a, M: Model> {
    /// Dropped as soon as the part has its outcome, to free its memo.
    search: Option<Search<'a, M>>,
    outcome: Option<Outcome>,
    stats: linear::Stats,
}

/// Checks that `ops` is linearizable with respect to `model`, within `budget`.
///
/// With a timeout, the search runs on a worker thread and this function returns `Unknown` at the
/// deadline even if a model step never returns (the worker is told to stop and left to finish on
/// its own). The same operations always give the same verdict and the same counterexample, unless
/// the budget runs out.
pub fn check<M>(
    model: Arc<M>,
    ops: Arc<[Operation<M::Input, M::Output>]>,
    budget: &Budget,
) -> Result<CheckResult, Error>
where
    M: Model + Send + 'static,
    M::Input: 'static,
    M::Output: 'static,
{
    validate(&ops)?;
    let control = Arc::new(Control::new(budget));
    let Some(timeout) = budget.timeout else {
        return check_now(&*model, &ops, budget, &control);
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let worker_control = Arc::clone(&control);
    let worker_budget = budget.clone();
    let (worker_model, worker_ops) = (Arc::clone(&model), Arc::clone(&ops));
    // A check is outside any simulated world: the worker exists so that the caller can stop
    // waiting at the deadline even when a model step is slow.
    #[allow(clippy::disallowed_methods)]
    let spawned = std::thread::Builder::new()
        .name("zksim-check".into())
        .spawn(move || {
            let result = check_now(&*worker_model, &worker_ops, &worker_budget, &worker_control);
            // The receiver is gone if the deadline passed; the result is then unwanted.
            let _ = tx.send(result);
        });
    if spawned.is_err() {
        // No thread to spare: check here. The memory budget still holds; the deadline cannot.
        return check_now(&*model, &ops, budget, &control);
    }
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => {
            control.time_out();
            Ok(CheckResult {
                verdict: Verdict::Unknown(control.timeout_reason()),
                operations: ops.len(),
                // The worker still holds the partition; it is not worth waiting for.
                parts: 0,
                stats: CheckStats::default(),
            })
        }
    }
}

fn validate<I, O>(ops: &[Operation<I, O>]) -> Result<(), Error> {
    if ops.len() >= (u32::MAX / 2) as usize {
        return Err(Error::InvalidOperation {
            index: 0,
            reason: "more than 2^31 operations".into(),
        });
    }
    for (index, op) in ops.iter().enumerate() {
        if op.call == u64::MAX || op.ret < op.call {
            return Err(Error::InvalidOperation {
                index,
                reason: format!("returns at {} before it is called at {}", op.ret, op.call),
            });
        }
    }
    Ok(())
}

fn check_now<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    budget: &Budget,
    control: &Control,
) -> Result<CheckResult, Error> {
    let parts = model.partition(ops);
    let mut seen = vec![false; ops.len()];
    for &i in parts.iter().flatten() {
        match seen.get_mut(i) {
            Some(s) if !*s => *s = true,
            _ => {
                return Err(Error::InvalidOperation {
                    index: i,
                    reason: "the model's partition names it twice or it does not exist".into(),
                });
            }
        }
    }
    if let Some(index) = seen.iter().position(|s| !s) {
        return Err(Error::InvalidOperation {
            index,
            reason: "the model's partition leaves it out".into(),
        });
    }

    // Parts run in rounds of growing step limits. A round ends when every unfinished part has
    // reached the limit; the first round in which some part fails reports the lowest-numbered
    // failing part. Step counts do not depend on timing, so the report is the same on every run,
    // and an easy violation in one part is not held up by a hard part that happens to sort first.
    let mut runs: Vec<PartRun<'_, M>> = parts
        .iter()
        .map(|part| PartRun {
            search: Some(Search::new(model, ops, part)),
            outcome: None,
            stats: linear::Stats::default(),
        })
        .collect();
    let mut limit = FIRST_ROUND_STEPS;
    loop {
        runs.par_iter_mut()
            .filter(|run| run.outcome.is_none())
            .for_each(|run| {
                let search = run
                    .search
                    .as_mut()
                    .expect("an unfinished part keeps its search");
                let outcome = search.run(control, limit);
                if !matches!(outcome, Outcome::OutOfSteps) {
                    run.stats = search.finish(control);
                    run.search = None;
                    run.outcome = Some(outcome);
                }
            });
        let finished =
            |f: fn(&Outcome) -> bool| runs.iter().any(|run| run.outcome.as_ref().is_some_and(f));
        if finished(|o| matches!(o, Outcome::Violation(_) | Outcome::Stopped(_)))
            || runs.iter().all(|run| run.outcome.is_some())
        {
            break;
        }
        limit = limit.saturating_mul(4);
    }

    let mut stats = CheckStats::default();
    let mut unknown: Option<UnknownReason> = None;
    let mut violation: Option<(usize, Failure, u64)> = None;
    for (i, mut run) in runs.into_iter().enumerate() {
        if let Some(search) = run.search.as_mut() {
            run.stats = search.finish(control);
        }
        let s = run.stats;
        stats.steps += s.steps;
        stats.configurations += s.configurations;
        stats.states += s.states;
        stats.memo_bytes_total += s.bytes;
        stats.memo_bytes_max_part = stats.memo_bytes_max_part.max(s.bytes);
        match run.outcome {
            Some(Outcome::Violation(failure)) if violation.is_none() => {
                violation = Some((i, failure, s.steps));
            }
            Some(Outcome::Stopped(reason)) => unknown = unknown.or(Some(reason)),
            _ => {}
        }
    }
    let verdict = match (violation, unknown) {
        (Some((i, failure, steps)), _) => Verdict::Violation(Box::new(counterexample(
            model,
            ops,
            &parts,
            i,
            (failure, steps),
            budget,
            control,
        ))),
        (None, Some(reason)) => Verdict::Unknown(reason),
        (None, None) => Verdict::Linearizable,
    };
    Ok(CheckResult {
        verdict,
        operations: ops.len(),
        parts: parts.len(),
        stats,
    })
}

/// Shrinks the failing part to a small unorderable core and describes where the search got
/// stuck.
fn counterexample<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    parts: &[Vec<usize>],
    part_index: usize,
    (failure, failure_steps): (Failure, u64),
    budget: &Budget,
    control: &Control,
) -> Counterexample {
    let part = &parts[part_index];
    // The search never looked past its frontier, so the operations invoked after it can be
    // relaxed for free: the part still fails the same way. They must stay in the history,
    // though: once shrinking relaxes an earlier operation the search may get further, and there
    // they may explain what would otherwise look unexplainable.
    let mut members: Vec<usize> = part.clone();
    members.sort_by_key(|&i| (ops[i].call, i));
    let mut is_relevant = vec![false; ops.len()];
    for &k in &failure.relevant {
        is_relevant[part[k as usize]] = true;
    }
    let relevant: Vec<usize> = (0..members.len())
        .filter(|&j| is_relevant[members[j]])
        .collect();
    // Relaxing operations can make a search much harder than the one that found the violation;
    // a check allowed a few times that effort settles most candidates, and a total of some
    // dozens of times keeps the whole shrinking proportional to the check itself.
    let per_check = failure_steps.saturating_mul(4).max(SHRINK_CHECK_MIN_STEPS);
    let total = failure_steps
        .saturating_mul(SHRINK_TOTAL_FACTOR)
        .max(SHRINK_TOTAL_MIN_STEPS)
        .min(budget.shrink_steps);
    // The culprit is the operation the search could not place (`blocking`, below); with it, the
    // operations the search looked at. Those are checked to fail on their own before shrinking
    // starts from them; if they do not (or the check is too hard), shrinking starts from the
    // whole part, which is known to fail. Every set shrinking keeps was thus checked to fail.
    let blocking_index = blocking_op(ops, part, &failure.longest);
    let mut start = relevant;
    if let Some(j) = members.iter().position(|&i| i == blocking_index)
        && !start.contains(&j)
    {
        start.push(j);
        start.sort_unstable();
    }
    let mut spent = 0;
    let fails = |start: &[usize], spent: &mut u64| {
        let candidate = relax_all_but(ops, &members, start);
        let own = model.relaxed(&candidate);
        let m = own.as_ref().unwrap_or(model);
        let all: Vec<usize> = (0..members.len()).collect();
        let (outcome, stats) = linear::search(m, &candidate, &all, control, per_check);
        *spent += stats.steps;
        matches!(outcome, Outcome::Violation(_))
    };
    if start.len() < members.len() && !fails(&start, &mut spent) {
        start = (0..members.len()).collect();
    }
    let (core, core_minimal) = shrink(
        model,
        ops,
        &members,
        start,
        total.saturating_sub(spent),
        per_check,
        control,
    );

    let op_ref = |i: usize| {
        let op = &ops[i];
        OpRef {
            index: i,
            line: op.line,
            process: op.process,
            op: model.describe_operation(&op.input, op.output.as_ref()),
            call: op.call,
            ret: (op.ret != u64::MAX).then_some(op.ret),
        }
    };

    // Replay the longest prefix to show the states along it.
    let init = model.init();
    let initial_state = model.describe_state(&init);
    let mut state = init;
    let mut longest = Vec::with_capacity(failure.longest.len());
    let mut placed = vec![false; part.len()];
    for &k in &failure.longest {
        placed[k as usize] = true;
        let op = &ops[part[k as usize]];
        let before = state.clone();
        match model.step(&state, &op.input, op.output.as_ref()) {
            Some(next) => state = next,
            // A model whose step is not a function of its arguments; the search's prefix is still
            // the one it found, but the states shown stop making sense, so say so.
            None => debug_assert!(false, "model step not deterministic on replay"),
        }
        longest.push(LinearizedStep {
            op: op_ref(part[k as usize]),
            state: model.describe_state(&state),
            change: model.describe_change(&before, &state, &op.input),
        });
    }

    // At the end of that prefix the search walked the pending calls up to the earliest completion
    // of an unplaced operation and found nothing to place.
    let unplaced = (0..part.len()).filter(|&k| !placed[k]);
    let blocking_k = part
        .iter()
        .position(|&i| i == blocking_index)
        .expect("in the part");
    let blocking_ret = ops[blocking_index].ret;
    let stuck = unplaced
        .filter(|&k| ops[part[k]].call <= blocking_ret)
        .map(|k| {
            let op = &ops[part[k]];
            let why = match model.step(&state, &op.input, op.output.as_ref()) {
                Some(_) => StuckReason::DeadEnd,
                None => StuckReason::Rejected,
            };
            StuckOp {
                op: op_ref(part[k]),
                why,
            }
        })
        .collect();

    Counterexample {
        part: part_index,
        parts: parts.len(),
        part_operations: part.len(),
        core: core.into_iter().map(op_ref).collect(),
        core_minimal,
        initial_state,
        longest,
        blocking: op_ref(part[blocking_k]),
        stuck,
    }
}

/// The operation the failed search could not place: after the longest prefix it reached, the
/// unplaced determinate operation that completes first (an index into `ops`).
fn blocking_op<I, O>(ops: &[Operation<I, O>], part: &[usize], longest: &[u32]) -> usize {
    let mut placed = vec![false; part.len()];
    for &k in longest {
        placed[k as usize] = true;
    }
    (0..part.len())
        .filter(|&k| !placed[k] && ops[part[k]].ret != u64::MAX)
        .min_by_key(|&k| (ops[part[k]].ret, k))
        .map(|k| part[k])
        .expect("a failing search leaves a determinate operation unplaced")
}

/// The part `members` with every operation made indeterminate but those at positions `kept`.
fn relax_all_but<I: Clone, O: Clone>(
    ops: &[Operation<I, O>],
    members: &[usize],
    kept: &[usize],
) -> Vec<Operation<I, O>> {
    let mut keep = vec![false; members.len()];
    for &j in kept {
        keep[j] = true;
    }
    members
        .iter()
        .zip(&keep)
        .map(|(&i, &keep)| {
            let mut op = ops[i].clone();
            if !keep {
                op.output = None;
                op.ret = u64::MAX;
            }
            op
        })
        .collect()
}

/// Shrinks the operations whose answers and timing conflict. `members` is the failing part;
/// `core` the positions in it kept as observed at the start (the operations the failed search
/// looked at), all others being relaxed. It tries to *relax* more operations, making them
/// indeterminate (they may then take effect at any time after their invocation, or never), and
/// keeps a relaxation while the part stays unlinearizable. Chunks of halving size first, then
/// single operations until none can be relaxed. Returns the operations left as they were: a
/// 1-minimal core unless `max_steps` search steps run out first, or a check of the last pass
/// needed more than its cap and its operation was kept untried (then `false`).
///
/// Relaxing rather than deleting keeps the answer honest: deleting a write can itself make a read
/// unexplainable, so a deleted-down "core" may blame operations that the full history explains.
/// A relaxed operation only ever allows more orders, so every operation in the core is needed.
fn shrink<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    members: &[usize],
    mut core: Vec<usize>,
    max_steps: u64,
    per_check: u64,
    control: &Control,
) -> (Vec<usize>, bool) {
    let mut spent = 0u64;
    let all: Vec<usize> = (0..members.len()).collect();
    let mut chunk = (core.len() / 2).max(1);
    let as_indices = |core: Vec<usize>| core.into_iter().map(|j| members[j]).collect();
    loop {
        let mut removed_any = false;
        // 1-minimality is settled by the last single-operation pass alone: it removed nothing,
        // and every one of its checks reached an answer.
        let mut capped = false;
        let mut at = 0;
        while at < core.len() {
            let end = (at + chunk).min(core.len());
            let left = max_steps.saturating_sub(spent);
            if left == 0 {
                return (as_indices(core), false);
            }
            let kept: Vec<usize> = core[..at].iter().chain(&core[end..]).copied().collect();
            let candidate = relax_all_but(ops, members, &kept);
            // The model for the relaxed part: what it knew from the answers just relaxed no
            // longer holds (`Model::relaxed`).
            let own = model.relaxed(&candidate);
            let m = own.as_ref().unwrap_or(model);
            // Relaxing many operations at once is a gamble that often explodes the search; such
            // checks get an eighth of the steps of a single-operation check.
            let allowed = if end - at > 1 {
                per_check / 8
            } else {
                per_check
            };
            let cap = left.min(allowed);
            let (outcome, stats) = linear::search(m, &candidate, &all, control, cap);
            spent = spent.saturating_add(stats.steps);
            match outcome {
                Outcome::Violation(_) => {
                    core.drain(at..end);
                    removed_any = true;
                }
                Outcome::Linearizable => at = end,
                // Too hard to decide cheaply: keep the chunk, and the core may not be minimal.
                Outcome::OutOfSteps if cap == allowed => {
                    capped = true;
                    at = end;
                }
                Outcome::Stopped(_) | Outcome::OutOfSteps => return (as_indices(core), false),
            }
        }
        if chunk > 1 {
            chunk = (chunk / 2).max(1);
        } else if !removed_any {
            return (as_indices(core), !capped);
        }
    }
}
