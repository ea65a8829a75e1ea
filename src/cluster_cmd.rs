//! `cicada master` and `cicada worker`.
//!
//! A master is a `run` whose users live on workers: the same flags, web UI, API and reports,
//! with a [`cicada_cluster::master::Master`] as the controller's fleet. A worker has no
//! scenario of its own: it runs what its master sends.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cicada_cluster::master::{Master, MasterConfig, Timings};
use cicada_cluster::scenario::{ScenarioSource, ScenarioSpec};
use cicada_cluster::tls::TlsFiles;
use cicada_cluster::worker::metrics::WorkerMetrics;
use cicada_cluster::worker::{self, WorkerConfig, WorkerError};
use cicada_control::Controller;
use cicada_engine::trace::TraceMode;
use cicada_engine::{Plan, TagFilter};
use tokio_util::sync::CancellationToken;

use crate::cli::{ClusterArgs, MasterArgs, WorkerArgs};
use crate::config::{Source, client_config, parse_duration};
use crate::launch::ExportCounters;
use crate::otel::{OtelMetrics, controller_source};
use crate::registry::Registry;
use crate::start_gate::StartGate;
use crate::worker_metrics::{self, MetricsServer};
use crate::{exit, launch, signal, usage_error};

fn tls_files(args: &ClusterArgs) -> TlsFiles {
    TlsFiles {
        cert: args.tls_cert.clone(),
        key: args.tls_key.clone(),
        ca: args.tls_ca.clone(),
    }
}

fn trace_mode_name(mode: TraceMode) -> &'static str {
    match mode {
        TraceMode::PerTask => "per-task",
        TraceMode::PerRequest => "per-request",
        TraceMode::Off => "off",
    }
}

/// `cicada master`.
pub(crate) fn master(args: &MasterArgs, registry: &Registry) -> ExitCode {
    let prepared = match launch::prepare(&args.run, registry) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let host = match launch::resolve_host(&prepared) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let bind: SocketAddr = match args.master_bind.parse() {
        Ok(a) => a,
        Err(e) => {
            return usage_error(format!(
                "invalid value `{}` for --master-bind (CICADA_MASTER_BIND): {e} (expected e.g. \
                 0.0.0.0:5557)",
                args.master_bind
            ));
        }
    };
    let timings = match (
        parse_duration("--worker-timeout", &args.worker_timeout),
        parse_duration("--adopt-window", &args.adopt_window),
    ) {
        (Ok(worker_timeout), Ok(adopt_window)) => Timings {
            worker_timeout: worker_timeout.max(Duration::from_secs(1)),
            adopt_window,
            ..Timings::default()
        },
        (Err(e), _) | (_, Err(e)) => return usage_error(e),
    };
    let cfg = &prepared.cfg;
    if cfg.trace.log_requests > 0.0 {
        // A shared ConfigMap may set CICADA_LOG_REQUESTS for both: not an error.
        tracing::info!("--log-requests has no effect on a master: its workers log their requests");
    }
    let source = match &prepared.loaded.yaml {
        Some(yaml) => ScenarioSource::Yaml {
            origin: yaml.origin.clone(),
            text: yaml.text.clone(),
            files: yaml.files.clone(),
        },
        None => ScenarioSource::Builtin(name_of(&cfg.source)),
    };
    let spec = ScenarioSpec {
        source,
        host: host.as_str().trim_end_matches('/').to_owned(),
        tags: cfg.tags.include.clone(),
        exclude_tags: cfg.tags.exclude.clone(),
        trace_mode: trace_mode_name(cfg.trace.mode).to_owned(),
        trace_sample_ratio: cfg.trace.sample_ratio,
        seed: cfg.seed,
    };
    let config = MasterConfig {
        bind,
        token: args.cluster.cluster_token.clone(),
        tls: tls_files(&args.cluster),
        timings,
        default_rate: cfg.spawn_rate,
    };
    let stats = cfg.stats.clone();
    let expect_workers = args.expect_workers;
    let runtime = match launch::runtime(cfg.worker_threads) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let plan = prepared.loaded.plan.clone();
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(signal::cancel_on_signal(shutdown.clone()));
        let master = match Master::start(config, plan.clone(), spec, shutdown.clone()).await {
            Ok(m) => m,
            Err(e) => return Err(anyhow::Error::new(launch::UsageError(e.to_string()))),
        };
        println!("cluster: listening for workers on {}", master.local_addr());
        tracing::info!(addr = %master.local_addr(), "listening for workers");
        let controller =
            Controller::with_fleet(plan, master.fleet(), stats, CancellationToken::new());
        let gate = StartGate::Cluster {
            fleet: master.fleet(),
            expect_workers,
        };
        // The master's metrics are the merged statistics of every worker.
        let metrics = OtelMetrics::start(prepared.cfg.otel_metrics.as_ref(), || {
            controller_source(&controller, &prepared.cfg.metrics_buckets)
        })?;
        let counters = ExportCounters {
            spans: None,
            metrics: metrics.counters(),
        };
        let outcome = launch::steer(prepared, controller, gate, shutdown, counters).await;
        metrics.stop().await;
        outcome
    });
    launch::finish(runtime, result)
}

