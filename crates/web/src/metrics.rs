//! `GET /metrics`: the generator's own numbers in the Prometheus text format (OpenMetrics when
//! the scraper's `Accept` asks for `application/openmetrics-text`).
//!
//! Nothing here sits on the request hot path: every scrape builds a fresh registry from the
//! controller's cumulative statistics ([`cicada_stats::Stats`]) and status, so the users never
//! touch a Prometheus counter. Label cardinality is bounded by the stats entry and failure caps
//! (rows beyond them are already folded into one overflow row), and label values are escaped
//! by `prometheus-client`. The latency histogram's buckets are counted from each row's HDR
//! histogram at the configured bounds (`--metrics-buckets`), so they are cumulative since the
//! start or the last reset, like the counters.

use std::fmt;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cicada_control::Status;
use prometheus_client::encoding::{
    EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet, prometheus_text, text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// Default upper bounds of `cicada_request_duration_seconds`, seconds.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Most histogram bounds accepted (each costs one series per request row).
pub const MAX_BUCKETS: usize = 64;

/// Content type of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// `--metrics-buckets` could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BucketsError {
    /// No bounds at all.
    #[error("no bucket bounds given")]
    Empty,
    /// More than [`MAX_BUCKETS`] bounds.
    #[error("at most {MAX_BUCKETS} bucket bounds are allowed, got {0}")]
    TooMany(usize),
    /// A bound that is not a positive finite number of seconds.
    #[error("bucket bound {0} is not a positive finite number of seconds")]
    Invalid(f64),
    /// Bounds not strictly ascending.
    #[error("bucket bounds must be strictly ascending ({0} follows {1})")]
    NotAscending(f64, f64),
}

