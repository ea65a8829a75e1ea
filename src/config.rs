//! Resolving flags into typed settings, before anything runs.
//!
//! clap has already applied flag > `CICADA_*` environment > default. This stage converts strings
//! into real types (durations, URLs, ratios), checks ranges, and fills what is still unset from
//! the `LOCUST_*` variables that the old Kubernetes manifests set, so a migrated deployment keeps
//! working. Every problem is a [`ConfigError`] naming the flag; nothing has started yet.

use std::path::PathBuf;
use std::time::Duration;

use cicada_engine::TagFilter;
use cicada_engine::client::ClientConfig;
use cicada_stats::StatsConfig;
use cicada_telemetry::LogFormat;
use cicada_telemetry::otel::{
    OtelConfig, OtelConfigError, OtelFlags, OtelMetricsConfig, OtelMetricsFlags,
};
use url::Url;

use crate::cli::{ClientArgs, LogArgs, RunArgs, ScenarioArgs};

/// A bad flag or environment value.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A value does not parse or is out of range.
    #[error("invalid value `{value}` for {flag}: {reason}")]
    Invalid {
        /// The flag (and its environment variable).
        flag: &'static str,
        /// What was given.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// An OpenTelemetry setting (`--otel-endpoint`, an `OTEL_*` variable).
    #[error(transparent)]
    Otel(#[from] OtelConfigError),
    /// A host URL with `user:password@` (never echoed: it holds a password).
    #[error("invalid {flag}: {}", cicada_scenario::HOST_CREDENTIALS_MESSAGE)]
    HostCredentials {
        /// The flag, variable or file that gave the host.
        flag: &'static str,
    },
    /// Neither `-f` nor `--scenario` was given.
    #[error("no scenario: give -f FILE (or CICADA_FILE) or --scenario NAME")]
    NoScenario,
}

/// Where the scenario comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A YAML file.
    File(PathBuf),
    /// A scenario registered in the binary (the Rust tier).
    Builtin(String),
}

/// Everything `cicada run` needs, typed and checked.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The scenario.
    pub source: Source,
    /// The target's base URL (else the scenario's `host`).
    pub host: Option<Url>,
    /// Users to run.
    pub users: u64,
    /// Users started or stopped per second.
    pub spawn_rate: f64,
    /// Stop after this long; `None` = until stopped.
    pub run_time: Option<Duration>,
    /// Tag filter for tasks.
    pub tags: TagFilter,
    /// CSV report prefix.
    pub csv: Option<PathBuf>,
    /// JSON report file.
    pub json: Option<PathBuf>,
    /// Exit 1 above this failure ratio.
    pub fail_ratio: Option<f64>,
    /// Table interval; `None` = only the final summary.
    pub print_interval: Option<Duration>,
    /// Grace for users to finish their request when stopping.
    pub stop_timeout: Duration,
    /// HTTP client settings.
    pub client: ClientConfig,
    /// RNG seed.
    pub seed: u64,
    /// Trace headers on requests.
    pub trace: cicada_engine::TraceConfig,
    /// Statistics bounds.
    pub stats: StatsConfig,
    /// Log format.
    pub log_format: LogFormat,
    /// Log level directives.
    pub log_level: String,
    /// Runtime worker threads.
    pub worker_threads: Option<usize>,
    /// No web UI: tables on stdout (`--headless` or `LOCUST_HEADLESS`).
    pub headless: bool,
    /// Start the swarm at once instead of waiting for Start in the UI (implied by headless).
    pub autostart: bool,
    /// HTML report file.
    pub html: Option<PathBuf>,
    /// OTLP span export (`--otel`); `None`: off.
    pub otel: Option<OtelConfig>,
    /// OTLP metric export (`--otel-metrics`); `None`: off.
    pub otel_metrics: Option<OtelMetricsConfig>,
    /// `--metrics-buckets`: latency histogram bounds, seconds (checked).
    pub metrics_buckets: Vec<f64>,
    /// `--shape FILE`: a load shape file (else the scenario's `shape:` section, if any).
    pub shape_file: Option<PathBuf>,
    /// `--time-scale`: virtual seconds of the load shape per real second.
    pub time_scale: f64,
    /// `--reload-interval`: how often the scenario file is checked (`None`: SIGHUP only).
    pub reload_interval: Option<Duration>,
}

