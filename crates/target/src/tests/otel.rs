//! Server spans (`--otel`) and the trace id in the access log.

use cicada_telemetry::otel::{AttrValue, SpanKind, SpanRecord, SpanStatus, span_queue};

use super::T;
use crate::TargetConfig;

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn attr(s: &SpanRecord, key: &str) -> Option<AttrValue> {
    s.attributes
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn a_server_span_per_request_in_the_callers_trace() {
    let (queue, mut rx) = span_queue(64);
    let t = T::traced(TargetConfig::default(), Some(queue));
    let r = t
        .send(
            "GET",
            "/api/v1/policies/abc?token=leaked",
            &[
                ("traceparent", Some(TP.to_string())),
                ("authorization", Some("Bearer sekrit".to_string())),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    let s = rx.try_recv().expect("a span");
    assert_eq!(s.kind, SpanKind::Server);
    assert_eq!(s.trace_id, 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
    assert_eq!(s.parent_span_id, 0x00f0_67aa_0ba9_02b7);
    assert!(s.parent_is_remote);
    assert_eq!(s.name.to_text(), "GET /api/v1/policies/{id}");
    assert_eq!(
        attr(&s, "http.request.method"),
        Some(AttrValue::from("GET"))
    );
    assert_eq!(
        attr(&s, "http.route"),
        Some(AttrValue::from("/api/v1/policies/{id}"))
    );
    assert_eq!(
        attr(&s, "url.path"),
        Some(AttrValue::from("/api/v1/policies/abc".to_string()))
    );
    assert_eq!(
        attr(&s, "http.response.status_code"),
        Some(AttrValue::Int(401))
    );
    assert_eq!(attr(&s, "error.type"), None, "a 4xx is not a server error");
    assert_eq!(s.status, SpanStatus::Unset);
    let text = format!("{s:?}");
    assert!(
        !text.contains("leaked") && !text.contains("sekrit"),
        "{text}"
    );

    // The access log line names the same trace.
    let line: serde_json::Value = serde_json::from_str(&t.log.lines()[0]).unwrap();
    assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");

    // Without a traceparent: a root span of a new trace; unsampled: no span.
    t.send("GET", "/health", &[], None).await;
    let root = rx.try_recv().expect("a root span");
    assert_eq!((root.parent_span_id, root.parent_is_remote), (0, false));
    assert_ne!(root.trace_id, 0);
    let unsampled = TP.replace("-01", "-00");
    t.send("GET", "/health", &[("traceparent", Some(unsampled))], None)
        .await;
    assert_eq!(rx.try_recv(), None);
}

#[tokio::test]
async fn injected_errors_are_server_errors() {
    let (queue, mut rx) = span_queue(64);
    let config = TargetConfig {
        error_rate: 1.0,
        ..TargetConfig::default()
    };
    let t = T::traced(config, Some(queue));
    let r = t
        .send(
            "GET",
            "/api/v1/claims",
            &[("traceparent", Some(TP.to_string()))],
            None,
        )
        .await;
    assert_eq!(r.status, 500);
    let s = rx.try_recv().expect("a span");
    assert_eq!(
        attr(&s, "error.type"),
        Some(AttrValue::from("500".to_string()))
    );
    assert!(matches!(s.status, SpanStatus::Error(_)));
}

#[tokio::test]
async fn no_spans_without_otel() {
    let t = T::new();
    let r = t
        .send(
            "GET",
            "/health",
            &[("traceparent", Some(TP.to_string()))],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(t.state.shared().spans.is_none());
}
