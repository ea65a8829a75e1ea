//! HTTPS: certificate checks, the insecure mode, a CA file, HTTP/2 by ALPN, connect timeout.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Version};

use super::support::{Pki, Script, TempFile, client, config, router, serve_raw, serve_tls};
use crate::client::{ClientConfig, ClientError, TimeoutPhase};

fn insecure(http2: bool) -> ClientConfig {
    ClientConfig {
        insecure: true,
        http2,
        ..config()
    }
}

#[tokio::test]
async fn insecure_accepts_a_certificate_nobody_vouches_for() {
    let pki = Pki::new();
    let server = serve_tls(router(), &pki).await;
    let mut s = client(insecure(false)).session(&server.url("https"));
    for _ in 0..3 {
        let r = s
            .send(Method::GET, "/", HeaderMap::new(), Bytes::new(), None)
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.version, Version::HTTP_11);
        assert_eq!(r.body, "hello");
    }
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn unknown_issuer_fails_verification() {
    let pki = Pki::new();
    let server = serve_tls(router(), &pki).await;
    let mut s = client(config()).session(&server.url("https"));
    let err = s
        .send(Method::GET, "/", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
    assert_eq!(err.reason(), "tls certificate invalid");
    assert!(err.is_connect());
    assert_eq!(s.connect_failures(), 1);
}

#[tokio::test]
async fn ca_file_makes_the_test_ca_trusted() {
    let pki = Pki::new();
    let server = serve_tls(router(), &pki).await;
    let ca = TempFile::new("ca.pem", &pki.ca_pem);
    let c = client(ClientConfig {
        ca_file: Some(ca.0.clone()),
        ..config()
    });
    // Verified against the IP address SAN (tests stay on 127.0.0.1: no name lookups).
    let mut s = c.session(&server.url("https"));
    let r = s
        .send(Method::GET, "/", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(r.body, "hello");
}

#[tokio::test]
async fn alpn_negotiates_http2() {
    let pki = Pki::new();
    let server = serve_tls(router(), &pki).await;
    let mut s = client(insecure(true)).session(&server.url("https"));
    for _ in 0..3 {
        let r = s
            .send(Method::GET, "/", HeaderMap::new(), Bytes::new(), None)
            .await
            .unwrap();
        assert_eq!(r.version, Version::HTTP_2);
        assert_eq!(r.body, "hello");
    }
    let r = s
        .send(
            Method::POST,
            "/echo",
            HeaderMap::new(),
            Bytes::from_static(b"over h2"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.body, "over h2");
    assert_eq!(r.headers["x-method"], "POST");
    // Cookies and redirects work the same over HTTP/2.
    let r = s
        .send(Method::GET, "/login", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(r.redirects, 1);
    assert_eq!(r.headers["x-cookie"], "session=1");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn tls_handshake_that_never_ends_is_a_connect_timeout() {
    let server = serve_raw(Script::Silent).await;
    let c = client(ClientConfig {
        connect_timeout: Duration::from_millis(200),
        ..insecure(true)
    });
    let mut s = c.session(&server.url("https"));
    let err = s
        .send(Method::GET, "/", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout(TimeoutPhase::Connect)),
        "{err:?}"
    );
    assert_eq!(err.reason(), "connect timeout");
    assert!(err.is_connect() && err.is_timeout());
    assert_eq!(s.connect_failures(), 1);
}
