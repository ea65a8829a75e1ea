//! The app over a real loopback socket (127.0.0.1, port 0), with `serve`'s graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::support::{Harness, harness, wait_for, wait_for_requests};
use crate::{WebConfig, serve};

/// One request on a fresh connection.
async fn call(addr: SocketAddr, request: Request<Body>) -> (StatusCode, String, Bytes) {
    let stream = TcpStream::connect(addr).await.expect("connects");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await
        .expect("answer within 10 s")
        .expect("answer");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, content_type, body)
}

fn req(method: &str, path: &str, addr: SocketAddr, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, addr.to_string())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request")
}

struct Served {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(h: &Harness) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, h.state.clone(), async move {
        let _ = stopped.await;
    }));
    Served {
        addr,
        stop: Some(stop),
        server,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_over_a_socket() {
    let h = harness(WebConfig::default()).await;
    let mut s = start(&h).await;
    let addr = s.addr;

    let (status, _, body) = call(
        addr,
        req(
            "POST",
            "/api/swarm",
            addr,
            r#"{"users": 3, "spawn_rate": 100}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    wait_for(&h.state, "3 users", |st| st.users == 3).await;
    wait_for_requests(&h.state, 5, 1).await;
    let (status, _, body) = call(
        addr,
        req(
            "POST",
            "/api/swarm",
            addr,
            r#"{"users": 1, "spawn_rate": 100}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    wait_for(&h.state, "1 user", |st| st.users == 1).await;

    let (status, _, body) = call(
        addr,
        req(
            "POST",
            "/api/swarm",
            addr,
            r#"{"users": 1, "spawn_rate": 0}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("spawn_rate"));

    let (status, ct, body) = call(addr, req("GET", "/api/stats", addr, "")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert!(v["total_requests"].as_u64() > Some(0));

    let (status, ct, body) = call(addr, req("GET", "/stats/requests", addr, "")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    assert!(String::from_utf8_lossy(&body).contains("num_requests"));

    let (_, ct, body) = call(addr, req("GET", "/api/stats.csv", addr, "")).await;
    assert!(ct.starts_with("text/csv"));
    assert!(String::from_utf8_lossy(&body).starts_with("Type,Name,Request Count"));
    let (_, ct, body) = call(addr, req("GET", "/api/report.html", addr, "")).await;
    assert!(ct.starts_with("text/html"));
    assert!(String::from_utf8_lossy(&body).contains("uPlot"));

    let (status, _, _) = call(addr, req("POST", "/api/stop", addr, "")).await;
    assert_eq!(status, StatusCode::OK);
    wait_for(&h.state, "stopped", |st| st.users == 0).await;
    let (status, _, _) = call(addr, req("POST", "/api/stats/reset", addr, "")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.state.controller().with_stats(|st| st.total_requests()), 0);

    // An open live stream does not hold up the shutdown.
    let stream = TcpStream::connect(addr).await.expect("connects");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let events = sender
        .send_request(req("GET", "/api/events", addr, ""))
        .await
        .expect("stream opens");
    assert_eq!(events.status(), StatusCode::OK);
    if let Some(stop) = s.stop.take() {
        let _ = stop.send(());
    }
    let done = tokio::time::timeout(Duration::from_secs(10), &mut s.server)
        .await
        .expect("the server stops within 10 s");
    assert!(matches!(done, Ok(Ok(()))), "{done:?}");
    assert!(h.state.is_closing());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_over_a_socket() {
    let h = harness(WebConfig {
        credentials: Some("u:p".parse().expect("credentials")),
        read_only: true,
        ..WebConfig::default()
    })
    .await;
    let s = start(&h).await;
    let addr = s.addr;
    let (status, _, _) = call(addr, req("GET", "/api/stats", addr, "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut r = req(
        "POST",
        "/api/swarm",
        addr,
        r#"{"users": 1, "spawn_rate": 1}"#,
    );
    r.headers_mut()
        .insert(header::AUTHORIZATION, "Basic dTpw".parse().expect("value"));
    let (status, _, body) = call(addr, r).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body:?}");
    let (status, _, _) = call(addr, req("GET", "/healthz", addr, "")).await;
    assert_eq!(status, StatusCode::OK);
    if let Some(stop) = s.stop {
        let _ = stop.send(());
    }
}
