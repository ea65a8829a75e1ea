//! Local test servers (127.0.0.1, port 0) and a self-signed PKI for the client tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::client::{Client, ClientConfig};

/// Size of `/big` and `/chunked` bodies.
pub(super) const BIG: usize = 100_000;

/// A running test server; stops accepting when dropped.
pub(super) struct Server {
    pub(super) addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Server {
    /// TCP connections accepted so far.
    pub(super) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub(super) fn url(&self, scheme: &str) -> url::Url {
        url::Url::parse(&format!("{scheme}://{}/", self.addr)).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client config with short, test-friendly bounds.
pub(super) fn config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(3),
        default_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    }
}

pub(super) fn client(config: ClientConfig) -> Client {
    Client::new(config).unwrap()
}

/// The routes the tests use.
pub(super) fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/echo", any(echo))
        .route(
            "/sleep",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { vec![b'x'; BIG] }))
        .route("/chunked", get(chunked))
        .route(
            "/see-other",
            any(|| redirect(StatusCode::SEE_OTHER, "/echo")),
        )
        .route(
            "/temporary",
            any(|| redirect(StatusCode::TEMPORARY_REDIRECT, "/echo")),
        )
        .route(
            "/found-relative",
            any(|| redirect(StatusCode::FOUND, "echo")),
        )
        .route("/loop", any(|| redirect(StatusCode::FOUND, "/loop")))
        .route("/to", any(to))
        .route(
            "/set-cookie",
            get(|| async { ([(header::SET_COOKIE, "sid=abc; Path=/")], "set") }),
        )
        .route(
            "/login",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [
                        (header::SET_COOKIE, "session=1; Path=/"),
                        (header::LOCATION, "/echo"),
                    ],
                )
            }),
        )
}

/// Answers with the request's body, and its interesting headers as `x-*` response headers.
async fn echo(method: Method, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let mut out = HeaderMap::new();
    out.insert("x-method", HeaderValue::from_str(method.as_str()).unwrap());
    for (from, to) in [
        (header::COOKIE, "x-cookie"),
        (header::HOST, "x-host"),
        (header::CONTENT_LENGTH, "x-content-length"),
        (header::CONTENT_TYPE, "x-content-type"),
        (header::ACCEPT_ENCODING, "x-accept-encoding"),
        (header::AUTHORIZATION, "x-authorization"),
    ] {
        if let Some(v) = headers.get(from) {
            out.insert(to, v.clone());
        }
    }
    (out, body)
}

async fn redirect(status: StatusCode, location: &'static str) -> impl IntoResponse {
    (status, [(header::LOCATION, location)])
}

/// `302` to the absolute URL in `?url=`.
async fn to(Query(q): Query<std::collections::HashMap<String, String>>) -> impl IntoResponse {
    let location = q.get("url").cloned().unwrap_or_default();
    (StatusCode::FOUND, [(header::LOCATION, location)])
}

/// `BIG` bytes in ten frames.
async fn chunked() -> Body {
    let chunks = (0..10).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'y'; BIG / 10])));
    Body::from_stream(futures_util::stream::iter(chunks))
}

/// Serves `router` over plain HTTP/1.1.
pub(super) async fn serve(router: Router) -> Server {
    serve_with(router, None).await
}

/// Serves `router` over TLS (ALPN `h2` and `http/1.1`).
pub(super) async fn serve_tls(router: Router, pki: &Pki) -> Server {
    serve_with(router, Some(pki.acceptor())).await
}

async fn serve_with(router: Router, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let service = TowerToHyperService::new(router.clone());
            let tls = tls.clone();
            tokio::spawn(async move {
                let builder = auto::Builder::new(TokioExecutor::new());
                match tls {
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                }
            });
        }
    });
    Server {
        addr,
        connections,
        task,
    }
}

/// How a raw HTTP/1.1 server treats the n-th request (0-based) on each connection.
#[derive(Clone, Copy)]
pub(super) enum Script {
    /// Answer the first request, then close the connection (keep-alive not announced as
    /// ending: the client only learns it from the FIN).
    CloseAfterFirst,
    /// Answer the first request; on the second, close without answering.
    DropSecond,
    /// Close every connection as soon as a request arrived, without answering.
    DropAll,
    /// Accept and never say anything (a TLS handshake never completes).
    Silent,
}

/// A raw TCP server following `script`, for misbehaviour axum/hyper would not produce.
pub(super) async fn serve_raw(script: Script) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(raw_connection(stream, script));
        }
    });
    Server {
        addr,
        connections,
        task,
    }
}

async fn raw_connection(mut stream: TcpStream, script: Script) {
    if let Script::Silent = script {
        // Hold the socket open (bounded) without a word.
        tokio::time::sleep(Duration::from_secs(10)).await;
        return;
    }
    let mut served = 0usize;
    loop {
        if !read_request_head(&mut stream).await {
            return;
        }
        let answer = match script {
            Script::CloseAfterFirst => served == 0,
            Script::DropSecond => served == 0,
            Script::DropAll | Script::Silent => false,
        };
        if !answer {
            return; // drop: FIN without a response
        }
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await;
        served += 1;
        if let Script::CloseAfterFirst = script {
            return;
        }
    }
}

/// Reads one request head (requests in these tests have no body). False on EOF/error.
async fn read_request_head(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return false;
        }
    }
    true
}

/// A test CA and a server certificate for 127.0.0.1 and localhost signed by it.
pub(super) struct Pki {
    pub(super) ca_pem: String,
    leaf: CertificateDer<'static>,
    key: Vec<u8>,
}

impl Pki {
    pub(super) fn new() -> Pki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "cicada test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        Pki {
            ca_pem: ca_cert.pem(),
            leaf: leaf.der().clone(),
            key: leaf_key.serialize_der(),
        }
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf.clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

/// A file in the temp dir, removed when dropped.
pub(super) struct TempFile(pub(super) std::path::PathBuf);

impl TempFile {
    pub(super) fn new(name: &str, contents: &str) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("cicada-client-{}-{n}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
