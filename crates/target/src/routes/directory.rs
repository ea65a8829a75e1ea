//! The user-service's `/users` and `/organizations` routes (unauthenticated, as in the real
//! service).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::AppState;
use crate::envelope::{self, ApiError};
use crate::routes::path_id;
use crate::store::Directory;
use crate::store::users::{Org, OrgView, UserView};
use crate::time::{now_ms, parse_iso8601};
use crate::validate::{Body, parse_body, plain_text};

const USER_NOT_FOUND: &str = "User not found";
const ORG_NOT_FOUND: &str = "Organization not found";

/// A text field of an update, cut to 200 characters (a bound on memory per record).
fn update_text(body: &Body, key: &str) -> Option<String> {
    plain_text(body, key).map(|s| s.chars().take(200).collect())
}

/// `answer` of the organization of the path id `raw_id`, under the directory's read lock;
/// 404 when there is none.
fn with_org(
    state: &AppState,
    raw_id: &str,
    answer: impl FnOnce(&Directory, &Org) -> Response,
) -> Result<Response, ApiError> {
    let id = path_id(raw_id, ORG_NOT_FOUND)?;
    let dir = state.shared().store.directory();
    let org = dir.org(&id).ok_or(ApiError::not_found(ORG_NOT_FOUND))?;
    Ok(answer(&dir, org))
}

/// `GET /api/v1/users`: every user (no `orgRole`, no password, no pagination).
pub async fn list_users(State(state): State<AppState>) -> Response {
    let dir = state.shared().store.directory();
    let users: Vec<UserView<'_>> = dir.users().map(|u| UserView::of(u, false)).collect();
    envelope::ok(&users)
}

/// `GET /api/v1/users/:id`.
pub async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, USER_NOT_FOUND)?;
    let dir = state.shared().store.directory();
    let user = dir.user(&id).ok_or(ApiError::not_found(USER_NOT_FOUND))?;
    Ok(envelope::ok(&UserView::of(user, false)))
}

/// `PUT /api/v1/users/:id` with profile fields.
pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&id, USER_NOT_FOUND)?;
    let body = parse_body(&body)?;
    let dob = match body.get("dateOfBirth") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(parse_iso8601)
                .ok_or(ApiError::bad_request("Invalid dateOfBirth"))?,
        ),
    };
    let text = |key: &str| update_text(&body, key);
    let mut dir = state.shared().store.directory_mut();
    let user = dir
        .update_user(&id, now_ms(), |u| {
            if let Some(v) = text("firstName") {
                u.first_name = v;
            }
            if let Some(v) = text("lastName") {
                u.last_name = v;
            }
            let p = &mut u.profile;
            if dob.is_some() {
                p.date_of_birth = dob;
            }
            for (key, field) in [
                ("phone", &mut p.phone),
                ("street", &mut p.street),
                ("city", &mut p.city),
                ("state", &mut p.state),
                ("zipCode", &mut p.zip_code),
                ("country", &mut p.country),
            ] {
                if let Some(v) = text(key) {
                    *field = Some(v);
                }
            }
        })
        .ok_or(ApiError::not_found(USER_NOT_FOUND))?;
    Ok(envelope::ok(&UserView::of(user, false)))
}

/// `DELETE /api/v1/users/:id`.
pub async fn delete_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, USER_NOT_FOUND)?;
    state
        .shared()
        .store
        .directory_mut()
        .delete_user(id)
        .map_err(|_| ApiError::not_found(USER_NOT_FOUND))?;
    Ok(envelope::message(
        StatusCode::OK,
        "User deleted successfully",
    ))
}

/// `GET /api/v1/organizations`: every organization with `_count.users`, newest first.
pub async fn list_orgs(State(state): State<AppState>) -> Response {
    let dir = state.shared().store.directory();
    let orgs: Vec<OrgView<'_>> = dir
        .orgs_newest_first()
        .map(|o| OrgView::of(o, true))
        .collect();
    envelope::ok(&orgs)
}

/// `GET /api/v1/organizations/:id`.
pub async fn get_org(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    with_org(&state, &id, |_, org| envelope::ok(&OrgView::of(org, true)))
}

/// `GET /api/v1/organizations/slug/:slug`.
pub async fn get_org_by_slug(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let dir = state.shared().store.directory();
    let org = dir
        .org_by_slug(&slug)
        .ok_or(ApiError::not_found(ORG_NOT_FOUND))?;
    Ok(envelope::ok(&OrgView::of(org, true)))
}

/// `PATCH /api/v1/organizations/:id` `{name?, slug?, plan?}`.
pub async fn update_org(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&id, ORG_NOT_FOUND)?;
    let body = parse_body(&body)?;
    let text = |key: &str| update_text(&body, key);
    let mut dir = state.shared().store.directory_mut();
    let org = dir
        .update_org(&id, text("name"), text("slug"), text("plan"), now_ms())
        .ok_or(ApiError::not_found(ORG_NOT_FOUND))?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(envelope::ok(&OrgView::of(org, false)))
}

/// `DELETE /api/v1/organizations/:id` (400 while it has users).
pub async fn delete_org(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, ORG_NOT_FOUND)?;
    match state.shared().store.directory_mut().delete_org(&id) {
        None => Err(ApiError::not_found(ORG_NOT_FOUND)),
        Some(Err(e)) => Err(ApiError::bad_request(e.to_string())),
        Some(Ok(())) => Ok(envelope::message(
            StatusCode::OK,
            "Organization deleted successfully",
        )),
    }
}

/// `GET /api/v1/organizations/:id/users`.
pub async fn org_users(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    with_org(&state, &id, |dir, org| {
        let users: Vec<UserView<'_>> = dir.members(org).map(|u| UserView::of(u, false)).collect();
        envelope::ok(&users)
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Stats<'a> {
    organization: OrgView<'a>,
    total_users: usize,
    users_by_role: BTreeMap<&'static str, usize>,
}

/// `GET /api/v1/organizations/:id/stats` → `{organization, totalUsers, usersByRole}`.
pub async fn org_stats(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    with_org(&state, &id, |dir, org| {
        let mut by_role = BTreeMap::new();
        for u in dir.members(org) {
            *by_role.entry(u.role.as_str()).or_insert(0) += 1;
        }
        envelope::ok(&Stats {
            organization: OrgView::of(org, false),
            total_users: org.user_count(),
            users_by_role: by_role,
        })
    })
}
