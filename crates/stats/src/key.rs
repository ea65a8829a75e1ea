//! What a measurement is filed under: the row key `(method, name)` and the failure cause.
//!
//! Keys hold `Arc<str>` so that the engine builds them once per request definition and the hot
//! path only borrows them; cloning a key (when a new row is created) is two reference-count
//! increments, never a string copy.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Method of the row that collects requests beyond the entry limit (and of the failure overflow
/// row).
pub const OVERFLOW_METHOD: &str = "OTHER";
/// Name of the row that collects requests beyond the entry limit.
pub const OVERFLOW_ENTRY_NAME: &str = "(other: entry limit reached)";
/// Name of the failure row that collects failures beyond the failure limit.
pub const OVERFLOW_FAILURE_NAME: &str = "(other)";
/// Message of the failure that stands in for distinct failures beyond the failure limit.
pub const OVERFLOW_FAILURE_MESSAGE: &str = "(other: failure limit reached)";

/// One statistics row: the request method and the request *name* (a template such as
/// `/claims/{id}`, never a URL with ids in it, so that the number of rows stays small).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestKey {
    /// HTTP method (or any short protocol verb).
    pub method: Arc<str>,
    /// Request name shown in reports.
    pub name: Arc<str>,
}

impl RequestKey {
    /// Builds a key from anything string-like (allocates; do it once, not per request).
    pub fn new(method: impl AsRef<str>, name: impl AsRef<str>) -> Self {
        RequestKey {
            method: Arc::from(method.as_ref()),
            name: Arc::from(name.as_ref()),
        }
    }

    /// The row that collects requests once `max_entries` distinct rows exist.
    pub fn overflow() -> Self {
        RequestKey::new(OVERFLOW_METHOD, OVERFLOW_ENTRY_NAME)
    }

    /// True for the entry overflow row.
    pub fn is_overflow(&self) -> bool {
        &*self.method == OVERFLOW_METHOD && &*self.name == OVERFLOW_ENTRY_NAME
    }
}

impl fmt::Display for RequestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.name)
    }
}

/// Coarse cause of a failed request; the detail lives in [`Failure::message`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The connection could not be established (refused, DNS, TLS handshake).
    Connect,
    /// The request or connection timed out.
    Timeout,
    /// The response status was not accepted.
    Status,
    /// A response check (body, header, JSON) failed.
    Check,
    /// A value could not be extracted from the response.
    Extract,
    /// The connection broke or the peer violated the protocol.
    Protocol,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// All kinds, in declaration order.
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Connect,
        FailureKind::Timeout,
        FailureKind::Status,
        FailureKind::Check,
        FailureKind::Extract,
        FailureKind::Protocol,
        FailureKind::Other,
    ];

    /// Lower-case name used in reports and metrics labels (`"connect"`, `"timeout"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect",
            FailureKind::Timeout => "timeout",
            FailureKind::Status => "status",
            FailureKind::Check => "check",
            FailureKind::Extract => "extract",
            FailureKind::Protocol => "protocol",
            FailureKind::Other => "other",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request failed. Failures are counted per `(method, name, Failure)`, so the message must
/// be short and must not contain per-request data (ids, timestamps), or every failure becomes a
/// row of its own (the rows are capped, see [`crate::StatsConfig::max_failures`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Failure {
    /// Coarse cause.
    pub kind: FailureKind,
    /// Human-readable reason, e.g. `HTTP 503` or `connection refused`.
    pub message: Arc<str>,
}

impl Failure {
    /// Builds a failure (allocates the message).
    pub fn new(kind: FailureKind, message: impl AsRef<str>) -> Self {
        Failure {
            kind,
            message: Arc::from(message.as_ref()),
        }
    }

    /// The failure that stands in for distinct failures beyond a limit.
    pub fn overflow() -> Self {
        Failure::new(FailureKind::Other, OVERFLOW_FAILURE_MESSAGE)
    }

    /// True for the stand-in failure of [`Failure::overflow`].
    pub fn is_overflow(&self) -> bool {
        self.kind == FailureKind::Other && &*self.message == OVERFLOW_FAILURE_MESSAGE
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A failure row: which request failed and why.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FailureKey {
    pub(crate) key: RequestKey,
    pub(crate) failure: Failure,
}

impl FailureKey {
    /// The row that collects distinct failures beyond the failure limit.
    pub(crate) fn overflow() -> Self {
        FailureKey {
            key: RequestKey::new(OVERFLOW_METHOD, OVERFLOW_FAILURE_NAME),
            failure: Failure::overflow(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_match_serde() {
        for kind in FailureKind::ALL {
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn overflow_markers() {
        assert!(RequestKey::overflow().is_overflow());
        assert!(!RequestKey::new("GET", "/").is_overflow());
        assert!(Failure::overflow().is_overflow());
        assert!(!Failure::new(FailureKind::Other, "x").is_overflow());
    }
}
