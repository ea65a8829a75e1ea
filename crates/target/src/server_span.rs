//! W3C trace context on the way in, and a server span per request on the way out.
//!
//! Every request's `traceparent` is parsed (strictly: version, lower-case hex, non-zero ids);
//! its trace id goes into the access log line, so a generator's trace can be found in the
//! target's log. With `--otel`, each request also becomes an OpenTelemetry server span: a child
//! of the incoming span (the generator's client span) in the same trace, or the root of a new
//! trace when the request carried none. A request whose `traceparent` is not sampled exports
//! nothing (the parent's decision is followed, as OTel's default `ParentBased` sampler does).
//!
//! The span follows the HTTP server conventions: name `METHOD route`, `http.request.method`,
//! `http.route`, `url.path` (never the query), `url.scheme`, `http.response.status_code`,
//! `client.address`, and `error.type` plus an error status for 5xx only (a 4xx is the
//! client's error, not the server's). No headers, no bodies.
//!
//! New ids come from [`mix`] over a per-process salt and the request number: no lock, no
//! syscall, and distinct across restarts (the salt includes the start time).

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use cicada_telemetry::otel::{AttrValue, SpanKind, SpanName, SpanQueue, SpanRecord, SpanStatus};

use crate::rng::mix;

/// `purpose` values of [`mix`] for ids.
const SPAN_ID: u64 = 101;
const TRACE_HI: u64 = 102;
const TRACE_LO: u64 = 103;

/// A parsed `traceparent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id.
    pub trace_id: u128,
    /// The caller's span id (the parent of ours).
    pub parent_id: u64,
    /// The sampled flag.
    pub sampled: bool,
}

/// Parses `00-<32 hex>-<16 hex>-<2 hex>` (later versions may append fields after a `-`).
/// Upper-case hex, all-zero ids, version `ff` and wrong lengths are refused, per W3C.
pub fn parse_traceparent(value: &[u8]) -> Option<TraceParent> {
    let text = std::str::from_utf8(value).ok()?;
    let version = text.get(0..2)?;
    let rest = text.get(2..)?;
    if version == "ff" || !is_lower_hex(version) {
        return None;
    }
    // Version 00 is exactly 55 characters; later versions may be longer, with a `-`.
    let fixed = rest.get(..53)?;
    let tail = rest.get(53..)?;
    if (version == "00" && !tail.is_empty()) || (!tail.is_empty() && !tail.starts_with('-')) {
        return None;
    }
    let mut parts = fixed.split('-');
    let (Some(""), Some(trace), Some(span), Some(flags), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
        return None;
    }
    if !(is_lower_hex(trace) && is_lower_hex(span) && is_lower_hex(flags)) {
        return None;
    }
    let trace_id = u128::from_str_radix(trace, 16).ok()?;
    let parent_id = u64::from_str_radix(span, 16).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    if trace_id == 0 || parent_id == 0 {
        return None;
    }
    Some(TraceParent {
        trace_id,
        parent_id,
        sampled: flags & 1 == 1,
    })
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What the middleware knows about a finished request.
pub(crate) struct Served<'a> {
    /// The request number (input of new ids).
    pub n: u64,
    /// The incoming trace context, if valid.
    pub incoming: Option<TraceParent>,
    /// `GET`, ... (`OTHER` for the rest).
    pub method: &'static str,
    /// The route template, or `unmatched`.
    pub route: &'static str,
    /// The path, without the query.
    pub path: &'a str,
    /// Response status.
    pub status: u16,
    /// The client's address.
    pub remote: Option<SocketAddr>,
    /// Arrival to response.
    pub elapsed: Duration,
}

