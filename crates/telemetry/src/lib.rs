//! Logging for every cicada process, set up once from flags or the environment.
//!
//! Logs go to stderr (stdout carries reports and tables): human-readable text, or one JSON
//! object per line ([`json`]: stable field names for log pipelines). `--log-format auto` (the
//! default) picks text when stderr is a terminal and JSON when it is not (a container, a file,
//! a pipe). The level comes from `--log-level`, which takes `RUST_LOG`-style directives
//! (`info`, `cicada_engine=debug`).
//!
//! Nothing logged by cicada contains secrets: request headers and bodies are never logged, the
//! engine redacts what its users log with the secrets they know, and every line is scrubbed of
//! secret shapes (bearer tokens, JWTs, `password=...`) on its way out ([`scrubbed`],
//! `cicada-redact`).
//!
//! Besides the console, every WARN and ERROR event is copied into a bounded [`LogBuffer`]
//! ([`logs`]) that the web UI shows in its Logs tab. The console's level filter applies to the
//! console only (a per-layer filter), so the ring still sees warnings when `--log-level error`
//! silences them on stderr.
//!
//! Traces: [`otel`] exports spans over OTLP (`--otel`), with a bounded queue that drops and
//! counts rather than ever making a user wait.

pub mod json;
mod logs;
pub mod otel;
pub mod scrubbed;

use std::io::IsTerminal;
use std::str::FromStr;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use logs::{DEFAULT_CAPACITY, LogBuffer, LogEvent, MAX_EVENT_CHARS};

/// How log lines look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text (colours on a terminal).
    #[default]
    Text,
    /// One JSON object per line (see [`json`]).
    Json,
}

impl LogFormat {
    /// Parses `text`, `json` or `auto`; `auto` is text when `terminal` (stderr is a terminal),
    /// else JSON.
    pub fn parse_with(s: &str, terminal: bool) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" | "plain" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            "auto" | "" => Ok(if terminal {
                LogFormat::Text
            } else {
                LogFormat::Json
            }),
            other => Err(format!(
                "unknown log format `{other}` (expected auto, text or json)"
            )),
        }
    }
}

impl FromStr for LogFormat {
    type Err = String;
    /// Like [`LogFormat::parse_with`], asking whether this process's stderr is a terminal.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogFormat::parse_with(s, std::io::stderr().is_terminal())
    }
}

/// Errors setting up logging.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The level directive does not parse.
    #[error("invalid log level `{directive}`: {reason}")]
    BadLevel {
        /// What was given.
        directive: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A global subscriber was already installed (only the first call wins).
    #[error("logging was already initialised")]
    AlreadySet,
}

/// Parses a level directive without installing anything (to validate flags early).
pub fn parse_level(directive: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::builder()
        .parse(directive)
        .map_err(|e| TelemetryError::BadLevel {
            directive: directive.to_string(),
            reason: e.to_string(),
        })
}

/// What [`init`] sets up.
#[derive(Clone, Debug, Default)]
pub struct LogSettings {
    /// Text or JSON.
    pub format: LogFormat,
    /// Level directives (`info`, `cicada_engine=debug,warn`).
    pub level: String,
    /// Fields of the process added to every JSON line, e.g. `("worker_id", "pod-7")`.
    pub fields: Vec<(String, String)>,
}

/// Installs the process-wide subscriber. Call once, from `main`. Returns the ring of recent
/// warnings and errors (the last [`DEFAULT_CAPACITY`]) for the web UI.
pub fn init_logging(format: LogFormat, level: &str) -> Result<LogBuffer, TelemetryError> {
    init(&LogSettings {
        format,
        level: level.to_owned(),
        fields: Vec::new(),
    })
}

/// Like [`init_logging`], with process fields (see [`LogSettings`]).
pub fn init(settings: &LogSettings) -> Result<LogBuffer, TelemetryError> {
    let filter = parse_level(&settings.level)?;
    let logs = LogBuffer::new(DEFAULT_CAPACITY);
    // Colours only on a terminal: redirected logs stay free of escape codes.
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::registry()
        .with(logs.layer())
        .with(console_layer(settings, filter, std::io::stderr, ansi))
        .try_init()
        .map_err(|_| TelemetryError::AlreadySet)?;
    Ok(logs)
}

/// The console layer: text or JSON lines to `writer`, scrubbed, filtered by `filter`.
pub fn console_layer<S, W>(
    settings: &LogSettings,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let writer = scrubbed::Scrubbed(writer);
    match settings.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_target(false)
            .with_ansi(ansi)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => {
            let fields = settings
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            tracing_subscriber::fmt::layer()
                .fmt_fields(JsonFields::new())
                .event_format(json::JsonLines::new(fields))
                .with_writer(writer)
                .with_filter(filter)
                .boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("TEXT".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("xml".parse::<LogFormat>().is_err());
        assert_eq!(LogFormat::parse_with("auto", true), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse_with("auto", false), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse_with("json", true), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse_with("text", false), Ok(LogFormat::Text));
    }

    #[test]
    fn bad_levels_are_rejected() {
        assert!(parse_level("info").is_ok());
        assert!(parse_level("cicada_engine=debug,warn").is_ok());
        assert!(matches!(
            parse_level("info=[oops"),
            Err(TelemetryError::BadLevel { .. })
        ));
    }
}
