//! Shrinking a failing run (`zksim shrink`): from a scenario and a seed whose run fails a check,
//! to a much smaller scenario that fails the same check with the same seed, written as a scenario
//! file that `zksim run` replays.
//!
//! First the run is *frozen*: the random faults that fired become scripted faults at the times
//! they fired, on the nodes they hit (`FaultRecord::spec`), so that faults can be dropped one by
//! one. Then it is shrunk greedily, one kind of reduction at a time, in a fixed order: drop faults
//! (halves, quarters, ... then single faults, each with what undoes it), shorten what is left of
//! them, drop clients, drop replicas (5 → 3), shorten the workload and the run, drop operation
//! kinds and watches, calm the network, narrow the key space. A step is kept only if the run
//! still fails the same check; after a kept step the reductions start over.
//!
//! The search is bounded by a number of runs, never by time, and every candidate is a pure
//! function of the scenario so far, so the result is the same on every machine and for any
//! number of worker threads: candidates of one kind may be run in parallel, but the first that
//! still fails, in the fixed order, is the one kept, and only the runs up to it are counted. (A
//! history check that runs out of its wall-clock budget is `unknown`, which does not count as
//! failing: on a much slower machine a candidate might then be refused that was kept elsewhere.)

use crate::runner::{self, PROTOCOLS, RunOptions, Verdict};
use crate::scenario::Scenario;
use rayon::prelude::*;
use sim::nemesis::{FaultKind, FaultSpec, NodeRef};
use std::fmt;

/// How a scenario is run to judge a candidate.
pub struct Target {
    pub seed: u64,
    /// The variant to run (given on the command line); the shrunk file names it.
    pub variant: Option<String>,
    /// The check that must keep failing; by default the first check the original run failed.
    pub check: Option<String>,
    /// The most runs the search may make.
    pub max_runs: usize,
}

/// How big a run is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Size {
    /// Faults that fired (crash, pause, partition, isolate, cut, clog; not what undid them).
    pub faults: usize,
    /// Operations the clients invoked.
    pub ops: u64,
    pub clients: u32,
    pub replicas: u32,
    /// The workload's length.
    pub duration_ms: f64,
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} faults, {} operations, {} clients, {} replicas, {} ms",
            self.faults, self.ops, self.clients, self.replicas, self.duration_ms
        )
    }
}

/// The outcome of a shrink.
pub struct Shrunk {
    /// The smallest failing scenario found: resolved (its seed and variant in it), named
    /// `<name>-shrunk`.
    pub scenario: Scenario,
    pub check: String,
    pub before: Size,
    pub after: Size,
    /// Runs made, the original one included.
    pub runs: usize,
    /// Steps kept, in order, in words.
    pub steps: Vec<String>,
    pub trace_hash: String,
}

impl Shrunk {
    /// "43 faults → 3, 5124 operations → 96, ...": what shrank.
    pub fn reductions(&self) -> String {
        let (b, a) = (self.before, self.after);
        let mut parts = vec![
            format!("{} faults → {}", b.faults, a.faults),
            format!("{} operations → {}", b.ops, a.ops),
            format!("{} clients → {}", b.clients, a.clients),
            format!("{} replicas → {}", b.replicas, a.replicas),
        ];
        if a.duration_ms < b.duration_ms {
            parts.push(format!("{} ms → {} ms", b.duration_ms, a.duration_ms));
        }
        parts.join(", ")
    }
}

/// What a run of a candidate showed.
struct Outcome {
    fails: bool,
    size: Size,
    trace_hash: String,
}

/// Runs `scenario` with the target's seed.
fn run(scenario: &Scenario, target: &Target) -> Result<runner::Run, runner::Panicked> {
    runner::run_isolated(scenario, RunOptions::new(target.seed, &scenario.name))
}

/// Runs `scenario` for the target's seed and says whether `check` failed.
fn judge(scenario: &Scenario, target: &Target, check: &str) -> Outcome {
    outcome(run(scenario, target), scenario, check)
}

