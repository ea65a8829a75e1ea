//! The shape driver: makes a [`Shape`] steer the run.
//!
//! One tokio task per controller evaluates the shape at "now" and hands the result to the
//! fleet through the controller: a user count and spawn rate (closed model), an arrival
//! rate (open model), and the task mix of the active incidents. It logs every incident and
//! burst edge exactly once, and keeps a small ring of these events for the UI.
//!
//! # Time
//!
//! Real "now" is an anchor wall time plus the *tokio* clock's elapsed time since the
//! anchor, so tests with a paused tokio clock (`start_paused`) move the shape forward
//! deterministically; a [`ShapeClock`] maps real to virtual time (`--time-scale`). The
//! driver wakes at the next change of the shape (so short windows at a large time scale
//! are not skipped), and at least once a second (day curves change continuously), but not
//! more often than every [`MIN_WAIT`]. Edges are found with [`Shape::next_changes`] from the
//! last instant already handled, so a window shorter than a wake-up is still logged, once.
//!
//! # Pause rule
//!
//! The controller, not its callers, enforces "no silent fight": a hand-made swarm or stop
//! while the shape runs pauses it (visible state, time and reason) until resumed; see
//! `Controller::swarm`. The driver only steers while [`ShapeState::Running`].
//!
//! # Locks
//!
//! The driver state sits behind a `std::sync::Mutex`, never held across an `.await`. Lock
//! order: this state, then the controller's desired state (the driver applies a point
//! while holding its state, so a concurrent pause waits and its own change lands last).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cicada_engine::{Arrivals, ExtraRequest, TaskMix};
use cicada_scenario::shape::{Change, ChangeKind, Model, Point, Shape, ShapeClock};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::controller::{Controller, lock};

/// The shortest sleep between two evaluations (real time).
pub const MIN_WAIT: Duration = Duration::from_millis(50);
/// The longest sleep between two evaluations (real time).
pub const MAX_WAIT: Duration = Duration::from_secs(1);
/// Shape events (incident and burst edges) kept for the UI.
pub const MAX_EVENTS: usize = 50;
/// Edges handled per evaluation (more are caught up at the next, [`MIN_WAIT`] later).
const EDGE_BATCH: usize = 16;

/// How a shape is run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShapeOptions {
    /// Virtual seconds per real second (`--time-scale`; 1 = real time).
    pub time_scale: f64,
    /// Where virtual time starts (`None`: at the real start). Lets a demo or a test start
    /// the virtual day at a chosen instant.
    pub start_virtual: Option<DateTime<Utc>>,
}

impl Default for ShapeOptions {
    fn default() -> Self {
        ShapeOptions {
            time_scale: 1.0,
            start_virtual: None,
        }
    }
}

/// Whether the shape steers the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShapeState {
    /// The shape sets users (or arrivals) and the task mix.
    Running,
    /// Someone took over by hand, or the shape was never started: nothing is steered.
    Paused,
}

/// An incident or burst edge, as logged.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ShapeEvent {
    /// When it was handled (real time, Unix milliseconds).
    pub at: i64,
    /// When it happened in the shape's virtual time (Unix milliseconds).
    pub virtual_at: i64,
    /// `incident_start`, `incident_end`, `burst_start` or `burst_end`.
    pub kind: &'static str,
    /// The incident's name.
    pub name: Option<String>,
}

/// What was last handed to the fleet, so only changes are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum Applied {
    #[default]
    Nothing,
    Closed {
        users: u64,
        spawn_rate: f64,
    },
    Open(Arrivals),
}

pub(crate) struct DriverState {
    pub(crate) state: ShapeState,
    pub(crate) paused_since: Option<DateTime<Utc>>,
    pub(crate) paused_reason: Option<String>,
    /// Started at least once (the clock restarts at the first start).
    pub(crate) started: bool,
    pub(crate) clock: ShapeClock,
    /// Edges up to this virtual instant are handled.
    seen: DateTime<Utc>,
    applied: Applied,
    /// Incidents whose task mix is applied (the active ones while running).
    pub(crate) mixed: Vec<usize>,
    /// Bursts running at the last evaluation (0 while paused).
    pub(crate) bursts: u32,
    /// Warned once that the fleet refuses mixes / arrivals.
    warned: bool,
    pub(crate) events: VecDeque<ShapeEvent>,
}

/// A shape attached to a controller.
pub(crate) struct ShapeRun {
    pub(crate) shape: Shape,
    options: ShapeOptions,
    /// A tokio instant and the wall time it stands for.
    anchor: (Instant, DateTime<Utc>),
    pub(crate) state: Mutex<DriverState>,
    wake: Notify,
}

