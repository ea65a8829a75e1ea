//! Small helpers around `hdrhistogram` shared by the recorder, the intervals and the stats.
//!
//! All latency histograms count **microseconds**. Values are clamped to
//! [`MAX_TRACKABLE_US`] (one hour) before they are recorded, which bounds the number of buckets
//! (3 significant digits: 23 552).
//!
//! The 3-digit histograms of recorder slots, intervals and statistics rows are not dense
//! `hdrhistogram`s any more (an auto-resizing one holds every counter up to the largest value
//! seen: 16 KiB at 2 ms, 88 KiB at 1 s, 184 KiB at one hour, `u64` counters) but have the same
//! buckets and answers with less memory: [`crate::sparse::SparseHist`] (non-zero buckets only)
//! and [`crate::chunked::ChunkedHist`] (the recorder's, chunks allocated on use). The 2-digit
//! "recent" histograms (a dozen per `Stats`, 2-3 KiB each) stay dense `hdrhistogram`s. A
//! statistics row's histogram coarsens past [`crate::entry::ROW_BUCKETS`] buckets (see
//! [`crate::sparse`]), so its precision is 0.1 % only until it has used that many.

use std::time::Duration;

use hdrhistogram::{Counter, Histogram};

use crate::sparse::SparseHist;

/// Significant digits of the cumulative and interval histograms (0.1 % relative error).
pub(crate) const SIGFIG: u8 = 3;
/// Significant digits of the short-lived "recent window" histograms used for history points
/// (1 % relative error, ~8x smaller than [`SIGFIG`]).
pub(crate) const RECENT_SIGFIG: u8 = 2;

/// Largest latency recorded, in microseconds (one hour). Longer requests are recorded as one hour
/// so that a stray huge duration cannot grow histograms without bound.
pub const MAX_TRACKABLE_US: u64 = 3_600_000_000;

/// The percentiles of Locust's reports, in percent, ascending.
pub const PERCENTILES: [f64; 11] = [
    50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.9, 99.99, 100.0,
];

/// Column labels of [`PERCENTILES`] as Locust prints them.
pub const PERCENTILE_LABELS: [&str; 11] = [
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
];

/// A new, empty, auto-resizing histogram (starts at 2 048 counters for 3 digits, 256 for 2).
pub(crate) fn new_hist<T: Counter>(sigfig: u8) -> Histogram<T> {
    // `Histogram::new` fails only for sigfig > 5; callers pass the constants above.
    Histogram::new(sigfig).expect("sigfig is a valid constant (<= 5)")
}

/// Converts a duration to whole microseconds, clamped to [`MAX_TRACKABLE_US`].
pub(crate) fn duration_to_us(d: Duration) -> u64 {
    // `as_micros` is u128; the clamp makes the narrowing exact.
    d.as_micros().min(u128::from(MAX_TRACKABLE_US)) as u64
}

/// Adds `src` into `dst` (both auto-resizing). Only fails if the counts array could not be
/// represented as a `usize`, which bounded values never reach; the error is ignored for that
/// reason.
pub(crate) fn add(dst: &mut Histogram<u64>, src: &Histogram<u64>) {
    let _ = dst.add(src);
}

/// The [`PERCENTILES`] of `h` in microseconds, each clamped into `[min_us, max_us]` (HDR answers
/// with the upper edge of a bucket; the exact extremes are tracked separately and are better).
/// An empty histogram gives zeros.
pub(crate) fn percentiles_us(h: &Histogram<u64>, min_us: u64, max_us: u64) -> [u64; 11] {
    let mut out = [0u64; 11];
    if h.is_empty() {
        return out;
    }
    for (slot, v) in out
        .iter_mut()
        .zip(h.value_at_quantiles(PERCENTILES.iter().map(|p| p / 100.0)))
    {
        *slot = v;
    }
    clamp_percentiles(out, min_us, max_us)
}

/// [`percentiles_us`] of a [`SparseHist`] (the same answers as for the dense histogram with the
/// same counts).
pub(crate) fn sparse_percentiles_us(h: &SparseHist, min_us: u64, max_us: u64) -> [u64; 11] {
    if h.is_empty() {
        return [0; 11];
    }
    clamp_percentiles(
        h.value_at_quantiles(PERCENTILES.map(|p| p / 100.0)),
        min_us,
        max_us,
    )
}

fn clamp_percentiles(mut raw: [u64; 11], min_us: u64, max_us: u64) -> [u64; 11] {
    for v in &mut raw {
        *v = (*v).max(min_us).min(max_us);
    }
    // The last percentile is the maximum by definition.
    raw[10] = max_us;
    raw
}

/// Microseconds to milliseconds.
pub(crate) fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_durations() {
        assert_eq!(duration_to_us(Duration::from_millis(3)), 3000);
        assert_eq!(
            duration_to_us(Duration::from_secs(100_000)),
            MAX_TRACKABLE_US
        );
        assert_eq!(duration_to_us(Duration::MAX), MAX_TRACKABLE_US);
    }

    #[test]
    fn percentiles_are_monotone_and_clamped() {
        let mut h: Histogram<u64> = new_hist(SIGFIG);
        for v in 1..=1000u64 {
            let _ = h.record(v * 1000);
        }
        let p = percentiles_us(&h, 1000, 1_000_000);
        assert!(p.windows(2).all(|w| w[0] <= w[1]), "{p:?}");
        assert!((p[0] as f64 - 500_000.0).abs() < 1000.0, "{p:?}");
        assert_eq!(p[10], 1_000_000);
        let empty: Histogram<u64> = new_hist(SIGFIG);
        assert_eq!(percentiles_us(&empty, 0, 0), [0; 11]);
    }
}
