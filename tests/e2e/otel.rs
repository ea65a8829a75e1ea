//! OpenTelemetry export end to end: `cicada run --otel-endpoint` against `cicada target
//! --otel-endpoint`, both real processes, exporting to an OTLP/gRPC receiver inside the test
//! (the `opentelemetry-proto` service, the real protocol). The spans must form one trace per
//! task run: task span → client span (ids = the `traceparent` the target received, read from
//! its access log) → server span. A dead collector must cost the run nothing but counters.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use cicada_telemetry::otel::receiver::{OtlpReceiver, ReceivedSpan};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::util::{
    cicada_bin, collect_lines, command, finish, read_json, scenario, signal, target_addr,
    total_requests,
};

/// OTLP span kinds.
const INTERNAL: i32 = 1;
const SERVER: i32 = 2;
const CLIENT: i32 = 3;

/// One task: the health check (200), then a list without a token (401).
const SCENARIO: &str = r#"
users:
  - name: Visitor
    wait: { constant: 100ms }
    tasks:
      - name: look around
        steps:
          - request: { method: GET, path: /health, name: health }
          - request: { method: GET, path: "/api/v1/policies?token=leaked", name: policies, expect: [401] }
"#;

/// A `cicada` child with short OTLP timeouts, output piped.
fn spawn_cicada(args: &[&str]) -> Child {
    command(&cicada_bin(), args)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "1000")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .spawn()
        .expect("the binary starts")
}

/// A running `cicada target`: its address, and its stdout (access log) and stderr lines.
struct Target {
    child: Child,
    addr: String,
    stdout: tokio::task::JoinHandle<Vec<String>>,
    stderr: tokio::task::JoinHandle<Vec<String>>,
}

async fn start_target(extra: &[&str]) -> Target {
    let mut args = vec!["target", "--listen", "127.0.0.1:0", "--log-format", "text"];
    args.extend_from_slice(extra);
    let mut child = spawn_cicada(&args);
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = target_addr(&mut lines, Duration::from_secs(30)).await;
    let stderr = collect_lines(lines);
    let stdout = collect_lines(BufReader::new(child.stdout.take().expect("stdout")).lines());
    Target {
        child,
        addr,
        stdout,
        stderr,
    }
}

impl Target {
    /// SIGTERM, then the access log lines (the process must exit 0 within 20 s).
    async fn stop(self) -> (Vec<String>, Vec<String>) {
        signal(&self.child, 15);
        let done = finish(self.child, Duration::from_secs(20)).await;
        assert_eq!(done.code(), Some(0), "the target exits 0 on SIGTERM");
        let stdout = self.stdout.await.expect("stdout reader");
        let stderr = self.stderr.await.expect("stderr reader");
        (stdout, stderr)
    }
}

async fn run(dir: &Path, host: &str, extra: &[&str]) -> (crate::util::Finished, Value) {
    let file = scenario(dir, "otel.yaml", SCENARIO);
    let json = dir.join("report.json");
    let json_arg = json.display().to_string();
    let mut args = vec![
        "run",
        "--headless",
        "-f",
        &file,
        "-H",
        host,
        "-u",
        "2",
        "-r",
        "10",
        "-t",
        "2s",
        "--only-summary",
        "--json",
        &json_arg,
    ];
    args.extend_from_slice(extra);
    let done = finish(spawn_cicada(&args), Duration::from_secs(60)).await;
    let report = read_json(&json);
    (done, report)
}

