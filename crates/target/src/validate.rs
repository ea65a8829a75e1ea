//! Request bodies and their validation, in express-validator's manner.
//!
//! Bodies are parsed as JSON whatever the content type (an empty body is `{}`, as Express
//! leaves it). Each route checks its fields in the order its validator chains run and stops
//! at the first failing field, so a validation error names exactly one field, like the real
//! services (`{type:"field", value, msg, path, location:"body"}`).

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::envelope::{ApiError, FieldError};
use crate::money::{Money, float_of, money_of};
use crate::time::parse_iso8601;

/// A parsed JSON body.
pub type Body = Map<String, Value>;

/// Parses a request body. Invalid JSON is a 400 (Express's body parser would answer an HTML
/// 400); a JSON value that is not an object counts as an empty body.
pub fn parse_body(bytes: &Bytes) -> Result<Body, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Ok(Map::new()),
        Err(_) => Err(ApiError::bad_request("Invalid JSON in request body")),
    }
}

fn fail(body: &Body, path: &'static str, msg: &'static str) -> FieldError {
    FieldError {
        path,
        value: body.get(path).cloned(),
        msg,
    }
}

/// A field present and not `null` (express-validator's `optional()` lets both through).
fn given<'a>(body: &'a Body, path: &str) -> Option<&'a Value> {
    body.get(path).filter(|v| !v.is_null())
}

/// A required enum field (`isIn`).
pub fn enum_field<E>(
    body: &Body,
    path: &'static str,
    parse: impl Fn(&str) -> Option<E>,
    msg: &'static str,
) -> Result<E, FieldError> {
    body.get(path)
        .and_then(Value::as_str)
        .and_then(parse)
        .ok_or_else(|| fail(body, path, msg))
}

/// An optional enum field.
pub fn optional_enum<E>(
    body: &Body,
    path: &'static str,
    parse: impl Fn(&str) -> Option<E>,
    msg: &'static str,
) -> Result<Option<E>, FieldError> {
    match given(body, path) {
        None => Ok(None),
        Some(_) => enum_field(body, path, parse, msg).map(Some),
    }
}

/// A required ISO-8601 date field, in ms.
pub fn iso_field(body: &Body, path: &'static str, msg: &'static str) -> Result<i64, FieldError> {
    body.get(path)
        .and_then(Value::as_str)
        .and_then(parse_iso8601)
        .ok_or_else(|| fail(body, path, msg))
}

/// An optional ISO-8601 date field.
pub fn optional_iso(
    body: &Body,
    path: &'static str,
    msg: &'static str,
) -> Result<Option<i64>, FieldError> {
    match given(body, path) {
        None => Ok(None),
        Some(_) => iso_field(body, path, msg).map(Some),
    }
}

/// A required numeric money field (`isNumeric`: numbers or numeric strings).
pub fn money_field(
    body: &Body,
    path: &'static str,
    msg: &'static str,
) -> Result<Money, FieldError> {
    money_of(body.get(path)).ok_or_else(|| fail(body, path, msg))
}

/// An optional numeric money field.
pub fn optional_money(
    body: &Body,
    path: &'static str,
    msg: &'static str,
) -> Result<Option<Money>, FieldError> {
    match given(body, path) {
        None => Ok(None),
        Some(_) => money_field(body, path, msg).map(Some),
    }
}

/// A required numeric field as a float (`parseFloat` of a value that passed `isNumeric`).
pub fn float_field(body: &Body, path: &'static str, msg: &'static str) -> Result<f64, FieldError> {
    float_of(body.get(path)).ok_or_else(|| fail(body, path, msg))
}

/// A required non-empty text field (`notEmpty`); numbers count as their text.
pub fn text_field(
    body: &Body,
    path: &'static str,
    msg: &'static str,
) -> Result<String, FieldError> {
    match body.get(path) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(fail(body, path, msg)),
    }
}

/// An optional string field (`isString`).
pub fn optional_text(
    body: &Body,
    path: &'static str,
    msg: &'static str,
) -> Result<Option<String>, FieldError> {
    match given(body, path) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(fail(body, path, msg)),
    }
}

/// A string field read without validation (fields the services pass straight to the
/// database); non-strings count as missing.
pub fn plain_text(body: &Body, path: &str) -> Option<String> {
    body.get(path).and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn bodies() {
        assert!(parse_body(&Bytes::from_static(b"")).unwrap().is_empty());
        assert!(parse_body(&Bytes::from_static(b" \n")).unwrap().is_empty());
        assert!(parse_body(&Bytes::from_static(b"[1]")).unwrap().is_empty());
        assert!(parse_body(&Bytes::from_static(b"{")).is_err());
        assert_eq!(
            parse_body(&Bytes::from_static(br#"{"a":1}"#)).unwrap()["a"],
            1
        );
    }

    #[test]
    fn fields() {
        let b = body(json!({"t":"AUTO","d":"2026-01-01","m":"12.5","n":3,"s":"","x":null}));
        let parse = |s: &str| (s == "AUTO").then_some(1);
        assert_eq!(enum_field(&b, "t", parse, "bad"), Ok(1));
        let e = enum_field(&b, "m", parse, "bad").unwrap_err();
        assert_eq!((e.path, e.value), ("m", Some(json!("12.5"))));
        assert_eq!(enum_field(&b, "zz", parse, "bad").unwrap_err().value, None);
        assert_eq!(optional_enum(&b, "x", parse, "bad"), Ok(None));
        assert_eq!(iso_field(&b, "d", "bad"), Ok(1_767_225_600_000));
        assert!(iso_field(&b, "m", "bad").is_err());
        assert_eq!(money_field(&b, "m", "bad"), Ok(Money::from_cents(1250)));
        assert_eq!(money_field(&b, "n", "bad"), Ok(Money::from_cents(300)));
        assert!(money_field(&b, "t", "bad").is_err());
        assert_eq!(optional_money(&b, "x", "bad"), Ok(None));
        assert_eq!(float_field(&b, "m", "bad"), Ok(12.5));
        assert!(text_field(&b, "s", "bad").is_err());
        assert_eq!(text_field(&b, "n", "bad"), Ok("3".to_string()));
        assert_eq!(optional_text(&b, "t", "bad"), Ok(Some("AUTO".into())));
        assert!(optional_text(&b, "n", "bad").is_err());
        assert_eq!(plain_text(&b, "n"), None);
    }
}
