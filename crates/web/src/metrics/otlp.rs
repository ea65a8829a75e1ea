//! The key metrics as OpenTelemetry families, for the OTLP export (`--otel-metrics`).
//!
//! Names follow the semantic conventions where one exists (`http.client.request.duration`, in
//! seconds, with `http.request.method`); the rest are ours under `cicada.` (see
//! docs/observability.md). Values are the same cumulative statistics `/metrics` shows.
//!
//! The process's own CPU time and memory (what `/metrics` shows as `process_cpu_seconds_total`
//! and `process_resident_memory_bytes`) use the semantic conventions' `process.cpu.time`
//! (seconds, per `cpu.mode` where the platform splits user and system time),
//! `process.memory.usage` (resident bytes) and `process.memory.virtual`.

use cicada_control::process::ProcessTotals;
use cicada_telemetry::otel::{Attributes, HistogramPoint, MetricFamily, MetricValues};

use super::MetricsInputs;

fn row_attributes(method: &str, name: &str) -> Attributes {
    vec![
        ("http.request.method", method.to_owned()),
        ("cicada.request.name", name.to_owned()),
    ]
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `process.cpu.time`, `process.memory.usage` and `process.memory.virtual`.
fn process_families(process: &ProcessTotals) -> [MetricFamily; 3] {
    let cpu = match process.cpu_modes {
        Some((user, system)) => vec![
            (vec![("cpu.mode", "user".to_owned())], user),
            (vec![("cpu.mode", "system".to_owned())], system),
        ],
        None => vec![(Vec::new(), process.cpu_seconds)],
    };
    [
        MetricFamily {
            name: "process.cpu.time",
            description: "CPU time of this process, by CPU mode (user, system)",
            unit: "s",
            values: MetricValues::ProcessCounter(cpu),
        },
        MetricFamily {
            name: "process.memory.usage",
            description: "Resident memory (RSS) of this process",
            unit: "By",
            values: MetricValues::UpDown(vec![(Vec::new(), gauge_value(process.resident_bytes))]),
        },
        MetricFamily {
            name: "process.memory.virtual",
            description: "Virtual memory of this process",
            unit: "By",
            values: MetricValues::UpDown(vec![(Vec::new(), gauge_value(process.virtual_bytes))]),
        },
    ]
}

/// Requests, failures, the latency histogram, users per type and the target; the process's
/// CPU and memory when `inputs.process` is set.
pub fn otel_families(inputs: &MetricsInputs) -> Vec<MetricFamily> {
    let mut requests = Vec::with_capacity(inputs.rows.len());
    let mut histogram = Vec::with_capacity(inputs.rows.len());
    for row in &inputs.rows {
        requests.push((row_attributes(&row.method, &row.name), row.count));
        let mut bucket_counts = Vec::with_capacity(inputs.bounds.len() + 1);
        let mut below = 0u64;
        for &cumulative in row.at_or_below.iter().take(inputs.bounds.len()) {
            bucket_counts.push(cumulative.saturating_sub(below));
            below = cumulative;
        }
        // Rows counted at fewer bounds than given (never, but cheap to keep consistent).
        bucket_counts.resize(inputs.bounds.len(), 0);
        bucket_counts.push(row.count.saturating_sub(below));
        histogram.push(HistogramPoint {
            attributes: row_attributes(&row.method, &row.name),
            count: row.count,
            // Microseconds to seconds.
            sum: row.sum_us as f64 / 1e6,
            bucket_counts,
        });
    }
    let failures = inputs
        .failures
        .iter()
        .map(|f| {
            let mut a = row_attributes(&f.method, &f.name);
            a.push(("error.type", f.kind.clone()));
            a.push(("cicada.failure.reason", f.reason.clone()));
            (a, f.count)
        })
        .collect();
    let users = inputs
        .user_types
        .iter()
        .map(|(t, n)| (vec![("cicada.user_type", t.clone())], gauge_value(*n)))
        .collect();
    let mut families = vec![
        MetricFamily {
            name: "cicada.requests",
            description: "Requests sent, by method and name",
            unit: "{request}",
            values: MetricValues::Counter(requests),
        },
        MetricFamily {
            name: "cicada.request.failures",
            description: "Failed requests, by method, name, error type and reason",
            unit: "{request}",
            values: MetricValues::Counter(failures),
        },
        MetricFamily {
            name: "http.client.request.duration",
            description: "Duration of the users' HTTP requests, by method and name",
            unit: "s",
            values: MetricValues::Histogram {
                bounds: inputs.bounds.clone(),
                points: histogram,
            },
        },
        MetricFamily {
            name: "cicada.users",
            description: "Running users, by user type",
            unit: "{user}",
            values: MetricValues::Gauge(users),
        },
        MetricFamily {
            name: "cicada.users.target",
            description: "Users wanted (what the swarm or the shape asks for)",
            unit: "{user}",
            values: MetricValues::Gauge(vec![(Vec::new(), gauge_value(inputs.target_users))]),
        },
        MetricFamily {
            name: "cicada.stats.memory",
            description: "Heap held by the statistics rows (latency histograms, counters, keys)",
            unit: "By",
            values: MetricValues::Gauge(vec![(Vec::new(), gauge_value(inputs.stats_memory_bytes))]),
        },
    ];
    if let Some(process) = &inputs.process {
        families.extend(process_families(process));
    }
    families
}

#[cfg(test)]
mod tests {
    use cicada_stats::{FailureSnapshot, LatencyBuckets};

    use super::*;

    #[test]
    fn families_carry_the_rows_with_per_bucket_counts() {
        let inputs = MetricsInputs {
            bounds: vec![0.1, 1.0],
            rows: vec![LatencyBuckets {
                method: "GET".into(),
                name: "/x".into(),
                count: 10,
                sum_us: 2_500_000,
                at_or_below: vec![6, 9],
            }],
            failures: vec![FailureSnapshot {
                method: "GET".into(),
                name: "/x".into(),
                reason: "HTTP 503".into(),
                kind: "status".into(),
                count: 2,
                first_seen: 0,
                last_seen: 0,
            }],
            user_types: vec![("Reader".into(), 4)],
            target_users: 5,
            ..MetricsInputs::default()
        };
        let f = otel_families(&inputs);
        let names: Vec<&str> = f.iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "cicada.requests",
                "cicada.request.failures",
                "http.client.request.duration",
                "cicada.users",
                "cicada.users.target",
                "cicada.stats.memory"
            ]
        );
        let attrs = vec![
            ("http.request.method", "GET".to_owned()),
            ("cicada.request.name", "/x".to_owned()),
        ];
        assert_eq!(
            f[0].values,
            MetricValues::Counter(vec![(attrs.clone(), 10)])
        );
        let MetricValues::Counter(fails) = &f[1].values else {
            panic!("a counter");
        };
        assert_eq!(fails[0].0[2], ("error.type", "status".to_owned()));
        assert_eq!(fails[0].1, 2);
        assert_eq!(
            f[2].values,
            MetricValues::Histogram {
                bounds: vec![0.1, 1.0],
                points: vec![HistogramPoint {
                    attributes: attrs,
                    count: 10,
                    sum: 2.5,
                    bucket_counts: vec![6, 3, 1],
                }],
            }
        );
        assert_eq!(
            f[3].values,
            MetricValues::Gauge(vec![(vec![("cicada.user_type", "Reader".into())], 4)])
        );
        assert_eq!(f[4].values, MetricValues::Gauge(vec![(Vec::new(), 5)]));
    }

    #[test]
    fn the_process_sample_adds_the_semantic_convention_families() {
        let mut inputs = MetricsInputs {
            process: Some(ProcessTotals {
                cpu_seconds: 3.0,
                cpu_modes: Some((2.0, 1.0)),
                resident_bytes: 1 << 20,
                virtual_bytes: 1 << 30,
            }),
            ..MetricsInputs::default()
        };
        let f = otel_families(&inputs);
        let process: Vec<_> = f
            .iter()
            .filter(|m| m.name.starts_with("process."))
            .collect();
        let names: Vec<&str> = process.iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "process.cpu.time",
                "process.memory.usage",
                "process.memory.virtual"
            ]
        );
        assert_eq!(
            (process[0].unit, process[1].unit, process[2].unit),
            ("s", "By", "By")
        );
        assert_eq!(
            process[0].values,
            MetricValues::ProcessCounter(vec![
                (vec![("cpu.mode", "user".into())], 2.0),
                (vec![("cpu.mode", "system".into())], 1.0),
            ])
        );
        assert_eq!(
            process[1].values,
            MetricValues::UpDown(vec![(Vec::new(), 1 << 20)])
        );
        assert_eq!(
            process[2].values,
            MetricValues::UpDown(vec![(Vec::new(), 1 << 30)])
        );
        // Without the split, one point carries the total.
        inputs.process.as_mut().unwrap().cpu_modes = None;
        let f = otel_families(&inputs);
        let cpu = f.iter().find(|m| m.name == "process.cpu.time").unwrap();
        assert_eq!(
            cpu.values,
            MetricValues::ProcessCounter(vec![(Vec::new(), 3.0)])
        );
        inputs.process = None;
        assert!(
            otel_families(&inputs)
                .iter()
                .all(|m| !m.name.starts_with("process."))
        );
    }
}