fn outcome(
    run: Result<runner::Run, runner::Panicked>,
    scenario: &Scenario,
    check: &str,
) -> Outcome {
    match run {
        Ok(run) => Outcome {
            fails: run
                .results
                .checks
                .iter()
                .any(|c| c.name == check && c.verdict == Verdict::Fail),
            size: Size {
                faults: run
                    .fault_log
                    .iter()
                    .filter(|r| is_harm(r.spec.fault))
                    .count(),
                ops: run.results.ops.total(),
                clients: scenario.workload.clients,
                replicas: scenario.cluster.replicas,
                duration_ms: scenario.workload.duration_ms,
            },
            trace_hash: run.results.trace_hash,
        },
        Err(_) => Outcome {
            fails: check == "panic",
            size: Size {
                faults: 0,
                ops: 0,
                clients: scenario.workload.clients,
                replicas: scenario.cluster.replicas,
                duration_ms: scenario.workload.duration_ms,
            },
            trace_hash: String::new(),
        },
    }
}

fn is_harm(kind: FaultKind) -> bool {
    !matches!(
        kind,
        FaultKind::Restart | FaultKind::Resume | FaultKind::Heal | FaultKind::Unclog
    )
}

/// Shrinks `scenario`'s failing run. Errors: the run does not fail (or not the check asked for).
pub fn shrink(scenario: &Scenario, target: &Target) -> Result<Shrunk, String> {
    let mut scenario = scenario.clone();
    if let Some(v) = &target.variant {
        scenario.cluster.variant = Some(v.clone());
    }
    let first = run(&scenario, target);
    let (check, fault_log) = match &first {
        Err(_) => ("panic".to_string(), Vec::new()),
        Ok(run) => {
            let failed: Vec<&str> = run
                .results
                .checks
                .iter()
                .filter(|c| c.verdict == Verdict::Fail)
                .map(|c| c.name.as_str())
                .collect();
            let check = match &target.check {
                Some(c) if failed.contains(&c.as_str()) => c.clone(),
                Some(c) => {
                    return Err(format!(
                        "seed {} does not fail check {c:?} (it fails {failed:?})",
                        target.seed
                    ));
                }
                None => failed
                    .first()
                    .ok_or_else(|| format!("seed {} passes: nothing to shrink", target.seed))?
                    .to_string(),
            };
            (check, run.fault_log.clone())
        }
    };
    let original = outcome(first, &scenario, &check);
    let mut runs = 1;
    let mut steps = Vec::new();

    // Freeze the faults that fired into a script, if the failure survives it.
    if scenario.faults.random.is_some() || !scenario.faults.scripted.is_empty() {
        let frozen = freeze(&scenario, &fault_log);
        if frozen.validate(PROTOCOLS).is_ok() && judge(&frozen, target, &check).fails {
            steps.push(format!(
                "froze the {} faults that fired into a script",
                original.size.faults
            ));
            scenario = frozen;
        } else {
            steps
                .push("kept the random faults (the failure does not survive freezing them)".into());
        }
        runs += 1;
    }

    let mut last = original.trace_hash.clone();
    let mut size = original.size;
    'search: while runs < target.max_runs {
        for reduce in REDUCTIONS {
            let candidates: Vec<(String, Scenario)> = (reduce.candidates)(&scenario, &size)
                .into_iter()
                .filter(|(_, s)| *s != scenario && s.validate(PROTOCOLS).is_ok())
                .take(target.max_runs - runs)
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let outcomes: Vec<Outcome> = candidates
                .par_iter()
                .map(|(_, s)| judge(s, target, &check))
                .collect();
            match outcomes.iter().position(|o| o.fails) {
                Some(i) => {
                    runs += i + 1;
                    let (what, s) = candidates.into_iter().nth(i).expect("in range");
                    steps.push(what);
                    scenario = s;
                    size = outcomes[i].size;
                    last = outcomes[i].trace_hash.clone();
                    continue 'search;
                }
                None => runs += candidates.len(),
            }
            if runs >= target.max_runs {
                break 'search;
            }
        }
        break;
    }
    let mut shrunk = scenario.resolved(target.seed, PROTOCOLS);
    shrunk.name = shrunk_name(&scenario.name);
    Ok(Shrunk {
        scenario: shrunk,
        check,
        before: original.size,
        after: size,
        runs,
        steps,
        trace_hash: last,
    })
}

fn shrunk_name(name: &str) -> String {
    if name.ends_with("-shrunk") {
        name.to_string()
    } else {
        format!("{name}-shrunk")
    }
}

