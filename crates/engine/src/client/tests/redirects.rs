//! Redirects and cookies.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::support::{client, config, router, serve};
use crate::client::{ClientConfig, ClientError};

fn form_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    h
}

#[tokio::test]
async fn see_other_turns_a_post_into_a_bodyless_get() {
    let server = serve(router()).await;
    let mut s = client(config()).session(&server.url("http"));
    let r = s
        .send(
            Method::POST,
            "/see-other",
            form_headers(),
            Bytes::from_static(b"a=1"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.redirects, 1);
    assert_eq!(r.headers["x-method"], "GET");
    assert!(!r.headers.contains_key("x-content-type"));
    assert!(!r.headers.contains_key("x-content-length"));
    assert!(r.body.is_empty());
    // Both hops used the one keep-alive connection.
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn temporary_redirect_keeps_method_and_body() {
    let server = serve(router()).await;
    let mut s = client(config()).session(&server.url("http"));
    let r = s
        .send(
            Method::POST,
            "/temporary",
            form_headers(),
            Bytes::from_static(b"a=1"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.redirects, 1);
    assert_eq!(r.headers["x-method"], "POST");
    assert_eq!(
        r.headers["x-content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(r.body, "a=1");
}

#[tokio::test]
async fn relative_locations_resolve_against_the_current_url() {
    let server = serve(router()).await;
    let mut s = client(config()).session(&server.url("http"));
    let r = s
        .send(
            Method::GET,
            "/found-relative",
            HeaderMap::new(),
            Bytes::new(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.redirects, 1);
    assert_eq!(r.headers["x-method"], "GET");
}

#[tokio::test]
async fn redirect_limits() {
    let server = serve(router()).await;
    let c = client(ClientConfig {
        max_redirects: 3,
        ..config()
    });
    let mut s = c.session(&server.url("http"));
    let err = s
        .send(Method::GET, "/loop", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::TooManyRedirects));
    assert_eq!(err.reason(), "too many redirects");
    // The session is still fine (the redirect bodies were drained).
    s.send(Method::GET, "/", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(server.connections(), 1);

    // 0 = do not follow: the 3xx comes back as it is.
    let c = client(ClientConfig {
        max_redirects: 0,
        ..config()
    });
    let mut s = c.session(&server.url("http"));
    let r = s
        .send(Method::GET, "/loop", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(r.headers[header::LOCATION], "/loop");
    assert_eq!(r.redirects, 0);
}

#[tokio::test]
async fn cookies_round_trip_including_redirect_hops() {
    let server = serve(router()).await;
    let mut s = client(config()).session(&server.url("http"));
    let r = s
        .send(Method::GET, "/echo", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap();
    assert!(!r.headers.contains_key("x-cookie"));
    s.send(
        Method::GET,
        "/set-cookie",
        HeaderMap::new(),
        Bytes::new(),
        None,
    )
    .await
    .unwrap();
    let r = s
        .send(Method::GET, "/echo", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(r.headers["x-cookie"], "sid=abc");

    // A cookie set by a redirect response is sent on the next hop.
    let mut s = client(config()).session(&server.url("http"));
    let r = s
        .send(Method::GET, "/login", HeaderMap::new(), Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(r.redirects, 1);
    assert_eq!(r.headers["x-cookie"], "session=1");
}

#[tokio::test]
async fn cross_origin_redirects_drop_credentials() {
    let a = serve(router()).await;
    let b = serve(router()).await;
    let mut s = client(config()).session(&a.url("http"));
    let mut h = HeaderMap::new();
    h.insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer secret"),
    );
    let target = format!("/to?url=http://{}/echo", b.addr);
    let r = s
        .send(Method::GET, &target, h.clone(), Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(r.redirects, 1);
    assert_eq!(r.headers["x-host"], b.addr.to_string().as_str());
    assert!(!r.headers.contains_key("x-authorization"));

    // Same-origin redirects keep them.
    let target = format!("/to?url=http://{}/echo", a.addr);
    let r = s
        .send(Method::GET, &target, h, Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(r.headers["x-authorization"], "Bearer secret");
}
