//! The claims-service's routes (all Bearer), with the claims state machine.
//!
//! The list, `/my/claims`, read, history and delete routes are [`super::records`]'s, with
//! the messages of `impl Served for Claim`.

use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;
use uuid::Uuid;

use crate::AppState;
use crate::envelope::ApiError;
use crate::money::Money;
use crate::rng::record_number;
use crate::routes::caller::Caller;
use crate::routes::path_id;
use crate::routes::records::{self, Served};
use crate::store::claims::{ClaimFilter, bounded_text};
use crate::store::enums::{ClaimStatus, PolicyStatus};
use crate::store::history::{ClaimMeta, Metadata, StatusChange, Subject};
use crate::store::{Claim, Policy};
use crate::time::now_ms;
use crate::validate::{self as v, Body, parse_body};

const NOT_FOUND: &str = "Claim not found";

impl Served for Claim {
    type Filter = ClaimFilter;
    const NOT_FOUND: &'static str = NOT_FOUND;
    const FETCH_FAILED: &'static str = "Failed to fetch claims";
    const DELETED: &'static str = "Claim deleted successfully";
}

/// The validated fields of a new claim (besides the policy).
#[derive(Debug, Clone)]
pub struct ClaimInput {
    incident_date: i64,
    description: String,
    claim_amount: Money,
}

impl ClaimInput {
    /// `incidentDate`, `description`, `claimAmount`, checked in that order.
    pub fn from_body_without_policy(body: &Body) -> Result<ClaimInput, ApiError> {
        let incident_date =
            v::iso_field(body, "incidentDate", "Incident date must be a valid date")?;
        let description = v::text_field(body, "description", "Description is required")?;
        let claim_amount = v::money_field(body, "claimAmount", "Claim amount must be a number")?;
        Ok(ClaimInput {
            incident_date,
            description: bounded_text(&description),
            claim_amount,
        })
    }
}

/// `POST /api/v1/claims` `{policyId, incidentDate, description, claimAmount}`: 201 with the
/// claim (SUBMITTED); 400 "Policy not found or not active"; 403 for another organization's
/// policy.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let policy_id = v::text_field(&body, "policyId", "Policy ID is required")?;
    let input = ClaimInput::from_body_without_policy(&body)?;
    let not_active = || ApiError::bad_request("Policy not found or not active");
    let policy_id = Uuid::parse_str(&policy_id).map_err(|_| not_active())?;
    let (status, org) = state
        .shared()
        .store
        .read::<Policy, _>(&policy_id, |e| (e.rec.status, e.rec.organization_id))
        .ok_or_else(not_active)?;
    if status != PolicyStatus::Active {
        return Err(not_active());
    }
    if org != caller.org_id {
        return Err(ApiError::forbidden(
            "Access denied: policy belongs to a different organization",
        ));
    }
    file_claim_for(&state, &caller, policy_id, input)
}

/// Files a claim of the caller's against `policy_id` (already checked) and answers 201.
pub fn file_claim_for(
    state: &AppState,
    caller: &Caller,
    policy_id: Uuid,
    input: ClaimInput,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let claim = Claim {
        id: Uuid::new_v4(),
        user_id: caller.user_id,
        organization_id: caller.org_id,
        policy_id,
        claim_number: record_number("CLM", now),
        status: ClaimStatus::Submitted,
        incident_date: input.incident_date,
        description: input.description,
        claim_amount: input.claim_amount,
        approved_amount: None,
        denial_reason: None,
        created_at: now,
        updated_at: now,
    };
    Ok(records::created(state, caller.org_id, claim, None))
}

/// A requested status change.
struct Change {
    to: ClaimStatus,
    approved: Option<Money>,
    approved_as_sent: Option<Value>,
    denial_reason: Option<String>,
    history_reason: Option<String>,
}

/// `PUT /api/v1/claims/:id/status` `{status, approvedAmount?, denialReason?}`.
pub async fn update_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let to = v::enum_field(&body, "status", ClaimStatus::parse, "Invalid status")?;
    let approved = v::optional_money(&body, "approvedAmount", "Approved amount must be a number")?;
    let denial = v::optional_text(&body, "denialReason", "Denial reason must be a string")?
        .map(|r| bounded_text(&r));
    let change = Change {
        to,
        approved,
        approved_as_sent: body.get("approvedAmount").filter(|v| !v.is_null()).cloned(),
        history_reason: denial.clone(),
        denial_reason: denial,
    };
    apply(&state, &caller, &id, change)
}

/// `POST /api/v1/claims/:id/approve` `{approvedAmount, reason?}` (only from UNDER_REVIEW).
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let approved = v::money_field(&body, "approvedAmount", "Approved amount must be a number")?;
    let reason =
        v::optional_text(&body, "reason", "Reason must be a string")?.map(|r| bounded_text(&r));
    let change = Change {
        to: ClaimStatus::Approved,
        approved: Some(approved),
        approved_as_sent: body.get("approvedAmount").cloned(),
        denial_reason: None,
        history_reason: reason,
    };
    apply(&state, &caller, &id, change)
}

/// `POST /api/v1/claims/:id/deny` `{reason}` (from SUBMITTED or UNDER_REVIEW).
pub async fn deny(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let reason = bounded_text(&v::text_field(
        &body,
        "reason",
        "Denial reason is required",
    )?);
    let change = Change {
        to: ClaimStatus::Denied,
        approved: None,
        approved_as_sent: None,
        denial_reason: Some(reason.clone()),
        history_reason: Some(reason),
    };
    apply(&state, &caller, &id, change)
}

/// The state machine: checks the transition and its required fields, applies it, writes a
/// history row, answers 200 with the claim.
fn apply(
    state: &AppState,
    caller: &Caller,
    id: &str,
    change: Change,
) -> Result<Response, ApiError> {
    let id = path_id(id, NOT_FOUND)?;
    let now = now_ms();
    records::update::<Claim>(state, &id, |e| {
        let c = &mut e.rec;
        let from = c.status;
        if !from.can_become(change.to) {
            return Err(ApiError::bad_request(format!(
                "Invalid status transition from {from} to {}",
                change.to
            )));
        }
        if change.to == ClaimStatus::Approved && change.approved.is_none() {
            return Err(ApiError::bad_request(
                "Approved amount is required when approving a claim",
            ));
        }
        if change.to == ClaimStatus::Denied && change.denial_reason.is_none() {
            return Err(ApiError::bad_request(
                "Denial reason is required when denying a claim",
            ));
        }
        c.status = change.to;
        if change.to == ClaimStatus::Approved {
            c.approved_amount = change.approved;
        }
        if change.to == ClaimStatus::Denied {
            c.denial_reason.clone_from(&change.denial_reason);
        }
        c.updated_at = now;
        StatusChange {
            subject: Subject::Claim(c.id),
            organization_id: c.organization_id,
            old_status: Some(from.as_str()),
            new_status: change.to.as_str(),
            changed_by: caller.user_id,
            changed_at: now,
            reason: change.history_reason.as_deref(),
            metadata: Metadata::Claim(ClaimMeta {
                approved_amount: change.approved_as_sent.clone(),
                previous_status: from.as_str(),
            }),
        }
        .append_to(e);
        Ok(())
    })
}
