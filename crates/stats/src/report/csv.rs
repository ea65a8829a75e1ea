//! CSV files with exactly Locust 2.x's columns, so existing spreadsheets and scripts keep
//! working. Values follow Locust's conventions: medians and percentiles in whole milliseconds
//! (`N/A` without requests), other times in fractional milliseconds, the total row has an empty
//! type and the name `Aggregated`. Quoting is minimal (only fields with commas, quotes or line
//! breaks); lines end with `\n`.

use super::format::{csv_field, int_ms, py_float};
use crate::history::HistoryPoint;
use crate::snapshot::EntrySnapshot;
use crate::stats::{AGGREGATED_NAME, Stats};

/// Header of [`csv_stats`] (Locust's `_stats.csv`).
pub const STATS_CSV_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,\
Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,\
Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

/// Header of [`csv_failures`] (Locust's `_failures.csv`).
pub const FAILURES_CSV_HEADER: &str = "Method,Name,Error,Occurrences";

/// Header of [`csv_history`] (Locust's `_stats_history.csv`).
pub const HISTORY_CSV_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,\
50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,\
Total Median Response Time,Total Average Response Time,Total Min Response Time,\
Total Max Response Time,Total Average Content Size";

fn push_record<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(f.as_ref()));
    }
    out.push('\n');
}

fn stats_record(e: &EntrySnapshot) -> Vec<String> {
    let mut f = vec![
        e.method.clone(),
        e.name.clone(),
        e.requests.to_string(),
        e.failures.to_string(),
        int_ms(e.p50_ms),
        py_float(e.avg_ms),
        py_float(e.min_ms),
        py_float(e.max_ms),
        py_float(e.avg_bytes),
        py_float(e.rps),
        py_float(e.fail_per_sec),
    ];
    if e.requests == 0 {
        f.extend(std::iter::repeat_n("N/A".to_owned(), 11));
    } else {
        f.extend(e.percentiles.0.iter().map(|&v| int_ms(v)));
    }
    f
}

/// Locust's `_stats.csv`: one row per request name sorted by `(name, method)`, then the
/// `Aggregated` row. Requests/s and Failures/s are averages over the run.
pub fn csv_stats(stats: &Stats) -> String {
    let s = stats.snapshot();
    let mut out = String::with_capacity(256 * (s.entries.len() + 2));
    out.push_str(STATS_CSV_HEADER);
    out.push('\n');
    for e in &s.entries {
        push_record(&mut out, &stats_record(e));
    }
    push_record(&mut out, &stats_record(&s.total));
    out
}

/// Locust's `_failures.csv`, most frequent first.
pub fn csv_failures(stats: &Stats) -> String {
    let s = stats.snapshot();
    let mut out = String::from(FAILURES_CSV_HEADER);
    out.push('\n');
    for f in &s.failures {
        push_record(
            &mut out,
            &[&f.method, &f.name, &f.reason, &f.count.to_string()],
        );
    }
    out
}

fn history_rows<'a>(points: impl Iterator<Item = &'a HistoryPoint>) -> String {
    let mut out = String::from(HISTORY_CSV_HEADER);
    out.push('\n');
    for p in points {
        let mut f = vec![
            p.timestamp.to_string(),
            p.users.to_string(),
            String::new(),
            AGGREGATED_NAME.to_owned(),
            format!("{:.6}", p.rps),
            format!("{:.6}", p.fail_per_sec),
        ];
        if p.total_requests == 0 {
            f.extend(std::iter::repeat_n("N/A".to_owned(), 11));
        } else {
            f.extend(p.percentiles.0.iter().map(|&v| int_ms(v)));
        }
        f.push(p.total_requests.to_string());
        f.push(p.total_failures.to_string());
        f.push(int_ms(p.total_median_ms));
        f.push(py_float(p.total_avg_ms));
        f.push(py_float(p.total_min_ms));
        f.push(py_float(p.total_max_ms));
        f.push(py_float(p.total_avg_bytes));
        push_record(&mut out, &f);
    }
    out
}

/// Locust's `_stats_history.csv` for the kept per-second history (aggregated rows only, like
/// Locust without `--csv-full-history`). Requests/s, Failures/s and the percentiles cover the
/// current window (default 10 s) at each point; the `Total` columns are cumulative.
pub fn csv_history(stats: &Stats) -> String {
    history_rows(stats.history())
}

/// Same columns as [`csv_history`], one row per minute of the long history (rates and
/// percentiles over that minute).
pub fn csv_long_history(stats: &Stats) -> String {
    history_rows(stats.long_history())
}
