//! Start/edit requests: parsing and validation of `POST /api/swarm` (JSON) and Locust's
//! `POST /swarm` (form), then one call to the controller.
//!
//! Everything is checked before the controller is called, so a bad request leaves the running
//! swarm untouched. The messages name the field and say what was expected.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cicada_control::{Controller, RunState, SwarmRequest};
use serde_json::{Map, Value};
use url::Url;

use crate::error::ApiError;

/// Fields `POST /api/swarm` accepts.
const FIELDS: [&str; 4] = ["users", "spawn_rate", "host", "run_time"];

/// What to do with the run time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RunTime {
    /// Not given: keep the running swarm's remaining run time (none when starting).
    Keep,
    /// `null` or `""`: run until stopped.
    Clear,
    /// Stop this long from now.
    Set(Duration),
}

/// A validated start/edit request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SwarmInput {
    pub(crate) users: u64,
    pub(crate) spawn_rate: f64,
    /// `None`: keep the current host.
    pub(crate) host: Option<Url>,
    pub(crate) run_time: RunTime,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// Parses a run time: `30s`, `5m`, `1h30m`, or a number of seconds.
pub(crate) fn parse_run_time(text: &str) -> Result<Duration, ApiError> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs > 0.0 && secs < 1e12 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(bad(format!(
            "run_time must be a positive duration, got `{t}`"
        )));
    }
    match humantime::parse_duration(t) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(bad(format!(
            "run_time `{t}` is not a duration (expected e.g. 30s, 5m, 1h30m or a number of seconds)"
        ))),
    }
}

/// Parses a target host: an http(s) URL with a host.
pub(crate) fn parse_host(text: &str) -> Result<Url, ApiError> {
    let t = text.trim();
    // Before anything echoes `t`: it holds a password.
    if cicada_scenario::host_has_credentials(t) {
        return Err(bad(cicada_scenario::HOST_CREDENTIALS_MESSAGE.to_owned()));
    }
    let url = Url::parse(t).map_err(|e| {
        bad(format!(
            "host `{t}` is not a URL ({e}); expected e.g. http://10.0.0.5:8080"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad(format!(
            "host `{t}` must be an http:// or https:// URL with a host"
        )));
    }
    Ok(url)
}

fn parse_users(text: &str) -> Result<u64, ApiError> {
    text.trim().parse::<u64>().map_err(|_| {
        bad(format!(
            "users must be a whole number of users (0 or more), got `{}`",
            text.trim()
        ))
    })
}

fn check_rate(rate: f64, shown: &str) -> Result<f64, ApiError> {
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(bad(format!(
            "spawn_rate must be a positive number of users per second, got `{shown}`"
        )))
    }
}

fn parse_rate(text: &str) -> Result<f64, ApiError> {
    let t = text.trim();
    let rate = t.parse::<f64>().map_err(|_| {
        bad(format!(
            "spawn_rate must be a positive number of users per second, got `{t}`"
        ))
    })?;
    check_rate(rate, t)
}

impl SwarmInput {
    /// From the JSON body of `POST /api/swarm`.
    pub(crate) fn from_json(body: &[u8]) -> Result<SwarmInput, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(bad(
                "the body must be a JSON object like {\"users\": 10, \"spawn_rate\": 2}",
            ));
        };
        Self::from_map(&map)
    }

    fn from_map(map: &Map<String, Value>) -> Result<SwarmInput, ApiError> {
        if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(bad(format!(
                "unknown field `{unknown}` (expected users, spawn_rate, host, run_time)"
            )));
        }
        let users = match map.get("users") {
            None => return Err(bad("users is required")),
            Some(v) => v.as_u64().ok_or_else(|| {
                bad(format!(
                    "users must be a whole number of users (0 or more), got {v}"
                ))
            })?,
        };
        let spawn_rate = match map.get("spawn_rate") {
            None => return Err(bad("spawn_rate is required")),
            Some(v) => {
                let rate = v.as_f64().ok_or_else(|| {
                    bad(format!(
                        "spawn_rate must be a positive number of users per second, got {v}"
                    ))
                })?;
                check_rate(rate, &v.to_string())?
            }
        };
        let host = match map.get("host") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(parse_host(s)?),
            Some(v) => return Err(bad(format!("host must be a string URL, got {v}"))),
        };
        let run_time = match map.get("run_time") {
            None => RunTime::Keep,
            Some(Value::Null) => RunTime::Clear,
            Some(Value::String(s)) if s.trim().is_empty() => RunTime::Clear,
            Some(Value::String(s)) => RunTime::Set(parse_run_time(s)?),
            Some(v @ Value::Number(_)) => RunTime::Set(parse_run_time(&v.to_string())?),
            Some(v) => {
                return Err(bad(format!(
                    "run_time must be a duration string (e.g. \"30m\") or seconds, got {v}"
                )));
            }
        };
        Ok(SwarmInput {
            users,
            spawn_rate,
            host,
            run_time,
        })
    }

    /// From Locust's form (`user_count`, `spawn_rate`, `host`, `run_time`). Locust ignores
    /// fields it does not know (its form carries UI-only extras), and so do we.
    pub(crate) fn from_form(fields: &[(String, String)]) -> Result<SwarmInput, ApiError> {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let users = parse_users(get("user_count").ok_or_else(|| bad("user_count is required"))?)?;
        let spawn_rate =
            parse_rate(get("spawn_rate").ok_or_else(|| bad("spawn_rate is required"))?)?;
        let host = match get("host").map(str::trim) {
            None | Some("") => None,
            Some(h) => Some(parse_host(h)?),
        };
        let run_time = match get("run_time").map(str::trim) {
            None | Some("") => RunTime::Clear,
            Some(t) => RunTime::Set(parse_run_time(t)?),
        };
        Ok(SwarmInput {
            users,
            spawn_rate,
            host,
            run_time,
        })
    }

    /// Starts or edits the swarm.
    pub(crate) fn apply(self, controller: &Controller) -> Result<(), ApiError> {
        let run_time = match self.run_time {
            RunTime::Set(d) => Some(d),
            RunTime::Clear => None,
            RunTime::Keep => remaining_run_time(controller),
        };
        controller.swarm(SwarmRequest {
            users: self.users,
            spawn_rate: self.spawn_rate,
            host: self.host,
            run_time,
        })?;
        Ok(())
    }
}