/// Parses a duration: `30s`, `5m`, `1h30m`, `250ms`, or a bare number of seconds (as Locust's
/// `-t` accepts).
pub fn parse_duration(flag: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let trimmed = value.trim();
    if let Ok(secs) = trimmed.parse::<f64>()
        && (0.0..1e12).contains(&secs)
    {
        return Ok(Duration::from_secs_f64(secs));
    }
    humantime::parse_duration(trimmed).map_err(|e| ConfigError::Invalid {
        flag,
        value: value.to_string(),
        reason: format!("{e} (expected e.g. 30s, 5m, 1h30m)"),
    })
}

/// The log format from `--log-format`, after checking `--log-level` too.
pub fn log_format(args: &LogArgs) -> Result<LogFormat, ConfigError> {
    let format = args
        .log_format
        .parse()
        .map_err(|reason| ConfigError::Invalid {
            flag: "--log-format (CICADA_LOG_FORMAT)",
            value: args.log_format.clone(),
            reason,
        })?;
    cicada_telemetry::parse_level(&args.log_level).map_err(|e| ConfigError::Invalid {
        flag: "--log-level (CICADA_LOG_LEVEL)",
        value: args.log_level.clone(),
        reason: e.to_string(),
    })?;
    Ok(format)
}

/// `--log-requests`: a ratio from 0.0 to 1.0.
pub fn log_requests(value: f64) -> Result<f64, ConfigError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            flag: "--log-requests (CICADA_LOG_REQUESTS)",
            value: value.to_string(),
            reason: "expected a ratio between 0.0 and 1.0".into(),
        })
    }
}

/// The users' HTTP settings from their flags.
pub fn client_config(args: &ClientArgs) -> Result<ClientConfig, ConfigError> {
    Ok(ClientConfig {
        connect_timeout: parse_duration("--connect-timeout", &args.connect_timeout)?,
        default_timeout: parse_duration("--request-timeout", &args.request_timeout)?,
        insecure: args.insecure,
        ca_file: args.ca_file.clone(),
        max_redirects: args.max_redirects,
        http2: !args.no_http2,
        ..ClientConfig::default()
    })
}

