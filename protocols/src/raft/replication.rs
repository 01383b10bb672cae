//! Log replication (Raft §5.3, §5.4.2, Fig. 2): the leader appends its clients' transactions,
//! sends AppendEntries with the consistency check (prevLogIndex, prevLogTerm), batched and
//! pipelined; a follower accepts only what extends the entry the leader names, deletes entries
//! only on a conflict, and acknowledges only once what it appended is durable; the leader backs
//! nextIndex off on a rejection (one entry, or a whole term with the conflict-term option) and
//! commits an entry of its current term once a majority of distinct replicas hold it, earlier
//! entries with it (§5.4.2, Fig. 8); followers learn the commit index from leaderCommit, bounded
//! by the last entry the leader vouched for. Committed entries are applied in log order to the
//! front end's database, as transactions with zxid = (term << 32) | index.
//!
//! It must never truncate a committed entry, move commitIndex back, or apply out of order; each is
//! asserted where it would happen and reported as a violation.

use super::{Command, Cx, Raft, RaftEvent, RaftMsg, Role, Variant};
use crate::cluster::ReplicaCtx;
use crate::replication::History;
use crate::znode::{SessionId, Zxid};
use crate::zookeeper::Txn;
use crate::zookeeper::server;
use sim::NodeId;

/// An AppendEntries as received.
pub(crate) struct Append {
    pub term: u64,
    pub prev_log_index: u64,
    pub prev_log_term: u64,
    pub entries: Vec<super::Entry>,
    pub leader_commit: u64,
    pub round: u64,
    pub ack: bool,
}

/// An AppendEntries reply as received.
pub(crate) struct Reply {
    pub term: u64,
    pub success: bool,
    pub match_index: u64,
    pub rejected: u64,
    pub last_index: u64,
    pub conflict_term: u64,
    pub conflict_first: u64,
    pub round: u64,
}

impl Raft {
    /// The leader appends a new entry of its term to its own log (Fig. 2 "Rules for servers,
    /// leaders": append the command to the local log); `replicate` sends it at the handler's end.
    pub(crate) fn leader_append(&mut self, command: Command, ctx: &mut Cx<'_>) {
        debug_assert!(self.is_leader_role());
        let entry = super::Entry {
            term: self.store.current_term,
            index: self.store.last_index() + 1,
            command,
        };
        self.store.append(ctx, entry);
    }

    /// One AppendEntries to `peer` from its nextIndex: up to `max_entries_per_append` entries.
    /// A pipelined follower's nextIndex moves past what was sent; a probing one's stays until it
    /// answers. `ack` is false for a commit notice.
    pub(crate) fn send_append(&mut self, peer: NodeId, ack: bool, ctx: &mut Cx<'_>) {
        let last = self.store.last_index();
        let term = self.store.current_term;
        let commit = self.commit_index;
        let max = self.settings.max_entries_per_append;
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let round = l.round;
        let p = l.progress.get_mut(&peer).expect("a peer");
        // A pipelined follower gets entries only within the window; a heartbeat to it is empty.
        let send_entries = p.probing || p.inflight < self.settings.max_inflight_appends;
        let prev = p.next - 1;
        let upto = if send_entries {
            last.min(prev + max)
        } else {
            prev
        };
        let prev_log_term = self
            .store
            .term_at(prev)
            .expect("nextIndex is within the log + 1");
        let entries: Vec<super::Entry> = ((prev + 1)..=upto)
            .map(|i| self.store.entry(i).clone())
            .collect();
        if !entries.is_empty() && !p.probing {
            p.next = upto + 1;
            p.inflight += 1;
        }
        p.commit_sent = commit;
        ctx.send_peer(
            peer,
            RaftMsg::AppendEntries {
                term,
                prev_log_index: prev,
                prev_log_term,
                entries,
                leader_commit: commit,
                round,
                ack: ack || upto > prev,
            },
        );
    }

