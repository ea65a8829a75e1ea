//! `deploy/k8s` run as written: the master and worker Deployments become local processes
//! ([`kubelet`] turns a container into its process), configured from the ConfigMap and Secret
//! templates with a loopback target filled in, and must form a cluster that sends the bundled
//! scenario's traffic to `cicada target`. Manifests and binary cannot drift apart.
//!
//! What the test substitutes, and why (everything else runs exactly as written):
//! - `YOUR_API_GATEWAY_LOADBALANCER_URL` in the ConfigMap template: the stand-in target's
//!   `127.0.0.1:PORT`, as a user puts their gateway in;
//! - on the master, the values of `CICADA_WEB_HOST` (`0.0.0.0` → `127.0.0.1`),
//!   `CICADA_WEB_PORT` (`8089` → a free port) and `CICADA_MASTER_BIND` (`0.0.0.0:5557` →
//!   `127.0.0.1:`a free port); on the workers, `CICADA_MASTER_HOST` (the Service name
//!   `cicada-master` → `127.0.0.1`), `CICADA_MASTER_PORT` (`5557` → the same free port),
//!   `CICADA_METRICS_HOST` (`0.0.0.0` → `127.0.0.1`) and `CICADA_METRICS_PORT` (`9464` → `0`,
//!   a free port each, read from what the worker prints): here one machine plays every pod and
//!   the Service. Before substituting, the test checks
//!   that the originals agree with the container ports, the Service and the probes;
//! - `/etc/cicada/config` (the ConfigMap volume's `mountPath`): a directory holding the
//!   ConfigMap's keys as files.
//!
//! Also checked without running anything: the security settings every pod must have, the
//! kustomization listing every manifest, skaffold deploying them with the image they name, the
//! Dockerfile's build command, entry point and user, and the ConfigMap's copy of the bundled
//! scenario.

mod files;
mod kubelet;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use cicada_testkit::free_port;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::util::{cicada_bin, signal};
use kubelet::{Cluster, Process, manifest, text};

/// How long any one condition may take to come true.
const WAIT: Duration = Duration::from_secs(40);

/// At most this much of a process's output is kept for failure messages.
const KEEP: usize = 64 * 1024;

/// A running pod: the process and what it printed (the last [`KEEP`] bytes).
struct Pod {
    child: Child,
    output: Arc<Mutex<String>>,
}

/// Keeps reading `stream` into `sink` (bounded), counting lines that start with `{`.
fn drain(
    stream: impl AsyncRead + Unpin + Send + 'static,
    sink: Arc<Mutex<String>>,
    json_lines: Arc<AtomicU64>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with('{') {
                json_lines.fetch_add(1, Ordering::Relaxed);
            }
            if let Ok(mut s) = sink.lock() {
                if s.len() > KEEP {
                    let cut = s.len() - KEEP / 2;
                    let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                    s.replace_range(..cut, "…");
                }
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
}

/// Starts a process with exactly its own environment (a container inherits nothing).
fn start(process: &Process, counter: Arc<AtomicU64>) -> Pod {
    assert_eq!(
        process.argv[0], "cicada",
        "the image's program is cicada: {process:?}"
    );
    let mut child = Command::new(cicada_bin())
        .args(&process.argv[1..])
        .env_clear()
        .envs(process.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cicada starts");
    let output = Arc::new(Mutex::new(String::new()));
    drain(
        child.stdout.take().expect("stdout"),
        output.clone(),
        counter.clone(),
    );
    drain(
        child.stderr.take().expect("stderr"),
        output.clone(),
        counter,
    );
    Pod { child, output }
}

/// `cicada target` on a free loopback port: the process, its address and a count of the
/// JSON access-log lines it wrote (one per request).
async fn start_target() -> (Pod, String, Arc<AtomicU64>) {
    let requests = Arc::new(AtomicU64::new(0));
    let process = Process {
        argv: [
            "cicada",
            "target",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "text",
        ]
        .map(String::from)
        .to_vec(),
        env: Vec::new(),
    };
    let pod = start(&process, requests.clone());
    let addr = wait_for("the target's address", || {
        let out = pod.output.lock().map(|s| s.clone()).unwrap_or_default();
        out.split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    })
    .await;
    (pod, addr, requests)
}

/// Polls `check` every 200 ms until it returns something (at most [`WAIT`]).
async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A GET on its own connection, optionally with basic authentication: status and body.
async fn get(addr: &str, path: &str, basic: Option<&str>) -> (u16, String) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return (0, String::new());
    };
    let auth = basic
        .map(|b| {
            let encoded = base64::engine::general_purpose::STANDARD.encode(b);
            format!("Authorization: Basic {encoded}\r\n")
        })
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return (0, String::new());
    }
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
    if !matches!(read, Ok(Ok(_))) {
        return (0, String::new());
    }
    crate::util::parse_response(&raw)
}

