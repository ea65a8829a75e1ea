//! OpenTelemetry span export over OTLP, for `cicada run`/`demo` (a client span per sampled
//! request under a span per task run) and `cicada target` (a server span per request).
//!
//! Three parts, each with one job:
//! - [`span`]: [`SpanRecord`], a finished span in a plain form that is cheap to build on a
//!   request's path (ids as integers, static attribute keys, shared strings).
//! - [`queue`]: [`SpanQueue`], the bounded, never-waiting hand-over to the exporter, with the
//!   counters (exported, dropped, failed) that `/metrics` shows.
//! - [`config`]: [`OtelConfig`] from `--otel`/`--otel-endpoint` and the `OTEL_*` variables.
//! - `export` (feature `otlp`): [`OtelPipeline`], the task that batches queued spans and sends
//!   them with the SDK's OTLP exporter (gRPC or HTTP/protobuf).
//!
//! - [`metric_data`], [`metrics_config`] and `metrics_export` (feature `otlp`):
//!   [`OtelMetricsPipeline`], the periodic export of the run's metrics (`--otel-metrics`) as
//!   plain [`MetricFamily`] values turned into OTLP messages, over the spans' transport.
//!
//! - `receiver` (tests, feature `test-receiver`): an in-process OTLP/gRPC collector (traces and
//!   metrics).
//!
//! The engine and the target only need the first two, so they depend on this crate without
//! the `otlp` feature and compile no exporter; the binary turns it on.

pub mod config;
#[cfg(feature = "otlp")]
mod export;
pub mod metric_data;
pub mod metrics_config;
#[cfg(feature = "otlp")]
mod metrics_export;
pub mod queue;
#[cfg(any(test, feature = "test-receiver"))]
pub mod receiver;
#[cfg(any(test, feature = "test-receiver"))]
mod receiver_metrics;
pub mod span;

pub use config::{OtelConfig, OtelConfigError, OtelFlags, Protocol, Signal};
#[cfg(feature = "otlp")]
pub use export::{OtelPipeline, OtelStartError};
pub use metric_data::{
    Attributes, HistogramPoint, MetricExportCounters, MetricExportStats, MetricFamily, MetricValues,
};
pub use metrics_config::{OtelMetricsConfig, OtelMetricsFlags};
#[cfg(feature = "otlp")]
pub use metrics_export::{MetricsSource, OtelMetricsPipeline};
pub use queue::{OtelCounters, OtelStats, SpanQueue, SpanReceiver, span_queue};
pub use span::{AttrValue, SpanKind, SpanName, SpanRecord, SpanStatus, http_error_type};
