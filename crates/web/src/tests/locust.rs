//! Locust's endpoints: same paths, methods and JSON field names.

use axum::http::{StatusCode, header};
use cicada_control::RunState;

use super::support::{get, harness, post_form, send, wait_for, wait_for_requests};
use crate::WebConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_stats_stop_reset_like_locust() {
    let h = harness(WebConfig::default()).await;
    let a = send(
        &h.app,
        post_form("/swarm", "user_count=4&spawn_rate=100&host="),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    assert_eq!(v["success"], true);
    assert_eq!(v["message"], "Swarming started");
    assert!(
        v["host"]
            .as_str()
            .is_some_and(|h| h.starts_with("http://127.0.0.1:"))
    );
    wait_for(&h.state, "4 users", |s| {
        s.users == 4 && s.state == RunState::Running
    })
    .await;
    wait_for_requests(&h.state, 10, 1).await;
    let mut ticks = h.state.controller().ticks();
    ticks.changed().await.ok();

    let v = send(&h.app, get("/stats/requests")).await.json();
    assert_eq!(v["state"], "running");
    assert_eq!(v["user_count"], 4);
    for key in [
        "total_rps",
        "total_fail_per_sec",
        "fail_ratio",
        "current_response_time_percentile_1",
        "current_response_time_percentile_2",
        "current_response_time_percentiles",
        "total_avg_response_time",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    assert!(v["current_response_time_percentile_1"].is_number(), "{v}");
    let stats = v["stats"].as_array().cloned().unwrap_or_default();
    let total = stats.last().cloned().unwrap_or_default();
    assert_eq!(total["name"], "Aggregated");
    assert!(total["method"].is_null());
    let row = stats.first().cloned().unwrap_or_default();
    for key in [
        "method",
        "name",
        "safe_name",
        "num_requests",
        "num_failures",
        "avg_response_time",
        "min_response_time",
        "max_response_time",
        "current_rps",
        "current_fail_per_sec",
        "median_response_time",
        "ninetieth_response_time",
        "ninety_ninth_response_time",
        "avg_content_length",
    ] {
        assert!(row.get(key).is_some(), "{key}: {row}");
    }
    let error = &v["errors"][0];
    assert_eq!(error["error"], "HTTP 503");
    assert!(error["occurrences"].as_u64() > Some(0));
    for key in ["method", "name"] {
        assert!(error.get(key).is_some(), "{key}");
    }

    // Bad forms answer Locust's error shape and change nothing.
    for form in [
        "user_count=-1&spawn_rate=1",
        "user_count=2&spawn_rate=0",
        "spawn_rate=1",
    ] {
        let a = send(&h.app, post_form("/swarm", form)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{form}");
        assert_eq!(a.json()["success"], false, "{form}");
    }
    assert_eq!(h.state.controller().status().target_users, 4);

    let v = send(&h.app, get("/stop")).await.json();
    assert_eq!(
        v,
        serde_json::json!({"success": true, "message": "Test stopped"})
    );
    wait_for(&h.state, "stopped", |s| {
        s.users == 0 && s.state == RunState::Stopped
    })
    .await;
    let a = send(&h.app, get("/stats/reset")).await;
    assert_eq!((a.status, a.text().as_str()), (StatusCode::OK, "ok"));
    assert_eq!(h.state.controller().with_stats(|s| s.total_requests()), 0);

    // Locust's download paths.
    let a = send(&h.app, get("/stats/requests/csv")).await;
    assert!(a.header(header::CONTENT_TYPE).starts_with("text/csv"));
    let a = send(&h.app, get("/stats/failures/csv")).await;
    assert!(a.text().starts_with("Method,Name,Error,Occurrences"));
    let a = send(&h.app, get("/stats/report")).await;
    assert!(a.text().starts_with("<!doctype html>"));
}
