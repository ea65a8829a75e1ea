//! `GET /metrics` through the router: the families and their values against the statistics,
//! the OpenMetrics negotiation, and `promtool check metrics` when promtool is installed.

use std::process::Stdio;

use axum::http::{StatusCode, header};
use cicada_control::RunState;

use super::support::{get, harness, post, send, wait_for, wait_for_requests};
use crate::WebConfig;

/// The value of the sample whose name and labels are exactly `series`.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .filter_map(|l| l.strip_prefix(series))
        .find_map(|rest| rest.strip_prefix(' '))
        .and_then(|v| v.split(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Sum of every sample of `family` (name followed by `{`).
fn family_sum(body: &str, family: &str) -> f64 {
    let prefix = format!("{family}{{");
    body.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_the_statistics() {
    let h = harness(WebConfig::default()).await;
    let a = send(
        &h.app,
        post("/api/swarm", r#"{"users": 4, "spawn_rate": 100}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    wait_for_requests(&h.state, 20, 1).await;
    assert_eq!(
        send(&h.app, post("/api/stop", "")).await.status,
        StatusCode::OK
    );
    // The engine takes the stop on a moment after the state reads "stopped".
    wait_for(&h.state, "stopped", |s| {
        s.state == RunState::Stopped && s.target_users == 0 && s.users == 0
    })
    .await;

    // Late intervals may still land after the stop: scrape until the stats hold still around it.
    let mut found = None;
    for _ in 0..50 {
        let before = h.state.controller().with_stats(|s| s.snapshot());
        let a = send(&h.app, get("/metrics")).await;
        let after = h.state.controller().with_stats(|s| s.snapshot());
        if before.total_requests == after.total_requests
            && before.total_failures == after.total_failures
        {
            found = Some((a, after));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let Some((a, snap)) = found else {
        panic!("the statistics never held still");
    };
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header(header::CONTENT_TYPE).starts_with("text/plain"));
    let body = a.text();
    for family in [
        "# TYPE cicada_requests_total counter",
        "# TYPE cicada_request_failures_total counter",
        "# TYPE cicada_request_duration_seconds histogram",
        "# TYPE cicada_users gauge",
        "# TYPE cicada_target_users gauge",
        "# TYPE cicada_stats_memory_bytes gauge",
        "# TYPE cicada_workers gauge",
        "# TYPE cicada_scenario_reloads_total counter",
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE process_resident_memory_bytes gauge",
    ] {
        assert!(body.contains(family), "{family} in\n{body}");
    }
    assert_eq!(
        family_sum(&body, "cicada_requests_total") as u64,
        snap.total_requests
    );
    assert_eq!(
        family_sum(&body, "cicada_request_failures_total") as u64,
        snap.total_failures
    );
    assert!(snap.total_failures > 0);
    assert!(body.contains("reason="), "{body}");
    for e in &snap.entries {
        let labels = format!("method=\"{}\",name=\"{}\"", e.method, e.name);
        let count = sample(&body, &format!("cicada_requests_total{{{labels}}}"));
        assert_eq!(count, Some(e.requests as f64), "{labels}");
        let hist_count = sample(
            &body,
            &format!("cicada_request_duration_seconds_count{{{labels}}}"),
        );
        assert_eq!(hist_count, Some(e.requests as f64), "{labels}");
        let sum = sample(
            &body,
            &format!("cicada_request_duration_seconds_sum{{{labels}}}"),
        )
        .unwrap_or(-1.0);
        assert!(sum >= 0.0, "{labels}");
        // Buckets: one per bound plus +Inf, cumulative, ending at the count.
        let prefix = format!("cicada_request_duration_seconds_bucket{{{labels},le=\"");
        let buckets: Vec<(String, f64)> = body
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .filter_map(|rest| {
                let (le, value) = rest.split_once("\"} ")?;
                Some((le.to_owned(), value.parse().ok()?))
            })
            .collect();
        assert_eq!(
            buckets.len(),
            crate::metrics::DEFAULT_BUCKETS.len() + 1,
            "{labels}\n{body}"
        );
        assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
        assert_eq!(
            buckets.last().map(|b| (b.0.as_str(), b.1)),
            Some(("+Inf", e.requests as f64))
        );
    }
    assert_eq!(sample(&body, "cicada_target_users"), Some(0.0));
    let held = h.state.controller().with_stats(|s| s.rows_heap_bytes()) as f64;
    assert_eq!(sample(&body, "cicada_stats_memory_bytes"), Some(held));
    assert!(held > 0.0);
    assert_eq!(
        sample(&body, "cicada_scenario_reloads_total{result=\"error\"}"),
        Some(0.0),
        "both results are present from the start"
    );
    assert_eq!(
        sample(&body, "cicada_workers{state=\"stopped\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, "cicada_workers{state=\"running\"}"),
        Some(0.0)
    );
    assert!(sample(&body, "process_resident_memory_bytes").is_some_and(|v| v > 0.0));
    promtool_check(&body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_openmetrics() {
    let h = harness(WebConfig {
        metrics_buckets: vec![0.1, 1.0],
        ..WebConfig::default()
    })
    .await;
    let a = send(
        &h.app,
        post("/api/swarm", r#"{"users": 4, "spawn_rate": 100}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    wait_for(&h.state, "4 users", |s| {
        s.users == 4 && s.state == RunState::Running
    })
    .await;
    wait_for_requests(&h.state, 5, 0).await;
    let mut request = get("/metrics");
    request.headers_mut().insert(
        header::ACCEPT,
        "application/openmetrics-text; version=1.0.0"
            .parse()
            .expect("header value"),
    );
    let a = send(&h.app, request).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.header(header::CONTENT_TYPE)
            .starts_with("application/openmetrics-text"),
        "{}",
        a.header(header::CONTENT_TYPE)
    );
    let body = a.text();
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert_eq!(
        sample(&body, "cicada_users{user_type=\"Reader\"}"),
        Some(3.0)
    );
    assert_eq!(
        sample(&body, "cicada_users{user_type=\"Writer\"}"),
        Some(1.0)
    );
    assert_eq!(sample(&body, "cicada_target_users"), Some(4.0));
    assert_eq!(
        sample(&body, "cicada_workers{state=\"running\"}"),
        Some(1.0)
    );
    // Two bounds plus +Inf per row (OpenMetrics writes `le` first).
    let first_row_buckets = body
        .lines()
        .filter(|l| {
            l.starts_with("cicada_request_duration_seconds_bucket{")
                && l.contains("method=\"GET\",name=\"/items\"}")
        })
        .count();
    assert_eq!(first_row_buckets, 3, "{body}");
    // promtool (2.42) lints the Prometheus text format only; OpenMetrics names its counter
    // families without `_total`, which it would flag.
    assert_eq!(
        send(&h.app, post("/api/stop", "")).await.status,
        StatusCode::OK
    );
}

/// Runs `promtool check metrics` on `body` (Prometheus text format) when promtool is installed
/// (Debian: `prometheus`); skips with a message otherwise.
async fn promtool_check(body: &str) {
    use tokio::io::AsyncWriteExt;
    let child = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let Ok(mut child) = child else {
        eprintln!(
            "skipping `promtool check metrics`: promtool is not installed (Debian package `prometheus`)"
        );
        return;
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(body.as_bytes())
            .await
            .expect("write to promtool");
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("promtool finishes within 30 s")
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_export_counters_appear_with_otel() {
    let h = harness(WebConfig::default()).await;
    let body = send(&h.app, get("/metrics")).await.text();
    assert!(!body.contains("cicada_otel_spans"), "not without --otel");
    let (queue, _receiver) = cicada_telemetry::otel::span_queue(1);
    queue.counters().add_exported(7);
    queue.counters().add_failed(2);
    // The counters attach while the state is not shared yet: a fresh state on the same run.
    let fresh = crate::AppState::new(
        h.state.controller().clone(),
        WebConfig::default(),
        crate::RunInfo {
            scenario: "web.yaml".into(),
            defaults: crate::SwarmDefaults {
                users: 1,
                spawn_rate: 1.0,
                run_time: None,
            },
        },
        None,
    )
    .with_span_counters(Some(queue.counters().clone()));
    let body = send(&crate::app(fresh), get("/metrics")).await.text();
    assert_eq!(
        sample(&body, "cicada_otel_spans_exported_total"),
        Some(7.0),
        "{body}"
    );
    assert_eq!(sample(&body, "cicada_otel_spans_failed_total"), Some(2.0));
    assert_eq!(sample(&body, "cicada_otel_spans_dropped_total"), Some(0.0));
    promtool_check(&body).await;
}
