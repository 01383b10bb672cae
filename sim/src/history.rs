//! The history format: one JSON object per line, written by runs and read by the checkers.
//! `docs/history-format.md` is its specification; this module is its only implementation. It knows
//! the line layout, not any model's operations: `f` and `value` are interpreted by the model.

use serde::{Deserialize, Serialize};

/// The format's version; bumped on any change a reader could notice.
pub const HISTORY_FORMAT_VERSION: u32 = 1;

/// What a line records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineType {
    /// A client begins an operation.
    Invoke,
    /// The operation completed and its answer is known (ZooKeeper error answers such as `NoNode` are
    /// `ok` lines too: the server executed the request).
    Ok,
    /// The operation definitely did not take effect.
    Fail,
    /// The outcome is unknown (timeout, connection loss): it may take effect later, or never.
    Info,
    /// Something a client observed outside any operation, e.g. a watch notification.
    Event,
}

/// The first line of a history file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always `"zksim-history"`.
    pub format: String,
    pub version: u32,
    /// The model the operations are written for: `znode`, `register`, `cas-register`, `kv`,
    /// `multi-register` or `mutex`.
    pub model: String,
    /// The initial state, when it is not the model's default (e.g. a register starting at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<serde_json::Value>,
    /// Where the history came from, e.g. the scenario and seed of a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<serde_json::Value>,
}

impl Header {
    pub fn new(model: &str) -> Header {
        Header {
            format: "zksim-history".into(),
            version: HISTORY_FORMAT_VERSION,
            model: model.into(),
            initial: None,
            source: None,
        }
    }
}

/// One event line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    #[serde(rename = "type")]
    pub kind: LineType,
    /// The client process. A process has at most one operation open at a time.
    pub process: u64,
    /// The operation's name, e.g. `create` or `read`; for events, the event's name (e.g. `watch`).
    pub f: String,
    /// Invoke: the arguments. Ok: the answer. Fail and info: may repeat the arguments or be absent.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub value: serde_json::Value,
    /// Virtual time in nanoseconds; never decreases from one line to the next.
    pub time: u64,
    /// The ZooKeeper session the operation ran in, for models that have sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<u64>,
    /// The zxid the answer reflects (ZooKeeper's reply header), where the protocol has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zxid: Option<u64>,
    /// The server that answered or that the client was connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<u32>,
    /// Why an operation failed or is indeterminate, in words (e.g. `connection-loss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
