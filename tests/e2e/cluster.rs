//! `cicada master` and `cicada worker` as real processes on loopback ports chosen at run time,
//! against a recording server that counts every request it receives.
//!
//! The cluster port comes from [`cicada_testkit::free_port`] (the restart test needs the same
//! port twice); the web port is 0 and read from the master's output.

use std::collections::BTreeMap;
use std::time::Duration;

use cicada_testkit::{RecordingServer, free_port};
use serde_json::Value;
use tokio::process::Child;
use tokio_stream::StreamExt as _;

use crate::util::{cicada_bin, finish, scenario, signal, spawn};
use crate::web::support::{Cicada, http_get, start_cicada, stats_of};

const SCENARIO: &str = r#"
users:
  - name: Browser
    weight: 2
    wait: { constant: 100ms }
    tasks:
      - { name: list, request: { path: "/api/v1/policies?page={{ pick('pages').n }}", name: /api/v1/policies } }
  - name: Writer
    weight: 1
    wait: { constant: 100ms }
    tasks:
      - { name: create, request: { method: POST, path: /api/v1/claims } }
data:
  pages: { file: pages.csv }
"#;

/// How long any one condition may take to come true.
const WAIT: Duration = Duration::from_secs(30);

struct Setup {
    dir: tempfile::TempDir,
    file: String,
    port: String,
}

/// A scenario with a data file (which the workers never see: the master ships it).
fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pages.csv"), "n\n1\n2\n3\n").expect("data file");
    let file = scenario(dir.path(), "cluster.yaml", SCENARIO);
    let port = free_port().expect("a free port").to_string();
    Setup { dir, file, port }
}

async fn master(setup: &Setup, host: &str, extra: &[&str]) -> Cicada {
    let bind = format!("127.0.0.1:{}", setup.port);
    let mut args = vec![
        "master",
        "-f",
        &setup.file,
        "-H",
        host,
        "--web-port",
        "0",
        "--master-bind",
        &bind,
    ];
    args.extend_from_slice(extra);
    start_cicada(&args).await
}

fn worker(setup: &Setup, id: &str, extra: &[&str]) -> Child {
    let mut args = vec![
        "worker",
        "--master-host",
        "127.0.0.1",
        "--master-port",
        &setup.port,
        "--worker-id",
        id,
    ];
    args.extend_from_slice(extra);
    spawn(&cicada_bin(), &args)
}

/// Users per worker id, from the master's API.
async fn workers(url: &str) -> BTreeMap<String, (u64, String)> {
    let (status, body) = http_get(url, "/api/workers").await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("JSON");
    v["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .map(|w| {
            (
                w["id"].as_str().expect("id").to_owned(),
                (
                    w["users"].as_u64().expect("users"),
                    w["state"].as_str().expect("state").to_owned(),
                ),
            )
        })
        .collect()
}

