//! Request steps: compiled at load (headers merged, static parts pre-built), rendered per
//! request, and their responses evaluated (`expect`, `checks`, `extract`).
//!
//! Hot-path rules: a static path/query is joined once at load; static headers sit in a
//! ready `HeaderMap` that is cloned; a template-free body is pre-serialized `Bytes`
//! (cloning is a reference-count increment). The response body is parsed as JSON only
//! when a check or extract needs it.

use crate::check::{Check, Expect};
use crate::diagnostics::Pos;
use crate::extract::{Extract, parse_extracts};
use crate::json_template::JsonTemplate;
use crate::model::{FailureKind, RenderedRequest, ResponseView, StepFailure};
use crate::parse::Parser;
use crate::state::UserState;
use crate::template::{Text, error_kind};
use crate::yaml::{self, Fields, Kind, Node};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::sync::Arc;
use std::time::Duration;

/// A request body as compiled.
#[derive(Debug)]
enum Body {
    None,
    Static(Bytes),
    Json(JsonTemplate),
    Form(Vec<(String, Text)>),
    Raw(Text),
}

/// One HTTP request of a task.
#[derive(Debug)]
pub struct RequestStep {
    /// Stats row name; an `Arc` so the engine can key its stats without copying.
    name: Arc<str>,
    method: Method,
    method_str: Arc<str>,
    path: Text,
    /// Path and query joined at load when both are static (the common case for list
    /// endpoints): rendering is then a single `String` clone.
    static_target: Option<String>,
    query: Vec<(String, Text)>,
    /// Every header whose merged value is static, ready to clone per request.
    static_headers: HeaderMap,
    /// Headers with templates (e.g. `Authorization: Bearer {{ token }}`), rendered and
    /// inserted over the static ones. The flag marks headers inherited from `defaults` or the
    /// user type: such a header is left out while a variable it uses is not yet defined, so
    /// a user-level `Authorization: Bearer {{ token }}` does not break the login that
    /// extracts `token` (the request goes out without it, as a logged-out client's would).
    templated_headers: Vec<(HeaderName, Text, bool)>,
    body: Body,
    timeout: Option<Duration>,
    expect: Expect,
    checks: Vec<Check>,
    extracts: Vec<Extract>,
    /// Whether any check or extract reads the JSON body: otherwise the body is never parsed.
    needs_json: bool,
}

fn render_failure(what: &str, e: &minijinja::Error) -> StepFailure {
    StepFailure {
        kind: FailureKind::Render,
        message: format!("render {what}: {}", error_kind(e)),
    }
}

impl RequestStep {
    /// The stats row name (`name:`, else the path as written in the file).
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The method as shared text (e.g. "GET"), cheap to clone.
    pub fn method_str(&self) -> &Arc<str> {
        &self.method_str
    }

    /// The step's timeout (else `defaults.timeout`), if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Renders the request for one user.
    pub fn render(&self, state: &mut UserState) -> Result<RenderedRequest, StepFailure> {
        // Rendering only needs shared access: functions that change the user's state
        // (counter, RNG) go through its interior lock. `&mut` in the signature keeps the
        // contract that one user is rendered by one task at a time.
        let state = &*state;
        let target = match &self.static_target {
            Some(t) => t.clone(),
            None => self.render_target(state)?,
        };
        let mut headers = self.static_headers.clone();
        for (name, text, inherited) in &self.templated_headers {
            let v = match text.render(state) {
                Ok(v) => v,
                Err(e) if *inherited && e.kind() == minijinja::ErrorKind::UndefinedError => {
                    continue;
                }
                Err(e) => return Err(render_failure(&format!("header {name}"), &e)),
            };
            let mut value = HeaderValue::from_str(&v).map_err(|_| StepFailure {
                kind: FailureKind::Render,
                message: format!("render header {name}: invalid header value"),
            })?;
            value.set_sensitive(is_sensitive(name));
            headers.insert(name.clone(), value);
        }
        let body = match &self.body {
            Body::None => Bytes::new(),
            Body::Static(b) => b.clone(),
            Body::Json(t) => {
                let mut out = Vec::with_capacity(256);
                t.write(state, &mut out)
                    .map_err(|e| render_failure("json body", &e))?;
                Bytes::from(out)
            }
            Body::Form(pairs) => {
                let mut ser = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    let v = v
                        .render(state)
                        .map_err(|e| render_failure(&format!("form {k}"), &e))?;
                    ser.append_pair(k, &v);
                }
                Bytes::from(ser.finish())
            }
            Body::Raw(t) => Bytes::from(t.render(state).map_err(|e| render_failure("body", &e))?),
        };
        Ok(RenderedRequest {
            method: self.method.clone(),
            path_and_query: target,
            headers,
            body,
            timeout: self.timeout,
        })
    }

    fn render_target(&self, state: &UserState) -> Result<String, StepFailure> {
        let mut path = self
            .path
            .render(state)
            .map_err(|e| render_failure("path", &e))?;
        if !valid_target(&path) {
            return Err(StepFailure {
                kind: FailureKind::Render,
                message: "render path: must start with / or http(s)://".to_owned(),
            });
        }
        if !self.query.is_empty() {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &self.query {
                let v = v
                    .render(state)
                    .map_err(|e| render_failure(&format!("query {k}"), &e))?;
                ser.append_pair(k, &v);
            }
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&ser.finish());
        }
        Ok(path)
    }

    /// Checks the status against `expect`, then `checks`, then runs `extract`; the first
    /// failure is returned (later entries are skipped).
    pub fn evaluate(
        &self,
        response: &ResponseView<'_>,
        state: &mut UserState,
    ) -> Result<(), StepFailure> {
        if !self.expect.accepts(response.status) {
            let message = if response.status >= 400 {
                format!("HTTP {}", response.status)
            } else {
                format!("unexpected HTTP {}", response.status)
            };
            return Err(StepFailure {
                kind: FailureKind::Status,
                message,
            });
        }
        if self.checks.is_empty() && self.extracts.is_empty() {
            return Ok(());
        }
        // Parsed once for all checks and extractions; a body that is not JSON is `None`
        // and only fails the entries that need JSON (a header extraction still works).
        let json: Option<serde_json::Value> = if self.needs_json {
            serde_json::from_slice(response.body).ok()
        } else {
            None
        };
        for check in &self.checks {
            check.evaluate(json.as_ref(), state)?;
        }
        for extract in &self.extracts {
            extract.apply(response.headers, json.as_ref(), state)?;
        }
        Ok(())
    }
}

