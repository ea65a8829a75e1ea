//! W3C trace context on every request, so the target's traces can be told apart and grouped.
//!
//! Each request carries a `traceparent` (a new span id per request; a new trace id per task run
//! by default, so all requests of one task share a trace, or per request) and a `baggage`
//! header marking it synthetic with its user type and task:
//! `cicada.synthetic=true,cicada.user_type=QuoteAgent,cicada.task=create_quote`.
//! The sampled flag is drawn per trace from `sample_ratio`. Headers the scenario sets itself win.
//!
//! Only ids are generated here (from the user's RNG, no allocation beyond the header value).
//! With `--otel`, the same ids become spans (see [`crate::spans`]): the `traceparent` a request
//! carries names its client span, whose parent is the task run's span, so the target's server
//! spans join the generator's trace. Without `--otel` the only cost is one branch.

use std::sync::Arc;
use std::time::SystemTime;

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};
use rand::RngExt;
use rand::rngs::SmallRng;

use crate::spans::{SpanExport, TaskOutcome};

/// When a new trace id starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// One trace per task run (every request of the task shares it).
    PerTask,
    /// One trace per request.
    PerRequest,
    /// No trace headers at all.
    Off,
}

impl std::str::FromStr for TraceMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "per-task" | "task" => Ok(TraceMode::PerTask),
            "per-request" | "request" => Ok(TraceMode::PerRequest),
            "off" | "none" => Ok(TraceMode::Off),
            other => Err(format!(
                "unknown trace mode `{other}` (expected per-task, per-request or off)"
            )),
        }
    }
}

/// Per-request observability settings: trace headers, and sampled request log lines.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceConfig {
    /// When a new trace id starts.
    pub mode: TraceMode,
    /// Share of traces with the sampled flag set (0.0-1.0).
    pub sample_ratio: f64,
    /// Share of requests logged as an INFO line `request` (`--log-requests`, 0.0-1.0; 0: none,
    /// at the cost of one comparison per request). See [`crate::context`].
    pub log_requests: f64,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            mode: TraceMode::PerTask,
            sample_ratio: 1.0,
            log_requests: 0.0,
        }
    }
}

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// What a task's requests carry and its span is called, built once per task when the plan is
/// built (so a task run costs a reference count, not an allocation).
#[derive(Clone, Debug)]
pub struct TaskTrace {
    /// The `baggage` header of its requests.
    pub baggage: Option<HeaderValue>,
    /// The user type's name.
    pub user_type: Arc<str>,
    /// The task's name (`on_start`/`on_stop` for the lifecycle hooks).
    pub task: Arc<str>,
    /// The task span's name: `UserType task`.
    pub span_name: Arc<str>,
}

impl TaskTrace {
    /// The trace data of `task` of `user_type`.
    pub fn new(user_type: &str, task: &str) -> TaskTrace {
        TaskTrace {
            baggage: baggage(user_type, task),
            user_type: Arc::from(user_type),
            task: Arc::from(task),
            span_name: Arc::from(format!("{user_type} {task}")),
        }
    }
}

/// The ids of a client span to export once its request is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SpanIds {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// The task span (0: none, the client span is a root).
    pub(crate) parent: u64,
}

/// The `baggage` value for a task of a user type (built once per task, when the plan is built).
pub fn baggage(user_type: &str, task: &str) -> Option<HeaderValue> {
    let value = format!(
        "cicada.synthetic=true,cicada.user_type={},cicada.task={}",
        encode(user_type),
        encode(task)
    );
    HeaderValue::from_str(&value).ok()
}

/// Percent-encodes everything but unreserved characters (baggage values may not hold `,;=` or
/// spaces).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One user's trace state.
#[derive(Debug)]
pub(crate) struct Tracer {
    config: TraceConfig,
    trace_id: u128,
    sampled: bool,
    /// Where spans go; `None` without `--otel`.
    export: Option<SpanExport>,
    /// The task being run (its baggage, names).
    task: Option<Arc<TaskTrace>>,
    /// The open task span's id (0: none), only while exporting a sampled per-task trace.
    task_span: u64,
    task_start: SystemTime,
    /// The user's id (an attribute of its task spans).
    user_id: u64,
}

