//! Swarm testing: a whole scenario drawn from the seed (`zksim run --swarm`), as TigerBeetle's
//! VOPR draws its cluster, network, faults and workload. Hand-written scenarios explore the paths
//! their authors thought of; a swarm explores combinations nobody wrote down (Groce et al., "Swarm
//! Testing", ISSTA 2012: leaving features out at random finds bugs that always-on features mask).
//!
//! The space is documented in `docs/swarm.md` and drawn here, from the seed's own `swarm` stream,
//! with integer draws only (every number is a whole count of tenths of a millisecond, a percent
//! or a weight), so that the scenario reads well and is the same on every machine. Faults stay
//! within the budget that keeps a failure a real bug: at most a minority of replicas down, every
//! fault undone when the window closes, a liveness phase after it. The drawn scenario is valid by
//! construction (it goes through `Scenario::parse` like a file).

use crate::runner::PROTOCOLS;
use crate::scenario::Scenario;
use rand::RngExt;
use serde_json::{Value, json};
use sim::rng::{SimRng, Streams};
use std::path::Path;

/// The name of every drawn scenario (its store folders are `store/swarm/...`).
pub const NAME: &str = "swarm";

/// Operation kinds a workload may mix (`docs/scenario-format.md`).
const OPS: &[&str] = &[
    "create",
    "create_sequential",
    "create_ephemeral",
    "delete",
    "set_data",
    "get_data",
    "exists",
    "get_children",
    "sync_read",
    "multi",
    "reconnect",
];

/// Random fault kinds a swarm may turn on.
const FAULTS: &[&str] = &[
    "crash",
    "crash-leader",
    "pause",
    "pause-leader",
    "partition",
    "isolate-leader",
    "one-way",
    "clog",
    "isolate-client",
];

/// Milliseconds from a count of tenths.
fn tenths(rng: &mut SimRng, lo: u32, hi: u32) -> f64 {
    f64::from(rng.random_range(lo..=hi)) / 10.0
}

fn chance(rng: &mut SimRng, percent: u32) -> bool {
    rng.random_range(0..100) < percent
}

/// A latency distribution: uniform, long-tailed lognormal or exponential.
fn latency(rng: &mut SimRng) -> Value {
    match rng.random_range(0..3) {
        0 => {
            let min = tenths(rng, 1, 10);
            json!({ "dist": "uniform", "min_ms": min, "max_ms": min + tenths(rng, 5, 50) })
        }
        1 => json!({
            "dist": "lognormal",
            "median_ms": tenths(rng, 5, 20),
            "sigma": tenths(rng, 2, 10),
            "cap_ms": 50.0,
        }),
        _ => json!({
            "dist": "exponential",
            "base_ms": tenths(rng, 2, 10),
            "mean_ms": tenths(rng, 5, 30),
            "cap_ms": 50.0,
        }),
    }
}

/// A probability of `percent_max` percent at most, or none at `none_percent` percent.
fn sometimes_percent(rng: &mut SimRng, none_percent: u32, percent_max: u32) -> Value {
    if chance(rng, none_percent) {
        json!(0)
    } else {
        json!(format!("{}%", rng.random_range(1..=percent_max)))
    }
}

