//! The worker's own numbers, for its `/metrics` (`--metrics-port`) and its OTLP metric export.
//!
//! The statistics a worker reports are intervals: the recorder is emptied every report and the
//! master keeps the totals. A worker's own `/metrics` needs totals too, so the agent also
//! applies every interval it takes to a cumulative [`Stats`] here, before handing the interval
//! to the outbox. Totals are therefore up to one report period (2 s) behind the users, and
//! cumulative since the worker started (never reset: a reset on the master does not reach
//! workers, and Prometheus counters must not go down within a process).
//!
//! Bounded like the master's statistics: at most `max_entries` rows (further rows share the
//! overflow row), the default failure cap, and history rings of one point (the worker shows no
//! charts). The agent writes (once per report and per heartbeat); scrapes read. Both hold the
//! lock briefly; users never touch it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use cicada_stats::{Interval, Stats, StatsConfig};

/// Rows kept by default (the master's default `--max-entries`).
pub const DEFAULT_MAX_ENTRIES: usize = 1000;

struct Inner {
    id: String,
    stats: Mutex<Stats>,
    users: Mutex<Vec<(String, u64)>>,
    target: AtomicU64,
}

/// Shared handle on the worker's cumulative numbers (cheap to clone).
#[derive(Clone)]
pub struct WorkerMetrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WorkerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerMetrics")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data: a panic while holding the lock leaves it usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WorkerMetrics {
    /// Empty totals for worker `id`, keeping at most `max_entries` rows.
    pub fn new(id: impl Into<String>, max_entries: usize) -> WorkerMetrics {
        let config = StatsConfig {
            max_entries: max_entries.max(1),
            history_len: 1,
            long_history_len: 1,
            ..StatsConfig::default()
        };
        WorkerMetrics {
            inner: Arc::new(Inner {
                id: id.into(),
                stats: Mutex::new(Stats::new(config)),
                users: Mutex::new(Vec::new()),
                target: AtomicU64::new(0),
            }),
        }
    }

    /// The worker's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Adds one interval to the totals (the agent, at every report).
    pub fn apply(&self, interval: Interval) {
        if interval.is_empty() {
            return;
        }
        let users = self.users().iter().map(|(_, n)| n).sum();
        let mut stats = lock(&self.inner.stats);
        stats.apply(interval, SystemTime::now(), users);
        if let Some(warning) = stats.take_overflow_warning() {
            tracing::warn!("{warning}");
        }
    }

    /// Records the users running now per type, and the users wanted in total.
    pub fn set_users(&self, running: Vec<(String, u64)>, target: u64) {
        *lock(&self.inner.users) = running;
        self.inner.target.store(target, Ordering::Relaxed);
    }

    /// Users running per type, as last recorded.
    pub fn users(&self) -> Vec<(String, u64)> {
        lock(&self.inner.users).clone()
    }

    /// Users wanted (the master's assignment), as last recorded.
    pub fn target_users(&self) -> u64 {
        self.inner.target.load(Ordering::Relaxed)
    }

    /// Reads the totals under the lock.
    pub fn with_stats<R>(&self, f: impl FnOnce(&Stats) -> R) -> R {
        f(&lock(&self.inner.stats))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cicada_stats::RequestKey;

    use super::*;

    fn interval(name: &str, n: u64) -> Interval {
        let mut i = Interval::new();
        let key = RequestKey::new("GET", name);
        for _ in 0..n {
            i.record(&key, Duration::from_millis(5), 10, None);
        }
        i
    }

    #[test]
    fn totals_accumulate_and_rows_are_capped() {
        let m = WorkerMetrics::new("w1", 2);
        m.apply(interval("/a", 3));
        m.apply(Interval::new());
        m.apply(interval("/a", 2));
        assert_eq!(m.with_stats(Stats::total_requests), 5);
        m.apply(interval("/b", 1));
        m.apply(interval("/c", 1));
        m.apply(interval("/d", 1));
        assert_eq!(m.with_stats(Stats::total_requests), 8, "nothing is lost");
        assert!(
            m.with_stats(Stats::entry_count) <= 3,
            "two rows and the overflow row"
        );
        m.set_users(vec![("Reader".into(), 4)], 5);
        assert_eq!(m.users(), [("Reader".to_owned(), 4)]);
        assert_eq!((m.target_users(), m.id()), (5, "w1"));
    }
}
