//! ZooKeeper's contract checker on small hand-written histories: one history that keeps every
//! guarantee, and for each guarantee (and each rule inside it) a history that breaks that one and
//! keeps the others. Also: re-armed watches after a reconnect, the documented missed `exists`
//! watch, implied session expiries, floating writes, malformed input.

use protocols::checks::zookeeper::{Guarantee, Level, Report, Verdict, check};
use serde_json::{Value, json};
use sim::check::Budget;
use sim::check::formats::read;

/// A history being written: lines in order, times increasing.
struct H {
    lines: Vec<Value>,
    time: u64,
}

fn stat(czxid: u64, mzxid: u64, version: i32, data: &str) -> Value {
    json!({"czxid": czxid, "mzxid": mzxid, "pzxid": czxid, "version": version, "cversion": 0,
           "aversion": 0, "ephemeralOwner": 0, "dataLength": data.len(), "numChildren": 0})
}

fn data(czxid: u64, mzxid: u64, version: i32, value: &str) -> Value {
    json!({"ok": {"data": value, "stat": stat(czxid, mzxid, version, value)}})
}

fn created(path: &str, zxid: u64, value: &str) -> Value {
    json!({"ok": {"path": path, "stat": stat(zxid, zxid, 0, value)}})
}

fn create(path: &str, value: &str) -> Value {
    json!({"path": path, "data": value, "mode": "persistent"})
}

fn set(path: &str, value: &str) -> Value {
    json!({"path": path, "data": value, "version": -1})
}

fn get(path: &str, watch: bool) -> Value {
    json!({"path": path, "watch": watch})
}

impl H {
    fn new() -> H {
        H {
            lines: Vec::new(),
            time: 0,
        }
    }

    fn line(&mut self, mut line: Value) {
        self.time += 10;
        line["time"] = self.time.into();
        self.lines.push(line);
    }

    fn invoke(&mut self, process: u64, session: u64, f: &str, value: Value) {
        self.line(
            json!({"type": "invoke", "process": process, "f": f, "value": value,
                         "session": session, "server": 0}),
        );
    }

    fn ok(&mut self, process: u64, session: u64, f: &str, value: Value, zxid: u64) {
        self.ok_at(process, session, f, value, zxid, 0);
    }

    fn ok_at(&mut self, process: u64, session: u64, f: &str, value: Value, zxid: u64, server: u32) {
        self.line(
            json!({"type": "ok", "process": process, "f": f, "value": value,
                         "session": session, "zxid": zxid, "server": server}),
        );
    }

    fn info(&mut self, process: u64, session: u64, f: &str) {
        self.line(
            json!({"type": "info", "process": process, "f": f, "session": session,
                         "error": "connection-loss"}),
        );
    }

    /// An operation invoked and answered at once.
    fn op(&mut self, process: u64, session: u64, f: &str, args: Value, answer: Value, zxid: u64) {
        self.invoke(process, session, f, args);
        self.ok(process, session, f, answer, zxid);
    }

    fn open(&mut self, process: u64, session: u64) {
        self.line(json!({"type": "invoke", "process": process, "f": "open_session", "server": 0}));
        self.line(
            json!({"type": "ok", "process": process, "f": "open_session",
                         "value": {"ok": session}, "session": session, "server": 0}),
        );
    }

    fn watch(&mut self, process: u64, session: u64, kind: &str, path: &str, zxid: u64) {
        self.line(json!({"type": "event", "process": process, "f": "watch",
                         "value": {"type": kind, "path": path}, "session": session,
                         "zxid": zxid, "server": 0}));
    }

    fn text(&self) -> String {
        let mut text = String::from(r#"{"format":"zksim-history","version":1,"model":"znode"}"#);
        for line in &self.lines {
            text.push('\n');
            text.push_str(&line.to_string());
        }
        text
    }

    fn check(&self, level: Level) -> Report {
        let raw = read(&self.text(), None).expect("the history reads");
        check(&raw, level, &Budget::unlimited()).expect("the history decodes")
    }
}

/// Sessions 1 (process 0) and 2 (process 1): /a created at zxid 3 (the opens took 1 and 2).
fn start() -> H {
    let mut h = H::new();
    h.open(0, 1);
    h.open(1, 2);
    h.op(0, 1, "create", create("/a", "x"), created("/a", 3, "x"), 3);
    h
}

/// Every guarantee holds: a watch fires before the data, a sync-read sees the latest write.
fn good() -> H {
    let mut h = start();
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 3);
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.watch(1, 2, "changed", "/a", 4);
    h.op(1, 2, "get_data", get("/a", false), data(3, 4, 1, "y"), 4);
    h.op(1, 2, "sync", json!({"path": "/a"}), json!({"ok": "/a"}), 4);
    h.op(1, 2, "get_data", get("/a", false), data(3, 4, 1, "y"), 4);
    h.op(0, 1, "close_session", Value::Null, json!({"ok": null}), 5);
    h
}