/// Parses a base URL: http or https, with a host, without credentials (they would show in the
/// API, the reports and the logs).
pub fn parse_host(flag: &'static str, value: &str) -> Result<Url, ConfigError> {
    if cicada_scenario::host_has_credentials(value) {
        return Err(ConfigError::HostCredentials { flag });
    }
    let invalid = |reason: String| ConfigError::Invalid {
        flag,
        value: value.to_string(),
        reason,
    };
    let url = Url::parse(value.trim())
        .map_err(|e| invalid(format!("{e} (expected e.g. http://127.0.0.1:8080)")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the URL has no host".into()));
    }
    Ok(url)
}

/// Resolves the scenario source.
pub fn resolve_source(args: &ScenarioArgs) -> Result<Source, ConfigError> {
    match (&args.scenario_file, &args.scenario) {
        (Some(file), _) => Ok(Source::File(file.clone())),
        (None, Some(name)) => Ok(Source::Builtin(name.clone())),
        (None, None) => Err(ConfigError::NoScenario),
    }
}

fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

impl RunConfig {
    /// Resolves `cicada run` flags. `env` looks up environment variables (`std::env::var` in the
    /// binary; a map in tests), used only for the `LOCUST_*` aliases.
    pub fn resolve(
        args: &RunArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RunConfig, ConfigError> {
        // An empty alias counts as unset (LOCUST_RUN_TIME "" meant "run forever").
        let alias = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
        };
        // Errors name where the host came from: the flag (or CICADA_HOST), else the alias.
        let host = match (
            args.host.clone(),
            alias(&["LOCUST_HOST"]),
            alias(&["TARGET_HOST"]),
        ) {
            (Some(h), _, _) => Some(parse_host("-H/--host (CICADA_HOST)", &h)?),
            (None, Some(h), _) => Some(parse_host("LOCUST_HOST", &h)?),
            (None, None, Some(h)) => Some(parse_host("TARGET_HOST", &h)?),
            (None, None, None) => None,
        };
        let users = match args.users {
            Some(u) => u,
            None => match alias(&["LOCUST_USERS"]) {
                Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                    flag: "LOCUST_USERS",
                    value: v.clone(),
                    reason: "expected a whole number".into(),
                })?,
                None => 1,
            },
        };
        if users > cicada_engine::runner::MAX_USERS {
            return Err(ConfigError::Invalid {
                flag: "-u/--users (CICADA_USERS)",
                value: users.to_string(),
                reason: format!(
                    "at most {} users per process",
                    cicada_engine::runner::MAX_USERS
                ),
            });
        }
        let spawn_rate = match args.spawn_rate {
            Some(r) => r,
            None => match alias(&["LOCUST_SPAWN_RATE"]) {
                Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                    flag: "LOCUST_SPAWN_RATE",
                    value: v.clone(),
                    reason: "expected a number".into(),
                })?,
                None => 1.0,
            },
        };
        if !(spawn_rate.is_finite() && spawn_rate > 0.0) {
            return Err(ConfigError::Invalid {
                flag: "-r/--spawn-rate (CICADA_SPAWN_RATE)",
                value: spawn_rate.to_string(),
                reason: "expected a positive number of users per second".into(),
            });
        }
        // An empty value (CICADA_RUN_TIME: "" in a ConfigMap) means forever, like Locust's.
        let run_time = match args
            .run_time
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| alias(&["LOCUST_RUN_TIME"]))
        {
            Some(t) => Some(parse_duration("-t/--run-time (CICADA_RUN_TIME)", &t)?),
            None => None,
        };
        if let Some(r) = args.fail_ratio
            && !(0.0..=1.0).contains(&r)
        {
            return Err(ConfigError::Invalid {
                flag: "--fail-ratio (CICADA_FAIL_RATIO)",
                value: r.to_string(),
                reason: "expected a ratio between 0.0 and 1.0".into(),
            });
        }
        let print_interval = parse_duration("--print-interval", &args.print_interval)?;
        if print_interval < Duration::from_millis(100) && !args.only_summary {
            return Err(ConfigError::Invalid {
                flag: "--print-interval (CICADA_PRINT_INTERVAL)",
                value: args.print_interval.clone(),
                reason: "at least 100ms".into(),
            });
        }
        let log_format = log_format(&args.log)?;
        check_counts(args.worker_threads, args.metrics.max_entries)?;
        let client = client_config(&args.client)?;
        let trace_mode = args
            .trace_context
            .parse()
            .map_err(|reason| ConfigError::Invalid {
                flag: "--trace-context (CICADA_TRACE_CONTEXT)",
                value: args.trace_context.clone(),
                reason,
            })?;
        if !(0.0..=1.0).contains(&args.trace_sample_ratio) {
            return Err(ConfigError::Invalid {
                flag: "--trace-sample-ratio (CICADA_TRACE_SAMPLE_RATIO)",
                value: args.trace_sample_ratio.to_string(),
                reason: "expected a ratio between 0.0 and 1.0".into(),
            });
        }
        let otel = resolve_otel(
            args.otel.otel,
            args.otel.otel_endpoint.as_deref(),
            "cicada",
            env,
        )?;
        let otel_metrics = resolve_otel_metrics(
            args.otel.otel_metrics,
            args.otel.otel_endpoint.as_deref(),
            "cicada",
            env,
        )?;
        let metrics_buckets = check_buckets(&args.metrics.metrics_buckets)?;
        let time_scale =
            cicada_scenario::ShapeClock::parse_scale(&args.time_scale).map_err(|e| {
                ConfigError::Invalid {
                    flag: "--time-scale (CICADA_TIME_SCALE)",
                    value: args.time_scale.clone(),
                    reason: e.to_string(),
                }
            })?;
        Ok(RunConfig {
            source: resolve_source(&args.source)?,
            shape_file: args.shape.clone(),
            time_scale,
            reload_interval: Some(parse_duration(
                "--reload-interval (CICADA_RELOAD_INTERVAL)",
                &args.reload_interval,
            )?)
            .filter(|d| !d.is_zero()),
            host,
            users,
            spawn_rate,
            run_time,
            tags: TagFilter {
                include: args.tags.clone(),
                exclude: args.exclude_tags.clone(),
            },
            csv: args.csv.clone(),
            json: args.json.clone(),
            fail_ratio: args.fail_ratio,
            print_interval: (!args.only_summary).then_some(print_interval),
            stop_timeout: parse_duration("--stop-timeout", &args.stop_timeout)?,
            client,
            seed: args.seed.unwrap_or_else(rand_seed),
            trace: cicada_engine::TraceConfig {
                mode: trace_mode,
                sample_ratio: args.trace_sample_ratio,
                log_requests: log_requests(args.metrics.log_requests)?,
            },
            stats: StatsConfig {
                max_entries: args.metrics.max_entries,
                ..StatsConfig::default()
            },
            log_format,
            log_level: args.log.log_level.clone(),
            worker_threads: args.worker_threads,
            headless: args.headless || env("LOCUST_HEADLESS").is_some_and(|v| truthy(&v)),
            autostart: Self::wants_autostart(args, env),
            html: args.html.clone(),
            otel,
            otel_metrics,
            metrics_buckets,
        })
    }

    /// Whether the flags or `LOCUST_HEADLESS`/`LOCUST_AUTOSTART` ask for an unattended start.
    pub fn wants_autostart(args: &RunArgs, env: &dyn Fn(&str) -> Option<String>) -> bool {
        args.headless
            || args.autostart
            || env("LOCUST_HEADLESS").is_some_and(|v| truthy(&v))
            || env("LOCUST_AUTOSTART").is_some_and(|v| truthy(&v))
    }
}

