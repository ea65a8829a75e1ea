//! Load shapes: how much traffic to send at each instant.
//!
//! A [`Shape`] is a *base* (a constant number of users, stages, a day curve, or an open
//! arrival-rate model) plus optional random [`Bursts`] on top and scheduled
//! [`Incident`]s that change the traffic on purpose. It comes from a `shape:` section of
//! the scenario file ([`crate::Scenario::shape`]) or a separate file
//! ([`crate::load_shape_file`]); the syntax is in `docs/shapes.md`.
//!
//! # Design
//!
//! * **Pure evaluation.** [`Shape::at`] is a deterministic function of the instant (and
//!   the run's start, for stages): no clock, no state, no randomness beyond the burst
//!   seed. The engine asks "what now?" on each tick; the UI asks for a sampled
//!   [`Shape::curve`] and the [`Shape::next_changes`]. Tests pin exact values.
//! * **Virtual time.** Instants are *virtual*: a [`ShapeClock`] maps real time to virtual
//!   time `scale` times faster (`--time-scale 1440`: a day in a minute), so the shape
//!   code never knows about scaling.
//! * **Local time.** The day curve, holidays and incident schedules follow the wall clock
//!   of the shape's IANA time zone (chrono-tz), so daylight saving days are right.
//! * **Bounded.** Nothing grows with time: bursts are regenerated per hour from a hash of
//!   `(seed, hour)`, stages are located by binary search and modulo, cron searches have a
//!   horizon, and the UI outputs are capped ([`MAX_CURVE_POINTS`], [`MAX_CHANGES`]).
//!   Inputs are capped too (stages, holidays, incidents, users, factors).
//!
//! # Layout
//!
//! `parse` (root keys, shared number checks) with one module per part: `stages`,
//! `diurnal` (+ `calendar` for zones, weekdays, holidays), `open`, `bursts`, `incidents`
//! (+ `cron`); `clock` maps real to virtual time; `changes` lists upcoming changes and
//! samples the curve.

mod bursts;
mod calendar;
mod changes;
mod clock;
mod cron;
mod diurnal;
mod incidents;
mod open;
pub(crate) mod parse;
mod stages;

#[cfg(test)]
mod tests;

pub use bursts::{Burst, BurstSize, Bursts, MAX_BURST_DURATION, MAX_BURSTS_PER_HOUR};
pub use calendar::{HolidayDate, Holidays};
pub use changes::{Change, ChangeKind, MAX_CHANGES, MAX_CURVE_POINTS};
pub use clock::{ClockError, MAX_TIME_SCALE, ShapeClock};
pub use cron::Cron;
pub use diurnal::Diurnal;
pub use incidents::{ExtraTask, Incident, MAX_INCIDENT_DURATION, MAX_INCIDENTS, TaskWeight};
pub use open::{ArrivalGate, ArrivalPacer, MAX_RATE, Open, Ramp, Rate, RateStage};
pub use parse::{MAX_FACTOR, MAX_SPAWN_RATE, MAX_USERS};
pub use stages::{Stage, Stages};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::time::Duration;

/// Spawn rate (users per second) when a shape does not give one (as Locust's default).
pub const DEFAULT_SPAWN_RATE: f64 = 1.0;

/// A load shape: a base plus bursts and incidents, in a time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// The zone of the day curve, holidays and incident schedules (default UTC).
    pub timezone: Tz,
    /// The base load.
    pub base: Base,
    /// Random spikes on top of the base.
    pub bursts: Option<Bursts>,
    /// Scheduled windows that change the traffic.
    pub incidents: Vec<Incident>,
}

/// The base load of a [`Shape`].
#[derive(Debug, Clone, PartialEq)]
pub enum Base {
    /// Always the same number of users.
    Constant {
        /// Target users.
        users: u32,
        /// Users started or stopped per second.
        spawn_rate: f64,
    },
    /// Stages of users, from the start of the run.
    Stages(Stages),
    /// A day curve in local time.
    Diurnal(Diurnal),
    /// Arrivals per second (open model).
    Open(Open),
}

