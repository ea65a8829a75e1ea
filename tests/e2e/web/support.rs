//! What the web tests share: the scenario, the `cicada` process in UI mode, a bare HTTP GET.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::util::{cicada_bin, parse_response, spawn};

/// Four request names, one more than `--max-entries 3`: the fourth lands in the OTHER row and
/// the row-limit warning shows up in the Logs tab.
pub const SCENARIO: &str = r#"
users:
  - name: Reader
    weight: 3
    wait: { constant: 50ms }
    tasks:
      - { name: list, weight: 3, request: { path: /api/v1/policies } }
      - { name: view, weight: 2, request: { path: /api/v1/policies/7, name: "/api/v1/policies/{id}" } }
      - { name: broken, weight: 1, request: { path: /status/503, name: /api/v1/reports } }
  - name: Writer
    weight: 1
    wait: { constant: 50ms }
    tasks:
      - { name: create, request: { method: POST, path: /api/v1/claims } }
"#;

/// The longest any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// The `cicada` process in UI mode and what it printed.
pub struct Cicada {
    pub child: Child,
    pub url: String,
    pub stdout: Arc<Mutex<String>>,
}

/// Starts `cicada` with `args` (UI mode, `--web-port 0`) and reads the URL it prints.
pub async fn start_cicada(args: &[&str]) -> Cicada {
    let mut child = spawn(&cicada_bin(), args);
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("web UI: ") {
                return url.trim().to_owned();
            }
        }
        panic!("cicada ended without printing its URL");
    })
    .await
    .expect("the URL within 20 s");
    // Keep draining stdout (the final tables) so the process never blocks on a full pipe.
    let collected = Arc::new(Mutex::new(String::new()));
    let sink = collected.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(mut s) = sink.lock() {
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
    Cicada {
        child,
        url,
        stdout: collected,
    }
}

/// A bare HTTP/1.0 GET (no client library needed): status code and body.
pub async fn http_get(url: &str, path: &str) -> (u16, String) {
    exchange(url, |authority| {
        format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n")
    })
    .await
}

/// A bare HTTP/1.0 POST with an empty or JSON body: status code and body.
pub async fn http_post(url: &str, path: &str, body: &str) -> (u16, String) {
    exchange(url, |authority| {
        format!(
            "POST {path} HTTP/1.0\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    })
    .await
}

/// Sends the request `request(authority)` to `url` on its own connection and reads the whole
/// answer (at most [`WAIT`]).
async fn exchange(url: &str, request: impl FnOnce(&str) -> String) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connects to cicada");
    stream
        .write_all(request(&authority).as_bytes())
        .await
        .expect("request sent");
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("answer within 20 s")
        .expect("answer read");
    parse_response(&answer)
}

pub async fn stats_of(url: &str) -> Value {
    let (status, body) = http_get(url, "/api/stats").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("stats are JSON")
}

/// Polls `/api/stats` until the run's state is `stopped` (the test fails past `limit`).
pub async fn wait_until_stopped(url: &str, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while stats_of(url).await["state"] != "stopped" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run did not stop"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
