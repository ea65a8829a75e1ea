//! Sampled request log lines (`--log-requests RATIO`) and the credentials a request carries.
//!
//! A request log line is one INFO event, target `cicada_engine::requests`, message `request`,
//! with the fields `method`, `name` (the statistics row), `path` (the URL without its query
//! string and fragment, whose values may hold tokens), `status` (0: no response), `duration_ms`,
//! `bytes`, `ok`, `failure` (when it failed), `user_id`, `user_type`, `task` and `trace_id`
//! (when the user is in a task / trace headers are on). Headers and bodies are never logged;
//! the path and the failure are redacted with the user's secrets.
//!
//! The cost when the ratio is 0 (the default) is one comparison per request; a sampled line is
//! built only when the `cicada_engine::requests` target is enabled at INFO.

use std::time::Duration;

use cicada_redact::{Secrets, is_secret_header};
use cicada_stats::{Failure, RequestKey};
use http::{HeaderMap, Method};

use crate::trace::TaskTrace;

/// The target of request log lines (for `--log-level cicada_engine::requests=off`).
pub const TARGET: &str = "cicada_engine::requests";

/// What one request log line says.
pub(crate) struct RequestLine<'a> {
    pub key: &'a RequestKey,
    pub method: &'a Method,
    pub target: &'a str,
    /// `None`: no response (a transport error).
    pub status: Option<u16>,
    pub elapsed: Duration,
    pub bytes: u64,
    pub failure: Option<&'a Failure>,
    pub user_id: u64,
    pub task: Option<&'a TaskTrace>,
    pub trace_id: Option<u128>,
}

/// The URL of a request without its query string and fragment.
pub(crate) fn without_query(target: &str) -> &str {
    let end = target.find(['?', '#']).unwrap_or(target.len());
    &target[..end]
}

/// Writes the line (already sampled).
pub(crate) fn log(line: &RequestLine<'_>, secrets: &Secrets) {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    let path = secrets.redact(without_query(line.target));
    let failure = line
        .failure
        .map(|f| secrets.redact(&f.message).into_owned());
    let trace_id = line.trace_id.map(|t| format!("{t:032x}"));
    // Milliseconds with microsecond precision.
    let duration_ms = (line.elapsed.as_secs_f64() * 1e6).round() / 1e3;
    tracing::info!(
        target: TARGET,
        method = line.method.as_str(),
        name = &*line.key.name,
        path = &*path,
        status = line.status.unwrap_or(0),
        duration_ms,
        bytes = line.bytes,
        ok = line.failure.is_none(),
        failure = failure.as_deref(),
        user_id = line.user_id,
        user_type = line.task.map(|t| &*t.user_type),
        task = line.task.map(|t| &*t.task),
        trace_id = trace_id.as_deref(),
        "request"
    );
}

/// Adds the credentials of a request's secret headers (`Authorization`, `Cookie`,
/// `X-Api-Key`, ...) to `secrets`: the credential after an auth scheme (`Bearer abc` -> `abc`),
/// each cookie value, or the whole value. Allocation-free when they are known already.
pub(crate) fn note_header_secrets(headers: &HeaderMap, secrets: &mut Secrets) {
    for (name, value) in headers {
        if !is_secret_header(name.as_str()) {
            continue;
        }
        let Ok(value) = value.to_str() else {
            continue;
        };
        if *name == http::header::COOKIE {
            for pair in value.split(';') {
                if let Some((_, v)) = pair.split_once('=') {
                    secrets.add(v.trim());
                }
            }
            continue;
        }
        match value.split_once(' ') {
            Some((scheme, credential))
                if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic()) =>
            {
                secrets.add(credential.trim());
            }
            _ => {
                secrets.add(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn queries_are_dropped() {
        assert_eq!(without_query("/a/b?token=x#f"), "/a/b");
        assert_eq!(without_query("/a#f"), "/a");
        assert_eq!(without_query("http://h/x?y"), "http://h/x");
        assert_eq!(without_query(""), "");
    }

    #[test]
    fn header_credentials_become_secrets() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static("Bearer tok-123456"),
        );
        h.insert(
            "cookie",
            HeaderValue::from_static("sid=cookie-abc; theme=dark"),
        );
        h.insert("x-api-key", HeaderValue::from_static("key-98765"));
        h.insert("accept", HeaderValue::from_static("application/json"));
        let mut s = Secrets::new();
        note_header_secrets(&h, &mut s);
        assert_eq!(
            s.redact("tok-123456 cookie-abc dark key-98765 application/json"),
            "[redacted] [redacted] [redacted] [redacted] application/json"
        );
        let g = s.generation();
        note_header_secrets(&h, &mut s);
        assert_eq!(s.generation(), g, "known credentials add nothing");
    }
}

#[cfg(test)]
#[path = "redaction_tests.rs"]
mod redaction_tests;
