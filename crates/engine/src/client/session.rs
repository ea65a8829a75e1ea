//! One simulated user's HTTP session: its connection, its cookies, redirects and timing.
//!
//! A request (`send`) goes: resolve the target → (re)connect lazily → send → read the body
//! → follow a redirect (back to "send") → done. All of it, connect and every redirect hop
//! included, runs against one deadline (the request timeout); connecting additionally has its
//! own bound. Any failure or timeout mid-request drops the connection: its state is unknown,
//! and the next request connects afresh.
//!
//! The only transparent retry is the HTTP/1.1 keep-alive race: the server closed an idle
//! connection just as we reused it. Then, once, on a reused connection only, the request is
//! re-sent on a fresh one if it was not sent at all, or if it is idempotent and the
//! connection closed before any response byte (the rule browsers and Go's net/http follow).
//! An HTTP/1.1 connection found closed before sending (its FIN already arrived), or left
//! mid-exchange by an abandoned request (a dropped future), is replaced the same way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HeaderMap;
use http::{Method, StatusCode, Version};
use hyper::body::Incoming;
use tokio::time::timeout_at;

use super::Client;
use super::body::{self, ReadBody};
use super::connect::{self, Conn, Proto};
use super::cookies::Jar;
use super::error::{ClientError, TimeoutPhase};
use super::h1::Progress;
use super::hop::{HeaderSource, Hop, h1_request, h2_request, redirect};
use super::origin::{self, Base, Origin, Target};

/// Longest timeout honoured (a larger one is clamped): keeps deadline arithmetic far from
/// `Instant` overflow.
const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status of the final response (after redirects).
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, truncated to `max_body_bytes`.
    pub body: Bytes,
    /// Bytes of body actually received, even beyond what `body` keeps.
    pub body_len: u64,
    /// How long it took.
    pub timing: Timing,
    /// Redirects followed to get here.
    pub redirects: u8,
    /// HTTP version of the final response.
    pub version: Version,
}

/// Durations of one request, all measured from the start of [`HttpSession::send`] with the
/// real monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Time spent establishing connections (DNS + TCP + TLS + handshake), summed over the
    /// hops that needed one; `None` when the request reused the session's connection.
    pub connect: Option<Duration>,
    /// Time to the final response's head (status and headers), connect and earlier redirect
    /// hops included (as the web-vitals TTFB).
    pub ttfb: Duration,
    /// Time to the end of the final body: what statistics record (as Locust does, a new
    /// connection's cost is part of the request).
    pub total: Duration,
}

/// One user's HTTP session. See the module docs.
pub struct HttpSession {
    client: Client,
    /// The base URL, or why it is unusable (then only absolute targets work).
    base: Result<Base, &'static str>,
    conn: Option<Conn>,
    jar: Jar,
    connect_failures: u32,
}

impl std::fmt::Debug for HttpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSession")
            .field("connected", &self.conn.is_some())
            .field("connect_failures", &self.connect_failures)
            .finish_non_exhaustive()
    }
}

/// A response head, and where its body is.
struct Head {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    body: BodySource,
}

/// Where the body of a response head is read from.
enum BodySource {
    /// The session's HTTP/1.1 connection.
    H1,
    /// hyper's HTTP/2 stream.
    H2(Incoming),
}

impl HttpSession {
    pub(crate) fn new(client: Client, base: &url::Url) -> HttpSession {
        let base = Base::new(base).map_err(|e| match e {
            ClientError::InvalidTarget(why) => why,
            _ => "unusable base url",
        });
        let jar = Jar::new(client.inner.config.max_cookies);
        HttpSession {
            client,
            base,
            conn: None,
            jar,
            connect_failures: 0,
        }
    }

    /// `Err` if the base URL is unusable.
    pub(crate) fn check_base(&self) -> Result<(), ClientError> {
        self.base
            .as_ref()
            .map(|_| ())
            .map_err(|why| ClientError::InvalidTarget(why))
    }

    /// Consecutive failed connection attempts (0 after a success). The engine uses it for
    /// backoff.
    pub fn connect_failures(&self) -> u32 {
        self.connect_failures
    }

    /// Drops the connection (e.g. when the user stops). Cookies are kept.
    pub fn close(&mut self) {
        self.conn = None;
    }

    /// Whether the session currently holds a connection.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Sends one request and reads its response, following redirects.
    ///
    /// `target` is either a path-and-query (`/a?b=1`, appended to the base URL's path) or an
    /// absolute `http(s)` URL (another origin gets its own connection, replacing the current
    /// one). `timeout` (default: the client's `default_timeout`) bounds everything: connect,
    /// all hops and the bodies. `Host`, `Content-Length` and matching cookies are added;
    /// `Accept-Encoding` is not (the caller decides).
    ///
    /// Cost note: an HTTP/1.1 hop writes the caller's `headers` by reference (a retry after
    /// the keep-alive race writes them again); a redirect hop builds its own filtered copy, and
    /// an HTTP/2 hop hands hyper a clone.
    pub async fn send(
        &mut self,
        method: Method,
        target: &str,
        headers: HeaderMap,
        body: Bytes,
        timeout: Option<Duration>,
    ) -> Result<Response, ClientError> {
        self.send_from(Instant::now(), method, target, headers, body, timeout)
            .await
    }

