//! The client protocol every server speaks, whatever replicates it: ZooKeeper's session handshake,
//! requests with per-session transaction ids (`xid`), replies stamped with the zxid the server had
//! reached, watch notifications, pings, and re-registering watches after a reconnect. It also
//! frames what travels in a world: client traffic and each protocol's replica-to-replica messages.
//! It owns message shapes and sizes, never behaviour.

use crate::znode::watch::EventType;
use crate::znode::{Outcome, Reply, Request, SessionId, Zxid};
use sim::Message;

/// A client's message to a server.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ToServer {
    /// ZooKeeper's ConnectRequest: a new session (`session` is `None`) or a reconnect of an existing
    /// one, with the last zxid the client has seen, so that a server behind it refuses it.
    Connect {
        session: Option<SessionId>,
        last_zxid_seen: Zxid,
        timeout_ms: u64,
    },
    /// A request; `xid` grows by one per request of the session, and replies come back in xid order.
    Request { xid: u64, request: Request },
    /// Keeps the session alive while the client is idle.
    Ping,
    /// After a reconnect: the watches the client still holds, so the new server re-arms them or
    /// fires them at once if it already saw a change newer than `last_zxid_seen`.
    SetWatches {
        last_zxid_seen: Zxid,
        data: Vec<String>,
        exist: Vec<String>,
        child: Vec<String>,
    },
}

/// A server's message to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ToClient {
    /// ZooKeeper's ConnectResponse: the session and the negotiated timeout.
    Connected {
        session: SessionId,
        timeout_ms: u64,
    },
    /// ConnectResponse with timeout 0: the session no longer exists.
    Expired {
        session: SessionId,
    },
    /// The answer to request `xid`; `zxid` is the server's last applied zxid when it answered.
    Reply {
        xid: u64,
        zxid: Zxid,
        outcome: Outcome<Reply>,
    },
    /// A watch fired; `zxid` is the transaction that fired it.
    Notify {
        kind: EventType,
        path: String,
        zxid: Zxid,
    },
    Pong {
        zxid: Zxid,
    },
}

/// A peer message that cannot exist, for a server with no peers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NoPeer {}

impl Message for NoPeer {
    fn kind(&self) -> &'static str {
        match *self {}
    }
    fn size_bytes(&self) -> usize {
        match *self {}
    }
}

/// Everything that travels between two nodes of a world.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Wire<P> {
    ToServer(ToServer),
    ToClient(ToClient),
    /// Replica-to-replica traffic of the protocol under test.
    Peer(P),
}

/// Bytes a string takes on the wire: a 4-byte length and its UTF-8 bytes (jute's encoding).
fn string_bytes(s: &str) -> usize {
    4 + s.len()
}

/// Bytes of a request's payload, estimated from jute's encodings.
pub fn request_bytes(request: &Request) -> usize {
    use crate::znode::Read;
    match request {
        Request::Write(write) => write_bytes(write),
        Request::Read(Read::GetData(w) | Read::Exists(w) | Read::GetChildren(w)) => {
            string_bytes(&w.path) + 1
        }
        Request::Read(Read::Sync(s)) => string_bytes(&s.path),
    }
}

/// `request_bytes` of a write, for the replication messages that carry one (without copying it
/// into a `Request`).
pub fn write_bytes(write: &crate::znode::Write) -> usize {
    use crate::znode::{SubOp, Write};
    let sub = |op: &SubOp| match op {
        SubOp::Create(c) => string_bytes(&c.path) + string_bytes(&c.data) + 8,
        SubOp::Delete(d) => string_bytes(&d.path) + 4,
        SubOp::SetData(s) => string_bytes(&s.path) + string_bytes(&s.data) + 4,
        SubOp::Check(c) => string_bytes(&c.path) + 4,
    };
    match write {
        Write::OpenSession | Write::CloseSession => 0,
        Write::Create(c) => string_bytes(&c.path) + string_bytes(&c.data) + 12,
        Write::Delete(d) => string_bytes(&d.path) + 4,
        Write::SetData(s) => string_bytes(&s.path) + string_bytes(&s.data) + 4,
        Write::Multi(m) => m.ops.iter().map(|op| 12 + sub(op)).sum::<usize>() + 12,
    }
}

const STAT_BYTES: usize = 68;

fn reply_bytes(outcome: &Outcome<Reply>) -> usize {
    match outcome {
        Outcome::Err(_) => 0,
        Outcome::Ok(reply) => match reply {
            Reply::Session(_) | Reply::Done => 0,
            Reply::Created(c) => string_bytes(&c.path) + STAT_BYTES,
            Reply::Stat(_) => STAT_BYTES,
            Reply::Data(d) => string_bytes(&d.data) + STAT_BYTES,
            Reply::Children(c) => {
                4 + c.children.iter().map(|s| string_bytes(s)).sum::<usize>() + STAT_BYTES
            }
            Reply::Synced(p) => string_bytes(p),
            Reply::Multi(entries) => entries.len() * (12 + STAT_BYTES),
        },
    }
}

/// Header bytes of a request or reply (length, xid, type or zxid, error).
const HEADER_BYTES: usize = 16;

impl<P: Message> Message for Wire<P> {
    fn kind(&self) -> &'static str {
        match self {
            Wire::ToServer(m) => match m {
                ToServer::Connect { .. } => "CONNECT",
                ToServer::Request { .. } => "REQUEST",
                ToServer::Ping => "PING",
                ToServer::SetWatches { .. } => "SET_WATCHES",
            },
            Wire::ToClient(m) => match m {
                ToClient::Connected { .. } => "CONNECTED",
                ToClient::Expired { .. } => "EXPIRED",
                ToClient::Reply { .. } => "REPLY",
                ToClient::Notify { .. } => "NOTIFY",
                ToClient::Pong { .. } => "PONG",
            },
            Wire::Peer(p) => p.kind(),
        }
    }

    fn size_bytes(&self) -> usize {
        match self {
            Wire::ToServer(m) => {
                HEADER_BYTES
                    + match m {
                        ToServer::Connect { .. } => 28,
                        ToServer::Request { request, .. } => request_bytes(request),
                        ToServer::Ping => 0,
                        ToServer::SetWatches {
                            data, exist, child, ..
                        } => {
                            8 + [data, exist, child]
                                .iter()
                                .map(|l| 4 + l.iter().map(|s| string_bytes(s)).sum::<usize>())
                                .sum::<usize>()
                        }
                    }
            }
            Wire::ToClient(m) => {
                HEADER_BYTES
                    + match m {
                        ToClient::Connected { .. } | ToClient::Expired { .. } => 28,
                        ToClient::Reply { outcome, .. } => reply_bytes(outcome),
                        ToClient::Notify { path, .. } => 8 + string_bytes(path),
                        ToClient::Pong { .. } => 0,
                    }
            }
            Wire::Peer(p) => p.size_bytes(),
        }
    }
}
