//! Checks of ZooKeeper's own guarantees on znode histories. ZooKeeper serves reads from the
//! server a client is connected to, so its histories are not linearizable and the
//! linearizability checker is the wrong yardstick; `zookeeper` checks what ZooKeeper documents
//! instead ("Consistency Guarantees", ordered sequential consistency): linearizable writes
//! (`writes`), reads consistent with their zxid (`reads`), session order and a single system
//! image (`sessions`), watch order (`watches`), and, at the stricter level, sync-then-read
//! (`sync_read`). `history` is the history they share, `report` the answer. docs/checks.md says
//! how each guarantee is decided and what is out of scope.
//!
//! Everything here reads a finished history: it never runs inside a world, never panics on a
//! history, and waits for nothing but the budget of the two searches it starts.

mod evident;
mod history;
mod order;
mod reads;
mod replay;
mod report;
mod sessions;
mod sync_read;
mod watches;
pub mod witness;
mod writes;
pub mod zookeeper;

use history::History;
use sim::check::Counterexample;
use sim::check::verdict::OpRef;

/// Points a counterexample found over a chosen list of operations (`chosen[k]` is the history
/// index of its operation `k`) back at the history: indices into `History::ops`, and the
/// operations' real positions, which a search in another order (zxid time) replaced.
fn remap_counterexample(cx: &mut Counterexample, chosen: &[usize], h: &History) {
    let fix = |r: &mut OpRef| {
        let i = chosen[r.index];
        let op = &h.ops[i];
        r.index = i;
        r.line = op.line;
        r.call = op.call;
        r.ret = (op.ret != u64::MAX).then_some(op.ret);
    };
    cx.core.iter_mut().for_each(&fix);
    cx.longest.iter_mut().for_each(|s| fix(&mut s.op));
    fix(&mut cx.blocking);
    cx.stuck.iter_mut().for_each(|s| fix(&mut s.op));
}
