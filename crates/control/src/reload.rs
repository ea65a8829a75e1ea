//! What a run knows about its scenario and its reloads: the digest and time of the scenario
//! that runs, and the outcome of the last reload attempt, for the status (UI, API) and
//! `/metrics` (`cicada_scenario_reloads_total{result}`).
//!
//! Detecting a changed file and building its plan is the binary's job (it knows files and
//! signals); the [`crate::Controller`] applies a good plan through its fleet
//! ([`crate::Fleet::apply_plan`]) and records both outcomes here. A refused reload changes
//! nothing that runs: only this record.
//!
//! Bounds: the record keeps one last reload, with at most [`MAX_ERRORS`] messages of at most
//! [`MAX_ERROR_LEN`] bytes each, so a huge broken file cannot grow the status.

use std::collections::BTreeMap;

/// Most error messages kept for the last reload.
pub const MAX_ERRORS: usize = 50;

/// Longest error message kept (longer ones are cut, with an ellipsis).
pub const MAX_ERROR_LEN: usize = 2_000;

/// A YAML scenario as read from its file: what a fleet that runs users elsewhere (a master's
/// workers) ships.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioText {
    /// The file it was read from (for messages).
    pub origin: String,
    /// The YAML text.
    pub text: String,
    /// The data files it reads, by the path written in it.
    pub files: BTreeMap<String, String>,
}

/// The outcome of the last reload attempt.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LastReload {
    /// True when the new scenario runs now.
    pub ok: bool,
    /// When it was tried (Unix seconds).
    pub at: u64,
    /// Digest of the file contents that were tried.
    pub digest: String,
    /// Why it was refused (each with file:line:column where known); empty when `ok`.
    pub errors: Vec<String>,
}

/// The scenario of a run, as `status.scenario` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScenarioStatus {
    /// The scenario file (`None`: a built-in scenario, which never reloads).
    pub origin: Option<String>,
    /// Digest of the scenario that runs (file and data files).
    pub digest: String,
    /// When it was loaded (Unix seconds).
    pub loaded_at: u64,
    /// Reloads applied.
    pub reloads_ok: u64,
    /// Reloads refused.
    pub reloads_error: u64,
    /// The last reload attempt (`None`: none yet).
    pub last_reload: Option<LastReload>,
}

impl ScenarioStatus {
    /// Records an applied reload.
    pub(crate) fn applied(&mut self, digest: &str, at: u64) {
        self.digest = digest.to_owned();
        self.loaded_at = at;
        self.reloads_ok = self.reloads_ok.saturating_add(1);
        self.last_reload = Some(LastReload {
            ok: true,
            at,
            digest: digest.to_owned(),
            errors: Vec::new(),
        });
    }

    /// Records a refused reload (the scenario that runs stays).
    pub(crate) fn refused(&mut self, digest: &str, at: u64, errors: Vec<String>) {
        self.reloads_error = self.reloads_error.saturating_add(1);
        self.last_reload = Some(LastReload {
            ok: false,
            at,
            digest: digest.to_owned(),
            errors: bounded(errors),
        });
    }

    /// The file is back to what runs after a refusal: the last attempt shows as ok (the
    /// running digest, no errors) without counting a reload.
    pub(crate) fn reverted(&mut self, digest: &str, at: u64) {
        self.last_reload = Some(LastReload {
            ok: true,
            at,
            digest: digest.to_owned(),
            errors: Vec::new(),
        });
    }
}

/// At most [`MAX_ERRORS`] messages of at most [`MAX_ERROR_LEN`] bytes (cut on a character
/// boundary); a note says how many were left out.
fn bounded(errors: Vec<String>) -> Vec<String> {
    let total = errors.len();
    let mut out: Vec<String> = errors
        .into_iter()
        .take(MAX_ERRORS)
        .map(|mut e| {
            if e.len() > MAX_ERROR_LEN {
                let mut cut = MAX_ERROR_LEN;
                while !e.is_char_boundary(cut) {
                    cut -= 1;
                }
                e.truncate(cut);
                e.push('…');
            }
            e
        })
        .collect();
    if total > MAX_ERRORS {
        out.push(format!("... and {} more", total - MAX_ERRORS));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_and_errors_bounded() {
        let mut s = ScenarioStatus::default();
        s.applied("d1", 10);
        assert_eq!(
            (s.digest.as_str(), s.loaded_at, s.reloads_ok),
            ("d1", 10, 1)
        );
        let many: Vec<String> = (0..MAX_ERRORS + 5).map(|i| format!("e{i}")).collect();
        s.refused("d2", 20, many);
        assert_eq!(s.digest, "d1", "the running scenario stays");
        let last = s.last_reload.clone().expect("recorded");
        assert!(!last.ok);
        assert_eq!(last.errors.len(), MAX_ERRORS + 1);
        assert_eq!(last.errors[MAX_ERRORS], "... and 5 more");
        s.refused("d3", 30, vec!["é".repeat(MAX_ERROR_LEN)]);
        let last = s.last_reload.expect("recorded");
        assert!(last.errors[0].len() <= MAX_ERROR_LEN + '…'.len_utf8());
        assert_eq!(s.reloads_error, 2);
    }

    fn plan(path: &str) -> std::sync::Arc<cicada_engine::Plan> {
        let text = format!(
            "users:\n  - name: A\n    wait: {{ constant: 20ms }}\n    tasks:\n      - {{ name: get, request: {{ path: {path} }} }}\n"
        );
        let scenario = cicada_scenario::parse_str(&text, "t.yaml", std::path::Path::new("."))
            .expect("scenario parses");
        let types = cicada_engine::yaml::user_types(&std::sync::Arc::new(scenario));
        std::sync::Arc::new(
            cicada_engine::Plan::new(types, &cicada_engine::TagFilter::default()).expect("plan"),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_controller_applies_a_plan_without_stopping_users_and_records_refusals() {
        use std::time::Duration;
        let server = cicada_testkit::RecordingServer::start()
            .await
            .expect("server");
        let c = crate::Controller::start(
            plan("/x"),
            cicada_engine::EngineConfig {
                host: url::Url::parse(&server.url()).expect("url"),
                client: cicada_engine::client::ClientConfig::default(),
                seed: 1,
                trace: cicada_engine::TraceConfig::default(),
                spans: None,
            },
            cicada_stats::StatsConfig::default(),
            tokio_util::sync::CancellationToken::new(),
        )
        .expect("controller starts");
        c.set_scenario(Some("t.yaml".into()), "d0");
        c.swarm(crate::SwarmRequest {
            users: 2,
            spawn_rate: 100.0,
            host: None,
            run_time: None,
        })
        .expect("swarm");
        let seen = |path: &str| server.records().iter().any(|r| r.path == path);
        for _ in 0..400 {
            if seen("/x") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        c.apply_plan(plan("/y"), None, "d1").expect("applied");
        for _ in 0..400 {
            if seen("/y") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(seen("/y"), "traffic moved to the new task");
        assert_eq!(c.status().users, 2, "users were not stopped");
        c.reload_refused("d2", vec!["t.yaml:1:1: bad".into()]);
        let s = c.status().scenario;
        assert_eq!(
            (s.digest.as_str(), s.reloads_ok, s.reloads_error),
            ("d1", 1, 1)
        );
        let last = s.last_reload.expect("recorded");
        assert_eq!((last.ok, last.errors.len()), (false, 1));
        assert!(c.shutdown(Duration::from_secs(5)).await);
    }
}
