//! [`SparseHist`] against the dense `hdrhistogram` it replaces: same buckets, same answers.

use hdrhistogram::serialization::Deserializer;
use proptest::prelude::*;

use super::*;
use crate::hist::{self, PERCENTILES, RECENT_SIGFIG, SIGFIG};

fn dense(values: &[(u64, u64)]) -> Histogram<u64> {
    let mut h = hist::new_hist(SIGFIG);
    for &(v, n) in values {
        h.record_n(v, n).expect("records");
    }
    h
}

fn sparse(values: &[(u64, u64)]) -> SparseHist {
    let mut h = SparseHist::new();
    for &(v, n) in values {
        h.record_n(v, n);
    }
    h
}

/// Latencies spread over every order of magnitude up to the one-hour clamp, with counts.
fn latencies() -> impl Strategy<Value = Vec<(u64, u64)>> {
    proptest::collection::vec(
        (0u32..32, any::<u32>(), 1u64..50).prop_map(|(bits, r, n)| {
            let v = u64::from(r) & ((1u64 << bits) - 1);
            (v.min(crate::MAX_TRACKABLE_US), n)
        }),
        0..120,
    )
}

/// The same (value, count) pairs, summed per counter.
fn buckets_of(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (index_of(v.value_iterated_to()), v.count_at_value()))
        .collect()
}

#[test]
fn index_math_matches_hdrhistogram() {
    let h: Histogram<u64> = hist::new_hist(SIGFIG);
    let mut last = 0;
    for v in (0..5000u64)
        .chain((13..32).flat_map(|b| [(1u64 << b) - 1, 1 << b, (1 << b) + 1, 3 << (b - 1)]))
        .chain([crate::MAX_TRACKABLE_US, u64::from(u32::MAX)])
    {
        let i = index_of(v);
        assert!(i >= last, "monotone at {v}");
        last = i;
        assert_eq!(value_at_index(i), h.lowest_equivalent(v), "lowest of {v}");
        assert_eq!(
            highest_at_index(i),
            h.highest_equivalent(v),
            "highest of {v}"
        );
        assert!(i < 24_576);
    }
}

#[test]
fn sizes_of_typical_rows() {
    // 1 ms .. 10 s, 20 requests per power of two: what a busy row sees in a long soak.
    let values: Vec<(u64, u64)> = (10..24)
        .flat_map(|b| (0..20u64).map(move |k| ((1u64 << b) + k * (1 << b) / 20, 1)))
        .collect();
    let h = sparse(&values);
    assert!(h.heap_bytes() < 4 * 1024, "{} bytes", h.heap_bytes());
    assert_eq!(h.len(), 280);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn answers_like_the_dense_histogram(values in latencies(), extra_q in 0.0f64..=1.0, bound in any::<u32>()) {
        let d = dense(&values);
        let s = sparse(&values);
        prop_assert_eq!(s.len(), d.len());
        prop_assert_eq!(s.iter().collect::<Vec<_>>(), buckets_of(&d));
        prop_assert_eq!(&SparseHist::from_hdr(&d), &s);
        prop_assert_eq!(&SparseHist::from_hdr(&s.to_hdr()), &s);

        // Quantiles, one at a time and in one pass (0 uses the lowest equivalent value).
        let mut qs = [0.0, 0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0];
        qs[0] = 0.0;
        let dense_qs: Vec<u64> = d.value_at_quantiles(qs).collect();
        prop_assert_eq!(s.value_at_quantiles(qs).to_vec(), dense_qs);
        prop_assert_eq!(s.value_at_quantile(extra_q), d.value_at_quantile(extra_q));
        prop_assert_eq!(s.value_at_quantile(0.0), d.value_at_quantile(0.0));

        // Locust's percentiles, clamped into [min, max] as reports show them.
        let (min, max) = (values.iter().map(|v| v.0).min().unwrap_or(0), values.iter().map(|v| v.0).max().unwrap_or(0));
        prop_assert_eq!(hist::sparse_percentiles_us(&s, min, max), hist::percentiles_us(&d, min, max));
        let _ = PERCENTILES;

        // Prometheus-style cumulative counts.
        for b in [0, 1, 999, 1000, 1001, 50_000, u64::from(bound), crate::MAX_TRACKABLE_US, u64::MAX] {
            prop_assert_eq!(s.count_at_or_below(b), d.count_between(0, b), "bound {}", b);
        }

        // Adding into a 2-digit histogram (the recent window) gives the same counters.
        let mut from_dense: Histogram<u64> = hist::new_hist(RECENT_SIGFIG);
        hist::add(&mut from_dense, &d);
        let mut from_sparse: Histogram<u64> = hist::new_hist(RECENT_SIGFIG);
        s.add_to_hdr(&mut from_sparse);
        prop_assert_eq!(from_sparse.len(), from_dense.len());
        prop_assert!(from_sparse.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value()))
            .eq(from_dense.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value()))));
        prop_assert_eq!(from_sparse.min(), from_dense.min());
        prop_assert_eq!(from_sparse.max(), from_dense.max());
    }

    #[test]
    fn add_matches_dense_add(a in latencies(), b in latencies()) {
        let mut d = dense(&a);
        hist::add(&mut d, &dense(&b));
        let mut s = sparse(&a);
        s.add(&sparse(&b));
        prop_assert_eq!(s.iter().collect::<Vec<_>>(), buckets_of(&d));
        prop_assert_eq!(s.len(), d.len());
        // Also the one-by-one path (few counters) and adding into an empty histogram.
        let mut t = SparseHist::new();
        for chunk in b.chunks(3) {
            t.add(&sparse(chunk));
        }
        t.add(&sparse(&a));
        prop_assert_eq!(&t, &s);
    }

    /// The V2+DEFLATE blob is what HdrHistogram readers expect: `hdrhistogram`'s own
    /// deserializer gets the same counts back.
    #[test]
    fn v2_blob_reads_back_with_hdrhistogram(values in latencies()) {
        let s = sparse(&values);
        let mut blob = Vec::new();
        s.write_v2_deflate(&mut blob);
        let back: Histogram<u64> = Deserializer::new()
            .deserialize(&mut blob.as_slice())
            .expect("hdrhistogram reads it");
        prop_assert_eq!(back.len(), s.len());
        prop_assert_eq!(buckets_of(&back), s.iter().collect::<Vec<_>>());
    }
}
