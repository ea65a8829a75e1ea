//! JSON log lines with stable field names, for log pipelines.
//!
//! One object per line:
//!
//! ```json
//! {"timestamp":"2026-11-27T10:00:00.123456Z","level":"INFO","component":"engine",
//!  "target":"cicada_engine::requests","message":"request","worker_id":"w1",
//!  "user_type":"QuoteAgent","task":"create_quote","trace_id":"4bf9...","status":201}
//! ```
//!
//! * `timestamp`: RFC 3339, UTC, microseconds. `level`: `ERROR` .. `TRACE`.
//! * `component`: which part of cicada logged it, from the module (`target`): `engine`,
//!   `control`, `web`, `cluster.master`, `cluster.worker`, `cluster`, `target`, `scenario`,
//!   `stats`, `telemetry`, `agents`, `cli` (the binary), or a dependency's crate name (`h2`).
//! * `message`, then every other field flattened to the top level: the process's own fields
//!   (a worker's `worker_id`), the fields of the spans the event is in (outermost first), then
//!   the event's fields (a later one with the same name wins; an event may set `component`).
//!
//! The fixed fields come first so that a human reading raw lines sees time and level first.
//! Field values keep their JSON type (numbers, booleans); `Debug`/`Display` values are strings.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Names the formatter writes itself; an event or span field with one of these names is
/// dropped (except `component`, which an event may set).
const FIXED: &[&str] = &["timestamp", "level", "target", "message"];

/// The JSON event formatter (see the module docs). Use it with [`JsonFields`] as the field
/// formatter, so span fields are stored as JSON and can be flattened.
#[derive(Clone, Debug, Default)]
pub struct JsonLines {
    /// Fields of the process, on every line (e.g. a worker's `worker_id`).
    fields: Arc<Vec<(String, Value)>>,
}

impl JsonLines {
    /// A formatter that adds `fields` to every line.
    pub fn new(fields: Vec<(String, Value)>) -> Self {
        JsonLines {
            fields: Arc::new(fields),
        }
    }
}

/// The component of a log target (see the module docs).
pub fn component(target: &str) -> &str {
    let mut parts = target.split("::");
    let krate = parts.next().unwrap_or_default();
    match krate.strip_prefix("cicada_") {
        Some("cluster") => match parts.next() {
            Some("master") => "cluster.master",
            Some("worker") => "cluster.worker",
            _ => "cluster",
        },
        Some(name) => name,
        None if krate == "cicada" => "cli",
        None => krate,
    }
}

/// Sets `key` in an ordered list of fields (replacing an earlier value).
fn set(fields: &mut Vec<(String, Value)>, key: String, value: Value) {
    if FIXED.contains(&key.as_str()) {
        return;
    }
    match fields.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => fields.push((key, value)),
    }
}

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields: Vec<(String, Value)> = self.fields.as_ref().clone();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                if let Some(stored) = ext.get::<FormattedFields<JsonFields>>()
                    && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&stored.fields)
                {
                    for (k, v) in map {
                        set(&mut fields, k, v);
                    }
                }
            }
        }
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        for (k, v) in visitor.fields {
            set(&mut fields, k, v);
        }
        let component = match fields.iter().position(|(k, _)| k == "component") {
            Some(i) => fields.remove(i).1,
            None => Value::String(component(meta.target()).to_owned()),
        };

        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut out = String::with_capacity(256);
        out.push('{');
        push_pair(&mut out, "timestamp", &Value::String(timestamp));
        out.push(',');
        push_pair(&mut out, "level", &Value::String(meta.level().to_string()));
        out.push(',');
        push_pair(&mut out, "component", &component);
        out.push(',');
        push_pair(&mut out, "target", &Value::String(meta.target().to_owned()));
        out.push(',');
        push_pair(
            &mut out,
            "message",
            &Value::String(visitor.message.unwrap_or_default()),
        );
        for (k, v) in &fields {
            out.push(',');
            push_pair(&mut out, k, v);
        }
        out.push('}');
        out.push('\n');
        fmt::Write::write_str(&mut writer, &out)
    }
}

