//! The self-contained HTML report: one file with its CSS, its data and its charts (the vendored
//! uPlot and the UI's chart code are inlined), readable offline and attachable to a ticket.
//!
//! Served at `/api/report.html` and written by `--html FILE` at the end of a headless run. The
//! tables are rendered here (escaped); the charts are drawn in the browser from the history
//! embedded as JSON (per second for the last hour, per minute for the whole run). Its size is
//! bounded by the stats rings: at most ~1 MB with full rings and 1 000 rows.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use cicada_engine::Plan;
use cicada_stats::{EntrySnapshot, PERCENTILE_LABELS, Stats};

use crate::history::{self, Resolution};
use crate::ratio;

const UPLOT_JS: &str = include_str!("../ui/vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../ui/vendor/uplot/uPlot.min.css");
const CHARTS_JS: &str = include_str!("../ui/charts.js");
const REPORT_JS: &str = include_str!("../ui/report.js");
const REPORT_CSS: &str = include_str!("../ui/report.css");

/// What the report says about the run besides the statistics.
#[derive(Clone, Default)]
pub struct ReportInfo {
    /// The scenario (file or built-in name).
    pub scenario: String,
    /// The target host.
    pub host: String,
    /// The plan, for the user type and task ratios (`None`: the section is left out).
    pub plan: Option<Arc<Plan>>,
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`).
fn script_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
}

/// Milliseconds as the console prints them (more decimals for small values).
fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn duration(secs: f64) -> String {
    let secs = secs.max(0.0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

fn stats_rows(out: &mut String, rows: &[EntrySnapshot], total: &EntrySnapshot) {
    for (e, is_total) in rows.iter().map(|e| (e, false)).chain([(total, true)]) {
        let _ = write!(
            out,
            "<tr{}><td>{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            if is_total { " class=\"total\"" } else { "" },
            escape(&e.method),
            escape(&e.name),
            e.requests,
            e.failures,
            ms(e.p50_ms),
            ms(e.p95_ms),
            ms(e.avg_ms),
            ms(e.min_ms),
            ms(e.max_ms),
            e.avg_bytes.round(),
            e.rps,
            e.fail_per_sec,
        );
    }
}

fn percentile_rows(out: &mut String, rows: &[EntrySnapshot], total: &EntrySnapshot) {
    for (e, is_total) in rows.iter().map(|e| (e, false)).chain([(total, true)]) {
        let _ = write!(
            out,
            "<tr{}><td>{}</td><td class=\"name\">{}</td>",
            if is_total { " class=\"total\"" } else { "" },
            escape(&e.method),
            escape(&e.name)
        );
        for (_, v) in e.percentiles.iter() {
            let _ = write!(out, "<td>{}</td>", ms(v));
        }
        out.push_str("</tr>");
    }
}

fn utc(secs: u64) -> String {
    let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Renders the report.
pub fn html_report(stats: &Stats, info: &ReportInfo) -> String {
    let s = stats.snapshot();
    let charts = serde_json::json!({
        "second": history::series(stats, Resolution::Second),
        "minute": history::series(stats, Resolution::Minute),
    });
    let mut out = String::with_capacity(128 * 1024 + 512 * s.entries.len());
    let title = if info.scenario.is_empty() {
        "cicada report".to_owned()
    } else {
        format!("cicada report · {}", info.scenario)
    };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{UPLOT_CSS}\n{REPORT_CSS}</style></head><body>",
        escape(&title)
    );
    let period = match (s.start_time, s.end_time) {
        (Some(a), Some(b)) => format!("{} – {}", utc(a), utc(b)),
        _ => "no measurements yet".to_owned(),
    };
    let _ = write!(
        out,
        "<header><h1>{}</h1><dl class=\"facts\">\
         <div><dt>Scenario</dt><dd>{}</dd></div><div><dt>Target host</dt><dd>{}</dd></div>\
         <div><dt>Period (UTC)</dt><dd>{}</dd></div><div><dt>Duration</dt><dd>{}</dd></div>\
         <div><dt>Users at the end</dt><dd>{}</dd></div></dl></header><main>",
        escape(&title),
        escape(&info.scenario),
        escape(&info.host),
        escape(&period),
        duration(s.duration_secs),
        s.users,
    );
    let _ = write!(
        out,
        "<section class=\"cards\"><div><span>Requests</span><b>{}</b></div>\
         <div><span>Failures</span><b>{}</b> <small>{:.2}%</small></div><div><span>Average RPS</span><b>{:.1}</b></div>\
         <div><span>Median</span><b>{} ms</b></div><div><span>95%ile</span><b>{} ms</b></div>\
         <div><span>99%ile</span><b>{} ms</b></div></section>",
        s.total_requests,
        s.total_failures,
        s.fail_ratio * 100.0,
        s.total.rps,
        ms(s.total.p50_ms),
        ms(s.total.p95_ms),
        ms(s.total.p99_ms),
    );
    out.push_str(
        "<section><h2>Request statistics</h2><div class=\"scroll\"><table><thead><tr>\
         <th>Type</th><th>Name</th><th># Requests</th><th># Fails</th><th>Median (ms)</th>\
         <th>95%ile (ms)</th><th>Average (ms)</th><th>Min (ms)</th><th>Max (ms)</th>\
         <th>Average size (bytes)</th><th>RPS</th><th>Failures/s</th></tr></thead><tbody>",
    );
    stats_rows(&mut out, &s.entries, &s.total);
    out.push_str("</tbody></table></div></section>");

    out.push_str(
        "<section><h2>Response time percentiles (ms)</h2><div class=\"scroll\"><table><thead><tr>\
         <th>Type</th><th>Name</th>",
    );
    for label in PERCENTILE_LABELS {
        let _ = write!(out, "<th>{label}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    percentile_rows(&mut out, &s.entries, &s.total);
    out.push_str("</tbody></table></div></section>");

    out.push_str("<section><h2>Failures</h2>");
    if s.failures.is_empty() {
        out.push_str("<p class=\"empty\">No failures.</p>");
    } else {
        out.push_str(
            "<div class=\"scroll\"><table class=\"failures\"><thead><tr><th># Occurrences</th><th>Type</th>\
             <th>Name</th><th>Kind</th><th>Message</th><th>First seen (UTC)</th>\
             <th>Last seen (UTC)</th></tr></thead><tbody>",
        );
        for f in &s.failures {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"name\">{}</td><td>{}</td>\
                 <td class=\"message\">{}</td><td>{}</td><td>{}</td></tr>",
                f.count,
                escape(&f.method),
                escape(&f.name),
                escape(&f.kind),
                escape(&f.reason),
                utc(f.first_seen),
                utc(f.last_seen),
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section><section><h2>Charts</h2><div id=\"charts\"></div></section>");

    if let Some(plan) = &info.plan {
        out.push_str("<section><h2>User types and tasks</h2>");
        for t in ratio::ratio(plan, &[]).user_types {
            let share = match t.fixed_count {
                Some(n) => format!("{n} users (fixed)"),
                None => format!("{:.1}% of users", t.share * 100.0),
            };
            let _ = write!(
                out,
                "<h3>{} <small>{}</small></h3><table class=\"ratio\"><tbody>",
                escape(&t.name),
                escape(&share)
            );
            for task in t.tasks {
                let _ = write!(
                    out,
                    "<tr><td class=\"name\">{}</td><td>{:.1}%</td></tr>",
                    escape(&task.name),
                    task.share * 100.0
                );
            }
            out.push_str("</tbody></table>");
        }
        out.push_str("</section>");
    }
    let _ = writeln!(
        out,
        "</main><footer>Generated by cicada {} at {}.</footer>\
         <script type=\"application/json\" id=\"cicada-history\">{}</script>\
         <script>{UPLOT_JS}</script><script>{CHARTS_JS}</script><script>{REPORT_JS}</script>\
         </body></html>",
        env!("CARGO_PKG_VERSION"),
        humantime::format_rfc3339_seconds(SystemTime::now()),
        script_json(&charts),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cicada_stats::{Failure, FailureKind, Interval, RequestKey, StatsConfig};
    use std::time::{Duration, UNIX_EPOCH};

    fn stats() -> Stats {
        let mut stats = Stats::new(StatsConfig::default());
        let key = RequestKey::new("GET", "/claims/<script>alert(1)</script>");
        let fail = Failure::new(FailureKind::Status, "HTTP 503 </script><b>");
        for s in 0..90u64 {
            let mut i = Interval::new();
            i.record(&key, Duration::from_millis(12), 100, None);
            i.record(&key, Duration::from_millis(40), 100, Some(&fail));
            stats.apply(i, UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s), 3);
        }
        stats
    }

    #[test]
    fn report_is_self_contained_and_escaped() {
        let html = html_report(
            &stats(),
            &ReportInfo {
                scenario: "a&b.yaml".into(),
                host: "http://127.0.0.1:1".into(),
                plan: None,
            },
        );
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("a&amp;b.yaml"));
        // Names and messages cannot break out of the markup or the scripts.
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("HTTP 503 &lt;/script&gt;&lt;b&gt;"));
        // Nothing is loaded from elsewhere: no src= or href= to another file.
        assert!(!html.contains(" src="), "inline scripts only");
        assert!(!html.contains("<link"), "inline styles only");
        assert!(html.contains("uPlot"));
        // The chart data is embedded: 90 per-second points, one finished minute.
        let start = html
            .find("id=\"cicada-history\">")
            .map(|i| i + 20)
            .unwrap_or(0);
        let end = html[start..]
            .find("</script>")
            .map(|i| i + start)
            .unwrap_or(start);
        let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap_or_default();
        assert_eq!(
            data["second"]["timestamp"].as_array().map(Vec::len),
            Some(90)
        );
        assert!(
            data["minute"]["timestamp"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        );
        // Exactly the inline scripts we put there (the data block, uPlot, charts, report).
        assert_eq!(html.matches("<script").count(), 4);
        assert_eq!(html.matches("</script>").count(), 4);
    }

    #[test]
    fn empty_report_renders() {
        let html = html_report(&Stats::new(StatsConfig::default()), &ReportInfo::default());
        assert!(html.contains("no measurements yet"));
        assert!(html.contains("No failures."));
    }
}
