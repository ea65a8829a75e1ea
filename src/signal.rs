//! SIGINT and SIGTERM. The only place that knows about signals: the rest of cicada takes a
//! cancellation token.
//!
//! The first signal cancels the token: users end after their current request and the reports
//! are written. A second signal means the operator is out of patience: exit at once (130).

use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGINT/SIGTERM; exits the process on the second.
pub async fn cancel_on_signal(token: CancellationToken) {
    let first = wait_for_signal().await;
    tracing::info!(
        signal = first,
        "stopping: users end after their current request (signal again to exit now)"
    );
    token.cancel();
    let second = wait_for_signal().await;
    tracing::warn!(signal = second, "second signal: exiting without waiting");
    std::process::exit(130);
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops cicada");
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}
