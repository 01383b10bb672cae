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
    /// The database of an empty data directory: no node but the root, no session, zxid 0.
    pub fn empty() -> Db {
        Db {
            tree: DataTree::default(),
            timeouts: BTreeMap::new(),
            last_processed: Zxid::ZERO,
            chain: 0,
            history: Vec::new(),
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

/// One transaction: a client's write (or a session's creation or close) as the replication
/// protocol ordered it (Zab's ⟨v, z⟩, a Raft entry's command). Every
/// replica applies it to its own data tree at commit, in zxid order.
///
/// ZooKeeper's leader pre-computes each transaction against its outstanding changes
/// (`PrepRequestProcessor`) and replicates the resulting delta; zksim replicates the request and
/// applies it deterministically. Because every replica applies the same requests in the same order
/// to the same tree, every replica computes the same delta, so what a client can observe (answers,
/// zxids, sequential names, watch events) is the same.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Txn {
    pub zxid: Zxid,
    /// The session that issued it; for `OpenSession`, the new session.
    pub session: SessionId,
    /// The client's request id (ZooKeeper's cxid), so that the server the client is connected to
    /// can answer it when it commits; 0 for the leader's own closeSession at expiry and for
    /// createSession.
    pub xid: u64,
    pub write: Write,
    /// createSession only: the negotiated timeout, kept with the session in every replica's
    /// database so that a new leader can rebuild its session tracker.
    pub timeout_ms: u64,
}