/// Credentials: marked sensitive so `Debug` output (and HTTP/2 header compression)
/// never exposes them.
fn is_sensitive(name: &HeaderName) -> bool {
    name == http::header::AUTHORIZATION
        || name == http::header::PROXY_AUTHORIZATION
        || name == http::header::COOKIE
}

fn valid_target(s: &str) -> bool {
    let lower = |p: &str| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    s.starts_with('/') || lower("http://") || lower("https://")
}

/// Parses a header mapping into (name, value) pairs, reporting bad names and values.
pub(crate) fn parse_headers(p: &mut Parser<'_>, node: &Node) -> Vec<(HeaderName, Text)> {
    let mut out = Vec::new();
    for (name, key, value) in yaml::entries(&mut p.d, node, "`headers`") {
        let Ok(header) = HeaderName::from_bytes(name.trim().as_bytes()) else {
            p.d.error(key.pos, format!("invalid header name `{name}`"));
            continue;
        };
        let Some(text) = yaml::text(&mut p.d, value, "a header value") else {
            continue;
        };
        let Some(text) = p.c.text(&mut p.d, &text, value.pos) else {
            continue;
        };
        if let Some(s) = text.as_static()
            && HeaderValue::from_str(s).is_err()
        {
            p.d.error(
                value.pos,
                format!("invalid value for header `{name}` (control characters or non-ASCII text)"),
            );
            continue;
        }
        out.push((header, text));
    }
    out
}

/// Later layers win; names compare case-insensitively (`HeaderName` is lower-case).
pub(crate) fn merge_headers(
    base: &[(HeaderName, Text)],
    over: Vec<(HeaderName, Text)>,
) -> Vec<(HeaderName, Text)> {
    let mut merged: Vec<(HeaderName, Text)> = base
        .iter()
        .filter(|(n, _)| !over.iter().any(|(o, _)| o == n))
        .cloned()
        .collect();
    merged.extend(over);
    merged
}

const KEYS: &[&str] = &[
    "name", "method", "path", "query", "headers", "json", "form", "body", "timeout", "expect",
    "checks", "extract",
];

