//! `GET /api/shape`, `POST /api/shape/pause` and `POST /api/shape/resume`: the load shape's
//! state (curve, now, next changes, recent incident and burst edges) and the pause/resume
//! actions. Pausing and resuming change the run, so they sit behind the same guard as
//! `/api/swarm` (read-only mode, cross-site check).

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;
use crate::views::to_rounded_value;

/// The curve's default span (virtual time): a day.
const DEFAULT_HOURS: f64 = 24.0;
/// The longest span a client may ask for: a week.
const MAX_HOURS: f64 = 168.0;

/// Query of `GET /api/shape`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ShapeQuery {
    /// Virtual hours the curve spans (a sixth before now), 0.1 to 168.
    hours: Option<f64>,
}

fn shape_json(state: &AppState, hours: f64) -> Value {
    let span = Duration::from_secs_f64(hours * 3600.0);
    match state.controller().shape_status(span) {
        Some(status) => json!({ "shape": to_rounded_value(&status) }),
        None => json!({ "shape": null }),
    }
}

/// `GET /api/shape?hours=24`: `{"shape": {...}}`, or `{"shape": null}` without a shape.
pub async fn get_shape(
    State(state): State<AppState>,
    q: Result<Query<ShapeQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = q
        .map(|Query(q)| q)
        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let hours = q.hours.unwrap_or(DEFAULT_HOURS);
    if !(hours.is_finite() && (0.1..=MAX_HOURS).contains(&hours)) {
        return Err(ApiError::BadRequest(format!(
            "hours must be a number from 0.1 to {MAX_HOURS}, got {hours}"
        )));
    }
    Ok(Json(shape_json(&state, hours)))
}

/// `POST /api/shape/pause`: users stay as they are; the shape stops steering.
pub async fn pause(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.controller().pause_shape()?;
    state.nudge();
    Ok(Json(shape_json(&state, DEFAULT_HOURS)))
}

/// `POST /api/shape/resume`: the shape steers again (or starts, the first time).
pub async fn resume(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.controller().resume_shape()?;
    state.nudge();
    Ok(Json(shape_json(&state, DEFAULT_HOURS)))
}
