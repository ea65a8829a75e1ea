//! Locust's web endpoints, so existing scripts, dashboards and `locust_exporter` keep working
//! against cicada: same paths, same methods, same JSON field names.
//!
//! | Locust | here |
//! | --- | --- |
//! | `POST /swarm` (form `user_count`, `spawn_rate`, `host`, `run_time`) | `POST /api/swarm` |
//! | `GET /stop` | `POST /api/stop` |
//! | `GET /stats/reset` (answers `ok`) | `POST /api/stats/reset` |
//! | `GET /stats/requests` | `GET /api/stats` in Locust's shape |
//! | `GET /stats/requests/csv`, `/stats/failures/csv`, `/stats/report` | the downloads |
//!
//! Errors answer Locust's `{"success": false, "message": ...}` with a 4xx status.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use cicada_stats::EntrySnapshot;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;
use crate::swarm::SwarmInput;
use crate::views::{round_floats, status_and_snapshot};

/// Rows and errors sent at most, like Locust (which truncates to keep its UI fast).
const MAX_ROWS: usize = 500;

/// `POST /swarm`.
pub async fn swarm(
    State(state): State<AppState>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let result = form
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge {
                    limit: state.config().body_limit,
                }
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })
        .and_then(|Form(fields)| SwarmInput::from_form(&fields))
        .and_then(|input| input.apply(state.controller()));
    match result {
        Ok(()) => {
            state.nudge();
            let host = state.controller().status().host;
            Json(json!({"success": true, "message": "Swarming started", "host": host}))
                .into_response()
        }
        Err(e) => e.into_locust_response(),
    }
}

/// `GET /stop`.
pub async fn stop(State(state): State<AppState>) -> Json<Value> {
    state.controller().stop();
    state.nudge();
    Json(json!({"success": true, "message": "Test stopped"}))
}

/// `GET /stats/reset`.
pub async fn reset(State(state): State<AppState>) -> &'static str {
    state.controller().reset_stats();
    state.nudge();
    "ok"
}

/// Minimal HTML escaping for Locust's `safe_name`.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn row(e: &EntrySnapshot, total: bool) -> Value {
    let pct = |p: f64| e.percentiles.get(p).unwrap_or(0.0);
    json!({
        // Locust's total row has no method (`None` in Python).
        "method": if total { Value::Null } else { Value::from(e.method.as_str()) },
        "name": e.name,
        "safe_name": escape(&e.name),
        "num_requests": e.requests,
        "num_failures": e.failures,
        "avg_response_time": e.avg_ms,
        "min_response_time": e.min_ms.round(),
        "max_response_time": e.max_ms.round(),
        "current_rps": e.current_rps,
        "current_fail_per_sec": e.current_fail_per_sec,
        "median_response_time": e.p50_ms,
        "ninetieth_response_time": pct(90.0),
        "ninety_ninth_response_time": pct(99.0),
        "avg_content_length": e.avg_bytes,
    })
}

/// `GET /stats/requests`.
pub async fn stats_requests(State(state): State<AppState>) -> Json<Value> {
    let (status, snapshot) = status_and_snapshot(state.controller());
    let recent = state
        .controller()
        .with_stats(|s| s.last_point().map(|p| (p.p50_ms, p.p95_ms)));
    let mut stats: Vec<Value> = snapshot
        .entries
        .iter()
        .take(MAX_ROWS)
        .map(|e| row(e, false))
        .collect();
    stats.push(row(&snapshot.total, true));
    let errors: Vec<Value> = snapshot
        .failures
        .iter()
        .take(MAX_ROWS)
        .map(|f| {
            json!({"method": f.method, "name": f.name, "error": f.reason, "occurrences": f.count})
        })
        .collect();
    let (p50, p95) = match recent {
        Some((p50, p95)) if snapshot.total_requests > 0 => (Value::from(p50), Value::from(p95)),
        _ => (Value::Null, Value::Null),
    };
    let mut body = json!({
        "stats": stats,
        "errors": errors,
        "total_rps": snapshot.total.current_rps,
        "total_fail_per_sec": snapshot.total.current_fail_per_sec,
        "total_avg_response_time": snapshot.total.avg_ms,
        "fail_ratio": snapshot.fail_ratio,
        "current_response_time_percentile_1": p50,
        "current_response_time_percentile_2": p95,
        "current_response_time_percentiles": {
            "response_time_percentile_0.5": p50,
            "response_time_percentile_0.95": p95,
        },
        "state": status.state,
        "user_count": status.users,
    });
    round_floats(&mut body);
    Json(body)
}
