//! A real Prometheus server (Debian's `prometheus`, started here on a loopback port chosen at
//! run time) scrapes cicada's `/metrics` every second; its HTTP API must report exactly the
//! requests the target received, the users that ran, and a healthy scrape.

use std::time::Duration;

use cicada_testkit::{RecordingServer, free_port};
use serde_json::Value;
use tokio::process::Command;

use crate::util::scenario;
use crate::web::support::{WAIT, http_get, start_cicada, wait_until_stopped};

const SCENARIO: &str = r#"
users:
  - name: Reader
    wait: { constant: 50ms }
    tasks:
      - { name: list, request: { path: /api/v1/policies } }
      - { name: broken, request: { path: /status/503, name: /api/v1/reports } }
"#;

/// Runs an instant query against Prometheus and returns the first sample's value (`None`
/// while the series does not exist yet).
async fn query(prometheus: &str, promql: &str) -> Option<f64> {
    let encoded: String = promql
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let (status, body) = http_get(prometheus, &format!("/api/v1/query?query={encoded}")).await;
    if status != 200 {
        return None;
    }
    let v: Value = serde_json::from_str(&body).ok()?;
    let sample = v["data"]["result"].as_array()?.first()?.clone();
    sample["value"][1].as_str()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_what_the_target_received() {
    let binary = "/usr/bin/prometheus";
    assert!(
        std::path::Path::new(binary).exists(),
        "prometheus is not installed: run scripts/test (apt-get install prometheus)"
    );
    let server = RecordingServer::start().await.expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), "prom.yaml", SCENARIO);
    let cicada = start_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        &server.url(),
        "--web-port",
        "0",
        "--autostart",
        "-u",
        "2",
        "-r",
        "100",
        "-t",
        "8s",
    ])
    .await;
    let target = cicada
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let port = free_port().expect("a free port");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: cicada\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .expect("config written");
    let mut prometheus = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    let prom = format!("http://127.0.0.1:{port}/");

    // The run ends by its run time; wait for it, then for a scrape that saw the final count.
    wait_until_stopped(&cicada.url, WAIT).await;
    // Measurements reach the statistics within the aggregator's second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = server.count() as f64;
    assert!(received > 0.0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let scraped = query(&prom, "sum(cicada_requests_total)").await;
        if scraped == Some(received) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Prometheus saw {scraped:?} requests, the target received {received}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(query(&prom, "up{job=\"cicada\"}").await, Some(1.0));
    let failures = query(&prom, "sum(cicada_request_failures_total)").await;
    assert!(failures > Some(0.0), "the 503s are counted: {failures:?}");
    let histogram = query(&prom, "sum(cicada_request_duration_seconds_count)").await;
    assert_eq!(
        histogram,
        Some(received),
        "the histogram counts every request"
    );
    assert!(
        query(&prom, "max_over_time(sum(cicada_users)[1m:1s])").await >= Some(1.0),
        "the users were scraped while they ran"
    );
    assert!(
        query(&prom, "process_resident_memory_bytes{job=\"cicada\"}").await > Some(0.0),
        "the process's memory is exported"
    );
    let _ = prometheus.kill().await;
}
