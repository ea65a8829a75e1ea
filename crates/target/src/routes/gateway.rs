//! The gateway's own routes: `/health`, `/`, the API docs, the 404s, and the stand-in's
//! `/metrics`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, Uri, header};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::envelope::{self, ApiError, html_404};
use crate::metrics::CONTENT_TYPE;
use crate::routes::ROUTES;

/// The gateway's health body, byte for byte.
pub const HEALTH: &str = r#"{"status":"ok","service":"api-gateway"}"#;

/// The gateway's index body.
pub const INDEX: &str = r#"{"message":"DynaClaimz SaaS API Gateway","version":"1.0.0","architecture":"microservices","documentation":"/api-docs","endpoints":{"health":"/health","docs":"/api-docs","docsJson":"/api-docs.json","auth":"/api/v1/auth","users":"/api/v1/users","organizations":"/api/v1/organizations","policies":"/api/v1/policies","claims":"/api/v1/claims","quotes":"/api/v1/quotes"}}"#;

/// Path prefixes proxied to the policy, claims and quotes services (their unknown routes get
/// a JSON 404).
const JSON_404_PREFIXES: [&str; 3] = ["/api/v1/policies", "/api/v1/claims", "/api/v1/quotes"];

/// Path prefixes proxied to the user-service (an Express app with the default 404).
const USER_SERVICE_PREFIXES: [&str; 3] = ["/api/v1/auth", "/api/v1/users", "/api/v1/organizations"];

/// `GET /health`.
pub async fn health() -> Response {
    envelope::json(StatusCode::OK, HEALTH.as_bytes().to_vec())
}

/// `GET /`.
pub async fn index() -> Response {
    envelope::json(StatusCode::OK, INDEX.as_bytes().to_vec())
}

/// `GET /api-docs`: a pointer to the JSON spec (the real gateway serves Swagger UI).
pub async fn api_docs() -> Response {
    let mut r = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>DynaClaimz API (cicada stand-in)</title></head><body><p>The OpenAPI document of this stand-in is at <a href=\"/api-docs.json\">/api-docs.json</a>.</p></body></html>\n".into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// `GET /api-docs.json`: a minimal OpenAPI document listing the routes served.
pub async fn api_docs_json() -> Response {
    let mut paths = Map::new();
    for (method, template) in ROUTES.iter().filter(|(_, t)| t.starts_with("/api/v1/")) {
        let entry = paths
            .entry((*template).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ops) = entry {
            ops.insert(
                method.to_ascii_lowercase(),
                json!({"responses": {"200": {"description": "OK"}}}),
            );
        }
    }
    let doc = json!({
        "openapi": "3.0.0",
        "info": {"title": "DynaClaimz API (cicada stand-in)", "version": "1.0.0"},
        "paths": paths,
    });
    envelope::json(StatusCode::OK, doc.to_string().into_bytes())
}

/// `GET /metrics` (the stand-in's own; not part of the gateway).
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut r = state.metrics_text().into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

/// Anything no route (or no method of a route) matches.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if JSON_404_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return ApiError::not_found("Route not found").into_response();
    }
    if USER_SERVICE_PREFIXES.iter().any(|p| path.starts_with(p)) {
        // The user-service sees the path after the gateway's `^/api/v1` → `/api` rewrite.
        let rewritten = format!("/api{}", &path["/api/v1".len()..]);
        return html_404(method.as_str(), &rewritten);
    }
    html_404(method.as_str(), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_valid_json_in_the_gateways_order() {
        let v: Value = serde_json::from_str(INDEX).unwrap();
        assert_eq!(v["endpoints"]["quotes"], "/api/v1/quotes");
        assert!(INDEX.starts_with(r#"{"message":"DynaClaimz SaaS API Gateway""#));
    }
}
