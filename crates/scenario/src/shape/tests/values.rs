//! Exact values of each base at given instants, in several zones and on daylight saving
//! days.

use super::{close, shape, utc};
use crate::shape::{ArrivalGate, ArrivalPacer, ChangeKind, Model};
use std::time::Duration;

#[test]
fn constant_users() {
    let s = shape("constant: 50\n");
    let p = s.at(utc("2026-01-01T00:00:00Z"), utc("2026-06-01T12:00:00Z"));
    assert_eq!((p.users, p.spawn_rate, p.model), (50, 1.0, Model::Closed));
    assert!(p.active_incidents.is_empty() && !p.finished && p.stage.is_none());
    let s = shape("constant: { users: 10, spawn_rate: 2.5 }\n");
    let p = s.at(utc("2026-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z"));
    assert_eq!((p.users, p.spawn_rate), (10, 2.5));
}

const STAGES: &str = "stages:
  - { duration: 1m, users: 10, spawn_rate: 2 }
  - { duration: 2m, users: 20 }
  - { duration: 1m, users: 5, spawn_rate: 5 }
";

#[test]
fn stages_in_order_then_hold() {
    let s = shape(STAGES);
    let o = utc("2026-05-01T10:00:00Z");
    let at = |secs: i64| s.at(o, o + chrono::TimeDelta::seconds(secs));
    assert_eq!(
        (at(0).users, at(0).spawn_rate, at(0).stage),
        (10, 2.0, Some(0))
    );
    assert_eq!(at(59).users, 10);
    assert_eq!(
        (at(60).users, at(60).spawn_rate, at(60).stage),
        (20, 1.0, Some(1))
    );
    assert_eq!(at(179).users, 20);
    assert_eq!((at(180).users, at(180).stage), (5, Some(2)));
    assert!(!at(239).finished);
    let end = at(240);
    assert_eq!((end.users, end.stage, end.finished), (5, Some(2), true));
    assert_eq!(at(100_000).users, 5);
    // Before the run starts counts as the start.
    assert_eq!(s.at(o, utc("2026-05-01T09:00:00Z")).users, 10);
}

#[test]
fn stages_repeat() {
    let s = shape(&format!("{STAGES}repeat: true\n"));
    let o = utc("2026-05-01T10:00:00Z");
    let at = |secs: i64| s.at(o, o + chrono::TimeDelta::seconds(secs));
    assert_eq!(
        (at(240).users, at(240).stage, at(240).finished),
        (10, Some(0), false)
    );
    assert_eq!(at(301).users, 20);
    assert_eq!(at(240 * 1000 + 200).users, 5);
    let changes = s.next_changes(o, o + chrono::TimeDelta::seconds(30), 4);
    let got: Vec<(i64, ChangeKind, f64)> = changes
        .iter()
        .map(|c| ((c.at - o).num_seconds(), c.kind.clone(), c.value))
        .collect();
    assert_eq!(
        got,
        vec![
            (60, ChangeKind::StageStart { index: 1 }, 20.0),
            (180, ChangeKind::StageStart { index: 2 }, 5.0),
            (240, ChangeKind::StageStart { index: 0 }, 10.0),
            (300, ChangeKind::StageStart { index: 1 }, 20.0),
        ]
    );
}

#[test]
fn non_repeating_stages_announce_their_end() {
    let s = shape(STAGES);
    let o = utc("2026-05-01T10:00:00Z");
    let kinds: Vec<ChangeKind> = s
        .next_changes(o, o + chrono::TimeDelta::seconds(200), 10)
        .into_iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(kinds, vec![ChangeKind::StagesEnd]);
    assert!(
        s.next_changes(o, o + chrono::TimeDelta::hours(1), 10)
            .is_empty()
    );
}

