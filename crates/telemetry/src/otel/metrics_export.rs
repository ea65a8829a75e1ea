//! The metrics exporter task: every interval, read the metrics and send them to the collector.
//!
//! One tokio task calls the [`MetricsSource`] (the producer's closure: a short read of the
//! statistics, the same work as one `/metrics` scrape), builds one OTLP
//! `ExportMetricsServiceRequest` and sends it, one export at a time, each bounded by the export
//! timeout. Users never wait for any of it: they record into their own recorder, and a slow or
//! dead collector only delays this task's next tick (missed ticks are skipped, not queued) and
//! counts a failed export. Nothing is retried or buffered: the next export carries the
//! cumulative values anyway, so a lost one costs resolution, not data.
//!
//! Built on the `opentelemetry-proto` messages and a tonic client (gRPC `MetricsService/Export`)
//! or one HTTP/1.1 POST per export over hyper (`/v1/metrics`, `application/x-protobuf`), rather
//! than the SDK's `MeterProvider`: the values already exist as cumulative statistics (the
//! latency histogram comes from HDR histograms at the configured bounds), so there is nothing to
//! record into SDK instruments, and the SDK has no histogram instrument fed from outside.
//!
//! Cumulative temporality: each point's start time is when this exporter started, moved to the
//! previous export whenever the total of `cicada.requests` went down (the statistics were
//! reset), so backends compute rates across resets correctly.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::{OtelConfig, Protocol};
use super::export::OtelStartError;
use super::metric_data::{
    Attributes, MetricExportCounters, MetricExportStats, MetricFamily, MetricValues,
};
use super::metrics_config::OtelMetricsConfig;

/// Where the exporter reads the metrics: called once per export, on the exporter's task.
pub type MetricsSource = Arc<dyn Fn() -> Vec<MetricFamily> + Send + Sync>;

/// A running metrics export.
pub struct OtelMetricsPipeline {
    counters: MetricExportCounters,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for OtelMetricsPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelMetricsPipeline")
            .field("counters", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}

impl OtelMetricsPipeline {
    /// Builds the client and starts the task (the first export after one interval). Call inside
    /// a tokio runtime. Nothing connects yet: a collector that is down shows up as failed
    /// exports, not as an error here.
    pub fn start(
        config: &OtelMetricsConfig,
        source: MetricsSource,
    ) -> Result<OtelMetricsPipeline, OtelStartError> {
        let transport = Transport::new(&config.transport).map_err(|reason| OtelStartError {
            endpoint: config.transport.endpoint.clone(),
            reason,
        })?;
        let counters = MetricExportCounters::default();
        let (stop_tx, stop_rx) = oneshot::channel();
        let exporter = Exporter {
            transport,
            timeout: config.transport.timeout,
            resource: resource(&config.transport),
            source,
            counters: counters.clone(),
            start_ns: now_ns(),
            origin_ns: now_ns(),
            last: None,
        };
        let task = tokio::spawn(exporter.run(config.interval, stop_rx));
        Ok(OtelMetricsPipeline {
            counters,
            stop: Some(stop_tx),
            task,
        })
    }

    /// Accepted and failed exports so far.
    pub fn counters(&self) -> &MetricExportCounters {
        &self.counters
    }

    /// Sends the metrics one last time (the final values) and ends; gives up after `timeout`.
    pub async fn shutdown(mut self, timeout: Duration) -> MetricExportStats {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(timeout, &mut self.task).await.is_err() {
            self.task.abort();
            self.counters.add_failed();
            tracing::warn!(
                ?timeout,
                "the final OTLP metrics export did not finish in time"
            );
        }
        self.counters.snapshot()
    }
}

/// The client of the configured protocol.
enum Transport {
    Grpc {
        client: MetricsServiceClient<tonic::transport::Channel>,
        metadata: tonic::metadata::MetadataMap,
    },
    Http {
        uri: http::Uri,
        headers: http::HeaderMap,
    },
}

fn header_map(headers: &[(String, String)]) -> Result<http::HeaderMap, String> {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("`{k}` is not a valid header name"))?;
        // Never echo the value: it is usually an API key.
        let value = http::HeaderValue::from_str(v)
            .map_err(|_| format!("the value of header `{k}` is not valid"))?;
        map.append(name, value);
    }
    Ok(map)
}

