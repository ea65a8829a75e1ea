//! The worker's agent: connects to the master, runs what it is told, reports what it does.
//!
//! The agent runs on a thread of its own with a single-threaded runtime; users run on the
//! caller's (multi-threaded) runtime. So heartbeats and statistics keep their pace however busy
//! the users are, and a saturated worker is never taken for a dead one.
//!
//! Losing the master changes nothing for users: they keep running their last assignment while
//! the agent reconnects with capped, jittered backoff and then tells the (possibly new) master
//! what it runs, which the master adopts. With `--orphan-timeout`, users stop after that long
//! without a master. Statistics wait in the [`outbox::Outbox`] until acknowledged.
//!
//! A new scenario from the master with the same host and trace settings (the master's file
//! was reloaded) is swapped into the running engine: users keep running and move to the new
//! types of the same name at their next task pick. A new host restarts the engine.
//!
//! SIGTERM (the `shutdown` token): stop users (each ends after its current request, bounded by
//! the stop timeout), send the last statistics, wait briefly for their acknowledgement, say
//! goodbye and return, well inside Kubernetes' 30 s grace period.
//!
//! With [`WorkerConfig::metrics`], every interval taken for the master is also added to the
//! worker's own cumulative totals ([`metrics::WorkerMetrics`]), which its `/metrics` and OTLP
//! metric export read.

pub mod metrics;
pub mod outbox;
mod session;

use std::sync::Arc;
use std::time::Duration;

use cicada_engine::client::ClientConfig;
use cicada_engine::{Engine, EngineConfig, EngineHandle, Plan, TraceConfig};
use cicada_stats::Recorder;
use tokio_util::sync::CancellationToken;

use crate::proto::{ScenarioUpdate, TypeCount};
use crate::scenario::ScenarioSpec;
use crate::tls::{TlsError, TlsFiles};

/// How the worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The master's host name or address (`--master-host`).
    pub master_host: String,
    /// The master's cluster port (`--master-port`, default 5557).
    pub master_port: u16,
    /// Stable id (`--worker-id`, else the pod or host name).
    pub id: String,
    /// `--cluster-token`.
    pub token: Option<String>,
    /// TLS files.
    pub tls: TlsFiles,
    /// Stop users after this long without a master (`None`: never).
    pub orphan_timeout: Option<Duration>,
    /// How long users get to finish their request on SIGTERM.
    pub stop_timeout: Duration,
    /// HTTP settings of the users.
    pub client: ClientConfig,
    /// Longest pause between two connection attempts.
    pub max_backoff: Duration,
    /// Where users export spans (`--otel`); `None`: no spans.
    pub spans: Option<cicada_telemetry::otel::SpanQueue>,
    /// The worker's own cumulative numbers (`--metrics-port`, `--otel-metrics`); `None`: not
    /// kept.
    pub metrics: Option<metrics::WorkerMetrics>,
    /// Share of requests logged (`--log-requests`; a worker's own setting, not the master's).
    pub log_requests: f64,
}

/// Builds the plan of a scenario the master sent (YAML, or a built-in of this binary).
pub type PlanFactory<'a> = &'a (dyn Fn(&ScenarioSpec) -> Result<Arc<Plan>, String> + Sync);

/// Why the worker gave up.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The master refused this worker (token, version): retrying cannot help.
    #[error("the master refused this worker: {0}")]
    Refused(String),
    /// The master speaks another protocol.
    #[error("{0}")]
    Version(String),
    /// A TLS file is unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The master address is not usable.
    #[error("invalid master address `{0}`")]
    Address(String),
    /// The agent's runtime could not start.
    #[error("cannot start the agent's runtime: {0}")]
    Runtime(std::io::Error),
}

/// The users of the current scenario.
struct Running {
    engine: EngineHandle,
    plan: Arc<Plan>,
    digest: String,
    /// What the engine was started with (to tell a reload from a host change).
    spec: ScenarioSpec,
    /// Cancels this engine only.
    stop: CancellationToken,
}

