//! Operations: bounds (eviction), injected latency and errors, the rate limit, `/metrics`,
//! and the access log.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::connect_info::MockConnectInfo;
use serde_json::json;

use super::T;
use crate::TargetConfig;
use crate::latency::{Dist, LatencyModel};
use crate::rate_limit::RateLimit;
use crate::rng::{mix, unit};

#[tokio::test]
async fn records_past_the_cap_are_evicted_oldest_first() {
    let t = T::with(TargetConfig {
        max_records: 3,
        ..TargetConfig::default()
    });
    let a = t.token(0).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            t.active_policy(&a).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let v = t.get("/api/v1/policies", &a).await.json();
    assert_eq!(v["pagination"]["total"], 3);
    assert_eq!(v["data"][0]["id"], ids[4]);
    assert_eq!(v["data"][2]["id"], ids[2]);
    for old in &ids[..2] {
        let r = t.get(&format!("/api/v1/policies/{old}"), &a).await;
        assert_eq!(r.error(404), "Policy not found");
    }
    let metrics = t.state.metrics_text();
    assert!(
        metrics.contains("cicada_target_evictions_total{kind=\"policies\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cicada_target_records{kind=\"policies\"} 3"),
        "{metrics}"
    );
}

#[tokio::test(start_paused = true)]
async fn latency_is_injected_reproducibly_from_the_seed() {
    let spec = "20ms:200ms";
    let t = T::with(TargetConfig {
        seed: 99,
        latency: LatencyModel::parse(&[spec, "/health=7ms"]).unwrap(),
        ..TargetConfig::default()
    });
    let dist = Dist::parse(spec).unwrap();
    // Request numbers start at 0; with paused time the sleep advances the clock exactly.
    for n in 0..5u64 {
        let before = tokio::time::Instant::now();
        let r = t.req("GET", "/api/v1/users", None, None).await;
        assert_eq!(r.status, 200);
        let expected = dist.sample(unit(mix(99, n, 1)), unit(mix(99, n, 2)));
        // Tokio's timer has millisecond granularity: the sleep ends on the next tick.
        let elapsed = before.elapsed();
        assert!(
            elapsed >= expected && elapsed <= expected + Duration::from_millis(1),
            "request {n}: {elapsed:?} vs {expected:?}"
        );
    }
    let before = tokio::time::Instant::now();
    t.req("GET", "/health", None, None).await;
    assert_eq!(before.elapsed(), Duration::from_millis(7));
    // /metrics is never delayed.
    let before = tokio::time::Instant::now();
    t.req("GET", "/metrics", None, None).await;
    assert_eq!(before.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn errors_are_injected_reproducibly_and_only_under_api_v1() {
    let cfg = TargetConfig {
        seed: 5,
        error_rate: 0.3,
        ..TargetConfig::default()
    };
    let pattern = |t: T| async move {
        let mut failed = Vec::new();
        for _ in 0..40 {
            let r = t.req("GET", "/api/v1/organizations", None, None).await;
            if r.status == 500 {
                assert_eq!(r.error(500), "Internal server error");
            }
            failed.push(r.status == 500);
        }
        failed
    };
    let a = pattern(T::with(cfg.clone())).await;
    let b = pattern(T::with(cfg)).await;
    assert_eq!(a, b);
    let expected: Vec<bool> = (0..40u64).map(|n| unit(mix(5, n, 3)) < 0.3).collect();
    assert_eq!(a, expected);
    assert!(a.iter().any(|f| *f) && a.iter().any(|f| !*f));

    let always = T::with(TargetConfig {
        error_rate: 1.0,
        ..TargetConfig::default()
    });
    assert_eq!(always.req("GET", "/health", None, None).await.status, 200);
    assert_eq!(
        always.req("GET", "/api/v1/users", None, None).await.status,
        500
    );
    assert!(
        always
            .state
            .metrics_text()
            .contains("cicada_target_injected_errors_total 1")
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_per_client_ip() {
    let t = T::with(TargetConfig {
        rate_limit: Some(RateLimit {
            max: 3,
            window: Duration::from_secs(900),
        }),
        ..TargetConfig::default()
    });
    let from = |ip: [u8; 4]| {
        t.app
            .clone()
            .layer(MockConnectInfo(SocketAddr::from((ip, 40000))))
    };
    let send = |app: axum::Router, path: &'static str| async move {
        use tower::ServiceExt;
        let req = http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    };
    let a = from([10, 0, 0, 1]);
    for remaining in ["2", "1", "0"] {
        let (status, h, _) = send(a.clone(), "/health").await;
        assert_eq!(status, 200);
        assert_eq!(h["x-ratelimit-limit"], "3");
        assert_eq!(h["x-ratelimit-remaining"], remaining);
        assert!(h.contains_key("x-ratelimit-reset"));
    }
    let (status, h, body) = send(a.clone(), "/api/v1/users").await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        "Too many requests from this IP, please try again later."
    );
    assert!(h.contains_key("retry-after"));
    // Another client is not limited; /metrics is exempt.
    let (status, _, _) = send(from([10, 0, 0, 2]), "/health").await;
    assert_eq!(status, 200);
    let (status, _, body) = send(a, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("cicada_target_rate_limited_total 1"),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_are_labelled_by_route_template() {
    let t = T::new();
    let a = t.token(0).await;
    let p = t.active_policy(&a).await;
    let id = p["id"].as_str().unwrap();
    t.get(&format!("/api/v1/policies/{id}"), &a).await;
    t.get(&format!("/api/v1/policies/{}", uuid::Uuid::new_v4()), &a)
        .await;
    t.req("GET", "/nope/123", None, None).await;
    let r = t.req("GET", "/metrics", None, None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let m = r.text;
    for line in [
        r#"cicada_target_http_requests_total{method="GET",route="/api/v1/policies/{id}",status="200"} 1"#,
        r#"cicada_target_http_requests_total{method="GET",route="/api/v1/policies/{id}",status="404"} 1"#,
        r#"cicada_target_http_requests_total{method="POST",route="/api/v1/policies",status="201"} 1"#,
        r#"cicada_target_http_requests_total{method="POST",route="/api/v1/auth/login",status="200"} 1"#,
        r#"cicada_target_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"cicada_target_http_request_duration_seconds_count{method="GET",route="/api/v1/policies/{id}"} 2"#,
        r#"cicada_target_records{kind="policies"} 1"#,
        r#"cicada_target_organizations 1"#,
        "# TYPE cicada_target_http_request_duration_seconds histogram",
    ] {
        assert!(m.contains(line), "missing {line} in\n{m}");
    }
    // Never a raw URL or id in a label.
    assert!(!m.contains(id));
    assert!(!m.contains("/nope"));
}

#[tokio::test]
async fn the_access_log_has_the_fields_and_no_secrets() {
    let t = T::new();
    let user = &t.users_of(0)[0];
    let r = t
        .req(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": user.email, "password": "password123"})),
        )
        .await;
    let token = r.data()["token"].as_str().unwrap().to_string();
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = t
        .send(
            "GET",
            "/api/v1/policies?limit=5&token=leaked",
            &[
                ("authorization", Some(format!("Bearer {token}"))),
                ("traceparent", Some(tp.to_string())),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let request_id = r.headers["x-request-id"].to_str().unwrap().to_string();
    let bad = t.get("/api/v1/policies/x", "garbage").await;
    assert_eq!(bad.status, 401);
    let lines = t.log.lines();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert!(
            !l.contains(&token) && !l.contains("password123") && !l.contains("leaked"),
            "{l}"
        );
        assert!(
            !l.contains("garbage") && !l.to_ascii_lowercase().contains("bearer"),
            "{l}"
        );
    }
    let v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(v["level"], "info");
    assert_eq!(v["request"]["method"], "GET");
    assert_eq!(
        v["request"]["url"],
        "/api/v1/policies?limit=5&token=[REDACTED]"
    );
    assert_eq!(v["response"]["statusCode"], 200);
    assert_eq!(v["route"], "/api/v1/policies");
    assert_eq!(v["requestId"], request_id.as_str());
    assert!(request_id.starts_with("req_"));
    assert_eq!(v["traceparent"], tp);
    assert_eq!(v["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(v["duration"].is_number());
    assert!(super::is_iso_millis(&v["time"]));
    let msg = v["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("GET /api/v1/policies?limit=5&token=[REDACTED] 200 - ")
            && msg.ends_with(" bytes"),
        "{msg}"
    );
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert!(first.get("traceparent").is_none());
    assert!(first.get("trace_id").is_none());
    let third: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!(third["level"], "warn");
    assert_eq!(third["route"], "/api/v1/policies/{id}");
}
