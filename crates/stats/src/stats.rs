//! [`Stats`]: the cumulative statistics an aggregator builds by applying one [`Interval`] per
//! second. Single-threaded by design: it is owned by one task (the aggregator or the master's
//! coordinator), which hands out [`Snapshot`]s to readers.
//!
//! # Bounds
//!
//! Everything is capped, for processes that run for weeks:
//!
//! * rows: [`StatsConfig::max_entries`] plus one overflow row (`OTHER`,
//!   `(other: entry limit reached)`) that receives every further row;
//! * failure rows: [`StatsConfig::max_failures`] plus one overflow row;
//! * history: [`StatsConfig::history_len`] per-second points and
//!   [`StatsConfig::long_history_len`] per-minute points;
//! * current rates: a [`StatsConfig::current_window`]-slot ring per row; recent percentiles: a
//!   ring of as many 2-digit histograms.
//!
//! A row's histogram keeps only the buckets it used (10 bytes each, see [`crate::sparse`]) and
//! at most [`crate::entry::ROW_BUCKETS`] of them, coarsening past that: ~3.2 KiB per row at
//! most, so ~3.2 MiB for the default 1 002 rows, plus ~3 MB of history.
//!
//! The table also tells the [`crate::Recorder`] that feeds it which rows it keeps
//! ([`Stats::publish_admission`], see [`crate::Admission`]), so that the recorder does not hold
//! slots for rows that end up in the overflow row.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::admission::Admission;
use crate::entry::{Entry, SnapshotContext};
use crate::hist;
use crate::history::{self, HistoryPoint, MinuteAccumulator, Totals};
use crate::interval::Interval;
use crate::key::{
    FailureKey, OVERFLOW_ENTRY_NAME, OVERFLOW_FAILURE_NAME, OVERFLOW_METHOD, RequestKey,
};
use crate::snapshot::{self, FailureSnapshot, Snapshot};
use crate::window::RecentHistograms;

/// Name of the total row, as in Locust.
pub const AGGREGATED_NAME: &str = "Aggregated";

/// Bounds of a [`Stats`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsConfig {
    /// Distinct rows before the overflow row is used (default 1000).
    pub max_entries: usize,
    /// Distinct failure rows before the overflow failure row is used (default 500).
    pub max_failures: usize,
    /// Per-second history points kept (default 3600: one hour).
    pub history_len: usize,
    /// Seconds over which "current" rates are averaged, and over which the percentiles of
    /// history points are computed (default 10, like Locust).
    pub current_window: usize,
    /// Per-minute history points kept (default 10080: seven days).
    pub long_history_len: usize,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            max_entries: 1000,
            max_failures: 500,
            history_len: 3600,
            current_window: 10,
            long_history_len: 10_080,
        }
    }
}

/// Cumulative statistics since start or the last [`Stats::reset`], plus bounded history.
pub struct Stats {
    config: StatsConfig,
    entries: HashMap<RequestKey, Entry>,
    total: Entry,
    failures: HashMap<FailureKey, FailureCount>,
    overflow_key: RequestKey,
    overflow_failure: FailureKey,
    entries_truncated: bool,
    failures_truncated: bool,
    pending_warning: Option<String>,
    /// Intervals applied since creation or reset.
    tick: u64,
    start: Option<SystemTime>,
    last: Option<SystemTime>,
    users: u64,
    recent: RecentHistograms,
    history: VecDeque<HistoryPoint>,
    long_history: VecDeque<HistoryPoint>,
    minute: MinuteAccumulator,
    /// Told which rows this table keeps (see [`Stats::publish_admission`]).
    admission: Option<Admission>,
    /// Whether `admission` is closed (the table was full when last published).
    admission_closed: bool,
}

impl fmt::Debug for Stats {
    /// A summary; the histograms are far too big to print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stats")
            .field("config", &self.config)
            .field("entries", &self.entries.len())
            .field("failure_rows", &self.failures.len())
            .field("total_requests", &self.total.requests)
            .field("total_failures", &self.total.failures)
            .field("ticks", &self.tick)
            .field("history", &self.history.len())
            .field("long_history", &self.long_history.len())
            .finish_non_exhaustive()
    }
}

/// Cumulative figures of the total row, for history points.
fn totals_of(t: &Entry) -> Totals {
    Totals {
        requests: t.requests,
        failures: t.failures,
        median_ms: hist::us_to_ms(t.median_us()),
        avg_ms: t.avg_us() / 1000.0,
        min_ms: hist::us_to_ms(t.min_us_or_zero()),
        max_ms: hist::us_to_ms(t.max_us),
        avg_bytes: t.avg_bytes(),
    }
}

