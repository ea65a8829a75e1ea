//! Over a real socket on 127.0.0.1:0: `serve` with a listener bound to port 0, login and a
//! list over HTTP/1.1 keep-alive, the client address in the rate limit, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::rate_limit::RateLimit;
use crate::{AccessLogDest, TargetConfig, serve};

const LIMIT: Duration = Duration::from_secs(20);

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

async fn call(
    sender: &mut SendRequest<Full<Bytes>>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String) {
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let body = body.map(|v| v.to_string()).unwrap_or_default();
    let req = b
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    sender.ready().await.unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn start(
    config: TargetConfig,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(config, listener, async {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

#[tokio::test]
async fn login_and_list_over_http_then_stop_gracefully() {
    tokio::time::timeout(LIMIT, async {
        let (addr, stop, server) = start(TargetConfig {
            access_log: AccessLogDest::Off,
            ..TargetConfig::default()
        })
        .await;
        let mut c = connect(addr).await;
        let (status, body) = call(&mut c, "GET", "/api/v1/users", None, None).await;
        assert_eq!(status, 200);
        let users: Value = serde_json::from_str(&body).unwrap();
        let email = users["data"][0]["email"].as_str().unwrap().to_string();
        let (status, body) = call(
            &mut c,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": "password123"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let token = v["data"]["token"].as_str().unwrap().to_string();
        for _ in 0..3 {
            let (status, _) = call(
                &mut c,
                "POST",
                "/api/v1/quotes",
                Some(&token),
                Some(json!({"type": "AUTO", "coverageAmount": 50000})),
            )
            .await;
            assert_eq!(status, 201);
        }
        let (status, body) = call(
            &mut c,
            "GET",
            "/api/v1/quotes?status=ACTIVE&limit=50",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["pagination"]["total"], 3);
        // Shutdown with an idle keep-alive connection still open: the server ends cleanly.
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        assert!(TcpStream::connect(addr).await.is_err());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_rate_limit_sees_the_client_address() {
    tokio::time::timeout(LIMIT, async {
        let (addr, stop, server) = start(TargetConfig {
            access_log: AccessLogDest::Off,
            rate_limit: Some(RateLimit {
                max: 2,
                window: Duration::from_secs(900),
            }),
            ..TargetConfig::default()
        })
        .await;
        let mut c = connect(addr).await;
        assert_eq!(call(&mut c, "GET", "/health", None, None).await.0, 200);
        assert_eq!(call(&mut c, "GET", "/health", None, None).await.0, 200);
        let (status, body) = call(&mut c, "GET", "/health", None, None).await;
        assert_eq!(status, 429);
        assert_eq!(
            body,
            "Too many requests from this IP, please try again later."
        );
        // A new connection from the same IP is still limited.
        let mut c2 = connect(addr).await;
        assert_eq!(call(&mut c2, "GET", "/", None, None).await.0, 429);
        let (_, metrics) = call(&mut c2, "GET", "/metrics", None, None).await;
        assert!(
            metrics.contains("cicada_target_rate_limited_total 2"),
            "{metrics}"
        );
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    })
    .await
    .unwrap();
}
