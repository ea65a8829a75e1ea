//! Load shapes end to end: the real `cicada` binary, time-scaled, against the stand-in
//! target (`cicada target` on a port chosen at run time), watched through the REST API.
//!
//! Assertions are about behaviour, never speed: the user count sampled from the API is
//! compared with `Shape::at` at the virtual instant the API reports (with a tolerance for
//! the driver's once-a-second evaluation and the spawn rate); an incident's extra task shows
//! up as a statistics row once a window ran; bursts show as users above the base; the open
//! model counts dropped arrivals. Every process runs with `-t` and a hard time limit.

use std::time::Duration;

use chrono::DateTime;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::util::{cicada_bin, collect_lines, scenario, signal, spawn, target_addr};
use crate::web::support::{WAIT, http_get, http_post, start_cicada};

/// The scenario: one cheap unauthenticated request, a short think time.
const SCENARIO: &str = r#"
users:
  - name: Prober
    wait: { constant: 100ms }
    tasks:
      - { name: health, request: { path: /health } }
"#;

/// Starts `cicada target` on a free port; returns it and its base URL.
async fn start_target(extra: &[&str]) -> (Child, String) {
    let mut args = vec![
        "target",
        "--listen",
        "127.0.0.1:0",
        "--access-log",
        "off",
        "--log-format",
        "text",
    ];
    args.extend_from_slice(extra);
    let mut child = spawn(&cicada_bin(), &args);
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut lines = BufReader::new(stderr).lines();
    let addr = target_addr(&mut lines, WAIT).await;
    // Keep draining stderr so the target never blocks on a full pipe.
    collect_lines(lines);
    (child, format!("http://{addr}"))
}

