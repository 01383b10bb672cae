//! The named variants of the Multi-Paxos replica, selected by a scenario's `cluster.variant`. The
//! correct protocol is the default; each other variant flips exactly one rule of it, in the one
//! place that rule lives, so the buggy and the correct replica share every other line of code.
//! Each variant's documentation names the rule it breaks and the paper or bug it mirrors;
//! `docs/paxos.md` says which shipped scenario catches it.
//!
//! This module only names and parses variants; the rules themselves live in the role modules, at
//! the `Variant` checks.

/// One variant of the replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Multi-Paxos as "Paxos Made Simple" §2–3 and PMMC describe it: durable promises and
    /// accepts before replying, accepts at or above the promise only, the highest-ballot value
    /// adopted per slot, unique ballots, gaps filled with no-ops, quorums of distinct acceptors.
    Correct,
}

impl Variant {
    /// Every variant, the default first.
    pub const ALL: [Variant; 1] = [Variant::Correct];

    /// Their names in scenarios, in the order of `ALL`.
    pub const NAMES: &'static [&'static str] = &["correct"];

    pub fn name(self) -> &'static str {
        let i = Variant::ALL
            .iter()
            .position(|v| *v == self)
            .expect("every variant is in ALL");
        Variant::NAMES[i]
    }

    pub fn parse(name: &str) -> Option<Variant> {
        Variant::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Variant::ALL[i])
    }

    /// Whether the variant breaks a rule Multi-Paxos needs for its guarantees.
    pub fn is_buggy(self) -> bool {
        !matches!(self, Variant::Correct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_default_comes_first() {
        for v in Variant::ALL {
            assert_eq!(Variant::parse(v.name()), Some(v));
        }
        assert_eq!(Variant::parse(Variant::NAMES[0]), Some(Variant::Correct));
        assert_eq!(Variant::parse("nope"), None);
        assert!(!Variant::Correct.is_buggy());
    }
}