    /// At the end of a leader's handler: every pipelined follower gets the entries appended since
    /// (batching what the handler appended), and, with `commit_notice`, a follower with nothing
    /// else due learns a new commit index.
    pub(crate) fn replicate(&mut self, ctx: &mut Cx<'_>) {
        let last = self.store.last_index();
        let commit = self.commit_index;
        let notice = self.settings.commit_notice;
        let window = self.settings.max_inflight_appends;
        let Role::Leader(l) = &self.role else {
            return;
        };
        let due: Vec<(NodeId, bool)> = l
            .progress
            .iter()
            .filter_map(|(id, p)| {
                let entries = !p.probing && p.next <= last && p.inflight < window;
                let tell = notice && p.commit_sent < commit;
                (entries || tell).then_some((*id, entries))
            })
            .collect();
        for (peer, entries) in due {
            self.send_append(peer, entries, ctx);
        }
    }

    /// Fig. 2 AppendEntries receiver.
    pub(crate) fn on_append_entries(&mut self, from: NodeId, ae: Append, ctx: &mut Cx<'_>) {
        self.observe_term(ae.term, ctx);
        let current = self.store.current_term;
        // Rule 1: reply false if term < currentTerm.
        if ae.term < current {
            let reply = self.rejection(ae.prev_log_index, ae.round, ae.entries.is_empty());
            self.send_durable(ctx, from, reply);
            return;
        }
        match &self.role {
            Role::Leader(_) => {
                // Election Safety (§5.2) says this cannot happen.
                self.violation(
                    ctx,
                    format!(
                        "AppendEntries from {from} in term {current}, which this replica leads"
                    ),
                );
                return;
            }
            Role::Candidate { .. } => {
                // §5.2: a candidate that hears from the leader of its term returns to follower.
                self.become_follower(ctx, Some(from), "a leader of the same term");
            }
            Role::Follower { leader: None } => self.role = Role::Follower { leader: Some(from) },
            Role::Follower { leader: Some(l) } if *l != from => {
                self.violation(
                    ctx,
                    format!("AppendEntries from {from} in term {current}, led by {l}"),
                );
                return;
            }
            Role::Follower { .. } => {}
        }
        self.leader_heard = Some(ctx.now());
        self.reset_election_timer(ctx);
        // Rule 2: reply false if the log has no entry at prevLogIndex whose term is prevLogTerm.
        if self.store.term_at(ae.prev_log_index) != Some(ae.prev_log_term) {
            let reply = self.rejection(ae.prev_log_index, ae.round, ae.entries.is_empty());
            self.send_durable(ctx, from, reply);
            return;
        }
        // `truncate-on-any-append` breaks rule 3: everything after prevLogIndex goes, conflict
        // or not.
        if self.variant == Variant::TruncateOnAnyAppend
            && !ae.entries.is_empty()
            && self.store.last_index() > ae.prev_log_index
        {
            self.truncate(ae.prev_log_index + 1, ctx);
        }
        // Rules 3 and 4: an entry that conflicts (same index, other term) goes with all that
        // follow it; entries not yet in the log are appended; entries already there stay.
        for entry in ae.entries.iter() {
            match self.store.term_at(entry.index) {
                Some(t) if t == entry.term => continue,
                Some(_) => {
                    self.truncate(entry.index, ctx);
                    self.store.append(ctx, entry.clone());
                }
                None => self.store.append(ctx, entry.clone()),
            }
        }
        // Rule 5: commitIndex = min(leaderCommit, index of last new entry).
        let last_new = ae.prev_log_index + ae.entries.len() as u64;
        if ae.leader_commit > self.commit_index {
            let bound = if self.variant == Variant::CommitindexUnbounded {
                // The rule this variant breaks: bounded by the log, not by what this
                // AppendEntries vouched for.
                self.store.last_index()
            } else {
                last_new
            };
            let commit = ae.leader_commit.min(bound);
            if commit > self.commit_index {
                self.commit_index = commit;
                self.apply_committed(ctx);
            }
        }
        if ae.ack {
            let touches = self.zk.touches.take();
            let reply = RaftMsg::AppendReply {
                term: current,
                success: true,
                match_index: last_new,
                rejected: 0,
                last_index: self.store.last_index(),
                conflict_term: 0,
                conflict_first: 0,
                round: ae.round,
                heartbeat: ae.entries.is_empty(),
                touches,
            };
            // Acknowledged entries must be durable: the reply waits for the fsync.
            self.send_durable(ctx, from, reply);
        }
    }

