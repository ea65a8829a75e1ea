//! The calendar side of shapes: IANA time zones, local wall-clock time, day-of-week
//! factors and holidays.
//!
//! Everything that follows "local time" (the day curve, holidays, incident schedules)
//! converts the UTC instant into the shape's zone with `chrono-tz` and works on the
//! local date and clock. That is what makes daylight saving days come out right: on the
//! 23-hour spring day and the 25-hour autumn day the peak still happens at local 14:00;
//! the day simply has one hour fewer or more of the curve.

use crate::diagnostics::{Diags, did_you_mean};
use crate::shape::parse::factor;
use crate::yaml::{self, Fields, Kind, Node};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;

/// At most this many holiday entries.
pub(crate) const MAX_HOLIDAYS: usize = 1000;

/// The local date of `t` in `tz` and the local time of day in hours (0 <= h < 24).
pub(crate) fn local_day_and_hour(tz: Tz, t: DateTime<Utc>) -> (NaiveDate, f64) {
    let local = t.with_timezone(&tz).naive_local();
    let time = local.time();
    let hours = f64::from(time.num_seconds_from_midnight()) / 3600.0
        + f64::from(time.nanosecond().min(999_999_999)) / 3_600_000_000_000.0;
    (local.date(), hours)
}

/// The UTC instant of a local wall-clock time: the earlier one when the local time
/// happens twice (autumn), `None` when it does not exist (the spring gap).
pub(crate) fn local_to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The UTC instant of local time `hours` (fractional) on `date`. A time in the spring
/// gap is moved forward past the gap (one hour later), so it always yields an instant.
pub(crate) fn local_hour_to_utc(tz: Tz, date: NaiveDate, hours: f64) -> Option<DateTime<Utc>> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped to a day
    let secs = (hours.clamp(0.0, 24.0) * 3600.0).round() as u32;
    let secs = secs.min(24 * 3600 - 1);
    let local = date.and_hms_opt(secs / 3600, (secs / 60) % 60, secs % 60)?;
    local_to_utc(tz, local)
        .or_else(|| local_to_utc(tz, local.checked_add_signed(chrono::TimeDelta::hours(1))?))
}

/// Parses an IANA zone name (`Europe/Berlin`), suggesting the closest name on a typo.
pub(crate) fn parse_timezone(d: &mut Diags, node: &Node) -> Option<Tz> {
    let name = yaml::string(d, node, "`timezone` (an IANA name like `Europe/Berlin`)")?;
    let name = name.trim();
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(tz);
    }
    let hint = did_you_mean(name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()));
    d.error(
        node.pos,
        format!("unknown time zone `{name}`{hint}; use an IANA name like `Europe/Berlin`, `America/New_York` or `UTC`"),
    );
    None
}

/// Parses a time of day: `"14:00"`, `"9:30"`, `"07:15:30"` or a whole hour `14`.
/// Returns hours since midnight (0 <= h < 24).
pub(crate) fn parse_time_of_day(d: &mut Diags, node: &Node, what: &str) -> Option<f64> {
    let parsed = match &node.kind {
        Kind::UInt(h) if *h < 24 => Some(u32::try_from(*h).map_or(0.0, f64::from)),
        Kind::Str(s) => time_of_day(s.trim()),
        _ => None,
    };
    if parsed.is_none() {
        d.error(
            node.pos,
            format!(
                "{what} must be a time of day from 00:00 to 23:59 like \"14:00\" or \"9:30\" (or a whole hour 0-23)"
            ),
        );
    }
    parsed
}

fn time_of_day(s: &str) -> Option<f64> {
    let mut parts = s.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let sec: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    if parts.next().is_some() || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some(f64::from(h) + f64::from(m) / 60.0 + f64::from(sec) / 3600.0)
}

const WEEKDAY_KEYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Parses `weekdays: { sat: 0.6, sun: 0.4 }` into factors for Monday..Sunday (default 1).
pub(crate) fn parse_weekdays(d: &mut Diags, node: &Node) -> [f64; 7] {
    let mut out = [1.0; 7];
    let Some(f) = Fields::new(d, node, "`weekdays` (factors by day)", WEEKDAY_KEYS) else {
        return out;
    };
    for (i, key) in WEEKDAY_KEYS.iter().enumerate() {
        if let Some(n) = f.get(key)
            && let Some(v) = factor(d, n, &format!("the `{key}` factor"))
        {
            out[i] = v;
        }
    }
    out
}

