//! A replica's durable state on its simulated disk, as ZooKeeper keeps it: the transaction log
//! (whose first record may be a snapshot, after which it holds the transactions that follow it),
//! and the two epoch files `acceptedEpoch` and `currentEpoch`, each replaced atomically (write a
//! temporary file, rename it; `QuorumPeer.writeLongToFile`). Recovery after a restart reads only
//! these files. It also tracks which writes an fsync has made durable, so that every message that
//! vouches for durable state leaves only after the fsync-done input (ZooKeeper's group commit in
//! `SyncRequestProcessor`: one fsync in flight, the next one covering everything written
//! meanwhile).
//!
//! Every write goes through this module and gets a sequence number (`wseq`) in the order the disk
//! sees it; a write is durable once an fsync issued after it completes. This module never decides
//! what to write: the phases do.

use super::messages::Txn;
use crate::cluster::Node;
use crate::znode::{DataTree, SessionId, Zxid};
use crate::zookeeper::Db;
use sim::{Ctx, IoId};
use std::collections::BTreeMap;
use std::fmt;

/// The transaction log file.
pub const LOG: &str = "log";
/// The last epoch this replica promised in discovery.
pub const ACCEPTED_EPOCH: &str = "acceptedEpoch";
/// The last epoch whose history this replica adopted (the epoch of the last NEWLEADER it acked).
pub const CURRENT_EPOCH: &str = "currentEpoch";

/// A snapshot of the committed database at `zxid` (ZooKeeper's `snapshot.<zxid>` file), also the
/// payload of SNAP. `chain` and `history` are the database's ghost digests (see `database`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Snapshot {
    pub zxid: Zxid,
    pub tree: DataTree,
    pub timeouts: BTreeMap<SessionId, u64>,
    pub chain: u64,
    pub history: Vec<(Zxid, u64)>,
}

impl Snapshot {
    /// The snapshot of an empty database: where every replica starts.
    pub fn empty() -> Snapshot {
        Snapshot {
            zxid: Zxid::ZERO,
            tree: DataTree::default(),
            timeouts: BTreeMap::new(),
            chain: 0,
            history: Vec::new(),
        }
    }

    /// Serialized size: each node's path, data and stat, and each session.
    pub fn size_bytes(&self) -> usize {
        let nodes: usize = self
            .tree
            .nodes()
            .map(|(p, n)| 4 + p.len() + 4 + n.data.len() + 68)
            .sum();
        8 + nodes + 12 * self.timeouts.len()
    }
}

impl fmt::Debug for Snapshot {
    /// Short, so that traces stay readable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Snapshot {{ zxid: {:#x}, nodes: {}, sessions: {} }}",
            self.zxid.0,
            self.tree.nodes().count(),
            self.timeouts.len()
        )
    }
}

/// One record on the disk.
#[derive(Clone, Debug)]
pub enum Stored {
    Epoch(u32),
    Snapshot(Box<Snapshot>),
    Txn(Txn),
}

/// A logged transaction and the sequence number of its write.
#[derive(Clone, Debug)]
pub struct Logged {
    pub txn: Txn,
    pub wseq: u64,
}

/// The mirror of what the disk holds (its page cache), plus durability bookkeeping.
pub struct Storage {
    pub accepted_epoch: u32,
    pub current_epoch: u32,
    /// The snapshot the log starts from.
    pub base: Box<Snapshot>,
    /// Whether the log file's first record is `base` (it is not before the first snapshot).
    base_recorded: bool,
    /// The logged transactions after `base`, in zxid order.
    pub log: Vec<Logged>,
    /// Writes issued in this life; the next write gets this number.
    writes: u64,
    /// Every write numbered below this is durable.
    durable: u64,
    /// The fsync in flight and the write number it covers up to.
    in_flight: Option<(IoId, u64)>,
}

type Cx<'a> = Ctx<'a, Node<super::Zab>>;

