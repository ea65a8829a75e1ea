//! The JSON access log: one line per request, in the shape of the gateway's pino-http lines
//! (`msg` reads `METHOD URL STATUS - N bytes`; `request{method,url,remoteAddress}`,
//! `response{statusCode}`, `duration` in ms), plus the request id and the incoming
//! `traceparent` and its `trace_id` so that a generator's traces can be joined to the
//! target's log.
//! 4xx lines are `warn`, 5xx lines `error`.
//!
//! Secrets never reach it: headers are not logged (only `traceparent`), bodies are not
//! logged, and query values whose key looks secret (`password`, `token`, ...) are masked.
//!
//! Writing must never slow the server down or block it: request tasks hand finished lines to
//! a bounded channel and a dedicated thread writes them through a buffer, flushing whenever
//! the channel runs dry. When the writer cannot keep up (a stalled pipe), lines are dropped
//! and counted (`cicada_target_access_log_dropped_total`) rather than queued without bound.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use prometheus_client::metrics::counter::Counter;
use serde::Serialize;

use crate::config::AccessLogDest;
use crate::store::lock;

/// Lines queued for the writer thread at most.
const QUEUE: usize = 16_384;

/// Longest `traceparent` copied into a line (a valid one is 55 characters).
const MAX_TRACEPARENT: usize = 128;

/// Longest URL copied into a line.
const MAX_URL: usize = 2048;

/// Query keys whose values are masked.
const SECRET_KEYS: [&str; 6] = [
    "password",
    "token",
    "secret",
    "authorization",
    "apikey",
    "api_key",
];

/// One request, as logged.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessEntry<'a> {
    /// `info`, `warn` (4xx) or `error` (5xx).
    pub level: &'static str,
    /// ISO time of the response.
    pub time: String,
    /// `METHOD URL STATUS - N bytes`.
    pub msg: String,
    /// The request.
    pub request: RequestPart<'a>,
    /// The response.
    pub response: ResponsePart,
    /// Milliseconds from arrival to response.
    pub duration: f64,
    /// The route template (`/api/v1/policies/{id}`), or `unmatched`.
    pub route: &'a str,
    /// `req_<ms>_<random>`, also sent back as `X-Request-Id`.
    pub request_id: &'a str,
    /// The incoming W3C `traceparent`, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<&'a str>,
    /// The trace id of a valid incoming `traceparent` (32 hex digits), to find the line from a
    /// trace.
    #[serde(rename = "trace_id", skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<&'a str>,
}

/// The `request` part of a line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestPart<'a> {
    /// Method.
    pub method: &'a str,
    /// Path and query (secret-looking query values masked).
    pub url: &'a str,
    /// Client address.
    pub remote_address: String,
}

/// The `response` part of a line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsePart {
    /// Status code.
    pub status_code: u16,
}

/// Lines captured in memory (tests).
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<VecDeque<String>>>);

impl Captured {
    /// The lines captured so far.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.0).iter().cloned().collect()
    }
}

#[derive(Debug, Clone)]
enum Sink {
    Off,
    Channel(SyncSender<Vec<u8>>),
    Capture(Captured, usize),
}

/// The access log.
#[derive(Debug, Clone)]
pub struct AccessLog {
    sink: Sink,
    dropped: Counter,
}

impl AccessLog {
    /// No access log.
    pub fn off() -> AccessLog {
        AccessLog {
            sink: Sink::Off,
            dropped: Counter::default(),
        }
    }

    /// The access log for a destination (starts the writer thread unless off).
    pub fn new(dest: AccessLogDest) -> io::Result<AccessLog> {
        match dest {
            AccessLogDest::Off => Ok(AccessLog::off()),
            AccessLogDest::Stdout => AccessLog::to_writer(io::stdout()),
            AccessLogDest::Stderr => AccessLog::to_writer(io::stderr()),
        }
    }

