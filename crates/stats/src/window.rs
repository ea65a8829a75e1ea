//! Fixed-size rings over the last few seconds: per-row request/failure counts (for "current"
//! req/s and failures/s) and per-second latency histograms of all rows (for the "current"
//! percentiles of history points).
//!
//! Both are addressed by the *tick*, the number of intervals applied since the stats were
//! created or reset (ticks start at 1). A ring slot remembers the tick it belongs to, so a row
//! that received nothing for a while needs no per-second bookkeeping: stale slots are simply
//! ignored when summing.

use std::collections::VecDeque;

use hdrhistogram::Histogram;

use crate::hist::{self, RECENT_SIGFIG};

#[derive(Clone, Copy, Debug, Default)]
struct WindowSlot {
    /// 0 = never written.
    tick: u64,
    requests: u64,
    failures: u64,
    sum_us: u64,
}

/// Sums over the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WindowTotals {
    pub(crate) requests: u64,
    pub(crate) failures: u64,
    pub(crate) sum_us: u64,
}

/// The last `len` seconds of one row's counts (`len` × 32 bytes).
#[derive(Clone)]
pub(crate) struct RateWindow {
    slots: Box<[WindowSlot]>,
}

impl RateWindow {
    pub(crate) fn new(len: usize) -> Self {
        RateWindow {
            slots: vec![WindowSlot::default(); len.max(1)].into_boxed_slice(),
        }
    }

    /// Adds counts to the second `tick`.
    pub(crate) fn add(&mut self, tick: u64, requests: u64, failures: u64, sum_us: u64) {
        let len = self.slots.len() as u64;
        let slot = &mut self.slots[(tick % len) as usize];
        if slot.tick != tick {
            *slot = WindowSlot {
                tick,
                ..WindowSlot::default()
            };
        }
        slot.requests = slot.requests.saturating_add(requests);
        slot.failures = slot.failures.saturating_add(failures);
        slot.sum_us = slot.sum_us.saturating_add(sum_us);
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.slots)
    }

    /// Sums of the seconds `(now - len, now]`.
    pub(crate) fn totals(&self, now: u64) -> WindowTotals {
        let len = self.slots.len() as u64;
        self.slots
            .iter()
            .filter(|s| s.tick != 0 && s.tick <= now && s.tick + len > now)
            .fold(WindowTotals::default(), |acc, s| WindowTotals {
                requests: acc.requests.saturating_add(s.requests),
                failures: acc.failures.saturating_add(s.failures),
                sum_us: acc.sum_us.saturating_add(s.sum_us),
            })
    }
}

/// The latency histograms (2 significant digits) of the last `cap` seconds, all rows together.
/// Histograms leaving the ring are reset and reused, so steady state allocates nothing.
pub(crate) struct RecentHistograms {
    ring: VecDeque<Histogram<u64>>,
    cap: usize,
    /// Scratch space for merging the ring.
    merged: Histogram<u64>,
}

impl RecentHistograms {
    pub(crate) fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        RecentHistograms {
            ring: VecDeque::with_capacity(cap),
            cap,
            merged: hist::new_hist(RECENT_SIGFIG),
        }
    }

    /// Starts a new second and returns its (empty) histogram to fill.
    pub(crate) fn next_second(&mut self) -> &mut Histogram<u64> {
        let h = if self.ring.len() >= self.cap {
            let mut oldest = self
                .ring
                .pop_front()
                .unwrap_or_else(|| hist::new_hist(RECENT_SIGFIG));
            oldest.reset();
            oldest
        } else {
            hist::new_hist(RECENT_SIGFIG)
        };
        self.ring.push_back(h);
        let last = self.ring.len() - 1; // just pushed: not empty
        &mut self.ring[last]
    }

    /// The [`crate::PERCENTILES`] (µs) of the last `cap` seconds together, and the number of
    /// requests they cover.
    pub(crate) fn percentiles_us(&mut self) -> ([u64; 11], u64) {
        self.merged.reset();
        for h in &self.ring {
            hist::add(&mut self.merged, h);
        }
        let max = self.merged.max();
        let min = self.merged.min();
        (
            hist::percentiles_us(&self.merged, min, max),
            self.merged.len(),
        )
    }

    /// The newest second's histogram.
    pub(crate) fn last(&self) -> Option<&Histogram<u64>> {
        self.ring.back()
    }

    pub(crate) fn clear(&mut self) {
        self.ring.clear();
        self.merged.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sums_only_recent_ticks() {
        let mut w = RateWindow::new(3);
        w.add(1, 10, 1, 100);
        w.add(2, 20, 0, 200);
        w.add(2, 5, 1, 50);
        assert_eq!(
            w.totals(2),
            WindowTotals {
                requests: 35,
                failures: 2,
                sum_us: 350
            }
        );
        // Tick 4: window (1, 4] holds ticks 2..=4.
        assert_eq!(w.totals(4).requests, 25);
        // Tick 5 overwrites the slot of tick 2.
        w.add(5, 1, 0, 0);
        assert_eq!(w.totals(5).requests, 1);
        assert_eq!(w.totals(100).requests, 0);
    }

    #[test]
    fn recent_ring_is_bounded_and_merges() {
        let mut r = RecentHistograms::new(3);
        for s in 1..=10u64 {
            let h = r.next_second();
            let _ = h.record_n(s * 1000, 10);
        }
        assert_eq!(r.ring.len(), 3);
        let (p, n) = r.percentiles_us();
        assert_eq!(n, 30);
        // Seconds 8, 9, 10 remain.
        assert!(p[0] >= 8900 && p[0] <= 9100, "{p:?}");
        assert!(p[10] >= 10_000 && p[10] <= 10_100, "{p:?}");
        r.clear();
        assert_eq!(r.percentiles_us().1, 0);
    }
}
