//! Finished spans as the producers (the engine's users, the target's middleware) hand them over.
//!
//! A [`SpanRecord`] is deliberately plain: ids as integers, `&'static str` attribute keys, shared
//! or static strings for values. Building one on a request's path costs a few moves and at most
//! one small allocation (the attribute list); turning it into the SDK's `SpanData` (resource,
//! scope, `KeyValue`s) happens later, on the exporter's own task, off the users' path.
//!
//! Ids are the ones already on the wire: a client span's `span_id` is the parent-id its request
//! carried in `traceparent`, so the server's spans join the same trace.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

/// What a span stands for (OTLP `SpanKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// An outgoing request (one per request a user sends).
    Client,
    /// An incoming request (one per request the target serves).
    Server,
    /// Work inside the process (a task run, the parent of its requests).
    Internal,
}

/// A span's outcome (OTLP `Status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpanStatus {
    /// Nothing to report (the default for successful HTTP spans, per the conventions).
    Unset,
    /// Failed; the description is short and free of data (an error type, never a body).
    Error(Cow<'static, str>),
}

/// An attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    /// A string known at compile time, or built for this span.
    Str(Cow<'static, str>),
    /// A string shared with the producer (a request's statistics name), no copy.
    Shared(Arc<str>),
    /// An integer (status codes, ports).
    Int(i64),
    /// A flag.
    Bool(bool),
}

impl From<&'static str> for AttrValue {
    fn from(s: &'static str) -> Self {
        AttrValue::Str(Cow::Borrowed(s))
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        AttrValue::Str(Cow::Owned(s))
    }
}

impl From<Arc<str>> for AttrValue {
    fn from(s: Arc<str>) -> Self {
        AttrValue::Shared(s)
    }
}

impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::Int(v)
    }
}

impl From<bool> for AttrValue {
    fn from(v: bool) -> Self {
        AttrValue::Bool(v)
    }
}

/// A span's name: static, built for it, or shared with the producer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpanName {
    /// Built for this span or static.
    Owned(Cow<'static, str>),
    /// Shared (e.g. a task's precomputed span name).
    Shared(Arc<str>),
    /// Two shared parts joined by a space (`GET` + `/api/v1/policies/{id}`), joined on the
    /// exporter's task rather than on the request's path.
    Joined(Arc<str>, Arc<str>),
}

impl SpanName {
    /// The name as text.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            SpanName::Owned(s) => Cow::Borrowed(s),
            SpanName::Shared(s) => Cow::Borrowed(s),
            SpanName::Joined(a, b) => Cow::Owned(format!("{a} {b}")),
        }
    }
}

/// One finished span, ready to export.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanRecord {
    /// W3C trace id (never 0 for a valid span).
    pub trace_id: u128,
    /// This span's id (never 0).
    pub span_id: u64,
    /// The parent's span id; 0 for a root span.
    pub parent_span_id: u64,
    /// True when the parent lives in another process (the target's server spans).
    pub parent_is_remote: bool,
    /// Client, server or internal.
    pub kind: SpanKind,
    /// The span's name (low cardinality: `GET /api/v1/policies/{id}`, a task name).
    pub name: SpanName,
    /// When it started.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
    /// Outcome.
    pub status: SpanStatus,
    /// Attributes, keys from the semantic conventions (or `cicada.*`).
    pub attributes: Vec<(&'static str, AttrValue)>,
}

/// The `error.type` of an HTTP status: the code as text for 4xx and 5xx, as the HTTP semantic
/// conventions ask (an allocation, but only for failed requests that are sampled).
pub fn http_error_type(status: u16) -> Option<AttrValue> {
    (400..600)
        .contains(&status)
        .then(|| AttrValue::Str(Cow::Owned(status.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_only_for_4xx_and_5xx() {
        assert_eq!(http_error_type(200), None);
        assert_eq!(http_error_type(302), None);
        assert_eq!(
            http_error_type(404),
            Some(AttrValue::from("404".to_string()))
        );
        assert_eq!(
            http_error_type(503),
            Some(AttrValue::from("503".to_string()))
        );
        assert_eq!(http_error_type(600), None);
    }

    #[test]
    fn names_read_as_text() {
        assert_eq!(SpanName::Owned(Cow::Borrowed("GET /x")).to_text(), "GET /x");
        assert_eq!(SpanName::Shared(Arc::from("task")).to_text(), "task");
        let joined = SpanName::Joined(Arc::from("GET"), Arc::from("/x/{id}"));
        assert_eq!(joined.to_text(), "GET /x/{id}");
    }
}
