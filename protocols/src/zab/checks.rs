//! ZAB's milestones as the shared replication checks read them (`crate::replication`): durability,
//! prefix agreement, one leader per epoch and the protocol's assertions, the recovery metrics and
//! the plot marks are computed there; this module maps `ZabEvent` onto `Milestone` and adds what
//! only ZAB has (Fast Leader Election decisions).
//!
//! This module reads a finished world and never changes it.

use super::Zab;
use crate::cluster::{Metric, Node, ProtocolReport};
pub use crate::replication::History;
use crate::replication::invariants::{self, Milestone, Milestones};
use crate::znode::Zxid;
use sim::{NodeId, World};

/// What a ZAB replica reports.
#[derive(Clone, Debug)]
pub enum ZabEvent {
    /// The replica looks for a leader. `lost_epoch` is the epoch of the established leadership it
    /// just lost (as leader, or as a follower past UPTODATE).
    Looking {
        why: &'static str,
        lost_epoch: Option<u32>,
    },
    /// Fast Leader Election decided for `leader` in `round`.
    Decided { leader: NodeId, round: u64 },
    /// This replica is the established leader of `epoch`: a quorum acked its NEWLEADER.
    Established { epoch: u32, history: History },
    /// The leader committed `zxid` with a quorum of acks.
    Committed { zxid: Zxid, chain: u64 },
    /// The replica applied the transaction `zxid` (or loaded a snapshot at it); `chain` digests its
    /// history up to there.
    Applied { zxid: Zxid, chain: u64 },
    /// A protocol assertion failed.
    Violation(String),
}

impl Milestones for ZabEvent {
    fn milestone(&self) -> Option<Milestone<'_>> {
        Some(match self {
            ZabEvent::Looking {
                lost_epoch: Some(epoch),
                ..
            } => Milestone::LeadershipLost {
                term: u64::from(*epoch),
            },
            ZabEvent::Looking { .. } | ZabEvent::Decided { .. } => return None,
            ZabEvent::Established { epoch, history } => Milestone::Established {
                term: u64::from(*epoch),
                history,
            },
            // A transaction is committed in the epoch its zxid names.
            &ZabEvent::Committed { zxid, chain } => Milestone::Committed {
                term: u64::from(zxid.epoch()),
                zxid,
                chain,
            },
            &ZabEvent::Applied { zxid, chain } => Milestone::Applied { zxid, chain },
            ZabEvent::Violation(what) => Milestone::Violation(what),
        })
    }
}

/// The invariants, metrics and plot marks of a finished run.
pub fn report(world: &World<Node<Zab>>) -> ProtocolReport {
    let mut report = invariants::report(world, "epoch");
    let decisions = world
        .observations()
        .iter()
        .filter(|o| {
            matches!(
                &o.observation,
                crate::cluster::Obs::Replica(ZabEvent::Decided { .. })
            )
        })
        .count();
    report.metrics.insert(
        "fle_decision_count".to_string(),
        Metric::Count(decisions as u64),
    );
    report
}
