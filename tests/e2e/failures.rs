//! Failures: counted with their reasons when the server answers 500, drops connections or is
//! stopped mid-run; cicada recovers when it comes back; signals and --fail-ratio.

use std::time::Duration;

use cicada_testkit::{Mode, RecordingServer};

use crate::util::{cicada_bin, finish, read_json, scenario, signal, spawn, total_requests};

const SIMPLE: &str = r#"
users:
  - name: U
    wait: { constant: 50ms }
    tasks:
      - { name: get, request: { path: /api/v1/policies } }
"#;

fn failure_count(report: &serde_json::Value, reason_part: &str) -> u64 {
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reason"].as_str().unwrap_or("").contains(reason_part))
        .map(|f| f["count"].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_are_counted_by_cause_and_traffic_recovers() {
    let mut server = RecordingServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "s.yaml", SIMPLE);
    let json = dir.path().join("out.json");
    let child = spawn(
        &cicada_bin(),
        &[
            "run",
            "--headless",
            "-f",
            &file,
            "-H",
            &server.url(),
            "-u",
            "10",
            "-r",
            "100",
            "-t",
            "9s",
            "--json",
            json.to_str().unwrap(),
            "--only-summary",
        ],
    );
    let phase = Duration::from_millis(1800);
    tokio::time::sleep(phase).await;
    server.set_mode(Mode::Fail500);
    tokio::time::sleep(phase).await;
    server.set_mode(Mode::Close);
    tokio::time::sleep(phase).await;
    server.stop();
    tokio::time::sleep(phase).await;
    server.set_mode(Mode::Normal);
    server.restart().await.unwrap();
    let before_recovery = server.count();
    let out = finish(child, Duration::from_secs(40)).await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = read_json(&json);

    assert!(failure_count(&report, "HTTP 500") > 0, "{report:#}");
    let refused = failure_count(&report, "refused");
    assert!(refused > 0, "connection refused counted: {report:#}");
    let closed = failure_count(&report, "closed") + failure_count(&report, "reset");
    assert!(closed > 0, "dropped connections counted: {report:#}");
    // Backoff: 10 users for ~1.8 s against a stopped server make a bounded number of attempts,
    // far fewer than spinning would (thousands).
    assert!(
        refused < 400,
        "users back off while the target is down: {refused}"
    );
    // Traffic resumed after the server came back.
    let after = server.count() - before_recovery;
    assert!(
        after > 20,
        "traffic recovered after the restart: {after} requests"
    );
    // Everything cicada counted as a response reached the server (failed connects did not).
    let total = total_requests(&report);
    assert!(
        total >= server.count(),
        "{total} counted vs {} served",
        server.count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_and_still_writes_reports() {
    let server = RecordingServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "s.yaml", SIMPLE);
    let json = dir.path().join("out.json");
    let csv = dir.path().join("run");
    // No -t: it runs until stopped.
    let child = spawn(
        &cicada_bin(),
        &[
            "run",
            "--headless",
            "-f",
            &file,
            "-H",
            &server.url(),
            "-u",
            "5",
            "-r",
            "50",
            "--json",
            json.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ],
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    signal(&child, 2);
    let out = finish(child, Duration::from_secs(20)).await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = read_json(&json);
    assert_eq!(total_requests(&report), server.count());
    assert!(server.count() > 10);
    assert!(dir.path().join("run_stats.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_too() {
    let server = RecordingServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "s.yaml", SIMPLE);
    let child = spawn(
        &cicada_bin(),
        &[
            "run",
            "--headless",
            "-f",
            &file,
            "-H",
            &server.url(),
            "-u",
            "3",
            "-r",
            "50",
        ],
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    signal(&child, 15);
    let out = finish(child, Duration::from_secs(20)).await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("Aggregated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_ratio_sets_exit_status_1() {
    let mut server = RecordingServer::start().await.unwrap();
    server.set_mode(Mode::Fail500);
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "s.yaml", SIMPLE);
    let base = [
        "run",
        "--headless",
        "-f",
        &file,
        "-H",
        &server.url(),
        "-u",
        "2",
        "-r",
        "50",
        "-t",
        "1s",
    ];
    let mut strict: Vec<&str> = base.to_vec();
    strict.extend(["--fail-ratio", "0.5"]);
    let out = finish(spawn(&cicada_bin(), &strict), Duration::from_secs(30)).await;
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stdout.contains("HTTP 500"),
        "the failures table: {}",
        out.stdout
    );
    // Without --fail-ratio the same run exits 0.
    let out = finish(spawn(&cicada_bin(), &base), Duration::from_secs(30)).await;
    assert_eq!(out.code(), Some(0), "{out:?}");
}
