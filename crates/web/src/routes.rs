//! The route table. Routes that change the run sit behind [`access::guard_changes`]
//! (read-only, cross-site); everything sits behind [`access::require_auth`].

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Uri, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::state::AppState;
use crate::{access, api, assets, live, locust, metrics, shape};

pub(crate) fn router(state: AppState) -> Router {
    let changes = Router::new()
        .route("/api/swarm", post(api::swarm))
        .route("/api/stop", post(api::stop))
        .route("/api/stats/reset", post(api::reset))
        .route("/api/shape/pause", post(shape::pause))
        .route("/api/shape/resume", post(shape::resume))
        .route("/swarm", post(locust::swarm))
        .route("/stop", get(locust::stop))
        .route("/stats/reset", get(locust::reset))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            access::guard_changes,
        ));
    let reads = Router::new()
        .route("/", get(assets::index))
        .route("/index.html", get(assets::index))
        .route("/assets/{*path}", get(assets::asset))
        .route("/login", post(access::login))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/info", get(api::info))
        .route("/api/stats", get(api::stats))
        .route("/api/stats/history", get(api::history))
        .route("/api/events", get(live::events))
        .route("/api/workers", get(api::workers))
        .route("/api/shape", get(shape::get_shape))
        .route("/api/ratio", get(api::ratio))
        .route("/api/logs", get(api::logs))
        .route("/api/stats.csv", get(api::stats_csv))
        .route("/api/failures.csv", get(api::failures_csv))
        .route("/api/history.csv", get(api::history_csv))
        .route("/api/report.json", get(api::report_json))
        .route("/api/report.html", get(api::report_html))
        .route("/stats/requests", get(locust::stats_requests))
        .route("/stats/requests/csv", get(api::stats_csv))
        .route("/stats/failures/csv", get(api::failures_csv))
        .route("/stats/report", get(api::report_html));
    let body_limit = state.config().body_limit;
    changes
        .merge(reads)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::require_auth,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Headers every answer carries: no MIME sniffing, no framing, no referrer; API answers are
/// never cached (they are live).
async fn security_headers(request: Request, next: Next) -> Response {
    let api =
        request.uri().path().starts_with("/api/") || request.uri().path().starts_with("/stats/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
