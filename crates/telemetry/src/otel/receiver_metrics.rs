//! The test receiver's `MetricsService`: every data point of every export, flattened.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};

use super::receiver::{MAX_POINTS, attributes};

/// What kind of metric a point belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointKind {
    /// A sum: monotonic or not, cumulative (true) or delta.
    Sum {
        /// Monotonic (a counter).
        monotonic: bool,
        /// Cumulative temporality.
        cumulative: bool,
    },
    /// A gauge.
    Gauge,
    /// An explicit-bucket histogram (cumulative when true).
    Histogram {
        /// Cumulative temporality.
        cumulative: bool,
    },
    /// Anything else (exponential histograms, summaries).
    Other,
}

/// One data point as received.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedPoint {
    /// Sequence number of the export request that carried it (1, 2, ...).
    pub export: u64,
    /// The resource's attributes (including `service.name`).
    pub resource: BTreeMap<String, String>,
    /// The instrumentation scope's name.
    pub scope: String,
    /// The metric's name.
    pub metric: String,
    /// The metric's unit.
    pub unit: String,
    /// Sum, gauge or histogram.
    pub kind: PointKind,
    /// The point's attributes as text.
    pub attributes: BTreeMap<String, String>,
    /// The value of a sum or gauge point; the count of a histogram point.
    pub value: f64,
    /// A histogram point's sum.
    pub sum: Option<f64>,
    /// A histogram point's bucket counts (one more than the bounds).
    pub bucket_counts: Vec<u64>,
    /// A histogram point's bounds.
    pub bounds: Vec<f64>,
    /// Start and read time, nanoseconds since the epoch.
    pub start_time_ns: u64,
    /// Read time, nanoseconds since the epoch.
    pub time_ns: u64,
}

impl ReceivedPoint {
    /// `service.name` of the resource.
    pub fn service(&self) -> &str {
        self.resource.get("service.name").map_or("", String::as_str)
    }

    /// An attribute's text.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

#[derive(Default)]
struct Received {
    points: Vec<ReceivedPoint>,
    exports: u64,
}

/// The points received, shared with the receiver handle.
#[derive(Clone, Default)]
pub(super) struct MetricsStore(Arc<Mutex<Received>>);

impl MetricsStore {
    fn lock(&self) -> MutexGuard<'_, Received> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn points(&self) -> Vec<ReceivedPoint> {
        self.lock().points.clone()
    }

    pub(super) fn exports(&self) -> u64 {
        self.lock().exports
    }
}

struct Service(MetricsStore);

pub(super) fn metrics_service(store: MetricsStore) -> MetricsServiceServer<impl MetricsService> {
    MetricsServiceServer::new(Service(store))
}

fn number(v: Option<number_data_point::Value>) -> f64 {
    match v {
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        Some(number_data_point::Value::AsDouble(d)) => d,
        None => f64::NAN,
    }
}

/// `AGGREGATION_TEMPORALITY_CUMULATIVE`.
const CUMULATIVE: i32 = 2;

#[tonic::async_trait]
impl MetricsService for Service {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut store = self.0.lock();
        store.exports += 1;
        let export = store.exports;
        let mut got = Vec::new();
        for rm in request.into_inner().resource_metrics {
            let resource = rm
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            for sm in rm.scope_metrics {
                let scope = sm.scope.map(|s| s.name).unwrap_or_default();
                for m in sm.metrics {
                    let base = ReceivedPoint {
                        export,
                        resource: resource.clone(),
                        scope: scope.clone(),
                        metric: m.name.clone(),
                        unit: m.unit.clone(),
                        kind: PointKind::Other,
                        attributes: BTreeMap::new(),
                        value: f64::NAN,
                        sum: None,
                        bucket_counts: Vec::new(),
                        bounds: Vec::new(),
                        start_time_ns: 0,
                        time_ns: 0,
                    };
                    match m.data {
                        Some(metric::Data::Sum(s)) => {
                            let kind = PointKind::Sum {
                                monotonic: s.is_monotonic,
                                cumulative: s.aggregation_temporality == CUMULATIVE,
                            };
                            got.extend(s.data_points.into_iter().map(|p| ReceivedPoint {
                                kind,
                                attributes: attributes(&p.attributes),
                                value: number(p.value),
                                start_time_ns: p.start_time_unix_nano,
                                time_ns: p.time_unix_nano,
                                ..base.clone()
                            }));
                        }
                        Some(metric::Data::Gauge(g)) => {
                            got.extend(g.data_points.into_iter().map(|p| ReceivedPoint {
                                kind: PointKind::Gauge,
                                attributes: attributes(&p.attributes),
                                value: number(p.value),
                                start_time_ns: p.start_time_unix_nano,
                                time_ns: p.time_unix_nano,
                                ..base.clone()
                            }));
                        }
                        Some(metric::Data::Histogram(h)) => {
                            let kind = PointKind::Histogram {
                                cumulative: h.aggregation_temporality == CUMULATIVE,
                            };
                            got.extend(h.data_points.into_iter().map(|p| ReceivedPoint {
                                kind,
                                attributes: attributes(&p.attributes),
                                value: p.count as f64,
                                sum: p.sum,
                                bucket_counts: p.bucket_counts,
                                bounds: p.explicit_bounds,
                                start_time_ns: p.start_time_unix_nano,
                                time_ns: p.time_unix_nano,
                                ..base.clone()
                            }));
                        }
                        _ => got.push(base),
                    }
                }
            }
        }
        let room = MAX_POINTS.saturating_sub(store.points.len());
        store.points.extend(got.into_iter().take(room));
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}