/// The scenario with its faults replaced by exactly those that fired, as a script.
fn freeze(scenario: &Scenario, log: &[sim::world::FaultRecord]) -> Scenario {
    let mut s = scenario.clone();
    let window_end = s.faults.window_ms.map(|w| w[1]);
    s.faults.random = None;
    s.faults.scripted = log
        .iter()
        .map(|r| r.spec.clone())
        // What fired after the window closed (a crash armed just before) is not a fault the
        // scenario can script there.
        .filter(|f| window_end.is_none_or(|end| f.at_ms < end || !is_harm(f.fault)))
        .collect();
    s
}

/// One kind of reduction: from the scenario so far, its candidates, smallest first where that
/// matters, each with what it did in words.
struct Reduction {
    candidates: fn(&Scenario, &Size) -> Vec<(String, Scenario)>,
}

const REDUCTIONS: &[Reduction] = &[
    Reduction {
        candidates: drop_faults,
    },
    Reduction {
        candidates: shorten_faults,
    },
    Reduction {
        candidates: fewer_clients,
    },
    Reduction {
        candidates: fewer_replicas,
    },
    Reduction {
        candidates: shorter_run,
    },
    Reduction {
        candidates: simpler_workload,
    },
    Reduction {
        candidates: calmer_network,
    },
];

/// The harmful entries of the script with, for each, the later entries that undo it.
fn fault_groups(s: &Scenario) -> Vec<Vec<usize>> {
    let script = &s.faults.scripted;
    let undoes = |u: &FaultSpec, f: &FaultSpec| match (f.fault, u.fault) {
        (FaultKind::Crash, FaultKind::Restart)
        | (FaultKind::Pause, FaultKind::Resume | FaultKind::Restart) => u.node == f.node,
        (FaultKind::Partition | FaultKind::Isolate | FaultKind::Cut, FaultKind::Heal) => true,
        (FaultKind::Clog, FaultKind::Unclog) => {
            (u.node.is_none() && u.from.is_none()) || (u.node == f.node && u.from == f.from)
        }
        _ => false,
    };
    script
        .iter()
        .enumerate()
        .filter(|(_, f)| is_harm(f.fault))
        .map(|(i, f)| {
            let undo = script
                .iter()
                .enumerate()
                .skip(i + 1)
                .find(|(_, u)| undoes(u, f))
                .map(|(j, _)| j);
            std::iter::once(i).chain(undo).collect()
        })
        .collect()
}

fn without(s: &Scenario, drop: &[usize]) -> Scenario {
    let mut t = s.clone();
    t.faults.scripted = s
        .faults
        .scripted
        .iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, f)| f.clone())
        .collect();
    t
}

/// Drop the random faults; then chunks of the scripted ones (halves, quarters, ..., singles),
/// each with what undoes it.
fn drop_faults(s: &Scenario, _: &Size) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    if s.faults.random.is_some() {
        let mut t = s.clone();
        t.faults.random = None;
        out.push(("dropped the random faults".into(), t));
    }
    let groups = fault_groups(s);
    let n = groups.len();
    let mut chunk = n.div_ceil(2).max(1);
    while n > 0 && chunk > 0 {
        for start in (0..n).step_by(chunk) {
            let end = (start + chunk).min(n);
            let drop: Vec<usize> = groups[start..end].iter().flatten().copied().collect();
            let what = if end - start == 1 {
                let f = &s.faults.scripted[groups[start][0]];
                format!("dropped the {} at {} ms", f.fault.name(), f.at_ms)
            } else {
                format!("dropped {} faults", end - start)
            };
            out.push((what, without(s, &drop)));
        }
        chunk = if chunk == 1 { 0 } else { chunk.div_ceil(2) };
    }
    out
}

