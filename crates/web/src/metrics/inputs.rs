//! What one scrape (or one OTLP export) reports, as plain values, gathered from whichever
//! process serves it: a standalone run or master from its controller, a worker from its own
//! cumulative statistics.

use cicada_control::process::ProcessTotals;
use cicada_control::{Controller, WorkerInfo};
use cicada_engine::ArrivalCounts;
use cicada_stats::{FailureSnapshot, LatencyBuckets, Stats};
use cicada_telemetry::otel::{MetricExportStats, OtelStats};

use crate::state::AppState;

/// A worker's identity, exported as `cicada_worker_info{worker_id,version} 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerIdentity {
    /// `--worker-id` (the pod name on Kubernetes).
    pub id: String,
    /// cicada's version.
    pub version: String,
}

/// The inputs of the renderer. Optional parts are left out of the output when `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsInputs {
    /// Upper bounds of the latency histogram, seconds (`--metrics-buckets`).
    pub bounds: Vec<f64>,
    /// Per row: counts and the latency distribution at `bounds`, cumulative.
    pub rows: Vec<LatencyBuckets>,
    /// Failure rows, cumulative.
    pub failures: Vec<FailureSnapshot>,
    /// Heap held by the statistics rows (their latency histograms, counters and keys).
    pub stats_memory_bytes: u64,
    /// Running users per user type.
    pub user_types: Vec<(String, u64)>,
    /// Users wanted.
    pub target_users: u64,
    /// Open-model counters (standalone and master; `None` on a worker).
    pub arrivals: Option<ArrivalCounts>,
    /// The fleet's workers (standalone and master; `None` on a worker).
    pub workers: Option<Vec<WorkerInfo>>,
    /// Set on a worker: `cicada_worker_info`.
    pub worker: Option<WorkerIdentity>,
    /// This process's CPU time and memory.
    pub process: Option<ProcessTotals>,
    /// OTLP span export counters (`--otel`).
    pub spans: Option<OtelStats>,
    /// OTLP metric export counters (`--otel-metrics`).
    pub metric_exports: Option<MetricExportStats>,
    /// Scenario reloads applied and refused (standalone and master; `None` on a worker).
    pub reloads: Option<(u64, u64)>,
}

/// Converts seconds to whole microseconds (the stats' unit), rounding to the nearest.
fn secs_to_us(secs: f64) -> u64 {
    // Validated bounds are positive and finite; `as` saturates anything larger.
    (secs * 1e6).round() as u64
}

impl MetricsInputs {
    /// The request rows and failures of `stats`, counted at `bounds` (seconds). The rest is
    /// empty.
    pub fn from_stats(stats: &Stats, bounds: &[f64]) -> MetricsInputs {
        let bounds_us: Vec<u64> = bounds.iter().map(|&b| secs_to_us(b)).collect();
        MetricsInputs {
            bounds: bounds.to_vec(),
            rows: stats.latency_buckets(&bounds_us),
            failures: stats.snapshot().failures,
            stats_memory_bytes: u64::try_from(stats.rows_heap_bytes()).unwrap_or(u64::MAX),
            ..MetricsInputs::default()
        }
    }

    /// What a controller knows: statistics (read under its lock in one go), users, target,
    /// arrivals, workers and scenario reloads. No process sample, no export counters.
    pub fn from_controller(controller: &Controller, bounds: &[f64]) -> MetricsInputs {
        let mut inputs = controller.with_stats(|s| MetricsInputs::from_stats(s, bounds));
        let status = controller.status();
        inputs.user_types = status.user_types;
        inputs.target_users = status.target_users;
        // Open model (k6's dropped_iterations): 0 while no open shape runs.
        inputs.arrivals = Some(status.arrivals.unwrap_or_default());
        inputs.workers = Some(controller.workers());
        inputs.reloads = Some((status.scenario.reloads_ok, status.scenario.reloads_error));
        inputs
    }

    /// Everything `/metrics` of a standalone run or master shows.
    pub fn from_state(state: &AppState) -> MetricsInputs {
        let mut inputs =
            MetricsInputs::from_controller(state.controller(), &state.config().metrics_buckets);
        inputs.process = cicada_control::process::totals();
        inputs.spans = state.span_counters().map(|c| c.snapshot());
        inputs.metric_exports = state.metric_export_counters().map(|c| c.snapshot());
        inputs
    }
}
