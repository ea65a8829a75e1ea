//! Secrets never leave cicada: a run that logs in, sends its token (as a bearer credential, in
//! a URL path and query) and a secret password, and fails on purpose, with debug logs, a log
//! line per request in JSON, every report and every API endpoint; then every byte of output is
//! searched for the tokens the target issued and the password.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cicada_testkit::RecordingServer;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use crate::util::{cicada_bin, scenario, signal};
use crate::web::support::http_get;

const PASSWORD: &str = "hunter2-e2e-secret";

/// Logs in (the recording server issues `tok-N`), then: a request with the token in its path,
/// its query and its `Authorization` header that fails (400); a check that fails on the body
/// holding a token; an extract that fails; an unnamed request with the token in its path.
const SCENARIO: &str = r#"
secrets:
  password: hunter2-e2e-secret
users:
  - name: Agent
    wait: 50ms
    on_start:
      - request:
          name: login
          method: POST
          path: /api/v1/auth/login
          json: { email: agent@example.com, password: "{{ vars.password }}" }
          extract: { token: { jsonpath: $.data.token } }
    tasks:
      - name: leaky
        steps:
          - request:
              name: by token
              path: "/status/x/{{ token }}?token={{ token }}&pw={{ vars.password }}"
              headers: { Authorization: "Bearer {{ token }}", X-Api-Key: "{{ vars.password }}" }
      - name: relogin
        steps:
          - request:
              name: relogin
              method: POST
              path: /api/v1/auth/login
              json: { password: "{{ vars.password }}" }
              checks: [ { jsonpath: $.data.token, equals: "{{ vars.password }}" } ]
      - name: lookup
        steps:
          - request:
              path: "/items/{{ token }}"
              headers: { Authorization: "Bearer {{ token }}" }
              extract: { refresh_token: { jsonpath: $.data.refresh } }
"#;

/// Collects everything a child writes to one of its pipes.
fn drain(pipe: impl AsyncRead + Unpin + Send + 'static, into: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(mut s) = into.lock() {
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
}

fn text(buffer: &Arc<Mutex<String>>) -> String {
    buffer.lock().map(|s| s.clone()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_of_a_run_contains_a_secret() {
    let server = RecordingServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "secrets.yaml", SCENARIO);
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let json = reports.join("report.json").display().to_string();
    let html = reports.join("report.html").display().to_string();
    let csv = reports.join("run").display().to_string();
    let host = server.url();
    let mut child = Command::new(cicada_bin())
        .args([
            "run",
            "-f",
            &file,
            "-H",
            &host,
            "-u",
            "3",
            "-r",
            "30",
            "-t",
            "60s",
            "--autostart",
            "--web-port",
            "0",
            "--log-level",
            "debug",
            "--log-requests",
            "1",
            "--log-format",
            "json",
            "--json",
            &json,
            "--html",
            &html,
            "--csv",
            &csv,
        ])
        .env_remove("RUST_LOG")
        .env_remove("CICADA_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cicada starts");
    let (stdout, stderr) = (Arc::default(), Arc::default());
    drain(child.stdout.take().expect("stdout"), Arc::clone(&stdout));
    drain(child.stderr.take().expect("stderr"), Arc::clone(&stderr));

    let url = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(url) = text(&stdout)
                .lines()
                .find_map(|l| l.strip_prefix("web UI: "))
            {
                return url.trim().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no web UI URL; stderr: {}", text(&stderr)));
    // Enough traffic that every task ran, several times.
    tokio::time::timeout(Duration::from_secs(30), async {
        while server.count() < 60 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("60 requests within 30 s");

    let mut outputs: Vec<(String, String)> = Vec::new();
    for path in [
        "/api/stats",
        "/api/stats/history",
        "/api/workers",
        "/api/ratio",
        "/api/logs",
        "/api/info",
        "/api/stats.csv",
        "/api/failures.csv",
        "/api/history.csv",
        "/api/report.json",
        "/api/report.html",
        "/stats/requests",
        "/metrics",
    ] {
        let (status, body) = http_get(&url, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body.is_empty(), "{path} answered");
        outputs.push((format!("GET {path}"), body));
    }

    signal(&child, 15);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("cicada stops within 30 s")
        .expect("exit status");
    assert_eq!(status.code(), Some(0), "{}", text(&stderr));
    // The pipes are drained to their end shortly after the exit.
    tokio::time::sleep(Duration::from_millis(300)).await;
    outputs.push(("stdout".into(), text(&stdout)));
    outputs.push(("stderr".into(), text(&stderr)));
    for entry in std::fs::read_dir(&reports).unwrap() {
        let path = entry.unwrap().path();
        let body = std::fs::read_to_string(&path).unwrap();
        outputs.push((path.display().to_string(), body));
    }
    assert!(
        outputs.len() >= 13 + 2 + 5,
        "JSON, HTML and three CSV reports: {:?}",
        outputs.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );

    // What the target really received: the password, and the tokens it issued and got back.
    let records = server.records();
    assert!(
        records
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(PASSWORD))
    );
    let mut tokens: Vec<String> = records
        .iter()
        .filter_map(|r| r.headers.get("authorization")?.to_str().ok())
        .filter_map(|v| v.strip_prefix("Bearer ").map(str::to_owned))
        .collect();
    tokens.sort();
    tokens.dedup();
    assert!(
        !tokens.is_empty() && tokens.iter().all(|t| t.starts_with("tok-")),
        "{tokens:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r.path.contains(&tokens[0]) || r.path.contains("/tok-")),
        "tokens travelled in paths"
    );

    for (name, body) in &outputs {
        assert!(
            !body.contains(PASSWORD),
            "{name} shows the password:\n{body}"
        );
        // Every token the target issued is `tok-N`: none may show anywhere.
        assert!(!body.contains("tok-"), "{name} shows a token:\n{body}");
        for token in &tokens {
            assert!(!body.contains(token.as_str()), "{name} shows {token}");
        }
    }

    // The search had something to search, and redaction happened (so it can fail).
    let stderr = text(&stderr);
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(|l| {
        l["timestamp"].is_string() && l["level"].is_string() && l["component"].is_string()
    }));
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert!(requests.len() >= 20, "request lines: {}", requests.len());
    let leaky = requests
        .iter()
        .find(|l| l["name"] == "by token")
        .expect("a line for `by token`");
    assert_eq!(leaky["path"], "/status/x/[redacted]", "{leaky}");
    assert_eq!(leaky["status"], 400);
    assert_eq!(leaky["ok"], false);
    assert_eq!(leaky["user_type"], "Agent");
    assert_eq!(leaky["task"], "leaky");
    assert_eq!(leaky["component"], "engine");
    assert_eq!(leaky["trace_id"].as_str().map(str::len), Some(32));
    assert!(
        requests
            .iter()
            .any(|l| l["task"] == "on_start" && l["name"] == "login")
    );
    assert!(
        requests
            .iter()
            .any(|l| l["path"] == "/items/[redacted]" && l["task"] == "lookup")
    );
    let report = crate::util::read_json(&reports.join("report.json"));
    let failures = report.to_string();
    for expected in [
        "HTTP 400",
        "check failed: $.data.token equals the expected value",
        "extract refresh_token: $.data.refresh not found",
    ] {
        assert!(failures.contains(expected), "{expected} in {failures}");
    }
}
