//! Timestamps as the contract writes them: ISO-8601 UTC with milliseconds and `Z`
//! (`2026-01-31T12:00:00.000Z`), held internally as milliseconds since the Unix epoch.
//!
//! Input dates are checked like express-validator's `isISO8601` and read like JavaScript's
//! `new Date(...)` on a server running in UTC: a date or date-time without a zone is UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// ISO-8601 UTC with milliseconds, e.g. `2026-01-31T12:00:00.000Z`.
pub fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| String::from("1970-01-01T00:00:00.000Z"))
}

/// Parses an ISO-8601 date or date-time; `None` when it is not one.
///
/// Accepted: `2026-01-31`, `2026-01-31T12:00`, `2026-01-31T12:00:00`, with an optional
/// fraction of any length, an optional `Z` or `±HH:MM`/`±HHMM` offset, and `t` or a space in
/// place of `T` (Python's naive `isoformat()` output is the common case).
pub fn parse_iso8601(input: &str) -> Option<i64> {
    let s = input.trim();
    if s.len() < 10 || s.len() > 64 {
        return None;
    }
    if s.len() == 10 {
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
    }
    // Normalise the separators so that one set of formats covers every spelling.
    let mut norm: String = s
        .char_indices()
        .map(|(i, c)| match (i, c) {
            (10, 't' | ' ') => 'T',
            (_, 'z') => 'Z',
            _ => c,
        })
        .collect();
    if norm.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(&norm) {
        return Some(d.timestamp_millis());
    }
    // An offset without a colon (`+0200`) or a date-time without seconds but with a zone.
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(&norm, fmt) {
            return Some(d.timestamp_millis());
        }
    }
    if norm.ends_with('Z') {
        norm.pop();
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(&norm, fmt) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
    }

    #[test]
    fn parses_the_spellings_clients_send() {
        let midnight = 1_767_225_600_000;
        for s in [
            "2026-01-01",
            "2026-01-01T00:00",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.000",
            "2026-01-01T00:00:00.000000",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.000Z",
            "2026-01-01t00:00:00z",
            "2026-01-01 00:00:00",
            "2026-01-01T01:00:00+01:00",
            "2026-01-01T01:00:00+0100",
        ] {
            assert_eq!(parse_iso8601(s), Some(midnight), "{s}");
        }
        assert_eq!(
            parse_iso8601("2026-01-01T00:00:00.123456"),
            Some(midnight + 123)
        );
    }

    #[test]
    fn rejects_non_dates() {
        for s in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-01-01X00:00",
            "2026/01/01",
            "1767225600000",
            "2026-01-01T25:00:00",
        ] {
            assert_eq!(parse_iso8601(s), None, "{s}");
        }
    }
}
