//! A recording HTTP server for tests.
//!
//! Every request is recorded (method, path, query, headers, body) before it is answered.
//! Answers: `POST /api/v1/auth/login` returns a token (`tok-N`), `/status/NNN` returns that
//! status, anything else returns `{"data": {"id": "id-N"}}` with status 200 (201 for POST).
//! The [`Mode`] switches the whole server to 500s or to dropping connections.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Requests kept; beyond it only the count grows (tests are bounded, this is a safety net).
const MAX_RECORDS: usize = 2_000_000;

/// How the server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Normal answers.
    Normal = 0,
    /// Every request gets 500.
    Fail500 = 1,
    /// Every connection is dropped (open ones at once, new ones on accept).
    Close = 2,
}

/// One received request.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The method.
    pub method: Method,
    /// The path without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

#[derive(Default)]
struct Shared {
    records: Mutex<Vec<Recorded>>,
    count: AtomicU64,
    mode: AtomicU8,
    connections: AtomicU64,
}

/// A recording server on 127.0.0.1 (see the module docs).
pub struct RecordingServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Connection tasks, shared with the accept loop so they can all be aborted.
    conn_tasks: Option<Arc<Mutex<JoinSet<()>>>>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl RecordingServer {
    /// Starts on a port chosen by the OS.
    pub async fn start() -> std::io::Result<RecordingServer> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let mut server = RecordingServer {
            addr,
            shared: Arc::new(Shared::default()),
            conn_tasks: None,
            accept: None,
        };
        server.serve(listener);
        Ok(server)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches how requests are answered.
    pub fn set_mode(&mut self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
        if mode == Mode::Close {
            // Drop the open keep-alive connections too.
            if let Some(tasks) = &self.conn_tasks {
                tasks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .abort_all();
            }
        }
    }

    /// Requests received so far (including ones past the record cap).
    pub fn count(&self) -> u64 {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// A copy of the recorded requests.
    pub fn records(&self) -> Vec<Recorded> {
        self.shared
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops listening and drops every connection: clients get "connection refused".
    pub fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        if let Some(tasks) = self.conn_tasks.take() {
            tasks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .abort_all();
        }
    }

    /// Listens again on the same port (after [`RecordingServer::stop`]).
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        // The aborted accept task may need a moment to release the socket.
        let mut last_error = None;
        for _ in 0..50 {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    self.serve(listener);
                    return Ok(());
                }
                Err(e) => {
                    last_error = Some(e);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("cannot rebind")))
    }

    fn serve(&mut self, listener: TcpListener) {
        let shared = self.shared.clone();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        // Connection tasks live in a set shared with the accept loop, so `set_mode(Close)` and
        // `stop` can abort them all.
        let tasks = Arc::new(Mutex::new(JoinSet::new()));
        let accept_tasks = tasks.clone();
        self.accept = Some(tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                if shared.mode.load(Ordering::SeqCst) == Mode::Close as u8 {
                    drop(socket);
                    continue;
                }
                let service = TowerToHyperService::new(app.clone());
                let mut set = accept_tasks.lock().unwrap_or_else(PoisonError::into_inner);
                // Reap finished connections so the set stays small.
                while set.try_join_next().is_some() {}
                set.spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        }));
        self.conn_tasks = Some(tasks);
    }
}

impl Drop for RecordingServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let n = shared.count.fetch_add(1, Ordering::SeqCst) + 1;
    {
        let mut records = shared
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if records.len() < MAX_RECORDS {
            records.push(Recorded {
                method: parts.method.clone(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().map(str::to_string),
                headers: parts.headers.clone(),
                body,
            });
        }
    }
    match shared.mode.load(Ordering::SeqCst) {
        m if m == Mode::Fail500 as u8 => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "injected failure").into_response();
        }
        _ => {}
    }
    let path = parts.uri.path();
    if let Some(code) = path.strip_prefix("/status/") {
        let status = code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        return (status, "").into_response();
    }
    let json = |status: StatusCode, value: serde_json::Value| {
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            value.to_string(),
        )
            .into_response()
    };
    if parts.method == Method::POST && path == "/api/v1/auth/login" {
        return json(
            StatusCode::OK,
            serde_json::json!({"success": true, "data": {"token": format!("tok-{n}")}}),
        );
    }
    let status = if parts.method == Method::POST {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json(
        status,
        serde_json::json!({"success": true, "data": {"id": format!("id-{n}")}}),
    )
}
