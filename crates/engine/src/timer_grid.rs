//! Timer slack: think times end on a shared grid so that users wake up together.
//!
//! With a thousand users thinking 1-5 s each, requests are spread evenly in time and every one
//! of them costs the process two wake-ups from idle (the timer, then the response). On a VM a
//! wake-up costs more than the request itself. Rounding the end of every *long* sleep up to a
//! shared grid (50 ms by default) lets the runtime wake once per grid point for all the users
//! due then: their requests leave together and their responses come back in one poll. Linux
//! does the same for timers with its "timer slack".
//!
//! The distortion is invisible to anyone watching the traffic: a 1-5 s think time is lengthened
//! by at most one grid step, and at one-second resolution the request rate is unchanged.
//! Short sleeps (below `min_sleep`) are left exact: they are part of a scripted pace.

use std::time::Duration;

use tokio::time::Instant;

/// Where long sleeps end.
#[derive(Clone, Copy, Debug)]
pub struct TimerGrid {
    epoch: Instant,
    step: Duration,
    min_sleep: Duration,
}

impl TimerGrid {
    /// A grid of `step` starting now; sleeps shorter than `min_sleep` are not rounded.
    /// A zero `step` disables the rounding.
    pub fn new(step: Duration, min_sleep: Duration) -> Self {
        TimerGrid {
            epoch: Instant::now(),
            step,
            min_sleep,
        }
    }

    /// The instant a sleep of `duration` starting `now` should end.
    pub fn deadline(&self, now: Instant, duration: Duration) -> Instant {
        let exact = now + duration;
        if self.step.is_zero() || duration < self.min_sleep {
            return exact;
        }
        let since = exact.saturating_duration_since(self.epoch).as_nanos();
        let step = self.step.as_nanos();
        let rounded = since.div_ceil(step) * step;
        let extra = u64::try_from(rounded - since).unwrap_or(0);
        exact + Duration::from_nanos(extra)
    }
}

impl Default for TimerGrid {
    fn default() -> Self {
        TimerGrid::new(Duration::from_millis(50), Duration::from_millis(250))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn long_sleeps_end_on_the_grid_short_ones_exactly() {
        let grid = TimerGrid::new(Duration::from_millis(25), Duration::from_millis(250));
        let start = Instant::now();
        tokio::time::advance(Duration::from_millis(7)).await;
        let now = Instant::now();
        // 1 s from t=7ms ends at 1.007 s, rounded up to the grid point 1.025 s.
        let end = grid.deadline(now, Duration::from_secs(1));
        assert_eq!(end - start, Duration::from_millis(1025));
        // Never earlier than asked, never more than one step later.
        for ms in [250u64, 333, 1000, 4999] {
            let end = grid.deadline(now, Duration::from_millis(ms));
            let asked = now + Duration::from_millis(ms);
            assert!(end >= asked && end - asked < Duration::from_millis(25));
        }
        // Short sleeps are exact.
        assert_eq!(
            grid.deadline(now, Duration::from_millis(100)),
            now + Duration::from_millis(100)
        );
        // Two users due in the same step wake together.
        let a = grid.deadline(now, Duration::from_millis(1001));
        let b = grid.deadline(now + Duration::from_millis(10), Duration::from_millis(1000));
        assert_eq!(a, b);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_step_disables_rounding() {
        let grid = TimerGrid::new(Duration::ZERO, Duration::ZERO);
        let now = Instant::now();
        assert_eq!(
            grid.deadline(now, Duration::from_millis(1234)),
            now + Duration::from_millis(1234)
        );
    }
}
