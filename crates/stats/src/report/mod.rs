//! Reports rendered from [`crate::Stats`] as plain strings (no I/O): Locust-style console
//! tables, Locust 2.x-compatible CSV files and a JSON document.
//!
//! | function | Locust equivalent |
//! | --- | --- |
//! | [`table`] | the periodic console stats table (with p95, p99 and average size added) |
//! | [`percentile_table`] | "Response time percentiles (approximated)" |
//! | [`failures_table`] | "Error report" |
//! | [`csv_stats`] | `--csv PREFIX` → `PREFIX_stats.csv` |
//! | [`csv_failures`] | `PREFIX_failures.csv` |
//! | [`csv_history`] | `PREFIX_stats_history.csv` (one row per second of kept history) |
//! | [`json_report`] | `--json` (richer; schema documented on the function) |

mod csv;
mod format;
mod json;
mod table;

pub use csv::{
    FAILURES_CSV_HEADER, HISTORY_CSV_HEADER, STATS_CSV_HEADER, csv_failures, csv_history,
    csv_long_history, csv_stats,
};
pub use json::json_report;
pub use table::{failures_table, percentile_table, table};

#[cfg(test)]
mod tests;
