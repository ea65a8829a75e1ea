//! Command-line flags (clap). Every flag also reads `CICADA_<FLAG>` from the environment and
//! the config file ([`crate::config_file`]); precedence is flag > environment > file > default. Resolution into typed settings, including the
//! `LOCUST_*` aliases, happens in [`crate::config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// cicada: realistic user traffic for a web API, around the clock.
#[derive(Debug, Parser)]
#[command(name = "cicada", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Config file with flag values (TOML; see docs/configuration.md) [default: ./cicada.toml
    /// when it exists]. Flags and environment variables win over it.
    #[arg(long, global = true, env = "CICADA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run users against a host, steered from the web UI (or --headless: tables on stdout).
    Run(Box<RunArgs>),
    /// Check a scenario and print a summary of it, or its errors.
    Validate(ValidateArgs),
    /// Serve the DynaClaimz stand-in API (in memory) for scenarios, demos and tests.
    Target(Box<TargetArgs>),
    /// Start the DynaClaimz stand-in and run users against it, in one process.
    Demo(Box<DemoArgs>),
    /// Coordinate workers: the web UI and API of `run`, users split over the workers that
    /// connect, their statistics merged.
    Master(Box<MasterArgs>),
    /// Run users for a master (it sends the scenario and the number of users).
    Worker(Box<WorkerArgs>),
}

/// Where the scenario comes from.
#[derive(Debug, Args, Clone)]
pub struct ScenarioArgs {
    /// Scenario file (YAML).
    #[arg(short = 'f', long = "file", visible_aliases = ["scenario-file", "locustfile"], env = "CICADA_FILE", value_name = "FILE", conflicts_with = "scenario")]
    pub scenario_file: Option<PathBuf>,

    /// A scenario built into this binary, by name (see `cicada validate --list`).
    #[arg(long, env = "CICADA_SCENARIO", value_name = "NAME")]
    pub scenario: Option<String>,
}

/// Flags of `cicada validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The scenario to check.
    #[command(flatten)]
    pub source: ScenarioArgs,

    /// List the built-in scenarios.
    #[arg(long)]
    pub list: bool,

    /// Also check a load shape file against the scenario (as `run --shape` would use it).
    #[arg(long, env = "CICADA_SHAPE", value_name = "FILE")]
    pub shape: Option<PathBuf>,
}