    /// [`HttpSession::send`], timed (and its timeout counted) from `started`, an instant the
    /// caller has just read: the engine reads the clock once per request, not twice.
    pub(crate) async fn send_from(
        &mut self,
        started: Instant,
        method: Method,
        target: &str,
        headers: HeaderMap,
        body: Bytes,
        timeout: Option<Duration>,
    ) -> Result<Response, ClientError> {
        let config = &self.client.inner.config;
        let (max_redirects, cap) = (config.max_redirects, config.max_body_bytes);
        let timeout = timeout.unwrap_or(config.default_timeout).min(MAX_TIMEOUT);
        let deadline = tokio::time::Instant::from_std(started) + timeout;
        let target = self.resolve(target)?;
        let first_origin = target.origin.clone();
        let mut source = HeaderSource {
            template: &headers,
            cross_origin: false,
            body_dropped: false,
        };
        let mut hop = Hop {
            method,
            target,
            body,
        };
        // The first hop sends the caller's headers as they are; a redirect hop, a rebuilt copy.
        let mut rebuilt: Option<HeaderMap> = None;
        let mut connect = None;
        let mut redirects = 0u8;
        loop {
            let hop_headers = rebuilt.as_ref().unwrap_or(&headers);
            let head = self
                .exchange(&hop, hop_headers, deadline, &mut connect)
                .await?;
            let ttfb = started.elapsed();
            if Jar::has_set_cookie(&head.headers) {
                self.jar.store_from(&head.headers, &hop.target.url());
            }
            let next = if max_redirects > 0 {
                redirect(head.status, &head.headers, &hop.target)
            } else {
                None
            };
            let Some((status, next_target)) = next else {
                let read = self.read_body(head.body, cap, deadline).await?;
                return Ok(Response {
                    status: head.status,
                    headers: head.headers,
                    body: read.kept,
                    body_len: read.len,
                    timing: Timing {
                        connect,
                        ttfb,
                        total: started.elapsed(),
                    },
                    redirects,
                    version: head.version,
                });
            };
            // Drain the redirect's body so the connection can serve the next hop.
            self.read_body(head.body, 0, deadline).await?;
            if redirects >= max_redirects {
                return Err(ClientError::TooManyRedirects);
            }
            redirects += 1;
            if matches!(status.as_u16(), 301..=303) {
                // Like browsers and Go: POST (anything but HEAD) becomes a body-less GET.
                if hop.method != Method::HEAD {
                    hop.method = Method::GET;
                }
                hop.body = Bytes::new();
                source.body_dropped = true;
            }
            source.cross_origin = !next_target.origin.same(&first_origin);
            rebuilt = Some(source.build());
            hop.target = next_target;
        }
    }

    /// Resolves a target against the base (or as an absolute URL without a usable base).
    fn resolve(&self, target: &str) -> Result<Target, ClientError> {
        match &self.base {
            Ok(base) => base.resolve(target),
            Err(why) => {
                origin::resolve_absolute(target).map_err(|_| ClientError::InvalidTarget(why))
            }
        }
    }