/// Which guarantees failed (violation), in report order.
fn broken(report: &Report) -> Vec<Guarantee> {
    report
        .guarantees
        .iter()
        .filter(|g| g.verdict == Verdict::Violation)
        .map(|g| g.guarantee)
        .collect()
}

/// The rules of the listed violations.
fn rules(report: &Report) -> Vec<&'static str> {
    report.violations.iter().map(|v| v.rule).collect()
}

/// Checks that `h` breaks exactly `guarantee` by `rule` at the strictest level, and that every
/// other guarantee is decided valid.
fn breaks_only(h: &H, guarantee: Guarantee, rule: &str) -> Report {
    let report = h.check(Level::ZookeeperSync);
    assert_eq!(broken(&report), vec![guarantee], "{report}");
    assert_eq!(rules(&report), vec![rule], "{report}");
    assert!(
        report
            .guarantees
            .iter()
            .all(|g| g.guarantee == guarantee || g.verdict == Verdict::Valid),
        "{report}"
    );
    assert_eq!(report.verdict, Verdict::Violation);
    report
}

#[test]
fn a_history_that_keeps_every_guarantee_is_valid() {
    let report = good().check(Level::ZookeeperSync);
    assert_eq!(report.verdict, Verdict::Valid, "{report}");
    assert_eq!(report.guarantees.len(), 6);
    assert!(report.violations.is_empty() && report.notes.is_empty());
    let checked = |g| report.guarantee(g).unwrap().checked;
    assert_eq!(checked(Guarantee::ReadsAtZxid), 3);
    assert_eq!(checked(Guarantee::SyncRead), 1);
    assert_eq!(checked(Guarantee::WatchOrder), 1);
    // The lower level leaves sync-read out.
    let plain = good().check(Level::Zookeeper);
    assert_eq!(plain.guarantees.len(), 5);
    assert!(plain.guarantee(Guarantee::SyncRead).is_none());
}

#[test]
fn a_write_after_an_older_zxid_breaks_linearizable_writes() {
    // Session 2's create /b completes after session 1's set /a (zxid 5) but takes zxid 4.
    let mut h = start();
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 5, 1, "y")}),
        5,
    );
    h.op(1, 2, "create", create("/b", "z"), created("/b", 4, "z"), 4);
    let report = breaks_only(&h, Guarantee::LinearizableWrites, "zxid-real-time");
    let v = &report.violations[0];
    assert_eq!(v.involved.len(), 2);
    assert_eq!(v.involved[0].zxid, Some(5));
    assert_eq!(v.involved[1].zxid, Some(4));
    assert_eq!(v.involved[1].session, Some(2));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["violations"][0]["guarantee"], "linearizable-writes");
    assert_eq!(json["violations"][0]["rule"], "zxid-real-time");
    assert_eq!(json["violations"][0]["involved"][1]["line"], 10);
}

#[test]
fn two_writes_with_one_zxid_break_linearizable_writes() {
    let mut h = start();
    h.op(0, 1, "create", create("/b", "z"), created("/b", 4, "z"), 4);
    h.invoke(1, 2, "create", create("/c", "z"));
    h.ok(1, 2, "create", created("/c", 4, "z"), 4);
    let report = h.check(Level::Zookeeper);
    assert!(rules(&report).contains(&"zxid-unique"), "{report}");
    assert_eq!(report.verdict, Verdict::Violation);
}

