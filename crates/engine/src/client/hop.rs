//! What one hop of a request sends: the request itself (redirects rewrite it), the fields
//! the session adds (`Host`, `Content-Length`, cookies), the caller's headers rebuilt for a
//! redirect or a retry, and which responses are redirects we follow.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::Full;

use super::connect::ReqBody;
use super::cookies::Jar;
use super::error::ClientError;
use super::h1;
use super::origin::Target;

/// The request of one hop; redirects rewrite it.
pub(super) struct Hop {
    pub(super) method: Method,
    pub(super) target: Target,
    pub(super) body: Bytes,
}

/// The HTTP/1.1 request of a hop: the caller's headers plus `Host` (unless set),
/// `Content-Length` and the jar's cookies (unless a `Cookie` is set). The same fields, in the
/// same order on the wire, as the hyper request this replaced.
pub(super) fn h1_request<'a>(hop: &'a Hop, headers: &'a HeaderMap, jar: &Jar) -> h1::Request<'a> {
    let origin = &hop.target.origin;
    let host = (!headers.contains_key(header::HOST)).then_some(&origin.host_header);
    h1::Request {
        method: &hop.method,
        path: hop.target.path.as_str(),
        headers,
        host,
        content_length: content_length(hop),
        cookie: cookie(hop, headers, jar),
        body: &hop.body,
    }
}

/// The hyper request of an HTTP/2 hop: absolute URI (`:scheme`/`:authority`),
/// `Content-Length` and the jar's cookies.
pub(super) fn h2_request(
    hop: &Hop,
    mut headers: HeaderMap,
    jar: &Jar,
) -> Result<Request<ReqBody>, ClientError> {
    let origin = &hop.target.origin;
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(origin.uri_scheme());
    parts.authority = Some(origin.authority.clone());
    parts.path_and_query = Some(hop.target.path.clone());
    let uri = Uri::from_parts(parts).map_err(|_| ClientError::InvalidTarget("invalid url"))?;
    if let Some(len) = content_length(hop) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    if let Some(cookie) = cookie(hop, &headers, jar) {
        headers.insert(header::COOKIE, cookie);
    }
    let mut request = Request::new(Full::new(hop.body.clone()));
    *request.method_mut() = hop.method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The `Content-Length` a hop sends: for any body, and for an empty one on methods that
/// expect a body.
fn content_length(hop: &Hop) -> Option<usize> {
    (!hop.body.is_empty() || expects_body(&hop.method)).then_some(hop.body.len())
}

/// The jar's `Cookie` for a hop, unless the caller set one.
fn cookie(hop: &Hop, headers: &HeaderMap, jar: &Jar) -> Option<HeaderValue> {
    if jar.is_empty() || headers.contains_key(header::COOKIE) {
        return None;
    }
    jar.header_for(&hop.target.url())
}

/// Methods whose empty body is still announced with `Content-Length: 0`.
fn expects_body(method: &Method) -> bool {
    *method == Method::POST || *method == Method::PUT || *method == Method::PATCH
}

/// The status and next target if a response is a redirect we follow: 301/302/303/307/308 with
/// a `Location` that resolves to an http(s) URL. Anything else is returned to the caller as is.
pub(super) fn redirect(
    status: StatusCode,
    headers: &HeaderMap,
    current: &Target,
) -> Option<(StatusCode, Target)> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = headers.get(header::LOCATION)?.to_str().ok()?;
    let url = current.url().join(location).ok()?;
    let next = Target::from_url(&url, Some(&current.origin)).ok()?;
    Some((status, next))
}

/// How to (re)build the caller's headers for a hop without keeping a copy per hop.
#[derive(Clone, Copy)]
pub(super) struct HeaderSource<'a> {
    /// The caller's headers.
    pub(super) template: &'a HeaderMap,
    /// The hop goes to another origin than the first: credentials and a fixed `Host` stay
    /// behind.
    pub(super) cross_origin: bool,
    /// A 301/302/303 dropped the body: its headers go too.
    pub(super) body_dropped: bool,
}

impl HeaderSource<'_> {
    pub(super) fn build(&self) -> HeaderMap {
        let mut headers = self.template.clone();
        if self.cross_origin {
            for name in [
                header::AUTHORIZATION,
                header::PROXY_AUTHORIZATION,
                header::COOKIE,
                header::HOST,
            ] {
                headers.remove(name);
            }
        }
        if self.body_dropped {
            for name in [
                header::CONTENT_TYPE,
                header::CONTENT_LENGTH,
                header::CONTENT_ENCODING,
                header::TRANSFER_ENCODING,
            ] {
                headers.remove(name);
            }
        }
        headers
    }
}