/// The running swarm's remaining run time, so that editing users does not drop it.
fn remaining_run_time(controller: &Controller) -> Option<Duration> {
    let status = controller.status();
    if !matches!(status.state, RunState::Spawning | RunState::Running) {
        return None;
    }
    let stops_at = UNIX_EPOCH + Duration::from_secs(status.stops_at?);
    // Already due: let the aggregator stop it at its next tick.
    Some(
        stops_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::from_millis(1))
            .max(Duration::from_millis(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Result<SwarmInput, String> {
        SwarmInput::from_json(s.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn json_bodies() {
        let ok = json(r#"{"users": 10, "spawn_rate": 2.5}"#).unwrap();
        assert_eq!((ok.users, ok.spawn_rate), (10, 2.5));
        assert_eq!((ok.host, ok.run_time), (None, RunTime::Keep));

        let full = json(
            r#"{"users": 1, "spawn_rate": 1, "host": "http://10.0.0.5:80", "run_time": "1m30s"}"#,
        )
        .unwrap();
        assert_eq!(full.host.unwrap().as_str(), "http://10.0.0.5/");
        assert_eq!(full.run_time, RunTime::Set(Duration::from_secs(90)));
        let secs = json(r#"{"users": 1, "spawn_rate": 1, "run_time": 20}"#).unwrap();
        assert_eq!(secs.run_time, RunTime::Set(Duration::from_secs(20)));
        let clear = json(r#"{"users": 1, "spawn_rate": 1, "run_time": null, "host": ""}"#).unwrap();
        assert_eq!((clear.run_time, clear.host), (RunTime::Clear, None));
    }

    #[test]
    fn bad_json_bodies_name_the_problem() {
        let cases = [
            ("", "not valid JSON"),
            ("[1]", "must be a JSON object"),
            (
                r#"{"users": -1, "spawn_rate": 1}"#,
                "users must be a whole number",
            ),
            (
                r#"{"users": "ten", "spawn_rate": 1}"#,
                "users must be a whole number",
            ),
            (
                r#"{"users": 1.5, "spawn_rate": 1}"#,
                "users must be a whole number",
            ),
            (r#"{"spawn_rate": 1}"#, "users is required"),
            (r#"{"users": 1}"#, "spawn_rate is required"),
            (
                r#"{"users": 1, "spawn_rate": 0}"#,
                "spawn_rate must be a positive",
            ),
            (
                r#"{"users": 1, "spawn_rate": -2}"#,
                "spawn_rate must be a positive",
            ),
            (
                r#"{"users": 1, "spawn_rate": "fast"}"#,
                "spawn_rate must be a positive",
            ),
            (
                r#"{"users": 1, "spawn_rate": 1, "colour": 1}"#,
                "unknown field `colour`",
            ),
            (
                r#"{"users": 1, "spawn_rate": 1, "host": "ftp://x"}"#,
                "http:// or https://",
            ),
            (
                r#"{"users": 1, "spawn_rate": 1, "host": 5}"#,
                "host must be a string",
            ),
            (
                r#"{"users": 1, "spawn_rate": 1, "run_time": "soon"}"#,
                "not a duration",
            ),
            (
                r#"{"users": 1, "spawn_rate": 1, "run_time": 0}"#,
                "positive duration",
            ),
            (
                r#"{"users": 1, "spawn_rate": 1, "run_time": true}"#,
                "run_time must be",
            ),
        ];
        for (body, expected) in cases {
            let err = json(body).unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn locust_forms() {
        let form = |pairs: &[(&str, &str)]| {
            let v: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            SwarmInput::from_form(&v).map_err(|e| e.to_string())
        };
        let ok = form(&[
            ("user_count", "5"),
            ("spawn_rate", "2"),
            ("host", ""),
            ("extra", "x"),
        ])
        .unwrap();
        assert_eq!((ok.users, ok.spawn_rate, ok.host), (5, 2.0, None));
        assert_eq!(ok.run_time, RunTime::Clear);
        let err = form(&[
            ("user_count", "1"),
            ("spawn_rate", "1"),
            ("host", "http://alice:hunter22@127.0.0.1:8080"),
        ])
        .unwrap_err();
        assert!(
            err.contains(cicada_scenario::HOST_CREDENTIALS_MESSAGE),
            "{err}"
        );
        assert!(!err.contains("hunter22"), "{err}");
        let err = form(&[("user_count", "-3"), ("spawn_rate", "1")]).unwrap_err();
        assert!(err.contains("users must be a whole number"), "{err}");
        let err = form(&[("user_count", "3"), ("spawn_rate", "0")]).unwrap_err();
        assert!(err.contains("spawn_rate"), "{err}");
        let err = form(&[("spawn_rate", "1")]).unwrap_err();
        assert!(err.contains("user_count is required"), "{err}");
    }
}
