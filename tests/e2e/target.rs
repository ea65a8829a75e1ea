//! `cicada target`, the DynaClaimz stand-in, as a real process: it binds `--listen
//! 127.0.0.1:0`, logs the address, serves login and lists over HTTP, writes JSON access
//! lines on stdout, and stops cleanly (exit 0) on SIGTERM.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::util::{cicada_bin, collect_lines, finish, signal, spawn, target_addr};

/// One HTTP/1.1 request on its own connection (`Connection: close`): status and body.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("the target accepts");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_login_and_lists_then_stops_on_sigterm() {
    let mut child = spawn(
        &cicada_bin(),
        &["target", "--listen", "127.0.0.1:0", "--log-format", "text"],
    );
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut lines = BufReader::new(stderr).lines();
    // The bound address is logged at start-up.
    let addr = target_addr(&mut lines, Duration::from_secs(30)).await;
    // Keep draining stderr so the process never blocks on it.
    let drain = collect_lines(lines);

    let (status, body) = http(&addr, "GET", "/health", None, None).await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"status":"ok","service":"api-gateway"}"#)
    );
    let (status, body) = http(&addr, "GET", "/api/v1/users", None, None).await;
    assert_eq!(status, 200);
    let users: Value = serde_json::from_str(&body).unwrap();
    let email = users["data"][0]["email"]
        .as_str()
        .expect("seeded users")
        .to_string();
    let (status, body) = http(
        &addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": "password123"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let login: Value = serde_json::from_str(&body).unwrap();
    let token = login["data"]["token"].as_str().unwrap().to_string();
    let (status, body) = http(
        &addr,
        "POST",
        "/api/v1/policies",
        Some(&token),
        Some(
            json!({"type": "AUTO", "status": "ACTIVE", "startDate": "2026-01-01",
            "endDate": "2027-01-01", "premium": 1200, "coverageAmount": 50000}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(
        &addr,
        "GET",
        "/api/v1/policies?status=ACTIVE&limit=20",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["pagination"]["total"], 1);
    assert_eq!(list["data"][0]["premium"], "1200");
    let (status, _) = http(&addr, "GET", "/api/v1/policies", None, None).await;
    assert_eq!(status, 401);

    signal(&child, 15);
    let out = finish(child, Duration::from_secs(20)).await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let log = drain.await.unwrap().join("\n");
    assert!(log.contains("SIGTERM"), "{log}");
    // The access log: one JSON line per request on stdout, never the token.
    let access: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("access log lines are JSON"))
        .collect();
    assert_eq!(access.len(), 6, "{}", out.stdout);
    assert!(
        access
            .iter()
            .any(|l| l["route"] == "/api/v1/policies" && l["response"]["statusCode"] == 200)
    );
    assert!(!out.stdout.contains(&token) && !out.stdout.contains("password123"));
}

#[tokio::test]
async fn bad_target_flags_exit_2_before_listening() {
    for args in [
        &["target", "--listen", "127.0.0.1:0", "--latency", "fast"][..],
        &["target", "--listen", "127.0.0.1:0", "--error-rate", "1.5"],
        &["target", "--listen", "127.0.0.1:0", "--rate-limit", "lots"],
        &["target", "--listen", "127.0.0.1:0", "--access-log", "file"],
        &["target", "--listen", "127.0.0.1:0", "--jwt-expiry", "never"],
        &[
            "target",
            "--listen",
            "127.0.0.1:0",
            "--latency",
            "/nope=1ms",
        ],
    ] {
        let out = crate::util::run_cicada(args).await;
        assert_eq!(out.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains("invalid"), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("listening"), "{}", out.stderr);
    }
}