/// How often one failure row happened, and when (Unix seconds of the intervals that carried it).
#[derive(Clone, Copy, Debug)]
struct FailureCount {
    count: u64,
    first_seen: u64,
    last_seen: u64,
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// One row's latency distribution at chosen bounds (see [`Stats::latency_buckets`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyBuckets {
    /// HTTP method (or request type).
    pub method: String,
    /// Request name.
    pub name: String,
    /// Requests of the row.
    pub count: u64,
    /// Sum of their latencies, microseconds.
    pub sum_us: u64,
    /// Requests at or below each bound, cumulative (same length as the bounds).
    pub at_or_below: Vec<u64>,
}

impl Stats {
    /// Empty statistics.
    pub fn new(config: StatsConfig) -> Self {
        let window = config.current_window.max(1);
        Stats {
            entries: HashMap::new(),
            total: Entry::new(window),
            failures: HashMap::new(),
            overflow_key: RequestKey::overflow(),
            overflow_failure: FailureKey::overflow(),
            entries_truncated: false,
            failures_truncated: false,
            pending_warning: None,
            tick: 0,
            start: None,
            last: None,
            users: 0,
            recent: RecentHistograms::new(window),
            history: history::prefaulted_ring(config.history_len),
            long_history: VecDeque::new(),
            minute: MinuteAccumulator::new(),
            admission: None,
            admission_closed: false,
            config,
        }
    }

    /// From now on, publishes to `admission` which rows this table keeps: its row limit, and,
    /// once the table is full, the set of its rows (until [`Stats::reset`]). Give it the
    /// admission of the [`crate::Recorder`] whose intervals are applied here
    /// ([`crate::Recorder::admission`]): the recorder then records rows beyond the limit
    /// straight into the overflow row instead of keeping a slot for each.
    pub fn publish_admission(&mut self, admission: Admission) {
        admission.set_limit(self.config.max_entries);
        self.admission_closed = admission.is_closed();
        self.admission = Some(admission);
        self.sync_admission();
    }

    /// Rows in use, not counting the overflow row.
    fn rows_used(&self) -> usize {
        self.entries.len() - usize::from(self.entries.contains_key(&self.overflow_key))
    }

    /// Closes the admission when the table became full, opens it when it has room again.
    fn sync_admission(&mut self) {
        let Some(admission) = &self.admission else {
            return;
        };
        let full = self.rows_used() >= self.config.max_entries;
        if full && !self.admission_closed {
            admission.close(self.entries.keys().cloned().collect());
            self.admission_closed = true;
        } else if !full && self.admission_closed {
            admission.open();
            self.admission_closed = false;
        }
    }

    /// Approximate heap bytes held by the rows (histograms, counters, keys); history and
    /// failure rows not included. For tests and measurements.
    pub fn rows_heap_bytes(&self) -> usize {
        let per_row = std::mem::size_of::<(RequestKey, Entry)>() + 1;
        self.entries.capacity() * per_row
            + self
                .entries
                .values()
                .chain(std::iter::once(&self.total))
                .map(|e| e.hist.heap_bytes() + e.window.heap_bytes())
                .sum::<usize>()
    }

    /// The bounds in use.
    pub fn config(&self) -> &StatsConfig {
        &self.config
    }

    fn window_len(&self) -> usize {
        self.config.current_window.max(1)
    }

