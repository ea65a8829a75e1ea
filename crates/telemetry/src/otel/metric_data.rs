//! Metrics in a plain, transport-neutral form: what the OTLP metrics exporter sends.
//!
//! The producer (the web crate, from the run's statistics) decides names, units and values; the
//! exporter only turns these families into OTLP messages. Keeping the form plain means the
//! engine-side crates need no OpenTelemetry types, and this module compiles without the `otlp`
//! feature, like [`super::span`].
//!
//! Every value is cumulative since the process started (or the statistics were last reset):
//! the exporter sends cumulative temporality and detects resets itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Attributes of one data point: static keys (semantic-convention names), owned values.
pub type Attributes = Vec<(&'static str, String)>;

/// One histogram data point: counts per bucket of the family's bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramPoint {
    /// The point's attributes.
    pub attributes: Attributes,
    /// Observations.
    pub count: u64,
    /// Sum of the observations (in the family's unit).
    pub sum: f64,
    /// Per-bucket (not cumulative) counts: one per bound plus the overflow bucket, as OTLP
    /// expects (`bounds.len() + 1` entries).
    pub bucket_counts: Vec<u64>,
}

/// The values of one metric.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricValues {
    /// A monotonic cumulative sum (a Prometheus counter).
    Counter(Vec<(Attributes, u64)>),
    /// A value read now (a Prometheus gauge).
    Gauge(Vec<(Attributes, i64)>),
    /// A value that goes up and down, as a cumulative non-monotonic sum (OpenTelemetry's
    /// UpDownCounter, e.g. `process.memory.usage`).
    UpDown(Vec<(Attributes, i64)>),
    /// A monotonic sum of fractional values counted since the process started, not since the
    /// statistics were last reset (`process.cpu.time`, seconds): its start time is the
    /// exporter's start and never moves.
    ProcessCounter(Vec<(Attributes, f64)>),
    /// An explicit-bucket histogram with cumulative temporality.
    Histogram {
        /// Upper bounds of the buckets, ascending (the `+Inf` bucket is implied).
        bounds: Vec<f64>,
        /// The points.
        points: Vec<HistogramPoint>,
    },
}

/// One metric: name, description, unit (UCUM, e.g. `s`, `{request}`) and values.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricFamily {
    /// Name (OpenTelemetry style, dots: `cicada.requests`).
    pub name: &'static str,
    /// What it counts.
    pub description: &'static str,
    /// Unit.
    pub unit: &'static str,
    /// The values.
    pub values: MetricValues,
}

/// What the metrics export has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MetricExportStats {
    /// Export requests the collector accepted.
    pub exported: u64,
    /// Export requests the collector refused or never answered.
    pub failed: u64,
}

#[derive(Debug, Default)]
struct ExportCounts {
    exported: AtomicU64,
    failed: AtomicU64,
}

/// The export counters (shared atomics; cheap to clone), for `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct MetricExportCounters(Arc<ExportCounts>);

impl MetricExportCounters {
    /// A snapshot of the counters.
    pub fn snapshot(&self) -> MetricExportStats {
        MetricExportStats {
            exported: self.0.exported.load(Ordering::Relaxed),
            failed: self.0.failed.load(Ordering::Relaxed),
        }
    }

    /// Counts one accepted export.
    pub fn add_exported(&self) {
        self.0.exported.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one failed export.
    pub fn add_failed(&self) {
        self.0.failed.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_shared_by_clones() {
        let c = MetricExportCounters::default();
        let d = c.clone();
        c.add_exported();
        d.add_failed();
        d.add_exported();
        assert_eq!(
            c.snapshot(),
            MetricExportStats {
                exported: 2,
                failed: 1
            }
        );
    }
}
