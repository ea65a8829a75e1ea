//! Authentication, read-only mode and the cross-site guard, through the router.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::support::{get, harness, post, send};
use crate::WebConfig;

fn with_header(mut r: Request<Body>, name: header::HeaderName, value: &str) -> Request<Body> {
    r.headers_mut()
        .insert(name, value.parse().expect("header value"));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_protects_everything_but_the_probes() {
    let h = harness(WebConfig {
        credentials: Some("admin:pw".parse().expect("credentials")),
        ..WebConfig::default()
    })
    .await;
    let good = format!("Basic {}", STANDARD.encode("admin:pw"));
    let bad = format!("Basic {}", STANDARD.encode("admin:wrong"));
    for path in [
        "/",
        "/api/stats",
        "/api/events",
        "/stats/requests",
        "/api/report.html",
    ] {
        let a = send(&h.app, get(path)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            a.header(header::WWW_AUTHENTICATE).starts_with("Basic"),
            "{path}"
        );
        let a = send(&h.app, with_header(get(path), header::AUTHORIZATION, &bad)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let a = send(
        &h.app,
        with_header(get("/api/stats"), header::AUTHORIZATION, &good),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(
        &h.app,
        post("/api/swarm", r#"{"users": 1, "spawn_rate": 1}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.state.controller().status().target_users,
        0,
        "nothing started"
    );
    assert_eq!(send(&h.app, get("/healthz")).await.status, StatusCode::OK);
    assert_eq!(send(&h.app, get("/readyz")).await.status, StatusCode::OK);
    assert_eq!(send(&h.app, get("/metrics")).await.status, StatusCode::OK);
    assert_eq!(
        send(&h.app, get("/assets/app.css")).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_probes_closes_them_too() {
    let h = harness(WebConfig {
        token: Some("s3cret".into()),
        protect_probes: true,
        ..WebConfig::default()
    })
    .await;
    assert_eq!(
        send(&h.app, get("/healthz")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&h.app, get("/readyz")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&h.app, get("/metrics")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let a = send(
        &h.app,
        with_header(get("/healthz"), header::AUTHORIZATION, "Bearer s3cret"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(
        &h.app,
        with_header(get("/metrics"), header::AUTHORIZATION, "Bearer s3cret"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_via_bearer_or_login_cookie() {
    let h = harness(WebConfig {
        token: Some("s3cret".into()),
        ..WebConfig::default()
    })
    .await;
    let a = send(&h.app, get("/api/stats")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.header(header::WWW_AUTHENTICATE),
        "",
        "no basic prompt for a token"
    );
    assert_eq!(a.json()["error"], "authentication required");
    let a = send(
        &h.app,
        with_header(get("/api/stats"), header::AUTHORIZATION, "Bearer s3cret"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(
        &h.app,
        with_header(get("/api/stats"), header::AUTHORIZATION, "Bearer nope"),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    // A browser opening the page gets the login form...
    let a = send(
        &h.app,
        with_header(get("/"), header::ACCEPT, "text/html,*/*"),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.text().contains("name=\"token\""));
    // ... which sets the cookie on the right token only.
    let wrong = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("token=nope"))
        .expect("request");
    let a = send(&h.app, wrong).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.text().contains("not valid"));
    assert_eq!(a.header(header::SET_COOKIE), "");
    let right = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("token=s3cret"))
        .expect("request");
    let a = send(&h.app, right).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let cookie = a.header(header::SET_COOKIE).to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("s3cret"),
        "the cookie does not show the token as is"
    );
    let pair = cookie.split(';').next().unwrap_or_default().to_owned();
    let a = send(
        &h.app,
        with_header(get("/api/stats"), header::COOKIE, &pair),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_shows_everything_and_refuses_changes() {
    let h = harness(WebConfig {
        read_only: true,
        ..WebConfig::default()
    })
    .await;
    let a = send(
        &h.app,
        post("/api/swarm", r#"{"users": 1, "spawn_rate": 1}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.json()["error"]
            .as_str()
            .is_some_and(|m| m.contains("read-only"))
    );
    for path in ["/api/stop", "/api/stats/reset"] {
        assert_eq!(
            send(&h.app, post(path, "")).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for path in ["/stop", "/stats/reset"] {
        let a = send(&h.app, get(path)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            a.json()["success"],
            false,
            "Locust's shape on Locust's routes"
        );
    }
    let form = super::support::post_form("/swarm", "user_count=1&spawn_rate=1");
    assert_eq!(send(&h.app, form).await.status, StatusCode::FORBIDDEN);
    assert_eq!(h.state.controller().status().target_users, 0);
    for path in [
        "/",
        "/api/stats",
        "/api/stats.csv",
        "/stats/requests",
        "/api/info",
    ] {
        assert_eq!(
            send(&h.app, get(path)).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(
        send(&h.app, get("/api/info")).await.json()["read_only"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_other_sites_are_refused() {
    let h = harness(WebConfig::default()).await;
    let body = r#"{"users": 1, "spawn_rate": 1}"#;
    let cross = with_header(
        with_header(
            post("/api/swarm", body),
            header::ORIGIN,
            "http://evil.example",
        ),
        header::HOST,
        "127.0.0.1:8089",
    );
    assert_eq!(send(&h.app, cross).await.status, StatusCode::FORBIDDEN);
    let cross = with_header(
        get("/stop"),
        "sec-fetch-site".parse().expect("name"),
        "cross-site",
    );
    assert_eq!(send(&h.app, cross).await.status, StatusCode::FORBIDDEN);
    assert_eq!(h.state.controller().status().target_users, 0);
    let same = with_header(
        with_header(
            post("/api/swarm", body),
            header::ORIGIN,
            "http://127.0.0.1:8089",
        ),
        header::HOST,
        "127.0.0.1:8089",
    );
    assert_eq!(send(&h.app, same).await.status, StatusCode::OK);
}
