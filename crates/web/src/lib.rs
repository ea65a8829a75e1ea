//! cicada's web UI and control API.
//!
//! [`app`] builds an axum [`Router`] over an [`AppState`] (the run's
//! [`Controller`](cicada_control::Controller) plus the web settings); [`serve`] runs it on a
//! listener until a shutdown future resolves. The router is a plain value, so tests drive it with
//! `tower::ServiceExt::oneshot` without sockets.
//!
//! # What it serves
//!
//! - the UI: `index.html` and a few ES modules and stylesheets embedded in the binary
//!   ([`assets`]; no build step, nothing fetched from the internet; charts by the vendored uPlot);
//! - the REST API under `/api` ([`api`]), documented in `docs/api.md` and as OpenAPI at
//!   `/api/openapi.json`; live updates as server-sent events at `/api/events` ([`live`]);
//! - Locust's endpoints (`POST /swarm`, `GET /stop`, `GET /stats/requests`, `GET /stats/reset`)
//!   with Locust's field names, so existing scripts and `locust_exporter` keep working
//!   ([`locust`]);
//! - `/healthz` and `/readyz` for Kubernetes probes;
//! - the self-contained HTML report ([`report`]), also written by `--html FILE`.
//!
//! # Design
//!
//! - **One writer.** Handlers never touch users: they call the controller, which owns the
//!   desired state (DESIGN.md: data flows one way).
//! - **Push, not poll.** Every open page holds one SSE stream. A stream wakes on the
//!   controller's once-a-second tick (or at once after a control action) and sends the newest
//!   state. The payload is built once per tick and shared by all streams ([`live`]), so ten
//!   open tabs cost one snapshot a second, not ten.
//! - **Bounded.** Nothing here grows with time: a stream holds only the latest payload (a slow
//!   client skips ticks instead of queueing them), history responses are bounded by the stats
//!   rings, logs by the telemetry ring, request bodies by [`WebConfig::body_limit`].
//! - **Access** ([`access`]): optional basic auth or bearer token for everything except the
//!   probes; read-only mode and a cross-site check guard the routes that change the run.
//! - **Errors**: every refusal is an [`ApiError`], answered as JSON with the right status.

pub mod access;
pub mod api;
pub mod assets;
mod error;
mod history;
pub mod live;
pub mod locust;
pub mod metrics;
mod ratio;
pub mod report;
mod routes;
pub mod shape;
mod state;
mod swarm;
mod views;
mod workers;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::io;

use axum::Router;
use tokio::net::TcpListener;

pub use access::{Credentials, CredentialsError};
pub use error::ApiError;
pub use report::{ReportInfo, html_report};
pub use state::{AppState, RunInfo, SwarmDefaults, WebConfig};

/// The whole web app (UI, API, Locust aliases, probes) over `state`.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves [`app`] on `listener` until `shutdown` resolves. Then readiness turns false, live
/// streams end, and in-flight requests finish before this returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let closing = state.clone();
    let signal = async move {
        shutdown.await;
        // Ends every SSE stream, so graceful shutdown does not wait for pages left open.
        closing.close();
    };
    axum::serve(listener, app(state))
        .with_graceful_shutdown(signal)
        .await
}
