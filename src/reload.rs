//! Scenario hot reload: a changed scenario file applies to the running users without
//! stopping them (`cicada run` and `cicada master`; see "Hot reload" in docs/scenarios.md).
//!
//! # Detection: polling by content
//!
//! Every `--reload-interval` (2 s) the file and the data files it read are read again and
//! hashed (SHA-256); SIGHUP checks at once. Polling by content, rather than watching inotify
//! events or mtimes, is what survives a Kubernetes ConfigMap update (the kubelet swaps a
//! `..data` symlink to a new directory: the file's path never changes and no event names
//! it), editors that write a new file and rename it over the old one, and filesystems with
//! coarse mtimes. The files are small (the scenario is at most 8 MiB and usually a few KiB),
//! so reading them every two seconds costs next to nothing; the YAML is parsed only when the
//! digest changed.
//!
//! # What happens with a changed file
//!
//! - It is loaded exactly as at start (same `--tags/--exclude-tags`) and its plan built; the
//!   running load shape's task and user type names are checked against it.
//! - Valid: [`Controller::apply_plan`] hands it to the fleet (this process's engine, or a
//!   master's workers); users move to the new types of the same name at their next task
//!   pick, keeping their session and variables. `cicada_scenario_reloads_total{result="ok"}`.
//! - Invalid: an ERROR log with every diagnostic (file:line:column and the line), the errors
//!   in `status.scenario.last_reload` (API, UI banner), `result="error"`; nothing running
//!   changes. The same contents are tried again every five intervals (a data file that the
//!   new scenario reads but the running one does not is not hashed, so fixing only it changes
//!   nothing we watch), quietly while the errors stay the same; SIGHUP tries at once.
//! - Contents put back to what runs clear the refusal (`last_reload` becomes ok, nothing is
//!   counted): the banner goes.
//! - Unchanged contents (a touch, or a swap to identical files) do nothing.
//! - The target host and the load shape come from the start: a changed `host:` or `shape:`
//!   is reported in a warning and needs a restart (the host can also be changed in the UI).
//!
//! Built-in scenarios have no file and never reload; SIGHUP is then only logged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cicada_control::{Controller, ScenarioText};
use cicada_engine::TagFilter;
use tokio_util::sync::CancellationToken;

use crate::config::Source;
use crate::registry::Registry;
use crate::signal::Hangups;
use crate::source::{self, Loaded, SourceError};

/// A file bigger than this is not read (the scenario parser refuses above 8 MiB anyway).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Refused contents are tried again after this many intervals (see the module docs).
const RETRY_REFUSED_INTERVALS: u32 = 5;

/// Contents that were refused, and when, and why.
struct Refusal {
    digest: String,
    errors: Vec<String>,
    tried: Instant,
    /// Tried again after a while (the file did not load); a refusal of the fleet is final
    /// for these contents.
    retry: bool,
}

/// Watches one scenario file (see the module docs).
pub(crate) struct Watch {
    path: PathBuf,
    tags: TagFilter,
    interval: Option<Duration>,
    /// `-H` was given: the file's `host:` does not matter.
    host_given: bool,
    /// The file's `host:` and `shape:` at start (changes need a restart).
    host: Option<String>,
    file_shape: Option<cicada_scenario::Shape>,
    /// The shape that runs (from the file or `--shape`): its names must stay valid.
    shape: Option<cicada_scenario::Shape>,
    /// Digest of what runs.
    current: String,
    /// The last contents that were refused (see the module docs).
    refused: Option<Refusal>,
    /// The data files of what runs, as written in the scenario (read again at each poll).
    data_files: Vec<String>,
}

