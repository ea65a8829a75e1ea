//! The open model: users *arrive* at a rate (per second) whatever the system's speed, run a
//! few tasks and leave, as k6's `constant-arrival-rate` and `ramping-arrival-rate`
//! executors do. Concurrency is capped by `max_users`; an arrival that finds the cap
//! reached is dropped and counted ([`ArrivalGate`]), like k6's `dropped_iterations`.
//!
//! The ramping rate is linear within each stage, from the previous stage's rate (or
//! `start_rate` for the first) to the stage's `rate`, so it is continuous.

use crate::diagnostics::Diags;
use crate::shape::stages::{MAX_STAGES, Timeline};
use crate::wait::positive_duration;
use crate::yaml::{self, Fields, Node};
use std::time::Duration;

/// The highest arrival rate, per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// One ramping stage: reach `rate` arrivals/s at the end of `duration`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateStage {
    /// How long the ramp lasts.
    pub duration: Duration,
    /// Arrivals per second at the end of the stage.
    pub rate: f64,
}

/// The arrival rate over time.
#[derive(Debug, Clone, PartialEq)]
pub enum Rate {
    /// Always the same rate.
    Constant(f64),
    /// Linear ramps from stage to stage.
    Ramping(Ramp),
}

/// Ramping arrival rate (k6 `ramping-arrival-rate`).
#[derive(Debug, Clone, PartialEq)]
pub struct Ramp {
    /// The rate at the start of the first stage.
    pub start_rate: f64,
    /// The ramps (at least one).
    pub stages: Vec<RateStage>,
    /// Start over after the last stage (otherwise its rate holds).
    pub repeat: bool,
    pub(crate) timeline: Timeline,
}

impl Ramp {
    /// A ramp; `None` without stages or with a zero-length stage.
    pub fn new(start_rate: f64, stages: Vec<RateStage>, repeat: bool) -> Option<Self> {
        let timeline = Timeline::new(stages.iter().map(|s| s.duration), repeat)?;
        Some(Ramp {
            start_rate,
            stages,
            repeat,
            timeline,
        })
    }
}

/// `open:`: an arrival-rate (open) model.
#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    /// Arrivals per second over time.
    pub rate: Rate,
    /// At most this many arrived users at once; further arrivals are dropped.
    pub max_users: u32,
    /// Tasks one arrival runs (picked as usual for its user type) before it leaves.
    pub iterations: u32,
}

impl Open {
    /// Arrivals per second `elapsed` after the start, the stage index and whether a
    /// non-repeating ramp is over.
    pub(crate) fn rate_at(&self, elapsed: Duration) -> (f64, Option<usize>, bool) {
        match &self.rate {
            Rate::Constant(r) => (*r, None, false),
            Rate::Ramping(Ramp {
                start_rate,
                stages,
                timeline,
                ..
            }) => {
                let at = timeline.locate(elapsed);
                let Some(stage) = stages.get(at.index) else {
                    return (*start_rate, None, at.finished);
                };
                if at.finished {
                    return (stage.rate, Some(at.index), true);
                }
                let from = at
                    .index
                    .checked_sub(1)
                    .and_then(|i| stages.get(i))
                    .map_or(*start_rate, |s| s.rate);
                let share = at.offset.as_secs_f64() / stage.duration.as_secs_f64().max(1e-9);
                (
                    from + (stage.rate - from) * share.clamp(0.0, 1.0),
                    Some(at.index),
                    false,
                )
            }
        }
    }
}

/// Admission for open-model arrivals: at most `max` users at once; the rest are dropped
/// and counted. The engine owns one and calls [`ArrivalGate::arrive`] per arrival and
/// [`ArrivalGate::leave`] when an arrived user is done. Counters saturate, never wrap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArrivalGate {
    max: u32,
    active: u32,
    arrived: u64,
    dropped: u64,
}

impl ArrivalGate {
    /// A gate admitting at most `max_users` at once.
    pub fn new(max_users: u32) -> Self {
        ArrivalGate {
            max: max_users,
            ..ArrivalGate::default()
        }
    }

    /// One arrival: `true` if admitted (a user starts), `false` if dropped.
    pub fn arrive(&mut self) -> bool {
        if self.active >= self.max {
            self.dropped = self.dropped.saturating_add(1);
            return false;
        }
        self.active += 1;
        self.arrived = self.arrived.saturating_add(1);
        true
    }

    /// An admitted user left.
    pub fn leave(&mut self) {
        self.active = self.active.saturating_sub(1);
    }

    /// Changes the cap (a new shape); users above it finish normally.
    pub fn set_max(&mut self, max_users: u32) {
        self.max = max_users;
    }

    /// Users currently admitted.
    pub fn active(&self) -> u32 {
        self.active
    }

    /// Arrivals admitted so far.
    pub fn arrived(&self) -> u64 {
        self.arrived
    }

