//! The per-user HTTP session of the load generator.
//!
//! Every simulated user (a tokio task; thousands per process) owns one [`HttpSession`]: its own
//! keep-alive connection, its own cookie jar, and its redirect handling, like a browser tab or a
//! Locust `HttpUser`. What is shared between users is only the immutable [`Client`]: the TLS
//! configuration (one `Arc<rustls::ClientConfig>`, so certificate roots are parsed once) and the
//! settings.
//!
//! # Design
//! The session owns its connection directly, not through a pooled client: a user has exactly
//! one connection under its control, so the statistics show what one real user would see (a
//! reconnect is a user-visible cost), and no pool or lock is shared between users on the hot
//! path. HTTP/1.1 is our own lean connection, driven by the user's task itself (no connection
//! task, no channel: one wake-up per response, a few KiB per idle connection); HTTP/2 (ALPN
//! `h2` over TLS) uses hyper's connection API.
//! - [`connect`]: DNS + TCP + TLS (ALPN picks HTTP/2 or HTTP/1.1) + the HTTP/2 handshake; an
//!   HTTP/2 connection future runs in its own tokio task, the session keeps the `SendRequest`.
//! - [`h1`]: the HTTP/1.1 connection (request writing, response reading, keep-alive);
//!   [`h1_parse`]: its response parser (head, framing, chunked coding), free of I/O.
//! - [`session`]: one request = resolve the target, (re)connect lazily, send, read the body,
//!   follow redirects; the transparent retry of the HTTP/1.1 keep-alive race lives there.
//! - [`hop`]: what one hop sends (the added fields, headers rebuilt for redirects and retries)
//!   and the redirect rule.
//! - [`body`]: reads a response body while counting every byte but keeping at most a cap.
//! - [`cookies`]: the per-user jar with caps (a server must not be able to grow it forever).
//! - [`origin`]: scheme/host/port parsed once per base URL, and target resolution.
//! - [`tls`]: the rustls configuration, including the loud `insecure` verifier.
//! - [`error`]: typed errors with short, bounded-cardinality reasons for statistics.
//!
//! # Time
//! Latency is measured with `std::time::Instant` (the real monotonic clock; this is the
//! documented exception to "use tokio's clock"): a paused tokio clock in a test must not turn
//! real network latency into zero. Timeouts use tokio timers, as they must cancel futures.

mod body;
mod connect;
mod cookies;
mod error;
mod h1;
mod h1_parse;
mod hop;
mod origin;
mod session;
mod tls;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::{ClientBuildError, ClientError, TimeoutPhase};
pub use session::{HttpSession, Response, Timing};

/// Settings shared by every session of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Bound on establishing a connection: DNS + TCP + TLS + HTTP handshake (default 10 s).
    pub connect_timeout: Duration,
    /// Bound on a whole request when the caller gives none: connect, all redirect hops and the
    /// response body (default 60 s).
    pub default_timeout: Duration,
    /// **Accept any server certificate** (self-signed, expired, wrong host name).
    ///
    /// This disables the authentication of the target: use it only against test environments
    /// you control. Handshake signatures are still checked, but anyone on the path can
    /// impersonate the server. The engine should log a warning when it is on.
    pub insecure: bool,
    /// Extra trusted roots (PEM, one or more certificates), added to the bundled Mozilla roots;
    /// for cluster-internal CAs.
    pub ca_file: Option<PathBuf>,
    /// Redirects followed per request (default 5); 0 returns the 3xx response as it is.
    pub max_redirects: u8,
    /// Offer HTTP/2 in TLS ALPN (default true); plain `http://` always uses HTTP/1.1.
    pub http2: bool,
    /// Response bodies are read completely (their size is counted), but only the first
    /// `max_body_bytes` are kept in memory (default 16 MiB).
    pub max_body_bytes: usize,
    /// Most cookies one session keeps (default 128): a server that sets ever new cookie names
    /// must not grow a week-long session without bound. Updates of known cookies always pass.
    pub max_cookies: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(10),
            default_timeout: Duration::from_secs(60),
            insecure: false,
            ca_file: None,
            max_redirects: 5,
            http2: true,
            max_body_bytes: 16 * 1024 * 1024,
            max_cookies: 128,
        }
    }
}

/// What every session shares: the settings and the TLS configuration. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Shared>,
}

/// The immutable state behind [`Client`].
struct Shared {
    config: ClientConfig,
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the shared TLS configuration (reading `ca_file` if set).
    pub fn new(config: ClientConfig) -> Result<Client, ClientBuildError> {
        let tls = tls::build(&config)?;
        if config.insecure {
            tracing::warn!(
                "TLS certificate verification is DISABLED (insecure): any server can \
                 impersonate the target"
            );
        }
        Ok(Client {
            inner: Arc::new(Shared {
                config,
                tls: tokio_rustls::TlsConnector::from(tls),
            }),
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A new session (no connection yet, empty cookie jar) whose relative targets resolve
    /// against `base`.
    ///
    /// An unusable base (not http/https, no host) does not fail here: every request with a
    /// relative target then fails with [`ClientError::InvalidTarget`], and absolute targets still
    /// work. Use [`Client::try_session`] to check it up front.
    pub fn session(&self, base: &url::Url) -> HttpSession {
        HttpSession::new(self.clone(), base)
    }

    /// Like [`Client::session`], but rejects a base URL that cannot be used.
    pub fn try_session(&self, base: &url::Url) -> Result<HttpSession, ClientError> {
        let session = HttpSession::new(self.clone(), base);
        session.check_base()?;
        Ok(session)
    }
}
