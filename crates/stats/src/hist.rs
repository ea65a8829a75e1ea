//! Small helpers around `hdrhistogram` shared by the recorder, the intervals and the stats.
//!
//! All latency histograms count **microseconds**. Values are clamped to
//! [`MAX_TRACKABLE_US`] (one hour) before they are recorded, which bounds the size of every
//! histogram: an auto-resizing histogram only grows its counts array up to the largest value it
//! has seen, so a histogram whose largest value is one hour is the worst case
//! (3 significant digits: 23 552 counters, ~184 KiB with `u64` counters).
//!
//! Typical sizes with 3 significant digits and `u64` counters:
//!
//! | largest value seen | counters | memory |
//! | --- | --- | --- |
//! | 2 ms | 2 048 | 16 KiB |
//! | 1 s | 11 264 | 88 KiB |
//! | 60 s | 17 408 | 136 KiB |
//! | 1 h (the clamp) | 23 552 | 184 KiB |

use std::time::Duration;

use hdrhistogram::{Counter, Histogram};

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

/// Adds a histogram with a different counter type into `dst`, bucket by bucket.
///
/// Recording each bucket's highest equivalent value lands in the same bucket of a histogram
/// with the same precision, so nothing is lost when `dst` has the same significant digits.
pub(crate) fn add_converted<S: Counter>(dst: &mut Histogram<u64>, src: &Histogram<S>) {
    for v in src.iter_recorded() {
        // `dst` auto-resizes, so recording cannot fail except when a usize cannot hold the size,
        // which values clamped to one hour never reach.
        let _ = dst.record_n(v.value_iterated_to(), v.count_at_value().as_u64());
    }
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
        *slot = v.max(min_us).min(max_us);
    }
    // The last percentile is the maximum by definition.
    out[10] = max_us;
    out
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
    fn converted_add_is_lossless_at_same_precision() {
        let mut small: Histogram<u32> = new_hist(SIGFIG);
        for v in [0u64, 1, 999, 1234, 56_789, 3_000_000] {
            let _ = small.record_n(v, 3);
        }
        let mut big: Histogram<u64> = new_hist(SIGFIG);
        add_converted(&mut big, &small);
        assert_eq!(big.len(), small.len());
        for v in [0u64, 1, 999, 1234, 56_789, 3_000_000] {
            assert_eq!(big.count_at(v), 3);
        }
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
