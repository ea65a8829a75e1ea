//! What the UI shows besides "now": the next changes (stage boundaries, incident
//! windows, bursts, peaks and troughs) and a sampled curve for the chart.
//!
//! Both are bounded: at most [`MAX_CHANGES`] changes and [`MAX_CURVE_POINTS`] points
//! (a request for more widens the step), so a client cannot make the process do or
//! allocate unbounded work.

use crate::shape::diurnal::DayMark;
use crate::shape::{Base, Rate, Shape, elapsed};
use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

/// At most this many changes are listed.
pub const MAX_CHANGES: usize = 64;
/// At most this many points are sampled for a curve.
pub const MAX_CURVE_POINTS: usize = 2000;
/// How far ahead bursts are searched for the change list.
const BURST_LOOKAHEAD_HOURS: i64 = 48;

/// An upcoming change of a shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// When (virtual time).
    pub at: DateTime<Utc>,
    /// What happens.
    pub kind: ChangeKind,
    /// The shape's value from then on ([`crate::shape::Point::value`] at `at`).
    pub value: f64,
}

/// What kind of change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// A stage (or open-model ramp) starts.
    StageStart {
        /// Its index.
        index: usize,
    },
    /// The last stage of a non-repeating list is over (its value holds).
    StagesEnd,
    /// An incident window starts.
    IncidentStart {
        /// Index into [`Shape::incidents`].
        index: usize,
        /// Its name.
        name: String,
    },
    /// An incident window ends.
    IncidentEnd {
        /// Index into [`Shape::incidents`].
        index: usize,
        /// Its name.
        name: String,
    },
    /// A burst starts.
    BurstStart,
    /// A burst ends.
    BurstEnd,
    /// The day curve peaks.
    Peak,
    /// The day curve is at a trough (the night, or the dip between two peaks).
    Trough,
}

impl Shape {
    /// Up to `n` (at most [`MAX_CHANGES`]) changes strictly after `t`, in time order, each
    /// with the shape's value from then on. `origin` is the run's virtual start.
    pub fn next_changes(&self, origin: DateTime<Utc>, t: DateTime<Utc>, n: usize) -> Vec<Change> {
        let n = n.min(MAX_CHANGES);
        let mut found: Vec<(DateTime<Utc>, ChangeKind)> = Vec::new();
        if n == 0 {
            return Vec::new();
        }
        let stage_boundaries = match &self.base {
            Base::Stages(s) => Some(&s.timeline),
            Base::Open(o) => match &o.rate {
                Rate::Ramping(r) => Some(&r.timeline),
                Rate::Constant(_) => None,
            },
            _ => None,
        };
        if let Some(timeline) = stage_boundaries {
            let since = elapsed(origin, t);
            let count = timeline_len(&self.base);
            for (offset, index) in timeline.boundaries_after(since, n) {
                let Some(at) = TimeDelta::from_std(offset)
                    .ok()
                    .and_then(|d| origin.checked_add_signed(d))
                else {
                    continue;
                };
                let kind = if index >= count {
                    ChangeKind::StagesEnd
                } else {
                    ChangeKind::StageStart { index }
                };
                found.push((at, kind));
            }
        }
        if let Base::Diurnal(dc) = &self.base {
            for (at, mark) in dc.marks_after(self.timezone, t, n) {
                let kind = match mark {
                    DayMark::Peak => ChangeKind::Peak,
                    DayMark::Trough => ChangeKind::Trough,
                };
                found.push((at, kind));
            }
        }
        for (index, incident) in self.incidents.iter().enumerate() {
            for (at, start) in incident.edges_after(self.timezone, t, n) {
                let name = incident.name.clone();
                let kind = if start {
                    ChangeKind::IncidentStart { index, name }
                } else {
                    ChangeKind::IncidentEnd { index, name }
                };
                found.push((at, kind));
            }
        }
        if let Some(b) = &self.bursts {
            for (at, start) in b.edges_after(t, n, BURST_LOOKAHEAD_HOURS) {
                found.push((
                    at,
                    if start {
                        ChangeKind::BurstStart
                    } else {
                        ChangeKind::BurstEnd
                    },
                ));
            }
        }
        found.sort_by_key(|(at, _)| *at);
        found.truncate(n);
        found
            .into_iter()
            .map(|(at, kind)| Change {
                at,
                value: self.at(origin, at).value,
                kind,
            })
            .collect()
    }

    /// The value sampled from `from` to `to` (inclusive) every `step`, for a chart. When
    /// that would be more than [`MAX_CURVE_POINTS`] points the step is widened to fit.
    pub fn curve(
        &self,
        origin: DateTime<Utc>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Duration,
    ) -> Vec<(DateTime<Utc>, f64)> {
        let span = (to - from).to_std().unwrap_or(Duration::ZERO);
        let min_step = span
            .checked_div(u32::try_from(MAX_CURVE_POINTS - 1).unwrap_or(u32::MAX))
            .unwrap_or(Duration::ZERO);
        let step = step.max(min_step).max(Duration::from_millis(1));
        let Ok(step) = TimeDelta::from_std(step) else {
            return vec![(from, self.at(origin, from).value)];
        };
        let mut out = Vec::new();
        let mut at = from;
        while at <= to && out.len() < MAX_CURVE_POINTS {
            out.push((at, self.at(origin, at).value));
            match at.checked_add_signed(step) {
                Some(next) => at = next,
                None => break,
            }
        }
        out
    }
}

fn timeline_len(base: &Base) -> usize {
    match base {
        Base::Stages(s) => s.stages.len(),
        Base::Open(o) => match &o.rate {
            Rate::Ramping(r) => r.stages.len(),
            Rate::Constant(_) => 0,
        },
        _ => 0,
    }
}
