//! `GET /metrics`: the generator's own numbers in the Prometheus text format (OpenMetrics when
//! the scraper's `Accept` asks for `application/openmetrics-text`), and the same numbers as
//! OpenTelemetry metric families for the OTLP export (`--otel-metrics`).
//!
//! One renderer serves every process: the rendering core ([`render_inputs`]) takes plain
//! [`MetricsInputs`] (statistics rows, users per type, process sample, export counters), which a
//! standalone run or master gathers from its controller ([`MetricsInputs::from_state`]) and a
//! worker from its own cumulative statistics; [`metrics_router`] serves them on a worker's
//! `--metrics-port` without the UI. [`otel_families`] maps the same inputs to OTLP families.
//!
//! Nothing here sits on the request hot path: every scrape builds a fresh registry from the
//! cumulative statistics ([`cicada_stats::Stats`]) and status, so the users never
//! touch a Prometheus counter. Label cardinality is bounded by the stats entry and failure caps
//! (rows beyond them are already folded into one overflow row), and label values are escaped
//! by `prometheus-client`. The latency histogram's buckets are counted from each row's HDR
//! histogram at the configured bounds (`--metrics-buckets`), so they are cumulative since the
//! start or the last reset, like the counters.

mod inputs;
mod otlp;
mod prometheus;
mod server;

use std::fmt;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{prometheus_text, text};

use crate::state::AppState;

pub use inputs::{MetricsInputs, WorkerIdentity};
pub use otlp::otel_families;
pub use server::{InputsSource, metrics_router, serve_metrics};

/// Default upper bounds of `cicada_request_duration_seconds`, seconds.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Most histogram bounds accepted (each costs one series per request row).
pub const MAX_BUCKETS: usize = 64;

/// Content type of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Content type of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// `--metrics-buckets` could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BucketsError {
    /// No bounds at all.
    #[error("no bucket bounds given")]
    Empty,
    /// More than [`MAX_BUCKETS`] bounds.
    #[error("at most {MAX_BUCKETS} bucket bounds are allowed, got {0}")]
    TooMany(usize),
    /// A bound that is not a positive finite number of seconds.
    #[error("bucket bound {0} is not a positive finite number of seconds")]
    Invalid(f64),
    /// Bounds not strictly ascending.
    #[error("bucket bounds must be strictly ascending ({0} follows {1})")]
    NotAscending(f64, f64),
}

/// Checks histogram bounds given in seconds: 1 to [`MAX_BUCKETS`], positive, finite, ascending.
pub fn validate_buckets(bounds: &[f64]) -> Result<(), BucketsError> {
    if bounds.is_empty() {
        return Err(BucketsError::Empty);
    }
    if bounds.len() > MAX_BUCKETS {
        return Err(BucketsError::TooMany(bounds.len()));
    }
    for (i, &b) in bounds.iter().enumerate() {
        if !b.is_finite() || b <= 0.0 {
            return Err(BucketsError::Invalid(b));
        }
        if let Some(&prev) = i.checked_sub(1).and_then(|p| bounds.get(p))
            && b <= prev
        {
            return Err(BucketsError::NotAscending(b, prev));
        }
    }
    Ok(())
}

/// True when `Accept` asks for OpenMetrics.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"))
}

/// Renders the metrics of a standalone run or master; `openmetrics` picks the format. Returns
/// the body and its content type.
pub fn render(state: &AppState, openmetrics: bool) -> Result<(String, &'static str), fmt::Error> {
    render_inputs(&MetricsInputs::from_state(state), openmetrics)
}

/// The rendering core: `inputs` in the Prometheus text format, or OpenMetrics. Returns the body
/// and its content type.
pub fn render_inputs(
    inputs: &MetricsInputs,
    openmetrics: bool,
) -> Result<(String, &'static str), fmt::Error> {
    let registry = prometheus::registry(inputs);
    let mut body = String::new();
    if openmetrics {
        text::encode(&mut body, &registry)?;
        Ok((body, OPENMETRICS_CONTENT_TYPE))
    } else {
        prometheus_text::encode(&mut body, &registry)?;
        Ok((body, PROMETHEUS_CONTENT_TYPE))
    }
}

/// The HTTP answer to a scrape of `inputs`.
fn respond(inputs: &MetricsInputs, headers: &HeaderMap) -> Response {
    match render_inputs(inputs, wants_openmetrics(headers)) {
        Ok((body, content_type)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    respond(&MetricsInputs::from_state(&state), &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_validation() {
        assert_eq!(validate_buckets(&DEFAULT_BUCKETS), Ok(()));
        assert_eq!(validate_buckets(&[]), Err(BucketsError::Empty));
        assert_eq!(
            validate_buckets(&[0.1, 0.1]),
            Err(BucketsError::NotAscending(0.1, 0.1))
        );
        assert_eq!(validate_buckets(&[0.0]), Err(BucketsError::Invalid(0.0)));
        assert!(matches!(
            validate_buckets(&[f64::NAN]),
            Err(BucketsError::Invalid(_))
        ));
        let many: Vec<f64> = (1..=65).map(f64::from).collect();
        assert_eq!(validate_buckets(&many), Err(BucketsError::TooMany(65)));
    }

    #[test]
    fn openmetrics_is_negotiated() {
        let mut h = HeaderMap::new();
        assert!(!wants_openmetrics(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
        );
        assert!(wants_openmetrics(&h));
    }
}
