//! Incidents: scheduled windows that change the traffic on purpose, so that anomaly
//! detection downstream has something to find.
//!
//! Each incident fires on a cron schedule (in the shape's time zone) and lasts
//! `duration`. While it is active its effects apply: a factor on users (or arrival rate),
//! multipliers on task weights by task name, and an extra task the engine runs with some
//! weight (typically one that produces errors). The effects are plain data; the engine
//! applies them. Whether an incident is active at `t` is a pure function of `t`: the last
//! firing at or before `t` is searched within the last `duration`.

use crate::diagnostics::{Diags, Pos};
use crate::shape::cron::Cron;
use crate::shape::parse::{MAX_FACTOR, factor};
use crate::wait::positive_duration;
use crate::yaml::{self, Fields, Node};
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use std::time::Duration;

/// At most this many incidents in a shape.
pub const MAX_INCIDENTS: usize = 64;
/// The longest an incident window may last.
pub const MAX_INCIDENT_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A scheduled window with effects.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Unique name, for logs and the UI.
    pub name: String,
    /// When windows start.
    pub schedule: Cron,
    /// How long each window lasts.
    pub duration: Duration,
    /// Multiplies users (closed) or arrivals per second (open) while active.
    pub users_factor: f64,
    /// Task weight multipliers by task name.
    pub weights: Vec<TaskWeight>,
    /// A task added while active.
    pub extra_task: Option<ExtraTask>,
}

/// `weights: { "Create quote": 5 }`: multiply a task's weight (in every user type that has
/// a task of that name).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskWeight {
    /// The task name.
    pub task: String,
    /// The multiplier (0 disables the task while the incident lasts).
    pub factor: f64,
    pub(crate) pos: Pos,
}

/// A task the engine adds while an incident is active: one request, picked with `weight`
/// against the user type's task weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTask {
    /// Stats name.
    pub name: String,
    /// The method.
    pub method: http::Method,
    /// The path (joined with the host), e.g. `/api/v1/broken`.
    pub path: String,
    /// Weight among the user type's tasks.
    pub weight: u32,
    /// Only users of this type run it (default: every type).
    pub user_type: Option<String>,
    pub(crate) user_type_pos: Pos,
}

impl Incident {
    /// The start of the window active at `t`, if one is.
    pub fn window_at(&self, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let len = TimeDelta::from_std(self.duration).ok()?;
        let start = self.schedule.last_at_or_before(tz, t, len)?;
        (t < start.checked_add_signed(len)?).then_some(start)
    }

    /// Whether a window is active at `t`.
    pub fn is_active(&self, tz: Tz, t: DateTime<Utc>) -> bool {
        self.window_at(tz, t).is_some()
    }

    /// The windows (start, end) that overlap `[from, to)`, in order, at most `max` of them:
    /// the one active at `from` (if any), then those starting before `to`. For shading a
    /// curve.
    pub fn windows_between(
        &self,
        tz: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: usize,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        let Ok(len) = TimeDelta::from_std(self.duration) else {
            return out;
        };
        let mut start = self
            .window_at(tz, from)
            .or_else(|| self.schedule.next_after(tz, from));
        while let Some(s) = start.filter(|s| *s < to && out.len() < max) {
            let Some(end) = s.checked_add_signed(len) else {
                break;
            };
            out.push((s, end));
            start = self.schedule.next_after(tz, s);
        }
        out
    }

    /// Up to `n` window starts and ends strictly after `t`, in order (`true` = start).
    pub(crate) fn edges_after(
        &self,
        tz: Tz,
        t: DateTime<Utc>,
        n: usize,
    ) -> Vec<(DateTime<Utc>, bool)> {
        let mut out = Vec::new();
        let Ok(len) = TimeDelta::from_std(self.duration) else {
            return out;
        };
        if let Some(end) = self
            .window_at(tz, t)
            .and_then(|s| s.checked_add_signed(len))
        {
            out.push((end, false));
        }
        let mut from = t;
        while out.len() < n.saturating_mul(2) {
            let Some(start) = self.schedule.next_after(tz, from) else {
                break;
            };
            out.push((start, true));
            if let Some(end) = start.checked_add_signed(len) {
                out.push((end, false));
            }
            from = start;
        }
        out.sort_by_key(|(at, _)| *at);
        out.truncate(n);
        out
    }
}

const KEYS: &[&str] = &[
    "name",
    "cron",
    "duration",
    "users_factor",
    "weights",
    "extra_task",
];
const TASK_KEYS: &[&str] = &["name", "method", "path", "weight", "user_type"];