impl RequestStep {
    /// Compiles a `request:` mapping.
    pub(crate) fn parse(p: &mut Parser<'_>, node: &Node) -> Option<RequestStep> {
        let f = Fields::new(&mut p.d, node, "a request", KEYS)?;
        let method = match f.get("method") {
            None => Some(Method::GET),
            Some(n) => yaml::string(&mut p.d, n, "an HTTP method").and_then(|m| {
                let upper = m.trim().to_ascii_uppercase();
                let parsed = Method::from_bytes(upper.as_bytes()).ok();
                if parsed.is_none() {
                    p.d.error(n.pos, format!("invalid HTTP method `{m}`"));
                }
                parsed
            }),
        };
        let Some(path_node) = f.get("path") else {
            p.d.error(
                node.pos,
                "a request needs a `path` (like `/api/items` or `https://host/x`)",
            );
            return None;
        };
        let path_src = yaml::string(&mut p.d, path_node, "a path")?;
        if !(valid_target(&path_src) || path_src.starts_with("{{")) {
            p.d.error(
                path_node.pos,
                "`path` must start with `/`, `http://`, `https://` or a `{{ template }}`",
            );
        }
        let path = p.c.text(&mut p.d, &path_src, path_node.pos);
        let name = match f.get("name") {
            Some(n) => yaml::text(&mut p.d, n, "a request name").unwrap_or_default(),
            None => path_src.clone(),
        };
        let query = match f.get("query") {
            Some(n) => parse_pairs(p, n, "`query`"),
            None => Vec::new(),
        };
        let step_headers = match f.get("headers") {
            Some(n) => parse_headers(p, n),
            None => Vec::new(),
        };
        let timeout = match f.get("timeout") {
            Some(n) => crate::wait::positive_duration(&mut p.d, n, "`timeout`"),
            None => p.default_timeout,
        };
        let body = parse_body(p, &f, node.pos);
        let expect = match f.get("expect") {
            Some(n) => Expect::parse(&mut p.d, n).unwrap_or_default(),
            None => Expect::default(),
        };
        let checks: Vec<Check> = match f.get("checks") {
            Some(n) => {
                let items = yaml::list(&mut p.d, n, "`checks`");
                items
                    .iter()
                    .filter_map(|c| Check::parse(&mut p.c, &mut p.d, c))
                    .collect()
            }
            None => Vec::new(),
        };
        let extracts = match f.get("extract") {
            Some(n) => parse_extracts(&mut p.d, n, &mut p.declared),
            None => Vec::new(),
        };
        let (method, path, body) = (method?, path?, body?);

        let own: Vec<HeaderName> = step_headers.iter().map(|(n, _)| n.clone()).collect();
        let mut headers = merge_headers(&p.base_headers, step_headers);
        let content_type = if f.get("json").is_some() {
            Some("application/json")
        } else if f.get("form").is_some() {
            Some("application/x-www-form-urlencoded")
        } else {
            None
        };
        if let Some(ct) = content_type
            && !headers.iter().any(|(n, _)| n == CONTENT_TYPE)
        {
            headers.push((CONTENT_TYPE, Text::Static(Arc::from(ct))));
        }
        let mut static_headers = HeaderMap::new();
        let mut templated_headers = Vec::new();
        for (n, t) in headers {
            match t.as_static().map(HeaderValue::from_str) {
                Some(Ok(mut v)) => {
                    v.set_sensitive(is_sensitive(&n));
                    static_headers.insert(n, v);
                }
                Some(Err(_)) => {} // reported by parse_headers
                None => {
                    let inherited = !own.contains(&n);
                    templated_headers.push((n, t, inherited));
                }
            }
        }
        let static_target = static_target(&path, &query);
        let needs_json = !checks.is_empty() || extracts.iter().any(Extract::needs_json);
        let method_str: Arc<str> = Arc::from(method.as_str());
        Some(RequestStep {
            name: Arc::from(name),
            method,
            method_str,
            path,
            static_target,
            query,
            static_headers,
            templated_headers,
            body,
            timeout,
            expect,
            checks,
            extracts,
            needs_json,
        })
    }
}

fn static_target(path: &Text, query: &[(String, Text)]) -> Option<String> {
    let mut target = path.as_static()?.to_owned();
    if query.is_empty() {
        return Some(target);
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in query {
        ser.append_pair(k, v.as_static()?);
    }
    target.push(if target.contains('?') { '&' } else { '?' });
    target.push_str(&ser.finish());
    Some(target)
}

/// `key: value` pairs (query, form); a list value repeats the key.
fn parse_pairs(p: &mut Parser<'_>, node: &Node, what: &str) -> Vec<(String, Text)> {
    let mut out = Vec::new();
    for (key, _, value) in yaml::entries(&mut p.d, node, what) {
        let items: Vec<&Node> = match &value.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![value],
        };
        for item in items {
            let Some(src) = yaml::text(&mut p.d, item, "a value") else {
                continue;
            };
            if let Some(t) = p.c.text(&mut p.d, &src, item.pos) {
                out.push((key.clone(), t));
            }
        }
    }
    out
}

fn parse_body(p: &mut Parser<'_>, f: &Fields<'_>, pos: Pos) -> Option<Body> {
    let given: Vec<&str> = ["json", "form", "body"]
        .into_iter()
        .filter(|k| f.get(k).is_some())
        .collect();
    if given.len() > 1 {
        let at = f.key_pos(given[1]).unwrap_or(pos);
        p.d.error(at, "a request takes at most one of `json`, `form`, `body`");
        return None;
    }
    if let Some(n) = f.get("json") {
        let t = JsonTemplate::compile(&mut p.c, &mut p.d, n)?;
        return Some(match t.as_static() {
            Some(v) => Body::Static(Bytes::from(serde_json::to_vec(v).unwrap_or_default())),
            None => Body::Json(t),
        });
    }
    if let Some(n) = f.get("form") {
        let pairs = parse_pairs(p, n, "`form`");
        if pairs.iter().all(|(_, v)| v.as_static().is_some()) {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                ser.append_pair(k, v.as_static().unwrap_or_default());
            }
            return Some(Body::Static(Bytes::from(ser.finish())));
        }
        return Some(Body::Form(pairs));
    }
    if let Some(n) = f.get("body") {
        let src = yaml::text(&mut p.d, n, "a body")?;
        let t = p.c.text(&mut p.d, &src, n.pos)?;
        return Some(match t.as_static() {
            Some(s) => Body::Static(Bytes::from(s.to_owned())),
            None => Body::Raw(t),
        });
    }
    Some(Body::None)
}