/// The single container of a Deployment.
fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

/// The literal `value` of an env entry.
fn env_value<'a>(deployment: &'a Value, name: &str) -> &'a str {
    let entry = container(deployment)["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("env {name} is set"));
    text(&entry["value"], name)
}

/// Container port by name.
fn port(deployment: &Value, name: &str) -> u64 {
    container(deployment)["ports"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("container port {name}"))
}

/// The ports, Service and probes agree with the values the test is about to substitute.
fn check_network(master: &Value, worker: &Value, service: &Value) {
    let web = port(master, "web");
    let cluster = port(master, "cluster");
    assert_eq!((web, cluster), (8089, 5557), "Locust's ports");
    assert_eq!(env_value(master, "CICADA_WEB_HOST"), "0.0.0.0");
    assert_eq!(env_value(master, "CICADA_WEB_PORT"), web.to_string());
    assert_eq!(
        env_value(master, "CICADA_MASTER_BIND"),
        format!("0.0.0.0:{cluster}")
    );
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(
            container(master)[probe]["httpGet"]["port"],
            "web",
            "{probe}"
        );
    }
    // The Service selects the master pod (and not the workers) and maps its named ports.
    assert_eq!(service["spec"]["type"], "ClusterIP");
    let selector = service["spec"]["selector"].as_object().expect("selector");
    let labels = |d: &Value| d["spec"]["template"]["metadata"]["labels"].clone();
    assert!(selector.iter().all(|(k, v)| labels(master)[k] == *v));
    assert!(!selector.iter().all(|(k, v)| labels(worker)[k] == *v));
    let svc_ports: BTreeMap<String, (u64, String)> = service["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            let name = text(&p["name"], "port name").to_owned();
            let target = text(&p["targetPort"], "targetPort").to_owned();
            (name, (p["port"].as_u64().expect("port"), target))
        })
        .collect();
    assert_eq!(svc_ports["web"], (web, "web".to_owned()));
    assert_eq!(svc_ports["cluster"], (cluster, "cluster".to_owned()));
    // Workers reach the master through that Service.
    assert_eq!(
        env_value(worker, "CICADA_MASTER_HOST"),
        text(&service["metadata"]["name"], "name")
    );
    assert_eq!(env_value(worker, "CICADA_MASTER_PORT"), cluster.to_string());
    // A worker's own /metrics: the port the probe and the scrape annotations name.
    let metrics = port(worker, "metrics");
    assert_eq!(
        env_value(worker, "CICADA_METRICS_PORT"),
        metrics.to_string()
    );
    assert_eq!(env_value(worker, "CICADA_METRICS_HOST"), "0.0.0.0");
    assert_eq!(
        container(worker)["livenessProbe"]["httpGet"]["port"],
        "metrics"
    );
    // The scrape annotations: the master's totals on its web port, each worker's own.
    for (pod, port) in [(master, web), (worker, metrics)] {
        let annotations = &pod["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert_eq!(annotations["prometheus.io/port"], port.to_string());
        assert_eq!(annotations["prometheus.io/path"], "/metrics");
    }
}

