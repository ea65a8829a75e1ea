//! cicada's statistics: what the simulated users measured, aggregated the way Locust reports
//! it, with memory bounded for processes that run for weeks. Pure: no async, no I/O; reports are
//! returned as strings.
//!
//! # Data flow
//!
//! ```text
//!  users (many threads)        aggregator (once a second)           readers
//!  Recorder::record ──► Recorder::take ─► Interval ─► Stats::apply ─► Stats::snapshot / report::*
//!                                            │  ▲
//!                               to_bytes ────┘  └── from_bytes + Interval::merge (master side)
//! ```
//!
//! * [`Recorder`] is the hot path: sharded per thread, allocation-free for known rows. See
//!   [`recorder`] for the concurrency design.
//! * [`Interval`] is one second of measurements: per row (`method`, `name`) counts, failures,
//!   latency sum/min/max, bytes and an HDR histogram (microseconds, 3 significant digits); per
//!   `(row, failure)` counts. Intervals merge exactly and encode losslessly ([`wire`]).
//! * [`Stats`] accumulates intervals: cumulative rows and failures (capped, with overflow rows,
//!   each row's histogram held to 256 buckets by coarsening, see [`sparse`](crate::sparse)),
//!   "current" rates over a short window, and a per-second and a per-minute history ring.
//! * [`Snapshot`] is the serialisable view; [`report`] renders tables, CSV and JSON.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use cicada_stats::{Recorder, RequestKey, Stats, StatsConfig, report};
//!
//! let recorder = Recorder::new();
//! let key = RequestKey::new("GET", "/claims/{id}");
//! recorder.record(&key, Duration::from_millis(12), 512, None);
//!
//! let mut stats = Stats::new(StatsConfig::default());
//! stats.apply(recorder.take(), SystemTime::now(), 1);
//! assert_eq!(stats.total_requests(), 1);
//! assert!(report::table(&stats).contains("Aggregated"));
//! ```

mod admission;
mod chunked;
mod entry;
mod hist;
mod history;
mod interval;
mod key;
pub mod recorder;
pub mod report;
mod snapshot;
mod sparse;
mod stats;
mod window;
pub mod wire;

pub use admission::Admission;
pub use hist::{MAX_TRACKABLE_US, PERCENTILE_LABELS, PERCENTILES};
pub use history::HistoryPoint;
pub use interval::{Interval, IntervalEntry};
pub use key::{
    Failure, FailureKind, OVERFLOW_ENTRY_NAME, OVERFLOW_FAILURE_MESSAGE, OVERFLOW_FAILURE_NAME,
    OVERFLOW_METHOD, RequestKey,
};
pub use recorder::{Recorder, RecorderConfig};
pub use snapshot::{EntrySnapshot, FailureSnapshot, Percentiles, Snapshot};
pub use stats::{AGGREGATED_NAME, LatencyBuckets, Stats, StatsConfig};
pub use wire::DecodeError;

#[cfg(test)]
mod tests {
    /// The types cross threads and tasks: the recorder is shared by users, intervals travel to
    /// the aggregator, stats live in a task.
    #[test]
    fn types_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Recorder>();
        send_sync::<crate::Interval>();
        send_sync::<crate::Stats>();
        send_sync::<crate::Snapshot>();
    }
}