/// Closed (a number of users) or open (arrivals per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Keep `users` users running.
    Closed,
    /// Start users at `arrivals_per_sec`, each runs `iterations` tasks and leaves; at most
    /// `max_users` at once.
    Open {
        /// Tasks per arrival.
        iterations: u32,
        /// Concurrency cap.
        max_users: u32,
    },
}

/// What a shape asks for at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Closed or open.
    pub model: Model,
    /// Everything included: users (closed) or arrivals per second (open), unrounded.
    pub value: f64,
    /// Closed: the target number of users (`value` rounded). Open: `max_users`.
    pub users: u32,
    /// Open: arrivals per second (= `value`). Closed: 0.
    pub arrivals_per_sec: f64,
    /// The base's value alone (before incidents and bursts).
    pub base: f64,
    /// The product of the active incidents' `users_factor`s (1 when none).
    pub users_factor: f64,
    /// What running bursts add (users or arrivals per second).
    pub burst_extra: f64,
    /// How many bursts are running.
    pub bursts: u32,
    /// Users to start or stop per second to reach `users` (closed; 0 for open).
    pub spawn_rate: f64,
    /// The current stage (stages, open ramps).
    pub stage: Option<usize>,
    /// Past the last stage of a non-repeating list (its value holds; the engine may stop).
    pub finished: bool,
    /// Indexes into [`Shape::incidents`] of the active ones (at most [`MAX_INCIDENTS`]).
    pub active_incidents: Vec<usize>,
}

/// Time since the run's (virtual) start; instants before it count as the start.
pub(crate) fn elapsed(origin: DateTime<Utc>, t: DateTime<Utc>) -> Duration {
    (t - origin).to_std().unwrap_or(Duration::ZERO)
}

impl Shape {
    /// The load at virtual instant `t` of a run that started at virtual instant `origin`
    /// (stages and ramps count from `origin`; day curves, incidents and bursts follow `t`).
    pub fn at(&self, origin: DateTime<Utc>, t: DateTime<Utc>) -> Point {
        let since = elapsed(origin, t);
        let (model, base, mut spawn_rate, stage, finished) = match &self.base {
            Base::Constant { users, spawn_rate } => {
                (Model::Closed, f64::from(*users), *spawn_rate, None, false)
            }
            Base::Stages(s) => {
                let at = s.timeline.locate(since);
                let stage = s.stages.get(at.index);
                (
                    Model::Closed,
                    stage.map_or(0.0, |s| f64::from(s.users)),
                    stage.map_or(DEFAULT_SPAWN_RATE, |s| s.spawn_rate),
                    Some(at.index),
                    at.finished,
                )
            }
            Base::Diurnal(dc) => (
                Model::Closed,
                dc.users_at(self.timezone, t),
                dc.spawn_rate,
                None,
                false,
            ),
            Base::Open(o) => {
                let (rate, stage, finished) = o.rate_at(since);
                let model = Model::Open {
                    iterations: o.iterations,
                    max_users: o.max_users,
                };
                (model, rate, 0.0, stage, finished)
            }
        };
        let mut active_incidents = Vec::new();
        let mut users_factor = 1.0;
        for (i, incident) in self.incidents.iter().enumerate() {
            if incident.is_active(self.timezone, t) {
                active_incidents.push(i);
                users_factor *= incident.users_factor;
            }
        }
        let (burst_extra, bursts) = self
            .bursts
            .as_ref()
            .map_or((0.0, 0), |b| b.extra_at(t, base));
        if bursts > 0
            && model == Model::Closed
            && let Some(r) = self.bursts.as_ref().and_then(|b| b.spawn_rate)
        {
            spawn_rate = spawn_rate.max(r);
        }
        let value = (base * users_factor + burst_extra).max(0.0);
        let (users, arrivals_per_sec) = match model {
            Model::Closed => (round_users(value), 0.0),
            Model::Open { max_users, .. } => (max_users, value.min(MAX_RATE)),
        };
        Point {
            model,
            value,
            users,
            arrivals_per_sec,
            base,
            users_factor,
            burst_extra,
            bursts,
            spawn_rate,
            stage,
            finished,
            active_incidents,
        }
    }

