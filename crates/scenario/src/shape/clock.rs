//! Time scaling: real (wall) time to the shape's virtual time and back.
//!
//! `virtual = start_virtual + (wall - start_wall) * scale`. With `scale` 1440 a virtual
//! day passes in a real minute, so stages, day curves, bursts and incident schedules all
//! run 1440 times faster, and nothing in the shape code needs to know. The virtual start
//! is normally the real start (`ShapeClock::new`), but a demo may start the virtual day
//! elsewhere (e.g. at 06:00 to show the morning ramp).

use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

/// The fastest allowed time scale (a year in about five minutes).
pub const MAX_TIME_SCALE: f64 = 100_000.0;

/// A bad time scale.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClockError {
    /// Not a number, or outside `(0, MAX_TIME_SCALE]`.
    #[error("time scale must be a number above 0 and at most {MAX_TIME_SCALE}, found `{0}`")]
    BadScale(String),
}

/// Maps real time to virtual time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapeClock {
    /// The real instant the run started.
    pub start_wall: DateTime<Utc>,
    /// The virtual instant the run started (the shape's `origin`).
    pub start_virtual: DateTime<Utc>,
    /// Virtual seconds per real second.
    pub scale: f64,
}

impl ShapeClock {
    /// A clock whose virtual time starts at the real start.
    pub fn new(start_wall: DateTime<Utc>, scale: f64) -> Result<Self, ClockError> {
        Self::starting_at(start_wall, start_wall, scale)
    }

    /// A clock whose virtual time starts at `start_virtual`.
    pub fn starting_at(
        start_wall: DateTime<Utc>,
        start_virtual: DateTime<Utc>,
        scale: f64,
    ) -> Result<Self, ClockError> {
        if scale.is_nan() || scale <= 0.0 || scale > MAX_TIME_SCALE {
            return Err(ClockError::BadScale(scale.to_string()));
        }
        Ok(ShapeClock {
            start_wall,
            start_virtual,
            scale,
        })
    }

    /// Parses a `--time-scale` value (`1440`, `60`, `0.5`).
    pub fn parse_scale(text: &str) -> Result<f64, ClockError> {
        match text.trim().parse::<f64>() {
            Ok(v) if v > 0.0 && v <= MAX_TIME_SCALE => Ok(v),
            _ => Err(ClockError::BadScale(text.to_owned())),
        }
    }

    /// The run's virtual start: the `origin` for [`crate::Shape::at`].
    pub fn origin(&self) -> DateTime<Utc> {
        self.start_virtual
    }

    /// The virtual instant at real instant `wall` (before the start maps before the
    /// virtual start). Saturates at chrono's range instead of overflowing.
    pub fn to_virtual(&self, wall: DateTime<Utc>) -> DateTime<Utc> {
        shift(
            self.start_virtual,
            scaled(wall - self.start_wall, self.scale),
        )
    }

    /// The real instant at which virtual instant `virt` happens.
    pub fn to_wall(&self, virt: DateTime<Utc>) -> DateTime<Utc> {
        shift(
            self.start_wall,
            scaled(virt - self.start_virtual, 1.0 / self.scale),
        )
    }

    /// The real time a virtual span takes (for sleeping until the next change).
    pub fn real_duration(&self, virtual_span: Duration) -> Duration {
        Duration::try_from_secs_f64(virtual_span.as_secs_f64() / self.scale)
            .unwrap_or(Duration::MAX)
    }

    /// The virtual time a real span covers.
    pub fn virtual_duration(&self, real_span: Duration) -> Duration {
        Duration::try_from_secs_f64(real_span.as_secs_f64() * self.scale).unwrap_or(Duration::MAX)
    }
}

/// `delta * factor`, in milliseconds, saturating.
fn scaled(delta: TimeDelta, factor: f64) -> TimeDelta {
    #[allow(clippy::cast_precision_loss)] // ms precision over centuries is plenty
    let ms = delta.num_milliseconds() as f64 * factor;
    // chrono's TimeDelta holds about ±292 million years of milliseconds; clamp well inside.
    const LIMIT: f64 = 9.0e15;
    #[allow(clippy::cast_possible_truncation)] // clamped just above
    let ms = ms.clamp(-LIMIT, LIMIT) as i64;
    TimeDelta::try_milliseconds(ms).unwrap_or(TimeDelta::zero())
}

fn shift(t: DateTime<Utc>, delta: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(delta)
        .unwrap_or(if delta < TimeDelta::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}
