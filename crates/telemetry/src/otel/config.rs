//! Where spans go, from the flags and the standard `OTEL_*` variables.
//!
//! Export is opt-in: `--otel` (or `--otel-endpoint URL`, which implies it) switches it on. The
//! `OTEL_*` variables only configure it. A load generator produces a span per request; an
//! `OTEL_EXPORTER_OTLP_ENDPOINT` injected into every pod of a cluster (as operators often do)
//! must not silently turn that on. `OTEL_SDK_DISABLED=true` turns it off even with `--otel`.
//!
//! Precedence, per setting: flag > signal-specific variable (`..._TRACES_...`) > generic
//! variable > default. The environment is read through a closure (`std::env::var` in the
//! binary, a map in tests), never changed.
//!
//! | Setting | Variables | Default |
//! | --- | --- | --- |
//! | endpoint | `--otel-endpoint`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), `OTEL_EXPORTER_OTLP_ENDPOINT` (a base: http/protobuf appends `/v1/traces`) | `http://localhost:4317` (grpc), `http://localhost:4318/v1/traces` |
//! | protocol | `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` or `http/protobuf` | `grpc` |
//! | headers | `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, `OTEL_EXPORTER_OTLP_HEADERS`: `k=v,k2=v2` (values percent-decoded) | none |
//! | timeout | `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds) | 10 s |
//! | service | `OTEL_SERVICE_NAME`, else `service.name` in `OTEL_RESOURCE_ATTRIBUTES` | the process's |
//! | resource | `OTEL_RESOURCE_ATTRIBUTES`: `k=v,...` (values percent-decoded) | none |
//! | queue | `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY` (ms) | 8192, 512, 1000 ms |
//!
//! Metrics (`--otel-metrics`, [`super::metrics_config`]) resolve the same settings with
//! [`Signal::Metrics`]: `OTEL_EXPORTER_OTLP_METRICS_*` instead of `..._TRACES_...`, and
//! `/v1/metrics` appended to an http/protobuf base endpoint.
//!
//! Header values are secrets (API keys): errors name the header, never its value, and
//! `Debug` of [`OtelConfig`] hides them.

use std::fmt;
use std::time::Duration;

/// Spans queued at most by default (a few seconds of a busy generator's sampled requests).
pub const DEFAULT_QUEUE: usize = 8192;
/// Largest accepted `OTEL_BSP_MAX_QUEUE_SIZE` (memory stays bounded whatever is asked).
pub const MAX_QUEUE: usize = 1 << 20;
/// Spans per export request by default.
pub const DEFAULT_BATCH: usize = 512;
/// How often a partial batch is sent by default.
pub const DEFAULT_DELAY: Duration = Duration::from_millis(1000);
/// Export timeout by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Resource attributes and headers kept at most.
const MAX_PAIRS: usize = 64;

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC (tonic).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (hyper; `http://` endpoints only).
    HttpProtobuf,
}

/// What the flags say about export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtelFlags {
    /// `--otel`.
    pub enabled: bool,
    /// `--otel-endpoint URL` (implies `--otel`).
    pub endpoint: Option<String>,
}

/// A setting that does not make sense.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OtelConfigError {
    /// A value does not parse.
    #[error("invalid {name}: {reason}")]
    Invalid {
        /// The flag or variable.
        name: &'static str,
        /// Why (never contains a header value).
        reason: String,
    },
}

fn invalid(name: &'static str, reason: impl Into<String>) -> OtelConfigError {
    OtelConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// Resolved export settings.
#[derive(Clone, PartialEq, Eq)]
pub struct OtelConfig {
    /// The URL the exporter sends to (for http/protobuf, including `/v1/traces`).
    pub endpoint: String,
    /// gRPC or HTTP/protobuf.
    pub protocol: Protocol,
    /// Extra request headers / gRPC metadata (e.g. an API key). Secret: never logged.
    pub headers: Vec<(String, String)>,
    /// `service.name`.
    pub service_name: String,
    /// Further resource attributes (`deployment.environment`, ...), without `service.name`.
    pub resource: Vec<(String, String)>,
    /// How long one export request may take.
    pub timeout: Duration,
    /// Spans queued at most; beyond, spans are dropped and counted.
    pub queue_capacity: usize,
    /// Spans per export request at most.
    pub batch_size: usize,
    /// How long a partial batch waits before it is sent.
    pub flush_interval: Duration,
}

impl fmt::Debug for OtelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OtelConfig")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &header_names)
            .field("service_name", &self.service_name)
            .field("resource", &self.resource)
            .field("timeout", &self.timeout)
            .field("queue_capacity", &self.queue_capacity)
            .field("batch_size", &self.batch_size)
            .field("flush_interval", &self.flush_interval)
            .finish()
    }
}

