//! What a running user sees: its HTTP session, its RNG, cancellable sleeps, and requests that
//! measure and record themselves.
//!
//! Stopping has two speeds, and this is where the faster one is enforced. The engine cancels a
//! user's `stop` token when the whole run stops (SIGTERM, Stop in the UI): from then on every
//! [`Context::sleep`] returns at once and no new request is sent, so the user ends after the
//! request it is in (which is bounded by its timeout). A scale-down instead retires a user
//! between tasks (see [`crate::runner`]), which this module never sees.
//!
//! Secrets: each context keeps the secret values its user knows ([`Secrets`]): the credentials
//! of the secret headers it sent (`Authorization`, `Cookie`, `X-Api-Key`), the token given to
//! [`RequestBuilder::bearer`], and what the user adds ([`Context::add_secret`],
//! [`Context::learn_secrets`]). Every failure message is redacted with them (and scrubbed of
//! secret shapes) before it is recorded, so statistics, reports, the web UI and span exports
//! never carry a secret; so are the request log lines ([`crate::request_log`]).

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cicada_redact::Secrets;
use cicada_scenario::Wait;
use cicada_stats::{Failure, FailureKind, Recorder, RequestKey};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::client::{ClientError, HttpSession};
use crate::request_log::{self, RequestLine};
use crate::spans::{RequestOutcome, TaskOutcome};
use crate::timer_grid::TimerGrid;
use crate::trace::{TaskTrace, Tracer};
use crate::user::TaskError;

/// A user's execution context. Created by the engine, one per user.
pub struct Context {
    user_id: u64,
    session: HttpSession,
    recorder: Recorder,
    stop: CancellationToken,
    rng: SmallRng,
    backoff: Backoff,
    grid: TimerGrid,
    tracer: Tracer,
    /// Requests handed to the session so far (wrapping); lets the runner tell a task that failed
    /// before sending anything from one that sent requests.
    sent: u64,
    /// The secret values this user knows (see the module docs).
    secrets: Secrets,
    /// The generation of the set last given to [`Context::learn_secrets`].
    learned: Option<u64>,
}

/// A response as a user sees it, with the verdict the request was recorded with.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body (possibly truncated at the client's body cap).
    pub body: Bytes,
    /// Total latency as recorded (connect, if any, plus request and body).
    pub elapsed: Duration,
    /// `Some` when the request was counted as a failure.
    pub failure: Option<Failure>,
}

