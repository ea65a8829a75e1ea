//! SIGINT, SIGTERM and SIGHUP. The only place that knows about signals: the rest of cicada
//! takes a cancellation token, or waits on [`Hangups`].
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

/// SIGHUP, which asks for a scenario reload (see `reload.rs`). Listening also keeps a SIGHUP
/// from ending the process (its default action) while it runs.
pub struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Starts listening (inside a tokio runtime).
    pub fn listen() -> Hangups {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = signal(SignalKind::hangup())
                .inspect_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP"))
                .ok();
            Hangups { signal }
        }
        #[cfg(not(unix))]
        Hangups {}
    }

    /// Resolves at the next SIGHUP (never, where there is none).
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal
            && signal.recv().await.is_some()
        {
            return;
        }
        std::future::pending::<()>().await;
    }
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