impl ShapeRun {
    pub(crate) fn new(shape: Shape, options: ShapeOptions) -> Result<ShapeRun, String> {
        let anchor = (Instant::now(), Utc::now());
        let clock = clock_at(anchor.1, options)?;
        Ok(ShapeRun {
            shape,
            options,
            anchor,
            state: Mutex::new(DriverState {
                state: ShapeState::Paused,
                paused_since: Some(anchor.1),
                paused_reason: Some("not started yet".to_owned()),
                started: false,
                seen: clock.origin(),
                clock,
                applied: Applied::Nothing,
                mixed: Vec::new(),
                bursts: 0,
                warned: false,
                events: VecDeque::new(),
            }),
            wake: Notify::new(),
        })
    }

    /// Real "now", on the tokio clock (see the module docs).
    pub(crate) fn wall_now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.anchor.0);
        chrono::TimeDelta::from_std(elapsed)
            .ok()
            .and_then(|d| self.anchor.1.checked_add_signed(d))
            .unwrap_or(self.anchor.1)
    }

    pub(crate) fn options(&self) -> ShapeOptions {
        self.options
    }
}

fn clock_at(wall: DateTime<Utc>, options: ShapeOptions) -> Result<ShapeClock, String> {
    ShapeClock::starting_at(
        wall,
        options.start_virtual.unwrap_or(wall),
        options.time_scale,
    )
    .map_err(|e| e.to_string())
}

