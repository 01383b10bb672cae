//! The client's side of the data model as typed values: requests, replies and ZooKeeper's error
//! codes, with the JSON shapes of the conformance traces (FORMAT.md "Operations", "Multi",
//! "Errors"). Runs write these same shapes into histories (`f` = the op name, the invoke `value` =
//! the arguments, the completion `value` = the answer), so this module is the one place that knows
//! them. It never executes anything: `tree` does.
//!
//! A reply cannot be read on its own: `null` answers both `delete` and `close_session`, and a Stat
//! answers both `set_data` and `exists`. `Outcome::from_json` therefore reads an answer for a
//! given request.

use super::id::{SessionId, Zxid};
use super::stat::Stat;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// How `create` makes a node (FORMAT.md "Operations", `mode`). TTL modes are not covered: the
/// recorded server answers them `Unimplemented` without its extended-types option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
    /// A persistent node the server deletes once it has had children and has none left (from a
    /// background timer, which the traces never show; see `tree`).
    Container,
}

impl CreateMode {
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential | CreateMode::EphemeralSequential
        )
    }

    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }
}

/// `create`'s arguments; also a `multi` sub-op.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Create {
    pub path: String,
    pub data: String,
    pub mode: CreateMode,
}

/// `delete`'s arguments; also a `multi` sub-op. `version` -1 matches any version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delete {
    pub path: String,
    pub version: i32,
}

/// `set_data`'s arguments; also a `multi` sub-op. `version` -1 matches any version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetData {
    pub path: String,
    pub data: String,
    pub version: i32,
}

/// The `check` sub-op: passes when the node exists and its data version matches (-1: any).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub path: String,
    pub version: i32,
}

/// One operation inside a `multi` (FORMAT.md "Operations", the sub-op table).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SubOp {
    Create(Create),
    Delete(Delete),
    SetData(SetData),
    Check(Check),
}

/// `multi`'s arguments.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Multi {
    pub ops: Vec<SubOp>,
}

/// The arguments of the three reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watched {
    pub path: String,
    /// Whether to leave a one-shot watch (FORMAT.md "Watches").
    pub watch: bool,
}

/// `sync`'s argument.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sync {
    pub path: String,
}

/// A request that becomes a transaction: it consumes one zxid whether it succeeds or fails
/// (FORMAT.md "zxid consumption"), and replicas agree on it through the atomic broadcast.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Write {
    OpenSession,
    CloseSession,
    Create(Create),
    Delete(Delete),
    SetData(SetData),
    Multi(Multi),
}

/// A request a server answers from its own copy of the tree, consuming no zxid.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Read {
    GetData(Watched),
    Exists(Watched),
    GetChildren(Watched),
    Sync(Sync),
}

/// Any request. Its JSON is one flat object, `{"op": NAME, ...arguments}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Request {
    Write(Write),
    Read(Read),
}

/// Every op name, writes first, for error messages.
pub const OP_NAMES: [&str; 10] = [
    "open_session",
    "close_session",
    "create",
    "delete",
    "set_data",
    "multi",
    "get_data",
    "exists",
    "get_children",
    "sync",
];

const READ_NAMES: [&str; 4] = ["get_data", "exists", "get_children", "sync"];

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Request, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(deserializer)?;
        let name = match value.get("op") {
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(D::Error::custom("`op` is not a string")),
            None => return Err(D::Error::missing_field("op")),
        };
        if !OP_NAMES.contains(&name.as_str()) {
            return Err(D::Error::custom(format!(
                "unknown op `{name}`, expected one of {}",
                OP_NAMES.join(", ")
            )));
        }
        if READ_NAMES.contains(&name.as_str()) {
            Read::deserialize(value).map(Request::Read)
        } else {
            Write::deserialize(value).map(Request::Write)
        }
        .map_err(|e| D::Error::custom(format!("{name}: {e}")))
    }
}