fn push_pair(out: &mut String, key: &str, value: &Value) {
    // Serialising a string or a `Value` cannot fail.
    out.push_str(&serde_json::to_string(key).unwrap_or_default());
    out.push(':');
    out.push_str(&serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned()));
}

/// Collects an event's message and fields as JSON values.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    fields: Vec<(String, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if name == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            let name = name.strip_prefix("r#").unwrap_or(name);
            self.fields.push((name.to_owned(), value));
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // NaN and infinities are not JSON numbers: `null`.
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components() {
        assert_eq!(component("cicada_engine::context"), "engine");
        assert_eq!(component("cicada_engine"), "engine");
        assert_eq!(
            component("cicada_cluster::master::service"),
            "cluster.master"
        );
        assert_eq!(component("cicada_cluster::worker"), "cluster.worker");
        assert_eq!(component("cicada_cluster::tls"), "cluster");
        assert_eq!(component("cicada_web::api"), "web");
        assert_eq!(component("cicada_target::server"), "target");
        assert_eq!(component("cicada::launch"), "cli");
        assert_eq!(component("h2::proto"), "h2");
        assert_eq!(component(""), "");
    }

    use crate::{LogFormat, LogSettings, console_layer};
    use std::sync::Mutex;
    use tracing_subscriber::layer::SubscriberExt;

    /// A `MakeWriter` collecting everything written, for tests.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(format: LogFormat, fields: Vec<(String, String)>, f: impl FnOnce()) -> String {
        let capture = Capture::default();
        let settings = LogSettings {
            format,
            level: "debug".into(),
            fields,
        };
        let sink = capture.clone();
        let layer = console_layer(
            &settings,
            crate::parse_level("debug").expect("level"),
            move || sink.clone(),
            false,
        );
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
        let bytes = capture.0.lock().expect("capture").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn json_lines_have_stable_flat_fields() {
        let out = lines(
            LogFormat::Json,
            vec![("worker_id".into(), "pod-7".into())],
            || {
                let span = tracing::info_span!("session", master = "m:5557");
                let _in = span.enter();
                tracing::info!(
                    user_type = "Agent",
                    task = "login",
                    trace_id = "0af7651916cd43dd8448eb211c80319c",
                    status = 201u64,
                    ok = true,
                    ms = 1.5,
                    "request"
                );
                tracing::warn!(component = "custom", "overridden");
            },
        );
        let parsed: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(parsed.len(), 2, "{out}");
        let first = &parsed[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["component"], "telemetry");
        assert_eq!(first["message"], "request");
        assert_eq!(first["worker_id"], "pod-7");
        assert_eq!(first["master"], "m:5557");
        assert_eq!(first["user_type"], "Agent");
        assert_eq!(first["task"], "login");
        assert_eq!(first["trace_id"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(first["status"], 201);
        assert_eq!(first["ok"], true);
        assert_eq!(first["ms"], 1.5);
        let ts = first["timestamp"].as_str().expect("timestamp");
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z'),
            "{ts}"
        );
        // The fixed fields lead the line.
        assert!(out.starts_with("{\"timestamp\":"), "{out}");
        assert_eq!(parsed[1]["component"], "custom");
        assert_eq!(parsed[1]["level"], "WARN");
    }

    #[test]
    fn lines_are_scrubbed_in_both_formats() {
        const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl";
        for format in [LogFormat::Json, LogFormat::Text] {
            let out = lines(format, Vec::new(), || {
                tracing::info!(token = JWT, url = "http://u:pw123456@h/", "login {JWT}");
                tracing::debug!("header Authorization: Bearer {JWT}");
            });
            assert!(!out.contains(JWT) && !out.contains("pw123456"), "{out}");
            assert!(out.contains(cicada_redact::MARKER), "{out}");
            if format == LogFormat::Json {
                for line in out.lines() {
                    serde_json::from_str::<Value>(line).expect("still JSON");
                }
            }
        }
    }
}
