//! History for charts and the history CSV: one point per second in a ring of
//! [`crate::StatsConfig::history_len`] points (default one hour), and one point per minute in a
//! ring of [`crate::StatsConfig::long_history_len`] points (default seven days).
//!
//! Memory: a point is 216 bytes, so the defaults cost (3 600 + 10 080) × 216 B ≈ 3 MB once
//! full, and never more.

use std::collections::VecDeque;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::hist::{self, RECENT_SIGFIG};
use crate::snapshot::Percentiles;

/// Aggregated state of all rows at one moment (one second, or one minute in the long history).
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
pub struct HistoryPoint {
    /// Unix time in seconds (end of the second; start of the minute for long-history points).
    pub timestamp: u64,
    /// Users running at that time (last value of the minute for long-history points).
    pub users: u64,
    /// Requests per second over the current window (per-second points) or over the minute.
    pub rps: f64,
    /// Failures per second, same window as `rps`.
    pub fail_per_sec: f64,
    /// Average response time over the same window, in ms.
    pub avg_ms: f64,
    /// Median response time over the window, ms.
    pub p50_ms: f64,
    /// 95th percentile over the window, ms.
    pub p95_ms: f64,
    /// 99th percentile over the window, ms.
    pub p99_ms: f64,
    /// All report percentiles over the window, ms (2 significant digits).
    pub percentiles: Percentiles,
    /// Requests that the window percentiles are computed from.
    pub window_requests: u64,
    /// Cumulative request count since start or reset.
    pub total_requests: u64,
    /// Cumulative failure count.
    pub total_failures: u64,
    /// Cumulative median response time, ms.
    pub total_median_ms: f64,
    /// Cumulative average response time, ms.
    pub total_avg_ms: f64,
    /// Cumulative minimum response time, ms.
    pub total_min_ms: f64,
    /// Cumulative maximum response time, ms.
    pub total_max_ms: f64,
    /// Cumulative average response size, bytes.
    pub total_avg_bytes: f64,
}

/// Cumulative figures copied into every point.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Totals {
    pub(crate) requests: u64,
    pub(crate) failures: u64,
    pub(crate) median_ms: f64,
    pub(crate) avg_ms: f64,
    pub(crate) min_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) avg_bytes: f64,
}

/// Builds a point from window figures and totals.
#[allow(clippy::too_many_arguments)]
pub(crate) fn point(
    timestamp: u64,
    users: u64,
    seconds: f64,
    requests: u64,
    failures: u64,
    sum_us: u64,
    percentiles_us: [u64; 11],
    window_requests: u64,
    totals: Totals,
) -> HistoryPoint {
    let per_sec = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    let percentiles = Percentiles(percentiles_us.map(hist::us_to_ms));
    HistoryPoint {
        timestamp,
        users,
        rps: per_sec(requests),
        fail_per_sec: per_sec(failures),
        avg_ms: if requests > 0 {
            sum_us as f64 / requests as f64 / 1000.0
        } else {
            0.0
        },
        p50_ms: percentiles.0[0],
        p95_ms: percentiles.0[5],
        p99_ms: percentiles.0[7],
        percentiles,
        window_requests,
        total_requests: totals.requests,
        total_failures: totals.failures,
        total_median_ms: totals.median_ms,
        total_avg_ms: totals.avg_ms,
        total_min_ms: totals.min_ms,
        total_max_ms: totals.max_ms,
        total_avg_bytes: totals.avg_bytes,
    }
}

/// An empty ring with room for `cap` points (at most 4,096) whose memory is written once now.
/// Reserved but untouched pages are not resident until the ring reaches them, so without this
/// the process's RSS would creep up by 216 B a second for the whole first hour (0.74 MiB),
/// which is what a soak test reads as a leak; written now, it is resident from the start and
/// never reallocated.
pub(crate) fn prefaulted_ring(cap: usize) -> VecDeque<HistoryPoint> {
    let cap = cap.min(4096);
    let mut ring = VecDeque::with_capacity(cap);
    ring.extend(std::iter::repeat_n(HistoryPoint::default(), cap));
    std::hint::black_box(&ring);
    ring.clear();
    ring
}

/// Pushes into a ring of at most `cap` points (a `cap` of 0 keeps nothing).
pub(crate) fn push_bounded(ring: &mut VecDeque<HistoryPoint>, cap: usize, p: HistoryPoint) {
    if cap == 0 {
        return;
    }
    while ring.len() >= cap {
        ring.pop_front();
    }
    ring.push_back(p);
}

