//! The Prometheus registry of one scrape, built from [`MetricsInputs`].

use std::fmt;

use cicada_control::process::ProcessTotals;
use cicada_telemetry::otel::{MetricExportStats, OtelStats};
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{MetricsInputs, WorkerIdentity};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerInfoLabels {
    worker_id: String,
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
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

/// Builds the registry of one scrape.
pub(super) fn registry(inputs: &MetricsInputs) -> Registry {
    let mut registry = Registry::default();
    register_requests(&mut registry, inputs);
    register_stats_memory(&mut registry, inputs.stats_memory_bytes);
    register_run(&mut registry, inputs);
    if let Some(workers) = &inputs.workers {
        register_workers(&mut registry, workers);
    }
    if let Some(worker) = &inputs.worker {
        register_worker_info(&mut registry, worker);
    }
    if let Some(process) = inputs.process {
        register_process(&mut registry, process);
    }
    if let Some(spans) = inputs.spans {
        register_spans(&mut registry, spans);
    }
    if let Some(exports) = inputs.metric_exports {
        register_metric_exports(&mut registry, exports);
    }
    registry
}

/// `--otel`: spans handed to the collector, dropped because the queue was full, and refused or
/// unanswered by the collector.
fn register_spans(registry: &mut Registry, stats: OtelStats) {
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

fn register_requests(registry: &mut Registry, inputs: &MetricsInputs) {
    let bounds = &inputs.bounds;
    let requests = Family::<EntryLabels, Counter>::default();
    let mut histograms = Vec::with_capacity(inputs.rows.len());
    for row in &inputs.rows {
        let labels = EntryLabels {
            method: row.method.clone(),
            name: row.name.clone(),
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
    for f in &inputs.failures {
        let labels = FailureLabels {
            method: f.method.clone(),
            name: f.name.clone(),
            reason: f.reason.clone(),
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

fn register_run(registry: &mut Registry, inputs: &MetricsInputs) {
    let users = Family::<UserTypeLabels, Gauge>::default();
    for (user_type, n) in &inputs.user_types {
        let labels = UserTypeLabels {
            user_type: user_type.clone(),
        };
        users
            .get_or_create(&labels)
            .set(i64::try_from(*n).unwrap_or(i64::MAX));
    }
    registry.register("cicada_users", "Running users, by user type", users);
    let target = Gauge::<i64>::default();
    target.set(i64::try_from(inputs.target_users).unwrap_or(i64::MAX));
    registry.register(
        "cicada_target_users",
        "Users wanted (what the swarm or the shape asks for)",
        target,
    );
    if let Some((ok, error)) = inputs.reloads {
        // Both results are always present, so a rate() over an error never sees a new series.
        let reloads = Family::<ResultLabels, Counter>::default();
        for (result, n) in [("ok", ok), ("error", error)] {
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
    // Open model (k6's dropped_iterations): standalone and master only.
    let Some(counts) = inputs.arrivals else {
        return;
    };
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

/// What the statistics rows hold: it grows as rows meet latencies they had not seen, up to a
/// bound (see docs/performance.md), so a long run can tell it from a leak.
fn register_stats_memory(registry: &mut Registry, bytes: u64) {
    let gauge = Gauge::<i64>::default();
    gauge.set(i64::try_from(bytes).unwrap_or(i64::MAX));
    registry.register(
        "cicada_stats_memory_bytes",
        "Heap held by the statistics rows (latency histograms, counters, keys)",
        gauge,
    );
}

fn register_process(registry: &mut Registry, process: ProcessTotals) {
    let cpu = Counter::<f64>::default();
    cpu.inc_by(process.cpu_seconds);
    registry.register(
        "process_cpu_seconds",
        "Total user and system CPU time spent in seconds",
        cpu,
    );
    let mem = Gauge::<i64>::default();
    mem.set(i64::try_from(process.resident_bytes).unwrap_or(i64::MAX));
    registry.register(
        "process_resident_memory_bytes",
        "Resident memory size in bytes",
        mem,
    );
}

/// `cicada_worker_info{worker_id,version} 1`: one info series instead of a worker label on
/// every series (Prometheus adds the pod's own labels to each scrape anyway).
fn register_worker_info(registry: &mut Registry, worker: &WorkerIdentity) {
    let info = Family::<WorkerInfoLabels, Gauge>::default();
    info.get_or_create(&WorkerInfoLabels {
        worker_id: worker.id.clone(),
        version: worker.version.clone(),
    })
    .set(1);
    registry.register(
        "cicada_worker_info",
        "This worker: its id and cicada version (always 1)",
        info,
    );
}

/// `--otel-metrics`: export requests the collector accepted, and those it refused or never
/// answered.
fn register_metric_exports(registry: &mut Registry, stats: MetricExportStats) {
    let exports = Family::<ResultLabels, Counter>::default();
    for (result, n) in [("ok", stats.exported), ("failed", stats.failed)] {
        exports
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc_by(n);
    }
    registry.register(
        "cicada_otel_metric_exports",
        "OTLP metric export requests, by result (ok, failed)",
        exports,
    );
}
