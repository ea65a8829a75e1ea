//! What the API and the UI show of a running shape: its state, "now", the current point,
//! the next changes and a sampled curve. Built on request from the driver's state; every
//! list is bounded (changes by [`MAX_SHOWN_CHANGES`], the curve by [`MAX_SHOWN_POINTS`],
//! incident windows by [`MAX_SHOWN_WINDOWS`], events by [`crate::shape_driver::MAX_EVENTS`]).
//!
//! Instants are Unix milliseconds: virtual ones (`now`, `origin`, change and curve times)
//! are the shape's time, which runs `time_scale` times faster than real time.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use cicada_engine::ArrivalCounts;
use cicada_scenario::shape::{ChangeKind, Model, Shape};

use crate::controller::lock;
use crate::shape_driver::{ShapeEvent, ShapeRun, ShapeState};

/// At most this many upcoming changes are listed.
pub const MAX_SHOWN_CHANGES: usize = 20;
/// At most this many curve points are returned.
pub const MAX_SHOWN_POINTS: usize = 400;
/// The longest curve span (virtual), a week.
pub const MAX_CURVE_SPAN: Duration = Duration::from_secs(7 * 24 * 3600);
/// At most this many incident windows are returned (all incidents together).
pub const MAX_SHOWN_WINDOWS: usize = 100;
/// The share of the curve span shown before "now".
const PAST_SHARE: f64 = 1.0 / 6.0;

/// A shape's state for displays.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ShapeStatus {
    /// `running` or `paused`.
    pub state: ShapeState,
    /// When it was paused (real time, Unix milliseconds).
    pub paused_since: Option<i64>,
    /// Why it was paused.
    pub paused_reason: Option<String>,
    /// Whether it was ever started.
    pub started: bool,
    /// A one-line description.
    pub description: String,
    /// `closed` (users) or `open` (arrivals per second).
    pub model: &'static str,
    /// The shape's IANA time zone.
    pub timezone: String,
    /// Virtual seconds per real second.
    pub time_scale: f64,
    /// The virtual start of the run (stages count from it), Unix ms.
    pub origin: i64,
    /// Virtual now, Unix ms.
    pub now: i64,
    /// What the shape asks for now.
    pub point: PointView,
    /// Upcoming changes, in time order.
    pub next_changes: Vec<ChangeView>,
    /// `[virtual Unix ms, value]` pairs around now.
    pub curve: Vec<[f64; 2]>,
    /// Incident windows overlapping the curve's span, for shading it.
    pub incident_windows: Vec<IncidentWindow>,
    /// Recent incident and burst edges, oldest first.
    pub events: Vec<ShapeEvent>,
    /// Open model: arrivals admitted, dropped and active.
    pub arrivals: Option<ArrivalCounts>,
}

/// One incident window on the curve (virtual Unix ms; the end is exclusive).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IncidentWindow {
    /// The incident's name.
    pub name: String,
    /// When the window opens.
    pub start: i64,
    /// When it closes.
    pub end: i64,
}

/// [`cicada_scenario::shape::Point`] for displays.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PointView {
    /// Users (closed) or arrivals per second (open), everything included.
    pub value: f64,
    /// Target users (closed) or the concurrency cap (open).
    pub users: u32,
    /// Open: arrivals per second.
    pub arrivals_per_sec: f64,
    /// The base value before incidents and bursts.
    pub base: f64,
    /// Product of the active incidents' user factors.
    pub users_factor: f64,
    /// What running bursts add.
    pub burst_extra: f64,
    /// Bursts running.
    pub bursts: u32,
    /// Spawn rate (closed).
    pub spawn_rate: f64,
    /// Current stage index.
    pub stage: Option<usize>,
    /// Past the last stage of a non-repeating list.
    pub finished: bool,
    /// Names of the active incidents.
    pub incidents: Vec<String>,
}

/// An upcoming change.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChangeView {
    /// When, virtual Unix ms.
    pub at: i64,
    /// Real seconds from now until then.
    pub in_seconds: f64,
    /// `stage_start`, `stages_end`, `incident_start`, `incident_end`, `burst_start`,
    /// `burst_end`, `peak` or `trough`.
    pub kind: &'static str,
    /// The incident's name, or the stage index as text.
    pub name: Option<String>,
    /// The shape's value from then on.
    pub value: f64,
}