impl Request {
    /// The op name: the trace's `op` and the history's `f`.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Write(Write::OpenSession) => "open_session",
            Request::Write(Write::CloseSession) => "close_session",
            Request::Write(Write::Create(_)) => "create",
            Request::Write(Write::Delete(_)) => "delete",
            Request::Write(Write::SetData(_)) => "set_data",
            Request::Write(Write::Multi(_)) => "multi",
            Request::Read(Read::GetData(_)) => "get_data",
            Request::Read(Read::Exists(_)) => "exists",
            Request::Read(Read::GetChildren(_)) => "get_children",
            Request::Read(Read::Sync(_)) => "sync",
        }
    }

    /// The arguments alone, as a history's invoke line carries them in `value`: the request's
    /// object without `op`. Requests without arguments give an empty object.
    pub fn arguments(&self) -> Value {
        let mut value = serde_json::to_value(self).expect("a request always serializes");
        if let Value::Object(map) = &mut value {
            map.remove("op");
        }
        value
    }

    /// The request named `name` with the arguments `arguments` (an object without `op`, or
    /// `null` for none): the inverse of `name` and `arguments`.
    pub fn from_parts(name: &str, arguments: &Value) -> Result<Request, FieldError> {
        let mut object = match arguments {
            Value::Null => serde_json::Map::new(),
            Value::Object(map) => map.clone(),
            other => {
                return Err(FieldError::whole(format!(
                    "the arguments are not an object: {other}"
                )));
            }
        };
        if object.contains_key("op") {
            return Err(FieldError::at("op", "the arguments repeat the op name"));
        }
        object.insert("op".into(), Value::String(name.into()));
        Request::from_object(object)
    }

    /// Reads a request from its flat object (`op` and the arguments), naming the field at fault
    /// when it cannot.
    pub fn from_object(object: serde_json::Map<String, Value>) -> Result<Request, FieldError> {
        match object.get("op").and_then(Value::as_str) {
            None => return Err(FieldError::at("op", "missing")),
            Some(name) if !OP_NAMES.contains(&name) => {
                let expected = OP_NAMES.join(", ");
                return Err(FieldError::at(
                    "op",
                    format!("unknown op `{name}`, expected one of {expected}"),
                ));
            }
            Some(_) => {}
        }
        check_argument_types(&object, "")?;
        sim::json::from_value(&Value::Object(object)).map_err(FieldError::from_json)
    }
}

/// Why a request or answer could not be read: the field at fault when one is, and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: Option<String>,
    pub reason: String,
}

