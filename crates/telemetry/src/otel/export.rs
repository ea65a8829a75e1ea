//! The exporter task: spans from the queue, in batches, to an OTLP collector.
//!
//! One tokio task owns the SDK's OTLP `SpanExporter` (tonic for gRPC, hyper for
//! HTTP/protobuf). It sends a batch when `batch_size` spans are queued or `flush_interval`
//! has passed, one export at a time. While an export is in flight (a slow or dead collector:
//! up to the export timeout, with the SDK's retries inside it), producers keep pushing into the
//! bounded queue, which fills and then drops (see [`super::queue`]): nobody ever waits for the
//! collector but this task.
//!
//! Why not the SDK's `BatchSpanProcessor`: spans here are built with ids that are already on
//! the wire (`traceparent`), and the processor's queue has no drop counter to read. Driving the
//! exporter directly keeps ids exact, the queue bounded, and drops countable. It also avoids
//! the processor's blocking `shutdown`/`force_flush` (which must not run on a runtime thread):
//! [`OtelPipeline::shutdown`] is async and bounded by a timeout.

use std::borrow::Cow;
use std::time::Duration;

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind as OtelKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::{OtelConfig, Protocol};
use super::queue::{OtelCounters, SpanQueue, SpanReceiver, span_queue};
use super::span::{AttrValue, SpanKind, SpanName, SpanRecord, SpanStatus};

/// The exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up OTLP export to {endpoint}: {reason}")]
pub struct OtelStartError {
    /// Where it was meant to go.
    pub endpoint: String,
    /// Why not.
    pub reason: String,
}

/// A running export: the queue to push spans into and the task draining it.
#[derive(Debug)]
pub struct OtelPipeline {
    queue: SpanQueue,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl OtelPipeline {
    /// Builds the exporter and starts its task. Call inside a tokio runtime. Nothing connects
    /// yet: a collector that is down shows up as `failed` spans, not as an error here.
    pub fn start(config: &OtelConfig) -> Result<OtelPipeline, OtelStartError> {
        let mut exporter = build_exporter(config).map_err(|reason| OtelStartError {
            endpoint: config.endpoint.clone(),
            reason,
        })?;
        exporter.set_resource(&resource(config));
        let (queue, rx) = span_queue(config.queue_capacity);
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(run(
            exporter,
            rx,
            stop_rx,
            config.batch_size.max(1),
            config.flush_interval,
        ));
        Ok(OtelPipeline {
            queue,
            stop: Some(stop_tx),
            task,
        })
    }

    /// The producers' end (clone it into every user or server).
    pub fn queue(&self) -> &SpanQueue {
        &self.queue
    }

    /// Exported, dropped and failed spans so far.
    pub fn counters(&self) -> &OtelCounters {
        self.queue.counters()
    }

    /// Stops accepting spans, exports what is queued, and ends; gives up after `timeout` (the
    /// spans still queued then are lost). Returns the final counters.
    pub async fn shutdown(mut self, timeout: Duration) -> super::OtelStats {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let counters = self.queue.counters().clone();
        if tokio::time::timeout(timeout, &mut self.task).await.is_err() {
            self.task.abort();
            tracing::warn!(
                ?timeout,
                "OTLP export did not finish in time; the spans still queued are lost"
            );
        }
        counters.snapshot()
    }
}

/// The SDK exporter for the configured transport.
fn build_exporter(config: &OtelConfig) -> Result<opentelemetry_otlp::SpanExporter, String> {
    let built = match config.protocol {
        Protocol::Grpc => {
            let mut metadata = tonic_metadata(&config.headers)?;
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(config.endpoint.clone())
                .with_timeout(config.timeout);
            if !metadata.is_empty() {
                builder = builder.with_metadata(std::mem::take(&mut metadata));
            }
            if config.endpoint.starts_with("https://") {
                builder = builder.with_tls_config(
                    opentelemetry_otlp::tonic_types::transport::ClientTlsConfig::new()
                        .with_webpki_roots(),
                );
            }
            builder.build()
        }
        Protocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(config.endpoint.clone())
            .with_timeout(config.timeout)
            .with_headers(config.headers.iter().cloned().collect())
            .build(),
    };
    built.map_err(|e| e.to_string())
}

/// gRPC metadata from the configured headers (names were checked; values may still be
/// refused, and are never echoed).
fn tonic_metadata(
    headers: &[(String, String)],
) -> Result<opentelemetry_otlp::tonic_types::metadata::MetadataMap, String> {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("`{k}` is not a valid header name"))?;
        let value = http::HeaderValue::from_str(v)
            .map_err(|_| format!("the value of header `{k}` is not valid"))?;
        map.append(name, value);
    }
    Ok(opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(map))
}