#[test]
fn writes_no_order_explains_break_linearizable_writes_and_leave_reads_undecided() {
    // /a is created twice, both times successfully, with nothing deleting it between.
    let mut h = start();
    h.op(1, 2, "create", create("/a", "w"), created("/a", 4, "w"), 4);
    let report = h.check(Level::ZookeeperSync);
    assert_eq!(
        broken(&report),
        vec![Guarantee::LinearizableWrites],
        "{report}"
    );
    assert_eq!(rules(&report), vec!["zxid-order"]);
    let cx = report.violations[0]
        .counterexample
        .as_ref()
        .expect("a counterexample");
    assert!(cx.core.iter().any(|op| op.line == 8), "{report}");
    let reads = report.guarantee(Guarantee::ReadsAtZxid).unwrap();
    assert_eq!(reads.verdict, Verdict::Unknown);
    assert!(
        reads
            .unknown
            .as_ref()
            .unwrap()
            .contains("linearizable-writes")
    );
    // The violation found outweighs the guarantee left undecided: the history is a violation.
    assert_eq!(report.verdict, Verdict::Violation);
}

#[test]
fn a_read_older_than_its_zxid_breaks_reads_at_zxid() {
    // At zxid 4 /a holds "y", but the read answered at zxid 4 shows "x".
    let mut h = start();
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.op(1, 2, "get_data", get("/a", false), data(3, 3, 0, "x"), 4);
    let report = breaks_only(&h, Guarantee::ReadsAtZxid, "read-at-zxid");
    let v = &report.violations[0];
    assert!(v.summary.contains("line 10"), "{v}");
    assert!(
        v.involved.iter().any(|i| i.line == 10 && i.zxid == Some(4)),
        "{v}"
    );
    // The same read at zxid 3 is what ZooKeeper allows: a server that is behind.
    let mut h = start();
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.op(1, 2, "get_data", get("/a", false), data(3, 3, 0, "x"), 3);
    assert_eq!(h.check(Level::Zookeeper).verdict, Verdict::Valid);
}

#[test]
fn a_write_before_what_its_session_saw_breaks_session_order() {
    // Session 2 sees zxid 5, then its own create takes zxid 4. Session 1's write at 5 is still in
    // flight when the create is invoked, so no other session's answer had shown 5 by then.
    let mut h = start();
    h.invoke(0, 1, "set_data", set("/a", "y"));
    h.op(1, 2, "get_data", get("/a", false), data(3, 5, 1, "y"), 5);
    h.invoke(1, 2, "create", create("/b", "z"));
    h.ok(0, 1, "set_data", json!({"ok": stat(3, 5, 1, "y")}), 5);
    h.ok(1, 2, "create", created("/b", 4, "z"), 4);
    let report = breaks_only(&h, Guarantee::SessionOrder, "write-after-seen");
    assert_eq!(report.violations[0].involved[0].zxid, Some(5));
}

#[test]
fn a_read_missing_the_sessions_own_write_breaks_session_order() {
    let mut h = start();
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.op(0, 1, "get_data", get("/a", false), data(3, 3, 0, "x"), 3);
    breaks_only(&h, Guarantee::SessionOrder, "read-your-writes");
}

#[test]
fn a_session_going_back_in_time_after_reconnecting_breaks_the_single_system_image() {
    let mut h = start();
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.op(1, 2, "get_data", get("/a", false), data(3, 4, 1, "y"), 4);
    h.invoke(1, 2, "get_data", get("/a", false));
    h.ok_at(1, 2, "get_data", data(3, 3, 0, "x"), 3, 1);
    let report = breaks_only(&h, Guarantee::SingleSystemImage, "reply-went-back");
    assert!(
        report.violations[0]
            .summary
            .contains("server 0, then server 1")
    );
}

#[test]
fn notifications_out_of_order_break_the_single_system_image() {
    let mut h = start();
    h.op(0, 1, "create", create("/b", "z"), created("/b", 4, "z"), 4);
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 4);
    h.op(1, 2, "get_data", get("/b", true), data(4, 4, 0, "z"), 4);
    h.op(
        0,
        1,
        "set_data",
        set("/b", "w"),
        json!({"ok": stat(4, 5, 1, "w")}),
        5,
    );
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 6, 1, "y")}),
        6,
    );
    h.watch(1, 2, "changed", "/a", 6);
    h.watch(1, 2, "changed", "/b", 5);
    breaks_only(&h, Guarantee::SingleSystemImage, "notification-went-back");
}

#[test]
fn a_notification_for_no_watch_breaks_watch_order() {
    let mut h = start();
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.watch(1, 2, "changed", "/a", 4);
    breaks_only(&h, Guarantee::WatchOrder, "no-watch-held");
}