impl Transport {
    fn new(config: &OtelConfig) -> Result<Transport, String> {
        let headers = header_map(&config.headers)?;
        match config.protocol {
            Protocol::Grpc => {
                let mut endpoint = tonic::transport::Endpoint::from_shared(config.endpoint.clone())
                    .map_err(|e| e.to_string())?
                    .connect_timeout(config.timeout)
                    .timeout(config.timeout);
                if config.endpoint.starts_with("https://") {
                    endpoint = endpoint
                        .tls_config(tonic::transport::ClientTlsConfig::new().with_webpki_roots())
                        .map_err(|e| e.to_string())?;
                }
                Ok(Transport::Grpc {
                    client: MetricsServiceClient::new(endpoint.connect_lazy()),
                    metadata: tonic::metadata::MetadataMap::from_headers(headers),
                })
            }
            Protocol::HttpProtobuf => {
                let uri: http::Uri = config.endpoint.parse().map_err(|e| format!("{e}"))?;
                if uri.host().is_none() {
                    return Err("the endpoint has no host".into());
                }
                Ok(Transport::Http { uri, headers })
            }
        }
    }

    async fn send(&mut self, request: ExportMetricsServiceRequest) -> Result<(), String> {
        match self {
            Transport::Grpc { client, metadata } => {
                let mut r = tonic::Request::new(request);
                *r.metadata_mut() = metadata.clone();
                client
                    .export(r)
                    .await
                    .map(|_| ())
                    .map_err(|s| format!("{}: {}", s.code(), s.message()))
            }
            Transport::Http { uri, headers } => post(uri, headers, request.encode_to_vec()).await,
        }
    }
}

/// One HTTP/1.1 POST on a fresh connection (an export a minute needs no pool).
async fn post(uri: &http::Uri, headers: &http::HeaderMap, body: Vec<u8>) -> Result<(), String> {
    let host = uri.host().ok_or("the endpoint has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    // The connection future ends when the sender is dropped (after this export).
    tokio::spawn(connection);
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let mut request = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/x-protobuf")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    request.headers_mut().extend(headers.clone());
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    // Read (and drop) the body so the connection ends cleanly; bounded by the export timeout.
    let _ = response.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

struct Exporter {
    transport: Transport,
    timeout: Duration,
    resource: Resource,
    source: MetricsSource,
    counters: MetricExportCounters,
    /// Start of the cumulative series, nanoseconds since the epoch.
    start_ns: u64,
    /// When the exporter started: the start of the process's own series, which statistics
    /// resets do not restart.
    origin_ns: u64,
    /// Time and request total of the previous export (to detect resets).
    last: Option<(u64, u64)>,
}

impl Exporter {
    async fn run(mut self, interval: Duration, mut stop: oneshot::Receiver<()>) {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => break,
                _ = tick.tick() => self.export_once().await,
            }
        }
        // The final values (after the users stopped and the last statistics arrived).
        self.export_once().await;
    }

    async fn export_once(&mut self) {
        let families = (self.source)();
        let now = now_ns();
        let total = requests_total(&families);
        if let Some((at, before)) = self.last
            && total < before
        {
            // The statistics were reset: the new series starts at the previous export.
            self.start_ns = at;
        }
        self.last = Some((now, total));
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "cicada".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        attributes: Vec::new(),
                        dropped_attributes_count: 0,
                    }),
                    metrics: families
                        .into_iter()
                        .map(|f| to_metric(f, self.start_ns, self.origin_ns, now))
                        .collect(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        match tokio::time::timeout(self.timeout, self.transport.send(request)).await {
            Ok(Ok(())) => self.counters.add_exported(),
            Ok(Err(e)) => {
                self.counters.add_failed();
                tracing::debug!(error = %e, "OTLP metrics export failed");
            }
            Err(_) => {
                self.counters.add_failed();
                tracing::debug!(timeout = ?self.timeout, "OTLP metrics export timed out");
            }
        }
    }
}

