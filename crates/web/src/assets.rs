//! The UI's static files, embedded in the binary (no build step, nothing to deploy, no request
//! to the internet). Served under `/assets/` with an `ETag`, so a reload costs a 304, and an
//! upgraded binary is picked up at once (`Cache-Control: no-cache`).

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Path below `/assets/`.
    pub path: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../ui/", $path)),
        }
    };
}

/// Every file below `/assets/`.
pub const ASSETS: &[Asset] = &[
    asset!("app.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("controls.js", JS),
    asset!("table.js", JS),
    asset!("tabs.js", JS),
    asset!("charts.js", JS),
    asset!("shape.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("vendor/uplot/uPlot.iife.min.js", JS),
    asset!("vendor/uplot/uPlot.min.css", CSS),
    asset!("vendor/uplot/LICENSE", "text/plain; charset=utf-8"),
];

/// The page at `/`.
pub const INDEX_HTML: &str = include_str!("../ui/index.html");

/// The UI's content security policy: everything from this origin, nothing else.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// FNV-1a, 64 bits: a stable, dependency-free fingerprint for `ETag`s.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn with_etag(headers: &HeaderMap, content_type: &'static str, body: &'static [u8]) -> Response {
    let etag = format!("\"{:016x}\"", fingerprint(body));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let status = if matches {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut response = if matches {
        status.into_response()
    } else {
        (status, body).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

/// `GET /assets/{*path}`.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let found = ASSETS
        .iter()
        .find(|a| a.path == path)
        .ok_or_else(|| ApiError::NotFound(format!("/assets/{path}")))?;
    Ok(with_etag(&headers, found.content_type, found.body))
}

/// `GET /`: the UI.
pub async fn index(headers: HeaderMap) -> Response {
    let mut response = with_etag(&headers, "text/html; charset=utf-8", INDEX_HTML.as_bytes());
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_unique_and_files_not_empty() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.body.is_empty(), "{}", a.path);
            assert!(
                ASSETS[i + 1..].iter().all(|b| b.path != a.path),
                "{} twice",
                a.path
            );
        }
    }

    #[test]
    fn vendored_uplot_is_the_recorded_version() {
        let js = ASSETS
            .iter()
            .find(|a| a.path.ends_with("uPlot.iife.min.js"))
            .map(|a| a.body)
            .unwrap_or_default();
        assert!(js.starts_with(b"/*! https://github.com/leeoniya/uPlot (v1.6.32) */"));
        let readme = include_str!("../ui/vendor/uplot/README.md");
        assert!(readme.contains("1.6.32"));
        // The README's fingerprints are sha256; guard at least that the file did not change
        // size since it was recorded (51 081 bytes).
        assert_eq!(js.len(), 51_081);
    }

    #[test]
    fn index_references_only_embedded_assets() {
        for part in INDEX_HTML.split("/assets/").skip(1) {
            let path = part.split(['"', '?']).next().unwrap_or_default();
            assert!(
                ASSETS.iter().any(|a| a.path == path),
                "index.html references /assets/{path}, which is not embedded"
            );
        }
    }
}