impl FieldError {
    pub fn at(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: Some(field.into()),
            reason: reason.into(),
        }
    }

    pub fn whole(reason: impl Into<String>) -> FieldError {
        FieldError {
            field: None,
            reason: reason.into(),
        }
    }

    /// The field serde_path_to_error found at fault, else the one serde names in its "missing
    /// field `x`" and "unknown field `x`" messages.
    fn from_json(error: sim::json::JsonError) -> FieldError {
        let named = || {
            let (_, rest) = error.reason.split_once("field `")?;
            Some(rest.split_once('`')?.0.to_string())
        };
        FieldError {
            field: error.field.clone().or_else(named),
            reason: error.reason,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field `{field}`: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Checks the JSON type of every known argument, so that a wrong type is reported with its field
/// (serde's own message names the type, not the field). `prefix` locates sub-ops: `ops[2].`.
fn check_argument_types(
    object: &serde_json::Map<String, Value>,
    prefix: &str,
) -> Result<(), FieldError> {
    for (key, value) in object {
        let expected = match key.as_str() {
            "op" | "path" | "data" | "mode" if !value.is_string() => "a string",
            "mode" if CreateMode::deserialize(value).is_err() => {
                "persistent, ephemeral, persistent_sequential, ephemeral_sequential or container"
            }
            "version" if value.as_i64().and_then(|v| i32::try_from(v).ok()).is_none() => {
                "a 32-bit integer"
            }
            "watch" if !value.is_boolean() => "true or false",
            "ops" => {
                let Value::Array(ops) = value else {
                    return Err(FieldError::at(
                        format!("{prefix}ops"),
                        "expected a list of sub-ops",
                    ));
                };
                for (index, op) in ops.iter().enumerate() {
                    let at = format!("{prefix}ops[{index}]");
                    let Value::Object(op) = op else {
                        return Err(FieldError::at(at, "expected a sub-op object"));
                    };
                    check_argument_types(op, &format!("{at}."))?;
                }
                continue;
            }
            _ => continue,
        };
        return Err(FieldError::at(
            format!("{prefix}{key}"),
            format!("expected {expected}, found {value}"),
        ));
    }
    Ok(())
}

/// ZooKeeper's error codes for these requests, under the CamelCase names of its
/// `KeeperException` classes (FORMAT.md "Errors"). The model answers the first ten; the others
/// are what a client can see from a real cluster, kept so that a history holding them reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ZkError {
    /// A sub-op of a failed multi that came before the failing one.
    Ok,
    /// A sub-op of a failed multi that came after the failing one.
    RuntimeInconsistency,
    BadArguments,
    NoNode,
    NoAuth,
    BadVersion,
    NoChildrenForEphemerals,
    NodeExists,
    NotEmpty,
    /// The session is not open (closed, expired, or never opened).
    SessionExpired,
    SystemError,
    ConnectionLoss,
    MarshallingError,
    Unimplemented,
    OperationTimeout,
    SessionMoved,
    RequestTimeout,
}

impl ZkError {
    /// The numeric code (`KeeperException.Code`).
    pub fn code(self) -> i32 {
        match self {
            ZkError::Ok => 0,
            ZkError::SystemError => -1,
            ZkError::RuntimeInconsistency => -2,
            ZkError::ConnectionLoss => -4,
            ZkError::MarshallingError => -5,
            ZkError::Unimplemented => -6,
            ZkError::OperationTimeout => -7,
            ZkError::BadArguments => -8,
            ZkError::NoNode => -101,
            ZkError::NoAuth => -102,
            ZkError::BadVersion => -103,
            ZkError::NoChildrenForEphemerals => -108,
            ZkError::NodeExists => -110,
            ZkError::NotEmpty => -111,
            ZkError::SessionExpired => -112,
            ZkError::SessionMoved => -118,
            ZkError::RequestTimeout => -122,
        }
    }

    /// Errors that say nothing about whether the request took effect: the client lost its
    /// connection or gave up waiting. A history should record them as `info`.
    pub fn is_indeterminate(self) -> bool {
        matches!(
            self,
            ZkError::ConnectionLoss | ZkError::OperationTimeout | ZkError::RequestTimeout
        )
    }
}

/// An answer: `{"ok": RESULT}` or `{"err": "NAME"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome<T> {
    Ok(T),
    Err(ZkError),
}

impl<T> Outcome<T> {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }

    pub fn err(&self) -> Option<ZkError> {
        match self {
            Outcome::Ok(_) => None,
            Outcome::Err(e) => Some(*e),
        }
    }

    pub fn map<U>(&self, f: impl FnOnce(&T) -> U) -> Outcome<U> {
        match self {
            Outcome::Ok(t) => Outcome::Ok(f(t)),
            Outcome::Err(e) => Outcome::Err(*e),
        }
    }
}

/// `create`'s result.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Created<Z = Zxid> {
    /// The created path, with the suffix of a sequential mode.
    pub path: String,
    pub stat: Stat<Z>,
}

/// `get_data`'s result.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data<Z = Zxid> {
    pub data: String,
    pub stat: Stat<Z>,
}

/// `get_children`'s result; names sorted by code point (FORMAT.md "Watches", last paragraph).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Children<Z = Zxid> {
    pub children: Vec<String>,
    pub stat: Stat<Z>,
}

/// The result of a create inside a multi: a Stat only for containers (FORMAT.md "Multi").
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiCreated<Z = Zxid> {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<Stat<Z>>,
}

/// What a successful request answers, in the shape of its op (FORMAT.md "Operations").
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Reply<Z = Zxid> {
    /// `open_session`: the new session.
    Session(SessionId),
    /// `create`.
    Created(Created<Z>),
    /// `set_data` (the Stat after the write) and `exists`.
    Stat(Stat<Z>),
    /// `get_data`.
    Data(Data<Z>),
    /// `get_children`.
    Children(Children<Z>),
    /// `sync`: its path, echoed.
    Synced(String),
    /// `multi`: one entry per sub-op; a failed multi has an error in every entry.
    Multi(Vec<Outcome<SubReply<Z>>>),
    /// `close_session` and `delete`: `null`.
    Done,
}

