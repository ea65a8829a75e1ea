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
//! - `receiver` (tests, feature `test-receiver`): an in-process OTLP/gRPC collector.
//!
//! The engine and the target only need the first two, so they depend on this crate without
//! the `otlp` feature and compile no exporter; the binary turns it on.

pub mod config;
#[cfg(feature = "otlp")]
mod export;
pub mod queue;
#[cfg(any(test, feature = "test-receiver"))]
pub mod receiver;
pub mod span;

pub use config::{OtelConfig, OtelConfigError, OtelFlags, Protocol};
#[cfg(feature = "otlp")]
pub use export::{OtelPipeline, OtelStartError};
pub use queue::{OtelCounters, OtelStats, SpanQueue, SpanReceiver, span_queue};
pub use span::{AttrValue, SpanKind, SpanName, SpanRecord, SpanStatus, http_error_type};
