//! A run with the web UI (`cicada run` without `--headless`).
//!
//! Order of events, chosen so that nothing half-starts:
//! 1. bind the listener (a port in use is a [`BindError`]: exit status 2, nothing started);
//! 2. start the controller (engine with no users, aggregator) and print the UI's URL;
//! 3. with `--autostart`, start `-u` users at `-r` per second (with `-t` as the run time);
//!    otherwise wait for Start in the UI (`-t` is the Start form's default run time);
//! 4. on SIGINT/SIGTERM: readiness turns false and the server stops accepting work, users get
//!    `--stop-timeout` to finish their request, then the final tables and report files are
//!    written, as after a headless run.
//!
//! When the run time ends, the users stop but the UI stays up (like Locust's `--autostart`
//! without `--autoquit`): the results can still be read and downloaded, and a new test started.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use cicada_control::Controller;
use cicada_telemetry::LogBuffer;
use cicada_telemetry::otel::{MetricExportCounters, OtelCounters};
use cicada_web::{AppState, Credentials, ReportInfo, RunInfo, SwarmDefaults, WebConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::RunArgs;
use crate::config::RunConfig;
use crate::headless::{self, Outcome};
use crate::reports::scenario_label;
use crate::start_gate::StartGate;

/// How long in-flight web requests get after the signal before the server is dropped.
const SERVER_GRACE: Duration = Duration::from_secs(5);

/// The web flags, checked before anything starts.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// `--web-host`.
    pub host: String,
    /// `--web-port` (0: any free port).
    pub port: u16,
    /// Access settings.
    pub config: WebConfig,
}

/// A bad web flag.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {flag}: {reason}")]
pub struct WebFlagError {
    flag: &'static str,
    reason: String,
}

impl WebSettings {
    /// Reads and checks the web flags.
    pub fn resolve(args: &RunArgs) -> Result<WebSettings, WebFlagError> {
        let credentials = match &args.web_auth {
            None => None,
            Some(text) => Some(text.parse::<Credentials>().map_err(|e| WebFlagError {
                flag: "--web-auth (CICADA_WEB_AUTH)",
                reason: e.to_string(),
            })?),
        };
        let token = match &args.web_token {
            Some(t) if t.trim().is_empty() => {
                return Err(WebFlagError {
                    flag: "--web-token (CICADA_WEB_TOKEN)",
                    reason: "the token is empty".into(),
                });
            }
            other => other.as_ref().map(|t| t.trim().to_owned()),
        };
        if args.protect_probes && credentials.is_none() && token.is_none() {
            return Err(WebFlagError {
                flag: "--protect-probes (CICADA_PROTECT_PROBES)",
                reason: "needs --web-auth or --web-token".into(),
            });
        }
        if args.web_host.trim().is_empty() {
            return Err(WebFlagError {
                flag: "--web-host (CICADA_WEB_HOST)",
                reason: "empty address".into(),
            });
        }
        cicada_web::metrics::validate_buckets(&args.metrics.metrics_buckets).map_err(|e| {
            WebFlagError {
                flag: "--metrics-buckets (CICADA_METRICS_BUCKETS)",
                reason: e.to_string(),
            }
        })?;
        Ok(WebSettings {
            host: args.web_host.trim().to_owned(),
            port: args.web_port,
            config: WebConfig {
                credentials,
                token,
                read_only: args.web_read_only,
                protect_probes: args.protect_probes,
                metrics_buckets: args.metrics.metrics_buckets.clone(),
                ..WebConfig::default()
            },
        })
    }
}

/// The OTLP export counters `/metrics` shows (`--otel`, `--otel-metrics`).
#[derive(Clone, Debug, Default)]
pub struct ExportCounters {
    /// Span export.
    pub spans: Option<OtelCounters>,
    /// Metric export.
    pub metrics: Option<MetricExportCounters>,
}

/// The web UI's address could not be bound (e.g. the port is in use): nothing was started.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen on {address} for the web UI: {source} (choose another --web-port, or 0 for any free port)"
)]
pub struct BindError {
    address: String,
    source: std::io::Error,
}

