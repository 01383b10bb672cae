//! Scenario files: what a run simulates. A scenario is one JSON object (see
//! `docs/scenario-format.md`) naming the cluster and protocol, the network, the disks, the workload,
//! the faults, the checks and the run's limits. This module reads and validates it; every error names
//! the file, the line and column where known, the field's path, and what was expected. It never runs
//! anything.

use protocols::workload::WorkloadConfig;
use serde::{Deserialize, Serialize};
use sim::disk::DiskConfig;
use sim::nemesis::NemesisConfig;
use sim::net::NetworkConfig;
use sim::time::check_ms;
use std::fmt;
use std::path::{Path, PathBuf};

/// The replicated service under test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Number of replicas (ids `0..replicas`; clients get the ids after them).
    pub replicas: u32,
    /// `reference` (one unreplicated server) or `zab`.
    pub protocol: String,
    /// A named variant of the protocol; its correct form when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Protocol-specific tuning (e.g. ZAB's tick and limits); the protocol's defaults when absent.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub settings: serde_json::Value,
}

fn yes() -> bool {
    true
}

fn default_liveness_ms() -> f64 {
    10_000.0
}

fn default_check_timeout_s() -> f64 {
    60.0
}

/// What is checked after the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksConfig {
    /// ZooKeeper's documented guarantees: linearizable writes, per-session order, no going back in
    /// time across reconnects, watch events before the data that fired them.
    #[serde(default = "yes")]
    pub zookeeper: bool,
    /// Stricter than ZooKeeper promises: a read after `sync` sees every write completed before the
    /// sync (fails under a deposed leader, ZOOKEEPER-1675).
    #[serde(default)]
    pub sync_read: bool,
    /// Every operation linearizable, reads included. Defaults to what the protocol claims:
    /// true for `reference`, false for `zab` (its reads are served locally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linearizable: Option<bool>,
    /// The protocol's own invariants: no committed write lost, replicas' logs prefixes of one
    /// another, one established leader per epoch.
    #[serde(default = "yes")]
    pub invariants: bool,
    /// After the fault window closes and everything heals, each client must complete an operation
    /// within this bound.
    #[serde(default = "default_liveness_ms")]
    pub liveness_ms: f64,
    /// Time budget of each history check; past it the verdict is `unknown` (exit 3).
    #[serde(default = "default_check_timeout_s")]
    pub timeout_s: f64,
}

impl Default for ChecksConfig {
    fn default() -> ChecksConfig {
        serde_json::from_str("{}").expect("every field has a default")
    }
}

fn default_max_events() -> u64 {
    200_000_000
}

/// Fifty times the busiest rate a shipped scenario reaches (about 200 events per node per simulated
/// second): only a storm of messages at network speed gets near it.
fn default_max_event_rate() -> u64 {
    10_000
}

fn default_drain_ms() -> f64 {
    5_000.0
}

/// About 10 KB of memory per operation (history, replicas' state) before any check: 200,000
/// operations keep a run within a few GB.
fn default_max_ops() -> u64 {
    200_000
}

/// Bounds of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Stop after this many events (a run that needs more gets verdict `unknown`).
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// After the workload ends, keep running this long so that operations in flight complete.
    #[serde(default = "default_drain_ms")]
    pub drain_ms: f64,
    /// Stop once clients have invoked this many operations (a run that needs more gets verdict
    /// `unknown`): the history, and the memory to check it, grow with every operation.
    #[serde(default = "default_max_ops")]
    pub max_ops: u64,
    /// A livelock bound: at most this many events per node (replicas and clients) in any second
    /// of virtual time. A run that goes faster is stopped and fails `liveness` ("livelock: ..."):
    /// its processes exchange messages at network speed without time moving on.
    #[serde(default = "default_max_event_rate")]
    pub max_event_rate: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        serde_json::from_str("{}").expect("every field has a default")
    }
}

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The seed used when none is given on the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub cluster: ClusterConfig,
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub disk: DiskConfig,
    pub workload: WorkloadConfig,
    #[serde(default)]
    pub faults: NemesisConfig,
    #[serde(default)]
    pub checks: ChecksConfig,
    #[serde(default)]
    pub limits: Limits,
}

/// A scenario that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    pub file: PathBuf,
    /// 1-based line and column, where known.
    pub position: Option<(usize, usize)>,
    /// The field's path, e.g. `faults.scripted[2].at_ms`; empty for the file as a whole.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": field `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// Reads a protocol's `cluster.settings` for a cluster of the given size and returns them with
