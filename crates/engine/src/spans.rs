//! Spans for OpenTelemetry export (`--otel`): one client span per sampled request, under one
//! internal span per task run.
//!
//! The ids are those of the `traceparent` header ([`crate::trace`]): a request's client span
//! has the span id its `traceparent` carried, and its parent is the task run's span, so a
//! target that continues the trace hangs its server spans under our client spans.
//!
//! Cost: with export off, nothing here runs (the `Option` is `None`: one branch per request).
//! With export on, only sampled requests build a [`SpanRecord`]: a clock read, one attribute
//! list allocation (plus the path and, on failure, `error.type`), and a non-blocking push into
//! the bounded queue. Names are shared `Arc<str>`s from the plan and the statistics key; the
//! span name `METHOD name` is joined on the exporter's task, not here.
//!
//! Attributes follow the HTTP client conventions (`http.request.method`,
//! `http.response.status_code`, `error.type`, `server.address`, `server.port`, `url.path`),
//! plus `cicada.*` for the statistics row, user type and task. Never headers, bodies or query
//! strings: they may hold tokens.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cicada_stats::{Failure, RequestKey};
use cicada_telemetry::otel::{
    AttrValue, SpanKind, SpanName, SpanQueue, SpanRecord, SpanStatus, http_error_type,
};
use url::Url;

use crate::trace::{SpanIds, TaskTrace};

/// How a task run ended (its span's `cicada.task.outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Every step passed.
    Ok,
    /// A step failed; the rest of the task was skipped.
    Aborted,
    /// The user was stopped during it.
    Stopped,
}

impl TaskOutcome {
    fn as_str(self) -> &'static str {
        match self {
            TaskOutcome::Ok => "ok",
            TaskOutcome::Aborted => "aborted",
            TaskOutcome::Stopped => "stopped",
        }
    }
}

/// How a request ended, as its span reports it.
pub(crate) enum RequestOutcome<'a> {
    /// A response came back (and was judged).
    Response {
        status: u16,
        failure: Option<&'a Failure>,
    },
    /// No response (connect error, timeout, broken connection).
    Transport(&'a Failure),
}

/// Where a user's spans go: the queue plus what every span of the run shares.
#[derive(Clone, Debug)]
pub struct SpanExport {
    queue: SpanQueue,
    server_address: Option<Arc<str>>,
    server_port: Option<i64>,
}

impl SpanExport {
    /// Spans of requests to `host` go to `queue`.
    pub fn new(queue: SpanQueue, host: &Url) -> SpanExport {
        SpanExport {
            queue,
            // IPv6 literals without their URL brackets, as the conventions ask.
            server_address: host
                .host_str()
                .map(|h| Arc::from(h.trim_start_matches('[').trim_end_matches(']'))),
            server_port: host.port_or_known_default().map(i64::from),
        }
    }