/// Runs the agent until `shutdown`, on a runtime of its own; users run on `users`. Blocks.
pub fn run(
    config: WorkerConfig,
    factory: PlanFactory<'_>,
    users: tokio::runtime::Handle,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("cicada-agent")
        .build()
        .map_err(WorkerError::Runtime)?;
    let mut agent = Agent {
        config,
        factory,
        users,
        recorder: Recorder::new(),
        running: None,
        assignment: Vec::new(),
        rate: 1.0,
        mix: None,
        arrivals: None,
        error: String::new(),
        outbox: outbox::Outbox::new(),
        sampler: cicada_control::process::ProcessSampler::new(),
        shutdown,
    };
    runtime.block_on(session::run(&mut agent))
}

pub(crate) struct Agent<'a> {
    config: WorkerConfig,
    factory: PlanFactory<'a>,
    users: tokio::runtime::Handle,
    /// Every engine records here, so statistics survive scenario changes.
    recorder: Recorder,
    running: Option<Running>,
    /// The last assignment, re-applied to a new engine after a scenario change.
    assignment: Vec<TypeCount>,
    rate: f64,
    /// The task mix the master asked for (an incident window), re-applied to a new engine.
    mix: Option<cicada_engine::TaskMix>,
    /// This worker's share of the open model (from the master), re-applied to a new engine.
    arrivals: Option<cicada_engine::Arrivals>,
    /// The last scenario problem (reported in heartbeats).
    error: String,
    outbox: outbox::Outbox,
    sampler: cicada_control::process::ProcessSampler,
    shutdown: CancellationToken,
}