    /// A rejection of the AppendEntries whose prevLogIndex was `prev`, with the hints for the
    /// leader's back-off (`heartbeat` if it carried no entries).
    fn rejection(&mut self, prev: u64, round: u64, heartbeat: bool) -> RaftMsg {
        let last = self.store.last_index();
        let (conflict_term, conflict_first) = if prev <= last && prev > 0 {
            let t = self.store.term_at(prev).unwrap_or(0);
            (t, self.store.first_index_of_term_at(prev))
        } else {
            (0, 0)
        };
        RaftMsg::AppendReply {
            term: self.store.current_term,
            success: false,
            match_index: 0,
            rejected: prev,
            last_index: last,
            conflict_term,
            conflict_first,
            round,
            heartbeat,
            touches: Vec::new(),
        }
    }

    /// Deletes the entry at `index` and all after it; a committed entry never goes (asserted).
    fn truncate(&mut self, index: u64, ctx: &mut Cx<'_>) {
        if index <= self.commit_index {
            self.violation(
                ctx,
                format!(
                    "deleting entries from index {index}, at or below commitIndex {}",
                    self.commit_index
                ),
            );
        }
        self.store.truncate_from(ctx, index);
    }

    /// The leader's side of an AppendEntries reply.
    pub(crate) fn on_append_reply(
        &mut self,
        from: NodeId,
        r: Reply,
        touches: Vec<SessionId>,
        ctx: &mut Cx<'_>,
    ) {
        if self.observe_term(r.term, ctx) {
            return;
        }
        let now = ctx.now();
        let last = self.store.last_index();
        let backoff_by_term = self.settings.conflict_term_backoff;
        let variant = self.variant;
        for s in touches {
            self.zk.tracker.touch(s, now);
        }
        if r.term != self.store.current_term {
            return;
        }
        // The conflict-term hint needs the leader's log, looked up before borrowing progress.
        let term_skip = if backoff_by_term && r.conflict_term > 0 {
            Some(match self.store.last_index_of_term(r.conflict_term) {
                Some(i) => i + 1,
                None => r.conflict_first,
            })
        } else {
            None
        };
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let Some(p) = l.progress.get_mut(&from) else {
            return;
        };
        p.last_heard = now;
        p.acked_round = p.acked_round.max(r.round);
        let mut resend = false;
        if r.success {
            // `matchindex-from-leader` breaks the rule that matchIndex is what the follower
            // confirmed: prevLogIndex plus the entries sent.
            let m = if variant == Variant::MatchindexFromLeader {
                last
            } else {
                r.match_index
            };
            if m > p.matched {
                p.matched = m;
            }
            if variant == Variant::CountDuplicateAcks {
                l.acks.push((from, m));
            }
            p.next = p.next.max(p.matched + 1);
            if p.probing {
                p.probing = false;
                p.inflight = 0;
            } else if p.matched + 1 >= p.next {
                p.inflight = 0;
            } else {
                p.inflight = p.inflight.saturating_sub(1);
            }
            resend = p.next <= last;
        } else if r.rejected >= p.matched && (!p.probing || r.rejected + 1 == p.next) {
            // §5.3: "after a rejection, the leader decrements nextIndex and retries"; the
            // follower's last index lets it skip what the follower does not have at all, and the
            // conflict-term option skips the conflicting term at once.
            let mut next = r.rejected.min(r.last_index + 1);
            if let Some(skip) = term_skip {
                next = next.min(skip.max(1));
            }
            p.next = next.max(p.matched + 1).max(1);
            p.probing = true;
            p.inflight = 0;
            resend = true;
        }
        if resend {
            self.send_append(from, false, ctx);
        }
        self.advance_commit(ctx);
        self.release_reads(ctx);
    }

