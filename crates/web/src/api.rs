//! The REST API under `/api` (documented in `docs/api.md` and `/api/openapi.json`), and the
//! probes.
//!
//! Control handlers validate first and call the controller once; their answer is the run's
//! status after the change. Read handlers take one snapshot (a short lock on the statistics)
//! and serialise outside the lock.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cicada_stats::report;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::history::{self, Resolution};
use crate::ratio;
use crate::report::{ReportInfo, html_report};
use crate::state::AppState;
use crate::swarm::SwarmInput;
use crate::views::{self, StatusView, stats_json, to_rounded_value};

/// The OpenAPI document (hand-written; a test checks it lists every route).
pub const OPENAPI: &str = include_str!("openapi.json");

/// Turns a body rejection into our error (400 for a body over the limit).
pub(crate) fn body_or_error(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit }
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })
}

/// Turns a query rejection into a 400.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// The run's status, as control actions answer.
pub(crate) fn status_json(state: &AppState) -> Value {
    let status = views::status(state.controller());
    to_rounded_value(&StatusView::new(&status))
}

/// `GET /api/stats`.
pub async fn stats(State(state): State<AppState>) -> Json<Value> {
    Json(stats_json(state.controller()))
}

/// `POST /api/swarm`: start, or change the running swarm.
pub async fn swarm(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body_or_error(body, state.config().body_limit)?;
    SwarmInput::from_json(&body)?.apply(state.controller())?;
    state.nudge();
    Ok(Json(status_json(&state)))
}

/// `POST /api/stop`.
pub async fn stop(State(state): State<AppState>) -> Json<Value> {
    state.controller().stop();
    state.nudge();
    Json(status_json(&state))
}

/// `POST /api/stats/reset`.
pub async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.controller().reset_stats();
    state.nudge();
    Json(status_json(&state))
}

/// Query of the history endpoints.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    #[serde(default)]
    resolution: Resolution,
}

/// `GET /api/stats/history?resolution=second|minute`.
pub async fn history(
    State(state): State<AppState>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let resolution = query(q)?.resolution;
    let series = state
        .controller()
        .with_stats(|s| history::series(s, resolution));
    Ok(Json(series).into_response())
}

/// `GET /api/workers`.
pub async fn workers(State(state): State<AppState>) -> Json<Value> {
    let rows = crate::workers::rows(state.controller());
    Json(json!({ "workers": rows }))
}

/// `GET /api/ratio`: user types and tasks as shares.
pub async fn ratio(State(state): State<AppState>) -> Json<Value> {
    let status = state.controller().status();
    let r = ratio::ratio(&state.controller().plan(), &status.user_types);
    Json(to_rounded_value(&r))
}

/// Query of `GET /api/logs`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    #[serde(default)]
    after: u64,
}

/// `GET /api/logs?after=SEQ`: recent warnings and errors.
pub async fn logs(
    State(state): State<AppState>,
    q: Result<Query<LogsQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let after = query(q)?.after;
    let (events, last_seq) = match state.logs() {
        Some(l) => (l.since(after), l.last_seq()),
        None => (Vec::new(), 0),
    };
    Ok(Json(json!({ "logs": events, "last_seq": last_seq })))
}

/// `GET /api/info`: what the UI needs once (version, defaults of the Start form, access).
pub async fn info(State(state): State<AppState>) -> Json<Value> {
    let defaults = &state.info().defaults;
    let config = state.controller().with_stats(|s| s.config().clone());
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "scenario": state.info().scenario,
        "read_only": state.config().read_only,
        "auth": state.config().requires_auth(),
        "defaults": {
            "users": defaults.users,
            "spawn_rate": defaults.spawn_rate,
            "run_time": defaults.run_time.map(|d| humantime::format_duration(d).to_string()),
            "host": state.controller().status().host,
        },
        "history_len": config.history_len,
        "long_history_len": config.long_history_len,
        "max_entries": config.max_entries,
    }))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A download: content type, file name parts (`cicada_{stem}_{unix time}.{ext}`), body.
fn download(
    content_type: &'static str,
    (stem, ext): (&str, &str),
    body: String,
    attach: bool,
) -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response();
    if attach {
        let disposition = format!(
            "attachment; filename=\"cicada_{stem}_{}.{ext}\"",
            unix_now()
        );
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}

/// `GET /api/stats.csv` (Locust's `_stats.csv` columns).
pub async fn stats_csv(State(state): State<AppState>) -> Response {
    let csv = state.controller().with_stats(report::csv_stats);
    download("text/csv; charset=utf-8", ("stats", "csv"), csv, true)
}

/// `GET /api/failures.csv` (Locust's `_failures.csv` columns).
pub async fn failures_csv(State(state): State<AppState>) -> Response {
    let csv = state.controller().with_stats(report::csv_failures);
    download("text/csv; charset=utf-8", ("failures", "csv"), csv, true)
}

/// `GET /api/history.csv?resolution=second|minute` (Locust's `_stats_history.csv` columns).
pub async fn history_csv(
    State(state): State<AppState>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let csv = match query(q)?.resolution {
        Resolution::Second => state.controller().with_stats(report::csv_history),
        Resolution::Minute => state.controller().with_stats(report::csv_long_history),
    };
    Ok(download(
        "text/csv; charset=utf-8",
        ("stats_history", "csv"),
        csv,
        true,
    ))
}

/// `GET /api/report.json` (the `--json` report).
pub async fn report_json(State(state): State<AppState>) -> Response {
    let value = state.controller().with_stats(report::json_report);
    let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "null".into());
    download("application/json", ("report", "json"), text, true)
}

/// Query of `GET /api/report.html`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Any value: answer as an attachment (a download) instead of a page.
    download: Option<String>,
}

/// The report info of the running app.
pub(crate) fn report_info(state: &AppState) -> ReportInfo {
    ReportInfo {
        scenario: state.info().scenario.clone(),
        host: state.controller().status().host,
        plan: Some(state.controller().plan()),
    }
}

/// `GET /api/report.html[?download=1]`: the self-contained HTML report.
pub async fn report_html(
    State(state): State<AppState>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let attach = query(q)?.download.is_some();
    let info = report_info(&state);
    let html = state.controller().with_stats(|s| html_report(s, &info));
    Ok(download(
        "text/html; charset=utf-8",
        ("report", "html"),
        html,
        attach,
    ))
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: ready to serve (503 once shutting down).
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_closing() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "shutting down" })),
        )
            .into_response()
    } else {
        Json(json!({ "status": "ready" })).into_response()
    }
}
