//! A standalone ZooKeeper server reduced to its sequential behaviour: one data tree, one watch
//! table, the last committed zxid and the last session id handed out. Requests run one at a time,
//! each completing before the next starts, exactly as the conformance traces were recorded
//! (FORMAT.md "How the answers were collected"). It owns zxid and session-id assignment for that
//! setting only; replicas assign neither this way and use `DataTree` and `WatchTable` directly.

use super::id::{SessionId, Zxid};
use super::op::{Outcome, Reply, Request, Write, ZkInput};
use super::tree::DataTree;
use super::watch::{Notification, WatchTable};

/// What one request produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome<Reply>,
    /// The last committed zxid once the request completed (the reply header's zxid).
    pub zxid: Zxid,
    /// The notifications the request caused, in firing order.
    pub notifications: Vec<Notification>,
}

#[derive(Clone, Debug, Default)]
pub struct Standalone {
    tree: DataTree,
    watches: WatchTable,
    last_zxid: Zxid,
    last_session: SessionId,
}

impl Standalone {
    /// A freshly started server with an empty data directory: zxid 0, no session yet.
    pub fn new() -> Standalone {
        Standalone::default()
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    pub fn watches(&self) -> &WatchTable {
        &self.watches
    }

    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// Runs one request to completion.
    ///
    /// - Every write is a transaction with the next zxid, whether it succeeds or fails (FORMAT.md
    ///   "zxid consumption"); `open_session` also takes the next session id (1, 2, 3, ...).
    /// - The changes of a write fire watches; a session's own close delivers its notifications to
    ///   it as well, and only then are its watches dropped (FORMAT.md "Sessions and ephemerals").
    /// - A read consumes no zxid and may leave a watch.
    pub fn execute(&mut self, input: &ZkInput) -> Answer {
        let session = input.session_or_none();
        let mut notifications = Vec::new();
        let outcome = match &input.request {
            Request::Write(write) => {
                let zxid = Zxid(self.last_zxid.0 + 1);
                self.last_zxid = zxid;
                let session = match write {
                    Write::OpenSession => {
                        self.last_session = SessionId(self.last_session.0 + 1);
                        self.last_session
                    }
                    _ => session,
                };
                let applied = self.tree.apply(zxid, session, write);
                notifications = self.watches.fire_write(session, write, &applied);
                applied.outcome
            }
            Request::Read(read) => self.watches.read(&self.tree, session, read),
        };
        Answer {
            outcome,
            zxid: self.last_zxid,
            notifications,
        }
    }
}
