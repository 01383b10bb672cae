//! What the simulated clients do: the scenario's `workload` section and the generator that turns it
//! into a stream of ZooKeeper requests. The generator draws only from the client's own random
//! stream, so the same seed gives the same requests. It decides what to ask, never how the
//! protocol answers.

use crate::recipes::RecipeKind;
use crate::znode::{
    Check, Create, CreateMode, Delete, Multi, Outcome, Read, Reply, Request, SetData, SubOp,
    Watched, Write,
};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim::{Ratio, SimRng};
use std::collections::BTreeMap;

/// Kinds of operation a client draws from the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Create a persistent key node.
    Create,
    /// Create a persistent-sequential child under a key.
    CreateSequential,
    /// Create an ephemeral child under a key, owned by the client's session.
    CreateEphemeral,
    /// Delete a key node or one of its children (version -1, or the last version seen).
    Delete,
    SetData,
    GetData,
    Exists,
    GetChildren,
    /// `sync` then `get_data` on the same path: the read ZooKeeper documents as up to date.
    SyncRead,
    /// An atomic multi: check a version and set data, or create and delete.
    Multi,
    /// Close the session and open a new one (its ephemerals go).
    Reconnect,
}

fn default_think_ms() -> [f64; 2] {
    [1.0, 20.0]
}

fn default_keys() -> u32 {
    5
}

fn default_session_timeout_ms() -> f64 {
    4000.0
}

fn default_mix() -> BTreeMap<OpKind, u32> {
    [
        (OpKind::Create, 10),
        (OpKind::CreateSequential, 5),
        (OpKind::CreateEphemeral, 5),
        (OpKind::Delete, 8),
        (OpKind::SetData, 20),
        (OpKind::GetData, 25),
        (OpKind::Exists, 5),
        (OpKind::GetChildren, 8),
        (OpKind::SyncRead, 5),
        (OpKind::Multi, 5),
    ]
    .into_iter()
    .collect()
}

/// The most clients a scenario may have. The world keeps a few bytes per pair of nodes (link
/// state), and clients' histories grow with their number: 1,000 clients already record about
/// 100,000 operations per virtual second.
pub const MAX_CLIENTS: u32 = 1_000;

/// The shortest session timeout a client may ask for, in ms.
pub const MIN_SESSION_TIMEOUT_MS: f64 = 100.0;

/// The scenario's workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Simulated clients; each holds one session at a time and one operation in flight.
    pub clients: u32,
    /// Clients issue operations from `start_ms` until this time (virtual ms from the run's start).
    pub duration_ms: f64,
    /// When clients first connect.
    #[serde(default)]
    pub start_ms: f64,
    /// At most this many operations per client, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_per_client: Option<u64>,
    /// Pause between one operation's completion and the next invocation, uniform in `[min, max]`.
    #[serde(default = "default_think_ms")]
    pub think_ms: [f64; 2],
    /// Relative weights of the operation kinds.
    #[serde(default = "default_mix")]
    pub mix: BTreeMap<OpKind, u32>,
    /// Size of the key space: top-level nodes `/k0` ... `/k{keys-1}`.
    #[serde(default = "default_keys")]
    pub keys: u32,
    /// Fraction of reads (`get_data`, `exists`, `get_children`) that leave a watch.
    #[serde(default)]
    pub watch: Ratio,
    /// The session timeout a client asks for; servers clamp it (ZooKeeper: 2 to 20 ticks).
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: f64,
    /// A ZooKeeper recipe every client runs instead of the random mix (`crate::recipes`); the
    /// mix, keys, watch and ops_per_client are then unused. `think_ms` is the pause between a
    /// release and the next acquisition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<crate::recipes::RecipeConfig>,
}