impl Storage {
    /// Nothing on disk: the state before `recover` runs.
    pub fn empty() -> Storage {
        Storage {
            accepted_epoch: 0,
            current_epoch: 0,
            base: Box::new(Snapshot::empty()),
            base_recorded: false,
            log: Vec::new(),
            writes: 1,
            durable: 1,
            in_flight: None,
        }
    }

    /// Reads the disk after a (re)start. Returns the storage and the problems recovery found
    /// (files that contradict one another), which the replica reports as protocol findings.
    pub fn recover(ctx: &mut Cx<'_>) -> (Storage, Vec<String>) {
        let mut problems = Vec::new();
        let epoch_of = |records: &[Stored]| match records.last() {
            Some(Stored::Epoch(e)) => *e,
            _ => 0,
        };
        let accepted_epoch = epoch_of(ctx.read(ACCEPTED_EPOCH));
        let current_epoch = epoch_of(ctx.read(CURRENT_EPOCH));
        let records: Vec<Stored> = ctx.read(LOG).to_vec();
        let record_count = records.len();
        let torn = ctx.torn_tail(LOG);
        let mut base = Box::new(Snapshot::empty());
        let mut base_recorded = false;
        let mut log = Vec::new();
        for (i, record) in records.into_iter().enumerate() {
            match record {
                Stored::Snapshot(s) if i == 0 => {
                    base = s;
                    base_recorded = true;
                }
                Stored::Txn(txn) => log.push(Logged { txn, wseq: 0 }),
                other => problems.push(format!("log record {i} is {other:?}, not a transaction")),
            }
        }
        // Everything read back survived a crash, so it is durable: number it 0.
        let mut storage = Storage {
            accepted_epoch,
            current_epoch,
            base,
            base_recorded,
            log,
            writes: 1,
            durable: 1,
            in_flight: None,
        };
        if torn {
            // The torn record never completed (real logs checksum each record): the log ends before
            // it, as ZooKeeper's `FileTxnLog` reader stops at the first bad record.
            ctx.truncate(LOG, record_count);
            storage.write();
        }
        // QuorumPeer.loadDataBase refuses to start when the epochs contradict each other.
        if accepted_epoch < current_epoch {
            problems.push(format!(
                "acceptedEpoch {accepted_epoch} is below currentEpoch {current_epoch}"
            ));
        }
        (storage, problems)
    }

    /// Numbers one write.
    fn write(&mut self) -> u64 {
        let w = self.writes;
        self.writes += 1;
        w
    }

    pub fn is_durable(&self, wseq: u64) -> bool {
        wseq < self.durable
    }

    /// The number of the last write so far (0, which is always durable, if there was none):
    /// waiting for it waits for everything written so far.
    pub fn last_write(&self) -> u64 {
        self.writes - 1
    }

    /// Whether anything written is not yet durable.
    pub fn dirty(&self) -> bool {
        self.durable < self.writes
    }

    /// Persists acceptedEpoch (atomic replace); returns the write's number.
    pub fn write_accepted_epoch(&mut self, ctx: &mut Cx<'_>, epoch: u32) -> u64 {
        self.accepted_epoch = epoch;
        ctx.replace(ACCEPTED_EPOCH, vec![Stored::Epoch(epoch)]);
        self.write()
    }

    /// Persists currentEpoch (atomic replace); returns the write's number.
    pub fn write_current_epoch(&mut self, ctx: &mut Cx<'_>, epoch: u32) -> u64 {
        self.current_epoch = epoch;
        ctx.replace(CURRENT_EPOCH, vec![Stored::Epoch(epoch)]);
        self.write()
    }

    /// Appends a transaction to the log; returns the write's number.
    pub fn append(&mut self, ctx: &mut Cx<'_>, txn: Txn) -> u64 {
        ctx.append(LOG, Stored::Txn(txn.clone()));
        let wseq = self.write();
        self.log.push(Logged { txn, wseq });
        wseq
    }

