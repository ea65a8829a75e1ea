//! Starting and stopping OTLP span export for `run`, `demo` and `target`.
//!
//! The exporter task starts inside the runtime (tonic needs its reactor) before any user or
//! request, and stops after the last one: its shutdown sends what is queued, bounded by
//! [`FLUSH_TIMEOUT`], so a dead collector cannot hold the exit. The shutdown is async (the
//! exporter is driven by our own task, not the SDK's batch processor), so no `spawn_blocking`
//! is needed.

use std::time::Duration;

use cicada_telemetry::otel::{OtelConfig, OtelPipeline, Protocol, SpanQueue};

/// How long the final export may take on exit.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A running export, or nothing when `--otel` is off.
pub(crate) struct Otel(Option<OtelPipeline>);

impl Otel {
    /// Starts exporting when `config` is set. Call inside the runtime.
    pub(crate) fn start(config: Option<&OtelConfig>) -> anyhow::Result<Otel> {
        let Some(config) = config else {
            return Ok(Otel(None));
        };
        let pipeline = OtelPipeline::start(config)?;
        tracing::info!(
            endpoint = %config.endpoint,
            protocol = match config.protocol {
                Protocol::Grpc => "grpc",
                Protocol::HttpProtobuf => "http/protobuf",
            },
            service = %config.service_name,
            queue = config.queue_capacity,
            "exporting spans over OTLP"
        );
        Ok(Otel(Some(pipeline)))
    }

    /// The queue producers push into.
    pub(crate) fn queue(&self) -> Option<SpanQueue> {
        self.0.as_ref().map(|p| p.queue().clone())
    }

    /// Sends what is queued (at most [`FLUSH_TIMEOUT`]) and logs the totals.
    pub(crate) async fn stop(self) {
        let Some(pipeline) = self.0 else {
            return;
        };
        let stats = pipeline.shutdown(FLUSH_TIMEOUT).await;
        if stats.dropped > 0 || stats.failed > 0 {
            tracing::warn!(
                exported = stats.exported,
                dropped = stats.dropped,
                failed = stats.failed,
                "OTLP export: some spans were not delivered (collector slow, down or refusing)"
            );
        } else {
            tracing::info!(exported = stats.exported, "OTLP export finished");
        }
    }
}
