//! `GET /api/shape`, pause and resume, through the router: the shape's state, the pause rule
//! (a swarm by hand pauses it), read-only mode, and the open model's counter in `/metrics`.

use std::time::Duration;

use axum::http::StatusCode;
use cicada_control::ShapeOptions;
use serde_json::json;

use super::support::{get, harness, post, send};
use crate::WebConfig;

fn shape(text: &str) -> cicada_scenario::Shape {
    cicada_scenario::parse_shape_str(text, "shape.yaml").expect("shape parses")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shape_is_shown_paused_by_hand_and_resumed() {
    let h = harness(WebConfig::default()).await;
    let a = send(&h.app, get("/api/shape")).await;
    assert_eq!(
        (a.status, a.json()),
        (StatusCode::OK, json!({ "shape": null }))
    );
    let a = send(&h.app, post("/api/shape/resume", "")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let text = "stages:\n  - { duration: 1h, users: 3, spawn_rate: 50 }\nincidents:\n  - { name: storm, cron: \"0 * * * *\", duration: 10m, weights: { create: 4 } }\n";
    h.state
        .controller()
        .attach_shape(shape(text), ShapeOptions::default())
        .expect("attached");
    let a = send(&h.app, get("/api/shape?hours=2")).await;
    assert_eq!(a.status, StatusCode::OK);
    let s = &a.json()["shape"];
    assert_eq!(s["state"], "paused");
    assert_eq!(s["paused_reason"], "not started yet");
    assert_eq!(s["model"], "closed");
    assert_eq!(s["point"]["users"], 3);
    assert!(
        s["curve"]
            .as_array()
            .is_some_and(|c| c.len() > 100 && c.len() <= 400)
    );
    assert!(s["next_changes"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["kind"] == "incident_start" && c["name"] == "storm")
    }));
    assert_eq!(
        send(&h.app, get("/api/stats")).await.json()["shape"],
        "paused"
    );
    assert_eq!(
        send(&h.app, get("/api/shape?hours=0")).await.status,
        StatusCode::BAD_REQUEST
    );

    let a = send(&h.app, post("/api/shape/resume", "")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["shape"]["state"], "running");
    assert_eq!(
        send(&h.app, get("/api/stats")).await.json()["target_users"],
        3
    );

    // A swarm by hand pauses the shape, and says why.
    let a = send(
        &h.app,
        post("/api/swarm", r#"{"users": 1, "spawn_rate": 10}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["shape"], "paused");
    let s = send(&h.app, get("/api/shape")).await.json();
    assert_eq!(s["shape"]["paused_reason"], "users changed by hand");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        send(&h.app, get("/api/stats")).await.json()["target_users"],
        1
    );

    let a = send(&h.app, post("/api/shape/resume", "")).await;
    assert_eq!(a.json()["shape"]["state"], "running");
    let a = send(&h.app, post("/api/shape/pause", "")).await;
    assert_eq!(a.json()["shape"]["paused_reason"], "paused by hand");
    // The Locust alias obeys the same rule.
    send(&h.app, post("/api/shape/resume", "")).await;
    send(&h.app, get("/stop")).await;
    let s = send(&h.app, get("/api/shape")).await.json();
    assert_eq!(s["shape"]["paused_reason"], "stopped by hand");
    h.state.controller().shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_shape_actions_and_metrics_count_drops() {
    let h = harness(WebConfig {
        read_only: true,
        ..WebConfig::default()
    })
    .await;
    h.state
        .controller()
        .attach_shape(shape("constant: 1"), ShapeOptions::default())
        .expect("attached");
    for path in ["/api/shape/pause", "/api/shape/resume"] {
        let a = send(&h.app, post(path, "")).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(send(&h.app, get("/api/shape")).await.status, StatusCode::OK);
    let metrics = send(&h.app, get("/metrics")).await.text();
    assert!(
        metrics.contains("cicada_dropped_arrivals_total 0"),
        "{metrics}"
    );
}