/// What one sub-op of a successful multi answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum SubReply<Z = Zxid> {
    Created(MultiCreated<Z>),
    /// `set_data`: the node's Stat right after this sub-op.
    Stat(Stat<Z>),
    /// `delete` and `check`: `null`.
    Done,
}

impl<Z: Copy> Reply<Z> {
    /// Whether this is a successful answer to `request` in its shape (what `Outcome::from_json`
    /// reads for it): a `get_data` answered with data, a multi with one entry per sub-op, ...
    pub fn answers(&self, request: &Request) -> bool {
        match (request, self) {
            (Request::Write(Write::OpenSession), Reply::Session(_))
            | (Request::Write(Write::CloseSession | Write::Delete(_)), Reply::Done)
            | (Request::Write(Write::Create(_)), Reply::Created(_))
            | (
                Request::Write(Write::SetData(_)) | Request::Read(Read::Exists(_)),
                Reply::Stat(_),
            )
            | (Request::Read(Read::GetData(_)), Reply::Data(_))
            | (Request::Read(Read::GetChildren(_)), Reply::Children(_))
            | (Request::Read(Read::Sync(_)), Reply::Synced(_)) => true,
            (Request::Write(Write::Multi(multi)), Reply::Multi(entries)) => {
                multi.ops.len() == entries.len()
                    && multi
                        .ops
                        .iter()
                        .zip(entries)
                        .all(|(op, entry)| match entry {
                            Outcome::Err(_) => true,
                            Outcome::Ok(reply) => matches!(
                                (op, reply),
                                (SubOp::Create(_), SubReply::Created(_))
                                    | (SubOp::SetData(_), SubReply::Stat(_))
                                    | (SubOp::Delete(_) | SubOp::Check(_), SubReply::Done)
                            ),
                        })
            }
            _ => false,
        }
    }

    /// `Outcome::same_but_zxids` for a successful answer.
    pub fn same_but_zxids<Y: Copy>(
        &self,
        other: &Reply<Y>,
        pair: &mut (impl FnMut(Z, Y) -> bool + ?Sized),
    ) -> bool {
        match (self, other) {
            (Reply::Session(a), Reply::Session(b)) => a == b,
            (Reply::Created(a), Reply::Created(b)) => {
                a.path == b.path && a.stat.same_but_zxids(&b.stat, pair)
            }
            (Reply::Stat(a), Reply::Stat(b)) => a.same_but_zxids(b, pair),
            (Reply::Data(a), Reply::Data(b)) => {
                a.data == b.data && a.stat.same_but_zxids(&b.stat, pair)
            }
            (Reply::Children(a), Reply::Children(b)) => {
                a.children == b.children && a.stat.same_but_zxids(&b.stat, pair)
            }
            (Reply::Synced(a), Reply::Synced(b)) => a == b,
            (Reply::Multi(a), Reply::Multi(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(a, b)| match (a, b) {
                        (Outcome::Ok(a), Outcome::Ok(b)) => a.same_but_zxids(b, pair),
                        (Outcome::Err(a), Outcome::Err(b)) => a == b,
                        _ => false,
                    })
            }
            (Reply::Done, Reply::Done) => true,
            _ => false,
        }
    }

    /// The Stats the reply shows, in document order: every zxid it holds is in one of them.
    pub fn stats(&self) -> impl Iterator<Item = &Stat<Z>> {
        let single = match self {
            Reply::Created(c) => Some(&c.stat),
            Reply::Stat(s) => Some(s),
            Reply::Data(d) => Some(&d.stat),
            Reply::Children(c) => Some(&c.stat),
            Reply::Session(_) | Reply::Synced(_) | Reply::Multi(_) | Reply::Done => None,
        };
        let entries = match self {
            Reply::Multi(entries) => entries.as_slice(),
            _ => &[],
        };
        single
            .into_iter()
            .chain(entries.iter().filter_map(|e| match e {
                Outcome::Ok(SubReply::Created(c)) => c.stat.as_ref(),
                Outcome::Ok(SubReply::Stat(s)) => Some(s),
                Outcome::Ok(SubReply::Done) | Outcome::Err(_) => None,
            }))
    }

