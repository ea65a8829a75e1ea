//! Secrets a Rust-tier user handles never reach the statistics (failure messages, row names)
//! or the request log lines, and `--log-requests` writes the documented fields.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cicada_stats::Recorder;
use cicada_testkit::RecordingServer;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt;
use url::Url;

use crate::client::ClientConfig;
use crate::{
    Context, Engine, EngineConfig, Plan, TagFilter, TaskError, TaskInfo, TraceConfig, User,
    UserType, Wait,
};

const TOKEN: &str = "tok.0123456789abcdef";
const PASSWORD: &str = "hunter2-secret";

struct Agent;

impl UserType for Agent {
    fn name(&self) -> &str {
        "Agent"
    }
    fn wait(&self) -> Wait {
        Wait::Constant(Duration::from_millis(5))
    }
    fn tasks(&self) -> Vec<TaskInfo> {
        vec![TaskInfo::new("browse")]
    }
    fn new_user(&self, _user_id: u64) -> Box<dyn User> {
        Box::new(AgentUser)
    }
}

struct AgentUser;

#[async_trait::async_trait]
impl User for AgentUser {
    async fn on_start(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        cx.add_secret(PASSWORD);
        Ok(())
    }

    async fn run_task(&mut self, _task: usize, cx: &mut Context) -> Result<(), TaskError> {
        // The token travels as a bearer credential, so the user knows it is secret; a check
        // quotes it and the password, and an unnamed request has it in its path.
        cx.get("/secure?token=abc")
            .bearer(TOKEN)
            .name("secure")
            .send_checked(|_| Err(format!("body had {TOKEN} for {PASSWORD}")))
            .await?;
        cx.get(format!("/reset/{TOKEN}")).send().await?;
        Ok(())
    }
}

/// A `MakeWriter` collecting the log output.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_stay_out_of_stats_and_request_logs() {
    let capture = Capture::default();
    let settings = cicada_telemetry::LogSettings {
        format: cicada_telemetry::LogFormat::Json,
        level: "info".into(),
        fields: Vec::new(),
    };
    let sink = capture.clone();
    let layer = cicada_telemetry::console_layer(
        &settings,
        cicada_telemetry::parse_level("info").unwrap(),
        move || sink.clone(),
        false,
    );
    // A current-thread runtime: the users run on this thread, under this subscriber.
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));

    let server = RecordingServer::start().await.unwrap();
    let recorder = Recorder::new();
    let plan = Arc::new(Plan::new(vec![Arc::new(Agent)], &TagFilter::default()).unwrap());
    let shutdown = CancellationToken::new();
    let engine = Engine::start(
        plan,
        EngineConfig {
            host: Url::parse(&server.url()).unwrap(),
            client: ClientConfig::default(),
            seed: 3,
            trace: TraceConfig {
                log_requests: 1.0,
                ..TraceConfig::default()
            },
            spans: None,
        },
        recorder.clone(),
        shutdown.clone(),
    )
    .unwrap();
    engine.set_users(1, 0.0);
    for _ in 0..500 {
        if server.count() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), engine.finished())
        .await
        .unwrap();
    assert!(server.count() >= 4, "the user sent its requests");

    let interval = recorder.take();
    let failures: Vec<String> = interval
        .failures()
        .map(|(_, f, _)| f.message.to_string())
        .collect();
    assert!(!failures.is_empty());
    for message in &failures {
        assert!(
            !message.contains(TOKEN) && !message.contains(PASSWORD),
            "{message}"
        );
    }
    assert!(
        failures.contains(&"body had [redacted] for [redacted]".to_owned()),
        "{failures:?}"
    );
    let names: Vec<String> = interval
        .entries()
        .map(|(k, _)| k.name.to_string())
        .collect();
    assert!(names.contains(&"/reset/[redacted]".to_owned()), "{names:?}");

    let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(!out.contains(TOKEN) && !out.contains(PASSWORD), "{out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .filter(|v: &serde_json::Value| v["message"] == "request")
        .collect();
    let secure = lines
        .iter()
        .find(|l| l["name"] == "secure")
        .unwrap_or_else(|| panic!("a line for `secure` in {out}"));
    assert_eq!(secure["component"], "engine");
    assert_eq!(secure["method"], "GET");
    assert_eq!(secure["path"], "/secure", "the query string is dropped");
    assert_eq!(secure["status"], 200);
    assert_eq!(secure["ok"], false);
    assert_eq!(secure["failure"], "body had [redacted] for [redacted]");
    assert_eq!(secure["user_type"], "Agent");
    assert_eq!(secure["task"], "browse");
    assert_eq!(secure["trace_id"].as_str().map(str::len), Some(32));
    assert!(secure["duration_ms"].is_number() && secure["bytes"].is_number());
    let reset = lines
        .iter()
        .find(|l| l["path"] == "/reset/[redacted]")
        .unwrap_or_else(|| panic!("a line for the reset in {out}"));
    assert_eq!(reset["ok"], true);
    assert!(
        reset.get("failure").is_none(),
        "no failure field on success"
    );
}