/// Which OTLP signal a transport is resolved for: the variables and the HTTP path differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Spans (`OTEL_EXPORTER_OTLP_TRACES_*`, `/v1/traces`).
    Traces,
    /// Metrics (`OTEL_EXPORTER_OTLP_METRICS_*`, `/v1/metrics`).
    Metrics,
}

/// The signal-specific variable names: endpoint, protocol, headers, timeout.
struct SignalNames {
    endpoint: &'static str,
    protocol: &'static str,
    headers: &'static str,
    timeout: &'static str,
    path: &'static str,
}

impl Signal {
    fn names(self) -> SignalNames {
        match self {
            Signal::Traces => SignalNames {
                endpoint: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                protocol: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                headers: "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                timeout: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                path: "/v1/traces",
            },
            Signal::Metrics => SignalNames {
                endpoint: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                protocol: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                headers: "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                timeout: "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
                path: "/v1/metrics",
            },
        }
    }
}

/// True when `OTEL_SDK_DISABLED=true` (export off whatever the flags say).
pub(crate) fn sdk_disabled(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

impl OtelConfig {
    /// The export settings, or `None` when export is off. `default_service` names the process
    /// when no variable does (`cicada`, `cicada-target`).
    pub fn resolve(
        flags: &OtelFlags,
        default_service: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<OtelConfig>, OtelConfigError> {
        let endpoint_flag = flags
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if !flags.enabled && endpoint_flag.is_none() {
            return Ok(None);
        }
        if sdk_disabled(env) {
            return Ok(None);
        }
        OtelConfig::resolve_signal(endpoint_flag, default_service, env, Signal::Traces).map(Some)
    }

    /// The transport settings of one signal (export is known to be on). `endpoint_flag` is
    /// `--otel-endpoint`, a base URL for both signals.
    pub fn resolve_signal(
        endpoint_flag: Option<&str>,
        default_service: &str,
        env: &dyn Fn(&str) -> Option<String>,
        signal: Signal,
    ) -> Result<OtelConfig, OtelConfigError> {
        let names = signal.names();
        // Empty variables count as unset (a common way to "clear" one in a manifest).
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let first = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|n| var(n).map(|v| (n, v.trim().to_string())))
        };
        let endpoint_flag = endpoint_flag.map(str::trim).filter(|s| !s.is_empty());

        let protocol = match first([names.protocol, "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
            None => Protocol::Grpc,
            Some((_, v)) if v == "grpc" => Protocol::Grpc,
            Some((_, v)) if v == "http/protobuf" => Protocol::HttpProtobuf,
            Some((name, v)) => {
                return Err(invalid(
                    name,
                    format!("`{v}` is not supported (expected grpc or http/protobuf)"),
                ));
            }
        };

        let (endpoint_name, endpoint) = if let Some(url) = endpoint_flag {
            ("--otel-endpoint", base_endpoint(url, protocol, names.path))
        } else if let Some(url) = var(names.endpoint) {
            (names.endpoint, url.trim().to_string())
        } else if let Some(url) = var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                base_endpoint(&url, protocol, names.path),
            )
        } else {
            let default = match protocol {
                Protocol::Grpc => "http://localhost:4317".to_string(),
                Protocol::HttpProtobuf => format!("http://localhost:4318{}", names.path),
            };
            ("the default endpoint", default)
        };
        check_endpoint(endpoint_name, &endpoint, protocol)?;

        let headers = match first([names.headers, "OTEL_EXPORTER_OTLP_HEADERS"]) {
            Some((name, v)) => parse_pairs(name, &v, true)?,
            None => Vec::new(),
        };
        let mut resource = match var("OTEL_RESOURCE_ATTRIBUTES") {
            Some(v) => parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &v, false)?,
            None => Vec::new(),
        };
        let from_resource = resource
            .iter()
            .position(|(k, _)| k == "service.name")
            .map(|i| resource.remove(i).1);
        let service_name = var("OTEL_SERVICE_NAME")
            .map(|s| s.trim().to_string())
            .or(from_resource)
            .unwrap_or_else(|| default_service.to_string());

        let millis = |names: [&'static str; 2], default: Duration| match first(names) {
            None => Ok(default),
            Some((name, v)) => v
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| invalid(name, format!("`{v}` is not a number of milliseconds"))),
        };
        let timeout = millis(
            [names.timeout, "OTEL_EXPORTER_OTLP_TIMEOUT"],
            DEFAULT_TIMEOUT,
        )?;
        let count = |name: &'static str, default: usize| match var(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n.min(MAX_QUEUE)),
                _ => Err(invalid(name, format!("`{v}` is not a positive number"))),
            },
        };
        let queue_capacity = count("OTEL_BSP_MAX_QUEUE_SIZE", DEFAULT_QUEUE)?;
        let batch_size =
            count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", DEFAULT_BATCH)?.min(queue_capacity);
        let flush_interval = millis(
            ["OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_SCHEDULE_DELAY"],
            DEFAULT_DELAY,
        )?
        .max(Duration::from_millis(10));

        Ok(OtelConfig {
            endpoint,
            protocol,
            headers,
            service_name,
            resource,
            timeout,
            queue_capacity,
            batch_size,
            flush_interval,
        })
    }
}

