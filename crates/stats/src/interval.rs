//! [`Interval`]: everything measured during one period (normally one second), per row.
//!
//! An interval is the unit that moves through the system: the [`crate::Recorder`] produces one
//! per second, a worker ships it to the master (see [`Interval::to_bytes`]), the master merges
//! the intervals of all workers for the same second ([`Interval::merge`]) and applies the result
//! to its [`crate::Stats`]. Merging is exact: counts, sums and histogram buckets add up, min and
//! max combine, so `merge(a, b)` describes exactly the union of the requests of `a` and `b`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::hist;
use crate::key::{Failure, FailureKey, RequestKey};
use crate::sparse::SparseHist;

/// The measurements of one row during one interval.
#[derive(Clone)]
pub struct IntervalEntry {
    pub(crate) count: u64,
    pub(crate) failures: u64,
    pub(crate) sum_us: u64,
    /// `u64::MAX` while empty.
    pub(crate) min_us: u64,
    pub(crate) max_us: u64,
    pub(crate) bytes: u64,
    /// Latencies in microseconds, 3 significant digits, non-zero buckets only.
    pub(crate) hist: SparseHist,
}

impl Default for IntervalEntry {
    fn default() -> Self {
        IntervalEntry {
            count: 0,
            failures: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            bytes: 0,
            hist: SparseHist::new(),
        }
    }
}

impl fmt::Debug for IntervalEntry {
    /// Counters and the histogram's total; not the histogram's thousands of buckets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntervalEntry")
            .field("count", &self.count)
            .field("failures", &self.failures)
            .field("sum_us", &self.sum_us)
            .field("min_us", &self.min_us())
            .field("max_us", &self.max_us)
            .field("bytes", &self.bytes)
            .field("histogram_count", &self.hist.len())
            .finish()
    }
}

impl PartialEq for IntervalEntry {
    /// Equal when the counters and every histogram bucket are equal.
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count
            && self.failures == other.failures
            && self.sum_us == other.sum_us
            && self.min_us() == other.min_us()
            && self.max_us == other.max_us
            && self.bytes == other.bytes
            && self.hist == other.hist
    }
}

impl IntervalEntry {
    /// Number of requests (successful and failed).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of failed requests.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Sum of the latencies in microseconds.
    pub fn sum_us(&self) -> u64 {
        self.sum_us
    }

    /// Smallest latency in microseconds, `None` when empty.
    pub fn min_us(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min_us)
    }

    /// Largest latency in microseconds (0 when empty).
    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// Sum of the response body sizes in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Latency histogram in microseconds (3 significant digits), as a dense `hdrhistogram`
    /// copy (built on each call: the entry itself keeps only the non-zero buckets).
    pub fn histogram(&self) -> Histogram<u64> {
        self.hist.to_hdr()
    }

    /// Number of distinct histogram buckets used (what the entry's histogram costs: 10 bytes
    /// each).
    pub fn histogram_buckets(&self) -> usize {
        self.hist.buckets()
    }

    /// Records one request (latency already converted and clamped).
    pub(crate) fn record_us(&mut self, us: u64, bytes: u64, failed: bool) {
        self.count = self.count.saturating_add(1);
        self.failures = self.failures.saturating_add(u64::from(failed));
        self.sum_us = self.sum_us.saturating_add(us);
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        self.bytes = self.bytes.saturating_add(bytes);
        self.hist.record_n(us, 1);
    }

    /// Adds another entry of the same row.
    pub(crate) fn merge(&mut self, other: &IntervalEntry) {
        self.count = self.count.saturating_add(other.count);
        self.failures = self.failures.saturating_add(other.failures);
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.hist.add(&other.hist);
    }
}

/// Everything recorded during one interval: per-row entries and per-`(row, failure)` counts.
///
/// Its size is bounded by whoever filled it: the [`crate::Recorder`] caps the number of rows and
/// distinct failures per interval, [`Interval::from_bytes`] caps what it accepts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interval {
    pub(crate) entries: HashMap<RequestKey, IntervalEntry>,
    pub(crate) failures: HashMap<FailureKey, u64>,
}

impl Interval {
    /// An empty interval.
    pub fn new() -> Self {
        Interval::default()
    }

    /// Records one request directly (single-threaded; the concurrent path is
    /// [`crate::Recorder::record`]). Useful for tests and for building intervals by hand.
    /// `failure` marks the request as failed and counts it under that reason.
    pub fn record(
        &mut self,
        key: &RequestKey,
        elapsed: Duration,
        bytes: u64,
        failure: Option<&Failure>,
    ) {
        let us = hist::duration_to_us(elapsed);
        match self.entries.get_mut(key) {
            Some(e) => e.record_us(us, bytes, failure.is_some()),
            None => {
                let mut e = IntervalEntry::default();
                e.record_us(us, bytes, failure.is_some());
                self.entries.insert(key.clone(), e);
            }
        }
        if let Some(f) = failure {
            self.add_failure(key, f, 1);
        }
    }