const BERLIN: &str = "timezone: Europe/Berlin
diurnal: { min_users: 10, max_users: 110, peak: \"14:00\" }
";

/// 10 + 100 * (1 + cos(2π h / 24)) / 2: the value `h` hours from a 14:00 peak.
fn one_peak(h: f64) -> f64 {
    10.0 + 100.0 * (1.0 + (2.0 * std::f64::consts::PI * h / 24.0).cos()) / 2.0
}

#[test]
fn diurnal_follows_local_time_in_winter_and_summer() {
    let s = shape(BERLIN);
    let o = utc("2026-01-01T00:00:00Z");
    // Wednesday 25 March 2026, CET (UTC+1): the peak is at 13:00 UTC.
    close(s.at(o, utc("2026-03-25T13:00:00Z")).value, 110.0);
    close(s.at(o, utc("2026-03-25T01:00:00Z")).value, 10.0);
    close(s.at(o, utc("2026-03-25T16:00:00Z")).value, one_peak(3.0));
    assert_eq!(s.at(o, utc("2026-03-25T13:00:00Z")).users, 110);
    // Wednesday 1 July 2026, CEST (UTC+2): the peak is at 12:00 UTC.
    close(s.at(o, utc("2026-07-01T12:00:00Z")).value, 110.0);
    close(s.at(o, utc("2026-07-01T13:00:00Z")).value, one_peak(1.0));
}

#[test]
fn diurnal_on_berlin_daylight_saving_days() {
    let s = shape(BERLIN);
    let o = utc("2026-01-01T00:00:00Z");
    // Sunday 29 March 2026: 02:00 CET jumps to 03:00 CEST (a 23-hour day).
    // 00:59 UTC is 01:59 CET, 01:00 UTC is 03:00 CEST.
    close(
        s.at(o, utc("2026-03-29T00:59:00Z")).value,
        one_peak(-12.0 - 1.0 / 60.0),
    );
    close(s.at(o, utc("2026-03-29T01:00:00Z")).value, one_peak(-11.0));
    // The peak is still at local 14:00, now 12:00 UTC.
    close(s.at(o, utc("2026-03-29T12:00:00Z")).value, 110.0);
    close(s.at(o, utc("2026-03-29T13:00:00Z")).value, one_peak(1.0));
    // Sunday 25 October 2026: 03:00 CEST goes back to 02:00 CET (a 25-hour day). Local
    // 02:30 happens twice, with the same value.
    let first = s.at(o, utc("2026-10-25T00:30:00Z")).value;
    let second = s.at(o, utc("2026-10-25T01:30:00Z")).value;
    close(first, one_peak(-11.5));
    close(second, first);
    close(s.at(o, utc("2026-10-25T13:00:00Z")).value, 110.0);
    // The change list puts the peaks at the right UTC instants.
    let peaks: Vec<_> = s
        .next_changes(o, utc("2026-03-28T18:00:00Z"), 4)
        .into_iter()
        .filter(|c| c.kind == ChangeKind::Peak)
        .map(|c| c.at)
        .collect();
    assert_eq!(
        peaks,
        vec![utc("2026-03-29T12:00:00Z"), utc("2026-03-30T12:00:00Z")]
    );
}

#[test]
fn diurnal_on_new_york_daylight_saving_days() {
    let s =
        shape("timezone: America/New_York\ndiurnal: { min_users: 10, max_users: 110, peak: 14 }\n");
    let o = utc("2026-01-01T00:00:00Z");
    // Saturday 7 March 2026, EST (UTC-5).
    close(s.at(o, utc("2026-03-07T19:00:00Z")).value, 110.0);
    // Sunday 8 March 2026: 02:00 EST jumps to 03:00 EDT (UTC-4).
    close(s.at(o, utc("2026-03-08T18:00:00Z")).value, 110.0);
    close(s.at(o, utc("2026-03-08T19:00:00Z")).value, one_peak(1.0));
    close(s.at(o, utc("2026-03-08T07:00:00Z")).value, one_peak(-11.0)); // 03:00 EDT
    // Sunday 1 November 2026: 02:00 EDT goes back to 01:00 EST.
    close(s.at(o, utc("2026-11-01T19:00:00Z")).value, 110.0);
    let a = s.at(o, utc("2026-11-01T05:30:00Z")).value; // 01:30 EDT
    let b = s.at(o, utc("2026-11-01T06:30:00Z")).value; // 01:30 EST
    close(a, b);
    close(a, one_peak(-12.5));
    // The sampled curve over that 25-hour day peaks at 19:00 UTC.
    let curve = s.curve(
        o,
        utc("2026-11-01T04:00:00Z"),
        utc("2026-11-02T05:00:00Z"),
        Duration::from_secs(900),
    );
    assert_eq!(curve.len(), 101);
    let best = curve.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(best.map(|p| p.0), Some(utc("2026-11-01T19:00:00Z")));
}

#[test]
fn two_peaks_with_a_dip() {
    let s = shape(
        "diurnal: { min_users: 0, max_users: 100, peak: [\"15:00\", \"10:30\"], dip: 0.6 }\n",
    );
    let o = utc("2026-01-01T00:00:00Z");
    close(s.at(o, utc("2026-06-03T10:30:00Z")).value, 100.0);
    close(s.at(o, utc("2026-06-03T15:00:00Z")).value, 100.0);
    // Halfway between the peaks: the dip.
    close(s.at(o, utc("2026-06-03T12:45:00Z")).value, 60.0);
    // The night trough: halfway along the 19.5 hours from 15:00 to 10:30.
    close(s.at(o, utc("2026-06-04T00:45:00Z")).value, 0.0);
    // A quarter of the way from 10:30 to the dip: 60 + 40 * (1 + cos(π/2)) / 2.
    close(s.at(o, utc("2026-06-03T11:37:30Z")).value, 80.0);
    let kinds: Vec<(String, ChangeKind)> = s
        .next_changes(o, utc("2026-06-03T09:00:00Z"), 4)
        .into_iter()
        .map(|c| (c.at.format("%H:%M").to_string(), c.kind))
        .collect();
    let expected = [
        ("10:30", ChangeKind::Peak),
        ("12:45", ChangeKind::Trough),
        ("15:00", ChangeKind::Peak),
        ("00:45", ChangeKind::Trough),
    ];
    let expected: Vec<(String, ChangeKind)> = expected
        .into_iter()
        .map(|(t, k)| (t.to_owned(), k))
        .collect();
    assert_eq!(kinds, expected);
}

#[test]
fn weekday_factors_and_holidays() {
    let s = shape(
        "timezone: Europe/Berlin
diurnal:
  min_users: 10
  max_users: 110
  peak: \"14:00\"
  weekdays: { sat: 0.5, sun: 0 }
  holidays:
    factor: 0.2
    dates: [2026-12-25, \"01-01\", { date: 2026-12-24, factor: 0.6 }]
",
    );
    let o = utc("2026-01-01T00:00:00Z");
    let peak = |day: &str| s.at(o, utc(&format!("{day}T13:00:00Z"))).value;
    close(peak("2026-12-23"), 110.0); // Wednesday
    close(peak("2026-12-24"), 70.0); // holiday with its own factor
    close(peak("2026-12-25"), 30.0); // holiday, default factor 0.2
    close(peak("2026-12-26"), 60.0); // Saturday
    close(peak("2026-12-27"), 10.0); // Sunday: minimum all day
    close(peak("2027-01-01"), 30.0); // yearly holiday
    close(peak("2028-01-01"), 30.0);
    // The day boundary is local midnight: 23:30 UTC on the 25th is already the 26th.
    let evening = s.at(o, utc("2026-12-25T23:30:00Z")).value;
    close(
        evening,
        10.0 + 100.0 * 0.5 * (1.0 - (std::f64::consts::PI / 8.0).cos()) / 2.0,
    );
}

#[test]
fn open_constant_and_ramping() {
    let s = shape("open: { rate: 5, max_users: 100 }\n");
    let o = utc("2026-01-01T00:00:00Z");
    let p = s.at(o, o);
    assert_eq!(
        p.model,
        Model::Open {
            iterations: 1,
            max_users: 100
        }
    );
    assert_eq!((p.arrivals_per_sec, p.users, p.spawn_rate), (5.0, 100, 0.0));
    let s = shape(
        "open:
  start_rate: 0
  stages:
    - { duration: 1m, rate: 10 }
    - { duration: 2m, rate: 10 }
    - { duration: 1m, rate: 0 }
  max_users: 50
  iterations: 3
",
    );
    let at = |secs: i64| s.at(o, o + chrono::TimeDelta::seconds(secs));
    close(at(30).arrivals_per_sec, 5.0);
    close(at(90).arrivals_per_sec, 10.0);
    close(at(210).arrivals_per_sec, 5.0);
    let end = at(300);
    assert!(end.finished);
    close(end.arrivals_per_sec, 0.0);
    assert_eq!(
        end.model,
        Model::Open {
            iterations: 3,
            max_users: 50
        }
    );
    let repeating = shape(
        "open: { stages: [{ duration: 10s, rate: 4 }], start_rate: 2, repeat: true, max_users: 5 }\n",
    );
    let at = |secs: i64| repeating.at(o, o + chrono::TimeDelta::seconds(secs));
    close(at(5).arrivals_per_sec, 3.0);
    close(at(15).arrivals_per_sec, 3.0);
    assert!(!at(15).finished);
}

#[test]
fn arrival_gate_counts_drops() {
    let mut g = ArrivalGate::new(2);
    assert!(g.arrive() && g.arrive());
    assert!(!g.arrive());
    assert_eq!((g.active(), g.arrived(), g.dropped()), (2, 2, 1));
    g.leave();
    assert!(g.arrive());
    g.set_max(1);
    assert!(!g.arrive());
    assert_eq!(g.dropped(), 2);
    for _ in 0..5 {
        g.leave();
    }
    assert_eq!(g.active(), 0);
}

#[test]
fn arrival_pacer_keeps_fractions() {
    let mut p = ArrivalPacer::new();
    let tick = Duration::from_secs(1);
    let got: Vec<u64> = (0..10).map(|_| p.due(0.3, tick)).collect();
    assert_eq!(got, vec![0, 0, 0, 1, 0, 0, 1, 0, 0, 1]);
    let mut p = ArrivalPacer::new();
    let total: u64 = (0..1000)
        .map(|_| p.due(25.0, Duration::from_millis(100)))
        .sum();
    assert_eq!(total, 2500);
    // A stall is not made up for with a flood; nonsense rates count as 0.
    assert_eq!(p.due(10.0, Duration::from_secs(3600)), 11);
    assert_eq!(p.due(f64::NAN, tick), 0);
    assert_eq!(p.due(-5.0, tick), 0);
}

#[test]
fn curve_is_capped() {
    let s = shape(BERLIN);
    let o = utc("2026-01-01T00:00:00Z");
    let c = s.curve(
        o,
        utc("2026-01-01T00:00:00Z"),
        utc("2027-01-01T00:00:00Z"),
        Duration::from_secs(1),
    );
    assert!(
        c.len() <= crate::shape::MAX_CURVE_POINTS && c.len() > 1900,
        "{}",
        c.len()
    );
    assert!(c.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(c[0].0, utc("2026-01-01T00:00:00Z"));
    // Backwards or empty ranges give at most the first point.
    assert!(
        s.curve(o, utc("2026-02-01T00:00:00Z"), o, Duration::ZERO)
            .is_empty()
    );
    assert_eq!(s.curve(o, o, o, Duration::ZERO).len(), 1);
    assert!(s.next_changes(o, o, 1000).len() <= crate::shape::MAX_CHANGES);
}
