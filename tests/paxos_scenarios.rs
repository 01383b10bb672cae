//! Every shipped replicated scenario (`scenarios/*.json` but `reference-*`), run once under
//! Multi-Paxos (`--protocol paxos`, the correct replica), passes every check the scenario enables:
//! a leader is established, the workload commits through ACCEPT/ACCEPTED, and the faults fire.
//! The many-seed evidence is a release-mode sweep (`docs/paxos.md`); this is its debug-mode smoke
//! test.

mod common;

use common::sent;

#[test]
fn every_replicated_scenario_passes_under_paxos() {
    common::every_replicated_scenario_passes("paxos", &["ACCEPT", "ACCEPTED"]);
}

/// A leader crash is followed by phase 1 at a higher ballot and a new established leader every
/// time (no leader loss left unrecovered).
#[test]
fn every_leader_crash_is_recovered_by_a_higher_ballot() {
    let run = common::run(&common::named("leader-crash-3", "paxos", "correct"), 1);
    let m = &run.results.protocol_metrics;
    assert!(m["leader_loss_count"].value() >= 3.0);
    assert_eq!(m["unrecovered_leader_loss_count"].value(), 0.0);
    assert!(m["election_count"].value() >= 4.0);
    assert!(sent(&run, "PREPARE") > 0 && sent(&run, "PROMISE") > 0);
}