/// Make each fault last a millisecond, a quarter or half as long (its undo moves earlier, or its
/// `for_ms` shrinks), shortest first.
fn shorten_faults(s: &Scenario, _: &Size) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    for g in fault_groups(s) {
        let fault = g[0];
        let f = &s.faults.scripted[fault];
        let lasts = match g[..] {
            [_, undo] => s.faults.scripted[undo].at_ms - f.at_ms,
            _ => f.for_ms.unwrap_or(0.0),
        };
        for shorter in [1.0, (lasts / 4.0).round(), (lasts / 2.0).round()] {
            if !(1.0..lasts).contains(&shorter) {
                continue;
            }
            let mut t = s.clone();
            match g[..] {
                [_, undo] => t.faults.scripted[undo].at_ms = f.at_ms + shorter,
                _ => t.faults.scripted[fault].for_ms = Some(shorter),
            }
            out.push((
                format!(
                    "the {} at {} ms lasts {shorter} ms instead of {lasts}",
                    f.fault.name(),
                    f.at_ms
                ),
                t,
            ));
        }
    }
    out
}

/// Renumber a node reference for a cluster that keeps the replicas `kept` (old ids, in order: the
/// first becomes replica 0) of `replicas`, and its first `kept_clients` clients: `None` if the node
/// is gone.
fn renumber(r: &NodeRef, replicas: u32, kept: &[u32], kept_clients: u32) -> Option<NodeRef> {
    match r {
        NodeRef::Id(i) if *i < replicas => kept
            .iter()
            .position(|k| k == i)
            .map(|new| NodeRef::Id(new as u32)),
        NodeRef::Id(i) => {
            let client = i - replicas;
            (client < kept_clients).then(|| NodeRef::Id(kept.len() as u32 + client))
        }
        role => Some(role.clone()),
    }
}

/// The scenario with only the replicas `kept` (renumbered in order) and the first `clients`
/// clients: faults naming a node that is gone are dropped, the others renumbered.
fn resized(s: &Scenario, kept: &[u32], clients: u32) -> Scenario {
    let mut t = s.clone();
    let old = s.cluster.replicas;
    let replicas = kept.len() as u32;
    let map = |r: &NodeRef| renumber(r, old, kept, clients);
    t.cluster.replicas = replicas;
    t.workload.clients = clients;
    t.faults.scripted = s
        .faults
        .scripted
        .iter()
        .filter_map(|f| {
            let mut g = f.clone();
            for field in [&mut g.node, &mut g.from, &mut g.to] {
                if let Some(r) = field {
                    *field = Some(map(r)?);
                }
            }
            if let Some(groups) = &f.groups {
                let groups: Vec<Vec<NodeRef>> = groups
                    .iter()
                    .map(|grp| grp.iter().filter_map(map).collect::<Vec<_>>())
                    .filter(|grp| !grp.is_empty())
                    .collect();
                if groups.len() < 2 {
                    return None;
                }
                g.groups = Some(groups);
            }
            Some(g)
        })
        .collect();
    if let Some(m) = t.faults.max_down {
        t.faults.max_down = Some(m.min(replicas));
    }
    t
}

fn fewer_clients(s: &Scenario, _: &Size) -> Vec<(String, Scenario)> {
    let c = s.workload.clients;
    let mut counts = vec![1, c / 2, c - 1];
    counts.retain(|&n| n >= 1 && n < c);
    counts.dedup();
    counts
        .into_iter()
        .map(|n| {
            (
                format!("{c} clients → {n}"),
                resized(s, &(0..s.cluster.replicas).collect::<Vec<_>>(), n),
            )
        })
        .collect()
}

/// Fewer replicas: the first `n` or the last `n` of them, renumbered. Keeping the last ones keeps
/// the roles that follow from ids (ZooKeeper's election prefers the highest id, so a frozen fault
/// on the leader n4 of five lands on n2, the leader of three).
fn fewer_replicas(s: &Scenario, _: &Size) -> Vec<(String, Scenario)> {
    let r = s.cluster.replicas;
    let mut out = Vec::new();
    for n in [3, 1] {
        if n >= r {
            continue;
        }
        for (which, kept) in [("first", 0..n), ("last", r - n..r)] {
            let kept: Vec<u32> = kept.collect();
            let mut t = resized(s, &kept, s.workload.clients);
            if t.faults.max_down.is_some_and(|m| m >= n) {
                t.faults.max_down = Some(n.saturating_sub(1) / 2);
            }
            out.push((format!("{r} replicas → {n} (the {which} {n})"), t));
        }
    }
    out
}

