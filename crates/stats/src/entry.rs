//! One cumulative statistics row: counters since start/reset, a latency histogram held to
//! [`ROW_BUCKETS`] buckets and the small ring behind its "current" rates.

use crate::hist;
use crate::interval::IntervalEntry;
use crate::snapshot::{EntrySnapshot, Percentiles};
use crate::sparse::SparseHist;
use crate::window::RateWindow;

/// The most buckets a row's histogram keeps (10 bytes each, see [`crate::sparse`]). A row that
/// runs for weeks keeps finding 3-digit buckets it has not used yet, in its tails; past this
/// budget its histogram coarsens, a level at a time, so that a row never holds more than
/// ~3.2 KiB of histogram (with the vectors' growth slack). Latencies over eight powers of two
/// (e.g. 200 µs to 50 ms) fit at level 5 (32 groups per power of two, each at most 3.1 % wide);
/// the whole one-hour range fits at level 7 (12.5 %).
pub(crate) const ROW_BUCKETS: usize = 256;

/// Cumulative row. Memory: the histogram (at most [`ROW_BUCKETS`] × 10 bytes) plus
/// `current_window` × 32 bytes.
pub(crate) struct Entry {
    pub(crate) requests: u64,
    pub(crate) failures: u64,
    pub(crate) sum_us: u64,
    /// `u64::MAX` while empty.
    pub(crate) min_us: u64,
    pub(crate) max_us: u64,
    pub(crate) bytes: u64,
    pub(crate) hist: SparseHist,
    pub(crate) window: RateWindow,
}

/// What a snapshot of a row needs from its surroundings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SnapshotContext {
    /// Tick of the last applied interval.
    pub(crate) tick: u64,
    /// Seconds the current window covers (`min(current_window, ticks since reset)`).
    pub(crate) window_secs: f64,
    /// Seconds of the whole run.
    pub(crate) duration_secs: f64,
}

impl Entry {
    pub(crate) fn new(window_len: usize) -> Self {
        Entry {
            requests: 0,
            failures: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            bytes: 0,
            hist: SparseHist::new(),
            window: RateWindow::new(window_len),
        }
    }

    /// How many requests took at most each of `bounds_us` (ascending, microseconds).
    ///
    /// Counted from the histogram, so a bound falls into its bucket with the histogram's
    /// precision (0.1 %, or its group's width once coarsened); the result is cumulative and
    /// never exceeds `requests`.
    pub(crate) fn counts_at_or_below(&self, bounds_us: &[u64]) -> Vec<u64> {
        let mut out = Vec::with_capacity(bounds_us.len());
        let mut prev = 0u64;
        for &b in bounds_us {
            // Values equivalent to `b` count as at-or-below it (within precision).
            let n = self.hist.count_at_or_below(b).min(self.requests).max(prev);
            out.push(n);
            prev = n;
        }
        out
    }

    /// Adds one interval's measurements of this row, as second `tick`.
    pub(crate) fn absorb(&mut self, e: &IntervalEntry, tick: u64) {
        self.requests = self.requests.saturating_add(e.count);
        self.failures = self.failures.saturating_add(e.failures);
        self.sum_us = self.sum_us.saturating_add(e.sum_us);
        self.min_us = self.min_us.min(e.min_us);
        self.max_us = self.max_us.max(e.max_us);
        self.bytes = self.bytes.saturating_add(e.bytes);
        self.hist.add(&e.hist);
        self.hist.fit(ROW_BUCKETS);
        self.window.add(tick, e.count, e.failures, e.sum_us);
    }

    pub(crate) fn min_us_or_zero(&self) -> u64 {
        if self.requests == 0 { 0 } else { self.min_us }
    }

    pub(crate) fn avg_us(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.requests as f64
        }
    }

    pub(crate) fn avg_bytes(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.bytes as f64 / self.requests as f64
        }
    }

    /// Cumulative median in µs (clamped into `[min, max]`).
    pub(crate) fn median_us(&self) -> u64 {
        if self.requests == 0 || self.hist.is_empty() {
            return 0;
        }
        self.hist
            .value_at_quantile(0.5)
            .max(self.min_us)
            .min(self.max_us)
    }

    pub(crate) fn snapshot(&self, method: &str, name: &str, ctx: SnapshotContext) -> EntrySnapshot {
        let pct = hist::sparse_percentiles_us(&self.hist, self.min_us_or_zero(), self.max_us);
        let percentiles = Percentiles(pct.map(hist::us_to_ms));
        let window = self.window.totals(ctx.tick);
        let per = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        EntrySnapshot {
            method: method.to_owned(),
            name: name.to_owned(),
            requests: self.requests,
            failures: self.failures,
            fail_ratio: if self.requests == 0 {
                0.0
            } else {
                self.failures as f64 / self.requests as f64
            },
            avg_ms: self.avg_us() / 1000.0,
            min_ms: hist::us_to_ms(self.min_us_or_zero()),
            max_ms: hist::us_to_ms(self.max_us),
            p50_ms: percentiles.0[0],
            p95_ms: percentiles.0[5],
            p99_ms: percentiles.0[7],
            rps: per(self.requests, ctx.duration_secs),
            fail_per_sec: per(self.failures, ctx.duration_secs),
            current_rps: per(window.requests, ctx.window_secs),
            current_fail_per_sec: per(window.failures, ctx.window_secs),
            bytes: self.bytes,
            avg_bytes: self.avg_bytes(),
            percentiles,
        }
    }
}