/// every default filled in, or the offending field (relative to `settings`) and why.
pub type ResolveSettings =
    fn(&serde_json::Value, usize) -> Result<serde_json::Value, (String, String)>;

/// A protocol as scenario validation needs to know it.
pub struct ProtocolInfo {
    pub name: &'static str,
    /// Its variants; the first is the default.
    pub variants: &'static [&'static str],
    /// Reads `cluster.settings` for a cluster of the given size and returns them with every
    /// default filled in; errors name the field relative to `settings`.
    pub resolve_settings: ResolveSettings,
    /// Whether its reads are linearizable (the default of `checks.linearizable`).
    pub linearizable_reads: bool,
    /// The most replicas it runs.
    pub max_replicas: u32,
    /// The kinds of the messages its replicas send one another (a triggered crash's
    /// `after_send` names one of these or of `protocols::wire::SERVER_KINDS`).
    pub message_kinds: &'static [&'static str],
    /// Runs a validated scenario of this protocol once and checks it.
    pub run: fn(&Scenario, crate::runner::RunOptions) -> crate::runner::Run,
}

/// The protocols a scenario may name.
pub type Registry<'a> = &'a [ProtocolInfo];

impl Scenario {
    /// Reads and validates a scenario file against the known protocols.
    pub fn load(path: &Path, registry: Registry<'_>) -> Result<Scenario, ScenarioError> {
        let text = crate::text::read(path).map_err(|e| ScenarioError {
            file: path.to_path_buf(),
            position: None,
            field: String::new(),
            message: e.to_string(),
        })?;
        Scenario::parse(&text, path, registry)
    }