/// Flags of `cicada run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario to run.
    #[command(flatten)]
    pub source: ScenarioArgs,

    /// Base URL of the target, e.g. http://127.0.0.1:3000 (overrides the scenario's `host`).
    #[arg(short = 'H', long, env = "CICADA_HOST", value_name = "URL")]
    pub host: Option<String>,

    /// Number of users [default: 1].
    #[arg(short = 'u', long, env = "CICADA_USERS", value_name = "N")]
    pub users: Option<u64>,

    /// Users started (or stopped) per second [default: 1].
    #[arg(short = 'r', long, env = "CICADA_SPAWN_RATE", value_name = "RATE")]
    pub spawn_rate: Option<f64>,

    /// Stop after this long (e.g. 30s, 5m, 1h30m); absent = run until stopped.
    #[arg(short = 't', long, env = "CICADA_RUN_TIME", value_name = "DURATION")]
    pub run_time: Option<String>,

    /// Run without the web UI: print a table every few seconds and write the reports at the
    /// end. Without it, cicada serves the web UI and API on --web-host:--web-port.
    #[arg(long, env = "CICADA_HEADLESS")]
    pub headless: bool,

    /// With the web UI: start -u users at -r per second (and -t) at once instead of waiting for
    /// Start (implied by --headless). With a load shape, the shape starts instead.
    #[arg(long, env = "CICADA_AUTOSTART")]
    pub autostart: bool,

    /// A load shape file (see docs/shapes.md); overrides the scenario's `shape:` section.
    /// With --autostart or --headless the shape sets the users instead of -u/-r.
    #[arg(long, env = "CICADA_SHAPE", value_name = "FILE")]
    pub shape: Option<PathBuf>,

    /// How often the scenario file (and its data files) is checked for changes, which are
    /// applied without stopping users (hot reload; SIGHUP checks at once). 0: only on SIGHUP.
    #[arg(
        long,
        env = "CICADA_RELOAD_INTERVAL",
        default_value = "2s",
        value_name = "DURATION"
    )]
    pub reload_interval: String,

    /// Run the load shape F times faster than real time (1440: a day in a minute).
    #[arg(long, env = "CICADA_TIME_SCALE", default_value = "1", value_name = "F")]
    pub time_scale: String,

    /// Only run tasks with one of these tags (comma-separated or repeated).
    #[arg(
        short = 'T',
        long,
        env = "CICADA_TAGS",
        value_delimiter = ',',
        value_name = "TAG"
    )]
    pub tags: Vec<String>,

    /// Never run tasks with any of these tags (comma-separated or repeated).
    #[arg(
        short = 'E',
        long,
        env = "CICADA_EXCLUDE_TAGS",
        value_delimiter = ',',
        value_name = "TAG"
    )]
    pub exclude_tags: Vec<String>,

    /// Write PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_stats_history.csv at the end.
    #[arg(long, env = "CICADA_CSV", value_name = "PREFIX")]
    pub csv: Option<PathBuf>,

    /// Write the JSON report to FILE at the end.
    #[arg(long, env = "CICADA_JSON", value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Exit with status 1 when the share of failed requests exceeds this ratio (0.0-1.0).
    #[arg(long, env = "CICADA_FAIL_RATIO", value_name = "RATIO")]
    pub fail_ratio: Option<f64>,

    /// Seconds between tables in headless mode.
    #[arg(
        long,
        env = "CICADA_PRINT_INTERVAL",
        default_value = "2s",
        value_name = "DURATION"
    )]
    pub print_interval: String,

    /// Print only the final tables, not one every interval.
    #[arg(long, env = "CICADA_ONLY_SUMMARY")]
    pub only_summary: bool,

    /// How long users get to finish their current request when stopping.
    #[arg(
        long,
        env = "CICADA_STOP_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    pub stop_timeout: String,

    /// HTTP settings of the users.
    #[command(flatten)]
    pub client: ClientArgs,

    /// W3C trace context on requests: per-task (one trace per task run), per-request, or off.
    #[arg(
        long,
        env = "CICADA_TRACE_CONTEXT",
        default_value = "per-task",
        value_name = "MODE"
    )]
    pub trace_context: String,

    /// Share of traces marked sampled in `traceparent` (0.0-1.0).
    #[arg(
        long,
        env = "CICADA_TRACE_SAMPLE_RATIO",
        default_value_t = 1.0,
        value_name = "RATIO"
    )]
    pub trace_sample_ratio: f64,

    /// OTLP export of spans and metrics.
    #[command(flatten)]
    pub otel: OtelArgs,

    /// Seed for the users' random choices (default: random).
    #[arg(long, env = "CICADA_SEED", value_name = "N")]
    pub seed: Option<u64>,

    /// Request log lines, statistics rows, histogram buckets.
    #[command(flatten)]
    pub metrics: MetricsArgs,

    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,

    /// Threads running users (default: one per available core).
    #[arg(long, env = "CICADA_WORKER_THREADS", value_name = "N")]
    pub worker_threads: Option<usize>,

    /// Write the self-contained HTML report (tables and charts) to FILE at the end.
    #[arg(long, env = "CICADA_HTML", value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Address the web UI and API listen on (0.0.0.0: every interface).
    #[arg(
        long,
        env = "CICADA_WEB_HOST",
        default_value = "127.0.0.1",
        value_name = "ADDR"
    )]
    pub web_host: String,

    /// Port of the web UI and API; 0 picks a free port (the URL is printed at start).
    #[arg(
        long,
        env = "CICADA_WEB_PORT",
        default_value_t = 8089,
        value_name = "PORT"
    )]
    pub web_port: u16,

    /// Protect the web UI and API with HTTP basic authentication.
    #[arg(
        long,
        env = "CICADA_WEB_AUTH",
        hide_env_values = true,
        value_name = "USER:PASSWORD"
    )]
    pub web_auth: Option<String>,

    /// Protect the web UI and API with a bearer token (the UI asks for it once).
    #[arg(
        long,
        env = "CICADA_WEB_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub web_token: Option<String>,

    /// Show everything in the web UI and API but refuse changes (403).
    #[arg(long, env = "CICADA_WEB_READ_ONLY")]
    pub web_read_only: bool,

    /// Require the web credentials for /healthz, /readyz and /metrics too.
    #[arg(long, env = "CICADA_PROTECT_PROBES")]
    pub protect_probes: bool,
}

/// OTLP export (`run`, `master` and `worker`); the standard OTEL_* variables configure the
/// transport (see docs/observability.md).
#[derive(Debug, Args, Clone)]
pub struct OtelArgs {
    /// Export a span per sampled request (under a span per task run) over OTLP; the standard
    /// OTEL_* variables configure it (see docs/observability.md). On a worker, the master
    /// decides the trace context and sample ratio.
    #[arg(long, env = "CICADA_OTEL")]
    pub otel: bool,

