use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;
use crate::key::{Failure, FailureKind};

const T0: u64 = 1_700_000_000; // a minute boundary + 20 s; arbitrary but fixed

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn key(method: &str, name: &str) -> RequestKey {
    RequestKey::new(method, name)
}

/// An interval with `n` requests of `ms` milliseconds for each key.
fn interval(keys: &[RequestKey], n: u64, ms: u64) -> Interval {
    let mut i = Interval::new();
    for k in keys {
        for _ in 0..n {
            i.record(k, Duration::from_millis(ms), 100, None);
        }
    }
    i
}

fn small(max_entries: usize, max_failures: usize) -> StatsConfig {
    StatsConfig {
        max_entries,
        max_failures,
        ..StatsConfig::default()
    }
}

#[test]
fn apply_accumulates_and_snapshots() {
    let mut stats = Stats::new(StatsConfig::default());
    let a = key("GET", "/b");
    let b = key("POST", "/a");
    let f = Failure::new(FailureKind::Status, "HTTP 500");
    let mut i = interval(std::slice::from_ref(&a), 3, 10);
    i.record(&b, Duration::from_millis(30), 1000, Some(&f));
    stats.apply(i, at(T0), 5);
    stats.apply(interval(std::slice::from_ref(&a), 1, 50), at(T0 + 1), 5);

    assert_eq!(stats.total_requests(), 5);
    assert_eq!(stats.total_failures(), 1);
    assert!((stats.fail_ratio() - 0.2).abs() < 1e-12);
    let s = stats.snapshot();
    // Sorted by name: "/a" before "/b".
    let names: Vec<&str> = s.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["/a", "/b"]);
    let eb = &s.entries[1];
    assert_eq!((eb.requests, eb.failures, eb.bytes), (4, 0, 400));
    assert!((eb.avg_ms - 20.0).abs() < 1e-9);
    assert!((eb.min_ms - 10.0).abs() < 1e-9 && (eb.max_ms - 50.0).abs() < 1e-9);
    assert!((eb.p50_ms - 10.0).abs() < 0.02, "{}", eb.p50_ms);
    assert!((eb.percentiles.0[10] - 50.0).abs() < 1e-9);
    assert_eq!(s.total.name, AGGREGATED_NAME);
    assert_eq!(s.total.method, "");
    assert_eq!(s.total.requests, 5);
    // Two seconds since the first interval started (T0 - 1 .. T0 + 1).
    assert_eq!(s.start_time, Some(T0 - 1));
    assert_eq!(s.end_time, Some(T0 + 1));
    assert!((s.duration_secs - 2.0).abs() < 1e-9);
    assert!((s.total.rps - 2.5).abs() < 1e-9);
    assert_eq!(s.users, 5);
    assert_eq!(
        s.failures,
        vec![FailureSnapshot {
            method: "POST".into(),
            name: "/a".into(),
            reason: "HTTP 500".into(),
            kind: "status".into(),
            count: 1,
            first_seen: T0,
            last_seen: T0,
        }]
    );
}

#[test]
fn failures_remember_first_and_last_seen() {
    let mut stats = Stats::new(StatsConfig::default());
    let k = key("GET", "/x");
    let f = Failure::new(FailureKind::Timeout, "timed out");
    let failing = || {
        let mut i = Interval::new();
        i.record(&k, Duration::from_millis(5), 0, Some(&f));
        i
    };
    stats.apply(failing(), at(T0), 1);
    stats.apply(interval(std::slice::from_ref(&k), 1, 5), at(T0 + 1), 1);
    stats.apply(failing(), at(T0 + 7), 1);
    let s = stats.snapshot();
    assert_eq!(s.failures.len(), 1);
    let row = &s.failures[0];
    assert_eq!((row.count, row.first_seen, row.last_seen), (2, T0, T0 + 7));
    // A clock that steps back never makes first_seen later than last_seen.
    stats.apply(failing(), at(T0 - 100), 1);
    let row = &stats.snapshot().failures[0];
    assert_eq!((row.first_seen, row.last_seen), (T0 - 100, T0 + 7));
    // A reset forgets them.
    stats.reset();
    assert!(stats.snapshot().failures.is_empty());
}