    /// The same reply with every zxid passed through `f`, in document order.
    pub fn map_zxids<Y>(&self, f: &mut impl FnMut(Z) -> Y) -> Reply<Y> {
        match self {
            Reply::Session(s) => Reply::Session(*s),
            Reply::Created(c) => Reply::Created(Created {
                path: c.path.clone(),
                stat: c.stat.map_zxids(&mut *f),
            }),
            Reply::Stat(s) => Reply::Stat(s.map_zxids(f)),
            Reply::Data(d) => Reply::Data(Data {
                data: d.data.clone(),
                stat: d.stat.map_zxids(f),
            }),
            Reply::Children(c) => Reply::Children(Children {
                children: c.children.clone(),
                stat: c.stat.map_zxids(f),
            }),
            Reply::Synced(p) => Reply::Synced(p.clone()),
            Reply::Multi(entries) => Reply::Multi(
                entries
                    .iter()
                    .map(|e| e.map(|r| r.map_zxids(&mut *f)))
                    .collect(),
            ),
            Reply::Done => Reply::Done,
        }
    }
}

impl<Z: Copy> SubReply<Z> {
    pub fn map_zxids<Y>(&self, f: &mut impl FnMut(Z) -> Y) -> SubReply<Y> {
        match self {
            SubReply::Created(c) => SubReply::Created(MultiCreated {
                path: c.path.clone(),
                stat: c.stat.map(|s| s.map_zxids(&mut *f)),
            }),
            SubReply::Stat(s) => SubReply::Stat(s.map_zxids(f)),
            SubReply::Done => SubReply::Done,
        }
    }

    /// `Reply::same_but_zxids` for one entry of a multi.
    pub fn same_but_zxids<Y: Copy>(
        &self,
        other: &SubReply<Y>,
        pair: &mut (impl FnMut(Z, Y) -> bool + ?Sized),
    ) -> bool {
        match (self, other) {
            (SubReply::Created(a), SubReply::Created(b)) => {
                a.path == b.path
                    && match (&a.stat, &b.stat) {
                        (Some(a), Some(b)) => a.same_but_zxids(b, pair),
                        (None, None) => true,
                        _ => false,
                    }
            }
            (SubReply::Stat(a), SubReply::Stat(b)) => a.same_but_zxids(b, pair),
            (SubReply::Done, SubReply::Done) => true,
            _ => false,
        }
    }
}

impl<Z: Copy> Outcome<Reply<Z>> {
    /// Whether `self` and `other` are the same answer but for their zxids; each pair of zxids at
    /// the same place goes to `pair`, in document order, and a `false` from it is a `false`
    /// answer. Unlike comparing two `map_zxids` copies, it copies nothing.
    pub fn same_but_zxids<Y: Copy>(
        &self,
        other: &Outcome<Reply<Y>>,
        pair: &mut (impl FnMut(Z, Y) -> bool + ?Sized),
    ) -> bool {
        match (self, other) {
            (Outcome::Ok(a), Outcome::Ok(b)) => a.same_but_zxids(b, pair),
            (Outcome::Err(a), Outcome::Err(b)) => a == b,
            _ => false,
        }
    }
}