/// The OTLP export settings from `--otel`/`--otel-endpoint` and the `OTEL_*` variables
/// (`default_service` names the process when `OTEL_SERVICE_NAME` does not).
pub fn resolve_otel(
    enabled: bool,
    endpoint: Option<&str>,
    default_service: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<OtelConfig>, ConfigError> {
    let flags = OtelFlags {
        enabled,
        endpoint: endpoint.map(str::to_string),
    };
    Ok(OtelConfig::resolve(&flags, default_service, env)?)
}

/// The OTLP metric export settings from `--otel-metrics`, `--otel-endpoint` (a base shared with
/// spans) and the `OTEL_*` variables.
pub fn resolve_otel_metrics(
    enabled: bool,
    endpoint: Option<&str>,
    default_service: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<OtelMetricsConfig>, ConfigError> {
    let flags = OtelMetricsFlags {
        enabled,
        endpoint: endpoint.map(str::to_string),
    };
    Ok(OtelMetricsConfig::resolve(&flags, default_service, env)?)
}

/// `--worker-threads` (when given) and `--max-entries`, checked: each at least 1.
pub fn check_counts(worker_threads: Option<usize>, max_entries: usize) -> Result<(), ConfigError> {
    let counts = [
        (
            "--worker-threads (CICADA_WORKER_THREADS)",
            worker_threads.unwrap_or(1),
        ),
        ("--max-entries (CICADA_MAX_ENTRIES)", max_entries),
    ];
    match counts.into_iter().find(|&(_, n)| n == 0) {
        Some((flag, _)) => Err(ConfigError::Invalid {
            flag,
            value: "0".into(),
            reason: "at least 1".into(),
        }),
        None => Ok(()),
    }
}

/// `--metrics-buckets`, checked (1 to 64 ascending positive bounds).
pub fn check_buckets(bounds: &[f64]) -> Result<Vec<f64>, ConfigError> {
    cicada_web::metrics::validate_buckets(bounds).map_err(|e| ConfigError::Invalid {
        flag: "--metrics-buckets (CICADA_METRICS_BUCKETS)",
        value: bounds
            .iter()
            .map(f64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        reason: e.to_string(),
    })?;
    Ok(bounds.to_vec())
}

/// A seed from the clock and the process id: distinct per run, no global RNG needed.
fn rand_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use std::collections::HashMap;

    fn args(argv: &[&str]) -> RunArgs {
        let mut full = vec!["cicada", "run"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).expect("flags parse").command {
            Command::Run(a) => *a,
            _ => unreachable!("run was asked for"),
        }
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn flags_resolve_to_types() {
        let a = args(&[
            "-f",
            "s.yaml",
            "-H",
            "http://127.0.0.1:9",
            "-u",
            "20",
            "-r",
            "5",
            "-t",
            "1m30s",
        ]);
        let c = RunConfig::resolve(&a, &env_of(&[])).unwrap();
        assert_eq!(c.source, Source::File("s.yaml".into()));
        assert_eq!(c.host.unwrap().as_str(), "http://127.0.0.1:9/");
        assert_eq!(c.users, 20);
        assert_eq!(c.spawn_rate, 5.0);
        assert_eq!(c.run_time, Some(Duration::from_secs(90)));
        assert_eq!(c.print_interval, Some(Duration::from_secs(2)));
        assert_eq!((c.time_scale, c.shape_file), (1.0, None));
        let a = args(&[
            "-f",
            "s.yaml",
            "--shape",
            "day.yaml",
            "--time-scale",
            "1440",
        ]);
        let c = RunConfig::resolve(&a, &env_of(&[])).unwrap();
        assert_eq!(c.time_scale, 1440.0);
        assert_eq!(c.shape_file, Some(PathBuf::from("day.yaml")));
    }

    #[test]
    fn locust_variables_fill_unset_flags_only() {
        let env = env_of(&[
            ("LOCUST_HOST", "http://127.0.0.1:3000"),
            ("LOCUST_USERS", "50"),
            ("LOCUST_SPAWN_RATE", "5"),
            ("LOCUST_RUN_TIME", ""),
            ("LOCUST_AUTOSTART", "true"),
        ]);
        let a = args(&["-f", "s.yaml", "-u", "7"]);
        let c = RunConfig::resolve(&a, &env).unwrap();
        assert_eq!(c.host.unwrap().as_str(), "http://127.0.0.1:3000/");
        assert_eq!(c.users, 7, "the flag wins over LOCUST_USERS");
        assert_eq!(c.spawn_rate, 5.0);
        assert_eq!(c.run_time, None, "an empty LOCUST_RUN_TIME means forever");
        let c = RunConfig::resolve(&args(&["-f", "s.yaml", "-t", ""]), &env_of(&[])).unwrap();
        assert_eq!(c.run_time, None, "an empty CICADA_RUN_TIME means forever");
        assert!(RunConfig::wants_autostart(&a, &env));
    }

    #[test]
    fn hosts_with_credentials_are_refused_without_echoing_them() {
        let refused = |a: &[&str], env: &[(&str, &str)]| {
            RunConfig::resolve(&args(a), &env_of(env)).unwrap_err()
        };
        let e = refused(
            &["-f", "s", "-H", "http://alice:hunter22@127.0.0.1:8080"],
            &[],
        );
        assert_eq!(
            e,
            ConfigError::HostCredentials {
                flag: "-H/--host (CICADA_HOST)"
            }
        );
        let text = e.to_string();
        assert!(
            text.contains("host must not contain credentials (user:password@)"),
            "{text}"
        );
        assert!(
            !text.contains("hunter22") && !text.contains("alice"),
            "{text}"
        );
        // A user without a password is refused too; so is a URL that does not even parse.
        let e = refused(&["-f", "s", "-H", "http://alice@127.0.0.1"], &[]);
        assert!(matches!(e, ConfigError::HostCredentials { .. }), "{e}");
        let e = refused(&["-f", "s", "-H", "http://a:b@[bad"], &[]);
        assert!(!e.to_string().contains("a:b"), "{e}");
        let e = refused(&["-f", "s"], &[("LOCUST_HOST", "http://u:p@127.0.0.1:1")]);
        assert_eq!(
            e,
            ConfigError::HostCredentials {
                flag: "LOCUST_HOST"
            }
        );
        let e = refused(&["-f", "s"], &[("TARGET_HOST", "http://u:p@127.0.0.1:1")]);
        assert_eq!(
            e,
            ConfigError::HostCredentials {
                flag: "TARGET_HOST"
            }
        );
        assert!(parse_host("x", "http://127.0.0.1:1/a@b").is_ok());
    }

    #[test]
    fn target_host_is_the_last_fallback() {
        let a = args(&["-f", "s.yaml"]);
        let c = RunConfig::resolve(&a, &env_of(&[("TARGET_HOST", "http://127.0.0.1:1")])).unwrap();
        assert_eq!(c.host.unwrap().port(), Some(1));
    }

    #[test]
    fn bad_values_name_their_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&["-f", "s", "-t", "soon"], "--run-time"),
            (&["-f", "s", "-H", "ftp://x"], "--host"),
            (&["-f", "s", "-H", "not a url"], "--host"),
            (&["-f", "s", "-r", "0"], "--spawn-rate"),
            (&["-f", "s", "--fail-ratio", "2"], "--fail-ratio"),
            (&["-f", "s", "--log-format", "xml"], "--log-format"),
            (&["-f", "s", "--time-scale", "0"], "--time-scale"),
            (&["-f", "s", "--time-scale", "fast"], "--time-scale"),
            (&["-f", "s", "--time-scale", "1e9"], "--time-scale"),
            (&["-f", "s", "--print-interval", "1ms"], "--print-interval"),
            (
                &["-f", "s", "--trace-context", "sometimes"],
                "--trace-context",
            ),
            (
                &["-f", "s", "--trace-sample-ratio", "1.5"],
                "--trace-sample-ratio",
            ),
        ];
        for (argv, flag) in cases {
            let err = RunConfig::resolve(&args(argv), &env_of(&[])).unwrap_err();
            assert!(err.to_string().contains(flag), "{argv:?}: {err}");
        }
        let err = RunConfig::resolve(&args(&[]), &env_of(&[])).unwrap_err();
        assert_eq!(err, ConfigError::NoScenario);
    }

    #[test]
    fn otel_is_opt_in_and_reads_the_standard_variables() {
        let env = env_of(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_SERVICE_NAME", "loadgen"),
        ]);
        let c = RunConfig::resolve(&args(&["-f", "s"]), &env).unwrap();
        assert!(
            c.otel.is_none(),
            "an endpoint variable alone does not switch export on"
        );
        let c = RunConfig::resolve(&args(&["-f", "s", "--otel"]), &env).unwrap();
        let otel = c.otel.unwrap();
        assert_eq!(otel.endpoint, "http://collector:4317");
        assert_eq!(otel.service_name, "loadgen");
        let c = RunConfig::resolve(
            &args(&["-f", "s", "--otel-endpoint", "http://127.0.0.1:9"]),
            &env_of(&[]),
        )
        .unwrap();
        assert_eq!(c.otel.unwrap().service_name, "cicada");
        let err = RunConfig::resolve(
            &args(&["-f", "s", "--otel"]),
            &env_of(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
            "{err}"
        );
    }

    #[test]
    fn otel_metrics_are_opt_in_and_share_the_endpoint() {
        let env = env_of(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")]);
        let c = RunConfig::resolve(&args(&["-f", "s", "--otel"]), &env).unwrap();
        assert!(c.otel_metrics.is_none(), "spans do not imply metrics");
        let c = RunConfig::resolve(
            &args(&["-f", "s", "--otel-metrics", "--otel-endpoint", "http://c:9"]),
            &env,
        )
        .unwrap();
        let m = c.otel_metrics.unwrap();
        assert_eq!(m.transport.endpoint, "http://c:9");
        assert_eq!(m.interval, std::time::Duration::from_secs(60));
        assert_eq!(c.metrics_buckets.len(), 11);
        let err = RunConfig::resolve(&args(&["-f", "s", "--metrics-buckets", "1,0.5"]), &env)
            .unwrap_err();
        assert!(err.to_string().contains("--metrics-buckets"), "{err}");
    }

    #[test]
    fn bare_numbers_are_seconds() {
        assert_eq!(parse_duration("x", "20").unwrap(), Duration::from_secs(20));
        assert_eq!(
            parse_duration("x", "250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert!(parse_duration("x", "-1").is_err());
    }
}
