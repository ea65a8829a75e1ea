//! Evaluating responses: `expect`, `checks`, `extract`.

use super::{load, request};
use crate::{FailureKind, RequestStep, ResponseView, Step, StepFailure, UserState};
use http::HeaderMap;
use serde_json::json;

fn respond<'a>(
    r: &RequestStep,
    st: &mut UserState,
    status: u16,
    headers: &'a HeaderMap,
    body: &'a str,
) -> Result<(), StepFailure> {
    r.evaluate(
        &ResponseView {
            status,
            headers,
            body: body.as_bytes(),
        },
        st,
    )
}

#[test]
fn expect_statuses() {
    let s = load(
        "users: [ { name: U, tasks: [ { request: { path: /a } }, { request: { path: /b, expect: [201, \"3xx\", \"404-405\"] } } ] } ]",
    );
    let (h, mut st) = (HeaderMap::new(), UserState::new(&s, 1));
    let (a, b) = (request(&s, 0, 0, 0), request(&s, 0, 1, 0));
    assert!(respond(a, &mut st, 302, &h, "").is_ok());
    let e = respond(a, &mut st, 500, &h, "secret body").unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (FailureKind::Status, "HTTP 500")
    );
    assert!(respond(b, &mut st, 201, &h, "").is_ok());
    assert!(respond(b, &mut st, 404, &h, "").is_ok());
    assert!(respond(b, &mut st, 399, &h, "").is_ok());
    assert_eq!(
        respond(b, &mut st, 200, &h, "").unwrap_err().message,
        "unexpected HTTP 200"
    );
    assert_eq!(
        respond(b, &mut st, 503, &h, "").unwrap_err().message,
        "HTTP 503"
    );
}

#[test]
fn checks() {
    let s = load(
        r#"
users:
  - name: U
    tasks:
      - steps:
          - set: { want: 7 }
          - request:
              path: /a
              checks:
                - jsonpath: $.data.id
                - { jsonpath: "$.data.status", equals: ACTIVE }
                - { pointer: /data/n, equals: "{{ want }}" }
                - { jsonpath: "$.data.email", matches: "^[^@]+@x\\.io$" }
                - { jsonpath: "$.data.gone", exists: false }
"#,
    );
    let (h, mut st) = (HeaderMap::new(), UserState::new(&s, 1));
    if let Step::Set(set) = &s.user_types[0].tasks[0].steps[0] {
        set.apply(&mut st).unwrap_or_else(|e| panic!("{e:?}"));
    }
    let r = request(&s, 0, 0, 1);
    let good = json!({"data": {"id": 1, "status": "ACTIVE", "n": 7.0, "email": "a@x.io"}});
    assert!(respond(r, &mut st, 200, &h, &good.to_string()).is_ok());
    let cases = [
        (
            json!({"data": {"status": "ACTIVE"}}),
            "check failed: $.data.id exists",
        ),
        (
            json!({"data": {"id": 1, "status": "DONE"}}),
            "check failed: $.data.status equals the expected value",
        ),
        (
            json!({"data": {"id": 1, "status": "ACTIVE", "n": 8}}),
            "check failed: /data/n equals the expected value",
        ),
        (
            json!({"data": {"id": 1, "status": "ACTIVE", "n": 7, "email": "a@y.io"}}),
            "check failed: $.data.email matches /^[^@]+@x\\.io$/",
        ),
        (
            json!({"data": {"id": 1, "status": "ACTIVE", "n": 7, "email": "a@x.io", "gone": 0}}),
            "check failed: $.data.gone does not exist",
        ),
    ];
    for (body, msg) in cases {
        let e = respond(r, &mut st, 200, &h, &body.to_string()).unwrap_err();
        assert_eq!((e.kind, e.message.as_str()), (FailureKind::Check, msg));
    }
    assert_eq!(
        respond(r, &mut st, 200, &h, "<html>").unwrap_err().message,
        "check failed: response is not JSON"
    );
}

#[test]
fn extraction_jsonpath_pointer_header_and_bounded_lists() {
    let s = load(
        r#"
users:
  - name: U
    tasks:
      - request:
          path: /a
          extract:
            token: "$.data.token"
            first_id: { pointer: /data/items/0/id }
            req_id: { header: X-Request-Id }
            ids: { jsonpath: "$.data.items[*].id", list: true, max: 3 }
            maybe: { jsonpath: "$.nothing", optional: true }
      - request: { path: "/{{ choice(ids) }}/{{ token }}" }
"#,
    );
    let mut h = HeaderMap::new();
    h.insert("x-request-id", http::HeaderValue::from_static("r-1"));
    let mut st = UserState::new(&s, 1);
    let r = request(&s, 0, 0, 0);
    let body = json!({"data": {"token": "tok", "items": [{"id": 1}, {"id": 2}]}}).to_string();
    assert!(respond(r, &mut st, 200, &h, &body).is_ok());
    assert_eq!(st.get_var("token"), Some(json!("tok")));
    assert_eq!(st.get_var("first_id"), Some(json!(1)));
    assert_eq!(st.get_var("req_id"), Some(json!("r-1")));
    assert_eq!(st.get_var("ids"), Some(json!([1, 2])));
    assert_eq!(st.get_var("maybe"), None);
    let body2 = json!({"data": {"token": "tok2", "items": [{"id": 3}, {"id": 4}]}}).to_string();
    assert!(respond(r, &mut st, 200, &h, &body2).is_ok());
    // Appends, keeping the newest `max` items.
    assert_eq!(st.get_var("ids"), Some(json!([2, 3, 4])));
    let p = request(&s, 0, 1, 0)
        .render(&mut st)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .path_and_query;
    assert!(
        ["/2/tok2", "/3/tok2", "/4/tok2"].contains(&p.as_str()),
        "{p}"
    );
}

#[test]
fn extraction_failures_name_the_variable_not_the_value() {
    let s = load(
        "users: [ { name: U, tasks: [ { request: { path: /a, extract: { token: \"$.data.token\", rid: { header: X-Id } } } } ] } ]",
    );
    let (h, mut st) = (HeaderMap::new(), UserState::new(&s, 1));
    let r = request(&s, 0, 0, 0);
    let e = respond(r, &mut st, 200, &h, r#"{"data": {"password": "hunter2"}}"#).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            FailureKind::Extract,
            "extract token: $.data.token not found"
        )
    );
    let e = respond(r, &mut st, 200, &h, "not json").unwrap_err();
    assert_eq!(e.message, "extract token: response is not JSON");
    let ok = r#"{"data": {"token": "t"}}"#;
    assert_eq!(
        respond(r, &mut st, 200, &h, ok).unwrap_err().message,
        "extract rid: header X-Id not found"
    );
}