/// The driver task: evaluates until `shutdown`.
pub(crate) async fn drive(run: Arc<ShapeRun>, controller: Controller, shutdown: CancellationToken) {
    loop {
        let wait = step(&run, &controller);
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            _ = run.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One evaluation: log edges, apply the point; returns how long to sleep.
pub(crate) fn step(run: &ShapeRun, controller: &Controller) -> Duration {
    let wall = run.wall_now();
    let mut st = lock(&run.state);
    let virt = st.clock.to_virtual(wall);
    if st.state != ShapeState::Running {
        st.seen = virt;
        return MAX_WAIT;
    }
    let origin = st.clock.origin();
    let changes = run.shape.next_changes(origin, st.seen, EDGE_BATCH);
    let mut behind = false;
    for change in changes.iter().filter(|c| c.at <= virt) {
        log_edge(&mut st, change, wall);
    }
    st.seen = match changes.last() {
        Some(last) if changes.len() == EDGE_BATCH && last.at <= virt => {
            behind = true;
            last.at
        }
        _ => virt,
    };
    let point = run.shape.at(origin, virt);
    apply(run, &mut st, &point, controller);
    let wait = match changes.iter().find(|c| c.at > virt) {
        _ if behind => MIN_WAIT,
        Some(next) => (st.clock.to_wall(next.at) - wall)
            .to_std()
            .unwrap_or(MIN_WAIT),
        None => MAX_WAIT,
    };
    wait.clamp(MIN_WAIT, MAX_WAIT)
}

/// Logs an incident or burst edge (once: edges are handled in order from `seen`).
fn log_edge(st: &mut DriverState, change: &Change, wall: DateTime<Utc>) {
    let (kind, name) = match &change.kind {
        ChangeKind::IncidentStart { name, .. } => {
            tracing::info!(incident = %name, virtual_time = %change.at, "incident started");
            ("incident_start", Some(name.clone()))
        }
        ChangeKind::IncidentEnd { name, .. } => {
            tracing::info!(incident = %name, virtual_time = %change.at, "incident ended");
            ("incident_end", Some(name.clone()))
        }
        ChangeKind::BurstStart => {
            tracing::info!(virtual_time = %change.at, value = change.value, "burst started");
            ("burst_start", None)
        }
        ChangeKind::BurstEnd => {
            tracing::info!(virtual_time = %change.at, value = change.value, "burst ended");
            ("burst_end", None)
        }
        other => {
            tracing::debug!(virtual_time = %change.at, change = ?other, "shape change");
            return;
        }
    };
    if st.events.len() >= MAX_EVENTS {
        st.events.pop_front();
    }
    st.events.push_back(ShapeEvent {
        at: wall.timestamp_millis(),
        virtual_at: change.at.timestamp_millis(),
        kind,
        name,
    });
}

/// Hands `point` to the fleet: only what changed since the last call.
fn apply(run: &ShapeRun, st: &mut DriverState, point: &Point, controller: &Controller) {
    let wanted = match point.model {
        Model::Closed => Applied::Closed {
            users: u64::from(point.users).min(cicada_engine::runner::MAX_USERS),
            spawn_rate: if point.spawn_rate.is_finite() && point.spawn_rate > 0.0 {
                point.spawn_rate
            } else {
                cicada_scenario::shape::DEFAULT_SPAWN_RATE
            },
        },
        Model::Open {
            iterations,
            max_users,
        } => Applied::Open(Arrivals {
            rate: point.arrivals_per_sec,
            iterations,
            max_users,
        }),
    };
    if wanted != st.applied {
        let first = st.applied == Applied::Nothing;
        let result = match wanted {
            Applied::Closed { users, spawn_rate } => {
                controller.shape_users(users, spawn_rate);
                Ok(())
            }
            Applied::Open(arrivals) => controller.shape_arrivals(arrivals, first),
            Applied::Nothing => Ok(()),
        };
        match result {
            Ok(()) => st.applied = wanted,
            Err(e) if !st.warned => {
                st.warned = true;
                tracing::warn!("the shape cannot be applied: {e}");
            }
            Err(_) => {}
        }
    }
    st.bursts = point.bursts;
    if point.active_incidents != st.mixed {
        let mix = mix_for(&run.shape, &point.active_incidents);
        match controller.fleet().set_task_mix(mix.as_ref()) {
            Ok(()) => {}
            Err(e) if !st.warned => {
                st.warned = true;
                tracing::warn!("incident effects are not applied: {e}");
            }
            Err(_) => {}
        }
        st.mixed.clone_from(&point.active_incidents);
    }
}

/// The task mix of the active incidents (`None` when they change no task).
pub(crate) fn mix_for(shape: &Shape, active: &[usize]) -> Option<TaskMix> {
    let factors: Vec<(String, f64)> = active
        .iter()
        .filter_map(|i| shape.incidents.get(*i))
        .flat_map(|inc| inc.weights.iter())
        .map(|w| (w.task.clone(), w.factor))
        .collect();
    let extras: Vec<ExtraRequest> = shape
        .extra_tasks(active)
        .map(|x| ExtraRequest {
            name: Arc::from(x.name.as_str()),
            method: x.method.clone(),
            path: x.path.clone(),
            weight: x.weight,
            user_type: x.user_type.clone(),
        })
        .collect();
    let mix = TaskMix { factors, extras };
    (!mix.is_empty()).then_some(mix)
}

/// Stops steering (a hand-made change, or the run time). Arrivals and incident mixes end
/// with it: whoever took over gets the plan as written. No-op when already paused.
pub(crate) fn pause(run: &ShapeRun, controller: &Controller, reason: &str) -> bool {
    let mut st = lock(&run.state);
    if st.state != ShapeState::Running {
        return false;
    }
    st.state = ShapeState::Paused;
    st.paused_since = Some(run.wall_now());
    st.paused_reason = Some(reason.to_owned());
    if matches!(st.applied, Applied::Open(_)) {
        let _ = controller.fleet().set_arrivals(None);
    }
    if !st.mixed.is_empty() {
        let _ = controller.fleet().set_task_mix(None);
    }
    st.applied = Applied::Nothing;
    st.mixed.clear();
    st.bursts = 0;
    tracing::info!(reason, "load shape paused");
    true
}

/// Starts (the first time: the clock starts now) or resumes steering, and applies the
/// shape at once.
pub(crate) fn resume(run: &ShapeRun, controller: &Controller) -> Result<(), String> {
    {
        let mut st = lock(&run.state);
        if st.state == ShapeState::Running {
            return Ok(());
        }
        if !st.started {
            st.clock = clock_at(run.wall_now(), run.options)?;
            st.seen = st.clock.origin();
            st.started = true;
            tracing::info!(shape = %run.shape.describe(), time_scale = run.options.time_scale, "load shape started");
        } else {
            st.seen = st.clock.to_virtual(run.wall_now());
            tracing::info!("load shape resumed");
        }
        st.state = ShapeState::Running;
        st.paused_since = None;
        st.paused_reason = None;
        st.applied = Applied::Nothing;
        st.mixed.clear();
    }
    step(run, controller);
    // A window already open at the (re)start logged no start edge: say it is on.
    let st = lock(&run.state);
    for name in st
        .mixed
        .iter()
        .filter_map(|i| run.shape.incidents.get(*i))
        .map(|i| &i.name)
    {
        tracing::info!(incident = %name, "incident in progress");
    }
    drop(st);
    run.wake.notify_one();
    Ok(())
}

#[cfg(test)]
#[path = "shape_driver_tests.rs"]
mod tests;