/// `traceparent` → (trace id, parent id).
fn ids(tp: &str) -> (u128, u64) {
    let p: Vec<&str> = tp.split('-').collect();
    (
        u128::from_str_radix(p[1], 16).expect("trace id"),
        u64::from_str_radix(p[2], 16).expect("span id"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connected_trace_from_task_to_target() {
    let receiver = OtlpReceiver::start().await.expect("receiver starts");
    let endpoint = receiver.endpoint();
    let target = start_target(&["--otel-endpoint", &endpoint]).await;
    let dir = tempfile::tempdir().unwrap();
    let (done, report) = run(
        dir.path(),
        &format!("http://{}", target.addr),
        &["--otel-endpoint", &endpoint],
    )
    .await;
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    let requests = total_requests(&report);
    assert!(requests >= 2, "{report:#}");
    let (access, target_stderr) = target.stop().await;
    assert!(
        target_stderr
            .iter()
            .any(|l| l.contains("OTLP export finished")),
        "{target_stderr:?}"
    );

    let spans = receiver
        .wait_for(Duration::from_secs(10), |s| {
            s.iter().filter(|x| x.kind == SERVER).count() as u64 >= requests
        })
        .await;
    let by_id: HashMap<u64, &ReceivedSpan> = spans.iter().map(|s| (s.span_id, s)).collect();
    let clients: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.kind == CLIENT).collect();
    assert_eq!(
        clients.len() as u64,
        requests,
        "one client span per request"
    );

    // Every request the target logged: its traceparent names a client span of the same trace,
    // whose parent is the task span, and the target's server span hangs under it.
    let lines: Vec<Value> = access
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(lines.len() as u64, requests);
    for line in &lines {
        let tp = line["traceparent"]
            .as_str()
            .expect("every request carries a traceparent");
        let (trace_id, span_id) = ids(tp);
        assert_eq!(line["trace_id"], format!("{trace_id:032x}"));
        let client = by_id
            .get(&span_id)
            .expect("the client span has the traceparent's id");
        assert_eq!((client.kind, client.trace_id), (CLIENT, trace_id));
        assert_eq!(client.service, "cicada");
        let task = by_id.get(&client.parent_span_id).expect("the task span");
        assert_eq!((task.kind, task.trace_id), (INTERNAL, trace_id));
        assert_eq!(task.name, "Visitor look around");
        assert_eq!(task.parent_span_id, 0);
        let server = spans
            .iter()
            .find(|s| s.kind == SERVER && s.parent_span_id == span_id)
            .expect("a server span under the client span");
        assert_eq!(server.trace_id, trace_id);
        assert_eq!(server.service, "cicada-target");

        match line["route"].as_str() {
            Some("/health") => {
                assert_eq!(client.name, "GET health");
                assert_eq!(client.attr("http.response.status_code"), Some("200"));
                assert_eq!(client.attr("error.type"), None);
                assert_eq!(server.name, "GET /health");
                assert_eq!(server.attr("http.route"), Some("/health"));
                assert_eq!(server.attr("http.response.status_code"), Some("200"));
            }
            Some("/api/v1/policies") => {
                assert_eq!(client.name, "GET policies");
                assert_eq!(client.attr("http.response.status_code"), Some("401"));
                assert_eq!(client.attr("error.type"), Some("401"));
                assert_eq!(client.attr("url.path"), Some("/api/v1/policies"));
                assert_eq!(server.attr("http.route"), Some("/api/v1/policies"));
                assert_eq!(server.attr("http.response.status_code"), Some("401"));
                assert_eq!(
                    server.attr("error.type"),
                    None,
                    "a 4xx is the client's error"
                );
            }
            other => panic!("unexpected route {other:?}"),
        }
        assert_eq!(client.attr("http.request.method"), Some("GET"));
        assert_eq!(client.attr("cicada.user_type"), Some("Visitor"));
        assert_eq!(server.attr("http.request.method"), Some("GET"));
        assert!(!server.error && !format!("{client:?}{server:?}").contains("leaked"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_collector_costs_only_a_counter() {
    // A port with nothing listening.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let target = start_target(&["--access-log", "off", "--otel-endpoint", &dead]).await;
    let dir = tempfile::tempdir().unwrap();
    let (done, report) = run(
        dir.path(),
        &format!("http://{}", target.addr),
        &["--otel-endpoint", &dead],
    )
    .await;
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    assert!(total_requests(&report) >= 2, "{report:#}");
    assert_eq!(report["total"]["failures"], 0, "{report:#}");
    assert!(
        done.stderr.contains("some spans were not delivered"),
        "{}",
        done.stderr
    );
    let (_, target_stderr) = target.stop().await;
    assert!(
        target_stderr
            .iter()
            .any(|l| l.contains("some spans were not delivered")),
        "{target_stderr:?}"
    );
}

/// `cicada run --otel-metrics` (headless) against a recording server: the collector receives
/// the request counter periodically, never more than was sent, and at exit exactly the
/// recorded count, with the run's resource and the semantic-convention histogram.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_the_collector_with_the_recorded_count() {
    use cicada_telemetry::otel::receiver::{PointKind, ReceivedPoint};

    let server = cicada_testkit::RecordingServer::start()
        .await
        .expect("server");
    let receiver = OtlpReceiver::start().await.expect("receiver starts");
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "metrics.yaml",
        r#"
users:
  - name: Reader
    wait: { constant: 50ms }
    tasks:
      - { name: list, request: { path: /api/v1/policies } }
      - { name: broken, request: { path: /status/503, name: /api/v1/reports } }
"#,
    );
    let json = dir.path().join("report.json");
    let json_arg = json.display().to_string();
    let child = Command::new(cicada_bin())
        .args([
            "run",
            "--headless",
            "-f",
            &file,
            "-H",
            &server.url(),
            "-u",
            "2",
            "-r",
            "10",
            "-t",
            "3s",
            "--only-summary",
            "--json",
            &json_arg,
            "--otel-metrics",
        ])
        .env_remove("RUST_LOG")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_METRICS_EXPORTER")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=e2e")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "200")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let done = finish(child, Duration::from_secs(60)).await;
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    assert!(
        done.stderr.contains("OTLP metrics export finished"),
        "{}",
        done.stderr
    );
    let report = read_json(&json);
    let recorded = server.count() as f64;
    assert_eq!(total_requests(&report) as f64, recorded);

    let points = receiver.points();
    let requests: Vec<&ReceivedPoint> = points
        .iter()
        .filter(|p| p.metric == "cicada.requests")
        .collect();
    let exports: std::collections::BTreeSet<u64> = requests.iter().map(|p| p.export).collect();
    assert!(exports.len() >= 2, "periodic exports and the final one");
    let total_of = |export: u64, metric: &str| -> f64 {
        points
            .iter()
            .filter(|p| p.export == export && p.metric == metric)
            .map(|p| p.value)
            .sum()
    };
    let mut before = 0.0;
    for &e in &exports {
        let n = total_of(e, "cicada.requests");
        assert!(
            n >= before && n <= recorded,
            "export {e}: {n} after {before}"
        );
        before = n;
    }
    let last = *exports.last().expect("an export");
    assert_eq!(
        total_of(last, "cicada.requests"),
        recorded,
        "the final export"
    );
    assert_eq!(total_of(last, "http.client.request.duration"), recorded);
    assert!(total_of(last, "cicada.request.failures") > 0.0, "the 503s");
    // The process's own CPU and memory, as /metrics shows them (semantic-convention names).
    assert!(total_of(last, "process.memory.usage") > 0.0, "RSS");
    assert!(
        total_of(last, "process.memory.virtual") > 0.0,
        "virtual memory"
    );
    let cpu: Vec<&ReceivedPoint> = points
        .iter()
        .filter(|p| p.export == last && p.metric == "process.cpu.time")
        .collect();
    assert!(
        !cpu.is_empty() && cpu.iter().all(|p| p.unit == "s"),
        "{cpu:?}"
    );
    if cfg!(target_os = "linux") {
        let modes: Vec<_> = cpu.iter().filter_map(|p| p.attr("cpu.mode")).collect();
        assert_eq!(modes, ["user", "system"]);
    }
    let first = requests[0];
    assert_eq!(first.service(), "cicada");
    assert_eq!(
        first
            .resource
            .get("deployment.environment")
            .map(String::as_str),
        Some("e2e")
    );
    assert_eq!(
        first.kind,
        PointKind::Sum {
            monotonic: true,
            cumulative: true
        }
    );
    assert!(first.attr("http.request.method").is_some(), "{first:?}");
    let hist = points
        .iter()
        .find(|p| p.metric == "http.client.request.duration")
        .expect("the duration histogram");
    assert_eq!((hist.unit.as_str(), hist.bounds.len()), ("s", 11));
    assert!(
        points.iter().any(|p| p.metric == "cicada.users.target"),
        "the target users"
    );
    // The endpoint variable alone does not switch spans on.
    assert!(receiver.spans().is_empty());
}