    /// Fig. 2 "Rules for servers, leaders": if there exists an N > commitIndex such that a
    /// majority of matchIndex[i] ≥ N and log[N].term == currentTerm, set commitIndex = N
    /// (§5.4.2: only entries of the current term commit by counting). The leader counts itself
    /// once its own copy is durable.
    pub(crate) fn advance_commit(&mut self, ctx: &mut Cx<'_>) {
        let Role::Leader(l) = &self.role else {
            return;
        };
        let term = self.store.current_term;
        let own = self.store.durable_index();
        let mut committed = None;
        for index in ((self.commit_index + 1)..=self.store.last_index()).rev() {
            if self.variant != Variant::CommitPrevTermByCount
                && self.store.term_at(index) != Some(term)
            {
                continue;
            }
            let holders = l
                .progress
                .iter()
                .filter(|(_, p)| p.matched >= index)
                .map(|(id, _)| *id)
                .chain((own >= index).then_some(self.id));
            let quorum = if self.variant == Variant::CountDuplicateAcks {
                // The rule this variant breaks: acknowledgements are counted, not replicas.
                let acks = l.acks.iter().filter(|(_, m)| *m >= index).count();
                2 * (acks + usize::from(own >= index)) > self.n
            } else {
                self.is_quorum(holders)
            };
            if quorum {
                committed = Some(index);
                break;
            }
        }
        if let Some(index) = committed {
            self.commit_index = index;
            self.apply_committed(ctx);
        }
    }

    /// Fig. 2 "all servers": if commitIndex > lastApplied, apply log[lastApplied + 1]. A
    /// transaction goes to the front end with zxid = (term << 32) | index; a no-op only moves
    /// lastApplied. The leader reports every entry it applies as committed in its term, and is
    /// established once it applied the first entry of its term.
    pub(crate) fn apply_committed(&mut self, ctx: &mut Cx<'_>) {
        if self.commit_index > self.store.last_index() {
            self.violation(
                ctx,
                format!(
                    "commitIndex {} beyond the last index {}",
                    self.commit_index,
                    self.store.last_index()
                ),
            );
            self.commit_index = self.store.last_index();
        }
        let term = self.store.current_term;
        while self.last_applied < self.commit_index {
            let index = self.last_applied + 1;
            self.last_applied = index;
            let entry = self.store.entry(index).clone();
            if let Command::Txn {
                session,
                xid,
                write,
                timeout_ms,
            } = entry.command
            {
                let zxid = Zxid::new(entry.term as u32, index as u32);
                let txn = Txn {
                    zxid,
                    session,
                    xid,
                    write,
                    timeout_ms,
                };
                if let Err(e) = server::commit(self, &txn, ctx) {
                    self.violation(ctx, format!("applying index {index}: {e}"));
                    continue;
                }
                let chain = self.zk.db.chain;
                ctx.report(RaftEvent::Applied { zxid, chain });
                if self.is_leader_role() {
                    ctx.report(RaftEvent::Committed { term, zxid, chain });
                }
            }
        }
        self.maybe_establish(ctx);
        self.release_read_waits(ctx);
    }

    /// §8: the leader has applied the first entry of its term, so it knows every entry committed
    /// before its term; it serves from now on, and takes over session expiry with fresh deadlines.
    fn maybe_establish(&mut self, ctx: &mut Cx<'_>) {
        let applied = self.last_applied;
        let term = self.store.current_term;
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.established || applied < l.first_index {
            return;
        }
        l.established = true;
        let history = History(self.zk.db.history.clone());
        ctx.report(RaftEvent::Established { term, history });
        self.zk.rebuild_sessions(ctx.now());
    }
}