impl Tracer {
    pub(crate) fn new(config: TraceConfig, export: Option<SpanExport>, user_id: u64) -> Self {
        Tracer {
            user_id,
            config,
            trace_id: 0,
            sampled: false,
            export,
            task: None,
            task_span: 0,
            task_start: SystemTime::UNIX_EPOCH,
        }
    }

    /// The task being run.
    pub(crate) fn task(&self) -> Option<&TaskTrace> {
        self.task.as_deref()
    }

    /// The current trace id (`None` with trace headers off).
    pub(crate) fn trace_id(&self) -> Option<u128> {
        (self.config.mode != TraceMode::Off && self.trace_id != 0).then_some(self.trace_id)
    }

    /// Share of requests to log (`--log-requests`).
    pub(crate) fn log_requests(&self) -> f64 {
        self.config.log_requests
    }

    /// Where spans go, when exporting.
    pub(crate) fn export(&self) -> Option<&SpanExport> {
        self.export.as_ref()
    }

    fn new_trace(&mut self, rng: &mut SmallRng) {
        // All-zero ids are invalid in W3C trace context.
        self.trace_id = rng.random::<u128>().max(1);
        self.sampled = rng.random::<f64>() < self.config.sample_ratio;
    }

    /// A task starts: with per-task traces, a new trace id; when exporting a sampled trace, a
    /// task span opens (its id is the parent of the task's client spans).
    pub(crate) fn begin_task(&mut self, rng: &mut SmallRng, task: Option<Arc<TaskTrace>>) {
        // A span left open (a task whose end was not reported) is closed, not leaked.
        self.end_task(TaskOutcome::Stopped);
        self.task = task;
        if self.config.mode == TraceMode::PerTask {
            self.new_trace(rng);
            if self.export.is_some() && self.sampled {
                self.task_span = rng.random::<u64>().max(1);
                self.task_start = SystemTime::now();
            }
        }
    }

    /// The task ended: exports its span, if one is open.
    pub(crate) fn end_task(&mut self, outcome: TaskOutcome) {
        if self.task_span == 0 {
            return;
        }
        let span_id = std::mem::take(&mut self.task_span);
        if let (Some(export), Some(task)) = (&self.export, &self.task) {
            export.task_span(
                self.trace_id,
                span_id,
                task,
                self.user_id,
                self.task_start,
                outcome,
            );
        }
    }

    /// Adds `traceparent` (new span id) and `baggage` unless the request already has them.
    /// Returns the ids of the client span to export when exporting and the trace is sampled
    /// (not when the scenario set its own `traceparent`: its ids are not ours).
    pub(crate) fn apply(&mut self, rng: &mut SmallRng, headers: &mut HeaderMap) -> Option<SpanIds> {
        if self.config.mode == TraceMode::Off {
            return None;
        }
        if self.config.mode == TraceMode::PerRequest || self.trace_id == 0 {
            self.new_trace(rng);
        }
        let mut ids = None;
        if !headers.contains_key(&TRACEPARENT) {
            let span = rng.random::<u64>().max(1);
            if let Ok(v) = HeaderValue::from_bytes(&traceparent(self.trace_id, span, self.sampled))
            {
                headers.insert(TRACEPARENT.clone(), v);
            }
            if self.sampled && self.export.is_some() {
                ids = Some(SpanIds {
                    trace_id: self.trace_id,
                    span_id: span,
                    parent: self.task_span,
                });
            }
        }
        if let Some(b) = self.task.as_ref().and_then(|t| t.baggage.as_ref())
            && !headers.contains_key(&BAGGAGE)
        {
            headers.insert(BAGGAGE.clone(), b.clone());
        }
        ids
    }
}

/// `00-{trace_id:032x}-{span_id:016x}-{flags:02x}`, written without the formatting
/// machinery: it is built for every request, and `format!` was 3 % of a busy generator's CPU.
fn traceparent(trace_id: u128, span_id: u64, sampled: bool) -> [u8; 55] {
    let mut out = [b'-'; 55];
    out[..2].copy_from_slice(b"00");
    lower_hex(&mut out[3..35], trace_id);
    lower_hex(&mut out[36..52], u128::from(span_id));
    out[53..].copy_from_slice(if sampled { b"01" } else { b"00" });
    out
}

