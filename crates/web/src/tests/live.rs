//! The server-sent event stream: an update at once, one per tick, one right after a control
//! action, and the end of the stream when the server closes.

use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::support::{get, harness, post, send};
use crate::WebConfig;

/// Reads the next `update` event's JSON from an SSE body (skipping keep-alive comments).
async fn next_update(body: &mut Body, buffer: &mut String) -> Option<serde_json::Value> {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let data: String = event
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            if event.contains("event: update") {
                return serde_json::from_str(&data).ok();
            }
            continue;
        }
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("an event within 10 s")?
            .ok()?;
        if let Ok(data) = frame.into_data() {
            buffer.push_str(&String::from_utf8_lossy(&data));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_are_pushed_and_end_on_close() {
    let h = harness(WebConfig::default()).await;
    let response = h
        .app
        .clone()
        .oneshot(get("/api/events"))
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    assert_eq!(
        response
            .headers()
            .get("x-accel-buffering")
            .and_then(|v| v.to_str().ok()),
        Some("no")
    );
    let mut body = response.into_body();
    let mut buffer = String::new();

    // At once: the current state.
    let first = next_update(&mut body, &mut buffer)
        .await
        .expect("first update");
    assert_eq!(first["stats"]["state"], "ready");
    assert_eq!(first["workers"].as_array().map(Vec::len), Some(1));
    assert!(first.get("logs_seq").is_some());

    // A control action is pushed without waiting for a tick's worth of data.
    let a = send(
        &h.app,
        post("/api/swarm", r#"{"users": 2, "spawn_rate": 100}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let mut seen_running = false;
    for _ in 0..20 {
        let u = next_update(&mut body, &mut buffer).await.expect("update");
        if u["stats"]["target_users"] == 2 && u["stats"]["users"] == 2 && u["point"].is_object() {
            seen_running = true;
            assert!(u["point"]["timestamp"].is_u64());
            break;
        }
    }
    assert!(seen_running, "updates follow the swarm");

    // Shared payload: two streams in the same tick get the same bytes.
    let p1 = crate::live::payload(&h.state);
    let p2 = crate::live::payload(&h.state);
    assert!(std::sync::Arc::ptr_eq(&p1, &p2));

    h.state.close();
    let mut ended = false;
    for _ in 0..5 {
        if next_update(&mut body, &mut buffer).await.is_none() {
            ended = true;
            break;
        }
    }
    assert!(ended, "the stream ends when the server closes");
}
