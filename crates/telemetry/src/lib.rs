//! Logging for every cicada process, set up once from flags or the environment.
//!
//! Logs go to stderr (stdout carries reports and tables): human-readable text by default, one
//! JSON object per line with `--log-format json` (for Kubernetes log pipelines). The level comes
//! from `--log-level`, which takes `RUST_LOG`-style directives (`info`, `cicada_engine=debug`).
//!
//! Nothing logged by cicada contains secrets: request headers and bodies are never logged.
//!
//! Besides the console, every WARN and ERROR event is copied into a bounded [`LogBuffer`]
//! ([`logs`]) that the web UI shows in its Logs tab. The console's level filter applies to the
//! console only (a per-layer filter), so the ring still sees warnings when `--log-level error`
//! silences them on stderr.
//!
//! Traces: [`otel`] exports spans over OTLP (`--otel`), with a bounded queue that drops and
//! counts rather than ever making a user wait.

mod logs;
pub mod otel;

use std::io::IsTerminal;
use std::str::FromStr;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer as _};

pub use logs::{DEFAULT_CAPACITY, LogBuffer, LogEvent, MAX_EVENT_CHARS};

/// How log lines look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text (colours on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "plain" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format `{other}` (expected text or json)"
            )),
        }
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

/// Installs the process-wide subscriber. Call once, from `main`. Returns the ring of recent
/// warnings and errors (the last [`DEFAULT_CAPACITY`]) for the web UI.
pub fn init_logging(format: LogFormat, level: &str) -> Result<LogBuffer, TelemetryError> {
    let filter = parse_level(level)?;
    let logs = LogBuffer::new(DEFAULT_CAPACITY);
    let registry = tracing_subscriber::registry().with(logs.layer());
    let result = match format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_target(false)
                    // Colours only on a terminal: redirected logs stay free of escape codes.
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init(),
    };
    result.map_err(|_| TelemetryError::AlreadySet)?;
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("TEXT".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("xml".parse::<LogFormat>().is_err());
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