    /// The load at real instant `wall` of a run timed by `clock` (scaled time):
    /// `self.at(clock.origin(), clock.to_virtual(wall))`.
    pub fn at_wall(&self, clock: &ShapeClock, wall: DateTime<Utc>) -> Point {
        self.at(clock.origin(), clock.to_virtual(wall))
    }

    /// Whether this is an open (arrival-rate) shape.
    pub fn is_open(&self) -> bool {
        matches!(self.base, Base::Open(_))
    }

    /// The weight multiplier the active incidents put on task `task` (1 when none does).
    pub fn weight_factor(&self, active: &[usize], task: &str) -> f64 {
        active
            .iter()
            .filter_map(|i| self.incidents.get(*i))
            .flat_map(|inc| inc.weights.iter())
            .filter(|w| w.task == task)
            .map(|w| w.factor)
            .product()
    }

    /// The extra tasks of the active incidents.
    pub fn extra_tasks<'a>(&'a self, active: &'a [usize]) -> impl Iterator<Item = &'a ExtraTask> {
        active
            .iter()
            .filter_map(|i| self.incidents.get(*i))
            .filter_map(|inc| inc.extra_task.as_ref())
    }

    /// Checks the task and user type names its incidents use against `scenario` (needed
    /// for a shape loaded from its own file; a `shape:` section is checked on load).
    /// `origin` names the shape file in the diagnostics.
    pub fn check_names(
        &self,
        scenario: &crate::Scenario,
        origin: &str,
    ) -> Result<(), crate::LoadError> {
        let mut d = crate::diagnostics::Diags::new(origin);
        let names: Vec<&str> = scenario
            .user_types
            .iter()
            .map(|u| u.name.as_str())
            .collect();
        let tasks: Vec<&str> = scenario
            .user_types
            .iter()
            .flat_map(|u| u.tasks.iter().map(|t| t.name.as_str()))
            .collect();
        parse::check_names(&mut d, self, &names, &tasks);
        if d.is_empty() {
            Ok(())
        } else {
            Err(d.into_error(""))
        }
    }

    /// A one-line description for `cicada validate` and logs.
    pub fn describe(&self) -> String {
        let base = match &self.base {
            Base::Constant { users, spawn_rate } => {
                format!("constant {users} users (spawn rate {spawn_rate}/s)")
            }
            Base::Stages(s) => format!(
                "{} stage(s){}",
                s.stages.len(),
                if s.repeat { ", repeating" } else { "" }
            ),
            Base::Diurnal(dc) => format!(
                "diurnal {}..{} users, {} peak(s)",
                dc.min_users,
                dc.max_users,
                dc.peaks.len()
            ),
            Base::Open(o) => match &o.rate {
                Rate::Constant(r) => format!("open {r} arrivals/s, at most {} users", o.max_users),
                Rate::Ramping(r) => format!(
                    "open, {} ramp stage(s), at most {} users",
                    r.stages.len(),
                    o.max_users
                ),
            },
        };
        let mut out = format!("{base}, time zone {}", self.timezone.name());
        if let Some(b) = &self.bursts {
            out.push_str(&format!(", bursts {}/h", b.per_hour));
        }
        if !self.incidents.is_empty() {
            out.push_str(&format!(", {} incident(s)", self.incidents.len()));
        }
        out
    }
}

/// Rounds a user count to the nearest whole number (saturating).
fn round_users(v: f64) -> u32 {
    let r = v.round();
    if r.is_nan() || r <= 0.0 {
        0
    } else if r >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // range checked
        let u = r as u32;
        u
    }
}
