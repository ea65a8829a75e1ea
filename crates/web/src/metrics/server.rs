//! A worker's own `/metrics` (`cicada worker --metrics-port`): the renderer without the UI.
//!
//! The router serves `GET /metrics` (the same families as the master's, from the worker's own
//! cumulative statistics) and `GET /healthz` (200 while the process serves, for a liveness
//! probe). The worker gathers the inputs through `source`, once per scrape.

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use super::{MetricsInputs, respond};

/// Gathers the inputs of one scrape.
pub type InputsSource = Arc<dyn Fn() -> MetricsInputs + Send + Sync>;

/// `GET /metrics` and `GET /healthz` over `source`.
pub fn metrics_router(source: InputsSource) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move |headers: HeaderMap| {
                let source = source.clone();
                async move { scrape(&source, &headers) }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
}

fn scrape(source: &InputsSource, headers: &HeaderMap) -> Response {
    respond(&source(), headers)
}

/// Serves [`metrics_router`] on `listener` until `shutdown` resolves.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    source: InputsSource,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, metrics_router(source))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;
    use crate::metrics::WorkerIdentity;

    async fn get_text(
        app: &Router,
        path: &str,
        accept: Option<&str>,
    ) -> (StatusCode, String, String) {
        let mut req = Request::get(path);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, ct, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_worker_serves_its_own_numbers_and_identity() {
        let source: InputsSource = Arc::new(|| MetricsInputs {
            bounds: vec![0.5],
            rows: vec![cicada_stats::LatencyBuckets {
                method: "GET".into(),
                name: "/x".into(),
                count: 3,
                sum_us: 300_000,
                at_or_below: vec![3],
            }],
            user_types: vec![("Reader".into(), 2)],
            target_users: 2,
            worker: Some(WorkerIdentity {
                id: "w1".into(),
                version: "9.9.9".into(),
            }),
            process: Some(cicada_control::process::ProcessTotals {
                cpu_seconds: 1.5,
                resident_bytes: 1024,
                ..Default::default()
            }),
            ..MetricsInputs::default()
        });
        let app = metrics_router(source);
        let (status, ct, body) = get_text(&app, "/metrics", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(ct.starts_with("text/plain"), "{ct}");
        for line in [
            "cicada_requests_total{method=\"GET\",name=\"/x\"} 3",
            "cicada_request_duration_seconds_bucket{method=\"GET\",name=\"/x\",le=\"0.5\"} 3",
            "cicada_users{user_type=\"Reader\"} 2",
            "cicada_target_users 2",
            "cicada_worker_info{worker_id=\"w1\",version=\"9.9.9\"} 1",
            "process_resident_memory_bytes 1024",
        ] {
            assert!(body.lines().any(|l| l == line), "{line} in\n{body}");
        }
        // A worker has no fleet and runs no open model.
        assert!(!body.contains("cicada_workers"), "{body}");
        assert!(!body.contains("cicada_arrivals"), "{body}");
        let (_, ct, body) = get_text(&app, "/metrics", Some("application/openmetrics-text")).await;
        assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
        assert!(body.ends_with("# EOF\n"), "{body}");
        let (status, _, body) = get_text(&app, "/healthz", None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    }
}