/// Checks histogram bounds given in seconds: 1 to [`MAX_BUCKETS`], positive, finite, ascending.
pub fn validate_buckets(bounds: &[f64]) -> Result<(), BucketsError> {
    if bounds.is_empty() {
        return Err(BucketsError::Empty);
    }
    if bounds.len() > MAX_BUCKETS {
        return Err(BucketsError::TooMany(bounds.len()));
    }
    for (i, &b) in bounds.iter().enumerate() {
        if !b.is_finite() || b <= 0.0 {
            return Err(BucketsError::Invalid(b));
        }
        if let Some(&prev) = i.checked_sub(1).and_then(|p| bounds.get(p))
            && b <= prev
        {
            return Err(BucketsError::NotAscending(b, prev));
        }
    }
    Ok(())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EntryLabels {
    method: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    method: String,
    name: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UserTypeLabels {
    user_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

/// One row's histogram, already counted: `buckets` holds per-bucket (not cumulative) counts,
/// ending with `+Inf`, as `MetricEncoder::encode_histogram` expects.
#[derive(Debug)]
struct PrecomputedHistogram {
    labels: EntryLabels,
    sum_secs: f64,
    count: u64,
    buckets: Vec<(f64, u64)>,
}

/// A histogram family whose values come from elsewhere (the stats), not from observations.
#[derive(Debug)]
struct HistogramFamily(Vec<PrecomputedHistogram>);

impl EncodeMetric for HistogramFamily {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), fmt::Error> {
        for h in &self.0 {
            let mut e = encoder.encode_family(&h.labels)?;
            e.encode_histogram::<NoLabelSet>(h.sum_secs, h.count, &h.buckets, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// The run states a worker can be in, each exported (1 for the current one, 0 otherwise).
const WORKER_STATES: [&str; 7] = [
    "ready", "spawning", "running", "stopped", "stopping", "missing", "lost",
];

/// Converts seconds to whole microseconds (the stats' unit), rounding to the nearest.
fn secs_to_us(secs: f64) -> u64 {
    // Validated bounds are positive and finite; `as` saturates anything larger.
    (secs * 1e6).round() as u64
}

/// Everything a scrape exports, gathered under the controller's lock in one go.
struct Gathered {
    rows: Vec<cicada_stats::LatencyBuckets>,
    failures: Vec<cicada_stats::FailureSnapshot>,
}

/// Builds the registry of one scrape.
fn registry(state: &AppState) -> Registry {
    let bounds = &state.config().metrics_buckets;
    let bounds_us: Vec<u64> = bounds.iter().map(|&b| secs_to_us(b)).collect();
    let gathered = state.controller().with_stats(|s| Gathered {
        rows: s.latency_buckets(&bounds_us),
        failures: s.snapshot().failures,
    });
    let status = state.controller().status();
    let mut registry = Registry::default();
    register_requests(&mut registry, bounds, gathered);
    register_run(&mut registry, &status);
    register_workers(&mut registry, &state.controller().workers());
    register_process(&mut registry);
    if let Some(counters) = state.span_counters() {
        register_spans(&mut registry, counters);
    }
    registry
}

/// `--otel`: spans handed to the collector, dropped because the queue was full, and refused or
/// unanswered by the collector.
fn register_spans(registry: &mut Registry, counters: &cicada_telemetry::otel::OtelCounters) {
    let stats = counters.snapshot();
    for (name, help, value) in [
        (
            "cicada_otel_spans_exported",
            "Spans accepted by the OTLP collector",
            stats.exported,
        ),
        (
            "cicada_otel_spans_dropped",
            "Spans dropped because the export queue was full",
            stats.dropped,
        ),
        (
            "cicada_otel_spans_failed",
            "Spans the OTLP collector refused or never answered",
            stats.failed,
        ),
    ] {
        let counter = Counter::<u64>::default();
        counter.inc_by(value);
        registry.register(name, help, counter);
    }
}

fn register_requests(registry: &mut Registry, bounds: &[f64], gathered: Gathered) {
    let requests = Family::<EntryLabels, Counter>::default();
    let mut histograms = Vec::with_capacity(gathered.rows.len());
    for row in gathered.rows {
        let labels = EntryLabels {
            method: row.method,
            name: row.name,
        };
        requests.get_or_create(&labels).inc_by(row.count);
        let mut buckets = Vec::with_capacity(bounds.len() + 1);
        let mut below = 0u64;
        for (&bound, &cumulative) in bounds.iter().zip(&row.at_or_below) {
            buckets.push((bound, cumulative.saturating_sub(below)));
            below = cumulative;
        }
        buckets.push((f64::INFINITY, row.count.saturating_sub(below)));
        histograms.push(PrecomputedHistogram {
            labels,
            // Microseconds to seconds; precision loss only beyond 2^53 µs (285 years).
            sum_secs: row.sum_us as f64 / 1e6,
            count: row.count,
            buckets,
        });
    }
    let failures = Family::<FailureLabels, Counter>::default();
    for f in gathered.failures {
        let labels = FailureLabels {
            method: f.method,
            name: f.name,
            reason: f.reason,
        };
        failures.get_or_create(&labels).inc_by(f.count);
    }
    registry.register(
        "cicada_requests",
        "Requests sent, by method and name (since start or the last reset)",
        requests,
    );
    registry.register(
        "cicada_request_failures",
        "Failed requests, by method, name and reason (since start or the last reset)",
        failures,
    );
    registry.register(
        "cicada_request_duration_seconds",
        "Response time, by method and name (since start or the last reset)",
        HistogramFamily(histograms),
    );
}

fn register_run(registry: &mut Registry, status: &Status) {
    let users = Family::<UserTypeLabels, Gauge>::default();
    for (user_type, n) in &status.user_types {
        let labels = UserTypeLabels {
            user_type: user_type.clone(),
        };
        users
            .get_or_create(&labels)
            .set(i64::try_from(*n).unwrap_or(i64::MAX));
    }
    registry.register("cicada_users", "Running users, by user type", users);
    let target = Gauge::<i64>::default();
    target.set(i64::try_from(status.target_users).unwrap_or(i64::MAX));
    registry.register(
        "cicada_target_users",
        "Users wanted (what the swarm or the shape asks for)",
        target,
    );
    // Open model (k6's dropped_iterations): 0 while no open shape runs.
    let counts = status.arrivals.unwrap_or_default();
    let dropped = Counter::<u64>::default();
    dropped.inc_by(counts.dropped);
    registry.register(
        "cicada_dropped_arrivals",
        "Open-model arrivals dropped because max_users were busy",
        dropped,
    );
    let arrived = Counter::<u64>::default();
    arrived.inc_by(counts.arrived);
    registry.register(
        "cicada_arrivals",
        "Open-model arrivals admitted (each runs its iterations and leaves)",
        arrived,
    );
    // Both results are always present, so a rate() over an error never sees a new series.
    let reloads = Family::<ResultLabels, Counter>::default();
    for (result, n) in [
        ("ok", status.scenario.reloads_ok),
        ("error", status.scenario.reloads_error),
    ] {
        reloads
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc_by(n);
    }
    registry.register(
        "cicada_scenario_reloads",
        "Scenario file reloads: applied (ok) or refused (error)",
        reloads,
    );
}

/// Workers by state: every known state is present (0 when none), plus any other state a
/// worker reports.
fn register_workers(registry: &mut Registry, rows: &[cicada_control::WorkerInfo]) {
    let workers = Family::<StateLabels, Gauge>::default();
    for s in WORKER_STATES {
        workers
            .get_or_create(&StateLabels { state: s.into() })
            .set(0);
    }
    for row in rows {
        workers
            .get_or_create(&StateLabels {
                state: row.state.clone(),
            })
            .inc();
    }
    registry.register("cicada_workers", "Workers, by state", workers);
}

fn register_process(registry: &mut Registry) {
    let Some((cpu_secs, rss)) = cicada_control::process::cpu_seconds_and_rss() else {
        return;
    };
    let cpu = Counter::<f64>::default();
    cpu.inc_by(cpu_secs);
    registry.register(
        "process_cpu_seconds",
        "Total user and system CPU time spent in seconds",
        cpu,
    );
    let mem = Gauge::<i64>::default();
    mem.set(i64::try_from(rss).unwrap_or(i64::MAX));
    registry.register(
        "process_resident_memory_bytes",
        "Resident memory size in bytes",
        mem,
    );
}

/// True when `Accept` asks for OpenMetrics.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"))
}

/// Renders the metrics; `openmetrics` picks the format. Returns the body and its content type.
pub fn render(state: &AppState, openmetrics: bool) -> Result<(String, &'static str), fmt::Error> {
    let registry = registry(state);
    let mut body = String::new();
    if openmetrics {
        text::encode(&mut body, &registry)?;
        Ok((body, OPENMETRICS_CONTENT_TYPE))
    } else {
        prometheus_text::encode(&mut body, &registry)?;
        Ok((body, PROMETHEUS_CONTENT_TYPE))
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match render(&state, wants_openmetrics(&headers)) {
        Ok((body, content_type)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_validation() {
        assert_eq!(validate_buckets(&DEFAULT_BUCKETS), Ok(()));
        assert_eq!(validate_buckets(&[]), Err(BucketsError::Empty));
        assert_eq!(
            validate_buckets(&[0.1, 0.1]),
            Err(BucketsError::NotAscending(0.1, 0.1))
        );
        assert_eq!(validate_buckets(&[0.0]), Err(BucketsError::Invalid(0.0)));
        assert!(matches!(
            validate_buckets(&[f64::NAN]),
            Err(BucketsError::Invalid(_))
        ));
        let many: Vec<f64> = (1..=65).map(f64::from).collect();
        assert_eq!(validate_buckets(&many), Err(BucketsError::TooMany(65)));
    }

    #[test]
    fn openmetrics_is_negotiated() {
        let mut h = HeaderMap::new();
        assert!(!wants_openmetrics(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
        );
        assert!(wants_openmetrics(&h));
    }
}
