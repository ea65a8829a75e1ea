//! A small 5-field cron (`minute hour day-of-month month day-of-week`) evaluated in the
//! shape's time zone, for incident windows.
//!
//! Fields accept `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and comma lists;
//! months and weekdays also take names (`jan`, `mon`), and weekday `7` is Sunday. As in
//! Vixie cron, when both day-of-month and day-of-week are restricted (neither starts
//! with `*`) a day matches if *either* does. Macros: `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.
//!
//! Daylight saving: a local time that does not exist (the spring gap) is skipped; one that
//! happens twice (autumn) fires once, at the first of the two.
//!
//! Searches walk days, then matching hours, then matching minutes, so finding the next
//! firing is cheap even for rare schedules (29 February), and bounded by a horizon.

use crate::shape::calendar::local_to_utc;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

/// How far [`Cron::next_after`] looks ahead: a bit over 8 years covers `0 0 29 2 *`
/// across a century year without a leap day.
const HORIZON_DAYS: u64 = 8 * 366 + 2;
/// More than any UTC offset change (daylight saving moves an hour, rarely two): local
/// times further than this from `t` are on the known side of it.
const SLACK: TimeDelta = TimeDelta::hours(3);

/// A parsed schedule: one bit set per allowed value.
#[derive(Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    days_any: bool,
    weekdays_any: bool,
    text: String,
}

impl std::fmt::Debug for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cron({:?})", self.text)
    }
}

