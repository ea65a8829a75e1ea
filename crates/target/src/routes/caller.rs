//! The authenticated caller of a policy, claims or quotes route.
//!
//! The real services send every token to the user-service (`POST /api/auth/verify`); here
//! the same check (HS256 signature and expiry) runs in-process. No `Authorization` header, or
//! one without a second word, is 401 "No token provided"; any verification failure is 401
//! "Authentication failed".

use axum::extract::FromRequestParts;
use http::header::AUTHORIZATION;
use http::request::Parts;
use uuid::Uuid;

use crate::AppState;
use crate::envelope::ApiError;
use crate::jwt::Claims;

/// Who is calling, from a verified token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `userId`.
    pub user_id: Uuid,
    /// `organizationId`: the scope of every list.
    pub org_id: Uuid,
}

/// The token of `Authorization: Bearer <token>`, read like the services'
/// `authorization.split(' ')[1]`.
pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    value.split(' ').nth(1).filter(|t| !t.is_empty())
}

impl Caller {
    /// The caller of a verified token (ids must be UUIDs, as every token issued here has).
    pub fn of(claims: &Claims) -> Option<Caller> {
        Some(Caller {
            user_id: Uuid::parse_str(&claims.user_id).ok()?,
            org_id: Uuid::parse_str(&claims.organization_id).ok()?,
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let token =
            bearer_token(&parts.headers).ok_or(ApiError::unauthorized("No token provided"))?;
        state
            .verify_token(token)
            .ok()
            .as_ref()
            .and_then(Caller::of)
            .ok_or(ApiError::unauthorized("Authentication failed"))
    }
}
