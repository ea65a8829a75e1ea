use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::otel::metrics_config::OtelMetricsFlags;
use crate::otel::receiver::{OtlpReceiver, PointKind};
use crate::otel::{HistogramPoint, MetricFamily};

fn config(endpoint: &str, pairs: &[(&str, &str)]) -> OtelMetricsConfig {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let env = move |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let flags = OtelMetricsFlags {
        enabled: true,
        endpoint: Some(endpoint.to_string()),
    };
    OtelMetricsConfig::resolve(&flags, "metrics-test", &env)
        .unwrap()
        .unwrap()
}

/// A source whose request counter reads `requests`.
fn source(requests: Arc<AtomicU64>) -> MetricsSource {
    Arc::new(move || {
        let n = requests.load(Ordering::Relaxed);
        vec![
            MetricFamily {
                name: REQUESTS,
                description: "Requests",
                unit: "{request}",
                values: MetricValues::Counter(vec![(
                    vec![("http.request.method", "GET".into())],
                    n,
                )]),
            },
            MetricFamily {
                name: "cicada.users",
                description: "Users",
                unit: "{user}",
                values: MetricValues::Gauge(vec![(vec![("cicada.user_type", "A".into())], 3)]),
            },
            MetricFamily {
                name: "http.client.request.duration",
                description: "Duration",
                unit: "s",
                values: MetricValues::Histogram {
                    bounds: vec![0.1, 1.0],
                    points: vec![HistogramPoint {
                        attributes: vec![("http.request.method", "GET".into())],
                        count: n,
                        sum: 0.5 * n as f64,
                        bucket_counts: vec![n, 0, 0],
                    }],
                },
            },
            MetricFamily {
                name: "process.cpu.time",
                description: "CPU",
                unit: "s",
                values: MetricValues::ProcessCounter(vec![(
                    vec![("cpu.mode", "user".into())],
                    1.25,
                )]),
            },
            MetricFamily {
                name: "process.memory.usage",
                description: "RSS",
                unit: "By",
                values: MetricValues::UpDown(vec![(Vec::new(), 4096)]),
            },
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_a_collector_cumulatively_with_resets_detected() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let c = config(
        &receiver.endpoint(),
        &[
            ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=w1"),
        ],
    );
    let requests = Arc::new(AtomicU64::new(7));
    let pipeline = OtelMetricsPipeline::start(&c, source(requests.clone())).unwrap();
    let points = receiver
        .wait_for_points(Duration::from_secs(10), |p| {
            p.iter().any(|x| x.metric == REQUESTS)
        })
        .await;
    let first = points
        .iter()
        .find(|p| p.metric == REQUESTS)
        .expect("a request point");
    assert_eq!(first.value, 7.0);
    assert_eq!(first.service(), "metrics-test");
    assert_eq!(first.resource.get("service.instance.id").unwrap(), "w1");
    assert_eq!(first.scope, "cicada");
    assert_eq!(
        first.kind,
        PointKind::Sum {
            monotonic: true,
            cumulative: true
        }
    );
    assert_eq!(first.attr("http.request.method"), Some("GET"));
    let start = first.start_time_ns;
    assert!(start > 0 && start <= first.time_ns);
    let hist = points
        .iter()
        .find(|p| p.metric == "http.client.request.duration")
        .unwrap();
    assert_eq!(hist.kind, PointKind::Histogram { cumulative: true });
    assert_eq!((hist.value, hist.sum), (7.0, Some(3.5)));
    assert_eq!(
        (hist.bounds.as_slice(), hist.unit.as_str()),
        (&[0.1, 1.0][..], "s")
    );
    assert_eq!(hist.bucket_counts, [7, 0, 0]);
    let users = points.iter().find(|p| p.metric == "cicada.users").unwrap();
    assert_eq!((users.kind, users.value), (PointKind::Gauge, 3.0));
    let cpu = points
        .iter()
        .find(|p| p.metric == "process.cpu.time")
        .unwrap();
    assert_eq!(
        (cpu.kind, cpu.value, cpu.attr("cpu.mode")),
        (
            PointKind::Sum {
                monotonic: true,
                cumulative: true
            },
            1.25,
            Some("user")
        )
    );
    let cpu_start = cpu.start_time_ns;
    let memory = points
        .iter()
        .find(|p| p.metric == "process.memory.usage")
        .unwrap();
    assert_eq!(
        (memory.kind, memory.value, memory.unit.as_str()),
        (
            PointKind::Sum {
                monotonic: false,
                cumulative: true
            },
            4096.0,
            "By"
        )
    );

    // A reset (the total goes down): the series starts again, later than before.
    requests.store(2, Ordering::Relaxed);
    let points = receiver
        .wait_for_points(Duration::from_secs(10), |p| {
            p.iter().any(|x| x.metric == REQUESTS && x.value == 2.0)
        })
        .await;
    let after = points
        .iter()
        .find(|p| p.metric == REQUESTS && p.value == 2.0)
        .expect("the point after the reset");
    assert!(after.start_time_ns > start, "{after:?}");
    // The process's CPU time does not restart with the statistics.
    let cpu = points
        .iter()
        .rfind(|p| p.metric == "process.cpu.time")
        .unwrap();
    assert_eq!(cpu.start_time_ns, cpu_start, "{cpu:?}");

    // Shutdown sends the final values at once.
    requests.store(5, Ordering::Relaxed);
    let before = receiver.metric_exports();
    let stats = pipeline.shutdown(Duration::from_secs(10)).await;
    assert!(receiver.metric_exports() > before);
    let last = receiver
        .points()
        .into_iter()
        .rfind(|p| p.metric == REQUESTS)
        .unwrap();
    assert_eq!(last.value, 5.0);
    assert_eq!(stats.failed, 0);
    assert_eq!(stats.exported, receiver.metric_exports());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_collector_is_counted_and_shutdown_is_bounded() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for protocol in ["grpc", "http/protobuf"] {
        let c = config(
            &format!("http://127.0.0.1:{port}"),
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
            ],
        );
        let pipeline = OtelMetricsPipeline::start(&c, source(Arc::default())).unwrap();
        let stats = pipeline.shutdown(Duration::from_secs(10)).await;
        assert_eq!((stats.exported, stats.failed), (0, 1), "{protocol}");
    }
}

/// Reads one HTTP/1.1 request (headers and a `content-length` body) from `stream`.
async fn read_request(stream: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended early");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        if buf.len() >= end + 4 + len {
            return (head, buf[end + 4..end + 4 + len].to_vec());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_posts_to_v1_metrics() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let (head, body) = read_request(&mut stream).await;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        (head, body)
    });
    let c = config(
        &format!("http://{addr}"),
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k1"),
        ],
    );
    let pipeline = OtelMetricsPipeline::start(&c, source(Arc::new(AtomicU64::new(4)))).unwrap();
    let stats = pipeline.shutdown(Duration::from_secs(10)).await;
    let (head, body) = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    assert!(head.starts_with("post /v1/metrics http/1.1"), "{head}");
    assert!(
        head.contains("content-type: application/x-protobuf"),
        "{head}"
    );
    assert!(head.contains("x-api-key: k1"), "{head}");
    let request = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(metrics.len(), 5);
    assert_eq!(metrics[0].name, REQUESTS);
    assert_eq!((stats.exported, stats.failed), (1, 0));
}
