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

#[test]
fn level_3_groups_are_the_buckets_of_2_significant_digits() {
    let h2: Histogram<u64> = hist::new_hist(2);
    for v in (0..5000u64)
        .chain((13..32).flat_map(|b| [(1u64 << b) - 1, 1 << b, (1 << b) + 1, 3 << (b - 1)]))
        .chain([crate::MAX_TRACKABLE_US, u64::from(u32::MAX)])
    {
        let g = group_index(index_of(v), 3);
        assert_eq!(value_at_index(g), h2.lowest_equivalent(v), "lowest of {v}");
        assert_eq!(
            group_highest(g, 3),
            h2.highest_equivalent(v),
            "highest of {v}"
        );
    }
}

#[test]
fn groups_nest_and_level_0_is_exact() {
    for i in 0..24_576u64 {
        assert_eq!(group_index(i, 0), i);
        assert_eq!(group_highest(i, 0), highest_at_index(i));
        for level in 0..MAX_LEVEL {
            let g = group_index(i, level);
            assert!(g <= i && value_at_index(g) <= value_at_index(i));
            assert!(
                group_highest(g, level) >= highest_at_index(i),
                "{i} at {level}"
            );
            assert_eq!(group_index(g, level), g, "idempotent");
            assert_eq!(
                group_index(g, level + 1),
                group_index(i, level + 1),
                "nests"
            );
            // A group is at most 2^(level-10) of its values wide (or 1 µs).
            let (low, high) = (value_at_index(g), group_highest(g, level));
            assert!(high - low < (low >> (10 - level)).max(1), "{i} at {level}");
        }
    }
}

#[test]
fn the_coarsest_level_holds_one_group_per_power_of_two() {
    let mut h = sparse(
        &(0..=crate::MAX_TRACKABLE_US)
            .step_by(9_973)
            .map(|v| (v, 1))
            .collect::<Vec<_>>(),
    );
    h.record_n(1, 1);
    h.fit(0);
    assert_eq!(h.level(), MAX_LEVEL);
    assert!(h.buckets() <= 33, "{}", h.buckets());
}

#[test]
fn a_row_fed_for_weeks_stays_within_its_budget() {
    // A week of one request a second (in bursts of 8 every 8 s), from a heavy-tailed
    // distribution over 1 µs .. one hour: far more distinct 3-digit buckets than the budget.
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut row = SparseHist::new();
    let mut exact = SparseHist::new();
    let mut max_bytes = 0;
    for _ in 0..(7 * 86_400 / 8) {
        let mut second = SparseHist::new();
        for _ in 0..8 {
            let r = next();
            let v = (500 + (r & 0xfff)) << ((r >> 20) % 14);
            second.record_n(v.min(crate::MAX_TRACKABLE_US), 1);
        }
        exact.add(&second);
        row.add(&second);
        row.fit(256);
        assert!(row.buckets() <= 256);
        max_bytes = max_bytes.max(row.heap_bytes());
    }
    assert!(max_bytes <= 3_300, "{max_bytes} bytes");
    assert!(
        exact.buckets() > 10_000,
        "the test needs more buckets than the budget"
    );
    assert_eq!(row.len(), exact.len());
    assert_eq!(row.iter().map(|(_, c)| c).sum::<u64>(), exact.len());
    let mut coarse = exact.clone();
    coarse.coarsen_to(row.level());
    assert_eq!(
        &coarse, &row,
        "the same as coarsening the whole week at once"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Past a budget, the counts move into groups: the total is kept, every quantile is the
    /// highest value of the group holding the exact answer, and cumulative counts take whole
    /// groups. Adding fine counts to a coarse histogram (or the other way) is the same as
    /// coarsening the sum.
    #[test]
    fn coarsening_keeps_counts_and_bounds_answers(
        a in latencies(), b in latencies(), budget in 0usize..200, q in 0.0f64..=1.0, bound in any::<u32>(),
    ) {
        let exact = sparse(&a);
        let mut c = exact.clone();
        c.fit(budget);
        prop_assert!(c.buckets() <= budget || c.level() == MAX_LEVEL);
        prop_assert!(c.buckets() <= exact.buckets());
        prop_assert_eq!(c.len(), exact.len());
        prop_assert_eq!(c.iter().map(|(_, n)| n).sum::<u64>(), exact.len());
        let level = c.level();
        for q in [0.5, 0.95, 0.99, 1.0, q] {
            let fine = exact.value_at_quantile(q);
            let want = if exact.is_empty() { 0 } else { group_highest(group_index(index_of(fine), level), level) };
            prop_assert_eq!(c.value_at_quantile(q), want, "q {}", q);
        }
        for v in [0, 999, 1000, 50_000, u64::from(bound), crate::MAX_TRACKABLE_US] {
            let through = group_highest(group_index(index_of(v), level), level);
            prop_assert_eq!(c.count_at_or_below(v), exact.count_at_or_below(through), "bound {}", v);
        }

        let mut sum = sparse(&a);
        sum.add(&sparse(&b));
        sum.coarsen_to(level);
        let mut fine_into_coarse = c.clone();
        fine_into_coarse.add(&sparse(&b));
        prop_assert_eq!(&fine_into_coarse, &sum);
        let mut coarse_into_fine = sparse(&b);
        coarse_into_fine.add(&c);
        prop_assert_eq!(&coarse_into_fine, &sum);
    }

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