async fn json_get(url: &str, path: &str) -> Value {
    let (status, body) = http_get(url, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// Starts cicada on a shape file (UI mode, autostart) against a fresh target.
async fn run_shape(
    dir: &std::path::Path,
    shape: &str,
    scale: &str,
    extra: &[&str],
    target_flags: &[&str],
) -> (crate::web::support::Cicada, Child, String) {
    let (target, host) = start_target(target_flags).await;
    let file = scenario(dir, "s.yaml", SCENARIO);
    let shape_file = scenario(dir, "shape.yaml", shape);
    let mut args = vec![
        "run",
        "-f",
        &file,
        "-H",
        &host,
        "--shape",
        &shape_file,
        "--time-scale",
        scale,
        "--autostart",
        "--web-port",
        "0",
        "-t",
        "40s",
    ];
    args.extend_from_slice(extra);
    let cicada = start_cicada(&args).await;
    (cicada, target, shape_file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_scaled_day_is_followed_and_a_hand_edit_pauses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A day in 24 real seconds; 2..22 users, peak at noon UTC.
    let text = "diurnal: { min_users: 2, max_users: 22, peak: \"12:00\", spawn_rate: 100 }\n";
    let (mut cicada, target, shape_file) = run_shape(dir.path(), text, "3600", &[], &[]).await;
    let shape = cicada_scenario::load_shape_file(std::path::Path::new(&shape_file))
        .expect("the shape loads");

    let mut seen = Vec::new();
    for _ in 0..24 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let s = json_get(&cicada.url, "/api/shape").await;
        let users = json_get(&cicada.url, "/api/stats").await["users"]
            .as_u64()
            .expect("users");
        let origin =
            DateTime::from_timestamp_millis(s["shape"]["origin"].as_i64().expect("origin"))
                .expect("instant");
        let now = DateTime::from_timestamp_millis(s["shape"]["now"].as_i64().expect("now"))
            .expect("instant");
        assert_eq!(s["shape"]["state"], "running", "{s}");
        let expected = shape.at(origin, now).users;
        assert_eq!(
            s["shape"]["point"]["users"].as_u64(),
            Some(u64::from(expected)),
            "the API reports Shape::at"
        );
        seen.push((users, expected));
    }
    // The driver evaluates once a (real) second = a virtual hour here, when the curve moves
    // by at most 20·π/24 ≈ 2.6 users; spawning 100/s adds a moment. Allow 4.
    for (users, expected) in &seen {
        assert!(
            users.abs_diff(u64::from(*expected)) <= 4,
            "users {users} vs the shape's {expected}: {seen:?}"
        );
    }
    let (lo, hi) = (
        seen.iter().map(|s| s.0).min().unwrap_or(0),
        seen.iter().map(|s| s.0).max().unwrap_or(0),
    );
    assert!(hi - lo >= 6, "half a virtual day moves the users: {seen:?}");

    // Editing users by hand pauses the shape, visibly, until resumed.
    let (status, body) = http_post(
        &cicada.url,
        "/api/swarm",
        r#"{"users": 1, "spawn_rate": 50}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let s = json_get(&cicada.url, "/api/shape").await;
    assert_eq!(s["shape"]["state"], "paused");
    assert_eq!(s["shape"]["paused_reason"], "users changed by hand");
    assert_eq!(json_get(&cicada.url, "/api/stats").await["shape"], "paused");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        json_get(&cicada.url, "/api/stats").await["target_users"],
        1,
        "no fight while paused"
    );
    let (status, body) = http_post(&cicada.url, "/api/shape/resume", "").await;
    assert_eq!(status, 200, "{body}");
    let resumed: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(resumed["shape"]["state"], "running");
    let want = resumed["shape"]["point"]["users"].as_u64().expect("users");
    let target_users = json_get(&cicada.url, "/api/stats").await["target_users"]
        .as_u64()
        .expect("target");
    assert!(target_users.abs_diff(want) <= 3, "{target_users} vs {want}");

    signal(&cicada.child, 15);
    let _ = tokio::time::timeout(WAIT, cicada.child.wait()).await;
    drop(target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_add_their_task_and_bursts_add_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    // An hour in 5 real seconds: an incident window of 10 virtual minutes every 20 (0.8 s
    // real of every 1.7 s), and bursts of 5-10 minutes about 4 times an hour.
    let text = r#"
constant: { users: 3, spawn_rate: 100 }
bursts: { per_hour: 4, add: 10, duration: [5m, 10m], spawn_rate: 100, seed: 5 }
incidents:
  - name: broken reports
    cron: "*/20 * * * *"
    duration: 10m
    extra_task: { name: Broken report, path: /api/v1/reports/broken, weight: 5 }
"#;
    let (mut cicada, target, _) = run_shape(dir.path(), text, "720", &[], &[]).await;
    let mut max_users = 0;
    let mut broken_rows = 0;
    let mut events = Vec::new();
    let started = |events: &[Value]| {
        events
            .iter()
            .any(|e| e["kind"] == "incident_start" && e["name"] == "broken reports")
    };
    // Until a window and a burst started during the run (one of each may already be
    // running at the start).
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stats = json_get(&cicada.url, "/api/stats").await;
        max_users = max_users.max(stats["users"].as_u64().unwrap_or(0));
        let broken = stats["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .find(|e| e["name"] == "Broken report")
            .and_then(|e| e["requests"].as_u64())
            .unwrap_or(0);
        broken_rows = broken_rows.max(broken);
        let shape = json_get(&cicada.url, "/api/shape").await;
        events = shape["shape"]["events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let burst = events.iter().any(|e| e["kind"] == "burst_start");
        if max_users > 3 && broken_rows > 0 && started(&events) && burst {
            break;
        }
    }
    let shape = &events;
    assert!(started(&events), "{events:?}");
    assert!(
        broken_rows > 0,
        "the extra task ran during a window: {shape:?}"
    );
    assert!(
        max_users > 3,
        "a burst raised the users above the base of 3: {events:?}"
    );
    assert!(
        events.iter().any(|e| e["kind"] == "burst_start"),
        "{events:?}"
    );
    // The day's curve is shaded by the windows: one every 20 minutes, 10 minutes long.
    let shape = json_get(&cicada.url, "/api/shape").await;
    let windows = shape["shape"]["incident_windows"]
        .as_array()
        .expect("windows");
    assert!(
        windows.len() >= 70,
        "a day holds 72 windows: {}",
        windows.len()
    );
    assert!(windows.iter().all(|w| {
        w["name"] == "broken reports"
            && w["end"]
                .as_i64()
                .zip(w["start"].as_i64())
                .map(|(e, s)| e - s)
                == Some(600_000)
    }));
    signal(&cicada.child, 15);
    let _ = tokio::time::timeout(WAIT, cicada.child.wait()).await;
    drop(target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_model_drops_arrivals_beyond_max_users() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 40 arrivals a second, at most 2 at once, each request slowed to ~300 ms: most drop.
    let text = "open: { rate: 40, max_users: 2, iterations: 1 }\n";
    let (mut cicada, target, _) =
        run_shape(dir.path(), text, "1", &[], &["--latency", "300ms"]).await;
    let mut dropped = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let stats = json_get(&cicada.url, "/api/stats").await;
        dropped = stats["arrivals"]["dropped"].as_u64().unwrap_or(0);
        if dropped > 0 && stats["total_requests"].as_u64().unwrap_or(0) > 0 {
            break;
        }
    }
    assert!(
        dropped > 0,
        "arrivals beyond max_users are dropped and counted"
    );
    let shape = json_get(&cicada.url, "/api/shape").await;
    assert_eq!(shape["shape"]["model"], "open");
    assert!(shape["shape"]["arrivals"]["arrived"].as_u64().unwrap_or(0) > 0);
    assert!(shape["shape"]["arrivals"]["active"].as_u64().unwrap_or(9) <= 2);
    let (status, metrics) = http_get(&cicada.url, "/metrics").await;
    assert_eq!(status, 200);
    let line = metrics
        .lines()
        .find(|l| l.starts_with("cicada_dropped_arrivals_total "))
        .unwrap_or_else(|| panic!("no dropped counter in {metrics}"));
    let value: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a number");
    assert!(value > 0.0, "{line}");
    signal(&cicada.child, 15);
    let _ = tokio::time::timeout(WAIT, cicada.child.wait()).await;
    drop(target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shape_flags_and_read_only_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), "s.yaml", SCENARIO);
    // A bad time scale and a bad shape file are usage errors naming the flag.
    let out = crate::util::run_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        "http://127.0.0.1:9",
        "--headless",
        "--time-scale",
        "0",
    ])
    .await;
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--time-scale"), "{}", out.stderr);
    let bad = scenario(
        dir.path(),
        "bad.yaml",
        "constant: 1\nincidents:\n  - { name: x, cron: \"@hourly\", duration: 1m, weights: { nope: 2 } }\n",
    );
    let out = crate::util::run_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        "http://127.0.0.1:9",
        "--headless",
        "--shape",
        &bad,
    ])
    .await;
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--shape"), "{}", out.stderr);
    assert!(out.stderr.contains("nope"), "{}", out.stderr);

    // `validate --shape` checks a shape file against the scenario.
    let out = crate::util::run_cicada(&["validate", "-f", &file, "--shape", &bad]).await;
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
    let good = scenario(dir.path(), "good.yaml", "constant: 4\n");
    let out = crate::util::run_cicada(&["validate", "-f", &file, "--shape", &good]).await;
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("constant 4 users"), "{}", out.stdout);

    // Read-only: the shape shows, pausing is refused; without autostart it waits, paused.
    let shape = scenario(dir.path(), "shape.yaml", "constant: 2\n");
    let mut cicada = start_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        "http://127.0.0.1:9",
        "--shape",
        &shape,
        "--web-port",
        "0",
        "--web-read-only",
        "-t",
        "30s",
    ])
    .await;
    let s = json_get(&cicada.url, "/api/shape").await;
    assert_eq!(s["shape"]["state"], "paused");
    assert_eq!(s["shape"]["paused_reason"], "not started yet");
    let (status, _) = http_post(&cicada.url, "/api/shape/resume", "").await;
    assert_eq!(status, 403);
    signal(&cicada.child, 15);
    let _ = tokio::time::timeout(WAIT, cicada.child.wait()).await;

    // Without a shape: `{"shape": null}`, and the actions are 404.
    let mut cicada = start_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        "http://127.0.0.1:9",
        "--web-port",
        "0",
        "-t",
        "30s",
    ])
    .await;
    assert_eq!(
        json_get(&cicada.url, "/api/shape").await["shape"],
        Value::Null
    );
    let (status, body) = http_post(&cicada.url, "/api/shape/pause", "").await;
    assert_eq!(status, 404, "{body}");
    signal(&cicada.child, 15);
    let _ = tokio::time::timeout(WAIT, cicada.child.wait()).await;
}