/// Shorten the workload: fewer operations per client, an earlier end (and fault window), a
/// shorter liveness phase.
fn shorter_run(s: &Scenario, size: &Size) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    let w = &s.workload;
    let per_client = w
        .ops_per_client
        .unwrap_or_else(|| size.ops.div_ceil(u64::from(w.clients.max(1))));
    for n in [per_client / 2, per_client * 3 / 4] {
        if n >= 1 && n < per_client {
            let mut t = s.clone();
            t.workload.ops_per_client = Some(n);
            out.push((format!("at most {n} operations per client"), t));
        }
    }
    // The last fault and its undo mark how early the window may close.
    let last_fault = s
        .faults
        .scripted
        .iter()
        .map(|f| f.at_ms + f.for_ms.unwrap_or(0.0))
        .fold(s.workload.start_ms, f64::max);
    if let Some(win) = s.faults.window_ms
        && last_fault + 1.0 < win[1]
    {
        let mut t = s.clone();
        let end = (last_fault + 1.0).ceil();
        t.faults.window_ms = Some([win[0].min(end), end]);
        out.push((format!("closed the fault window at {end} ms"), t));
    }
    let heal = s.faults.heal_ms();
    for liveness in [1_000.0, s.checks.liveness_ms / 2.0] {
        if liveness >= 1_000.0 && liveness < s.checks.liveness_ms {
            let mut t = s.clone();
            t.checks.liveness_ms = liveness.round();
            out.push((format!("liveness bound {} ms", t.checks.liveness_ms), t));
        }
    }
    let floor = if s.faults.is_empty() {
        s.workload.start_ms + 1.0
    } else {
        heal + s.checks.liveness_ms
    };
    for d in [floor.ceil(), ((w.duration_ms + floor) / 2.0).round()] {
        if d < w.duration_ms && d > w.start_ms {
            let mut t = s.clone();
            t.workload.duration_ms = d;
            out.push((format!("workload ends at {d} ms"), t));
        }
    }
    if s.limits.drain_ms > 1_000.0 {
        let mut t = s.clone();
        t.limits.drain_ms = 1_000.0;
        out.push(("drain of 1000 ms".into(), t));
    }
    out
}

/// Drop watches, then one operation kind at a time, then narrow the key space.
fn simpler_workload(s: &Scenario, _: &Size) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    if s.workload.watch != sim::Ratio::NEVER {
        let mut t = s.clone();
        t.workload.watch = sim::Ratio::NEVER;
        out.push(("no watches".into(), t));
    }
    for (kind, &w) in &s.workload.mix {
        if w > 0 && s.workload.mix.values().filter(|&&v| v > 0).count() > 1 {
            let mut t = s.clone();
            t.workload.mix.insert(*kind, 0);
            let name = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            out.push((format!("no {name}"), t));
        }
    }
    let keys = s.workload.keys;
    for k in [1, keys / 2] {
        if k >= 1 && k < keys {
            let mut t = s.clone();
            t.workload.keys = k;
            out.push((format!("{keys} keys → {k}"), t));
        }
    }
    out
}

/// No loss, no duplication.
fn calmer_network(s: &Scenario, _: &Size) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    if s.network.loss != sim::Ratio::NEVER {
        let mut t = s.clone();
        t.network.loss = sim::Ratio::NEVER;
        out.push(("no message loss".into(), t));
    }
    if s.network.duplicate != sim::Ratio::NEVER {
        let mut t = s.clone();
        t.network.duplicate = sim::Ratio::NEVER;
        out.push(("no duplicates".into(), t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::renumber;
    use sim::nemesis::NodeRef;

    #[test]
    fn keeping_the_last_replicas_renumbers_them_and_the_clients_after_them() {
        let kept = [2, 3, 4];
        let id = |i| Some(NodeRef::Id(i));
        // Replicas 2..5 of five become 0..3; 0 and 1 are gone.
        assert_eq!(renumber(&NodeRef::Id(4), 5, &kept, 2), id(2));
        assert_eq!(renumber(&NodeRef::Id(2), 5, &kept, 2), id(0));
        assert_eq!(renumber(&NodeRef::Id(1), 5, &kept, 2), None);
        // Client 1 (node 6) follows the three replicas; client 2 (node 7) is dropped.
        assert_eq!(renumber(&NodeRef::Id(6), 5, &kept, 2), id(4));
        assert_eq!(renumber(&NodeRef::Id(7), 5, &kept, 2), None);
    }
}
