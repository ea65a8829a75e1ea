//! What `cicada run` and `cicada demo` share: resolving flags, logging and the scenario before
//! anything starts, the runtime, choosing between the web UI and a headless run, and the exit
//! status. Everything before [`drive`] fails with status 2 and nothing running.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cicada_engine::Plan;
use cicada_telemetry::LogBuffer;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::cli::RunArgs;
use crate::config::RunConfig;
use crate::headless::{self, Outcome};
use crate::otel::Otel;
use crate::registry::Registry;
use crate::source::{self, Loaded};
use crate::web_run::{self, WebSettings};
use crate::{exit, reports, usage_error};

/// A run whose settings, logging and scenario are ready.
pub(crate) struct Prepared {
    /// The resolved `run` settings.
    pub cfg: RunConfig,
    /// The web UI's settings; `None` for a headless run.
    pub web: Option<WebSettings>,
    /// Recent warnings and errors, for the UI's Logs tab.
    pub logs: LogBuffer,
    /// The scenario.
    pub loaded: Loaded,
}

/// Resolves flags, checks report destinations, starts logging and loads the scenario.
pub(crate) fn prepare(args: &RunArgs, registry: &Registry) -> Result<Prepared, ExitCode> {
    let env = |name: &str| std::env::var(name).ok();
    let cfg = RunConfig::resolve(args, &env).map_err(usage_error)?;
    reports::ReportFiles::of(&cfg)
        .check()
        .map_err(usage_error)?;
    let web = if cfg.headless {
        None
    } else {
        Some(WebSettings::resolve(args).map_err(usage_error)?)
    };
    let logs =
        cicada_telemetry::init_logging(cfg.log_format, &cfg.log_level).map_err(usage_error)?;
    let loaded = source::load(&cfg.source, registry, &cfg.tags).map_err(usage_error)?;
    Ok(Prepared {
        cfg,
        web,
        logs,
        loaded,
    })
}

/// The multi-threaded runtime, with `worker_threads` threads (default: one per core).
pub(crate) fn runtime(worker_threads: Option<usize>) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = worker_threads {
        builder.worker_threads(n.max(1));
    }
    builder.build().map_err(|e| {
        eprintln!("error: cannot start the runtime: {e}");
        ExitCode::from(exit::RUNTIME)
    })
}

/// Runs users against `host` with the web UI or headless, until the run ends or `shutdown`.
pub(crate) async fn drive(
    prepared: Prepared,
    plan: Arc<Plan>,
    host: Url,
    shutdown: CancellationToken,
) -> anyhow::Result<Outcome> {
    let Prepared { cfg, web, logs, .. } = prepared;
    if cfg.otel.is_some() && cfg.trace.mode == cicada_engine::TraceMode::Off {
        tracing::warn!("--otel with --trace-context off: requests carry no trace, so no spans");
    }
    let otel = Otel::start(cfg.otel.as_ref())?;
    let spans = otel.queue();
    let outcome = match &web {
        None => headless::run(&cfg, plan, host, shutdown, spans).await,
        Some(web) => web_run::run(&cfg, web, plan, host, shutdown, logs, spans).await,
    };
    // Every user has ended: what they exported is queued; send it (bounded) before exiting.
    otel.stop().await;
    outcome
}

/// Shuts the runtime down (users were already stopped; stray tasks such as idle connections are
/// not waited for) and maps the run's result to the exit status.
pub(crate) fn finish(
    runtime: tokio::runtime::Runtime,
    result: anyhow::Result<Outcome>,
) -> ExitCode {
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(outcome) if outcome.fail_ratio_exceeded => ExitCode::from(exit::FAIL_RATIO),
        Ok(_) => ExitCode::from(exit::OK),
        Err(e) if e.is::<web_run::BindError>() => usage_error(format!("{e:#}")),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::RUNTIME)
        }
    }
}