    /// Adds `count` occurrences of a failure row.
    pub(crate) fn add_failure(&mut self, key: &RequestKey, failure: &Failure, count: u64) {
        let fk = FailureKey {
            key: key.clone(),
            failure: failure.clone(),
        };
        let c = self.failures.entry(fk).or_insert(0);
        *c = c.saturating_add(count);
    }

    /// Adds an entry for a row (merging if the row is present).
    pub(crate) fn add_entry(&mut self, key: RequestKey, entry: IntervalEntry) {
        match self.entries.entry(key) {
            Entry::Occupied(mut o) => o.get_mut().merge(&entry),
            Entry::Vacant(v) => {
                v.insert(entry);
            }
        }
    }

    /// Adds everything of `other` to `self`. Exact: the request count of the result is the sum of
    /// both, histograms add bucket by bucket.
    pub fn merge(&mut self, other: Interval) {
        for (key, entry) in other.entries {
            self.add_entry(key, entry);
        }
        for (fk, count) in other.failures {
            let c = self.failures.entry(fk).or_insert(0);
            *c = c.saturating_add(count);
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.failures.is_empty()
    }

    /// Number of requests over all rows.
    pub fn request_count(&self) -> u64 {
        self.entries
            .values()
            .fold(0u64, |acc, e| acc.saturating_add(e.count))
    }

    /// Number of failed requests over all rows.
    pub fn failure_count(&self) -> u64 {
        self.entries
            .values()
            .fold(0u64, |acc, e| acc.saturating_add(e.failures))
    }

    /// The rows (in no particular order).
    pub fn entries(&self) -> impl Iterator<Item = (&RequestKey, &IntervalEntry)> {
        self.entries.iter()
    }

    /// One row.
    pub fn entry(&self, key: &RequestKey) -> Option<&IntervalEntry> {
        self.entries.get(key)
    }

    /// The failure rows: `(row, failure, occurrences)` (in no particular order).
    pub fn failures(&self) -> impl Iterator<Item = (&RequestKey, &Failure, u64)> {
        self.failures
            .iter()
            .map(|(fk, &count)| (&fk.key, &fk.failure, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::FailureKind;
    use proptest::prelude::*;

    fn key(name: &str) -> RequestKey {
        RequestKey::new("GET", name)
    }

    #[test]
    fn record_counts_everything() {
        let mut i = Interval::new();
        let f = Failure::new(FailureKind::Status, "HTTP 500");
        i.record(&key("/a"), Duration::from_millis(10), 100, None);
        i.record(&key("/a"), Duration::from_millis(30), 50, Some(&f));
        i.record(&key("/b"), Duration::from_micros(5), 0, Some(&f));
        assert_eq!(i.request_count(), 3);
        assert_eq!(i.failure_count(), 2);
        let a = i.entry(&key("/a")).cloned().unwrap_or_default();
        assert_eq!(a.count(), 2);
        assert_eq!(a.failures(), 1);
        assert_eq!(a.sum_us(), 40_000);
        assert_eq!(a.min_us(), Some(10_000));
        assert_eq!(a.max_us(), 30_000);
        assert_eq!(a.bytes(), 150);
        assert_eq!(a.histogram().len(), 2);
        let mut failures: Vec<_> = i
            .failures()
            .map(|(k, f, c)| (k.name.to_string(), f.message.to_string(), c))
            .collect();
        failures.sort();
        assert_eq!(
            failures,
            vec![
                ("/a".into(), "HTTP 500".into(), 1),
                ("/b".into(), "HTTP 500".into(), 1)
            ]
        );
    }

    #[test]
    fn empty_entry_has_no_min() {
        assert_eq!(IntervalEntry::default().min_us(), None);
        assert!(Interval::new().is_empty());
    }

    proptest! {
        // Debug builds of hdrhistogram and flate2 are slow; fewer cases keep the suite quick.
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn merge_adds_up(
            a in proptest::collection::vec((0u8..4, 0u64..5_000_000, 0u64..10_000, any::<bool>()), 0..60),
            b in proptest::collection::vec((0u8..4, 0u64..5_000_000, 0u64..10_000, any::<bool>()), 0..60),
        ) {
            let f = Failure::new(FailureKind::Timeout, "timeout");
            let build = |items: &[(u8, u64, u64, bool)]| {
                let mut i = Interval::new();
                for &(k, us, bytes, failed) in items {
                    i.record(&key(&format!("/{k}")), Duration::from_micros(us), bytes, failed.then_some(&f));
                }
                i
            };
            let ia = build(&a);
            let ib = build(&b);
            let mut all = a.clone();
            all.extend(b.iter().copied());
            let expected = build(&all);

            let mut merged = ia.clone();
            merged.merge(ib.clone());
            prop_assert_eq!(merged.request_count(), ia.request_count() + ib.request_count());
            prop_assert_eq!(merged.failure_count(), ia.failure_count() + ib.failure_count());
            prop_assert_eq!(&merged, &expected);

            // Merge is commutative.
            let mut other_way = ib;
            other_way.merge(ia);
            prop_assert_eq!(&other_way, &expected);
        }
    }
}
