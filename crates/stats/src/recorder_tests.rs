use std::thread;

use super::*;
use crate::key::FailureKind;

fn key(name: &str) -> RequestKey {
    RequestKey::new("GET", name)
}

fn slots_in_use(r: &Recorder) -> usize {
    r.inner
        .shards
        .iter()
        .map(|s| lock(&s.active).slots.len() + lock(&s.spare).slots.len())
        .sum()
}

#[test]
fn record_and_take() {
    let r = Recorder::new();
    let f = Failure::new(FailureKind::Timeout, "timed out");
    r.record(&key("/a"), Duration::from_millis(5), 10, None);
    r.record(&key("/a"), Duration::from_millis(15), 20, Some(&f));
    r.record(&key("/b"), Duration::from_millis(1), 0, None);
    let i = r.take();
    assert_eq!(i.request_count(), 3);
    assert_eq!(i.failure_count(), 1);
    let a = i.entry(&key("/a")).cloned().unwrap_or_default();
    assert_eq!(
        (
            a.count(),
            a.failures(),
            a.sum_us(),
            a.min_us(),
            a.max_us(),
            a.bytes()
        ),
        (2, 1, 20_000, Some(5_000), 15_000, 30)
    );
    assert_eq!(a.histogram().len(), 2);
    let failures: Vec<_> = i
        .failures()
        .map(|(k, f, c)| (k.clone(), f.clone(), c))
        .collect();
    assert_eq!(failures, vec![(key("/a"), f, 1)]);

    // The next interval starts empty and slots are reused.
    assert!(r.take().is_empty());
    r.record(&key("/a"), Duration::from_millis(7), 0, None);
    let i = r.take();
    assert_eq!(i.request_count(), 1);
    assert_eq!(i.entry(&key("/a")).and_then(|e| e.min_us()), Some(7_000));
}

#[test]
fn same_as_direct_interval_recording() {
    let r = Recorder::new();
    let mut direct = Interval::new();
    let f = Failure::new(FailureKind::Status, "HTTP 500");
    for n in 0..500u64 {
        let k = key(&format!("/{}", n % 5));
        let failure = (n % 7 == 0).then_some(&f);
        let d = Duration::from_micros(n * 997);
        r.record(&k, d, n, failure);
        direct.record(&k, d, n, failure);
    }
    assert_eq!(r.take(), direct);
}

#[test]
fn many_threads_lose_nothing() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 20_000;
    let r = Recorder::with_config(RecorderConfig {
        shards: 4, // fewer shards than threads: shared shards must be exact too
        ..RecorderConfig::default()
    });
    let f = Failure::new(FailureKind::Connect, "refused");
    let mut total = Interval::new();
    thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let r = r.clone();
                let f = f.clone();
                s.spawn(move || {
                    let keys: Vec<RequestKey> = (0..10).map(|k| key(&format!("/{k}"))).collect();
                    for n in 0..PER_THREAD {
                        let failure = (n % 10 == 0).then_some(&f);
                        r.record(
                            &keys[((n + t) % 10) as usize],
                            Duration::from_micros(n),
                            1,
                            failure,
                        );
                    }
                })
            })
            .collect();
        // Take concurrently with the recording threads.
        while !handles.iter().all(|h| h.is_finished()) {
            total.merge(r.take());
            thread::yield_now();
        }
    });
    total.merge(r.take());
    assert_eq!(total.request_count(), THREADS * PER_THREAD);
    assert_eq!(total.failure_count(), THREADS * PER_THREAD / 10);
    let bytes: u64 = total.entries().map(|(_, e)| e.bytes()).sum();
    assert_eq!(bytes, THREADS * PER_THREAD);
    let hist_total: u64 = total.entries().map(|(_, e)| e.histogram().len()).sum();
    assert_eq!(hist_total, THREADS * PER_THREAD);
    let failure_rows: u64 = total.failures().map(|(_, _, c)| c).sum();
    assert_eq!(failure_rows, THREADS * PER_THREAD / 10);
}

#[test]
fn key_cap_uses_overflow_row() {
    let r = Recorder::with_config(RecorderConfig {
        shards: 1,
        max_keys: 3,
        max_failures: 2,
    });
    let f: Vec<Failure> = (0..5)
        .map(|n| Failure::new(FailureKind::Check, format!("check {n}")))
        .collect();
    for n in 0..6 {
        r.record(
            &key(&format!("/{n}")),
            Duration::from_millis(1),
            0,
            Some(&f[n % 5]),
        );
    }
    let i = r.take();
    assert_eq!(i.entries().count(), 4);
    assert_eq!(i.entry(&RequestKey::overflow()).map(|e| e.count()), Some(3));
    assert_eq!(i.request_count(), 6);
    // Two distinct failures kept, the rest counted as the overflow failure of their row.
    let overflowed: u64 = i
        .failures()
        .filter(|(_, f, _)| f.is_overflow())
        .map(|(_, _, c)| c)
        .sum();
    assert_eq!(overflowed, 4);
    assert_eq!(i.failures().filter(|(_, f, _)| !f.is_overflow()).count(), 2);
    // The caps are per interval.
    r.record(&key("/5"), Duration::from_millis(1), 0, None);
    assert!(r.take().entry(&key("/5")).is_some());
}

#[test]
fn idle_slots_are_freed() {
    let r = Recorder::with_config(RecorderConfig {
        shards: 1,
        ..RecorderConfig::default()
    });
    for n in 0..50 {
        r.record(&key(&format!("/{n}")), Duration::from_millis(1), 0, None);
    }
    assert_eq!(r.take().entries().count(), 50);
    assert_eq!(slots_in_use(&r), 50);
    for _ in 0..(2 * IDLE_DRAINS + 2) {
        assert!(r.take().is_empty());
    }
    assert_eq!(slots_in_use(&r), 0);
}

#[test]
fn huge_durations_are_clamped() {
    let r = Recorder::new();
    r.record(&key("/x"), Duration::MAX, 0, None);
    let i = r.take();
    assert_eq!(
        i.entry(&key("/x")).map(|e| e.max_us()),
        Some(hist::MAX_TRACKABLE_US)
    );
}