#[test]
fn a_notification_no_write_explains_breaks_watch_order() {
    // Session 2 watches /a; the write at 4 sets its data, but the notification says deleted.
    let mut h = start();
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 3);
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.watch(1, 2, "deleted", "/a", 4);
    breaks_only(&h, Guarantee::WatchOrder, "no-write-fires");
}

/// Session 2 watches /a; the `set_data` at zxid 4 fires `changed`, reported as `kind`. Process 2
/// (session 3) tries to delete /a and loses its connection: that delete floats, zxid unknown.
fn notified_at_a_sets_zxid(kind: &str) -> H {
    let mut h = start();
    h.open(2, 3);
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 3);
    h.invoke(2, 3, "delete", json!({"path": "/a", "version": -1}));
    h.info(2, 3, "delete");
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.watch(1, 2, kind, "/a", 4);
    h
}

#[test]
fn a_notification_of_another_type_than_the_write_at_its_zxid_breaks_watch_order() {
    // The zxid names the set_data, which leaves /a in place: `deleted` cannot be its
    // notification, although the lost delete could have fired one at some other zxid.
    let report = breaks_only(
        &notified_at_a_sets_zxid("deleted"),
        Guarantee::WatchOrder,
        "wrong-type",
    );
    let roles: Vec<&str> = report.violations[0]
        .involved
        .iter()
        .map(|i| i.role.as_str())
        .collect();
    assert_eq!(
        roles,
        ["left the watch", "the write at its zxid", "notification"]
    );
    assert_eq!(
        notified_at_a_sets_zxid("changed")
            .check(Level::Zookeeper)
            .verdict,
        Verdict::Valid
    );
    // A re-arm stamped with the set's zxid reads the tree it leaves: /a exists, so an `exists`
    // watch left while /a was missing may be answered `created` at that zxid.
    let mut h = start();
    h.op(1, 2, "exists", get("/b", true), json!({"err": "NoNode"}), 3);
    h.op(0, 1, "create", create("/b", "z"), created("/b", 4, "z"), 4);
    h.op(
        0,
        1,
        "set_data",
        set("/b", "y"),
        json!({"ok": stat(4, 5, 1, "y")}),
        5,
    );
    h.watch(1, 2, "created", "/b", 5);
    assert_eq!(h.check(Level::Zookeeper).verdict, Verdict::Valid);
}

#[test]
fn data_seen_before_the_notification_breaks_watch_order() {
    // The set of /a is answered only with connection loss (its zxid unknown): a notification at
    // zxid 4 after a reply at zxid 4 came too late.
    let mut h = start();
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 3);
    h.invoke(0, 1, "set_data", set("/a", "y"));
    h.info(0, 1, "set_data");
    h.op(
        1,
        2,
        "exists",
        get("/b", false),
        json!({"err": "NoNode"}),
        4,
    );
    h.watch(1, 2, "changed", "/a", 4);
    breaks_only(&h, Guarantee::WatchOrder, "notification-late");
}

#[test]
fn a_missed_notification_breaks_watch_order() {
    let mut h = start();
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 3);
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.op(
        1,
        2,
        "exists",
        get("/b", false),
        json!({"err": "NoNode"}),
        4,
    );
    let report = breaks_only(&h, Guarantee::WatchOrder, "missed-notification");
    let roles: Vec<&str> = report.violations[0]
        .involved
        .iter()
        .map(|i| i.role.as_str())
        .collect();
    assert_eq!(
        roles,
        [
            "left the watch",
            "fired it",
            "reply before the notification"
        ]
    );
    // Arriving before the reply, it is in order.
    let mut h = start();
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 3);
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.watch(1, 2, "changed", "/a", 4);
    h.op(
        1,
        2,
        "exists",
        get("/b", false),
        json!({"err": "NoNode"}),
        4,
    );
    assert_eq!(h.check(Level::Zookeeper).verdict, Verdict::Valid);
}