/// The scenario `seed` draws, for `protocol`.
pub fn draw(seed: u64, protocol: &str) -> Scenario {
    let rng = &mut Streams::new(seed).stream("swarm");
    let max_replicas = PROTOCOLS
        .iter()
        .find(|p| p.name == protocol)
        .map_or(1, |p| p.max_replicas);
    let replicas = if max_replicas < 3 {
        max_replicas
    } else if chance(rng, 60) {
        3
    } else {
        5
    };
    let clients = rng.random_range(1..=8);
    let duration_ms = 1_000 * rng.random_range(15..=30);
    let liveness_ms = 8_000;
    let window_start = 100 * rng.random_range(2..=20);
    let window_end = duration_ms - liveness_ms - 100 * rng.random_range(0..=20);
    let mut mix = serde_json::Map::new();
    for op in OPS {
        let weight = if chance(rng, 70) {
            rng.random_range(1..=20)
        } else {
            0
        };
        mix.insert(op.to_string(), json!(weight));
    }
    // Writes keep the history interesting.
    if mix["set_data"] == json!(0) {
        mix.insert("set_data".into(), json!(rng.random_range(1..=20)));
    }
    let mut kinds = serde_json::Map::new();
    for kind in FAULTS {
        if chance(rng, 50) {
            kinds.insert(kind.to_string(), json!(rng.random_range(1..=4)));
        }
    }
    if kinds.is_empty() {
        let kind = FAULTS[rng.random_range(0..FAULTS.len())];
        kinds.insert(kind.to_string(), json!(1));
    }
    let every_min = 100 * rng.random_range(1..=8);
    let duration_min = 50 * rng.random_range(1..=10);
    let think_min = rng.random_range(0..=5);
    let unsynced = ["lose-all", "lose-all", "keep-prefix", "tear-last"][rng.random_range(0..4)];
    let client_latency = if chance(rng, 50) {
        Value::Null
    } else {
        latency(rng)
    };
    let scenario = json!({
        "name": NAME,
        "description": format!(
            "Drawn by `zksim run --swarm --seed {seed}` from the space of docs/swarm.md."
        ),
        "seed": seed,
        "cluster": { "replicas": replicas, "protocol": protocol },
        "network": {
            "latency": latency(rng),
            "client_latency": client_latency,
            "loss": sometimes_percent(rng, 50, 5),
            "duplicate": sometimes_percent(rng, 60, 5),
        },
        "disk": {
            "fsync_latency": {
                "dist": "uniform",
                "min_ms": tenths(rng, 2, 20),
                "max_ms": 2.0 + tenths(rng, 5, 150),
            },
            "unsynced_on_crash": unsynced,
        },
        "workload": {
            "clients": clients,
            "duration_ms": duration_ms,
            "think_ms": [think_min, think_min + rng.random_range(1..=30)],
            "mix": mix,
            "keys": rng.random_range(1..=8),
            "watch": if chance(rng, 30) { json!(0) } else { json!(format!("1/{}", rng.random_range(2..=8))) },
            "session_timeout_ms": 500 * rng.random_range(2..=12),
        },
        "faults": {
            "window_ms": [window_start, window_end],
            "random": {
                "every_ms": [every_min, every_min + 100 * rng.random_range(1..=20)],
                "duration_ms": [duration_min, duration_min + 100 * rng.random_range(1..=30)],
                "kinds": kinds,
                "mid_handler": if chance(rng, 50) { json!(0) } else { json!(format!("1/{}", rng.random_range(2..=8))) },
            },
        },
        "checks": { "liveness_ms": liveness_ms },
    });
    let mut scenario = scenario;
    if scenario["network"]["client_latency"].is_null() {
        scenario["network"]
            .as_object_mut()
            .expect("an object")
            .remove("client_latency");
    }
    let text = serde_json::to_string_pretty(&scenario).expect("json serializes");
    Scenario::parse(&text, Path::new("(swarm)"), PROTOCOLS)
        .unwrap_or_else(|e| panic!("the swarm drew a scenario it cannot run, a bug in zksim: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_draw_is_valid_and_the_same_for_the_same_seed() {
        let mut replicas = std::collections::BTreeSet::new();
        for seed in 0..300 {
            let s = draw(seed, "zab");
            assert_eq!(s, draw(seed, "zab"));
            assert_eq!(s.seed, Some(seed));
            replicas.insert(s.cluster.replicas);
        }
        assert_eq!(replicas.into_iter().collect::<Vec<_>>(), [3, 5]);
        assert_eq!(draw(7, "reference").cluster.replicas, 1);
        assert_ne!(draw(1, "zab"), draw(2, "zab"));
    }
}
