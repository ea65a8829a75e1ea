//! A worker's own numbers: `cicada worker --metrics-port 0` serves `/metrics` with what that
//! worker sent, and `--otel-metrics` on the master and the worker exports the master's merged
//! totals and the worker's own over OTLP. A master and one worker, real processes, against a
//! recording server that counts every request it receives: after the run stops, every source
//! must report exactly the recorded count.

use std::process::Stdio;
use std::time::Duration;

use cicada_telemetry::otel::receiver::{OtlpReceiver, ReceivedPoint};
use cicada_testkit::{RecordingServer, free_port};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::util::{cicada_bin, finish, scenario, signal};
use crate::web::support::{http_get, start_cicada, wait_until_stopped};

const SCENARIO: &str = r#"
users:
  - name: Reader
    wait: { constant: 50ms }
    tasks:
      - { name: list, request: { path: /api/v1/policies } }
      - { name: broken, request: { path: /status/503, name: /api/v1/reports } }
"#;

/// How long any one condition may take to come true.
const WAIT: Duration = Duration::from_secs(40);

/// Starts a worker with its own metrics on 127.0.0.1 and a free port; returns it and the
/// `/metrics` URL it prints.
async fn start_worker(cluster_port: &str, otlp: &str) -> (Child, String) {
    let mut child = Command::new(cicada_bin())
        .args([
            "worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            cluster_port,
            "--worker-id",
            "w1",
            "--metrics-port",
            "0",
            "--metrics-host",
            "127.0.0.1",
            "--otel-metrics",
            "--otel-endpoint",
            otlp,
        ])
        .env_remove("RUST_LOG")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "300")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the worker starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("metrics: ") {
                return url.trim().to_owned();
            }
        }
        panic!("the worker ended without printing its metrics URL");
    })
    .await
    .expect("the metrics URL in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// Sum of every sample of `family` (name followed by `{`).
fn family_sum(body: &str, family: &str) -> f64 {
    let prefix = format!("{family}{{");
    body.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

/// The total of `cicada.requests` in the newest export of the source picked by `from`.
fn latest_requests(points: &[ReceivedPoint], from: impl Fn(&ReceivedPoint) -> bool) -> f64 {
    let mine: Vec<&ReceivedPoint> = points
        .iter()
        .filter(|p| p.metric == "cicada.requests" && from(p))
        .collect();
    let Some(last) = mine.iter().map(|p| p.export).max() else {
        return -1.0;
    };
    mine.iter()
        .filter(|p| p.export == last)
        .map(|p| p.value)
        .sum()
}

/// Runs `promtool check metrics` on `body` (promtool comes with Debian's `prometheus`).
async fn promtool_check(body: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("promtool is installed: run scripts/test (apt-get install prometheus)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(body.as_bytes()).await.expect("to promtool");
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("promtool finishes in time")
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_serves_and_exports_its_own_numbers() {
    let server = RecordingServer::start().await.expect("server");
    let receiver = OtlpReceiver::start().await.expect("receiver");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), "worker.yaml", SCENARIO);
    let port = free_port().expect("a free port").to_string();
    let bind = format!("127.0.0.1:{port}");
    let otlp = receiver.endpoint();
    let master = start_cicada(&[
        "master",
        "-f",
        &file,
        "-H",
        &server.url(),
        "--web-port",
        "0",
        "--master-bind",
        &bind,
        "--autostart",
        "-u",
        "2",
        "-r",
        "100",
        "-t",
        "4s",
        "--expect-workers",
        "1",
        "--otel-metrics",
        "--otel-endpoint",
        &otlp,
    ])
    .await;
    let (_worker, metrics_url) = start_worker(&port, &otlp).await;
    let base = metrics_url.trim_end_matches("metrics");

    // While running: the worker's own counter grows.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = http_get(base, "/metrics").await;
        assert_eq!(status, 200, "{body}");
        if family_sum(&body, "cicada_requests_total") > 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no requests: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = http_get(base, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));

    // The run ends by its run time; then every source settles on the recorded count.
    wait_until_stopped(&master.url, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = server.count() as f64;
    assert!(received > 0.0);
    let deadline = tokio::time::Instant::now() + WAIT;
    let body = loop {
        let (_, body) = http_get(base, "/metrics").await;
        let scraped = family_sum(&body, "cicada_requests_total");
        if scraped == received {
            break body;
        }
        assert!(
            scraped < received && tokio::time::Instant::now() < deadline,
            "the worker's /metrics says {scraped}, the server received {received}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        body.lines()
            .any(|l| l.starts_with("cicada_worker_info{worker_id=\"w1\",version=\"")),
        "{body}"
    );
    assert!(
        family_sum(&body, "cicada_request_failures_total") > 0.0,
        "the 503s"
    );
    assert_eq!(
        family_sum(&body, "cicada_request_duration_seconds_count"),
        received
    );
    assert!(
        body.contains("# TYPE process_resident_memory_bytes gauge"),
        "{body}"
    );
    assert!(
        body.contains("cicada_otel_metric_exports_total{result=\"ok\"}"),
        "{body}"
    );
    assert!(!body.contains("cicada_workers{"), "a worker has no fleet");
    promtool_check(&body).await;

    // Over OTLP: the worker's own totals (with its instance id, every 300 ms) and the master's
    // merged ones (its interval is the default minute: its final export, on SIGTERM, carries
    // them).
    signal(&master.child, 15);
    let done = finish(master.child, WAIT).await;
    assert_eq!(done.code(), Some(0), "{}", done.stderr);
    let is_worker =
        |p: &ReceivedPoint| p.resource.get("service.instance.id").map(String::as_str) == Some("w1");
    let points = receiver
        .wait_for_points(WAIT, |p| {
            latest_requests(p, is_worker) == received
                && latest_requests(p, |x| !is_worker(x)) == received
        })
        .await;
    assert_eq!(latest_requests(&points, is_worker), received, "worker");
    assert_eq!(
        latest_requests(&points, |x| !is_worker(x)),
        received,
        "master"
    );
    assert!(points.iter().all(|p| p.service() == "cicada"));
    // Both processes export their own CPU and memory.
    for (who, is) in [("worker", true), ("master", false)] {
        for metric in ["process.cpu.time", "process.memory.usage"] {
            assert!(
                points
                    .iter()
                    .any(|p| p.metric == metric && is_worker(p) == is && p.value >= 0.0),
                "{who}: {metric}"
            );
        }
        assert!(
            points
                .iter()
                .any(|p| p.metric == "process.memory.usage" && is_worker(p) == is && p.value > 0.0),
            "{who}: RSS above 0"
        );
    }
    assert!(
        points
            .iter()
            .any(|p| p.metric == "http.client.request.duration" && is_worker(p)),
        "the worker's histogram"
    );
}