#[test]
fn current_rates_cover_the_window() {
    let mut stats = Stats::new(StatsConfig {
        current_window: 10,
        ..StatsConfig::default()
    });
    let k = key("GET", "/");
    // 5 seconds of 10 req/s: the window holds only 5 seconds so far.
    for s in 0..5 {
        stats.apply(interval(std::slice::from_ref(&k), 10, 1), at(T0 + s), 1);
    }
    assert!((stats.snapshot().total.current_rps - 10.0).abs() < 1e-9);
    // Then 20 seconds of 2 req/s: the window forgets the first phase.
    for s in 5..25 {
        stats.apply(interval(std::slice::from_ref(&k), 2, 1), at(T0 + s), 1);
    }
    let s = stats.snapshot();
    assert!((s.total.current_rps - 2.0).abs() < 1e-9);
    assert!((s.entries[0].current_rps - 2.0).abs() < 1e-9);
    // Average over the run: (50 + 40) / 25 s.
    assert!((s.total.rps - 90.0 / 25.0).abs() < 1e-9);
    // A row that stops receiving requests drops to 0 current req/s.
    for s in 25..40 {
        stats.apply(Interval::new(), at(T0 + s), 1);
    }
    assert_eq!(stats.snapshot().entries[0].current_rps, 0.0);
}

#[test]
fn entry_cap_uses_one_overflow_row_and_warns_once() {
    let mut stats = Stats::new(small(2, 500));
    let keys: Vec<RequestKey> = (0..5).map(|n| key("GET", &format!("/{n}"))).collect();
    stats.apply(interval(&keys, 1, 1), at(T0), 1);
    assert_eq!(stats.entry_count(), 3);
    let s = stats.snapshot();
    assert!(s.entries_truncated);
    let other = s
        .entries
        .iter()
        .find(|e| e.method == OVERFLOW_METHOD && e.name == OVERFLOW_ENTRY_NAME);
    assert_eq!(other.map(|e| e.requests), Some(3));
    assert_eq!(s.total.requests, 5);
    let w = stats.take_overflow_warning();
    assert!(
        w.as_deref().is_some_and(|w| w.contains("row limit (2)")),
        "{w:?}"
    );
    assert_eq!(stats.take_overflow_warning(), None);

    // Known rows keep counting, new ones keep overflowing, no new warning.
    stats.apply(interval(&keys, 1, 1), at(T0 + 1), 1);
    assert_eq!(stats.entry_count(), 3);
    assert_eq!(stats.take_overflow_warning(), None);

    // After a reset the cap may be reached (and reported) again.
    stats.reset();
    assert!(!stats.snapshot().entries_truncated);
    stats.apply(interval(&keys, 1, 1), at(T0 + 2), 1);
    assert!(stats.take_overflow_warning().is_some());
}

#[test]
fn overflow_row_from_a_recorder_warns() {
    let mut stats = Stats::new(StatsConfig::default());
    stats.apply(interval(&[RequestKey::overflow()], 1, 1), at(T0), 1);
    assert!(stats.snapshot().entries_truncated);
    assert!(stats.take_overflow_warning().is_some());
}

#[test]
fn failure_cap_uses_one_overflow_row() {
    let mut stats = Stats::new(small(1000, 3));
    let k = key("GET", "/x");
    let mut i = Interval::new();
    for n in 0..10 {
        let f = Failure::new(FailureKind::Check, format!("check {n} failed"));
        i.record(&k, Duration::from_millis(1), 0, Some(&f));
    }
    stats.apply(i, at(T0), 1);
    let s = stats.snapshot();
    assert_eq!(s.failures.len(), 4);
    assert!(s.failures_truncated);
    assert_eq!(s.failures.iter().map(|f| f.count).sum::<u64>(), 10);
    assert_eq!(s.failures[0].count, 7);
    assert_eq!(s.failures[0].name, OVERFLOW_FAILURE_NAME);
    // Row failure counts are not affected by the failure-row cap.
    assert_eq!(s.total.failures, 10);
    assert!(
        stats
            .take_overflow_warning()
            .is_some_and(|w| w.contains("failure row limit"))
    );
}

#[test]
fn history_rings_are_bounded() {
    let mut stats = Stats::new(StatsConfig {
        history_len: 5,
        long_history_len: 2,
        ..StatsConfig::default()
    });
    let k = key("GET", "/");
    // Start on a minute boundary and run 4 minutes and a bit.
    let start = T0 - T0 % 60;
    for s in 0..250 {
        stats.apply(interval(std::slice::from_ref(&k), 2, 10), at(start + s), 3);
    }
    let history: Vec<_> = stats.history().collect();
    assert_eq!(history.len(), 5);
    assert_eq!(history[4].timestamp, start + 249);
    assert_eq!(stats.last_point().map(|p| p.timestamp), Some(start + 249));
    let last = history[4];
    assert_eq!(last.users, 3);
    assert!((last.rps - 2.0).abs() < 1e-9);
    assert!((last.p50_ms - 10.0).abs() < 0.1, "{}", last.p50_ms);
    assert_eq!(last.window_requests, 20);
    assert_eq!(last.total_requests, 500);
    // Four complete minutes, only the last two kept.
    let long: Vec<_> = stats.long_history().collect();
    assert_eq!(long.len(), 2);
    assert_eq!(long[0].timestamp, start + 120);
    assert_eq!(long[1].timestamp, start + 180);
    assert!((long[1].rps - 2.0).abs() < 1e-9);
    assert_eq!(long[1].window_requests, 120);
}