    /// Applies one interval (normally one second of measurements, from one recorder or merged
    /// from all workers). `now` is the wall-clock time at the end of the interval (timestamps
    /// and run duration); `users` the current user count. Appends one per-second history point,
    /// and one per-minute point whenever `now` enters a new minute.
    pub fn apply(&mut self, interval: Interval, now: SystemTime, users: u64) {
        let now_secs = unix_secs(now);
        // The finished minute's totals are the ones before this interval (computed only when a
        // minute actually ends).
        let total = &self.total;
        if let Some(p) = self.minute.roll(now_secs, || totals_of(total)) {
            history::push_bounded(&mut self.long_history, self.config.long_history_len, p);
        }

        self.tick += 1;
        let tick = self.tick;
        if self.start.is_none() {
            self.start = Some(now.checked_sub(Duration::from_secs(1)).unwrap_or(now));
        }
        self.last = Some(now);
        self.users = users;

        let window = self.window_len();
        let second = self.recent.next_second();
        let (mut requests, mut failures, mut sum_us) = (0u64, 0u64, 0u64);
        let mut overflowed = false;
        for (key, e) in interval.entries {
            requests = requests.saturating_add(e.count);
            failures = failures.saturating_add(e.failures);
            sum_us = sum_us.saturating_add(e.sum_us);
            e.hist.add_to_hdr(second);
            self.total.absorb(&e, tick);
            overflowed |= key.is_overflow();
            let key = if self.entries.contains_key(&key) || key.is_overflow() {
                key
            } else {
                let used =
                    self.entries.len() - usize::from(self.entries.contains_key(&self.overflow_key));
                if used < self.config.max_entries {
                    key
                } else {
                    overflowed = true;
                    self.overflow_key.clone()
                }
            };
            self.entries
                .entry(key)
                .or_insert_with(|| Entry::new(window))
                .absorb(&e, tick);
        }
        if overflowed {
            self.note_entry_overflow();
        }
        self.sync_admission();

        let mut failures_overflowed = false;
        for (fk, count) in interval.failures {
            failures_overflowed |= fk.failure.is_overflow();
            let fk = if self.failures.contains_key(&fk) {
                fk
            } else {
                let used = self.failures.len()
                    - usize::from(self.failures.contains_key(&self.overflow_failure));
                if used < self.config.max_failures || fk == self.overflow_failure {
                    fk
                } else {
                    failures_overflowed = true;
                    self.overflow_failure.clone()
                }
            };
            let c = self.failures.entry(fk).or_insert(FailureCount {
                count: 0,
                first_seen: now_secs,
                last_seen: now_secs,
            });
            c.count = c.count.saturating_add(count);
            // Intervals normally arrive in time order; a clock step backwards must not make
            // `first_seen` later than `last_seen`.
            c.first_seen = c.first_seen.min(now_secs);
            c.last_seen = c.last_seen.max(now_secs);
        }
        if failures_overflowed {
            self.note_failure_overflow();
        }

        let point = self.second_point(now_secs, users);
        history::push_bounded(&mut self.history, self.config.history_len, point);
        if let Some(second) = self.recent.last() {
            self.minute
                .add_second(requests, failures, sum_us, users, second);
        }
    }

    fn note_entry_overflow(&mut self) {
        if !self.entries_truncated {
            self.entries_truncated = true;
            self.push_warning(format!(
                "statistics row limit ({}) reached: further request names are counted in the row \
                 \"{OVERFLOW_METHOD} {OVERFLOW_ENTRY_NAME}\"; give requests whose URL contains ids \
                 a fixed name",
                self.config.max_entries
            ));
        }
    }

    fn note_failure_overflow(&mut self) {
        if !self.failures_truncated {
            self.failures_truncated = true;
            self.push_warning(format!(
                "failure row limit ({}) reached: further distinct failures are counted in the row \
                 \"{OVERFLOW_METHOD} {OVERFLOW_FAILURE_NAME}\"; keep failure messages free of \
                 per-request data",
                self.config.max_failures
            ));
        }
    }

    fn push_warning(&mut self, msg: String) {
        match &mut self.pending_warning {
            Some(w) => {
                w.push_str("; ");
                w.push_str(&msg);
            }
            None => self.pending_warning = Some(msg),
        }
    }

    /// The warning raised when a row or failure limit was first reached (once per limit and
    /// reset); `None` when there is nothing new to say.
    pub fn take_overflow_warning(&mut self) -> Option<String> {
        self.pending_warning.take()
    }

    fn totals(&self) -> Totals {
        totals_of(&self.total)
    }

    fn window_secs(&self) -> f64 {
        self.tick.min(self.window_len() as u64) as f64
    }

    fn second_point(&mut self, now_secs: u64, users: u64) -> HistoryPoint {
        let w = self.total.window.totals(self.tick);
        let (percentiles, window_requests) = self.recent.percentiles_us();
        history::point(
            now_secs,
            users,
            self.window_secs(),
            w.requests,
            w.failures,
            w.sum_us,
            percentiles,
            window_requests,
            self.totals(),
        )
    }