impl WorkloadConfig {
    /// Checks the workload; errors name the field (relative to `workload`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let ms = sim::time::check_ms;
        if self.clients == 0 {
            return Err(("clients".into(), "expected at least 1 client".into()));
        }
        if self.clients > MAX_CLIENTS {
            return Err((
                "clients".into(),
                format!("at most {MAX_CLIENTS} clients, got {}", self.clients),
            ));
        }
        if self.ops_per_client == Some(0) {
            return Err((
                "ops_per_client".into(),
                "expected at least 1 operation per client (or leave it out for no limit)".into(),
            ));
        }
        ms("duration_ms", self.duration_ms)?;
        ms("start_ms", self.start_ms)?;
        if self.start_ms >= self.duration_ms {
            return Err((
                "start_ms".into(),
                format!("must be before duration_ms ({})", self.duration_ms),
            ));
        }
        ms("think_ms[0]", self.think_ms[0])?;
        ms("think_ms[1]", self.think_ms[1])?;
        if self.think_ms[0] > self.think_ms[1] {
            return Err((
                "think_ms".into(),
                format!(
                    "expected [min, max] with min <= max, got {:?}",
                    self.think_ms
                ),
            ));
        }
        sim::nemesis::check_weights("mix", self.mix.values().copied(), "operation kind")?;
        if self.keys == 0 {
            return Err(("keys".into(), "expected at least 1 key".into()));
        }
        ms("session_timeout_ms", self.session_timeout_ms)?;
        // The client's connect timeout is the requested timeout divided by the servers (as
        // ZooKeeper's), and it pings at a third of it: below the bound no client can connect across
        // a simulated network (and at 0 ns it would spin at one instant).
        if self.session_timeout_ms < MIN_SESSION_TIMEOUT_MS {
            return Err((
                "session_timeout_ms".into(),
                format!(
                    "expected at least {MIN_SESSION_TIMEOUT_MS} ms (a client's connect timeout is this divided by the replicas), got {}",
                    self.session_timeout_ms
                ),
            ));
        }
        if let Some(recipe) = &self.recipe {
            recipe
                .validate()
                .and_then(|()| match recipe.kind {
                    RecipeKind::Queue => recipe.queue().check_roles(u64::from(self.clients)),
                    _ => Ok(()),
                })
                .map_err(|(field, why)| (format!("recipe.{field}"), why))?;
        }
        Ok(())
    }
}

/// The next thing a client does.
#[derive(Clone, Debug, PartialEq)]
pub enum Planned {
    /// One request.
    One(Request),
    /// `sync(path)` and, once it answers, `get_data(path)`.
    SyncRead(String),
    /// Close the session and open a new one.
    Reconnect,
}

/// Draws a client's requests from its workload. Paths come from a small key space so that clients
/// collide: `/k{i}`, its children `/k{i}/c{j}` and ephemeral children `/k{i}/e{j}` (j < 3), and
/// sequential children `/k{i}/s-` and `/k{i}/eph-`. A client makes ephemeral nodes only under its
/// home key `/k{process % keys}`. Data values are unique per client (`"{process}.{n}"`), which
/// makes histories easy to read and checkers strict.
#[derive(Clone, Debug)]
pub struct Generator {
    config: WorkloadConfig,
    process: u64,
    count: u64,
    /// The last data version this client saw for each path, used for conditional writes.
    versions: BTreeMap<String, i32>,
    mix_total: u32,
}

impl Generator {
    pub fn new(config: WorkloadConfig, process: u64) -> Generator {
        let mix_total = config.mix.values().sum();
        Generator {
            config,
            process,
            count: 0,
            versions: BTreeMap::new(),
            mix_total,
        }
    }

    pub fn config(&self) -> &WorkloadConfig {
        &self.config
    }

    fn kind(&self, rng: &mut SimRng) -> OpKind {
        let mut pick = rng.random_range(0..self.mix_total);
        for (&kind, &w) in &self.config.mix {
            if pick < w {
                return kind;
            }
            pick -= w;
        }
        unreachable!("the weights sum to mix_total")
    }

    fn key(&self, rng: &mut SimRng) -> String {
        format!("/k{}", rng.random_range(0..self.config.keys))
    }

    /// The key under which this client's session makes its ephemeral nodes. Closing a session
    /// touches every ephemeral it made, so keeping them under one key keeps the other keys
    /// independent for the checker (P-compositionality) while clients sharing a home still race.
    fn home(&self) -> String {
        format!("/k{}", self.process % u64::from(self.config.keys))
    }

    /// A path for a data operation: mostly keys, sometimes their children, sometimes the
    /// ephemeral children of some client's home key.
    fn path(&self, rng: &mut SimRng) -> String {
        let key = self.key(rng);
        match rng.random_range(0..20) {
            0..12 => key,
            12..17 => format!("{key}/c{}", rng.random_range(0..3)),
            _ => format!("{key}/e{}", rng.random_range(0..3)),
        }
    }

    fn data(&mut self) -> String {
        self.count += 1;
        format!("{}.{}", self.process, self.count)
    }

    /// The version to expect: half the time the last one seen (if any), else any (-1).
    fn version(&self, rng: &mut SimRng, path: &str) -> i32 {
        match self.versions.get(path) {
            Some(&v) if rng.random_range(0..2u32) == 0 => v,
            _ => -1,
        }
    }

    fn watch(&self, rng: &mut SimRng) -> bool {
        self.config.watch.sample(rng)
    }