/// `service.name`, `service.version` and the configured attributes.
fn resource(config: &OtelConfig) -> Resource {
    Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attributes(
            config
                .resource
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                .chain([
                    KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
                    KeyValue::new("telemetry.sdk.language", "rust"),
                    KeyValue::new("telemetry.sdk.name", "opentelemetry"),
                ]),
        )
        .build()
}

/// The exporter loop: batch, send, count; on stop, drain what is queued and end.
async fn run(
    exporter: opentelemetry_otlp::SpanExporter,
    mut rx: SpanReceiver,
    mut stop: oneshot::Receiver<()>,
    batch_size: usize,
    flush_interval: Duration,
) {
    let scope = InstrumentationScope::builder("cicada")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let counters = rx.counters().clone();
    let mut batch: Vec<SpanRecord> = Vec::with_capacity(batch_size);
    let mut tick = tokio::time::interval(flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;
    while !stopping {
        tokio::select! {
            biased;
            _ = &mut stop => stopping = true,
            span = rx.recv() => match span {
                Some(span) => {
                    batch.push(span);
                    rx.drain_into(&mut batch, batch_size);
                    if batch.len() < batch_size {
                        continue;
                    }
                }
                // Every queue is gone: send what is left and end.
                None => stopping = true,
            },
            _ = tick.tick() => {}
        }
        if stopping {
            rx.close();
        }
        loop {
            let delivered =
                batch.is_empty() || export(&exporter, &scope, &counters, &mut batch).await;
            if !stopping {
                break;
            }
            if !delivered {
                // Shutting down and the collector fails: do not spend the exit's time budget
                // retrying batch after batch; what is left counts as failed.
                let mut left = 0;
                while rx.try_recv().is_some() {
                    left += 1;
                }
                counters.add_failed(left);
                break;
            }
            rx.drain_into(&mut batch, batch_size);
            if batch.is_empty() {
                break;
            }
        }
        if !stopping {
            tick.reset();
        }
    }
    let _ = exporter.shutdown();
}

/// Sends one batch and counts the outcome; true when the collector accepted it.
async fn export(
    exporter: &opentelemetry_otlp::SpanExporter,
    scope: &InstrumentationScope,
    counters: &OtelCounters,
    batch: &mut Vec<SpanRecord>,
) -> bool {
    let n = batch.len();
    let data: Vec<SpanData> = batch.drain(..).map(|s| to_span_data(s, scope)).collect();
    match exporter.export(data).await {
        Ok(()) => {
            counters.add_exported(n);
            true
        }
        Err(e) => {
            counters.add_failed(n);
            tracing::debug!(error = %e, spans = n, "OTLP export failed");
            false
        }
    }
}

/// The SDK's form of a span.
pub(crate) fn to_span_data(span: SpanRecord, scope: &InstrumentationScope) -> SpanData {
    let parent_span_id = if span.parent_span_id == 0 {
        SpanId::INVALID
    } else {
        SpanId::from(span.parent_span_id)
    };
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(span.trace_id),
            SpanId::from(span.span_id),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        ),
        parent_span_id,
        parent_span_is_remote: span.parent_is_remote,
        span_kind: match span.kind {
            SpanKind::Client => OtelKind::Client,
            SpanKind::Server => OtelKind::Server,
            SpanKind::Internal => OtelKind::Internal,
        },
        name: match span.name {
            SpanName::Owned(s) => s,
            other => Cow::Owned(other.to_text().into_owned()),
        },
        start_time: span.start,
        end_time: span.end,
        attributes: span
            .attributes
            .into_iter()
            .map(|(k, v)| KeyValue::new(Key::from_static_str(k), value(v)))
            .collect(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: match span.status {
            SpanStatus::Unset => Status::Unset,
            SpanStatus::Error(description) => Status::error(description),
        },
        instrumentation_scope: scope.clone(),
    }
}

