//! The JSON documents the API answers with, built from the controller's status and a stats
//! snapshot.
//!
//! `/api/stats` uses the entry keys of the JSON report (`cicada_stats::report::json_report`),
//! plus the run's state. Floats are rounded to 6 decimals (times are microsecond-resolution
//! milliseconds anyway), which keeps the once-a-second live payload small.

use cicada_control::{Controller, RunState, ScenarioStatus, ShapeState, Status};
use cicada_engine::ArrivalCounts;
use cicada_stats::{EntrySnapshot, FailureSnapshot, Snapshot};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

/// Users per user type, serialised as a JSON object (`{"Agent": 3, ...}`; key order is not
/// significant: JSON values sort their keys).
pub(crate) struct UserTypes<'a>(pub(crate) &'a [(String, u64)]);

impl Serialize for UserTypes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, users) in self.0 {
            map.serialize_entry(name, users)?;
        }
        map.end()
    }
}

/// The run's state: the head of `GET /api/stats`, and the answer to control actions.
#[derive(Serialize)]
pub(crate) struct StatusView<'a> {
    state: RunState,
    users: u64,
    target_users: u64,
    user_types: UserTypes<'a>,
    host: &'a str,
    spawn_rate: f64,
    stops_at: Option<u64>,
    workers: usize,
    /// `running` or `paused` while a load shape is attached; `null` without one.
    shape: Option<ShapeState>,
    /// Open model: arrivals admitted, dropped, running; `null` otherwise.
    arrivals: Option<ArrivalCounts>,
    /// The shape's active incidents, by name.
    shape_incidents: &'a [String],
    /// The shape's running bursts.
    shape_bursts: u32,
    /// The scenario that runs and the outcome of the last reload.
    scenario: &'a ScenarioStatus,
}

impl<'a> StatusView<'a> {
    pub(crate) fn new(status: &'a Status) -> StatusView<'a> {
        StatusView {
            state: status.state,
            users: status.users,
            target_users: status.target_users,
            user_types: UserTypes(&status.user_types),
            host: &status.host,
            spawn_rate: status.spawn_rate,
            stops_at: status.stops_at,
            workers: status.workers,
            shape: status.shape,
            arrivals: status.arrivals,
            shape_incidents: &status.shape_incidents,
            shape_bursts: status.shape_bursts,
            scenario: &status.scenario,
        }
    }
}

/// `GET /api/stats`.
#[derive(Serialize)]
pub(crate) struct StatsView<'a> {
    #[serde(flatten)]
    status: StatusView<'a>,
    total_requests: u64,
    total_failures: u64,
    fail_ratio: f64,
    current_rps: f64,
    current_fail_per_sec: f64,
    start_time: Option<u64>,
    start_time_utc: Option<&'a str>,
    end_time: Option<u64>,
    end_time_utc: Option<&'a str>,
    duration_secs: f64,
    entries_truncated: bool,
    failures_truncated: bool,
    entries: &'a [EntrySnapshot],
    total: &'a EntrySnapshot,
    failures: &'a [FailureSnapshot],
}

impl<'a> StatsView<'a> {
    pub(crate) fn new(status: &'a Status, snapshot: &'a Snapshot) -> StatsView<'a> {
        StatsView {
            status: StatusView::new(status),
            total_requests: snapshot.total_requests,
            total_failures: snapshot.total_failures,
            fail_ratio: snapshot.fail_ratio,
            current_rps: snapshot.total.current_rps,
            current_fail_per_sec: snapshot.total.current_fail_per_sec,
            start_time: snapshot.start_time,
            start_time_utc: snapshot.start_time_utc.as_deref(),
            end_time: snapshot.end_time,
            end_time_utc: snapshot.end_time_utc.as_deref(),
            duration_secs: snapshot.duration_secs,
            entries_truncated: snapshot.entries_truncated,
            failures_truncated: snapshot.failures_truncated,
            entries: &snapshot.entries,
            total: &snapshot.total,
            failures: &snapshot.failures,
        }
    }
}

/// The controller's status as displays should show it: the engine takes a new user count on
/// a moment after `swarm` returns, so the wanted count (known at once) is the target, and a
/// run whose users differ from it is spawning.
pub(crate) fn status(controller: &Controller) -> Status {
    let mut status = controller.status();
    if let Some(wanted) = controller.wanted_users() {
        status.target_users = wanted;
        if status.users != wanted && status.state == RunState::Running {
            status.state = RunState::Spawning;
        }
    }
    status
}

/// The status and a snapshot, taken together.
pub(crate) fn status_and_snapshot(controller: &Controller) -> (Status, Snapshot) {
    let status = status(controller);
    let snapshot = controller.with_stats(|s| s.snapshot());
    (status, snapshot)
}

/// `GET /api/stats` as a JSON value.
pub(crate) fn stats_json(controller: &Controller) -> Value {
    let (status, snapshot) = status_and_snapshot(controller);
    to_rounded_value(&StatsView::new(&status, &snapshot))
}

/// Serialises `v` and rounds every float to 6 decimals.
pub(crate) fn to_rounded_value(v: &impl Serialize) -> Value {
    let mut value = serde_json::to_value(v).unwrap_or(Value::Null);
    round_floats(&mut value);
    value
}

/// Rounds every non-integer number in `v` to 6 decimals, in place.
pub(crate) fn round_floats(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                *v = Value::from(round6(f));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round_floats),
        Value::Object(map) => map.values_mut().for_each(round_floats),
        _ => {}
    }
}

/// `f` rounded to 6 decimals (non-finite values become 0).
pub(crate) fn round6(f: f64) -> f64 {
    if f.is_finite() {
        (f * 1e6).round() / 1e6
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_rounded_everywhere() {
        let mut v = serde_json::json!({"a": 0.1 + 0.2, "b": [1.23456789, 3], "c": {"d": 2.0}});
        round_floats(&mut v);
        assert_eq!(v.to_string(), r#"{"a":0.3,"b":[1.234568,3],"c":{"d":2.0}}"#);
        assert_eq!(round6(f64::NAN), 0.0);
    }

    #[test]
    fn user_types_are_an_object() {
        let types = vec![("Zed".to_string(), 2), ("Alpha".to_string(), 1)];
        let json = serde_json::to_string(&UserTypes(&types)).unwrap_or_default();
        assert_eq!(json, r#"{"Zed":2,"Alpha":1}"#);
    }
}