    /// OTLP collector URL (implies --otel), e.g. http://127.0.0.1:4317 [default:
    /// OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4317].
    #[arg(long, env = "CICADA_OTEL_ENDPOINT", value_name = "URL")]
    pub otel_endpoint: Option<String>,

    /// Export the key metrics (requests, failures, latency histogram, users, process CPU and
    /// memory) over OTLP every OTEL_METRIC_EXPORT_INTERVAL (default 60 s), to the spans'
    /// endpoint: on a master, the totals of all workers; on a worker, its own (see
    /// docs/observability.md).
    #[arg(long, env = "CICADA_OTEL_METRICS")]
    pub otel_metrics: bool,
}

/// What is recorded and how the metrics are shaped (`run`, `master` and `worker`).
#[derive(Debug, Args, Clone)]
pub struct MetricsArgs {
    /// Share of requests logged as an INFO line (method, name, path without query, status,
    /// duration, user type, task, trace id; never headers or bodies), 0.0-1.0. On a master it
    /// has no effect: give it to the workers.
    #[arg(
        long,
        env = "CICADA_LOG_REQUESTS",
        default_value_t = 0.0,
        value_name = "RATIO"
    )]
    pub log_requests: f64,

    /// Distinct statistics rows kept before further ones share an overflow row (on a worker,
    /// the rows of its own metrics).
    #[arg(
        long,
        env = "CICADA_MAX_ENTRIES",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub max_entries: usize,

    /// Upper bounds of the /metrics latency histogram, seconds, comma-separated, ascending.
    #[arg(
        long,
        env = "CICADA_METRICS_BUCKETS",
        value_delimiter = ',',
        default_value = "0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10",
        value_name = "SECONDS,..."
    )]
    pub metrics_buckets: Vec<f64>,
}

/// Logging (every long-running command). Logs go to stderr.
#[derive(Debug, Args, Clone)]
pub struct LogArgs {
    /// Log format: text, json, or auto (text when stderr is a terminal, else JSON lines).
    #[arg(
        long,
        env = "CICADA_LOG_FORMAT",
        default_value = "auto",
        value_name = "FORMAT"
    )]
    pub log_format: String,

    /// Log level or RUST_LOG-style directives (e.g. info, cicada_engine=debug).
    #[arg(
        long,
        env = "CICADA_LOG_LEVEL",
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub log_level: String,
}

/// HTTP settings of the users (`run`, `master` and `worker`).
#[derive(Debug, Args, Clone)]
pub struct ClientArgs {
    /// TCP (and TLS) connect timeout.
    #[arg(
        long,
        env = "CICADA_CONNECT_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    pub connect_timeout: String,

    /// Request timeout when the scenario sets none.
    #[arg(
        long,
        env = "CICADA_REQUEST_TIMEOUT",
        default_value = "60s",
        value_name = "DURATION"
    )]
    pub request_timeout: String,

    /// Skip TLS certificate verification (for self-signed test targets only).
    #[arg(long, env = "CICADA_INSECURE")]
    pub insecure: bool,

    /// Extra CA certificates (PEM) to trust, e.g. a cluster-internal CA.
    #[arg(long, env = "CICADA_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Redirects followed per request (0 = none).
    #[arg(
        long,
        env = "CICADA_MAX_REDIRECTS",
        default_value_t = 5,
        value_name = "N"
    )]
    pub max_redirects: u8,

    /// Do not offer HTTP/2 over TLS (ALPN); use HTTP/1.1 only.
    #[arg(long, env = "CICADA_NO_HTTP2")]
    pub no_http2: bool,
}

/// The cluster's shared secret and TLS files (`master` and `worker`).
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Shared secret: a master with a token refuses workers without the same token.
    #[arg(
        long,
        env = "CICADA_CLUSTER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub cluster_token: Option<String>,

    /// TLS certificate (PEM) of this process: the master's identity, or a worker's for mutual
    /// TLS.
    #[arg(
        long,
        env = "CICADA_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// Private key (PEM) of --tls-cert.
    #[arg(
        long,
        env = "CICADA_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// CA certificate (PEM): on a worker, the CA that signed the master's certificate; on the
    /// master, requires workers to present a certificate signed by it.
    #[arg(long, env = "CICADA_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
}

/// Flags of `cicada master`: every flag of `run`, plus the cluster's.
#[derive(Debug, Args)]
pub struct MasterArgs {
    /// The run: scenario, host, users, web UI, reports.
    #[command(flatten)]
    pub run: RunArgs,