#[test]
fn a_stale_read_after_sync_breaks_only_sync_read() {
    // Session 1's write at 4 completes; session 2 then syncs and reads at zxid 3 (a deposed
    // leader answered the sync: ZOOKEEPER-1675).
    let mut h = start();
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.op(1, 2, "sync", json!({"path": "/a"}), json!({"ok": "/a"}), 3);
    h.op(1, 2, "get_data", get("/a", false), data(3, 3, 0, "x"), 3);
    let report = breaks_only(&h, Guarantee::SyncRead, "stale-after-sync");
    let roles: Vec<&str> = report.violations[0]
        .involved
        .iter()
        .map(|i| i.role.as_str())
        .collect();
    assert_eq!(roles, ["completed before the sync", "sync", "read"]);
    // ZooKeeper's own guarantees hold.
    assert_eq!(h.check(Level::Zookeeper).verdict, Verdict::Valid);
    // Without the sync the read is not held to it.
    let mut h = start();
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.op(1, 2, "get_data", get("/a", false), data(3, 3, 0, "x"), 3);
    assert_eq!(h.check(Level::ZookeeperSync).verdict, Verdict::Valid);
}

#[test]
fn a_watch_rearmed_on_reconnect_may_fire_with_the_new_servers_zxid() {
    // Session 2 watches /a, loses its connection while /a is set at 4, and reconnects to a server
    // at zxid 6: SetWatches fires `changed` stamped 6.
    let mut h = start();
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 3);
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 4, 1, "y")}),
        4,
    );
    h.op(0, 1, "create", create("/b", "z"), created("/b", 5, "z"), 5);
    h.op(0, 1, "create", create("/c", "z"), created("/c", 6, "z"), 6);
    h.watch(1, 2, "changed", "/a", 6);
    h.invoke(1, 2, "get_data", get("/a", false));
    h.ok_at(1, 2, "get_data", data(3, 4, 1, "y"), 6, 1);
    assert_eq!(h.check(Level::Zookeeper).verdict, Verdict::Valid);
}

#[test]
fn an_exists_watch_may_miss_a_node_created_and_deleted_meanwhile() {
    // ZooKeeper documents it: the client was disconnected while /c came and went.
    let mut h = start();
    h.op(1, 2, "exists", get("/c", true), json!({"err": "NoNode"}), 3);
    h.op(0, 1, "create", create("/c", "z"), created("/c", 4, "z"), 4);
    h.op(
        0,
        1,
        "delete",
        json!({"path": "/c", "version": -1}),
        json!({"ok": null}),
        5,
    );
    h.op(
        1,
        2,
        "exists",
        get("/b", false),
        json!({"err": "NoNode"}),
        5,
    );
    assert_eq!(h.check(Level::Zookeeper).verdict, Verdict::Valid);
    // The same when one multi creates and deletes it, at one zxid (found by
    // crash-unsynced-3 seed 14).
    let mut h = start();
    h.op(1, 2, "exists", get("/c", true), json!({"err": "NoNode"}), 3);
    h.op(
        0,
        1,
        "multi",
        json!({"ops": [
            {"op": "create", "path": "/c", "data": "z", "mode": "persistent"},
            {"op": "delete", "path": "/c", "version": -1},
        ]}),
        json!({"ok": [{"ok": {"path": "/c"}}, {"ok": null}]}),
        4,
    );
    h.op(
        1,
        2,
        "exists",
        get("/b", false),
        json!({"err": "NoNode"}),
        4,
    );
    assert_eq!(h.check(Level::Zookeeper).verdict, Verdict::Valid);
    // Without the delete the creation must be notified first.
    let mut h = start();
    h.op(1, 2, "exists", get("/c", true), json!({"err": "NoNode"}), 3);
    h.op(0, 1, "create", create("/c", "z"), created("/c", 4, "z"), 4);
    h.op(
        1,
        2,
        "exists",
        get("/b", false),
        json!({"err": "NoNode"}),
        4,
    );
    assert_eq!(rules(&h.check(Level::Zookeeper)), ["missed-notification"]);
}

#[test]
fn watches_end_with_their_session() {
    let mut h = start();
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 3);
    h.op(1, 2, "close_session", Value::Null, json!({"ok": null}), 4);
    h.op(
        0,
        1,
        "set_data",
        set("/a", "y"),
        json!({"ok": stat(3, 5, 1, "y")}),
        5,
    );
    h.watch(1, 2, "changed", "/a", 5);
    assert_eq!(rules(&h.check(Level::Zookeeper)), ["no-watch-held"]);
}