#[test]
fn reset_clears_counts_but_keeps_history() {
    let mut stats = Stats::new(StatsConfig::default());
    let f = Failure::new(FailureKind::Timeout, "timeout");
    let mut i = interval(&[key("GET", "/")], 4, 5);
    i.record(&key("GET", "/"), Duration::from_secs(1), 0, Some(&f));
    stats.apply(i, at(T0), 1);
    stats.apply(Interval::new(), at(T0 + 1), 1);
    stats.reset();
    assert_eq!(stats.total_requests(), 0);
    assert_eq!(stats.total_failures(), 0);
    assert_eq!(stats.entry_count(), 0);
    let s = stats.snapshot();
    assert!(s.entries.is_empty() && s.failures.is_empty());
    assert_eq!(s.start_time, None);
    assert_eq!(s.total.current_rps, 0.0);
    assert_eq!(stats.history().count(), 2);
    // Counting restarts from the next interval.
    stats.apply(interval(&[key("GET", "/")], 1, 5), at(T0 + 10), 1);
    assert_eq!(stats.total_requests(), 1);
    assert_eq!(stats.snapshot().start_time, Some(T0 + 9));
}

#[test]
fn percentiles_are_sane() {
    let mut stats = Stats::new(StatsConfig::default());
    let k = key("GET", "/");
    let mut i = Interval::new();
    for ms in 1..=1000 {
        i.record(&k, Duration::from_millis(ms), 0, None);
    }
    stats.apply(i, at(T0), 1);
    let e = &stats.snapshot().entries[0];
    let expected = [
        500.0, 660.0, 750.0, 800.0, 900.0, 950.0, 980.0, 990.0, 999.0, 1000.0, 1000.0,
    ];
    // A thousand distinct latencies are more buckets than a row keeps: its histogram has
    // coarsened to level 5, whose groups are at most 1/32 of their values wide, and a percentile
    // is the highest value of its group.
    assert_eq!(stats.entries[&k].hist.level(), 5);
    for (got, want) in e.percentiles.0.iter().zip(expected) {
        assert!(*got >= want && *got <= want * 1.032, "{got} vs {want}");
    }
    assert_eq!(e.p50_ms, e.percentiles.0[0]);
    assert_eq!(e.p95_ms, e.percentiles.0[5]);
    assert_eq!(e.p99_ms, e.percentiles.0[7]);

    // A single request: every percentile is that request.
    let mut stats = Stats::new(StatsConfig::default());
    stats.apply(interval(&[k], 1, 123), at(T0), 1);
    let e = &stats.snapshot().entries[0];
    assert!(
        e.percentiles.0.iter().all(|&v| (v - 123.0).abs() < 1e-9),
        "{:?}",
        e.percentiles
    );
}

#[test]
fn row_histograms_stay_within_their_budget() {
    // One row, an hour of one request of a new latency every second: 3,600 distinct
    // 3-digit buckets between 1 ms and ~1.3 s without a budget.
    let mut stats = Stats::new(StatsConfig::default());
    let k = key("GET", "/");
    let mut exact = Vec::new();
    for s in 0..3_600u64 {
        let us = 1_000 + s * s / 10;
        let mut i = Interval::new();
        i.record(&k, Duration::from_micros(us), 0, None);
        stats.apply(i, at(T0 + s), 1);
        exact.push(us);
    }
    for row in [&stats.entries[&k], &stats.total] {
        assert!(row.hist.buckets() <= crate::entry::ROW_BUCKETS);
        assert!(row.hist.heap_bytes() <= 3_300, "{}", row.hist.heap_bytes());
        assert_eq!(row.hist.len(), 3_600);
    }
    // Ten and a bit powers of two, all of them used: 32 groups each (level 5) is too many for
    // 256 buckets, so level 6, groups at most 1/16 of their values wide.
    assert_eq!(stats.entries[&k].hist.level(), 6);
    let e = &stats.snapshot().entries[0];
    for (q, got) in [(0.5, e.p50_ms), (0.95, e.p95_ms), (0.99, e.p99_ms)] {
        let want = exact[(q * 3_600.0) as usize - 1] as f64 / 1000.0;
        assert!(
            got >= want * 0.999 && got <= want * 1.0625,
            "p{q}: {got} vs {want}"
        );
    }
}

#[test]
fn empty_stats_snapshot() {
    let stats = Stats::new(StatsConfig::default());
    let s = stats.snapshot();
    assert_eq!(s.total.requests, 0);
    assert_eq!(s.total.min_ms, 0.0);
    assert_eq!(s.total.rps, 0.0);
    assert_eq!(s.duration_secs, 0.0);
    assert_eq!(stats.fail_ratio(), 0.0);
    assert!(stats.history().next().is_none());
}