impl Agent<'_> {
    /// Runs the master's scenario; the same digest keeps the users that run. A new scenario
    /// for the same host and trace settings (a reloaded file) is swapped in without
    /// restarting users ([`Agent::swap_scenario`]); anything else starts a new engine.
    fn apply_scenario(&mut self, update: &ScenarioUpdate) {
        if self
            .running
            .as_ref()
            .is_some_and(|r| r.digest == update.digest)
        {
            return;
        }
        let Some(spec) = ScenarioSpec::from_update(update) else {
            self.error = "the master sent a scenario without a source".into();
            return;
        };
        if self.running.as_ref().is_some_and(|r| {
            r.spec.host == spec.host
                && r.spec.trace_mode == spec.trace_mode
                && r.spec.trace_sample_ratio == spec.trace_sample_ratio
        }) {
            self.swap_scenario(&spec, &update.digest);
            return;
        }
        match self.start_engine(&spec, &update.digest) {
            Ok(running) => {
                tracing::info!(scenario = spec.name(), host = %spec.host, "running the master's scenario");
                running.engine.set_task_mix(self.mix.as_ref());
                running.engine.set_arrivals(self.arrivals);
                if let Some(old) = self.running.replace(running) {
                    old.stop.cancel();
                }
                self.error.clear();
                self.apply_assignment();
            }
            Err(e) => {
                tracing::error!(
                    scenario = spec.name(),
                    "cannot run the master's scenario: {e}"
                );
                self.error = e;
            }
        }
    }

    /// Hot reload: the running engine takes the new plan (users move to the new types of the
    /// same name at their next task pick; see `cicada_engine::runner`). A scenario this
    /// worker cannot build (the master validated it, so this is rare: e.g. a built-in it
    /// lacks) is reported in the log and the heartbeat, and the old one keeps running.
    fn swap_scenario(&mut self, spec: &ScenarioSpec, digest: &str) {
        let plan = match (self.factory)(spec) {
            Ok(plan) => plan,
            Err(e) => {
                tracing::error!(
                    scenario = spec.name(),
                    "cannot run the master's new scenario; the previous one keeps running: {e}"
                );
                self.error = e;
                return;
            }
        };
        let Some(running) = self.running.as_mut() else {
            return;
        };
        running.engine.apply_plan(plan.clone());
        running.plan = plan;
        running.digest = digest.to_owned();
        running.spec = spec.clone();
        tracing::info!(
            scenario = spec.name(),
            "reloaded the master's scenario; users keep running"
        );
        self.error.clear();
        // The assignment is by type names: map it to the new plan's types.
        self.apply_assignment();
    }

    fn start_engine(&self, spec: &ScenarioSpec, digest: &str) -> Result<Running, String> {
        let plan = (self.factory)(spec)?;
        let host = url::Url::parse(&spec.host).map_err(|e| format!("host `{}`: {e}", spec.host))?;
        let trace = TraceConfig {
            mode: spec
                .trace_mode
                .parse()
                .unwrap_or(cicada_engine::trace::TraceMode::PerTask),
            sample_ratio: spec.trace_sample_ratio.clamp(0.0, 1.0),
            log_requests: self.config.log_requests,
        };
        let config = EngineConfig {
            host,
            client: self.config.client.clone(),
            seed: spec.seed,
            trace,
            spans: self.config.spans.clone(),
        };
        let stop = self.shutdown.child_token();
        // The engine's tasks belong on the users' runtime, not the agent's.
        let _guard = self.users.enter();
        let engine = Engine::start(plan.clone(), config, self.recorder.clone(), stop.clone())
            .map_err(|e| e.to_string())?;
        Ok(Running {
            engine,
            plan,
            digest: digest.to_owned(),
            spec: spec.clone(),
            stop,
        })
    }

    fn set_assignment(&mut self, users: Vec<TypeCount>, rate: f64) {
        self.assignment = users;
        if rate > 0.0 {
            self.rate = rate;
        }
        self.apply_assignment();
    }

    fn apply_assignment(&self) {
        let Some(running) = &self.running else {
            return;
        };
        let counts: Vec<u64> = running
            .plan
            .entries()
            .iter()
            .map(|e| {
                self.assignment
                    .iter()
                    .filter(|tc| tc.user_type == e.name)
                    .map(|tc| tc.users)
                    .sum()
            })
            .collect();
        running.engine.set_users_by_type(counts, self.rate);
    }

    fn set_mix(&mut self, update: &crate::proto::TaskMixUpdate) {
        self.mix = crate::mix::from_proto(update);
        if let Some(running) = &self.running {
            running.engine.set_task_mix(self.mix.as_ref());
        }
    }

    fn set_arrivals(&mut self, update: &crate::proto::ArrivalsUpdate) {
        self.arrivals = crate::master::arrivals::from_update(update);
        if let Some(running) = &self.running {
            running.engine.set_arrivals(self.arrivals);
        }
    }

    /// Open-model counters of the running engine.
    fn arrival_counts(&self) -> cicada_engine::ArrivalCounts {
        self.running
            .as_ref()
            .map(|r| r.engine.arrival_counts())
            .unwrap_or_default()
    }

    fn stop_users(&mut self) {
        self.assignment.clear();
        self.arrivals = None;
        if let Some(running) = &self.running {
            running.engine.stop();
        }
    }

    /// Users running now, per type.
    fn running_counts(&self) -> Vec<TypeCount> {
        self.running.as_ref().map_or_else(Vec::new, |r| {
            r.engine
                .status()
                .users_by_type
                .into_iter()
                .map(|(user_type, users)| TypeCount { user_type, users })
                .collect()
        })
    }

    /// Takes the users' measurements for the master (into the outbox), adding them to the
    /// worker's own totals first when those are kept.
    fn take_stats(&mut self) {
        let interval = self.recorder.take();
        if let Some(m) = &self.config.metrics
            && !interval.is_empty()
        {
            m.apply(interval.clone());
        }
        self.outbox.push(interval);
        self.publish_users();
    }

    /// Records the users running and wanted, for the worker's own metrics.
    fn publish_users(&self) {
        if let Some(m) = &self.config.metrics {
            let running = self
                .running_counts()
                .into_iter()
                .map(|tc| (tc.user_type, tc.users))
                .collect();
            let target = self.assignment.iter().map(|tc| tc.users).sum();
            m.set_users(running, target);
        }
    }

    fn digest(&self) -> String {
        self.running
            .as_ref()
            .map_or_else(String::new, |r| r.digest.clone())
    }
}