impl Outcome<Reply> {
    /// Reads `value` (`{"ok": ...}` or `{"err": ...}`) as the answer to `request`.
    pub fn from_json(request: &Request, value: &Value) -> Result<Outcome<Reply>, String> {
        // Each answer is read straight into its type from the borrowed `value`, with no copy in
        // between: the children lists of get_children answers are most of a long history.
        fn read<'a, T: Deserialize<'a>>(
            value: &'a Value,
            reply: impl FnOnce(T) -> Result<Reply, String>,
        ) -> Result<Outcome<Reply>, String> {
            Ok(
                match sim::json::from_value::<Outcome<T>>(value).map_err(|e| e.to_string())? {
                    Outcome::Ok(t) => Outcome::Ok(reply(t)?),
                    Outcome::Err(e) => Outcome::Err(e),
                },
            )
        }
        let null = |value: Value| match value {
            Value::Null => Ok(Reply::Done),
            other => Err(format!("expected null, found {other}")),
        };
        match request {
            Request::Write(Write::OpenSession) => read(value, |s| Ok(Reply::Session(s))),
            Request::Write(Write::CloseSession) | Request::Write(Write::Delete(_)) => {
                read(value, null)
            }
            Request::Write(Write::Create(_)) => read(value, |c| Ok(Reply::Created(c))),
            Request::Write(Write::SetData(_)) | Request::Read(Read::Exists(_)) => {
                read(value, |s| Ok(Reply::Stat(s)))
            }
            Request::Read(Read::GetData(_)) => read(value, |d| Ok(Reply::Data(d))),
            Request::Read(Read::GetChildren(_)) => read(value, |c| Ok(Reply::Children(c))),
            Request::Read(Read::Sync(_)) => read(value, |p| Ok(Reply::Synced(p))),
            Request::Write(Write::Multi(multi)) => read(value, |entries: Vec<Outcome<Value>>| {
                if entries.len() != multi.ops.len() {
                    return Err(format!(
                        "{} results for {} sub-ops",
                        entries.len(),
                        multi.ops.len()
                    ));
                }
                let mut replies = Vec::with_capacity(entries.len());
                for (index, (op, entry)) in multi.ops.iter().zip(entries).enumerate() {
                    let reply = match entry {
                        Outcome::Err(e) => Outcome::Err(e),
                        Outcome::Ok(v) => Outcome::Ok(
                            sub_reply_from_json(op, v)
                                .map_err(|e| format!("result {index}: {e}"))?,
                        ),
                    };
                    replies.push(reply);
                }
                Ok(Reply::Multi(replies))
            }),
        }
    }
}

fn sub_reply_from_json(op: &SubOp, value: Value) -> Result<SubReply, String> {
    match op {
        SubOp::Create(_) => serde_json::from_value(value)
            .map(SubReply::Created)
            .map_err(|e| e.to_string()),
        SubOp::SetData(_) => serde_json::from_value(value)
            .map(SubReply::Stat)
            .map_err(|e| e.to_string()),
        SubOp::Delete(_) | SubOp::Check(_) => match value {
            Value::Null => Ok(SubReply::Done),
            other => Err(format!("expected null, found {other}")),
        },
    }
}

/// One operation as the linearizability checker sees it: the session it ran in and the request.
///
/// `session` is `None` only for `open_session`, which runs before the client has a session. A
/// request of any other op without a session is answered as from a session that is not open
/// (`SessionExpired`): the parsers refuse such input, so only hand-built values can hold it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZkInput {
    pub session: Option<SessionId>,
    pub request: Request,
}

impl ZkInput {
    /// Checks that a session is given exactly when the op needs one.
    pub fn new(session: Option<SessionId>, request: Request) -> Result<ZkInput, String> {
        let opens = matches!(request, Request::Write(Write::OpenSession));
        match (opens, session) {
            (false, None) => Err(format!("{} needs the session it runs in", request.name())),
            _ => Ok(ZkInput { session, request }),
        }
    }

    /// The session a request runs in; `SessionId::NONE` (never open) when there is none.
    pub fn session_or_none(&self) -> SessionId {
        self.session.unwrap_or(SessionId::NONE)
    }
}