/// Waits until the users per worker, sorted, equal `want` (ids not compared).
async fn wait_for_split(url: &str, want: &[u64], what: &str) -> BTreeMap<String, (u64, String)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = workers(url).await;
        let mut counts: Vec<u64> = now.values().map(|(u, _)| *u).collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        if counts == want {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: wanted {want:?}, workers are {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_split_over_workers_and_move_when_workers_join_die_or_leave() {
    let server = RecordingServer::start().await.expect("server");
    let setup = setup();
    let m = master(
        &setup,
        &server.url(),
        &[
            "--autostart",
            "-u",
            "30",
            "-r",
            "20",
            "--adopt-window",
            "1s",
        ],
    )
    .await;
    let _w1 = worker(&setup, "w1", &[]);
    let _w2 = worker(&setup, "w2", &[]);
    let mut w3 = worker(&setup, "w3", &[]);
    wait_for_split(&m.url, &[10, 10, 10], "30 users on 3 workers").await;
    let stats = stats_of(&m.url).await;
    assert_eq!(stats["users"], 30, "{stats}");
    assert_eq!(stats["workers"], 3, "{stats}");
    // Both user types run (20 + 10), each split over the workers.
    assert_eq!(stats["user_types"]["Browser"], 20, "{stats}");
    assert_eq!(stats["user_types"]["Writer"], 10, "{stats}");

    // A fourth worker joins: users move to it, the split becomes 8/8/7/7.
    let w4 = worker(&setup, "w4", &[]);
    wait_for_split(&m.url, &[8, 8, 7, 7], "a fourth worker joined").await;

    // kill -9 one: after the worker timeout its users run on the others.
    signal(&w3, 9);
    let _ = w3.wait().await;
    let after = wait_for_split(&m.url, &[10, 10, 10], "w3 was killed").await;
    assert!(!after.contains_key("w3"), "{after:?}");

    // SIGTERM one: it leaves with a goodbye and its users move at once (well before the
    // 10 s worker timeout: it no longer shows at all).
    signal(&w4, 15);
    let out = finish(w4, Duration::from_secs(30)).await;
    assert_eq!(out.code(), Some(0), "the worker exits cleanly: {out:?}");
    assert!(out.stderr.contains("stopping"), "{}", out.stderr);
    let left = wait_for_split(&m.url, &[15, 15], "w4 left").await;
    assert!(!left.contains_key("w4"), "{left:?}");
    assert!(server.count() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_master_adopts_the_running_users_and_traffic_never_stops() {
    let server = RecordingServer::start().await.expect("server");
    let setup = setup();
    let first = master(
        &setup,
        &server.url(),
        &[
            "--autostart",
            "-u",
            "10",
            "-r",
            "50",
            "--adopt-window",
            "1s",
        ],
    )
    .await;
    let _w1 = worker(&setup, "w1", &[]);
    let _w2 = worker(&setup, "w2", &[]);
    wait_for_split(&first.url, &[5, 5], "10 users on 2 workers").await;

    // The master dies; the workers keep their users running.
    let mut first_child = first.child;
    signal(&first_child, 9);
    let _ = first_child.wait().await;
    let before = server.count();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        server.count() > before + 10,
        "traffic goes on without a master: {before} -> {}",
        server.count()
    );

    // A new master without --autostart adopts what the workers run: no double load, no gap.
    let second = master(&setup, &server.url(), &["--adopt-window", "3s"]).await;
    let split = wait_for_split(&second.url, &[5, 5], "the workers rejoined").await;
    assert_eq!(split.len(), 2, "{split:?}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stats = stats_of(&second.url).await;
        if stats["state"] == "running" {
            assert_eq!(stats["users"], 10, "{stats}");
            assert_eq!(stats["target_users"], 10, "adopted, not restarted: {stats}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stats}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Past the adopt window nothing changes: the adopted users are the desired ones.
    tokio::time::sleep(Duration::from_secs(4)).await;
    wait_for_split(&second.url, &[5, 5], "still 5 and 5").await;
    let stats = stats_of(&second.url).await;
    assert_eq!(stats["users"], 10, "{stats}");
    assert!(stats["total_requests"].as_u64() > Some(0), "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_masters_totals_equal_what_the_target_received() {
    let server = RecordingServer::start().await.expect("server");
    let setup = setup();
    let json = setup.dir.path().join("out.json");
    let bind = format!("127.0.0.1:{}", setup.port);
    let master = spawn(
        &cicada_bin(),
        &[
            "master",
            "--headless",
            "-f",
            &setup.file,
            "-H",
            &server.url(),
            "--master-bind",
            &bind,
            "--expect-workers",
            "2",
            "--adopt-window",
            "0s",
            "-u",
            "6",
            "-r",
            "100",
            "-t",
            "4s",
            "--only-summary",
            "--json",
            json.to_str().expect("path"),
        ],
    );
    let w1 = worker(&setup, "w1", &[]);
    let w2 = worker(&setup, "w2", &[]);
    let out = finish(master, Duration::from_secs(60)).await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = crate::util::read_json(&json);
    let total = crate::util::total_requests(&report);
    assert!(total > 0, "{report}");
    assert_eq!(
        total,
        server.count(),
        "the master counted exactly what the target received"
    );
    crate::util::entry(&report, "GET", "/api/v1/policies");
    crate::util::entry(&report, "POST", "/api/v1/claims");
    for w in [w1, w2] {
        signal(&w, 15);
        let out = finish(w, Duration::from_secs(30)).await;
        assert_eq!(out.code(), Some(0), "{out:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_with_a_wrong_token_or_protocol_are_refused_with_the_reason() {
    let server = RecordingServer::start().await.expect("server");
    let setup = setup();
    let m = master(&setup, &server.url(), &["--cluster-token", "right"]).await;

    let wrong = worker(&setup, "intruder", &["--cluster-token", "wrong"]);
    let out = finish(wrong, Duration::from_secs(30)).await;
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("the master refused this worker: wrong cluster token"),
        "{}",
        out.stderr
    );
    let none = worker(&setup, "anonymous", &[]);
    let out = finish(none, Duration::from_secs(30)).await;
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(
        out.stderr.contains("requires a cluster token"),
        "{}",
        out.stderr
    );

    // A worker of another protocol version (spoken here with the real protocol).
    let reason = hello_from_the_future(&setup.port).await;
    assert!(
        reason.contains("protocol version mismatch")
            && reason.contains("speaks protocol 999 (cicada 9.9.9)")
            && reason.contains(&format!(
                "speaks protocol {}",
                cicada_cluster::PROTOCOL_VERSION
            )),
        "{reason}"
    );
    // The right token works.
    let good = worker(&setup, "friend", &["--cluster-token", "right"]);
    wait_for_split(&m.url, &[0], "the right token is accepted").await;
    assert!(workers(&m.url).await.contains_key("friend"));
    drop(good);
}

/// Opens a stream as a worker of protocol 999 and returns the master's refusal.
async fn hello_from_the_future(port: &str) -> String {
    use cicada_cluster::proto::cluster_client::ClusterClient;
    use cicada_cluster::proto::{Hello, WorkerMessage, master_message, worker_message};
    let mut client = ClusterClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .expect("the master accepts");
    let hello = WorkerMessage {
        kind: Some(worker_message::Kind::Hello(Hello {
            protocol_version: 999,
            cicada_version: "9.9.9".into(),
            worker_id: "future".into(),
            cluster_token: "right".into(),
            ..Hello::default()
        })),
    };
    // Keep the request stream open (a pending stream after the hello) like a real worker.
    let requests = tokio_stream::iter(vec![hello]).chain(tokio_stream::pending());
    let mut replies = client
        .session(requests)
        .await
        .expect("a stream")
        .into_inner();
    let first = tokio::time::timeout(WAIT, replies.message())
        .await
        .expect("an answer")
        .expect("a message")
        .expect("not empty");
    match first.kind {
        Some(master_message::Kind::Refused(r)) => r.reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A CA, the master's certificate (for 127.0.0.1) and a worker's client certificate, as PEM
/// files in `dir`: (ca, master cert, master key, worker cert, worker key).
fn tls_files(dir: &std::path::Path) -> [String; 5] {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "cicada cluster test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf = |names: Vec<String>| {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(names).expect("params");
        let cert = params.signed_by(&key, &issuer).expect("signed");
        (cert.pem(), key.serialize_pem())
    };
    let (master_cert, master_key) = leaf(vec!["127.0.0.1".into(), "localhost".into()]);
    let (worker_cert, worker_key) = leaf(vec!["worker".into()]);
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("written");
        path.display().to_string()
    };
    [
        write("ca.pem", &ca_cert.pem()),
        write("master.pem", &master_cert),
        write("master.key", &master_key),
        write("worker.pem", &worker_cert),
        write("worker.key", &worker_key),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_lets_only_workers_with_a_certificate_in() {
    let server = RecordingServer::start().await.expect("server");
    let setup = setup();
    let [ca, master_cert, master_key, worker_cert, worker_key] = tls_files(setup.dir.path());
    let m = master(
        &setup,
        &server.url(),
        &[
            "--tls-cert",
            &master_cert,
            "--tls-key",
            &master_key,
            "--tls-ca",
            &ca,
            "--autostart",
            "-u",
            "2",
            "-r",
            "50",
            "--adopt-window",
            "0s",
        ],
    )
    .await;
    let _good = worker(
        &setup,
        "with-cert",
        &[
            "--tls-ca",
            &ca,
            "--tls-cert",
            &worker_cert,
            "--tls-key",
            &worker_key,
        ],
    );
    // Plain HTTP/2 and TLS without a client certificate both fail the handshake.
    let _plain = worker(&setup, "plain", &[]);
    let _anonymous = worker(&setup, "no-cert", &["--tls-ca", &ca]);
    wait_for_split(&m.url, &[2], "the worker with a certificate runs the users").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let known = workers(&m.url).await;
    assert_eq!(known.keys().collect::<Vec<_>>(), ["with-cert"], "{known:?}");
    assert!(server.count() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphan_timeout_stops_users_without_a_master() {
    let server = RecordingServer::start().await.expect("server");
    let setup = setup();
    let m = master(
        &setup,
        &server.url(),
        &["--autostart", "-u", "2", "-r", "50", "--adopt-window", "0s"],
    )
    .await;
    let _w = worker(&setup, "lonely", &["--orphan-timeout", "1s"]);
    wait_for_split(&m.url, &[2], "2 users").await;
    let mut child = m.child;
    signal(&child, 9);
    let _ = child.wait().await;
    // Users stop a little after the orphan timeout (checked between connection attempts).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let before = server.count();
        tokio::time::sleep(Duration::from_secs(2)).await;
        if server.count() == before {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "users kept running without a master"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masters_shape_and_its_incidents_reach_the_workers() {
    let server = RecordingServer::start().await.expect("server");
    let setup = setup();
    // An hour in 5 real seconds: a 10-minute incident window every 20 minutes.
    let shape = scenario(
        setup.dir.path(),
        "shape.yaml",
        r#"
constant: { users: 4, spawn_rate: 100 }
incidents:
  - name: broken reports
    cron: "*/20 * * * *"
    duration: 10m
    extra_task: { name: Broken report, path: /api/v1/reports/broken, weight: 5 }
"#,
    );
    let m = master(
        &setup,
        &server.url(),
        &[
            "--shape",
            &shape,
            "--time-scale",
            "720",
            "--autostart",
            "--adopt-window",
            "0s",
        ],
    )
    .await;
    let _w1 = worker(&setup, "w1", &[]);
    let _w2 = worker(&setup, "w2", &[]);
    wait_for_split(&m.url, &[2, 2], "the shape's 4 users on 2 workers").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stats = stats_of(&m.url).await;
        let broken = stats["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["name"] == "Broken report" && e["requests"].as_u64() > Some(0));
        if broken {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the incident's extra task never ran on the workers: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        server
            .records()
            .iter()
            .any(|r| r.path.starts_with("/api/v1/reports/broken")),
        "the workers sent the extra task's request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masters_open_model_arrives_on_every_worker_and_counts_drops() {
    let server = RecordingServer::start().await.expect("server");
    let setup = setup();
    // 40 arrivals a second, each running 3 tasks 100 ms apart, at most 6 at once: about 12
    // would be needed, so some arrivals are dropped.
    let shape = scenario(
        setup.dir.path(),
        "open.yaml",
        "open: { rate: 40, max_users: 6, iterations: 3 }\n",
    );
    let m = master(
        &setup,
        &server.url(),
        &["--shape", &shape, "--autostart", "--adopt-window", "0s"],
    )
    .await;
    let _w1 = worker(&setup, "w1", &[]);
    let _w2 = worker(&setup, "w2", &[]);
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut busy = BTreeMap::new();
    loop {
        for (id, (users, _)) in workers(&m.url).await {
            assert!(
                users <= 3,
                "{id} runs {users} arrived users, its share is 3"
            );
            *busy.entry(id).or_insert(0u64) += u64::from(users > 0);
        }
        let status = stats_of(&m.url).await;
        let a = &status["arrivals"];
        assert!(a["active"].as_u64().expect("active") <= 6, "{status}");
        let both = busy.len() == 2 && busy.values().all(|&n| n > 0);
        if both && a["arrived"].as_u64() >= Some(40) && a["dropped"].as_u64() > Some(0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the open model never ran on both workers with drops: {status}, busy {busy:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!server.records().is_empty(), "arrived users sent requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_export_their_users_spans_over_otlp() {
    use cicada_telemetry::otel::receiver::OtlpReceiver;
    let receiver = OtlpReceiver::start().await.expect("receiver starts");
    let server = RecordingServer::start().await.expect("server");
    let setup = setup();
    let m = master(
        &setup,
        &server.url(),
        &["--autostart", "-u", "2", "-r", "50", "--adopt-window", "0s"],
    )
    .await;
    let endpoint = receiver.endpoint();
    let mut w = worker(&setup, "traced", &["--otel-endpoint", &endpoint]);
    wait_for_split(&m.url, &[2], "2 users").await;
    let spans = receiver
        .wait_for(Duration::from_secs(20), |s| {
            s.iter().any(|span| span.kind == 3)
        })
        .await;
    let client = spans
        .iter()
        .find(|s| s.kind == 3)
        .unwrap_or_else(|| panic!("no client span from the worker: {spans:?}"));
    assert_eq!(client.service, "cicada");
    // The span's ids are the ones the target received in `traceparent`.
    let wanted = format!("00-{:032x}-{:016x}-01", client.trace_id, client.span_id);
    assert!(
        server.records().iter().any(|r| r
            .headers
            .get("traceparent")
            .is_some_and(|v| v.as_bytes() == wanted.as_bytes())),
        "no request carried {wanted}"
    );
    signal(&w, 15);
    let _ = tokio::time::timeout(WAIT, w.wait()).await;
}
