//! Injected latency: a log-normal distribution per route, given its median and p99.
//!
//! `--latency 20ms:200ms` applies to every route; `--latency 'POST /api/v1/quotes/{id}/convert=80ms:1s'`
//! overrides one route (the method is optional; `:id` may be written for `{id}`). A single
//! duration (`--latency 5ms`) is a constant delay. A log-normal fits service latencies well and
//! needs only the two numbers people know: with `median = e^μ` and `p99 = e^(μ + 2.326σ)`,
//! `σ = ln(p99/median) / 2.326`. Samples are capped at 10 × p99 so that one unlucky draw
//! cannot hold a request for minutes.
//!
//! Sampling takes two uniform numbers from the caller, which derives them from the request
//! number and the seed: reproducible in tests, no shared RNG on the hot path.

use std::time::Duration;

use crate::config::{ConfigError, parse_duration};
use crate::routes::ROUTES;

/// z-score of the 99th percentile of a standard normal distribution.
const Z99: f64 = 2.326_347_874_040_841;

/// Longest delay ever injected.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// A latency distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dist {
    median: Duration,
    p99: Duration,
}

impl Dist {
    /// `MEDIAN[:P99]`, e.g. `20ms:200ms` or `5ms`.
    pub fn parse(spec: &str) -> Result<Dist, String> {
        let (m, p) = spec.split_once(':').unwrap_or((spec, spec));
        let median = parse_duration(m.trim())?;
        let p99 = parse_duration(p.trim())?;
        if p99 < median {
            return Err(format!("the p99 ({p}) is below the median ({m})"));
        }
        if p99 > MAX_DELAY {
            return Err(format!("the p99 ({p}) is above the 60 s limit"));
        }
        Ok(Dist { median, p99 })
    }

    /// A delay from two uniform numbers in `[0, 1)`.
    pub fn sample(&self, u1: f64, u2: f64) -> Duration {
        let median = self.median.as_secs_f64();
        if median <= 0.0 || self.p99 == self.median {
            return self.median;
        }
        let sigma = (self.p99.as_secs_f64() / median).ln() / Z99;
        // Box-Muller; 1 - u1 is in (0, 1], so the logarithm is finite.
        let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let secs = median * (sigma * z).exp();
        let cap = (self.p99.as_secs_f64() * 10.0).min(MAX_DELAY.as_secs_f64());
        Duration::from_secs_f64(secs.clamp(0.0, cap))
    }
}

#[derive(Debug, Clone, PartialEq)]
struct RouteDist {
    method: Option<String>,
    template: String,
    dist: Dist,
}

/// The latency of every route.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyModel {
    default: Option<Dist>,
    routes: Vec<RouteDist>,
}

impl LatencyModel {
    /// No injected latency.
    pub fn none() -> LatencyModel {
        LatencyModel::default()
    }

    /// Parses `--latency` values: `MEDIAN[:P99]` or `[METHOD ]TEMPLATE=MEDIAN[:P99]`.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<LatencyModel, ConfigError> {
        let mut model = LatencyModel::default();
        for spec in specs {
            let spec = spec.as_ref().trim();
            if spec.is_empty() || spec.eq_ignore_ascii_case("off") {
                continue;
            }
            let bad = |reason: String| ConfigError::Latency {
                spec: spec.to_string(),
                reason,
            };
            match spec.split_once('=') {
                None => model.default = Some(Dist::parse(spec).map_err(bad)?),
                Some((route, dist)) => {
                    let dist = Dist::parse(dist).map_err(bad)?;
                    let (method, template) = match route.trim().split_once(' ') {
                        Some((m, t)) => (Some(m.trim().to_ascii_uppercase()), t.trim()),
                        None => (None, route.trim()),
                    };
                    let template = normalize_template(template);
                    let known = ROUTES.iter().any(|(m, t)| {
                        *t == template && method.as_deref().is_none_or(|want| want == *m)
                    });
                    if !known {
                        return Err(bad(format!(
                            "no route {}{template} (see docs/target.md for the list)",
                            method
                                .as_deref()
                                .map(|m| format!("{m} "))
                                .unwrap_or_default()
                        )));
                    }
                    model.routes.push(RouteDist {
                        method,
                        template,
                        dist,
                    });
                }
            }
        }
        Ok(model)
    }

    /// True when nothing is injected anywhere.
    pub fn is_none(&self) -> bool {
        self.default.is_none() && self.routes.is_empty()
    }

    /// The distribution for a request (the last matching override wins over the default).
    pub fn for_route(&self, method: &str, template: &str) -> Option<&Dist> {
        self.routes
            .iter()
            .rev()
            .find(|r| r.template == template && r.method.as_deref().is_none_or(|m| m == method))
            .map(|r| &r.dist)
            .or(self.default.as_ref())
    }
}

/// `/api/v1/quotes/:id/convert` → `/api/v1/quotes/{id}/convert` (axum's syntax).
fn normalize_template(t: &str) -> String {
    t.split('/')
        .map(|seg| match seg.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => seg.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{mix, unit};

    #[test]
    fn parses_default_and_overrides() {
        let m = LatencyModel::parse(&[
            "20ms:200ms",
            "POST /api/v1/quotes/:id/convert=100ms:1s",
            "/health=1ms",
        ])
        .unwrap();
        assert_eq!(
            m.for_route("GET", "/api/v1/policies"),
            Some(&Dist::parse("20ms:200ms").unwrap())
        );
        assert_eq!(
            m.for_route("POST", "/api/v1/quotes/{id}/convert"),
            Some(&Dist::parse("100ms:1s").unwrap())
        );
        assert_eq!(
            m.for_route("GET", "/health"),
            Some(&Dist::parse("1ms").unwrap())
        );
        assert!(LatencyModel::parse(&["off"]).unwrap().is_none());
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "fast",
            "200ms:20ms",
            "/nope=1ms",
            "DELETE /health=1ms",
            "1ms:2m",
        ] {
            assert!(LatencyModel::parse(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn log_normal_has_the_asked_median_and_p99() {
        let d = Dist::parse("20ms:200ms").unwrap();
        let mut samples: Vec<f64> = (0..20_000u64)
            .map(|n| {
                d.sample(unit(mix(7, n, 1)), unit(mix(7, n, 2)))
                    .as_secs_f64()
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        let p99 = samples[samples.len() * 99 / 100];
        assert!((0.018..0.022).contains(&median), "median {median}");
        assert!((0.16..0.25).contains(&p99), "p99 {p99}");
        assert!(samples.iter().all(|s| *s <= 2.0));
    }

    #[test]
    fn constant_and_zero() {
        let d = Dist::parse("5ms").unwrap();
        assert_eq!(d.sample(0.3, 0.9), Duration::from_millis(5));
        let z = Dist::parse("0ms:0ms").unwrap();
        assert_eq!(z.sample(0.5, 0.5), Duration::ZERO);
    }
}