impl Response {
    /// True when the request was counted as a success.
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }

    /// Parses the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl Context {
    pub(crate) fn new(
        user_id: u64,
        session: HttpSession,
        recorder: Recorder,
        stop: CancellationToken,
        seed: u64,
        grid: TimerGrid,
        tracer: Tracer,
    ) -> Self {
        Context {
            user_id,
            session,
            recorder,
            stop,
            rng: SmallRng::seed_from_u64(seed ^ user_id.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            backoff: Backoff::default(),
            grid,
            tracer,
            sent: 0,
            secrets: Secrets::new(),
            learned: None,
        }
    }

    /// A task (or `on_start`/`on_stop`) begins: its requests get its `baggage` and, with
    /// per-task traces, a new trace id (and, when exporting, a task span opens).
    pub(crate) fn begin_task(&mut self, task: Option<Arc<TaskTrace>>) {
        self.tracer.begin_task(&mut self.rng, task);
    }

    /// The task begun last ended (exports its span when one is open).
    pub(crate) fn end_task(&mut self, outcome: TaskOutcome) {
        self.tracer.end_task(outcome);
    }

    /// Adds a secret value (a token, a password) this user knows: it is redacted from every
    /// failure message and log line of this user from now on. Values shorter than
    /// [`cicada_redact::MIN_SECRET_CHARS`] are ignored.
    pub fn add_secret(&mut self, value: &str) {
        self.secrets.add(value);
    }

    /// Adds every value of `secrets` (cheap when its generation has not changed since the last
    /// call: the YAML tier calls this before every step with its user's set). Which values stay
    /// for good follows `secrets` (this context pins nothing of its own), so after a scenario
    /// reload the old scenario's secrets become evictable here too.
    pub fn learn_secrets(&mut self, secrets: &Secrets) {
        if self.learned != Some(secrets.generation()) {
            self.secrets.unpin_all();
            self.secrets.extend(secrets);
            self.learned = Some(secrets.generation());
        }
    }

    /// The secret values this user knows.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// `text` with this user's secrets and secret shapes redacted (for messages the user
    /// reports or logs itself).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.secrets.redact(text)
    }

    /// The user type and task being run (`None` outside a task, e.g. an incident's extra
    /// request).
    pub fn task(&self) -> Option<&crate::trace::TaskTrace> {
        self.tracer.task()
    }

    /// Requests sent so far (wrapping counter).
    pub fn requests_sent(&self) -> u64 {
        self.sent
    }

    /// This user's id, unique within the process.
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// The user's random number generator (seeded per user).
    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// A uniform sample in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// True once the run is stopping: the user should end.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Sleeps, unless the run stops first. Long sleeps (think times) may end up to one timer
    /// grid step (50 ms) late, so that users due together wake together (see
    /// [`crate::timer_grid`]).
    pub async fn sleep(&mut self, duration: Duration) -> Result<(), TaskError> {
        if duration.is_zero() {
            return self.check_stop();
        }
        let deadline = self.grid.deadline(tokio::time::Instant::now(), duration);
        tokio::select! {
            biased;
            _ = self.stop.cancelled() => Err(TaskError::Stopped),
            _ = tokio::time::sleep_until(deadline) => Ok(()),
        }
    }

    /// Sleeps a think time drawn from `wait` (as between tasks, with no elapsed time).
    pub async fn think(&mut self, wait: &Wait) -> Result<(), TaskError> {
        let unit = self.unit();
        self.sleep(wait.delay(Duration::ZERO, unit)).await
    }

    fn check_stop(&self) -> Result<(), TaskError> {
        if self.stop.is_cancelled() {
            Err(TaskError::Stopped)
        } else {
            Ok(())
        }
    }

    /// Starts a request for the Rust tier: `cx.request(Method::GET, "/x").name("X").send()`.
    pub fn request(&mut self, method: Method, target: impl Into<String>) -> RequestBuilder<'_> {
        RequestBuilder {
            cx: self,
            method,
            target: target.into(),
            name: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            timeout: None,
            accept: Accept::Below400,
        }
    }

    /// `GET target`.
    pub fn get(&mut self, target: impl Into<String>) -> RequestBuilder<'_> {
        self.request(Method::GET, target)
    }

    /// `POST target`.
    pub fn post(&mut self, target: impl Into<String>) -> RequestBuilder<'_> {
        self.request(Method::POST, target)
    }

    /// `PUT target`.
    pub fn put(&mut self, target: impl Into<String>) -> RequestBuilder<'_> {
        self.request(Method::PUT, target)
    }

    /// `DELETE target`.
    pub fn delete(&mut self, target: impl Into<String>) -> RequestBuilder<'_> {
        self.request(Method::DELETE, target)
    }

    /// Sends one request, judges it, records it, and returns the response.
    ///
    /// This is the one place every request of both tiers goes through: it refuses to send once
    /// the run is stopping, pauses (capped exponential backoff) while the target refuses
    /// connections, measures, lets `judge` decide success (it may also read the response into
    /// user state), and records exactly one sample under `key`.
    ///
    /// A transport error (no response) is recorded and returned as [`TaskError::Aborted`].
    #[allow(clippy::too_many_arguments)]
    pub async fn exchange<J>(
        &mut self,
        key: &RequestKey,
        method: Method,
        target: &str,
        mut headers: HeaderMap,
        body: Bytes,
        timeout: Option<Duration>,
        judge: J,
    ) -> Result<Response, TaskError>
    where
        J: FnOnce(&Response) -> Result<(), Failure> + Send,
    {
        self.check_stop()?;
        let failures = self.session.connect_failures();
        if failures > 0 {
            let unit = self.unit();
            self.sleep(self.backoff.delay(failures, unit)).await?;
        }
        request_log::note_header_secrets(&headers, &mut self.secrets);
        // `Some` only when exporting spans and this request's trace is sampled.
        let span = self.tracer.apply(&mut self.rng, &mut headers);
        let log_method = self.sampled_for_log().then(|| method.clone());
        let started = Instant::now();
        self.sent = self.sent.wrapping_add(1);
        match self
            .session
            .send_from(started, method, target, headers, body, timeout)
            .await
        {
            Ok(r) => {
                let mut response = Response {
                    status: r.status,
                    headers: r.headers,
                    body: r.body,
                    elapsed: r.timing.total,
                    failure: None,
                };
                response.failure = judge(&response).err().map(|f| self.redacted(f));
                self.recorder
                    .record(key, response.elapsed, r.body_len, response.failure.as_ref());
                if let Some(method) = &log_method {
                    self.log_request(
                        key,
                        method,
                        target,
                        Some(response.status.as_u16()),
                        response.elapsed,
                        r.body_len,
                        response.failure.as_ref(),
                    );
                }
                if let (Some(ids), Some(export)) = (span, self.tracer.export()) {
                    let outcome = RequestOutcome::Response {
                        status: response.status.as_u16(),
                        failure: response.failure.as_ref(),
                    };
                    let task = self.tracer.task();
                    export.client_span(ids, task, key, target, response.elapsed, outcome);
                }
                Ok(response)
            }
            Err(e) => {
                let failure = transport_failure(&e);
                let elapsed = started.elapsed();
                self.recorder.record(key, elapsed, 0, Some(&failure));
                if let Some(method) = &log_method {
                    self.log_request(key, method, target, None, elapsed, 0, Some(&failure));
                }
                if let (Some(ids), Some(export)) = (span, self.tracer.export()) {
                    let outcome = RequestOutcome::Transport(&failure);
                    let task = self.tracer.task();
                    export.client_span(ids, task, key, target, elapsed, outcome);
                }
                Err(TaskError::Aborted(e.reason().to_string()))
            }
        }
    }

    /// Counts a request that could not even be built (e.g. a template failed) as a failure of
    /// its row, with no latency and no bytes.
    pub fn record_unsent(&mut self, key: &RequestKey, failure: &Failure) {
        let failure = self.redacted(failure.clone());
        self.recorder.record(key, Duration::ZERO, 0, Some(&failure));
    }

    /// The failure with its message redacted (the same `Arc` when there was nothing to hide).
    fn redacted(&self, failure: Failure) -> Failure {
        Failure {
            kind: failure.kind,
            message: self.secrets.redact_arc(&failure.message),
        }
    }

    /// Whether this request gets a log line (`--log-requests`): one comparison when off.
    fn sampled_for_log(&mut self) -> bool {
        let ratio = self.tracer.log_requests();
        ratio > 0.0 && (ratio >= 1.0 || self.rng.random::<f64>() < ratio)
    }

    #[allow(clippy::too_many_arguments)]
    fn log_request(
        &self,
        key: &RequestKey,
        method: &Method,
        target: &str,
        status: Option<u16>,
        elapsed: Duration,
        bytes: u64,
        failure: Option<&Failure>,
    ) {
        let line = RequestLine {
            key,
            method,
            target,
            status,
            elapsed,
            bytes,
            failure,
            user_id: self.user_id,
            task: self.tracer.task(),
            trace_id: self.tracer.trace_id(),
        };
        request_log::log(&line, &self.secrets);
    }

    /// Drops the user's connection (used when the user ends); a task span still open ends as
    /// stopped.
    pub(crate) fn close(&mut self) {
        self.tracer.end_task(TaskOutcome::Stopped);
        self.session.close();
    }
}