#[test]
fn zero_sized_config_does_not_panic() {
    let mut stats = Stats::new(StatsConfig {
        max_entries: 0,
        max_failures: 0,
        history_len: 0,
        current_window: 0,
        long_history_len: 0,
    });
    let f = Failure::new(FailureKind::Other, "x");
    for s in 0..130 {
        let mut i = interval(&[key("GET", "/")], 1, 1);
        i.record(&key("GET", "/"), Duration::ZERO, 0, Some(&f));
        stats.apply(i, at(T0 + s), 1);
    }
    assert_eq!(stats.entry_count(), 1);
    assert_eq!(stats.total_requests(), 260);
    assert_eq!(stats.history().count(), 0);
    assert_eq!(stats.long_history().count(), 0);
    assert_eq!(stats.snapshot().failures.len(), 1);
}

proptest! {
    // Debug builds of hdrhistogram and flate2 are slow; fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Applying intervals one by one or merged first gives the same cumulative rows.
    #[test]
    fn apply_is_additive(
        items in proptest::collection::vec((0u8..5, 0u64..2_000_000, any::<bool>()), 1..200),
        split in 0usize..200,
    ) {
        let f = Failure::new(FailureKind::Status, "HTTP 500");
        let mut a = Interval::new();
        let mut b = Interval::new();
        for (n, &(k, us, failed)) in items.iter().enumerate() {
            let target = if n < split { &mut a } else { &mut b };
            target.record(&key("GET", &format!("/{k}")), Duration::from_micros(us), us % 7, failed.then_some(&f));
        }
        let mut separate = Stats::new(StatsConfig::default());
        separate.apply(a.clone(), at(T0), 1);
        separate.apply(b.clone(), at(T0 + 1), 1);
        let mut merged = Stats::new(StatsConfig::default());
        a.merge(b);
        merged.apply(a, at(T0 + 1), 1);
        let (s1, s2) = (separate.snapshot(), merged.snapshot());
        prop_assert_eq!(s1.total_requests, items.len() as u64);
        prop_assert_eq!(s1.entries.len(), s2.entries.len());
        for (x, y) in s1.entries.iter().zip(&s2.entries) {
            prop_assert_eq!((&x.name, x.requests, x.failures, x.bytes), (&y.name, y.requests, y.failures, y.bytes));
            prop_assert_eq!(x.percentiles, y.percentiles);
            prop_assert!(x.percentiles.0.windows(2).all(|w| w[0] <= w[1]));
        }
        // Counts add up; first/last seen differ by design (the intervals were applied at
        // different times).
        let counts = |s: &Snapshot| -> Vec<(String, String, String, u64)> {
            s.failures.iter().map(|f| (f.method.clone(), f.name.clone(), f.reason.clone(), f.count)).collect()
        };
        prop_assert_eq!(counts(&s1), counts(&s2));
    }
}

#[test]
fn latency_buckets_are_cumulative_and_bounded_by_requests() {
    let mut stats = Stats::new(StatsConfig::default());
    let a = key("GET", "/a");
    stats.apply(interval(std::slice::from_ref(&a), 3, 10), at(T0), 1);
    stats.apply(interval(std::slice::from_ref(&a), 2, 200), at(T0 + 1), 1);
    let rows = stats.latency_buckets(&[5_000, 50_000, 500_000]);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.method.as_str(), r.name.as_str()), ("GET", "/a"));
    assert_eq!(r.count, 5);
    assert_eq!(r.sum_us, 3 * 10_000 + 2 * 200_000);
    assert_eq!(r.at_or_below, vec![0, 3, 5]);
    // A bound equal to a recorded value counts it.
    assert_eq!(stats.latency_buckets(&[10_000])[0].at_or_below, vec![3]);
    assert!(
        Stats::new(StatsConfig::default())
            .latency_buckets(&[1])
            .is_empty()
    );
}

#[test]
fn admission_closes_when_full_and_opens_on_reset() {
    let admission = crate::Admission::new();
    let mut stats = Stats::new(small(2, 10));
    stats.publish_admission(admission.clone());
    assert!(!admission.is_closed());
    stats.apply(interval(&[key("GET", "/a")], 1, 1), at(1), 1);
    assert!(!admission.is_closed());
    stats.apply(
        interval(&[key("GET", "/b"), key("GET", "/c")], 1, 1),
        at(2),
        1,
    );
    assert!(admission.is_closed());
    let (_, rows) = admission.current();
    let rows = rows.expect("closed");
    assert!(rows.contains(&key("GET", "/a")));
    assert_eq!(rows.iter().filter(|k| !k.is_overflow()).count(), 2);
    assert!(!rows.contains(&key("GET", "/c")) || !rows.contains(&key("GET", "/b")));
    stats.reset();
    assert!(!admission.is_closed());
    assert_eq!(admission.limit(), Some(2));
}