/// Parses `incidents:` (a list).
pub(crate) fn parse_incidents(d: &mut Diags, node: &Node) -> Vec<Incident> {
    let items = yaml::list(d, node, "`incidents`");
    if items.len() > MAX_INCIDENTS {
        d.error(
            node.pos,
            format!("at most {MAX_INCIDENTS} incidents are allowed"),
        );
        return Vec::new();
    }
    let mut out: Vec<Incident> = Vec::with_capacity(items.len());
    for item in items {
        if let Some(i) = parse_incident(d, item) {
            if out.iter().any(|o| o.name == i.name) {
                d.error(item.pos, format!("duplicate incident name `{}`", i.name));
            }
            out.push(i);
        }
    }
    out
}

fn parse_incident(d: &mut Diags, node: &Node) -> Option<Incident> {
    let f = Fields::new(d, node, "an incident", KEYS)?;
    let mut need = |key: &str, what: &str| {
        let n = f.get(key);
        if n.is_none() && !f.unknown {
            d.error(node.pos, format!("an incident needs `{key}` ({what})"));
        }
        n
    };
    let name_node = need("name", "a name for logs and the UI");
    let cron_node = need("cron", "when it starts, e.g. \"0 14 * * mon-fri\"");
    let duration_node = need("duration", "how long it lasts, e.g. `15m`");
    let name = name_node.and_then(|n| yaml::text(d, n, "the incident name"));
    let schedule = cron_node.and_then(|n| {
        let text = yaml::string(d, n, "`cron` (5 fields: minute hour day month weekday)")?;
        Cron::parse(&text).map_err(|e| d.error(n.pos, e)).ok()
    });
    let duration = duration_node.and_then(|n| {
        let v = positive_duration(d, n, "the incident `duration`")?;
        if v > MAX_INCIDENT_DURATION {
            d.error(n.pos, "an incident lasts at most 7 days");
            return None;
        }
        Some(v)
    });
    let users_factor = match f.get("users_factor") {
        Some(n) => factor(d, n, "`users_factor`"),
        None => Some(1.0),
    };
    let weights = match f.get("weights") {
        Some(n) => {
            let mut out = Vec::new();
            for (task, key, value) in yaml::entries(d, n, "`weights` (task name: multiplier)") {
                if let Some(factor) = factor(d, value, "a weight multiplier") {
                    out.push(TaskWeight {
                        task,
                        factor,
                        pos: key.pos,
                    });
                }
            }
            Some(out)
        }
        None => Some(Vec::new()),
    };
    let extra_task = match f.get("extra_task") {
        Some(n) => Some(parse_extra_task(d, n)?),
        None => None,
    };
    let (name, users_factor, weights) = (name?, users_factor?, weights?);
    let inert =
        (users_factor - 1.0).abs() < f64::EPSILON && weights.is_empty() && extra_task.is_none();
    if inert {
        d.error(
            node.pos,
            format!("incident `{name}` changes nothing: give it `users_factor`, `weights` or `extra_task` (factors up to {MAX_FACTOR})"),
        );
    }
    Some(Incident {
        name,
        schedule: schedule?,
        duration: duration?,
        users_factor,
        weights,
        extra_task,
    })
}

fn parse_extra_task(d: &mut Diags, node: &Node) -> Option<ExtraTask> {
    let f = Fields::new(d, node, "`extra_task`", TASK_KEYS)?;
    let name = match f.get("name") {
        Some(n) => yaml::text(d, n, "the task name"),
        None => {
            d.error(node.pos, "`extra_task` needs a `name`");
            None
        }
    };
    let path = match f.get("path") {
        Some(n) => yaml::string(d, n, "`path`").filter(|p| {
            let ok = p.starts_with('/');
            if !ok {
                d.error(n.pos, "`path` must start with `/`, e.g. `/api/v1/broken`");
            }
            ok
        }),
        None => {
            d.error(node.pos, "`extra_task` needs a `path`");
            None
        }
    };
    let method = match f.get("method") {
        Some(n) => yaml::string(d, n, "`method`").and_then(|m| {
            let upper = m.trim().to_ascii_uppercase();
            let ok = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                .contains(&upper.as_str());
            if !ok {
                d.error(
                    n.pos,
                    format!(
                        "unknown method `{m}`; use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS"
                    ),
                );
                return None;
            }
            upper.parse::<http::Method>().ok()
        }),
        None => Some(http::Method::GET),
    };
    let weight = match f.get("weight") {
        Some(n) => yaml::u32_value(d, n, "`weight`"),
        None => Some(1),
    };
    let (user_type, user_type_pos) = match f.get("user_type") {
        Some(n) => (yaml::text(d, n, "`user_type`"), n.pos),
        None => (None, node.pos),
    };
    Some(ExtraTask {
        name: name?,
        method: method?,
        path: path?,
        weight: weight?,
        user_type,
        user_type_pos,
    })
}
