//! Shared helpers: a controller over a small scenario against a recording server, and
//! one-shot requests through the router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use cicada_control::{Controller, Status};
use cicada_engine::client::ClientConfig;
use cicada_engine::{EngineConfig, Plan, TagFilter};
use cicada_stats::StatsConfig;
use cicada_telemetry::LogBuffer;
use cicada_testkit::RecordingServer;
use http_body_util::BodyExt;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use url::Url;

use crate::{AppState, RunInfo, SwarmDefaults, WebConfig, app};

/// Three readers (one in three of their requests fails with 503) for every writer.
pub(super) const SCENARIO: &str = r#"
users:
  - name: Reader
    weight: 3
    wait: { constant: 20ms }
    tasks:
      - { name: list, weight: 2, request: { path: /items } }
      - { name: broken, weight: 1, request: { path: /status/503, name: /status } }
  - name: Writer
    weight: 1
    wait: { constant: 20ms }
    tasks:
      - { name: create, request: { method: POST, path: /items } }
"#;

pub(super) struct Harness {
    pub(super) server: RecordingServer,
    pub(super) state: AppState,
    pub(super) app: Router,
    pub(super) logs: LogBuffer,
}

pub(super) fn plan() -> Arc<Plan> {
    let scenario = cicada_scenario::parse_str(SCENARIO, "web.yaml", std::path::Path::new("."))
        .expect("scenario parses");
    let types = cicada_engine::yaml::user_types(&Arc::new(scenario));
    Arc::new(Plan::new(types, &TagFilter::default()).expect("plan"))
}

pub(super) async fn harness(config: WebConfig) -> Harness {
    let server = RecordingServer::start().await.expect("server starts");
    let controller = Controller::start(
        plan(),
        EngineConfig {
            host: Url::parse(&server.url()).expect("url"),
            client: ClientConfig::default(),
            seed: 7,
            trace: cicada_engine::TraceConfig::default(),
            spans: None,
        },
        StatsConfig::default(),
        CancellationToken::new(),
    )
    .expect("controller starts");
    let logs = LogBuffer::new(50);
    let state = AppState::new(
        controller,
        config,
        RunInfo {
            scenario: "web.yaml".into(),
            defaults: SwarmDefaults {
                users: 5,
                spawn_rate: 2.0,
                run_time: Some(Duration::from_secs(600)),
            },
        },
        Some(logs.clone()),
    );
    Harness {
        server,
        app: app(state.clone()),
        state,
        logs,
    }
}

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

impl Answer {
    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(super) fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub(super) async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let headers = response.headers().clone();
    let body = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
        .await
        .expect("body within 10 s")
        .expect("body reads")
        .to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

pub(super) fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

pub(super) fn post(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .expect("request")
}

pub(super) fn post_form(uri: &str, form: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("request")
}

/// Polls the controller's status until `f` holds (at most 10 s).
pub(super) async fn wait_for(state: &AppState, what: &str, f: impl Fn(&Status) -> bool) -> Status {
    for _ in 0..400 {
        let s = state.controller().status();
        if f(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "timed out waiting for {what}: {:?}",
        state.controller().status()
    );
}

/// Waits until the statistics counted at least `n` requests and `f` failures (at most 10 s).
pub(super) async fn wait_for_requests(state: &AppState, n: u64, f: u64) {
    for _ in 0..400 {
        let (r, fl) = state
            .controller()
            .with_stats(|s| (s.total_requests(), s.total_failures()));
        if r >= n && fl >= f {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {n} requests and {f} failures");
}
