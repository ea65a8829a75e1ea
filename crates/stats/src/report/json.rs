//! The JSON report.

use serde_json::Value;

use crate::stats::Stats;

/// The whole statistics as JSON (the serialisation of [`crate::Snapshot`]).
///
/// # Schema
///
/// Times are milliseconds (floats with microsecond resolution), sizes bytes, rates per second.
///
/// ```text
/// {
///   "start_time":        1714564800 | null,   // Unix seconds: start of the measurement
///   "start_time_utc":    "2024-05-01T12:00:00Z" | null,
///   "end_time":          1714568400 | null,   // Unix seconds: last applied interval
///   "end_time_utc":      "2024-05-01T13:00:00Z" | null,
///   "duration_secs":     3600.0,              // what "rps" divides by
///   "users":             50,                  // users at the last interval
///   "total_requests":    123456,
///   "total_failures":    12,
///   "fail_ratio":        0.0000972,           // total_failures / total_requests
///   "entries_truncated": false,               // rows were folded into "OTHER (other: entry limit reached)"
///   "failures_truncated": false,              // failures were folded into "OTHER (other)"
///   "entries": [ ENTRY, ... ],                // sorted by (name, method)
///   "total": ENTRY,                           // method "", name "Aggregated"
///   "failures": [                             // most frequent first
///     { "method": "POST", "name": "/claims", "reason": "HTTP 503",
///       "kind": "status",                     // connect|timeout|status|check|extract|protocol|other
///       "count": 7,
///       "first_seen": 1714564810,             // Unix seconds of the first and the last
///       "last_seen": 1714568399 }             // second with this failure
///   ]
/// }
///
/// ENTRY = {
///   "method": "GET", "name": "/claims/{id}",
///   "requests": 1000, "failures": 3,
///   "fail_ratio": 0.003,
///   "avg_ms": 12.34, "min_ms": 1.2, "max_ms": 250.0,
///   "p50_ms": 10.0, "p95_ms": 40.1, "p99_ms": 90.3,
///   "rps": 16.7,                   // average over the run
///   "fail_per_sec": 0.05,          // average over the run
///   "current_rps": 18.2,           // over the last current_window seconds (default 10)
///   "current_fail_per_sec": 0.1,
///   "bytes": 1234567,              // sum of response sizes
///   "avg_bytes": 1234.6,
///   "percentiles": { "50": 10.0, "66": 14.0, "75": 17.0, "80": 19.0, "90": 28.0, "95": 40.1,
///                    "98": 70.0, "99": 90.3, "99.9": 180.0, "99.99": 240.0, "100": 250.0 }
/// }
/// ```
///
/// Before the first interval, `start_time`/`end_time` (and their `_utc` forms) are `null`;
/// without requests, times, rates and ratios are 0.
pub fn json_report(stats: &Stats) -> Value {
    // The snapshot holds only strings, integers, finite floats and options: serialising it
    // cannot fail (a failure would yield `null`).
    serde_json::to_value(stats.snapshot()).unwrap_or(Value::Null)
}
