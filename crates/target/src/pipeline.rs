//! What wraps every request, in the gateway's order: rate limit → (backend) latency →
//! injected error → handler; then metrics, the server span (`--otel`) and the access log for
//! whatever came out.
//!
//! `/metrics` is the stand-in's own endpoint: it is counted and logged but never limited,
//! delayed or failed. Errors are injected only under `/api/v1/` (they stand for backend
//! failures; the gateway's `/health` answers from the gateway itself).
//!
//! Injection decisions are pure functions of `(seed, request number)` (see [`crate::rng`]):
//! the same seed and request order give the same delays and failures, and the hot path
//! touches one atomic counter, no lock.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::{Body, HttpBody};
use axum::extract::connect_info::{ConnectInfo, MockConnectInfo};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};

use crate::AppState;
use crate::access_log::{
    AccessEntry, RequestPart, ResponsePart, loggable_traceparent, loggable_url,
};
use crate::envelope::ApiError;
use crate::metrics::method_label;
use crate::rate_limit::{MESSAGE, Verdict};
use crate::rng::{base36_upper, mix, unit};
use crate::routes;
use crate::server_span::{self, Served, parse_traceparent};
use crate::time::{iso, now_ms};

/// `purpose` values of [`mix`]: independent streams per decision.
const LATENCY_A: u64 = 1;
const LATENCY_B: u64 = 2;
const ERROR: u64 = 3;
const REQUEST_ID: u64 = 4;

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The middleware.
pub async fn pipeline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let shared = state.shared();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| routes::label(p.as_str()));
    let remote = client_addr(&req);
    let n = shared.seq.fetch_add(1, Ordering::Relaxed);
    let logging = shared.access_log.enabled();
    let tracing = shared.spans.is_some();
    let (url, traceparent) = if logging {
        let url = loggable_url(req.uri().path_and_query().map_or("/", |p| p.as_str()));
        let tp = req
            .headers()
            .get("traceparent")
            .and_then(|v| loggable_traceparent(v.as_bytes()))
            .map(str::to_owned);
        (url, tp)
    } else {
        (String::new(), None)
    };
    // The incoming trace context (parsed only when something uses it), and the path for the
    // span (never the query).
    let incoming = if logging || tracing {
        req.headers()
            .get("traceparent")
            .and_then(|v| parse_traceparent(v.as_bytes()))
    } else {
        None
    };
    let span_path = if tracing {
        req.uri().path().to_string()
    } else {
        String::new()
    };
    let api = req.uri().path().starts_with("/api/v1/");
    let own = route == "/metrics";

    let mut verdict = None;
    let mut response = 'respond: {
        if own {
            break 'respond next.run(req).await;
        }
        if let Some(limiter) = &shared.rate_limiter {
            let ip = remote.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
            let v = limiter.check(ip, Instant::now(), now_ms());
            verdict = Some(v);
            if !v.allowed {
                shared.metrics.rate_limited.inc();
                break 'respond too_many_requests(&v);
            }
        }
        if let Some(dist) = shared.latency.for_route(method, route) {
            let delay = dist.sample(
                unit(mix(shared.seed, n, LATENCY_A)),
                unit(mix(shared.seed, n, LATENCY_B)),
            );
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        if api && shared.error_rate > 0.0 && unit(mix(shared.seed, n, ERROR)) < shared.error_rate {
            shared.metrics.injected_errors.inc();
            break 'respond ApiError::internal("Internal server error").into_response();
        }
        next.run(req).await
    };

    let request_id = format!(
        "req_{}_{}",
        now_ms(),
        base36_upper(mix(shared.seed, n, REQUEST_ID), 9).to_ascii_lowercase()
    );
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(X_REQUEST_ID.clone(), v);
    }
    if let Some(v) = verdict {
        rate_limit_headers(headers, &v);
    }

    let status = response.status().as_u16();
    let elapsed = start.elapsed();
    shared
        .metrics
        .observe(method, route, status, elapsed.as_secs_f64());
    if let Some(queue) = &shared.spans {
        let served = Served {
            n,
            incoming,
            method,
            route,
            path: &span_path,
            status,
            remote,
            elapsed,
        };
        server_span::export(queue, shared.span_salt, &served);
    }
    if logging {
        let bytes = response.body().size_hint().exact().unwrap_or(0);
        let method_text = method;
        let entry = AccessEntry {
            level: match status {
                500.. => "error",
                400..=499 => "warn",
                _ => "info",
            },
            time: iso(now_ms()),
            msg: format!("{method_text} {url} {status} - {bytes} bytes"),
            request: RequestPart {
                method: method_text,
                url: &url,
                remote_address: remote
                    .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string()),
            },
            response: ResponsePart {
                status_code: status,
            },
            duration: (elapsed.as_secs_f64() * 1e6).round() / 1e3,
            route,
            request_id: &request_id,
            traceparent: traceparent.as_deref(),
            // A valid traceparent is ASCII: its trace id is the text at 3..35.
            trace_id: incoming
                .and(traceparent.as_deref())
                .and_then(|tp| tp.get(3..35)),
        };
        shared.access_log.write(&entry);
    }
    response
}

/// The client's address: the connection's, or a test's mock.
fn client_addr(req: &Request) -> Option<SocketAddr> {
    let ext = req.extensions();
    ext.get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .or_else(|| ext.get::<MockConnectInfo<SocketAddr>>().map(|c| c.0))
}

/// express-rate-limit's 429: plain text (sent with `res.send`, hence `text/html`).
fn too_many_requests(v: &Verdict) -> Response {
    let mut r = Response::new(Body::from(MESSAGE));
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::RETRY_AFTER, HeaderValue::from(v.retry_after_s));
    r
}

/// The legacy `X-RateLimit-*` headers, on every response while the limit is on.
fn rate_limit_headers(h: &mut http::HeaderMap, v: &Verdict) {
    h.insert("x-ratelimit-limit", HeaderValue::from(v.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(v.remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(v.reset_epoch_s));
}