/// Maps a client error to a failure row: a coarse kind and a short, bounded reason.
fn transport_failure(e: &ClientError) -> Failure {
    let kind = if e.is_timeout() {
        FailureKind::Timeout
    } else if e.is_connect() {
        FailureKind::Connect
    } else {
        FailureKind::Protocol
    };
    Failure {
        kind,
        message: Arc::from(e.reason()),
    }
}

/// The method as the shared string statistics keys use; standard methods are not reallocated.
pub(crate) fn method_arc(method: &Method) -> Arc<str> {
    static STANDARD: LazyLock<Vec<(Method, Arc<str>)>> = LazyLock::new(|| {
        [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::HEAD,
            Method::OPTIONS,
        ]
        .into_iter()
        .map(|m| {
            let s = Arc::from(m.as_str());
            (m, s)
        })
        .collect()
    });
    STANDARD
        .iter()
        .find(|(m, _)| m == method)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| Arc::from(method.as_str()))
}

/// Which statuses a Rust-tier request accepts.
enum Accept {
    Below400,
    Statuses(Vec<u16>),
}

type Validator<'a> = Box<dyn FnOnce(&Response) -> Result<(), String> + Send + 'a>;

/// A request being built by Rust-tier code. Nothing is sent until [`RequestBuilder::send`].
pub struct RequestBuilder<'a> {
    cx: &'a mut Context,
    method: Method,
    target: String,
    name: Option<Arc<str>>,
    headers: HeaderMap,
    body: Bytes,
    timeout: Option<Duration>,
    accept: Accept,
}

