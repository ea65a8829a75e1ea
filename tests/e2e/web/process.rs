//! UI mode as a process: what happens around the UI (ports, autostart, run time, signals,
//! report files).

use std::time::Duration;

use cicada_testkit::RecordingServer;

use super::support::{SCENARIO, WAIT, http_get, start_cicada, stats_of};
use crate::util::{finish, scenario, signal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_port_in_use_is_a_usage_error_before_anything_runs() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let server = RecordingServer::start().await.expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), "web.yaml", SCENARIO);
    let out = crate::util::run_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        &server.url(),
        "--autostart",
        "--web-port",
        &port,
    ])
    .await;
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(
        out.stderr.contains("cannot listen") && out.stderr.contains("--web-port"),
        "{}",
        out.stderr
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.count(), 0, "no user ran");
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autostart_with_a_run_time_then_sigterm_writes_the_reports() {
    let server = RecordingServer::start().await.expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), "web.yaml", SCENARIO);
    let json = dir.path().join("out.json");
    let csv = dir.path().join("run");
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
        "3",
        "-r",
        "100",
        "-t",
        "2s",
        "--json",
        json.to_str().expect("path"),
        "--csv",
        csv.to_str().expect("path"),
    ])
    .await;
    let url = cicada.url.clone();
    // Traffic starts without anyone pressing Start...
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.count() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no traffic");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(http_get(&url, "/readyz").await.0, 200);
    // ... and stops at the run time, while the UI stays up with the results.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stats = stats_of(&url).await;
        if stats["state"] == "stopped" && stats["users"] == 0 {
            assert!(stats["total_requests"].as_u64() > Some(0));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run time did not stop the run: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = http_get(&url, "/stats/requests").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"state\":\"stopped\""), "{body}");

    signal(&cicada.child, 15);
    let out = finish(cicada.child, Duration::from_secs(30)).await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = crate::util::read_json(&json);
    assert_eq!(crate::util::total_requests(&report), server.count());
    for suffix in ["_stats.csv", "_failures.csv", "_stats_history.csv"] {
        let path = dir.path().join(format!("run{suffix}"));
        assert!(path.is_file(), "{} written", path.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_run_writes_the_html_report() {
    let server = RecordingServer::start().await.expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), "web.yaml", SCENARIO);
    let html = dir.path().join("report.html");
    let out = crate::util::run_cicada(&[
        "run",
        "--headless",
        "-f",
        &file,
        "-H",
        &server.url(),
        "-u",
        "2",
        "-r",
        "100",
        "-t",
        "2s",
        "--only-summary",
        "--html",
        html.to_str().expect("path"),
    ])
    .await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = std::fs::read_to_string(&html).expect("--html written");
    assert!(report.starts_with("<!doctype html>"));
    for expected in [
        "cicada report · web.yaml",
        "/api/v1/policies",
        "HTTP 503",
        "Reader",
        "uPlot",
        "cicada-history",
    ] {
        assert!(report.contains(expected), "the report shows {expected}");
    }
    assert!(
        !report.contains(" src=") && !report.contains("<link"),
        "self-contained"
    );
}