/// Collects the seconds of the current wall-clock minute for the long history.
pub(crate) struct MinuteAccumulator {
    /// Unix minute being collected; `None` before the first interval.
    minute: Option<u64>,
    seconds: u64,
    requests: u64,
    failures: u64,
    sum_us: u64,
    users: u64,
    hist: Histogram<u64>,
}

impl MinuteAccumulator {
    pub(crate) fn new() -> Self {
        MinuteAccumulator {
            minute: None,
            seconds: 0,
            requests: 0,
            failures: 0,
            sum_us: 0,
            users: 0,
            hist: hist::new_hist(RECENT_SIGFIG),
        }
    }

    /// If `unix_secs` is in another minute than the one being collected, returns the finished
    /// minute's point (with `totals` as of now) and starts the new minute.
    pub(crate) fn roll(
        &mut self,
        unix_secs: u64,
        totals: impl FnOnce() -> Totals,
    ) -> Option<HistoryPoint> {
        let minute = unix_secs / 60;
        let finished = match self.minute {
            Some(m) if m != minute && self.seconds > 0 => {
                let percentiles =
                    hist::percentiles_us(&self.hist, self.hist.min(), self.hist.max());
                Some(point(
                    m.saturating_mul(60),
                    self.users,
                    self.seconds as f64,
                    self.requests,
                    self.failures,
                    self.sum_us,
                    percentiles,
                    self.hist.len(),
                    totals(),
                ))
            }
            _ => None,
        };
        if self.minute != Some(minute) {
            self.minute = Some(minute);
            self.seconds = 0;
            self.requests = 0;
            self.failures = 0;
            self.sum_us = 0;
            self.hist.reset();
        }
        finished
    }

    /// Adds one applied second.
    pub(crate) fn add_second(
        &mut self,
        requests: u64,
        failures: u64,
        sum_us: u64,
        users: u64,
        second: &Histogram<u64>,
    ) {
        self.seconds += 1;
        self.requests = self.requests.saturating_add(requests);
        self.failures = self.failures.saturating_add(failures);
        self.sum_us = self.sum_us.saturating_add(sum_us);
        self.users = users;
        hist::add(&mut self.hist, second);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefaulted_ring_is_empty_with_its_room_reserved() {
        let ring = prefaulted_ring(3600);
        assert!(ring.is_empty());
        assert!(ring.capacity() >= 3600);
        assert!(prefaulted_ring(1_000_000).capacity() < 1_000_000, "capped");
    }

    #[test]
    fn ring_is_bounded() {
        let mut ring = VecDeque::new();
        let p = point(0, 0, 1.0, 0, 0, 0, [0; 11], 0, Totals::default());
        for t in 0..10 {
            push_bounded(
                &mut ring,
                4,
                HistoryPoint {
                    timestamp: t,
                    ..p.clone()
                },
            );
        }
        assert_eq!(ring.len(), 4);
        assert_eq!(ring.front().map(|p| p.timestamp), Some(6));
        push_bounded(&mut ring, 0, p);
        assert_eq!(ring.len(), 4);
    }

    #[test]
    fn minute_points_average_the_minute() {
        let mut acc = MinuteAccumulator::new();
        let mut second: Histogram<u64> = hist::new_hist(RECENT_SIGFIG);
        let _ = second.record_n(10_000, 5);
        // 60 seconds of minute 1 (unix 60..120), 5 requests each.
        for s in 60..120 {
            assert!(acc.roll(s, Totals::default).is_none());
            acc.add_second(5, 1, 50_000, 7, &second);
        }
        let p = acc.roll(120, Totals::default);
        let p = p.unwrap_or_else(|| point(0, 0, 0.0, 0, 0, 0, [0; 11], 0, Totals::default()));
        assert_eq!(p.timestamp, 60);
        assert_eq!(p.users, 7);
        assert!((p.rps - 5.0).abs() < 1e-9);
        assert!((p.fail_per_sec - 1.0).abs() < 1e-9);
        assert!((p.avg_ms - 10.0).abs() < 1e-9);
        assert_eq!(p.window_requests, 300);
        assert!((p.p50_ms - 10.0).abs() < 0.2, "{}", p.p50_ms);
        // A minute without applied seconds produces nothing.
        assert!(acc.roll(300, Totals::default).is_none());
    }
}
