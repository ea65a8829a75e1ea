//! Cron matching, incident windows, bursts (determinism and rates) and the clock.

use super::{close, shape, utc};
use crate::shape::{ChangeKind, Cron, ShapeClock};
use chrono::{NaiveDate, TimeDelta};
use chrono_tz::{Europe::Berlin, UTC};
use std::time::Duration;

fn cron(s: &str) -> Cron {
    Cron::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn cron_fields() {
    let c = cron("*/15 9-17 * * mon-fri");
    assert!(c.matches_day(day("2026-03-25")));
    assert!(!c.matches_day(day("2026-03-28")));
    assert_eq!(
        c.next_after(UTC, utc("2026-03-25T17:50:00Z")),
        Some(utc("2026-03-26T09:00:00Z"))
    );
    assert_eq!(
        c.next_after(UTC, utc("2026-03-25T09:00:00Z")),
        Some(utc("2026-03-25T09:15:00Z"))
    );
    // Steps from a start value, names, 7 as Sunday, macros.
    assert_eq!(
        cron("5/20 0 * * *").next_after(UTC, utc("2026-01-01T00:25:00Z")),
        Some(utc("2026-01-01T00:45:00Z"))
    );
    let c = cron("0 12 1 jan,JUL *");
    assert_eq!(
        c.next_after(UTC, utc("2026-02-01T00:00:00Z")),
        Some(utc("2026-07-01T12:00:00Z"))
    );
    assert!(cron("0 0 * * 7").matches_day(day("2026-03-29")));
    assert!(cron("0 0 * * 5-7").matches_day(day("2026-03-29")));
    assert!(!cron("0 0 * * 1-5").matches_day(day("2026-03-29")));
    assert_eq!(
        cron("@daily").next_after(UTC, utc("2026-03-25T00:00:00Z")),
        Some(utc("2026-03-26T00:00:00Z"))
    );
    assert_eq!(
        cron("@hourly").next_after(UTC, utc("2026-03-25T10:59:59Z")),
        Some(utc("2026-03-25T11:00:00Z"))
    );
}

#[test]
fn cron_day_of_month_or_day_of_week() {
    // Both restricted: either matches (Vixie cron).
    let c = cron("0 0 13 * fri");
    assert!(c.matches_day(day("2026-04-13"))); // a Monday the 13th
    assert!(c.matches_day(day("2026-04-10"))); // a Friday
    assert!(!c.matches_day(day("2026-04-14")));
    // A field starting with `*` counts as unrestricted: odd days that are Fridays.
    let c = cron("0 0 */2 * fri");
    assert!(c.matches_day(day("2026-04-03")));
    assert!(!c.matches_day(day("2026-04-10")));
    assert!(!c.matches_day(day("2026-04-13")));
    // Only one restricted: that one decides.
    assert!(!cron("0 0 13 * *").matches_day(day("2026-04-10")));
    assert!(!cron("0 0 * * fri").matches_day(day("2026-04-13")));
}

#[test]
fn cron_rare_and_impossible_dates() {
    assert_eq!(
        cron("0 0 29 2 *").next_after(UTC, utc("2026-01-01T00:00:00Z")),
        Some(utc("2028-02-29T00:00:00Z"))
    );
    // 2100 is not a leap year: the next 29 February after 2096 is in 2104.
    assert_eq!(
        cron("0 0 29 2 *").next_after(UTC, utc("2096-03-01T00:00:00Z")),
        Some(utc("2104-02-29T00:00:00Z"))
    );
    for bad in [
        "0 0 31 2 *",
        "0 0 30 feb *",
        "61 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 8",
        "*/0 * * * *",
        "5-1 * * * *",
        "a * * * *",
        "* * * *",
        "* * * * * *",
        "@often",
        "",
    ] {
        assert!(Cron::parse(bad).is_err(), "{bad}");
    }
    let e = Cron::parse("61 * * * *").err().unwrap_or_default();
    assert_eq!(e, "minute field `61`: 61 is out of range 0-59");
    let e = Cron::parse("0 0 * * funday").err().unwrap_or_default();
    assert!(e.contains("day-of-week") && e.contains("mon"), "{e}");
}

#[test]
fn cron_on_daylight_saving_days() {
    let c = cron("30 2 * * *");
    // 29 March 2026 has no 02:30 in Berlin: skipped.
    assert_eq!(
        c.next_after(Berlin, utc("2026-03-28T12:00:00Z")),
        Some(utc("2026-03-30T00:30:00Z"))
    );
    // 25 October 2026 has two: it fires once, at the first (02:30 CEST).
    let first = c.next_after(Berlin, utc("2026-10-24T12:00:00Z"));
    assert_eq!(first, Some(utc("2026-10-25T00:30:00Z")));
    assert_eq!(
        first.and_then(|t| c.next_after(Berlin, t)),
        Some(utc("2026-10-26T01:30:00Z"))
    );
    // Local 14:00 is 13:00 UTC in winter and 12:00 UTC in summer.
    let c = cron("0 14 * * *");
    assert_eq!(
        c.next_after(Berlin, utc("2026-03-28T14:00:00Z")),
        Some(utc("2026-03-29T12:00:00Z"))
    );
    assert_eq!(
        c.last_at_or_before(Berlin, utc("2026-03-29T12:10:00Z"), TimeDelta::minutes(30)),
        Some(utc("2026-03-29T12:00:00Z"))
    );
    assert_eq!(
        c.last_at_or_before(Berlin, utc("2026-03-29T12:10:00Z"), TimeDelta::minutes(5)),
        None
    );
}

const INCIDENTS: &str = "timezone: Europe/Berlin
constant: 10
incidents:
  - name: quote storm
    cron: \"0 14 * * mon-fri\"
    duration: 30m
    users_factor: 2
    weights: { \"Create quote\": 5, List: 0 }
    extra_task: { name: Broken, method: post, path: /api/v1/broken, weight: 3 }
  - name: nightly
    cron: \"@daily\"
    duration: 1h
    users_factor: 0.5
";

#[test]
fn incident_windows_and_effects() {
    let s = shape(INCIDENTS);
    let o = utc("2026-01-01T00:00:00Z");
    let p = s.at(o, utc("2026-03-25T13:10:00Z")); // Wednesday 14:10 CET
    assert_eq!(
        (p.active_incidents.clone(), p.users, p.users_factor),
        (vec![0], 20, 2.0)
    );
    assert_eq!(s.weight_factor(&p.active_incidents, "Create quote"), 5.0);
    assert_eq!(s.weight_factor(&p.active_incidents, "List"), 0.0);
    assert_eq!(s.weight_factor(&p.active_incidents, "Other"), 1.0);
    assert_eq!(s.weight_factor(&[], "Create quote"), 1.0);
    let extra: Vec<_> = s.extra_tasks(&p.active_incidents).collect();
    assert_eq!(extra.len(), 1);
    assert_eq!((extra[0].method.as_str(), extra[0].weight), ("POST", 3));
    // The end is exclusive; weekends have no window.
    assert!(
        s.at(o, utc("2026-03-25T13:30:00Z"))
            .active_incidents
            .is_empty()
    );
    assert!(
        s.at(o, utc("2026-03-28T13:10:00Z"))
            .active_incidents
            .is_empty()
    );
    // Local midnight in Berlin is 23:00 UTC in winter.
    let night = s.at(o, utc("2026-03-25T23:30:00Z"));
    assert_eq!((night.active_incidents, night.users), (vec![1], 5));
    let changes: Vec<(String, ChangeKind, f64)> = s
        .next_changes(o, utc("2026-03-25T12:00:00Z"), 4)
        .into_iter()
        .map(|c| (c.at.to_rfc3339(), c.kind, c.value))
        .collect();
    let storm = |start| {
        let (index, name) = (0, "quote storm".to_owned());
        if start {
            ChangeKind::IncidentStart { index, name }
        } else {
            ChangeKind::IncidentEnd { index, name }
        }
    };
    let nightly = |start| {
        let (index, name) = (1, "nightly".to_owned());
        if start {
            ChangeKind::IncidentStart { index, name }
        } else {
            ChangeKind::IncidentEnd { index, name }
        }
    };
    assert_eq!(
        changes,
        vec![
            ("2026-03-25T13:00:00+00:00".to_owned(), storm(true), 20.0),
            ("2026-03-25T13:30:00+00:00".to_owned(), storm(false), 10.0),
            ("2026-03-25T23:00:00+00:00".to_owned(), nightly(true), 5.0),
            ("2026-03-26T00:00:00+00:00".to_owned(), nightly(false), 10.0),
        ]
    );
    // While a window is open, its end comes first.
    let during = s.next_changes(o, utc("2026-03-25T13:10:00Z"), 1);
    assert_eq!(during[0].kind, storm(false));
}

#[test]
fn incident_windows_between_two_instants() {
    let s = shape(INCIDENTS);
    let tz = s.timezone;
    let storm = &s.incidents[0];
    let iso = |w: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>| {
        w.into_iter()
            .map(|(a, b)| (a.to_rfc3339(), b.to_rfc3339()))
            .collect::<Vec<_>>()
    };
    // From inside Wednesday's window to Monday: Wed (already open), Thu, Fri, then Monday's.
    let from = utc("2026-03-25T13:10:00Z");
    let to = utc("2026-03-30T12:30:00Z");
    let all = iso(storm.windows_between(tz, from, to, 10));
    assert_eq!(
        all,
        vec![
            (
                "2026-03-25T13:00:00+00:00".into(),
                "2026-03-25T13:30:00+00:00".into()
            ),
            (
                "2026-03-26T13:00:00+00:00".into(),
                "2026-03-26T13:30:00+00:00".into()
            ),
            (
                "2026-03-27T13:00:00+00:00".into(),
                "2026-03-27T13:30:00+00:00".into()
            ),
            // Summer time from Sunday: 14:00 in Berlin is 12:00 UTC.
            (
                "2026-03-30T12:00:00+00:00".into(),
                "2026-03-30T12:30:00+00:00".into()
            ),
        ]
    );
    assert_eq!(storm.windows_between(tz, from, to, 2).len(), 2, "capped");
    assert!(storm.windows_between(tz, to, from, 10).is_empty());
}

const BURSTS: &str = "constant: 100
bursts: { per_hour: 2, add: [20, 80], duration: [1m, 10m], seed: 7, spawn_rate: 10 }
";

#[test]
fn bursts_are_deterministic_and_bounded() {
    let a = shape(BURSTS);
    let b = shape(BURSTS);
    let other = shape(&BURSTS.replace("seed: 7", "seed: 8"));
    let (Some(ba), Some(bb), Some(bo)) = (&a.bursts, &b.bursts, &other.bursts) else {
        panic!("no bursts")
    };
    let mut differs = false;
    for hour in 490_000..490_200 {
        let x: Vec<_> = ba.in_hour(hour).collect();
        assert_eq!(x, bb.in_hour(hour).collect::<Vec<_>>());
        differs |= x != bo.in_hour(hour).collect::<Vec<_>>();
        for burst in &x {
            assert_eq!(burst.start.timestamp().div_euclid(3600), hour);
            let len = (burst.end - burst.start).num_seconds();
            assert!((60..=600).contains(&len), "{len}");
            assert!((20.0..=80.0).contains(&burst.size));
        }
    }
    assert!(differs);
}

#[test]
fn bursts_in_points_match_the_generated_list() {
    let s = shape(BURSTS);
    let Some(bursts) = &s.bursts else {
        panic!("no bursts")
    };
    let o = utc("2026-01-01T00:00:00Z");
    let mut seen_active = 0;
    for i in 0..3000 {
        let t = o + TimeDelta::seconds(i * 97);
        let hour = t.timestamp().div_euclid(3600);
        let (mut extra, mut n) = (0.0, 0);
        for h in hour - 7..=hour {
            for b in bursts.in_hour(h) {
                if b.start <= t && t < b.end {
                    extra += b.size;
                    n += 1;
                }
            }
        }
        let p = s.at(o, t);
        close(p.burst_extra, extra);
        assert_eq!(p.bursts, n);
        close(p.value, 100.0 + extra);
        assert_eq!(p.spawn_rate, if n > 0 { 10.0 } else { 1.0 });
        seen_active += usize::from(n > 0);
    }
    assert!(seen_active > 0);
    // The next changes are exactly the earliest burst edges after `t`.
    let t0 = utc("2026-01-01T05:00:00Z");
    let mut all = Vec::new();
    for h in t0.timestamp() / 3600 - 7..t0.timestamp() / 3600 + 30 {
        for b in bursts.in_hour(h) {
            all.extend(
                [(b.start, true), (b.end, false)]
                    .into_iter()
                    .filter(|(at, _)| *at > t0),
            );
        }
    }
    all.sort_by_key(|(at, _)| *at);
    for n in 1..12 {
        let got: Vec<_> = s.next_changes(o, t0, n).into_iter().map(|c| c.at).collect();
        let want: Vec<_> = all.iter().take(n).map(|(at, _)| *at).collect();
        assert_eq!(got, want, "n = {n}");
    }
    let t = utc("2026-01-01T05:00:00Z");
    let changes = s.next_changes(o, t, 6);
    assert_eq!(changes.len(), 6);
    assert!(changes.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(
        changes
            .iter()
            .all(|c| c.at > t && matches!(c.kind, ChangeKind::BurstStart | ChangeKind::BurstEnd))
    );
}

#[test]
fn burst_rate_and_time_share_match_the_parameters() {
    // 2 bursts an hour of 3 minutes each: 2 per hour on average, active 10% of the time.
    let s = shape("constant: 100\nbursts: { per_hour: 2, factor: 1.5, duration: 3m, seed: 42 }\n");
    let Some(bursts) = &s.bursts else {
        panic!("no bursts")
    };
    let hours = 20_000;
    let total: usize = (0..hours).map(|h| bursts.in_hour(h).count()).sum();
    #[allow(clippy::cast_precision_loss)]
    let mean = total as f64 / hours as f64;
    assert!((mean - 2.0).abs() < 0.05, "{mean}");
    let o = utc("1970-01-01T00:00:00Z");
    let samples = 20_000;
    let mut active = 0;
    for i in 0..samples {
        let p = s.at(o, o + TimeDelta::seconds(i * 433));
        if p.bursts > 0 {
            active += 1;
            // A factor burst adds half the base per running burst.
            close(p.burst_extra, 50.0 * f64::from(p.bursts));
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let share = f64::from(active) / samples as f64;
    assert!((share - 0.095).abs() < 0.015, "{share}");
}

#[test]
fn clock_scales_time_both_ways() {
    let start = utc("2026-01-01T00:00:00Z");
    let c = ShapeClock::new(start, 1440.0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.origin(), start);
    assert_eq!(c.to_virtual(start), start);
    assert_eq!(
        c.to_virtual(start + TimeDelta::seconds(60)),
        utc("2026-01-02T00:00:00Z")
    );
    assert_eq!(
        c.to_wall(utc("2026-01-02T00:00:00Z")),
        start + TimeDelta::seconds(60)
    );
    assert_eq!(
        c.real_duration(Duration::from_secs(86_400)),
        Duration::from_secs(60)
    );
    assert_eq!(
        c.virtual_duration(Duration::from_secs(1)),
        Duration::from_secs(1440)
    );
    let demo = ShapeClock::starting_at(start, utc("2026-06-01T06:00:00Z"), 60.0)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        demo.to_virtual(start + TimeDelta::minutes(1)),
        utc("2026-06-01T07:00:00Z")
    );
    // A shape evaluated on the real clock: a minute in, the virtual day is over.
    let s = shape("diurnal: { min_users: 0, max_users: 100, peak: 12 }\n");
    close(s.at_wall(&c, start + TimeDelta::seconds(30)).value, 100.0);
    close(s.at_wall(&c, start + TimeDelta::seconds(60)).value, 0.0);
    // Far-away instants saturate instead of overflowing.
    let far = ShapeClock::new(start, 100_000.0).unwrap_or_else(|e| panic!("{e}"));
    let _ = far.to_virtual(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let _ = far.to_wall(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    assert_eq!(ShapeClock::parse_scale("1440"), Ok(1440.0));
    for bad in ["0", "-1", "abc", "inf", "NaN", "1e9", ""] {
        assert!(ShapeClock::parse_scale(bad).is_err(), "{bad}");
    }
    assert!(ShapeClock::new(start, 0.0).is_err());
    assert!(ShapeClock::new(start, f64::NAN).is_err());
}