/// A base endpoint: gRPC uses it as is; HTTP appends the signal's path (`/v1/traces`,
/// `/v1/metrics`) unless one is already there. A base that ends in the other signal's path
/// (`--otel-endpoint http://c:4318/v1/traces` with metrics on) has it replaced.
fn base_endpoint(url: &str, protocol: Protocol, path: &str) -> String {
    let url = url.trim();
    let trimmed = url.trim_end_matches('/');
    match protocol {
        Protocol::Grpc => url.to_string(),
        Protocol::HttpProtobuf if trimmed.ends_with(path) => url.to_string(),
        Protocol::HttpProtobuf => {
            let base = ["/v1/traces", "/v1/metrics"]
                .iter()
                .find_map(|p| trimmed.strip_suffix(p))
                .unwrap_or(trimmed);
            format!("{base}{path}")
        }
    }
}

fn check_endpoint(
    name: &'static str,
    endpoint: &str,
    protocol: Protocol,
) -> Result<(), OtelConfigError> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| invalid(name, format!("`{endpoint}` is not a URL ({e})")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(name, format!("`{endpoint}` has no host")));
    }
    match (url.scheme(), protocol) {
        ("http", _) | ("https", Protocol::Grpc) => Ok(()),
        ("https", Protocol::HttpProtobuf) => Err(invalid(
            name,
            "https is not supported with http/protobuf (its client has no TLS); use grpc \
             (OTEL_EXPORTER_OTLP_PROTOCOL=grpc) or a plain http collector",
        )),
        (scheme, _) => Err(invalid(
            name,
            format!("the scheme `{scheme}` is not http or https"),
        )),
    }
}

/// `k=v,k2=v2` with percent-decoded values (the W3C baggage-like format the OTel spec uses).
/// For headers, names must be valid header names; values are checked without echoing them.
fn parse_pairs(
    name: &'static str,
    text: &str,
    headers: bool,
) -> Result<Vec<(String, String)>, OtelConfigError> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            // Never print the item: for headers it may be a bare secret.
            return Err(invalid(name, "every entry must be key=value"));
        };
        let key = k.trim().to_string();
        let value = percent_decode(v.trim());
        if key.is_empty() {
            return Err(invalid(name, "an entry has an empty key"));
        }
        if headers {
            let key_ok = key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b));
            if !key_ok {
                return Err(invalid(name, format!("`{key}` is not a header name")));
            }
            if value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(invalid(
                    name,
                    format!("the value of `{key}` holds control characters"),
                ));
            }
        }
        if out.len() >= MAX_PAIRS {
            return Err(invalid(name, format!("more than {MAX_PAIRS} entries")));
        }
        // Header names are case-insensitive and gRPC metadata keys must be lower case;
        // resource attribute keys are kept as given.
        let key = if headers {
            key.to_ascii_lowercase()
        } else {
            key
        };
        out.push((key, value));
    }
    Ok(out)
}