    /// Draws the next thing to do.
    pub fn next(&mut self, rng: &mut SimRng) -> Planned {
        let kind = self.kind(rng);
        let write = |w: Write| Planned::One(Request::Write(w));
        let read = |r: Read| Planned::One(Request::Read(r));
        match kind {
            OpKind::Create => {
                let key = self.key(rng);
                let path = if rng.random_range(0..2u32) == 0 {
                    key
                } else {
                    format!("{key}/c{}", rng.random_range(0..3))
                };
                write(Write::Create(Create {
                    path,
                    data: self.data(),
                    mode: CreateMode::Persistent,
                }))
            }
            OpKind::CreateSequential => {
                let path = format!("{}/s-", self.key(rng));
                write(Write::Create(Create {
                    path,
                    data: self.data(),
                    mode: CreateMode::PersistentSequential,
                }))
            }
            OpKind::CreateEphemeral => {
                let key = self.home();
                let (path, mode) = if rng.random_range(0..10u32) < 7 {
                    (
                        format!("{key}/e{}", rng.random_range(0..3)),
                        CreateMode::Ephemeral,
                    )
                } else {
                    (format!("{key}/eph-"), CreateMode::EphemeralSequential)
                };
                write(Write::Create(Create {
                    path,
                    data: self.data(),
                    mode,
                }))
            }
            OpKind::Delete => {
                let path = self.path(rng);
                let version = self.version(rng, &path);
                write(Write::Delete(Delete { path, version }))
            }
            OpKind::SetData => {
                let path = self.path(rng);
                let version = self.version(rng, &path);
                write(Write::SetData(SetData {
                    path,
                    data: self.data(),
                    version,
                }))
            }
            OpKind::GetData => read(Read::GetData(Watched {
                path: self.path(rng),
                watch: self.watch(rng),
            })),
            OpKind::Exists => read(Read::Exists(Watched {
                path: self.path(rng),
                watch: self.watch(rng),
            })),
            // Listing `/` would tie every key together for the checker; keys are listed instead.
            OpKind::GetChildren => read(Read::GetChildren(Watched {
                path: self.key(rng),
                watch: self.watch(rng),
            })),
            OpKind::SyncRead => Planned::SyncRead(self.key(rng)),
            OpKind::Multi => {
                let key = self.key(rng);
                let ops = match rng.random_range(0..3) {
                    0 => {
                        let version = self.version(rng, &key);
                        vec![
                            SubOp::Check(Check {
                                path: key.clone(),
                                version,
                            }),
                            SubOp::SetData(SetData {
                                path: key,
                                data: self.data(),
                                version: -1,
                            }),
                        ]
                    }
                    1 => {
                        let (a, b) = (rng.random_range(0..3), rng.random_range(0..3));
                        vec![
                            SubOp::Create(Create {
                                path: format!("{key}/c{a}"),
                                data: self.data(),
                                mode: CreateMode::Persistent,
                            }),
                            SubOp::Delete(Delete {
                                path: format!("{key}/c{b}"),
                                version: -1,
                            }),
                        ]
                    }
                    _ => vec![
                        SubOp::Create(Create {
                            path: format!("{key}/s-"),
                            data: self.data(),
                            mode: CreateMode::PersistentSequential,
                        }),
                        SubOp::SetData(SetData {
                            path: key,
                            data: self.data(),
                            version: -1,
                        }),
                    ],
                };
                write(Write::Multi(Multi { ops }))
            }
            OpKind::Reconnect => Planned::Reconnect,
        }
    }

    /// Learns data versions from an answer, for later conditional writes.
    pub fn observe(&mut self, request: &Request, outcome: &Outcome<Reply>) {
        let path = match request {
            Request::Write(Write::Create(_)) => match outcome {
                Outcome::Ok(Reply::Created(c)) => Some(c.path.as_str()),
                _ => None,
            },
            Request::Write(Write::SetData(s)) => Some(s.path.as_str()),
            Request::Write(Write::Delete(d)) => {
                if outcome.is_ok() {
                    self.versions.remove(&d.path);
                }
                None
            }
            Request::Read(Read::GetData(w) | Read::Exists(w)) => Some(w.path.as_str()),
            _ => None,
        };
        let stat = match outcome {
            Outcome::Ok(Reply::Stat(s)) => Some(s),
            Outcome::Ok(Reply::Data(d)) => Some(&d.stat),
            Outcome::Ok(Reply::Created(c)) => Some(&c.stat),
            _ => None,
        };
        if let (Some(path), Some(stat)) = (path, stat) {
            self.versions.insert(path.to_string(), stat.version);
        }
    }
}
