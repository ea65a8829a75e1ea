//! The open model on a cluster: the arrivals a load shape asks for, split over the workers,
//! and the open-model counters summed back.
//!
//! The maximum of concurrent arrived users is split like users are ([`balance::ideal`]: even,
//! the remainder one each), and each worker's share of the rate follows its share of the
//! maximum, so a worker that may hold no arrived user gets no arrivals (it would only drop
//! them). Workers that are missing keep what they were sent; the split is over the workers
//! that take new users.
//!
//! The counters a worker reports are its process's (`arrived` and `dropped` since it started);
//! they go back when it restarts. The master keeps what every worker counted before (its
//! `retired` counters) so the cluster's totals never go back: when a worker's counters drop,
//! and when a worker is lost.

use cicada_engine::{ArrivalCounts, Arrivals};

use crate::master::balance;
use crate::proto::{ArrivalCounters, ArrivalsUpdate};

/// Each worker's share of `arrivals` (`None`: the open model is off), in the given order.
pub(crate) fn shares(arrivals: Option<&Arrivals>, workers: usize) -> Vec<ArrivalsUpdate> {
    let Some(a) = arrivals else {
        return vec![ArrivalsUpdate::default(); workers];
    };
    let max_total = u64::from(a.max_users);
    balance::ideal(&[max_total], workers)
        .into_iter()
        .map(|row| {
            let max_users = u32::try_from(row[0]).unwrap_or(u32::MAX);
            let rate = if max_total == 0 {
                0.0
            } else {
                a.rate * row[0] as f64 / max_total as f64
            };
            ArrivalsUpdate {
                on: true,
                rate,
                iterations: a.iterations,
                max_users,
            }
        })
        .collect()
}

/// The engine's arrivals of a worker's update (`None`: off).
pub(crate) fn from_update(update: &ArrivalsUpdate) -> Option<Arrivals> {
    update.on.then_some(Arrivals {
        rate: if update.rate.is_finite() {
            update.rate.max(0.0)
        } else {
            0.0
        },
        iterations: update.iterations.max(1),
        max_users: update.max_users,
    })
}

/// A heartbeat's counters.
pub(crate) fn to_proto(c: ArrivalCounts) -> ArrivalCounters {
    ArrivalCounters {
        active: c.active,
        arrived: c.arrived,
        dropped: c.dropped,
    }
}

fn from_proto(c: &ArrivalCounters) -> ArrivalCounts {
    ArrivalCounts {
        active: c.active,
        arrived: c.arrived,
        dropped: c.dropped,
    }
}

/// One worker's open-model state as the master knows it.
#[derive(Debug, Default)]
pub(crate) struct WorkerArrivals {
    /// The counters of its last heartbeat.
    pub last: ArrivalCounts,
    /// The share last sent on the current stream (`None`: nothing yet, so it is sent).
    pub sent: Option<ArrivalsUpdate>,
}

/// Counters of workers that restarted or were lost, so the totals never go back.
#[derive(Debug, Default)]
pub(crate) struct Retired(ArrivalCounts);

impl Retired {
    /// A worker's new counters; what it counted before a restart is kept.
    pub fn note(&mut self, worker: &mut WorkerArrivals, reported: Option<&ArrivalCounters>) {
        let now = reported.map(from_proto).unwrap_or_default();
        if now.arrived < worker.last.arrived || now.dropped < worker.last.dropped {
            self.keep(&worker.last);
        }
        worker.last = now;
    }

    /// A worker is gone: what it counted stays in the totals (its running users do not).
    pub fn keep(&mut self, last: &ArrivalCounts) {
        self.0.arrived = self.0.arrived.saturating_add(last.arrived);
        self.0.dropped = self.0.dropped.saturating_add(last.dropped);
    }

    /// The cluster's counters: the workers' last ones plus what was retired.
    pub fn total<'a>(&self, workers: impl Iterator<Item = &'a WorkerArrivals>) -> ArrivalCounts {
        workers.fold(self.0, |mut sum, w| {
            sum.active = sum.active.saturating_add(w.last.active);
            sum.arrived = sum.arrived.saturating_add(w.last.arrived);
            sum.dropped = sum.dropped.saturating_add(w.last.dropped);
            sum
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrivals(rate: f64, max_users: u32) -> Arrivals {
        Arrivals {
            rate,
            iterations: 2,
            max_users,
        }
    }

    #[test]
    fn the_rate_follows_each_workers_share_of_the_maximum() {
        let s = shares(Some(&arrivals(30.0, 10)), 4);
        let max: Vec<u32> = s.iter().map(|u| u.max_users).collect();
        assert_eq!(max, [3, 3, 2, 2]);
        let rates: Vec<f64> = s.iter().map(|u| u.rate).collect();
        assert_eq!(rates, [9.0, 9.0, 6.0, 6.0]);
        assert!(s.iter().all(|u| u.on && u.iterations == 2));
        assert!((rates.iter().sum::<f64>() - 30.0).abs() < 1e-9);

        // Fewer users than workers: the ones without a user get no arrivals either.
        let s = shares(Some(&arrivals(10.0, 1)), 3);
        let got: Vec<(u32, f64)> = s.iter().map(|u| (u.max_users, u.rate)).collect();
        assert_eq!(got, [(1, 10.0), (0, 0.0), (0, 0.0)]);

        // Off: one "off" update per worker; no workers: nothing.
        assert!(shares(None, 2).iter().all(|u| !u.on));
        assert!(shares(Some(&arrivals(5.0, 5)), 0).is_empty());
    }

    #[test]
    fn updates_become_engine_arrivals_with_sane_values() {
        let off = ArrivalsUpdate::default();
        assert_eq!(from_update(&off), None);
        let odd = ArrivalsUpdate {
            on: true,
            rate: f64::NAN,
            iterations: 0,
            max_users: 4,
        };
        assert_eq!(
            from_update(&odd),
            Some(arrivals(0.0, 4)).map(|a| Arrivals { iterations: 1, ..a })
        );
    }

    #[test]
    fn totals_never_go_back_when_workers_restart_or_are_lost() {
        let mut retired = Retired::default();
        let (mut a, mut b) = (WorkerArrivals::default(), WorkerArrivals::default());
        let c = |active, arrived, dropped| ArrivalCounters {
            active,
            arrived,
            dropped,
        };
        retired.note(&mut a, Some(&c(3, 100, 5)));
        retired.note(&mut b, Some(&c(1, 40, 0)));
        assert_eq!(
            retired.total([&a, &b].into_iter()),
            ArrivalCounts {
                active: 4,
                arrived: 140,
                dropped: 5
            }
        );
        // a restarts: its counters start again; the 100 and 5 it counted stay.
        retired.note(&mut a, Some(&c(0, 2, 0)));
        // b is lost.
        retired.keep(&b.last);
        assert_eq!(
            retired.total([&a].into_iter()),
            ArrivalCounts {
                active: 0,
                arrived: 142,
                dropped: 5
            }
        );
        // A heartbeat without counters (never ran arrivals) counts as zero.
        let mut fresh = WorkerArrivals::default();
        retired.note(&mut fresh, None);
        assert_eq!(fresh.last, ArrivalCounts::default());
    }
}
