//! `cicada target`: the DynaClaimz stand-in (`cicada-target`) as a process.
//!
//! Flags are resolved and checked before anything listens (bad flags exit 2). The bound
//! address is logged (`listening on http://ADDR`) so that `--listen 127.0.0.1:0` is usable
//! by scripts and tests. SIGINT/SIGTERM stop it: in-flight requests finish (bounded by a
//! grace period) and the process exits 0.
//!
//! With `--otel` (or `--otel-endpoint`), every request also becomes a server span exported
//! over OTLP, in the caller's trace when it sent a sampled `traceparent`.

use std::process::ExitCode;

use cicada_target::config::duration_flag;
use cicada_target::latency::LatencyModel;
use cicada_target::rate_limit::RateLimit;
use cicada_target::{AccessLogDest, AppState, ConfigError, TargetConfig};
use tokio_util::sync::CancellationToken;

use crate::cli::TargetArgs;
use crate::otel::Otel;
use crate::{exit, signal, usage_error};

/// Runs `cicada target` to completion.
pub fn run(args: &TargetArgs) -> ExitCode {
    let config = match resolve(args) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let env = |name: &str| std::env::var(name).ok();
    let otel_config = match crate::config::resolve_otel(
        args.otel,
        args.otel_endpoint.as_deref(),
        "cicada-target",
        &env,
    ) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let format = match crate::config::log_format(&args.log) {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    if let Err(e) = cicada_telemetry::init_logging(format, &args.log.log_level) {
        return usage_error(e);
    }
    let runtime = match crate::launch::runtime(args.worker_threads) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let listen = args.listen;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let otel = Otel::start(otel_config.as_ref()).map_err(|e| format!("{e:#}"))?;
        let state = AppState::new_traced(&config, otel.queue()).map_err(|e| e.to_string())?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        let seed = state.seed();
        tracing::info!(
            organizations = seed.organizations.len(),
            users = seed.users.len(),
            seed = config.seed,
            "seeded; every user's password is {}",
            cicada_target::SEED_PASSWORD
        );
        tracing::info!(%addr, "listening on http://{addr}");
        let shutdown = CancellationToken::new();
        tokio::spawn(signal::cancel_on_signal(shutdown.clone()));
        let served = cicada_target::serve_state(state, listener, shutdown.cancelled_owned())
            .await
            .map_err(|e| format!("the server failed: {e}"));
        // The server has stopped: its last spans are queued; send them (bounded).
        otel.stop().await;
        served
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::RUNTIME)
        }
    }
}

/// The flags as a checked [`TargetConfig`].
fn resolve(args: &TargetArgs) -> Result<TargetConfig, ConfigError> {
    let config = TargetConfig {
        seed: args.seed,
        jwt_secret: args.jwt_secret.clone(),
        jwt_expiry: duration_flag("--jwt-expiry", &args.jwt_expiry)?,
        max_records: args.max_records,
        max_organizations: args.max_organizations,
        latency: LatencyModel::parse(&args.latency)?,
        error_rate: args.error_rate,
        rate_limit: RateLimit::parse(&args.rate_limit)?,
        access_log: AccessLogDest::parse(&args.access_log)?,
        ..TargetConfig::default()
    };
    config.validate()?;
    Ok(config)
}
