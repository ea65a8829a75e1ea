//! Who may do what.
//!
//! - **Authentication** ([`require_auth`], on every route): with `--web-auth user:password`,
//!   HTTP basic authentication; with `--web-token TOKEN`, `Authorization: Bearer TOKEN`. A
//!   browser cannot send a bearer header when it opens a page, so with a token the UI shows a
//!   small login form that stores the token in an `HttpOnly`, `SameSite=Strict` cookie
//!   ([`TOKEN_COOKIE`]), which the page's own requests then carry. The probes (`/healthz`,
//!   `/readyz`, `/metrics`) stay open unless `--protect-probes`; the static assets (no data in
//!   them) and the login form are always open.
//! - **Changes** ([`guard_changes`], on the routes that start, edit, stop or reset): refused
//!   with 403 under `--web-read-only`, and when a browser says the request comes from another
//!   site (`Sec-Fetch-Site`, or an `Origin` that is not this host). Browsers send stored basic
//!   credentials and cookies with cross-site requests; this check keeps another page from
//!   stopping the run (Locust's `GET /stop` makes that a real risk).
//!
//! Secrets are compared in constant time (for equal lengths) and never logged.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::error::ApiError;
use crate::state::{AppState, WebConfig};

/// Name of the cookie that carries the token for pages opened in a browser.
pub const TOKEN_COOKIE: &str = "cicada_token";

/// Paths that answer without credentials unless `--protect-probes`.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// `user:password` for basic authentication (the password is never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Why `--web-auth` does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    /// No `:` between user and password.
    #[error("expected user:password")]
    MissingColon,
    /// The user is empty.
    #[error("the user name is empty (expected user:password)")]
    EmptyUser,
    /// The password is empty.
    #[error("the password is empty (expected user:password)")]
    EmptyPassword,
}

impl FromStr for Credentials {
    type Err = CredentialsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (user, password) = s.split_once(':').ok_or(CredentialsError::MissingColon)?;
        if user.is_empty() {
            return Err(CredentialsError::EmptyUser);
        }
        if password.is_empty() {
            return Err(CredentialsError::EmptyPassword);
        }
        Ok(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }
}

/// Equality that does not stop at the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = value.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// The cookie value that stands for `token` (URL-safe base64, so any token fits in a cookie).
fn cookie_value(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(token.as_bytes())
}

/// Whether the request carries valid credentials (always true when none are configured).
pub fn authorized(config: &WebConfig, headers: &HeaderMap) -> bool {
    if !config.requires_auth() {
        return true;
    }
    for value in headers.get_all(header::AUTHORIZATION) {
        let Ok(value) = value.to_str() else { continue };
        if let (Some(creds), Some(b64)) = (&config.credentials, strip_scheme(value, "Basic"))
            && let Ok(decoded) = STANDARD.decode(b64)
        {
            let expected = format!("{}:{}", creds.user, creds.password);
            if same(&decoded, expected.as_bytes()) {
                return true;
            }
        }
        if let (Some(token), Some(given)) = (&config.token, strip_scheme(value, "Bearer"))
            && same(given.as_bytes(), token.as_bytes())
        {
            return true;
        }
    }
    if let Some(token) = &config.token {
        let expected = cookie_value(token);
        for value in headers.get_all(header::COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            for pair in value.split(';') {
                if let Some((name, v)) = pair.trim().split_once('=')
                    && name == TOKEN_COOKIE
                    && same(v.as_bytes(), expected.as_bytes())
                {
                    return true;
                }
            }
        }
    }
    false
}

fn is_open(config: &WebConfig, path: &str) -> bool {
    path.starts_with("/assets/")
        || path == "/login"
        || (!config.protect_probes && PROBES.contains(&path))
}

fn wants_html(request: &Request) -> bool {
    request.method() == Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

/// Middleware: refuses requests without valid credentials (see the module docs).
pub async fn require_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let config = state.config();
    if is_open(config, request.uri().path()) || authorized(config, request.headers()) {
        return next.run(request).await;
    }
    let basic = config.credentials.is_some();
    if config.token.is_some() && wants_html(&request) {
        // A browser opening the UI: offer the token form (after the basic prompt, if any).
        let mut response = login_page(StatusCode::UNAUTHORIZED, "");
        if basic {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cicada\", charset=\"UTF-8\""),
            );
        }
        return response;
    }
    ApiError::Unauthorized { basic }.into_response()
}

