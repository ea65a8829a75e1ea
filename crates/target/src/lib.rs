//! The DynaClaimz stand-in: a faithful, fast, bounded imitation of the DynaClaimz API
//! gateway's contract (`dynaclaimz.md` section 4), so that the bundled scenarios and the demo
//! run against something real with no cluster. `cicada target` serves it; tests and
//! `cicada demo` use it in-process through [`serve`] or [`app`].
//!
//! # What it serves
//! The gateway's own routes (`/health`, `/`, Express-style 404s), the user-service (login,
//! register, verify, me, users, organizations; 30 seeded organizations, password
//! `password123`), and the policy, claims and quotes services with their filters, pagination,
//! state machines, history rows and quirks (money as strings, upper-case enums, validation
//! errors, no organization check on reads by id). Plus its own `/metrics` and a JSON access
//! log, and optional latency, error and rate-limit injection.
//!
//! # Layout
//! - [`config`]: settings; [`seed`]: the seeded organizations and users;
//! - [`store`]: the in-memory, bounded data (per-organization tables, an id index);
//! - [`routes`]: one module per service; [`envelope`]: response bodies and errors;
//!   [`validate`], [`query`], [`money`], [`time`]: the services' input and output rules;
//! - [`jwt`]: HS256 tokens;
//! - [`pipeline`]: what wraps every request (rate limit, latency, errors, metrics, log),
//!   with [`latency`], [`rate_limit`], [`access_log`], [`metrics`], and [`server_span`]
//!   (the incoming `traceparent`, and a server span per request with `--otel`).
//!
//! # Concurrency
//! Handlers are synchronous over the store (short `Mutex`/`RwLock` sections, never held
//! across an `.await`); the only awaits are the injected latency and the network. Nothing is
//! process-global: everything hangs off one [`AppState`], so tests run many servers side by
//! side.

pub mod access_log;
pub mod config;
pub mod envelope;
pub mod jwt;
pub mod latency;
pub mod metrics;
pub mod money;
pub mod pipeline;
pub mod query;
pub mod rate_limit;
pub mod rng;
pub mod routes;
pub mod seed;
pub mod server_span;
pub mod store;
pub mod time;
pub mod validate;

#[cfg(test)]
mod tests;

use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use cicada_telemetry::otel::SpanQueue;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{AccessLogDest, ConfigError, TargetConfig};
pub use seed::{DEFAULT_SEED, SEED_PASSWORD, Seed};

use crate::access_log::AccessLog;
use crate::jwt::{Claims, JwtError, JwtKey};
use crate::latency::LatencyModel;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::store::users::User;
use crate::store::{Caps, Store};

/// Request bodies larger than this are refused (Express's `json()` default, 100 kB).
pub const BODY_LIMIT: usize = 100 * 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The access log writer thread could not start.
    #[error("cannot start the access log writer: {0}")]
    AccessLog(#[source] io::Error),
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) jwt: JwtKey,
    pub(crate) jwt_expiry_secs: i64,
    pub(crate) metrics: Metrics,
    pub(crate) access_log: AccessLog,
    pub(crate) latency: LatencyModel,
    pub(crate) error_rate: f64,
    pub(crate) rate_limiter: Option<RateLimiter>,
    pub(crate) seed: u64,
    /// Request numbers: the input of the reproducible injection decisions.
    pub(crate) seq: AtomicU64,
    /// Where server spans go (`--otel`); `None`: no spans.
    pub(crate) spans: Option<SpanQueue>,
    /// Salt of new span and trace ids (per process).
    pub(crate) span_salt: u64,
    seed_data: Seed,
    shutdown_grace: Duration,
}

impl AppState {
    /// The state for `config`, with the access log it asks for.
    pub fn new(config: &TargetConfig) -> Result<AppState, StartError> {
        config.validate()?;
        let log = AccessLog::new(config.access_log).map_err(StartError::AccessLog)?;
        Ok(AppState::with_access_log(config, log))
    }

    /// The state for `config`, exporting a server span per request into `spans` (`--otel`).
    pub fn new_traced(
        config: &TargetConfig,
        spans: Option<SpanQueue>,
    ) -> Result<AppState, StartError> {
        config.validate()?;
        let log = AccessLog::new(config.access_log).map_err(StartError::AccessLog)?;
        Ok(AppState::with_parts(config, log, spans))
    }

