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

/// A recorder feeding a `Stats` of `max_entries` rows, as the standalone controller wires them.
fn wired(shards: usize, max_entries: usize) -> (Recorder, crate::Stats) {
    let r = Recorder::with_config(RecorderConfig {
        shards,
        ..RecorderConfig::default()
    });
    let mut stats = crate::Stats::new(crate::StatsConfig {
        max_entries,
        ..crate::StatsConfig::default()
    });
    stats.publish_admission(r.admission());
    (r, stats)
}

fn apply(r: &Recorder, stats: &mut crate::Stats, second: u64) -> Interval {
    let i = r.take();
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000 + second);
    stats.apply(i.clone(), at, 1);
    i
}

fn slot_keys(r: &Recorder) -> Vec<String> {
    let mut keys: Vec<String> = r
        .inner
        .shards
        .iter()
        .flat_map(|s| {
            let a: Vec<String> = lock(&s.active)
                .slots
                .keys()
                .map(|k| k.to_string())
                .collect();
            let b: Vec<String> = lock(&s.spare).slots.keys().map(|k| k.to_string()).collect();
            a.into_iter().chain(b)
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn names_beyond_the_stats_cap_go_to_the_overflow_row_in_the_recorder() {
    let (r, mut stats) = wired(1, 3);
    for n in 0..3 {
        r.record(&key(&format!("/{n}")), Duration::from_millis(2), 0, None);
    }
    apply(&r, &mut stats, 1);
    assert!(r.admission().is_closed(), "the table is full");
    let f = Failure::new(FailureKind::Status, "HTTP 500");
    for n in 0..10 {
        r.record(
            &key(&format!("/{n}")),
            Duration::from_millis(3),
            0,
            Some(&f),
        );
    }
    let i = apply(&r, &mut stats, 2);
    // The three rows as themselves, the seven others in the overflow row (with their failures).
    assert_eq!(i.entries().count(), 4);
    assert_eq!(i.entry(&RequestKey::overflow()).map(|e| e.count()), Some(7));
    assert!(i.entry(&key("/5")).is_none());
    let overflow_failures: u64 = i
        .failures()
        .filter(|(k, _, _)| k.is_overflow())
        .map(|(_, _, c)| c)
        .sum();
    assert_eq!(overflow_failures, 7);
    // No slot was created for them.
    assert_eq!(
        slot_keys(&r),
        vec![
            "GET /0",
            "GET /1",
            "GET /2",
            "OTHER (other: entry limit reached)"
        ]
    );
    // The statistics agree, and warned once.
    let snap = stats.snapshot();
    let row = |name: &str| {
        snap.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.requests)
    };
    assert_eq!(row("/0"), Some(2));
    assert_eq!(row(crate::OVERFLOW_ENTRY_NAME), Some(7));
    assert_eq!(stats.total_requests(), 13);
    assert!(stats.take_overflow_warning().is_some());
    assert!(stats.take_overflow_warning().is_none());
}

#[test]
fn slots_of_rows_the_stats_refused_are_freed() {
    // Three new names in the same second for the last two places: the recorder admitted all
    // three (the table was open), the statistics keep two.
    let (r, mut stats) = wired(1, 3);
    r.record(&key("/a"), Duration::from_millis(2), 0, None);
    apply(&r, &mut stats, 1);
    for n in 0..3 {
        r.record(&key(&format!("/{n}")), Duration::from_millis(2), 0, None);
    }
    let i = apply(&r, &mut stats, 2);
    assert_eq!(i.entries().count(), 3);
    assert_eq!(stats.entry_count(), 4); // three rows and the overflow row
    // Both buffers drained once more: the refused row has no slot any more.
    apply(&r, &mut stats, 3);
    apply(&r, &mut stats, 4);
    let kept = slot_keys(&r);
    assert_eq!(kept.len(), 3, "{kept:?}");
    let rows: Vec<String> = stats
        .snapshot()
        .entries
        .iter()
        .filter(|e| e.name != crate::OVERFLOW_ENTRY_NAME)
        .map(|e| format!("{} {}", e.method, e.name))
        .collect();
    assert_eq!(kept, rows);
}

#[test]
fn a_name_that_becomes_a_row_later_is_recorded_normally() {
    let (r, mut stats) = wired(2, 2);
    // Room in the table: a new name gets its row.
    r.record(&key("/a"), Duration::from_millis(1), 0, None);
    apply(&r, &mut stats, 1);
    assert!(!r.admission().is_closed());
    r.record(&key("/b"), Duration::from_millis(1), 0, None);
    apply(&r, &mut stats, 2);
    assert!(r.admission().is_closed());
    r.record(&key("/c"), Duration::from_millis(1), 0, None);
    let i = apply(&r, &mut stats, 3);
    assert!(i.entry(&key("/c")).is_none());
    // After a reset the table has room again: `/c` becomes a row.
    stats.reset();
    assert!(!r.admission().is_closed());
    r.record(&key("/c"), Duration::from_millis(1), 0, None);
    let i = apply(&r, &mut stats, 4);
    assert_eq!(i.entry(&key("/c")).map(|e| e.count()), Some(1));
    let snap = stats.snapshot();
    assert!(
        snap.entries
            .iter()
            .any(|e| e.name == "/c" && e.requests == 1)
    );
}

#[test]
fn slot_memory_is_bounded_and_follows_the_last_seconds() {
    let (r, mut stats) = wired(4, 1000);
    let names: Vec<RequestKey> = (0..3000).map(|n| key(&format!("/n{n}"))).collect();
    let record_second = |r: &Recorder, seed: u64| {
        thread::scope(|s| {
            for t in 0..4u64 {
                let names = &names;
                s.spawn(move || {
                    for (n, k) in names.iter().enumerate() {
                        // 1 ms .. ~10 s, different per name, thread and second.
                        let x = (n as u64 * 7919 + t * 104_729 + seed * 1_299_709) % 14;
                        r.record(k, Duration::from_micros(1000 << x), 100, None);
                    }
                });
            }
        });
    };
    for second in 0..5 {
        record_second(&r, second);
        apply(&r, &mut stats, second + 1);
    }
    assert_eq!(stats.entry_count(), 1001);
    // At most the statistics' rows plus the overflow row per buffer, whatever the thread count.
    let slots = r.slot_count();
    assert!(slots <= 4 * 2 * 1001, "{slots} slots");
    // Each slot holds the chunks of one or two seconds: a few hundred bytes.
    let per_slot = r.heap_bytes() / slots;
    assert!(per_slot < 2048, "{per_slot} bytes per slot");
    // Seconds without requests free the histograms.
    for second in 5..8 {
        apply(&r, &mut stats, second + 1);
    }
    let idle = r.heap_bytes() / r.slot_count().max(1);
    assert!(idle < 512, "{idle} bytes per idle slot");
    // The statistics rows: a few KiB each at most.
    let rows = stats.rows_heap_bytes() / 1001;
    assert!(rows < 4096, "{rows} bytes per row");
}
