//! The response envelope every backend uses, and the errors handlers return.
//!
//! - success: `{"success":true,"data":<T>}` (+ `"message"`; lists + `"pagination"`);
//! - error: `{"success":false,"message":"..."}`;
//! - validation error: 400 `{"success":false,"message":"Validation failed","errors":[...]}`
//!   with express-validator's error objects;
//! - Express's own HTML 404 for paths no router knows.
//!
//! Record JSON is pre-rendered (see [`crate::store::table`]), so most bodies are assembled
//! from ready-made strings; the `serde` paths are for the rarer, small responses.

use std::borrow::Cow;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::Value;

use crate::query::Pagination;

/// Express's `res.json` content type.
pub const JSON_TYPE: &str = "application/json; charset=utf-8";

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The body field.
    pub path: &'static str,
    /// The value sent (absent when the field was missing).
    pub value: Option<Value>,
    /// The message.
    pub msg: &'static str,
}

/// Everything a handler can answer instead of a success.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// `{"success":false,"message":...}` with a status.
    Message(StatusCode, Cow<'static, str>),
    /// 400 "Validation failed" with the failing field.
    Validation(FieldError),
    /// Express's default HTML 404 (`Cannot GET /path`).
    Html404 {
        /// The method.
        method: String,
        /// The path as the answering server saw it.
        path: String,
    },
}

impl ApiError {
    /// 404 with a message.
    pub fn not_found(m: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::Message(StatusCode::NOT_FOUND, m.into())
    }
    /// 400 with a message.
    pub fn bad_request(m: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::Message(StatusCode::BAD_REQUEST, m.into())
    }
    /// 401 with a message.
    pub fn unauthorized(m: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::Message(StatusCode::UNAUTHORIZED, m.into())
    }
    /// 403 with a message.
    pub fn forbidden(m: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::Message(StatusCode::FORBIDDEN, m.into())
    }
    /// 500 with a message.
    pub fn internal(m: impl Into<Cow<'static, str>>) -> ApiError {
        ApiError::Message(StatusCode::INTERNAL_SERVER_ERROR, m.into())
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> ApiError {
        ApiError::Validation(e)
    }
}

#[derive(Serialize)]
struct Failure<'a> {
    success: bool,
    message: &'a str,
}

#[derive(Serialize)]
struct ValidationItem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a Value>,
    msg: &'a str,
    path: &'a str,
    location: &'static str,
}

#[derive(Serialize)]
struct ValidationFailure<'a> {
    success: bool,
    message: &'static str,
    errors: [ValidationItem<'a>; 1],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Message(status, message) => json(
                status,
                serde_json::to_vec(&Failure {
                    success: false,
                    message: &message,
                })
                .unwrap_or_default(),
            ),
            ApiError::Validation(e) => json(
                StatusCode::BAD_REQUEST,
                serde_json::to_vec(&ValidationFailure {
                    success: false,
                    message: "Validation failed",
                    errors: [ValidationItem {
                        kind: "field",
                        value: e.value.as_ref(),
                        msg: e.msg,
                        path: e.path,
                        location: "body",
                    }],
                })
                .unwrap_or_default(),
            ),
            ApiError::Html404 { method, path } => html_404(&method, &path),
        }
    }
}

/// A JSON response from bytes.
pub fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    r
}

#[derive(Serialize)]
struct Success<'a, T: Serialize> {
    success: bool,
    data: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

/// `{"success":true,"data":...}` (+ `message`).
pub fn data<T: Serialize>(status: StatusCode, data: &T, message: Option<&str>) -> Response {
    json(
        status,
        serde_json::to_vec(&Success {
            success: true,
            data,
            message,
        })
        .unwrap_or_default(),
    )
}

/// 200 `{"success":true,"data":...}`: the plain answer of a read or an update.
pub fn ok<T: Serialize>(data: &T) -> Response {
    self::data(StatusCode::OK, data, None)
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// `{"success":true,"data":<pre-rendered JSON>}` (+ `message`).
pub fn raw_data(status: StatusCode, data_json: &str, message: Option<&str>) -> Response {
    let mut out = Vec::with_capacity(data_json.len() + 64);
    out.extend_from_slice(b"{\"success\":true,\"data\":");
    out.extend_from_slice(data_json.as_bytes());
    if let Some(m) = message {
        out.extend_from_slice(b",\"message\":");
        push_str(&mut out, m);
    }
    out.push(b'}');
    json(status, out)
}

/// `{"success":true,"data":[...],"pagination":{...}}` from a pre-rendered JSON array.
pub fn raw_list(items_json: &[u8], pagination: Option<&Pagination>) -> Response {
    let mut out = Vec::with_capacity(items_json.len() + 96);
    out.extend_from_slice(b"{\"success\":true,\"data\":");
    out.extend_from_slice(items_json);
    if let Some(p) = pagination {
        out.extend_from_slice(b",\"pagination\":");
        let _ = serde_json::to_writer(&mut out, p);
    }
    out.push(b'}');
    json(StatusCode::OK, out)
}

/// The start of a list body, to be followed by the items array and [`finish_list`].
pub fn start_list(capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity + 128);
    out.extend_from_slice(b"{\"success\":true,\"data\":");
    out
}

/// Ends a list body started with [`start_list`] (the items array already written).
pub fn finish_list(mut out: Vec<u8>, pagination: &Pagination) -> Response {
    out.extend_from_slice(b",\"pagination\":");
    let _ = serde_json::to_writer(&mut out, pagination);
    out.push(b'}');
    json(StatusCode::OK, out)
}

/// `{"success":true,"message":...}`.
pub fn message(status: StatusCode, message: &str) -> Response {
    let mut out = Vec::with_capacity(message.len() + 32);
    out.extend_from_slice(b"{\"success\":true,\"message\":");
    push_str(&mut out, message);
    out.push(b'}');
    json(status, out)
}

/// Express's `finalhandler` 404 page.
pub fn html_404(method: &str, path: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot {} {}</pre>\n</body>\n</html>\n",
        escape_html(method),
        escape_html(path)
    );
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::NOT_FOUND;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn body(r: Response) -> String {
        String::from_utf8(to_bytes(r.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn shapes() {
        let r = ApiError::unauthorized("No token provided").into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(
            body(r).await,
            r#"{"success":false,"message":"No token provided"}"#
        );
        let r = ApiError::from(FieldError {
            path: "type",
            value: Some(Value::from("auto")),
            msg: "Invalid policy type",
        })
        .into_response();
        assert_eq!(
            body(r).await,
            r#"{"success":false,"message":"Validation failed","errors":[{"type":"field","value":"auto","msg":"Invalid policy type","path":"type","location":"body"}]}"#
        );
        let r = ApiError::from(FieldError {
            path: "type",
            value: None,
            msg: "m",
        })
        .into_response();
        assert!(!body(r).await.contains("value"));
        let r = raw_data(StatusCode::CREATED, "{\"a\":1}", Some("ok \"x\""));
        assert_eq!(r.status(), 201);
        assert_eq!(
            body(r).await,
            r#"{"success":true,"data":{"a":1},"message":"ok \"x\""}"#
        );
        let p = Pagination {
            page: 1,
            limit: 50,
            total: 0,
            pages: Some(0),
        };
        assert_eq!(
            body(raw_list(b"[]", Some(&p))).await,
            r#"{"success":true,"data":[],"pagination":{"page":1,"limit":50,"total":0,"pages":0}}"#
        );
    }

    #[tokio::test]
    async fn express_404_page() {
        let r = html_404("GET", "/<x>");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(body(r).await.contains("<pre>Cannot GET /&lt;x&gt;</pre>"));
    }
}
