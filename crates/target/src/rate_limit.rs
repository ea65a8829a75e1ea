//! The gateway's rate limit (express-rate-limit): at most `max` requests per client IP per
//! fixed window; past it, 429 with a plain-text body. Off unless `--rate-limit` is given
//! (the real deployments effectively disable it).
//!
//! Like express-rate-limit's memory store, every counter resets when the window ends. The
//! table of IPs is bounded ([`MAX_TRACKED_IPS`]); IPs beyond it are not limited until the
//! next window rather than growing memory without bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{ConfigError, parse_duration};
use crate::store::lock;

/// Client IPs counted per window at most.
pub const MAX_TRACKED_IPS: usize = 100_000;

/// The body of a 429, exactly.
pub const MESSAGE: &str = "Too many requests from this IP, please try again later.";

/// `max` requests per `window` per client IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub max: u64,
    /// The window.
    pub window: Duration,
}

impl RateLimit {
    /// `off`, `MAX` (per 15 minutes, the gateway's default window) or `MAX/WINDOW`
    /// (`100/15m`, `1000/1m`).
    pub fn parse(spec: &str) -> Result<Option<RateLimit>, ConfigError> {
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("off") || spec == "0" {
            return Ok(None);
        }
        let bad = |reason: &str| ConfigError::RateLimit {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (max, window) = spec.split_once('/').unwrap_or((spec, "15m"));
        let max: u64 = max
            .trim()
            .parse()
            .map_err(|_| bad("expected MAX or MAX/WINDOW, e.g. 100/15m"))?;
        let window = parse_duration(window.trim()).map_err(|e| bad(&e))?;
        if max == 0 || window.is_zero() {
            return Err(bad("the maximum and the window must be above zero"));
        }
        Ok(Some(RateLimit { max, window }))
    }
}

/// What the limiter decided, with the legacy `X-RateLimit-*` header values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// False: answer 429.
    pub allowed: bool,
    /// `X-RateLimit-Limit`.
    pub limit: u64,
    /// `X-RateLimit-Remaining`.
    pub remaining: u64,
    /// `X-RateLimit-Reset`: when the window ends, in seconds since the epoch.
    pub reset_epoch_s: i64,
    /// `Retry-After`, in seconds.
    pub retry_after_s: u64,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    started_epoch_ms: i64,
    counts: HashMap<IpAddr, u64>,
}

/// Counts requests per IP.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    window: Mutex<Window>,
}

impl RateLimiter {
    /// A limiter whose first window starts now.
    pub fn new(limit: RateLimit, now: Instant, now_epoch_ms: i64) -> RateLimiter {
        RateLimiter {
            limit,
            window: Mutex::new(Window {
                started: now,
                started_epoch_ms: now_epoch_ms,
                counts: HashMap::new(),
            }),
        }
    }

    /// Counts one request from `ip`.
    pub fn check(&self, ip: IpAddr, now: Instant, now_epoch_ms: i64) -> Verdict {
        let mut w = lock(&self.window);
        if now.saturating_duration_since(w.started) >= self.limit.window {
            w.started = now;
            w.started_epoch_ms = now_epoch_ms;
            w.counts.clear();
        }
        let window_ms = i64::try_from(self.limit.window.as_millis()).unwrap_or(i64::MAX);
        let reset_ms = w.started_epoch_ms.saturating_add(window_ms);
        let count = if w.counts.len() < MAX_TRACKED_IPS || w.counts.contains_key(&ip) {
            let c = w.counts.entry(ip).or_insert(0);
            *c += 1;
            *c
        } else {
            1
        };
        let left_ms = (reset_ms - now_epoch_ms).max(0);
        Verdict {
            allowed: count <= self.limit.max,
            limit: self.limit.max,
            remaining: self.limit.max.saturating_sub(count),
            reset_epoch_s: (reset_ms + 999) / 1000,
            retry_after_s: u64::try_from((left_ms + 999) / 1000).unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(RateLimit::parse("off").unwrap(), None);
        assert_eq!(
            RateLimit::parse("100").unwrap(),
            Some(RateLimit {
                max: 100,
                window: Duration::from_secs(900)
            })
        );
        assert_eq!(
            RateLimit::parse("5/1s").unwrap(),
            Some(RateLimit {
                max: 5,
                window: Duration::from_secs(1)
            })
        );
        for bad in ["x", "10/x", "0/1m", "-1"] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_per_ip_and_resets_with_the_window() {
        let t0 = Instant::now();
        let l = RateLimiter::new(
            RateLimit {
                max: 2,
                window: Duration::from_secs(60),
            },
            t0,
            1_000_000,
        );
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(l.check(a, t0, 1_000_000).allowed);
        let v = l.check(a, t0, 1_000_000);
        assert!(v.allowed);
        assert_eq!(v.remaining, 0);
        let v = l.check(a, t0, 1_000_000);
        assert!(!v.allowed);
        assert_eq!((v.reset_epoch_s, v.retry_after_s), (1060, 60));
        assert!(l.check(b, t0, 1_000_000).allowed);
        let later = t0 + Duration::from_secs(61);
        assert!(l.check(a, later, 1_061_000).allowed);
    }
}
