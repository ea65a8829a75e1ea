//! Serialisable, self-contained views of [`crate::Stats`] used by the reports and the web API.
//! All times are milliseconds (`f64`, microsecond resolution), sizes bytes, rates per second.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::hist::PERCENTILES;

/// JSON keys of [`Percentiles`], matching [`PERCENTILES`].
const KEYS: [&str; 11] = [
    "50", "66", "75", "80", "90", "95", "98", "99", "99.9", "99.99", "100",
];

/// Response times at Locust's report percentiles (50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99,
/// 100), in ms. Serialises as an object keyed by percentile: `{"50": 12.5, ..., "100": 250.0}`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles(pub [f64; 11]);

impl Percentiles {
    /// The value at one of the report percentiles (e.g. `99.9`), `None` for other percentiles.
    pub fn get(&self, percentile: f64) -> Option<f64> {
        PERCENTILES
            .iter()
            .position(|&p| p == percentile)
            .map(|i| self.0[i])
    }

    /// `(percentile, ms)` pairs in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        PERCENTILES.iter().copied().zip(self.0.iter().copied())
    }
}

impl Serialize for Percentiles {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(KEYS.len()))?;
        for (k, v) in KEYS.iter().zip(self.0.iter()) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One row (or the `Aggregated` total: method `""`, name `"Aggregated"`).
#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct EntrySnapshot {
    /// Request method.
    pub method: String,
    /// Request name.
    pub name: String,
    /// Requests (successful and failed).
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// `failures / requests` (0 without requests).
    pub fail_ratio: f64,
    /// Average response time, ms.
    pub avg_ms: f64,
    /// Minimum response time, ms (0 without requests).
    pub min_ms: f64,
    /// Maximum response time, ms.
    pub max_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Average requests per second over the whole run (since start or reset).
    pub rps: f64,
    /// Average failures per second over the whole run.
    pub fail_per_sec: f64,
    /// Requests per second over the last `current_window` seconds.
    pub current_rps: f64,
    /// Failures per second over the last `current_window` seconds.
    pub current_fail_per_sec: f64,
    /// Sum of response sizes, bytes.
    pub bytes: u64,
    /// Average response size, bytes.
    pub avg_bytes: f64,
    /// All report percentiles, ms.
    pub percentiles: Percentiles,
}

/// One failure row: how often a request failed for one reason.
#[derive(serde::Serialize, Clone, Debug, PartialEq, Eq)]
pub struct FailureSnapshot {
    /// Request method.
    pub method: String,
    /// Request name.
    pub name: String,
    /// Failure message.
    pub reason: String,
    /// Failure kind ([`crate::FailureKind::as_str`]).
    pub kind: String,
    /// Occurrences.
    pub count: u64,
    /// When it first happened (Unix seconds of the interval that first carried it).
    pub first_seen: u64,
    /// When it last happened (Unix seconds of the last interval that carried it).
    pub last_seen: u64,
}

/// The whole statistics at one moment.
#[derive(serde::Serialize, Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Start of the measurement (first interval after creation or reset), Unix seconds.
    pub start_time: Option<u64>,
    /// `start_time` as RFC 3339 UTC (`2024-05-01T12:00:00Z`).
    pub start_time_utc: Option<String>,
    /// Time of the last applied interval, Unix seconds.
    pub end_time: Option<u64>,
    /// `end_time` as RFC 3339 UTC.
    pub end_time_utc: Option<String>,
    /// Seconds between `start_time` and `end_time` (what `rps` divides by).
    pub duration_secs: f64,
    /// Users at the last applied interval.
    pub users: u64,
    /// Total requests.
    pub total_requests: u64,
    /// Total failures.
    pub total_failures: u64,
    /// `total_failures / total_requests`.
    pub fail_ratio: f64,
    /// True when some rows were folded into the `OTHER` overflow row.
    pub entries_truncated: bool,
    /// True when some failures were folded into the overflow failure row.
    pub failures_truncated: bool,
    /// The rows, sorted by `(name, method)`.
    pub entries: Vec<EntrySnapshot>,
    /// All rows together (`Aggregated`).
    pub total: EntrySnapshot,
    /// Failure rows, most frequent first.
    pub failures: Vec<FailureSnapshot>,
}

/// Formats Unix seconds as RFC 3339 UTC, e.g. `1970-01-01T00:00:00Z`.
pub(crate) fn rfc3339_utc(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`, restricted to non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_serialize_as_object() {
        let p = Percentiles([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
        let v = serde_json::to_value(p).unwrap_or_default();
        assert_eq!(v["50"], 1.0);
        assert_eq!(v["99.99"], 10.0);
        assert_eq!(v["100"], 11.0);
        assert_eq!(p.get(99.9), Some(9.0));
        assert_eq!(p.get(42.0), None);
        assert_eq!(p.iter().count(), 11);
    }

    #[test]
    fn formats_utc() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_utc(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