fn kind_of(kind: &ChangeKind) -> (&'static str, Option<String>) {
    match kind {
        ChangeKind::StageStart { index } => ("stage_start", Some(index.to_string())),
        ChangeKind::StagesEnd => ("stages_end", None),
        ChangeKind::IncidentStart { name, .. } => ("incident_start", Some(name.clone())),
        ChangeKind::IncidentEnd { name, .. } => ("incident_end", Some(name.clone())),
        ChangeKind::BurstStart => ("burst_start", None),
        ChangeKind::BurstEnd => ("burst_end", None),
        ChangeKind::Peak => ("peak", None),
        ChangeKind::Trough => ("trough", None),
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The status of `run`, with a curve over `span` of virtual time around now.
pub(crate) fn status(
    run: &ShapeRun,
    span: Duration,
    arrivals: Option<ArrivalCounts>,
) -> ShapeStatus {
    let wall = run.wall_now();
    let (state, paused_since, paused_reason, started, clock, events) = {
        let st = lock(&run.state);
        (
            st.state,
            st.paused_since,
            st.paused_reason.clone(),
            st.started,
            st.clock,
            st.events.iter().cloned().collect(),
        )
    };
    let shape: &Shape = &run.shape;
    let origin = clock.origin();
    let now = clock.to_virtual(wall);
    let p = shape.at(origin, now);
    let point = PointView {
        value: p.value,
        users: p.users,
        arrivals_per_sec: p.arrivals_per_sec,
        base: p.base,
        users_factor: p.users_factor,
        burst_extra: p.burst_extra,
        bursts: p.bursts,
        spawn_rate: p.spawn_rate,
        stage: p.stage,
        finished: p.finished,
        incidents: p
            .active_incidents
            .iter()
            .filter_map(|i| shape.incidents.get(*i))
            .map(|i| i.name.clone())
            .collect(),
    };
    let next_changes = shape
        .next_changes(origin, now, MAX_SHOWN_CHANGES)
        .into_iter()
        .map(|c| {
            let (kind, name) = kind_of(&c.kind);
            ChangeView {
                at: ms(c.at),
                in_seconds: (clock.to_wall(c.at) - wall).num_milliseconds() as f64 / 1000.0,
                kind,
                name,
                value: c.value,
            }
        })
        .collect();
    let span = span.clamp(Duration::from_secs(60), MAX_CURVE_SPAN);
    let before = TimeDelta::from_std(span.mul_f64(PAST_SHARE)).unwrap_or_default();
    let after = TimeDelta::from_std(span).unwrap_or_default() - before;
    let from = now.checked_sub_signed(before).unwrap_or(now);
    let to = now.checked_add_signed(after).unwrap_or(now);
    let step = span / u32::try_from(MAX_SHOWN_POINTS - 1).unwrap_or(1);
    let curve = shape
        .curve(origin, from, to, step)
        .into_iter()
        .take(MAX_SHOWN_POINTS)
        .map(|(t, v)| [ms(t) as f64, v])
        .collect();
    let mut incident_windows: Vec<IncidentWindow> = shape
        .incidents
        .iter()
        .flat_map(|incident| {
            incident
                .windows_between(shape.timezone, from, to, MAX_SHOWN_WINDOWS)
                .into_iter()
                .map(|(start, end)| IncidentWindow {
                    name: incident.name.clone(),
                    start: ms(start),
                    end: ms(end),
                })
        })
        .collect();
    incident_windows.sort_by_key(|w| w.start);
    incident_windows.truncate(MAX_SHOWN_WINDOWS);
    ShapeStatus {
        state,
        paused_since: paused_since.map(ms),
        paused_reason,
        started,
        description: shape.describe(),
        model: match p.model {
            Model::Closed => "closed",
            Model::Open { .. } => "open",
        },
        timezone: shape.timezone.name().to_owned(),
        time_scale: run.options().time_scale,
        origin: ms(origin),
        now: ms(now),
        point,
        next_changes,
        curve,
        incident_windows,
        events,
        arrivals,
    }
}