    /// Lines go to `out` through a writer thread.
    pub fn to_writer(out: impl Write + Send + 'static) -> io::Result<AccessLog> {
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(&rx, out))?;
        Ok(AccessLog {
            sink: Sink::Channel(tx),
            dropped: Counter::default(),
        })
    }

    /// Lines are kept in memory (the newest `limit`), for tests.
    pub fn capture(limit: usize) -> (AccessLog, Captured) {
        let captured = Captured::default();
        let log = AccessLog {
            sink: Sink::Capture(captured.clone(), limit),
            dropped: Counter::default(),
        };
        (log, captured)
    }

    /// False when lines would go nowhere (callers skip building them).
    pub fn enabled(&self) -> bool {
        !matches!(self.sink, Sink::Off)
    }

    /// The counter of dropped lines (registered in `/metrics`).
    pub fn dropped(&self) -> &Counter {
        &self.dropped
    }

    /// Logs one request.
    pub fn write(&self, entry: &AccessEntry<'_>) {
        match &self.sink {
            Sink::Off => {}
            Sink::Channel(tx) => {
                let mut line = Vec::with_capacity(384);
                if serde_json::to_writer(&mut line, entry).is_err() {
                    return;
                }
                line.push(b'\n');
                match tx.try_send(line) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                        self.dropped.inc();
                    }
                }
            }
            Sink::Capture(captured, limit) => {
                if let Ok(line) = serde_json::to_string(entry) {
                    let mut lines = lock(&captured.0);
                    if lines.len() >= *limit {
                        lines.pop_front();
                    }
                    lines.push_back(line);
                }
            }
        }
    }
}

/// The writer thread: ends when every sender is gone (the server stopped).
fn write_lines(rx: &Receiver<Vec<u8>>, out: impl Write) {
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(line) = rx.recv() {
        if out.write_all(&line).is_err() {
            continue;
        }
        while let Ok(more) = rx.try_recv() {
            let _ = out.write_all(&more);
        }
        let _ = out.flush();
    }
    let _ = out.flush();
}

/// The URL as logged: cut to a bounded length, secret-looking query values masked.
pub fn loggable_url(path_and_query: &str) -> String {
    let cut = match path_and_query.char_indices().nth(MAX_URL) {
        Some((i, _)) => &path_and_query[..i],
        None => path_and_query,
    };
    let Some((path, query)) = cut.split_once('?') else {
        return cut.to_string();
    };
    let mut out = String::with_capacity(cut.len());
    out.push_str(path);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let lower = key.to_ascii_lowercase();
        if pair.contains('=') && SECRET_KEYS.iter().any(|s| lower.contains(s)) {
            out.push_str(key);
            out.push_str("=[REDACTED]");
        } else {
            out.push_str(pair);
        }
    }
    out
}

/// The `traceparent` as logged: only printable ASCII, bounded.
pub fn loggable_traceparent(value: &[u8]) -> Option<&str> {
    if value.is_empty()
        || value.len() > MAX_TRACEPARENT
        || !value.iter().all(|b| b.is_ascii_graphic())
    {
        return None;
    }
    std::str::from_utf8(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn entry<'a>(url: &'a str) -> AccessEntry<'a> {
        AccessEntry {
            level: "info",
            time: "t".into(),
            msg: format!("GET {url} 200 - 2 bytes"),
            request: RequestPart {
                method: "GET",
                url,
                remote_address: "127.0.0.1".into(),
            },
            response: ResponsePart { status_code: 200 },
            duration: 1.5,
            route: "/health",
            request_id: "req_1_A",
            traceparent: None,
            trace_id: None,
        }
    }

    #[test]
    fn masks_secret_query_values() {
        assert_eq!(
            loggable_url("/a?x=1&password=hunter2&Token=abc&flag"),
            "/a?x=1&password=[REDACTED]&Token=[REDACTED]&flag"
        );
        assert_eq!(loggable_url("/plain"), "/plain");
        assert_eq!(loggable_url(&"a".repeat(5000)).len(), MAX_URL);
    }

    #[test]
    fn traceparent_is_checked() {
        let tp = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(loggable_traceparent(tp).is_some());
        assert!(loggable_traceparent(b"a b").is_none());
        assert!(loggable_traceparent(&[b'a'; 200]).is_none());
    }

    #[test]
    fn writer_thread_writes_json_lines() {
        let buf = Shared::default();
        let log = AccessLog::to_writer(buf.clone()).unwrap();
        log.write(&entry("/health"));
        drop(log);
        // The thread flushes after each burst; wait for it, boundedly.
        for _ in 0..200 {
            if !lock(&buf.0).is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let text = String::from_utf8(lock(&buf.0).clone()).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["request"]["url"], "/health");
        assert_eq!(v["response"]["statusCode"], 200);
        assert!(v.get("traceparent").is_none());
    }

    #[test]
    fn capture_is_bounded() {
        let (log, captured) = AccessLog::capture(2);
        for _ in 0..5 {
            log.write(&entry("/x"));
        }
        assert_eq!(captured.lines().len(), 2);
        assert!(!AccessLog::off().enabled());
    }
}
