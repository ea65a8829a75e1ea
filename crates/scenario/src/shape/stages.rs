//! Stages: a list of (duration, value) steps run one after another from the start of the
//! run, optionally repeating. The same timeline drives closed-model `stages` (a target
//! number of users per stage, reached at the stage's spawn rate) and the open model's
//! ramping arrival rate (linear from the previous rate to the stage's rate).
//!
//! A [`Timeline`] keeps only the cumulative end of each stage, so locating the stage of
//! an instant is a binary search, and repeating is a modulo: nothing grows with time.

use crate::diagnostics::Diags;
use crate::shape::parse::{spawn_rate, users};
use crate::wait::positive_duration;
use crate::yaml::{self, Fields, Node};
use std::time::Duration;

/// At most this many stages in one list.
pub(crate) const MAX_STAGES: usize = 1000;

/// One closed-model stage: for `duration`, aim at `users`, starting or stopping users at
/// `spawn_rate` per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// The target number of users.
    pub users: u32,
    /// Users started (or stopped) per second to reach the target.
    pub spawn_rate: f64,
}

/// Closed-model stages (`stages:` + `repeat:`).
#[derive(Debug, Clone, PartialEq)]
pub struct Stages {
    /// The stages in order (at least one).
    pub stages: Vec<Stage>,
    /// Start again from the first stage after the last one (otherwise the last holds).
    pub repeat: bool,
    pub(crate) timeline: Timeline,
}

impl Stages {
    /// Builds stages (at least one, each with a positive duration).
    pub fn new(stages: Vec<Stage>, repeat: bool) -> Option<Self> {
        let timeline = Timeline::new(stages.iter().map(|s| s.duration), repeat)?;
        Some(Stages {
            stages,
            repeat,
            timeline,
        })
    }
}

/// Where an instant falls in a list of stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Located {
    /// The stage index.
    pub index: usize,
    /// Time since the stage started.
    pub offset: Duration,
    /// Past the last stage of a non-repeating list (the last stage holds).
    pub finished: bool,
}

/// Cumulative stage ends, for locating instants and listing boundaries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Timeline {
    ends: Vec<Duration>,
    repeat: bool,
}

impl Timeline {
    /// `None` when empty or when a duration is zero (a zero-length repeating cycle would
    /// make "the next boundary" loop forever).
    pub fn new(durations: impl Iterator<Item = Duration>, repeat: bool) -> Option<Self> {
        let mut ends = Vec::new();
        let mut total = Duration::ZERO;
        for d in durations {
            if d.is_zero() {
                return None;
            }
            total = total.checked_add(d)?;
            ends.push(total);
        }
        (!ends.is_empty()).then_some(Timeline { ends, repeat })
    }

    fn total(&self) -> Duration {
        self.ends.last().copied().unwrap_or(Duration::ZERO)
    }

    /// Locates `elapsed` (time since the run started).
    pub fn locate(&self, elapsed: Duration) -> Located {
        let total = self.total();
        let last = self.ends.len().saturating_sub(1);
        let within = if elapsed < total {
            elapsed
        } else if self.repeat && !total.is_zero() {
            Duration::from_nanos(u64::try_from(elapsed.as_nanos() % total.as_nanos()).unwrap_or(0))
        } else {
            let start = last.checked_sub(1).map_or(Duration::ZERO, |i| self.ends[i]);
            return Located {
                index: last,
                offset: elapsed.saturating_sub(start),
                finished: true,
            };
        };
        // The first stage whose end is after `within`.
        let index = self.ends.partition_point(|end| *end <= within).min(last);
        let start = index
            .checked_sub(1)
            .map_or(Duration::ZERO, |i| self.ends[i]);
        Located {
            index,
            offset: within.saturating_sub(start),
            finished: false,
        }
    }

    /// Up to `n` stage starts strictly after `elapsed`: (time since run start, stage
    /// index). A non-repeating list ends with `(total, ends.len())`: "the stages ended".
    pub fn boundaries_after(&self, elapsed: Duration, n: usize) -> Vec<(Duration, usize)> {
        let total = self.total();
        let mut out = Vec::new();
        if total.is_zero() {
            return out;
        }
        let cycle = if self.repeat {
            u32::try_from(elapsed.as_nanos() / total.as_nanos()).unwrap_or(u32::MAX)
        } else {
            0
        };
        let mut base = total.checked_mul(cycle).unwrap_or(Duration::MAX);
        while out.len() < n {
            // Stage i starts at base + ends[i-1] (stage 0 at base).
            for i in 0..self.ends.len() {
                let start =
                    base.saturating_add(i.checked_sub(1).map_or(Duration::ZERO, |j| self.ends[j]));
                if start > elapsed && out.len() < n {
                    out.push((start, i));
                }
            }
            let next = base.saturating_add(total);
            if !self.repeat {
                if next > elapsed && out.len() < n {
                    out.push((next, self.ends.len()));
                }
                break;
            }
            if next == base {
                break;
            }
            base = next;
        }
        out
    }
}

/// Parses a list of closed-model stages.
pub(crate) fn parse_stages(d: &mut Diags, node: &Node, repeat: bool) -> Option<Stages> {
    let items = yaml::list(d, node, "`stages`");
    if items.is_empty() {
        d.error(node.pos, "`stages` is empty: give at least one stage");
        return None;
    }
    if items.len() > MAX_STAGES {
        d.error(node.pos, format!("at most {MAX_STAGES} stages are allowed"));
        return None;
    }
    let mut stages = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        let Some(f) = Fields::new(d, item, "a stage", &["duration", "users", "spawn_rate"]) else {
            ok = false;
            continue;
        };
        let duration = match f.get("duration") {
            Some(n) => positive_duration(d, n, "the stage `duration`"),
            None => {
                d.error(item.pos, "a stage needs a `duration` (e.g. `5m`)");
                None
            }
        };
        let users_value = match f.get("users") {
            Some(n) => users(d, n, "`users`"),
            None => {
                d.error(
                    item.pos,
                    "a stage needs `users` (the target number of users)",
                );
                None
            }
        };
        let rate = f
            .get("spawn_rate")
            .map_or(Some(crate::shape::DEFAULT_SPAWN_RATE), |n| spawn_rate(d, n));
        match (duration, users_value, rate) {
            (Some(duration), Some(users), Some(spawn_rate)) => stages.push(Stage {
                duration,
                users,
                spawn_rate,
            }),
            _ => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let s = Stages::new(stages, repeat);
    if s.is_none() {
        d.error(node.pos, "the stages are too long in total");
    }
    s
}