    /// One hop: get a usable connection, send, return the response head. Handles the
    /// keep-alive race (see module docs).
    async fn exchange(
        &mut self,
        hop: &Hop,
        headers: &HeaderMap,
        deadline: tokio::time::Instant,
        connect: &mut Option<Duration>,
    ) -> Result<Head, ClientError> {
        let mut retried = false;
        loop {
            self.connect_to(&hop.target.origin, deadline, connect)
                .await?;
            // Field borrows (not a method) so `self.jar` stays readable below.
            let Some(conn) = self.conn.as_mut() else {
                return Err(ClientError::ConnectionClosed);
            };
            let reused = conn.reused;
            let (error, retry) = match &mut conn.proto {
                Proto::H1(h1) => {
                    // Busy: an earlier request was abandoned mid-way (its future dropped).
                    // Closed while idle: server timeout or `Connection: close` we had not seen.
                    if !h1.is_idle() || (reused && h1.peer_closed()) {
                        (ClientError::ConnectionClosed, true)
                    } else {
                        let request = h1_request(hop, headers, &self.jar);
                        match timeout_at(deadline, h1.send(&request)).await {
                            Err(_) => {
                                return Err(self.fail(ClientError::Timeout(TimeoutPhase::Request)));
                            }
                            Ok(Ok(head)) => {
                                return Ok(Head {
                                    status: head.status,
                                    version: head.version,
                                    headers: head.headers,
                                    body: BodySource::H1,
                                });
                            }
                            Ok(Err(e)) => {
                                // Not sent at all, or an idempotent request that got no
                                // response byte before the connection closed.
                                let retry = reused
                                    && match e.progress {
                                        Progress::NotSent => true,
                                        Progress::Sent => {
                                            matches!(e.error, ClientError::ConnectionClosed)
                                                && hop.method.is_idempotent()
                                        }
                                        Progress::Answered => false,
                                    };
                                (e.error, retry)
                            }
                        }
                    }
                }
                Proto::H2(h2) => {
                    match timeout_at(deadline, h2.sender.ready()).await {
                        Err(_) => {
                            return Err(self.fail(ClientError::Timeout(TimeoutPhase::Request)));
                        }
                        // Closed while idle (server timeout, GOAWAY): reconnect.
                        Ok(Err(_)) => (ClientError::ConnectionClosed, reused),
                        Ok(Ok(())) => {
                            let request = h2_request(hop, headers.clone(), &self.jar)?;
                            match timeout_at(deadline, h2.sender.try_send_request(request)).await {
                                Err(_) => {
                                    return Err(
                                        self.fail(ClientError::Timeout(TimeoutPhase::Request))
                                    );
                                }
                                Ok(Ok(response)) => {
                                    let (parts, incoming) = response.into_parts();
                                    return Ok(Head {
                                        status: parts.status,
                                        version: parts.version,
                                        headers: parts.headers,
                                        body: BodySource::H2(incoming),
                                    });
                                }
                                Ok(Err(mut err)) => {
                                    let unsent = err.take_message().is_some();
                                    let error = ClientError::from_hyper(err.into_error());
                                    let retry = reused
                                        && (unsent
                                            || (matches!(error, ClientError::ConnectionClosed)
                                                && hop.method.is_idempotent()));
                                    (error, retry)
                                }
                            }
                        }
                    }
                }
            };
            self.conn = None;
            if retry && !retried {
                retried = true;
                continue;
            }
            return Err(error);
        }
    }

    /// Makes sure `self.conn` is a connection to `origin`, connecting if there is none (or one
    /// to another origin).
    async fn connect_to(
        &mut self,
        origin: &Arc<Origin>,
        deadline: tokio::time::Instant,
        connect: &mut Option<Duration>,
    ) -> Result<(), ClientError> {
        let usable = self
            .conn
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(&c.origin, origin) || c.origin.same(origin));
        if !usable {
            // Drop the old connection before opening the new one: one socket per user.
            self.conn = None;
            let config = &self.client.inner.config;
            let limit =
                deadline.min(tokio::time::Instant::now() + config.connect_timeout.min(MAX_TIMEOUT));
            let started = Instant::now();
            // Boxed: the TLS handshake state is large and rare; inline it would sit in every
            // user's task for every request (the send future would be ~5x bigger).
            let connecting = Box::pin(connect::connect(origin, &self.client.inner.tls));
            let result = timeout_at(limit, connecting).await;
            *connect = Some(connect.unwrap_or_default() + started.elapsed());
            let result = result.unwrap_or(Err(ClientError::Timeout(TimeoutPhase::Connect)));
            match result {
                Ok(conn) => {
                    self.connect_failures = 0;
                    self.conn = Some(conn);
                }
                Err(e) => {
                    self.connect_failures = self.connect_failures.saturating_add(1);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Reads a body to its end under the deadline; marks the connection reusable after (or
    /// drops it when the response said it cannot be reused).
    async fn read_body(
        &mut self,
        source: BodySource,
        cap: usize,
        deadline: tokio::time::Instant,
    ) -> Result<ReadBody, ClientError> {
        let read = match (source, self.conn.as_mut().map(|c| &mut c.proto)) {
            (BodySource::H1, Some(Proto::H1(h1))) => timeout_at(deadline, h1.read_body(cap)).await,
            (BodySource::H2(incoming), _) => timeout_at(deadline, body::read_capped(incoming, cap))
                .await
                .map(|r| r.map_err(ClientError::from_hyper)),
            (BodySource::H1, _) => Ok(Err(ClientError::ConnectionClosed)),
        };
        match read {
            Ok(Ok(read)) => {
                if let Some(conn) = &mut self.conn {
                    if conn.keeps_alive() {
                        conn.reused = true;
                    } else {
                        // One socket per user: do not keep a spent one open.
                        self.conn = None;
                    }
                }
                Ok(read)
            }
            Ok(Err(e)) => Err(self.fail(e)),
            Err(_) => Err(self.fail(ClientError::Timeout(TimeoutPhase::Request))),
        }
    }

    /// Drops the connection (its state is unknown after a failure) and passes `e` on.
    fn fail(&mut self, e: ClientError) -> ClientError {
        self.conn = None;
        e
    }
}
