//! W3C trace context on every request, so the target's traces can be told apart and grouped.
//!
//! Each request carries a `traceparent` (a new span id per request; a new trace id per task run
//! by default, so all requests of one task share a trace, or per request) and a `baggage`
//! header marking it synthetic with its user type and task:
//! `cicada.synthetic=true,cicada.user_type=QuoteAgent,cicada.task=create_quote`.
//! The sampled flag is drawn per trace from `sample_ratio`. Headers the scenario sets itself win.
//!
//! Only ids are generated here (from the user's RNG, no allocation beyond the header value);
//! exporting spans is a separate concern.

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};
use rand::RngExt;
use rand::rngs::SmallRng;

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

/// Trace header settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceConfig {
    /// When a new trace id starts.
    pub mode: TraceMode,
    /// Share of traces with the sampled flag set (0.0-1.0).
    pub sample_ratio: f64,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            mode: TraceMode::PerTask,
            sample_ratio: 1.0,
        }
    }
}

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static BAGGAGE: HeaderName = HeaderName::from_static("baggage");

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
#[derive(Clone, Debug)]
pub(crate) struct Tracer {
    config: TraceConfig,
    trace_id: u128,
    sampled: bool,
}

impl Tracer {
    pub(crate) fn new(config: TraceConfig) -> Self {
        Tracer {
            config,
            trace_id: 0,
            sampled: false,
        }
    }

    fn new_trace(&mut self, rng: &mut SmallRng) {
        // All-zero ids are invalid in W3C trace context.
        self.trace_id = rng.random::<u128>().max(1);
        self.sampled = rng.random::<f64>() < self.config.sample_ratio;
    }

    /// A task starts: with per-task traces, a new trace id.
    pub(crate) fn begin_task(&mut self, rng: &mut SmallRng) {
        if self.config.mode == TraceMode::PerTask {
            self.new_trace(rng);
        }
    }

    /// Adds `traceparent` (new span id) and `baggage` unless the request already has them.
    pub(crate) fn apply(
        &mut self,
        rng: &mut SmallRng,
        headers: &mut HeaderMap,
        baggage: Option<&HeaderValue>,
    ) {
        if self.config.mode == TraceMode::Off {
            return;
        }
        if self.config.mode == TraceMode::PerRequest || self.trace_id == 0 {
            self.new_trace(rng);
        }
        if !headers.contains_key(&TRACEPARENT) {
            let span = rng.random::<u64>().max(1);
            let flags = u8::from(self.sampled);
            let value = format!("00-{:032x}-{span:016x}-{flags:02x}", self.trace_id);
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(TRACEPARENT.clone(), v);
            }
        }
        if let Some(b) = baggage
            && !headers.contains_key(&BAGGAGE)
        {
            headers.insert(BAGGAGE.clone(), b.clone());
        }
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
    fn per_task_shares_the_trace_and_changes_the_span() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut t = Tracer::new(TraceConfig::default());
        let b = baggage("Quote Agent", "create,quote");
        t.begin_task(&mut rng);
        let (mut h1, mut h2) = (HeaderMap::new(), HeaderMap::new());
        t.apply(&mut rng, &mut h1, b.as_ref());
        t.apply(&mut rng, &mut h2, b.as_ref());
        let (trace1, span1, flags) = parts(&h1);
        let (trace2, span2, _) = parts(&h2);
        assert_eq!(trace1, trace2);
        assert_ne!(span1, span2);
        assert_eq!(flags, "01", "ratio 1.0 samples everything");
        assert_eq!(
            h1["baggage"],
            "cicada.synthetic=true,cicada.user_type=Quote%20Agent,cicada.task=create%2Cquote"
        );
        t.begin_task(&mut rng);
        let mut h3 = HeaderMap::new();
        t.apply(&mut rng, &mut h3, None);
        assert_ne!(parts(&h3).0, trace1, "a new task starts a new trace");
        assert!(h3.get("baggage").is_none());
    }

    #[test]
    fn per_request_off_sampling_and_user_headers() {
        let mut rng = SmallRng::seed_from_u64(2);
        let mut t = Tracer::new(TraceConfig {
            mode: TraceMode::PerRequest,
            sample_ratio: 0.0,
        });
        t.begin_task(&mut rng);
        let (mut h1, mut h2) = (HeaderMap::new(), HeaderMap::new());
        t.apply(&mut rng, &mut h1, None);
        t.apply(&mut rng, &mut h2, None);
        assert_ne!(parts(&h1).0, parts(&h2).0);
        assert_eq!(parts(&h1).2, "00", "ratio 0.0 samples nothing");

        // A header the scenario set itself is kept.
        let mut own = HeaderMap::new();
        own.insert("traceparent", HeaderValue::from_static("00-mine"));
        t.apply(&mut rng, &mut own, None);
        assert_eq!(own["traceparent"], "00-mine");

        let mut off = Tracer::new(TraceConfig {
            mode: TraceMode::Off,
            sample_ratio: 1.0,
        });
        let mut h = HeaderMap::new();
        off.apply(&mut rng, &mut h, baggage("a", "b").as_ref());
        assert!(h.is_empty());
        assert!("per-request".parse::<TraceMode>().is_ok());
        assert!("sometimes".parse::<TraceMode>().is_err());
    }
}