    /// Exports the client span of one request.
    pub(crate) fn client_span(
        &self,
        ids: SpanIds,
        task: Option<&TaskTrace>,
        key: &RequestKey,
        target: &str,
        elapsed: Duration,
        outcome: RequestOutcome<'_>,
    ) {
        let end = SystemTime::now();
        let start = end.checked_sub(elapsed).unwrap_or(end);
        let mut attributes = Vec::with_capacity(10);
        attributes.push(("http.request.method", AttrValue::Shared(key.method.clone())));
        attributes.push(("cicada.request.name", AttrValue::Shared(key.name.clone())));
        if let Some(path) = url_path(target) {
            attributes.push(("url.path", AttrValue::Str(Cow::Owned(path.to_string()))));
        }
        if let Some(a) = &self.server_address {
            attributes.push(("server.address", AttrValue::Shared(a.clone())));
        }
        if let Some(p) = self.server_port {
            attributes.push(("server.port", AttrValue::Int(p)));
        }
        if let Some(t) = task {
            attributes.push(("cicada.user_type", AttrValue::Shared(t.user_type.clone())));
            attributes.push(("cicada.task", AttrValue::Shared(t.task.clone())));
        }
        let status = match outcome {
            RequestOutcome::Response { status, failure } => {
                attributes.push(("http.response.status_code", AttrValue::Int(status.into())));
                // A 4xx/5xx is an error by its code (the conventions' `error.type`); a response
                // the scenario rejected (a check, an unexpected 2xx) by the failure's kind.
                let error = http_error_type(status)
                    .or_else(|| failure.map(|f| AttrValue::from(f.kind.as_str())));
                match error {
                    Some(e) => {
                        let description = match &e {
                            AttrValue::Str(s) => s.clone(),
                            _ => Cow::Borrowed("error"),
                        };
                        attributes.push(("error.type", e));
                        SpanStatus::Error(description)
                    }
                    None => SpanStatus::Unset,
                }
            }
            RequestOutcome::Transport(failure) => {
                let kind = failure.kind.as_str();
                attributes.push(("error.type", AttrValue::from(kind)));
                SpanStatus::Error(Cow::Borrowed(kind))
            }
        };
        self.queue.push(SpanRecord {
            trace_id: ids.trace_id,
            span_id: ids.span_id,
            parent_span_id: ids.parent,
            parent_is_remote: false,
            kind: SpanKind::Client,
            name: SpanName::Joined(key.method.clone(), key.name.clone()),
            start,
            end,
            status,
            attributes,
        });
    }

    /// Exports the span of one task run.
    pub(crate) fn task_span(
        &self,
        trace_id: u128,
        span_id: u64,
        task: &TaskTrace,
        user_id: u64,
        start: SystemTime,
        outcome: TaskOutcome,
    ) {
        let status = match outcome {
            TaskOutcome::Aborted => SpanStatus::Error(Cow::Borrowed("aborted")),
            TaskOutcome::Ok | TaskOutcome::Stopped => SpanStatus::Unset,
        };
        self.queue.push(SpanRecord {
            trace_id,
            span_id,
            parent_span_id: 0,
            parent_is_remote: false,
            kind: SpanKind::Internal,
            name: SpanName::Shared(task.span_name.clone()),
            start,
            end: SystemTime::now(),
            status,
            attributes: vec![
                (
                    "cicada.user_type",
                    AttrValue::Shared(task.user_type.clone()),
                ),
                ("cicada.task", AttrValue::Shared(task.task.clone())),
                (
                    "cicada.user_id",
                    AttrValue::Int(i64::try_from(user_id).unwrap_or(i64::MAX)),
                ),
                ("cicada.task.outcome", AttrValue::from(outcome.as_str())),
                ("cicada.synthetic", AttrValue::Bool(true)),
            ],
        });
    }
}

/// The path of a request target (`/a/b?q` → `/a/b`; an absolute URL's path), without the
/// query, which may hold tokens.
fn url_path(target: &str) -> Option<&str> {
    let without_query = target.split(['?', '#']).next()?;
    if without_query.starts_with('/') {
        return Some(without_query);
    }
    // `http://host:port/path`: skip the scheme and authority.
    let rest = without_query.split_once("://")?.1;
    Some(rest.find('/').map_or("/", |i| &rest[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_drop_queries_and_authorities() {
        assert_eq!(url_path("/a/b?token=x"), Some("/a/b"));
        assert_eq!(url_path("/a#frag"), Some("/a"));
        assert_eq!(url_path("http://h:1/p/q?x"), Some("/p/q"));
        assert_eq!(url_path("https://h"), Some("/"));
        assert_eq!(url_path("relative"), None);
    }

    #[test]
    fn server_address_has_no_brackets() {
        let (q, _rx) = cicada_telemetry::otel::span_queue(1);
        let e = SpanExport::new(q, &Url::parse("http://[::1]:8080/").unwrap());
        assert_eq!(e.server_address.as_deref(), Some("::1"));
        assert_eq!(e.server_port, Some(8080));
        let (q, _rx) = cicada_telemetry::otel::span_queue(1);
        let e = SpanExport::new(q, &Url::parse("https://api.example").unwrap());
        assert_eq!(e.server_port, Some(443));
    }
}

#[cfg(test)]
#[path = "spans_tests.rs"]
mod engine_tests;