/// Writes `value`'s low `out.len()` hex digits, zero-padded, into `out`.
fn lower_hex(out: &mut [u8], mut value: u128) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in out.iter_mut().rev() {
        *b = DIGITS[(value & 0xf) as usize];
        value >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn parts(h: &HeaderMap) -> (String, String, String) {
        let v = h["traceparent"].to_str().unwrap().to_string();
        let p: Vec<&str> = v.split('-').collect();
        assert_eq!(p.len(), 4, "{v}");
        assert_eq!(p[0], "00");
        assert_eq!(p[1].len(), 32);
        assert_eq!(p[2].len(), 16);
        (p[1].to_string(), p[2].to_string(), p[3].to_string())
    }

    #[test]
    fn traceparent_is_what_format_would_write() {
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..1000 {
            let (t, s) = (
                rng.random::<u128>() >> rng.random_range(0..128),
                rng.random::<u64>(),
            );
            for sampled in [false, true] {
                let want = format!("00-{t:032x}-{s:016x}-{:02x}", u8::from(sampled));
                assert_eq!(
                    std::str::from_utf8(&traceparent(t, s, sampled)).unwrap(),
                    want
                );
            }
        }
        assert_eq!(
            &traceparent(u128::MAX, u64::MAX, true)[..],
            format!("00-{}-{}-01", "f".repeat(32), "f".repeat(16)).as_bytes()
        );
    }

    #[test]
    fn per_task_shares_the_trace_and_changes_the_span() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut t = Tracer::new(TraceConfig::default(), None, 1);
        let task = Arc::new(TaskTrace::new("Quote Agent", "create,quote"));
        t.begin_task(&mut rng, Some(task));
        let (mut h1, mut h2) = (HeaderMap::new(), HeaderMap::new());
        assert_eq!(
            t.apply(&mut rng, &mut h1),
            None,
            "no span ids without export"
        );
        t.apply(&mut rng, &mut h2);
        let (trace1, span1, flags) = parts(&h1);
        let (trace2, span2, _) = parts(&h2);
        assert_eq!(trace1, trace2);
        assert_ne!(span1, span2);
        assert_eq!(flags, "01", "ratio 1.0 samples everything");
        assert_eq!(
            h1["baggage"],
            "cicada.synthetic=true,cicada.user_type=Quote%20Agent,cicada.task=create%2Cquote"
        );
        t.begin_task(&mut rng, None);
        let mut h3 = HeaderMap::new();
        t.apply(&mut rng, &mut h3);
        assert_ne!(parts(&h3).0, trace1, "a new task starts a new trace");
        assert!(h3.get("baggage").is_none());
    }

    #[test]
    fn per_request_off_sampling_and_user_headers() {
        let mut rng = SmallRng::seed_from_u64(2);
        let mut t = Tracer::new(
            TraceConfig {
                mode: TraceMode::PerRequest,
                sample_ratio: 0.0,
                log_requests: 0.0,
            },
            None,
            1,
        );
        t.begin_task(&mut rng, None);
        let (mut h1, mut h2) = (HeaderMap::new(), HeaderMap::new());
        t.apply(&mut rng, &mut h1);
        t.apply(&mut rng, &mut h2);
        assert_ne!(parts(&h1).0, parts(&h2).0);
        assert_eq!(parts(&h1).2, "00", "ratio 0.0 samples nothing");

        // A header the scenario set itself is kept.
        let mut own = HeaderMap::new();
        own.insert("traceparent", HeaderValue::from_static("00-mine"));
        t.apply(&mut rng, &mut own);
        assert_eq!(own["traceparent"], "00-mine");

        let mut off = Tracer::new(
            TraceConfig {
                mode: TraceMode::Off,
                sample_ratio: 1.0,
                log_requests: 0.0,
            },
            None,
            1,
        );
        off.begin_task(&mut rng, Some(Arc::new(TaskTrace::new("a", "b"))));
        let mut h = HeaderMap::new();
        off.apply(&mut rng, &mut h);
        assert!(h.is_empty());
        assert!("per-request".parse::<TraceMode>().is_ok());
        assert!("sometimes".parse::<TraceMode>().is_err());
    }
}