impl Watch {
    /// A watch over the file `loaded` came from (`None` for a built-in scenario).
    pub(crate) fn new(
        source: &Source,
        loaded: &Loaded,
        tags: &TagFilter,
        interval: Option<Duration>,
        host_given: bool,
    ) -> Option<Watch> {
        let (Source::File(path), Some(yaml)) = (source, &loaded.yaml) else {
            return None;
        };
        Some(Watch {
            path: path.clone(),
            tags: tags.clone(),
            interval,
            host_given,
            host: loaded.host.clone(),
            file_shape: loaded.scenario.as_ref().and_then(|s| s.shape.clone()),
            shape: loaded.shape.clone(),
            current: digest(&yaml.text, &yaml.files),
            refused: None,
            data_files: yaml.files.keys().cloned().collect(),
        })
    }

    /// The digest of the scenario that runs.
    pub(crate) fn digest(&self) -> &str {
        &self.current
    }

    /// The contents' digest now: the file and the data files of what runs. A file that
    /// cannot be read hashes as its error, so a reload attempt reports it.
    fn peek(&self) -> String {
        let text = read_bounded(&self.path).unwrap_or_else(|e| format!("\0unreadable: {e}"));
        let base = self.path.parent().unwrap_or(Path::new("."));
        let files: BTreeMap<String, String> = self
            .data_files
            .iter()
            .map(|name| {
                let content =
                    read_bounded(&base.join(name)).unwrap_or_else(|e| format!("\0unreadable: {e}"));
                (name.clone(), content)
            })
            .collect();
        digest(&text, &files)
    }

    /// Checks the file; `forced` (SIGHUP) tries contents that were refused before again.
    pub(crate) fn check(&mut self, controller: &Controller, forced: bool) {
        let seen = self.peek();
        if seen == self.current {
            if self.refused.take().is_some() {
                tracing::info!(
                    file = %self.path.display(),
                    "the scenario file is back to the scenario that runs; the refused change is gone"
                );
                controller.reload_reverted(&self.current);
            } else if forced {
                tracing::info!(file = %self.path.display(), "SIGHUP: the scenario is unchanged");
            }
            return;
        }
        let retry = self.interval.unwrap_or_default() * RETRY_REFUSED_INTERVALS;
        if !forced
            && self
                .refused
                .as_ref()
                .is_some_and(|r| r.digest == seen && (!r.retry || r.tried.elapsed() < retry))
        {
            return;
        }
        match self.load() {
            Ok((loaded, text, digest)) => {
                if digest == self.current {
                    return;
                }
                self.warn_about_restart_only_changes(&loaded);
                match controller.apply_plan(loaded.plan.clone(), Some(&text), &digest) {
                    Ok(()) => {
                        let types: Vec<&str> = loaded
                            .plan
                            .entries()
                            .iter()
                            .map(|e| e.name.as_str())
                            .collect();
                        tracing::info!(
                            file = %self.path.display(),
                            user_types = ?types,
                            "scenario reloaded; users switch at their next task"
                        );
                        self.current = digest;
                        self.refused = None;
                        self.data_files = text.files.keys().cloned().collect();
                    }
                    Err(e) => {
                        tracing::error!(file = %self.path.display(), "scenario reload refused: {e}");
                        self.refused = Some(Refusal {
                            digest: seen,
                            errors: vec![e.to_string()],
                            tried: Instant::now(),
                            retry: false,
                        });
                    }
                }
            }
            Err((full, errors)) => {
                // A retry that fails the same way is not news: no log line, no count.
                let same = self
                    .refused
                    .as_ref()
                    .is_some_and(|r| r.digest == seen && r.errors == errors);
                if forced || !same {
                    tracing::error!(
                        file = %self.path.display(),
                        "scenario reload refused; the previous scenario keeps running:\n{full}"
                    );
                    controller.reload_refused(&seen, errors.clone());
                }
                self.refused = Some(Refusal {
                    digest: seen,
                    errors,
                    tried: Instant::now(),
                    retry: true,
                });
            }
        }
    }

