//! What `cicada run` and `cicada demo` share: resolving flags, logging and the scenario before
//! anything starts, the runtime, choosing between the web UI and a headless run, and the exit
//! status. Everything before [`drive`] fails with status 2 and nothing running.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cicada_control::Controller;
use cicada_engine::{EngineConfig, Plan};
use cicada_telemetry::LogBuffer;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::cli::RunArgs;
use crate::config::RunConfig;
use crate::headless::{self, Outcome};
use crate::otel::{Otel, OtelMetrics, controller_source};
use crate::registry::Registry;
use crate::reload;
use crate::source::{self, Loaded};
use crate::start_gate::StartGate;
pub(crate) use crate::web_run::ExportCounters;
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
    let mut loaded = source::load(&cfg.source, registry, &cfg.tags).map_err(usage_error)?;
    source::load_shape(&mut loaded, cfg.shape_file.as_deref()).map_err(usage_error)?;
    match &loaded.shape {
        Some(shape) => {
            tracing::info!(shape = %shape.describe(), time_scale = cfg.time_scale, "load shape")
        }
        None if cfg.time_scale != 1.0 => {
            tracing::warn!("--time-scale has no effect without a load shape (--shape or `shape:`)");
        }
        None => {}
    }
    Ok(Prepared {
        cfg,
        web,
        logs,
        loaded,
    })
}

/// A problem found while starting (e.g. the cluster port is taken): exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub String);

/// The target: `-H`, else the scenario's `host`.
pub(crate) fn resolve_host(prepared: &Prepared) -> Result<Url, ExitCode> {
    match (&prepared.cfg.host, &prepared.loaded.host) {
        (Some(h), _) => Ok(h.clone()),
        (None, Some(h)) => {
            crate::config::parse_host("the scenario's `host`", h).map_err(usage_error)
        }
        (None, None) => Err(usage_error(
            "no host: give -H URL (or CICADA_HOST), or `host:` in the scenario",
        )),
    }
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
    if prepared.cfg.otel.is_some() && prepared.cfg.trace.mode == cicada_engine::TraceMode::Off {
        tracing::warn!("--otel with --trace-context off: requests carry no trace, so no spans");
    }
    let otel = Otel::start(prepared.cfg.otel.as_ref())?;
    let controller = Controller::start(
        plan,
        EngineConfig {
            host,
            client: prepared.cfg.client.clone(),
            seed: prepared.cfg.seed,
            trace: prepared.cfg.trace,
            spans: otel.queue(),
        },
        prepared.cfg.stats.clone(),
        CancellationToken::new(),
    )?;
    let metrics = OtelMetrics::start(prepared.cfg.otel_metrics.as_ref(), || {
        controller_source(&controller, &prepared.cfg.metrics_buckets)
    })?;
    let counters = ExportCounters {
        spans: otel.queue().map(|q| q.counters().clone()),
        metrics: metrics.counters(),
    };
    let outcome = steer(prepared, controller, StartGate::Now, shutdown, counters).await;
    // Every user has ended: what they exported is queued; send it (bounded) before exiting,
    // and the final totals with it.
    otel.stop().await;
    metrics.stop().await;
    outcome
}

/// Steers `controller` from the web UI or headless, until the run ends or `shutdown`.
pub(crate) async fn steer(
    prepared: Prepared,
    controller: Controller,
    gate: StartGate,
    shutdown: CancellationToken,
    counters: ExportCounters,
) -> anyhow::Result<Outcome> {
    let Prepared {
        cfg,
        web,
        logs,
        loaded,
    } = prepared;
    let watch = reload::Watch::new(
        &cfg.source,
        &loaded,
        &cfg.tags,
        cfg.reload_interval,
        cfg.host.is_some(),
    );
    if let (Some(w), crate::config::Source::File(path)) = (&watch, &cfg.source) {
        controller.set_scenario(Some(path.display().to_string()), w.digest());
    }
    tokio::spawn(reload::run(watch, controller.clone(), shutdown.clone()));
    if let Some(shape) = loaded.shape {
        controller.attach_shape(
            shape,
            cicada_control::ShapeOptions {
                time_scale: cfg.time_scale,
                start_virtual: None,
            },
        )?;
    }
    match &web {
        None => headless::run(&cfg, controller, gate, shutdown).await,
        Some(web) => web_run::run(&cfg, web, controller, gate, shutdown, logs, counters).await,
    }
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
        Err(e) if e.is::<web_run::BindError>() || e.is::<UsageError>() => {
            usage_error(format!("{e:#}"))
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::RUNTIME)
        }
    }
}