    /// The state for `config` with a given access log (e.g. [`AccessLog::capture`] in tests).
    /// `config` should have passed [`TargetConfig::validate`].
    pub fn with_access_log(config: &TargetConfig, access_log: AccessLog) -> AppState {
        AppState::with_parts(config, access_log, None)
    }

    /// [`AppState::with_access_log`] that also exports server spans into `spans`.
    pub fn with_parts(
        config: &TargetConfig,
        access_log: AccessLog,
        spans: Option<SpanQueue>,
    ) -> AppState {
        let seed_data = Seed::generate(config.seed);
        let metrics = Metrics::new(access_log.dropped().clone());
        let caps = Caps {
            max_records: config.max_records,
            max_organizations: config.max_organizations,
        };
        let start_ms = time::now_ms();
        let store = Store::new(&seed_data, start_ms, caps, metrics.store_counters());
        let rate_limiter = config
            .rate_limit
            .map(|l| RateLimiter::new(l, Instant::now(), start_ms));
        AppState(Arc::new(Shared {
            store,
            jwt: JwtKey::new(&config.jwt_secret),
            jwt_expiry_secs: i64::try_from(config.jwt_expiry.as_secs()).unwrap_or(i64::MAX),
            metrics,
            access_log,
            latency: config.latency.clone(),
            error_rate: config.error_rate.clamp(0.0, 1.0),
            rate_limiter,
            seed: config.seed,
            seq: AtomicU64::new(0),
            spans,
            span_salt: server_span::salt(),
            seed_data,
            shutdown_grace: config.shutdown_grace,
        }))
    }

    /// The seeded organizations and users.
    pub fn seed(&self) -> &Seed {
        &self.0.seed_data
    }

    /// The `/metrics` text.
    pub fn metrics_text(&self) -> String {
        self.0.metrics.encode(&self.0.store)
    }

    /// Signs a token with this server's secret (tests craft expired or foreign tokens).
    pub fn sign_token(&self, claims: &Claims) -> String {
        self.0.jwt.sign(claims)
    }

    /// Checks a token now.
    pub fn verify_token(&self, token: &str) -> Result<Claims, JwtError> {
        self.0.jwt.verify(token, time::now_ms() / 1000)
    }

    /// A fresh token for a user, with the contract's claims and expiry.
    pub(crate) fn issue_token(&self, user: &User) -> String {
        let iat = time::now_ms() / 1000;
        self.0.jwt.sign(&Claims {
            user_id: user.id.to_string(),
            email: user.email.clone(),
            role: user.role.as_str().to_string(),
            organization_id: user.organization_id.to_string(),
            org_role: Some(user.org_role.as_str().to_string()),
            iat,
            exp: Some(iat.saturating_add(self.0.jwt_expiry_secs)),
        })
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.0
    }
}

/// The whole application: routes, the request pipeline and the body limit.
pub fn app(state: AppState) -> Router {
    routes::router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pipeline::pipeline,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Serves `config` on `listener` until `shutdown` completes; then in-flight requests get
/// `config.shutdown_grace` to finish. Works with a listener bound to port 0 (read its address
/// before calling).
pub async fn serve(
    config: TargetConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let state = AppState::new(&config).map_err(io::Error::other)?;
    serve_state(state, listener, shutdown).await
}

/// [`serve`] with a state built by the caller (to keep a handle on it, e.g. for its seed).
pub async fn serve_state(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let grace = state.0.shutdown_grace;
    let listener = listener.tap_io(|tcp| {
        // Small JSON responses on keep-alive connections: do not wait for Nagle.
        let _ = tcp.set_nodelay(true);
    });
    let stop = CancellationToken::new();
    let server = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop.clone().cancelled_owned())
    .into_future();
    tokio::pin!(server);
    tokio::pin!(shutdown);
    tokio::select! {
        result = &mut server => return result,
        () = &mut shutdown => stop.cancel(),
    }
    // Idle keep-alive connections close at once; busy ones after their response, within the
    // grace period (a load generator's connections must not hold the process forever).
    match tokio::time::timeout(grace, server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                ?grace,
                "connections still open after the grace period; closing"
            );
            Ok(())
        }
    }
}
