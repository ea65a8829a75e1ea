//! The routes: one module per service behind the gateway, plus the gateway's own.
//!
//! [`ROUTES`] lists every (method, template) the router serves. It is the source of the
//! route labels in `/metrics` and the access log, of the `--latency` override check, and of
//! `/api-docs.json`; a test keeps it and the router in step.

pub mod auth;
pub mod caller;
pub mod claims;
pub mod directory;
pub mod gateway;
pub mod policies;
pub mod quotes;
pub mod records;

use axum::Router;
use axum::routing::{get, post, put};

use crate::AppState;
use crate::envelope::ApiError;

/// Every route served: (method, template).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/"),
    ("GET", "/api-docs"),
    ("GET", "/api-docs.json"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/organizations"),
    ("POST", "/api/v1/auth/verify"),
    ("GET", "/api/v1/auth/me"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/users/{id}"),
    ("PUT", "/api/v1/users/{id}"),
    ("DELETE", "/api/v1/users/{id}"),
    ("GET", "/api/v1/organizations"),
    ("GET", "/api/v1/organizations/{id}"),
    ("PATCH", "/api/v1/organizations/{id}"),
    ("DELETE", "/api/v1/organizations/{id}"),
    ("GET", "/api/v1/organizations/slug/{slug}"),
    ("GET", "/api/v1/organizations/{id}/users"),
    ("GET", "/api/v1/organizations/{id}/stats"),
    ("GET", "/api/v1/policies"),
    ("POST", "/api/v1/policies"),
    ("GET", "/api/v1/policies/my/policies"),
    ("GET", "/api/v1/policies/{id}"),
    ("PUT", "/api/v1/policies/{id}"),
    ("DELETE", "/api/v1/policies/{id}"),
    ("GET", "/api/v1/policies/{id}/history"),
    ("POST", "/api/v1/policies/{id}/file-claim"),
    ("GET", "/api/v1/claims"),
    ("POST", "/api/v1/claims"),
    ("GET", "/api/v1/claims/my/claims"),
    ("GET", "/api/v1/claims/{id}"),
    ("DELETE", "/api/v1/claims/{id}"),
    ("GET", "/api/v1/claims/{id}/history"),
    ("PUT", "/api/v1/claims/{id}/status"),
    ("POST", "/api/v1/claims/{id}/approve"),
    ("POST", "/api/v1/claims/{id}/deny"),
    ("GET", "/api/v1/quotes"),
    ("POST", "/api/v1/quotes"),
    ("POST", "/api/v1/quotes/calculate"),
    ("POST", "/api/v1/quotes/expire-old"),
    ("GET", "/api/v1/quotes/my/quotes"),
    ("GET", "/api/v1/quotes/{id}"),
    ("DELETE", "/api/v1/quotes/{id}"),
    ("GET", "/api/v1/quotes/{id}/history"),
    ("PUT", "/api/v1/quotes/{id}/status"),
    ("POST", "/api/v1/quotes/{id}/convert"),
];

/// The static label of a matched template (`unmatched` for anything else).
pub fn label(template: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|(_, t)| *t == template)
        .map_or("unmatched", |(_, t)| t)
}

/// The router, without state and middleware (see [`crate::app`]).
pub fn router() -> Router<AppState> {
    use self::records as r;
    use self::{auth as a, claims as c, directory as d, gateway as g, policies as p, quotes as q};
    use crate::store::{Claim, Policy, Quote};
    Router::new()
        .route("/health", get(g::health))
        .route("/", get(g::index))
        .route("/api-docs", get(g::api_docs))
        .route("/api-docs.json", get(g::api_docs_json))
        .route("/metrics", get(g::metrics))
        .route("/api/v1/auth/login", post(a::login))
        .route("/api/v1/auth/register", post(a::register))
        .route("/api/v1/auth/organizations", post(a::create_org))
        .route("/api/v1/auth/verify", post(a::verify))
        .route("/api/v1/auth/me", get(a::me))
        .route("/api/v1/users", get(d::list_users))
        .route(
            "/api/v1/users/{id}",
            get(d::get_user).put(d::update_user).delete(d::delete_user),
        )
        .route("/api/v1/organizations", get(d::list_orgs))
        .route(
            "/api/v1/organizations/{id}",
            get(d::get_org).patch(d::update_org).delete(d::delete_org),
        )
        .route("/api/v1/organizations/slug/{slug}", get(d::get_org_by_slug))
        .route("/api/v1/organizations/{id}/users", get(d::org_users))
        .route("/api/v1/organizations/{id}/stats", get(d::org_stats))
        .route("/api/v1/policies", get(r::list::<Policy>).post(p::create))
        .route("/api/v1/policies/my/policies", get(r::mine::<Policy>))
        .route(
            "/api/v1/policies/{id}",
            get(r::get_one::<Policy>)
                .put(p::update)
                .delete(r::delete::<Policy>),
        )
        .route("/api/v1/policies/{id}/history", get(r::history::<Policy>))
        .route("/api/v1/policies/{id}/file-claim", post(p::file_claim))
        .route("/api/v1/claims", get(r::list::<Claim>).post(c::create))
        .route("/api/v1/claims/my/claims", get(r::mine::<Claim>))
        .route(
            "/api/v1/claims/{id}",
            get(r::get_one::<Claim>).delete(r::delete::<Claim>),
        )
        .route("/api/v1/claims/{id}/history", get(r::history::<Claim>))
        .route("/api/v1/claims/{id}/status", put(c::update_status))
        .route("/api/v1/claims/{id}/approve", post(c::approve))
        .route("/api/v1/claims/{id}/deny", post(c::deny))
        .route("/api/v1/quotes", get(r::list::<Quote>).post(q::create))
        .route("/api/v1/quotes/calculate", post(q::calculate))
        .route("/api/v1/quotes/expire-old", post(q::expire_old))
        .route("/api/v1/quotes/my/quotes", get(r::mine::<Quote>))
        .route(
            "/api/v1/quotes/{id}",
            get(r::get_one::<Quote>).delete(r::delete::<Quote>),
        )
        .route("/api/v1/quotes/{id}/history", get(r::history::<Quote>))
        .route("/api/v1/quotes/{id}/status", put(q::update_status))
        .route("/api/v1/quotes/{id}/convert", post(q::convert))
        .fallback(g::not_found)
        .method_not_allowed_fallback(g::not_found)
}

/// A path id as a UUID; 404 with `not_found` ("X not found") when it is not one, as the
/// services' unenforced `isUUID()` leads to. Every route with an `:id` starts with it.
pub fn path_id(raw: &str, not_found: &'static str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::not_found(not_found))
}