    /// Forgets all counts, failures and current windows (a new measurement starts with the next
    /// interval). History is kept, like Locust's reset.
    pub fn reset(&mut self) {
        let window = self.window_len();
        self.entries.clear();
        self.total = Entry::new(window);
        self.failures.clear();
        self.entries_truncated = false;
        self.failures_truncated = false;
        self.pending_warning = None;
        self.tick = 0;
        self.start = None;
        self.last = None;
        self.recent.clear();
        self.sync_admission();
    }

    /// Requests since start or reset.
    pub fn total_requests(&self) -> u64 {
        self.total.requests
    }

    /// Failed requests since start or reset.
    pub fn total_failures(&self) -> u64 {
        self.total.failures
    }

    /// `total_failures / total_requests` (0 without requests).
    pub fn fail_ratio(&self) -> f64 {
        if self.total.requests == 0 {
            0.0
        } else {
            self.total.failures as f64 / self.total.requests as f64
        }
    }

    /// Number of rows (including the overflow row, if used).
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// Seconds covered since start or reset (wall clock; falls back to the number of applied
    /// intervals if the clock went backwards).
    pub fn duration_secs(&self) -> f64 {
        match (self.start, self.last) {
            (Some(start), Some(last)) => last
                .duration_since(start)
                .map_or(self.tick as f64, |d| d.as_secs_f64()),
            _ => 0.0,
        }
    }

    /// Per-second history, oldest first (at most `history_len` points).
    pub fn history(&self) -> impl Iterator<Item = &HistoryPoint> {
        self.history.iter()
    }

    /// Per-minute history, oldest first (at most `long_history_len` points; the minute in
    /// progress is not included).
    pub fn long_history(&self) -> impl Iterator<Item = &HistoryPoint> {
        self.long_history.iter()
    }

    /// The newest per-second point.
    pub fn last_point(&self) -> Option<&HistoryPoint> {
        self.history.back()
    }

    /// Cumulative latency distribution of every row (sorted like [`Stats::snapshot`]), counted
    /// at the given upper bounds in microseconds (ascending): what a Prometheus histogram needs.
    pub fn latency_buckets(&self, bounds_us: &[u64]) -> Vec<LatencyBuckets> {
        let mut rows: Vec<(&RequestKey, &Entry)> = self.entries.iter().collect();
        rows.sort_by(|a, b| (&a.0.name, &a.0.method).cmp(&(&b.0.name, &b.0.method)));
        rows.into_iter()
            .map(|(k, e)| LatencyBuckets {
                method: k.method.to_string(),
                name: k.name.to_string(),
                count: e.requests,
                sum_us: e.sum_us,
                at_or_below: e.counts_at_or_below(bounds_us),
            })
            .collect()
    }

    /// A serialisable view of everything: rows sorted by `(name, method)`, the `Aggregated`
    /// total, failures (most frequent first).
    pub fn snapshot(&self) -> Snapshot {
        let ctx = SnapshotContext {
            tick: self.tick,
            window_secs: self.window_secs(),
            duration_secs: self.duration_secs(),
        };
        let mut rows: Vec<(&RequestKey, &Entry)> = self.entries.iter().collect();
        rows.sort_by(|a, b| (&a.0.name, &a.0.method).cmp(&(&b.0.name, &b.0.method)));
        let entries = rows
            .into_iter()
            .map(|(k, e)| e.snapshot(&k.method, &k.name, ctx))
            .collect();
        let mut failures: Vec<FailureSnapshot> = self
            .failures
            .iter()
            .map(|(fk, c)| FailureSnapshot {
                method: fk.key.method.to_string(),
                name: fk.key.name.to_string(),
                reason: fk.failure.message.to_string(),
                kind: fk.failure.kind.as_str().to_owned(),
                count: c.count,
                first_seen: c.first_seen,
                last_seen: c.last_seen,
            })
            .collect();
        failures.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.name, &a.method, &a.reason).cmp(&(&b.name, &b.method, &b.reason)))
        });
        let start_time = self.start.map(unix_secs);
        let end_time = self.last.map(unix_secs);
        Snapshot {
            start_time,
            start_time_utc: start_time.map(snapshot::rfc3339_utc),
            end_time,
            end_time_utc: end_time.map(snapshot::rfc3339_utc),
            duration_secs: ctx.duration_secs,
            users: self.users,
            total_requests: self.total.requests,
            total_failures: self.total.failures,
            fail_ratio: self.fail_ratio(),
            entries_truncated: self.entries_truncated,
            failures_truncated: self.failures_truncated,
            entries,
            total: self.total.snapshot("", AGGREGATED_NAME, ctx),
            failures,
        }
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