/// `%XX` escapes decoded (invalid escapes and non-UTF-8 results are kept as given).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn on() -> OtelFlags {
        OtelFlags {
            enabled: true,
            endpoint: None,
        }
    }

    #[test]
    fn off_unless_asked_even_with_an_endpoint_variable() {
        let e = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")]);
        assert_eq!(
            OtelConfig::resolve(&OtelFlags::default(), "cicada", &e),
            Ok(None)
        );
        let flags = OtelFlags {
            enabled: false,
            endpoint: Some("http://127.0.0.1:4317".into()),
        };
        let c = OtelConfig::resolve(&flags, "cicada", &e).unwrap().unwrap();
        assert_eq!(
            c.endpoint, "http://127.0.0.1:4317",
            "the flag wins and implies --otel"
        );
        let disabled = env(&[("OTEL_SDK_DISABLED", "TRUE")]);
        assert_eq!(OtelConfig::resolve(&on(), "cicada", &disabled), Ok(None));
    }

    #[test]
    fn defaults() {
        let c = OtelConfig::resolve(&on(), "cicada", &env(&[]))
            .unwrap()
            .unwrap();
        assert_eq!(c.endpoint, "http://localhost:4317");
        assert_eq!(c.protocol, Protocol::Grpc);
        assert_eq!(c.service_name, "cicada");
        assert!(c.headers.is_empty() && c.resource.is_empty());
        assert_eq!(
            (c.timeout, c.queue_capacity, c.batch_size, c.flush_interval),
            (DEFAULT_TIMEOUT, DEFAULT_QUEUE, DEFAULT_BATCH, DEFAULT_DELAY)
        );
    }

    #[test]
    fn variables_fill_everything() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "X-Api-Key=s%3Dcret, team=load",
            ),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-resource,deployment.environment=staging%20eu",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ]);
        let c = OtelConfig::resolve(&on(), "cicada", &e).unwrap().unwrap();
        assert_eq!(c.protocol, Protocol::HttpProtobuf);
        assert_eq!(c.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(
            c.headers,
            [
                ("x-api-key".to_string(), "s=cret".to_string()),
                ("team".to_string(), "load".to_string())
            ]
        );
        assert_eq!(c.service_name, "from-resource");
        assert_eq!(
            c.resource,
            [(
                "deployment.environment".to_string(),
                "staging eu".to_string()
            )]
        );
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!((c.queue_capacity, c.batch_size), (100, 100));
        assert_eq!(c.flush_interval, Duration::from_millis(200));
        assert!(
            !format!("{c:?}").contains("s=cret"),
            "Debug hides header values"
        );
    }

    #[test]
    fn signal_specific_variables_win() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:9999/custom",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", "svc"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=ignored"),
        ]);
        let c = OtelConfig::resolve(&on(), "cicada", &e).unwrap().unwrap();
        assert_eq!(c.protocol, Protocol::Grpc);
        assert_eq!(c.endpoint, "http://traces:9999/custom", "used as is");
        assert_eq!(c.service_name, "svc");
        assert!(c.resource.is_empty());
    }

    #[test]
    fn bad_values_are_refused_without_echoing_secrets() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")], "PROTOCOL"),
            (&[("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")], "ENDPOINT"),
            (&[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x:1")], "ENDPOINT"),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318"),
                ],
                "https",
            ),
            (&[("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")], "TIMEOUT"),
            (&[("OTEL_BSP_MAX_QUEUE_SIZE", "0")], "QUEUE"),
            (&[("OTEL_EXPORTER_OTLP_HEADERS", "hunter2")], "HEADERS"),
            (
                &[("OTEL_EXPORTER_OTLP_HEADERS", "bad key=hunter2")],
                "bad key",
            ),
        ];
        for (vars, needle) in cases {
            let err = OtelConfig::resolve(&on(), "cicada", &env(vars)).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(needle), "{vars:?}: {text}");
            assert!(!text.contains("hunter2"), "{text}");
        }
    }

    #[test]
    fn https_works_with_grpc_and_http_paths_are_not_doubled() {
        let flags = OtelFlags {
            enabled: true,
            endpoint: Some("https://collector.example:4317".into()),
        };
        let c = OtelConfig::resolve(&flags, "x", &env(&[]))
            .unwrap()
            .unwrap();
        assert_eq!(c.endpoint, "https://collector.example:4317");
        assert_eq!(
            base_endpoint(
                "http://c:4318/v1/traces",
                Protocol::HttpProtobuf,
                "/v1/traces"
            ),
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            base_endpoint(
                "http://c:4318/v1/traces/",
                Protocol::HttpProtobuf,
                "/v1/metrics"
            ),
            "http://c:4318/v1/metrics"
        );
        assert_eq!(percent_decode("a%2Cb%zz%"), "a,b%zz%");
    }
}
