//! The engine with span export on, against a recording server: the spans' ids are the ids
//! the server received in `traceparent`, nested as task span → client spans.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cicada_stats::Recorder;
use cicada_telemetry::otel::{AttrValue, SpanKind, SpanReceiver, SpanRecord, span_queue};
use cicada_testkit::RecordingServer;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::client::ClientConfig;
use crate::{
    Context, Engine, EngineConfig, Plan, TagFilter, TaskError, TaskInfo, TraceConfig, TraceMode,
    User, UserType, Wait,
};

/// One task: a GET that passes (with a query that must not reach the span), then a 500.
struct Browser;

impl UserType for Browser {
    fn name(&self) -> &str {
        "Browser"
    }
    fn wait(&self) -> Wait {
        Wait::Constant(Duration::from_millis(5))
    }
    fn tasks(&self) -> Vec<TaskInfo> {
        vec![TaskInfo::new("browse")]
    }
    fn new_user(&self, _user_id: u64) -> Box<dyn User> {
        Box::new(BrowserUser)
    }
}

struct BrowserUser;

#[async_trait::async_trait]
impl User for BrowserUser {
    async fn run_task(&mut self, _task: usize, cx: &mut Context) -> Result<(), TaskError> {
        cx.get("/items?token=secret").name("items").send().await?;
        let failed = cx.get("/status/500").name("fail").send().await?;
        if failed.ok() {
            Ok(())
        } else {
            Err(TaskError::Aborted("HTTP 500".into()))
        }
    }
}

/// Runs one user until the server saw `requests` requests, then stops; returns the spans.
async fn run(
    server: &RecordingServer,
    trace: TraceConfig,
    requests: u64,
) -> (Vec<SpanRecord>, SpanReceiver) {
    let (queue, mut rx) = span_queue(100_000);
    let plan = Arc::new(Plan::new(vec![Arc::new(Browser)], &TagFilter::default()).unwrap());
    let shutdown = CancellationToken::new();
    let engine = Engine::start(
        plan,
        EngineConfig {
            host: Url::parse(&server.url()).unwrap(),
            client: ClientConfig::default(),
            seed: 11,
            trace,
            spans: Some(queue),
        },
        Recorder::new(),
        shutdown.clone(),
    )
    .unwrap();
    engine.set_users(1, 0.0);
    for _ in 0..500 {
        if server.count() >= requests {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), engine.finished())
        .await
        .unwrap();
    let mut spans = Vec::new();
    while let Some(s) = rx.try_recv() {
        spans.push(s);
    }
    (spans, rx)
}

fn attr<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a AttrValue> {
    span.attributes
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn text(v: Option<&AttrValue>) -> String {
    match v {
        Some(AttrValue::Str(s)) => s.to_string(),
        Some(AttrValue::Shared(s)) => s.to_string(),
        Some(AttrValue::Int(i)) => i.to_string(),
        Some(AttrValue::Bool(b)) => b.to_string(),
        None => String::new(),
    }
}

/// `traceparent` → (trace id, parent id, sampled).
fn parse(tp: &str) -> (u128, u64, bool) {
    let p: Vec<&str> = tp.split('-').collect();
    (
        u128::from_str_radix(p[1], 16).unwrap(),
        u64::from_str_radix(p[2], 16).unwrap(),
        p[3] == "01",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_spans_carry_the_traceparent_ids_under_task_spans() {
    let server = RecordingServer::start().await.unwrap();
    let (spans, _rx) = run(&server, TraceConfig::default(), 6).await;
    let sent: HashMap<u64, (u128, String)> = server
        .records()
        .iter()
        .map(|r| {
            let (trace, span, sampled) = parse(r.headers["traceparent"].to_str().unwrap());
            assert!(sampled);
            (span, (trace, r.path.clone()))
        })
        .collect();
    let tasks: HashMap<u64, &SpanRecord> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Internal)
        .map(|s| (s.span_id, s))
        .collect();
    let clients: Vec<&SpanRecord> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client)
        .collect();
    assert!(clients.len() >= 6, "{} client spans", clients.len());
    assert!(!tasks.is_empty());

    for c in &clients {
        // Every client span is a request the server saw, with the same trace and span id.
        let (trace, path) = sent
            .get(&c.span_id)
            .unwrap_or_else(|| panic!("span {:x} was never sent", c.span_id));
        assert_eq!(c.trace_id, *trace);
        // Its parent is its task run's span, in the same trace.
        let task = tasks
            .get(&c.parent_span_id)
            .unwrap_or_else(|| panic!("no task span {:x}", c.parent_span_id));
        assert_eq!(task.trace_id, c.trace_id);
        assert_eq!(text(attr(c, "http.request.method")), "GET");
        assert_eq!(text(attr(c, "cicada.user_type")), "Browser");
        assert_eq!(text(attr(c, "cicada.task")), "browse");
        assert_eq!(text(attr(c, "server.address")), "127.0.0.1");
        assert_eq!(
            text(attr(c, "server.port")),
            server.addr().port().to_string()
        );
        assert_eq!(text(attr(c, "url.path")), *path);
        match text(attr(c, "cicada.request.name")).as_str() {
            "items" => {
                assert_eq!(c.name.to_text(), "GET items");
                assert_eq!(text(attr(c, "http.response.status_code")), "200");
                assert!(attr(c, "error.type").is_none());
                assert_eq!(path, "/items");
            }
            "fail" => {
                assert_eq!(c.name.to_text(), "GET fail");
                assert_eq!(text(attr(c, "http.response.status_code")), "500");
                assert_eq!(text(attr(c, "error.type")), "500");
            }
            other => panic!("unexpected request {other}"),
        }
        // Nothing of the query (a token) reaches a span.
        assert!(!format!("{c:?}").contains("secret"));
    }
    // A task whose 500 aborted it says so; its span is the root of the trace.
    let aborted = tasks
        .values()
        .find(|t| text(attr(t, "cicada.task.outcome")) == "aborted")
        .expect("an aborted task span");
    assert_eq!(aborted.parent_span_id, 0);
    assert_eq!(aborted.name.to_text(), "Browser browse");
    assert_eq!(text(attr(aborted, "cicada.synthetic")), "true");
    // The on_start run has its own span.
    assert!(
        tasks
            .values()
            .any(|t| text(attr(t, "cicada.task")) == "on_start")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsampled_traces_export_nothing_and_per_request_spans_are_roots() {
    let server = RecordingServer::start().await.unwrap();
    let unsampled = TraceConfig {
        mode: TraceMode::PerTask,
        sample_ratio: 0.0,
        log_requests: 0.0,
    };
    let (spans, rx) = run(&server, unsampled, 4).await;
    assert!(spans.is_empty(), "{spans:?}");
    assert_eq!(rx.counters().snapshot().dropped, 0);

    let server = RecordingServer::start().await.unwrap();
    let per_request = TraceConfig {
        mode: TraceMode::PerRequest,
        sample_ratio: 1.0,
        log_requests: 0.0,
    };
    let (spans, _rx) = run(&server, per_request, 4).await;
    assert!(spans.len() >= 4);
    assert!(spans.iter().all(|s| s.kind == SpanKind::Client));
    assert!(spans.iter().all(|s| s.parent_span_id == 0));
}
