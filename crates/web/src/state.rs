//! The state every handler shares: the controller, the web settings, and the small caches that
//! keep live views cheap.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cicada_control::Controller;
use cicada_telemetry::LogBuffer;
use cicada_telemetry::otel::{MetricExportCounters, OtelCounters};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::access::Credentials;
use crate::live::LiveCache;

/// Largest request body accepted by default (the API's bodies are a few hundred bytes).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How the web server is protected.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// `--web-auth user:password`: HTTP basic authentication.
    pub credentials: Option<Credentials>,
    /// `--web-token TOKEN`: `Authorization: Bearer TOKEN` (or the login cookie).
    pub token: Option<String>,
    /// `--web-read-only`: show everything, refuse changes with 403.
    pub read_only: bool,
    /// `--protect-probes`: `/healthz`, `/readyz` and `/metrics` need credentials too.
    pub protect_probes: bool,
    /// `--metrics-buckets`: upper bounds of the `/metrics` latency histogram, seconds
    /// (checked by [`crate::metrics::validate_buckets`]).
    pub metrics_buckets: Vec<f64>,
    /// Largest request body, bytes.
    pub body_limit: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            credentials: None,
            token: None,
            read_only: false,
            protect_probes: false,
            metrics_buckets: crate::metrics::DEFAULT_BUCKETS.to_vec(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl WebConfig {
    /// True when some credentials are required.
    pub fn requires_auth(&self) -> bool {
        self.credentials.is_some() || self.token.is_some()
    }
}

/// What the Start form offers before the user changes anything (from `-u`, `-r`, `-t`).
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmDefaults {
    /// Users.
    pub users: u64,
    /// Spawn rate, users per second.
    pub spawn_rate: f64,
    /// Run time, if any.
    pub run_time: Option<Duration>,
}

impl Default for SwarmDefaults {
    fn default() -> Self {
        SwarmDefaults {
            users: 1,
            spawn_rate: 1.0,
            run_time: None,
        }
    }
}

/// Facts about the run that the controller does not know.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// The scenario: file name or built-in name (shown in the title and the report).
    pub scenario: String,
    /// Defaults of the Start form.
    pub defaults: SwarmDefaults,
}

struct Inner {
    controller: Controller,
    config: WebConfig,
    info: RunInfo,
    logs: Option<LogBuffer>,
    /// OTLP span export counters (`--otel`), for `/metrics`.
    spans: std::sync::OnceLock<OtelCounters>,
    /// OTLP metric export counters (`--otel-metrics`), for `/metrics`.
    metric_exports: std::sync::OnceLock<MetricExportCounters>,
    live: Mutex<LiveCache>,
    /// Bumped after every control action so live views update at once, not at the next tick.
    nudge: watch::Sender<u64>,
    /// Cancelled when the server shuts down: readiness turns false, SSE streams end.
    closing: CancellationToken,
}

/// Everything the handlers share (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values are caches; a panic while holding one leaves usable data.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AppState {
    /// State for a run steered by `controller`. `logs` feeds the Logs tab (`None`: empty).
    pub fn new(
        controller: Controller,
        config: WebConfig,
        info: RunInfo,
        logs: Option<LogBuffer>,
    ) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                controller,
                config,
                info,
                logs,
                spans: std::sync::OnceLock::new(),
                metric_exports: std::sync::OnceLock::new(),
                live: Mutex::new(LiveCache::default()),
                nudge: watch::channel(0).0,
                closing: CancellationToken::new(),
            }),
        }
    }

    /// Shows the OTLP span export counters (`--otel`) in `/metrics`. Set once; a second
    /// call keeps the first counters.
    pub fn with_span_counters(self, counters: Option<OtelCounters>) -> AppState {
        if let Some(c) = counters {
            let _ = self.inner.spans.set(c);
        }
        self
    }

    /// Shows the OTLP metric export counters (`--otel-metrics`) in `/metrics`. Set once; a
    /// second call keeps the first counters.
    pub fn with_metric_export_counters(self, counters: Option<MetricExportCounters>) -> AppState {
        if let Some(c) = counters {
            let _ = self.inner.metric_exports.set(c);
        }
        self
    }

    /// The OTLP metric export counters, when metrics are exported.
    pub fn metric_export_counters(&self) -> Option<&MetricExportCounters> {
        self.inner.metric_exports.get()
    }

    /// The OTLP span export counters, when spans are exported.
    pub fn span_counters(&self) -> Option<&OtelCounters> {
        self.inner.spans.get()
    }

    /// The controller.
    pub fn controller(&self) -> &Controller {
        &self.inner.controller
    }

    /// The web settings.
    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    /// The run facts.
    pub fn info(&self) -> &RunInfo {
        &self.inner.info
    }

    /// The log ring, if any.
    pub fn logs(&self) -> Option<&LogBuffer> {
        self.inner.logs.as_ref()
    }

    /// Starts shutting down: `/readyz` answers 503 and live streams end.
    pub fn close(&self) {
        self.inner.closing.cancel();
    }

    /// True once [`AppState::close`] was called.
    pub fn is_closing(&self) -> bool {
        self.inner.closing.is_cancelled()
    }

    pub(crate) fn closing(&self) -> &CancellationToken {
        &self.inner.closing
    }

    /// Wakes live views after a control action.
    pub(crate) fn nudge(&self) {
        self.inner.nudge.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn nudges(&self) -> watch::Receiver<u64> {
        self.inner.nudge.subscribe()
    }

    pub(crate) fn nudge_count(&self) -> u64 {
        *self.inner.nudge.borrow()
    }

    pub(crate) fn live_cache(&self) -> MutexGuard<'_, LiveCache> {
        lock(&self.inner.live)
    }
}
