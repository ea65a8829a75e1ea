//! Gateway routes (4.1): `/health`, `/`, 404s, and the route table.

use super::T;
use crate::routes::ROUTES;

#[tokio::test]
async fn health_has_the_exact_body_and_needs_no_token() {
    let t = T::new();
    let r = t.req("GET", "/health", None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, r#"{"status":"ok","service":"api-gateway"}"#);
    assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
    assert!(r.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn index_describes_the_gateway() {
    let t = T::new();
    let v = t.req("GET", "/", None, None).await.json();
    assert_eq!(v["message"], "DynaClaimz SaaS API Gateway");
    assert_eq!(v["version"], "1.0.0");
    assert_eq!(v["architecture"], "microservices");
    assert_eq!(v["documentation"], "/api-docs");
    for (k, path) in [
        ("health", "/health"),
        ("docs", "/api-docs"),
        ("docsJson", "/api-docs.json"),
        ("auth", "/api/v1/auth"),
        ("users", "/api/v1/users"),
        ("organizations", "/api/v1/organizations"),
        ("policies", "/api/v1/policies"),
        ("claims", "/api/v1/claims"),
        ("quotes", "/api/v1/quotes"),
    ] {
        assert_eq!(v["endpoints"][k], path);
    }
}

#[tokio::test]
async fn unknown_gateway_paths_get_expresss_html_404() {
    let t = T::new();
    let r = t.req("GET", "/nope", None, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    assert!(r.text.contains("<pre>Cannot GET /nope</pre>"), "{}", r.text);
    // A known path with another method is unknown to Express too.
    let r = t.req("DELETE", "/health", None, None).await;
    assert_eq!(r.status, 404);
    assert!(r.text.contains("Cannot DELETE /health"));
}

#[tokio::test]
async fn unknown_service_paths() {
    let t = T::new();
    for path in [
        "/api/v1/policies/a/b/c",
        "/api/v1/claims/x/y",
        "/api/v1/quotes/x/y/z",
    ] {
        let r = t.req("GET", path, None, None).await;
        assert_eq!(r.error(404), "Route not found", "{path}");
    }
    // A wrong method inside a service is that service's 404.
    let r = t.req("PATCH", "/api/v1/policies", None, None).await;
    assert_eq!(r.error(404), "Route not found");
    // The user-service is plain Express and sees the rewritten path.
    let r = t.req("GET", "/api/v1/auth/nope", None, None).await;
    assert_eq!(r.status, 404);
    assert!(r.text.contains("Cannot GET /api/auth/nope"), "{}", r.text);
}

#[tokio::test]
async fn api_docs_list_the_service_routes() {
    let t = T::new();
    let v = t.req("GET", "/api-docs.json", None, None).await.json();
    assert_eq!(v["openapi"], "3.0.0");
    assert!(v["paths"]["/api/v1/quotes/{id}/convert"]["post"].is_object());
    let r = t.req("GET", "/api-docs", None, None).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("/api-docs.json"));
}

/// Every entry of [`ROUTES`] is served by the router (and labelled as itself in `/metrics`).
#[tokio::test]
async fn route_table_matches_the_router() {
    let t = T::new();
    let id = uuid::Uuid::new_v4().to_string();
    for (method, template) in ROUTES {
        let path = template.replace("{id}", &id).replace("{slug}", "some-slug");
        let r = t.req(method, &path, None, None).await;
        // Routed requests are never Express's HTML 404 nor "Route not found".
        assert!(
            !r.text.contains("Cannot ") && !r.text.contains("Route not found"),
            "{method} {template}: {} {}",
            r.status,
            r.text
        );
    }
    let metrics = t.state.metrics_text();
    for (method, template) in ROUTES {
        let needle = format!("method=\"{method}\",route=\"{template}\"");
        assert!(metrics.contains(&needle), "{needle} not in metrics");
    }
}