    /// Arrivals dropped so far because the cap was reached.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Turns an arrival rate into whole arrivals tick by tick, keeping the fraction: at
/// 0.3 arrivals/s and a 1 s tick, arrivals come on the 4th, 7th, 10th ... tick instead of
/// never (rounding each tick) or in lumps. The engine calls [`ArrivalPacer::due`] each
/// tick with the current rate and the (virtual) time since the last call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ArrivalPacer {
    carry: f64,
}

impl ArrivalPacer {
    /// A pacer with nothing carried over.
    pub fn new() -> Self {
        ArrivalPacer::default()
    }

    /// Arrivals due for `rate` per second over `elapsed`. A long stall yields at most
    /// one second's worth plus one (the rest is skipped, not queued, so a paused process
    /// does not come back with a flood), and a bad rate counts as 0.
    pub fn due(&mut self, rate: f64, elapsed: Duration) -> u64 {
        let rate = if rate.is_finite() {
            rate.clamp(0.0, MAX_RATE)
        } else {
            0.0
        };
        let owed = self.carry + rate * elapsed.as_secs_f64();
        let owed = owed.min(rate + 1.0);
        // The epsilon absorbs binary rounding (ten ticks of 0.3 sum to 2.9999999999999996).
        let whole = (owed + 1e-9).floor();
        self.carry = (owed - whole).max(0.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=MAX_RATE+1
        let n = whole as u64;
        n
    }
}

const KEYS: &[&str] = &[
    "rate",
    "start_rate",
    "stages",
    "repeat",
    "max_users",
    "iterations",
];

/// Parses `open:`.
pub(crate) fn parse_open(d: &mut Diags, node: &Node) -> Option<Open> {
    let f = Fields::new(d, node, "`open`", KEYS)?;
    let rate = if !f.exactly_one(
        d,
        &["rate", "stages"],
        "`open` needs exactly one of `rate` (arrivals per second) or `stages` (ramps)",
    ) {
        None
    } else if let Some(n) = f.get("rate") {
        for key in ["start_rate", "repeat"] {
            if let Some(p) = f.key_pos(key) {
                d.error(p, format!("`{key}` only applies with `stages`"));
            }
        }
        rate(d, n, "`rate`").map(Rate::Constant)
    } else {
        let n = f.get("stages")?;
        let start_rate = f
            .get("start_rate")
            .map_or(Some(0.0), |n| rate(d, n, "`start_rate`"));
        let repeat = f
            .get("repeat")
            .map_or(Some(false), |n| yaml::boolean(d, n, "`repeat`"));
        let stages = parse_rate_stages(d, n);
        let (start_rate, repeat, stages) = (start_rate?, repeat?, stages?);
        let Some(ramp) = Ramp::new(start_rate, stages, repeat) else {
            d.error(n.pos, "the stages are too long in total");
            return None;
        };
        Some(Rate::Ramping(ramp))
    };
    let max_users = match f.get("max_users") {
        Some(n) => crate::shape::parse::users(d, n, "`max_users`").filter(|m| {
            if *m == 0 {
                d.error(n.pos, "`max_users` must be at least 1");
            }
            *m > 0
        }),
        None => {
            if !f.unknown {
                d.error(node.pos, "`open` needs `max_users` (the most users at once; arrivals beyond it are dropped)");
            }
            None
        }
    };
    let iterations = match f.get("iterations") {
        Some(n) => yaml::u32_value(d, n, "`iterations`").filter(|i| {
            if *i == 0 {
                d.error(n.pos, "`iterations` must be at least 1");
            }
            *i > 0
        }),
        None => Some(1),
    };
    Some(Open {
        rate: rate?,
        max_users: max_users?,
        iterations: iterations?,
    })
}

fn parse_rate_stages(d: &mut Diags, node: &Node) -> Option<Vec<RateStage>> {
    let items = yaml::list(d, node, "`stages`");
    if items.is_empty() || items.len() > MAX_STAGES {
        d.error(node.pos, format!("`stages` needs 1 to {MAX_STAGES} stages"));
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        let Some(f) = Fields::new(d, item, "an open-model stage", &["duration", "rate"]) else {
            ok = false;
            continue;
        };
        let duration = match f.get("duration") {
            Some(n) => positive_duration(d, n, "the stage `duration`"),
            None => {
                d.error(item.pos, "a stage needs a `duration`");
                None
            }
        };
        let r = match f.get("rate") {
            Some(n) => rate(d, n, "`rate`"),
            None => {
                d.error(
                    item.pos,
                    "a stage needs a `rate` (arrivals per second at its end)",
                );
                None
            }
        };
        match (duration, r) {
            (Some(duration), Some(rate)) => out.push(RateStage { duration, rate }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// An arrival rate: a number from 0 to [`MAX_RATE`].
fn rate(d: &mut Diags, node: &Node, what: &str) -> Option<f64> {
    let v = yaml::f64_value(d, node, &format!("{what} (arrivals per second)"))?;
    if !(0.0..=MAX_RATE).contains(&v) {
        d.error(
            node.pos,
            format!("{what} must be from 0 to {MAX_RATE} arrivals per second, found {v}"),
        );
        return None;
    }
    Some(v)
}