    /// Loads the file as at start. Errors: the full text (for the log) and one line per
    /// problem (for the status).
    #[allow(clippy::type_complexity)]
    fn load(&self) -> Result<(Loaded, ScenarioText, String), (String, Vec<String>)> {
        let source = Source::File(self.path.clone());
        let loaded = source::load(&source, &Registry::new(), &self.tags).map_err(|e| {
            let errors = match &e {
                SourceError::Scenario(load) => {
                    load.diagnostics().iter().map(ToString::to_string).collect()
                }
                other => vec![other.to_string()],
            };
            (e.to_string(), errors)
        })?;
        let origin = self.path.display().to_string();
        if let (Some(shape), Some(scenario)) = (&self.shape, &loaded.scenario)
            && let Err(e) = shape.check_names(scenario, &origin)
        {
            let message = format!("the running load shape does not fit the new scenario: {e}");
            return Err((message.clone(), vec![message]));
        }
        let Some(yaml) = &loaded.yaml else {
            let message = format!("{origin}: not a YAML scenario");
            return Err((message.clone(), vec![message]));
        };
        let text = ScenarioText {
            origin,
            text: yaml.text.clone(),
            files: yaml.files.clone(),
        };
        let digest = digest(&text.text, &text.files);
        Ok((loaded, text, digest))
    }

    fn warn_about_restart_only_changes(&self, loaded: &Loaded) {
        if !self.host_given && loaded.host != self.host {
            tracing::warn!(
                file = %self.path.display(),
                "the scenario's `host` changed; a new host needs a restart (or the host field \
                 in the UI): users keep the current one"
            );
        }
        let new_shape = loaded.scenario.as_ref().and_then(|s| s.shape.clone());
        if new_shape != self.file_shape {
            tracing::warn!(
                file = %self.path.display(),
                "the scenario's `shape` changed; a new load shape needs a restart: the current \
                 one keeps running"
            );
        }
    }
}

/// Checks the scenario file every interval and at each SIGHUP until `shutdown`. Without a
/// file (a built-in scenario) SIGHUP is only logged.
pub(crate) async fn run(
    mut watch: Option<Watch>,
    controller: Controller,
    shutdown: CancellationToken,
) {
    let mut hangups = Hangups::listen();
    let period = watch
        .as_ref()
        .and_then(|w| w.interval)
        .unwrap_or(Duration::from_secs(3600));
    let polling = watch.as_ref().is_some_and(|w| w.interval.is_some());
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            _ = hangups.recv() => match &mut watch {
                Some(w) => {
                    tracing::info!("SIGHUP: checking the scenario file");
                    w.check(&controller, true);
                }
                None => tracing::info!("SIGHUP: a built-in scenario has no file to reload"),
            },
            _ = every.tick(), if polling => {
                if let Some(w) = &mut watch {
                    w.check(&controller, false);
                }
            }
        }
    }
}

/// Reads a file, refusing huge ones (a misconfigured path must not eat memory).
fn read_bounded(path: &Path) -> std::io::Result<String> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_FILE_BYTES} bytes"
        )));
    }
    std::fs::read_to_string(path)
}

/// SHA-256 (hex) of a scenario's text and data files, each length-prefixed so that no two
/// different sets of files hash alike.
pub(crate) fn digest(text: &str, files: &BTreeMap<String, String>) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut put = |bytes: &[u8]| {
        ctx.update(&(bytes.len() as u64).to_le_bytes());
        ctx.update(bytes);
    };
    put(text.as_bytes());
    for (name, content) in files {
        put(name.as_bytes());
        put(content.as_bytes());
    }
    let hash = ctx.finish();
    hash.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_tell_files_apart() {
        let none = BTreeMap::new();
        let one = BTreeMap::from([("a.csv".to_string(), "x".to_string())]);
        assert_eq!(digest("t", &none), digest("t", &none));
        assert_ne!(digest("t", &none), digest("t", &one));
        assert_ne!(
            digest("ta", &none),
            digest("t", &BTreeMap::from([("a".into(), String::new())]))
        );
        assert_eq!(digest("t", &none).len(), 64);
    }
}