/// Waits for the `metrics: http://ADDR/metrics` line a worker prints; returns `ADDR`.
async fn metrics_addr(pod: &Pod) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let out = pod.output.lock().map(|s| s.clone()).unwrap_or_default();
        if let Some(addr) = out
            .lines()
            .find_map(|l| l.strip_prefix("metrics: http://"))
            .and_then(|rest| rest.strip_suffix("/metrics"))
        {
            return addr.to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker printed no metrics URL: {out}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifests_run_as_written_form_a_cluster_and_send_traffic() {
    let (_target, target_addr, requests) = start_target().await;
    let mut cluster = Cluster::default();
    cluster.add(manifest(
        "configmap.yaml.template",
        &[("YOUR_API_GATEWAY_LOADBALANCER_URL", &target_addr)],
    ));
    let secret = manifest("secret.yaml.template", &[]);
    let web_auth = text(&secret["stringData"]["web-auth"], "web-auth").to_owned();
    cluster.add(secret);
    let service = manifest("service.yaml", &[]);
    cluster.add(service.clone());
    let master = manifest("master.yaml", &[]);
    let worker = manifest("worker.yaml", &[]);
    check_network(&master, &worker, &service);

    let volumes = tempfile::tempdir().expect("tempdir");
    let web = free_port().expect("a free port").to_string();
    let cluster_port = free_port().expect("a free port").to_string();
    let master_process = kubelet::resolve(
        &master,
        "cicada-master-6b9f7c5d4-x2k8p",
        &cluster,
        &[
            ("CICADA_WEB_HOST", "127.0.0.1".to_owned()),
            ("CICADA_WEB_PORT", web.clone()),
            ("CICADA_MASTER_BIND", format!("127.0.0.1:{cluster_port}")),
        ],
        volumes.path(),
    );
    let master_pod = start(&master_process, Arc::new(AtomicU64::new(0)));
    let web_addr = format!("127.0.0.1:{web}");

    // Ready as the readiness probe sees it (its path, on the web port; no credentials).
    let readiness = text(
        &container(&master)["readinessProbe"]["httpGet"]["path"],
        "path",
    );
    let liveness = text(
        &container(&master)["livenessProbe"]["httpGet"]["path"],
        "path",
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while get(&web_addr, readiness, None).await.0 != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the master never became ready: {}",
            master_pod
                .output
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(get(&web_addr, liveness, None).await.0, 200);
    // The Secret's web-auth protects the API.
    assert_eq!(get(&web_addr, "/api/stats", None).await.0, 401);

    // As many workers as the Deployment's replicas, named like pods.
    let replicas = worker["spec"]["replicas"].as_u64().expect("replicas");
    assert_eq!(replicas, 2);
    let names: Vec<String> = (0..replicas)
        .map(|i| format!("cicada-worker-7d4c8b9f6-q{i}z5t"))
        .collect();
    let mut workers = Vec::new();
    let mut worker_metrics = Vec::new();
    for name in &names {
        let process = kubelet::resolve(
            &worker,
            name,
            &cluster,
            &[
                ("CICADA_MASTER_HOST", "127.0.0.1".to_owned()),
                ("CICADA_MASTER_PORT", cluster_port.clone()),
                ("CICADA_METRICS_HOST", "127.0.0.1".to_owned()),
                ("CICADA_METRICS_PORT", "0".to_owned()),
            ],
            volumes.path(),
        );
        assert!(
            process.argv.contains(&format!("--worker-id={name}")),
            "{process:?}"
        );
        let pod = start(&process, Arc::new(AtomicU64::new(0)));
        let addr = metrics_addr(&pod).await;
        workers.push(pod);
        worker_metrics.push(addr);
    }

    // Both workers run users (autostart from the ConfigMap), under their pod names; the target
    // receives the traffic and the master counts it (workers report every 2 s).
    let deadline = tokio::time::Instant::now() + WAIT;
    let stats = loop {
        let (status, body) = get(&web_addr, "/api/workers", Some(&web_auth)).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        let running: Vec<&str> = v["workers"]
            .as_array()
            .expect("workers")
            .iter()
            .filter(|w| w["users"].as_u64() > Some(0))
            .filter_map(|w| w["id"].as_str())
            .collect();
        let all_run = names.iter().all(|n| running.contains(&n.as_str()));
        let (_, body) = get(&web_addr, "/api/stats", Some(&web_auth)).await;
        let stats: Value = serde_json::from_str(&body).expect("stats JSON");
        let counted = stats["total_requests"].as_u64().unwrap_or(0);
        if all_run && counted > 20 && requests.load(Ordering::Relaxed) >= counted {
            break stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "workers {v}, target requests {}, stats {stats}; master: {}",
            requests.load(Ordering::Relaxed),
            master_pod
                .output
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(stats["workers"], replicas, "{stats}");
    assert_eq!(stats["host"], format!("http://{target_addr}/"), "{stats}");
    // The bundled scenario runs cleanly against the stand-in DynaClaimz.
    assert_eq!(stats["total_failures"], 0, "{stats}");
    // Each worker's liveness probe answers on its metrics port, whose /metrics is its own.
    let probe = text(
        &container(&worker)["livenessProbe"]["httpGet"]["path"],
        "path",
    );
    for (name, addr) in names.iter().zip(&worker_metrics) {
        assert_eq!(get(addr, probe, None).await.0, 200, "{name}'s liveness");
        let (status, body) = get(addr, "/metrics", None).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains(&format!("cicada_worker_info{{worker_id=\"{name}\"")),
            "{body}"
        );
    }

    // SIGTERM as Kubernetes sends it: every pod exits cleanly within its grace period.
    for pod in workers {
        terminate(pod, grace(&worker)).await;
    }
    terminate(master_pod, grace(&master)).await;
}

/// The pod's `terminationGracePeriodSeconds` (Kubernetes' default: 30 s).
fn grace(deployment: &Value) -> Duration {
    let secs = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"].as_u64();
    Duration::from_secs(secs.unwrap_or(30))
}

/// Sends SIGTERM and expects exit status 0 before the kubelet would send SIGKILL.
async fn terminate(pod: Pod, limit: Duration) {
    signal(&pod.child, 15);
    let mut child = pod.child;
    let output = || pod.output.lock().map(|s| s.clone()).unwrap_or_default();
    let status = tokio::time::timeout(limit, child.wait())
        .await
        .unwrap_or_else(|_| panic!("no exit within the grace period of {limit:?}: {}", output()))
        .expect("exit status");
    assert_eq!(status.code(), Some(0), "{}", output());
}
