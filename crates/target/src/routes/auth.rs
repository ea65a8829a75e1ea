//! The user-service's `/auth` routes: login, register, organizations, verify, me.

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::envelope::{self, ApiError};
use crate::jwt::Claims;
use crate::routes::caller::bearer_token;
use crate::store::enums::{OrgRole, UserRole};
use crate::store::users::{NewUser, OrgView, UserView};
use crate::time::now_ms;
use crate::validate::{parse_body, plain_text};

#[derive(Serialize)]
struct UserAndToken<'a> {
    user: UserView<'a>,
    token: String,
}

/// `POST /api/v1/auth/login` `{email, password}`: 200 `{user, token}` or 401
/// "Invalid credentials".
pub async fn login(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let invalid = || ApiError::unauthorized("Invalid credentials");
    let email = plain_text(&body, "email").ok_or_else(invalid)?;
    let password = plain_text(&body, "password").ok_or_else(invalid)?;
    let dir = state.shared().store.directory();
    let user = dir.login(&email, &password).ok_or_else(invalid)?;
    let token = state.issue_token(user);
    Ok(envelope::ok(&UserAndToken {
        user: UserView::of(user, true),
        token,
    }))
}

/// `POST /api/v1/auth/register`
/// `{email, password, firstName, lastName, organizationId, role?, orgRole?}`: 201
/// `{user, token}`; 400 "User already exists" / "Organization not found" / bad data.
pub async fn register(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let (Some(email), Some(password), Some(first_name), Some(last_name)) = (
        plain_text(&body, "email"),
        plain_text(&body, "password"),
        plain_text(&body, "firstName"),
        plain_text(&body, "lastName"),
    ) else {
        return Err(ApiError::bad_request(
            "email, password, firstName and lastName are required",
        ));
    };
    if email.len() > 254 || first_name.len() > 200 || last_name.len() > 200 {
        return Err(ApiError::bad_request("A field is too long"));
    }
    let role = match plain_text(&body, "role") {
        None => UserRole::Customer,
        Some(r) => UserRole::parse(&r).ok_or(ApiError::bad_request(
            "Invalid value for argument `role`. Expected UserRole.",
        ))?,
    };
    let org_role = match plain_text(&body, "orgRole") {
        None => OrgRole::Member,
        Some(r) => OrgRole::parse(&r).ok_or(ApiError::bad_request(
            "Invalid value for argument `orgRole`. Expected OrgRole.",
        ))?,
    };
    let organization_id = plain_text(&body, "organizationId")
        .and_then(|s| Uuid::parse_str(&s).ok())
        .unwrap_or(Uuid::nil());
    let new = NewUser {
        email,
        password,
        first_name,
        last_name,
        organization_id,
        role,
        org_role,
    };
    let mut dir = state.shared().store.directory_mut();
    let user = dir
        .register(new, Uuid::new_v4(), now_ms())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let token = state.issue_token(user);
    Ok(envelope::data(
        StatusCode::CREATED,
        &UserAndToken {
            user: UserView::of(user, true),
            token,
        },
        None,
    ))
}

/// `POST /api/v1/auth/organizations` `{name, slug, plan?}`: 201 Organization; 400
/// "Organization slug already exists".
pub async fn create_org(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let (Some(name), Some(slug)) = (plain_text(&body, "name"), plain_text(&body, "slug")) else {
        return Err(ApiError::bad_request("name and slug are required"));
    };
    if name.len() > 200 || slug.len() > 200 {
        return Err(ApiError::bad_request("A field is too long"));
    }
    let plan = plain_text(&body, "plan").unwrap_or_else(|| "free".to_string());
    let mut dir = state.shared().store.directory_mut();
    let org = dir
        .create_org(Uuid::new_v4(), name, slug, plan, now_ms())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(envelope::data(
        StatusCode::CREATED,
        &OrgView::of(org, false),
        None,
    ))
}

/// `POST /api/v1/auth/verify` `{token}`: 200 with the payload, or 401 "Invalid token".
pub async fn verify(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let claims: Claims = plain_text(&body, "token")
        .and_then(|t| state.verify_token(&t).ok())
        .ok_or(ApiError::unauthorized("Invalid token"))?;
    Ok(envelope::ok(&claims))
}

/// `GET /api/v1/auth/me` (Bearer): the caller's profile.
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let token = bearer_token(&headers).ok_or(ApiError::unauthorized("No token provided"))?;
    let claims = state
        .verify_token(token)
        .map_err(|_| ApiError::unauthorized("Invalid token"))?;
    let id = Uuid::parse_str(&claims.user_id).map_err(|_| ApiError::not_found("User not found"))?;
    let dir = state.shared().store.directory();
    let user = dir.user(&id).ok_or(ApiError::not_found("User not found"))?;
    Ok(envelope::ok(&UserView::of(user, true)))
}
