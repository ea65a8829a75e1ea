//! The scenario as the master ships it: YAML text with its data files, or a built-in name,
//! plus the options workers need (host, tags, trace context, seed).
//!
//! Its digest identifies what users run: a worker that already runs a scenario with the same
//! digest (it reconnects to a restarted master) keeps its users. The seed is left out of the
//! digest: a restarted master without `--seed` picks a new one, which must not restart users.

use std::collections::BTreeMap;

use prost::Message;
use ring::digest::{SHA256, digest};

use crate::proto::{ScenarioUpdate, YamlScenario, scenario_update::Source};

/// Where the scenario comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ScenarioSource {
    /// A YAML scenario: where it was read (for messages), its text and its data files by the
    /// path written in it.
    Yaml {
        /// The file it was read from.
        origin: String,
        /// The YAML text.
        text: String,
        /// The data files it reads.
        files: BTreeMap<String, String>,
    },
    /// A scenario built into the binary, by name.
    Builtin(String),
}

/// Everything a worker needs to run the master's scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioSpec {
    /// The scenario.
    pub source: ScenarioSource,
    /// Base URL of the target.
    pub host: String,
    /// `--tags`.
    pub tags: Vec<String>,
    /// `--exclude-tags`.
    pub exclude_tags: Vec<String>,
    /// `per-task`, `per-request` or `off`.
    pub trace_mode: String,
    /// `--trace-sample-ratio`.
    pub trace_sample_ratio: f64,
    /// Seed of the users' random choices.
    pub seed: u64,
}

impl ScenarioSpec {
    /// The message, with its digest.
    pub fn to_update(&self) -> ScenarioUpdate {
        let source = match &self.source {
            ScenarioSource::Yaml {
                origin,
                text,
                files,
            } => Source::Yaml(YamlScenario {
                origin: origin.clone(),
                text: text.clone(),
                files: files.clone(),
            }),
            ScenarioSource::Builtin(name) => Source::Builtin(name.clone()),
        };
        let mut update = ScenarioUpdate {
            digest: String::new(),
            source: Some(source),
            host: self.host.clone(),
            tags: self.tags.clone(),
            exclude_tags: self.exclude_tags.clone(),
            trace_mode: self.trace_mode.clone(),
            trace_sample_ratio: self.trace_sample_ratio,
            seed: 0,
        };
        update.digest = digest_of(&update);
        update.seed = self.seed;
        update
    }

    /// Reads a message back (a worker's side).
    pub fn from_update(update: &ScenarioUpdate) -> Option<ScenarioSpec> {
        let source = match update.source.as_ref()? {
            Source::Yaml(y) => ScenarioSource::Yaml {
                origin: y.origin.clone(),
                text: y.text.clone(),
                files: y.files.clone(),
            },
            Source::Builtin(name) => ScenarioSource::Builtin(name.clone()),
        };
        Some(ScenarioSpec {
            source,
            host: update.host.clone(),
            tags: update.tags.clone(),
            exclude_tags: update.exclude_tags.clone(),
            trace_mode: update.trace_mode.clone(),
            trace_sample_ratio: update.trace_sample_ratio,
            seed: update.seed,
        })
    }

    /// A short name for logs: the file or the built-in name.
    pub fn name(&self) -> &str {
        match &self.source {
            ScenarioSource::Yaml { origin, .. } => origin,
            ScenarioSource::Builtin(name) => name,
        }
    }
}

/// SHA-256 (hex) of the message without its digest and seed; map fields are `BTreeMap`s, so
/// the encoding is stable.
fn digest_of(update: &ScenarioUpdate) -> String {
    let mut plain = update.clone();
    plain.digest.clear();
    plain.seed = 0;
    let hash = digest(&SHA256, &plain.encode_to_vec());
    hash.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64, host: &str) -> ScenarioSpec {
        ScenarioSpec {
            source: ScenarioSource::Yaml {
                origin: "s.yaml".into(),
                text: "users: []".into(),
                files: BTreeMap::from([("b.csv".into(), "x".into()), ("a.csv".into(), "y".into())]),
            },
            host: host.into(),
            tags: vec![],
            exclude_tags: vec![],
            trace_mode: "per-task".into(),
            trace_sample_ratio: 1.0,
            seed,
        }
    }

    #[test]
    fn the_digest_ignores_the_seed_but_not_the_host() {
        let a = spec(1, "http://127.0.0.1:1").to_update();
        let b = spec(2, "http://127.0.0.1:1").to_update();
        let c = spec(1, "http://127.0.0.1:2").to_update();
        assert_eq!(a.digest.len(), 64);
        assert_eq!(a.digest, b.digest);
        assert_ne!(a.digest, c.digest);
        assert_eq!(
            ScenarioSpec::from_update(&b),
            Some(spec(2, "http://127.0.0.1:1"))
        );
    }
}
