//! Which user type the n-th user gets.
//!
//! Users are numbered in spawn order. The type of user `n` depends only on `n` (never on the
//! history of scaling), so any total `N` always yields the same mix, and scaling down by removing
//! the newest users leaves exactly the mix of the smaller total:
//!
//! 1. first the `fixed_count` users, in the order of their types, interleaved;
//! 2. then the weighted types, in the order of a *smooth weighted round-robin* (the algorithm
//!    nginx uses for upstream weights): for weights 3:1 the sequence is `A A B A A A B A ...`,
//!    so every prefix is as close to the weights as integers allow and types are interleaved
//!    rather than spawned in blocks (a block of one type would burst its logins).

/// A user type's share of the users, as seen by the distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// Relative weight (ignored when `fixed` is set).
    pub weight: u32,
    /// Exactly this many users of this type, spawned before the weighted ones.
    pub fixed: Option<u32>,
}

/// Iterator-like generator of user type indices in spawn order.
#[derive(Clone, Debug)]
pub struct Distribution {
    /// The fixed-count prefix, already expanded (bounded by the sum of fixed counts).
    fixed: Vec<usize>,
    /// (type index, weight) of the weighted types.
    weighted: Vec<(usize, i64)>,
    total_weight: i64,
}

impl Distribution {
    /// Builds the distribution. Types with weight 0 and no fixed count never get users.
    pub fn new(shares: &[Share]) -> Self {
        // Interleave the fixed counts with the same smooth round-robin, weighted by count.
        let fixed_types: Vec<(usize, i64)> = shares
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.fixed.filter(|&n| n > 0).map(|n| (i, i64::from(n))))
            .collect();
        let fixed_total: i64 = fixed_types.iter().map(|(_, n)| n).sum();
        let mut fixed = Vec::with_capacity(usize::try_from(fixed_total).unwrap_or(0));
        let mut current = vec![0i64; fixed_types.len()];
        let mut remaining: Vec<i64> = fixed_types.iter().map(|(_, n)| *n).collect();
        for _ in 0..fixed_total {
            if let Some(pick) = smooth_pick(&fixed_types, &mut current, fixed_total, &remaining) {
                remaining[pick] -= 1;
                fixed.push(fixed_types[pick].0);
            }
        }
        let weighted: Vec<(usize, i64)> = shares
            .iter()
            .enumerate()
            .filter(|(_, s)| s.fixed.is_none() && s.weight > 0)
            .map(|(i, s)| (i, i64::from(s.weight)))
            .collect();
        let total_weight = weighted.iter().map(|(_, w)| w).sum();
        Distribution {
            fixed,
            weighted,
            total_weight,
        }
    }

    /// The number of users reserved by fixed counts.
    pub fn fixed_total(&self) -> usize {
        self.fixed.len()
    }

    /// The type indices of users `0..n`, in spawn order. Returns fewer than `n` only when no
    /// weighted type exists and the fixed counts are exhausted.
    pub fn first(&self, n: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self.fixed.iter().copied().take(n).collect();
        if self.weighted.is_empty() {
            return out;
        }
        let mut current = vec![0i64; self.weighted.len()];
        let unlimited = vec![i64::MAX; self.weighted.len()];
        while out.len() < n {
            match smooth_pick(&self.weighted, &mut current, self.total_weight, &unlimited) {
                Some(pick) => out.push(self.weighted[pick].0),
                None => break,
            }
        }
        out
    }

    /// How many users of each type (indexed like the shares given to [`Distribution::new`])
    /// a total of `n` users has.
    pub fn counts(&self, n: usize, types: usize) -> Vec<usize> {
        let mut counts = vec![0; types];
        for t in self.first(n) {
            if let Some(c) = counts.get_mut(t) {
                *c += 1;
            }
        }
        counts
    }
}

/// One step of smooth weighted round-robin over the candidates that still have `remaining > 0`.
fn smooth_pick(
    items: &[(usize, i64)],
    current: &mut [i64],
    total: i64,
    remaining: &[i64],
) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, (_, w)) in items.iter().enumerate() {
        if remaining[i] <= 0 {
            continue;
        }
        current[i] += w;
        if best.is_none_or(|b| current[i] > current[b]) {
            best = Some(i);
        }
    }
    if let Some(b) = best {
        current[b] -= total;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(weight: u32) -> Share {
        Share {
            weight,
            fixed: None,
        }
    }

    #[test]
    fn interleaves_by_weight() {
        let d = Distribution::new(&[w(3), w(1)]);
        assert_eq!(d.first(8), vec![0, 0, 1, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn equal_weights_alternate() {
        let d = Distribution::new(&[w(50), w(50)]);
        assert_eq!(d.first(4), vec![0, 1, 0, 1]);
    }

    #[test]
    fn counts_follow_weights_for_any_total() {
        let d = Distribution::new(&[w(5), w(3), w(2)]);
        for n in [10, 100, 1000] {
            let c = d.counts(n, 3);
            assert_eq!(c, vec![n / 2, n * 3 / 10, n / 5]);
        }
        // Every prefix is within one user of the exact share.
        for n in 1..200 {
            let c = d.counts(n, 3);
            for (i, wt) in [5.0, 3.0, 2.0].iter().enumerate() {
                let exact = n as f64 * wt / 10.0;
                assert!((c[i] as f64 - exact).abs() <= 1.0, "n={n} {c:?}");
            }
        }
    }

    #[test]
    fn fixed_counts_come_first_and_are_capped() {
        let d = Distribution::new(&[
            w(1),
            Share {
                weight: 1,
                fixed: Some(2),
            },
        ]);
        assert_eq!(d.fixed_total(), 2);
        assert_eq!(d.first(5), vec![1, 1, 0, 0, 0]);
        assert_eq!(d.counts(1, 2), vec![0, 1]);
    }

    #[test]
    fn only_fixed_types_stop_at_their_total() {
        let d = Distribution::new(&[Share {
            weight: 1,
            fixed: Some(3),
        }]);
        assert_eq!(d.first(10), vec![0, 0, 0]);
    }

    #[test]
    fn zero_weight_gets_nobody() {
        let d = Distribution::new(&[w(0), w(2)]);
        assert_eq!(d.counts(10, 2), vec![0, 10]);
    }
}