/// Exports the server span of a request (unless its parent is not sampled).
pub(crate) fn export(queue: &SpanQueue, salt: u64, served: &Served<'_>) {
    let (trace_id, parent_span_id) = match served.incoming {
        Some(tp) if !tp.sampled => return,
        Some(tp) => (tp.trace_id, tp.parent_id),
        None => {
            let hi = u128::from(mix(salt, served.n, TRACE_HI));
            let lo = u128::from(mix(salt, served.n, TRACE_LO));
            ((hi << 64 | lo).max(1), 0)
        }
    };
    let end = SystemTime::now();
    let method = if served.method == "OTHER" {
        "_OTHER"
    } else {
        served.method
    };
    let matched = served.route != "unmatched";
    let name = if matched {
        format!("{method} {}", served.route)
    } else {
        method.to_string()
    };
    let mut attributes = Vec::with_capacity(8);
    attributes.push(("http.request.method", AttrValue::from(method)));
    if matched {
        attributes.push(("http.route", AttrValue::from(served.route)));
    }
    attributes.push(("url.path", AttrValue::from(served.path.to_string())));
    attributes.push(("url.scheme", AttrValue::from("http")));
    attributes.push((
        "http.response.status_code",
        AttrValue::Int(served.status.into()),
    ));
    if let Some(addr) = served.remote {
        attributes.push(("client.address", AttrValue::from(addr.ip().to_string())));
    }
    let status = if served.status >= 500 {
        let code = served.status.to_string();
        attributes.push(("error.type", AttrValue::from(code.clone())));
        SpanStatus::Error(Cow::Owned(code))
    } else {
        SpanStatus::Unset
    };
    queue.push(SpanRecord {
        trace_id,
        span_id: mix(salt, served.n, SPAN_ID).max(1),
        parent_span_id,
        parent_is_remote: parent_span_id != 0,
        kind: SpanKind::Server,
        name: SpanName::Owned(Cow::Owned(name)),
        start: end.checked_sub(served.elapsed).unwrap_or(end),
        end,
        status,
        attributes,
    });
}

/// A salt for new ids: differs between processes and restarts.
pub(crate) fn salt() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    mix(nanos, u64::from(std::process::id()), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_valid_traceparents() {
        assert_eq!(
            parse_traceparent(TP),
            Some(TraceParent {
                trace_id: 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
                parent_id: 0x00f0_67aa_0ba9_02b7,
                sampled: true,
            })
        );
        let unsampled = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        assert_eq!(parse_traceparent(unsampled).map(|t| t.sampled), Some(false));
        let future = b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra";
        assert!(parse_traceparent(future).is_some());
    }

    #[test]
    fn refuses_invalid_ones() {
        for bad in [
            &b""[..],
            b"00-mine",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            b"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            b"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é".as_bytes(),
        ] {
            assert_eq!(
                parse_traceparent(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn served(incoming: Option<TraceParent>, status: u16) -> Served<'static> {
        Served {
            n: 7,
            incoming,
            method: "GET",
            route: "/api/v1/policies/{id}",
            path: "/api/v1/policies/p1",
            status,
            remote: Some(SocketAddr::from(([127, 0, 0, 1], 5000))),
            elapsed: Duration::from_millis(2),
        }
    }

    fn attr<'a>(s: &'a SpanRecord, key: &str) -> Option<&'a AttrValue> {
        s.attributes.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    #[test]
    fn spans_continue_the_incoming_trace() {
        let (q, mut rx) = cicada_telemetry::otel::span_queue(8);
        let tp = parse_traceparent(TP);
        export(&q, 1, &served(tp, 503));
        let s = rx.try_recv().unwrap();
        assert_eq!(s.trace_id, 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
        assert_eq!(s.parent_span_id, 0x00f0_67aa_0ba9_02b7);
        assert!(s.parent_is_remote);
        assert_ne!(s.span_id, 0);
        assert_eq!(s.kind, SpanKind::Server);
        assert_eq!(s.name.to_text(), "GET /api/v1/policies/{id}");
        assert_eq!(
            attr(&s, "http.route"),
            Some(&AttrValue::from("/api/v1/policies/{id}"))
        );
        assert_eq!(
            attr(&s, "http.response.status_code"),
            Some(&AttrValue::Int(503))
        );
        assert_eq!(
            attr(&s, "error.type"),
            Some(&AttrValue::from("503".to_string()))
        );
        assert!(matches!(s.status, SpanStatus::Error(_)));

        // A 4xx is not the server's error.
        export(&q, 1, &served(tp, 404));
        let s = rx.try_recv().unwrap();
        assert_eq!(
            (attr(&s, "error.type"), &s.status),
            (None, &SpanStatus::Unset)
        );
    }

    #[test]
    fn roots_without_context_and_nothing_when_unsampled() {
        let (q, mut rx) = cicada_telemetry::otel::span_queue(8);
        export(&q, 1, &served(None, 200));
        let root = rx.try_recv().unwrap();
        assert_eq!(root.parent_span_id, 0);
        assert!(!root.parent_is_remote);
        assert_ne!(root.trace_id, 0);
        // Another salt (another process) gives other ids for the same request number.
        export(&q, 2, &served(None, 200));
        assert_ne!(rx.try_recv().unwrap().trace_id, root.trace_id);

        let unsampled =
            parse_traceparent(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
        export(&q, 1, &served(unsampled, 200));
        assert_eq!(rx.try_recv(), None);
    }
}
