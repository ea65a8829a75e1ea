//! The REST API through the router (no sockets).

use axum::http::{StatusCode, header};
use cicada_control::RunState;
use cicada_stats::report::{FAILURES_CSV_HEADER, HISTORY_CSV_HEADER, STATS_CSV_HEADER};
use tracing::Level;

use super::support::{get, harness, post, send, wait_for, wait_for_requests};
use crate::WebConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_before_anything_started() {
    let h = harness(WebConfig::default()).await;
    let a = send(&h.app, get("/api/stats")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header(header::CACHE_CONTROL), "no-store");
    let v = a.json();
    assert_eq!(v["state"], "ready");
    assert_eq!(v["users"], 0);
    assert_eq!(v["workers"], 1);
    assert_eq!(v["user_types"]["Reader"], 0);
    assert_eq!(v["user_types"]["Writer"], 0);
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["total"]["name"], "Aggregated");
    assert_eq!(v["failures"].as_array().map(Vec::len), Some(0));
    assert!(
        v["host"]
            .as_str()
            .is_some_and(|h| h.starts_with("http://127.0.0.1:"))
    );

    let info = send(&h.app, get("/api/info")).await.json();
    assert_eq!(info["scenario"], "web.yaml");
    assert_eq!(info["defaults"]["users"], 5);
    assert_eq!(info["defaults"]["run_time"], "10m");
    assert_eq!(info["read_only"], false);
    assert_eq!(h.server.count(), 0, "nothing runs before Start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_edit_stop_reset() {
    let h = harness(WebConfig::default()).await;
    let a = send(
        &h.app,
        post("/api/swarm", r#"{"users": 4, "spawn_rate": 100}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    assert_eq!(v["target_users"], 4);
    assert!(v["state"] == "spawning" || v["state"] == "running", "{v}");
    wait_for(&h.state, "4 users", |s| {
        s.users == 4 && s.state == RunState::Running
    })
    .await;
    wait_for_requests(&h.state, 10, 1).await;

    let v = send(&h.app, get("/api/stats")).await.json();
    assert_eq!(v["state"], "running");
    assert_eq!(v["users"], 4, "{v:#}");
    assert_eq!(v["user_types"]["Reader"], 3);
    assert_eq!(v["user_types"]["Writer"], 1);
    let names: Vec<&str> = v["entries"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"/items"), "{names:?}");
    assert!(names.contains(&"/status"), "{names:?}");
    // The entry keys of the JSON report.
    let entry = &v["entries"][0];
    for key in [
        "method",
        "requests",
        "failures",
        "p50_ms",
        "p95_ms",
        "current_rps",
        "percentiles",
    ] {
        assert!(entry.get(key).is_some(), "entry has {key}: {entry}");
    }
    let failure = &v["failures"][0];
    assert_eq!(failure["name"], "/status");
    assert_eq!(failure["reason"], "HTTP 503");
    assert!(failure["first_seen"].as_u64() <= failure["last_seen"].as_u64());

    // Edit while running: fewer users, without a restart.
    let a = send(
        &h.app,
        post("/api/swarm", r#"{"users": 2, "spawn_rate": 100}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    wait_for(&h.state, "2 users", |s| s.users == 2).await;

    // A run time given on start is kept by an edit that does not mention it.
    send(
        &h.app,
        post(
            "/api/swarm",
            r#"{"users": 2, "spawn_rate": 100, "run_time": "1h"}"#,
        ),
    )
    .await;
    let stops_at = h.state.controller().status().stops_at;
    assert!(stops_at.is_some());
    send(
        &h.app,
        post("/api/swarm", r#"{"users": 3, "spawn_rate": 100}"#),
    )
    .await;
    let kept = h.state.controller().status().stops_at;
    assert!(
        kept.zip(stops_at).is_some_and(|(k, s)| k.abs_diff(s) <= 1),
        "{kept:?} vs {stops_at:?}"
    );
    let v = send(
        &h.app,
        post(
            "/api/swarm",
            r#"{"users": 3, "spawn_rate": 100, "run_time": null}"#,
        ),
    )
    .await
    .json();
    assert_eq!(v["stops_at"], serde_json::Value::Null);

    let v = send(&h.app, post("/api/stop", "")).await.json();
    assert_eq!(v["state"], "stopped");
    wait_for(&h.state, "stopped", |s| s.users == 0).await;

    let v = send(&h.app, post("/api/stats/reset", "")).await.json();
    assert_eq!(v["state"], "stopped");
    let v = send(&h.app, get("/api/stats")).await.json();
    assert_eq!(v["total_requests"], 0);
    assert_eq!(v["failures"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_the_swarm_is_untouched() {
    let h = harness(WebConfig::default()).await;
    send(
        &h.app,
        post("/api/swarm", r#"{"users": 2, "spawn_rate": 50}"#),
    )
    .await;
    wait_for(&h.state, "2 users", |s| s.users == 2).await;
    let bodies = [
        r#"{"users": -1, "spawn_rate": 1}"#,
        r#"{"users": "ten", "spawn_rate": 1}"#,
        r#"{"users": 1, "spawn_rate": 0}"#,
        r#"{"users": 1, "spawn_rate": 1, "workers": 3}"#,
        r#"{"users": 1, "spawn_rate": 1, "host": "not a url"}"#,
        r#"{"users": 1, "spawn_rate": 1, "run_time": "soon"}"#,
        r#"{"users": 2000000, "spawn_rate": 1}"#,
        r#"{"users": 1"#,
        "",
    ];
    for body in bodies {
        let a = send(&h.app, post("/api/swarm", body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text());
        assert!(
            a.json()["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let a = send(
        &h.app,
        post(
            "/api/swarm",
            r#"{"users": 1, "spawn_rate": 1, "host": "http://alice:hunter22@127.0.0.1:1"}"#,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    assert_eq!(
        a.json()["error"].as_str(),
        Some(cicada_scenario::HOST_CREDENTIALS_MESSAGE)
    );
    assert!(!a.text().contains("hunter22"), "{}", a.text());
    let huge = format!(
        r#"{{"users": 1, "spawn_rate": 1, "host": "{}"}}"#,
        "x".repeat(100_000)
    );
    let a = send(&h.app, post("/api/swarm", huge)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.json()["error"]
            .as_str()
            .is_some_and(|m| m.contains("too large"))
    );

    let s = h.state.controller().status();
    assert_eq!(
        (s.target_users, s.spawn_rate),
        (2, 50.0),
        "the swarm is untouched"
    );

    // Wrong method, unknown path, bad query: JSON errors with the right status.
    let a = send(&h.app, get("/api/swarm")).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.json()["error"].is_string());
    let a = send(&h.app, get("/api/nope")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.json()["error"], "not found: /api/nope");
    let a = send(&h.app, get("/api/stats/history?resolution=hour")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["error"].is_string());
    let a = send(&h.app, get("/api/logs?after=-1")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_workers_ratio_and_logs() {
    let h = harness(WebConfig::default()).await;
    send(
        &h.app,
        post("/api/swarm", r#"{"users": 4, "spawn_rate": 100}"#),
    )
    .await;
    wait_for_requests(&h.state, 5, 0).await;
    let mut ticks = h.state.controller().ticks();
    ticks.changed().await.ok();

    let v = send(&h.app, get("/api/stats/history")).await.json();
    assert_eq!(v["resolution"], "second");
    let n = v["timestamp"].as_array().map_or(0, Vec::len);
    assert!(n >= 1, "{v}");
    for key in [
        "users",
        "rps",
        "fail_per_sec",
        "avg_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
    ] {
        assert_eq!(v[key].as_array().map(Vec::len), Some(n), "{key}");
    }
    let v = send(&h.app, get("/api/stats/history?resolution=minute"))
        .await
        .json();
    assert_eq!(v["interval_secs"], 60);

    let v = send(&h.app, get("/api/workers")).await.json();
    let w = &v["workers"][0];
    assert_eq!(v["workers"].as_array().map(Vec::len), Some(1));
    for key in [
        "id",
        "state",
        "users",
        "cpu_percent",
        "memory_bytes",
        "last_seen",
    ] {
        assert!(w.get(key).is_some(), "{key}: {w}");
    }
    assert_eq!(w["users"], 4);

    let v = send(&h.app, get("/api/ratio")).await.json();
    let types = v["user_types"].as_array().cloned().unwrap_or_default();
    assert_eq!(types.len(), 2);
    assert_eq!(types[0]["name"], "Reader");
    assert_eq!(types[0]["share"], 0.75);
    assert_eq!(types[0]["users"], 3);
    let tasks = types[0]["tasks"].as_array().cloned().unwrap_or_default();
    let shares: Vec<f64> = tasks.iter().filter_map(|t| t["share"].as_f64()).collect();
    assert_eq!(shares.len(), 2);
    assert!((shares[0] - 2.0 / 3.0).abs() < 1e-5, "{shares:?}");
    assert!((tasks[0]["total_share"].as_f64().unwrap_or(0.0) - 0.5).abs() < 1e-5);

    h.logs.push(Level::WARN, "cicada", "first");
    h.logs
        .push(Level::ERROR, "cicada_cluster::master::service", "second");
    let v = send(&h.app, get("/api/logs")).await.json();
    assert_eq!(v["logs"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["last_seq"], 2);
    assert_eq!(v["logs"][0]["component"], "cli");
    let v = send(&h.app, get("/api/logs?after=1")).await.json();
    assert_eq!(v["logs"][0]["message"], "second");
    assert_eq!(v["logs"][0]["level"], "ERROR");
    assert_eq!(v["logs"][0]["component"], "cluster.master");
    assert_eq!(v["logs"][0]["target"], "cicada_cluster::master::service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads() {
    let h = harness(WebConfig::default()).await;
    send(
        &h.app,
        post("/api/swarm", r#"{"users": 2, "spawn_rate": 100}"#),
    )
    .await;
    wait_for_requests(&h.state, 5, 1).await;

    let a = send(&h.app, get("/api/stats.csv")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header(header::CONTENT_TYPE).starts_with("text/csv"));
    assert!(
        a.header(header::CONTENT_DISPOSITION)
            .starts_with("attachment; filename=\"cicada_stats_")
    );
    assert!(a.text().starts_with(STATS_CSV_HEADER));
    assert!(a.text().contains("Aggregated"));
    let a = send(&h.app, get("/api/failures.csv")).await;
    assert!(a.text().starts_with(FAILURES_CSV_HEADER));
    assert!(a.text().contains("HTTP 503"));
    let a = send(&h.app, get("/api/history.csv")).await;
    assert!(a.text().starts_with(HISTORY_CSV_HEADER));
    let a = send(&h.app, get("/api/history.csv?resolution=minute")).await;
    assert!(a.text().starts_with(HISTORY_CSV_HEADER));
    let a = send(&h.app, get("/api/report.json")).await;
    assert!(a.json()["total"]["requests"].as_u64() > Some(0));

    let a = send(&h.app, get("/api/report.html")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header(header::CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(
        a.header(header::CONTENT_DISPOSITION),
        "",
        "opens in the browser"
    );
    let html = a.text();
    assert!(html.contains("web.yaml") && html.contains("/status") && html.contains("Reader"));
    let a = send(&h.app, get("/api/report.html?download=1")).await;
    assert!(
        a.header(header::CONTENT_DISPOSITION)
            .starts_with("attachment")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_openapi_and_assets() {
    let h = harness(WebConfig::default()).await;
    let a = send(&h.app, get("/healthz")).await;
    assert_eq!(
        (a.status, a.json()["status"].clone()),
        (StatusCode::OK, "ok".into())
    );
    let a = send(&h.app, get("/readyz")).await;
    assert_eq!(a.status, StatusCode::OK);
    h.state.close();
    let a = send(&h.app, get("/readyz")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(send(&h.app, get("/healthz")).await.status, StatusCode::OK);

    let doc = send(&h.app, get("/api/openapi.json")).await.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (method, path) in ROUTES {
        let documented = paths
            .get(*path)
            .and_then(|p| p.get(method.to_ascii_lowercase()))
            .is_some();
        assert!(documented, "{method} {path} is documented in openapi.json");
    }
    for path in paths.keys() {
        assert!(
            ROUTES.iter().any(|(_, p)| p == path),
            "openapi.json documents {path}, which is not a route"
        );
    }

    let index = send(&h.app, get("/")).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(
        index
            .header(header::CONTENT_SECURITY_POLICY)
            .contains("default-src 'self'")
    );
    assert!(index.text().contains("<title>"));
    for asset in crate::assets::ASSETS {
        let a = send(&h.app, get(&format!("/assets/{}", asset.path))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", asset.path);
        assert_eq!(a.header(header::CONTENT_TYPE), asset.content_type);
        assert_eq!(a.body.len(), asset.body.len());
        let etag = a.header(header::ETAG).to_owned();
        let again = axum::http::Request::get(format!("/assets/{}", asset.path))
            .header(header::IF_NONE_MATCH, etag)
            .body(axum::body::Body::empty())
            .expect("request");
        assert_eq!(send(&h.app, again).await.status, StatusCode::NOT_MODIFIED);
    }
    assert_eq!(
        send(&h.app, get("/assets/nope.js")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&h.app, get("/assets/../Cargo.toml")).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Every route (method, path), as documented.
pub(super) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/info"),
    ("GET", "/api/stats"),
    ("POST", "/api/swarm"),
    ("POST", "/api/stop"),
    ("POST", "/api/stats/reset"),
    ("GET", "/api/shape"),
    ("POST", "/api/shape/pause"),
    ("POST", "/api/shape/resume"),
    ("GET", "/api/stats/history"),
    ("GET", "/api/events"),
    ("GET", "/api/workers"),
    ("GET", "/api/ratio"),
    ("GET", "/api/logs"),
    ("GET", "/api/stats.csv"),
    ("GET", "/api/failures.csv"),
    ("GET", "/api/history.csv"),
    ("GET", "/api/report.json"),
    ("GET", "/api/report.html"),
    ("POST", "/swarm"),
    ("GET", "/stop"),
    ("GET", "/stats/requests"),
    ("GET", "/stats/reset"),
    ("GET", "/stats/requests/csv"),
    ("GET", "/stats/failures/csv"),
    ("GET", "/stats/report"),
];