fn login_page(status: StatusCode, message: &str) -> Response {
    let page = include_str!("../ui/login.html").replace("{{message}}", message);
    let mut response = (status, Html(page)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /login` (form field `token`): stores the token in a cookie and goes to the UI.
pub async fn login(
    State(state): State<AppState>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Some(expected) = state.config().token.as_deref() else {
        return Redirect::to("/").into_response();
    };
    let given = form
        .as_ref()
        .ok()
        .and_then(|f| f.0.get("token"))
        .map(|t| t.trim())
        .unwrap_or("");
    if !same(given.as_bytes(), expected.as_bytes()) {
        return login_page(StatusCode::UNAUTHORIZED, "That token is not valid.");
    }
    let cookie = format!(
        "{TOKEN_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        cookie_value(expected)
    );
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Whether a browser marked the request as coming from another site.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && matches!(site, "cross-site" | "same-site")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        // `Origin: null` (sandboxed frames, some redirects) or no Host: refuse.
        _ => true,
    }
}

/// Middleware on the routes that change the run: read-only and cross-site checks. Locust's
/// routes answer in Locust's error shape.
pub async fn guard_changes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let error = if state.config().read_only {
        Some(ApiError::ReadOnly)
    } else if cross_site(request.headers()) {
        Some(ApiError::CrossSite)
    } else {
        None
    };
    match error {
        None => next.run(request).await,
        Some(e) if request.uri().path().starts_with("/api/") => e.into_response(),
        Some(e) => e.into_locust_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn config(creds: Option<&str>, token: Option<&str>) -> WebConfig {
        WebConfig {
            credentials: creds.map(|c| c.parse().unwrap()),
            token: token.map(str::to_owned),
            ..WebConfig::default()
        }
    }

    #[test]
    fn credentials_parse() {
        let c: Credentials = "admin:s3:cret".parse().unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("admin", "s3:cret"));
        assert!(!format!("{c:?}").contains("s3:cret"));
        assert_eq!(
            "admin".parse::<Credentials>(),
            Err(CredentialsError::MissingColon)
        );
        assert_eq!(
            ":x".parse::<Credentials>(),
            Err(CredentialsError::EmptyUser)
        );
        assert_eq!(
            "a:".parse::<Credentials>(),
            Err(CredentialsError::EmptyPassword)
        );
    }

    #[test]
    fn basic_bearer_and_cookie() {
        let open = WebConfig::default();
        assert!(authorized(&open, &HeaderMap::new()));

        let basic = config(Some("admin:pw"), None);
        let good = format!("Basic {}", STANDARD.encode("admin:pw"));
        let bad = format!("Basic {}", STANDARD.encode("admin:nope"));
        assert!(authorized(&basic, &headers(&[("authorization", &good)])));
        assert!(!authorized(&basic, &headers(&[("authorization", &bad)])));
        assert!(!authorized(
            &basic,
            &headers(&[("authorization", "Basic %%%")])
        ));
        assert!(!authorized(&basic, &HeaderMap::new()));

        let token = config(None, Some("t0k;en"));
        assert!(authorized(
            &token,
            &headers(&[("authorization", "Bearer t0k;en")])
        ));
        assert!(authorized(
            &token,
            &headers(&[("authorization", "bearer t0k;en")])
        ));
        assert!(!authorized(
            &token,
            &headers(&[("authorization", "Bearer t0k")])
        ));
        assert!(!authorized(&token, &headers(&[("authorization", &good)])));
        let cookie = format!("theme=dark; {TOKEN_COOKIE}={}", cookie_value("t0k;en"));
        assert!(authorized(&token, &headers(&[("cookie", &cookie)])));
        assert!(!authorized(
            &token,
            &headers(&[("cookie", "cicada_token=t0k;en")])
        ));
    }

    #[test]
    fn cross_site_detection() {
        assert!(!cross_site(&HeaderMap::new()), "curl sends neither header");
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!cross_site(&headers(&[
            ("origin", "http://127.0.0.1:8089"),
            ("host", "127.0.0.1:8089")
        ])));
        assert!(cross_site(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:8089")
        ])));
        assert!(cross_site(&headers(&[
            ("origin", "null"),
            ("host", "127.0.0.1:8089")
        ])));
    }
}
