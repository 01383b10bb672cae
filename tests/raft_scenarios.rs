//! Every shipped replicated scenario (`scenarios/*.json` but `reference-*`), run under Raft
//! (`--protocol raft`) once with the correct replica, passes every check the scenario enables
//! and does what its description says: faults fire, leaders are established, transactions
//! commit over AppendEntries. The sweeps over many seeds are release-mode runs (`docs/raft.md`);
//! this is their debug-mode smoke test.

mod common;

#[test]
fn every_replicated_scenario_passes_under_raft() {
    common::every_replicated_scenario_passes("raft", &["REQUEST_VOTE", "APPEND_ENTRIES"]);
}

/// The leader-crash scenario loses its leader three times and Raft recovers each time, in about
/// an election timeout.
#[test]
fn raft_recovers_from_every_leader_crash() {
    let run = common::run(&common::named("leader-crash-3", "raft", "correct"), 1);
    let m = &run.results.protocol_metrics;
    assert!(m["leader_loss_count"].value() >= 3.0, "{m:?}");
    assert_eq!(m["unrecovered_leader_loss_count"].value(), 0.0, "{m:?}");
    assert!(m["candidacy_count"].value() >= 3.0, "{m:?}");
}
