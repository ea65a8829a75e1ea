//! Starting and stopping OTLP span export for `run`, `demo` and `target`, and OTLP metric
//! export (`--otel-metrics`) for `run`, `master` and `worker`.
//!
//! The exporter task starts inside the runtime (tonic needs its reactor) before any user or
//! request, and stops after the last one: its shutdown sends what is queued, bounded by
//! [`FLUSH_TIMEOUT`], so a dead collector cannot hold the exit. The shutdown is async (the
//! exporter is driven by our own task, not the SDK's batch processor), so no `spawn_blocking`
//! is needed.

use std::sync::Arc;
use std::time::Duration;

use cicada_control::Controller;
use cicada_telemetry::otel::{
    MetricExportCounters, MetricsSource, OtelConfig, OtelMetricsConfig, OtelMetricsPipeline,
    OtelPipeline, Protocol, SpanQueue,
};
use cicada_web::metrics::{MetricsInputs, otel_families};

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
            protocol = protocol_name(config.protocol),
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

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Grpc => "grpc",
        Protocol::HttpProtobuf => "http/protobuf",
    }
}

/// A running metric export, or nothing when `--otel-metrics` is off.
pub(crate) struct OtelMetrics(Option<OtelMetricsPipeline>);

impl OtelMetrics {
    /// Starts exporting what `source` reads when `config` is set. Call inside the runtime.
    pub(crate) fn start(
        config: Option<&OtelMetricsConfig>,
        source: impl Fn() -> MetricsSource,
    ) -> anyhow::Result<OtelMetrics> {
        let Some(config) = config else {
            return Ok(OtelMetrics(None));
        };
        let pipeline = OtelMetricsPipeline::start(config, source())?;
        tracing::info!(
            endpoint = %config.transport.endpoint,
            protocol = protocol_name(config.transport.protocol),
            service = %config.transport.service_name,
            interval = ?config.interval,
            "exporting metrics over OTLP"
        );
        Ok(OtelMetrics(Some(pipeline)))
    }

    /// The export counters, for `/metrics`.
    pub(crate) fn counters(&self) -> Option<MetricExportCounters> {
        self.0.as_ref().map(|p| p.counters().clone())
    }

    /// Sends the final values (at most [`FLUSH_TIMEOUT`]) and logs the totals.
    pub(crate) async fn stop(self) {
        let Some(pipeline) = self.0 else {
            return;
        };
        let stats = pipeline.shutdown(FLUSH_TIMEOUT).await;
        if stats.failed > 0 {
            tracing::warn!(
                exported = stats.exported,
                failed = stats.failed,
                "OTLP metrics: some exports were not delivered (collector slow, down or refusing)"
            );
        } else {
            tracing::info!(exported = stats.exported, "OTLP metrics export finished");
        }
    }
}

/// The metrics of a standalone run or master (on a master, the totals of all workers), and
/// this process's CPU and memory: read from the controller at each export.
pub(crate) fn controller_source(controller: &Controller, bounds: &[f64]) -> MetricsSource {
    let (controller, bounds) = (controller.clone(), bounds.to_vec());
    Arc::new(move || {
        let mut inputs = MetricsInputs::from_controller(&controller, &bounds);
        inputs.process = cicada_control::process::totals();
        otel_families(&inputs)
    })
}