    /// ZooKeeper's `truncateLog`: drops every logged transaction after `zxid`. Fails if `zxid` is
    /// older than the snapshot the log starts from (a snapshot cannot be truncated).
    pub fn truncate_after(&mut self, ctx: &mut Cx<'_>, zxid: Zxid) -> Result<(), String> {
        if zxid < self.base.zxid {
            return Err(format!(
                "TRUNC to {:#x} is older than this replica's snapshot at {:#x}",
                zxid.0, self.base.zxid.0
            ));
        }
        let keep = self.log.partition_point(|l| l.txn.zxid <= zxid);
        if keep < self.log.len() {
            let offset = usize::from(self.base_recorded);
            ctx.truncate(LOG, offset + keep);
            self.write();
            self.log.truncate(keep);
        }
        Ok(())
    }

    /// Replaces the whole log with `snapshot` (SNAP): atomic, so a crash leaves either the old log
    /// or the snapshot, never the snapshot under an old suffix (ZOOKEEPER-2832).
    pub fn install_snapshot(&mut self, ctx: &mut Cx<'_>, snapshot: Box<Snapshot>) -> u64 {
        ctx.replace(LOG, vec![Stored::Snapshot(snapshot.clone())]);
        self.base = snapshot;
        self.base_recorded = true;
        self.log.clear();
        self.write()
    }

    /// Takes a snapshot of the committed database `db` and rewrites the log as that snapshot plus
    /// the logged transactions after it (ZooKeeper snapshots every snapCount transactions and
    /// purges old logs; here both happen in one atomic replace).
    pub fn compact(&mut self, ctx: &mut Cx<'_>, db: &Db) -> u64 {
        let snapshot = Box::new(db.snapshot());
        let keep = self.log.partition_point(|l| l.txn.zxid <= snapshot.zxid);
        let mut records = vec![Stored::Snapshot(snapshot.clone())];
        records.extend(self.log[keep..].iter().map(|l| Stored::Txn(l.txn.clone())));
        ctx.replace(LOG, records);
        let w = self.write();
        self.log.drain(..keep);
        // A transaction that was durable stays durable (the replace is atomic and both versions of
        // the file hold it); one that was not becomes durable with the replace.
        let durable = self.durable;
        for l in &mut self.log {
            if l.wseq >= durable {
                l.wseq = w;
            }
        }
        self.base = snapshot;
        self.base_recorded = true;
        w
    }

    /// Makes everything written so far durable, eventually: issues an fsync unless one is in flight
    /// (its completion issues the next one). ZooKeeper's group commit.
    pub fn sync(&mut self, ctx: &mut Cx<'_>) {
        if self.in_flight.is_none() && self.dirty() {
            let upto = self.writes;
            let io = ctx.fsync();
            self.in_flight = Some((io, upto));
        }
    }

    /// An fsync completed.
    pub fn on_synced(&mut self, ctx: &mut Cx<'_>, io: IoId) -> Result<(), String> {
        match self.in_flight.take() {
            Some((i, upto)) if i == io => {
                self.durable = self.durable.max(upto);
                self.sync(ctx);
                Ok(())
            }
            other => Err(format!(
                "fsync #{} completed, but the one in flight was {other:?}",
                io.0
            )),
        }
    }

    /// The zxid of the last logged transaction (the snapshot's if the log is empty).
    pub fn last_zxid(&self) -> Zxid {
        self.log.last().map_or(self.base.zxid, |l| l.txn.zxid)
    }

    /// The position in `log` of the transaction `zxid`, if logged.
    pub fn position(&self, zxid: Zxid) -> Option<usize> {
        self.log.binary_search_by_key(&zxid, |l| l.txn.zxid).ok()
    }

    /// Rebuilds the database from the snapshot and every logged transaction, as a restarted
    /// ZooKeeper does (`ZKDatabase.loadDataBase`), calling `applied` for each one.
    pub fn load(&self, mut applied: impl FnMut(&Db)) -> Result<Db, String> {
        let mut db = Db::from_snapshot(&self.base);
        applied(&db);
        for l in &self.log {
            db.apply(&l.txn)?;
            applied(&db);
        }
        Ok(db)
    }
}

/// A snapshot is the database at one zxid.
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
}
