//! Random spikes on top of any shape: Poisson arrivals of bursts, each adding users (or
//! arrivals per second) for a while.
//!
//! # Determinism without state
//!
//! Time is cut into hours (of virtual time, counted from the Unix epoch). The bursts that
//! *start* in hour `h` come from a small RNG (splitmix64) seeded with a hash of
//! `(seed, h)`: first the count, drawn from a Poisson distribution with mean `per_hour`,
//! then each burst's start within the hour, its duration and its size. So the bursts at
//! any instant are a pure function of `(seed, t)`: evaluating `t` regenerates the few
//! hours whose bursts could still be running (a burst lasts at most
//! [`MAX_BURST_DURATION`]), and nothing is remembered or grows with time. Splitting a
//! Poisson process into hours this way gives a Poisson process again.

use crate::diagnostics::Diags;
use crate::shape::parse::{factor, spawn_rate};
use crate::wait::positive_duration;
use crate::yaml::{self, Fields, Kind, Node};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The longest a single burst may last.
pub const MAX_BURST_DURATION: Duration = Duration::from_secs(6 * 3600);
/// The highest mean number of bursts per hour.
pub const MAX_BURSTS_PER_HOUR: f64 = 60.0;
/// Bursts drawn per hour are capped here (far above any plausible Poisson draw for
/// [`MAX_BURSTS_PER_HOUR`]), which bounds the work of one evaluation.
const MAX_DRAWN_PER_HOUR: u32 = 200;

/// How big a burst is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BurstSize {
    /// Adds this many users (closed model) or arrivals per second (open model),
    /// uniformly drawn between the two bounds for each burst.
    Add {
        /// Smallest size.
        min: f64,
        /// Largest size.
        max: f64,
    },
    /// Multiplies the base value: a factor of 2 doubles it while the burst lasts.
    Factor(f64),
}

/// `bursts:`: random spikes.
#[derive(Debug, Clone, PartialEq)]
pub struct Bursts {
    /// Mean number of bursts starting per hour (virtual time).
    pub per_hour: f64,
    /// Size of each burst.
    pub size: BurstSize,
    /// Shortest and longest duration (drawn uniformly per burst).
    pub duration: (Duration, Duration),
    /// Spawn rate while a burst runs (the larger of this and the base one is used).
    pub spawn_rate: Option<f64>,
    /// Seed of the burst sequence: the same seed gives the same bursts.
    pub seed: u64,
}

/// One burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends (exclusive).
    pub end: DateTime<Utc>,
    /// Users (or arrivals per second) added; for [`BurstSize::Factor`], the factor.
    pub size: f64,
}

impl Bursts {
    /// The bursts starting in hour `hour` (hours since the Unix epoch), in no set order.
    pub fn in_hour(&self, hour: i64) -> impl Iterator<Item = Burst> + '_ {
        self.raw_in_hour(hour).filter_map(|(start, end, size)| {
            Some(Burst {
                start: DateTime::<Utc>::from_timestamp_millis(start)?,
                end: DateTime::<Utc>::from_timestamp_millis(end)?,
                size,
            })
        })
    }

    /// [`Bursts::in_hour`] as (start ms, end ms, size): integer arithmetic only, because
    /// every evaluation regenerates a few hours of bursts.
    fn raw_in_hour(&self, hour: i64) -> impl Iterator<Item = (i64, i64, f64)> + '_ {
        let mut rng = SplitMix(mix(self.seed ^ mix(hour.cast_unsigned())));
        let count = poisson(&mut rng, self.per_hour);
        let hour_start = hour.saturating_mul(3_600_000);
        let (lo, hi) = self.duration;
        let (lo_ms, span_ms) = (
            lo.as_secs_f64() * 1000.0,
            hi.saturating_sub(lo).as_secs_f64() * 1000.0,
        );
        (0..count).map(move |_| {
            let (u_start, u_len, u_size) = (rng.unit(), rng.unit(), rng.unit());
            // Both below 3.6e7 ms (an hour; bursts last at most 6h): no overflow.
            #[allow(clippy::cast_possible_truncation)]
            let (offset, len) = (
                (u_start * 3_600_000.0) as i64,
                (lo_ms + span_ms * u_len).round() as i64,
            );
            let start = hour_start.saturating_add(offset);
            let size = match self.size {
                BurstSize::Add { min, max } => min + (max - min) * u_size,
                BurstSize::Factor(f) => f,
            };
            (start, start.saturating_add(len), size)
        })
    }

    /// The hours whose bursts may still run at `t`: the current one and as many before
    /// it as the longest burst can span.
    fn hours_around(&self, t: DateTime<Utc>) -> std::ops::RangeInclusive<i64> {
        let hour = t.timestamp().div_euclid(3600);
        let longest = self.duration.1.min(MAX_BURST_DURATION);
        let back = i64::try_from(longest.as_secs().div_ceil(3600)).unwrap_or(6);
        hour.saturating_sub(back)..=hour
    }

    /// What the bursts running at `t` add to `base`, and how many there are.
    pub fn extra_at(&self, t: DateTime<Utc>, base: f64) -> (f64, u32) {
        let mut extra = 0.0;
        let mut n = 0;
        let now = t.timestamp_millis();
        for hour in self.hours_around(t) {
            for (start, end, size) in self.raw_in_hour(hour) {
                if start <= now && now < end {
                    n += 1;
                    extra += match self.size {
                        BurstSize::Add { .. } => size,
                        BurstSize::Factor(f) => base * (f - 1.0),
                    };
                }
            }
        }
        (extra, n)
    }

    /// Starts and ends of bursts strictly after `t`, up to `n`, looking `hours` ahead.
    pub(crate) fn edges_after(
        &self,
        t: DateTime<Utc>,
        n: usize,
        hours: i64,
    ) -> Vec<(DateTime<Utc>, bool)> {
        let first = *self.hours_around(t).start();
        let last = t.timestamp().div_euclid(3600).saturating_add(hours);
        let mut out = Vec::new();
        for hour in first..=last {
            for b in self.in_hour(hour) {
                if b.start > t {
                    out.push((b.start, true));
                }
                if b.end > t {
                    out.push((b.end, false));
                }
            }
            // Bursts of later hours start after this hour ends, so the edges before
            // that are final; stop once there are `n` of them.
            let boundary = hour.saturating_add(1).saturating_mul(3600);
            if out
                .iter()
                .filter(|(at, _)| at.timestamp() < boundary)
                .count()
                >= n
            {
                break;
            }
        }
        out.sort_by_key(|(at, _)| *at);
        out.truncate(n);
        out
    }
}

