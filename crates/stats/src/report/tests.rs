use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::{Failure, FailureKind, Interval, RequestKey, Stats, StatsConfig};

const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn sample_stats() -> Stats {
    let mut stats = Stats::new(StatsConfig::default());
    let f = Failure::new(FailureKind::Status, "HTTP 500, \"oops\"");
    for s in 0..3 {
        let mut i = Interval::new();
        for n in 0..10u64 {
            i.record(
                &RequestKey::new("GET", "/claims"),
                Duration::from_millis(10 + n),
                200,
                None,
            );
        }
        i.record(
            &RequestKey::new("POST", "/claims, \"new\""),
            Duration::from_millis(100),
            50,
            Some(&f),
        );
        stats.apply(i, at(T0 + s), 4);
    }
    stats
}

#[test]
fn csv_headers_are_locust_2x() {
    let stats = sample_stats();
    assert_eq!(
        csv_stats(&stats).lines().next(),
        Some(
            "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
        )
    );
    assert_eq!(
        csv_failures(&stats).lines().next(),
        Some("Method,Name,Error,Occurrences")
    );
    assert_eq!(
        csv_history(&stats).lines().next(),
        Some(
            "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size"
        )
    );
    assert_eq!(csv_long_history(&stats).lines().count(), 1);
}

#[test]
fn csv_rows_are_quoted_and_complete() {
    let stats = sample_stats();
    let csv = csv_stats(&stats);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert_eq!(
        lines[1],
        "GET,/claims,30,0,14,14.5,10.0,19.0,200.0,10.0,0.0,14,16,17,17,18,19,19,19,19,19,19"
    );
    assert!(
        lines[2].starts_with("POST,\"/claims, \"\"new\"\"\",3,3,100,100.0,"),
        "{}",
        lines[2]
    );
    assert!(lines[3].starts_with(",Aggregated,33,3,"), "{}", lines[3]);
    for line in &lines[1..] {
        // 22 columns; the quoted name holds one extra comma.
        let commas = line.matches(',').count() - usize::from(line.contains("\"/claims,"));
        assert_eq!(commas, 21, "{line}");
    }

    let failures = csv_failures(&stats);
    assert_eq!(
        failures.lines().nth(1),
        Some("POST,\"/claims, \"\"new\"\"\",\"HTTP 500, \"\"oops\"\"\",3")
    );

    let history = csv_history(&stats);
    let rows: Vec<&str> = history.lines().collect();
    assert_eq!(rows.len(), 4);
    assert!(
        rows[3].starts_with(&format!("{},4,,Aggregated,11.000000,1.000000,", T0 + 2)),
        "{}",
        rows[3]
    );
    assert_eq!(rows[3].split(',').count(), 24);
}

#[test]
fn csv_without_requests_uses_na() {
    let stats = Stats::new(StatsConfig::default());
    let csv = csv_stats(&stats);
    assert_eq!(
        csv.lines().nth(1),
        Some(
            ",Aggregated,0,0,0,0.0,0.0,0.0,0.0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A"
        )
    );
}

#[test]
fn table_has_rows_and_aggregated() {
    let stats = sample_stats();
    let t = table(&stats);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 6, "{t}");
    for col in [
        "Type",
        "Name",
        "# reqs",
        "# fails",
        "Avg",
        "Min",
        "Max",
        "Med",
        "p95",
        "p99",
        "Avg size",
        "req/s",
        "failures/s",
    ] {
        assert!(lines[0].contains(col), "{col} missing in {}", lines[0]);
    }
    assert!(lines[2].starts_with("GET  /claims"), "{t}");
    assert!(lines[3].contains("3(100.00%)"), "{t}");
    assert!(
        lines[5].contains("Aggregated") && lines[5].contains("33"),
        "{t}"
    );
    // Header, separators and rows line up.
    assert_eq!(lines[1].len(), lines[4].len());
    // Right-aligned columns end at the same position in the header and the rows.
    let end_of = |line: &str, pat: &str| line.find(pat).map(|i| i + pat.len());
    assert_eq!(end_of(lines[0], "# reqs"), end_of(lines[2], " 30"), "{t}");
    // Every '|' of the header is a '|' in the separators and the rows.
    for (i, _) in lines[0].match_indices('|') {
        for line in &lines[1..] {
            assert_eq!(line.as_bytes().get(i), Some(&b'|'), "{t}");
        }
    }
}

#[test]
fn table_shortens_long_names() {
    let mut stats = Stats::new(StatsConfig::default());
    let long = format!("/api/{}/end", "x".repeat(200));
    let mut i = Interval::new();
    i.record(
        &RequestKey::new("GET", &long),
        Duration::from_millis(1),
        0,
        None,
    );
    stats.apply(i, at(T0), 1);
    let t = table(&stats);
    assert!(t.lines().all(|l| l.chars().count() < 200), "{t}");
    assert!(
        t.contains("/api/xxx") && t.contains("...") && t.contains("x/end"),
        "{t}"
    );
    let p = percentile_table(&stats);
    assert!(
        p.contains("...") && p.lines().all(|l| l.chars().count() < 200),
        "{p}"
    );
}

#[test]
fn percentile_table_layout() {
    let stats = sample_stats();
    let p = percentile_table(&stats);
    let lines: Vec<&str> = p.lines().collect();
    assert_eq!(lines[0], "Response time percentiles (approximated)");
    for label in crate::PERCENTILE_LABELS {
        assert!(lines[1].contains(label), "{label}");
    }
    assert!(lines[1].ends_with("# reqs"));
    assert_eq!(lines.len(), 7, "{p}");
    assert!(
        lines[6].contains("Aggregated") && lines[6].ends_with("33"),
        "{p}"
    );
}

#[test]
fn failures_table_layout() {
    let stats = sample_stats();
    let t = failures_table(&stats);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines[0], "Error report");
    assert!(lines[1].starts_with("# occurrences      Error"));
    assert_eq!(
        lines[3],
        "3                  POST /claims, \"new\": HTTP 500, \"oops\""
    );
    assert_eq!(lines.len(), 5);
    assert_eq!(failures_table(&Stats::new(StatsConfig::default())), "");
}

#[test]
fn json_report_has_the_documented_keys() {
    let stats = sample_stats();
    let v = json_report(&stats);
    let entry_keys = [
        "method",
        "name",
        "requests",
        "failures",
        "fail_ratio",
        "avg_ms",
        "min_ms",
        "max_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "rps",
        "fail_per_sec",
        "current_rps",
        "current_fail_per_sec",
        "bytes",
        "avg_bytes",
        "percentiles",
    ];
    let entries = v["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2);
    for e in entries.iter().chain([&v["total"]]) {
        for k in entry_keys {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
        assert!(e["percentiles"].get("99.99").is_some());
    }
    assert_eq!(v["total"]["name"], "Aggregated");
    assert_eq!(v["total"]["requests"], 33);
    for k in [
        "start_time",
        "start_time_utc",
        "end_time",
        "end_time_utc",
        "duration_secs",
        "users",
        "total_requests",
        "total_failures",
        "fail_ratio",
        "entries_truncated",
        "failures_truncated",
    ] {
        assert!(v.get(k).is_some(), "{k} missing");
    }
    assert_eq!(v["start_time_utc"], "2023-11-14T22:13:19Z");
    let failure = &v["failures"][0];
    for k in ["method", "name", "reason", "kind", "count"] {
        assert!(failure.get(k).is_some(), "{k} missing in {failure}");
    }
    assert_eq!(failure["kind"], "status");
    assert_eq!(failure["count"], 3);
}