    /// Parses and validates scenario text; `file` only names it in errors.
    pub fn parse(
        text: &str,
        file: &Path,
        registry: Registry<'_>,
    ) -> Result<Scenario, ScenarioError> {
        let error = |position, field: String, message: String| ScenarioError {
            file: file.to_path_buf(),
            position,
            field,
            message,
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let scenario: Scenario = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            // serde_json counts columns from 0 at a line's start (e.g. at the end of the input).
            let position = (inner.line() > 0).then(|| (inner.line(), inner.column().max(1)));
            // The position is reported separately.
            let message = sim::json::reason(&inner);
            // A syntax error has no field ("." from serde_path_to_error); inside a map whose keys
            // are not strings (e.g. `workload.mix`) the last step is "?": name the map.
            let field = match field.strip_suffix('?') {
                _ if field == "." || !sim::json::is_about_a_field(&inner) => String::new(),
                Some(map) => map.trim_end_matches('.').to_string(),
                None => field,
            };
            error(position, field, message)
        })?;
        de.end().map_err(|e| {
            error(
                Some((e.line(), e.column())),
                String::new(),
                "trailing characters after the scenario".into(),
            )
        })?;
        scenario
            .validate(registry)
            .map_err(|(field, message)| error(locate(text, &field), field, message))?;
        Ok(scenario)
    }

    /// Checks what the types alone cannot: ranges, cross-field consistency, known names.
    pub fn validate(&self, registry: Registry<'_>) -> Result<(), (String, String)> {
        let within = |section: &str, r: Result<(), (String, String)>| {
            r.map_err(|(f, m)| (format!("{section}.{f}"), m))
        };
        check_name(&self.name).map_err(|m| ("name".to_string(), m))?;
        let c = &self.cluster;
        let Some(protocol) = registry.iter().find(|p| p.name == c.protocol) else {
            let known: Vec<&str> = registry.iter().map(|p| p.name).collect();
            return Err((
                "cluster.protocol".into(),
                format!(
                    "unknown protocol {:?}: expected one of {known:?}",
                    c.protocol
                ),
            ));
        };
        if !(1..=protocol.max_replicas).contains(&c.replicas) {
            return Err((
                "cluster.replicas".into(),
                match protocol.max_replicas {
                    1 => format!(
                        "{} runs one unreplicated server: expected 1 replica, got {}",
                        c.protocol, c.replicas
                    ),
                    max => format!("expected 1 to {max} replicas, got {}", c.replicas),
                },
            ));
        }
        if let Some(v) = &c.variant
            && !protocol.variants.contains(&v.as_str())
        {
            let variants = protocol.variants;
            return Err((
                "cluster.variant".into(),
                format!(
                    "unknown variant {v:?} of {}: expected one of {variants:?}",
                    c.protocol
                ),
            ));
        }
        if !(c.settings.is_null() || c.settings.is_object()) {
            return Err((
                "cluster.settings".into(),
                "expected an object of protocol settings".into(),
            ));
        }
        (protocol.resolve_settings)(&c.settings, c.replicas as usize).map_err(|(f, m)| {
            (
                if f.is_empty() || f == "." {
                    "cluster.settings".to_string()
                } else {
                    format!("cluster.settings.{f}")
                },
                m,
            )
        })?;
        within("network", self.network.validate())?;
        within("disk", self.disk.validate())?;
        within("workload", self.workload.validate())?;
        check_ms("limits.drain_ms", self.limits.drain_ms)?;
        let nodes = c.replicas + self.workload.clients;
        within(
            "faults",
            self.faults.validate(c.replicas, nodes, self.end_ms()),
        )?;
        for (i, f) in self.faults.scripted.iter().enumerate() {
            let Some(kind) = &f.after_send else { continue };
            let known = |k: &&str| *k == kind.as_str();
            if !protocol.message_kinds.iter().any(known)
                && !protocols::wire::SERVER_KINDS.iter().any(known)
            {
                return Err((
                    format!("faults.scripted[{i}].after_send"),
                    format!(
                        "{kind:?} is not a message a {} replica sends: expected one of {:?} or {:?}",
                        c.protocol,
                        protocol.message_kinds,
                        protocols::wire::SERVER_KINDS
                    ),
                ));
            }
        }
        let ch = &self.checks;
        check_ms("checks.liveness_ms", ch.liveness_ms)?;
        if ch.liveness_ms <= 0.0 {
            return Err((
                "checks.liveness_ms".into(),
                format!("expected a positive number of ms, got {}", ch.liveness_ms),
            ));
        }
        if !(ch.timeout_s.is_finite() && ch.timeout_s > 0.0 && ch.timeout_s <= MAX_CHECK_TIMEOUT_S)
        {
            return Err((
                "checks.timeout_s".into(),
                format!(
                    "expected a number of seconds above 0 and at most {MAX_CHECK_TIMEOUT_S} (one day), got {}",
                    ch.timeout_s
                ),
            ));
        }
        if self.limits.max_events == 0 {
            return Err((
                "limits.max_events".into(),
                "expected at least 1 event".into(),
            ));
        }
        if self.limits.max_event_rate == 0 {
            return Err((
                "limits.max_event_rate".into(),
                "expected at least 1 event per node per simulated second".into(),
            ));
        }
        if self.limits.max_ops == 0 {
            return Err((
                "limits.max_ops".into(),
                "expected at least 1 operation".into(),
            ));
        }
        if self.faults.random.is_some() && self.faults.window_ms.is_none() {
            return Err((
                "faults.window_ms".into(),
                "random faults need a window_ms [start, end]".into(),
            ));
        }
        let heal = self.faults.heal_ms();
        if !self.faults.is_empty() && heal + ch.liveness_ms > self.workload.duration_ms {
            let (field, what) = match self.faults.window_ms {
                Some(_) => ("faults.window_ms", "the window closes"),
                None => ("faults.scripted", "the last scripted fault is undone"),
            };
            return Err((
                field.into(),
                format!(
                    "the liveness phase ({} ms after {what} at {heal} ms) must end before the workload does ({} ms)",
                    ch.liveness_ms, self.workload.duration_ms
                ),
            ));
        }
        Ok(())
    }

    /// This scenario as run with `seed`: every default filled in (the seed, the variant, the
    /// protocol's settings, the client latency, whether reads must be linearizable, the fault
    /// budget), so that running the file again reproduces the run and a reader sees every value.
    pub fn resolved(&self, seed: u64, registry: Registry<'_>) -> Scenario {
        let mut s = self.clone();
        s.seed = Some(seed);
        if let Some(p) = registry.iter().find(|p| p.name == s.cluster.protocol) {
            s.cluster
                .variant
                .get_or_insert_with(|| p.variants[0].to_string());
            if let Ok(settings) =
                (p.resolve_settings)(&s.cluster.settings, s.cluster.replicas as usize)
            {
                s.cluster.settings = settings;
            }
            s.checks.linearizable.get_or_insert(p.linearizable_reads);
        }
        s.network
            .client_latency
            .get_or_insert_with(|| s.network.latency.clone());
        s.faults.max_down = Some(s.faults.max_down(s.cluster.replicas));
        s
    }

    /// This scenario run by `protocol` instead of its own: the cluster, network, disks, workload
    /// and faults stay; the variant and settings belong to the protocol the file names, so under
    /// another protocol they fall back to its defaults. An unknown protocol, or one that cannot
    /// run this cluster (the reference server runs one replica), is an error naming the reason.
    pub fn with_protocol(
        &self,
        protocol: &str,
        registry: Registry<'_>,
    ) -> Result<Scenario, String> {
        let mut s = self.clone();
        s.switch_protocol(protocol);
        s.validate(registry).map_err(|(_, message)| message)?;
        Ok(s)
    }

    /// Names `protocol` as the scenario's, dropping the other protocol's variant and settings.
    pub fn switch_protocol(&mut self, protocol: &str) {
        if self.cluster.protocol != protocol {
            self.cluster.protocol = protocol.to_string();
            self.cluster.variant = None;
            self.cluster.settings = serde_json::Value::Null;
        }
    }

    /// This scenario with `variant` of its protocol instead of its own; an unknown variant is an
    /// error naming the known ones.
    pub fn with_variant(&self, variant: &str, registry: Registry<'_>) -> Result<Scenario, String> {
        let mut s = self.clone();
        s.cluster.variant = Some(variant.to_string());
        s.validate(registry).map_err(|(_, message)| message)?;
        Ok(s)
    }

    /// The liveness phase, `[from, to]` in ms: from when every fault is undone (or from the
    /// workload's start, without faults) for `checks.liveness_ms`, cut at the workload's end.
    /// Every client must complete an operation in it.
    pub fn liveness_window_ms(&self) -> (f64, f64) {
        let from = if self.faults.is_empty() {
            self.workload.start_ms
        } else {
            self.faults.heal_ms().max(self.workload.start_ms)
        };
        let to = (from + self.checks.liveness_ms).min(self.workload.duration_ms);
        (from, to)
    }

    /// When the run stops: the end of the workload plus the drain.
    pub fn end_ms(&self) -> f64 {
        self.workload.duration_ms + self.limits.drain_ms
    }
}

