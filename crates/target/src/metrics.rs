//! `/metrics`: the stand-in's own request counts and latencies, in the Prometheus text format.
//!
//! Labels are bounded by construction: the route is the matched route template
//! (`/api/v1/policies/{id}`, never the raw URL) or `unmatched`; the method is one of the
//! standard ones or `OTHER`; the status is one of the few codes the server produces.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::store::{Kind, Store, StoreCounters};

/// Content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// Latency buckets: 0.5 ms to ~16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 16,
    ))
}

/// The stand-in's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    records: Family<KindLabels, Gauge>,
    organizations: Gauge,
    /// Requests answered with an injected 500.
    pub injected_errors: Counter,
    /// Requests answered 429.
    pub rate_limited: Counter,
    store_counters: StoreCounters,
}

impl Metrics {
    /// Registers every metric; `access_log_dropped` is the access log's own counter.
    pub fn new(access_log_dropped: Counter) -> Metrics {
        let mut root = Registry::default();
        let registry = root.sub_registry_with_prefix("cicada_target");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests served, by method, route template and status",
            requests.clone(),
        );
        let durations: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response (injected latency included), by method and route template",
            durations.clone(),
        );
        let records = Family::<KindLabels, Gauge>::default();
        registry.register(
            "records",
            "Records held in memory, by kind",
            records.clone(),
        );
        let organizations = Gauge::default();
        registry.register(
            "organizations",
            "Organizations with records in memory",
            organizations.clone(),
        );
        let evictions = Family::<KindLabels, Counter>::default();
        registry.register(
            "evictions",
            "Records evicted to stay within --max-records / --max-organizations, by kind",
            evictions.clone(),
        );
        let store_counters = StoreCounters {
            evictions: Kind::ALL
                .map(|k| evictions.get_or_create_owned(&KindLabels { kind: k.label() })),
        };
        let injected_errors = Counter::default();
        registry.register(
            "injected_errors",
            "Requests answered with an injected 500 (--error-rate)",
            injected_errors.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests answered 429 (--rate-limit)",
            rate_limited.clone(),
        );
        registry.register(
            "access_log_dropped",
            "Access log lines dropped because the writer could not keep up",
            access_log_dropped,
        );
        Metrics {
            registry: root,
            requests,
            durations,
            records,
            organizations,
            injected_errors,
            rate_limited,
            store_counters,
        }
    }

    /// The counters the store bumps.
    pub fn store_counters(&self) -> StoreCounters {
        self.store_counters.clone()
    }

    /// Records one finished request.
    pub fn observe(&self, method: &'static str, route: &'static str, status: u16, secs: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels { method, route })
            .observe(secs);
    }

    /// The text exposition, with the record gauges read from the store first.
    pub fn encode(&self, store: &Store) -> String {
        for kind in Kind::ALL {
            let n = i64::try_from(store.count(kind)).unwrap_or(i64::MAX);
            self.records
                .get_or_create(&KindLabels { kind: kind.label() })
                .set(n);
        }
        self.organizations
            .set(i64::try_from(store.bucket_count()).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// A method as a static label (`OTHER` for extension methods, keeping the label bounded).
pub fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
