//! The day curve: users follow local wall-clock time between a night minimum and a peak.
//!
//! # Formula
//!
//! With `x` the local time of day in hours and one peak at `p`:
//!
//! ```text
//! f(x) = (1 + cos(2π (x - p) / 24)) / 2          1 at the peak, 0 twelve hours later
//! users(t) = min + (max - min) * f(x) * day_factor(local date)
//! ```
//!
//! With two peaks `p1 < p2` the day is cut into two arcs, each a half-period cosine from
//! peak to peak: the arc from `p1` to `p2` (length `L1 = p2 - p1`) dips to `dip` (a share
//! of the range, e.g. a lunch dip), the arc from `p2` over midnight to `p1` (length
//! `24 - L1`) goes down to 0 (the night):
//!
//! ```text
//! u = (x - p1) mod 24
//! f = dip + (1 - dip) (1 + cos(2π u / L1)) / 2           when u < L1
//! f = (1 + cos(2π (u - L1) / (24 - L1))) / 2             otherwise
//! ```
//!
//! The curve is smooth (its slope is 0 at every peak and trough). `day_factor` is the
//! holiday factor on a holiday, else the weekday factor (default 1): it scales the part
//! above the minimum, so the night floor stays and a factor of 0 means "minimum all day".
//! It changes at local midnight, where the curve is near its trough.

use crate::diagnostics::Diags;
use crate::shape::calendar::{
    Holidays, local_day_and_hour, local_hour_to_utc, parse_holidays, parse_time_of_day,
    parse_weekdays, weekday, weekday_factor,
};
use crate::shape::parse::{share, spawn_rate, users};
use crate::yaml::{Fields, Kind, Node};
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use std::f64::consts::PI;

/// The shortest stretch allowed between two peaks (either way round the clock), in hours.
const MIN_PEAK_GAP_HOURS: f64 = 1.0;

/// A day curve (`diurnal:`).
#[derive(Debug, Clone, PartialEq)]
pub struct Diurnal {
    /// Users at the night trough.
    pub min_users: u32,
    /// Users at the peak(s) on a day with factor 1.
    pub max_users: u32,
    /// Peak times as local hours since midnight, ascending (one or two).
    pub peaks: Vec<f64>,
    /// With two peaks: the level between them, as a share of the range (0..=1).
    pub dip: f64,
    /// Factors for Monday..Sunday.
    pub weekdays: [f64; 7],
    /// Days with their own factor.
    pub holidays: Holidays,
    /// Users started or stopped per second while following the curve.
    pub spawn_rate: f64,
}

/// A notable instant of the day curve, for "next changes".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayMark {
    Peak,
    Trough,
}

impl Diurnal {
    /// The curve's shape at local hour `x`: 0 (trough) ..= 1 (peak), before day factors.
    pub fn curve(&self, x: f64) -> f64 {
        let (p1, p2) = match self.peaks.as_slice() {
            [p] => (*p, *p + 24.0),
            [p1, p2, ..] => (*p1, *p2),
            [] => return 0.0,
        };
        let u = (x - p1).rem_euclid(24.0);
        let l1 = p2 - p1;
        let (f, floor) = if self.peaks.len() == 1 {
            (cos_bump(u / 24.0), 0.0)
        } else if u < l1 {
            (cos_bump(u / l1), self.dip)
        } else {
            (cos_bump((u - l1) / (24.0 - l1)), 0.0)
        };
        floor + (1.0 - floor) * f
    }

    /// The day factor of a local date: the holiday factor, else the weekday factor.
    pub fn day_factor(&self, date: NaiveDate) -> f64 {
        self.holidays
            .factor(date)
            .unwrap_or_else(|| weekday_factor(&self.weekdays, weekday(date)))
    }

    /// Users (unrounded) at instant `t`, in zone `tz`.
    pub fn users_at(&self, tz: Tz, t: DateTime<Utc>) -> f64 {
        let (date, hour) = local_day_and_hour(tz, t);
        let min = f64::from(self.min_users);
        let range = f64::from(self.max_users) - min;
        min + range * self.curve(hour) * self.day_factor(date)
    }

    /// Peaks and troughs as local hours in `[0, 24)`.
    fn marks(&self) -> Vec<(f64, DayMark)> {
        let mut out: Vec<(f64, DayMark)> = self.peaks.iter().map(|p| (*p, DayMark::Peak)).collect();
        match self.peaks.as_slice() {
            [p] => out.push(((p + 12.0).rem_euclid(24.0), DayMark::Trough)),
            [p1, p2, ..] => {
                out.push(((p1 + p2) / 2.0, DayMark::Trough));
                out.push((
                    (p2 + (24.0 - (p2 - p1)) / 2.0).rem_euclid(24.0),
                    DayMark::Trough,
                ));
            }
            [] => {}
        }
        out
    }

