//! The agents against an in-process stand-in target with time running 60 times faster: within
//! seconds, quotes are converted into policies, policies are cancelled, and claims are decided
//! (APPROVED or DENIED),
//! the lifecycle the original produced over tens of minutes.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cicada_engine::client::ClientConfig;
use cicada_engine::{Engine, EngineConfig, Plan, TagFilter};
use cicada_stats::Recorder;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::Agents;

/// One HTTP/1.1 request on its own connection: status and parsed JSON body (Null if none).
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return (0, Value::Null);
    };
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return (0, Value::Null);
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return (0, Value::Null);
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A token for one seeded user of every organization.
async fn tokens(addr: &str) -> Vec<String> {
    let (_, users) = http(addr, "GET", "/api/v1/users", None, None).await;
    let mut seen = HashSet::new();
    let mut tokens = Vec::new();
    for user in users["data"].as_array().cloned().unwrap_or_default() {
        let org = user["organizationId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !seen.insert(org) {
            continue;
        }
        let login = json!({ "email": user["email"], "password": "password123" });
        let (status, body) = http(addr, "POST", "/api/v1/auth/login", None, Some(login)).await;
        assert_eq!(status, 200, "seeded users log in");
        tokens.push(
            body["data"]["token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    tokens
}

/// The number of records of `path` (a filtered list) over all organizations.
async fn total(addr: &str, tokens: &[String], path: &str) -> u64 {
    let mut sum = 0;
    for token in tokens {
        let (_, body) = http(addr, "GET", path, Some(token), None).await;
        sum += body["pagination"]["total"].as_u64().unwrap_or(0);
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_get_converted_and_claims_decided() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let config = cicada_target::TargetConfig {
        access_log: cicada_target::AccessLogDest::Off,
        ..Default::default()
    };
    let stop_target = CancellationToken::new();
    let target = tokio::spawn(cicada_target::serve(
        config,
        listener,
        stop_target.clone().cancelled_owned(),
    ));

    let plan = Plan::new(
        Agents::new().time_scale(60.0).user_types(),
        &TagFilter::default(),
    )
    .expect("a plan");
    let shutdown = CancellationToken::new();
    let recorder = Recorder::new();
    let engine = Engine::start(
        Arc::new(plan),
        EngineConfig {
            host: url::Url::parse(&format!("http://{addr}")).expect("url"),
            client: ClientConfig::default(),
            seed: 7,
            trace: cicada_engine::TraceConfig::default(),
            spans: None,
        },
        recorder.clone(),
        shutdown.clone(),
    )
    .expect("the engine starts");
    engine.set_users(24, 0.0);

    let tokens = tokens(&addr).await;
    let mut seen = (0, 0, 0, 0);
    // Bounded: at most 90 s; typically done in well under 30 s.
    for _ in 0..90 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        seen = (
            total(&addr, &tokens, "/api/v1/quotes?status=CONVERTED&limit=1").await,
            total(&addr, &tokens, "/api/v1/claims?status=APPROVED&limit=1").await,
            total(&addr, &tokens, "/api/v1/claims?status=DENIED&limit=1").await,
            total(&addr, &tokens, "/api/v1/policies?status=CANCELLED&limit=1").await,
        );
        if seen.0 > 0 && seen.1 + seen.2 > 0 && seen.3 > 0 {
            break;
        }
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), engine.finished())
        .await
        .expect("the engine stops");
    stop_target.cancel();
    let _ = target.await;

    let (converted, approved, denied, cancelled) = seen;
    assert!(converted > 0, "no quote was converted: {seen:?}");
    assert!(approved + denied > 0, "no claim was decided: {seen:?}");
    assert!(cancelled > 0, "no policy was cancelled: {seen:?}");
    // The requests went through the agents' own rows.
    let interval = recorder.take();
    assert!(interval.request_count() > 0);
    for (key, entry) in interval.entries() {
        if entry.failures() > 0 {
            eprintln!(
                "{} {}: {} of {} failed",
                key.method,
                key.name,
                entry.failures(),
                entry.count()
            );
        }
    }
}
