//! The checks keep their teeth under Multi-Paxos: each buggy Paxos variant is caught by a shipped
//! scenario (run with `--protocol paxos`) within a stated number of seeds, by the check that
//! names its rule, and the correct replica passes the very same seeds. The variants no shipped
//! scenario catches yet are listed, with the reason, in `NOT_YET_CAUGHT` (docs/paxos.md).
//!
//! Seeds-to-first-detection and catch counts over 10 seeds are in docs/paxos.md; this test runs
//! the first `seeds` of each, so it stays fast in debug builds.

mod common;

use protocols::cluster::Variants;
use zksim::scenario::Scenario;

/// A buggy variant, the shipped scenario that catches it, the check that fails, and how many
/// seeds (from 0) it takes.
struct Catch {
    variant: &'static str,
    scenario: &'static str,
    check: &'static str,
    seeds: u64,
}

const CATCHES: &[Catch] = &[
    Catch {
        variant: "accept-lower-ballot",
        scenario: "isolate-leader-3",
        check: "prefix-agreement",
        seeds: 1,
    },
    Catch {
        variant: "value-not-highest-ballot",
        scenario: "isolate-leader-3",
        check: "prefix-agreement",
        seeds: 2,
    },
    Catch {
        variant: "non-unique-ballots",
        scenario: "leader-crash-3",
        check: "one-leader-per-ballot",
        seeds: 1,
    },
    Catch {
        variant: "gap-no-fill",
        scenario: "isolate-leader-3",
        check: "prefix-agreement",
        seeds: 1,
    },
    Catch {
        variant: "flexible-nonintersecting",
        scenario: "isolate-leader-3",
        check: "durability",
        seeds: 1,
    },
    // PMS §2.5 flipped for promises: the acceptor both proposers reach crashes right after its
    // PROMISE leaves (a triggered crash), forgets it, and accepts the old leader's lower ballot
    // in slots the new leader fills too.
    Catch {
        variant: "promise-not-durable",
        scenario: "paxos/promise-not-durable-3",
        check: "prefix-agreement",
        seeds: 2,
    },
];

/// Buggy variants built but not caught by a shipped scenario within the seeds tried (see
/// docs/paxos.md for why and what scenario would).
const NOT_YET_CAUGHT: &[&str] = &["count-duplicate-accepts"];

fn paxos(name: &str, variant: &str) -> Scenario {
    common::named(name, "paxos", variant)
}

/// The checks that did not pass on `seed`.
fn failures(s: &Scenario, seed: u64) -> Vec<String> {
    common::run(s, seed).failed_checks()
}

#[test]
fn every_buggy_variant_is_accounted_for() {
    for v in protocols::paxos::Variant::ALL
        .iter()
        .filter(|v| v.is_buggy())
    {
        let caught = CATCHES.iter().any(|c| c.variant == v.name());
        let listed = NOT_YET_CAUGHT.contains(&v.name());
        assert!(
            caught != listed,
            "{}: stated caught by a scenario xor listed as not yet caught",
            v.name()
        );
    }
}

#[test]
fn each_buggy_variant_is_caught_within_its_stated_seeds_and_the_correct_one_passes_them() {
    for c in CATCHES {
        let s = paxos(c.scenario, c.variant);
        let caught = (0..c.seeds).any(|seed| failures(&s, seed).iter().any(|f| f == c.check));
        assert!(
            caught,
            "{} was not caught by {} ({}) within {} seeds",
            c.variant, c.scenario, c.check, c.seeds
        );
        let correct = paxos(c.scenario, "correct");
        for seed in 0..c.seeds {
            let failed = failures(&correct, seed);
            assert!(
                failed.is_empty(),
                "correct failed {failed:?} on {} seed {seed}",
                c.scenario
            );
        }
    }
}
