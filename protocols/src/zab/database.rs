//! A replica's in-memory database, ZooKeeper's `ZKDatabase`: the data tree, each open session's
//! timeout, and `lastProcessedZxid`. Transactions are applied to it one at a time, in zxid order;
//! it refuses one that does not come after the last.
//!
//! Beside the real state it keeps two checker-only ("ghost") values, like the `history` variable
//! of the Zab TLA+ specifications: a running digest (`chain`) of every transaction applied and of
//! the answer it produced, and the list of (zxid, chain) pairs of the whole history. The protocol
//! never reads them to decide anything; the replica reports them so that the checks can compare
//! histories across replicas (two replicas that applied the same zxid must have the same chain
//! there). Folding the *answer* into the chain makes a replica whose tree silently diverged (a
//! local deletion, say) show up at the next transaction that touches the difference.

use super::messages::Txn;
use super::storage::Snapshot;
use crate::znode::{Applied, DataTree, SessionId, Write, Zxid};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// A small, portable 64-bit hash whose value is the same on every machine and every Rust version
/// (std's `DefaultHasher` promises neither): eight bytes at a time, each folded in with a
/// multiply-rotate step. Used for the checks' digests only, never to decide anything.
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

impl Hasher for Digest {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }
}

/// The digest of any hashable value.
pub fn digest<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = Digest::default();
    value.hash(&mut h);
    h.finish()
}

/// The chain after applying `txn` with `applied` as its result, on top of `prev`.
pub fn chain_next(prev: u64, txn: &Txn, applied: &Applied) -> u64 {
    digest(&(prev, txn.zxid, digest(txn), digest(&applied.outcome)))
}

/// The in-memory database.
#[derive(Clone, Debug)]
pub struct Db {
    pub tree: DataTree,
    /// Open sessions and their negotiated timeouts (ZooKeeper's `sessionsWithTimeouts`).
    pub timeouts: BTreeMap<SessionId, u64>,
    /// The zxid of the last transaction applied.
    pub last_processed: Zxid,
    /// Ghost: the digest of the history applied so far.
    pub chain: u64,
    /// Ghost: (zxid, chain) after every transaction of the history, oldest first.
    pub history: Vec<(Zxid, u64)>,
}

impl Db {
    /// The database a snapshot describes.
    pub fn from_snapshot(s: &Snapshot) -> Db {
        Db {
            tree: s.tree.clone(),
            timeouts: s.timeouts.clone(),
            last_processed: s.zxid,
            chain: s.chain,
            history: s.history.clone(),
        }
    }

    /// A snapshot of the database as it is now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            zxid: self.last_processed,
            tree: self.tree.clone(),
            timeouts: self.timeouts.clone(),
            chain: self.chain,
            history: self.history.clone(),
        }
    }

    /// Applies `txn`, which must come after everything applied so far.
    pub fn apply(&mut self, txn: &Txn) -> Result<Applied, String> {
        if txn.zxid <= self.last_processed {
            return Err(format!(
                "applying zxid {:#x} after {:#x}: transactions must be applied in zxid order",
                txn.zxid.0, self.last_processed.0
            ));
        }
        if txn.write == Write::OpenSession
            && (txn.session == SessionId::NONE || self.tree.is_open(txn.session))
        {
            return Err(format!(
                "zxid {:#x} opens session {:#x}, which is 0 or already open",
                txn.zxid.0, txn.session.0
            ));
        }
        let applied = self.tree.apply(txn.zxid, txn.session, &txn.write);
        match (&txn.write, applied.outcome.is_ok()) {
            (Write::OpenSession, _) => {
                self.timeouts.insert(txn.session, txn.timeout_ms);
            }
            (Write::CloseSession, true) => {
                self.timeouts.remove(&txn.session);
            }
            _ => {}
        }
        self.last_processed = txn.zxid;
        self.chain = chain_next(self.chain, txn, &applied);
        self.history.push((txn.zxid, self.chain));
        Ok(applied)
    }

    /// Closes `session` in this tree alone, with no transaction: what the `local-session-expiry`
    /// variant does. Neither the zxid nor the chain moves, which is exactly the bug.
    pub fn close_locally(&mut self, session: SessionId) -> Applied {
        let applied = self
            .tree
            .apply(self.last_processed, session, &Write::CloseSession);
        if applied.outcome.is_ok() {
            self.timeouts.remove(&session);
        }
        applied
    }
}
