//! Scrubbing secret *shapes* out of a text, without knowing any value.
//!
//! One left-to-right pass over the bytes; at each position a few cheap tests decide whether a
//! rule starts there. Every rule replaces a run of ASCII bytes (so slicing stays on character
//! boundaries) and never removes a quote or a backslash, so a scrubbed JSON line is still JSON.
//!
//! Rules:
//! 1. A JSON Web Token: `eyJ` + base64url, at least one `.` segment, 20 bytes or more.
//! 2. A bearer credential: `Bearer <credential>` (any case), credential of 8 bytes or more.
//! 3. The password of a URL: `scheme://user:<password>@host`.
//! 4. `NAME=value` where NAME is secret ([`crate::is_secret_name`]): query strings, form
//!    bodies, `key=value` fields of text logs. A quoted value (`token="..."`) is redacted
//!    inside its quotes.
//! 5. `"NAME": "value"` (also with escaped quotes `\"NAME\":\"value\"`, as in a JSON body
//!    quoted inside a JSON log line) where NAME is secret.

use std::borrow::Cow;

use crate::MARKER;
use crate::names::is_secret_name;

/// Shortest JSON Web Token recognised (bytes).
const MIN_JWT: usize = 20;
/// Shortest bearer credential recognised (bytes).
const MIN_BEARER: usize = 8;
/// Longest user-info part of a URL looked at (bytes).
const MAX_USERINFO: usize = 256;
/// Longest field name looked at backwards from `=` or `:` (bytes).
const MAX_KEY: usize = 64;

/// Replaces secret-looking parts of `text` with [`MARKER`] (see the module docs for the rules).
/// Returns the text itself, without allocating, when nothing matches.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        match rule_at(b, i) {
            Some((start, end)) if start >= copied && end > start => {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                o.push_str(text.get(copied..start).unwrap_or_default());
                o.push_str(MARKER);
                copied = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(text.get(copied..).unwrap_or_default());
            Cow::Owned(o)
        }
    }
}

/// The byte range to replace when a rule starts at `i`.
fn rule_at(b: &[u8], i: usize) -> Option<(usize, usize)> {
    match b[i] {
        b'e' => jwt(b, i),
        b'b' | b'B' => bearer(b, i),
        b':' => userinfo(b, i).or_else(|| json_field(b, i)),
        b'=' => assignment(b, i),
        _ => None,
    }
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Characters of a bearer credential (RFC 6750 `b64token`).
fn is_token68(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

fn run(b: &[u8], from: usize, ok: impl Fn(u8) -> bool) -> usize {
    let mut j = from;
    while j < b.len() && ok(b[j]) {
        j += 1;
    }
    j
}

/// Rule 1: `eyJ...` with at least one dot segment.
fn jwt(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if !b[i..].starts_with(b"eyJ") || (i > 0 && is_b64url(b[i - 1])) {
        return None;
    }
    let head = run(b, i, is_b64url);
    if b.get(head) != Some(&b'.') {
        return None;
    }
    let body = run(b, head + 1, is_b64url);
    if body == head + 1 {
        return None;
    }
    let mut end = body;
    if b.get(body) == Some(&b'.') {
        end = run(b, body + 1, is_b64url);
    }
    (end - i >= MIN_JWT).then_some((i, end))
}

/// Rule 2: `Bearer <credential>`: the credential is replaced.
fn bearer(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let word = b.get(i..i + 6)?;
    if !word.eq_ignore_ascii_case(b"bearer") || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
        return None;
    }
    let spaces = run(b, i + 6, |c| c == b' ');
    if spaces == i + 6 {
        return None;
    }
    let end = run(b, spaces, is_token68);
    (end - spaces >= MIN_BEARER).then_some((spaces, end))
}

/// Rule 3: at the `:` of `://`, the password of `user:password@`.
fn userinfo(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if !b[i..].starts_with(b"://") {
        return None;
    }
    let from = i + 3;
    let limit = (from + MAX_USERINFO).min(b.len());
    let mut colon = None;
    for (j, &c) in b.iter().enumerate().take(limit).skip(from) {
        match c {
            b'@' => {
                let c = colon?;
                return (j > c + 1).then_some((c + 1, j));
            }
            b':' if colon.is_none() => colon = Some(j),
            b'/' | b'?' | b'#' | b'"' | b'\\' | b' ' | b'\n' | b'\t' => return None,
            _ => {}
        }
    }
    None
}

/// The field name ending right before `end` (identifier-ish characters), if any.
fn key_before(b: &[u8], end: usize) -> Option<&str> {
    let mut start = end;
    while start > 0
        && end - start < MAX_KEY
        && (b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'_' | b'-' | b'.'))
    {
        start -= 1;
    }
    if start == end {
        return None;
    }
    std::str::from_utf8(&b[start..end]).ok()
}