fn name_of(source: &Source) -> String {
    match source {
        Source::Builtin(name) => name.clone(),
        Source::File(path) => path.display().to_string(),
    }
}

/// `cicada worker`.
pub(crate) fn worker(args: &WorkerArgs, registry: &Registry) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    // LOCUST_MASTER_NODE_HOST: what the old Kubernetes manifests set.
    let Some(master_host) = args
        .master_host
        .clone()
        .or_else(|| env("LOCUST_MASTER_NODE_HOST"))
    else {
        return usage_error("no master: give --master-host HOST (or CICADA_MASTER_HOST)");
    };
    let log_format = match crate::config::log_format(&args.log) {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    let client = match client_config(&args.client) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let stop_timeout = match parse_duration("--stop-timeout", &args.stop_timeout) {
        Ok(d) => d,
        Err(e) => return usage_error(e),
    };
    let orphan_timeout = match args
        .orphan_timeout
        .as_deref()
        .map(|v| parse_duration("--orphan-timeout", v))
    {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => return usage_error(e),
    };
    if let Err(e) = crate::config::check_counts(args.worker_threads, args.metrics.max_entries) {
        return usage_error(e);
    }
    let env_var = |name: &str| std::env::var(name).ok();
    let otel = match crate::config::resolve_otel(
        args.otel.otel,
        args.otel.otel_endpoint.as_deref(),
        "cicada",
        &env_var,
    ) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let mut otel_metrics = match crate::config::resolve_otel_metrics(
        args.otel.otel_metrics,
        args.otel.otel_endpoint.as_deref(),
        "cicada",
        &env_var,
    ) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let buckets = match crate::config::check_buckets(&args.metrics.metrics_buckets) {
        Ok(b) => b,
        Err(e) => return usage_error(e),
    };
    if args.metrics_host.trim().is_empty() {
        return usage_error(
            "invalid value for --metrics-host (CICADA_METRICS_HOST): empty address",
        );
    }
    let log_requests = match crate::config::log_requests(args.metrics.log_requests) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let id = args
        .worker_id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(cicada_control::process::host_name);
    // Every JSON line of a worker carries its id, whichever thread or task logged it.
    let settings = cicada_telemetry::LogSettings {
        format: log_format,
        level: args.log.log_level.clone(),
        fields: vec![("worker_id".to_owned(), id.clone())],
    };
    if let Err(e) = cicada_telemetry::init(&settings) {
        return usage_error(e);
    }
    // Every worker exports the same series: the instance id keeps them apart in the backend.
    if let Some(m) = &mut otel_metrics
        && !m
            .transport
            .resource
            .iter()
            .any(|(k, _)| k == "service.instance.id")
    {
        m.transport
            .resource
            .push(("service.instance.id".into(), id.clone()));
    }
    // The worker's own totals, kept only when something reads them.
    let own = (args.metrics_port.is_some() || otel_metrics.is_some())
        .then(|| WorkerMetrics::new(id.clone(), args.metrics.max_entries));
    let config = WorkerConfig {
        master_host,
        master_port: args.master_port,
        id,
        token: args.cluster.cluster_token.clone().filter(|t| !t.is_empty()),
        tls: tls_files(&args.cluster),
        orphan_timeout,
        stop_timeout,
        client,
        max_backoff: Duration::from_secs(5),
        spans: None,
        metrics: own.clone(),
        log_requests,
    };
    let users = match launch::runtime(args.worker_threads) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let otel = match users.block_on(async { crate::otel::Otel::start(otel.as_ref()) }) {
        Ok(o) => o,
        Err(e) => return usage_error(format!("{e:#}")),
    };
    let exported = users.block_on(async {
        OtelMetrics::start(otel_metrics.as_ref(), || match &own {
            Some(m) => worker_metrics::otlp_source(m, &buckets),
            None => std::sync::Arc::new(Vec::new),
        })
    });
    let exported = match exported {
        Ok(o) => o,
        Err(e) => return usage_error(format!("{e:#}")),
    };
    let server = match (&own, args.metrics_port) {
        (Some(m), Some(port)) => {
            let source = worker_metrics::scrape_source(
                m,
                &buckets,
                otel.queue().map(|q| q.counters().clone()),
                exported.counters(),
            );
            match MetricsServer::start(&args.metrics_host, port, source) {
                Ok(server) => {
                    let url = format!("http://{}/metrics", server.local_addr());
                    // On stdout for scripts that start workers on port 0, like the web UI's URL.
                    println!("metrics: {url}");
                    tracing::info!("metrics on {url}");
                    Some(server)
                }
                Err(e) => return usage_error(e),
            }
        }
        _ => None,
    };
    let config = WorkerConfig {
        spans: otel.queue(),
        ..config
    };
    let shutdown = CancellationToken::new();
    users.spawn(signal::cancel_on_signal(shutdown.clone()));
    tracing::info!(id = %config.id, master = %config.master_host, port = config.master_port, "worker starting");
    let factory = |spec: &ScenarioSpec| plan_of(spec, registry);
    let result = worker::run(config, &factory, users.handle().clone(), shutdown);
    // Users have ended: send the spans they queued (bounded) before exiting, and the final
    // totals over OTLP.
    users.block_on(otel.stop());
    users.block_on(exported.stop());
    if let Some(server) = server {
        server.stop();
    }
    users.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(
            e @ (WorkerError::Refused(_)
            | WorkerError::Version(_)
            | WorkerError::Tls(_)
            | WorkerError::Address(_)),
        ) => {
            tracing::error!("{e}");
            usage_error(e)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::RUNTIME)
        }
    }
}

/// The plan of a scenario a master sent.
fn plan_of(spec: &ScenarioSpec, registry: &Registry) -> Result<Arc<Plan>, String> {
    let tags = TagFilter {
        include: spec.tags.clone(),
        exclude: spec.exclude_tags.clone(),
    };
    let types = match &spec.source {
        ScenarioSource::Yaml {
            origin,
            text,
            files,
        } => {
            let scenario =
                cicada_scenario::parse_shipped(text, origin, files).map_err(|e| e.to_string())?;
            cicada_engine::yaml::user_types(&Arc::new(scenario))
        }
        ScenarioSource::Builtin(name) => registry
            .get(name)
            .ok_or_else(|| format!("this worker has no built-in scenario named `{name}`"))?
            .user_types(),
    };
    Plan::new(types, &tags)
        .map(Arc::new)
        .map_err(|e| format!("{}: {e}", spec.name()))
}
