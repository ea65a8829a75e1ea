//! A worker's own metrics: `/metrics` on `--metrics-port` and the OTLP export
//! (`--otel-metrics`), both read from the agent's cumulative totals
//! ([`cicada_cluster::worker::metrics::WorkerMetrics`]) through the web crate's renderer.
//!
//! The HTTP server runs on a thread of its own with a single-threaded runtime, like the agent:
//! a scrape or a liveness probe is answered however busy the users' runtime is, so a saturated
//! worker is not restarted for failing its probe.

use std::net::SocketAddr;
use std::sync::Arc;

use cicada_cluster::worker::metrics::WorkerMetrics;
use cicada_telemetry::otel::{MetricExportCounters, MetricsSource, OtelCounters};
use cicada_web::metrics::{InputsSource, MetricsInputs, WorkerIdentity, otel_families};
use tokio_util::sync::CancellationToken;

/// The requests, users and identity of this worker (no process sample, no export counters).
fn inputs(metrics: &WorkerMetrics, bounds: &[f64]) -> MetricsInputs {
    let mut inputs = metrics.with_stats(|s| MetricsInputs::from_stats(s, bounds));
    inputs.user_types = metrics.users();
    inputs.target_users = metrics.target_users();
    inputs.worker = Some(WorkerIdentity {
        id: metrics.id().to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    });
    inputs
}

/// What the OTLP metric export reads, at each export: this worker's requests, users and
/// process CPU and memory.
pub(crate) fn otlp_source(metrics: &WorkerMetrics, bounds: &[f64]) -> MetricsSource {
    let (metrics, bounds) = (metrics.clone(), bounds.to_vec());
    Arc::new(move || {
        let mut i = inputs(&metrics, &bounds);
        i.process = cicada_control::process::totals();
        otel_families(&i)
    })
}

/// What `/metrics` shows, at each scrape.
pub(crate) fn scrape_source(
    metrics: &WorkerMetrics,
    bounds: &[f64],
    spans: Option<OtelCounters>,
    exports: Option<MetricExportCounters>,
) -> InputsSource {
    let (metrics, bounds) = (metrics.clone(), bounds.to_vec());
    Arc::new(move || {
        let mut i = inputs(&metrics, &bounds);
        i.process = cicada_control::process::totals();
        i.spans = spans.as_ref().map(OtelCounters::snapshot);
        i.metric_exports = exports.as_ref().map(MetricExportCounters::snapshot);
        i
    })
}

/// The metrics server could not listen.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    /// Binding failed (port in use, bad address).
    #[error(
        "cannot listen on {address} for --metrics-port: {source} (choose another port, or 0 for \
         any free port)"
    )]
    Bind {
        address: String,
        source: std::io::Error,
    },
    /// The server's thread or runtime could not start.
    #[error("cannot start the metrics server: {0}")]
    Start(std::io::Error),
}

/// A running metrics server; stops when [`MetricsServer::stop`] is called or it is dropped.
pub(crate) struct MetricsServer {
    addr: SocketAddr,
    stop: CancellationToken,
}

impl MetricsServer {
    /// Binds `host:port` now (so a bad address fails before anything runs) and serves on a
    /// thread of its own.
    pub(crate) fn start(
        host: &str,
        port: u16,
        source: InputsSource,
    ) -> Result<MetricsServer, ServeError> {
        let host = host.trim();
        let address = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let bind = |source| ServeError::Bind {
            address: address.clone(),
            source,
        };
        let listener = std::net::TcpListener::bind(&address).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServeError::Start)?;
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("cicada-metrics".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "the metrics server cannot start");
                            return;
                        }
                    };
                    let shutdown = async move { stopped.cancelled().await };
                    if let Err(e) =
                        cicada_web::metrics::serve_metrics(listener, source, shutdown).await
                    {
                        tracing::error!(error = %e, "the metrics server stopped");
                    }
                });
            })
            .map_err(ServeError::Start)?;
        Ok(MetricsServer { addr, stop })
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving (in-flight scrapes finish on the server's thread).
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_a_bind_error_naming_the_flag() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        let m = WorkerMetrics::new("w", 10);
        let source = scrape_source(&m, &[0.1], None, None);
        let err = MetricsServer::start("127.0.0.1", port, source)
            .err()
            .expect("the port is taken");
        assert!(err.to_string().contains("--metrics-port"), "{err}");
        let inputs = inputs(&m, &[0.1]);
        assert_eq!(inputs.worker.map(|w| w.id), Some("w".to_owned()));
    }
}
