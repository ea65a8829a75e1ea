//! Console tables in Locust's layout. Column widths adapt to the rows: the name column is as
//! wide as the longest name, up to [`MAX_NAME_WIDTH`] characters (longer names are shortened in
//! the middle).

use std::fmt::Write;

use super::format::{MAX_NAME_WIDTH, MAX_TYPE_WIDTH, fit, ms, one_line};
use crate::hist::PERCENTILE_LABELS;
use crate::snapshot::{EntrySnapshot, Snapshot};
use crate::stats::{AGGREGATED_NAME, Stats};

/// A column: width, alignment, and whether a `|` precedes it.
#[derive(Clone, Copy)]
struct Col {
    width: usize,
    right: bool,
    bar: bool,
}

const fn col(width: usize, right: bool, bar: bool) -> Col {
    Col { width, right, bar }
}

fn push_row<S: AsRef<str>>(out: &mut String, cols: &[Col], cells: &[S]) {
    let mut line = String::new();
    for (i, (c, cell)) in cols.iter().zip(cells).enumerate() {
        if i > 0 {
            line.push_str(if c.bar { " |" } else { " " });
        }
        let cell = cell.as_ref();
        let _ = if c.right {
            write!(line, "{cell:>w$}", w = c.width)
        } else {
            write!(line, "{cell:<w$}", w = c.width)
        };
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn push_separator(out: &mut String, cols: &[Col]) {
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push_str(if c.bar { "-|" } else { "|" });
        }
        out.extend(std::iter::repeat_n('-', c.width));
    }
    out.push('\n');
}

/// Widths of the type and name columns for these rows (and the `Aggregated` row).
fn key_widths(s: &Snapshot) -> (usize, usize) {
    let type_w = s
        .entries
        .iter()
        .map(|e| e.method.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, MAX_TYPE_WIDTH);
    let name_w = s
        .entries
        .iter()
        .map(|e| one_line(&e.name).chars().count())
        .max()
        .unwrap_or(0)
        .max(AGGREGATED_NAME.len())
        .min(MAX_NAME_WIDTH);
    (type_w, name_w)
}

/// Locust's console stats table: one row per request name sorted by `(name, method)`, then
/// `Aggregated`. Columns: Type, Name, # reqs, # fails (with %), Avg, Min, Max, Med, p95, p99 (ms),
/// Avg size (bytes), req/s and failures/s (both over the current window).
pub fn table(stats: &Stats) -> String {
    let s = stats.snapshot();
    let (tw, nw) = key_widths(&s);
    let cols = [
        col(tw, false, false),
        col(nw, false, false),
        col(9, true, false),
        col(14, true, false),
        col(7, true, true),
        col(7, true, false),
        col(7, true, false),
        col(7, true, false),
        col(7, true, false),
        col(7, true, false),
        col(9, true, true),
        col(10, true, true),
        col(11, true, false),
    ];
    let row = |e: &EntrySnapshot| -> Vec<String> {
        vec![
            fit(&e.method, tw),
            fit(&e.name, nw),
            e.requests.to_string(),
            format!("{}({:.2}%)", e.failures, e.fail_ratio * 100.0),
            ms(e.avg_ms),
            ms(e.min_ms),
            ms(e.max_ms),
            ms(e.p50_ms),
            ms(e.p95_ms),
            ms(e.p99_ms),
            format!("{:.0}", e.avg_bytes),
            format!("{:.2}", e.current_rps),
            format!("{:.2}", e.current_fail_per_sec),
        ]
    };
    let mut out = String::new();
    push_row(
        &mut out,
        &cols,
        &[
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
        ],
    );
    push_separator(&mut out, &cols);
    for e in &s.entries {
        push_row(&mut out, &cols, &row(e));
    }
    push_separator(&mut out, &cols);
    push_row(&mut out, &cols, &row(&s.total));
    out
}

/// Locust's "Response time percentiles (approximated)" table (ms): rows with requests sorted by
/// `(name, method)`, then `Aggregated`.
pub fn percentile_table(stats: &Stats) -> String {
    let s = stats.snapshot();
    let (tw, nw) = key_widths(&s);
    let mut cols = vec![col(tw, false, false), col(nw, false, false)];
    for i in 0..PERCENTILE_LABELS.len() {
        cols.push(col(7, true, i == 0));
    }
    cols.push(col(8, true, true));
    let row = |e: &EntrySnapshot| -> Vec<String> {
        let mut cells = vec![fit(&e.method, tw), fit(&e.name, nw)];
        cells.extend(e.percentiles.0.iter().map(|&v| ms(v)));
        cells.push(e.requests.to_string());
        cells
    };
    let mut out = String::from("Response time percentiles (approximated)\n");
    let mut header = vec!["Type", "Name"];
    header.extend(PERCENTILE_LABELS);
    header.push("# reqs");
    push_row(&mut out, &cols, &header);
    push_separator(&mut out, &cols);
    for e in s.entries.iter().filter(|e| e.requests > 0) {
        push_row(&mut out, &cols, &row(e));
    }
    push_separator(&mut out, &cols);
    push_row(&mut out, &cols, &row(&s.total));
    out
}

/// Widest error text in the failures table.
const MAX_ERROR_WIDTH: usize = 200;

/// Locust's "Error report": occurrences and `METHOD name: reason`, most frequent first. Empty
/// string when there are no failures (Locust prints nothing then either).
pub fn failures_table(stats: &Stats) -> String {
    let s = stats.snapshot();
    if s.failures.is_empty() {
        return String::new();
    }
    let errors: Vec<(u64, String)> = s
        .failures
        .iter()
        .map(|f| {
            let text = format!("{} {}: {}", f.method, f.name, f.reason);
            (f.count, fit(&text, MAX_ERROR_WIDTH))
        })
        .collect();
    let width = errors
        .iter()
        .map(|(_, t)| t.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let cols = [col(18, false, false), col(width, false, false)];
    let mut out = String::from("Error report\n");
    push_row(&mut out, &cols, &["# occurrences", "Error"]);
    push_separator(&mut out, &cols);
    for (count, text) in &errors {
        push_row(&mut out, &cols, &[count.to_string(), text.clone()]);
    }
    push_separator(&mut out, &cols);
    out
}