fn url_of(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

/// Serves the UI and API and runs users as the UI (or `--autostart`) says, until `shutdown`.
pub async fn run(
    cfg: &RunConfig,
    web: &WebSettings,
    controller: Controller,
    gate: StartGate,
    shutdown: CancellationToken,
    logs: LogBuffer,
    counters: ExportCounters,
) -> anyhow::Result<Outcome> {
    let host = controller.status().host;
    let address = if web.host.contains(':') && !web.host.starts_with('[') {
        format!("[{}]:{}", web.host, web.port)
    } else {
        format!("{}:{}", web.host, web.port)
    };
    let listener = TcpListener::bind(&address)
        .await
        .map_err(|source| BindError {
            address: address.clone(),
            source,
        })?;
    let local = listener.local_addr()?;

    let state = AppState::new(
        controller.clone(),
        web.config.clone(),
        RunInfo {
            scenario: scenario_label(&cfg.source),
            defaults: SwarmDefaults {
                users: cfg.users,
                spawn_rate: cfg.spawn_rate,
                run_time: cfg.run_time,
            },
        },
        Some(logs),
    )
    .with_span_counters(counters.spans)
    .with_metric_export_counters(counters.metrics);
    // The URL goes to stdout (for people and for scripts that start cicada on port 0).
    println!("web UI: {}", url_of(local));
    let _ = std::io::stdout().flush();
    tracing::info!(url = %url_of(local), host = %host, "web UI listening");

    if cfg.autostart {
        let (controller, cfg, stop) = (controller.clone(), cfg.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = gate.autostart(&controller, &cfg) => {}
            }
        });
    } else if controller.has_shape() {
        tracing::info!("the load shape waits: resume it in the web UI (or use --autostart)");
    } else {
        tracing::info!("waiting for Start in the web UI (or use --autostart)");
    }

    let stop_serving = shutdown.clone();
    let mut server = tokio::spawn(cicada_web::serve(listener, state.clone(), async move {
        stop_serving.cancelled().await;
    }));
    tokio::select! {
        _ = shutdown.cancelled() => {}
        result = &mut server => {
            // The server ended by itself: an accept error we cannot recover from.
            shutdown.cancel();
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "the web server stopped"),
                Err(e) => tracing::error!(error = %e, "the web server failed"),
            }
        }
    }
    state.close();
    if !controller.shutdown(cfg.stop_timeout).await {
        tracing::warn!(
            timeout = ?cfg.stop_timeout,
            "some users did not finish their request in time; their last requests are not counted"
        );
    }
    if !server.is_finished()
        && tokio::time::timeout(SERVER_GRACE, &mut server)
            .await
            .is_err()
    {
        tracing::warn!("web requests still open at exit were dropped");
        server.abort();
    }
    let info = ReportInfo {
        scenario: scenario_label(&cfg.source),
        host: controller.status().host,
        plan: Some(controller.plan()),
    };
    controller.with_stats(|stats| headless::finish(cfg, stats, &info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn args(argv: &[&str]) -> RunArgs {
        let mut full = vec!["cicada", "run", "-f", "s.yaml"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).expect("flags parse").command {
            Command::Run(a) => *a,
            _ => unreachable!("run was asked for"),
        }
    }

    #[test]
    fn web_flags_resolve() {
        let w = WebSettings::resolve(&args(&[])).expect("defaults");
        assert_eq!((w.host.as_str(), w.port), ("127.0.0.1", 8089));
        assert!(!w.config.requires_auth() && !w.config.read_only);
        assert_eq!(
            w.config.metrics_buckets,
            cicada_web::metrics::DEFAULT_BUCKETS.to_vec()
        );
        let w = WebSettings::resolve(&args(&[
            "--web-port",
            "0",
            "--web-auth",
            "admin:pw",
            "--web-read-only",
            "--protect-probes",
            "--metrics-buckets",
            "0.1,1",
        ]))
        .expect("flags");
        assert_eq!(w.config.metrics_buckets, vec![0.1, 1.0]);
        assert_eq!(w.port, 0);
        assert!(w.config.read_only && w.config.protect_probes);
        assert_eq!(w.config.credentials.map(|c| c.user), Some("admin".into()));
    }

    #[test]
    fn bad_web_flags_name_their_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&["--web-auth", "nocolon"], "--web-auth"),
            (&["--web-auth", ":pw"], "--web-auth"),
            (&["--web-token", " "], "--web-token"),
            (&["--protect-probes"], "--protect-probes"),
            (&["--web-host", ""], "--web-host"),
            (&["--metrics-buckets", "0.5,0.1"], "--metrics-buckets"),
            (&["--metrics-buckets", "0"], "--metrics-buckets"),
        ];
        for (argv, flag) in cases {
            let err = WebSettings::resolve(&args(argv)).expect_err("refused");
            assert!(err.to_string().contains(flag), "{argv:?}: {err}");
        }
    }
}
