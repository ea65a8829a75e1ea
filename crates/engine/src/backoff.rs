//! Capped exponential backoff with jitter.
//!
//! When the target is down, every user's next request fails to connect at once. Without a pause
//! a thousand users would spin through connection attempts and burn a core; with a fixed pause
//! they would all retry in lockstep. So the pause doubles with each consecutive failure, is
//! capped, and is jittered ("equal jitter": half fixed, half random) to spread users out.

use std::time::Duration;

/// Backoff policy: `base * 2^(failures-1)`, capped at `max`, then multiplied by a factor in
/// `[0.5, 1.0)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Pause after the first failure (before jitter).
    pub base: Duration,
    /// Largest pause (before jitter).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(250),
            max: Duration::from_secs(15),
        }
    }
}

impl Backoff {
    /// The pause before the next attempt after `failures` consecutive failures (0 = none).
    /// `unit` is a uniform sample in `[0, 1)` supplied by the caller's RNG.
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        // 2^(failures-1), saturating long before overflow matters.
        let exp = failures.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.max);
        let factor = 0.5 + 0.5 * unit.clamp(0.0, 1.0);
        raw.mul_f64(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_failures_no_pause() {
        assert_eq!(Backoff::default().delay(0, 0.7), Duration::ZERO);
    }

    #[test]
    fn doubles_then_caps() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        // unit = 1.0 would be the top of the jitter range: the raw value.
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(b.delay(2, 1.0), Duration::from_millis(200));
        assert_eq!(b.delay(4, 1.0), Duration::from_millis(800));
        assert_eq!(b.delay(5, 1.0), Duration::from_secs(1));
        assert_eq!(b.delay(u32::MAX, 1.0), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_in_upper_half() {
        let b = Backoff::default();
        for i in 0..100 {
            let unit = f64::from(i) / 100.0;
            let d = b.delay(3, unit);
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1000));
        }
    }
}