/// The factor for `day` of the week from a Monday-first table.
pub(crate) fn weekday_factor(factors: &[f64; 7], day: Weekday) -> f64 {
    factors[day.num_days_from_monday() as usize]
}

/// A holiday: one date, or the same month and day every year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HolidayDate {
    /// `2026-12-24`: that day only.
    Date(NaiveDate),
    /// `12-25`: every year on that month and day.
    Yearly {
        /// 1-12.
        month: u32,
        /// 1-31.
        day: u32,
    },
}

impl HolidayDate {
    fn matches(self, date: NaiveDate) -> bool {
        match self {
            HolidayDate::Date(d) => d == date,
            HolidayDate::Yearly { month, day } => date.month() == month && date.day() == day,
        }
    }
}

/// Days that get their own factor instead of the weekday factor.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Holidays {
    /// Each day with its factor (first match wins).
    pub days: Vec<(HolidayDate, f64)>,
}

impl Holidays {
    /// The factor of `date` when it is a holiday.
    pub fn factor(&self, date: NaiveDate) -> Option<f64> {
        self.days
            .iter()
            .find(|(h, _)| h.matches(date))
            .map(|(_, f)| *f)
    }
}

/// Parses `holidays: { factor: 0.3, dates: [2026-12-24, "12-25", { date: 12-31, factor: 0.6 }] }`
/// or a bare list of dates (factor 0.3 by default, documented).
pub(crate) fn parse_holidays(d: &mut Diags, node: &Node) -> Holidays {
    const DEFAULT_FACTOR: f64 = 0.3;
    let (dates, default) = match &node.kind {
        Kind::Seq(_) => (Some(node), DEFAULT_FACTOR),
        _ => {
            let Some(f) = Fields::new(d, node, "`holidays`", &["factor", "dates"]) else {
                return Holidays::default();
            };
            let default = f
                .get("factor")
                .and_then(|n| factor(d, n, "the holiday `factor`"))
                .unwrap_or(DEFAULT_FACTOR);
            if f.get("dates").is_none() && !f.unknown {
                d.error(node.pos, "`holidays` needs `dates` (a list of dates)");
            }
            (f.get("dates"), default)
        }
    };
    let items = dates.map_or(&[][..], |n| yaml::list(d, n, "`dates`"));
    if items.len() > MAX_HOLIDAYS {
        d.error(
            node.pos,
            format!("at most {MAX_HOLIDAYS} holidays are allowed"),
        );
        return Holidays::default();
    }
    let mut days = Vec::with_capacity(items.len());
    for item in items {
        let (date_node, factor_value) = match &item.kind {
            Kind::Map(_) => {
                let Some(f) = Fields::new(d, item, "a holiday", &["date", "factor"]) else {
                    continue;
                };
                let Some(dn) = f.get("date") else {
                    d.error(item.pos, "a holiday needs a `date`");
                    continue;
                };
                let fv = match f.get("factor") {
                    Some(n) => factor(d, n, "the holiday `factor`"),
                    None => Some(default),
                };
                (dn, fv)
            }
            _ => (item, Some(default)),
        };
        if let (Some(date), Some(fv)) = (holiday_date(d, date_node), factor_value) {
            days.push((date, fv));
        }
    }
    Holidays { days }
}

fn holiday_date(d: &mut Diags, node: &Node) -> Option<HolidayDate> {
    let text = node.scalar_text().unwrap_or_default();
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(HolidayDate::Date(date));
    }
    // `12-25`: month and day, checked against a leap year so `02-29` is allowed.
    let yearly = text.split_once('-').and_then(|(m, dd)| {
        let (month, day) = (m.parse::<u32>().ok()?, dd.parse::<u32>().ok()?);
        NaiveDate::from_ymd_opt(2024, month, day).map(|_| HolidayDate::Yearly { month, day })
    });
    if yearly.is_none() {
        d.error(
            node.pos,
            format!("`{text}` is not a date: use `2026-12-24` (that day) or `12-25` (every year)"),
        );
    }
    yearly
}

/// The local weekday of a date (helper kept here so callers need not import chrono traits).
pub(crate) fn weekday(date: NaiveDate) -> Weekday {
    date.weekday()
}