/// The splitmix64 finaliser: a good 64-bit mix, stable across versions and platforms.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// splitmix64: tiny, fast, and fully determined by its seed (unlike a library RNG whose
/// algorithm may change between versions, which would change recorded burst timelines).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 exactly
        let v = (self.next() >> 11) as f64;
        v / (1u64 << 53) as f64
    }
}

/// A Poisson draw with mean `lambda` by inversion (fine for the small means allowed).
fn poisson(rng: &mut SplitMix, lambda: f64) -> u32 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    let u = rng.unit();
    let mut k = 0;
    let mut p = (-lambda).exp();
    let mut cumulative = p;
    while u > cumulative && k < MAX_DRAWN_PER_HOUR {
        k += 1;
        p *= lambda / f64::from(k);
        cumulative += p;
    }
    k
}

const KEYS: &[&str] = &[
    "per_hour",
    "add",
    "factor",
    "duration",
    "spawn_rate",
    "seed",
];

/// Parses `bursts:`.
pub(crate) fn parse_bursts(d: &mut Diags, node: &Node) -> Option<Bursts> {
    let f = Fields::new(d, node, "`bursts`", KEYS)?;
    let per_hour = match f.get("per_hour") {
        Some(n) => {
            let v = yaml::f64_value(d, n, "`per_hour` (mean bursts per hour)");
            v.filter(|v| {
                let ok = *v > 0.0 && *v <= MAX_BURSTS_PER_HOUR;
                if !ok {
                    d.error(
                        n.pos,
                        format!("`per_hour` must be above 0 and at most {MAX_BURSTS_PER_HOUR}"),
                    );
                }
                ok
            })
        }
        None => {
            if !f.unknown {
                d.error(
                    node.pos,
                    "`bursts` needs `per_hour` (mean bursts per hour, e.g. 0.5)",
                );
            }
            None
        }
    };
    let size = if !f.exactly_one(
        d,
        &["add", "factor"],
        "`bursts` needs exactly one of `add` (users or arrivals/s added, e.g. 50 or [20, 80]) or `factor` (e.g. 2)",
    ) {
        None
    } else if let Some(n) = f.get("add") {
        let (lo, hi) = pair(d, n, "`add`", |d, n| {
            crate::shape::parse::users(d, n, "`add`").map(f64::from)
        })?;
        Some(BurstSize::Add { min: lo, max: hi })
    } else {
        let n = f.get("factor")?;
        factor(d, n, "`factor`").map(BurstSize::Factor)
    };
    let duration = match f.get("duration") {
        Some(n) => pair(d, n, "`duration`", |d, n| {
            let v = positive_duration(d, n, "a burst `duration`")?;
            if v > MAX_BURST_DURATION {
                d.error(n.pos, "a burst lasts at most 6h");
                return None;
            }
            Some(v)
        }),
        None => {
            if !f.unknown {
                d.error(
                    node.pos,
                    "`bursts` needs `duration` (e.g. `2m` or [1m, 5m])",
                );
            }
            None
        }
    };
    let rate = f.get("spawn_rate").map(|n| spawn_rate(d, n));
    let seed = match f.get("seed") {
        Some(n) => match n.kind {
            Kind::UInt(u) => Some(u),
            _ => {
                d.error(
                    n.pos,
                    "`seed` must be a whole number from 0 to 18446744073709551615",
                );
                None
            }
        },
        None => Some(1),
    };
    Some(Bursts {
        per_hour: per_hour?,
        size: size?,
        duration: duration?,
        spawn_rate: match rate {
            Some(r) => Some(r?),
            None => None,
        },
        seed: seed?,
    })
}

/// A single value or a `[min, max]` pair of them.
fn pair<T: PartialOrd + Copy>(
    d: &mut Diags,
    node: &Node,
    what: &str,
    one: impl Fn(&mut Diags, &Node) -> Option<T>,
) -> Option<(T, T)> {
    if let Kind::Seq(items) = &node.kind {
        if items.len() != 2 {
            d.error(
                node.pos,
                format!("{what} takes one value or two: [min, max]"),
            );
            return None;
        }
        let (lo, hi) = (one(d, &items[0]), one(d, &items[1]));
        let (lo, hi) = (lo?, hi?);
        if lo > hi {
            d.error(
                node.pos,
                format!("{what}: the minimum is greater than the maximum"),
            );
            return None;
        }
        return Some((lo, hi));
    }
    one(d, node).map(|v| (v, v))
}