/// Where a quoted value that opens at `open` (the byte after its quote) ends: at the closing
/// quote, honouring backslash escapes; `escaped_quotes`: the quotes are `\"` (a JSON text inside
/// a JSON string), so the value ends at the next backslash.
fn quoted_end(b: &[u8], open: usize, escaped_quotes: bool) -> usize {
    let mut j = open;
    while j < b.len() {
        match b[j] {
            b'\\' if escaped_quotes => return j,
            b'\\' => j += 2,
            b'"' => return j,
            _ => j += 1,
        }
    }
    b.len().min(j)
}

/// Rule 4: `NAME=value`.
fn assignment(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let key = key_before(b, i)?;
    if !is_secret_name(key) {
        return None;
    }
    let from = i + 1;
    let (start, end) = if b.get(from) == Some(&b'"') {
        (from + 1, quoted_end(b, from + 1, false))
    } else {
        let end = run(b, from, |c| {
            !c.is_ascii_whitespace()
                && !matches!(
                    c,
                    b'"' | b'\'' | b'\\' | b'&' | b',' | b';' | b'}' | b')' | b']' | b'<' | b'>'
                )
        });
        // `authorization=Bearer abc`: the scheme and its credential.
        let scheme = &b[from..end];
        if (scheme.eq_ignore_ascii_case(b"bearer") || scheme.eq_ignore_ascii_case(b"basic"))
            && b.get(end) == Some(&b' ')
        {
            let spaces = run(b, end, |c| c == b' ');
            (from, run(b, spaces, is_token68))
        } else {
            (from, end)
        }
    };
    (end > start && !b[start..].starts_with(MARKER.as_bytes())).then_some((start, end))
}

