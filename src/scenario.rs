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

fn default_drain_ms() -> f64 {
    5_000.0
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

/// A protocol as scenario validation needs to know it.
pub struct ProtocolInfo {
    pub name: &'static str,
    /// Its variants; the first is the default.
    pub variants: &'static [&'static str],
    /// Checks `cluster.settings`; errors name the field relative to `settings`.
    pub check_settings: fn(&serde_json::Value) -> Result<(), (String, String)>,
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
            // A syntax error has no field ("." or "?" from serde_path_to_error).
            let field =
                if field == "." || field.ends_with('?') || !sim::json::is_about_a_field(&inner) {
                    String::new()
                } else {
                    field
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
        if self.name.trim().is_empty() {
            return Err(("name".into(), "give the scenario a name".into()));
        }
        let c = &self.cluster;
        if !(1..=31).contains(&c.replicas) {
            return Err((
                "cluster.replicas".into(),
                format!("expected 1 to 31 replicas, got {}", c.replicas),
            ));
        }
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
        (protocol.check_settings)(&c.settings).map_err(|(f, m)| {
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
        let nodes = c.replicas + self.workload.clients;
        within("faults", self.faults.validate(c.replicas, nodes))?;
        let ch = &self.checks;
        if !(ch.liveness_ms.is_finite() && ch.liveness_ms > 0.0) {
            return Err((
                "checks.liveness_ms".into(),
                format!("expected a positive number of ms, got {}", ch.liveness_ms),
            ));
        }
        if !(ch.timeout_s.is_finite() && ch.timeout_s > 0.0) {
            return Err((
                "checks.timeout_s".into(),
                format!(
                    "expected a positive number of seconds, got {}",
                    ch.timeout_s
                ),
            ));
        }
        if !(self.limits.drain_ms.is_finite() && self.limits.drain_ms >= 0.0) {
            return Err((
                "limits.drain_ms".into(),
                format!("expected milliseconds >= 0, got {}", self.limits.drain_ms),
            ));
        }
        if self.limits.max_events == 0 {
            return Err((
                "limits.max_events".into(),
                "expected at least 1 event".into(),
            ));
        }
        if let Some(w) = self.faults.window_ms {
            let needed = w[1] + ch.liveness_ms;
            if needed > self.workload.duration_ms {
                return Err((
                    "faults.window_ms".into(),
                    format!(
                        "the liveness phase ({} ms after the window closes at {} ms) must end before the workload does ({} ms)",
                        ch.liveness_ms, w[1], self.workload.duration_ms
                    ),
                ));
            }
        } else if self.faults.random.is_some() {
            return Err((
                "faults.window_ms".into(),
                "random faults need a window_ms [start, end]".into(),
            ));
        }
        Ok(())
    }

    /// This scenario with `variant` of its protocol instead of its own; an unknown variant is an
    /// error naming the known ones.
    pub fn with_variant(&self, variant: &str, registry: Registry<'_>) -> Result<Scenario, String> {
        let mut s = self.clone();
        s.cluster.variant = Some(variant.to_string());
        s.validate(registry).map_err(|(_, message)| message)?;
        Ok(s)
    }

    /// When the fault window closes (everything heals), if the scenario has one.
    pub fn heal_ms(&self) -> Option<f64> {
        self.faults.window_ms.map(|w| w[1])
    }

    /// When the run stops: the end of the workload plus the drain.
    pub fn end_ms(&self) -> f64 {
        self.workload.duration_ms + self.limits.drain_ms
    }
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