impl<'a> RequestBuilder<'a> {
    /// The statistics row (default: the target as given; set a name for URLs with ids).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a header. Invalid names or values are ignored with a debug log.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => tracing::debug!(header = name, "ignored an invalid header"),
        }
        self
    }

    /// Adds `Authorization: Bearer <token>` (the token becomes one of the user's secrets).
    pub fn bearer(self, token: &str) -> Self {
        let value = format!("Bearer {token}");
        self.header("authorization", &value)
    }

    /// Sets a JSON body and its content type.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                self.body = Bytes::from(body);
                self.headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            Err(e) => tracing::debug!(error = %e, "could not serialise a JSON body"),
        }
        self
    }

    /// Sets a raw body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the request timeout (default: the client's).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Accepts exactly these statuses (default: any status below 400).
    pub fn expect_status(mut self, statuses: &[u16]) -> Self {
        self.accept = Accept::Statuses(statuses.to_vec());
        self
    }

    /// Sends the request and records it.
    pub async fn send(self) -> Result<Response, TaskError> {
        self.send_checked(|_| Ok(())).await
    }

    /// Sends the request; after the status is accepted, `validate` may still fail it with a
    /// message (Locust's `catch_response`). Keep messages free of ids and secrets: each distinct
    /// message is a row in the failures table.
    pub async fn send_checked<F>(self, validate: F) -> Result<Response, TaskError>
    where
        F: FnOnce(&Response) -> Result<(), String> + Send + 'a,
    {
        let RequestBuilder {
            cx,
            method,
            target,
            name,
            headers,
            body,
            timeout,
            accept,
        } = self;
        let key = RequestKey {
            method: method_arc(&method),
            // The default row name is the URL: never with a secret in it.
            name: name.unwrap_or_else(|| Arc::from(cx.secrets.redact(&target))),
        };
        let validate: Validator<'a> = Box::new(validate);
        let judge = move |r: &Response| -> Result<(), Failure> {
            let code = r.status.as_u16();
            let accepted = match &accept {
                Accept::Below400 => code < 400,
                Accept::Statuses(list) => list.contains(&code),
            };
            if !accepted {
                return Err(Failure {
                    kind: FailureKind::Status,
                    message: Arc::from(format!("HTTP {code}")),
                });
            }
            validate(r).map_err(|m| Failure {
                kind: FailureKind::Check,
                message: Arc::from(m),
            })
        };
        cx.exchange(&key, method, &target, headers, body, timeout, judge)
            .await
    }
}
