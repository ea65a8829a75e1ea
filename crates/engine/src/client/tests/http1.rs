//! Plain HTTP/1.1: keep-alive, reconnects, failures, timeouts, body caps, targets.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Version};

use super::support::{self, BIG, Script, client, config, router, serve, serve_raw};
use crate::client::{ClientConfig, ClientError, HttpSession, TimeoutPhase};

async fn get(
    session: &mut HttpSession,
    target: &str,
) -> Result<crate::client::Response, ClientError> {
    session
        .send(Method::GET, target, HeaderMap::new(), Bytes::new(), None)
        .await
}

#[test]
fn session_and_its_future_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let c = client(config());
    let mut s = c.session(&url::Url::parse("http://127.0.0.1:1/").unwrap());
    is_send(&s);
    let fut = s.send(Method::GET, "/", HeaderMap::new(), Bytes::new(), None);
    is_send(&fut);
    // Every waiting user holds one of these: the (rare) connect path is boxed to keep it
    // small (~1.7 KiB at the time of writing, ~9 KiB unboxed). Loose bound, not exact.
    assert!(std::mem::size_of_val(&fut) < 4096);
}

#[tokio::test]
async fn keep_alive_reuses_one_connection() {
    let server = serve(router()).await;
    let mut s = client(config()).session(&server.url("http"));
    for i in 0..5 {
        let r = get(&mut s, "/").await.unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, "hello");
        assert_eq!(r.body_len, 5);
        assert_eq!(r.version, Version::HTTP_11);
        assert_eq!(r.redirects, 0);
        // Only the first request paid for a connection.
        assert_eq!(r.timing.connect.is_some(), i == 0);
        assert!(r.timing.ttfb <= r.timing.total);
    }
    assert_eq!(server.connections(), 1);
    assert_eq!(s.connect_failures(), 0);
    assert!(s.is_connected());
    s.close();
    assert!(!s.is_connected());
    get(&mut s, "/").await.unwrap();
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn sets_host_and_content_length_but_not_accept_encoding() {
    let server = serve(router()).await;
    let mut s = client(config()).session(&server.url("http"));
    let r = s
        .send(
            Method::POST,
            "/echo",
            HeaderMap::new(),
            Bytes::from_static(b"abc"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.headers["x-method"], "POST");
    assert_eq!(r.headers["x-host"], server.addr.to_string().as_str());
    assert_eq!(r.headers["x-content-length"], "3");
    assert!(!r.headers.contains_key("x-accept-encoding"));
    assert_eq!(r.body, "abc");

    // The caller's headers go through; an explicit Host wins.
    let mut h = HeaderMap::new();
    h.insert(http::header::HOST, "example.test".parse().unwrap());
    h.insert(http::header::ACCEPT_ENCODING, "gzip".parse().unwrap());
    let r = s
        .send(Method::GET, "/echo", h, Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(r.headers["x-host"], "example.test");
    assert_eq!(r.headers["x-accept-encoding"], "gzip");
}

#[tokio::test]
async fn reconnects_after_the_server_closes_a_keep_alive_connection() {
    let server = serve_raw(Script::CloseAfterFirst).await;
    let mut s = client(config()).session(&server.url("http"));
    for _ in 0..3 {
        let r = get(&mut s, "/").await.unwrap();
        assert_eq!(r.body, "ok");
        // Give the FIN a moment in one case, none in the others: both paths must work.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.connections(), 3);
    assert_eq!(s.connect_failures(), 0);
}

#[tokio::test]
async fn keep_alive_race_retries_idempotent_requests_only() {
    let server = serve_raw(Script::DropSecond).await;
    let mut s = client(config()).session(&server.url("http"));
    assert_eq!(get(&mut s, "/").await.unwrap().body, "ok");
    // Sent on the reused connection, which closes without an answer: GET is retried.
    assert_eq!(get(&mut s, "/").await.unwrap().body, "ok");
    assert_eq!(server.connections(), 2);
    // A POST in the same situation is not replayed.
    let err = s
        .send(Method::POST, "/", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::ConnectionClosed), "{err:?}");
    assert_eq!(err.reason(), "connection closed");
    assert!(!err.is_connect());
}

#[tokio::test]
async fn fresh_connection_closed_without_response_is_not_retried() {
    let server = serve_raw(Script::DropAll).await;
    let mut s = client(config()).session(&server.url("http"));
    let err = get(&mut s, "/").await.unwrap_err();
    assert!(matches!(err, ClientError::ConnectionClosed), "{err:?}");
    assert_eq!(server.connections(), 1);
    // The TCP connect itself worked.
    assert_eq!(s.connect_failures(), 0);
}

#[tokio::test]
async fn refused_connections_count_until_one_succeeds() {
    let dead = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let server = serve(router()).await;
    let base = url::Url::parse(&format!("http://{dead}/")).unwrap();
    let mut s = client(config()).session(&base);
    for n in 1..=2 {
        let err = get(&mut s, "/").await.unwrap_err();
        assert!(
            matches!(&err, ClientError::Connect(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{err:?}"
        );
        assert_eq!(err.reason(), "connection refused");
        assert!(err.is_connect());
        assert_eq!(s.connect_failures(), n);
    }
    let live = format!("http://{}/", server.addr);
    assert_eq!(get(&mut s, &live).await.unwrap().body, "hello");
    assert_eq!(s.connect_failures(), 0);
}

#[tokio::test]
async fn request_timeout_drops_the_connection() {
    let server = serve(router()).await;
    let mut s = client(config()).session(&server.url("http"));
    get(&mut s, "/").await.unwrap();
    let err = s
        .send(
            Method::GET,
            "/sleep",
            HeaderMap::new(),
            Bytes::new(),
            Some(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout(TimeoutPhase::Request)),
        "{err:?}"
    );
    assert!(err.is_timeout() && !err.is_connect());
    assert_eq!(err.reason(), "request timeout");
    assert!(!s.is_connected());
    // The next request connects afresh.
    get(&mut s, "/").await.unwrap();
    assert_eq!(server.connections(), 2);
    assert_eq!(s.connect_failures(), 0);
}

#[tokio::test]
async fn large_bodies_are_counted_but_truncated() {
    let server = serve(router()).await;
    let c = client(ClientConfig {
        max_body_bytes: 1000,
        ..config()
    });
    let mut s = c.session(&server.url("http"));
    for target in ["/big", "/chunked"] {
        let r = get(&mut s, target).await.unwrap();
        assert_eq!(r.body_len, BIG as u64, "{target}");
        assert_eq!(r.body.len(), 1000, "{target}");
    }
    // Multi-frame bodies below the cap are kept whole.
    let c = client(config());
    let mut s2 = c.session(&server.url("http"));
    let r = get(&mut s2, "/chunked").await.unwrap();
    assert_eq!(r.body.len(), BIG);
    assert!(r.body.iter().all(|&b| b == b'y'));
    // Reading to the end kept the connection usable.
    get(&mut s, "/").await.unwrap();
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn absolute_targets_go_to_their_own_origin() {
    let a = serve(router()).await;
    let b = serve(router()).await;
    let mut s = client(config()).session(&a.url("http"));
    let r = get(&mut s, &format!("http://{}/echo", b.addr))
        .await
        .unwrap();
    assert_eq!(r.headers["x-host"], b.addr.to_string().as_str());
    get(&mut s, "/").await.unwrap();
    assert_eq!((a.connections(), b.connections()), (1, 1));
}

#[tokio::test]
async fn unusable_base_fails_relative_targets_only() {
    let server = serve(router()).await;
    let c = client(config());
    let base = url::Url::parse("mailto:someone@example.com").unwrap();
    assert!(c.try_session(&base).is_err());
    let mut s = c.session(&base);
    let err = get(&mut s, "/").await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidTarget(_)));
    assert_eq!(err.reason(), "invalid url");
    get(&mut s, &format!("http://{}/", server.addr))
        .await
        .unwrap();
}

#[tokio::test]
async fn base_path_prefixes_targets() {
    let server = serve(router()).await;
    let base = url::Url::parse(&format!("http://{}/echo", server.addr)).unwrap();
    let mut s = support::client(config()).session(&base);
    // `/` becomes `/echo/`, not a route: the 404 shows the prefix was applied.
    let r = get(&mut s, "/").await.unwrap();
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
