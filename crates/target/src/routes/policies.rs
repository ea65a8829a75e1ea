//! The policy-service's routes (all Bearer).
//!
//! The list, `/my/policies`, read, history and delete routes are [`super::records`]'s, with
//! the messages of `impl Served for Policy`.

use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use uuid::Uuid;

use crate::AppState;
use crate::envelope::ApiError;
use crate::rng::record_number;
use crate::routes::caller::Caller;
use crate::routes::claims::{ClaimInput, file_claim_for};
use crate::routes::path_id;
use crate::routes::records::{self, Served};
use crate::store::Policy;
use crate::store::enums::{PolicyStatus, PolicyType};
use crate::store::history::{ChangeFlags, Metadata, StatusChange, Subject};
use crate::store::policies::PolicyFilter;
use crate::time::{now_ms, parse_iso8601};
use crate::validate::{self as v, parse_body};

const NOT_FOUND: &str = "Policy not found";

impl Served for Policy {
    type Filter = PolicyFilter;
    const NOT_FOUND: &'static str = NOT_FOUND;
    const FETCH_FAILED: &'static str = "Failed to fetch policies";
    const DELETED: &'static str = "Policy deleted successfully";
}

/// `POST /api/v1/policies`: 201 with the new policy; 400 "Validation failed".
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let kind = v::enum_field(&body, "type", PolicyType::parse, "Invalid policy type")?;
    let start = v::iso_field(&body, "startDate", "Start date must be a valid date")?;
    let end = v::iso_field(&body, "endDate", "End date must be a valid date")?;
    let premium = v::money_field(&body, "premium", "Premium must be a number")?;
    let coverage = v::money_field(&body, "coverageAmount", "Coverage amount must be a number")?;
    let status = v::optional_enum(
        &body,
        "status",
        PolicyStatus::parse,
        "Invalid policy status",
    )?
    .unwrap_or(PolicyStatus::Pending);
    let policy = new_policy(
        &caller,
        kind,
        status,
        start,
        end,
        premium,
        coverage,
        now_ms(),
    );
    Ok(records::created(&state, caller.org_id, policy, None))
}

/// A new policy of the caller's (the server generates the id and the number).
#[allow(clippy::too_many_arguments)]
pub fn new_policy(
    caller: &Caller,
    kind: PolicyType,
    status: PolicyStatus,
    start_date: i64,
    end_date: i64,
    premium: crate::money::Money,
    coverage_amount: crate::money::Money,
    now: i64,
) -> Policy {
    Policy {
        id: Uuid::new_v4(),
        user_id: caller.user_id,
        organization_id: caller.org_id,
        policy_number: record_number("POL", now),
        kind,
        status,
        start_date,
        end_date,
        premium,
        coverage_amount,
        created_at: now,
        updated_at: now,
    }
}

/// `PUT /api/v1/policies/:id` `{status?, premium?, coverageAmount?, endDate?,
/// statusChangeReason?}`: unvalidated (bad values are a 500, as in the real service); a
/// history row when the status changes.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&id, NOT_FOUND)?;
    let body = parse_body(&body)?;
    let fail = || ApiError::internal("Failed to update policy");
    let status = match v::plain_text(&body, "status") {
        None if body.get("status").is_none_or(serde_json::Value::is_null) => None,
        Some(s) => Some(PolicyStatus::parse(&s).ok_or_else(fail)?),
        None => return Err(fail()),
    };
    let money = |key: &'static str| -> Result<_, ApiError> {
        match body.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            value => crate::money::money_of(value).map(Some).ok_or_else(fail),
        }
    };
    let premium = money("premium")?;
    let coverage = money("coverageAmount")?;
    let end_date = match body.get("endDate") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(v.as_str().and_then(parse_iso8601).ok_or_else(fail)?),
    };
    let reason =
        v::plain_text(&body, "statusChangeReason").map(|r| crate::store::claims::bounded_text(&r));
    let now = now_ms();
    records::update::<Policy>(&state, &id, |e| {
        let p = &mut e.rec;
        let flags = ChangeFlags {
            premium_changed: premium.is_some_and(|m| m != p.premium),
            coverage_changed: coverage.is_some_and(|m| m != p.coverage_amount),
            end_date_changed: end_date.is_some_and(|d| d != p.end_date),
        };
        let old = p.status;
        if let Some(m) = premium {
            p.premium = m;
        }
        if let Some(m) = coverage {
            p.coverage_amount = m;
        }
        if let Some(d) = end_date {
            p.end_date = d;
        }
        if let Some(s) = status {
            p.status = s;
        }
        p.updated_at = now;
        if p.status != old {
            StatusChange {
                subject: Subject::Policy(p.id),
                organization_id: p.organization_id,
                old_status: Some(old.as_str()),
                new_status: p.status.as_str(),
                changed_by: caller.user_id,
                changed_at: now,
                reason: reason.as_deref(),
                metadata: Metadata::Flags(flags),
            }
            .append_to(e);
        }
        Ok(())
    })
}

/// `POST /api/v1/policies/:id/file-claim` `{incidentDate, description, claimAmount}`: files a
/// claim against an ACTIVE policy (201 with the claim).
pub async fn file_claim(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&id, NOT_FOUND)?;
    let body = parse_body(&body)?;
    let input = ClaimInput::from_body_without_policy(&body)?;
    let status = state
        .shared()
        .store
        .read::<Policy, _>(&id, |e| e.rec.status)
        .ok_or(ApiError::not_found(NOT_FOUND))?;
    if status != PolicyStatus::Active {
        return Err(ApiError::bad_request(
            "Can only file claims for active policies",
        ));
    }
    file_claim_for(&state, &caller, id, input)
}