fn value(v: AttrValue) -> Value {
    match v {
        AttrValue::Str(Cow::Borrowed(s)) => Value::String(StringValue::from(s)),
        AttrValue::Str(Cow::Owned(s)) => Value::String(StringValue::from(s)),
        AttrValue::Shared(s) => Value::String(StringValue::from(s)),
        AttrValue::Int(i) => Value::I64(i),
        AttrValue::Bool(b) => Value::Bool(b),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;
    use crate::otel::config::{OtelFlags, Protocol};
    use crate::otel::receiver::OtlpReceiver;

    fn config(endpoint: &str, pairs: &[(&str, &str)]) -> OtelConfig {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let flags = OtelFlags {
            enabled: true,
            endpoint: Some(endpoint.to_string()),
        };
        OtelConfig::resolve(&flags, "test-service", &env)
            .unwrap()
            .unwrap()
    }

    fn span(trace_id: u128, span_id: u64, parent: u64, kind: SpanKind) -> SpanRecord {
        let start = SystemTime::now();
        SpanRecord {
            trace_id,
            span_id,
            parent_span_id: parent,
            parent_is_remote: false,
            kind,
            name: SpanName::Shared(Arc::from("GET /x")),
            start,
            end: start + Duration::from_millis(3),
            status: SpanStatus::Error(Cow::Borrowed("500")),
            attributes: vec![
                ("http.request.method", AttrValue::from("GET")),
                ("http.response.status_code", AttrValue::Int(500)),
                ("cicada.request.name", AttrValue::Shared(Arc::from("/x"))),
                ("cicada.synthetic", AttrValue::Bool(true)),
            ],
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spans_reach_a_collector_with_their_ids() {
        let receiver = OtlpReceiver::start().await.unwrap();
        let c = config(
            &receiver.endpoint(),
            &[
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k1"),
                ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
            ],
        );
        let pipeline = OtelPipeline::start(&c).unwrap();
        let trace = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
        pipeline.queue().push(span(trace, 7, 0, SpanKind::Internal));
        pipeline.queue().push(span(trace, 8, 7, SpanKind::Client));
        let stats = pipeline.shutdown(Duration::from_secs(10)).await;
        assert_eq!((stats.exported, stats.dropped, stats.failed), (2, 0, 0));

        let spans = receiver.spans();
        assert_eq!(spans.len(), 2);
        let client = spans.iter().find(|s| s.span_id == 8).unwrap();
        assert_eq!(client.trace_id, trace);
        assert_eq!(client.parent_span_id, 7);
        assert_eq!(client.kind, 3, "client");
        assert_eq!(client.name, "GET /x");
        assert_eq!(client.service, "test-service");
        assert!(client.error);
        assert_eq!(client.attr("http.response.status_code"), Some("500"));
        assert_eq!(client.attr("cicada.request.name"), Some("/x"));
        assert_eq!(client.attr("cicada.synthetic"), Some("true"));
        assert_eq!(
            client.headers.get("x-api-key").map(String::as_str),
            Some("k1")
        );
        let (start, end) = client.start_end_ns;
        assert_eq!(end - start, 3_000_000);
        let root = spans.iter().find(|s| s.span_id == 7).unwrap();
        assert_eq!((root.parent_span_id, root.kind), (0, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_collector_costs_only_counters() {
        // A port with nothing listening: bind, read the port, close.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = config(
            &format!("http://127.0.0.1:{port}"),
            &[
                ("OTEL_BSP_MAX_QUEUE_SIZE", "4"),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
            ],
        );
        let pipeline = OtelPipeline::start(&c).unwrap();
        // Pushing never waits, whatever the collector does; beyond the queue, spans drop.
        for i in 1..=50u64 {
            pipeline.queue().push(span(1, i, 0, SpanKind::Client));
        }
        let pushed = pipeline.counters().snapshot();
        assert!(pushed.dropped >= 40, "{pushed:?}");
        let stats = pipeline.shutdown(Duration::from_secs(30)).await;
        assert_eq!(stats.exported, 0);
        // Every span is accounted for: the shutdown gave up on the dead collector after one
        // failed batch instead of timing out with spans unaccounted.
        assert_eq!(stats.dropped + stats.failed, 50, "{stats:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_protobuf_builds_without_a_blocking_client() {
        let c = config(
            "http://127.0.0.1:1",
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
        );
        assert_eq!(c.protocol, Protocol::HttpProtobuf);
        assert_eq!(c.endpoint, "http://127.0.0.1:1/v1/traces");
        let pipeline = OtelPipeline::start(&c).unwrap();
        pipeline.queue().push(span(1, 1, 0, SpanKind::Server));
        let stats = pipeline.shutdown(Duration::from_secs(5)).await;
        assert_eq!((stats.exported, stats.failed), (0, 1));
    }
}