impl std::fmt::Display for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [FieldSpec; 5] = [
    FieldSpec {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    FieldSpec {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    FieldSpec {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
    },
    FieldSpec {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
    },
    // 7 is accepted as Sunday and folded into 0 after parsing.
    FieldSpec {
        name: "day-of-week",
        min: 0,
        max: 7,
        names: WEEKDAYS,
    },
];

impl Cron {
    /// Parses a schedule; the error says which field is wrong and why.
    pub fn parse(text: &str) -> Result<Cron, String> {
        let trimmed = text.trim();
        let expanded = match trimmed {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other if other.starts_with('@') => {
                return Err(format!(
                    "unknown cron macro `{other}`; use @hourly, @daily, @weekly, @monthly or @yearly"
                ));
            }
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "a cron schedule has 5 fields (minute hour day-of-month month day-of-week), found {}",
                parts.len()
            ));
        }
        let mut bits = [0u64; 5];
        for (i, (part, spec)) in parts.iter().zip(&FIELDS).enumerate() {
            bits[i] = field(part, spec)?;
        }
        // 7 (Sunday) folds into 0, so matching only ever looks at bits 0-6.
        let weekdays = bits[4] | (bits[4] >> 7);
        #[allow(clippy::cast_possible_truncation)] // each mask fits its field's range
        let cron = Cron {
            minutes: bits[0],
            hours: bits[1] as u32,
            days: bits[2] as u32,
            months: bits[3] as u16,
            weekdays: (weekdays & 0x7f) as u8,
            // As in Vixie cron, a field starting with `*` (`*`, `*/2`) counts as "any" for
            // the day-of-month / day-of-week rule.
            days_any: parts[2].starts_with('*'),
            weekdays_any: parts[4].starts_with('*'),
            text: trimmed.to_owned(),
        };
        if !cron.can_match() {
            return Err(format!(
                "`{trimmed}` never matches: no month in it has that day of the month"
            ));
        }
        Ok(cron)
    }

    /// Whether some date can match (`0 0 31 2 *` cannot). Checked at load so an
    /// incident that would never fire is an error rather than a silent no-op; 29 February
    /// counts (it comes every four years, within the search horizon).
    fn can_match(&self) -> bool {
        if !self.days_any && self.weekdays_any {
            return (1..=12u32).any(|m| {
                let longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
                self.months & (1 << m) != 0 && (1..=longest).any(|d| self.days & (1 << d) != 0)
            });
        }
        true
    }

    /// Whether the schedule fires on local `date` (month, day-of-month, day-of-week).
    pub fn matches_day(&self, date: NaiveDate) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << date.day()) != 0;
        let dow = self.weekdays & (1 << date.weekday().num_days_from_sunday()) != 0;
        // A plain `*` sets every bit, so "and" then means "the other field decides".
        if self.days_any || self.weekdays_any {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first firing strictly after `t`, or `None` within the horizon.
    pub fn next_after(&self, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&tz).naive_local();
        // Local times well before `t` cannot be after it whatever the offset: skip them
        // without the (comparatively slow) zone conversion.
        let floor = local.checked_sub_signed(SLACK)?;
        let mut date = floor.date();
        for _ in 0..HORIZON_DAYS {
            if self.matches_day(date) {
                for h in (0..24).filter(|h| self.hours & (1 << h) != 0) {
                    if date.and_hms_opt(h, 59, 59).is_some_and(|end| end < floor) {
                        continue;
                    }
                    for m in (0..60).filter(|m| self.minutes & (1 << m) != 0) {
                        let Some(local) = date.and_hms_opt(h, m, 0) else {
                            continue;
                        };
                        if let Some(u) = local_to_utc(tz, local)
                            && u > t
                        {
                            return Some(u);
                        }
                    }
                }
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// The last firing at or before `t` and after `t - lookback`, if any.
    pub fn last_at_or_before(
        &self,
        tz: Tz,
        t: DateTime<Utc>,
        lookback: chrono::TimeDelta,
    ) -> Option<DateTime<Utc>> {
        let earliest = t.checked_sub_signed(lookback)?;
        // Local times well after `t` cannot be before it: skip them unconverted.
        let ceiling = t
            .with_timezone(&tz)
            .naive_local()
            .checked_add_signed(SLACK)?;
        let first_day = earliest
            .with_timezone(&tz)
            .naive_local()
            .checked_sub_signed(SLACK)?
            .date();
        let mut date = ceiling.date();
        while date >= first_day {
            if self.matches_day(date) {
                for h in (0..24).rev().filter(|h| self.hours & (1 << h) != 0) {
                    if date
                        .and_hms_opt(h, 0, 0)
                        .is_some_and(|start| start > ceiling)
                    {
                        continue;
                    }
                    for m in (0..60).rev().filter(|m| self.minutes & (1 << m) != 0) {
                        let Some(local) = date.and_hms_opt(h, m, 0) else {
                            continue;
                        };
                        match local_to_utc(tz, local) {
                            Some(u) if u <= t => return (u > earliest).then_some(u),
                            _ => {}
                        }
                    }
                }
            }
            date = date.pred_opt()?;
        }
        None
    }
}

/// One field: a comma list of `*`, `n`, `a-b`, each optionally `/step`.
fn field(text: &str, spec: &FieldSpec) -> Result<u64, String> {
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    format!(
                        "{} field `{text}`: the step `{s}` must be a whole number above 0",
                        spec.name
                    )
                })?;
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (
                spec.min,
                spec.max.min(if spec.name == "day-of-week" {
                    6
                } else {
                    spec.max
                }),
            )
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, spec, text)?, value(b, spec, text)?)
        } else {
            let v = value(range, spec, text)?;
            // `5/15` means from 5 to the end in steps of 15, as in common crons.
            (v, if item.contains('/') { spec.max } else { v })
        };
        if lo > hi {
            return Err(format!(
                "{} field `{text}`: the range `{range}` goes backwards",
                spec.name
            ));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn value(text: &str, spec: &FieldSpec, field_text: &str) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = spec.names.iter().position(|n| *n == lower) {
        // Month names are 1-based, weekday names 0-based (Sunday = 0).
        let i = u32::try_from(i).unwrap_or(0);
        return Ok(if spec.name == "month" { i + 1 } else { i });
    }
    match text.parse::<u32>() {
        Ok(v) if (spec.min..=spec.max).contains(&v) => Ok(v),
        Ok(v) => Err(format!(
            "{} field `{field_text}`: {v} is out of range {}-{}",
            spec.name, spec.min, spec.max
        )),
        Err(_) => {
            let names = if spec.names.is_empty() {
                String::new()
            } else {
                format!(" or a name ({})", spec.names.join(", "))
            };
            Err(format!(
                "{} field `{field_text}`: `{text}` is not a number from {} to {}{names}",
                spec.name, spec.min, spec.max
            ))
        }
    }
}
