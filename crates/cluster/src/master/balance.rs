//! Where users run: the ideal split of each user type's count over the workers, and the paced
//! steps from the current assignment towards it.
//!
//! The split is even within one user: for each type, every worker gets `count / n` and the
//! remainder goes one each to consecutive workers, starting where the previous type's
//! remainder ended, so per-worker totals differ by at most one too (30 users of one type on 4
//! workers: 8/8/7/7).
//!
//! The spawn rate is global: each unit of budget (the master earns `rate` units a second)
//! starts one user somewhere, and, when another worker has one too many of the same type,
//! retires that one in the same step; a step with nothing to start retires one user. So a
//! rebalance moves users at the spawn rate and never bursts logins, and the total stays put
//! while users move.

/// The ideal per-worker, per-type counts: `totals[t]` users of type `t` split over `workers`
/// workers (in their given order).
pub fn ideal(totals: &[u64], workers: usize) -> Vec<Vec<u64>> {
    let mut out = vec![vec![0; totals.len()]; workers];
    if workers == 0 {
        return out;
    }
    let n = workers as u64;
    let mut offset = 0usize;
    for (t, &total) in totals.iter().enumerate() {
        let base = total / n;
        let rem = (total % n) as usize;
        for (i, row) in out.iter_mut().enumerate() {
            let turn = (i + workers - offset) % workers;
            row[t] = base + u64::from(turn < rem);
        }
        offset = (offset + rem) % workers;
    }
    out
}

/// Moves `current` towards `target` by at most `budget` steps (see the module docs). Returns
/// the steps taken. Both are indexed `[worker][type]` with the same shape.
pub fn step(current: &mut [Vec<u64>], target: &[Vec<u64>], budget: u64) -> u64 {
    let mut used = 0;
    while used < budget {
        let start = most(current, target, |have, want| want.saturating_sub(have));
        match start {
            Some((w, t)) => {
                current[w][t] += 1;
                // The same type, one too many elsewhere: that user moves.
                if let Some(r) = most_in_type(current, target, t) {
                    current[r][t] -= 1;
                }
            }
            None => match most(current, target, |have, want| have.saturating_sub(want)) {
                Some((w, t)) => current[w][t] -= 1,
                None => break,
            },
        }
        used += 1;
    }
    used
}

/// True when nothing is left to do.
pub fn settled(current: &[Vec<u64>], target: &[Vec<u64>]) -> bool {
    current == target
}

/// The (worker, type) with the largest positive `gap(have, want)`; ties: first.
fn most(
    current: &[Vec<u64>],
    target: &[Vec<u64>],
    gap: impl Fn(u64, u64) -> u64,
) -> Option<(usize, usize)> {
    let mut best: Option<(u64, usize, usize)> = None;
    for (w, (have_row, want_row)) in current.iter().zip(target).enumerate() {
        for (t, (&have, &want)) in have_row.iter().zip(want_row).enumerate() {
            let g = gap(have, want);
            if g > 0 && best.is_none_or(|(b, _, _)| g > b) {
                best = Some((g, w, t));
            }
        }
    }
    best.map(|(_, w, t)| (w, t))
}

/// The worker with the largest surplus of type `t`.
fn most_in_type(current: &[Vec<u64>], target: &[Vec<u64>], t: usize) -> Option<usize> {
    let mut best: Option<(u64, usize)> = None;
    for (w, (have_row, want_row)) in current.iter().zip(target).enumerate() {
        let surplus = have_row[t].saturating_sub(want_row[t]);
        if surplus > 0 && best.is_none_or(|(b, _)| surplus > b) {
            best = Some((surplus, w));
        }
    }
    best.map(|(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(rows: &[Vec<u64>]) -> Vec<u64> {
        rows.iter().map(|r| r.iter().sum()).collect()
    }

    #[test]
    fn splits_are_even_within_one_user() {
        assert_eq!(totals(&ideal(&[30], 3)), [10, 10, 10]);
        assert_eq!(totals(&ideal(&[30], 4)), [8, 8, 7, 7]);
        // Two types whose remainders would both land on the first worker without rotation.
        let split = ideal(&[5, 5], 4);
        assert_eq!(split, [vec![2, 1], vec![1, 2], vec![1, 1], vec![1, 1]]);
        assert_eq!(totals(&split), [3, 3, 2, 2]);
        for (types, workers) in [(vec![7, 3, 1], 3), (vec![100, 1, 0, 9], 7), (vec![1], 5)] {
            let split = ideal(&types, workers);
            let t = totals(&split);
            let (min, max) = (t.iter().min().unwrap(), t.iter().max().unwrap());
            assert!(max - min <= 1, "{types:?} on {workers}: {t:?}");
            for (ty, &want) in types.iter().enumerate() {
                assert_eq!(split.iter().map(|r| r[ty]).sum::<u64>(), want);
            }
        }
        assert!(ideal(&[3], 0).is_empty());
    }

    #[test]
    fn a_joining_worker_takes_users_at_the_budget_and_the_total_holds() {
        let mut current = vec![vec![10], vec![10], vec![10], vec![0]];
        let target = ideal(&[30], 4);
        let mut steps = 0;
        while !settled(&current, &target) {
            let used = step(&mut current, &target, 1);
            assert_eq!(used, 1);
            steps += 1;
            assert_eq!(
                totals(&current).iter().sum::<u64>(),
                30,
                "moves keep the total"
            );
            assert!(steps < 100);
        }
        assert_eq!(steps, 7, "7 users move to the new worker, one per unit");
        assert_eq!(totals(&current), [8, 8, 7, 7]);
    }

    #[test]
    fn growth_and_shrink_are_paced_and_a_zero_budget_does_nothing() {
        let mut current = vec![vec![0, 0], vec![0, 0]];
        let target = ideal(&[6, 2], 2);
        assert_eq!(step(&mut current, &target, 0), 0);
        assert_eq!(step(&mut current, &target, 3), 3);
        assert_eq!(totals(&current).iter().sum::<u64>(), 3);
        assert_eq!(step(&mut current, &target, 100), 5);
        assert_eq!(current, target);
        let smaller = ideal(&[2, 0], 2);
        assert_eq!(step(&mut current, &smaller, 2), 2);
        assert_eq!(totals(&current).iter().sum::<u64>(), 6);
        step(&mut current, &smaller, 100);
        assert_eq!(current, smaller);
    }
}