    /// Address workers connect to.
    #[arg(
        long,
        env = "CICADA_MASTER_BIND",
        default_value = "0.0.0.0:5557",
        value_name = "ADDR:PORT"
    )]
    pub master_bind: String,

    /// With --autostart or --headless: wait for this many workers before starting.
    #[arg(
        long,
        env = "CICADA_EXPECT_WORKERS",
        default_value_t = 0,
        value_name = "N"
    )]
    pub expect_workers: usize,

    /// A worker silent this long is lost and its users move to the others (after 3 s it shows
    /// as missing).
    #[arg(
        long,
        env = "CICADA_WORKER_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    pub worker_timeout: String,

    /// After the master starts, how long reconnecting workers may report the users they run
    /// (which the master adopts) before it changes anything.
    #[arg(
        long,
        env = "CICADA_ADOPT_WINDOW",
        default_value = "5s",
        value_name = "DURATION"
    )]
    pub adopt_window: String,

    /// Token and TLS.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Flags of `cicada worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The master's host name or address.
    #[arg(long, env = "CICADA_MASTER_HOST", value_name = "HOST")]
    pub master_host: Option<String>,

    /// The master's cluster port.
    #[arg(
        long,
        env = "CICADA_MASTER_PORT",
        default_value_t = 5557,
        value_name = "PORT"
    )]
    pub master_port: u16,

    /// Stable id of this worker (default: the host name, which is the pod name on Kubernetes).
    #[arg(long, env = "CICADA_WORKER_ID", value_name = "ID")]
    pub worker_id: Option<String>,

    /// Stop users after this long without a master (default: never; users keep their last
    /// assignment).
    #[arg(long, env = "CICADA_ORPHAN_TIMEOUT", value_name = "DURATION")]
    pub orphan_timeout: Option<String>,

    /// How long users get to finish their current request on SIGTERM.
    #[arg(
        long,
        env = "CICADA_STOP_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    pub stop_timeout: String,

    /// Token and TLS.
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// HTTP settings of the users.
    #[command(flatten)]
    pub client: ClientArgs,

    /// OTLP export of spans and metrics.
    #[command(flatten)]
    pub otel: OtelArgs,

    /// Serve this worker's own /metrics (and /healthz) on this port; 0 picks a free port (the
    /// URL is printed at start). Absent: no HTTP server.
    #[arg(long, env = "CICADA_METRICS_PORT", value_name = "PORT")]
    pub metrics_port: Option<u16>,

    /// Address of --metrics-port (0.0.0.0: every interface, as Prometheus in another pod needs).
    #[arg(
        long,
        env = "CICADA_METRICS_HOST",
        default_value = "0.0.0.0",
        value_name = "ADDR"
    )]
    pub metrics_host: String,

    /// Request log lines, statistics rows, histogram buckets.
    #[command(flatten)]
    pub metrics: MetricsArgs,

    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,

    /// Threads running users (default: one per available core).
    #[arg(long, env = "CICADA_WORKER_THREADS", value_name = "N")]
    pub worker_threads: Option<usize>,
}