#[test]
fn a_write_with_unknown_outcome_may_take_effect_later() {
    // Session 1's set of /a is lost with its connection, yet takes effect at zxid 4.
    let mut h = start();
    h.invoke(0, 1, "set_data", set("/a", "y"));
    h.info(0, 1, "set_data");
    h.op(1, 2, "get_data", get("/a", false), data(3, 3, 0, "x"), 3);
    h.op(1, 2, "get_data", get("/a", false), data(3, 4, 1, "y"), 4);
    assert_eq!(h.check(Level::ZookeeperSync).verdict, Verdict::Valid);
    // But not before a read at its zxid that did not see it.
    let mut h = start();
    h.invoke(0, 1, "set_data", set("/a", "y"));
    h.info(0, 1, "set_data");
    h.op(1, 2, "get_data", get("/a", false), data(3, 3, 0, "x"), 4);
    h.op(1, 2, "get_data", get("/a", false), data(3, 4, 1, "y"), 5);
    assert_eq!(rules(&h.check(Level::Zookeeper)), ["read-at-zxid"]);
}

#[test]
fn an_expiry_the_history_implies_explains_vanished_ephemerals() {
    let ephemeral = json!({"path": "/e", "data": "x", "mode": "ephemeral"});
    let mut stat_e = stat(4, 4, 0, "x");
    stat_e["ephemeralOwner"] = 2.into();
    let mut h = start();
    h.op(
        1,
        2,
        "create",
        ephemeral,
        json!({"ok": {"path": "/e", "stat": stat_e}}),
        4,
    );
    let gone = |h: &mut H| {
        h.op(
            0,
            1,
            "exists",
            get("/e", false),
            json!({"err": "NoNode"}),
            6,
        );
    };
    // Nothing explains /e going: no close of session 2, no expiry.
    let mut silent = H {
        lines: h.lines.clone(),
        time: h.time,
    };
    gone(&mut silent);
    assert_eq!(rules(&silent.check(Level::Zookeeper)), ["read-at-zxid"]);
    // The client learned that its session expired: an implied expiry explains it.
    h.line(json!({"type": "event", "process": 1, "f": "session_expired", "session": 2}));
    gone(&mut h);
    let report = h.check(Level::Zookeeper);
    assert_eq!(report.verdict, Verdict::Valid, "{report}");
    assert!(report.notes[0].contains("session 2 expired"), "{report}");
}

#[test]
fn odd_event_lines_are_notes_and_foreign_histories_are_refused() {
    let mut h = good();
    h.line(json!({"type": "event", "process": 1, "f": "watch", "value": "garbage", "session": 2}));
    h.line(json!({"type": "event", "process": 1, "f": "bell", "session": 2}));
    h.line(json!({"type": "event", "process": 1, "f": "watch"}));
    let report = h.check(Level::Zookeeper);
    assert_eq!(report.verdict, Verdict::Valid, "{report}");
    assert_eq!(report.notes.len(), 3, "{report}");
    let register = r#"{"format":"zksim-history","version":1,"model":"register"}
{"type":"invoke","process":0,"f":"write","value":1,"time":1}"#;
    let raw = read(register, None).unwrap();
    assert!(check(&raw, Level::Zookeeper, &Budget::unlimited()).is_err());
    // A history without zxids is checked as far as it goes: nothing can be placed.
    let text = good().text();
    let without: String = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if let Some(o) = v.as_object_mut() {
                o.remove("zxid");
            }
            v.to_string() + "\n"
        })
        .collect();
    let raw = read(&without, None).unwrap();
    let report = check(&raw, Level::ZookeeperSync, &Budget::unlimited()).unwrap();
    assert_ne!(report.verdict, Verdict::Violation, "{report}");
}

