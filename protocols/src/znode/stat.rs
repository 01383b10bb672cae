//! ZooKeeper's `Stat` as a client receives it, without `ctime` and `mtime` (wall clock, never
//! reproducible; FORMAT.md "STAT"). It owns the field layout and its JSON shape; it never computes a
//! field itself: the tree derives each Stat from a node (see `tree::Node::stat`).
//!
//! The three zxid-bearing fields have the type parameter `Z`: a replica and the conformance replay
//! store real `Zxid`s, while the linearizability model stores zxids it may not have learned yet.

use super::id::{SessionId, Zxid};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stat<Z = Zxid> {
    /// The transaction that created the node.
    pub czxid: Z,
    /// The last transaction that set its data (the creating one until then).
    pub mzxid: Z,
    /// The last transaction that created or deleted a child (the creating one until then).
    pub pzxid: Z,
    /// Successful `set_data` calls so far.
    pub version: i32,
    /// `2*C - numChildren`, where C counts child creations (FORMAT.md "Stat fields").
    pub cversion: i32,
    /// ACL changes: 0 everywhere except `/zookeeper/config` (-1).
    pub aversion: i32,
    /// The owning session of an ephemeral node, `SessionId::NONE` otherwise (containers too).
    pub ephemeral_owner: SessionId,
    /// The data's length in bytes (UTF-8).
    pub data_length: i32,
    pub num_children: i32,
}

impl<Z: Copy> Stat<Z> {
    /// The same Stat with every zxid field passed through `f`, in the order czxid, mzxid, pzxid.
    pub fn map_zxids<Y>(&self, mut f: impl FnMut(Z) -> Y) -> Stat<Y> {
        Stat {
            czxid: f(self.czxid),
            mzxid: f(self.mzxid),
            pzxid: f(self.pzxid),
            version: self.version,
            cversion: self.cversion,
            aversion: self.aversion,
            ephemeral_owner: self.ephemeral_owner,
            data_length: self.data_length,
            num_children: self.num_children,
        }
    }

    /// Whether `self` and `other` are equal but for their zxids; each pair of zxids in the same
    /// field goes to `pair` (czxid, mzxid, pzxid), and a `false` from it is a `false` answer.
    pub fn same_but_zxids<Y: Copy>(
        &self,
        other: &Stat<Y>,
        pair: &mut (impl FnMut(Z, Y) -> bool + ?Sized),
    ) -> bool {
        self.version == other.version
            && self.cversion == other.cversion
            && self.aversion == other.aversion
            && self.ephemeral_owner == other.ephemeral_owner
            && self.data_length == other.data_length
            && self.num_children == other.num_children
            && pair(self.czxid, other.czxid)
            && pair(self.mzxid, other.mzxid)
            && pair(self.pzxid, other.pzxid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_the_trace_shape() {
        let stat = Stat {
            czxid: Zxid(4),
            mzxid: Zxid(11),
            pzxid: Zxid(7),
            version: 1,
            cversion: 2,
            aversion: 0,
            ephemeral_owner: SessionId::NONE,
            data_length: 2,
            num_children: 0,
        };
        let text = r#"{"czxid":4,"mzxid":11,"pzxid":7,"version":1,"cversion":2,"aversion":0,"ephemeralOwner":0,"dataLength":2,"numChildren":0}"#;
        assert_eq!(serde_json::to_string(&stat).unwrap(), text);
        assert_eq!(serde_json::from_str::<Stat>(text).unwrap(), stat);
        assert!(serde_json::from_str::<Stat>(&text.replace("\"czxid\"", "\"ctime\"")).is_err());
    }
}