/// What a client observed: the answer, and the zxid of the reply header when the history has it
/// (for a write, ZooKeeper's reply header carries that write's own zxid).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ZkOutput {
    pub outcome: Outcome<Reply>,
    pub zxid: Option<Zxid>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_read_and_write_the_trace_shape() {
        let text = r#"{"op":"create","path":"/c/d","data":"v2","mode":"ephemeral_sequential"}"#;
        let request: Request = serde_json::from_str(text).unwrap();
        assert_eq!(
            request,
            Request::Write(Write::Create(Create {
                path: "/c/d".into(),
                data: "v2".into(),
                mode: CreateMode::EphemeralSequential
            }))
        );
        assert_eq!(serde_json::to_string(&request).unwrap(), text);
        assert_eq!(
            request.arguments(),
            json!({"path":"/c/d","data":"v2","mode":"ephemeral_sequential"})
        );
        assert_eq!(
            Request::from_parts("create", &request.arguments()).unwrap(),
            request
        );

        let multi = json!({"op":"multi","ops":[{"op":"check","path":"/m","version":-1},
            {"op":"delete","path":"/m/a","version":0}]});
        let request: Request = serde_json::from_value(multi.clone()).unwrap();
        assert_eq!(serde_json::to_value(&request).unwrap(), multi);

        let open: Request = serde_json::from_value(json!({"op":"open_session"})).unwrap();
        assert_eq!(open, Request::Write(Write::OpenSession));
        assert_eq!(open.arguments(), json!({}));
        assert_eq!(
            Request::from_parts("open_session", &Value::Null).unwrap(),
            open
        );
        let sync: Request = serde_json::from_value(json!({"op":"sync","path":"x"})).unwrap();
        assert_eq!(sync, Request::Read(Read::Sync(Sync { path: "x".into() })));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let err = |v: Value| {
            serde_json::from_value::<Request>(v)
                .unwrap_err()
                .to_string()
        };
        assert!(err(json!({"op":"rename","path":"/a"})).contains("unknown op `rename`"));
        assert!(err(json!({"path":"/a"})).contains("missing field `op`"));
        assert!(err(json!({"op":"delete","path":"/a"})).contains("missing field `version`"));
        assert!(err(json!({"op":"exists","path":"/a","watch":true,"colour":1})).contains("colour"));
        assert!(err(json!({"op":"create","path":"/a","data":"","mode":"ttl"})).contains("ttl"));
        let field = |name: &str, v: Value| Request::from_parts(name, &v).unwrap_err().field;
        assert_eq!(
            field("get_data", json!({"path":"/a","watch":"yes"})),
            Some("watch".into())
        );
        assert_eq!(
            field("delete", json!({"path":"/a"})),
            Some("version".into())
        );
        assert_eq!(
            field("delete", json!({"path":"/a","version":1,"x":0})),
            Some("x".into())
        );
        let sub = json!({"ops":[{"op":"check","path":"/a","version":0},{"op":"check","path":1}]});
        assert_eq!(field("multi", sub), Some("ops[1].path".into()));
        assert_eq!(
            field("delete", json!({"path":"/a","version":1u64 << 40})),
            Some("version".into())
        );
    }

    #[test]
    fn answers_are_read_for_their_request() {
        let delete: Request =
            serde_json::from_value(json!({"op":"delete","path":"/a","version":-1})).unwrap();
        let open = Request::Write(Write::OpenSession);
        assert_eq!(
            Outcome::from_json(&delete, &json!({"ok": null})).unwrap(),
            Outcome::Ok(Reply::Done)
        );
        assert_eq!(
            Outcome::from_json(&open, &json!({"ok": 3})).unwrap(),
            Outcome::Ok(Reply::Session(SessionId(3)))
        );
        assert_eq!(
            Outcome::from_json(&delete, &json!({"err": "NotEmpty"})).unwrap(),
            Outcome::Err(ZkError::NotEmpty)
        );
        assert!(Outcome::from_json(&delete, &json!({"ok": 3})).is_err());
        assert!(Outcome::from_json(&delete, &json!({"err": "Nope"})).is_err());
        assert!(Outcome::from_json(&delete, &json!({"ok": null, "err": "NoNode"})).is_err());

        let multi: Request = serde_json::from_value(json!({"op":"multi","ops":[
            {"op":"create","path":"/k","data":"","mode":"container"},
            {"op":"create","path":"/m","data":"","mode":"persistent"},
            {"op":"check","path":"/m","version":0}]}))
        .unwrap();
        let stat = json!({"czxid":10,"mzxid":10,"pzxid":10,"version":0,"cversion":0,
            "aversion":0,"ephemeralOwner":0,"dataLength":0,"numChildren":0});
        let answer =
            json!({"ok":[{"ok":{"path":"/k","stat":stat}},{"ok":{"path":"/m"}},{"ok":null}]});
        let parsed = Outcome::from_json(&multi, &answer).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), answer);
        let short = json!({"ok":[{"ok":null}]});
        assert!(
            Outcome::from_json(&multi, &short)
                .unwrap_err()
                .contains("1 results for 3")
        );
    }
}