#[test]
fn lines_in_memory_and_the_file_they_make_give_the_same_report() {
    use protocols::checks::zookeeper::check_lines;
    use sim::history::Line;
    let lines_of = |h: &H| -> Vec<Line> {
        h.text()
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let mut h = good();
    h.invoke(1, 2, "set_data", set("/a", "z"));
    h.info(1, 2, "set_data");
    let from_lines = check_lines(&lines_of(&h), Level::ZookeeperSync, &Budget::unlimited());
    assert_eq!(from_lines.unwrap(), h.check(Level::ZookeeperSync));
    let broken = {
        let mut h = start();
        h.op(1, 2, "create", create("/a", "w"), created("/a", 4, "w"), 4);
        h
    };
    let from_lines = check_lines(&lines_of(&broken), Level::Zookeeper, &Budget::unlimited());
    assert_eq!(from_lines.unwrap(), broken.check(Level::Zookeeper));
    // Malformed lines give the reader's errors, with the file's line numbers.
    let mut lines = lines_of(&start());
    lines.remove(4); // the create's invocation: its completion is then unpaired
    let error = check_lines(&lines, Level::Zookeeper, &Budget::unlimited()).unwrap_err();
    let text = {
        let mut t = String::from(r#"{"format":"zksim-history","version":1,"model":"znode"}"#);
        for l in &lines {
            t.push('\n');
            t.push_str(&serde_json::to_string(l).unwrap());
        }
        t
    };
    assert_eq!(Some(error), read(&text, None).err());
}

/// Session 1's set of /a is lost with its connection; session 2 creates /b at zxid 5 and then
/// reads /a at zxid 5, its answer showing the lost set took zxid 4 (its `mzxid`).
fn revealed(set_invoked_after_seeing_5: bool) -> H {
    let mut h = start();
    if set_invoked_after_seeing_5 {
        h.op(1, 2, "create", create("/b", "w"), created("/b", 5, "w"), 5);
        h.op(0, 1, "get_data", get("/b", false), data(5, 5, 0, "w"), 5);
        h.invoke(0, 1, "set_data", set("/a", "y"));
    } else {
        h.invoke(0, 1, "set_data", set("/a", "y"));
        h.op(1, 2, "create", create("/b", "w"), created("/b", 5, "w"), 5);
    }
    h.info(0, 1, "set_data");
    h.op(1, 2, "get_data", get("/a", false), data(3, 4, 1, "y"), 5);
    h
}

#[test]
fn an_answer_that_reveals_a_lost_writes_zxid_places_it_there_only_where_it_may_float() {
    // The write is pinned at zxid 4 (the one write that sets /a to "y"): explained.
    assert_eq!(
        revealed(false).check(Level::ZookeeperSync).verdict,
        Verdict::Valid
    );
    // Invoked after its session saw zxid 5, it cannot hold zxid 4: not pinned there, and the read
    // is not explained. No set of /a can be at or below 5, so version 1 there is convicted
    // before any search.
    breaks_only(&revealed(true), Guarantee::ReadsAtZxid, "from-the-future");
}

/// Session 2 holds a data watch on /a (and a child watch, with `child_watch`), /a is deleted at
/// zxid 4, and session 2 gets `deleted` on /a at zxid 4 `times` times.
fn deleted_notified(child_watch: bool, times: usize) -> H {
    let mut h = start();
    h.op(1, 2, "get_data", get("/a", true), data(3, 3, 0, "x"), 3);
    if child_watch {
        h.op(
            1,
            2,
            "get_children",
            get("/a", true),
            json!({"ok": {"children": [], "stat": stat(3, 3, 0, "x")}}),
            3,
        );
    }
    h.op(
        0,
        1,
        "delete",
        json!({"path": "/a", "version": -1}),
        json!({"ok": null}),
        4,
    );
    for _ in 0..times {
        h.watch(1, 2, "deleted", "/a", 4);
    }
    h
}

#[test]
fn a_deleted_node_with_a_data_and_a_child_watch_may_be_notified_twice_at_one_zxid() {
    // A server re-arming both watches on a reconnect answers each with `deleted` (ZooKeeper's
    // `DataTree.setWatches`; found by catch-up-crash-3 seed 705).
    let valid = deleted_notified(true, 2).check(Level::Zookeeper);
    assert_eq!(valid.verdict, Verdict::Valid, "{valid}");
    // A third, or a second after only one watch, answers none.
    for h in [deleted_notified(true, 3), deleted_notified(false, 2)] {
        assert_eq!(rules(&h.check(Level::Zookeeper)), ["no-watch-held"]);
    }
}

/// No search at all: a budget with one byte of memory ends every search at once.
fn no_search_budget() -> Budget {
    Budget {
        timeout: Some(std::time::Duration::from_secs(5)),
        memory_bytes: Some(1),
        shrink_steps: 0,
    }
}

/// `start()`, then session 1 loses 30 `set_data`s of /a (zxids unknown), then `read`.
fn after_lost_sets(read: impl FnOnce(&mut H)) -> H {
    let mut h = start();
    for k in 0..30 {
        h.invoke(0, 1, "set_data", set("/a", &format!("v{k}")));
        h.info(0, 1, "set_data");
    }
    read(&mut h);
    h
}

fn check_with(h: &H, budget: &Budget) -> Report {
    let raw = read(&h.text(), None).expect("the history reads");
    check(&raw, Level::Zookeeper, budget).expect("the history decodes")
}

#[test]
fn evident_violations_are_convicted_without_a_search() {
    let never_written =
        after_lost_sets(|h| h.op(1, 2, "get_data", get("/a", false), data(3, 3, 0, "zz"), 3));
    let future_zxid =
        after_lost_sets(|h| h.op(1, 2, "get_data", get("/a", false), data(3, 9, 1, "v1"), 3));
    // Version 2 at zxid 3: no lost set can be at or below 3 (each floats above 3, the zxid
    // session 1 saw before it).
    let future_version =
        after_lost_sets(|h| h.op(1, 2, "get_data", get("/a", false), data(3, 3, 2, "x"), 3));
    let children = after_lost_sets(|h| {
        h.op(
            1,
            2,
            "get_children",
            get("/", false),
            json!({"ok": {"children": ["a", "b", "zookeeper"], "stat": stat(0, 0, 0, "")}}),
            3,
        )
    });
    for (h, rule) in [
        (never_written, "never-written"),
        (future_zxid, "from-the-future"),
        (future_version, "from-the-future"),
        (children, "never-written"),
    ] {
        let report = check_with(&h, &no_search_budget());
        assert_eq!(report.verdict, Verdict::Violation, "{report}");
        assert_eq!(rules(&report), [rule], "{report}");
        assert_eq!(broken(&report), [Guarantee::ReadsAtZxid], "{report}");
    }
    // What the lost sets may have written, and the version they may have reached above their
    // floor, is no conviction.
    let maybe =
        after_lost_sets(|h| h.op(1, 2, "get_data", get("/a", false), data(3, 9, 1, "v7"), 9));
    assert_eq!(
        check_with(&maybe, &no_search_budget()).verdict,
        Verdict::Valid
    );
}

#[test]
fn a_sequential_name_given_twice_is_convicted_without_a_search() {
    let seq = json!({"path": "/s-", "data": "", "mode": "persistent_sequential"});
    let mut h = after_lost_sets(|_| {});
    h.op(
        0,
        1,
        "create",
        seq.clone(),
        created("/s-0000000001", 4, ""),
        4,
    );
    h.op(1, 2, "create", seq, created("/s-0000000001", 5, ""), 5);
    let report = check_with(&h, &no_search_budget());
    assert_eq!(report.verdict, Verdict::Violation, "{report}");
    assert_eq!(rules(&report), ["sequential-reused"], "{report}");
    // The reads are left undecided: the writes have no order to place them in.
    assert_eq!(
        report.guarantee(Guarantee::ReadsAtZxid).unwrap().verdict,
        Verdict::Unknown
    );
}

#[test]
fn a_sequential_name_may_come_again_after_its_parent_is_deleted_and_made_again() {
    // The suffix counts the parent's children changes; a parent made again counts from zero
    // (found by short-tick-3 seed 9, where /k3 was deleted and created again).
    let seq = json!({"path": "/p/s-", "data": "", "mode": "persistent_sequential"});
    let remove = |path: &str| json!({"path": path, "version": -1});
    let made_again = |lost_delete: bool| {
        let mut h = start();
        h.op(0, 1, "create", create("/p", ""), created("/p", 4, ""), 4);
        h.op(
            0,
            1,
            "create",
            seq.clone(),
            created("/p/s-0000000000", 5, ""),
            5,
        );
        h.op(
            0,
            1,
            "delete",
            remove("/p/s-0000000000"),
            json!({"ok": null}),
            6,
        );
        if lost_delete {
            h.invoke(0, 1, "delete", remove("/p"));
            h.info(0, 1, "delete");
        } else {
            h.op(0, 1, "delete", remove("/p"), json!({"ok": null}), 7);
        }
        h.op(1, 2, "create", create("/p", ""), created("/p", 8, ""), 8);
        h.op(
            1,
            2,
            "create",
            seq.clone(),
            created("/p/s-0000000000", 9, ""),
            9,
        );
        h
    };
    for lost_delete in [false, true] {
        let report = made_again(lost_delete).check(Level::Zookeeper);
        assert_eq!(report.verdict, Verdict::Valid, "{report}");
    }
}