/// The sum of the `cicada.requests` counter (reset detection).
fn requests_total(families: &[MetricFamily]) -> u64 {
    families
        .iter()
        .filter(|f| f.name == REQUESTS)
        .filter_map(|f| match &f.values {
            MetricValues::Counter(points) => Some(points.iter().map(|(_, v)| *v).sum::<u64>()),
            _ => None,
        })
        .sum()
}

/// The counter whose total going down means "the statistics were reset".
pub const REQUESTS: &str = "cicada.requests";

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn string_kv(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        key_strindex: 0,
    }
}

fn attributes(attrs: Attributes) -> Vec<KeyValue> {
    attrs.into_iter().map(|(k, v)| string_kv(k, v)).collect()
}

/// `service.name`, `service.version`, the configured attributes (as the spans' resource).
fn resource(config: &OtelConfig) -> Resource {
    let mut attributes = vec![string_kv("service.name", config.service_name.clone())];
    attributes.extend(config.resource.iter().map(|(k, v)| string_kv(k, v.clone())));
    if !config.resource.iter().any(|(k, _)| k == "service.version") {
        attributes.push(string_kv(
            "service.version",
            env!("CARGO_PKG_VERSION").into(),
        ));
    }
    attributes.push(string_kv("telemetry.sdk.language", "rust".into()));
    attributes.push(string_kv("telemetry.sdk.name", "cicada".into()));
    Resource {
        attributes,
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    }
}

/// One family as an OTLP metric, cumulative from `start_ns` (process counters: from
/// `origin_ns`), read at `now_ns`.
fn to_metric(family: MetricFamily, start_ns: u64, origin_ns: u64, now_ns: u64) -> Metric {
    let number_from =
        |start: u64, attrs: Attributes, value: number_data_point::Value| NumberDataPoint {
            attributes: attributes(attrs),
            start_time_unix_nano: start,
            time_unix_nano: now_ns,
            exemplars: Vec::new(),
            flags: 0,
            value: Some(value),
        };
    let number = |attrs, value| number_from(start_ns, attrs, value);
    let data = match family.values {
        MetricValues::Counter(points) => metric::Data::Sum(Sum {
            data_points: points
                .into_iter()
                .map(|(a, v)| {
                    let v = i64::try_from(v).unwrap_or(i64::MAX);
                    number(a, number_data_point::Value::AsInt(v))
                })
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        }),
        MetricValues::Gauge(points) => metric::Data::Gauge(Gauge {
            data_points: points
                .into_iter()
                .map(|(a, v)| number(a, number_data_point::Value::AsInt(v)))
                .collect(),
        }),
        MetricValues::UpDown(points) => metric::Data::Sum(Sum {
            data_points: points
                .into_iter()
                .map(|(a, v)| number(a, number_data_point::Value::AsInt(v)))
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: false,
        }),
        MetricValues::ProcessCounter(points) => metric::Data::Sum(Sum {
            data_points: points
                .into_iter()
                .map(|(a, v)| number_from(origin_ns, a, number_data_point::Value::AsDouble(v)))
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        }),
        MetricValues::Histogram { bounds, points } => metric::Data::Histogram(Histogram {
            data_points: points
                .into_iter()
                .map(|p| HistogramDataPoint {
                    attributes: attributes(p.attributes),
                    start_time_unix_nano: start_ns,
                    time_unix_nano: now_ns,
                    count: p.count,
                    sum: Some(p.sum),
                    bucket_counts: p.bucket_counts,
                    explicit_bounds: bounds.clone(),
                    exemplars: Vec::new(),
                    flags: 0,
                    min: None,
                    max: None,
                })
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
    };
    Metric {
        name: family.name.to_owned(),
        description: family.description.to_owned(),
        unit: family.unit.to_owned(),
        metadata: Vec::new(),
        data: Some(data),
    }
}

#[cfg(test)]
#[path = "metrics_export_tests.rs"]
mod tests;
