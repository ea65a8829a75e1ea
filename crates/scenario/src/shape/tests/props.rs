//! Property tests: evaluation never panics and stays within bounds at any instant chrono
//! can represent, and arbitrary shape text never panics the parser.

use super::shape;
use crate::shape::{MAX_CHANGES, MAX_CURVE_POINTS, Shape};
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use std::time::Duration;

const SHAPES: &[&str] = &[
    "timezone: Europe/Berlin
diurnal:
  min_users: 5
  max_users: 500
  peak: [\"10:30\", \"15:00\"]
  weekdays: { sat: 0.5, sun: 0.2 }
  holidays: { factor: 0.1, dates: [2026-12-25, \"01-01\"] }
bursts: { per_hour: 3, factor: [1.5], duration: [1m, 6h] }
incidents:
  - { name: a, cron: \"*/7 * * * *\", duration: 7d, users_factor: 3 }
  - { name: b, cron: \"0 0 29 2 *\", duration: 1h, users_factor: 0 }
  - { name: c, cron: \"30 2 * * sun\", duration: 90m, weights: { X: 2 } }
",
    "stages: [{ duration: 1s, users: 1 }, { duration: 365d, users: 10000000 }]
repeat: true
bursts: { per_hour: 60, add: [0, 10000000], duration: 6h }
",
    "timezone: America/New_York
open:
  start_rate: 1000000
  stages: [{ duration: 1ms, rate: 0 }, { duration: 1s, rate: 1000000 }]
  max_users: 10000000
bursts: { per_hour: 0.01, factor: 1000, duration: 1s }
",
];

/// Any instant chrono can represent, in milliseconds.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let lo = DateTime::<Utc>::MIN_UTC.timestamp_millis();
    let hi = DateTime::<Utc>::MAX_UTC.timestamp_millis();
    prop_oneof![
        lo..=hi,
        // Mostly the present era, where schedules actually fire.
        0i64..=4_102_444_800_000,
    ]
    .prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

fn shapes() -> Vec<Shape> {
    SHAPES
        .iter()
        .map(|s| shape(s.replace("[1.5]", "1.5").as_str()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn evaluation_is_total_and_bounded(origin in instant(), t in instant(), n in 0usize..200) {
        for s in shapes() {
            let p = s.at(origin, t);
            prop_assert!(p.value.is_finite() && p.value >= 0.0, "{p:?}");
            prop_assert!(p.active_incidents.len() <= s.incidents.len());
            prop_assert_eq!(&p, &s.at(origin, t));
            let changes = s.next_changes(origin, t, n);
            prop_assert!(changes.len() <= n.min(MAX_CHANGES));
            prop_assert!(changes.iter().all(|c| c.at > t && c.value.is_finite()));
            prop_assert!(changes.windows(2).all(|w| w[0].at <= w[1].at));
            let to = t.checked_add_signed(chrono::TimeDelta::days(30)).unwrap_or(t);
            let curve = s.curve(origin, t, to, Duration::from_secs(3600));
            prop_assert!(!curve.is_empty() && curve.len() <= MAX_CURVE_POINTS);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = crate::parse_shape_str(&text, "p.yaml");
    }
}