/// Flags of `cicada target` (see docs/target.md).
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is logged).
    #[arg(
        long,
        env = "CICADA_TARGET_LISTEN",
        default_value = "127.0.0.1:3000",
        value_name = "ADDR"
    )]
    pub listen: std::net::SocketAddr,

    /// Seed of the seeded organizations and users, and of latency/error injection.
    #[arg(long, env = "CICADA_TARGET_SEED", default_value_t = cicada_target::DEFAULT_SEED, value_name = "N")]
    pub seed: u64,

    /// HS256 secret of the tokens (the real default is `secret`).
    #[arg(
        long,
        env = "CICADA_TARGET_JWT_SECRET",
        default_value = "secret",
        hide_env_values = true,
        hide_default_value = true,
        value_name = "SECRET"
    )]
    pub jwt_secret: String,

    /// Token lifetime (e.g. 7d, 1h, or seconds).
    #[arg(
        long,
        env = "CICADA_TARGET_JWT_EXPIRY",
        default_value = "7d",
        value_name = "DURATION"
    )]
    pub jwt_expiry: String,

    /// Records kept per organization and kind (policies, claims, quotes; also users); the
    /// oldest are evicted.
    #[arg(
        long,
        env = "CICADA_TARGET_MAX_RECORDS",
        default_value_t = 2000,
        value_name = "N"
    )]
    pub max_records: usize,

    /// Organizations kept (seeded ones are never evicted).
    #[arg(
        long,
        env = "CICADA_TARGET_MAX_ORGANIZATIONS",
        default_value_t = 1000,
        value_name = "N"
    )]
    pub max_organizations: usize,

    /// Injected latency, log-normal: MEDIAN[:P99] for every route, or
    /// '[METHOD ]ROUTE=MEDIAN[:P99]' for one (repeat or comma-separate), e.g. 20ms:200ms.
    #[arg(
        long,
        env = "CICADA_TARGET_LATENCY",
        value_delimiter = ',',
        value_name = "SPEC"
    )]
    pub latency: Vec<String>,

    /// Share of /api/v1 requests answered with an injected 500 (0.0-1.0).
    #[arg(
        long,
        env = "CICADA_TARGET_ERROR_RATE",
        default_value_t = 0.0,
        value_name = "RATIO"
    )]
    pub error_rate: f64,

    /// The gateway's per-IP rate limit: off, MAX (per 15 min) or MAX/WINDOW (e.g. 100/15m).
    #[arg(
        long,
        env = "CICADA_TARGET_RATE_LIMIT",
        default_value = "off",
        value_name = "LIMIT"
    )]
    pub rate_limit: String,

    /// JSON access log: on (stdout), stderr or off.
    #[arg(
        long,
        env = "CICADA_TARGET_ACCESS_LOG",
        default_value = "on",
        value_name = "WHERE"
    )]
    pub access_log: String,

    /// Export a server span per request over OTLP (a child of the caller's `traceparent`);
    /// the standard OTEL_* variables configure it.
    #[arg(long, env = "CICADA_OTEL")]
    pub otel: bool,

    /// OTLP collector URL (implies --otel).
    #[arg(long, env = "CICADA_OTEL_ENDPOINT", value_name = "URL")]
    pub otel_endpoint: Option<String>,

    /// The server's own log lines (stderr; the access log is separate).
    #[command(flatten)]
    pub log: LogArgs,

    /// Threads serving requests (default: one per available core).
    #[arg(long, env = "CICADA_WORKER_THREADS", value_name = "N")]
    pub worker_threads: Option<usize>,
}

/// Flags of `cicada demo`: the stand-in target on 127.0.0.1 plus a run against it.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The scenario to run (default: the built-in `dynaclaimz-agents`; e.g.
    /// `-f scenarios/dynaclaimz.yaml` for the README mix).
    #[command(flatten)]
    pub source: ScenarioArgs,

    /// Port of the stand-in target on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 3000, value_name = "PORT")]
    pub target_port: u16,

    /// Number of users.
    #[arg(short = 'u', long, default_value_t = 50, value_name = "N")]
    pub users: u64,

    /// Users started per second.
    #[arg(short = 'r', long, default_value_t = 5.0, value_name = "RATE")]
    pub spawn_rate: f64,

    /// Stop after this long (e.g. 30s, 5m); absent = run until Ctrl-C.
    #[arg(short = 't', long, value_name = "DURATION")]
    pub run_time: Option<String>,

    /// Print tables on stdout instead of serving the web UI.
    #[arg(long)]
    pub headless: bool,

    /// Port of the web UI (0 picks a free port).
    #[arg(long, default_value_t = 8089, value_name = "PORT")]
    pub web_port: u16,

    /// Write the JSON report to FILE at the end.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Export spans over OTLP from both the users (service `cicada`) and the target (service
    /// `cicada-target`): one connected trace per task run.
    #[arg(long)]
    pub otel: bool,

    /// OTLP collector URL (implies --otel).
    #[arg(long, value_name = "URL")]
    pub otel_endpoint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_master_and_worker_share_the_otel_and_metrics_flags() {
        let flags = [
            "--otel",
            "--otel-endpoint",
            "http://127.0.0.1:4317",
            "--otel-metrics",
            "--log-requests",
            "0.5",
            "--max-entries",
            "7",
            "--metrics-buckets",
            "0.1,1",
        ];
        for sub in ["run", "master", "worker"] {
            let argv = ["cicada", sub].into_iter().chain(flags);
            let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{sub}: {e}"));
            let (otel, metrics) = match cli.command {
                Command::Run(a) => (a.otel, a.metrics),
                Command::Master(a) => (a.run.otel, a.run.metrics),
                Command::Worker(a) => (a.otel, a.metrics),
                _ => unreachable!("{sub} was asked for"),
            };
            assert!(otel.otel && otel.otel_metrics, "{sub}");
            assert_eq!(
                otel.otel_endpoint.as_deref(),
                Some("http://127.0.0.1:4317"),
                "{sub}"
            );
            assert_eq!(
                (
                    metrics.log_requests,
                    metrics.max_entries,
                    metrics.metrics_buckets
                ),
                (0.5, 7, vec![0.1, 1.0]),
                "{sub}"
            );
        }
    }
}