    /// Up to `n` peaks and troughs strictly after `t` (within the next three local days).
    pub(crate) fn marks_after(
        &self,
        tz: Tz,
        t: DateTime<Utc>,
        n: usize,
    ) -> Vec<(DateTime<Utc>, DayMark)> {
        let (today, _) = local_day_and_hour(tz, t);
        let marks = self.marks();
        let mut out = Vec::new();
        for days in 0..3 {
            let Some(date) = today.checked_add_days(Days::new(days)) else {
                break;
            };
            for (hour, mark) in &marks {
                if let Some(at) = local_hour_to_utc(tz, date, *hour)
                    && at > t
                {
                    out.push((at, *mark));
                }
            }
        }
        out.sort_by_key(|(at, _)| *at);
        out.truncate(n);
        out
    }
}

/// `(1 + cos(2π s)) / 2`: 1 at s = 0 and 1, 0 at s = 1/2.
fn cos_bump(s: f64) -> f64 {
    (1.0 + (2.0 * PI * s).cos()) / 2.0
}

const KEYS: &[&str] = &[
    "min_users",
    "max_users",
    "peak",
    "dip",
    "weekdays",
    "holidays",
    "spawn_rate",
];

/// Parses `diurnal:`.
pub(crate) fn parse_diurnal(d: &mut Diags, node: &Node) -> Option<Diurnal> {
    let f = Fields::new(d, node, "`diurnal`", KEYS)?;
    let mut need = |key: &str, what: &str| {
        let n = f.get(key);
        if n.is_none() && !f.unknown {
            d.error(node.pos, format!("`diurnal` needs `{key}` ({what})"));
        }
        n
    };
    let min_node = need("min_users", "the users at night");
    let max_node = need("max_users", "the users at the peak");
    let peak_node = need(
        "peak",
        "the peak time(s), e.g. \"14:00\" or [\"10:30\", \"15:00\"]",
    );
    let min_users = min_node.and_then(|n| users(d, n, "`min_users`"));
    let max_users = max_node.and_then(|n| users(d, n, "`max_users`"));
    if let (Some(lo), Some(hi), Some(n)) = (min_users, max_users, max_node)
        && lo > hi
    {
        d.error(
            n.pos,
            format!("`max_users` ({hi}) is below `min_users` ({lo})"),
        );
    }
    let peaks = peak_node.and_then(|n| parse_peaks(d, n));
    let dip_node = f.get("dip");
    if let (Some(n), Some(p)) = (dip_node, &peaks)
        && p.len() == 1
    {
        d.error(n.pos, "`dip` only applies with two peaks");
    }
    let dip = match dip_node {
        Some(n) => share(d, n, "`dip`"),
        None => Some(0.5),
    };
    let weekdays = f.get("weekdays").map_or([1.0; 7], |n| parse_weekdays(d, n));
    let holidays = f
        .get("holidays")
        .map_or_else(Holidays::default, |n| parse_holidays(d, n));
    let rate = f
        .get("spawn_rate")
        .map_or(Some(crate::shape::DEFAULT_SPAWN_RATE), |n| spawn_rate(d, n));
    let (min_users, max_users) = (min_users?, max_users?);
    if min_users > max_users {
        return None;
    }
    Some(Diurnal {
        min_users,
        max_users,
        peaks: peaks?,
        dip: dip?,
        weekdays,
        holidays,
        spawn_rate: rate?,
    })
}

/// `peak: "14:00"` or `peak: ["10:30", "15:00"]`: sorted, at least an hour apart.
fn parse_peaks(d: &mut Diags, node: &Node) -> Option<Vec<f64>> {
    let mut peaks = match &node.kind {
        Kind::Seq(items) => {
            if items.is_empty() || items.len() > 2 {
                d.error(node.pos, "`peak` takes one or two times of day");
                return None;
            }
            let parsed: Vec<Option<f64>> = items
                .iter()
                .map(|n| parse_time_of_day(d, n, "a peak"))
                .collect();
            parsed.into_iter().collect::<Option<Vec<f64>>>()?
        }
        _ => vec![parse_time_of_day(d, node, "`peak`")?],
    };
    peaks.sort_by(f64::total_cmp);
    if let [p1, p2] = peaks[..] {
        let gap = p2 - p1;
        if gap < MIN_PEAK_GAP_HOURS || 24.0 - gap < MIN_PEAK_GAP_HOURS {
            d.error(node.pos, "two peaks must be at least an hour apart");
            return None;
        }
    }
    Some(peaks)
}
