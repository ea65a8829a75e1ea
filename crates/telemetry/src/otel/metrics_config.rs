//! Whether and where metrics go over OTLP, from `--otel-metrics` and the `OTEL_*` variables.
//!
//! Opt-in like spans: `--otel-metrics` (or an explicit `OTEL_METRICS_EXPORTER=otlp`) turns it on;
//! `OTEL_METRICS_EXPORTER=none` or `OTEL_SDK_DISABLED=true` turn it off. The spec's default of
//! `otlp` for `OTEL_METRICS_EXPORTER` is not applied when the variable is unset: an operator's
//! cluster-wide OTLP settings must not switch on a load generator's export by themselves.
//!
//! The transport (endpoint, protocol, headers, timeout, service and resource) is the spans'
//! ([`OtelConfig::resolve_signal`] with [`Signal::Metrics`]): `--otel-endpoint` and
//! `OTEL_EXPORTER_OTLP_ENDPOINT` are bases (http/protobuf appends `/v1/metrics`),
//! `OTEL_EXPORTER_OTLP_METRICS_*` override per setting. The period is
//! `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds, default 60000 as the spec says).

use std::time::Duration;

use super::config::{OtelConfig, OtelConfigError, Signal, sdk_disabled};

/// Export period by default (the spec's `OTEL_METRIC_EXPORT_INTERVAL` default).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Shortest accepted period (tests use a fraction of a second; nothing needs less).
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// What the flags say about metric export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtelMetricsFlags {
    /// `--otel-metrics`.
    pub enabled: bool,
    /// `--otel-endpoint URL` (a base shared with spans; does not by itself enable metrics).
    pub endpoint: Option<String>,
}

/// Resolved metric export settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtelMetricsConfig {
    /// Endpoint, protocol, headers, timeout, service and resource (the queue and batch
    /// settings of [`OtelConfig`] are unused for metrics).
    pub transport: OtelConfig,
    /// How often the metrics are sent.
    pub interval: Duration,
}

impl OtelMetricsConfig {
    /// The settings, or `None` when metric export is off.
    pub fn resolve(
        flags: &OtelMetricsFlags,
        default_service: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<OtelMetricsConfig>, OtelConfigError> {
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_ascii_lowercase())
                .filter(|v| !v.is_empty())
        };
        let exporter = var("OTEL_METRICS_EXPORTER");
        let enabled = match exporter.as_deref() {
            Some("none") => false,
            Some("otlp") => true,
            // Another exporter (prometheus, console) is not ours to offer; with the flag that is
            // a contradiction worth stopping for, without it the variable is for someone else.
            Some(other) if flags.enabled => {
                return Err(OtelConfigError::Invalid {
                    name: "OTEL_METRICS_EXPORTER",
                    reason: format!(
                        "`{other}` is not supported with --otel-metrics (expected otlp or none; \
                         Prometheus scrapes /metrics instead)"
                    ),
                });
            }
            Some(_) => false,
            None => flags.enabled,
        };
        if !enabled || sdk_disabled(env) {
            return Ok(None);
        }
        let transport = OtelConfig::resolve_signal(
            flags.endpoint.as_deref(),
            default_service,
            env,
            Signal::Metrics,
        )?;
        let interval = match var("OTEL_METRIC_EXPORT_INTERVAL") {
            None => DEFAULT_INTERVAL,
            Some(v) => v
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| OtelConfigError::Invalid {
                    name: "OTEL_METRIC_EXPORT_INTERVAL",
                    reason: format!("`{v}` is not a number of milliseconds"),
                })?
                .max(MIN_INTERVAL),
        };
        Ok(Some(OtelMetricsConfig {
            transport,
            interval,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::otel::Protocol;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn on() -> OtelMetricsFlags {
        OtelMetricsFlags {
            enabled: true,
            endpoint: None,
        }
    }

    #[test]
    fn opt_in_by_flag_or_an_explicit_exporter_variable() {
        let e = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")]);
        let off = OtelMetricsFlags::default();
        assert_eq!(OtelMetricsConfig::resolve(&off, "cicada", &e), Ok(None));
        let c = OtelMetricsConfig::resolve(&on(), "cicada", &e)
            .unwrap()
            .unwrap();
        assert_eq!(c.transport.endpoint, "http://c:4317");
        assert_eq!(c.interval, DEFAULT_INTERVAL);
        let asked = env(&[("OTEL_METRICS_EXPORTER", "OTLP")]);
        assert!(
            OtelMetricsConfig::resolve(&off, "cicada", &asked)
                .unwrap()
                .is_some()
        );
        for (k, v) in [
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_SDK_DISABLED", "true"),
        ] {
            assert_eq!(
                OtelMetricsConfig::resolve(&on(), "cicada", &env(&[(k, v)])),
                Ok(None),
                "{k}={v}"
            );
        }
        // Someone else's exporter: ignored without the flag, refused with it.
        let prom = env(&[("OTEL_METRICS_EXPORTER", "prometheus")]);
        assert_eq!(OtelMetricsConfig::resolve(&off, "cicada", &prom), Ok(None));
        let err = OtelMetricsConfig::resolve(&on(), "cicada", &prom).unwrap_err();
        assert!(err.to_string().contains("OTEL_METRICS_EXPORTER"), "{err}");
    }

    #[test]
    fn metrics_variables_and_path() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-key=m"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5"),
        ]);
        let c = OtelMetricsConfig::resolve(&on(), "cicada", &e)
            .unwrap()
            .unwrap();
        assert_eq!(c.transport.protocol, Protocol::HttpProtobuf);
        assert_eq!(c.transport.endpoint, "http://c:4318/v1/metrics");
        assert_eq!(c.transport.timeout, Duration::from_millis(2500));
        assert_eq!(c.transport.headers, [("x-key".into(), "m".into())]);
        assert_eq!(c.interval, MIN_INTERVAL, "clamped");
        let flags = OtelMetricsFlags {
            enabled: true,
            endpoint: Some("http://flag:4318/".into()),
        };
        let c = OtelMetricsConfig::resolve(&flags, "cicada", &e)
            .unwrap()
            .unwrap();
        assert_eq!(c.transport.endpoint, "http://flag:4318/v1/metrics");
        let own = env(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:1/custom")]);
        let c = OtelMetricsConfig::resolve(&on(), "cicada", &own)
            .unwrap()
            .unwrap();
        assert_eq!(c.transport.endpoint, "http://m:1/custom", "used as is");
        let bad = env(&[("OTEL_METRIC_EXPORT_INTERVAL", "soon")]);
        assert!(OtelMetricsConfig::resolve(&on(), "cicada", &bad).is_err());
    }
}