/// Rule 5: at the `:` after a quoted NAME, the quoted value.
fn json_field(b: &[u8], i: usize) -> Option<(usize, usize)> {
    // The key's closing quote, possibly escaped, possibly followed by spaces.
    let mut k = i;
    while k > 0 && b[k - 1] == b' ' {
        k -= 1;
    }
    if k == 0 || b[k - 1] != b'"' {
        return None;
    }
    let key_end = if k >= 2 && b[k - 2] == b'\\' {
        k - 2
    } else {
        k - 1
    };
    let key = key_before(b, key_end)?;
    if !is_secret_name(key) {
        return None;
    }
    let v = run(b, i + 1, |c| c == b' ');
    let (start, escaped) = if b.get(v) == Some(&b'"') {
        (v + 1, false)
    } else if b.get(v..v + 2) == Some(b"\\\"") {
        (v + 2, true)
    } else {
        return None;
    };
    let end = quoted_end(b, start, escaped);
    (end > start && !b[start..].starts_with(MARKER.as_bytes())).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

    fn s(text: &str) -> String {
        scrub(text).into_owned()
    }

    #[test]
    fn clean_text_is_borrowed() {
        for text in [
            "",
            "GET /api/v1/policies 200",
            "check failed: $.data.token exists",
            "extract token: $.data.token not found",
            "render header authorization: invalid header value",
            "listening on http://127.0.0.1:3000",
            "the bearer of bad news",
            "a=b c==d =x token=",
        ] {
            assert!(matches!(scrub(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn jwts() {
        assert_eq!(s(&format!("token {JWT} end")), "token [redacted] end");
        assert_eq!(s(&format!("\"{JWT}\"")), "\"[redacted]\"");
        // Two segments are enough; too short or no dot is not a token.
        assert_eq!(s("x eyJhbGciOiJIUzI1NiJ9.eyJzdWIi y"), "x [redacted] y");
        assert_eq!(s("eyJabc.def"), "eyJabc.def");
        assert_eq!(
            s("keyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ"),
            "keyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ"
        );
    }

    #[test]
    fn bearer_credentials() {
        assert_eq!(
            s("Authorization: Bearer abcdefgh12"),
            "Authorization: Bearer [redacted]"
        );
        assert_eq!(
            s("authorization=bearer  abc.def-ghi x"),
            "authorization=[redacted] x"
        );
        assert_eq!(
            s("Authorization=Basic dXNlcjpwYXNz"),
            "Authorization=[redacted]"
        );
        assert_eq!(s("BEARER zzzzzzzzzz, x"), "BEARER [redacted], x");
        assert_eq!(s("Bearer short"), "Bearer short");
    }

    #[test]
    fn url_passwords() {
        assert_eq!(
            s("host http://alice:hunter22@api.example.com/x"),
            "host http://alice:[redacted]@api.example.com/x"
        );
        assert_eq!(s("http://alice@host/"), "http://alice@host/");
        assert_eq!(s("http://host:8080/a@b"), "http://host:8080/a@b");
    }

    #[test]
    fn assignments() {
        assert_eq!(
            s("/api/v1/x?page=2&token=abc123&q=1"),
            "/api/v1/x?page=2&token=[redacted]&q=1"
        );
        assert_eq!(
            s("password=hunter2 user=bob"),
            "password=[redacted] user=bob"
        );
        assert_eq!(s("api_key=\"k e y\" n=1"), "api_key=\"[redacted]\" n=1");
        assert_eq!(s("token=[redacted]"), "token=[redacted]");
        assert_eq!(s("quote_id=42"), "quote_id=42");
    }

    #[test]
    fn json_fields() {
        assert_eq!(
            s(r#"{"token":"abc","id":1,"password": "p w"}"#),
            r#"{"token":"[redacted]","id":1,"password": "[redacted]"}"#
        );
        assert_eq!(
            s(r#"{"message":"body {\"accessToken\":\"abc\",\"n\":1}"}"#),
            r#"{"message":"body {\"accessToken\":\"[redacted]\",\"n\":1}"}"#
        );
        assert_eq!(s(r#"{"token":null,"jwt":3}"#), r#"{"token":null,"jwt":3}"#);
        assert_eq!(s(r#"{"token":"a\"b"}"#), r#"{"token":"[redacted]"}"#);
    }

    #[test]
    fn scrubbed_json_stays_json_shaped() {
        let line = format!(
            r#"{{"message":"login ok","token":"{JWT}","url":"http://u:p4ss@h/?password=x"}}"#
        );
        let out = s(&line);
        assert!(!out.contains(JWT) && !out.contains("p4ss"), "{out}");
        assert_eq!(out.matches('"').count(), line.matches('"').count());
    }

    #[test]
    fn odd_input_does_not_panic() {
        for text in [
            "=",
            ":",
            "\"",
            "\":",
            "\"token\":",
            "\"token\":\"",
            "\\\"token\\\":\\\"",
            "://",
            "://a:b",
            "e",
            "eyJ",
            "Bearer",
            "Bearer ",
            "token=\"",
            "日本=語",
            "é:\"x\"",
        ] {
            let _ = scrub(text);
        }
    }
}
