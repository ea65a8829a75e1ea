//! An OTLP/gRPC receiver for tests: the real protocol (the `opentelemetry-proto`
//! `TraceService` and `MetricsService`), in process, on 127.0.0.1 and a port chosen by the
//! system.
//!
//! It keeps what it receives (at most [`MAX_SPANS`] spans and [`MAX_POINTS`] metric points) in a
//! simple form that tests can assert on: ids as integers, attributes as text. Compiled for this
//! crate's tests and, with the `test-receiver` feature, for other crates' tests; never in the
//! binary.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use tokio::sync::oneshot;

use super::receiver_metrics::{MetricsStore, metrics_service};
pub use super::receiver_metrics::{PointKind, ReceivedPoint};

/// Spans kept at most (later ones are ignored).
pub const MAX_SPANS: usize = 100_000;
/// Metric data points kept at most (later ones are ignored).
pub const MAX_POINTS: usize = 100_000;

/// One span as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedSpan {
    /// `service.name` of the resource it came with.
    pub service: String,
    /// Trace id.
    pub trace_id: u128,
    /// Span id.
    pub span_id: u64,
    /// Parent span id (0: a root).
    pub parent_span_id: u64,
    /// Name.
    pub name: String,
    /// OTLP kind: 1 internal, 2 server, 3 client.
    pub kind: i32,
    /// Attributes as text (integers in decimal, booleans as `true`/`false`).
    pub attributes: BTreeMap<String, String>,
    /// True when the status code is ERROR.
    pub error: bool,
    /// Start and end, nanoseconds since the epoch.
    pub start_end_ns: (u64, u64),
    /// Metadata (gRPC headers) of the request that carried it, lower-case names.
    pub headers: BTreeMap<String, String>,
}

impl ReceivedSpan {
    /// An attribute's text.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Default)]
struct Received {
    spans: Vec<ReceivedSpan>,
    /// Every span received, kept or not.
    count: usize,
}

type Store = Arc<Mutex<Received>>;

fn lock(store: &Store) -> MutexGuard<'_, Received> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

struct Service(Store);

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers: BTreeMap<String, String> = request
            .metadata()
            .clone()
            .into_headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let mut got = Vec::new();
        for rs in request.into_inner().resource_spans {
            let resource = rs
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            let service = resource.get("service.name").cloned().unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    got.push(ReceivedSpan {
                        service: service.clone(),
                        trace_id: be_u128(&s.trace_id),
                        span_id: be_u64(&s.span_id),
                        parent_span_id: be_u64(&s.parent_span_id),
                        name: s.name,
                        kind: s.kind,
                        attributes: attributes(&s.attributes),
                        // STATUS_CODE_ERROR = 2.
                        error: s.status.is_some_and(|st| st.code == 2),
                        start_end_ns: (s.start_time_unix_nano, s.end_time_unix_nano),
                        headers: headers.clone(),
                    });
                }
            }
        }
        let mut store = lock(&self.0);
        store.count += got.len();
        let room = MAX_SPANS.saturating_sub(store.spans.len());
        store.spans.extend(got.into_iter().take(room));
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn be_u128(b: &[u8]) -> u128 {
    <[u8; 16]>::try_from(b).map_or(0, u128::from_be_bytes)
}

fn be_u64(b: &[u8]) -> u64 {
    <[u8; 8]>::try_from(b).map_or(0, u64::from_be_bytes)
}

pub(super) fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
        .collect()
}

fn text(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// A running receiver; stops when dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    spans: Store,
    metrics: MetricsStore,
    _stop: oneshot::Sender<()>,
}

impl OtlpReceiver {
    /// Starts a receiver on 127.0.0.1 and a free port.
    pub async fn start() -> std::io::Result<OtlpReceiver> {
        OtlpReceiver::start_on(0).await
    }

    /// Starts a receiver on 127.0.0.1:`port` (0: a free port).
    pub async fn start_on(port: u16) -> std::io::Result<OtlpReceiver> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let spans = Store::default();
        let metrics = MetricsStore::default();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Service(spans.clone())))
            .add_service(metrics_service(metrics.clone()))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                async {
                    let _ = stop_rx.await;
                },
            );
        tokio::spawn(server);
        Ok(OtlpReceiver {
            addr,
            spans,
            metrics,
            _stop: stop_tx,
        })
    }

    /// `http://127.0.0.1:PORT`, for `--otel-endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The spans received so far (the first [`MAX_SPANS`]).
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        lock(&self.spans).spans.clone()
    }

    /// The metric data points received so far (the first [`MAX_POINTS`]), in arrival order.
    pub fn points(&self) -> Vec<ReceivedPoint> {
        self.metrics.points()
    }

    /// Metric export requests received.
    pub fn metric_exports(&self) -> u64 {
        self.metrics.exports()
    }

    /// Waits (polling, at most `timeout`) until `done` holds for the metric points received,
    /// and returns them either way.
    pub async fn wait_for_points(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedPoint]) -> bool,
    ) -> Vec<ReceivedPoint> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let points = self.points();
            if done(&points) || tokio::time::Instant::now() >= deadline {
                return points;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many spans were received, including those past [`MAX_SPANS`].
    pub fn received(&self) -> usize {
        lock(&self.spans).count
    }

    /// Waits (polling, at most `timeout`) until `done` holds for the spans received, and
    /// returns them either way.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) || tokio::time::Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