/// The longest time budget a check may have, in seconds.
const MAX_CHECK_TIMEOUT_S: f64 = 86_400.0;

/// The longest scenario name: it names a folder, and file systems limit a name to 255 bytes.
const MAX_NAME_LEN: usize = 100;

/// A scenario's name names its store folder (`store/<name>/...`): letters, digits, `-`, `_` and
/// `.`, not starting with a dot, so that it stays one folder inside `store/`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("give the scenario a name".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "a name is at most {MAX_NAME_LEN} characters (it names a folder), got {}",
            name.len()
        ));
    }
    if name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "{name:?} cannot name a folder inside store/: use letters, digits, '-', '_' and '.', not starting with '.'"
        ));
    }
    Ok(())
}

/// Finds the 1-based line and column of the value at `field` (a path such as `a.b[2].c`), so that
/// an error found after parsing can still point into the file.
fn locate(text: &str, field: &str) -> Option<(usize, usize)> {
    use jsonc_parser::ast::{ObjectPropName, Value};
    use jsonc_parser::common::Ranged;
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default()).ok()?;
    let mut value = parsed.value?;
    let mut steps: Vec<String> = Vec::new();
    for part in field.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        steps.push(name.to_string());
        for idx in rest.split('[') {
            if let Some(i) = idx.strip_suffix(']') {
                steps.push(format!("[{i}]"));
            }
        }
    }
    let mut offset = value.range().start;
    for step in steps.iter().filter(|s| !s.is_empty()) {
        let next = match (
            &value,
            step.strip_prefix('[').and_then(|s| s.strip_suffix(']')),
        ) {
            (Value::Array(a), Some(i)) => a.elements.get(i.parse::<usize>().ok()?).cloned(),
            (Value::Object(o), None) => o
                .properties
                .iter()
                .find(|p| match &p.name {
                    ObjectPropName::String(s) => s.value == step.as_str(),
                    ObjectPropName::Word(w) => w.value == step.as_str(),
                })
                .map(|p| p.value.clone()),
            _ => None,
        };
        match next {
            Some(v) => {
                offset = v.range().start;
                value = v;
            }
            // The field is absent (its default was used): point at the enclosing value.
            None => break,
        }
    }
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    Some((line, column))
}
